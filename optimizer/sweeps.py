"""Grid-limit studies: GPUs against MW, solved point by point on one model.

The model is built and compiled once; each point changes only the bound of the grid row
(supply = grid MW x 1,000 + on-site firm kW) and is warm-started from the previous plan,
which stays feasible as the supply grows (points are solved in increasing supply). With
`strategy="auto"` each point runs the bound/heuristic pipeline (optimizer.strategy) on that
model; with `"plain"` HiGHS re-solves one persistent model after changing the row bound.
Points that change the design temperature change the grid row's coefficients, so those
rebuild.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer import verify
from optimizer.api import Stages, resolve_site, updated_site
from optimizer.errors import InternalError, UsageError
from optimizer.formulation import BuiltModel, Family, build_model
from optimizer.layout import placements_from_counts, placements_with_phases
from optimizer.results import racks_by_place, row_state, standing_by_place
from optimizer.schema import Site
from optimizer.solve import Compiled, SolveOptions, Solver, compile_model, relaxation_duals
from optimizer.status import Status
from optimizer.strategy import solve_with_strategy

# The families whose binding rows a sweep point lists.
LIMIT_FAMILIES = (Family.POWER, Family.COOLING, Family.NETWORK, Family.GRID, Family.SPACE)

SWEEP_COLUMNS = [
    "grid_mw",
    "onsite_mw",
    "design_temp_c",
    "supply_mw",
    "status",
    "objective",
    "gpus",
    "racks",
    "mip_gap",
    "bound",
    "marginal_value_per_mw",
    "gpus_per_mw_step",
    "binding",
    "solve_s",
]


MAX_POINTS = 1000  # points of one sweep, over all its ranges together


def parse_range(text: str, name: str) -> list[float]:
    """`A:B:STEP` -> [A, A+STEP, ..., B] (both ends included); `A` -> [A]; `A,B,C` -> list."""
    try:
        if "," in text:
            parts = [float(v) for v in text.split(",") if v.strip()]
            if not parts or not all(np.isfinite(v) and v >= 0 for v in parts):
                raise ValueError
            if len(parts) > MAX_POINTS:
                raise UsageError(f"{name} gives {len(parts):,} points; at most {MAX_POINTS:,}")
            return parts
        parts = [float(v) for v in text.split(":")]
    except ValueError:
        raise UsageError(f"{name} must be A:B:STEP, A,B,C or a number, got '{text}'") from None
    if not all(np.isfinite(v) for v in parts) or any(v < 0 for v in parts[:2]):
        raise UsageError(f"{name} needs finite, non-negative numbers, got '{text}'")
    if len(parts) == 1:
        return parts
    if len(parts) != 3:
        raise UsageError(f"{name} must be A:B:STEP, got '{text}'")
    a, b, step = parts
    if step <= 0 or b < a:
        raise UsageError(f"{name} needs A <= B and STEP > 0, got '{text}'")
    n = int(np.floor((b - a) / step + 1e-9))
    if n + 1 > MAX_POINTS:  # before a list of a billion points is made
        raise UsageError(f"{name} gives {n + 1:,} points; at most {MAX_POINTS:,}")
    values = [a + k * step for k in range(n + 1)]
    if values[-1] < b - 1e-9:
        values.append(b)
    if len(values) > MAX_POINTS:
        raise UsageError(f"{name} gives {len(values):,} points; at most {MAX_POINTS:,}")
    return [round(v, 9) for v in values]


def _grid_rows(model: Compiled, site: Site) -> list[tuple[int, int]]:
    """(compiled row, phase) of every grid row: each earlier phase's (v1.1), then the last
    phase's, which a site without phases has alone."""
    out = [(int(k), int(model.row_key[k])) for k in model.rows_of(Family.GRID_PHASE)]
    (last,) = model.rows_of(Family.GRID)  # every model has one
    return [*out, (int(last), site.phase_count - 1)]


def _binding_summary(built: BuiltModel, model: Compiled, x: np.ndarray) -> str:
    state = row_state(built, model, x)
    fams: Counter[str] = Counter()
    for k in np.flatnonzero(state.tight):
        if state.families[k] in LIMIT_FAMILIES:
            fams[state.families[k]] += 1
    return ";".join(f"{f}({n})" if f != Family.GRID else f for f, n in sorted(fams.items()))


