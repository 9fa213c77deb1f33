"""Space and fit (contract §1, §2). Fit is in the index: a place exists only where the
model fits the row, and each place's upper bound is min(free positions, max_racks).

Phases (contract v1.1): `racks[p]` is the number of new racks standing at place p in the
last phase; `stand[p, q]` the number standing in an earlier phase q, from the place's first
phase on (none stand before it). Racks are never removed: stand[p, q] ≤ stand[p, q + 1], so
the racks installed at p in phase q are the difference. A site with one phase has `racks`
only, exactly the v1 model.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.formulation.index import Index, Place


def add_racks(m: pyo.ConcreteModel, index: Index) -> None:
    """racks[c, hall, row] ∈ {0, 1, ..., min(positions, max_racks)} for every place; with
    phases, stand[c, hall, row, q] likewise for the earlier phases q ≥ the place's first,
    and stand[·, q] ≤ stand[·, q + 1] (racks stay)."""
    m.PLACES = pyo.Set(initialize=index.places, dimen=3, ordered=True)
    m.racks = pyo.Var(
        m.PLACES, domain=pyo.NonNegativeIntegers, bounds=lambda m, *p: (0, index.upper_racks(p))
    )
    if index.last_phase == 0:
        return
    early = [(*p, q) for p in index.places for q in range(index.first_phase(p), index.last_phase)]
    m.PLACE_PHASES = pyo.Set(initialize=early, dimen=4, ordered=True)
    m.stand = pyo.Var(
        m.PLACE_PHASES,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda m, c, h, r, q: (0, index.upper_racks((c, h, r))),
    )

    @m.Constraint(m.PLACE_PHASES)
    def phase_stays(m: pyo.ConcreteModel, c: str, h: str, r: str, q: int) -> object:
        return m.stand[c, h, r, q] <= standing(m, index, (c, h, r), q + 1)


def standing(m: pyo.ConcreteModel, index: Index, place: Place, q: int) -> Any:
    """The variable counting new racks at `place` standing in phase q, or None (none can)."""
    if q == index.last_phase:
        return m.racks[place]
    if q < index.first_phase(place):
        return None
    return m.stand[(*place, q)]


def add_space(m: pyo.ConcreteModel, index: Index) -> None:
    """Racks in a row ≤ free positions (rows with a single place are bounded by the variable);
    only the last phase's row is needed, since racks are never removed."""
    rows = [rid for rid, places in index.by_row.items() if len(places) > 1]
    m.SPACE_ROWS = pyo.Set(initialize=rows, dimen=2, ordered=True)

    @m.Constraint(m.SPACE_ROWS)
    def space(m: pyo.ConcreteModel, hall: str, row: str) -> object:
        load = pyo.quicksum(m.racks[p] for p in index.by_row[hall, row])
        return load <= index.free_positions((hall, row))
