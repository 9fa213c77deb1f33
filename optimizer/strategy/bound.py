"""A surrogate upper bound, stronger than the LP relaxation, from a small aggregated MIP.

Why it is needed. On Colossus-shaped sites the LP bound sits just above the optimum, but
HiGHS's branch-and-bound never raises it: thousands of interchangeable rows make the tree
hopeless. The integrality that matters is per power group ("these blocks can take 18,000 kW,
and racks come in 82 and 132 kW pieces"), and an aggregated model sees it at once.

The aggregated model. Site rows are put in *power classes*: rows in the same hall whose
weights are equal in every power row that spans more than one site row (rows on the same
pair of UPS blocks, say). Busway-like rows, whose support is a single site row, become a cap
on that row's kW. One integer variable y[k, c] counts the racks of cluster c in class k.
Constraints, each valid for the aggregate of any feasible plan x (y[k, c] = Σ_{i ∈ k} x[c, i]):

- every multi-row power row (normal and N-1), exactly: its weight is the same for all rows of
  a class, so Σ_i w_i L_i = Σ_k w_k Σ_c design_kw_c y[k, c];
- space and single-row power caps summed over the class, for every subset S of clusters,
  over the class's rows that fit some cluster of S: Σ_{c ∈ S} design_kw_c y[k, c] ≤ Σ row
  caps, and Σ_{c ∈ S} y[k, c] ≤ Σ_i min(positions_i, ⌊cap_i / smallest design_kw of S⌋)
  (a row takes no more whole racks of S than that: sums of per-row facts);
- cooling per hall and medium, the grid, cluster min/max and hall colocation: exactly (their
  coefficients depend only on the cluster and the hall);
- pod ports summed per hall over the pods the hall's rows use (a sum of pod rows);
- pod colocation is dropped (a relaxation).
Every feasible plan maps to a feasible y with the same objective, so the aggregated optimum
(or, if it stops early, its own proven bound) is a valid bound on the full model's optimum.
It need not be exact: with three 400 kW blocks in 3N/2 and 25 kW racks, the summed rows allow
32 racks while the optimum is 31; then the full solve closes the rest.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimizer.formulation import Index, PowerLimit, objective_coefficients
from optimizer.schema import MEDIA
from optimizer.solve import SolveOptions, Solver, compile_model
from optimizer.status import Status

MAX_SUBSET_CLUSTERS = 6  # all subsets up to this many clusters in a class, else singletons


@dataclass
class SurrogateBound:
    bound: float | None  # valid bound on the objective (None: the aggregate failed)
    exact: bool  # the aggregated MIP was solved to optimality
    classes: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (hall, class, c)
    members: dict[str, list[int]] = field(default_factory=dict)  # class -> site row indices
    size: tuple[int, int] = (0, 0)  # (variables, constraints)
    solve_s: float = 0.0


def power_classes(
    index: Index, limits: list[PowerLimit]
) -> tuple[dict[str, list[int]], np.ndarray]:
    """Class id -> site row indices, and each row's kW cap from single-row power rows."""
    site = index.site
    n = len(site.rows)
    cap_kw = np.full(n, np.inf)
    signature: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for k, lim in enumerate(limits):
        if len(lim.rows) == 1:
            i = lim.rows[0]
            cap_kw[i] = min(cap_kw[i], lim.limit_kw / lim.weights[0])
        else:
            for i, w in zip(lim.rows, lim.weights, strict=True):
                signature[i].append((k, w))
    classes: dict[tuple[Any, ...], list[int]] = {}
    for i, row in enumerate(site.rows):
        if not index.by_row.get(row.id):
            continue
        classes.setdefault((row.hall, tuple(signature[i])), []).append(i)
    named = {f"{key[0]}#{n}": rows for n, (key, rows) in enumerate(classes.items())}
    return named, cap_kw


@dataclass(frozen=True)
class Aggregate:
    """The aggregated MIP and its classes."""

    model: pyo.ConcreteModel
    keys: list[tuple[str, str]]  # (class, cluster) of each y column, in order
    classes: dict[str, list[int]]  # class -> site row indices
    hall_of: dict[str, str]  # class -> hall


