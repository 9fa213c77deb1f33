"""rackfit against its peers on the same model, in one run (issue 15).

For each site (a folder, or a seed of the random family ``generate.py --family random``):

1. the model rackfit solves (``build_model`` + ``compile_model``) is written as MPS with
   highspy (``Highs.writeModel``);
2. raw HiGHS reads that file and solves it (``--threads``, the time limit, the gap);
3. OR-Tools CP-SAT reads the same file (``model_builder.ModelBuilder.import_from_mps_file``)
   and solves it with ``num_workers`` = ``--threads``, the same time limit and gap;
4. rackfit plans the site (``optimizer.api.plan``, ``--strategy``, same limit and gap).

One table per site: objective, bound, gap and seconds for each, and the machine's load
(``os.getloadavg``) when the site started, since the timings of a shared machine are noisy.
The reported plans are re-checked against the model's rows (largest violation, ``viol``):
CP-SAT scales non-integer coefficients to integers, so its plan is checked too. Rows go to a
CSV (``--out``).

OR-Tools is not a dependency of rackfit: install it with ``pip install -e '.[bench]'``.
Without it the CP-SAT column says so and the rest still runs.

    python benchmarks/peers.py --family random --seeds 0-19 --scale 1 --time-limit 60 \\
        --threads 2 --out benchmarks/results/peers-s1.csv
    python benchmarks/peers.py data/colossus --time-limit 60
    python benchmarks/peers.py --report benchmarks/results/peers-s1.csv  # the table again
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from optimizer.api import plan  # noqa: E402
from optimizer.errors import RackfitError  # noqa: E402
from optimizer.formulation import build_model  # noqa: E402
from optimizer.loaders import load_site  # noqa: E402
from optimizer.solve import Compiled, SolveOptions, _highs, _pass, compile_model  # noqa: E402

FIELDS = [
    "site", "solver", "status", "objective", "bound", "gap", "seconds", "viol", "load", "peak_mib",
]  # fmt: skip
SOLVERS = ("rackfit", "highs", "cpsat")
NO_ORTOOLS = "ortools is not installed (pip install -e '.[bench]'): CP-SAT skipped"


def write_mps(model: Compiled, path: Path) -> None:
    """The compiled model as an MPS file (highspy's writer, objective sense included)."""
    h = _highs(SolveOptions(threads=None))
    _pass(h, model)
    h.writeModel(str(path))


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None or not np.isfinite(bound):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


def violation(model: Compiled, x: np.ndarray | None) -> float | None:
    """The largest amount by which x breaks a row or column bound (0: feasible)."""
    return None if x is None else model.violation(x)


def _model(site_dir: Path) -> Compiled:
    return compile_model(build_model(load_site(site_dir)))


def run_highs(mps: Path, site_dir: Path, limit: float, gap: float, threads: int) -> dict:
    model = _model(site_dir)
    began = time.perf_counter()
    h = _highs(SolveOptions(threads=threads))
    h.readModel(str(mps))
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.run()
    info = h.getInfo()
    has = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value) if has else None
    objective = float(info.objective_function_value) if has else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    return {
        "solver": "raw HiGHS",
        "status": h.modelStatusToString(h.getModelStatus()),
        "objective": objective,
        "bound": bound,
        "gap": _gap(objective, bound),
        "seconds": time.perf_counter() - began,
        "viol": violation(model, x),
    }


def run_cpsat(mps: Path, site_dir: Path, limit: float, gap: float, threads: int) -> dict:
    try:
        from ortools.linear_solver.python import model_builder as mb
    except ImportError:
        return {"solver": "CP-SAT", "status": NO_ORTOOLS}
    model = _model(site_dir)
    began = time.perf_counter()
    builder = mb.ModelBuilder()
    builder.import_from_mps_file(str(mps))
    solver = mb.ModelSolver("sat")
    solver.set_time_limit_in_seconds(float(limit))
    solver.set_solver_specific_parameters(
        f"num_workers:{threads} relative_gap_limit:{gap} log_search_progress:false "
        "catch_sigint_signal:false"  # Ctrl-C stays Python's (and the tests')
    )
    status = solver.solve(builder)
    found = status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE)
    x = None
    if found:
        x = np.asarray(solver.values(builder.get_variables()), dtype=float)
    objective = float(solver.objective_value) if found else None
    bound = float(solver.best_objective_bound) if found else None
    return {
        "solver": "CP-SAT",
        "status": status.name.lower(),
        "objective": objective,
        "bound": bound,
        "gap": _gap(objective, bound),
        "seconds": time.perf_counter() - began,
        "viol": violation(model, x),
    }


