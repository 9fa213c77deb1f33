"""Writing a plan (folder, workbook, pictures) and reading placements back.

The plan is built by hand: a two-hall site and result tables with the columns of plan.py,
with numbers chosen to show rounding, every utilization colour band and missing values.
"""

from __future__ import annotations

import gc
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from PIL import Image

from optimizer import export
from optimizer.errors import SiteError, UsageError
from optimizer.export import (
    files,
    floor_plan_figure,
    pictures,
    read_plan_placements,
    utilization_figure,
    workbook,
    write_plan,
)
from optimizer.layout import placements_from_counts
from optimizer.schema import (
    Cluster,
    CoolingLine,
    Device,
    Pod,
    RackModel,
    Row,
    Site,
)
from optimizer.stranded import STRANDED_COLUMNS
from optimizer.tables import (
    CLUSTER_COLUMNS,
    COOLING_COLUMNS,
    GRID_COLUMNS,
    OPTIMAL,
    PLACEMENT_COLUMNS,
    POD_COLUMNS,
    POWER_COLUMNS,
    ROW_COLUMNS,
    Plan,
)

TABLES = ["placements", "clusters", "power", "cooling", "pods", "rows", "grid", "stranded"]
PLAN_FILES = {
    *(f"{t}.csv" for t in TABLES),
    "summary.json",
    "plan.xlsx",
    "floor-H1.png",
    "floor-Hall_2.png",
    "utilization.png",
}


# -- a small plan, by hand -------------------------------------------------------------------
def small_site(n_devices: int = 0, rows_in_h1: int = 2) -> Site:
    models = (
        RackModel(
            model="air-8",
            gpus=8,
            design_kw=40.0,
            typical_kw=30.0,
            liquid_fraction=0.0,
            weight_kg=1200,
            ports=4,
            capex_usd=400_000,
        ),
        RackModel(
            model="liquid-72",
            gpus=72,
            design_kw=132.0,
            typical_kw=120.0,
            liquid_fraction=0.85,
            weight_kg=1360,
            ports=18,
            capex_usd=3_500_000,
        ),
    )
    rows = [
        Row(hall="H1", row=f"R{i + 1}", positions=4, feed_a="UPS-A", feed_b="UPS-B", pod="P1")
        for i in range(rows_in_h1)
    ]
    rows.append(
        Row(hall="Hall 2", row="L1", positions=3, feed_a="UPS-B", liquid=True, pod="P2"),
    )
    devices = [
        Device(device="SUB", capacity_kw=2000),
        Device(device="UPS-A", parent="SUB", capacity_kw=500, derate=0.9),
        Device(device="UPS-B", parent="SUB", capacity_kw=500, derate=0.9),
    ]
    devices += [
        Device(device=f"PDU-{i:04d}", parent="SUB", capacity_kw=100) for i in range(n_devices)
    ]
    return Site(
        name="tiny",
        grid_limit_kw=1500,
        onsite_firm_kw=100,
        models=models,
        rows=tuple(rows),
        devices=tuple(devices),
        cooling=(
            CoolingLine(hall="H1", medium="air", units=4, unit_kw=100, spares=1),
            CoolingLine(hall="Hall 2", medium="liquid", units=3, unit_kw=200, spares=1),
            CoolingLine(hall="Hall 2", medium="air", units=2, unit_kw=100),
        ),
        pods=(Pod(pod="P1", ports=64), Pod(pod="P2", ports=64)),
        demand=(
            Cluster(cluster="train", model="liquid-72", min_racks=1, max_racks=3),
            Cluster(cluster="infer", model="air-8", min_racks=2),
        ),
    )


