"""rackfit benchmarks (issues 7 and 11): one whole plan per case, one fresh process per case.

For every combination of --scales x --topologies x --bindings x --strategies, the site is
generated with ``benchmarks/generate.py`` into a temporary folder and planned by
``optimizer.api.plan`` in a child process (so peak memory, ``ru_maxrss``, is the case's own
and a crash or a kill costs one row, not the table). The child also times ``write_plan``,
builds the same model straight on highspy (``benchmarks/direct_highspy.py``) for the
modelling-overhead ratio, and records incumbent and bound over time, from which the gap at
10, 60 and 300 s after the start of the plan is read. Each case is printed as a table when
it ends; all rows go to the CSV (rewritten after every case) and a Markdown summary is
printed at the end.

    python benchmarks/run.py --scales 1 10 --topologies 4n3 --bindings power \\
        --strategies auto plain --time-limit 300 --mip-gap 1e-4 --threads 2 \\
        --out benchmarks/results/results.csv

``--sweep`` measures grid studies instead (``optimizer.sweeps``): a 20-point sweep against one
plan of the same site, and the sweep's speed-up over rebuilding every point::

    python benchmarks/run.py --sweep --scales 1 --sweep-points 20 --time-limit 60 \\
        --threads 2 --rebuild-site data/block-redundant --out benchmarks/results/sweep.csv

Timeline semantics. Times are wall-clock seconds since ``plan()`` was called (load and build
included). The incumbent at time t is the best plan known by then: the first-fit start, the
power-group heuristic's plan (strategy ``auto``), or HiGHS's improving solutions. The bound
at t is the tightest valid bound known by then: the surrogate bound once its stage ended,
and HiGHS's dual bound during the full solve (sampled from HiGHS's MIP callback at most every
0.25 s). A plan that ended before t has its final gap at t; one stopped by its time limit
before t has no gap at t (empty).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from optimizer.schema import STRATEGIES

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

GAP_TIMES = (10, 60, 300)
STAGES = (
    "load",
    "checks",
    "build",
    "hand-off",
    "first fit",
    "bound",
    "heuristic",
    "solve",
    "marginal values",
    "results",
    "verify",
)

FIELDS = [
    "case",
    "scale",
    "topology",
    "binding",
    "strategy",
    "seed",
    "time_limit_s",
    "mip_gap_target",
    "threads",
    "site_rows",
    "halls",
    "model_rows",
    "model_columns",
    "model_nonzeros",
    "load_s",
    "checks_s",
    "build_s",
    "handoff_s",
    "pass_s",
    "first_fit_s",
    "bound_s",
    "heuristic_s",
    "solve_s",
    "marginal_s",
    "results_s",
    "verify_s",
    "write_s",
    "plan_s",
    "total_s",
    "cpu_s",
    "peak_mib",
    "status",
    "objective",
    "bound",
    "bound_source",
    "gap",
    "gpus",
    "racks",
    "baseline_gpus",
    "gain_gpus",
    "gain_pct",
    "first_fit_any_gpus",
    "first_fit_objective",
    "first_fit_short",
    "verify_passed",
    "modelling_s",
    "overhead_pct",
    "direct_data_s",
    "direct_assemble_s",
    "direct_pass_s",
    "direct_s",
    "overhead_ratio",
    "overhead_ratio_model_only",
    "power_limits_s",
    "direct_shape_match",
    "gap_10s",
    "gap_60s",
    "gap_300s",
    "surrogate_bound",
    "surrogate_s",
    "code",
    "error",
    "timeline",
]


# ---------------------------------------------------------------------------------------
# one case, in this process


class _Recorder:
    """Incumbents and bounds over time, from the stage hook, the progress hook and a
    sampling callback on the full solve's Highs object."""

    def __init__(self, strategy: str) -> None:
        self.began = time.perf_counter()
        self.strategy = strategy
        self.events: list[tuple[float, float | None, float | None, str]] = []
        self.stage_end: dict[str, float] = {}
        self.full_phase = False
        self.pass_s: float | None = None
        self.power_limits_s: float | None = None  # inside build_model

    def now(self) -> float:
        return time.perf_counter() - self.began

    def on_stage(self, name: str, seconds: float) -> None:
        self.stage_end[name] = self.now()
        # The full solve follows the first fit (plain) or the heuristic (auto).
        if (self.strategy == "plain" and name == "first fit") or name == "heuristic":
            self.full_phase = True
        elif name == "solve":
            self.full_phase = False

    def on_progress(self, p: Any) -> None:
        if self.full_phase:
            self.events.append((self.now(), p.incumbent, p.bound, "highs-improving"))