def build_aggregate(
    index: Index, limits: list[PowerLimit], objective: str, supply_kw: float | None = None
) -> Aggregate:
    """The aggregated MIP described in the module docstring. `supply_kw` replaces the site's
    grid + on-site supply (sweeps re-solve one model at many supplies)."""
    site = index.site
    classes, cap_kw = power_classes(index, limits)
    hall_of = {k: site.rows[rows[0]].hall for k, rows in classes.items()}
    clusters = [c.cluster for c in site.demand]
    model_of = {c.cluster: site.model_of(c) for c in site.demand}
    fits = {  # (class, cluster) -> row indices of the class the cluster fits
        (k, c): [i for i in rows if (c, site.rows[i].hall, site.rows[i].row) in index.place_set]
        for k, rows in classes.items()
        for c in clusters
    }
    fits_set = {key: set(rows) for key, rows in fits.items()}
    keys = [(k, c) for k in classes for c in clusters if fits[k, c]]
    coef = objective_coefficients(index, objective)
    value = {
        c: next(coef[p] for p in index.by_cluster[c]) for c in clusters if c in index.by_cluster
    }

    def upper(k: str, c: str) -> int:
        positions = sum(site.rows[i].positions for i in fits[k, c])
        cap = index.cluster[c].max_racks
        return positions if cap is None else min(positions, cap)

    bounds = {key: (0, upper(*key)) for key in keys}
    m = pyo.ConcreteModel()
    m.KEYS = pyo.Set(initialize=keys, dimen=2, ordered=True)
    m.y = pyo.Var(m.KEYS, domain=pyo.NonNegativeIntegers, bounds=bounds)
    m.cons = pyo.ConstraintList()
    by_class: dict[str, list[str]] = defaultdict(list)
    for k, c in keys:
        by_class[k].append(c)
    # space and single-row caps, per subset of clusters
    for k, cs in by_class.items():
        subsets: list[tuple[str, ...]]
        if len(cs) <= MAX_SUBSET_CLUSTERS:
            subsets = [s for r in range(1, len(cs) + 1) for s in itertools.combinations(cs, r)]
        else:
            subsets = [(c,) for c in cs] + [tuple(cs)]
        for subset in subsets:
            rows = sorted({i for c in subset for i in fits[k, c]})
            # racks of S a row can take: positions, and whole racks under its kW cap
            racks = 0
            for i in rows:
                smallest_kw = min(model_of[c].design_kw for c in subset if i in fits_set[k, c])
                by_kw = np.floor(cap_kw[i] / smallest_kw + 1e-9) if smallest_kw > 0 else np.inf
                racks += int(min(site.rows[i].positions, by_kw))
            m.cons.add(sum(m.y[k, c] for c in subset) <= racks)
            kw = float(sum(cap_kw[i] for i in rows))
            if np.isfinite(kw):
                m.cons.add(sum(model_of[c].design_kw * m.y[k, c] for c in subset) <= kw)
    # multi-row power rows, exactly
    class_of_row = {i: k for k, rows in classes.items() for i in rows}
    for lim in limits:
        if len(lim.rows) == 1:
            continue
        w_class: dict[str, float] = {}
        for i, w in zip(lim.rows, lim.weights, strict=True):
            if i in class_of_row:
                w_class[class_of_row[i]] = w
        terms = [
            w * model_of[c].design_kw * m.y[k, c]
            for k, w in w_class.items()
            for c in by_class.get(k, [])
        ]
        if terms:
            m.cons.add(pyo.quicksum(terms) <= lim.limit_kw)
    # cooling per hall and medium
    for hall in site.halls:
        hall_keys = [(k, c) for k, c in keys if hall_of[k] == hall]
        for medium in MEDIA:
            terms = [
                model_of[c].heat_kw(medium) * m.y[k, c]
                for k, c in hall_keys
                if model_of[c].heat_kw(medium) > 0
            ]
            if terms:
                m.cons.add(pyo.quicksum(terms) <= site.cooling_capacity_kw(hall, medium))
        pods = {site.rows[i].pod for k, c in hall_keys for i in fits[k, c]}
        if pods and all(p is not None for p in pods):
            ports = sum(site.pod_by_id[p].ports for p in pods if p is not None)
            terms = [model_of[c].ports * m.y[k, c] for k, c in hall_keys if model_of[c].ports]
            if terms:
                m.cons.add(pyo.quicksum(terms) <= ports)
    # grid
    grid_terms = [site.grid_kw_per_rack(model_of[c]) * m.y[k, c] for k, c in keys]
    if grid_terms:
        supply = site.supply_limit_kw if supply_kw is None else supply_kw
        m.cons.add(pyo.quicksum(grid_terms) + site.fixed_overhead_kw <= supply)
    # cluster min/max and hall colocation
    for c in clusters:
        mine = [m.y[k, cc] for k, cc in keys if cc == c]
        cl = index.cluster[c]
        placed = pyo.quicksum(mine) if mine else 0
        if cl.min_racks > 0:
            m.cons.add(placed >= cl.min_racks)
        if cl.max_racks is not None and mine:
            m.cons.add(placed <= cl.max_racks)
    halls_of = {
        c: sorted({hall_of[k] for k, cc in keys if cc == c})
        for c in clusters
        if index.cluster[c].colocate == "hall"
    }
    colocated = [c for c, halls in halls_of.items() if halls]
    m.HALLCHOICE = pyo.Set(initialize=[(c, h) for c in colocated for h in halls_of[c]], dimen=2)
    m.z = pyo.Var(m.HALLCHOICE, domain=pyo.Binary)
    for c in colocated:
        for h in halls_of[c]:
            mine = [m.y[k, cc] for k, cc in keys if cc == c and hall_of[k] == h]
            big = sum(m.y[k, cc].ub for k, cc in keys if cc == c and hall_of[k] == h)
            m.cons.add(pyo.quicksum(mine) <= big * m.z[c, h])
        m.cons.add(pyo.quicksum(m.z[c, h] for h in halls_of[c]) <= 1)
    sense = pyo.maximize if objective == "gpus" else pyo.minimize
    m.objective = pyo.Objective(
        expr=pyo.quicksum(value[c] * m.y[k, c] for k, c in keys), sense=sense
    )
    return Aggregate(m, keys, classes, hall_of)


