"""One test per validation rule of the site format: each breaks data/small once and asserts the
exact file, row (as a spreadsheet shows it, header = row 1), column and message of the `Issue`
in `SiteError.issues`. Then: every problem at once, the warnings, and the bad-input corpus in
tests/bad_inputs (see make_corpus.py there)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from optimizer.checks import site_warnings
from optimizer.errors import Issue, SiteError
from optimizer.loaders import load_site, load_site_with_warnings

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "data" / "small"
CORPUS = REPO / "tests" / "bad_inputs"
SITE_FILES = ("site.yaml", "rows.csv", "power.csv", "cooling.csv", "pods.csv", "demand.csv")
MODELS_HEADER = "model,gpus,design_kw,typical_kw,liquid_fraction,weight_kg,ports,capex_usd"
MY_RACK = "my-rack,16,20,15,0,800,16,300000"
OVERHEAD = "temp_c,air_overhead,liquid_overhead\n10,0.15,0.04\n25,0.27,0.08\n40,0.48,0.20\n"


# -- helpers ------------------------------------------------------------------------------------
def text(name: str) -> str:
    return (SMALL / name).read_text(encoding="utf-8")


def table(name: str) -> list[list[str]]:
    return [list(r) for r in csv.reader(io.StringIO(text(name)))]


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def set_cell(name: str, row: int, column: str, value: str) -> str:
    """data/small's `name` with the cell at spreadsheet row `row` (header = 1) replaced."""
    rows = table(name)
    rows[row - 1][rows[0].index(column)] = value
    return csv_text(rows)


def add_line(name: str, line: str) -> str:
    return text(name) + line + "\n"


def set_key(key: str, value: str) -> str:
    lines = [
        f"{key}: {value}" if s.startswith(f"{key}:") else s for s in text("site.yaml").split("\n")
    ]
    return "\n".join(lines)


def make_site(tmp_path: Path, edits: dict[str, str | bytes | None], name: str = "site") -> Path:
    """A copy of data/small in tmp_path with whole files replaced (None deletes one)."""
    folder = tmp_path / name
    folder.mkdir()
    for f in SITE_FILES:
        shutil.copy(SMALL / f, folder / f)
    for f, content in edits.items():
        if content is None:
            (folder / f).unlink()
        else:
            (folder / f).write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


def make_workbook(tmp_path: Path, edits: dict[str, str | None], name: str = "site.xlsx") -> Path:
    """data/small as a workbook (after `edits`): one sheet per table, a key,value `site` sheet."""
    files = {f: text(f) for f in SITE_FILES} | edits
    book = openpyxl.Workbook()
    book.remove(book.active)
    for f, content in files.items():
        if content is None:
            continue
        if f == "site.yaml":
            sheet = book.create_sheet("site")
            sheet.append(["key", "value"])
            for key, value in yaml.safe_load(content).items():
                sheet.append([key, value])
        else:
            sheet = book.create_sheet(Path(f).stem)
            for row in csv.reader(io.StringIO(content)):
                sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def issues_of(path: Path) -> list[Issue]:
    with pytest.raises(SiteError) as info:
        load_site(path)
    return info.value.issues


def shown(issues: list[Issue]) -> str:
    return "\n".join(f"  {Path(i.where).name} | {i.row} | {i.column} | {i.message}" for i in issues)


def find(
    issues: list[Issue], file: str, row: int | None, column: str | None, fragment: str
) -> Issue:
    """The issue at exactly (file basename, row, column) whose message holds `fragment`."""
    for issue in issues:
        if (
            Path(issue.where).name == file
            and issue.row == row
            and issue.column == column
            and fragment in issue.message
        ):
            return issue
    raise AssertionError(
        f"no issue {file} | {row} | {column} | ...{fragment}...; got:\n{shown(issues)}"
    )


def expect(
    tmp_path: Path, edits: dict, file: str, row: int | None, column: str | None, fragment: str
) -> Issue:
    return find(issues_of(make_site(tmp_path, edits)), file, row, column, fragment)


# -- files, sheets and columns ------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["site.yaml", "rows.csv", "power.csv", "cooling.csv", "demand.csv"]
)
def test_missing_required_file(tmp_path, name):
    expect(tmp_path, {name: None}, name, None, None, "required file is missing")


@pytest.mark.parametrize("name", ["pods.csv", "models.csv", "overhead.csv", "weather.csv"])
def test_optional_files_may_be_missing(tmp_path, name):
    edits: dict = {name: None} if (SMALL / name).exists() else {}
    if name == "pods.csv":  # rows then name pods that do not exist: drop the pod column too
        rows = [r[:-1] for r in table("rows.csv")]
        edits["rows.csv"] = csv_text(rows)
    load_site(make_site(tmp_path, edits))


@pytest.mark.parametrize(
    "name,column",
    [
        ("rows.csv", "feed_a"),
        ("rows.csv", "positions"),
        ("power.csv", "capacity_kw"),
        ("cooling.csv", "medium"),
        ("pods.csv", "ports"),
        ("demand.csv", "model"),
    ],
)
def test_missing_required_column(tmp_path, name, column):
    rows = table(name)
    i = rows[0].index(column)
    edited = csv_text([r[:i] + r[i + 1 :] for r in rows])
    issue = expect(tmp_path, {name: edited}, name, None, column, "required column is missing")
    assert str(issue).endswith(f"{name}, column {column}: required column is missing")


