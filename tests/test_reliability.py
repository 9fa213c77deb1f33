"""Reliability of the command line (issue 9): determinism, nothing lost, Ctrl-C, internal
errors, through click's CliRunner as a user types the commands.

Interruptions and failures are simulated with monkeypatch: a KeyboardInterrupt or an
exception raised inside `optimizer.api.plan`, inside the writers, or a real SIGINT sent to
the process while HiGHS runs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import highspy
import pytest
from clirun import EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_INTERRUPTED, error_lines, listing, rackfit
from sites import cool, dev, make_site, rack, row, want

from optimizer import api, export_studies
from optimizer import solve as solve_module
from optimizer.batch import read_scenarios, run_batch
from optimizer.export import files
from optimizer.formulation import build_model
from optimizer.solve import SolveOptions, Solver, compile_model
from optimizer.verify import verify

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SMALL = DATA / "small"
TIMINGS = re.compile(rb'\n  "timings_s": \{[^}]*\}')


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (or the file itself) by relative path, with its bytes."""
    if folder.is_file():
        return {folder.name: folder.read_bytes()}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small") / "plan"
    rackfit("plan", SMALL, "--out", out, "--quiet")
    return out


@pytest.fixture
def old_plan(tmp_path: Path, small_plan: Path) -> Path:
    """A plan folder written earlier by `rackfit plan data/small`, in this test's folder."""
    out = tmp_path / "plan"
    shutil.copytree(small_plan, out)
    return out


def infeasible_site(tmp_path: Path) -> Path:
    site = tmp_path / "infeasible-site"
    shutil.copytree(SMALL, site)
    demand = site / "demand.csv"
    demand.write_text(
        demand.read_text().replace("infer,nvidia-dgx-h100,0,", "infer,nvidia-dgx-h100,8,")
    )
    return site


# ==============================================================================================
# Determinism
# ==============================================================================================
def assert_same_csvs(a: Path, b: Path) -> None:
    csvs = sorted(p.name for p in a.glob("*.csv"))
    assert csvs == sorted(p.name for p in b.glob("*.csv"))
    assert "placements.csv" in csvs and len(csvs) >= 7
    for name in csvs:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def assert_same_summary(a: Path, b: Path) -> None:
    """summary.json byte for byte, apart from the `timings_s` field."""
    summary_a = (a / "summary.json").read_bytes()
    summary_b = (b / "summary.json").read_bytes()
    assert TIMINGS.search(summary_a) and TIMINGS.search(summary_b)
    assert TIMINGS.sub(b"", summary_a) == TIMINGS.sub(b"", summary_b)