def run_rackfit(site_dir: Path, limit: float, gap: float, threads: int, strategy: str) -> dict:
    site = load_site(site_dir)  # loading is not timed, as raw HiGHS's model is built before
    began = time.perf_counter()
    try:
        p = plan(
            site, time_limit_s=limit, mip_gap=gap, threads=threads, strategy=strategy,
            marginal_values=False,
        )  # fmt: skip
    except RackfitError as error:  # infeasible, or no plan in time: a row that says so
        return {"solver": f"rackfit {strategy}", "status": type(error).__name__,
                "seconds": time.perf_counter() - began}  # fmt: skip
    s = p.summary
    return {
        "solver": f"rackfit {strategy}",
        "status": s["status"],
        "objective": s["objective"],
        "bound": s["bound"],
        "gap": s["mip_gap"],
        "seconds": time.perf_counter() - began,
        "viol": 0.0,  # plan() re-checks every plan with the independent verifier
        "bound_source": s["bound_source"],
    }


def _measured(solver: str, args: tuple) -> dict[str, Any]:
    """One solver's row, run in this (child) process, with its peak resident memory."""
    import resource

    runner = {"rackfit": run_rackfit, "highs": run_highs, "cpsat": run_cpsat}[solver]
    row = runner(*args)
    row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def _in_child(solver: str, args: tuple) -> dict[str, Any]:
    """Each solver in a fresh process (spawned, so nothing is shared: HiGHS's thread pools,
    memory), one after the other; its peak memory is then its own."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measured, solver, args).result()


def compare(
    site_dir: Path,
    limit: float,
    gap: float,
    threads: int,
    strategy: str,
    solvers: tuple[str, ...] = SOLVERS,
) -> list[dict[str, Any]]:
    """Every solver on one site, one after the other (never side by side)."""
    site = load_site(site_dir)
    model = compile_model(build_model(site))
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mps = Path(tmp) / "model.mps"
        write_mps(model, mps)
        for solver in solvers:
            if solver == "rackfit":
                args: tuple = (site_dir, limit, gap, threads, strategy)
            else:
                args = (mps, site_dir, limit, gap, threads)
            rows.append(_in_child(solver, args))
    for row in rows:
        row["site"] = site.name
        row["load"] = load
    return rows


def _f(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'solver':<16} {'status':<12} {'objective':>14} {'bound':>14} {'gap':>9} {'s':>7}"
    lines = [f"{rows[0]['site']} (load {rows[0]['load']:.2f})", head]
    for r in rows:
        if r.get("objective") is None and r["status"] == NO_ORTOOLS:
            lines.append(f"{r['solver']:<16} {r['status']}")
            continue
        lines.append(
            f"{r['solver']:<16} {str(r['status'])[:12]:<12} {_f(r.get('objective'), '{:,.2f}'):>14}"
            f" {_f(r.get('bound'), '{:,.2f}'):>14} {_f(r.get('gap'), '{:.2e}'):>9}"
            f" {_f(r.get('seconds'), '{:.1f}'):>7}"
            + (f"  {r['peak_mib']:,.0f} MiB" if r.get("peak_mib") else "")
            + (f"  viol {r['viol']:.1e}" if r.get("viol") else "")
            + (f"  bound from {r['bound_source']}" if r.get("bound_source") else "")
        )
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]], mip_gap: float | None = None) -> str:
    """One line per site: each solver's plan (and gap to its own bound), rackfit's bound and
    its source, whether rackfit's plan is at least both others' ("within gap" when it is
    below one but proven within `mip_gap`, the target every solver was given: then both plans
    meet what was asked), and the load when the site started."""
    sites = list(dict.fromkeys(r["site"] for r in rows))
    head = (
        "| site | load | rackfit plan (gap, s) | bound (source) | raw HiGHS plan (gap) "
        "| CP-SAT plan (gap) | rackfit ≥ both | peak MiB (rackfit / HiGHS) |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [head]

    def cell(r: dict[str, Any] | None, seconds: bool = False) -> str:
        if r is None or r.get("objective") is None:
            return "—" if r is None else str(r["status"])[:20]
        gap = "—" if r.get("gap") is None else f"{r['gap']:.1e}"
        extra = f", {r['seconds']:.0f} s" if seconds else ""
        return f"{r['objective']:,.1f} ({gap}{extra})"

    for site in sites:
        by = {r["solver"].split()[0]: r for r in rows if r["site"] == site}
        ours, highs, sat = by.get("rackfit"), by.get("raw"), by.get("CP-SAT")
        mine = None if ours is None else ours.get("objective")
        others = [r["objective"] for r in (highs, sat) if r and r.get("objective") is not None]
        tol = 1e-9 * max(1.0, abs(mine or 0.0))
        ok = "—" if mine is None else ("yes" if all(mine >= o - tol for o in others) else "no")
        proven = ours is not None and ours.get("gap") is not None and mip_gap is not None
        if ok == "no" and proven and ours["gap"] <= mip_gap + 1e-12:
            ok = "within gap"
        bound = (
            "—"
            if ours is None or ours.get("bound") is None
            else (f"{ours['bound']:,.1f} ({ours.get('bound_source')})")
        )
        load = rows[[r["site"] for r in rows].index(site)]["load"]
        memory = " / ".join(
            "—" if r is None or not r.get("peak_mib") else f"{r['peak_mib']:,.0f}"
            for r in (ours, highs)
        )
        lines.append(
            f"| {site} | {load:.1f} | {cell(ours, True)} | {bound} | {cell(highs)} "
            f"| {cell(sat)} | {ok} | {memory} |"
        )
    return "\n".join(lines)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV written by --out, numbers as numbers and empty cells as None."""
    numeric = {"objective", "bound", "gap", "seconds", "viol", "load", "peak_mib"}
    with path.open(newline="") as f:
        return [
            {k: (float(v) if k in numeric else v) if v != "" else None for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="rackfit vs raw HiGHS vs CP-SAT on the same model, one site at a time.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("sites", nargs="*", type=Path, help="site folders")
    parser.add_argument("--family", choices=("random",), help="generate sites of this family")
    parser.add_argument("--seeds", default="0", help="seeds of --family, e.g. 0-19 or 1,4,7")
    parser.add_argument("--scale", type=float, default=1.0, help="scale of --family")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--mip-gap", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strategy", default="auto", help="rackfit's --strategy")
    parser.add_argument("--out", type=Path, default=None, help="CSV of every row")
    parser.add_argument(
        "--solvers", default=",".join(SOLVERS), help="which of rackfit,highs,cpsat to run"
    )
    parser.add_argument(
        "--report", type=Path, nargs="+", default=None,
        help="print the Markdown table of these CSVs (written by --out) again, solve nothing",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.report:
        print(markdown([row for path in args.report for row in read_rows(path)], args.mip_gap))
        return 0
    try:
        import ortools  # noqa: F401
    except ImportError:
        print(f"note: {NO_ORTOOLS}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sites = list(args.sites)
        if args.family:
            from generate import write_site
            from random_family import generate_random_site

            for seed in _seeds(args.seeds):
                tables = generate_random_site(args.scale, seed)
                sites.append(write_site(tables, Path(tmp) / f"seed{seed}"))
        for site_dir in sites:
            found = compare(
                site_dir, args.time_limit, args.mip_gap, args.threads, args.strategy,
                tuple(args.solvers.split(",")),
            )  # fmt: skip
            print(table(found), flush=True)
            print(flush=True)
            rows += found
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with args.out.open("w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=[*FIELDS, "bound_source"])
                    writer.writeheader()
                    for r in rows:
                        writer.writerow({k: r.get(k) for k in [*FIELDS, "bound_source"]})
    if rows:
        print(markdown(rows, args.mip_gap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