def test_optional_columns_may_be_missing(tmp_path):
    power = csv_text([r[:3] for r in table("power.csv")])  # no derate
    cooling = csv_text([r[:4] for r in table("cooling.csv")])  # no spares
    site = load_site(make_site(tmp_path, {"power.csv": power, "cooling.csv": cooling}))
    assert all(d.derate == 1.0 for d in site.devices)
    assert all(c.spares == 0 for c in site.cooling)


def test_unknown_column(tmp_path):
    rows = table("rows.csv")
    edited = csv_text([rows[0] + ["colour"]] + [r + ["red"] for r in rows[1:]])
    issue = expect(tmp_path, {"rows.csv": edited}, "rows.csv", 1, "colour", "unknown column")
    assert "feed_a" in issue.message  # it lists the allowed columns


def test_column_named_twice(tmp_path):
    edited = "pod,ports,ports\nPOD-L,320,1\nPOD-A,300,1\n"
    expect(tmp_path, {"pods.csv": edited}, "pods.csv", 1, "ports", "column appears twice")


def test_unknown_file(tmp_path):
    expect(tmp_path, {"racks.csv": "rack\nR1\n"}, "racks.csv", None, None, "unknown file")


def test_workbook_missing_sheet(tmp_path):
    path = make_workbook(tmp_path, {"power.csv": None}, "small.xlsx")
    find(issues_of(path), "small.xlsx", None, None, "required sheet 'power' is missing")


def test_workbook_unknown_sheet(tmp_path):
    path = make_workbook(tmp_path, {"notes.csv": "note\nhi\n"}, "small.xlsx")
    find(issues_of(path), "small.xlsx:notes", None, None, "unknown sheet")


def test_workbook_issue_names_the_sheet_and_row(tmp_path):
    path = make_workbook(tmp_path, {"pods.csv": set_cell("pods.csv", 3, "ports", "-300")})
    issue = find(issues_of(path), "site.xlsx:pods", 3, "ports", "must be at least 0")
    assert str(issue) == f"{path}:pods, row 3, column ports: must be at least 0, got '-300'"


def test_workbook_row_numbers_when_the_table_starts_lower_down(tmp_path):
    """Rows are numbered as the spreadsheet shows them, even below blank top rows."""
    path = make_workbook(tmp_path, {})
    book = openpyxl.load_workbook(path)
    book["pods"].insert_rows(1, amount=2)  # header now on row 3
    book["pods"]["B5"] = -300  # POD-A
    book.save(path)
    find(issues_of(path), "site.xlsx:pods", 5, "ports", "must be at least 0")


def test_workbook_site_sheet_row(tmp_path):
    path = make_workbook(tmp_path, {"site.yaml": set_key("pue", "0.5")})
    # site sheet: header, name, grid_limit_kw, onsite_firm_kw, fixed_overhead_kw,
    # design_temp_c, pue (row 7)
    find(issues_of(path), "site.xlsx:site", 7, "value", "pue: must be at least 1")


def test_workbook_site_sheet_repeated_key(tmp_path):
    path = make_workbook(tmp_path, {})
    book = openpyxl.load_workbook(path)
    book["site"].append(["pue", 1.4])
    book.save(path)
    find(issues_of(path), "site.xlsx:site", 10, "key", "key 'pue' repeats")


# -- types ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,row,column,value,fragment",
    [
        ("rows.csv", 3, "positions", "four", "expected a whole number, got 'four'"),
        ("pods.csv", 3, "ports", "3.5", "expected a whole number, got '3.5'"),
        ("demand.csv", 2, "max_racks", "ten", "expected a whole number"),
        ("power.csv", 4, "capacity_kw", "800kW", "expected a number, got '800kW'"),
        ("rows.csv", 4, "max_rack_kw", "45 kW", "expected a number"),
        ("cooling.csv", 2, "unit_kw", "1,000", "expected a number"),
        ("rows.csv", 2, "liquid", "maybe", "expected true or false, got 'maybe'"),
        ("rows.csv", 5, "liquid", "2", "expected true or false"),
        ("cooling.csv", 3, "medium", "water", "expected one of 'air' or 'liquid', got 'water'"),
    ],
)
def test_wrong_type(tmp_path, name, row, column, value, fragment):
    expect(tmp_path, {name: set_cell(name, row, column, value)}, name, row, column, fragment)


def test_missing_required_value(tmp_path):
    edits = {"rows.csv": set_cell("rows.csv", 4, "feed_a", "")}
    expect(tmp_path, edits, "rows.csv", 4, "feed_a", "value is required")


# -- ranges -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,row,column",
    [
        ("power.csv", 2, "capacity_kw"),
        ("cooling.csv", 4, "units"),
        ("cooling.csv", 2, "unit_kw"),
        ("cooling.csv", 3, "spares"),
        ("pods.csv", 2, "ports"),
        ("rows.csv", 3, "positions"),
        ("rows.csv", 4, "max_rack_kg"),
        ("demand.csv", 2, "min_racks"),
        ("demand.csv", 3, "value"),
    ],
)
def test_negative_number(tmp_path, name, row, column):
    edits = {name: set_cell(name, row, column, "-1")}
    issue = expect(tmp_path, edits, name, row, column, "must be at least 0")
    assert issue.message.endswith("got '-1'")


