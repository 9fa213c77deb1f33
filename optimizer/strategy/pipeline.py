"""Orchestration: surrogate bound, decomposition bound, power-group heuristic and the full
solve, stopped as soon as a plan is within the gap of the tightest bound (or, with
`cut=True`, with the row `objective ≤ surrogate bound` in the model).

Two paths, chosen by the surrogate bound (at most SURROGATE_SHARE of the limit, first):

- **Easy: the surrogate is exact** (its aggregate solved to optimality). The power-group
  heuristic then usually meets it, so the stages run in turn: heuristic (at most
  HEURISTIC_SHARE), then, if the gap is not met, HiGHS, stopped at the bound. Everything is a
  fixed function of the input: the same site gives the same plan.
- **Hard: it is not.** HiGHS starts at once on the full model with the whole rest of the
  limit. Beside it, on a thread at the lowest scheduling priority (so on a 2-core machine it
  takes the cycles HiGHS's search leaves idle, not HiGHS's own; measured in
  docs/performance.md), the decomposition bound (at most BESIDE_DECOMPOSITION_SHARE of the
  limit) and then the heuristic (BESIDE_HEURISTIC_SHARE) run and hand in what they find as
  they find it: a bound stops HiGHS once its plan (or theirs) is within the gap of it; their
  plan is kept if HiGHS ends with nothing better. When HiGHS ends, whatever the stages are
  still solving is cancelled. Plans here depend on timing, as any plan stopped by a time
  limit does.

On both paths HiGHS searches from no start: the path raw HiGHS takes on the same model, so
that the plan at any time limit is at least raw HiGHS's at that moment (up to the
surrogate's seconds in front). A start or a plan handed in during the search changes which
nodes HiGHS explores, and at a time limit the plan it holds is a sample of that path:
session 4 measured rackfit below raw HiGHS on 5 of 20 random-family seeds that way, and 4.6x
slower to the proof on one. First fit and the stages' plans serve as fallbacks and in the
stop rule (HiGHS stops once its bound is within the gap of them).

Each stage's time, incumbent and bound are recorded (`StrategyLog`), go to the log, and end
up in summary.json (`strategy_stages`). `--strategy plain` skips all of it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from optimizer.formulation import BuiltModel
from optimizer.schema import Site
from optimizer.solve import (
    Cancelled,
    Compiled,
    Progress,
    Solution,
    SolveOptions,
    Solver,
    cancel_on,
)
from optimizer.status import Status
from optimizer.strategy.bound import surrogate_bound
from optimizer.strategy.decompose import decomposition_bound
from optimizer.strategy.heuristic import fill_power_groups

# Shares of --time-limit. Measured on the random family (docs/performance.md), plain HiGHS's
# search finds the better plans within a minute; every second taken from it costs plan
# quality, so what runs in front of it (the surrogate; the heuristic on easy sites) is short.
SURROGATE_SHARE = 0.06
HEURISTIC_SHARE = 0.06
# Beside HiGHS the stages cost its search next to nothing (lowest priority), so they may take
# longer: wall seconds there buy only the cycles HiGHS leaves idle.
BESIDE_DECOMPOSITION_SHARE = 0.3
BESIDE_HEURISTIC_SHARE = 0.3


@dataclass
class StrategyLog:
    stages: list[dict[str, Any]] = field(default_factory=list)

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float, incumbent: float | None, bound: float | None) -> None:
        """Record a stage. Its time goes apart from the results, so summary.json stays the
        same from run to run (timings are in `timings_s`)."""
        self.stages.append(
            {
                "stage": stage,
                "incumbent": None if incumbent is None else round(incumbent, 6),
                "bound": None if bound is None else round(bound, 6),
            }
        )
        self.seconds[stage] = round(seconds, 3)


def _objective(model: Compiled, x: np.ndarray) -> float:
    return float(model.cost @ x + model.cost_offset)


def _gap(incumbent: float | None, bound: float | None) -> float | None:
    if incumbent is None or bound is None:
        return None
    return abs(bound - incumbent) / max(abs(incumbent), 1e-9)


def _within_gap_of(model: Compiled, bound: float, gap: float) -> float:
    """The worst objective whose gap to `bound` (as `_gap` measures it) is still <= gap."""
    if model.maximize:  # (bound - v) / |v| <= gap
        return bound / (1 + gap) if bound > 0 else bound / (1 - gap)
    return bound / (1 - gap) if bound > 0 else bound / (1 + gap)  # (v - bound) / |v| <= gap


def _better(model: Compiled, a: float | None, b: float | None) -> bool:
    """Is objective a better than b (in the model's sense)?"""
    if a is None:
        return False
    if b is None:
        return True
    return a > b if model.maximize else a < b


def _tighter(model: Compiled, a: float | None, b: float | None) -> float | None:
    """The tighter of two bounds."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if model.maximize else max(a, b)


@dataclass(frozen=True)
class StrategyResult:
    solution: Solution  # status, plan and the tightest proven bound
    bound_source: str  # the bound the gap rests on: highs, surrogate, decomposition, *-cut
    log: StrategyLog  # each stage's incumbent, bound and time


class StageTimer(Protocol):
    def stage(self, name: str) -> AbstractContextManager[None]: ...


def solve_with_strategy(
    built: BuiltModel,
    model: Compiled,
    site: Site,
    options: SolveOptions,
    start: np.ndarray | None,
    stages: StageTimer,
    on_progress: Callable[[Progress], None] | None,
    heuristic: bool = True,
    cut: bool = False,
    decompose: bool = True,
) -> StrategyResult:
    """Returns the solution (status, plan, bound), which bound it rests on, and the log.
    `heuristic=False` skips the power-group heuristic (sweeps start from the previous
    point's plan instead, which is cheaper than filling every hall again); `decompose=False`
    skips the decomposition bound (strategy/decompose.py).

    How the full solve uses the surrogate bound: by default as a stopping rule (HiGHS is
    stopped as soon as a plan is within the gap of it); with `cut=True` also as the row
    `objective ≤ bound` in the model (strategy "auto-cut"). Measured in docs/strategy.md:
    the row makes the LP optimum degenerate (every point on the cut face is optimal) and
    slowed HiGHS's search for plans on the larger sites."""
    began = time.perf_counter()
    log = StrategyLog()

    def left() -> float:
        return max(options.time_limit_s - (time.perf_counter() - began), 0.5)

    # 1. the surrogate bound
    t0 = time.perf_counter()
    limit = options.time_limit_s
    with stages.stage("bound"):
        agg_options = replace(
            options, time_limit_s=max(limit * SURROGATE_SHARE, 0.5), mip_gap=options.mip_gap * 0.9
        )  # a tighter target made data/colossus's aggregate miss its budget (measured)
        sb = surrogate_bound(
            built.index, built.power_limits, built.objective_name, agg_options,
            site.supply_limit_kw,
        )  # fmt: skip
    log.add("surrogate bound", time.perf_counter() - t0, None, sb.bound)
    best_x, best_obj = start, (None if start is None else _objective(model, start))
    if start is not None:
        log.add("first fit", 0.0, best_obj, None)
    bound, source = sb.bound, "surrogate"

    # 2. easy: the surrogate is exact, so the stages run in turn (reproducible plans)
    if sb.exact:
        t0 = time.perf_counter()
        with stages.stage("heuristic"):
            heur_options = replace(
                options, time_limit_s=max(min(left(), limit * HEURISTIC_SHARE), 0.5)
            )
            heur = fill_power_groups(built, model, sb, heur_options, start) if heuristic else None
        if heur is not None and heur.x is not None:
            value = _objective(model, heur.x)
            if _better(model, value, best_obj):
                best_x, best_obj = heur.x, value
        log.add("power-group heuristic", time.perf_counter() - t0, best_obj, bound)
        gap = _gap(best_obj, bound)
        if best_x is not None and gap is not None and gap <= options.mip_gap:
            proven = Solution(
                status=Status.OPTIMAL,
                x=best_x,
                objective=best_obj,
                bound=bound,
                mip_gap=gap,
                solve_s=time.perf_counter() - began,
                log=[],
            )
            return StrategyResult(proven, source, log)
        board = _Board(model, options.mip_gap, bound, source, best_x, best_obj)
        return _full_solve(model, options, left(), board, None, stages, on_progress, cut, log,
                           began)  # fmt: skip

    # 3. hard: HiGHS now, the decomposition and the heuristic beside it
    board = _Board(model, options.mip_gap, bound, source, best_x, best_obj)
    beside = threading.Thread(
        target=_beside,
        args=(board, built, model, site, options, sb, start, log, heuristic,
              decompose and len(site.halls) > 1),
        name="rackfit-stages",
        daemon=True,
    )  # fmt: skip
    return _full_solve(model, options, left(), board, beside, stages, on_progress, cut, log,
                       began)  # fmt: skip


class _Board:
    """What the full solve and the stages beside it share: the tightest bound and its source,
    and the best plan the stages found (handed to HiGHS once). Thread-safe."""

    def __init__(
        self,
        model: Compiled,
        gap: float,
        bound: float | None,
        source: str,
        x: np.ndarray | None,
        objective: float | None,
    ):
        self.model = model
        self.gap = gap
        self.bound, self.source = bound, source
        self.x, self.objective = x, objective
        self.cancel = threading.Event()
        self.lock = threading.Lock()

    def offer_bound(self, value: float | None, source: str) -> None:
        with self.lock:
            if value is not None and _tighter(self.model, self.bound, value) != self.bound:
                self.bound, self.source = value, source

    def offer_plan(self, x: np.ndarray | None) -> None:
        if x is None:
            return
        value = _objective(self.model, x)
        with self.lock:
            if _better(self.model, value, self.objective):
                self.x, self.objective = x, value

    def done(self, incumbent: float | None, highs_bound: float | None = None) -> bool:
        """Can HiGHS stop? Yes once its plan (objective `incumbent`) or the stages' own is
        within the gap of the tightest bound: the board's, or HiGHS's proven `highs_bound`
        (None: not known yet). The better of the two plans is kept."""
        with self.lock:
            bound, objective = self.bound, self.objective
        bound = _tighter(self.model, bound, highs_bound)
        if bound is None:
            return False
        target = _within_gap_of(self.model, bound, self.gap)
        return any(
            value is not None and not _better(self.model, target, value)
            for value in (incumbent, objective)
        )


def _beside(
    board: _Board,
    built: BuiltModel,
    model: Compiled,
    site: Site,
    options: SolveOptions,
    sb: Any,
    start: np.ndarray | None,
    log: StrategyLog,
    heuristic: bool,
    decompose: bool,
) -> None:
    """The decomposition bound, then the heuristic, at the lowest priority, handing each
    result to the board as it comes; stops when the full solve ends (board.cancel)."""
    _lowest_priority()
    limit = options.time_limit_s
    with cancel_on(board.cancel):
        try:
            plan_source = sb
            if decompose:
                t0 = time.perf_counter()
                db = decomposition_bound(
                    built, model, site, options, limit * BESIDE_DECOMPOSITION_SHARE,
                    supply_kw=site.supply_limit_kw,
                )  # fmt: skip
                board.offer_bound(db.bound, "decomposition")
                if db.plan is not None and db.plan.classes:
                    plan_source = db.plan
                log.add("decomposition bound", time.perf_counter() - t0, None, db.bound)
            if heuristic and not board.cancel.is_set():
                t0 = time.perf_counter()
                heur_options = replace(
                    options, time_limit_s=max(limit * BESIDE_HEURISTIC_SHARE, 0.5)
                )
                heur = fill_power_groups(built, model, plan_source, heur_options, start)
                if heur is None and plan_source is not sb and sb.classes:
                    heur = fill_power_groups(built, model, sb, heur_options, start)
                x = None if heur is None else heur.x
                board.offer_plan(x)
                value = None if x is None else _objective(model, x)
                log.add("power-group heuristic", time.perf_counter() - t0, value, None)
        except Cancelled:
            log.add("stages cancelled", 0.0, None, None)


def _lowest_priority() -> None:
    """This thread (and the HiGHS threads it starts, which inherit it) at nice 19: on Linux
    the scheduling priority is per thread. Elsewhere nothing changes (on other systems the
    call would lower the whole process)."""
    if sys.platform.startswith("linux"):
        # a sandbox may forbid it: the stages then share the CPU evenly
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _full_solve(
    model: Compiled,
    options: SolveOptions,
    seconds: float,
    board: _Board,
    beside: threading.Thread | None,
    stages: StageTimer,
    on_progress: Callable[[Progress], None] | None,
    cut: bool,
    log: StrategyLog,
    began: float,
) -> StrategyResult:
    """HiGHS on the full model from the board's plan, stopped at the board's bound; with
    `beside`, that thread runs while HiGHS searches and is cancelled when it ends."""
    t0 = time.perf_counter()
    with stages.stage("solve"):
        solver = Solver(model, replace(options, time_limit_s=seconds))
        stop_when: Any = board.done
        if board.bound is not None and cut:
            cut_at = board.bound - model.cost_offset
            if model.maximize:
                solver.add_row(model.cost, -np.inf, cut_at)
            else:
                solver.add_row(model.cost, cut_at, np.inf)
            stop_when = None
        if beside is not None:
            beside.start()
        try:
            solution = solver.solve(
                start=None,  # raw HiGHS's own path (the board's plan is the fallback)
                on_progress=on_progress,
                stop_when=stop_when,
            )
        finally:
            board.cancel.set()
            if beside is not None:
                beside.join()
    lost_plan = solution.x is None and solution.status != Status.INFEASIBLE
    if board.x is not None and (lost_plan or _better(model, board.objective, solution.objective)):
        solution = replace(solution, x=board.x, objective=board.objective)
    outside = board.bound  # the surrogate's or the decomposition's, whichever was tighter
    bound = _tighter(model, solution.bound, outside)
    source = board.source
    if outside is None or bound != outside:
        source = "highs+surrogate-cut" if cut and outside is not None else "highs"
    gap = _gap(solution.objective, bound)
    status = solution.status
    if status == Status.TIME_LIMIT and gap is not None and gap <= options.mip_gap:
        status = Status.OPTIMAL
    log.add("full solve", time.perf_counter() - t0, solution.objective, bound)
    final = replace(
        solution, status=status, bound=bound, mip_gap=gap, solve_s=time.perf_counter() - began
    )
    return StrategyResult(final, source, log)
