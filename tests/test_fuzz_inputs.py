"""Fuzzing the loader: random mutations of data/small's files (a folder or a workbook) either
load or raise `SiteError` with located issues; never any other exception, never a warning, and
never a message that echoes a huge value whole."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from pathlib import Path

import openpyxl
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import Issue, SiteError
from optimizer.loaders import load_site

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "data" / "small"
FILES = ("site.yaml", "rows.csv", "power.csv", "cooling.csv", "pods.csv", "demand.csv")
ORIGINAL = {name: (SMALL / name).read_bytes() for name in FILES}
EXAMPLES = int(os.environ.get("RACKFIT_FUZZ_EXAMPLES", "50"))
MAX_MESSAGE = 300  # values are shortened in messages; the longest fixed texts list columns

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that is likely to upset a parser: numbers of every shape, separators, quotes, YAML.
nasty_text = st.sampled_from(
    [
        "", " ", "nan", "NaN", "inf", "-inf", "1e309", "-0", "0x10", "1_000", "1,000", "１２",
        "true", "yes", "None", "null", "~", '"', '""', "'", ",", ";", "\t", "\r", "\n", "\\",
        "[1, 2]", "{a: 1}", "- x", ": x", "&a", "*a", "!!python/object:os.system", "---", "#",
        "9" * 30, "-" + "9" * 30, "1e-400", "0.1e1", "2024-01-01", "\u00e9", "\u2028", "\ufeff",
        "PDU-LA", "POD-L", "nvidia-dgx-h100", "L", "air", "liquid", "pod", "hall",
        "9" * 5000, "0x" + "f" * 5000, "x" * 5000, "2024-13-45", "a: 1", "{x: 1, x: 2}",
    ]
)  # fmt: skip
random_text = st.text(max_size=12)
numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
cell_values = st.one_of(nasty_text, random_text, numbers)


def assert_site_error_or_ok(path: Path) -> None:
    try:
        load_site(path)
    except SiteError as exc:
        assert exc.issues, "a SiteError must list at least one issue"
        for issue in exc.issues:
            assert isinstance(issue, Issue)
            assert issue.where and issue.message
            assert issue.row is None or (isinstance(issue.row, int) and issue.row >= 1)
            assert len(issue.message) <= MAX_MESSAGE, issue.message[:200]
            assert issue.column is None or len(issue.column) <= 40, issue.column[:200]
            str(issue)  # renders


def write_site(folder: Path, files: dict[str, bytes]) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# -- mutations of one file's bytes ------------------------------------------------------------
def replace_cell(text: str, line: int, cell: int, value: str) -> str:
    lines = text.split("\n")
    i = line % len(lines)
    cells = lines[i].split(",")
    cells[cell % len(cells)] = value
    lines[i] = ",".join(cells)
    return "\n".join(lines)


def replace_yaml_value(text: str, line: int, value: str) -> str:
    lines = text.split("\n")
    i = line % len(lines)
    key, sep, _ = lines[i].partition(":")
    lines[i] = f"{key}{sep} {value}" if sep else value
    return "\n".join(lines)


def delete_line(text: str, line: int) -> str:
    lines = text.split("\n")
    del lines[line % len(lines)]
    return "\n".join(lines)


def swap_columns(text: str, a: int, b: int) -> str:
    out = []
    for line in text.split("\n"):
        cells = line.split(",")
        i, j = a % len(cells), b % len(cells)
        cells[i], cells[j] = cells[j], cells[i]
        out.append(",".join(cells))
    return "\n".join(out)


@st.composite
def mutated_site(draw: st.DrawFn) -> dict[str, bytes]:
    files = dict(ORIGINAL)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(FILES))
        data = files[name]
        text = data.decode("utf-8", errors="surrogateescape")
        kind = draw(
            st.sampled_from(
                ["cell", "delete", "truncate", "bytes", "swap", "duplicate", "empty", "extra"]
            )
        )
        line = draw(st.integers(min_value=0, max_value=20))
        if kind == "cell":
            value = draw(cell_values)
            if name == "site.yaml":
                text = replace_yaml_value(text, line, value)
            else:
                text = replace_cell(text, line, draw(st.integers(0, 10)), value)
            data = text.encode("utf-8", errors="surrogateescape")
        elif kind == "delete":
            data = delete_line(text, line).encode("utf-8", errors="surrogateescape")
        elif kind == "truncate":
            data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
        elif kind == "bytes":
            at = draw(st.integers(min_value=0, max_value=len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif kind == "swap":
            a, b = draw(st.integers(0, 10)), draw(st.integers(0, 10))
            data = swap_columns(text, a, b).encode("utf-8", errors="surrogateescape")
        elif kind == "duplicate":
            lines = data.split(b"\n")
            i = line % len(lines)
            data = b"\n".join(lines[: i + 1] + lines[i:])
        elif kind == "extra":  # a ragged line: one cell more (or a stray line in site.yaml)
            lines = text.split("\n")
            i = line % len(lines)
            lines[i] += "," + draw(cell_values)
            data = "\n".join(lines).encode("utf-8", errors="surrogateescape")
        else:
            data = b""
        files[name] = data
    if draw(st.booleans()) and draw(st.booleans()):  # sometimes drop a file altogether
        del files[draw(st.sampled_from(FILES))]
    return files


@FUZZ
@given(files=mutated_site())
def test_mutated_folder_loads_or_raises_site_error(tmp_path: Path, files: dict[str, bytes]):
    assert_site_error_or_ok(write_site(tmp_path / "site", files))


@FUZZ
@given(name=st.sampled_from(FILES), data=st.binary(max_size=300))
def test_a_file_of_random_bytes(tmp_path: Path, name: str, data: bytes):
    files = dict(ORIGINAL)
    files[name] = data
    assert_site_error_or_ok(write_site(tmp_path / "site", files))


@FUZZ
@given(name=st.sampled_from(FILES), text=st.text(max_size=200))
def test_a_file_of_random_text(tmp_path: Path, name: str, text: str):
    files = dict(ORIGINAL)
    files[name] = text.encode("utf-8", errors="surrogatepass")
    assert_site_error_or_ok(write_site(tmp_path / "site", files))


# -- workbooks ----------------------------------------------------------------------------------
def _sheets() -> dict[str, list[list[object]]]:
    sheets: dict[str, list[list[object]]] = {}
    for name in FILES[1:]:
        text = ORIGINAL[name].decode("utf-8")
        sheets[Path(name).stem] = [list(r) for r in csv.reader(io.StringIO(text))]
    site = yaml.safe_load(ORIGINAL["site.yaml"])
    sheets["site"] = [["key", "value"], *([k, v] for k, v in site.items())]
    return sheets


SHEETS = _sheets()
workbook_cells = st.one_of(
    cell_values,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
)


def _safe_cell(value: object) -> object:
    """openpyxl refuses some text (control characters) and writes nan/inf as invalid XML;
    keep what a real spreadsheet can hold."""
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return repr(value)
    if isinstance(value, str):
        return "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)
    return value


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 10))
@given(data=st.data())
def test_mutated_workbook_loads_or_raises_site_error(tmp_path: Path, data: st.DataObject):
    sheets = {k: [list(r) for r in v] for k, v in SHEETS.items()}
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        sheet = data.draw(st.sampled_from(sorted(sheets)))
        rows = sheets[sheet]
        kind = data.draw(st.sampled_from(["cell", "delete_row", "drop_sheet", "rename_sheet"]))
        if kind == "cell" and rows:
            r = data.draw(st.integers(0, len(rows) - 1))
            c = data.draw(st.integers(0, len(rows[r])))
            value = _safe_cell(data.draw(workbook_cells))
            rows[r][c : c + 1] = [value]
        elif kind == "delete_row" and rows:
            del rows[data.draw(st.integers(0, len(rows) - 1))]
        elif kind == "drop_sheet" and len(sheets) > 1:
            del sheets[sheet]
        elif kind == "rename_sheet":
            sheets[data.draw(st.sampled_from(["Rows", "extra", "power ", "site2"]))] = rows
            del sheets[sheet]
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    path = tmp_path / "site.xlsx"
    book.save(path)
    assert_site_error_or_ok(path)


def test_the_unmutated_site_loads(tmp_path: Path):
    """The fuzz tests start from a valid site: make sure it is one."""
    load_site(write_site(tmp_path / "site", dict(ORIGINAL)))
