"""Orchestration: surrogate bound, decomposition bound, power-group heuristic and the full
solve, stopped as soon as a plan is within the gap of the tightest bound (or, with
`cut=True`, with the row `objective ≤ surrogate bound` in the model).

The stages run on a thread of their own, the surrogate bound first (SURROGATE_SHARE of the
limit, or on while only its proof is missing: `_surrogate_stop_rule`). HiGHS starts at once
beside it, on the full model. The surrogate's head start (SURROGATE_HEAD_START of the limit)
decides between two paths:

- **Easy: the surrogate came back exact within it** (its aggregate solved to optimality).
  HiGHS's search so far is thrown away (and its progress, held back until then, never
  shown). The power-group heuristic then usually meets the bound, so the stages run in
  turn: heuristic (at most HEURISTIC_SHARE), then, if the gap is not met, HiGHS again from
  the start, stopped at the bound. Everything is a fixed function of the input: the same site
  gives the same plan.
- **Hard: it is not exact, or not back yet.** HiGHS goes on with the whole limit, as if it
  had started alone. The stages thread goes on beside it at the lowest scheduling priority
  (so on a 2-core machine it takes the cycles HiGHS's search leaves idle, not HiGHS's own;
  measured in docs/performance.md): the surrogate to the end of its share (or on), the
  decomposition bound (at most BESIDE_DECOMPOSITION_SHARE of the limit) and the heuristic
  (BESIDE_HEURISTIC_SHARE). Each hands in what it finds as it finds it: a bound stops HiGHS
  once its plan (or theirs) is within the gap of it; their plan is kept if HiGHS ends with
  nothing better. When HiGHS ends, whatever the stages are still solving is cancelled. Plans
  here depend on timing, as any plan stopped by a time limit does.

With `cut=True` the row needs the surrogate's bound, so HiGHS waits for the head start; so
it does with `warm_start` (a sweep's points: no raw path to keep pace with, mostly easy).

On both paths HiGHS searches from no start (except a sweep's warm start, `warm_start`): the
path raw HiGHS takes on the same model, so that the plan at any time limit is at least raw
HiGHS's at that moment. Session 5 started HiGHS only after the head start, and that lag was
the one seed where rackfit ended below raw HiGHS (docs/performance.md). A start or a plan
handed in during the search changes which nodes HiGHS explores, and at a time limit the plan
it holds is a sample of that path: session 4 measured rackfit below raw HiGHS on 5 of 20
random-family seeds that way, and 4.6x slower to the proof on one. First fit and the
stages' plans serve as fallbacks and in the stop rule (HiGHS also stops once its own bound
is within the gap of them).

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
from optimizer.strategy.blocks import column_clusters, column_halls
from optimizer.strategy.bound import SurrogateBound, surrogate_bound
from optimizer.strategy.decompose import decomposition_bound
from optimizer.strategy.heuristic import fill_power_groups
from optimizer.strategy.neighbourhood import improve_by_neighbourhoods

# Shares of --time-limit. Measured on the random family (docs/performance.md), plain HiGHS's
# search finds the better plans within a minute; every second taken from it costs plan
# quality, so what runs in front of it (the heuristic on easy sites) is short. The head start
# decides the path (HiGHS searches during it): on the random family an exact surrogate came
# back in 0.2-0.4 s, on data/colossus in 1.6 s.
SURROGATE_HEAD_START = 0.03
HEURISTIC_SHARE = 0.06
# Beside HiGHS the stages cost its search next to nothing (lowest priority), so they may take
# longer: wall seconds there buy only the cycles HiGHS leaves idle. The surrogate's whole
# budget: the scale-1 4N/3 grid-bound site's aggregate needs 10.7 s alone to be exact (its
# bound then proves the plan, which HiGHS alone does not in 300 s); with 6% of a 120 s limit
# it stopped at 90,892 instead of 90,888 and the plan was not proven. Past it, the
# surrogate goes on only while its proof is all that is missing (`_surrogate_stop_rule`).
SURROGATE_SHARE = 0.2
BESIDE_DECOMPOSITION_SHARE = 0.3
BESIDE_HEURISTIC_SHARE = 0.3
# A bound HiGHS reports that is worse than a plan known by more than this (relative) is no
# bound (`_Board.done`); within it, the two only differ by rounding.
BOUND_TOLERANCE = 1e-6


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
    warm_start: bool = False,
) -> StrategyResult:
    """Returns the solution (status, plan, bound), which bound it rests on, and the log.
    `start`: a feasible plan (first fit), kept if nothing better is found. `warm_start=True`
    also hands it to HiGHS (a sweep's previous point: a start next to the answer is what
    makes sweeps fast); otherwise HiGHS searches from nothing, as raw HiGHS does.
    `heuristic=False` skips the power-group heuristic; `decompose=False` skips the
    decomposition bound (strategy/decompose.py).

    How the full solve uses the surrogate bound: by default as a stopping rule (HiGHS is
    stopped as soon as a plan is within the gap of it); with `cut=True` also as the row
    `objective ≤ bound` in the model (strategy "auto-cut"). Measured in docs/strategy.md:
    the row makes the LP optimum degenerate (every point on the cut face is optimal) and
    slowed HiGHS's search for plans on the larger sites."""
    began = time.perf_counter()
    log = StrategyLog()
    limit = options.time_limit_s

    def left() -> float:
        return max(limit - (time.perf_counter() - began), 0.5)

    board = _Board(model, options.mip_gap, None, "surrogate", start,
                   None if start is None else model.objective_of(start))  # fmt: skip
    run = _Run(deadline=began + limit * SURROGATE_HEAD_START)
    ctx = _Context(board, built, model, site, options, start, log, heuristic)
    thread = threading.Thread(
        target=_stages,
        args=(ctx, run, decompose and len(site.halls) > 1),
        name="rackfit-stages",
        daemon=True,
    )  # fmt: skip
    first_fit = None if start is None else ("warm start" if warm_start else "first fit",
                                            board.objective)  # fmt: skip
    early: tuple[Solution, float] | None = None
    progress = _Held(run, on_progress)
    # The cut row needs the surrogate's bound before HiGHS starts. A sweep's warm start is
    # not raw HiGHS's path, and its points are mostly easy: a search the easy path throws
    # away would only take the surrogate's CPU.
    at_once = not (cut or warm_start)
    try:
        with stages.stage("bound"):
            thread.start()
            if not at_once:
                run.ready.wait(limit * SURROGATE_HEAD_START)
        if at_once:
            # 1. HiGHS at once, on raw HiGHS's path, beside the surrogate; it is thrown away
            # if the surrogate comes back exact within its head start (the easy path)
            t0 = time.perf_counter()
            solution = _search(model, options, left(), board, stages, progress.show, None,
                               False, also_stop=lambda: run.decide(first_fit, log) is False
                               or run.error is not None, beside=True)  # fmt: skip
            early = (solution, t0)
        with stages.stage("bound"):
            hard = run.decide(first_fit, log, wait=True)
        if early is not None and hard:
            progress.release()
    except BaseException:  # Ctrl-C: stop the stages before leaving
        board.cancel.set()
        run.decided.set()
        if thread.ident is not None:
            thread.join()
        raise
    if not hard:
        thread.join()
        _raise_from(run)
        sb = run.surrogate
        assert sb is not None
        # 2. easy: the surrogate is exact, so the stages run in turn (reproducible plans)
        t0 = time.perf_counter()
        with stages.stage("heuristic"):
            if heuristic:
                _heuristic_plan(ctx, sb, sb, min(left(), limit * HEURISTIC_SHARE))
        log.add("power-group heuristic", time.perf_counter() - t0, board.objective, board.bound)
        gap = _gap(board.objective, board.bound)
        if board.x is not None and gap is not None and gap <= options.mip_gap:
            proven = Solution(
                status=Status.OPTIMAL,
                x=board.x,
                objective=board.objective,
                bound=board.bound,
                mip_gap=gap,
                solve_s=time.perf_counter() - began,
                log=[],
            )
            return StrategyResult(proven, board.source, log)
        return _full_solve(model, options, left(), board, None, stages, on_progress, cut, log,
                           began, warm_start)  # fmt: skip

    # 3. hard: HiGHS goes on; the surrogate goes on beside it, then the decomposition and
    # the heuristic, at the lowest priority
    if early is None:
        return _full_solve(model, options, left(), board, (thread, run), stages, on_progress,
                           cut, log, began, warm_start)  # fmt: skip
    board.cancel.set()
    thread.join()
    _raise_from(run)
    return _finish(model, options, *early, None, board, log, began)


