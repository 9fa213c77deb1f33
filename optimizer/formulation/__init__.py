"""Site -> Pyomo MILP. One module per constraint family; `build_model` calls them all.

The model never reads files and never prints. Variables are integer rack counts per place
(cluster, hall, row) where the cluster's model fits the row; binaries appear only for
colocation.
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.cooling import add_cooling
from optimizer.formulation.demand import add_colocation, add_demand
from optimizer.formulation.grid import add_grid
from optimizer.formulation.index import Index, Place
from optimizer.formulation.network import add_network
from optimizer.formulation.objective import add_objective, objective_coefficients
from optimizer.formulation.power import PowerLimit, add_power, power_limits
from optimizer.formulation.space import add_racks, add_space
from optimizer.schema import Site

__all__ = [
    "Index",
    "Place",
    "PowerLimit",
    "build_model",
    "objective_coefficients",
    "power_limits",
]


def build_model(site: Site, objective: str | None = None, prune: bool = True) -> pyo.ConcreteModel:
    """The whole MILP of the contract's §1–7 for `site` (objective defaults to the site's)."""
    index = Index(site)
    m = pyo.ConcreteModel(name=site.name)
    m.index = index
    m.objective_name = objective or site.objective
    add_racks(m, index)
    add_space(m, index)
    add_demand(m, index)
    add_colocation(m, index)
    add_cooling(m, index)
    add_network(m, index)
    add_power(m, index, power_limits(site, prune=prune))
    add_grid(m, index)
    add_objective(m, index, m.objective_name)
    return m
