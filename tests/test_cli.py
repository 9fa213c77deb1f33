"""The `rackfit` command line as a user types it (click's CliRunner): every command, every
exit code of the contract (../shared/spec/site-format.md, "The command line"), and what a plan
folder holds ("A plan on disk").

Most tests use data/small, whose optimum (440 GPUs in 11 racks) is worked out by hand in
data/small/README.md. The two tests on data/colossus are marked slow.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

import click
import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import Result
from clirun import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_NO_PLAN,
    EXIT_VIOLATIONS,
    error_lines,
    listing,
    rackfit,
)
from PIL import Image

from optimizer import api
from optimizer.baseline import first_fit
from optimizer.cli import main
from optimizer.export import read_plan_placements
from optimizer.loaders import load_site
from optimizer.verify import verify

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SMALL = DATA / "small"
BUNDLED = ["small", "block-redundant", "colossus"]
TABLES = ["placements", "clusters", "power", "cooling", "pods", "rows", "grid", "stranded"]


# -- helpers -----------------------------------------------------------------------------------
def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit | None)


def copy_site(tmp_path: Path, name: str = "small") -> Path:
    site = tmp_path / f"site-{name}"
    shutil.copytree(DATA / name, site)
    return site


def edit_csv(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def read_summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def sheet_rows(book: Path, sheet: str) -> list[tuple]:
    """Every row of one sheet of a workbook, as values."""
    workbook = openpyxl.load_workbook(book, read_only=True)
    try:
        return list(workbook[sheet].values)
    finally:
        workbook.close()


def workbook_summary(book: Path) -> dict:
    """The key,value rows at the top of a plan workbook's Summary sheet."""
    summary = {}
    for key, value, *_ in sheet_rows(book, "Summary"):
        if key is None:
            break
        summary[key] = value
    return summary


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`rackfit plan data/small --out DIR`, run once for the tests that only read DIR."""
    out = tmp_path_factory.mktemp("small-plan") / "plan"
    rackfit("plan", SMALL, "--out", out)
    return out


@pytest.fixture(scope="module")
def small_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small-workbook") / "plan.xlsx"
    rackfit("plan", SMALL, "--out", out, "--quiet")
    return out


# ==============================================================================================
# validate
# ==============================================================================================
@pytest.mark.parametrize("name", BUNDLED)
def test_validate_accepts_every_bundled_site(name):
    result = rackfit("validate", DATA / name)
    assert "valid" in result.stdout
    assert error_lines(result) == []


def test_validate_names_file_row_and_column_of_every_error_without_a_traceback(tmp_path):
    site = copy_site(tmp_path)
    edit_csv(site / "rows.csv", "L,L2,4,", "L,L2,four,")  # spreadsheet row 3
    edit_csv(site / "power.csv", "PDU-AB,UPS-B,", "PDU-AB,UPS-X,")  # spreadsheet row 9
    result = rackfit("validate", site, code=EXIT_INPUT)
    errors = error_lines(result)
    assert len(errors) == 2, result.stderr
    assert any("rows.csv" in e and "row 3" in e and "column positions" in e for e in errors)
    assert any("power.csv" in e and "row 9" in e and "column parent" in e for e in errors)
    assert all(line.startswith(("error:", "warning:")) for line in result.stderr.splitlines())
    assert_no_traceback(result)


def test_validate_names_the_sheet_of_a_broken_workbook_site(tmp_path):
    book = tmp_path / "site.xlsx"
    rackfit("convert", SMALL, book)
    workbook = openpyxl.load_workbook(book)
    sheet = workbook["pods"]
    assert sheet.cell(1, 2).value == "ports"
    sheet.cell(2, 2).value = "many"
    workbook.save(book)
    result = rackfit("validate", book, code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "site.xlsx" in error and "pods" in error and "row 2" in error and "column ports" in error
    assert_no_traceback(result)


def test_validate_prints_warnings_and_still_exits_0(tmp_path):
    site = copy_site(tmp_path)
    with (site / "pods.csv").open("a") as f:
        f.write("POD-X,10\n")
    result = rackfit("validate", site)
    assert any(
        line.startswith("warning:") and "POD-X" in line for line in result.stderr.splitlines()
    )


def test_validate_of_a_missing_site_exits_2(tmp_path):
    result = rackfit("validate", tmp_path / "nowhere", code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "nowhere" in error
    assert_no_traceback(result)


# ==============================================================================================
# plan
# ==============================================================================================
def test_plan_writes_a_folder_with_the_optimum_of_small(small_plan):
    assert listing(small_plan) == sorted(
        [f"{t}.csv" for t in TABLES]
        + ["summary.json", "plan.xlsx", "floor-L.png", "floor-A.png", "utilization.png"]
    )
    summary = read_summary(small_plan)
    assert (summary["status"], summary["gpus"], summary["racks"]) == ("optimal", 440, 11)


def test_plan_prints_stages_and_a_summary(tmp_path):
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan.xlsx")
    for stage in ("load", "build", "verify", "write"):
        assert any(line.split()[:1] == [stage] for line in result.stderr.splitlines()), stage
    assert "440 GPUs in 11 racks" in result.stdout
    for cluster in ("train", "infer", "storage"):
        assert cluster in result.stdout
    assert "written to" in result.stdout


def test_plan_to_a_workbook_writes_only_the_workbook(small_workbook):
    assert listing(small_workbook.parent) == ["plan.xlsx"]
    workbook = openpyxl.load_workbook(small_workbook, read_only=True)
    sheets = workbook.sheetnames
    workbook.close()
    assert sheets[0] == "Summary"
    assert set(TABLES) <= set(sheets)
    summary = workbook_summary(small_workbook)
    assert (summary["status"], summary["gpus"], summary["racks"]) == ("optimal", 440, 11)


def test_plan_default_out_is_a_plan_folder_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rackfit("plan", SMALL, "--quiet")
    assert read_summary(tmp_path / "plan")["gpus"] == 440


def test_plan_objective_cost_meets_the_minimums_at_least_cost(tmp_path):
    book = tmp_path / "plan.xlsx"
    rackfit("plan", SMALL, "--objective", "cost", "--out", book, "--quiet")
    summary = workbook_summary(book)
    assert summary["objective_name"] == "cost"
    assert summary["status"] == "optimal"
    # The only minimum is the one storage rack: the cheapest plan places just that.
    placements = read_plan_placements(book)
    assert placements["cluster"].tolist() == ["storage"]
    assert summary["gpus"] == 0 and summary["racks"] == 1
    assert summary["objective"] > 0


@pytest.mark.parametrize(
    "options",
    [
        ["--time-limit", "30"],
        ["--mip-gap", "0"],
        ["--mip-gap", "0.5"],
        ["--threads", "1"],
        ["--strategy", "plain"],
        ["--verbose"],
    ],
    ids=lambda o: " ".join(o),
)
def test_plan_options_are_accepted_and_keep_a_verified_plan(
    tmp_path, options, fresh_highs_scheduler
):
    out = tmp_path / "plan.xlsx"
    rackfit("plan", SMALL, "--out", out, *options)
    summary = workbook_summary(out)
    assert summary["status"] == "optimal"
    if "0.5" not in options:
        assert summary["gpus"] == 440
    assert verify(load_site(SMALL), read_plan_placements(out)) == []


def test_plan_grid_mw_replaces_the_grid_limit(tmp_path):
    # 0.8 MW: 1.3 D + 50 <= 800 gives D <= 576.9 kW; the best is 368 GPUs (see the sweep).
    rackfit("plan", SMALL, "--grid-mw", "0.8", "--out", tmp_path / "plan.xlsx", "--quiet")
    summary = workbook_summary(tmp_path / "plan.xlsx")
    assert summary["grid_limit_kw"] == 800.0
    assert summary["gpus"] == 368


def test_plan_quiet_prints_nothing_on_success(tmp_path):
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan.xlsx", "--quiet")
    assert result.stdout == ""
    assert result.stderr == ""


def test_plan_quiet_still_prints_warnings(tmp_path):
    site = copy_site(tmp_path)
    with (site / "pods.csv").open("a") as f:
        f.write("POD-X,10\n")
    result = rackfit("plan", site, "--out", tmp_path / "plan.xlsx", "--quiet")
    assert any(
        line.startswith("warning:") and "POD-X" in line for line in result.stderr.splitlines()
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "words"),
    [
        # 8 DGX H100 need 326.4 kW through PDU-AA after PDU-AB fails; it allows 400 x 0.8.
        ("demand.csv", "infer,nvidia-dgx-h100,0,", "infer,nvidia-dgx-h100,8,", ["PDU-A", "320"]),
        # 5 GB200 need 561 kW of liquid cooling in hall L; it has 2 x 250.
        ("demand.csv", "train,nvidia-gb200-nvl72,0,", "train,nvidia-gb200-nvl72,5,", ["500"]),
    ],
    ids=["power-n-1", "liquid-cooling"],
)
def test_plan_of_an_infeasible_site_exits_3_naming_the_limit(tmp_path, file, old, new, words):
    site = copy_site(tmp_path)
    edit_csv(site / file, old, new)
    result = rackfit("plan", site, "--out", tmp_path / "plan", code=EXIT_INFEASIBLE)
    (error,) = error_lines(result)
    assert "infeasible" in error
    for word in words:
        assert word in error
    assert not (tmp_path / "plan").exists()
    assert_no_traceback(result)


def test_plan_infeasible_grid_names_the_grid(tmp_path):
    result = rackfit(
        "plan", SMALL, "--grid-mw", "0.05", "--out", tmp_path / "plan", code=EXIT_INFEASIBLE
    )
    (error,) = error_lines(result)
    assert "grid" in error and "storage" in error
    assert not (tmp_path / "plan").exists()


def _solver_returns(monkeypatch: pytest.MonkeyPatch, status: str, keep_plan: bool) -> None:
    """Make the solve (whatever the strategy) end as `status`: with its plan or with none."""
    original = api._solve

    def solve(*args, **kwargs):
        solution, bound_source, log = original(*args, **kwargs)
        solution.status = status
        if keep_plan:
            solution.mip_gap = 0.0123
        else:
            solution.x = solution.objective = solution.mip_gap = None
        return solution, bound_source, log

    monkeypatch.setattr(api, "_solve", solve)


def test_plan_time_limit_without_a_plan_exits_4_and_writes_nothing(tmp_path, monkeypatch):
    _solver_returns(monkeypatch, "time_limit", keep_plan=False)
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan", code=EXIT_NO_PLAN)
    (error,) = error_lines(result)
    assert "time limit" in error
    assert listing(tmp_path) == []
    assert_no_traceback(result)


def test_plan_when_highs_runs_out_of_memory_exits_4_with_advice_not_an_internal_error(
    tmp_path, monkeypatch
):
    _solver_returns(monkeypatch, "memory_limit", keep_plan=False)
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan", code=EXIT_NO_PLAN)
    (error,) = error_lines(result)
    assert "out of memory" in error and "--threads" in error
    assert "internal error" not in error
    assert listing(tmp_path) == []
    assert_no_traceback(result)


def test_plan_time_limit_with_a_plan_exits_0_with_a_warning(tmp_path, monkeypatch):
    _solver_returns(monkeypatch, "time_limit", keep_plan=True)
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan.xlsx")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("time limit" in w and "1.230%" in w for w in warnings), result.stderr
    summary = workbook_summary(tmp_path / "plan.xlsx")
    assert summary["status"] == "time_limit"
    assert summary["mip_gap"] == 0.0123
    assert verify(load_site(SMALL), read_plan_placements(tmp_path / "plan.xlsx")) == []


@pytest.mark.slow
def test_plan_colossus_with_a_tiny_time_limit_and_no_start_exits_4(tmp_path, monkeypatch):
    """A real HiGHS run that ends at the time limit without a plan: first fit is made to
    miss the minimums (so there is no start), and HiGHS alone (--strategy plain) finds no
    plan for colossus in 0.1 s."""
    monkeypatch.setattr(api.baseline, "first_fit", lambda site, **_: first_fit(site)[:0])
    result = rackfit(
        "plan", DATA / "colossus", "--strategy", "plain", "--time-limit", "0.1",
        "--out", tmp_path / "plan", code=EXIT_NO_PLAN,
    )  # fmt: skip
    (error,) = error_lines(result)
    assert "time limit" in error
    assert listing(tmp_path) == []


@pytest.mark.slow
def test_plan_colossus_stopped_by_the_time_limit_exits_0_with_a_verified_plan(tmp_path):
    out = tmp_path / "colossus.xlsx"
    result = rackfit("plan", DATA / "colossus", "--time-limit", "3", "--out", out)
    assert any(
        line.startswith("warning:") and "time limit" in line for line in result.stderr.splitlines()
    ), result.stderr
    summary = workbook_summary(out)
    assert summary["status"] == "time_limit"
    assert summary["mip_gap"] > 0
    assert summary["bound"] >= summary["objective"]
    assert verify(load_site(DATA / "colossus"), read_plan_placements(out)) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--grid-mw", "-1"],
        ["--grid-mw", "inf"],
        ["--objective", "speed"],
        ["--threads", "0"],
        ["--time-limit", "0"],
        ["--mip-gap", "2"],
        ["--strategy", "magic"],
        ["--no-such-option"],
    ],
    ids=lambda a: " ".join(a),
)
def test_plan_bad_usage_exits_2_and_writes_nothing(tmp_path, args):
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan", *args, code=EXIT_INPUT)
    assert args[0] in result.stderr
    assert listing(tmp_path) == []
    assert "Traceback" not in result.output


def test_plan_bad_usage_prints_one_error_line(tmp_path):
    result = rackfit("plan", SMALL, "--grid-mw", "-1", code=EXIT_INPUT)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--grid-mw" in lines[0]


def test_plan_of_a_missing_site_exits_2(tmp_path):
    result = rackfit("plan", tmp_path / "nowhere", "--out", tmp_path / "plan", code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "nowhere" in error
    assert listing(tmp_path) == []
    assert_no_traceback(result)


def test_plan_of_a_broken_site_exits_2_naming_file_row_and_column(tmp_path):
    site = copy_site(tmp_path)
    edit_csv(site / "cooling.csv", "A,air,4,120,1", "A,air,4,-120,1")  # spreadsheet row 4
    result = rackfit("plan", site, "--out", tmp_path / "plan", code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "cooling.csv" in error and "row 4" in error and "column unit_kw" in error
    assert not (tmp_path / "plan").exists()


def test_plan_refuses_to_replace_a_folder_that_is_not_a_plan(tmp_path):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = rackfit("plan", SMALL, "--out", out, code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "documents" in error
    assert listing(out) == ["notes.txt"]
    assert listing(tmp_path) == ["documents"]


def test_plan_first_fit_baseline_is_a_feasible_plan(small_plan):
    # Every value in data/small is 1, so an optimal plan places at least as many GPUs as any
    # feasible plan; a baseline above the optimum (448, with no storage rack, was reported
    # once) is not a plan the site allows.
    summary = read_summary(small_plan)
    if summary["baseline_gpus"] is not None:
        assert summary["baseline_gpus"] <= summary["gpus"]
        assert summary["gain_over_baseline_gpus"] >= 0


# ==============================================================================================
# A plan on disk
# ==============================================================================================
def test_summary_json_holds_the_contract_keys(small_plan):
    summary = read_summary(small_plan)
    for key in ("status", "objective", "gpus", "racks", "mip_gap", "bound", "bound_source"):
        assert key in summary, key
    assert summary["status"] == "optimal"
    assert summary["objective"] == pytest.approx(440.0)
    assert 0 <= summary["mip_gap"] <= 1e-4
    assert summary["bound"] >= summary["objective"] - 1e-6
    assert summary["bound"] <= summary["objective"] * (1 + 1e-4) + 1e-6
    assert isinstance(summary["bound_source"], str) and summary["bound_source"]
    assert isinstance(summary["timings_s"], dict)


def test_placements_csv_re_verifies_and_uses_each_position_once(small_plan):
    placements = pd.read_csv(small_plan / "placements.csv")
    assert placements.columns.tolist() == ["hall", "row", "position", "cluster", "model"]
    assert not placements.duplicated(["hall", "row"] + ["position"]).any()
    assert (placements["position"] >= 1).all()
    site = load_site(SMALL)
    assert verify(site, read_plan_placements(small_plan / "placements.csv")) == []
    assert placements.groupby("cluster").size().to_dict() == {
        "train": 3,
        "infer": 7,
        "storage": 1,
    }


def test_utilization_tables_cover_every_limit(small_plan):
    site = load_site(SMALL)
    power = pd.read_csv(small_plan / "power.csv", keep_default_na=False)
    assert sorted(power["device"]) == sorted(d.device for d in site.devices)
    for column in ("normal_kw", "worst_kw", "worst_failure", "marginal_value"):
        assert column in power.columns
    pdu_aa = power.set_index("device").loc["PDU-AA"]
    assert float(pdu_aa["worst_kw"]) == pytest.approx(300.6)  # all of hall A (README, step 7)
    assert float(pdu_aa["limit_kw"]) == pytest.approx(320.0)
    cooling = pd.read_csv(small_plan / "cooling.csv")
    assert len(cooling) == len(site.cooling)
    pods = pd.read_csv(small_plan / "pods.csv")
    assert sorted(pods["pod"]) == ["POD-A", "POD-L"]
    grid = pd.read_csv(small_plan / "grid.csv")
    assert grid["total_kw"].item() == pytest.approx(1.3 * 696.6 + 50)


def _same_cell(value: object, text: str) -> bool:
    """A workbook cell holds what pandas wrote to the CSV (a whole float may come back as an
    int: 1.0 is stored as 1)."""
    if value is None:
        return text == ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value) == text
    return text != "" and float(text) == float(value)


def test_workbook_sheets_equal_the_csvs(small_plan):
    for table in TABLES:
        csv = pd.read_csv(small_plan / f"{table}.csv", dtype=str, keep_default_na=False)
        rows = sheet_rows(small_plan / "plan.xlsx", table)
        assert list(rows[0]) == csv.columns.tolist(), table
        assert len(rows) - 1 == len(csv), table
        for i, (row, texts) in enumerate(zip(rows[1:], csv.values.tolist(), strict=True)):
            for column, value, text in zip(csv.columns, row, texts, strict=True):
                assert _same_cell(value, text), (table, i + 2, column, value, text)


def test_pictures_open_with_the_expected_size(small_plan):
    # 12 in x 100 dpi wide. A floor plan is 1.6 + 0.28 in per row, at least 3 in, high; the
    # utilization picture 1.25 in + 0.65 in and 0.2 in per bar for each of its four sections
    # (8 power devices, 3 cooling lines, 2 pods, the grid).
    expected = {
        "floor-L.png": (1200, 300),
        "floor-A.png": (1200, 300),
        "utilization.png": (1200, round(100 * (1.25 + 4 * 0.65 + 0.2 * (8 + 3 + 2 + 1)))),
    }
    for name, size in expected.items():
        with Image.open(small_plan / name) as image:
            image.verify()
        with Image.open(small_plan / name) as image:
            assert image.format == "PNG"
            assert image.size == size, name


# ==============================================================================================
# check
# ==============================================================================================
def test_check_passes_the_plan_folder_the_tool_wrote(small_plan):
    result = rackfit("check", SMALL, small_plan)
    assert "OK" in result.stdout and "440 GPUs" in result.stdout


@pytest.mark.parametrize("name", ["plan.xlsx", "placements.csv"])
def test_check_passes_the_workbook_and_csv_inside_the_plan(small_plan, name):
    rackfit("check", SMALL, small_plan / name)


def test_check_passes_a_plan_workbook(small_workbook):
    rackfit("check", SMALL, small_workbook)


def _edited_placements(small_plan: Path, tmp_path: Path, *lines: str) -> Path:
    edited = tmp_path / "edited.csv"
    text = (small_plan / "placements.csv").read_text()
    edited.write_text(text + "".join(f"{line}\n" for line in lines))
    return edited


def _free_position(small_plan: Path, hall: str, row: str) -> int:
    placements = pd.read_csv(small_plan / "placements.csv")
    used = set(placements[(placements["hall"] == hall) & (placements["row"] == row)]["position"])
    return min(set(range(1, 7)) - used)


def test_check_flags_a_pdu_overloaded_after_a_failure(small_plan, tmp_path):
    # An 8th DGX H100 in hall A: when PDU-AB (or anything above it on the B side) fails,
    # PDU-AA carries all of hall A, 341.4 kW > 400 x 0.8 = 320 kW.
    pos = _free_position(small_plan, "A", "A2")
    edited = _edited_placements(small_plan, tmp_path, f"A,A2,{pos},infer,nvidia-dgx-h100")
    result = rackfit("check", SMALL, edited, code=EXIT_VIOLATIONS)
    lines = [line for line in result.stdout.splitlines() if "PDU-AA" in line]
    assert len(lines) == 1, result.stdout
    (line,) = lines
    assert "341.4" in line and "320.0" in line and "fails" in line
    assert any(f"{device} fails" in line for device in ("PDU-AB", "UPS-B", "TX-B")), line
    assert "violation" in result.stderr
    (violation,) = [v for v in verify(load_site(SMALL), read_plan_placements(edited))
                    if v.where == "PDU-AA"]  # fmt: skip
    assert violation.rule == "power"
    assert violation.load == pytest.approx(341.4) and violation.limit == pytest.approx(320.0)
    assert violation.failure in ("PDU-AB", "UPS-B", "TX-B")


def test_check_flags_a_ups_overloaded_after_a_failure(small_plan, tmp_path):
    # A 4th GB200 in hall L: D = 696.6 + 132 = 828.6 kW; when the B side fails UPS-A carries
    # all of it, more than its 800 kW. The grid (1.3 D + 50 > 1,010) is over as well.
    placements = pd.read_csv(small_plan / "placements.csv")
    used = set(placements[placements["row"] == "L2"]["position"])
    pos = min(set(range(1, 5)) - used)
    edited = _edited_placements(small_plan, tmp_path, f"L,L2,{pos},train,nvidia-gb200-nvl72")
    result = rackfit("check", SMALL, edited, code=EXIT_VIOLATIONS)
    ups = [line for line in result.stdout.splitlines() if "UPS-A" in line]
    assert len(ups) == 1, result.stdout
    assert "828.6" in ups[0] and "800.0" in ups[0]
    assert any(f"{device} fails" in ups[0] for device in ("UPS-B", "TX-B")), ups[0]
    assert any("grid" in line for line in result.stdout.splitlines())


def test_check_flags_a_hand_edited_workbook(small_plan, tmp_path):
    book = tmp_path / "edited.xlsx"
    shutil.copy(small_plan / "plan.xlsx", book)
    workbook = openpyxl.load_workbook(book)
    pos = _free_position(small_plan, "A", "A2")
    workbook["placements"].append(["A", "A2", pos, "infer", "nvidia-dgx-h100"])
    workbook.save(book)
    result = rackfit("check", SMALL, book, code=EXIT_VIOLATIONS)
    assert "PDU-AA" in result.stdout


def test_check_flags_a_position_used_twice_and_a_row_that_does_not_exist(small_plan, tmp_path):
    edited = _edited_placements(
        small_plan, tmp_path, "A,A3,1,infer,nvidia-dgx-h100", "A,A9,1,storage,storage-flash"
    )
    result = rackfit("check", SMALL, edited, code=EXIT_VIOLATIONS)
    assert "A3" in result.stdout and "A9" in result.stdout


def test_check_of_an_unreadable_placements_file_exits_2_naming_row_and_column(small_plan, tmp_path):
    edited = _edited_placements(small_plan, tmp_path, "A,A2,second,infer,nvidia-dgx-h100")
    result = rackfit("check", SMALL, edited, code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "edited.csv" in error and "row 13" in error and "column position" in error
    assert_no_traceback(result)


def test_check_of_a_missing_plan_exits_2(tmp_path):
    result = rackfit("check", SMALL, tmp_path / "nothing", code=EXIT_INPUT)
    assert error_lines(result)


# ==============================================================================================
# models
# ==============================================================================================
def library_ids() -> list[str]:
    ids = [yaml.safe_load(p.read_text())["model"] for p in sorted((REPO / "models").glob("*.yaml"))]
    assert len(ids) >= 10
    return ids


def test_models_table_lists_every_model_of_the_library():
    result = rackfit("models")
    words = set(result.stdout.split())
    for model_id in library_ids():
        assert model_id in words
    assert "design_kw" in result.stdout


def test_models_csv_lists_every_model_with_its_numbers(tmp_path):
    path = tmp_path / "models.csv"
    path.write_text(rackfit("models", "--format", "csv").stdout)
    table = pd.read_csv(path)
    assert sorted(table["model"]) == sorted(library_ids())
    h100 = table.set_index("model").loc["nvidia-dgx-h100"]
    assert (h100["gpus"], h100["design_kw"]) == (32, 40.8)


def test_models_json_lists_every_model():
    records = json.loads(rackfit("models", "--format", "json").stdout)
    assert sorted(r["model"] for r in records) == sorted(library_ids())
    assert "sources" not in records[0]


def test_models_sources_adds_where_the_numbers_come_from():
    records = json.loads(rackfit("models", "--format", "json", "--sources").stdout)
    assert all(r["sources"] for r in records)


def test_models_bad_format_exits_2():
    rackfit("models", "--format", "yaml", code=EXIT_INPUT)


# ==============================================================================================
# init
# ==============================================================================================
def test_init_then_validate_then_plan(tmp_path):
    site = tmp_path / "my-site"
    result = rackfit("init", site)
    assert "validate" in result.stdout
    assert (site / "site.yaml").read_text().lstrip().startswith("#")  # commented
    rackfit("validate", site)
    rackfit("plan", site, "--out", tmp_path / "plan.xlsx", "--quiet")
    summary = workbook_summary(tmp_path / "plan.xlsx")
    assert summary["status"] == "optimal" and summary["gpus"] > 0
    assert verify(load_site(site), read_plan_placements(tmp_path / "plan.xlsx")) == []


def test_init_into_an_existing_empty_folder(tmp_path):
    site = tmp_path / "empty"
    site.mkdir()
    rackfit("init", site)
    assert (site / "site.yaml").exists()
    assert listing(tmp_path) == ["empty"]


def test_init_creates_missing_parent_folders(tmp_path):
    rackfit("init", tmp_path / "a" / "b" / "site")
    rackfit("validate", tmp_path / "a" / "b" / "site")


def test_init_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path):
    site = tmp_path / "busy"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    result = rackfit("init", site, code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "busy" in error
    assert listing(site) == ["notes.txt"]
    assert listing(tmp_path) == ["busy"]


def test_init_refuses_an_existing_file(tmp_path):
    path = tmp_path / "site"
    path.write_text("a file")
    rackfit("init", path, code=EXIT_INPUT)
    assert path.read_text() == "a file"


# ==============================================================================================
# convert
# ==============================================================================================
@pytest.mark.parametrize("name", ["small", "block-redundant"])
def test_convert_folder_to_workbook_and_back_gives_an_equal_site(tmp_path, name):
    book = tmp_path / f"{name}.xlsx"
    folder = tmp_path / name
    assert "workbook" in rackfit("convert", DATA / name, book).stdout
    assert "folder" in rackfit("convert", book, folder).stdout
    original = load_site(DATA / name)
    assert load_site(book) == original
    assert load_site(folder) == original
    rackfit("validate", folder)


def test_convert_starter_site_round_trips(tmp_path):
    rackfit("init", tmp_path / "start")
    rackfit("convert", tmp_path / "start", tmp_path / "start.xlsx")
    rackfit("convert", tmp_path / "start.xlsx", tmp_path / "again")
    assert load_site(tmp_path / "again") == load_site(tmp_path / "start")


def test_convert_keeps_the_name_of_a_site_without_a_name_key(tmp_path):
    site = copy_site(tmp_path)
    edit_csv(site / "site.yaml", "name: small\n", "")
    book = tmp_path / "converted.xlsx"
    rackfit("convert", site, book)
    assert load_site(book) == load_site(site)


def test_convert_refuses_to_overwrite_an_existing_file(tmp_path):
    book = tmp_path / "small.xlsx"
    book.write_text("not mine to overwrite")
    result = rackfit("convert", SMALL, book, code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "small.xlsx" in error
    assert book.read_text() == "not mine to overwrite"


def test_convert_of_an_unreadable_site_exits_2_and_writes_nothing(tmp_path):
    site = copy_site(tmp_path)
    (site / "pods.csv").write_bytes(b"\x00\xff\xfe garbage \x89PNG")
    result = rackfit("convert", site, tmp_path / "site.xlsx", code=EXIT_INPUT)
    assert any("pods.csv" in e for e in error_lines(result)), result.stderr
    result = rackfit("convert", tmp_path / "nowhere", tmp_path / "nowhere.xlsx", code=EXIT_INPUT)
    assert "nowhere" in error_lines(result)[0]
    assert listing(tmp_path) == ["site-small"]
    assert_no_traceback(result)


# ==============================================================================================
# --help and --version
# ==============================================================================================
COMMANDS = ["validate", "plan", "check", "models", "init", "convert", "sweep", "batch"]


def test_main_help_lists_every_command():
    result = rackfit("--help")
    for command in COMMANDS:
        assert command in result.stdout
    assert "--version" in result.stdout and "--debug" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_mentions_each_of_its_options(command):
    result = rackfit(command, "--help")
    assert result.stdout.startswith("Usage:")
    params = main.commands[command].params
    for param in params:
        if isinstance(param, click.Option):
            assert any(opt in result.stdout for opt in param.opts), (command, param.opts)
        else:
            assert param.human_readable_name.upper() in result.stdout, (command, param.name)


def test_plan_help_mentions_the_options_of_the_contract():
    text = rackfit("plan", "--help").stdout
    for option in ("--out", "--objective", "--time-limit", "--mip-gap", "--threads", "--grid-mw",
                   "--quiet", "--verbose", "--strategy"):  # fmt: skip
        assert option in text


def test_version():
    result = rackfit("--version")
    assert importlib.metadata.version("rackfit") in result.stdout
    assert "rackfit" in result.stdout


def test_unknown_command_exits_2():
    rackfit("optimise", SMALL, code=EXIT_INPUT)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["auto", "auto-cut"])
def test_plan_colossus_is_proven_within_the_gap_by_either_use_of_the_bound(
    tmp_path, strategy, fresh_highs_scheduler
):
    """data/colossus: plain HiGHS needs minutes to prove 115,872 (docs/performance.md); the
    strategy proves it within 1e-4 in seconds, whether the surrogate bound stops HiGHS (auto)
    or is added as the row objective <= bound (auto-cut). The optimum is 115,872 (proven by
    plain HiGHS on one thread in 396 s, docs/strategy.md), so a plan within 1e-4 of the bound
    is that value."""
    out = tmp_path / "plan"
    rackfit("plan", DATA / "colossus", "--strategy", strategy, "--out", out, "--quiet")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["strategy"] == strategy
    assert summary["objective"] == 115_872
    assert summary["mip_gap"] <= 1e-4
    assert summary["bound"] >= 115_872
    assert summary["bound_source"] in ("surrogate", "highs", "highs+surrogate-cut")
    assert verify(load_site(DATA / "colossus"), pd.read_csv(out / "placements.csv")) == []
    # First fit (minimums first; GB200 in the first hall that takes all 24) places more GPUs
    # but fewer GB200s, which count 2.5x: 110,272 value-weighted GPUs, 5,600 fewer.
    assert summary["baseline_gpus"] == 107_680 and summary["baseline_objective"] == 110_272
    assert summary["gain_over_baseline_objective"] == 5_600