@pytest.mark.parametrize(
    "value,fragment", [("0", "must be more than 0"), ("1.01", "must be at most 1"), ("-0.5", "")]
)
def test_derate_in_zero_one(tmp_path, value, fragment):
    expect(tmp_path, {"power.csv": set_cell("power.csv", 6, "derate", value)},
           "power.csv", 6, "derate", fragment)  # fmt: skip


@pytest.mark.parametrize("value", ["1.2", "-0.1"])
def test_liquid_fraction_in_zero_one(tmp_path, value):
    models = f"{MODELS_HEADER}\nmy-rack,16,20,15,{value},800,16,300000\n"
    fragment = "must be at most 1" if value == "1.2" else "must be at least 0"
    expect(tmp_path, {"models.csv": models}, "models.csv", 2, "liquid_fraction", fragment)


def test_range_boundaries_are_allowed(tmp_path):
    """derate 1, liquid_fraction 0 and 1 are valid."""
    models = f"{MODELS_HEADER}\nall-air,16,20,15,0,800,16,1\nall-liquid,16,20,15,1,800,16,1\n"
    site = load_site(make_site(tmp_path, {"models.csv": models}))
    assert site.model_by_id["all-liquid"].liquid_fraction == 1.0
    assert site.device_by_id["TX-A"].derate == 1.0


@pytest.mark.parametrize(
    "name,row,column,value,fragment",
    [
        ("power.csv", 3, "capacity_kw", "nan", "expected a finite number, got 'nan'"),
        ("power.csv", 3, "capacity_kw", "NaN", "expected a finite number"),
        ("cooling.csv", 2, "unit_kw", "inf", "expected a finite number, got 'inf'"),
        ("rows.csv", 2, "max_rack_kw", "-inf", ""),
        ("pods.csv", 2, "ports", "nan", "expected a whole number, got 'nan'"),
        ("demand.csv", 2, "value", "infinity", "expected a finite number"),
    ],
)
def test_nan_and_inf(tmp_path, name, row, column, value, fragment):
    expect(tmp_path, {name: set_cell(name, row, column, value)}, name, row, column, fragment)


@pytest.mark.parametrize(
    "name,row,column,value,fragment",
    [
        ("power.csv", 2, "capacity_kw", "1e300", "must be at most"),
        ("power.csv", 2, "capacity_kw", "1" * 400, "expected a finite number"),
        ("rows.csv", 5, "positions", "9" * 40, "must be at most 10000000"),
        ("rows.csv", 2, "max_rack_kw", "150000", "must be at most 10000"),
        ("cooling.csv", 2, "unit_kw", "2e8", "must be at most"),
        ("pods.csv", 2, "ports", "100000000", "must be at most"),
    ],
)
def test_huge_numbers(tmp_path, name, row, column, value, fragment):
    expect(tmp_path, {name: set_cell(name, row, column, value)}, name, row, column, fragment)


def test_out_of_range_weather_temperature(tmp_path):
    weather = "hour,temp_c\n0,25\n1,150\n"
    expect(tmp_path, {"weather.csv": weather}, "weather.csv", 3, "temp_c", "must be at most 70")


# -- ids and references -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,line,row,column,fragment",
    [
        ("rows.csv", "L,L1,4,PDU-LA,PDU-LB,150,,true,POD-L", 7, "row",
         "duplicate row 'L/L1' (first on row 2)"),
        ("power.csv", "UPS-A,TX-B,800,1", 10, "device",
         "duplicate device 'UPS-A' (first on row 4)"),
        ("pods.csv", "POD-L,100", 4, "pod", "duplicate pod 'POD-L'"),
        ("demand.csv", "infer,nvidia-dgx-h200,0,,none,1", 5, "cluster",
         "duplicate cluster 'infer'"),
    ],
)  # fmt: skip
def test_duplicate_ids(tmp_path, name, line, row, column, fragment):
    expect(tmp_path, {name: add_line(name, line)}, name, row, column, fragment)


def test_same_row_name_in_another_hall_is_not_a_duplicate(tmp_path):
    load_site(make_site(tmp_path, {"rows.csv": add_line("rows.csv", "A,L1,2,PDU-AA,,20,,false,")}))


def test_duplicate_model_in_models_csv(tmp_path):
    models = f"{MODELS_HEADER}\n{MY_RACK}\n{MY_RACK}\n"
    expect(tmp_path, {"models.csv": models}, "models.csv", 3, "model", "duplicate model 'my-rack'")


@pytest.mark.parametrize(
    "name,row,column,value,fragment",
    [
        ("rows.csv", 3, "feed_a", "PDU-XX", "device 'PDU-XX' is not in power.csv"),
        ("rows.csv", 5, "feed_b", "PDU-XY", "device 'PDU-XY' is not in power.csv"),
        ("rows.csv", 6, "pod", "POD-Z", "pod 'POD-Z' is not in pods.csv"),
        ("power.csv", 5, "parent", "TX-C", "parent 'TX-C' is not a device in power.csv"),
        ("demand.csv", 3, "model", "nvidia-dgx-h900",
         "model 'nvidia-dgx-h900' is in neither the hardware library"),
        ("cooling.csv", 4, "hall", "Q", "hall 'Q' has no rows in rows.csv"),
    ],
)  # fmt: skip
def test_reference_to_nothing(tmp_path, name, row, column, value, fragment):
    expect(tmp_path, {name: set_cell(name, row, column, value)}, name, row, column, fragment)


