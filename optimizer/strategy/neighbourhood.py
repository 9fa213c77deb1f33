"""Better plans by re-solving two halls at a time, the rest of the plan fixed.

A large-neighbourhood search (fix and optimize) over the power forest's blocks: take the
best plan known, keep every column outside a pair of halls at its value, and let HiGHS
re-solve the pair exactly (every row of the full model, the coupling rows included, with the
other halls' load as it is). What HiGHS finds there is feasible for the full model, since
only the free columns moved and every row was kept; if it is better, it is handed on (to
the strategy's board: the plan rackfit reports is the better of it and HiGHS's).

Why halls: where HiGHS's plan is weakest (the ORP rooms of the random family, 1-2% from
their bound), the loss is spread over halls, and one pair of halls is small enough for
HiGHS to improve in a few seconds. Measured in docs/performance.md.

The pairs come in an order drawn from `SolveOptions.seed` (every pair once per round), so a
run is reproducible given the plans it starts from. A round in which no pair improved and
every pair was solved to optimality is a local optimum: the search ends there. Otherwise it
goes on until it is cancelled (the full solve ended) or its time is up.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from optimizer.solve import Cancelled, Compiled, SolveOptions, Solver, cancel_requested
from optimizer.status import Status

PAIR_SECONDS = 3.0  # the most one pair's re-solve takes
WAIT_FOR_A_PLAN_S = 0.2  # with no plan to start from yet, ask again after this


@dataclass(frozen=True)
class NeighbourhoodSearch:
    """What the search did: pairs re-solved, how many of them gave a better plan, the best
    objective it reached (None: it found none), and whether it ended by being cancelled."""

    solves: int
    improvements: int
    objective: float | None
    cancelled: bool = False


def neighbourhoods(hall_of: np.ndarray, seed: int) -> list[tuple[int, ...]]:
    """The halls freed together, in the search's order: every pair of halls (every hall
    alone when there are only two; none for one hall, where the neighbourhood would be the
    whole model)."""
    halls = sorted(int(h) for h in np.unique(hall_of[hall_of >= 0]))
    size = 2 if len(halls) > 2 else 1
    if len(halls) < 2:
        return []
    chosen = list(itertools.combinations(halls, size))
    random.Random(seed).shuffle(chosen)
    return chosen


def improve_by_halls(
    model: Compiled,
    hall_of: np.ndarray,
    best: Callable[[], np.ndarray | None],
    offer: Callable[[np.ndarray], None],
    options: SolveOptions,
    seconds: float,
) -> NeighbourhoodSearch:
    """Re-solve pairs of halls (`hall_of`: each column's hall, -1 for none: always free)
    around `best()`, the best plan known when each pair starts (others may improve it
    meanwhile; None: none yet, and the search waits for one), until a round finds nothing,
    `seconds` pass, or the caller's `cancel_on` event is set (then `cancelled`). Each better
    plan goes to `offer`."""
    deadline = time.perf_counter() + seconds
    pairs = neighbourhoods(hall_of, options.seed)
    solves = improvements = 0
    objective: float | None = None
    one_hall = replace(options, threads=1, mip_gap=0.0)
    while pairs:
        improved, exact = False, True
        for pair in pairs:
            left = deadline - time.perf_counter()
            if cancel_requested():
                return NeighbourhoodSearch(solves, improvements, objective, cancelled=True)
            if left <= 0.1:
                return NeighbourhoodSearch(solves, improvements, objective)
            x = best()
            if x is None:  # no plan yet (HiGHS has found none): wait for one
                time.sleep(WAIT_FOR_A_PLAN_S)
                exact = False
                continue
            x = np.where(model.integer, np.round(x), x)  # fixed integers must be integers
            value = model.objective_of(x)
            free = np.isin(hall_of, pair) | (hall_of < 0)
            sub = replace(
                model,
                col_lower=np.where(free, model.col_lower, x),
                col_upper=np.where(free, model.col_upper, x),
            )
            limit = min(PAIR_SECONDS, left)
            try:
                solution = Solver(sub, replace(one_hall, time_limit_s=limit)).solve(start=x)
            except Cancelled:
                return NeighbourhoodSearch(solves, improvements, objective, cancelled=True)
            solves += 1
            exact = exact and solution.status == Status.OPTIMAL
            if solution.x is None:
                continue
            found = np.where(model.integer, np.round(solution.x), solution.x)
            found_value = model.objective_of(found)
            if _better(model, found_value, value) and model.keeps(found):
                offer(found)
                improvements += 1
                improved = True
                objective = found_value
        if not improved and exact:
            break
    return NeighbourhoodSearch(solves, improvements, objective)


def _better(model: Compiled, a: float, b: float) -> bool:
    """Is a better than b by more than rounding (relative 1e-9)?"""
    margin = 1e-9 * max(1.0, abs(b))
    return a > b + margin if model.maximize else a < b - margin
