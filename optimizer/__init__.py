"""rackfit: place GPU racks under power (N-1), cooling, network and grid limits.

    import optimizer
    result = optimizer.plan("data/small")            # a verified Plan (DataFrames inside)
    curve = optimizer.sweep("data/small", grid_mw=[0.8, 1.0, 1.2])   # GPUs against MW

`plan` and `sweep` are imported on first use, so `import optimizer` stays light (the loaders
and the command line's `validate` do not pull in Pyomo and HiGHS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optimizer.errors import InfeasibleError, NoPlanError, RackfitError, SiteError

if TYPE_CHECKING:
    from optimizer.api import plan
    from optimizer.schema import Site
    from optimizer.sweeps import sweep
    from optimizer.tables import Plan

__all__ = [
    "InfeasibleError", "NoPlanError", "Plan", "RackfitError", "Site", "SiteError", "plan",
    "sweep",
]  # fmt: skip
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "plan":
        from optimizer.api import plan

        return plan
    if name == "sweep":
        from optimizer.sweeps import sweep

        return sweep
    if name == "Site":  # pydantic, and pandas for Plan: only when asked for (fast start)
        from optimizer.schema import Site

        return Site
    if name == "Plan":
        from optimizer.tables import Plan

        return Plan
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