def test_reference_to_a_device_with_a_bad_number_is_not_also_missing(tmp_path):
    """One bad cell in power.csv must not make every row naming that device look wrong."""
    issues = issues_of(
        make_site(tmp_path, {"power.csv": set_cell("power.csv", 6, "capacity_kw", "x")})
    )
    find(issues, "power.csv", 6, "capacity_kw", "expected a number")
    assert len(issues) == 1, shown(issues)


def test_workbook_reference_names_the_sheet(tmp_path):
    path = make_workbook(tmp_path, {"rows.csv": set_cell("rows.csv", 3, "feed_a", "PDU-XX")})
    find(
        issues_of(path), "site.xlsx:rows", 3, "feed_a", "device 'PDU-XX' is not in the power sheet"
    )


# -- structure ----------------------------------------------------------------------------------
def test_power_cycle(tmp_path):
    edits = {"power.csv": set_cell("power.csv", 4, "parent", "PDU-LA")}  # UPS-A under PDU-LA
    expect(tmp_path, edits, "power.csv", 4, "parent",
           "the power chain has a cycle: UPS-A -> PDU-LA -> UPS-A")  # fmt: skip


def test_power_cycle_through_a_root_is_reported_once(tmp_path):
    issues = issues_of(
        make_site(tmp_path, {"power.csv": set_cell("power.csv", 2, "parent", "PDU-LA")})
    )
    find(issues, "power.csv", 2, "parent", "cycle: TX-A -> PDU-LA -> UPS-A -> TX-A")
    assert len([i for i in issues if "cycle" in i.message]) == 1, shown(issues)


def test_device_its_own_parent(tmp_path):
    edits = {"power.csv": set_cell("power.csv", 3, "parent", "TX-B")}
    expect(tmp_path, edits, "power.csv", 3, "parent", "a device cannot be its own parent")


def test_feed_a_equals_feed_b(tmp_path):
    edits = {"rows.csv": set_cell("rows.csv", 4, "feed_b", "PDU-AA")}
    expect(tmp_path, edits, "rows.csv", 4, "feed_b", "feed_b equals feed_a ('PDU-AA')")


def test_min_racks_above_max_racks(tmp_path):
    edits = {"demand.csv": set_cell("demand.csv", 4, "min_racks", "3")}
    expect(tmp_path, edits, "demand.csv", 4, "min_racks", "min_racks (3) exceeds max_racks (1)")


def test_unknown_colocate(tmp_path):
    edits = {"demand.csv": set_cell("demand.csv", 2, "colocate", "rack")}
    expect(tmp_path, edits, "demand.csv", 2, "colocate",
           "expected one of 'none', 'hall' or 'pod', got 'rack'")  # fmt: skip


def test_overhead_temperatures_unsorted(tmp_path):
    overhead = "temp_c,air_overhead,liquid_overhead\n10,0.15,0.04\n40,0.48,0.2\n25,0.27,0.08\n"
    expect(tmp_path, {"overhead.csv": overhead}, "overhead.csv", 4, "temp_c",
           "temperatures must increase down the table: 25 comes after 40")  # fmt: skip


def test_overhead_temperature_repeats(tmp_path):
    overhead = OVERHEAD + "40,0.5,0.21\n"
    expect(tmp_path, {"overhead.csv": overhead}, "overhead.csv", 5, "temp_c",
           "temperature 40 repeats")  # fmt: skip


def test_spares_exceed_units(tmp_path):
    edits = {"cooling.csv": set_cell("cooling.csv", 3, "spares", "3")}
    expect(tmp_path, edits, "cooling.csv", 3, "spares", "spares (3) exceed units (2)")


# -- unreadable files ----------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\xef\xbb\xbf", b"\r\n"])
def test_empty_file(tmp_path, content):
    expect(tmp_path, {"demand.csv": content}, "demand.csv", None, None, "file is empty")


def test_header_without_rows(tmp_path):
    header = text("demand.csv").splitlines()[0] + "\n"
    expect(tmp_path, {"demand.csv": header}, "demand.csv", 2, None, "has a header but no data rows")


def test_binary_file(tmp_path):
    expect(tmp_path, {"power.csv": bytes(range(256))}, "power.csv", None, None, "not a text file")


def test_not_utf8(tmp_path):
    content = text("rows.csv").replace("L1", "L\u00e91").encode("latin-1")
    expect(tmp_path, {"rows.csv": content}, "rows.csv", None, None, "not UTF-8 text")


def test_unreadable_csv(tmp_path):
    content = 'pod,ports\n"POD-L,320\nPOD-A,300\n'
    expect(tmp_path, {"pods.csv": content}, "pods.csv", None, None, "not a readable CSV table")


def test_not_a_workbook(tmp_path):
    path = tmp_path / "garbage.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    find(issues_of(path), "garbage.xlsx", None, None, "not a readable .xlsx workbook")


def test_no_such_site(tmp_path):
    find(issues_of(tmp_path / "nowhere"), "nowhere", None, None, "no such site folder")
    find(issues_of(tmp_path / "nowhere.xlsx"), "nowhere.xlsx", None, None, "no such file")


