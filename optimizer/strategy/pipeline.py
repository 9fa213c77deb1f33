"""Orchestration: surrogate bound, power-group heuristic, then the full solve from the best
start, stopped as soon as a plan is within the gap of the bound (or, with `cut=True`, with
the row `objective ≤ bound` in the model). Stops as soon as the gap meets the target.

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
from optimizer.strategy.heuristic import fill_power_groups


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
    bound_source: str  # which bound the gap rests on: highs, surrogate, highs+surrogate-cut
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
) -> StrategyResult:
    """Returns the solution (status, plan, bound), which bound it rests on, and the log.
    `heuristic=False` skips the power-group heuristic (sweeps start from the previous
    point's plan instead, which is cheaper than filling every hall again).

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
    with stages.stage("bound"):
        agg_options = replace(options, time_limit_s=left() * 0.4, mip_gap=options.mip_gap * 0.9)
        sb = surrogate_bound(
            built.index, built.power_limits, built.objective_name, agg_options,
            site.supply_limit_kw,
        )  # fmt: skip
    log.add("surrogate bound", time.perf_counter() - t0, None, sb.bound)
    best_x, best_obj = start, (None if start is None else _objective(model, start))
    if start is not None:
        log.add("first fit", 0.0, best_obj, None)

    # 2. the heuristic
    t0 = time.perf_counter()
    with stages.stage("heuristic"):
        heur_options = replace(options, time_limit_s=min(left() * 0.25, 60.0))
        heur = fill_power_groups(built, model, sb, heur_options, start) if heuristic else None
    if heur is not None and heur.x is not None:
        value = _objective(model, heur.x)
        if _better(model, value, best_obj):
            best_x, best_obj = heur.x, value
    log.add("power-group heuristic", time.perf_counter() - t0, best_obj, sb.bound)

    gap = _gap(best_obj, sb.bound)
    if best_x is not None and gap is not None and gap <= options.mip_gap:
        proven = Solution(
            status=Status.OPTIMAL,
            x=best_x,
            objective=best_obj,
            bound=sb.bound,
            mip_gap=gap,
            solve_s=time.perf_counter() - began,
            log=[],
        )
        return StrategyResult(proven, "surrogate", log)

    # 3. the full model with the start, stopped at the bound (or with the cut)
    t0 = time.perf_counter()
    with stages.stage("solve"):
        solver = Solver(model, replace(options, time_limit_s=left()))
        stop_at = None
        if sb.bound is not None and cut:
            if model.maximize:
                solver.add_row(model.cost, -np.inf, sb.bound - model.cost_offset)
            else:
                solver.add_row(model.cost, sb.bound - model.cost_offset, np.inf)
        elif sb.bound is not None:  # stop once a plan is within the gap of the bound
            stop_at = _within_gap_of(model, sb.bound, options.mip_gap)
        solution = solver.solve(start=best_x, on_progress=on_progress, stop_at=stop_at)
    lost_plan = solution.x is None and solution.status != Status.INFEASIBLE
    if best_x is not None and (lost_plan or _better(model, best_obj, solution.objective)):
        solution = replace(solution, x=best_x, objective=best_obj)
    bound = _tighter(model, solution.bound, sb.bound)
    if sb.bound is None:
        source = "highs"
    elif bound == sb.bound:
        source = "surrogate"
    else:
        source = "highs+surrogate-cut" if cut else "highs"
    gap = _gap(solution.objective, bound)
    status = solution.status
    if status == Status.TIME_LIMIT and gap is not None and gap <= options.mip_gap:
        status = Status.OPTIMAL
    log.add("full solve", time.perf_counter() - t0, solution.objective, bound)
    final = replace(
        solution, status=status, bound=bound, mip_gap=gap, solve_s=time.perf_counter() - began
    )
    return StrategyResult(final, source, log)