@dataclass
class _Run:
    """The handshake between the pipeline and its stages thread: the surrogate's result
    (`ready`), then the pipeline's choice of path (`decide`: `decided`, `hard`), and any
    error."""

    deadline: float  # the end of the surrogate's head start (time.perf_counter())
    ready: threading.Event = field(default_factory=threading.Event)
    decided: threading.Event = field(default_factory=threading.Event)
    surrogate: SurrogateBound | None = None
    hard: bool = True
    error: BaseException | None = None
    stages_thread: int | None = None  # its native id, set by the thread itself
    lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(
        self,
        first_fit: tuple[str, float | None] | None,
        log: StrategyLog,
        wait: bool = False,
    ) -> bool | None:
        """Easy (False) or hard (True)? Easy if the surrogate came back exact within its head
        start. Asked by HiGHS's stop check while it searches (None: not known yet), and once
        more after it (`wait`: until the head start ends, then it is known). Decided once:
        then the start (`first_fit`: its name and objective; None without one) is logged
        (after the surrogate on the easy path, as before the search started beside it), and
        on the hard path the stages thread is lowered to the
        lowest priority."""
        if wait and not self.decided.is_set():
            self.ready.wait(max(self.deadline - time.perf_counter(), 0.0))
        with self.lock:
            if not self.decided.is_set():
                if self.ready.is_set():
                    self.hard = self.surrogate is None or not self.surrogate.exact
                elif wait or time.perf_counter() >= self.deadline:
                    self.hard = True
                else:
                    return None
                if first_fit is not None:
                    log.add(first_fit[0], 0.0, first_fit[1], None)
                if self.hard:
                    _lowest_priority(self.stages_thread)  # before it starts more HiGHS threads
                self.decided.set()
            return self.hard