def _point_row(
    built: BuiltModel,
    model: Compiled,
    site: Site,
    solver: Solver,
    grid_row: int,
    x_prev: np.ndarray | None,
    options: SolveOptions,
    strategy: str,
) -> tuple[dict[str, Any], np.ndarray | None]:
    began = time.perf_counter()
    if strategy == "plain" or site.existing or site.phases:  # see api._solve (v1.1)
        solution = solver.solve(start=x_prev)
    else:  # the bound/heuristic pipeline, warm-started from the previous point's plan
        solution = solve_with_strategy(
            built,
            model,
            site,
            options,
            x_prev,
            Stages(),
            None,
            heuristic=x_prev is None,
            warm_start=x_prev is not None,  # the previous point's plan: next to this one's
            cut=strategy == "auto-cut",
            decompose=False,  # a point is one re-solve; the bound by hall is for a whole plan
        ).solution
    row: dict[str, Any] = {"status": solution.status, "solve_s": time.perf_counter() - began}
    if solution.x is None:
        row["status"] = (
            Status.INFEASIBLE if solution.status == Status.INFEASIBLE else Status.NO_PLAN
        )
        return row, None
    x = solution.x
    racks = racks_by_place(built, model, x)
    if site.existing or site.phases:
        placements = placements_with_phases(site, standing_by_place(built, model, x))
    else:
        placements = placements_from_counts(site, racks)
    violations = verify.verify(site, placements)
    if violations:
        raise InternalError(f"sweep point fails the independent check: {violations[0].message}")
    duals = relaxation_duals(model, options)
    # v1.1: the clustered racks already standing count for the gpus objective (summary.json)
    index = built.index
    counted = [mdl for _, mdl, c in index.existing_models if c and built.objective_name == "gpus"]
    existing_gpus, existing_racks = sum(mdl.gpus for mdl in counted), len(counted)
    row.update(
        status=Status.OPTIMAL if solution.status == Status.OPTIMAL else Status.TIME_LIMIT,
        objective=solution.objective,
        gpus=int(sum(index.model(p).gpus * n for p, n in racks.items())) + existing_gpus,
        racks=int(sum(racks.values())) + existing_racks,
        mip_gap=solution.mip_gap,
        bound=solution.bound,
        marginal_value_per_mw=None if duals is None else float(duals[grid_row]) * 1000.0,
        binding=_binding_summary(built, model, x),
    )
    return row, x


