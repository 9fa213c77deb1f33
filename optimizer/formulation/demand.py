"""Demand and colocation (contract §3)."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index
from optimizer.formulation.space import standing


def add_demand(m: pyo.ConcreteModel, index: Index) -> None:
    """min_racks ≤ existing + Σ_rows racks[c, ·] ≤ max_racks for each cluster (when not
    implied). With phases, max_racks on the last phase (racks only accumulate) and min_racks
    in the cluster's phase (so in every later one too)."""
    site = index.site
    clusters = [c.cluster for c in site.demand]
    m.CLUSTERS = pyo.Set(initialize=clusters, ordered=True)

    def bounds(c: str) -> tuple[int | None, int | None]:
        cluster = index.cluster[c]
        existing = index.existing_in_cluster.get(c, 0)
        reach = sum(index.upper_racks(p) for p in index.by_cluster.get(c, []))
        cap = None if cluster.max_racks is None else cluster.max_racks - existing
        upper = cap if cap is not None and cap < reach else None
        lower = cluster.min_racks - existing if cluster.min_racks > existing else None
        return lower, upper

    def rule(m: pyo.ConcreteModel, c: str) -> object:
        places = index.by_cluster.get(c, [])
        lower, upper = bounds(c)
        if lower is None and upper is None:
            return pyo.Constraint.Skip
        if not places:  # a minimum with nowhere to stand (explain.py reports it first)
            return pyo.Constraint.Infeasible if lower else pyo.Constraint.Skip
        q = site.phase_number(index.cluster[c].phase)
        if lower is not None and q < index.last_phase:
            upper_expr = pyo.quicksum(m.racks[p] for p in places)
            return upper_expr <= upper if upper is not None else pyo.Constraint.Skip
        return pyo.inequality(lower, pyo.quicksum(m.racks[p] for p in places), upper)

    m.demand = pyo.Constraint(m.CLUSTERS, rule=rule)
    early = [
        c
        for c in clusters
        if bounds(c)[0] is not None
        and site.phase_number(index.cluster[c].phase) < index.last_phase
        and index.by_cluster.get(c)
    ]
    m.EARLY_MINIMUMS = pyo.Set(initialize=early, ordered=True)

    @m.Constraint(m.EARLY_MINIMUMS)
    def demand_phase(m: pyo.ConcreteModel, c: str) -> object:
        q = site.phase_number(index.cluster[c].phase)
        terms = [v for p in index.by_cluster[c] if (v := standing(m, index, p, q)) is not None]
        if not terms:  # no row of the cluster's phase fits it (explain.py says so)
            return pyo.Constraint.Infeasible
        return pyo.quicksum(terms) >= bounds(c)[0]


def add_colocation(m: pyo.ConcreteModel, index: Index) -> None:
    """A colocated cluster's racks all stand in one hall (one pod): with a binary choice[c, g]
    per candidate group g, Σ_g choice ≤ 1 and Σ_{places in g} racks ≤ M_g · choice[c, g],
    M_g = min(max_racks, positions of the places in g). Colocation holds over all phases
    together, so it is enough on the last phase's racks."""
    groups: dict[tuple[str, str], list] = {}
    for (c, hall), places in index.by_cluster_hall.items():
        if index.cluster[c].colocate == "hall":
            groups[c, hall] = places
    for (c, pod), places in index.by_cluster_pod.items():
        if index.cluster[c].colocate == "pod":
            groups[c, pod] = places
    m.COLOCATION = pyo.Set(initialize=list(groups), dimen=2, ordered=True)
    m.choice = pyo.Var(m.COLOCATION, domain=pyo.Binary)
    colocated = list(dict.fromkeys(c for c, _ in groups))
    m.COLOCATED = pyo.Set(initialize=colocated, ordered=True)

    def big_m(c: str, places: list) -> int:
        reach = sum(index.upper_racks(p) for p in places)
        cap = index.cluster[c].max_racks
        return reach if cap is None else min(reach, cap - index.existing_in_cluster.get(c, 0))

    @m.Constraint(m.COLOCATION)
    def colocation_link(m: pyo.ConcreteModel, c: str, group: str) -> object:
        places = groups[c, group]
        return pyo.quicksum(m.racks[p] for p in places) <= big_m(c, places) * m.choice[c, group]

    @m.Constraint(m.COLOCATED)
    def colocation_one(m: pyo.ConcreteModel, c: str) -> object:
        return pyo.quicksum(m.choice[c, g] for cc, g in groups if cc == c) <= 1