def _instrument(rec: _Recorder) -> Any:
    """Wrap `optimizer.solve.Solver.solve` (sample HiGHS's bound during the full solve) and
    `optimizer.solve._pass` (time the full model's passModel). Returns an undo function."""
    import numpy as np

    from optimizer import formulation
    from optimizer import solve as solve_mod

    original_solve = solve_mod.Solver.solve
    original_pass = solve_mod._pass
    original_limits = formulation.power_limits

    def timed_limits(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = original_limits(*args, **kwargs)
        if rec.power_limits_s is None:
            rec.power_limits_s = time.perf_counter() - t0
        return out

    def timed_pass(h: Any, model: Any, relax: bool = False) -> None:
        t0 = time.perf_counter()
        original_pass(h, model, relax)
        if rec.full_phase and not relax and rec.pass_s is None:
            rec.pass_s = time.perf_counter() - t0

    def sampled_solve(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not rec.full_phase:
            return original_solve(self, *args, **kwargs)
        last = [-1.0]

        def sample(event: Any) -> None:
            t = rec.now()
            if t - last[0] < 0.25:
                return
            last[0] = t
            out = event.data_out
            inc = float(out.objective_function_value)
            bound = float(out.mip_dual_bound)
            rec.events.append(
                (
                    t,
                    inc if np.isfinite(inc) and abs(inc) < 1e30 else None,
                    bound if np.isfinite(bound) and abs(bound) < 1e30 else None,
                    "highs-sample",
                )
            )

        self.h.cbMipInterrupt.subscribe(sample)
        try:
            return original_solve(self, *args, **kwargs)
        finally:
            self.h.cbMipInterrupt.unsubscribe(sample)

    solve_mod.Solver.solve = sampled_solve
    solve_mod._pass = timed_pass
    formulation.power_limits = timed_limits  # build_model's global

    def undo() -> None:
        solve_mod.Solver.solve = original_solve
        solve_mod._pass = original_pass
        formulation.power_limits = original_limits

    return undo


def _timeline(rec: _Recorder, summary: dict[str, Any], plan_s: float) -> list[list[Any]]:
    """Every (t, incumbent, bound, source), the strategy's stages and the end included."""
    events = list(rec.events)
    if summary.get("baseline_objective") is not None and "first fit" in rec.stage_end:
        events.append(
            (rec.stage_end["first fit"], summary["baseline_objective"], None, "first fit")
        )
    for st in summary.get("strategy_stages") or []:
        if st.get("stage") == "surrogate bound" and "bound" in rec.stage_end:
            events.append((rec.stage_end["bound"], None, st.get("bound"), "surrogate"))
        elif st.get("stage") == "power-group heuristic" and "heuristic" in rec.stage_end:
            events.append((rec.stage_end["heuristic"], st.get("incumbent"), None, "heuristic"))
    events.append((plan_s, summary.get("objective"), summary.get("bound"), "end"))
    events.sort(key=lambda e: e[0])
    return [[round(t, 3), inc, b, src] for t, inc, b, src in events]


def gap_at(
    timeline: list[list[Any]], t: float, maximize: bool, stopped_by_limit: bool
) -> float | None:
    """Relative gap |bound - incumbent| / |incumbent| known at `t` seconds (None: unknown).
    The last event is the end of the plan: after it the final gap holds, unless the plan was
    stopped by its time limit (then what would have happened later was not measured)."""
    if not timeline:
        return None
    end = timeline[-1][0]
    if t >= end and stopped_by_limit:
        return None
    inc = bound = None
    for when, i, b, _ in timeline:
        if when > t:
            break
        if i is not None:
            inc = i if inc is None else (max(inc, i) if maximize else min(inc, i))
        if b is not None:
            bound = b if bound is None else (min(bound, b) if maximize else max(bound, b))
    if inc is None or bound is None:
        return None
    return max(abs(bound - inc) / max(abs(inc), 1e-9), 0.0)


def run_case(spec: dict[str, Any], site_dir: str | Path) -> dict[str, Any]:
    """Plan the site in `site_dir` as `spec` says, in this process; one CSV row.
    spec: scale, topology, binding, strategy, seed, time_limit_s, mip_gap, threads,
    marginal_values (default True)."""
    import direct_highspy

    from optimizer import baseline
    from optimizer.api import plan
    from optimizer.export import write_plan

    row: dict[str, Any] = {
        k: spec.get(k)
        for k in ("scale", "topology", "binding", "strategy", "seed", "time_limit_s", "threads")
    }
    row["case"] = case_name(spec)
    row["mip_gap_target"] = spec.get("mip_gap")
    row["code"] = code_version()
    rec = _Recorder(spec["strategy"])
    undo = _instrument(rec)
    try:
        rec.began = time.perf_counter()
        p = plan(
            str(site_dir),
            time_limit_s=float(spec["time_limit_s"]),
            mip_gap=float(spec["mip_gap"]),
            threads=spec.get("threads"),
            strategy=spec["strategy"],
            marginal_values=bool(spec.get("marginal_values", True)),
            on_stage=rec.on_stage,
            on_progress=rec.on_progress,
        )
        plan_s = rec.now()
    finally:
        undo()
    with tempfile.TemporaryDirectory(prefix="rackfit-bench-write-") as tmp:
        t0 = time.perf_counter()
        write_plan(p, Path(tmp) / "plan")
        write_s = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mib = usage.ru_maxrss / 1024.0  # Linux: KiB
    cpu_s = usage.ru_utime + usage.ru_stime  # all threads of the child, imports included

    s, ts = p.summary, p.timings_s
    site = p.site
    row.update(
        site_rows=len(site.rows),
        halls=len(site.halls),
        model_rows=s["model_rows"],
        model_columns=s["model_columns"],
        model_nonzeros=s["model_nonzeros"],
        pass_s=rec.pass_s,
        power_limits_s=rec.power_limits_s,
        write_s=write_s,
        plan_s=plan_s,
        total_s=plan_s + write_s,
        peak_mib=peak_mib,
        cpu_s=cpu_s,
        status=s["status"],
        objective=s["objective"],
        bound=s["bound"],
        bound_source=s["bound_source"],
        gap=s["mip_gap"],
        gpus=s["gpus"],
        racks=s["racks"],
        baseline_gpus=s["baseline_gpus"],
        verify_passed=True,  # plan() raises InternalError when the verifier finds a violation
    )
    for stage, key in (
        ("load", "load_s"),
        ("checks", "checks_s"),
        ("build", "build_s"),
        ("hand-off", "handoff_s"),
        ("first fit", "first_fit_s"),
        ("bound", "bound_s"),
        ("heuristic", "heuristic_s"),
        ("solve", "solve_s"),
        ("marginal values", "marginal_s"),
        ("results", "results_s"),
        ("verify", "verify_s"),
    ):
        row[key] = ts.get(stage)
    if s["baseline_gpus"]:
        row["gain_gpus"] = s["gpus"] - s["baseline_gpus"]
        row["gain_pct"] = 100.0 * row["gain_gpus"] / s["baseline_gpus"]
    ff = baseline.first_fit(site)
    row["first_fit_any_gpus"] = int(sum(site.model_by_id[m].gpus for m in ff["model"]))
    # first fit with minimums first, even when it misses a minimum (then it is no plan)
    ff = baseline.first_fit(site, minimums_first=True)
    placed = ff.groupby("cluster").size()
    row["first_fit_objective"] = float(
        sum(site.model_of(c).gpus * c.value * placed.get(c.cluster, 0) for c in site.demand)
    )
    row["first_fit_short"] = ";".join(
        f"{c.cluster} {placed.get(c.cluster, 0)}/{c.min_racks}"
        for c in site.demand
        if placed.get(c.cluster, 0) < c.min_racks
    )
    for st in s.get("strategy_stages") or []:
        if st.get("stage") == "surrogate bound":
            row["surrogate_bound"] = st.get("bound")
            row["surrogate_s"] = ts.get("bound")

    # the same model on highspy from numpy arrays
    gc.collect()  # the plan's garbage would otherwise be collected during the direct build
    model, _h = direct_highspy.build(site, spec.get("threads"))
    ds = model.seconds
    row.update(
        direct_data_s=ds["data"],
        direct_assemble_s=ds["assemble"],
        direct_pass_s=ds["pass"],
        direct_s=ds["data"] + ds["assemble"] + ds["pass"],
        direct_shape_match=model.shape
        == (s["model_rows"], s["model_columns"], s["model_nonzeros"]),
    )
    modelling = (ts.get("build") or 0.0) + (ts.get("hand-off") or 0.0) + (rec.pass_s or 0.0)
    row["modelling_s"] = modelling
    row["overhead_pct"] = 100.0 * modelling / row["total_s"]
    row["overhead_ratio"] = modelling / row["direct_s"] if row["direct_s"] > 0 else None
    pyomo_only = modelling - (rec.power_limits_s or 0.0)  # both derive the N-1 rows alike
    direct_only = ds["assemble"] + ds["pass"]
    row["overhead_ratio_model_only"] = pyomo_only / direct_only if direct_only > 0 else None

    timeline = _timeline(rec, s, plan_s)
    maximize = s["objective_name"] == "gpus"
    stopped = s["status"] != "optimal"
    for t in GAP_TIMES:
        row[f"gap_{t}s"] = gap_at(timeline, t, maximize, stopped)
    row["timeline"] = json.dumps(timeline)
    return row


def code_version() -> str:
    """The commit measured, with `+dirty` when optimizer/ has uncommitted changes."""
    root = HERE.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "optimizer"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if dirty else "")


def case_name(spec: dict[str, Any]) -> str:
    return (
        f"s{spec['scale']:g}-{spec['topology']}-{spec['binding']}-{spec['strategy']}"
        f"-seed{spec.get('seed', 0)}"
    )


# ---------------------------------------------------------------------------------------
# one case, in a child process


def run_case_subprocess(spec: dict[str, Any], site_dir: Path, timeout_s: float) -> dict[str, Any]:
    """`run_case` in a fresh Python; a crash, a kill or a timeout gives a row with `error`."""
    with tempfile.TemporaryDirectory(prefix="rackfit-bench-case-") as tmp:
        out = Path(tmp) / "row.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            json.dumps(spec),
            "--child-site",
            str(site_dir),
            "--child-out",
            str(out),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
            if out.exists():
                return json.loads(out.read_text())
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
            error = f"exit {proc.returncode}: " + " | ".join(tail)
        except subprocess.TimeoutExpired:
            error = f"killed after {timeout_s:.0f} s"
    row = {
        k: spec.get(k)
        for k in ("scale", "topology", "binding", "strategy", "seed", "time_limit_s", "threads")
    }
    row.update(case=case_name(spec), mip_gap_target=spec.get("mip_gap"), error=error)
    return row


def _child(spec_json: str, site_dir: str, out: str) -> int:
    spec = json.loads(spec_json)
    try:
        row = run_case(spec, site_dir)
    except Exception as exc:  # noqa: BLE001 - a benchmark row records any failure
        traceback.print_exc()
        row = {"case": case_name(spec), "error": f"{type(exc).__name__}: {exc}"}
        row.update(
            {
                k: spec.get(k)
                for k in (
                    "scale",
                    "topology",
                    "binding",
                    "strategy",
                    "seed",
                    "time_limit_s",
                    "threads",
                )
            }
        )
        row["mip_gap_target"] = spec.get("mip_gap")
        row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    Path(out).write_text(json.dumps(row, default=_jsonable))
    return 0


def _jsonable(value: Any) -> Any:
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return str(value)


# ---------------------------------------------------------------------------------------
# printing


def _f(value: Any, fmt: str = "{:.2f}", none: str = "—") -> str:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return none
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _gap(value: Any) -> str:
    """A relative gap; below 1e-9 (floating-point noise) it is 0."""
    if value in (None, "") or float(value) < 1e-9:
        return _f(value, "0")
    return _f(value, "{:.2e}")


def format_case(row: dict[str, Any]) -> str:
    """A vertical table of one case."""
    if row.get("error") and row.get("status") is None:
        return f"== {row['case']}: FAILED: {row['error']}"
    lines = [
        f"== {row['case']}  (time limit {row['time_limit_s']} s, gap target "
        f"{row['mip_gap_target']}, threads {row['threads']})"
    ]
    pairs = [
        ("site", f"{row['halls']} halls, {row['site_rows']:,} rows"),
        (
            "model",
            f"{row['model_rows']:,} rows, {row['model_columns']:,} columns, "
            f"{row['model_nonzeros']:,} nonzeros",
        ),
        (
            "seconds",
            "  ".join(
                f"{k} {_f(row.get(f))}"
                for k, f in (
                    ("load", "load_s"),
                    ("build", "build_s"),
                    ("hand-off", "handoff_s"),
                    ("passModel", "pass_s"),
                    ("first fit", "first_fit_s"),
                    ("bound", "bound_s"),
                    ("heuristic", "heuristic_s"),
                    ("solve", "solve_s"),
                    ("marginal", "marginal_s"),
                    ("results", "results_s"),
                    ("verify", "verify_s"),
                    ("write", "write_s"),
                    ("total", "total_s"),
                )
            ),
        ),
        (
            "peak memory",
            f"{_f(row.get('peak_mib'), '{:,.0f}')} MiB; CPU "
            f"{_f(row.get('cpu_s'), '{:.1f}')} s (user + sys, all threads)",
        ),
        (
            "result",
            f"{row['status']}, objective {_f(row['objective'], '{:,.0f}')}, bound "
            f"{_f(row['bound'], '{:,.2f}')} ({row['bound_source']}), gap "
            f"{_gap(row['gap'])}, verify passed {row['verify_passed']}",
        ),
        (
            "GPUs",
            f"optimum {_f(row['gpus'], '{:,}')} vs first fit {_f(row['baseline_gpus'], '{:,}')}"
            f" ({_f(row.get('gain_pct'), '{:+.2f}%')}); first fit ignoring minimums "
            f"{_f(row.get('first_fit_any_gpus'), '{:,}')}",
        ),
        (
            "modelling",
            f"build + hand-off {_f(row['modelling_s'], '{:.3f}')} s = "
            f"{_f(row['overhead_pct'], '{:.2f}')}% of the run; direct highspy "
            f"{_f(row['direct_s'], '{:.3f}')} s (data {_f(row['direct_data_s'], '{:.3f}')}"
            f" + assemble {_f(row['direct_assemble_s'], '{:.3f}')} + passModel "
            f"{_f(row['direct_pass_s'], '{:.3f}')}); ratio "
            f"{_f(row['overhead_ratio'], '{:.1f}x')}, model only "
            f"{_f(row['overhead_ratio_model_only'], '{:.1f}x')}; same shape "
            f"{row['direct_shape_match']}",
        ),
        ("gap at", "  ".join(f"{t} s: {_gap(row.get(f'gap_{t}s'))}" for t in GAP_TIMES)),
    ]
    width = max(len(k) for k, _ in pairs)
    lines += [f"  {k:<{width}}  {v}" for k, v in pairs]
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The summary tables of docs/performance.md."""
    out = [
        "| case | model rows / cols / nnz | load | build | hand-off | bound | heuristic "
        "| solve | results | verify | write | total s | CPU s | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("status") is None:
            out.append(f"| {r['case']} | failed: {r.get('error')} |" + " |" * 12)
            continue
        out.append(
            f"| {r['case']} | {r['model_rows']:,} / {r['model_columns']:,} / "
            f"{r['model_nonzeros']:,} | "
            + " | ".join(
                _f(r.get(k))
                for k in (
                    "load_s",
                    "build_s",
                    "handoff_s",
                    "bound_s",
                    "heuristic_s",
                    "solve_s",
                    "results_s",
                    "verify_s",
                    "write_s",
                    "total_s",
                    "cpu_s",
                )
            )
            + f" | {_f(r.get('peak_mib'), '{:,.0f}')} |"
        )
    out += [
        "",
        "| case | status | objective | bound (source) | gap | gap 10 s | gap 60 s "
        "| gap 300 s | first fit GPUs / objective | plan GPUs | gain (objective) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("status") is None:
            continue
        ff = _f(r.get("baseline_gpus"), "{:,}", none=None)
        gain = "—"
        if ff is None:
            ff = f"— ({_f(r.get('first_fit_any_gpus'), '{:,}')} ignoring minimums)"
        elif r.get("first_fit_objective") and r.get("objective") is not None:
            ff += f" / {_f(r['first_fit_objective'], '{:,.0f}')}"
            better = float(r["objective"]) - float(r["first_fit_objective"])
            gain = f"{100.0 * better / float(r['first_fit_objective']):+.2f}%"
        out.append(
            f"| {r['case']} | {r['status']} | {_f(r['objective'], '{:,.0f}')} | "
            f"{_f(r['bound'], '{:,.1f}')} ({r['bound_source']}) | {_gap(r['gap'])} | "
            + " | ".join(_gap(r.get(f"gap_{t}s")) for t in GAP_TIMES)
            + f" | {ff} | {_f(r['gpus'], '{:,}')} | {gain} |"
        )
    out += [
        "",
        "| case | build + hand-off s | % of run | direct highspy s (data + assemble + "
        "pass) | ratio | ratio, model only |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("status") is None:
            continue
        out.append(
            f"| {r['case']} | {_f(r['modelling_s'], '{:.3f}')} | "
            f"{_f(r['overhead_pct'], '{:.2f}%')} | {_f(r['direct_s'], '{:.3f}')} "
            f"({_f(r['direct_data_s'], '{:.3f}')} + {_f(r['direct_assemble_s'], '{:.3f}')} + "
            f"{_f(r['direct_pass_s'], '{:.3f}')}) | {_f(r['overhead_ratio'], '{:.1f}x')} | "
            f"{_f(r['overhead_ratio_model_only'], '{:.1f}x')} |"
        )
    return "\n".join(out)


def write_csv(rows: list[dict[str, Any]], path: Path, fields: list[str] = FIELDS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# modelling overhead alone

OVERHEAD_FIELDS = [
    "site",
    "model_rows",
    "model_columns",
    "model_nonzeros",
    "power_limits_s",
    "pyomo_build_s",
    "pyomo_handoff_s",
    "pyomo_pass_s",
    "pyomo_s",
    "direct_assemble_s",
    "direct_pass_s",
    "direct_s",
    "ratio",
    "ratio_model_only",
]


def measure_overhead(site_dir: str | Path, label: str, repeats: int = 3) -> dict[str, Any]:
    """Pyomo build + compile + passModel against the direct highspy build of the same site,
    each the fastest of `repeats`, with `power_limits` (the N-1 rows both derive) timed apart:
    ratio = (Pyomo path) / (power_limits + direct), ratio_model_only leaves power_limits out
    of both."""
    import direct_highspy

    from optimizer.formulation import build_model, power_limits
    from optimizer.loaders import load_site
    from optimizer.solve import SolveOptions, _highs, _pass, compile_model

    site = load_site(site_dir)
    best: dict[str, float] = {}

    def keep(key: str, value: float) -> None:
        best[key] = min(best.get(key, float("inf")), value)

    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        power_limits(site)
        keep("power_limits_s", time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        m = build_model(site)
        t1 = time.perf_counter()
        compiled = compile_model(m)
        t2 = time.perf_counter()
        h = _highs(SolveOptions(threads=1))
        t3 = time.perf_counter()
        _pass(h, compiled)
        t4 = time.perf_counter()
        keep("pyomo_build_s", t1 - t0)
        keep("pyomo_handoff_s", t2 - t1)
        keep("pyomo_pass_s", t4 - t3)
        keep("pyomo_s", (t1 - t0) + (t2 - t1) + (t4 - t3))
        del m, compiled, h
        gc.collect()
        model, _h = direct_highspy.build(site, threads=1)
        keep("direct_assemble_s", model.seconds["assemble"])
        keep("direct_pass_s", model.seconds["pass"])
        keep("direct_s", model.seconds["assemble"] + model.seconds["pass"])
    rows, cols, nnz = model.shape
    return {
        "site": label,
        "model_rows": rows,
        "model_columns": cols,
        "model_nonzeros": nnz,
        **best,
        "ratio": best["pyomo_s"] / (best["power_limits_s"] + best["direct_s"]),
        "ratio_model_only": (best["pyomo_s"] - best["power_limits_s"]) / best["direct_s"],
    }


def overhead_markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "| site | rows / cols / nnz | power_limits s | Pyomo build s | hand-off s | passModel s "
        "| Pyomo total s | direct assemble + pass s | ratio | ratio, model only |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['site']} | {r['model_rows']:,} / {r['model_columns']:,} / "
            f"{r['model_nonzeros']:,} | {r['power_limits_s']:.3f} | {r['pyomo_build_s']:.3f} | "
            f"{r['pyomo_handoff_s']:.3f} | {r['pyomo_pass_s']:.3f} | {r['pyomo_s']:.3f} | "
            f"{r['direct_s']:.3f} | {r['ratio']:.1f}x | {r['ratio_model_only']:.1f}x |"
        )
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# grid sweeps

SWEEP_FIELDS = [
    "what",
    "site",
    "points",
    "time_limit_s",
    "seconds",
    "per_point_s",
    "optimal_points",
    "max_gap",
    "vs_one_plan",
    "note",
]


def _sweep_row(
    args: argparse.Namespace,
    label: str,
    points: list[float],
    jobs: int,
    frame: Any,
    sweep_s: float,
    one_s: float,
) -> dict[str, Any]:
    return {
        "what": f"sweep, {len(points)} grid points, {jobs} process(es), {args.sweep_strategy}",
        "site": label,
        "points": len(points),
        "time_limit_s": args.time_limit,
        "seconds": sweep_s,
        "per_point_s": sweep_s / len(points),
        "optimal_points": int((frame["status"] == "optimal").sum()),
        "max_gap": float(frame["mip_gap"].max()),
        "vs_one_plan": sweep_s / one_s,
        "note": f"grid {points[0]:g}..{points[-1]:g} MW",
    }


def run_sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """A 20-point grid sweep against one plan, and sweep vs rebuild on a small site."""
    import numpy as np
    from generate import generate_site, write_site

    from optimizer import sweeps as sweep
    from optimizer.api import plan

    rows: list[dict[str, Any]] = []
    plan(str(HERE.parent / "data" / "small"), threads=args.threads)  # warm up imports first
    with tempfile.TemporaryDirectory(prefix="rackfit-bench-sweep-") as tmp:
        for scale in args.scales:
            site_dir = write_site(
                generate_site(scale, args.seed, args.topologies[0], args.bindings[0]),
                Path(tmp) / f"s{scale:g}",
            )
            label = f"s{scale:g}-{args.topologies[0]}-{args.bindings[0]}"
            t0 = time.perf_counter()
            one = plan(
                str(site_dir),
                time_limit_s=args.time_limit,
                mip_gap=args.mip_gap,
                threads=args.threads,
                strategy="auto",
            )
            one_s = time.perf_counter() - t0
            rows.append(
                {
                    "what": "one plan (strategy auto)",
                    "site": label,
                    "points": 1,
                    "time_limit_s": args.time_limit,
                    "seconds": one_s,
                    "per_point_s": one_s,
                    "optimal_points": int(one.summary["status"] == "optimal"),
                    "max_gap": one.summary["mip_gap"],
                    "vs_one_plan": 1.0,
                }
            )
            print(f"one plan {label}: {one_s:.1f} s, {one.summary['status']}", flush=True)
            grid_mw = one.site.grid_limit_kw / 1000.0
            lo = args.sweep_low * grid_mw
            points = [round(v, 1) for v in np.linspace(lo, grid_mw, args.sweep_points)]
            for jobs in args.sweep_jobs:
                t0 = time.perf_counter()
                frame = sweep.sweep(
                    str(site_dir),
                    grid_mw=points,
                    time_limit_s=args.time_limit,
                    mip_gap=args.mip_gap,
                    threads=args.threads,
                    jobs=jobs,
                    strategy=args.sweep_strategy,
                )
                sweep_s = time.perf_counter() - t0
                rows.append(_sweep_row(args, label, points, jobs, frame, sweep_s, one_s))
                print(
                    frame[["grid_mw", "status", "gpus", "mip_gap", "solve_s"]].to_string(),
                    flush=True,
                )
                print(
                    f"sweep {label}, {jobs} process(es): {sweep_s:.1f} s = "
                    f"{sweep_s / one_s:.1f}x one plan",
                    flush=True,
                )
        if args.rebuild_site:
            from optimizer.api import resolve_site

            site = resolve_site(args.rebuild_site)
            g = site.grid_limit_kw / 1000.0
            points = [round(v, 3) for v in np.linspace(args.sweep_low * g, g, args.sweep_points)]
            t0 = time.perf_counter()
            frame = sweep.sweep(
                site,
                grid_mw=points,
                time_limit_s=args.time_limit,
                mip_gap=args.mip_gap,
                threads=args.threads,
            )
            sweep_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            rebuilt = sweep.rebuild_sweep(
                site,
                points,
                time_limit_s=args.time_limit,
                mip_gap=args.mip_gap,
                threads=args.threads,
            )
            rebuild_s = time.perf_counter() - t0
            same = [
                int(a) == int(b)
                for a, b in zip(frame["gpus"].fillna(-1), rebuilt["gpus"].fillna(-1), strict=True)
            ]
            for what, secs, fr in (
                ("sweep on one model", sweep_s, frame),
                ("rebuild every point", rebuild_s, rebuilt),
            ):
                rows.append(
                    {
                        "what": what,
                        "site": str(args.rebuild_site),
                        "points": len(points),
                        "time_limit_s": args.time_limit,
                        "seconds": secs,
                        "per_point_s": secs / len(points),
                        "optimal_points": int((fr["status"] == "optimal").sum()),
                        "max_gap": float(fr["mip_gap"].max()) if "mip_gap" in fr else None,
                        "note": f"speed-up {rebuild_s / sweep_s:.1f}x; same GPUs at "
                        f"{sum(same)}/{len(same)} points",
                    }
                )
            print(
                f"sweep vs rebuild on {args.rebuild_site}: {sweep_s:.2f} s vs {rebuild_s:.2f} s"
                f" = {rebuild_s / sweep_s:.1f}x",
                flush=True,
            )
    return rows


def sweep_markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "| what | site | points | time limit s | seconds | per point s | optimal points "
        "| worst gap | vs one plan | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['what']} | {r['site']} | {r['points']} | {r['time_limit_s']:g} | "
            f"{r['seconds']:.1f} | {r['per_point_s']:.2f} | {r['optimal_points']} | "
            f"{_gap(r.get('max_gap'))} | {_f(r.get('vs_one_plan'), '{:.1f}x')} | "
            f"{r.get('note') or ''} |"
        )
    return "\n".join(out)


# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="rackfit benchmarks: one whole plan per case in a fresh process.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--topologies", nargs="+", default=["4n3"])
    parser.add_argument("--bindings", nargs="+", default=["power"])
    parser.add_argument(
        "--strategies", nargs="+", default=["auto", "plain"], choices=list(STRATEGIES)
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--mip-gap", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--no-marginal-values",
        action="store_true",
        help="skip the LP-relaxation marginal values stage",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "results.csv")
    parser.add_argument("--append", action="store_true", help="keep the rows already in --out")
    parser.add_argument("--sweep", action="store_true", help="measure grid sweeps instead")
    parser.add_argument("--sweep-points", type=int, default=20)
    parser.add_argument(
        "--sweep-strategy",
        choices=list(STRATEGIES),
        default="auto",
        help="the sweep's strategy (rackfit sweep --strategy)",
    )
    parser.add_argument(
        "--sweep-jobs",
        type=int,
        nargs="+",
        default=[1, 2],
        help="measure the sweep with each of these process counts (rackfit sweep --jobs)",
    )
    parser.add_argument(
        "--sweep-low",
        type=float,
        default=0.5,
        help="sweep from this share of the site's grid limit up to it",
    )
    parser.add_argument(
        "--rebuild-site",
        default=None,
        help="site for the sweep vs rebuild comparison (e.g. data/block-redundant)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        default=None,
        help="only print the Markdown tables of these result CSVs",
    )
    parser.add_argument(
        "--overhead",
        action="store_true",
        help="only measure the modelling overhead (Pyomo vs direct highspy) per site",
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats for --overhead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-site", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.child_site, args.child_out)

    if args.report:
        rows = []
        for path in args.report:
            with path.open() as fh:
                rows += [_typed(dict(r)) for r in csv.DictReader(fh)]
        if rows and "what" in rows[0]:
            print(sweep_markdown(rows))
        elif rows and "ratio_model_only" in rows[0]:
            print(overhead_markdown(rows))
        else:
            print(markdown(rows))
        return 0
    if args.overhead:
        from generate import generate_site, write_site

        rows = []
        with tempfile.TemporaryDirectory(prefix="rackfit-bench-overhead-") as tmp:
            for scale in args.scales:
                for topology in args.topologies:
                    for binding in args.bindings:
                        label = f"s{scale:g}-{topology}-{binding}"
                        site_dir = write_site(
                            generate_site(scale, args.seed, topology, binding), Path(tmp) / label
                        )
                        rows.append(measure_overhead(site_dir, label, args.repeats))
                        print(overhead_markdown(rows[-1:]).splitlines()[-1], flush=True)
        write_csv(rows, args.out, OVERHEAD_FIELDS)
        print(overhead_markdown(rows))
        return 0
    if args.sweep:
        rows = run_sweep(args)
        write_csv(rows, args.out, SWEEP_FIELDS)
        print(sweep_markdown(rows))
        return 0

    from generate import generate_site, write_site

    rows: list[dict[str, Any]] = []
    if args.append and args.out.exists():
        with args.out.open() as fh:
            rows = [dict(r) for r in csv.DictReader(fh)]
    done_before = len(rows)
    for scale in args.scales:
        for topology in args.topologies:
            for binding in args.bindings:
                with tempfile.TemporaryDirectory(prefix="rackfit-bench-site-") as tmp:
                    t0 = time.perf_counter()
                    site_dir = write_site(
                        generate_site(scale, args.seed, topology, binding), Path(tmp) / "site"
                    )
                    print(
                        f"generated s{scale:g}-{topology}-{binding} in "
                        f"{time.perf_counter() - t0:.1f} s",
                        flush=True,
                    )
                    for strategy in args.strategies:
                        spec = {
                            "scale": scale,
                            "topology": topology,
                            "binding": binding,
                            "strategy": strategy,
                            "seed": args.seed,
                            "time_limit_s": args.time_limit,
                            "mip_gap": args.mip_gap,
                            "threads": args.threads,
                            "marginal_values": not args.no_marginal_values,
                        }
                        timeout = 3 * args.time_limit + 600 * max(1.0, scale)
                        row = run_case_subprocess(spec, site_dir, timeout)
                        rows.append(row)
                        print(format_case(row), flush=True)
                        write_csv(rows, args.out)
    print()
    new = rows[done_before:]
    print(markdown([_typed(r) for r in new]))
    print(f"\n{len(new)} case(s) written to {args.out}")
    return 0


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """Numbers back from CSV strings (rows read with --append)."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, str):
            if v == "":
                v = None
            else:
                try:
                    v = int(v)
                except ValueError:
                    try:
                        v = float(v)
                    except ValueError:
                        v = {"True": True, "False": False}.get(v, v)
        out[k] = v
    return out


if __name__ == "__main__":
    raise SystemExit(main())
