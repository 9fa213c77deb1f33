"""Better plans by re-solving two halls, or two or three clusters, at a time, the rest of
the plan fixed.

A large-neighbourhood search (fix and optimize): take the best plan known, keep every column
outside a neighbourhood at its value, and let HiGHS re-solve the neighbourhood exactly (every
row of the full model, the coupling rows included, with the rest's load as it is). What
HiGHS finds there is feasible for the full model, since only the free columns moved and
every row was kept; if it is better, it is handed on (to the strategy's board: the plan
rackfit reports is the better of it and HiGHS's).

Two kinds of neighbourhood, each a pair of blocks of a partition of the columns:
- **two halls** (blocks.column_halls): where HiGHS's plan is weakest (the ORP rooms of the
  random family, 1-2% from their bound), the loss is spread over halls, and one pair of
  halls is small enough for HiGHS to improve in a few seconds;
- **two clusters over the whole site** (blocks.column_clusters): which rack models go to
  which hall. The grid and the cluster limits couple every hall, and a better plan may move
  kW between many halls at once, which no pair of halls can. Measured from HiGHS's plans on
  random-family sites (docs/strategy.md): seed 19 (single-corded, ports binding), hall pairs
  alone stalled at 53,438.2 for 150 s, cluster pairs reached 53,459.1 in 2.6 s (CP-SAT's
  best plan); seed 1 (3N/2), 90,267.4 to 90,301.0 in 7 s.

Once every pair of clusters has been re-solved at the current plan, **triples of clusters**
come next (on the clusters' share of the time): on seed 19, from the local optimum of every
pair (53,438.2, each pair of either kind proven at it), exactly one of the 120 triples
reaches 53,459.1, which the whole pipeline proved within 7.5e-5 in 60 s in one run of two.

Each kind's neighbourhoods come in an order drawn from `SolveOptions.seed`, and the
partitions share the search's time (`improve_by_neighbourhoods`), so a run is reproducible given the
plans it starts from. When every neighbourhood has been solved to optimality at the current
plan and none gave a better one, the plan is a local optimum and the search ends; otherwise
it goes on until it is cancelled (the full solve ended) or its time is up. A neighbourhood
whose re-solve hit its time limit comes again with twice the time (HiGHS is deterministic:
the same start and the same limit would repeat the same search).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from optimizer.solve import Cancelled, Compiled, Solution, SolveOptions, Solver, cancel_requested
from optimizer.status import Status

PAIR_SECONDS = 3.0  # the most one neighbourhood's first re-solve at a plan takes
# A re-solve that hit its time limit comes again (at the same plan) with twice the time, up to
# this many doublings: HiGHS is deterministic, so the same start and the same limit would
# only repeat the same search.
MAX_DOUBLINGS = 2
WAIT_FOR_A_PLAN_S = 0.2  # with no plan to start from yet, ask again after this


@dataclass(frozen=True)
class NeighbourhoodSearch:
    """What the search did: neighbourhoods re-solved, how many gave a better plan, the best
    objective it reached (None: it found none), and whether it ended by being cancelled."""

    solves: int
    improvements: int
    objective: float | None
    cancelled: bool = False


def neighbourhoods(block_of: np.ndarray, seed: int, size: int = 2) -> list[tuple[int, ...]]:
    """The blocks (halls, or clusters) freed together, in the search's order: every pair of
    blocks (every block alone when there are only two; none for one block, where the
    neighbourhood would be the whole model); with `size=3`, every triple (none for three
    blocks or fewer: the pairs cover those)."""
    blocks = sorted(int(h) for h in np.unique(block_of[block_of >= 0]))
    if size > 2 and len(blocks) <= size:
        return []
    size = min(size, len(blocks) - 1)
    if size < 1:
        return []
    chosen = list(itertools.combinations(blocks, size))
    random.Random(seed).shuffle(chosen)
    return chosen


def improve_by_neighbourhoods(
    model: Compiled,
    partitions: Sequence[np.ndarray],
    best: Callable[[], np.ndarray | None],
    offer: Callable[[np.ndarray], None],
    options: SolveOptions,
    seconds: float,
    triples_of: Sequence[int] = (),
) -> NeighbourhoodSearch:
    """Re-solve pairs (and triples) of blocks of each partition (each an array of every
    column's block: its hall, or its cluster; -1 for none: always free) around `best()`, the
    best plan known when each neighbourhood starts (others may improve it meanwhile; None:
    none yet, and the search waits for one). Each better plan goes to `offer`.

    The partitions share the time, not the turns: the next neighbourhood is the next one of
    the partition that has had the least time so far (a pair of halls may take its whole
    PAIR_SECONDS where a pair of clusters takes a tenth of it). Once every pair of a
    partition in `triples_of` (indices into `partitions`) has been re-solved at the current
    plan without a better one, its triples come next, on the same partition's time, until a
    better plan brings the pairs back first. Once every neighbourhood has been re-solved at
    the plan, those whose re-solve hit its time limit come again, each with twice the time it
    had before (at most MAX_DOUBLINGS times). The search ends when every
    neighbourhood is settled (solved to optimality at the current plan without a better
    one: a local optimum), `seconds` pass, or the caller's `cancel_on` event is set (then
    `cancelled`)."""
    deadline = time.perf_counter() + seconds
    seed = options.seed
    kinds = [(k, pairs, 0) for k, p in enumerate(partitions) if (pairs := neighbourhoods(p, seed))]
    kinds += [
        (k, triples, 1) for k in triples_of if (triples := neighbourhoods(partitions[k], seed, 3))
    ]
    spent = [0.0] * len(partitions)  # seconds each partition's neighbourhoods have had
    turns = [0] * len(kinds)  # each kind's neighbourhoods tried so far, in order, cyclically
    settled: set[tuple[int, tuple[int, ...]]] = set()  # optimal at `at`, nothing better
    # re-solves at `at` that hit their time limit, and how often; with `settled`, every
    # neighbourhood re-solved at `at` without a better plan
    timed_out: dict[tuple[int, tuple[int, ...]], int] = {}
    at: np.ndarray | None = None  # the plan the settled neighbourhoods were solved at
    solves = improvements = 0
    objective: float | None = None
    total = sum(len(blocks) for _, blocks, _ in kinds)
    while kinds and len(settled) < total:
        left = deadline - time.perf_counter()
        if cancel_requested():
            return NeighbourhoodSearch(solves, improvements, objective, cancelled=True)
        if left <= 0.1:
            return NeighbourhoodSearch(solves, improvements, objective)
        x = best()
        if x is None:  # no plan yet (HiGHS has found none): wait for one
            time.sleep(WAIT_FOR_A_PLAN_S)
            continue
        x = np.where(model.integer, np.round(x), x)  # fixed integers must be integers
        value = model.objective_of(x)
        if at is None or not np.array_equal(x, at):  # a new plan (ours or another's)
            settled.clear()  # nothing is settled (or tried) at it yet
            timed_out.clear()
            at = x
        # each neighbourhood once at this plan, pairs first; then again those not proven
        tried = settled | timed_out.keys()
        j, blocks = _next(kinds, spent, turns, tried if len(tried) < total else settled)
        k = kinds[j][0]
        limit = PAIR_SECONDS * 2 ** min(timed_out.get((k, blocks), 0), MAX_DOUBLINGS)
        began = time.perf_counter()
        try:
            solution = _resolve(model, partitions[k], blocks, x, options, min(limit, left))
        except Cancelled:
            return NeighbourhoodSearch(solves, improvements, objective, cancelled=True)
        spent[k] += time.perf_counter() - began
        solves += 1
        if solution.x is not None:
            found = np.where(model.integer, np.round(solution.x), solution.x)
            found_value = model.objective_of(found)
            if _better(model, found_value, value) and model.keeps(found):
                offer(found)
                improvements += 1
                at, objective = found, found_value
                settled.clear()
                timed_out.clear()
        # at `at`: the plan it started from, or the one it found
        if solution.status == Status.OPTIMAL:
            settled.add((k, blocks))
        else:
            timed_out[k, blocks] = timed_out.get((k, blocks), 0) + 1
    return NeighbourhoodSearch(solves, improvements, objective)


def _next(
    kinds: list[tuple[int, list[tuple[int, ...]], int]],
    spent: list[float],
    turns: list[int],
    done: set[tuple[int, tuple[int, ...]]],
) -> tuple[int, tuple[int, ...]]:
    """The next neighbourhood: of the kinds (partition, its neighbourhoods, level) with one
    not in `done` (the caller's set of those done at this plan), each partition's lowest
    level (its pairs before its triples); of these, the partition with the least time so far
    (`spent`); its next neighbourhood not done, in its order (`turns` moves past it). There
    is one: the caller stops once every neighbourhood is settled."""
    open_kinds = [
        j for j, (k, blocks, _) in enumerate(kinds) if any((k, b) not in done for b in blocks)
    ]
    lowest: dict[int, int] = {}  # each partition's lowest open level
    for j in open_kinds:
        k, _, level = kinds[j]
        lowest[k] = min(level, lowest.get(k, level))
    j = min(
        (j for j in open_kinds if kinds[j][2] == lowest[kinds[j][0]]),
        key=lambda j: (spent[kinds[j][0]], j),
    )
    k, blocks, _ = kinds[j]
    while (k, chosen := blocks[turns[j] % len(blocks)]) in done:
        turns[j] += 1
    turns[j] += 1
    return j, chosen


def _resolve(
    model: Compiled,
    block_of: np.ndarray,
    blocks: tuple[int, ...],
    x: np.ndarray,
    options: SolveOptions,
    seconds: float,
) -> Solution:
    """HiGHS on one neighbourhood (one thread, gap 0, at most `seconds`): every column
    outside the `blocks` fixed at its value in `x`, every row kept; `x` is its start."""
    free = np.isin(block_of, blocks) | (block_of < 0)
    sub = replace(
        model,
        col_lower=np.where(free, model.col_lower, x),
        col_upper=np.where(free, model.col_upper, x),
    )
    exact = replace(options, threads=1, mip_gap=0.0, time_limit_s=seconds)
    return Solver(sub, exact).solve(start=x)


def _better(model: Compiled, a: float, b: float) -> bool:
    """Is a better than b by more than rounding (relative 1e-9)?"""
    margin = 1e-9 * max(1.0, abs(b))
    return a > b + margin if model.maximize else a < b - margin