class _Held:
    """HiGHS's progress while the path is not decided is held back: on the easy path that
    search is thrown away, and the user should not see plans from it."""

    def __init__(self, run: _Run, on_progress: Callable[[Progress], None] | None):
        self.run, self.on_progress = run, on_progress
        self.held: list[Progress] = []
        self.lock = threading.Lock()

    def show(self, snapshot: Progress) -> None:
        if self.on_progress is None:
            return
        with self.lock:
            self.held.append(snapshot)
        if self.run.decided.is_set() and self.run.hard:
            self.release()

    def release(self) -> None:
        with self.lock:
            held, self.held = self.held, []
        if self.on_progress is not None:
            for snapshot in held:
                self.on_progress(snapshot)


def _raise_from(run: _Run) -> None:
    """An error in the stages thread is a bug: raise it here, in the caller's thread."""
    if run.error is not None:
        raise run.error


class _Board:
    """What the full solve and the stages beside it share: the tightest bound and its source,
    and the best plan (first fit's or the stages'). Thread-safe."""

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
        # HiGHS's best plan and proven bound so far, as `done` was told
        self.highs_objective: float | None = None
        self.highs_bound: float | None = None
        self.ignored_bounds: list[float] = []  # HiGHS's bounds below a known plan
        self.highs_x: np.ndarray | None = None  # HiGHS's best plan, as `offer_highs_plan` was told
        self.cancel = threading.Event()
        self.lock = threading.Lock()

    def _below_a_plan(self, highs_bound: float) -> bool:
        """Is HiGHS's "proven" bound worse than a plan known (HiGHS's best or the board's),
        beyond a rounding tolerance? Then it is no bound: stopping on it would end the search
        early (an unexplained early end was seen once, docs/performance.md), and it is kept
        out of `highs_bound` and noted in `ignored_bounds` instead. The caller holds the
        lock."""
        impossible = _within_gap_of(self.model, highs_bound, -BOUND_TOLERANCE)
        plans = (self.highs_objective, self.objective)
        return any(_better(self.model, plan, impossible) for plan in plans)

    def offer_bound(self, value: float | None, source: str) -> None:
        with self.lock:
            if value is not None and _tighter(self.model, self.bound, value) != self.bound:
                self.bound, self.source = value, source

    def offer_plan(self, x: np.ndarray | None) -> None:
        if x is None:
            return
        value = self.model.objective_of(x)
        with self.lock:
            if _better(self.model, value, self.objective):
                self.x, self.objective = x, value

    def offer_highs_plan(self, x: np.ndarray) -> None:
        """HiGHS found the plan `x` (its callback): the neighbourhood search starts from it
        when it is the best plan known."""
        value = self.model.objective_of(x)
        with self.lock:
            if self.highs_x is None or _better(self.model, value, self.model.objective_of(
                    self.highs_x)):  # fmt: skip
                self.highs_x = x

    def best_plan(self) -> np.ndarray | None:
        """The best plan known: the board's or HiGHS's."""
        with self.lock:
            ours, highs = self.x, self.highs_x
        if highs is None or (ours is not None and not _better(
                self.model, self.model.objective_of(highs), self.objective)):  # fmt: skip
            return ours
        return highs

    def best_objective(self) -> float | None:
        """The best plan's objective known: the board's or HiGHS's (as `done` was told)."""
        with self.lock:
            ours, highs = self.objective, self.highs_objective
        return ours if _better(self.model, ours, highs) else highs

    def beyond_highs_bound(self, value: float) -> bool:
        """Is `value` better than HiGHS's proven bound so far by more than the gap (so that no
        plan of the full model can come within the gap of it)? False while it is unknown."""
        with self.lock:
            highs_bound = self.highs_bound
        beyond = _within_gap_of(self.model, value, self.gap)
        return highs_bound is not None and _better(self.model, beyond, highs_bound)

    def done(self, incumbent: float | None, highs_bound: float | None = None) -> bool:
        """Can HiGHS stop? Yes once its plan (objective `incumbent`) or the stages' own is
        within the gap of the tightest bound: the board's, or HiGHS's proven `highs_bound`
        (None: not known yet). The better of the two plans is kept. HiGHS's plan and bound
        are remembered (`best_objective`, `beyond_highs_bound`)."""
        with self.lock:
            bound, objective = self.bound, self.objective
            if _better(self.model, incumbent, self.highs_objective):
                self.highs_objective = incumbent
            if highs_bound is not None and self._below_a_plan(highs_bound):
                self.ignored_bounds.append(highs_bound)
                highs_bound = None
            self.highs_bound = _tighter(self.model, self.highs_bound, highs_bound)
        bound = _tighter(self.model, bound, highs_bound)
        if bound is None:
            return False
        target = _within_gap_of(self.model, bound, self.gap)
        return any(
            value is not None and not _better(self.model, target, value)
            for value in (incumbent, objective)
        )


