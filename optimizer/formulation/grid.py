"""Grid at the design temperature (contract §7), in every phase (v1.1)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.formulation.index import Index
from optimizer.formulation.space import standing


def existing_grid_kw(index: Index) -> float:
    """Grid draw of the racks already standing (every phase), cooling overhead included."""
    return sum(index.site.grid_kw_per_rack(model) for _, model, _ in index.existing_models)


def add_grid(m: pyo.ConcreteModel, index: Index) -> None:
    """Σ (design_kw + air heat · air overhead + liquid heat · liquid overhead) · racks
    + existing racks' draw + fixed_overhead_kw ≤ grid_limit_kw + onsite_firm_kw, overheads at
    design_temp_c. `grid` is the last phase's row (sweeps change its bound in the compiled
    model, `Solver.set_row_upper`, not here). `grid_phase[q]` is an earlier phase's row with that
    phase's supply (left out when it cannot bind: no new rack stands yet and the phase's
    supply already covers the fixed draw, which explain.py checks before solving)."""
    site = index.site
    last = index.last_phase
    per_rack_kw = {p: site.grid_kw_per_rack(index.model(p)) for p in index.places}
    fixed_kw = site.fixed_overhead_kw + existing_grid_kw(index)

    def draw_kw(q: int) -> Any:
        terms = [(per_rack_kw[p], standing(m, index, p, q)) for p in index.places]
        return pyo.quicksum(k * v for k, v in terms if k and v is not None)

    supply_kw = site.phase_supply_kw(last)
    if not any(per_rack_kw.values()):  # no rack draws: only the fixed draw is left
        feasible = fixed_kw <= supply_kw
        m.grid = pyo.Constraint(
            rule=pyo.Constraint.Feasible if feasible else pyo.Constraint.Infeasible
        )
    else:
        m.grid = pyo.Constraint(expr=draw_kw(last) + fixed_kw <= supply_kw)
    early = [
        q
        for q in range(last)
        if any(per_rack_kw[p] and standing(m, index, p, q) is not None for p in index.places)
    ]
    m.GRID_PHASES = pyo.Set(initialize=early, ordered=True)

    @m.Constraint(m.GRID_PHASES)
    def grid_phase(m: pyo.ConcreteModel, q: int) -> object:
        return draw_kw(q) + fixed_kw <= site.phase_supply_kw(q)