def test_a_csv_file_is_not_a_site(tmp_path):
    find(issues_of(SMALL / "rows.csv"), "rows.csv", None, None, "expected a site folder")


def test_row_with_more_cells_than_the_header(tmp_path):
    rows = table("rows.csv")
    rows[2].append("oops")
    issues = issues_of(make_site(tmp_path, {"rows.csv": csv_text(rows)}))
    find(issues, "rows.csv", 3, None, "more cells than header columns")
    assert len(issues) == 1, shown(issues)


def test_a_row_with_an_extra_cell_in_the_middle_is_one_issue(tmp_path):
    """Cells shifted right by an inserted cell are not also reported as bad values."""
    rows = table("rows.csv")
    rows[3].insert(2, "x")
    issues = issues_of(make_site(tmp_path, {"rows.csv": csv_text(rows)}))
    find(issues, "rows.csv", 4, None, "more cells than header columns (9 columns, extra 'POD-A')")
    assert len(issues) == 1, shown(issues)


def test_workbook_row_with_more_cells_than_the_header(tmp_path):
    rows = table("rows.csv")
    rows[2].append("oops")
    path = make_workbook(tmp_path, {"rows.csv": csv_text(rows)})
    issues = issues_of(path)
    find(issues, "site.xlsx:rows", 3, None, "more cells than header columns")
    assert len(issues) == 1, shown(issues)


def test_trailing_empty_cells_are_not_extra(tmp_path):
    content = "".join(line + ",,\n" for line in text("rows.csv").splitlines()[1:])
    rows = text("rows.csv").splitlines()[0] + "\n" + content
    load_site(make_site(tmp_path, {"rows.csv": rows}))


def test_an_unreadable_file_is_one_issue(tmp_path):
    issues = issues_of(make_site(tmp_path, {"pods.csv": b""}))
    assert len(issues) == 1, shown(issues)


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("power.csv", None, "required file is missing"),
        ("power.csv", b"\x00\x01", "not a text file"),
        ("power.csv", "parent,capacity_kw,derate\n,1250,1\n", "required column is missing"),
        ("power.csv", "device,parent,capacity_kw,derate\n", "has a header but no data rows"),
        ("rows.csv", b"", "file is empty"),
        ("rows.csv", "hall,row,positions,feed_a,colour\nL,L1,4,PDU-LA,red\n", "unknown column"),
        ("pods.csv", 'pod,ports\n"POD-L,320\n', "not a readable CSV table"),
    ],
)
def test_a_broken_table_does_not_make_references_into_it_errors(tmp_path, name, content, fragment):
    """No 'device is not in power.csv' for each feed, no 'hall has no rows' for each cooling
    line: the one issue about the table says it all."""
    issues = issues_of(make_site(tmp_path, {name: content}))
    assert all(Path(i.where).name == name for i in issues), shown(issues)
    assert any(fragment in i.message for i in issues), shown(issues)


def test_a_missing_optional_table_still_leaves_references_to_it_wrong(tmp_path):
    """Without pods.csv, rows naming pods name pods that do not exist."""
    issues = issues_of(make_site(tmp_path, {"pods.csv": None}))
    find(issues, "rows.csv", 2, "pod", "pod 'POD-L' is not in pods.csv")


def test_a_broken_models_csv_does_not_make_every_model_unknown(tmp_path):
    models = f"{MODELS_HEADER},colour\n{MY_RACK},red\n"
    demand = add_line("demand.csv", "mine,my-rack,0,2,none,1")
    issues = issues_of(make_site(tmp_path, {"models.csv": models, "demand.csv": demand}))
    find(issues, "models.csv", 1, "colour", "unknown column")
    assert len(issues) == 1, shown(issues)


def test_unclosed_quote_names_the_line(tmp_path):
    content = 'pod,ports\nPOD-L,320\n"POD-A,300\n'
    issue = expect(tmp_path, {"pods.csv": content}, "pods.csv", None, None, "line 3")
    assert "never closed" in issue.message


def test_csv_starting_with_blank_lines_loads(tmp_path):
    """Blank lines above the header are skipped; rows keep the numbers a spreadsheet shows."""
    edits = {name: "\n\n" + text(name) for name in SITE_FILES if name.endswith(".csv")}
    assert load_site(make_site(tmp_path, edits)) == load_site(SMALL)
    bad = "\n" + set_cell("pods.csv", 3, "ports", "-1")
    issues = issues_of(make_site(tmp_path, {"pods.csv": bad}, "bad"))
    find(issues, "pods.csv", 4, "ports", "must be at least 0")


def test_header_problems_are_on_the_header_row(tmp_path):
    content = "\n" + "pod,ports,ports\nPOD-L,320,1\nPOD-A,300,1\n"
    expect(tmp_path, {"pods.csv": content}, "pods.csv", 2, "ports", "column appears twice")
    header_only = "\n\n" + text("demand.csv").splitlines()[0] + "\n"
    issues = issues_of(make_site(tmp_path, {"demand.csv": header_only}, "header_only"))
    find(issues, "demand.csv", 4, None, "has a header but no data rows")