@dataclass(frozen=True)
class _Context:
    """What every stage on the stages thread reads, and where it writes (board, log)."""

    board: _Board
    built: BuiltModel
    model: Compiled
    site: Site
    options: SolveOptions
    start: np.ndarray | None
    log: StrategyLog
    heuristic: bool


def _stages(ctx: _Context, run: _Run, decompose: bool) -> None:
    """The stages thread. The surrogate bound first; the pipeline waits for it (its head
    start) and then picks the path. On the hard path this thread, now at the lowest priority,
    goes on beside HiGHS: the decomposition bound, then the heuristic (the heuristic first
    if the surrogate turned out exact), then the neighbourhood search from the best plan
    known; each result is handed to the board as it comes; it stops when the full solve
    ends (board.cancel)."""
    board, options, built = ctx.board, ctx.options, ctx.built
    run.stages_thread = threading.get_native_id()
    with cancel_on(board.cancel):
        try:
            t0 = time.perf_counter()
            # a tighter target than 0.9 made data/colossus's aggregate miss its budget
            agg_options = replace(options, mip_gap=options.mip_gap * 0.9)
            sb = surrogate_bound(
                built.index, built.power_limits, built.objective_name, agg_options,
                ctx.site.supply_limit_kw, _surrogate_stop_rule(ctx, t0, run),
            )  # fmt: skip
            board.offer_bound(sb.bound, "surrogate")
            ctx.log.add("surrogate bound", time.perf_counter() - t0, None, sb.bound)
            run.surrogate = sb
            run.ready.set()
            run.decided.wait()
            if not run.hard:
                return
            source: SurrogateBound = sb
            if sb.exact:  # it came back late: the heuristic usually meets an exact bound
                _heuristic(ctx, sb, sb)
            if decompose and not board.cancel.is_set():
                source = _decomposition(ctx, sb)
            if not sb.exact and not board.cancel.is_set():
                _heuristic(ctx, sb, source)
            _neighbourhoods(ctx, options.time_limit_s)
        except Cancelled:
            ctx.log.add("stages cancelled", 0.0, None, None)
        except BaseException as error:  # noqa: BLE001  (raised again in the caller's thread)
            run.error = error
        finally:
            run.ready.set()