def small_plan(
    *, timings_s: dict[str, float] | None = None, n_devices: int = 0, rows_in_h1: int = 2
) -> Plan:
    site = small_site(n_devices, rows_in_h1)
    placements = placements_from_counts(
        site, {("infer", "H1", "R1"): 4, ("infer", "H1", "R2"): 1, ("train", "Hall 2", "L1"): 2}
    )
    clusters = pd.DataFrame(
        [
            ["train", "liquid-72", 1, 3, 2, 144, 1.0, 144.0, 264.0, "cooling Hall 2 liquid"],
            ["infer", "air-8", 2, None, 5, 40, 1.0, 40.0, 200.0, "space"],
        ],
        columns=CLUSTER_COLUMNS,
    )
    power = pd.DataFrame(
        [
            ["SUB", None, 2000.0, 1.0, 2000.0, 464.0, 464.0, "", 0.232, False, None],
            [
                "UPS-A",
                "SUB",
                500.0,
                0.9,
                450.0,
                100.0,
                200.0,
                "UPS-B",
                0.1 + 0.2 + 0.144444,
                False,
                None,
            ],
            [
                "UPS-B",
                "SUB",
                500.0,
                0.9,
                450.0,
                364.0,
                449.7,
                "UPS-A",
                0.999333,
                True,
                0.0123456789,
            ],
        ]
        + [
            [f"PDU-{i:04d}", "SUB", 100.0, 1.0, 100.0, 0.0, i % 97, "", (i % 97) / 100, False, None]
            for i in range(n_devices)
        ],
        columns=POWER_COLUMNS,
    )
    cooling = pd.DataFrame(
        [
            ["H1", "air", 200.0, 300.0, 2 / 3, False, None],
            ["Hall 2", "air", 39.6, 200.0, 0.198, False, None],
            ["Hall 2", "liquid", 224.4, 400.0, 0.561, False, None],
        ],
        columns=COOLING_COLUMNS,
    )
    pods = pd.DataFrame(
        [["P1", 20, 64, 0.3125, False, None], ["P2", 36, 64, 0.5625, False, None]],
        columns=POD_COLUMNS,
    )
    racks = {("H1", "R1"): 4, ("H1", "R2"): 1, ("Hall 2", "L1"): 2}
    rack_kw = {"H1": 40.0, "Hall 2": 132.0}
    rows = pd.DataFrame(
        [
            [r.hall, r.row, r.pod, r.feed_a, r.feed_b, r.liquid, r.positions]
            + [n := racks.get(r.id, 0), n * rack_kw[r.hall], n / r.positions]
            + [n == r.positions, None]
            for r in site.rows
        ],
        columns=ROW_COLUMNS,
    )
    grid = pd.DataFrame(
        [[464.0, 71.88, 67.32, 0.0, 603.2, 1500.0, 100.0, 1600.0, 35.0, 0.377, False, None]],
        columns=GRID_COLUMNS,
    )
    summary = {  # the keys optimizer.plan() writes, in another order
        "status": OPTIMAL,
        "site": "tiny",
        "objective_name": "gpus",
        "objective": 184.0,
        "gpus": 184,
        "racks": 7,
        "design_kw": 464.0,
        "mip_gap": 0.0,
        "bound": 184.00000000001,
        "bound_source": "highs",
        "baseline_gpus": 160,
        "gain_over_baseline_gpus": 24,
        "grid_limit_kw": 1500.0,
        "onsite_firm_kw": 100.0,
        "marginal_value_source": "lp_relaxation_duals",
        "solver": "HiGHS",
    }
    return Plan(
        site=site,
        summary=summary,
        placements=placements,
        clusters=clusters,
        power=power,
        cooling=cooling,
        pods=pods,
        rows=rows,
        grid=grid,
        timings_s=timings_s if timings_s is not None else {"load": 0.0123, "solve": 1.5},
    )


