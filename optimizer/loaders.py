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
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from optimizer import library
from optimizer.errors import Issue, SiteError
from optimizer.schema import (
    DEFAULT_DESIGN_TEMP_C,
    Cluster,
    CoolingLine,
    Device,
    OverheadPoint,
    Pod,
    RackModel,
    Row,
    Site,
    WeatherHour,
)


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
}
SITE_KEYS = (
    "name", "grid_limit_kw", "onsite_firm_kw", "fixed_overhead_kw", "design_temp_c", "pue",
    "energy_usd_per_kwh", "objective",
)  # fmt: skip
SITE_SHEET = "site"


@dataclass
class RawTable:
    """A table as text cells. `records` holds (spreadsheet row number, {column: text})."""

    name: str
    where: str
    columns: list[str]
    records: list[tuple[int, dict[str, str]]]


@dataclass
class RawSite:
    """Every file of a site as read, before any parsing: what `convert` copies losslessly."""

    source: Path
    site_where: str
    site_keys: dict[str, str]
    site_key_rows: dict[str, int]  # key -> spreadsheet row (workbook) or 0 (yaml)
    tables: dict[str, RawTable] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)  # problems met while reading

    def ids(self, table: str, column: str) -> set[str]:
        """Every id written in a column, parsed or not (so one bad cell in power.csv does
        not make every row that names that device look wrong too)."""
        raw = self.tables.get(table)
        return {r.get(column, "") for _, r in raw.records} - {""} if raw else set()


# -- step 1: reading ---------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """One cell as the text a CSV would hold. Whole floats lose their `.0`, so a workbook's
    8.0 and a CSV's 8 read the same; other floats keep their shortest exact form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _records(where: str, header: list[str], rows: Iterable[tuple[int, list[Any]]]) -> RawTable:
    columns = [cell_text(h) for h in header]
    records = []
    for line, values in rows:
        texts = [cell_text(v) for v in values]
        if not any(texts):
            continue  # blank line
        padded = texts + [""] * (len(columns) - len(texts))
        record = dict(zip(columns, padded, strict=False))
        extra = [t for t in padded[len(columns) :] if t]
        if extra:
            record["\0extra"] = ",".join(extra)
        records.append((line, record))
    return RawTable(name="", where=where, columns=columns, records=records)


def _read_csv(path: Path, issues: list[Issue]) -> RawTable | None:
    where = str(path)
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
    # pandas reads the table as text; blank lines are kept so index + 2 is the line number.
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skip_blank_lines=False,
            header=None,
            names=None,
            engine="python",
            on_bad_lines="error",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        issues.append(Issue(where, f"not a readable CSV table: {str(exc).splitlines()[0]}"))
        return None
    values = frame.fillna("").to_numpy().tolist()
    header, body = values[0], values[1:]
    return _records(where, header, ((i + 2, row) for i, row in enumerate(body)))