def _neighbourhoods(ctx: _Context, seconds: float) -> None:
    """The neighbourhood search (strategy/neighbourhood.py: pairs of halls and pairs of
    clusters, then triples of clusters) from the best plan known, HiGHS's included, for at
    most `seconds`; each better plan goes to the board (HiGHS's search is not handed it: it
    stays on raw HiGHS's path)."""
    if ctx.board.cancel.is_set():
        raise Cancelled
    t0 = time.perf_counter()
    partitions = [column_halls(ctx.built, ctx.model), column_clusters(ctx.built, ctx.model)]
    board = ctx.board
    found = improve_by_neighbourhoods(ctx.model, partitions, board.best_plan, board.offer_plan,
                                      ctx.options, seconds, triples_of=[1])  # fmt: skip
    ctx.log.add("neighbourhood search", time.perf_counter() - t0, found.objective, None)
    if found.cancelled:
        raise Cancelled


def _surrogate_stop_rule(
    ctx: _Context, began: float, run: _Run
) -> Callable[[float | None, float | None], bool]:
    """When the surrogate stops (its `stop_when`).

    On the hard path, as soon as it cannot pay off: its aggregate holds a plan better than
    HiGHS's proven bound on the full model by more than the gap. Its own bound is at least
    as good as that plan, every plan of the full model is at most as good as HiGHS's bound,
    so its bound can neither prove a plan nor tighten the reported bound, and its CPU is
    HiGHS's again. (Not before the path is decided: the path is a function of the input
    alone, and HiGHS's bound depends on timing.)

    Otherwise after SURROGATE_SHARE of the limit, unless its aggregate already holds a plan
    worth the best plan known (within the gap).
    Then the aggregate has the full model's optimum in all likelihood, only its proof is
    missing, and the aggregate, far smaller than the full model, is what proves it: a sweep
    point of the 4N/3 grid-bound site (93 MW of 154) needs 21 s of a 60 s limit, HiGHS on
    the full model does not prove it in 60 s (docs/performance.md). It then goes on until
    the full solve ends. On the random family it stops at its share as before (or sooner):
    there its aggregate's plans differ from the full model's plans by more than the gap."""
    share_ends = began + max(ctx.options.time_limit_s * SURROGATE_SHARE, 0.5)

    def stop(incumbent: float | None, bound: float | None) -> bool:
        board = ctx.board
        hard = run.decided.is_set() and run.hard
        if hard and incumbent is not None and board.beyond_highs_bound(incumbent):
            return True
        if time.perf_counter() < share_ends:
            return False
        best = board.best_objective()
        gap = _gap(best, incumbent)
        return gap is None or gap > ctx.options.mip_gap

    return stop