def test_quoted_cell_spanning_lines_is_one_row(tmp_path):
    content = 'pod,ports\n"POD-L\nand more",320\nPOD-A,-1\n'
    issue = expect(tmp_path, {"pods.csv": content}, "pods.csv", 3, "ports", "must be at least 0")
    assert issue.message == "must be at least 0, got '-1'"


def test_long_values_are_shortened_in_messages(tmp_path):
    long = "PDU-" + "X" * 5000
    issues = issues_of(make_site(tmp_path, {"rows.csv": set_cell("rows.csv", 3, "feed_a", long)}))
    issue = find(issues, "rows.csv", 3, "feed_a", "is not in power.csv")
    assert len(issue.message) < 100 and "\u2026" in issue.message
    issues = issues_of(
        make_site(tmp_path, {"pods.csv": set_cell("pods.csv", 2, "ports", "x" * 5000)}, "b")
    )
    issue = find(issues, "pods.csv", 2, "ports", "expected a whole number")
    assert len(issue.message) < 100


def test_huge_integer_is_too_large(tmp_path):
    edits = {"pods.csv": set_cell("pods.csv", 2, "ports", "9" * 5000)}
    issue = expect(tmp_path, edits, "pods.csv", 2, "ports", "number too large, got '999")
    assert len(issue.message) < 100


@pytest.mark.parametrize(
    "name,row,column,fragment",
    [
        ("rows.csv", 4, "max_rack_kg", "must be at least 0, got"),
        ("power.csv", 2, "capacity_kw", "must be at least 0, got"),
        ("demand.csv", 3, "value", "must be at least 0, got"),
    ],
)
def test_float_bounds_read_as_written(tmp_path, name, row, column, fragment):
    """A float column's bound is shown as 0, not 0.0."""
    issue = expect(tmp_path, {name: set_cell(name, row, column, "-1")}, name, row, column, fragment)
    assert issue.message == "must be at least 0, got '-1'"


def test_float_upper_bound_read_as_written(tmp_path):
    edits = {"power.csv": set_cell("power.csv", 2, "capacity_kw", "1e300")}
    issue = expect(tmp_path, edits, "power.csv", 2, "capacity_kw", "must be at most 100000000,")
    assert "e+" not in issue.message.split(",")[0]


# -- site.yaml ----------------------------------------------------------------------------------
def test_invalid_yaml(tmp_path):
    content = text("site.yaml") + "pue: [1.3\n"
    # row = the YAML line where the parser gave up; the message names where the list began
    issue = expect(tmp_path, {"site.yaml": content}, "site.yaml", 11, None, "invalid YAML")
    assert "started on line 10" in issue.message


def test_yaml_not_a_mapping(tmp_path):
    edits = {"site.yaml": "- grid_limit_kw\n- 1010\n"}
    expect(tmp_path, edits, "site.yaml", None, None, "expected a mapping of keys to values")


def test_yaml_empty(tmp_path):
    expect(tmp_path, {"site.yaml": "# nothing\n"}, "site.yaml", None, None, "file is empty")


def test_yaml_not_utf8(tmp_path):
    content = text("site.yaml").replace("small", "sm\u00e4ll").encode("latin-1")
    expect(tmp_path, {"site.yaml": content}, "site.yaml", None, None, "not UTF-8 text")


def test_unknown_site_key(tmp_path):
    content = text("site.yaml") + "grid_limit_mw: 1\n"
    issue = expect(
        tmp_path, {"site.yaml": content}, "site.yaml", None, "grid_limit_mw", "unknown key"
    )
    assert "grid_limit_kw" in issue.message  # lists the allowed keys


def test_missing_grid_limit(tmp_path):
    content = "".join(s + "\n" for s in text("site.yaml").splitlines() if "grid_limit" not in s)
    expect(
        tmp_path,
        {"site.yaml": content},
        "site.yaml",
        None,
        "grid_limit_kw",
        "required key is missing",
    )


@pytest.mark.parametrize(
    "key,value,fragment",
    [
        ("grid_limit_kw", "lots", "expected a number, got 'lots'"),
        ("grid_limit_kw", "-5", "must be at least 0"),
        ("fixed_overhead_kw", ".nan", "expected a finite number"),
        ("onsite_firm_kw", ".inf", "expected a finite number"),
        ("pue", "0.9", "must be at least 1"),
        ("objective", "money", "expected one of 'gpus' or 'cost', got 'money'"),
        ("design_temp_c", "300", "must be at most 70"),
        ("pue", "[1.2, 1.3]", "expected a single value"),
    ],
)
def test_site_key_value(tmp_path, key, value, fragment):
    expect(tmp_path, {"site.yaml": set_key(key, value)}, "site.yaml", None, key, fragment)


def test_yaml_repeated_key(tmp_path):
    content = text("site.yaml") + "grid_limit_kw: 5000\n"
    issue = expect(tmp_path, {"site.yaml": content}, "site.yaml", None, "grid_limit_kw", "repeats")
    assert "line 10 (first on line 3)" in issue.message


def test_yaml_integer_too_long(tmp_path):
    issues = issues_of(make_site(tmp_path, {"site.yaml": set_key("grid_limit_kw", "1" * 5000)}))
    find(issues, "site.yaml", 3, None, "number too large")
    assert len(issues) == 1, shown(issues)  # no 'required key is missing' as well
    assert all(len(i.message) < 200 for i in issues)


