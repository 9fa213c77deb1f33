"""The objective: GPUs placed (value-weighted) or capex plus a year of energy."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index


def objective_coefficients(index: Index, objective: str) -> dict:
    """Per place: GPUs x value (`gpus`, maximized) or USD per rack (`cost`, minimized)."""
    site = index.site
    if objective == "gpus":
        return {p: index.model(p).gpus * index.cluster[p[0]].value for p in index.places}
    return {p: site.cost_usd_per_rack(index.model(p)) for p in index.places}


def add_objective(m: pyo.ConcreteModel, index: Index, objective: str) -> None:
    """`gpus`: maximize Σ gpus · value · racks. `cost`: minimize Σ (capex_usd +
    energy_usd_per_kwh · typical_kw · Σ_hours (1 + air share · air overhead(t) + liquid share
    · liquid overhead(t))) · racks, hours scaled to 8,760."""
    coef = objective_coefficients(index, objective)
    sense = pyo.maximize if objective == "gpus" else pyo.minimize
    m.objective = pyo.Objective(
        expr=pyo.quicksum(coef[p] * m.racks[p] for p in index.places if coef[p]), sense=sense
    )