def _decomposition(ctx: _Context, sb: SurrogateBound) -> SurrogateBound:
    """The bound by hall (strategy/decompose.py), at most BESIDE_DECOMPOSITION_SHARE of the
    limit; returns its integer master's counts as the heuristic's plan source (else `sb`)."""
    t0 = time.perf_counter()
    db = decomposition_bound(
        ctx.built, ctx.model, ctx.site, ctx.options,
        ctx.options.time_limit_s * BESIDE_DECOMPOSITION_SHARE,
        supply_kw=ctx.site.supply_limit_kw,
    )  # fmt: skip
    ctx.board.offer_bound(db.bound, "decomposition")
    ctx.log.add("decomposition bound", time.perf_counter() - t0, None, db.bound)
    return db.plan if db.plan is not None and db.plan.classes else sb


def _heuristic(ctx: _Context, sb: SurrogateBound, source: SurrogateBound) -> None:
    """The heuristic beside HiGHS: at most BESIDE_HEURISTIC_SHARE of the limit, logged."""
    if not ctx.heuristic:
        return
    t0 = time.perf_counter()
    x = _heuristic_plan(ctx, sb, source, ctx.options.time_limit_s * BESIDE_HEURISTIC_SHARE)
    value = None if x is None else ctx.model.objective_of(x)
    ctx.log.add("power-group heuristic", time.perf_counter() - t0, value, None)


def _heuristic_plan(
    ctx: _Context, sb: SurrogateBound, source: SurrogateBound, seconds: float
) -> np.ndarray | None:
    """The power-group heuristic from `source`'s counts (if that fails, the surrogate's), in
    at most `seconds` (0.5 at least); its plan, also handed to the board."""
    options = replace(ctx.options, time_limit_s=max(seconds, 0.5))
    heur = fill_power_groups(ctx.built, ctx.model, source, options, ctx.start)
    if heur is None and source is not sb and sb.classes:
        heur = fill_power_groups(ctx.built, ctx.model, sb, options, ctx.start)
    x = None if heur is None else heur.x
    ctx.board.offer_plan(x)
    return x


def _lowest_priority(native_id: int | None) -> None:
    """The thread `native_id` (and the HiGHS threads it starts from now on, which inherit
    it) at nice 19: on Linux the scheduling priority is per thread. Elsewhere nothing
    changes (on other systems the call would lower the whole process).

    The surrogate's HiGHS thread, started before the path is decided, keeps its priority
    until the surrogate ends: on sites its bound proves, it is what ends the plan. Measured
    (docs/performance.md): lowering it too took the scale-1 4N/3 grid-bound site from 12.9
    s to 17.9-23.3 s of strategy, while on the random family the full solve without it
    ended at raw HiGHS's plan within a time limit's own noise."""
    if sys.platform.startswith("linux") and native_id is not None:
        # a sandbox may forbid it: the stages then share the CPU evenly
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, native_id, 19)


def _full_solve(
    model: Compiled,
    options: SolveOptions,
    seconds: float,
    board: _Board,
    beside: tuple[threading.Thread, _Run] | None,
    stages: StageTimer,
    on_progress: Callable[[Progress], None] | None,
    cut: bool,
    log: StrategyLog,
    began: float,
    warm_start: bool,
) -> StrategyResult:
    """HiGHS on the full model, stopped at the board's bound; with `beside`, the stages
    thread goes on while HiGHS searches and is cancelled when it ends."""
    t0 = time.perf_counter()
    cut_at = board.bound if cut else None
    try:
        solution = _search(model, options, seconds, board, stages, on_progress, cut_at,
                           warm_start, beside=beside is not None)  # fmt: skip
    finally:
        board.cancel.set()
        if beside is not None:
            beside[0].join()
    if beside is not None:
        _raise_from(beside[1])
    return _finish(model, options, solution, t0, cut_at, board, log, began)


