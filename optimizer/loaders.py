"""Site folder (CSV + site.yaml) or one .xlsx workbook -> `Site`.

Loading happens in three steps, each reporting every problem it finds, not just the first:
1. read each file into a `RawTable` of text cells with the line number a spreadsheet shows;
2. parse every record into its schema class (types, ranges, required values, unknown columns);
3. check references and structure across tables (`checks.table_errors`).
Only when all three find nothing is a `Site` built. Both forms go through the same text cells,
so a folder and its workbook load to equal sites.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from optimizer import library
from optimizer.checks import EXTRA, SiteLocations
from optimizer.errors import Issue, SiteError
from optimizer.schema import (
    DEFAULT_DESIGN_TEMP_C,
    Cluster,
    CoolingLine,
    Device,
    ExistingRack,
    OverheadPoint,
    Phase,
    Pod,
    RackModel,
    Row,
    Site,
    WeatherHour,
)
from optimizer.text import cell_text, describe_error, load_yaml, shorten, yaml_issue
from optimizer.textsafe import QUOTE, control_character, one_line, unneutralize


@dataclass(frozen=True)
class TableSpec:
    schema: type[BaseModel]
    required: bool  # must the file exist?
    needs_rows: bool  # must it have at least one data row?


# File stem -> what it holds. Order = the order files are read and reported.
TABLES: dict[str, TableSpec] = {
    "rows": TableSpec(Row, required=True, needs_rows=True),
    "power": TableSpec(Device, required=True, needs_rows=True),
    "cooling": TableSpec(CoolingLine, required=True, needs_rows=True),
    "pods": TableSpec(Pod, required=False, needs_rows=False),
    "demand": TableSpec(Cluster, required=True, needs_rows=True),
    "models": TableSpec(RackModel, required=False, needs_rows=False),
    "overhead": TableSpec(OverheadPoint, required=False, needs_rows=False),
    "weather": TableSpec(WeatherHour, required=False, needs_rows=False),
    # v1.1 (site-format.md): racks already standing, and the build-out's phases
    "existing": TableSpec(ExistingRack, required=False, needs_rows=False),
    "phases": TableSpec(Phase, required=False, needs_rows=True),
}
SITE_KEYS = (
    "name", "grid_limit_kw", "onsite_firm_kw", "fixed_overhead_kw", "design_temp_c", "pue",
    "energy_usd_per_kwh", "objective",
)  # fmt: skip
SITE_SHEET = "site"
# Far above any real site (a 10^6-row site is about 60 MB as CSV): a larger file is refused
# before it is read, and so is a workbook whose sheets would unpack to more.
MAX_SITE_FILE_BYTES = 1 << 30
MAX_WORKBOOK_XML_BYTES = 2 << 30


@dataclass
class RawTable:
    """A table as text cells. `records` holds (spreadsheet row number, {column: text});
    `header_row` is the spreadsheet row of the header (1 unless blank rows come first)."""

    name: str
    where: str
    columns: list[str]
    records: list[tuple[int, dict[str, str]]]
    header_row: int = 1


@dataclass
class RawSite:
    """Every file of a site as read, before any parsing: what `convert` copies losslessly."""

    source: Path
    site_where: str
    site_keys: dict[str, str]
    site_key_rows: dict[str, int]  # key -> spreadsheet row (workbook) or 0 (yaml)
    tables: dict[str, RawTable] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)  # problems met while reading
    # tables that could not be read, or required ones that are missing: already reported, so
    # references into them are not checked (they would all look wrong)
    unread: set[str] = field(default_factory=set)

    def ids(self, table: str, column: str) -> set[str]:
        """Every id written in a column, parsed or not (so one bad cell in power.csv does
        not make every row that names that device look wrong too)."""
        raw = self.tables.get(table)
        return {r.get(column, "") for _, r in raw.records} - {""} if raw else set()

    def table_where(self, name: str) -> str:
        """Where table `name` is or would be: its file, or `workbook:sheet`."""
        table = self.tables.get(name)
        if table is not None:
            return table.where
        if self.site_where.endswith(f":{SITE_SHEET}"):
            return f"{self.source}:{name}"
        return str(self.source / f"{name}.csv")


# -- step 1: reading ---------------------------------------------------------------------
def _records(
    where: str, header: list[str], rows: Iterable[tuple[int, list[Any]]], issues: list[Issue],
    header_row: int = 1, neutralized: bool = False,
) -> RawTable:  # fmt: skip
    """Rows of cells -> a RawTable. Blank rows are left out (their numbers stay taken); a row
    with more cells than the header has columns is reported here and marked with `EXTRA`.
    `neutralized` (CSV files): a field neutralized against formulas reads as the text it
    stands for (optimizer/textsafe.py); a workbook's string cells hold the text itself."""
    columns = [cell_text(h) for h in header]
    _control_issues(where, header_row, columns, columns, issues)
    records = []
    for line, values in rows:
        texts = [v.strip() if v.__class__ is str else cell_text(v) for v in values]
        if not any(texts):
            continue  # blank line
        if neutralized and any(t[:1] == QUOTE for t in texts):
            texts = [unneutralize(t) for t in texts]
        padded = texts + [""] * (len(columns) - len(texts))
        if control_character("".join(padded)) is not None:
            _control_issues(where, line, columns, padded, issues)
        record = dict(zip(columns, padded, strict=False))
        extra = [t for t in padded[len(columns) :] if t]
        if extra:
            record[EXTRA] = ",".join(extra)
            issues.append(
                Issue(
                    where,
                    f"more cells than header columns ({len(columns)} columns, extra "
                    f"{shorten(record[EXTRA])!r}); remove the extra cells or name their column",
                    row=line,
                )
            )
        records.append((line, record))
    return RawTable(name="", where=where, columns=columns, records=records, header_row=header_row)