def test_yaml_hex_integer_too_long_to_write(tmp_path):
    edits = {"site.yaml": set_key("grid_limit_kw", "0x" + "f" * 5000)}
    expect(tmp_path, edits, "site.yaml", None, "grid_limit_kw", "number too large")


def test_yaml_impossible_date(tmp_path):
    edits = {"site.yaml": set_key("name", "2024-13-45")}
    expect(tmp_path, edits, "site.yaml", 2, None, "invalid YAML: cannot read value")


def test_unreadable_yaml_is_one_issue(tmp_path):
    issues = issues_of(make_site(tmp_path, {"site.yaml": "grid_limit_kw: [\n"}))
    assert len(issues) == 1, shown(issues)


def test_workbook_site_sheet_unknown_key_is_at_column_key(tmp_path):
    path = make_workbook(tmp_path, {"site.yaml": text("site.yaml") + "colour: red\n"})
    find(issues_of(path), "site.xlsx:site", 10, "key", "colour: unknown key")


def test_workbook_site_values_are_reported_with_the_others(tmp_path):
    edits = dict(FIVE_DEFECTS, **{"site.yaml": set_key("pue", "0.9")})
    issues = issues_of(make_workbook(tmp_path, edits))
    find(issues, "site.xlsx:rows", 3, "positions", "expected a whole number")
    find(issues, "site.xlsx:site", 7, "value", "pue: must be at least 1, got '0.9'")


# -- row numbers ------------------------------------------------------------------------------
def test_row_numbers_count_blank_lines(tmp_path):
    content = text("rows.csv").replace("A,A1,6,", "\nA,A1,six,")
    expect(tmp_path, {"rows.csv": content}, "rows.csv", 5, "positions", "expected a whole number")


def test_row_numbers_with_crlf_and_bom(tmp_path):
    content = "\ufeff" + set_cell("power.csv", 9, "derate", "2").replace("\n", "\r\n")
    expect(tmp_path, {"power.csv": content}, "power.csv", 9, "derate", "must be at most 1")


def test_issue_text_names_file_row_and_column(tmp_path):
    folder = make_site(tmp_path, {"pods.csv": set_cell("pods.csv", 3, "ports", "-1")})
    with pytest.raises(SiteError) as info:
        load_site(folder)
    line = f"{folder / 'pods.csv'}, row 3, column ports: must be at least 0, got '-1'"
    assert str(info.value) == line
    assert info.value.exit_code == 2


# -- every problem at once -------------------------------------------------------------------------
FIVE_DEFECTS = {
    "rows.csv": set_cell("rows.csv", 3, "positions", "four"),
    "power.csv": set_cell("power.csv", 5, "parent", "TX-C"),
    "cooling.csv": set_cell("cooling.csv", 2, "units", "-3"),
    "pods.csv": add_line("pods.csv", "POD-L,100"),
    "demand.csv": set_cell("demand.csv", 4, "min_racks", "3"),
}


def test_every_problem_is_reported_at_once(tmp_path):
    issues = issues_of(make_site(tmp_path, FIVE_DEFECTS))
    assert len(issues) >= 5, shown(issues)
    find(issues, "rows.csv", 3, "positions", "expected a whole number")
    find(issues, "power.csv", 5, "parent", "parent 'TX-C' is not a device")
    find(issues, "cooling.csv", 2, "units", "must be at least 0")
    find(issues, "pods.csv", 4, "pod", "duplicate pod 'POD-L'")
    find(issues, "demand.csv", 4, "min_racks", "min_racks (3) exceeds max_racks (1)")


def test_every_problem_at_once_in_a_workbook(tmp_path):
    path = make_workbook(tmp_path, {k: v for k, v in FIVE_DEFECTS.items()})
    issues = issues_of(path)
    assert len(issues) >= 5, shown(issues)
    for sheet in ("rows", "power", "cooling", "pods", "demand"):
        assert any(i.where.endswith(f":{sheet}") for i in issues), shown(issues)


def test_site_yaml_problems_are_reported_with_the_others(tmp_path):
    edits = dict(FIVE_DEFECTS, **{"site.yaml": set_key("grid_limit_kw", "lots")})
    issues = issues_of(make_site(tmp_path, edits))
    find(issues, "rows.csv", 3, "positions", "expected a whole number")
    find(issues, "site.yaml", None, "grid_limit_kw", "expected a number")
    # a bad value is not also a missing one
    assert not any("required key is missing" in i.message for i in issues), shown(issues)


def test_every_problem_in_one_file_is_reported(tmp_path):
    rows = table("power.csv")
    rows[1][2] = "-1"  # TX-A capacity
    rows[2][3] = "0"  # TX-B derate
    rows[3][1] = "NOPE"  # UPS-A parent
    rows[4][2] = "x"  # UPS-B capacity
    issues = issues_of(make_site(tmp_path, {"power.csv": csv_text(rows)}))
    assert [(i.row, i.column) for i in issues] == [
        (2, "capacity_kw"), (3, "derate"), (5, "capacity_kw"), (4, "parent"),
    ]  # fmt: skip


# -- warnings ---------------------------------------------------------------------------------
def warnings_of(tmp_path: Path, edits: dict) -> list[Issue]:
    _, warnings = load_site_with_warnings(make_site(tmp_path, edits))
    return warnings


