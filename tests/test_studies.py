"""Studies (issue 6): `rackfit sweep` (GPUs against grid MW) and `rackfit batch` (scenario
tables, locally or on a Dask cluster), through click's CliRunner and the notebook API.

The hand site tests/fixtures/hand-sweep (one hall, 12 positions, an overhead.csv) is small
enough that every point is also solved on its own with `optimizer.api.plan` and compared.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import highspy
import openpyxl
import pandas as pd
import pytest
from click.testing import Result
from clirun import EXIT_INPUT, error_lines, listing, rackfit
from PIL import Image

from optimizer.api import plan
from optimizer.errors import InfeasibleError, UsageError
from optimizer.loaders import load_site
from optimizer.sweeps import SWEEP_COLUMNS, parse_range, sweep

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "data" / "small"
HAND = Path(__file__).resolve().parent / "fixtures" / "hand-sweep"


def single_solve(site, **options) -> tuple[str, float | None, float | None]:
    """(status, gpus, objective) of one independent solve; infeasible as in a sweep row."""
    try:
        p = plan(site, marginal_values=False, **options)
    except InfeasibleError:
        return "infeasible", None, None
    return p.status, p.summary["gpus"], p.summary["objective"]


def same_number(a: object, b: object, rel: float = 1e-6) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-6)


# ==============================================================================================
# parse_range
# ==============================================================================================
@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("150:300:50", [150, 200, 250, 300]),
        ("0.4:1.2:0.2", [0.4, 0.6, 0.8, 1.0, 1.2]),
        ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
        ("150:300:40", [150, 190, 230, 270, 300]),  # the end is always included
        ("150:150:10", [150]),
        ("200", [200]),
        ("150,200,300", [150, 200, 300]),
    ],
)
def test_parse_range_includes_both_ends(text, values):
    assert parse_range(text, "--grid-mw") == pytest.approx(values)


@pytest.mark.parametrize("text", ["300:150:50", "150:300:0", "150:300:-5", "1:2", "a:b:c", "",
                                  "1:2:3:4", "0:1000:0.5"])  # fmt: skip
def test_parse_range_rejects_what_is_not_a_range(text):
    with pytest.raises(UsageError, match="--grid-mw"):
        parse_range(text, "--grid-mw")


# ==============================================================================================
# rackfit sweep
# ==============================================================================================
@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    result = rackfit("sweep", SMALL, "--grid-mw", "0.4:1.2:0.2", "--out", out)
    return out, result


def test_sweep_writes_csv_png_and_xlsx(small_sweep):
    out, result = small_sweep
    assert listing(out) == ["sweep.csv", "sweep.png", "sweep.xlsx"]
    assert "written to" in result.stdout
    with Image.open(out / "sweep.png") as image:
        assert image.format == "PNG" and image.size == (1000, 600)


def test_sweep_csv_has_one_row_per_point_with_the_study_columns(small_sweep):
    out, _ = small_sweep
    frame = pd.read_csv(out / "sweep.csv")
    for column in ("grid_mw", "status", "objective", "gpus", "racks", "mip_gap", "binding",
                   "marginal_value_per_mw"):  # fmt: skip
        assert column in frame.columns
    assert frame["grid_mw"].tolist() == pytest.approx([0.4, 0.6, 0.8, 1.0, 1.2])
    assert (frame["status"] == "optimal").all()
    # 1.0 MW is just under the site's own 1,010 kW: the hand-worked optimum, 440 GPUs.
    assert frame["gpus"].tolist() == [192, 264, 368, 440, 480]
    assert frame["gpus"].is_monotonic_increasing


def test_sweep_workbook_equals_the_csv(small_sweep):
    out, _ = small_sweep
    frame = pd.read_csv(out / "sweep.csv", keep_default_na=False, dtype=str)
    workbook = openpyxl.load_workbook(out / "sweep.xlsx", read_only=True)
    rows = list(workbook["sweep"].values)
    workbook.close()
    assert list(rows[0]) == frame.columns.tolist()
    assert len(rows) - 1 == len(frame)
    for row, texts in zip(rows[1:], frame.values.tolist(), strict=True):
        for column, value, text in zip(frame.columns, row, texts, strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert same_number(value, float(text), rel=1e-5), (column, value, text)
            else:
                assert (value or "") == text, (column, value, text)


def test_sweep_cli_matches_single_solves_of_the_cli(small_sweep):
    out, _ = small_sweep
    frame = pd.read_csv(out / "sweep.csv")
    site = load_site(SMALL)
    for grid_mw, gpus in zip(frame["grid_mw"], frame["gpus"], strict=True):
        assert single_solve(site, grid_mw=grid_mw)[1] == gpus, grid_mw


@pytest.mark.parametrize("objective", ["gpus", "cost"])
def test_sweep_of_a_hand_site_matches_independent_single_solves(objective):
    site = load_site(HAND)
    grid = parse_range("0.1:1.0:0.1", "--grid-mw")
    frame = sweep(site, grid_mw=grid, objective=objective)
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.tolist() == SWEEP_COLUMNS
    assert frame["grid_mw"].tolist() == pytest.approx(grid)
    statuses = []
    for _, point in frame.iterrows():
        status, gpus, objective_value = single_solve(site, grid_mw=point["grid_mw"],
                                                     objective=objective)  # fmt: skip
        statuses.append(status)
        assert point["status"] == status, point["grid_mw"]
        assert same_number(point["gpus"], gpus), (point["grid_mw"], point["gpus"], gpus)
        assert same_number(point["objective"], objective_value), point["grid_mw"]
    # 0.1 MW cannot power the two DGX H100 of `infer`'s min_racks; 0.2 MW can.
    assert statuses[0] == "infeasible" and statuses[1] == "optimal"


def test_sweep_gpu_curve_never_goes_down_as_mw_grows():
    frame = sweep(HAND, grid_mw=parse_range("0.1:1.5:0.05", "--grid-mw"))
    feasible = frame[frame["status"] != "infeasible"]
    assert len(feasible) >= 25
    # Once feasible, always feasible, and the GPUs never go down.
    assert feasible.index.tolist() == list(range(feasible.index[0], len(frame)))
    assert feasible["gpus"].is_monotonic_increasing
    assert feasible["gpus"].iloc[-1] > feasible["gpus"].iloc[0]
    # Past some MW the grid stops binding and the curve is flat.
    assert feasible["gpus"].iloc[-1] == feasible["gpus"].iloc[-2]


def test_sweep_points_come_in_increasing_mw_whatever_order_is_given():
    frame = sweep(HAND, grid_mw=[0.6, 0.2, 0.4])
    assert frame["grid_mw"].tolist() == [0.2, 0.4, 0.6]
    assert frame["gpus"].is_monotonic_increasing


def test_sweep_onsite_mw_adds_to_the_grid():
    site = load_site(HAND)
    frame = sweep(site, grid_mw=[0.3], onsite_mw=[0.0, 0.1, 0.2])
    assert frame["supply_mw"].tolist() == pytest.approx([0.3, 0.4, 0.5])
    for _, point in frame.iterrows():
        with_onsite = site.with_updates(onsite_firm_kw=point["onsite_mw"] * 1000)
        assert point["gpus"] == single_solve(with_onsite, grid_mw=0.3)[1]
        assert point["gpus"] == single_solve(site, grid_mw=point["supply_mw"])[1]


def test_sweep_design_temperature_changes_the_overhead():
    site = load_site(HAND)
    frame = sweep(site, grid_mw=[0.5], design_temp_c=[40, 20, 30])
    assert frame["design_temp_c"].tolist() == [20, 30, 40]
    for _, point in frame.iterrows():
        hotter = site.with_updates(design_temp_c=point["design_temp_c"])
        assert point["gpus"] == single_solve(hotter, grid_mw=0.5)[1]
    # A hotter design day costs more overhead: fewer GPUs on the same grid.
    assert frame["gpus"].is_monotonic_decreasing and frame["gpus"].iloc[0] > frame["gpus"].iloc[-1]


def test_sweep_cli_design_temperature_and_onsite_ranges(tmp_path):
    out = tmp_path / "sweep"
    rackfit("sweep", HAND, "--grid-mw", "0.3", "--onsite-mw", "0:0.2:0.1",
            "--design-temp-c", "20:40:20", "--out", out)  # fmt: skip
    frame = pd.read_csv(out / "sweep.csv")
    assert len(frame) == 6
    assert sorted(set(frame["design_temp_c"])) == [20, 40]
    assert sorted(set(frame["onsite_mw"])) == pytest.approx([0.0, 0.1, 0.2])


def test_sweep_in_two_processes_gives_the_same_curve_as_one(tmp_path, small_sweep):
    """`--jobs 2`: process 0 takes points 1, 3, 5 and process 1 points 2, 4, each warm-started
    from its own previous point; every point is optimal, so the curve is the same as in one
    process (the CSV written by the `small_sweep` fixture, one process)."""
    out = tmp_path / "sweep"
    rackfit("sweep", SMALL, "--grid-mw", "0.4:1.2:0.2", "--jobs", "2", "--out", out)
    two = pd.read_csv(out / "sweep.csv")
    one = pd.read_csv(small_sweep[0] / "sweep.csv")
    assert two["grid_mw"].tolist() == one["grid_mw"].tolist()
    assert (two["status"] == "optimal").all()
    assert two["gpus"].tolist() == one["gpus"].tolist() == [192, 264, 368, 440, 480]
    assert two["objective"].tolist() == pytest.approx(one["objective"].tolist())
    assert two["gpus_per_mw_step"].tolist()[1:] == pytest.approx(
        one["gpus_per_mw_step"].tolist()[1:]
    )


def test_sweep_jobs_across_temperatures_match_single_solves():
    """Two processes per temperature, two temperatures: each point equals its own solve."""
    site = load_site(HAND)
    frame = sweep(site, grid_mw=[0.3, 0.5, 0.7], design_temp_c=[20, 40], jobs=2)
    assert frame["design_temp_c"].tolist() == [20, 20, 20, 40, 40, 40]
    for _, point in frame.iterrows():
        hotter = site.with_updates(design_temp_c=point["design_temp_c"])
        assert point["gpus"] == single_solve(hotter, grid_mw=point["grid_mw"])[1]


def test_sweep_jobs_below_one_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="jobs"):
        sweep(HAND, grid_mw=[0.5], jobs=0)
    result = rackfit("sweep", SMALL, "--grid-mw", "1", "--jobs", "0", "--out",
                     tmp_path / "sweep", code=EXIT_INPUT)  # fmt: skip
    assert "--jobs" in error_lines(result)[0]
    assert listing(tmp_path) == []


def test_sweep_without_a_range_exits_2(tmp_path):
    result = rackfit("sweep", SMALL, "--out", tmp_path / "sweep", code=EXIT_INPUT)
    assert "--grid-mw" in error_lines(result)[0]
    assert listing(tmp_path) == []


@pytest.mark.parametrize("text", ["1.2:0.4:0.2", "0.4:1.2:0", "lots"])
def test_sweep_bad_range_exits_2_naming_the_option(tmp_path, text):
    result = rackfit("sweep", SMALL, "--grid-mw", text, "--out", tmp_path / "s", code=EXIT_INPUT)
    (error,) = error_lines(result)
    assert "--grid-mw" in error
    assert listing(tmp_path) == []


@pytest.mark.parametrize("text", ["-1:1:1", "nan"])
def test_sweep_negative_or_nan_mw_is_a_usage_error(tmp_path, text):
    result = rackfit("sweep", SMALL, f"--grid-mw={text}", "--out", tmp_path / "s", code=EXIT_INPUT)
    (error,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert error.startswith("error:") and "--grid-mw" in error


def test_sweep_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    rackfit("sweep", SMALL, "--grid-mw", "1", "--out", out, code=EXIT_INPUT)
    assert listing(out) == ["notes.txt"]


def test_sweep_csv_keeps_the_cost_to_the_cent(tmp_path):
    out = tmp_path / "sweep"
    rackfit("sweep", HAND, "--grid-mw", "0.5", "--objective", "cost", "--out", out)
    written = pd.read_csv(out / "sweep.csv")["objective"].item()
    expected = single_solve(load_site(HAND), grid_mw=0.5, objective="cost")[2]
    assert written == pytest.approx(expected, abs=0.01)


# ==============================================================================================
# rackfit batch
# ==============================================================================================
SCENARIOS = """\
scenario,grid_mw,design_temp_c,energy_usd_per_kwh,objective,substitute_model,out_of_service
base,,,,,,
grid-0.8,0.8,,,,,
hot,,45,,,,
cost,,,0.2,cost,,
gb300,,,,,nvidia-gb200-nvl72=nvidia-gb300-nvl72,
pdu-aa-out,,,,,,PDU-AA
too-small,0.05,,,,,
grid-1.2,1.2,,,,,
"""


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "scenarios.csv"
    path.write_text(SCENARIOS)
    return path


@pytest.fixture(scope="module")
def serial_batch(tmp_path_factory: pytest.TempPathFactory, scenarios: Path) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("batch") / "batch"
    # A batch solves with threads=1; after the default-thread solves of earlier tests HiGHS's
    # process-wide scheduler makes that fail (a bug, see test_reliability.py). A user's
    # `rackfit batch` is a new process: start from a fresh scheduler as it does.
    highspy.Highs.resetGlobalScheduler(True)
    result = rackfit("batch", SMALL, scenarios, "--out", out, "--jobs", "1")
    highspy.Highs.resetGlobalScheduler(True)
    assert "written to" in result.stdout
    assert listing(out) == ["results.csv", "results.xlsx"]
    return pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)


def test_batch_has_one_row_per_scenario_in_order(serial_batch):
    assert serial_batch["scenario"].tolist() == [
        "base", "grid-0.8", "hot", "cost", "gb300", "pdu-aa-out", "too-small", "grid-1.2",
    ]  # fmt: skip
    for column in ("status", "objective", "gpus", "racks", "mip_gap", "bound", "message"):
        assert column in serial_batch.columns


def test_batch_infeasible_scenario_is_reported_in_its_row_and_the_batch_goes_on(serial_batch):
    rows = serial_batch.set_index("scenario")
    assert rows.loc["too-small", "status"] == "infeasible"
    assert "infeasible" in rows.loc["too-small", "message"]
    assert rows.loc["too-small", "gpus"] == ""
    assert rows.loc["grid-1.2", "status"] == "optimal"  # the scenario after it still ran
    assert (serial_batch.drop(index=6)["status"] == "optimal").all()


def test_batch_rows_equal_independent_single_solves(serial_batch, tmp_path):
    site = load_site(SMALL)
    rows = serial_batch.set_index("scenario")

    def gpus(name: str) -> int:
        return int(float(rows.loc[name, "gpus"]))

    assert gpus("base") == 440
    assert gpus("grid-0.8") == single_solve(site, grid_mw=0.8)[1] == 368
    assert gpus("grid-1.2") == single_solve(site, grid_mw=1.2)[1] == 480
    # data/small has no overhead.csv: the pue does not depend on the temperature.
    assert gpus("hot") == single_solve(site.with_updates(design_temp_c=45))[1] == 440
    expensive = site.with_updates(energy_usd_per_kwh=0.2)
    cost = single_solve(expensive, objective="cost")[2]
    assert float(rows.loc["cost", "objective"]) == pytest.approx(cost, rel=1e-5)
    # A model substitution, made by hand in demand.csv.
    folder = tmp_path / "gb300"
    shutil.copytree(SMALL, folder)
    demand = folder / "demand.csv"
    demand.write_text(demand.read_text().replace("nvidia-gb200-nvl72", "nvidia-gb300-nvl72"))
    assert gpus("gb300") == single_solve(load_site(folder))[1]
    # PDU-AA out of service: A1 and A2 single-fed from PDU-AB, A3 without power; made by hand.
    folder = tmp_path / "pdu-aa-out"
    shutil.copytree(SMALL, folder)
    rows_csv = folder / "rows.csv"
    rows_csv.write_text(
        rows_csv.read_text()
        .replace("PDU-AA,PDU-AB,", "PDU-AB,,")
        .replace("A,A3,2,PDU-AA,,", "A,A3,0,PDU-AB,,")
    )
    assert gpus("pdu-aa-out") == single_solve(load_site(folder))[1]


def test_batch_results_keep_the_cost_to_the_cent(serial_batch):
    expected = single_solve(load_site(SMALL).with_updates(energy_usd_per_kwh=0.2),
                            objective="cost")[2]  # fmt: skip
    written = float(serial_batch.set_index("scenario").loc["cost", "objective"])
    assert written == pytest.approx(expected, abs=0.01)


def _without_timings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["solve_s"]).reset_index(drop=True)


@pytest.mark.slow
def test_batch_on_a_local_dask_cluster_equals_the_serial_batch(serial_batch, scenarios, tmp_path):
    out = tmp_path / "dask"
    rackfit("batch", SMALL, scenarios, "--out", out, "--workers", "2")
    on_dask = pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)
    pd.testing.assert_frame_equal(_without_timings(on_dask), _without_timings(serial_batch))


@pytest.mark.slow
def test_batch_in_local_processes_equals_the_serial_batch(serial_batch, scenarios, tmp_path):
    out = tmp_path / "processes"
    highspy.Highs.resetGlobalScheduler(True)  # the forked workers inherit it: see serial_batch
    rackfit("batch", SMALL, scenarios, "--out", out, "--jobs", "2")
    parallel = pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)
    pd.testing.assert_frame_equal(_without_timings(parallel), _without_timings(serial_batch))


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ("scenario,grid_mww\na,1\n", "row 1", "column grid_mww"),
        ("name,grid_mw\na,1\n", None, "column scenario"),
        ("scenario,grid_mw\na,1\nb,2\na,3\n", "row 4", "column scenario"),
        ("scenario,grid_mw\na,1\n,2\n", "row 3", "column scenario"),
    ],
    ids=["unknown-column", "no-scenario-column", "duplicate", "empty-name"],
)
def test_batch_bad_scenarios_file_exits_2_naming_file_row_and_column(tmp_path, text, row, column):
    path = tmp_path / "bad-scenarios.csv"
    path.write_text(text)
    result = rackfit("batch", SMALL, path, "--out", tmp_path / "batch", "--jobs", "1",
                     code=EXIT_INPUT)  # fmt: skip
    errors = error_lines(result)
    assert errors, result.stderr
    assert any(
        "bad-scenarios.csv" in e and column in e and (row is None or row in e) for e in errors
    ), errors
    assert not (tmp_path / "batch").exists()
    assert "Traceback" not in result.output


def test_batch_missing_scenarios_file_exits_2(tmp_path):
    result = rackfit("batch", SMALL, tmp_path / "none.csv", "--out", tmp_path / "b",
                     code=EXIT_INPUT)  # fmt: skip
    assert "none.csv" in error_lines(result)[0]
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    ("cell", "column"),
    [
        ("grid_mw=lots", "grid_mw"),
        ("objective=speed", "objective"),
        ("substitute_model=nvidia-dgx-h100", "substitute_model"),
        ("out_of_service=PDU-ZZ", "out_of_service"),
    ],
)
def test_batch_bad_value_exits_2_naming_row_and_column(tmp_path, cell, column):
    name, value = cell.split("=", 1)
    path = tmp_path / "bad-scenarios.csv"
    path.write_text(f"scenario,{name}\nfine,\nbroken,{value}\n")
    result = rackfit("batch", SMALL, path, "--out", tmp_path / "batch", "--jobs", "1",
                     code=EXIT_INPUT)  # fmt: skip
    (error,) = error_lines(result)
    assert "row 3" in error and f"column {column}" in error
    assert not (tmp_path / "batch").exists()


def test_batch_bad_value_names_the_scenarios_file(tmp_path):
    path = tmp_path / "bad-scenarios.csv"
    path.write_text("scenario,grid_mw\nbroken,lots\n")
    result = rackfit("batch", SMALL, path, "--out", tmp_path / "batch", "--jobs", "1",
                     code=EXIT_INPUT)  # fmt: skip
    assert "bad-scenarios.csv" in error_lines(result)[0]


def test_batch_negative_grid_is_bad_input(tmp_path):
    path = tmp_path / "bad-scenarios.csv"
    path.write_text("scenario,grid_mw\nnegative,-1\n")
    result = rackfit("batch", SMALL, path, "--out", tmp_path / "batch", "--jobs", "1",
                     code=EXIT_INPUT)  # fmt: skip
    (error,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert "row 2" in error and "column grid_mw" in error


def test_batch_refuses_to_replace_a_folder_it_did_not_write(tmp_path, scenarios):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    path = tmp_path / "one.csv"
    path.write_text("scenario\nbase\n")
    rackfit("batch", SMALL, path, "--out", out, code=EXIT_INPUT)
    assert listing(out) == ["notes.txt"]
