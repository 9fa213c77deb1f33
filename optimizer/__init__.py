"""rackfit: place GPU racks under power (N-1), cooling, network and grid limits."""

from optimizer.errors import InfeasibleError, NoPlanError, RackfitError, SiteError
from optimizer.plan import Plan
from optimizer.schema import Site

__all__ = ["InfeasibleError", "NoPlanError", "Plan", "RackfitError", "Site", "SiteError"]
__version__ = "0.1.0"
