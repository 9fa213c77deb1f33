"""Site -> Pyomo MILP. One module per constraint family; `build_model` calls them all.

The model never reads files and never prints. Variables are integer rack counts per place
(cluster, hall, row) where the cluster's model fits the row; binaries appear only for
colocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    "BuiltModel",
    "Family",
    "Index",
    "Place",
    "PowerLimit",
    "build_model",
    "objective_coefficients",
    "power_limits",
]


class Family(StrEnum):
    """The constraint families; every row of a built model belongs to one (its constraint's
    name). Adding a family: see docs/architecture.md."""

    SPACE = "space"  # §1, space.py
    PHASE_STAYS = "phase_stays"  # v1.1, space.py: racks standing in a phase stand later too
    DEMAND = "demand"  # §3, demand.py: min_racks / max_racks
    DEMAND_PHASE = "demand_phase"  # v1.1, demand.py: min_racks from the cluster's phase on
    COLOCATION_LINK = "colocation_link"  # §3, demand.py: racks only in the chosen group
    COLOCATION_ONE = "colocation_one"  # §3, demand.py: at most one group
    COOLING = "cooling"  # §4, cooling.py (the last phase)
    COOLING_PHASE = "cooling_phase"  # v1.1, cooling.py: an earlier phase's lines
    NETWORK = "network"  # §5, network.py
    POWER = "power"  # §6, power.py: normal and N-1
    GRID = "grid"  # §7, grid.py (the last phase)
    GRID_PHASE = "grid_phase"  # v1.1, grid.py: an earlier phase's supply


@dataclass(frozen=True)
class BuiltModel:
    """A site's MILP and what it was built from: the Pyomo model, the sparse index of places,
    the power rows (one per `power` constraint index) and the objective's name."""

    model: pyo.ConcreteModel
    index: Index
    power_limits: list[PowerLimit]
    objective_name: str

    @property
    def colocation(self) -> list[tuple[str, str]]:
        """(cluster, hall or pod) of each colocation choice, in the model's order."""
        return list(self.model.COLOCATION)

    @property
    def place_phases(self) -> list[tuple[str, str, str, int]]:
        """(cluster, hall, row, phase) of each earlier-phase count `stand`, in order (v1.1;
        the last phase's count of a place is its `racks` column)."""
        phases = self.model.component("PLACE_PHASES")  # only a phased model has them
        return [] if phases is None else list(phases)


def build_model(site: Site, objective: str | None = None, prune: bool = True) -> BuiltModel:
    """The whole MILP of the contract's §1–7 for `site` (objective defaults to the site's)."""
    index = Index(site)
    objective_name = objective or site.objective
    limits = power_limits(site, prune=prune)
    m = pyo.ConcreteModel(name=site.name)
    add_racks(m, index)
    add_space(m, index)
    add_demand(m, index)
    add_colocation(m, index)
    add_cooling(m, index)
    add_network(m, index)
    add_power(m, index, limits)
    add_grid(m, index)
    add_objective(m, index, objective_name)
    return BuiltModel(m, index, limits, objective_name)
