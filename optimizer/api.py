"""The Python API: `plan(site_or_path, **options) -> Plan`.

Stages (each timed, each reported to `on_stage`): load, checks, build, hand-off (compile to
HiGHS), start (first fit), solve, results, verify. The plan is verified by the independent
verifier before it is returned; a violation is an internal error, never a written plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer import baseline, verify
from optimizer.errors import InternalError, NoPlanError, OutOfMemoryError, UsageError
from optimizer.formulation import BuiltModel, build_model
from optimizer.layout import counts_from_placements
from optimizer.loaders import load_site
from optimizer.schema import OBJECTIVES, STRATEGIES, Site
from optimizer.solve import (
    Compiled,
    Progress,
    Solution,
    SolveOptions,
    Solver,
    compile_model,
    relaxation_duals,
    start_vector,
)
from optimizer.status import Status
from optimizer.tables import INFEASIBLE, OPTIMAL, TIME_LIMIT, Plan

if TYPE_CHECKING:
    from optimizer.strategy.pipeline import StrategyLog

StageHook = Callable[[str, float], None]


@dataclass
class Stages:
    """Wall-clock seconds per stage, in the order they ran."""

    seconds: dict[str, float] = field(default_factory=dict)
    hook: StageHook | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        took = time.perf_counter() - began
        self.seconds[name] = self.seconds.get(name, 0.0) + took
        if self.hook is not None:
            self.hook(name, took)


def resolve_site(
    site_or_path: Site | str | Path, grid_mw: float | None = None, objective: str | None = None
) -> Site:
    """A Site from a Site or a path, with the command-line overrides applied."""
    site = site_or_path if isinstance(site_or_path, Site) else load_site(site_or_path)
    changes: dict[str, Any] = {}
    if grid_mw is not None:
        if not np.isfinite(grid_mw) or grid_mw < 0:
            raise UsageError(f"--grid-mw must be a non-negative number of MW, got {grid_mw}")
        changes["grid_limit_kw"] = float(grid_mw) * 1000.0
    if objective is not None:
        if objective not in OBJECTIVES:
            raise UsageError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective}")
        changes["objective"] = objective
    return updated_site(site, "--grid-mw", **changes) if changes else site


def updated_site(site: Site, source: str, **changes: Any) -> Site:
    """`site.with_updates(**changes)`, with a value out of the format's range (a grid of
    10^6 MW, say) as a usage error naming `source`, not a crash."""
    from pydantic import ValidationError

    try:
        return site.with_updates(**changes)
    except ValidationError as exc:
        from optimizer.text import describe_error

        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"])
        raise UsageError(f"{source}: {key} {describe_error(err)}") from None


@dataclass(frozen=True)
class Baseline:
    """What first fit (a DCIM tool's one-rack-at-a-time answer) achieves on the site."""

    gpus: int | None  # None when first fit cannot meet every min_racks
    objective: float | None
    start: np.ndarray | None  # as a start vector for HiGHS


def _gain(model: Compiled, objective: float | None, baseline: float | None) -> float | None:
    """How much better the plan's objective is than first fit's (positive = better: more
    value-weighted GPUs, or less cost)."""
    if objective is None or baseline is None:
        return None
    return _clean(objective - baseline if model.maximize else baseline - objective)


def first_fit_start(built: BuiltModel, model: Compiled, site: Site) -> Baseline:
    """First fit (minimums first, then as many racks as fit) as a start vector for HiGHS.
    A first fit that misses some min_racks is no plan: no start and no baseline."""
    if site.existing or site.phases:
        return _first_fit_waves_start(built, model, site)
    placements = baseline.first_fit(site, minimums_first=True)
    counts = counts_from_placements(placements)
    placed = placements.groupby("cluster").size()
    if any(placed.get(c.cluster, 0) < c.min_racks for c in site.demand):
        return Baseline(None, None, None)
    gpus = int(sum(site.model_by_id[mid].gpus for mid in placements["model"]))
    column = dict(zip(built.index.places, model.place_column.tolist(), strict=True))
    x = start_vector(model, {column[p]: float(n) for p, n in counts.items() if p in column})
    return _with_choices(built, model, counts, x, gpus)


def _first_fit_waves_start(built: BuiltModel, model: Compiled, site: Site) -> Baseline:
    """v1.1: first fit phase by phase on top of the racks already standing (what a DCIM
    tool would do) as a start; no baseline when it misses a minimum in some phase or
    places a rack where the model has no column for it."""
    standing = baseline.first_fit_waves(site, minimums_first=True)
    index = built.index
    ids = [p.phase for p in site.phases]
    for c in site.demand:
        q = ids.index(c.phase) if c.phase else 0
        here = index.existing_in_cluster.get(c.cluster, 0)
        here += sum(n[q] for p, n in standing.items() if p[0] == c.cluster)
        if here < c.min_racks:
            return Baseline(None, None, None)
    column = dict(zip(index.places, model.place_column.tolist(), strict=True))
    stand = dict(zip(built.place_phases, model.stand_column.tolist(), strict=True))
    values: dict[int, float] = {}
    for p, counts in standing.items():
        if p not in index.place_set:
            return Baseline(None, None, None)
        for q, n in enumerate(counts):
            if q == index.last_phase:
                values[column[p]] = float(n)
            elif (*p, q) in stand:
                values[stand[(*p, q)]] = float(n)
            elif n:
                return Baseline(None, None, None)
    x = start_vector(model, values)
    last = {p: n[-1] for p, n in standing.items()}
    gpus = sum(index.model(p).gpus * n for p, n in last.items())
    if built.objective_name == "gpus":
        gpus += sum(mdl.gpus for _, mdl, c in index.existing_models if c)
    return _with_choices(built, model, last, x, int(gpus))


def _with_choices(
    built: BuiltModel,
    model: Compiled,
    counts: dict[tuple[str, str, str], int],
    x: np.ndarray,
    gpus: int,
) -> Baseline:
    """The start with its colocation choices (they follow from where the racks stand;
    start_vector left them at 0), and its objective."""
    choice: dict[tuple[str, str | None], int] = dict(
        zip(built.colocation, model.choice_column.tolist(), strict=True)
    )
    for (c, hall, row), n in counts.items():
        if n <= 0:
            continue
        for g in (hall, built.index.row[hall, row].pod):
            k = choice.get((c, g), -1)
            if k >= 0:
                x[k] = 1.0
    return Baseline(gpus, model.objective_of(x), x)


def plan(
    site_or_path: Site | str | Path,
    *,
    objective: str | None = None,
    time_limit_s: float = 300.0,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    grid_mw: float | None = None,
    strategy: str = "auto",
    marginal_values: bool = True,
    verbose: bool = False,
    on_stage: StageHook | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Plan:
    """Solve a site and return its verified plan.

    Raises InfeasibleError (no plan meets the limits and minimums, with an explanation),
    NoPlanError (time limit before any plan), SiteError (bad input), InternalError (a plan
    that fails the verifier: a bug)."""
    stages = Stages(hook=on_stage)
    with stages.stage("load"):
        site = resolve_site(site_or_path, grid_mw, objective)
    with stages.stage("checks"):
        from optimizer import explain

        explain.raise_if_trivially_infeasible(site)
    with stages.stage("build"):
        built = build_model(site)
    with stages.stage("hand-off"):
        model = compile_model(built)
    options = SolveOptions(
        time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads, verbose=verbose
    )
    with stages.stage("first fit"):
        base = first_fit_start(built, model, site)
    solution, bound_source, strategy_log = _solve(
        built, model, site, options, base.start, strategy, stages, on_progress
    )
    if solution.status == Status.MEMORY_LIMIT:
        raise OutOfMemoryError(
            "HiGHS ran out of memory before it could finish; the best plan so far is lost. "
            "Free memory, lower --threads, or plan fewer halls at once"
        )
    if solution.status == INFEASIBLE:
        with stages.stage("explain"):
            raise explain.infeasible_error(site)
    if solution.status not in (OPTIMAL, TIME_LIMIT):
        raise InternalError(f"HiGHS ended with status '{solution.status}'")
    if solution.x is None:
        if solution.status == TIME_LIMIT:
            raise NoPlanError(
                f"the time limit ({time_limit_s:g} s) ran out before any feasible plan was "
                "found; raise --time-limit"
            )
        raise InternalError(f"HiGHS ended with status '{solution.status}' and no plan")
    with stages.stage("marginal values"):
        duals = relaxation_duals(model, options) if marginal_values else None
    with stages.stage("results"):
        from optimizer.results import build_tables

        tables = build_tables(built, model, solution.x, duals)
    with stages.stage("verify"):
        violations = verify.verify(site, tables["placements"])
    if violations:
        shown = "; ".join(v.message for v in violations[:3])
        raise InternalError(f"the solver's plan fails the independent check: {shown}")
    status = OPTIMAL if solution.status == Status.OPTIMAL else TIME_LIMIT
    clusters = tables["clusters"]
    gpus = int(clusters["gpus"].sum())
    racks = int(clusters["placed_racks"].sum())
    brownfield = _brownfield_counts(site, clusters, built.objective_name)
    if brownfield:  # the cost objective counts the new racks only
        gpus, racks = brownfield.pop("gpus"), brownfield.pop("racks")
    rows, cols, nnz = model.shape
    summary: dict[str, Any] = {
        "site": site.name,
        "status": status,
        "objective_name": built.objective_name,
        "objective": _clean(solution.objective),
        "gpus": gpus,
        "racks": racks,
        "design_kw": _clean(float(clusters["design_kw"].sum())),
        "mip_gap": _clean(solution.mip_gap),
        "bound": _clean(solution.bound),
        "bound_source": bound_source,
        "baseline_gpus": base.gpus,
        "baseline_objective": _clean(base.objective),
        "gain_over_baseline_gpus": None if base.gpus is None else gpus - base.gpus,
        "gain_over_baseline_objective": _gain(model, solution.objective, base.objective),
        "grid_limit_kw": site.grid_limit_kw,
        "onsite_firm_kw": site.onsite_firm_kw,
        "marginal_value_source": "lp_relaxation_duals" if duals is not None else None,
        "model_rows": rows,
        "model_columns": cols,
        "model_nonzeros": nnz,
        "solver": "HiGHS",
        "strategy": strategy,
        "strategy_stages": strategy_log.stages if strategy_log is not None else None,
    } | brownfield
    return Plan(
        site=site,
        summary=summary,
        timings_s={k: round(v, 3) for k, v in stages.seconds.items()},
        **tables,
    )


def _brownfield_counts(site: Site, clusters: Any, objective: str) -> dict[str, Any]:
    """v1.1 summary keys: `new_racks`, `new_gpus` (racks installed by the plan) and, for a
    site with phases, `phases`; `gpus`/`racks` are what the objective counts (existing
    clustered racks too for `gpus`, the new racks only for `cost`). Empty for a v1 site."""
    if not site.existing and not site.phases:
        return {}
    existing = clusters["existing_racks"] if "existing_racks" in clusters else 0 * clusters["gpus"]
    new_racks = int((clusters["placed_racks"] - existing).sum())
    per_rack = clusters["gpus"] / clusters["placed_racks"].where(clusters["placed_racks"] > 0, 1)
    new_gpus = int(round(float(((clusters["placed_racks"] - existing) * per_rack).sum())))
    out: dict[str, Any] = {"new_racks": new_racks, "new_gpus": new_gpus}
    if objective == "cost":
        out |= {"gpus": new_gpus, "racks": new_racks}
    else:
        out |= {"gpus": int(clusters["gpus"].sum()), "racks": int(clusters["placed_racks"].sum())}
    if site.phases:
        out["phases"] = [p.phase for p in site.phases]
    return out


def _clean(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(round(value, 6)) + 0.0


def _solve(
    built: BuiltModel,
    model: Compiled,
    site: Site,
    options: SolveOptions,
    start: np.ndarray | None,
    strategy: str,
    stages: Stages,
    on_progress: Callable[[Progress], None] | None,
) -> tuple[Solution, str, StrategyLog | None]:
    """Plain HiGHS from the first-fit start, or the strategy pipeline (optimizer.strategy);
    the solution, the source of its bound, and the strategy's log (None for plain)."""
    if strategy not in STRATEGIES:
        raise UsageError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy}")
    if strategy != "plain" and (site.existing or site.phases):
        # The strategy's surrogate bound and heuristic know neither fixed load nor phases;
        # a bound that ignored them would not be a valid bound. HiGHS alone proves these.
        with stages.stage("solve"):
            solution = Solver(model, options).solve(start, on_progress)
        return solution, "highs", None
    if strategy != "plain":
        from optimizer import strategy as strat

        result = strat.solve_with_strategy(
            built, model, site, options, start, stages, on_progress, cut=strategy == "auto-cut"
        )
        return result.solution, result.bound_source, result.log
    with stages.stage("solve"):
        solution = Solver(model, options).solve(start, on_progress)
    return solution, "highs", None
