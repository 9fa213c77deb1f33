"""Space and fit (contract §1, §2). Fit is in the index: a place exists only where the
model fits the row, and each place's upper bound is min(positions, max_racks)."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index


def add_racks(m: pyo.ConcreteModel, index: Index) -> None:
    """racks[c, hall, row] ∈ {0, 1, ..., min(positions, max_racks)} for every place."""
    m.PLACES = pyo.Set(initialize=index.places, dimen=3, ordered=True)
    m.racks = pyo.Var(
        m.PLACES, domain=pyo.NonNegativeIntegers, bounds=lambda m, *p: (0, index.upper_racks(p))
    )


def add_space(m: pyo.ConcreteModel, index: Index) -> None:
    """Racks in a row ≤ positions (rows with a single place are bounded by the variable)."""
    rows = [rid for rid, places in index.by_row.items() if len(places) > 1]
    m.SPACE_ROWS = pyo.Set(initialize=rows, dimen=2, ordered=True)

    @m.Constraint(m.SPACE_ROWS)
    def space(m: pyo.ConcreteModel, hall: str, row: str) -> object:
        load = pyo.quicksum(m.racks[p] for p in index.by_row[hall, row])
        return load <= index.row[hall, row].positions