@pytest.fixture(scope="module")
def small_again(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("again") / "plan"
    rackfit("plan", SMALL, "--out", out, "--quiet")
    return out


@pytest.fixture(scope="module")
def threads_one_and_two(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """block-redundant (48 racks, 37 power devices: a MILP HiGHS branches on) planned with
    --threads 1 and --threads 2, each from a fresh HiGHS scheduler as in a new process."""
    folder = tmp_path_factory.mktemp("threads")
    outs = []
    for threads in ("1", "2"):
        highspy.Highs.resetGlobalScheduler(True)
        out = folder / f"threads-{threads}"
        rackfit("plan", DATA / "block-redundant", "--threads", threads, "--out", out, "--quiet")
        outs.append(out)
    highspy.Highs.resetGlobalScheduler(True)
    return outs[0], outs[1]


def test_the_same_input_gives_byte_identical_csvs(small_plan, small_again):
    assert_same_csvs(small_plan, small_again)


def test_the_same_input_gives_the_same_summary_but_for_timings(small_plan, small_again):
    assert_same_summary(small_plan, small_again)


def test_every_timing_is_in_timings_s(small_plan):
    # (strategy_stages once carried a `seconds` per stage, so two runs differed.)
    text = TIMINGS.sub(b"", (small_plan / "summary.json").read_bytes())
    assert not re.search(rb'"[^"]*(_s|seconds|time)"\s*:', text)


def test_the_thread_count_does_not_change_the_csvs(threads_one_and_two):
    assert_same_csvs(*threads_one_and_two)


def test_the_thread_count_does_not_change_the_summary(threads_one_and_two):
    assert_same_summary(*threads_one_and_two)


def test_a_different_thread_count_in_the_same_process_still_solves(fresh_highs_scheduler):
    for threads in (1, 2, 1):
        assert api.plan(SMALL, threads=threads).summary["gpus"] == 440


def test_threads_1_after_a_default_solve_in_the_same_process(fresh_highs_scheduler):
    assert api.plan(SMALL, strategy="plain").summary["gpus"] == 440
    assert api.plan(SMALL, strategy="plain", threads=1).summary["gpus"] == 440


def test_a_batch_after_a_plan_in_the_same_process(tmp_path, fresh_highs_scheduler):
    path = tmp_path / "scenarios.csv"
    path.write_text("scenario,grid_mw\nbase,\nsmaller,0.8\n")
    api.plan(SMALL, strategy="plain")
    frame = run_batch(SMALL, read_scenarios(path), workers=1, time_limit_s=30, mip_gap=1e-4,
                      threads=1)  # fmt: skip
    assert frame["status"].tolist() == ["optimal", "optimal"]
    assert frame["gpus"].tolist() == [440, 368]


# ==============================================================================================
# Nothing lost
# ==============================================================================================
def test_a_successful_plan_leaves_no_temporary_folders(tmp_path, old_plan):
    rackfit("plan", SMALL, "--out", old_plan, "--grid-mw", "0.8", "--quiet")  # replaces it
    assert listing(tmp_path) == ["plan"]
    assert '"gpus": 368' in (old_plan / "summary.json").read_text()


def test_a_plan_on_an_infeasible_site_keeps_the_previous_plan(tmp_path, old_plan):
    before = snapshot(old_plan)
    result = rackfit("plan", infeasible_site(tmp_path), "--out", old_plan, code=EXIT_INFEASIBLE)
    assert error_lines(result)
    assert snapshot(old_plan) == before
    assert listing(tmp_path) == ["infeasible-site", "plan"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_a_writer_failing_half_way_keeps_the_previous_plan(tmp_path, old_plan, monkeypatch, error):
    # The utilization picture is saved last: by then the CSVs, summary, workbook and floor
    # plans of the new plan are in the temporary folder.
    written: list[str] = []
    real_save = files.save_figure

    def save(figure, path):
        if path.name == "utilization.png":
            written.extend(p.name for p in path.parent.iterdir())
            raise error("stopped while writing")
        real_save(figure, path)

    monkeypatch.setattr(files, "save_figure", save)
    before = snapshot(old_plan)
    result = rackfit("plan", SMALL, "--out", old_plan, "--grid-mw", "0.8", code=None)
    assert {"placements.csv", "summary.json", "floor-A.png"} <= set(written)  # half-way
    (line,) = error_lines(result)
    if error is KeyboardInterrupt:
        assert result.exit_code == EXIT_INTERRUPTED and line.startswith("error: interrupted")
    else:
        assert result.exit_code == EXIT_INTERNAL and "internal error" in line
    assert snapshot(old_plan) == before
    assert listing(tmp_path) == ["plan"]  # no temporary folder left behind


def test_an_interrupted_first_plan_leaves_nothing_not_even_new_parent_folders(
    tmp_path, monkeypatch
):
    def utilization(plan):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "utilization_figure", utilization)
    rackfit("plan", SMALL, "--out", tmp_path / "new" / "deeper" / "plan", code=None)
    assert listing(tmp_path) == []


def test_an_interrupted_workbook_write_keeps_the_previous_workbook(tmp_path, monkeypatch):
    book = tmp_path / "plan.xlsx"
    rackfit("plan", SMALL, "--out", book, "--quiet")
    before = book.read_bytes()

    def write_workbook(plan, path, tables=None):
        path.write_bytes(b"half a workbook")
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_workbook", write_workbook)
    result = rackfit("plan", SMALL, "--out", book, "--grid-mw", "0.8", code=None)
    assert error_lines(result)[0].startswith("error: interrupted")
    assert book.read_bytes() == before
    assert listing(tmp_path) == ["plan.xlsx"]


def test_a_failed_plan_into_a_new_folder_writes_nothing(tmp_path):
    rackfit("plan", infeasible_site(tmp_path), "--out", tmp_path / "a" / "plan",
            code=EXIT_INFEASIBLE)  # fmt: skip
    assert listing(tmp_path) == ["infeasible-site"]


def test_an_interrupted_sweep_keeps_the_previous_sweep(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    rackfit("sweep", SMALL, "--grid-mw", "0.8,1.0", "--out", out)
    before = snapshot(out)

    def figure(frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_studies, "sweep_figure", figure)
    result = rackfit("sweep", SMALL, "--grid-mw", "0.6", "--out", out, code=None)
    assert error_lines(result)[0].startswith("error: interrupted")
    assert snapshot(out) == before
    assert listing(tmp_path) == ["sweep"]


def test_a_failed_batch_write_keeps_the_previous_results(tmp_path, monkeypatch):
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text("scenario,grid_mw\nsmall-grid,0.8\n")
    out = tmp_path / "batch"
    rackfit("batch", SMALL, scenarios, "--out", out, "--jobs", "1")
    before = snapshot(out)

    def xlsx(frame, path, sheet):
        path.write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(export_studies, "_xlsx", xlsx)
    result = rackfit("batch", SMALL, scenarios, "--out", out, "--jobs", "1", code=None)
    assert error_lines(result)
    assert snapshot(out) == before
    assert listing(tmp_path) == ["batch", "scenarios.csv"]


def test_a_failed_convert_or_init_writes_nothing(tmp_path, monkeypatch):
    from optimizer import convert

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copytree", fail)
    rackfit("init", tmp_path / "starter", code=None)
    monkeypatch.setattr(convert, "_typed", fail)
    rackfit("convert", SMALL, tmp_path / "small.xlsx", code=None)
    assert listing(tmp_path) == []


# ==============================================================================================
# Ctrl-C
# ==============================================================================================
def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_during_plan_prints_interrupted_and_keeps_the_previous_plan(
    tmp_path, old_plan, monkeypatch
):
    before = snapshot(old_plan)
    monkeypatch.setattr(api, "plan", interrupt)
    result = rackfit("plan", SMALL, "--out", old_plan, code=None)
    (line,) = error_lines(result)
    assert line.startswith("error: interrupted")
    assert "Traceback" not in result.output
    assert snapshot(old_plan) == before
    assert listing(tmp_path) == ["plan"]


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("optimizer.sweeps.sweep", ["sweep", SMALL, "--grid-mw", "1"]),
        ("optimizer.batch.run_batch", ["batch", SMALL, "SCENARIOS"]),
    ],
    ids=["sweep", "batch"],
)
def test_ctrl_c_during_a_study_prints_interrupted_and_writes_nothing(
    tmp_path, monkeypatch, target, command
):
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text("scenario\nbase\n")
    monkeypatch.setattr(target, interrupt)
    args = [scenarios if a == "SCENARIOS" else a for a in command]
    result = rackfit(*args, "--out", tmp_path / "out", code=None)
    assert error_lines(result)[0].startswith("error: interrupted")
    assert listing(tmp_path) == ["scenarios.csv"]


def _sigint_while_highs_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Send the process a real SIGINT (what Ctrl-C does) from HiGHS's first progress report,
    that is while HiGHS is running."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    sent: list[int] = []
    original = solve_module.Solver.solve

    def solve(self, start=None, on_progress=None, time_limit_s=None):
        def progress(p):
            if not sent:
                sent.append(1)
                os.kill(os.getpid(), signal.SIGINT)
            if on_progress is not None:
                on_progress(p)

        return original(self, start, progress, time_limit_s)

    monkeypatch.setattr(solve_module.Solver, "solve", solve)
    return sent


def test_real_ctrl_c_while_highs_runs_keeps_the_previous_plan(tmp_path, old_plan, monkeypatch):
    before = snapshot(old_plan)
    sent = _sigint_while_highs_runs(monkeypatch)
    result = rackfit("plan", SMALL, "--strategy", "plain", "--out", old_plan, code=None)
    assert sent, "HiGHS reported no progress: the test did not interrupt anything"
    assert error_lines(result)
    assert snapshot(old_plan) == before
    assert listing(tmp_path) == ["plan"]


def test_real_ctrl_c_while_highs_runs_says_interrupted(tmp_path, monkeypatch):
    sent = _sigint_while_highs_runs(monkeypatch)
    result = rackfit("plan", SMALL, "--strategy", "plain", "--out", tmp_path / "plan", code=None)
    assert sent
    (line,) = error_lines(result)
    assert line.startswith("error: interrupted")


# ==============================================================================================
# Internal errors
# ==============================================================================================
def boom(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("optimizer.api.plan", ["plan", SMALL, "--out", "OUT"]),
        ("optimizer.verify.verify", ["check", SMALL, DATA / "nothing-here"]),
        ("optimizer.loaders.load_site_with_warnings", ["validate", SMALL]),
        ("optimizer.library.library_table", ["models"]),
        ("optimizer.sweeps.sweep", ["sweep", SMALL, "--grid-mw", "1", "--out", "OUT"]),
    ],
    ids=["plan", "check", "validate", "models", "sweep"],
)
def test_an_unexpected_exception_is_one_error_line_and_exit_1(
    tmp_path, monkeypatch, target, command, small_plan
):
    if command[0] == "check":
        command = ["check", SMALL, small_plan]
    monkeypatch.setattr(target, boom)
    args = [tmp_path / "out" if a == "OUT" else a for a in command]
    result = rackfit(*args, code=EXIT_INTERNAL)
    assert result.stderr.strip().splitlines()[-1:] == error_lines(result)
    (line,) = error_lines(result)
    assert line.startswith("error: internal error") and "boom" in line and "--debug" in line
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback_of_an_internal_error(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "plan", boom)
    result = rackfit("--debug", "plan", SMALL, "--out", tmp_path / "plan", code=EXIT_INTERNAL)
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert error_lines(result)
    assert not (tmp_path / "plan").exists()


