"""Demand and colocation (contract §3)."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index


def add_demand(m: pyo.ConcreteModel, index: Index) -> None:
    """min_racks ≤ Σ_rows racks[c, ·] ≤ max_racks for each cluster (when not implied)."""
    site = index.site
    clusters = [c.cluster for c in site.demand]
    m.CLUSTERS = pyo.Set(initialize=clusters, ordered=True)

    def rule(m: pyo.ConcreteModel, c: str) -> object:
        cluster = index.cluster[c]
        places = index.by_cluster.get(c, [])
        reach = sum(index.upper_racks(p) for p in places)
        upper = (
            cluster.max_racks
            if cluster.max_racks is not None and cluster.max_racks < reach
            else None
        )
        lower = cluster.min_racks if cluster.min_racks > 0 else None
        if lower is None and upper is None:
            return pyo.Constraint.Skip
        if not places:  # a minimum with nowhere to stand (explain.py reports it first)
            return pyo.Constraint.Infeasible if lower else pyo.Constraint.Skip
        return pyo.inequality(lower, pyo.quicksum(m.racks[p] for p in places), upper)

    m.demand = pyo.Constraint(m.CLUSTERS, rule=rule)


def add_colocation(m: pyo.ConcreteModel, index: Index) -> None:
    """A colocated cluster's racks all stand in one hall (one pod): with a binary choice[c, g]
    per candidate group g, Σ_g choice ≤ 1 and Σ_{places in g} racks ≤ M_g · choice[c, g],
    M_g = min(max_racks, positions of the places in g)."""
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
        return reach if cap is None else min(reach, cap)

    @m.Constraint(m.COLOCATION)
    def colocation_link(m: pyo.ConcreteModel, c: str, group: str) -> object:
        places = groups[c, group]
        return pyo.quicksum(m.racks[p] for p in places) <= big_m(c, places) * m.choice[c, group]

    @m.Constraint(m.COLOCATED)
    def colocation_one(m: pyo.ConcreteModel, c: str) -> object:
        return pyo.quicksum(m.choice[c, g] for cc, g in groups if cc == c) <= 1
