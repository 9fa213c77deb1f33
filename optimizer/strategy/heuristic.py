"""A primal heuristic that fills power groups.

The surrogate bound's aggregated plan says how many racks of each cluster each power class
(rows on the same upstream blocks, see bound.py) should take: a mix that fills the class's
share of capacity as exactly as the integers allow. This module turns it into a full plan:
the full model with Σ_{rows of class k} racks[c, ·] = y[k, c] added (fix-and-optimize), which
leaves HiGHS only the placement of given counts on rows, busways and pods. If the counts
cannot be laid out per class (a mix of racks in a row that the aggregate could not see), the
counts per hall are tried, then per hall for clusters that are not colocated. Each pass is
short: an impossible layout is usually proven so in presolve. The result is a feasible start
for the full solve; first fit is the fallback. (Relaxing the counts to upper bounds was
measured too: it gives plans a few percent short of the bound, worse than the full solve
finds with the bound as a cut, so it is not tried.)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from scipy import sparse

from optimizer.solve import Compiled, Solution, SolveOptions, Solver
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
    return Compiled(
        A=sparse.vstack([model.A, extra], format="csr"),
        row_lower=np.concatenate([model.row_lower, [lo for _, lo, _ in rows]]),
        row_upper=np.concatenate([model.row_upper, [hi for _, _, hi in rows]]),
        col_lower=model.col_lower,
        col_upper=model.col_upper,
        integer=model.integer,
        cost=model.cost,
        cost_offset=model.cost_offset,
        maximize=model.maximize,
        columns=model.columns,
        constraints=model.constraints + [None] * len(rows),
        column_of=model.column_of,
    )


def fill_power_groups(
    m: Any, model: Compiled, surrogate: SurrogateBound, options: SolveOptions,
    start: np.ndarray | None = None,
) -> Solution | None:  # fmt: skip
    """A full plan that follows the aggregated plan's counts per power class, or None."""
    if not surrogate.classes:
        return None
    site_rows = m.index.site.rows
    row_class = {site_rows[i].id: k for k, rows in surrogate.members.items() for i in rows}
    by_class: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    by_hall: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for p in m.PLACES:
        k = row_class.get((p[1], p[2]))
        col = model.column_of.get(id(m.racks[p]))
        if col is None:  # a rack that no row or objective mentions
            continue
        if k is not None:
            by_class[k, p[0]][col] = 1.0
        by_hall[p[1], p[0]][col] = 1.0
    class_target: dict[tuple[str, str], int] = {}
    hall_target: dict[tuple[str, str], int] = defaultdict(int)
    for (hall, k, c), n in surrogate.classes.items():
        class_target[k, c] = n
        hall_target[hall, c] += n
    colocated = {c.cluster for c in m.index.site.demand if c.colocate != "none"}
    # Passes from strict to loose: counts fixed per power class; per hall (rows, busways and
    # pods the aggregate could not see get the freedom to shift racks between classes);
    # per hall for clusters that are not colocated (the aggregate cannot see pod colocation).
    passes = (
        (by_class, class_target, set()),
        (by_hall, hall_target, set()),
        (by_hall, hall_target, colocated),
    )
    for columns, target, free in passes:
        rows = [
            (cols, float(target.get(key, 0)), float(target.get(key, 0)))
            for key, cols in columns.items()
            if key[1] not in free
        ]
        solution = Solver(_with_rows(model, rows), options).solve(start=start)
        if solution.x is not None:
            return solution
    return None
