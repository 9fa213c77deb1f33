"""A primal heuristic that fills power groups, hall by hall.

The surrogate bound's aggregated plan says how many racks of each cluster each power class
(rows on the same upstream blocks, see bound.py) takes: a mix that fills the class's share of
capacity as exactly as the integers allow. This module turns it into a full plan.

1. Per class: the full model with Σ_{rows of class k} racks[c, ·] = y[k, c] added (fix and
   optimize). Cheap, and exact when the aggregated mix can be laid out on rows, busways and
   pods. An impossible layout is usually proven so in presolve.
2. Hall by hall: each hall gets its own small MIP: every row of the full model whose columns
   all lie in the hall, and every row that couples halls (the grid, cluster minimums and
   maximums, colocation, a substation's N-1 row) with the hall's share of it fixed to what the
   aggregated plan gives that hall (coefficients are equal within a class, so the share is
   exact). Within that, the hall maximizes the objective. The shares add up to the aggregated
   plan, so the assembled plan meets every coupling row; if every hall reaches its share of
   the objective, the plan is optimal. A hall whose minimum share cannot be met keeps only its
   upper shares (the full solve then repairs the minimums).
The result is a start for the full solve; first fit is the fallback.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import sparse

from optimizer.formulation import BuiltModel
from optimizer.solve import Compiled, Solution, SolveOptions, Solver
from optimizer.status import Status
from optimizer.strategy.blocks import column_halls
from optimizer.strategy.bound import SurrogateBound


def _with_rows(model: Compiled, rows: list[tuple[dict[int, float], float, float]]) -> Compiled:
    """A copy of `model` with extra rows {column: coefficient}, lower, upper."""
    n_cols = model.shape[1]
    r, c, v = [], [], []
    for k, (coefs, _, _) in enumerate(rows):
        for col, coef in coefs.items():
            r.append(k)
            c.append(col)
            v.append(coef)
    extra = sparse.csr_array((v, (r, c)), shape=(len(rows), n_cols))
    lower = np.array([lo for _, lo, _ in rows], dtype=float)
    upper = np.array([hi for _, _, hi in rows], dtype=float)
    return model.with_rows(extra, lower, upper, family="fixed share")


def _aggregate_point(
    built: BuiltModel, model: Compiled, surrogate: SurrogateBound
) -> tuple[np.ndarray, np.ndarray]:
    """The aggregated plan as a point of the full model (each class's racks of a cluster on
    one representative place) and each column's hall index."""
    index = built.index
    site = index.site
    row_class = {site.rows[i].id: k for k, rows in surrogate.members.items() for i in rows}
    x = np.zeros(model.shape[1])
    hall_of = column_halls(built, model)
    placed: set[tuple[str, str]] = set()
    target = {(k, c): n for (_, k, c), n in surrogate.classes.items()}
    for p, col in zip(index.places, model.place_column.tolist(), strict=True):
        if col < 0:
            continue
        k = row_class.get((p[1], p[2]))
        if k is not None and (k, p[0]) not in placed and (k, p[0]) in target:
            x[col] = target[k, p[0]]
            placed.add((k, p[0]))
    column = dict(zip(index.places, model.place_column.tolist(), strict=True))
    chosen: set[str] = set()  # one group per colocated cluster, the first one it uses
    for (c, g), col in zip(built.colocation, model.choice_column.tolist(), strict=True):
        if col < 0:
            continue
        members = index.by_cluster_hall.get((c, g)) or index.by_cluster_pod.get((c, g)) or []
        used = any(column[p] >= 0 and x[column[p]] > 0 for p in members)
        x[col] = 1.0 if used and c not in chosen else 0.0
        if used:
            chosen.add(c)
    return x, hall_of


def _by_class(
    built: BuiltModel,
    model: Compiled,
    surrogate: SurrogateBound,
    options: SolveOptions,
    start: np.ndarray | None,
) -> Solution | None:
    site_rows = built.index.site.rows
    row_class = {site_rows[i].id: k for k, rows in surrogate.members.items() for i in rows}
    columns: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for p, col in zip(built.index.places, model.place_column.tolist(), strict=True):
        k = row_class.get((p[1], p[2]))
        if k is not None and col >= 0:
            columns[k, p[0]][col] = 1.0
    target = {(k, c): n for (_, k, c), n in surrogate.classes.items()}
    rows = [
        (cols, float(target.get(key, 0)), float(target.get(key, 0)))
        for key, cols in columns.items()
    ]
    solution = Solver(_with_rows(model, rows), options).solve(start=start)
    return solution if solution.x is not None else None