def test_no_warnings_on_the_small_site():
    assert load_site_with_warnings(SMALL)[1] == []


def test_warning_feeds_share_a_device_below_the_root(tmp_path):
    # A3 becomes dual-fed by PDU-AA and PDU-LA, both under UPS-A
    edits = {"rows.csv": set_cell("rows.csv", 6, "feed_b", "PDU-LA")}
    warnings = warnings_of(tmp_path, edits)
    find(warnings, "rows.csv", 6, "feed_b", "row A/A3: both feeds go through 'UPS-A'")
    assert len(warnings) == 1


def test_no_warning_when_feeds_share_only_the_root(tmp_path):
    power = text("power.csv").replace("UPS-B,TX-B", "UPS-B,TX-A")  # both UPS under TX-A
    assert warnings_of(tmp_path, {"power.csv": power}) == []


def test_warning_cluster_fits_no_row(tmp_path):
    edits = {"demand.csv": add_line("demand.csv", "big,amd-mi355x-liquid,0,,none,1")}
    warnings = warnings_of(tmp_path, edits)
    find(warnings, "demand.csv", 5, "model",
         "cluster 'big': model 'amd-mi355x-liquid' fits no row")  # fmt: skip
    assert len(warnings) == 1


def test_warning_liquid_rows_without_liquid_cooling(tmp_path):
    cooling = "".join(s + "\n" for s in text("cooling.csv").splitlines() if "liquid" not in s)
    demand = "".join(s + "\n" for s in text("demand.csv").splitlines() if "train" not in s)
    warnings = warnings_of(tmp_path, {"cooling.csv": cooling, "demand.csv": demand})
    find(warnings, "cooling.csv", None, "medium",
         "hall 'L' has liquid rows but no liquid cooling capacity")  # fmt: skip
    assert len(warnings) == 1


def test_warning_pod_no_row_uses(tmp_path):
    warnings = warnings_of(tmp_path, {"pods.csv": add_line("pods.csv", "POD-X,64")})
    find(warnings, "pods.csv", 4, "pod", "pod 'POD-X' is used by no row")
    assert len(warnings) == 1


def test_warning_liquid_cooling_at_the_halls_empty_liquid_line(tmp_path):
    cooling = set_cell("cooling.csv", 2, "spares", "3")  # L liquid: 3 units, all spares
    demand = "".join(s + "\n" for s in text("demand.csv").splitlines() if "train" not in s)
    warnings = warnings_of(tmp_path, {"cooling.csv": cooling, "demand.csv": demand})
    find(warnings, "cooling.csv", 2, "medium", "hall 'L' has liquid rows but no liquid cooling")


def test_warnings_name_the_sites_own_files(tmp_path):
    folder = make_site(tmp_path, {"pods.csv": add_line("pods.csv", "POD-X,64")})
    (warning,) = load_site_with_warnings(folder)[1]
    assert warning.where == str(folder / "pods.csv")


def test_warnings_in_a_workbook_name_the_sheet(tmp_path):
    path = make_workbook(tmp_path, {"rows.csv": set_cell("rows.csv", 6, "feed_b", "PDU-LA")})
    (warning,) = load_site_with_warnings(path)[1]
    assert str(warning).startswith(f"{path}:rows, row 6, column feed_b: row A/A3: both feeds")


def test_site_warnings_without_locations(tmp_path):
    """`site_warnings(site)` alone (a Site no longer knows its files) names the table file."""
    site = load_site(make_site(tmp_path, {"pods.csv": add_line("pods.csv", "POD-X,64")}))
    (warning,) = site_warnings(site)
    assert (warning.where, warning.row, warning.column) == ("pods.csv", None, "pod")


def test_warnings_do_not_stop_loading(tmp_path):
    edits = {
        "rows.csv": set_cell("rows.csv", 6, "feed_b", "PDU-LA"),
        "pods.csv": add_line("pods.csv", "POD-X,64"),
        "demand.csv": add_line("demand.csv", "big,amd-mi355x-liquid,0,,none,1"),
    }
    site, warnings = load_site_with_warnings(make_site(tmp_path, edits))
    assert len(warnings) == 3
    assert load_site(make_site(tmp_path, edits, "again")) == site


# -- the bad-input corpus -------------------------------------------------------------------------
def _corpus() -> list:
    with (CORPUS / "expected.csv").open(newline="", encoding="utf-8") as fh:
        cases = list(csv.DictReader(fh))
    params = []
    for case in cases:
        marks = (
            [pytest.mark.xfail(strict=True, reason=case["known_bug"])] if case["known_bug"] else []
        )
        params.append(pytest.param(case, id=case["case"], marks=marks))
    return params


def test_corpus_is_large_and_complete():
    with (CORPUS / "expected.csv").open(newline="", encoding="utf-8") as fh:
        cases = [r["case"] for r in csv.DictReader(fh)]
    assert len(cases) >= 30
    assert len(set(cases)) == len(cases)
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_dir() or p.suffix == ".xlsx"}
    on_disk -= {"__pycache__"}
    assert on_disk == set(cases)


@pytest.mark.parametrize("case", _corpus())
def test_corpus_case(case):
    issues = issues_of(CORPUS / case["case"])
    find(
        issues,
        case["file"],
        int(case["row"]) if case["row"] else None,
        case["column"] or None,
        case["message"],
    )
