"""Cooling per hall and medium (contract §4)."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index
from optimizer.schema import MEDIA


def add_cooling(m: pyo.ConcreteModel, index: Index) -> None:
    """Heat to each medium in a hall ≤ the hall's capacity for that medium:
    Σ design_kw · share(medium) · racks ≤ Σ_lines (units − spares) · unit_kw."""
    site = index.site
    keys = [
        (hall, medium)
        for hall, places in index.by_hall.items()
        for medium in MEDIA
        if any(index.model(p).heat_kw(medium) > 0 for p in places)
    ]
    m.COOLING = pyo.Set(initialize=keys, dimen=2, ordered=True)

    @m.Constraint(m.COOLING)
    def cooling(m: pyo.ConcreteModel, hall: str, medium: str) -> object:
        load_kw = pyo.quicksum(
            index.model(p).heat_kw(medium) * m.racks[p]
            for p in index.by_hall[hall]
            if index.model(p).heat_kw(medium) > 0
        )
        return load_kw <= site.cooling_capacity_kw(hall, medium)