def sweep(
    site_or_path: Site | str | Path,
    grid_mw: Sequence[float] | None = None,
    onsite_mw: Sequence[float] | None = None,
    design_temp_c: Sequence[float] | None = None,
    *,
    objective: str | None = None,
    time_limit_s: float = 120.0,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    strategy: str = "auto",
    jobs: int = 1,
) -> pd.DataFrame:
    """Solve the site at every combination of the given values; one row per point, in
    increasing (design temperature, grid MW, on-site MW) order. Omitted axes keep the site's
    value. Each point replaces grid_limit_kw with MW x 1,000; onsite_firm_kw still adds.

    `jobs` > 1 solves the points of each temperature in that many processes: process j takes
    points j, j + jobs, ... (so each still climbs in supply and warm-starts from its own
    previous point) and builds its own model; HiGHS gets `threads // jobs` threads (at
    least one) in each. Every point is solved to the same gap either way; where a point has
    several optimal plans, which one is reported can depend on `jobs`."""
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, got {jobs}")
    base = resolve_site(site_or_path, objective=objective)
    grids = list(grid_mw) if grid_mw else [base.grid_limit_kw / 1000.0]
    onsites = list(onsite_mw) if onsite_mw else [base.onsite_firm_kw / 1000.0]
    temps = list(design_temp_c) if design_temp_c else [base.design_temp_c]
    options = SolveOptions(time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads)
    if len(grids) * len(onsites) * len(temps) > MAX_POINTS:
        raise UsageError(
            f"the ranges give {len(grids) * len(onsites) * len(temps):,} points together "
            f"({len(grids)} x {len(onsites)} x {len(temps)}); at most {MAX_POINTS:,}"
        )
    points = sorted(itertools.product(grids, onsites), key=lambda gs: (gs[0] + gs[1], gs))
    rows: list[dict[str, Any]] = []
    for temp in sorted(temps):
        site = updated_site(base, "--design-temp-c", design_temp_c=float(temp))
        updated_site(  # the largest point in range before any is solved
            site, "--grid-mw/--onsite-mw", grid_limit_kw=max(grids) * 1e3,
            onsite_firm_kw=max(onsites) * 1e3,
        )  # fmt: skip
        shares = [points[j::jobs] for j in range(min(jobs, len(points)))]
        if len(shares) == 1:
            rows += _solve_points(site, points, options, strategy)
            continue
        per_job = replace(options, threads=max((threads or 2) // len(shares), 1))
        # spawn, not fork: a forked child would inherit HiGHS's thread pool without threads
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=len(shares), mp_context=context) as pool:
            n = len(shares)
            for part in pool.map(_solve_points, [site] * n, shares, [per_job] * n, [strategy] * n):
                rows += part
    frame = pd.DataFrame(rows).reindex(columns=SWEEP_COLUMNS)
    frame = frame.sort_values(["design_temp_c", "supply_mw", "grid_mw"], kind="stable")
    frame["gpus_per_mw_step"] = _steps(frame)
    return frame.reset_index(drop=True)


def _solve_points(
    site: Site, points: Sequence[tuple[float, float]], options: SolveOptions, strategy: str
) -> list[dict[str, Any]]:
    """(grid MW, on-site MW) points in increasing supply, on one model built here."""
    built = build_model(site)
    model = compile_model(built)
    grid_rows = _grid_rows(model, site)
    grid_row = grid_rows[-1][0]  # the last phase's (the only one without phases)
    # Each grid row reads draw <= supply - fixed draw (fixed overhead, racks already standing)
    fixed_kw = {k: site.phase_supply_kw(q) - model.row_upper[k] for k, q in grid_rows}
    solver = Solver(model, options)
    x_prev = None
    rows = []
    for g, o in points:
        point_site = site.with_updates(grid_limit_kw=g * 1000.0, onsite_firm_kw=o * 1000.0)
        for k, q in grid_rows:  # every phase without limits of its own follows the sweep
            solver.set_row_upper(k, point_site.phase_supply_kw(q) - fixed_kw[k])  # model too
        row, x = _point_row(built, model, point_site, solver, grid_row, x_prev, options, strategy)
        if x is not None:
            x_prev = x
        row.update(grid_mw=g, onsite_mw=o, design_temp_c=site.design_temp_c, supply_mw=g + o)
        rows.append(row)
    return rows


def _steps(frame: pd.DataFrame) -> list[float | None]:
    """GPUs gained per MW since the previous point at the same temperature."""
    out: list[float | None] = []
    prev: dict[float, tuple[float, float]] = {}
    for _, r in frame.iterrows():
        t = r["design_temp_c"]
        gpus = r["gpus"]
        if t in prev and pd.notna(gpus) and r["supply_mw"] > prev[t][0]:
            out.append((gpus - prev[t][1]) / (r["supply_mw"] - prev[t][0]))
        else:
            out.append(None)
        if pd.notna(gpus):
            prev[t] = (r["supply_mw"], gpus)
    return out


def rebuild_sweep(
    site_or_path: Site | str | Path, grid_mw: Iterable[float], **kw: Any
) -> pd.DataFrame:
    """The same points, each built and solved from scratch (for measuring the speed-up)."""
    from optimizer.api import plan
    from optimizer.errors import InfeasibleError

    rows = []
    for g in grid_mw:
        began = time.perf_counter()
        try:
            p = plan(site_or_path, grid_mw=g, strategy="plain", marginal_values=False, **kw)
            rows.append(
                {
                    "grid_mw": g,
                    "status": p.status,
                    "gpus": p.summary["gpus"],
                    "objective": p.summary["objective"],
                    "solve_s": time.perf_counter() - began,
                }
            )
        except InfeasibleError:
            rows.append(
                {"grid_mw": g, "status": Status.INFEASIBLE, "solve_s": time.perf_counter() - began}
            )
    return pd.DataFrame(rows)
