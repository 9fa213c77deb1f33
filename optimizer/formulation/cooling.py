"""Cooling per hall and medium (contract §4), in every phase (v1.1)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.formulation.index import Index
from optimizer.formulation.space import standing
from optimizer.schema import MEDIA


def existing_heat_kw(index: Index, hall: str, medium: str) -> float:
    """Heat the racks already standing in a hall give to a medium (every phase)."""
    return sum(m.heat_kw(medium) for rid, m, _ in index.existing_models if rid[0] == hall)


def add_cooling(m: pyo.ConcreteModel, index: Index) -> None:
    """Heat to each medium in a hall ≤ the hall's capacity for that medium:
    existing heat + Σ design_kw · share(medium) · racks ≤ Σ_lines (units − spares) · unit_kw.
    `cooling` is the last phase's row; `cooling_phase` an earlier phase's, with the lines
    serving by then (left out where every line already serves: racks only accumulate)."""
    site = index.site
    keys = [
        (hall, medium)
        for hall, places in index.by_hall.items()
        for medium in MEDIA
        if any(index.model(p).heat_kw(medium) > 0 for p in places)
    ]
    m.COOLING = pyo.Set(initialize=keys, dimen=2, ordered=True)

    def load_kw(m: pyo.ConcreteModel, hall: str, medium: str, q: int) -> Any:
        terms = [
            (index.model(p).heat_kw(medium), standing(m, index, p, q))
            for p in index.by_hall[hall]
            if index.model(p).heat_kw(medium) > 0
        ]
        return pyo.quicksum(k * v for k, v in terms if v is not None)

    @m.Constraint(m.COOLING)
    def cooling(m: pyo.ConcreteModel, hall: str, medium: str) -> object:
        cap = site.cooling_capacity_kw(hall, medium)
        fixed = existing_heat_kw(index, hall, medium)
        if fixed:
            return load_kw(m, hall, medium, index.last_phase) + fixed <= cap
        return load_kw(m, hall, medium, index.last_phase) <= cap

    early = [
        (hall, medium, q)
        for hall, medium in keys
        for q in range(index.last_phase)
        if site.cooling_capacity_in_phase_kw(hall, medium, q)
        < site.cooling_capacity_kw(hall, medium)
        and any(standing(m, index, p, q) is not None for p in index.by_hall[hall])
    ]
    m.COOLING_PHASES = pyo.Set(initialize=early, dimen=3, ordered=True)

    @m.Constraint(m.COOLING_PHASES)
    def cooling_phase(m: pyo.ConcreteModel, hall: str, medium: str, q: int) -> object:
        cap = site.cooling_capacity_in_phase_kw(hall, medium, q)
        fixed = existing_heat_kw(index, hall, medium)
        return load_kw(m, hall, medium, q) + fixed <= cap
