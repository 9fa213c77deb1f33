"""Regenerate the bad-input corpus: `python tests/bad_inputs/make_corpus.py`.

Every case is `data/small` with exactly one defect, written either as a site folder
(`tests/bad_inputs/<case>/`) or as a workbook (`tests/bad_inputs/<case>.xlsx`). Beside the cases,
`expected.csv` lists, per case, the issue the loader must report:

    case, file, row, column, message, known_bug, exit

`file` is the basename of `Issue.where` (`rows.csv`, `site.yaml`, `wb_bad_type.xlsx:rows`, ...);
`row` is the row as a spreadsheet shows it (header = row 1), empty when the issue has none;
`column` is the column or `site.yaml` key, empty when none; `message` is a fragment of the
message. `known_bug` is empty unless the loader does not report the case correctly yet: then
it says what is wrong, and `tests/test_validation.py` marks the case as a strict xfail.
`exit` is the exit code of `rackfit validate` on the case (2: bad input), which
`tests/test_hostile_inputs.py` checks through the command line, with the message.

The `hostile_*` cases are files as an attacker or a broken tool makes them (an XML entity
bomb, a zip of something else, a CSV renamed .xlsx, an encrypted workbook, a sheet cut short,
a sheet that declares a million rows and 16,384 columns, a zip that claims to unpack to
gigabytes, a formula without a saved value, a line break or an escape character in an id).

The script only writes below `tests/bad_inputs/` and removes only the cases it generates (and
those listed in an older `expected.csv`).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SMALL = REPO / "data" / "small"
SITE_FILES = ("site.yaml", "rows.csv", "power.csv", "cooling.csv", "pods.csv", "demand.csv")

Files = dict[str, "str | bytes | None"]  # file name -> new content (None = delete the file)

MODELS_HEADER = "model,gpus,design_kw,typical_kw,liquid_fraction,weight_kg,ports,capex_usd"
MY_RACK = "my-rack,16,20,15,0,800,16,300000"
OVERHEAD = "temp_c,air_overhead,liquid_overhead\n10,0.15,0.04\n25,0.27,0.08\n40,0.48,0.20\n"


# -- editing helpers (the example files hold no quotes or embedded commas) ------------------
def small_files() -> dict[str, str]:
    return {name: (SMALL / name).read_text(encoding="utf-8") for name in SITE_FILES}


def lines_of(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()]


def text_of(rows: list[list[str]]) -> str:
    return "".join(",".join(r) + "\n" for r in rows)


def set_cell(text: str, row: int, column: str, value: str) -> str:
    """`row` as a spreadsheet shows it (header = 1)."""
    rows = lines_of(text)
    rows[row - 1][rows[0].index(column)] = value
    return text_of(rows)


def add_line(text: str, line: str) -> str:
    return text + line + "\n"


def drop_column(text: str, column: str) -> str:
    rows = lines_of(text)
    i = rows[0].index(column)
    return text_of([r[:i] + r[i + 1 :] for r in rows])


def add_column(text: str, column: str, value: str) -> str:
    rows = lines_of(text)
    return text_of([rows[0] + [column]] + [r + [value] for r in rows[1:]])


def set_key(text: str, key: str, value: str) -> str:
    out = []
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            line = f"{key}: {value}"
        out.append(line)
    return "\n".join(out) + "\n"


def drop_key(text: str, key: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if not line.startswith(f"{key}:"))


# -- the cases ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    edit: Callable[[dict[str, str]], Files]
    file: str
    row: int | None
    column: str | None
    message: str
    workbook: bool = False
    known_bug: str = ""
    build: Callable[[Path], None] | None = None  # writes the whole case itself (hostile_*)
    exit: int = 2


Edit = Callable[[dict[str, str]], Files]


def put(name: str, content: str | bytes | None) -> Edit:
    """Replace (or add, or with None delete) one whole file."""
    return lambda f: {name: content}


def drop(name: str) -> Edit:
    return put(name, None)


def cell(name: str, row: int, column: str, value: str) -> Edit:
    return lambda f: {name: set_cell(f[name], row, column, value)}


def line(name: str, text: str) -> Edit:
    return lambda f: {name: add_line(f[name], text)}


def key(name: str, value: str) -> Edit:
    return lambda f: {"site.yaml": set_key(f["site.yaml"], name, value)}


def edit(name: str, change: Callable[[str], str | bytes]) -> Edit:
    return lambda f: {name: change(f[name])}


ROW_L2 = "L,L2,4,PDU-LA,PDU-LB,150,,true,POD-L"
UNSORTED = "temp_c,air_overhead,liquid_overhead\n10,0.15,0.04\n40,0.48,0.2\n25,0.27,0.08\n"
RAGGED = "more cells than header columns"


# -- contract v1.1: racks already standing, failover ratings, phases --------------------------
EXISTING = "hall,row,position,model,cluster\n"


def existing(*lines: str) -> Edit:
    return put("existing.csv", EXISTING + "".join(line + "\n" for line in lines))


def column_for(name: str, column: str, key: str, value: str) -> Edit:
    """Add `column`, with `value` on the rows whose first or second cell is `key`."""

    def change(text: str) -> str:
        rows = lines_of(text)
        out = [rows[0] + [column]]
        out += [r + [value if key in r[:2] else ""] for r in rows[1:]]
        return text_of(out)

    return edit(name, change)


def both(*edits: Edit) -> Edit:
    def apply(f: dict[str, str]) -> Files:
        out: Files = {}
        for e in edits:
            out.update(e(f))
        return out

    return apply


# -- hostile files: each builder writes the whole case ---------------------------------------
def _zip(path: Path, entries: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            zout.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip


def _small_workbook_entries(tmp: Path) -> list[tuple[str, bytes]]:
    write_workbook(tmp, small_files())
    with zipfile.ZipFile(tmp) as zin:
        return [(info.filename, zin.read(info)) for info in zin.infolist()]


def _sheet_entry(entries: list[tuple[str, bytes]], title: str) -> str:
    """The zip entry of the sheet called `title` (sheets are written in the files' order)."""
    order = ["site", *(Path(n).stem for n in SITE_FILES if n != "site.yaml")]
    return f"xl/worksheets/sheet{order.index(title) + 1}.xml"


def _with_sheet(title: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        entries = _small_workbook_entries(path)
        target = _sheet_entry(entries, title)
        _zip(path, [(n, change(d) if n == target else d) for n, d in entries])

    return build


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)
FAR_CELL = b'<row r="1048576"><c r="XFD1048576" s="0" t="inlineStr"><is><t>x</t></is></c></row>'


def _huge_dimension(data: bytes) -> bytes:
    """One more cell, at XFD1048576, and a dimension that declares the whole sheet."""
    data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
    return data.replace(b"</sheetData>", FAR_CELL + b"</sheetData>")


def _formula_without_value(data: bytes) -> bytes:
    """rows!F2 (max_rack_kw of L1, 150) as the formula =10 with no saved value, as scripts
    and templates write formulas."""
    return re.sub(rb'<c r="F2"[^>]*>.*?</c>', b'<c r="F2"><f>10</f></c>', data, count=1)


def _claims_gigabytes(path: Path) -> None:
    """A valid workbook whose zip directory says one sheet unpacks to almost 4 GiB."""
    entries = _small_workbook_entries(path)
    _zip(path, entries)
    data = bytearray(path.read_bytes())
    target = _sheet_entry(entries, "rows").encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == target:
            data[at + 24 : at + 28] = (0xFFFFFF00).to_bytes(4, "little")  # uncompressed size
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def _raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _zip_of(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda path: _zip(path, [(name, content)])


def _truncated(path: Path) -> None:
    _with_sheet("rows", lambda d: d[: len(d) // 2])(path)


def _folder(edits: Files) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        path.mkdir()
        files: Files = dict(small_files()) | edits
        for name, content in files.items():
            if content is not None:
                data = content.encode("utf-8") if isinstance(content, str) else content
                (path / name).write_bytes(data)

    return build


def _demand_with(cluster: str) -> str:
    rows = list(csv.reader(io.StringIO(small_files()["demand.csv"])))
    rows[1][0] = cluster
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


# A CSV cell that holds a line break and a forged message line; an escape sequence in a hall.
FORGED = "train\nerror: everything is fine"
ESCAPE = "L\x1b[2J"
UNREADABLE = "not a readable .xlsx workbook"
OLE = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504) + b"EncryptedPackage" * 64


CASES: list[Case] = [
    # missing / unknown files and columns
    Case("missing_file_rows", drop("rows.csv"),
         "rows.csv", None, None, "required file is missing"),
    Case("missing_file_site_yaml", drop("site.yaml"),
         "site.yaml", None, None, "required file is missing"),
    Case("missing_column_capacity", edit("power.csv", lambda t: drop_column(t, "capacity_kw")),
         "power.csv", None, "capacity_kw", "required column is missing"),
    Case("unknown_column", edit("rows.csv", lambda t: add_column(t, "colour", "red")),
         "rows.csv", 1, "colour", "unknown column"),
    Case("unknown_file", put("racks.csv", "rack,kw\nR1,10\n"),
         "racks.csv", None, None, "unknown file"),
    Case("duplicate_header", put("pods.csv", "pod,ports,ports\nPOD-L,320,1\nPOD-A,300,1\n"),
         "pods.csv", 1, "ports", "column appears twice"),
    Case("unnamed_column", edit("pods.csv", lambda t: add_column(t, "", "1")),
         "pods.csv", 1, None, "a column has no name"),
    # wrong types, one per kind of column
    Case("wrong_type_int", cell("rows.csv", 3, "positions", "four"),
         "rows.csv", 3, "positions", "expected a whole number"),
    Case("wrong_type_int_fraction", cell("pods.csv", 3, "ports", "3.5"),
         "pods.csv", 3, "ports", "expected a whole number"),
    Case("wrong_type_float", cell("power.csv", 4, "capacity_kw", "800kW"),
         "power.csv", 4, "capacity_kw", "expected a number"),
    Case("wrong_type_bool", cell("rows.csv", 2, "liquid", "maybe"),
         "rows.csv", 2, "liquid", "expected true or false"),
    Case("wrong_type_literal_medium", cell("cooling.csv", 3, "medium", "water"),
         "cooling.csv", 3, "medium", "expected one of"),
    Case("missing_value_feed_a", cell("rows.csv", 4, "feed_a", ""),
         "rows.csv", 4, "feed_a", "value is required"),
    # negative and out-of-range numbers
    Case("negative_capacity", cell("power.csv", 2, "capacity_kw", "-1250"),
         "power.csv", 2, "capacity_kw", "must be at least 0"),
    Case("negative_units", cell("cooling.csv", 4, "units", "-4"),
         "cooling.csv", 4, "units", "must be at least 0"),
    Case("negative_min_racks", cell("demand.csv", 2, "min_racks", "-1"),
         "demand.csv", 2, "min_racks", "must be at least 0"),
    Case("derate_zero", cell("power.csv", 6, "derate", "0"),
         "power.csv", 6, "derate", "must be more than 0"),
    Case("derate_above_one", cell("power.csv", 7, "derate", "1.5"),
         "power.csv", 7, "derate", "must be at most 1"),
    Case("liquid_fraction_above_one",
         put("models.csv", f"{MODELS_HEADER}\nmy-rack,16,20,15,1.2,800,16,300000\n"),
         "models.csv", 2, "liquid_fraction", "must be at most 1"),
    Case("nan_capacity", cell("power.csv", 3, "capacity_kw", "nan"),
         "power.csv", 3, "capacity_kw", "expected a finite number"),
    Case("inf_unit_kw", cell("cooling.csv", 2, "unit_kw", "inf"),
         "cooling.csv", 2, "unit_kw", "expected a finite number"),
    Case("huge_capacity", cell("power.csv", 2, "capacity_kw", "1e300"),
         "power.csv", 2, "capacity_kw", "must be at most"),
    Case("huge_positions", cell("rows.csv", 5, "positions", "6" * 40),
         "rows.csv", 5, "positions", "must be at most"),
    Case("weather_too_hot", put("weather.csv", "hour,temp_c\n0,25\n1,150\n"),
         "weather.csv", 3, "temp_c", "must be at most 70"),
    # duplicate ids
    Case("duplicate_row", line("rows.csv", "L,L1,4,PDU-LA,PDU-LB,150,,true,POD-L"),
         "rows.csv", 7, "row", "duplicate row 'L/L1'"),
    Case("duplicate_device", line("power.csv", "UPS-A,TX-B,800,1"),
         "power.csv", 10, "device", "duplicate device 'UPS-A'"),
    Case("duplicate_pod", line("pods.csv", "POD-L,100"),
         "pods.csv", 4, "pod", "duplicate pod 'POD-L'"),
    Case("duplicate_cluster", line("demand.csv", "infer,nvidia-dgx-h200,0,,none,1"),
         "demand.csv", 5, "cluster", "duplicate cluster 'infer'"),
    Case("duplicate_model", put("models.csv", f"{MODELS_HEADER}\n{MY_RACK}\n{MY_RACK}\n"),
         "models.csv", 3, "model", "duplicate model 'my-rack'"),
    Case("duplicate_weather_hour", put("weather.csv", "hour,temp_c\n0,25\n1,26\n1,27\n"),
         "weather.csv", 4, "hour", "duplicate hour '1'"),
    # references to nothing
    Case("unknown_feed_device", cell("rows.csv", 3, "feed_b", "PDU-XX"),
         "rows.csv", 3, "feed_b", "device 'PDU-XX' is not in power.csv"),
    Case("unknown_parent", cell("power.csv", 5, "parent", "TX-C"),
         "power.csv", 5, "parent", "parent 'TX-C' is not a device"),
    Case("unknown_pod", cell("rows.csv", 6, "pod", "POD-Z"),
         "rows.csv", 6, "pod", "pod 'POD-Z' is not in pods.csv"),
    Case("unknown_model", cell("demand.csv", 3, "model", "nvidia-dgx-h900"),
         "demand.csv", 3, "model", "model 'nvidia-dgx-h900' is in neither"),
    Case("unknown_hall", line("cooling.csv", "Q,air,2,100,0"),
         "cooling.csv", 5, "hall", "hall 'Q' has no rows"),
    # structure
    Case("power_cycle", cell("power.csv", 4, "parent", "PDU-LA"),
         "power.csv", 4, "parent", "the power chain has a cycle: UPS-A -> PDU-LA -> UPS-A"),
    Case("power_self_parent", cell("power.csv", 2, "parent", "TX-A"),
         "power.csv", 2, "parent", "cannot be its own parent"),
    Case("feed_a_equals_feed_b", cell("rows.csv", 4, "feed_b", "PDU-AA"),
         "rows.csv", 4, "feed_b", "feed_b equals feed_a"),
    Case("min_above_max", cell("demand.csv", 4, "min_racks", "3"),
         "demand.csv", 4, "min_racks", "min_racks (3) exceeds max_racks (1)"),
    Case("unknown_colocate", cell("demand.csv", 2, "colocate", "rack"),
         "demand.csv", 2, "colocate", "expected one of 'none', 'hall' or 'pod'"),
    Case("overhead_unsorted", put("overhead.csv", UNSORTED),
         "overhead.csv", 4, "temp_c", "temperatures must increase"),
    Case("overhead_duplicate_temp", put("overhead.csv", add_line(OVERHEAD, "40,0.5,0.21")),
         "overhead.csv", 5, "temp_c", "temperature 40 repeats"),
    Case("spares_exceed_units", cell("cooling.csv", 3, "spares", "3"),
         "cooling.csv", 3, "spares", "spares (3) exceed units (2)"),
    # unreadable files
    Case("empty_file", put("pods.csv", ""),
         "pods.csv", None, None, "file is empty"),
    Case("header_only", edit("demand.csv", lambda t: t.splitlines()[0] + "\n"),
         "demand.csv", 2, None, "has a header but no data rows"),
    Case("binary_garbage", put("power.csv", bytes(range(256)) * 4),
         "power.csv", None, None, "not a text file"),
    Case("not_utf8", edit("rows.csv", lambda t: t.replace("L1", "L\u00e91").encode("latin-1")),
         "rows.csv", None, None, "not UTF-8 text"),
    Case("unterminated_quote", put("pods.csv", 'pod,ports\n"POD-L,320\nPOD-A,300\n'),
         "pods.csv", None, None, "not a readable CSV table"),
    Case("extra_cell", edit("rows.csv", lambda t: t.replace(ROW_L2, ROW_L2 + ",oops")),
         "rows.csv", 3, None, RAGGED),
    Case("blank_first_line", edit("rows.csv", lambda t: "\n" + set_cell(t, 3, "positions", "x")),
         "rows.csv", 4, "positions", "expected a whole number"),
    Case("huge_integer_cell", cell("pods.csv", 2, "ports", "9" * 5000),
         "pods.csv", 2, "ports", "number too large"),
    # site.yaml
    Case("invalid_yaml", edit("site.yaml", lambda t: t + "pue: [1.3\n"),
         "site.yaml", 11, None, "invalid YAML"),
    Case("yaml_not_a_mapping", put("site.yaml", "- grid_limit_kw\n- 1010\n"),
         "site.yaml", None, None, "expected a mapping"),
    Case("yaml_unknown_key", edit("site.yaml", lambda t: t + "grid_limit_mw: 1\n"),
         "site.yaml", None, "grid_limit_mw", "unknown key"),
    Case("yaml_missing_grid_limit", edit("site.yaml", lambda t: drop_key(t, "grid_limit_kw")),
         "site.yaml", None, "grid_limit_kw", "required key is missing"),
    Case("yaml_wrong_type", key("grid_limit_kw", "lots"),
         "site.yaml", None, "grid_limit_kw", "expected a number"),
    Case("yaml_list_value", key("pue", "[1.2, 1.3]"),
         "site.yaml", None, "pue", "expected a single value"),
    Case("yaml_unknown_objective", key("objective", "money"),
         "site.yaml", None, "objective", "expected one of 'gpus' or 'cost'"),
    Case("yaml_pue_below_one", key("pue", "0.9"),
         "site.yaml", None, "pue", "must be at least 1"),
    Case("yaml_negative_grid", key("grid_limit_kw", "-5"),
         "site.yaml", None, "grid_limit_kw", "must be at least 0"),
    Case("yaml_nan", key("fixed_overhead_kw", ".nan"),
         "site.yaml", None, "fixed_overhead_kw", "expected a finite number"),
    Case("yaml_repeated_key", edit("site.yaml", lambda t: t + "grid_limit_kw: 5000\n"),
         "site.yaml", None, "grid_limit_kw", "key 'grid_limit_kw' repeats on line 10"),
    Case("yaml_integer_too_long", key("grid_limit_kw", "1" * 5000),
         "site.yaml", 3, None, "number too large"),
    # workbooks
    Case("wb_missing_sheet", drop("power.csv"),
         "wb_missing_sheet.xlsx", None, None, "required sheet 'power' is missing", True),
    Case("wb_missing_site_sheet", drop("site.yaml"),
         "wb_missing_site_sheet.xlsx", None, None, "required sheet 'site' is missing", True),
    Case("wb_unknown_sheet", put("notes.csv", "note\nhello\n"),
         "wb_unknown_sheet.xlsx:notes", None, None, "unknown sheet", True),
    Case("wb_wrong_type", cell("cooling.csv", 2, "units", "three"),
         "wb_wrong_type.xlsx:cooling", 2, "units", "expected a whole number", True),
    Case("wb_duplicate_device", line("power.csv", "TX-A,,1250,1"),
         "wb_duplicate_device.xlsx:power", 10, "device", "duplicate device 'TX-A'", True),
    Case("wb_site_unknown_key", edit("site.yaml", lambda t: t + "colour: red\n"),
         "wb_site_unknown_key.xlsx:site", 10, "key", "colour: unknown key", True),
    Case("wb_site_bad_value", key("grid_limit_kw", "lots"),
         "wb_site_bad_value.xlsx:site", 3, "value", "grid_limit_kw: expected a number", True),
    Case("wb_extra_cell", edit("rows.csv", lambda t: t.replace(ROW_L2, ROW_L2 + ",oops")),
         "wb_extra_cell.xlsx:rows", 3, None, RAGGED, True),
    Case("wb_empty_sheet", put("pods.csv", ""),
         "wb_empty_sheet.xlsx:pods", None, None, "sheet is empty", True),
    # hostile files
    Case("hostile_entity_bomb.xlsx", put("x", None), "hostile_entity_bomb.xlsx", None, None,
         UNREADABLE, build=_with_sheet("rows", lambda d: BOMB)),
    Case("hostile_zip_of_text.xlsx", put("x", None), "hostile_zip_of_text.xlsx", None, None,
         "a zip archive without xl/workbook.xml", build=_zip_of("notes.txt", b"hello\n")),
    Case("hostile_csv_renamed.xlsx", put("x", None), "hostile_csv_renamed.xlsx", None, None,
         "a CSV file named .xlsx", build=_raw(small_files()["rows.csv"].encode())),
    Case("hostile_encrypted.xlsx", put("x", None), "hostile_encrypted.xlsx", None, None,
         "password-protected", build=_raw(OLE)),
    Case("hostile_truncated_sheet.xlsx", put("x", None), "hostile_truncated_sheet.xlsx", None,
         None, UNREADABLE, build=_truncated),
    Case("hostile_claims_gigabytes.xlsx", put("x", None), "hostile_claims_gigabytes.xlsx",
         None, None, "too large to be a site", build=_claims_gigabytes),
    Case("hostile_huge_dimension.xlsx", put("x", None), "hostile_huge_dimension.xlsx:rows",
         1048576, None, RAGGED, build=_with_sheet("rows", _huge_dimension)),
    Case("hostile_formula_without_value.xlsx", put("x", None),
         "hostile_formula_without_value.xlsx:rows", 2, None,
         "cell F2 holds a formula (=10) without a saved result",
         build=_with_sheet("rows", _formula_without_value)),
    Case("hostile_line_break_id", put("x", None), "demand.csv", 2, "cluster",
         "holds a control character (U+000A", build=_folder({"demand.csv": _demand_with(FORGED)})),
    Case("hostile_escape_in_hall", put("x", None), "rows.csv", 2, "hall",
         "holds a control character (U+001B",
         build=_folder({"rows.csv": set_cell(small_files()["rows.csv"], 2, "hall", ESCAPE)})),
    # contract v1.1: racks already standing, failover ratings, phases
    Case("v11_existing_off_the_row", existing("A,A1,7,nvidia-dgx-h100,infer"),
         "existing.csv", 2, "position", "position 7 is off the row: A/A1 has 6"),
    Case("v11_existing_unknown_row", existing("A,A9,1,nvidia-dgx-h100,infer"),
         "existing.csv", 2, "row", "row A/A9 is not in rows.csv"),
    Case("v11_existing_position_twice",
         existing("A,A1,2,nvidia-dgx-h100,infer", "A,A1,2,storage-flash,"),
         "existing.csv", 3, "position", "position 2 of A/A1 is taken twice"),
    Case("v11_existing_wrong_model", existing("A,A1,2,storage-flash,infer"),
         "existing.csv", 2, "model", "model 'storage-flash' is not the model of cluster 'infer'"),
    Case("v11_existing_unknown_cluster", existing("A,A1,2,nvidia-dgx-h100,nobody"),
         "existing.csv", 2, "cluster", "cluster 'nobody' is not in demand.csv"),
    Case("v11_existing_splits_a_colocated_cluster",
         existing("A,A1,2,nvidia-dgx-h100,infer", "L,L1,1,nvidia-dgx-h100,infer"),
         "existing.csv", 3, "cluster", "cluster 'infer' is colocated by hall"),
    Case("v11_row_phase_unknown",
         both(put("phases.csv", "phase\nnow\n"), column_for("rows.csv", "phase", "A1", "later")),
         "rows.csv", 4, "phase", "phase 'later' is not in phases.csv"),
    Case("v11_demand_phase_without_phases", column_for("demand.csv", "phase", "infer", "later"),
         "demand.csv", 3, "phase", "phase 'later' but the site has no phases.csv"),
    Case("v11_failover_below_rating", column_for("power.csv", "failover_kw", "UPS-A", "700"),
         "power.csv", 4, "failover_kw", "failover_kw (700) is below capacity_kw x derate (800)"),
    Case("v11_duplicate_phase", put("phases.csv", "phase\nnow\nnow\n"),
         "phases.csv", 3, "phase", "duplicate phase 'now'"),
]  # fmt: skip


# -- writing ---------------------------------------------------------------------------------
def typed(text: str) -> object:
    """A CSV cell as a workbook cell: numbers as numbers, true/false as booleans."""
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if kind is float and value != value:  # keep 'nan' as text
            return text
        return value
    return text


def write_workbook(path: Path, files: dict[str, str]) -> None:
    """One sheet per table (sheet name = file stem) and a `site` sheet of key,value rows."""
    import openpyxl
    import yaml

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, text in files.items():
        if name == "site.yaml":
            sheet = book.create_sheet("site")
            sheet.append(["key", "value"])
            for key, value in yaml.safe_load(text).items():
                sheet.append([key, typed(str(value))])
            continue
        sheet = book.create_sheet(Path(name).stem)
        for row in csv.reader(io.StringIO(text)):
            sheet.append([typed(v) for v in row])
    book.properties.created = datetime.datetime(2024, 1, 1)
    book.save(path)
    # Fixed timestamps (zip entries and the `modified` property openpyxl sets on save), so
    # regenerating the corpus gives byte-identical workbooks.
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info)) for info in zin.infolist()]
    modified = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*")
    entries = [(n, modified.sub(rb"\g<1>2024-01-01T00:00:00Z", d)) for n, d in entries]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            zout.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip


def case_files(case: Case) -> Files:
    files: Files = dict(small_files())
    files.update(case.edit(small_files()))
    return files


def write_case(case: Case) -> None:
    if case.build is not None:
        case.build(HERE / case.name)
        return
    files = case_files(case)
    if case.workbook:
        texts = {k: v for k, v in files.items() if isinstance(v, str)}
        write_workbook(HERE / f"{case.name}.xlsx", texts)
        return
    folder = HERE / case.name
    folder.mkdir()
    for name, content in files.items():
        if content is None:
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)


def case_path(case: Case) -> str:
    return f"{case.name}.xlsx" if case.workbook else case.name  # hostile_*: name is the file


def clean(names: set[str]) -> None:
    old = HERE / "expected.csv"
    if old.exists():
        with old.open(newline="", encoding="utf-8") as fh:
            names |= {r["case"] for r in csv.DictReader(fh)}
    for name in names:
        path = HERE / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def main() -> None:
    names = [case_path(c) for c in CASES]
    assert len(set(names)) == len(names), "case names repeat"
    clean(set(names))
    for case in CASES:
        write_case(case)
    with (HERE / "expected.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["case", "file", "row", "column", "message", "known_bug", "exit"])
        for case in CASES:
            row = "" if case.row is None else str(case.row)
            out.writerow([case_path(case), case.file, row, case.column or "", case.message,
                          case.known_bug, case.exit])  # fmt: skip
    print(f"wrote {len(CASES)} cases to {HERE}")


if __name__ == "__main__":
    main()