def surrogate_bound(
    index: Index,
    limits: list[PowerLimit],
    objective: str,
    options: SolveOptions,
    supply_kw: float | None = None,
    stop_when: Callable[[float | None, float | None], bool] | None = None,
) -> SurrogateBound:
    """Solve the aggregated MIP; its optimum (or proven bound) bounds the full model.
    `stop_when(incumbent, bound)`: asked with the aggregate's best plan and proven bound while
    HiGHS solves it (Solver.solve); True stops it there, its proven bound still valid."""
    agg = build_aggregate(index, limits, objective, supply_kw)
    compiled = compile_model(agg.model)
    # One thread: measured on the Colossus aggregate, HiGHS proves the bound in 0.7 s on one
    # thread and 38 s on two (a different search path; the model is too small to share).
    solution = Solver(compiled, replace(options, threads=1)).solve(stop_when=stop_when)
    # The aggregate stops within its own gap: its proven (dual) bound is what is valid.
    bound = solution.bound if solution.bound is not None else None
    if solution.status == Status.INFEASIBLE:
        bound = None
    counts: dict[tuple[str, str, str], int] = {}
    if solution.x is not None:
        for (k, c), col in zip(agg.keys, compiled.var_columns["y"].tolist(), strict=True):
            n = int(round(solution.x[col])) if col >= 0 else 0
            if n:
                counts[index.site.rows[agg.classes[k][0]].hall, k, c] = n
    return SurrogateBound(
        bound=bound,
        exact=solution.status == Status.OPTIMAL,
        classes=counts,
        members=agg.classes,
        size=(compiled.shape[1], compiled.shape[0]),
        solve_s=solution.solve_s,
    )
