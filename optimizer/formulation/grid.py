"""Grid at the design temperature (contract §7)."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index


def add_grid(m: pyo.ConcreteModel, index: Index) -> None:
    """Σ (design_kw + air heat · air overhead + liquid heat · liquid overhead) · racks
    + fixed_overhead_kw ≤ grid_limit_kw + onsite_firm_kw, overheads at design_temp_c.
    Sweeps change the compiled row's bound (`Solver.set_row_upper`), not this model."""
    site = index.site
    per_rack_kw = {p: site.grid_kw_per_rack(index.model(p)) for p in index.places}
    draw_kw = pyo.quicksum(per_rack_kw[p] * m.racks[p] for p in index.places if per_rack_kw[p])
    if not any(per_rack_kw.values()):  # no rack draws: only the fixed overhead is left
        feasible = site.fixed_overhead_kw <= site.supply_limit_kw
        m.grid = pyo.Constraint(
            rule=pyo.Constraint.Feasible if feasible else pyo.Constraint.Infeasible
        )
        return
    m.grid = pyo.Constraint(expr=draw_kw + site.fixed_overhead_kw <= site.supply_limit_kw)