def _read_yaml(path: Path, issues: list[Issue]) -> dict[str, str] | None:
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        issues.append(Issue(where, f"cannot read file: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError as exc:
        issues.append(Issue(where, f"not UTF-8 text (byte {exc.start})"))
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        issues.append(Issue(where, f"{line}invalid YAML: {problem}"))
        return None
    if data is None:
        issues.append(Issue(where, "file is empty; expected at least grid_limit_kw"))
        return None
    if not isinstance(data, dict):
        issues.append(Issue(where, "expected a mapping of keys to values"))
        return None
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            issues.append(Issue(where, "expected a single value", column=str(key)))
            continue
        out[str(key)] = cell_text(value)
    return out


def read_folder(folder: Path) -> RawSite:
    """Every file of a site folder, as text cells; problems go to `RawSite.issues`."""
    issues: list[Issue] = []
    if not folder.is_dir():
        raise SiteError(Issue(str(folder), "no such site folder or .xlsx workbook"))
    yaml_path = folder / "site.yaml"
    keys: dict[str, str] = {}
    if not yaml_path.exists():
        issues.append(Issue(str(yaml_path), "required file is missing"))
    else:
        keys = _read_yaml(yaml_path, issues) or {}
    raw = RawSite(folder, str(yaml_path), keys, {k: 0 for k in keys})
    known = {f"{name}.csv" for name in TABLES} | {"site.yaml"}
    for name, spec in TABLES.items():
        path = folder / f"{name}.csv"
        if not path.exists():
            if spec.required:
                issues.append(Issue(str(path), "required file is missing"))
            continue
        table = _read_csv(path, issues)
        if table is not None:
            table.name = name
            raw.tables[name] = table
    for path in sorted(folder.glob("*.csv")):
        if path.name not in known:
            issues.append(
                Issue(str(path), f"unknown file; site tables are {', '.join(sorted(known))}")
            )
    raw.issues = issues
    return raw


def read_workbook(path: Path) -> RawSite:
    """Every sheet of a site workbook, as text cells; problems go to `RawSite.issues`."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    where = str(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise SiteError(Issue(where, f"not a readable .xlsx workbook: {exc}")) from None
    except Exception as exc:  # zipfile.BadZipFile and friends from garbage files
        raise SiteError(Issue(where, f"not a readable .xlsx workbook: {exc}")) from None
    issues: list[Issue] = []
    sheets: dict[str, list[tuple[int, list[Any]]]] = {}
    try:
        for ws in book.worksheets:
            sheets[ws.title] = [
                (i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
            ]
    finally:
        book.close()
    raw = RawSite(path, f"{where}:{SITE_SHEET}", {}, {})
    if SITE_SHEET not in sheets:
        issues.append(Issue(where, f"required sheet '{SITE_SHEET}' is missing"))
    else:
        table = _sheet_table(f"{where}:{SITE_SHEET}", sheets[SITE_SHEET], issues)
        if table is not None:
            _site_keys_from_sheet(table, raw, issues)
    for name, spec in TABLES.items():
        if name not in sheets:
            if spec.required:
                issues.append(Issue(where, f"required sheet '{name}' is missing"))
            continue
        table = _sheet_table(f"{where}:{name}", sheets[name], issues)
        if table is not None:
            table.name = name
            raw.tables[name] = table
    for title in sheets:
        if title not in TABLES and title != SITE_SHEET:
            issues.append(Issue(f"{where}:{title}", "unknown sheet"))
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
    header = [cell_text(v) for v in rows[0][1]]
    while header and header[-1] == "":
        header.pop()
    return _records(where, header, rows[1:])


def _site_keys_from_sheet(table: RawTable, raw: RawSite, issues: list[Issue]) -> None:
    if table.columns[:2] != ["key", "value"] or len(table.columns) > 2:
        issues.append(Issue(table.where, "the site sheet needs exactly the columns key,value"))
        return
    for line, record in table.records:
        key = record.get("key", "")
        if not key:
            issues.append(Issue(table.where, "key is empty", row=line, column="key"))
            continue
        if key in raw.site_keys:
            issues.append(Issue(table.where, f"key '{key}' repeats", row=line, column="key"))
            continue
        raw.site_keys[key] = record.get("value", "")
        raw.site_key_rows[key] = line


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
def _describe(error: Mapping[str, Any]) -> str:
    """A pydantic error as a phrase a site engineer understands."""
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    shown = f"'{got}'" if isinstance(got, str) else repr(got)
    if kind == "missing":
        return "value is required"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"expected a whole number, got {shown}"
    if kind in ("float_parsing", "float_type"):
        return f"expected a number, got {shown}"
    if kind == "finite_number":
        return f"expected a finite number, got {shown}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {shown}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {shown}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {shown}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}, got {shown}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {shown}"
    if kind == "string_too_short":
        return "value is required"
    if kind == "string_too_long":
        return f"text longer than {ctx.get('max_length')} characters"
    return str(error.get("msg", kind))


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
            column = str(err["loc"][0]) if err["loc"] else None
            issues.append(Issue(where, _describe(err), row=line, column=column))
        return None


def _check_columns(table: RawTable, schema: type[BaseModel], issues: list[Issue]) -> bool:
    fields = schema.model_fields
    ok = True
    seen: set[str] = set()
    for column in table.columns:
        if column == "":
            issues.append(Issue(table.where, "a column has no name", row=1))
            ok = False
        elif column in seen:
            issues.append(Issue(table.where, "column appears twice", row=1, column=column))
            ok = False
        elif column not in fields:
            allowed = ", ".join(fields)
            issues.append(
                Issue(table.where, f"unknown column (allowed: {allowed})", row=1, column=column)
            )
            ok = False
        seen.add(column)
    for name, info in fields.items():
        if info.is_required() and name not in seen:
            issues.append(Issue(table.where, "required column is missing", column=name))
            ok = False
    for line, record in table.records:
        if "\0extra" in record:
            issues.append(Issue(table.where, "more cells than header columns", row=line))
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


def parse_raw_site(raw: RawSite, issues: list[Issue]) -> ParsedSite:
    """Text cells -> schema objects with their locations. Records that do not parse are left
    out and their problems (types, ranges, required values, columns) added to `issues`."""
    tables: dict[str, list[Located]] = {}
    for name, spec in TABLES.items():
        table = raw.tables.get(name)
        if table is None:
            tables[name] = []
            continue
        if not _check_columns(table, spec.schema, issues):
            tables[name] = []
            continue
        if spec.needs_rows and not table.records:
            issues.append(Issue(table.where, "has a header but no data rows", row=2))
        parsed = []
        for line, record in table.records:
            obj = parse_record(spec.schema, record, table.where, line, issues)
            if obj is not None:
                parsed.append(Located(obj, table.where, line))
        tables[name] = parsed
    site_keys = _parse_site_keys(raw, issues)
    return ParsedSite(site_keys, raw.site_where, raw.site_key_rows, tables)


def _site_issue(raw: RawSite, key: str, message: str) -> Issue:
    line = raw.site_key_rows.get(key) or None
    column = "value" if line else key
    text = message if line is None else f"{key}: {message}"
    return Issue(raw.site_where, text, row=line, column=column)


def _parse_site_keys(raw: RawSite, issues: list[Issue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, text in raw.site_keys.items():
        if key not in SITE_KEYS:
            issues.append(_site_issue(raw, key, f"unknown key (allowed: {', '.join(SITE_KEYS)})"))
        elif text != "":
            out[key] = text
    if "grid_limit_kw" not in out:
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
    }
    try:
        return Site.model_validate(data)
    except ValidationError as exc:
        raise SiteError(
            [
                _site_issue(raw, str(err["loc"][0]), _describe(err))
                for err in exc.errors()
                if err["loc"]
            ]
        ) from None


def load_site(path: str | Path, models_dir: Path | None = None) -> Site:
    """Load and validate a site folder or .xlsx workbook. Raises SiteError listing every
    problem as `file[:sheet], row N, column C: what is wrong`."""
    return build_site(read_raw_site(path), models_dir)


def load_site_with_warnings(path: str | Path) -> tuple[Site, list[Issue]]:
    """The site and the warnings worth showing a user (they do not stop a solve)."""
    from optimizer import checks

    site = load_site(path)
    return site, checks.site_warnings(site)