def test_debug_shows_the_traceback_of_a_known_error_and_keeps_its_exit_code(tmp_path):
    result = rackfit("--debug", "plan", infeasible_site(tmp_path), "--out", tmp_path / "plan",
                     code=EXIT_INFEASIBLE)  # fmt: skip
    assert "Traceback" in result.stderr and "InfeasibleError" in result.stderr
    assert error_lines(result)


def test_an_internal_error_with_a_multi_line_message_is_still_one_line(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise ValueError("first line\n  second line\n  third line")

    monkeypatch.setattr(api, "plan", fail)
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan", code=EXIT_INTERNAL)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: internal error")
    assert not any(line.startswith(" ") for line in lines)


def _start_valued_wrongly_site():
    """Found by hypothesis (test_brownfield_properties): a cost-objective hall whose first fit
    (3 racks of c0, 2 of c1: $305,923.84) HiGHS 1.16.0, given it as a start, values at
    $120,603.52 in its presolved space and calls optimal. The optimum is the minimums:
    1 rack of c0 and 2 of c1, 64,716.80 + 2 x 55,886.72 = $176,490.24."""
    m0 = rack("m0", design_kw=25, typical_kw=20, weight_kg=650, capex_usd=50_000)
    m1 = rack("m1", design_kw=10, typical_kw=8, weight_kg=650, capex_usd=50_000)
    return make_site(
        rows=[row("H1", "R0", "T0.1", positions=2), row("H1", "R1", "T0", "T0.0", positions=3),
              row("H1", "R2", "T0.0", positions=1), row("H1", "R3", "T0", "T0.0", positions=1),
              row("H1", "R4", "T0", "T0.1", positions=3)],
        devices=[dev("T0", 100), dev("T0.0", 60, parent="T0"), dev("T0.1", 60, parent="T0")],
        demand=[want("c0", m0, min_racks=1), want("c1", m1, min_racks=2, max_racks=3)],
        cooling=[cool("H1", "air", 1, 100), cool("H1", "liquid", 1, 100)],
        pods=[("P1", 64)], grid_limit_kw=500, objective="cost", pue=1.2,
        energy_usd_per_kwh=0.07, design_temp_c=35,
    )  # fmt: skip


def test_a_start_highs_values_wrongly_is_dropped_and_the_optimum_found():
    """Whatever HiGHS says, the objective reported is that of the plan returned: when they
    differ (a start valued wrongly after presolve), the solve is run again from no start."""
    site = _start_valued_wrongly_site()
    built = build_model(site)
    model = compile_model(built)
    start = api.first_fit_start(built, model, site).start
    assert start is not None and float(model.cost @ start) == pytest.approx(305_923.84)
    solution = Solver(model, SolveOptions(time_limit_s=30, mip_gap=1e-9)).solve(start=start)
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(176_490.24)
    assert float(model.cost @ solution.x) == pytest.approx(176_490.24)
    p = api.plan(site, strategy="plain", mip_gap=1e-9, marginal_values=False, time_limit_s=30)
    assert (p.status, p.summary["objective"], p.summary["racks"]) == ("optimal", 176_490.24, 3)
    assert not verify(site, p.placements)
