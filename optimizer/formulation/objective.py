"""The objective: GPUs placed (value-weighted) or capex plus a year of energy; with phases
(v1.1) weighted over the phases."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index
from optimizer.formulation.space import standing


def objective_coefficients(index: Index, objective: str) -> dict:
    """Per place: GPUs x value (`gpus`, maximized) or USD per rack (`cost`, minimized)."""
    site = index.site
    if objective == "gpus":
        return {p: index.model(p).gpus * index.cluster[p[0]].value for p in index.places}
    return {p: site.cost_usd_per_rack(index.model(p)) for p in index.places}


def existing_objective(index: Index, objective: str) -> float:
    """The objective's constant: the value-weighted GPUs of the clustered racks already
    standing, in every phase with its weight (`gpus`); nothing for `cost` (their capex is
    spent and their energy is the same in every plan)."""
    if objective != "gpus":
        return 0.0
    weight = sum(index.site.phase_weight(q) for q in index.phases)
    return weight * sum(
        model.gpus * index.cluster[c].value for _, model, c in index.existing_models if c
    )


def add_objective(m: pyo.ConcreteModel, index: Index, objective: str) -> None:
    """`gpus`: maximize Σ_phases weight · Σ gpus · value · racks standing (existing clustered
    racks included). `cost`: minimize Σ capex_usd · new racks + Σ_phases weight · Σ energy ·
    racks standing, energy = energy_usd_per_kwh · typical_kw · Σ_hours (1 + air share · air
    overhead(t) + liquid share · liquid overhead(t)), hours scaled to 8,760. With one phase of
    weight 1 both are v1's objective."""
    site = index.site
    coef = objective_coefficients(index, objective)
    sense = pyo.maximize if objective == "gpus" else pyo.minimize
    last = index.last_phase
    if last == 0 and site.phase_weight(0) == 1.0:
        expr = pyo.quicksum(coef[p] * m.racks[p] for p in index.places if coef[p])
    else:
        expr = _phased(m, index, objective)
    constant = existing_objective(index, objective)
    if constant:
        expr = expr + constant
    m.objective = pyo.Objective(expr=expr, sense=sense)


def _phased(m: pyo.ConcreteModel, index: Index, objective: str) -> object:
    site = index.site
    terms = []
    for p in index.places:
        model = index.model(p)
        if objective == "gpus":
            per_phase = model.gpus * index.cluster[p[0]].value
        else:
            per_phase = site.energy_usd_per_rack(model)
            terms.append((model.capex_usd, m.racks[p]))
        for q in index.phases:
            v = standing(m, index, p, q)
            w = site.phase_weight(q)
            if v is not None and w * per_phase:
                terms.append((w * per_phase, v))
    return pyo.quicksum(k * v for k, v in terms if k)