@pytest.fixture
def plan() -> Plan:
    return small_plan()


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders a write may have left beside its output."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- the plan folder -------------------------------------------------------------------------
def test_plan_folder_holds_every_output(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan")
    assert out == tmp_path / "plan"
    assert {p.name for p in out.iterdir()} == PLAN_FILES
    assert leftovers(tmp_path) == []


def test_csv_tables_have_the_plan_columns_and_rounded_floats(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan")
    expected = {
        "placements": PLACEMENT_COLUMNS,
        "clusters": CLUSTER_COLUMNS,
        "power": POWER_COLUMNS,
        "cooling": COOLING_COLUMNS,
        "pods": POD_COLUMNS,
        "rows": ROW_COLUMNS,
        "grid": GRID_COLUMNS,
        "stranded": STRANDED_COLUMNS,
    }
    for name, columns in expected.items():
        assert pd.read_csv(out / f"{name}.csv").columns.tolist() == columns
    power = (out / "power.csv").read_text()
    assert "UPS-A,SUB,500.0,0.9,450.0,100.0,200.0,UPS-B,0.444444,False," in power
    assert "\r" not in power
    # A count column with a missing value stays whole: "3" and "", not "3.0" and "nan".
    clusters = (out / "clusters.csv").read_text().splitlines()
    assert clusters[1].startswith("train,liquid-72,1,3,2,144,")
    assert clusters[2].startswith("infer,air-8,2,,5,40,")
    placements = pd.read_csv(out / "placements.csv")
    pd.testing.assert_frame_equal(placements, plan.placements, check_dtype=False)


def test_summary_json_has_contract_keys_first_and_timings_in_one_field(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan")
    text = (out / "summary.json").read_text()
    summary = json.loads(text)
    assert list(summary)[:10] == [
        "site",
        "status",
        "objective_name",
        "objective",
        "gpus",
        "racks",
        "mip_gap",
        "bound",
        "baseline_gpus",
        "gain_over_baseline_gpus",
    ]
    assert list(summary)[-1] == "timings_s"
    assert summary["timings_s"] == {"load": 0.012, "solve": 1.5}
    assert summary["bound"] == 184.0
    assert summary["status"] == "optimal"
    rest = list(summary)[10:-1]
    assert rest == sorted(rest)
    assert rest == [
        "bound_source",
        "design_kw",
        "grid_limit_kw",
        "marginal_value_source",
        "onsite_firm_kw",
        "solver",
    ]
    assert text.endswith("}\n") and '\n  "status": "optimal",\n' in text


# -- determinism -----------------------------------------------------------------------------
def test_same_plan_gives_byte_identical_csv_and_json(tmp_path):
    write_plan(small_plan(), tmp_path / "a")
    write_plan(small_plan(), tmp_path / "b")
    for name in [*(f"{t}.csv" for t in TABLES), "summary.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_timings_and_summary_key_order_change_only_the_timings_field(tmp_path):
    first = small_plan(timings_s={"load": 0.1, "solve": 2.0})
    second = small_plan(timings_s={"load": 9.9, "solve": 0.5})
    second.summary.clear()
    second.summary.update(reversed(list(first.summary.items())))  # same keys, other order
    write_plan(first, tmp_path / "a")
    write_plan(second, tmp_path / "b")
    for name in (f"{t}.csv" for t in TABLES):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a.pop("timings_s") != b.pop("timings_s")
    assert json.dumps(a) == json.dumps(b)  # same keys, same order, same values


def test_pictures_are_byte_identical_for_the_same_plan(tmp_path):
    write_plan(small_plan(), tmp_path / "a")
    write_plan(small_plan(timings_s={"solve": 3.0}), tmp_path / "b")
    for name in ("floor-H1.png", "floor-Hall_2.png", "utilization.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# -- the workbook ----------------------------------------------------------------------------
def test_workbook_sheets_equal_the_csvs(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan")
    workbook = openpyxl.load_workbook(out / "plan.xlsx")
    assert workbook.sheetnames == ["Summary", *TABLES]
    for name in TABLES:
        sheet = workbook[name]
        csv_table = pd.read_csv(out / f"{name}.csv", keep_default_na=False, dtype=str)
        cells = list(sheet.iter_rows(values_only=True))
        assert list(cells[0]) == csv_table.columns.tolist(), name
        assert len(cells) - 1 == len(csv_table), name
        for line, (cell_row, csv_row) in enumerate(
            zip(cells[1:], csv_table.itertuples(index=False, name=None), strict=True), start=2
        ):
            assert [_as_csv_text(v, t) for v, t in zip(cell_row, csv_row, strict=True)] == list(
                csv_row
            ), (name, line)


def _as_csv_text(value: object, text: str) -> str:
    """`value` as the CSV writer wrote it, if equal to `text`: a cell holds 1.0 as 1."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and text:
        return text if float(text) == value else repr(value)
    return str(value)


def test_workbook_headers_bold_frozen_and_columns_wide_enough(plan, tmp_path):
    path = write_plan(plan, tmp_path / "plan.xlsx")
    workbook = openpyxl.load_workbook(path)
    for sheet in workbook.worksheets:
        assert len(sheet.title) <= 31
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in sheet[1] if cell.value is not None), sheet.title
        for cell in sheet[1]:
            width = sheet.column_dimensions[cell.column_letter].width
            assert width >= len(str(cell.value)), (sheet.title, cell.value)
    power = workbook["power"]
    assert power.column_dimensions["H"].width >= len("worst_failure")


def test_workbook_number_formats_show_units_and_percentages(plan, tmp_path):
    workbook = openpyxl.load_workbook(write_plan(plan, tmp_path / "plan.xlsx"))
    power = workbook["power"]
    header = {cell.value: cell.column_letter for cell in power[1]}
    assert power[f"{header['utilization']}2"].number_format == "0.0%"
    assert power[f"{header['limit_kw']}2"].number_format == "#,##0.0"
    assert power[f"{header['worst_kw']}4"].value == 449.7
    assert workbook["pods"]["B2"].number_format == "#,##0"  # ports_used, a count
    assert workbook["cooling"]["E2"].number_format == "0.0%"
    assert workbook["grid"]["E2"].number_format == "#,##0.0"  # total_kw
    assert workbook["grid"]["J2"].number_format == "0.0%"  # utilization


def test_workbook_colours_utilization_green_amber_red(plan, tmp_path):
    workbook = openpyxl.load_workbook(write_plan(plan, tmp_path / "plan.xlsx"))
    utilization_columns = [("power", "I"), ("cooling", "E"), ("pods", "D"), ("rows", "J")]
    for name, column in [*utilization_columns, ("grid", "J")]:
        sheet = workbook[name]
        (ranges,) = [str(cf.sqref) for cf in sheet.conditional_formatting]
        assert ranges in (f"{column}2:{column}{sheet.max_row}", f"{column}2")
        rules = [rule for cf in sheet.conditional_formatting for rule in cf.rules]
        fills = [rule.dxf.fill.fgColor.rgb[-6:] for rule in rules]
        assert fills == ["FFC7CE", "FFEB9C", "C6EFCE"]  # red, amber, green, in priority order
        assert rules[0].operator == "greaterThanOrEqual" and rules[0].formula == ["0.999"]
        assert rules[1].operator == "greaterThanOrEqual" and rules[1].formula == ["0.8"]
        assert rules[2].formula == [f"AND(ISNUMBER({column}2),{column}2<0.8)"]


def test_summary_sheet_comes_first_with_clusters_and_the_gain_over_first_fit(plan, tmp_path):
    workbook = openpyxl.load_workbook(write_plan(plan, tmp_path / "plan.xlsx"))
    sheet = workbook.worksheets[0]
    assert sheet.title == "Summary"
    rows = [r for r in sheet.iter_rows(values_only=True)]
    values = {r[0]: r[1] for r in rows if r and r[0] is not None}
    assert rows[0][:2] == ("key", "value")
    assert values["status"] == "optimal"
    assert values["gpus"] == 184
    assert values["baseline_gpus"] == 160
    assert values["gain_over_baseline_gpus"] == 24
    assert sheet["A11"].value == "gain_over_baseline_gpus"
    assert sheet["B11"].value == 24 and sheet["B11"].number_format == "#,##0"
    assert values["timings_s.solve"] == 1.5
    header = rows.index(("cluster", "min_racks", "max_racks", "placed_racks", "gpus", "limited_by"))
    assert rows[header + 1] == ("train", 1, 3, 2, 144, "cooling Hall 2 liquid")
    assert rows[header + 2] == ("infer", 2, None, 5, 40, "space")
    assert all(cell.font.bold for cell in sheet[header + 1])


def test_xlsx_out_writes_only_the_workbook(plan, tmp_path):
    path = write_plan(plan, tmp_path / "plan.xlsx")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]
    assert openpyxl.load_workbook(path).sheetnames == ["Summary", *TABLES]


def test_sheet_titles_are_cut_to_excels_31_characters():
    assert export.sheet_title("a" * 40) == "a" * 31
    assert export.sheet_title("power/cooling?") == "power_cooling_"


# -- pictures --------------------------------------------------------------------------------
def _tick_labels(axes, which: str = "y") -> list[str]:
    """The tick labels of `axes` (drawn as texts, see pictures._draw_ticks)."""
    return [t.get_text() for t in axes.texts if t.get_gid() == pictures.TICK_LABEL_GID[which]]


def _pixels(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return image.size


def test_pictures_open_and_have_the_expected_size(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan")
    for name, figure in [
        ("floor-H1.png", floor_plan_figure(plan, "H1")),
        ("floor-Hall_2.png", floor_plan_figure(plan, "Hall 2")),
        ("utilization.png", utilization_figure(plan)),
    ]:
        width, height = _pixels(out / name)
        assert width == 1200
        assert height == round(figure.get_figheight() * 100)
        assert 300 <= height <= 2000
        with Image.open(out / name) as image:
            assert image.info.get("Software") is None
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert len(colours) > 10  # something was drawn


def test_pictures_have_the_pixels_savefig_draws(plan, tmp_path):
    # _save_figure encodes the canvas itself (RGB, fast zlib level), not with savefig.
    for figure in (floor_plan_figure(plan, "H1"), utilization_figure(plan)):
        pictures.save_figure(figure, tmp_path / "ours.png")
        figure.savefig(tmp_path / "savefig.png", dpi=pictures.DPI)
        with Image.open(tmp_path / "ours.png") as ours, Image.open(tmp_path / "savefig.png") as ref:
            assert ours.mode == "RGB"
            assert np.array_equal(np.asarray(ours.convert("RGBA")), np.asarray(ref))


def test_floor_plan_shows_each_position_coloured_by_cluster(plan):
    figure = floor_plan_figure(plan, "H1")
    (axes,) = figure.axes
    assert axes.get_title() == "tiny — hall H1: 40 GPUs, 200 kW design placed"
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert legend == ["infer (5 racks)", "empty position"]
    (mesh,) = axes.collections
    cells = mesh.get_array()
    colours = export.cluster_colours(plan)
    assert list(colours) == ["train", "infer"]
    # Two rows of 4 positions: row R1 full of `infer` (code 2), R2 one rack then empty (0).
    assert cells.reshape(2, 4).tolist() == [[2, 2, 2, 2], [2, 0, 0, 0]]
    assert _tick_labels(axes, "y") == ["R1", "R2"]
    assert _tick_labels(axes, "x") == ["1", "2", "3", "4"]
    assert axes.get_xlabel() == "position" and axes.get_ylabel() == "row"


def test_floor_plans_of_alike_halls_are_the_pictures_floor_plan_figure_draws(tmp_path):
    # A and B share their layout (rows R1 and R2, four positions at most), so write_plan
    # draws B on A's figure; their rows differ in length and their racks differ. C does not.
    base = small_plan()
    shape = {("A", "R1"): 4, ("A", "R2"): 3, ("B", "R1"): 3, ("B", "R2"): 4, ("C", "X1"): 2}
    rows = tuple(
        Row(hall=hall, row=row, positions=n, feed_a="UPS-A", feed_b="UPS-B", pod="P1")
        for (hall, row), n in shape.items()
    )
    site = Site.model_validate({**base.site.model_dump(), "rows": rows})
    counts = {
        ("infer", "A", "R1"): 4,
        ("infer", "A", "R2"): 1,
        ("infer", "B", "R1"): 3,
        ("train", "B", "R2"): 2,
        ("infer", "C", "X1"): 1,
    }
    plan = replace(base, site=site, placements=placements_from_counts(site, counts))
    out = write_plan(plan, tmp_path / "plan")
    names = export.picture_names(plan)
    assert list(names.values()) == ["floor-A.png", "floor-B.png", "floor-C.png"]
    for hall, name in names.items():
        pictures.save_figure(floor_plan_figure(plan, hall), tmp_path / name)
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), hall
    assert (out / "floor-A.png").read_bytes() != (out / "floor-B.png").read_bytes()


def test_floor_plan_height_is_capped_for_a_large_hall():
    big = small_plan(rows_in_h1=400)
    figure = floor_plan_figure(big, "H1")
    assert figure.get_figheight() == pictures.MAX_FIGURE_HEIGHT_IN
    (axes,) = figure.axes
    labels = _tick_labels(axes, "y")
    assert len(labels) <= pictures.MAX_ROW_LABELS
    # every 7th of 400 rows (ceil(400 / 60) = 7): R1, R8, ..., R400, 58 labels
    assert labels == [f"R{i + 1}" for i in range(0, 400, 7)]


def test_utilization_picture_shows_the_top_devices_and_a_100_percent_line():
    big = small_plan(n_devices=1000)
    figure = utilization_figure(big)
    assert figure.get_figwidth() == 12 and figure.get_figheight() <= pictures.MAX_FIGURE_HEIGHT_IN
    power, cooling, pods, grid = figure.axes
    assert "top 30 of 1,003" in power.get_title(loc="left")
    labels = _tick_labels(power)
    assert len(labels) == 30 and labels[0] == "UPS-B"  # 99.9%, the most utilised
    assert _tick_labels(cooling) == ["H1 air", "Hall 2 liquid", "Hall 2 air"]
    assert _tick_labels(grid) == ["grid (603 of 1,600 kW)"]
    assert [_tick_labels(axes, "x") for axes in (power, cooling, pods)] == [[], [], []]
    assert _tick_labels(grid, "x")[:3] == ["0", "20", "40"]  # the shared axis, at the bottom
    assert grid.get_xlabel() == "utilization (%)"
    for axes in figure.axes:
        assert any(list(line.get_xdata()) == [100, 100] for line in axes.get_lines())
    bar = power.patches[0]
    assert bar.get_width() == pytest.approx(99.9333)
    assert bar.get_facecolor()[:3] == pytest.approx((0xD9 / 255, 0x53 / 255, 0x4F / 255))


def test_floor_plan_of_an_unknown_hall_is_an_error(plan):
    with pytest.raises(ValueError, match="hall 'H9'"):
        floor_plan_figure(plan, "H9")


# -- nothing lost ----------------------------------------------------------------------------
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_the_previous_plan_folder_intact(plan, tmp_path, monkeypatch, error):
    out = write_plan(plan, tmp_path / "plan")
    before = _snapshot(out)

    def broken(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(files, "utilization_figure", broken)  # the last thing written
    with pytest.raises(type(error)):
        write_plan(small_plan(timings_s={"solve": 99.0}), out)
    assert _snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_failed_workbook_write_leaves_the_previous_workbook_intact(plan, tmp_path, monkeypatch):
    path = write_plan(plan, tmp_path / "plan.xlsx")
    before = path.read_bytes()

    def broken(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workbook, "_fill_table_sheet", broken)
    with pytest.raises(KeyboardInterrupt):
        write_plan(plan, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


def test_failed_first_write_leaves_nothing_not_even_new_parent_folders(tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pictures, "floor_plan_figure", broken)
    with pytest.raises(RuntimeError):
        write_plan(small_plan(), tmp_path / "new" / "deeper" / "plan")
    assert list(tmp_path.iterdir()) == []


def test_the_garbage_collector_is_left_as_it_was(plan, tmp_path, monkeypatch):
    # write_plan pauses it while writing (see files._collector_paused).
    assert gc.isenabled()
    write_plan(plan, tmp_path / "a")
    assert gc.isenabled()

    def broken(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "utilization_figure", broken)
    with pytest.raises(KeyboardInterrupt):
        write_plan(plan, tmp_path / "b")
    assert gc.isenabled()
    gc.disable()
    try:
        write_plan(plan, tmp_path / "c.xlsx")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_new_plan_replaces_the_old_folder_completely(plan, tmp_path):
    out = write_plan(plan, tmp_path / "plan")
    (out / "floor-OLD.png").write_bytes(b"stale")
    write_plan(plan, out)
    assert {p.name for p in out.iterdir()} == PLAN_FILES
    assert leftovers(tmp_path) == []


def test_refuses_to_replace_a_folder_that_holds_no_plan(plan, tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(UsageError, match="holds no plan"):
        write_plan(plan, precious)
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert leftovers(tmp_path) == []


def test_writes_into_an_existing_empty_folder_and_creates_missing_parents(plan, tmp_path):
    (tmp_path / "empty").mkdir()
    assert {p.name for p in write_plan(plan, tmp_path / "empty").iterdir()} == PLAN_FILES
    assert (write_plan(plan, tmp_path / "a" / "b" / "p.xlsx")).is_file()


# -- reading placements back -----------------------------------------------------------------
def test_reads_placements_from_folder_workbook_and_bare_csv(plan, tmp_path):
    folder = write_plan(plan, tmp_path / "plan")
    workbook = write_plan(plan, tmp_path / "plan.xlsx")
    for source in (folder, workbook, folder / "placements.csv"):
        got = read_plan_placements(source)
        assert got.columns.tolist() == PLACEMENT_COLUMNS
        assert got["position"].dtype == np.int64
        pd.testing.assert_frame_equal(got, plan.placements, check_dtype=False)


def test_reads_a_hand_edited_csv_with_bom_crlf_spaces_and_blank_lines(tmp_path):
    path = tmp_path / "edited.csv"
    text = (
        "\ufeffhall,row,position,cluster,model\r\n"
        " H1 ,R1, 2 ,infer,air-8\r\n"
        "\r\n"
        "H1,R2,3.0,infer,air-8\r\n"
    )
    path.write_bytes(text.encode("utf-8"))
    got = read_plan_placements(path)
    assert got.values.tolist() == [
        ["H1", "R1", 2, "infer", "air-8"],
        ["H1", "R2", 3, "infer", "air-8"],
    ]


def test_missing_column_names_file_row_and_column(tmp_path):
    path = tmp_path / "edited.csv"
    path.write_text("hall,row,cluster,model\nH1,R1,infer,air-8\n")
    with pytest.raises(SiteError) as caught:
        read_plan_placements(path)
    (issue,) = caught.value.issues
    assert (issue.where, issue.row, issue.column) == (str(path), 1, "position")
    assert str(issue).startswith(f"{path}, row 1, column position: missing column position")


def test_every_bad_position_is_reported_with_its_spreadsheet_row(tmp_path):
    path = tmp_path / "edited.csv"
    path.write_text(
        "hall,row,position,cluster,model\n"
        "H1,R1,1,infer,air-8\n"
        "\n"  # row 3: blank, skipped but counted
        "H1,R1,x,infer,air-8\n"  # row 4
        "H1,R1,0,infer,air-8\n"  # row 5
        "H1,,2.5,infer,air-8\n"  # row 6: two problems
    )
    with pytest.raises(SiteError) as caught:
        read_plan_placements(path)
    found = [(i.row, i.column) for i in caught.value.issues]
    assert found == [(4, "position"), (5, "position"), (6, "row"), (6, "position")]
    assert all(i.where == str(path) for i in caught.value.issues)
    assert "'x' is not a position" in caught.value.issues[0].message


def test_unknown_column_is_an_error_but_an_empty_unnamed_one_is_not(tmp_path):
    path = tmp_path / "edited.csv"
    path.write_text("hall,row,position,cluster,model,note,\nH1,R1,1,infer,air-8,keep,\n")
    with pytest.raises(SiteError) as caught:
        read_plan_placements(path)
    assert [(i.row, i.column) for i in caught.value.issues] == [(1, "note")]
    path.write_text("hall,row,position,cluster,model,\nH1,R1,1,infer,air-8,\n")
    assert len(read_plan_placements(path)) == 1


def test_workbook_errors_name_the_sheet_and_row(plan, tmp_path):
    path = write_plan(plan, tmp_path / "plan.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook["placements"]["C4"] = "third"
    workbook.save(path)
    with pytest.raises(SiteError) as caught:
        read_plan_placements(path)
    (issue,) = caught.value.issues
    assert (issue.where, issue.row, issue.column) == (f"{path}:placements", 4, "position")

    del workbook["placements"]
    workbook.save(path)
    with pytest.raises(SiteError, match="no sheet 'placements'"):
        read_plan_placements(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("binary.csv", b"\xff\xfe\x00\x81garbage\x00", "not a UTF-8 text file"),
        ("broken.xlsx", b"not a zip", "not a readable .xlsx workbook"),
    ],
)
def test_unreadable_files_are_site_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SiteError, match=message) as caught:
        read_plan_placements(path)
    assert caught.value.issues[0].where == str(path)


def test_missing_plan_or_placements_is_a_site_error(tmp_path):
    with pytest.raises(SiteError, match="no such file or folder"):
        read_plan_placements(tmp_path / "nowhere")
    with pytest.raises(SiteError, match="not a plan folder"):
        read_plan_placements(tmp_path)


def test_infinite_and_missing_numbers_stay_readable(tmp_path):
    plan = small_plan()
    plan.power.loc[0, "utilization"] = math.inf  # a limit of 0 kW carrying load
    out = write_plan(plan, tmp_path / "plan")
    assert json.loads((out / "summary.json").read_text())["gpus"] == 184
    workbook = openpyxl.load_workbook(out / "plan.xlsx")
    assert workbook["power"]["I2"].value == "inf"
    assert pd.read_csv(out / "power.csv")["utilization"][0] == math.inf


@pytest.mark.parametrize("out", [".", ".."])
def test_out_must_name_a_folder_or_workbook(plan, out, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="name a new folder"):
        write_plan(plan, Path(out))
    assert list(tmp_path.iterdir()) == []
