"""Orchestration: surrogate bound, decomposition bound, power-group heuristic, then the full
solve from the best start, stopped as soon as a plan is within the gap of the bound (or, with
`cut=True`, with the row `objective ≤ bound` in the model). Stops as soon as the gap meets
the target.

Time is budgeted so that no stage can starve the full solve: the surrogate gets at most
SURROGATE_SHARE of the limit, the decomposition DECOMPOSITION_SHARE (and runs only when the
surrogate did not already prove its bound exactly), the heuristic HEURISTIC_SHARE; the full
solve, which is exactly plain HiGHS's search from a start at least as good, always keeps at
least the rest (three quarters of the limit).

Each stage's time, incumbent and bound are recorded (`StrategyLog`), go to the log, and end
up in summary.json (`strategy_stages`). `--strategy plain` skips all of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from optimizer.formulation import BuiltModel
from optimizer.schema import Site
from optimizer.solve import Compiled, Progress, Solution, SolveOptions, Solver
from optimizer.status import Status
from optimizer.strategy.bound import surrogate_bound
from optimizer.strategy.decompose import decomposition_bound
from optimizer.strategy.heuristic import fill_power_groups

# Shares of --time-limit. Measured on the random family (docs/performance.md), plain HiGHS's
# search finds the better plans within a minute; every second taken from it costs plan
# quality, so the stages in front of it get at most a quarter of the limit together.
SURROGATE_SHARE = 0.06
DECOMPOSITION_SHARE = 0.12
HEURISTIC_SHARE = 0.06


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

    # 2. the decomposition bound by hall, unless the surrogate already solved exactly
    plan_source = sb
    if decompose and not sb.exact and len(site.halls) > 1:
        t0 = time.perf_counter()
        with stages.stage("decomposition"):
            db = decomposition_bound(
                built, model, site, options, limit * DECOMPOSITION_SHARE,
                supply_kw=site.supply_limit_kw,
            )  # fmt: skip
        if db.bound is not None and (bound is None or _tighter(model, bound, db.bound) != bound):
            bound, source = db.bound, "decomposition"
        if db.plan is not None and db.plan.classes:
            plan_source = db.plan
        log.add("decomposition bound", time.perf_counter() - t0, best_obj, db.bound)

    # 3. the heuristic, from the decomposition's integer master if it has one
    t0 = time.perf_counter()
    with stages.stage("heuristic"):
        heur_options = replace(options, time_limit_s=max(min(left(), limit * HEURISTIC_SHARE), 0.5))
        heur = None
        if heuristic:
            heur = fill_power_groups(built, model, plan_source, heur_options, start)
            if heur is None and plan_source is not sb and sb.classes:
                heur = fill_power_groups(built, model, sb, heur_options, start)
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

    # 4. the full model with the start, stopped at the bound (or with the cut)
    t0 = time.perf_counter()
    with stages.stage("solve"):
        solver = Solver(model, replace(options, time_limit_s=left()))
        stop_at = None
        if bound is not None and cut:
            if model.maximize:
                solver.add_row(model.cost, -np.inf, bound - model.cost_offset)
            else:
                solver.add_row(model.cost, bound - model.cost_offset, np.inf)
        elif bound is not None:  # stop once a plan is within the gap of the bound
            stop_at = _within_gap_of(model, bound, options.mip_gap)
        solution = solver.solve(start=best_x, on_progress=on_progress, stop_at=stop_at)
    lost_plan = solution.x is None and solution.status != Status.INFEASIBLE
    if best_x is not None and (lost_plan or _better(model, best_obj, solution.objective)):
        solution = replace(solution, x=best_x, objective=best_obj)
    outside = bound  # the surrogate's or the decomposition's, whichever was tighter
    bound = _tighter(model, solution.bound, outside)
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