def _elastic_hall(
    model: Compiled,
    sub_a: Any,
    cols: np.ndarray,
    lower: list[float],
    upper: list[float],
    soft: list[int],
) -> Compiled:
    """One hall's model. Its minimum shares (the `soft` rows) get a slack column each, at a
    price above any rack's objective value, so a hall that cannot meet a share still returns
    its best plan, short by as little as it can be."""
    lower_arr = np.array(lower, dtype=float)
    n = len(cols)
    slack = sparse.csr_array(
        (np.ones(len(soft)), (soft, np.arange(len(soft)))), shape=(len(lower), len(soft))
    )
    cost = model.cost[cols]
    price = 10.0 * (float(np.abs(cost).max()) if n else 1.0) + 1.0
    sign = -1.0 if model.maximize else 1.0  # the slack always makes the objective worse
    return replace(
        model,
        A=sparse.hstack([sparse.csr_array(sub_a), slack], format="csr"),
        row_lower=lower_arr,
        row_upper=np.array(upper, dtype=float),
        col_lower=np.concatenate([model.col_lower[cols], np.zeros(len(soft))]),
        col_upper=np.concatenate([model.col_upper[cols], np.full(len(soft), np.inf)]),
        integer=np.concatenate([model.integer[cols], np.zeros(len(soft), dtype=bool)]),
        cost=np.concatenate([cost, np.full(len(soft), sign * price)]),
        cost_offset=0.0,
        row_family=["hall share"] * len(lower),
        row_key=list(range(len(lower))),
        var_columns={},
    )


# Time cap of one hall's MIP. Measured on the generated sites (about 250 columns a hall):
# 1 s keeps every heuristic plan of the uncapped runs and takes the single-corded scale-1
# heuristic from 12.4 s to 1.5 s and the 3N/2 scale-1 one from 12.3 s to 2.6 s.
HALL_MIN_SECONDS = 1.0
HALL_SECONDS_PER_COLUMN = 1.0 / 250


def _hall_by_hall(
    built: BuiltModel,
    model: Compiled,
    surrogate: SurrogateBound,
    options: SolveOptions,
    deadline: float,
) -> np.ndarray | None:
    """Halls in turn; each gets, on every row coupling halls, what the row allows minus what
    the halls before it used and the aggregated plan's shares of the halls after it. So what
    one hall cannot use (grid kW, a cluster's maximum) passes on to the next, and what it
    cannot place of a minimum is asked of the next."""
    x_agg, hall_of = _aggregate_point(built, model, surrogate)
    a = model.A.tocsr()
    a_csc = a.tocsc()
    n_rows = a.shape[0]
    row_halls = [
        np.unique(hall_of[a.indices[a.indptr[r] : a.indptr[r + 1]]]) for r in range(n_rows)
    ]
    coupling = np.array([len(h) > 1 for h in row_halls], dtype=bool)
    halls = [int(h) for h in np.unique(hall_of[hall_of >= 0])]
    share = {h: a_csc[:, np.flatnonzero(hall_of == h)] @ x_agg[hall_of == h] for h in halls}
    future = sum(share.values()) if halls else np.zeros(n_rows)
    done = np.zeros(n_rows)
    x = np.zeros(model.shape[1])
    for done_halls, h in enumerate(halls):
        cols = np.flatnonzero(hall_of == h)
        future = future - share[h]
        local_rows = [r for r in range(n_rows) if h in row_halls[r]]
        lower, upper, soft = [], [], []
        for r in local_rows:
            if not coupling[r]:
                lower.append(model.row_lower[r])
                upper.append(model.row_upper[r])
                continue
            lo = model.row_lower[r] - done[r] - future[r]
            hi = model.row_upper[r] - done[r] - future[r]
            if np.isfinite(lo):
                soft.append(len(lower))
            lower.append(lo)
            upper.append(hi)
        sub = _elastic_hall(model, a[local_rows][:, cols], cols, lower, upper, soft)
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        # A fair share of the time left, and at most HALL_SECONDS_PER_COLUMN a column: one
        # hard hall must not starve the others (one hall of the single-corded scale-1 site
        # ran to the deadline alone, 30-50 s), and a hall needs a good plan, not a proof
        # (the proof is the bound's). A hall stopped early keeps its best plan.
        share_s = min(
            left / (len(halls) - done_halls),
            max(HALL_MIN_SECONDS, HALL_SECONDS_PER_COLUMN * len(cols)),
        )
        solution = Solver(sub, replace(options, time_limit_s=share_s)).solve()
        if solution.x is None:
            return None
        found = solution.x[: len(cols)]
        x[cols] = np.where(model.integer[cols], np.round(found), found)
        done += a_csc[:, cols] @ x[cols]
    return x


def fill_power_groups(
    built: BuiltModel,
    model: Compiled,
    surrogate: SurrogateBound,
    options: SolveOptions,
    start: np.ndarray | None = None,
) -> Solution | None:
    """A full plan that follows the aggregated plan, or None (see the module docstring)."""
    if not surrogate.classes:
        return None
    began = time.perf_counter()
    deadline = began + options.time_limit_s
    short = replace(options, time_limit_s=max(options.time_limit_s * 0.2, 1.0))
    by_class = _by_class(built, model, surrogate, short, start)
    if by_class is not None:
        return by_class
    x = _hall_by_hall(built, model, surrogate, options, deadline)
    if x is None:
        return None
    if not model.keeps(x):
        return None
    return Solution(
        Status.TIME_LIMIT, x, model.objective_of(x), None, None, time.perf_counter() - began
    )