def _control_issues(
    where: str, line: int, columns: list[str], texts: list[str], issues: list[Issue]
) -> None:
    """A cell with a line break, tab or other control character cannot be written back
    safely (it would split a CSV line or a message): each is an issue at its cell."""
    for j, text in enumerate(texts):
        found = control_character(text)
        if found is not None:
            column = shorten(one_line(columns[j])) if j < len(columns) and columns[j] else None
            issues.append(
                Issue(
                    where,
                    f"holds a control character ({found}: a line break, tab or the like); "
                    "ids and values must be one line of printable text",
                    row=line,
                    column=column,
                )
            )


def _file_problem(path: Path, folder: Path | None = None) -> str | None:
    """Why the file at `path` cannot be read as a site file without opening it, or None:
    a symbolic link to nothing or out of the site folder (its content is not echoed into
    messages), not a regular file (a FIFO would block), or too large to be a site."""
    try:
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                return "a symbolic link to nothing (its target does not exist)"
            if folder is not None and not target.is_relative_to(folder.resolve()):
                return (
                    "a symbolic link to a file outside the site folder; copy the file into "
                    "the folder instead"
                )
        info = path.stat()
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    import stat

    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > MAX_SITE_FILE_BYTES:
        return (
            f"too large to be a site file ({info.st_size / 2**30:.1f} GiB; at most "
            f"{MAX_SITE_FILE_BYTES / 2**30:.0f} GiB)"
        )
    return None


def _present(path: Path) -> bool:
    """Whether a site file is there: a dangling symbolic link is (and is reported)."""
    return path.is_symlink() or path.exists()