def _search(
    model: Compiled,
    options: SolveOptions,
    seconds: float,
    board: _Board,
    stages: StageTimer,
    on_progress: Callable[[Progress], None] | None,
    cut_at: float | None,
    warm_start: bool,
    also_stop: Callable[[], bool] | None = None,
    beside: bool = False,
) -> Solution:
    """HiGHS's search, stopped at the board's bound (or, with `cut_at`, with the row
    `objective ≤ cut_at` in the model) or when `also_stop()` says so. HiGHS starts from the
    board's plan only with `warm_start`; else from nothing, on raw HiGHS's own path. With
    the stages `beside` it, it tells the board each plan it finds (where the neighbourhood
    search starts); it is handed none of theirs (docs/strategy.md: that changes its path),
    and it leaves the stages one of the threads asked for (`_beside_threads`)."""
    threads = _beside_threads(options.threads) if beside else options.threads
    with stages.stage("solve"):
        solver = Solver(model, replace(options, time_limit_s=seconds, threads=threads))
        stop_when: Callable[[float | None, float | None], bool] | None = board.done
        if also_stop is not None:

            def stop_when(incumbent: float | None, bound: float | None) -> bool:
                return also_stop() or board.done(incumbent, bound)

        if cut_at is not None:
            if model.maximize:
                solver.add_row(model.cost, -np.inf, cut_at - model.cost_offset)
            else:
                solver.add_row(model.cost, cut_at - model.cost_offset, np.inf)
            stop_when = None
        return solver.solve(
            start=board.x if warm_start else None,
            on_progress=on_progress,
            stop_when=stop_when,
            on_plan=board.offer_highs_plan if beside else None,
        )


def _beside_threads(threads: int | None) -> int | None:
    """HiGHS's threads while the stages run beside it: one fewer than asked (at least one),
    so that the stages have a core of their own. HiGHS's branch and bound is one search; a
    second thread mostly waits for work, and waiting it takes a core (measured on the random
    family, docs/strategy.md: one thread finds the same plans at the same times as two for
    the first 20 s, and HiGHS beside a busy second thread lost plans it finds alone). None
    (HiGHS decides: half the cores) stays None."""
    if threads is None or threads <= 1:
        return threads
    return threads - 1


def _finish(
    model: Compiled,
    options: SolveOptions,
    solution: Solution,
    t0: float,
    cut_at: float | None,
    board: _Board,
    log: StrategyLog,
    began: float,
) -> StrategyResult:
    """HiGHS's solution (its search began at `t0`, with the cut `cut_at` if any) against the
    board: the better plan, the tighter bound and the source the gap rests on."""
    lost_plan = solution.x is None and solution.status != Status.INFEASIBLE
    if board.x is not None and (lost_plan or _better(model, board.objective, solution.objective)):
        solution = replace(solution, x=board.x, objective=board.objective)
    outside = board.bound  # the surrogate's or the decomposition's, whichever was tighter
    bound = _tighter(model, solution.bound, outside)
    source = board.source
    if outside is None or bound != outside:
        source = "highs+surrogate-cut" if cut_at is not None else "highs"
    gap = _gap(solution.objective, bound)
    status = solution.status
    if status == Status.TIME_LIMIT and gap is not None and gap <= options.mip_gap:
        status = Status.OPTIMAL
    log.add("full solve", time.perf_counter() - t0, solution.objective, bound)
    if board.ignored_bounds:  # not seen in a benchmark yet: the log names it if it happens
        first = board.ignored_bounds[0]
        log.add("HiGHS bound below a known plan, ignored", 0.0, board.objective, first)
    final = replace(
        solution, status=status, bound=bound, mip_gap=gap, solve_s=time.perf_counter() - began
    )
    return StrategyResult(final, source, log)