def _read_csv(path: Path, issues: list[Issue], folder: Path | None = None) -> RawTable | None:
    where = str(path)
    problem = _file_problem(path, folder)
    if problem is not None:
        issues.append(Issue(where, problem))
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        issues.append(Issue(where, f"cannot read file: {exc.strerror or exc}"))
        return None
    if b"\0" in raw:
        issues.append(Issue(where, "not a text file (binary content); expected CSV"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issues.append(Issue(where, f"not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"))
        return None
    if not text.strip():
        issues.append(Issue(where, "file is empty; expected a header line"))
        return None
    # One record per spreadsheet row: a blank line is an (empty) row, a quoted cell may span
    # lines. `strict` turns an unclosed quote into an error instead of swallowing the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        problem = str(exc)
        if "unexpected end of data" in problem:
            problem = 'a quoted cell is never closed (a " with no closing ")'
        issues.append(Issue(where, f"not a readable CSV table: line {start}: {problem}"))
        return None
    while rows and not any(cell_text(v) for v in rows[0][1]):
        rows = rows[1:]  # blank lines above the header
    if not rows:
        issues.append(Issue(where, "file is empty; expected a header line"))
        return None
    header_row, header = rows[0]
    return _records(where, header, rows[1:], issues, header_row, neutralized=True)


def _read_yaml(
    path: Path, issues: list[Issue], folder: Path | None = None
) -> dict[str, str] | None:
    where = str(path)
    problem = _file_problem(path, folder)
    if problem is not None:
        issues.append(Issue(where, problem))
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        issues.append(Issue(where, f"cannot read file: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError as exc:
        issues.append(Issue(where, f"not UTF-8 text (byte {exc.start})"))
        return None
    try:
        data, repeated = load_yaml(text)
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        issues.append(yaml_issue(where, exc))
        return None
    if data is None:
        issues.append(Issue(where, "file is empty; expected at least grid_limit_kw"))
        return None
    if not isinstance(data, dict):
        issues.append(Issue(where, "expected a mapping of keys to values"))
        return None
    for key, line, first in repeated:
        issues.append(
            Issue(
                where,
                f"key '{shorten(key)}' repeats on line {line} (first on line {first}); "
                "give each key once",
                column=shorten(key),
            )
        )
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            issues.append(Issue(where, "expected a single value", column=shorten(str(key))))
            continue
        try:
            out[str(key)] = cell_text(value)
        except ValueError:  # an int too long to write out in decimal (e.g. from 0x...)
            issues.append(Issue(where, "number too large", column=shorten(str(key))))
    return out


def read_folder(folder: Path) -> RawSite:
    """Every file of a site folder, as text cells; problems go to `RawSite.issues`."""
    issues: list[Issue] = []
    if not folder.is_dir():
        raise SiteError(Issue(str(folder), "no such site folder or .xlsx workbook"))
    try:
        listed = sorted(folder.iterdir())
    except OSError as exc:
        problem = f"cannot read the folder: {exc.strerror or exc}"
        raise SiteError(Issue(str(folder), problem)) from None
    yaml_path = folder / "site.yaml"
    keys: dict[str, str] = {}
    read: dict[str, str] | None = None
    if not _present(yaml_path):
        issues.append(Issue(str(yaml_path), "required file is missing"))
    else:
        read = _read_yaml(yaml_path, issues, folder)
    keys = read or {}
    raw = RawSite(folder, str(yaml_path), keys, {k: 0 for k in keys})
    if read is None:
        raw.unread.add(SITE_SHEET)
    known = {f"{name}.csv" for name in TABLES} | {"site.yaml"}
    for name, spec in TABLES.items():
        path = folder / f"{name}.csv"
        if not _present(path):
            if spec.required:
                issues.append(Issue(str(path), "required file is missing"))
                raw.unread.add(name)
            continue
        table = _read_csv(path, issues, folder)
        if table is None:
            raw.unread.add(name)
        else:
            table.name = name
            raw.tables[name] = table
    for path in listed:
        if path.suffix == ".csv" and path.name not in known:
            issues.append(
                Issue(str(path), f"unknown file; site tables are {', '.join(sorted(known))}")
            )
    raw.issues = issues
    return raw


Rows = list[tuple[int, list[Any]]]  # (spreadsheet row, cell values), blank rows left out
_UNREADABLE = "not a readable .xlsx workbook"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls files


def _not_a_workbook(path: Path) -> str | None:
    """Why `path` cannot be an .xlsx workbook, judged from its bytes before any XML is
    parsed (a password-protected workbook, a CSV or other text file renamed, a zip of
    something else, a zip that unpacks to more than any site), or None."""
    import zipfile  # here: a site folder needs none of it (fast start)

    problem = _file_problem(path)
    if problem is not None:
        return problem
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
        if head.startswith(_OLE_MAGIC):
            return (
                f"{_UNREADABLE}: password-protected (encrypted), or an old .xls file; save it "
                "without a password as .xlsx"
            )
        if not zipfile.is_zipfile(path):
            if head.startswith(b"PK"):
                return f"{_UNREADABLE}: a damaged zip archive"
            if head and b"\0" not in head:
                return f"{_UNREADABLE}: it holds text (a CSV file named .xlsx?)"
            return f"{_UNREADABLE}: not a zip archive"
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        return f"{_UNREADABLE}: {one_line(shorten(str(exc), 120))}"
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names:
        return f"{_UNREADABLE}: a zip archive without xl/workbook.xml"
    unpacked = sum(e.file_size for e in entries)
    if unpacked > MAX_WORKBOOK_XML_BYTES:
        return (
            f"too large to be a site: it unpacks to {unpacked / 2**30:.1f} GiB (at most "
            f"{MAX_WORKBOOK_XML_BYTES / 2**30:.0f} GiB)"
        )
    return None


def _sheet_rows(
    book: Any, formulas: dict[str, dict[tuple[int, int], str]], wanted: str | None
) -> dict[str, Rows]:
    """The cells of every sheet of a read-only workbook, row by row. Only the rows and cells
    the file holds are visited: the size a sheet declares (a formatted cell at XFD1048576)
    is ignored. A formula cell is noted in `formulas` (sheet -> (row, column) -> formula)."""
    out: dict[str, Rows] = {}
    for ws in book.worksheets:
        if wanted is not None and ws.title != wanted:
            continue
        ws.reset_dimensions()  # else each row is padded to the declared last column
        rows: Rows = []
        found: dict[tuple[int, int], str] = {}
        for line, cells in enumerate(ws.iter_rows(), start=1):
            values: list[Any] = []
            for j, cell in enumerate(cells, start=1):
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f":
                    found[(line, j)] = str(value)
                    value = None
                values.append(value)
            if any(v is not None and v != "" for v in values):
                rows.append((line, values))
        out[ws.title] = rows
        if found:
            formulas[ws.title] = found
    return out


def _cached_values(path: Path, formulas: dict[str, dict[tuple[int, int], str]]) -> dict[
    str, dict[tuple[int, int], Any]
]:  # fmt: skip
    """The values a spreadsheet program saved for the formula cells (None where none was
    saved, as scripts and templates write formulas)."""
    import openpyxl

    with path.open("rb") as fh:  # closed here even when openpyxl fails half way
        book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        return _cached_in(book, formulas)


def _cached_in(book: Any, formulas: dict[str, dict[tuple[int, int], str]]) -> dict[
    str, dict[tuple[int, int], Any]
]:  # fmt: skip
    try:
        out: dict[str, dict[tuple[int, int], Any]] = {}
        for ws in book.worksheets:
            wanted = formulas.get(ws.title)
            if not wanted:
                continue
            ws.reset_dimensions()
            last = max(r for r, _ in wanted)
            cached: dict[tuple[int, int], Any] = {}
            for line, values in enumerate(ws.iter_rows(max_row=last, values_only=True), 1):
                for j, value in enumerate(values, start=1):
                    if (line, j) in wanted:
                        cached[(line, j)] = value
            out[ws.title] = cached
        return out
    finally:
        book.close()


def read_workbook_sheets(path: Path, issues: list[Issue], wanted: str | None = None) -> dict[
    str, Rows
]:  # fmt: skip
    """The cells of every sheet of `path` (only sheet `wanted` when given), for site
    workbooks and plan workbooks alike. A formula is read as the value a spreadsheet program
    saved with it; one without a saved value is an issue at its cell (never read as empty).
    Raises SiteError naming the file when it is not a readable workbook: not an .xlsx,
    encrypted, too large, damaged, or XML that a safe parser refuses (entity expansion)."""
    import openpyxl

    where = str(path)
    problem = _not_a_workbook(path)
    if problem is not None:
        raise SiteError(Issue(where, problem))
    formulas: dict[str, dict[tuple[int, int], str]] = {}
    try:
        with path.open("rb") as fh:  # closed here even when openpyxl fails half way
            book = openpyxl.load_workbook(fh, read_only=True, data_only=False)
            try:
                sheets = _sheet_rows(book, formulas, wanted)
            finally:
                book.close()
        cached = _cached_values(path, formulas) if formulas else {}
    except SiteError:
        raise
    except Exception as exc:  # anything a damaged or hostile file raises in zip/XML/openpyxl
        message = one_line(shorten(f"{type(exc).__name__}: {exc}", 160))
        raise SiteError(Issue(where, f"{_UNREADABLE} ({message})")) from None
    for title, found in formulas.items():
        values = cached.get(title, {})
        rows = dict(sheets[title])
        for (line, j), formula in found.items():
            value = values.get((line, j))
            if value is None:
                issues.append(
                    Issue(
                        f"{where}:{shorten(title)}",
                        f"cell {_column_letter(j)}{line} holds a formula "
                        f"({one_line(shorten(formula))}) without a saved result; open and save "
                        "the workbook in a spreadsheet program, or type the value",
                        row=line,
                    )
                )
            elif line in rows:
                rows[line][j - 1] = value
            else:
                sheets[title].append((line, [None] * (j - 1) + [value]))
        sheets[title].sort(key=lambda item: item[0])
    return sheets


def _column_letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(j))


def read_workbook(path: Path) -> RawSite:
    """Every sheet of a site workbook, as text cells; problems go to `RawSite.issues`.
    A file that is not a readable workbook raises SiteError naming it (exit 2)."""
    where = str(path)
    issues: list[Issue] = []
    sheets = read_workbook_sheets(path, issues)
    raw = RawSite(path, f"{where}:{SITE_SHEET}", {}, {})
    if SITE_SHEET not in sheets:
        issues.append(Issue(where, f"required sheet '{SITE_SHEET}' is missing"))
        raw.unread.add(SITE_SHEET)
    else:
        table = _sheet_table(f"{where}:{SITE_SHEET}", sheets[SITE_SHEET], issues)
        if table is None or not _site_keys_from_sheet(table, raw, issues):
            raw.unread.add(SITE_SHEET)
    for name, spec in TABLES.items():
        if name not in sheets:
            if spec.required:
                issues.append(Issue(where, f"required sheet '{name}' is missing"))
                raw.unread.add(name)
            continue
        table = _sheet_table(f"{where}:{name}", sheets[name], issues)
        if table is None:
            raw.unread.add(name)
        else:
            table.name = name
            raw.tables[name] = table
    allowed = ", ".join([SITE_SHEET, *TABLES])
    for title in sheets:
        if title not in TABLES and title != SITE_SHEET:
            issues.append(
                Issue(f"{where}:{shorten(title)}", f"unknown sheet; site sheets are {allowed}")
            )
    raw.issues = issues
    return raw


def _sheet_table(
    where: str, rows: list[tuple[int, list[Any]]], issues: list[Issue]
) -> RawTable | None:
    while rows and not any(cell_text(v) for v in rows[0][1]):
        rows = rows[1:]
    if not rows:
        issues.append(Issue(where, "sheet is empty; expected a header row"))
        return None
    header_row, cells = rows[0]
    header = [cell_text(v) for v in cells]
    while header and header[-1] == "":
        header.pop()
    return _records(where, header, rows[1:], issues, header_row)


def _site_keys_from_sheet(table: RawTable, raw: RawSite, issues: list[Issue]) -> bool:
    """The site sheet's key,value rows into `raw.site_keys`; False when its header is wrong."""
    if table.columns[:2] != ["key", "value"] or len(table.columns) > 2:
        issues.append(
            Issue(
                table.where,
                "the site sheet needs exactly the columns key,value",
                row=table.header_row,
            )
        )
        return False
    for line, record in table.records:
        key = record.get("key", "")
        if not key:
            issues.append(Issue(table.where, "key is empty", row=line, column="key"))
            continue
        if key in raw.site_keys:
            first = raw.site_key_rows[key]
            issues.append(
                Issue(
                    table.where,
                    f"key '{shorten(key)}' repeats (first on row {first}); give each key once",
                    row=line,
                    column="key",
                )
            )
            continue
        raw.site_keys[key] = record.get("value", "")
        raw.site_key_rows[key] = line
    return True


def read_raw_site(path: str | Path) -> RawSite:
    """A site folder or workbook as text cells (no parsing): see `RawSite`."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        if not path.exists():
            raise SiteError(Issue(str(path), "no such file"))
        return read_workbook(path)
    if path.is_file():
        raise SiteError(Issue(str(path), "expected a site folder or an .xlsx workbook"))
    return read_folder(path)


# -- step 2: parsing ---------------------------------------------------------------------
def parse_record(
    schema: type[BaseModel], record: Mapping[str, str], where: str, line: int | None,
    issues: list[Issue],
) -> Any | None:  # fmt: skip
    """One record -> a schema object, or None with every field problem added to `issues`."""
    data = {k: v for k, v in record.items() if v != "" and not k.startswith("\0")}
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            column = shorten(str(err["loc"][0])) if err["loc"] else None
            issues.append(Issue(where, describe_error(err), row=line, column=column))
        return None


def _check_columns(table: RawTable, schema: type[BaseModel], issues: list[Issue]) -> bool:
    """The header against the schema's fields; False (with issues) when it does not fit."""
    fields = schema.model_fields
    ok = True
    seen: set[str] = set()
    header = table.header_row
    for column in table.columns:
        if column == "":
            issues.append(Issue(table.where, "a column has no name", row=header))
            ok = False
        elif column in seen:
            issues.append(
                Issue(table.where, "column appears twice", row=header, column=shorten(column))
            )
            ok = False
        elif column not in fields:
            allowed = ", ".join(fields)
            issues.append(
                Issue(
                    table.where,
                    f"unknown column (allowed: {allowed})",
                    row=header,
                    column=shorten(column),
                )
            )
            ok = False
        seen.add(column)
    for name, info in fields.items():
        if info.is_required() and name not in seen:
            issues.append(Issue(table.where, "required column is missing", column=name))
            ok = False
    return ok


@dataclass
class Located:
    """A parsed record and where it came from."""

    obj: Any
    where: str
    line: int | None


@dataclass
class ParsedSite:
    site_keys: dict[str, Any]
    site_where: str
    site_lines: dict[str, int]
    tables: dict[str, list[Located]]
    # tables not read, with a header that does not fit, or required but without rows: each
    # already has its issue, so references into them are not checked
    broken: set[str] = field(default_factory=set)


def parse_raw_site(raw: RawSite, issues: list[Issue]) -> ParsedSite:
    """Text cells -> schema objects with their locations. Records that do not parse are left
    out and their problems (types, ranges, required values, columns) added to `issues`."""
    tables: dict[str, list[Located]] = {}
    broken = set(raw.unread) & set(TABLES)
    for name, spec in TABLES.items():
        table = raw.tables.get(name)
        if table is None:
            tables[name] = []
            continue
        if not _check_columns(table, spec.schema, issues):
            tables[name] = []
            broken.add(name)
            continue
        if spec.needs_rows and not table.records:
            issues.append(
                Issue(table.where, "has a header but no data rows", row=table.header_row + 1)
            )
            broken.add(name)
        parsed = []
        for line, record in table.records:
            if EXTRA in record:
                continue  # a ragged row, reported on reading: its cells may be shifted
            obj = parse_record(spec.schema, record, table.where, line, issues)
            if obj is not None:
                parsed.append(Located(obj, table.where, line))
        tables[name] = parsed
    site_keys = _parse_site_keys(raw, issues)
    return ParsedSite(site_keys, raw.site_where, raw.site_key_rows, tables, broken)


def _site_issue(raw: RawSite, key: str, message: str, column: str = "value") -> Issue:
    """An issue about a site key: in site.yaml at column = the key; in a workbook's site
    sheet at the key's row, in `column` (`value`, or `key` when the key itself is wrong)."""
    line = raw.site_key_rows.get(key) or None
    if line is None:
        return Issue(raw.site_where, message, column=shorten(key))
    return Issue(raw.site_where, f"{shorten(key)}: {message}", row=line, column=column)


_SITE_CONFIG = ConfigDict(str_strip_whitespace=True)


@cache
def _site_key_adapter(key: str) -> TypeAdapter[Any]:
    """Validates one site key as `Site` would: its type, bounds and allowed values."""
    info = Site.model_fields[key]
    annotated: Any = Annotated[info.annotation, info]  # a runtime type form, not a class
    return TypeAdapter(annotated, config=_SITE_CONFIG)


def _parse_site_keys(raw: RawSite, issues: list[Issue]) -> dict[str, Any]:
    """Every site key validated on its own, so a bad value is reported with the tables'
    problems (not only once they are all clean). Empty values take their defaults."""
    out: dict[str, Any] = {}
    for key, text in raw.site_keys.items():
        if key not in SITE_KEYS:
            allowed = ", ".join(SITE_KEYS)
            issues.append(_site_issue(raw, key, f"unknown key (allowed: {allowed})", "key"))
            continue
        if text == "":
            continue
        found = control_character(text)
        if found is not None:
            message = f"holds a control character ({found}); values must be one line of text"
            issues.append(_site_issue(raw, key, message))
            continue
        try:
            out[key] = _site_key_adapter(key).validate_python(text)
        except ValidationError as exc:
            for err in exc.errors():
                issues.append(_site_issue(raw, key, describe_error(err)))
    if SITE_SHEET not in raw.unread and raw.site_keys.get("grid_limit_kw", "") == "":
        issues.append(_site_issue(raw, "grid_limit_kw", "required key is missing"))
    return out


# -- step 3: building --------------------------------------------------------------------
def default_design_temp_c(weather: Iterable[WeatherHour]) -> float:
    temps = [h.temp_c for h in weather]
    return max(temps) if temps else DEFAULT_DESIGN_TEMP_C


def build_site(raw: RawSite, models_dir: Path | None = None) -> Site:
    """Parse, check across tables and build the Site. Raises SiteError with all problems."""
    from optimizer import checks

    issues = list(raw.issues)
    parsed = parse_raw_site(raw, issues)
    catalog = library.load_library(models_dir)
    site_models = [loc.obj for loc in parsed.tables["models"]]
    merged = {m.model: m for m in catalog} | {m.model: m for m in site_models}
    issues += checks.table_errors(parsed, raw, set(merged) | raw.ids("models", "model"))
    if issues:
        raise SiteError(issues)
    t = parsed.tables
    keys = dict(parsed.site_keys)
    keys.setdefault("name", raw.source.stem if raw.source.suffix else raw.source.name)
    weather = tuple(loc.obj for loc in t["weather"])
    keys.setdefault("design_temp_c", default_design_temp_c(weather))
    data = {
        **keys,
        "models": tuple(sorted(merged.values(), key=lambda m: m.model)),
        "rows": tuple(loc.obj for loc in t["rows"]),
        "devices": tuple(loc.obj for loc in t["power"]),
        "cooling": tuple(loc.obj for loc in t["cooling"]),
        "pods": tuple(loc.obj for loc in t["pods"]),
        "demand": tuple(loc.obj for loc in t["demand"]),
        "overhead": tuple(loc.obj for loc in t["overhead"]),
        "weather": weather,
        "existing": tuple(loc.obj for loc in t["existing"]),
        "phases": tuple(loc.obj for loc in t["phases"]),
    }
    try:
        return Site.model_validate(data)
    except ValidationError as exc:  # not expected: every key and record was checked above
        raise SiteError(
            [
                _site_issue(raw, str(err["loc"][0]), describe_error(err))
                for err in exc.errors()
                if err["loc"]
            ]
        ) from None


# The columns that identify a record of each table, for `site_locations`.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "rows": ("hall", "row"), "power": ("device",), "cooling": ("hall", "medium"),
    "pods": ("pod",), "demand": ("cluster",), "models": ("model",), "overhead": ("temp_c",),
    "weather": ("hour",), "existing": ("hall", "row", "position"), "phases": ("phase",),
}  # fmt: skip


def site_locations(raw: RawSite) -> SiteLocations:
    """Where each table and record of `raw` is, for `checks.site_warnings`: the file (or
    `workbook:sheet`) of every table and the row of each id's first record (for cooling, of
    each hall's first line of each medium)."""
    files = {name: raw.table_where(name) for name in TABLES} | {SITE_SHEET: raw.site_where}
    rows: dict[tuple[str, ...], int] = {}
    for name, table in raw.tables.items():
        columns = ID_COLUMNS.get(name, ())
        for line, record in table.records:
            rows.setdefault((name, *(record.get(c, "") for c in columns)), line)
    return SiteLocations(files, rows)


def load_site(path: str | Path, models_dir: Path | None = None) -> Site:
    """Load and validate a site folder or .xlsx workbook. Raises SiteError listing every
    problem as `file[:sheet], row N, column C: what is wrong`."""
    return build_site(read_raw_site(path), models_dir)


def load_site_with_warnings(path: str | Path) -> tuple[Site, list[Issue]]:
    """The site and the warnings worth showing a user (they do not stop a solve), each at the
    site's own file or sheet and the row of the record it is about."""
    from optimizer import checks

    raw = read_raw_site(path)
    site = build_site(raw)
    return site, checks.site_warnings(site, site_locations(raw))
