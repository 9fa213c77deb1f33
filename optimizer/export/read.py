"""Reading a plan's placements back, for `rackfit check`: from a plan folder, a plan
workbook or a hand-edited placements CSV, with every problem located by file, row and column."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.errors import Issue, SiteError
from optimizer.tables import PLACEMENT_COLUMNS
from optimizer.text import cell_text
from optimizer.textsafe import unneutralize

if TYPE_CHECKING:
    from optimizer.loaders import Rows

MAX_POSITION = 10_000_000  # the most positions a row may have (schema.NonNegInt)


def read_plan_placements(path: Path) -> pd.DataFrame:
    """Placements from a plan folder, a plan workbook (sheet `placements`) or a bare
    placements CSV, e.g. one edited by hand.

    Returns `hall,row,position,cluster,model` (text, and whole `position`), blank lines
    dropped. Raises `SiteError` listing every problem as file, row (as a spreadsheet shows it,
    header = 1) and column: a missing or unknown column, an empty cell, a position that is
    not a whole number from 1. Whether the rows and positions exist in the site is for
    `rackfit check` to say, not this reader.
    """
    path = Path(path)
    if not path.exists():
        raise SiteError(Issue(where=str(path), message="no such file or folder"))
    if path.is_dir():
        path = path / "placements.csv"
        if not path.is_file():
            raise SiteError(
                Issue(where=str(path.parent), message="not a plan folder: no placements.csv")
            )
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return placements_from_sheets(path, read_sheets(path, wanted="placements"))
    return _placements_from_raw(_read_placements_csv(path), str(path))


def placements_from_sheets(path: Path, sheets: dict[str, Rows]) -> pd.DataFrame:
    """Placements from the sheets of the plan workbook `path`, as `read_workbook_sheets`
    read them (for a reader that needs its other sheets too: one read of the file)."""
    if "placements" not in sheets:
        message = "no sheet 'placements' (a plan workbook has one)"
        raise SiteError(Issue(where=str(path), message=message))
    return _placements_from_raw(sheet_frame(sheets["placements"]), f"{path}:placements")


def _read_placements_csv(path: Path) -> pd.DataFrame:
    try:
        # Blank lines are kept (and dropped below) so that row numbers match the file.
        table = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise SiteError(Issue(where=str(path), message="the file is empty")) from None
    except UnicodeDecodeError:
        raise SiteError(Issue(where=str(path), message="not a UTF-8 text file")) from None
    except (pd.errors.ParserError, ValueError) as e:
        message = f"cannot read as CSV: {str(e).strip()}"
        raise SiteError(Issue(where=str(path), message=message)) from None
    return table.map(unneutralize)  # an id written neutralized reads back as itself


def read_sheets(path: Path, wanted: str | None = None) -> dict[str, Rows]:
    """The workbook's sheets (only `wanted`, if given) through the site loader's safe
    reader: only the cells the file holds, formulas by their saved value, `NA` stays the id
    `NA`, a hostile or damaged file one error naming it."""
    from optimizer.loaders import read_workbook_sheets

    issues: list[Issue] = []
    sheets = read_workbook_sheets(path, issues, wanted=wanted)
    if issues:
        raise SiteError(issues)
    return sheets


def sheet_frame(rows: list[tuple[int, list[Any]]]) -> pd.DataFrame:
    """A sheet as `read_workbook_sheets` gives it (spreadsheet row, cells) as a table of
    cells: its first row the header (a blank header cell named `Unnamed: j`), and every later
    row a record, blank rows kept as blank records so that record k is spreadsheet row k + 2
    (error messages name rows)."""
    if not rows:
        return pd.DataFrame()
    (first, header), body = rows[0], rows[1:]
    width = max(len(values) for _, values in rows)
    names = [
        f"Unnamed: {j}" if h is None or str(h).strip() == "" else str(h)
        for j, h in enumerate(list(header) + [None] * (width - len(header)))
    ]
    # Row numbers kept (blank rows stay, as blank records): the header is the first row.
    records: list[list[Any]] = [[None] * width for _ in range(body[-1][0] - first if body else 0)]
    for line, values in body:
        records[line - first - 1] = list(values) + [None] * (width - len(values))
    return pd.DataFrame(records, columns=names, dtype=object)


OPTIONAL_PLACEMENT_COLUMNS = ("existing", "phase")  # contract v1.1


def _placements_from_raw(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    raw = raw.rename(columns=lambda c: str(c).strip())
    text = raw.map(_cell) if len(raw.columns) else raw
    # Columns without a header and without values (stray commas, formatted empty cells).
    text = text[[c for c in text.columns if not (_unnamed(c) and not text[c].any())]]
    allowed = [*PLACEMENT_COLUMNS, *OPTIONAL_PLACEMENT_COLUMNS]
    issues = [
        Issue(where, f"missing column {c} (placements need {','.join(PLACEMENT_COLUMNS)})", 1, c)
        for c in PLACEMENT_COLUMNS
        if c not in text.columns
    ]
    issues += [
        Issue(where, f"unknown column {c!r} (placements have {','.join(allowed)})", 1, c)
        for c in text.columns
        if c not in allowed
    ]
    if issues:
        raise SiteError(issues)
    columns = [c for c in allowed if c in text.columns]
    text = text[columns]
    text = text[(text != "").any(axis=1)]
    positions: list[int] = []
    for index, values in zip(text.index, text.itertuples(index=False, name=None), strict=True):
        line = int(index) + 2  # the header is row 1
        record = dict(zip(columns, values, strict=True))
        existing = record.get("existing", "").lower()
        if existing not in ("", "true", "false"):
            issues.append(Issue(where, f"{existing!r} is not true or false", line, "existing"))
        for column in ("hall", "row", "cluster", "model"):
            if record[column] == "" and not (column == "cluster" and existing == "true"):
                issues.append(Issue(where, "empty; every rack needs one", line, column))
        position = _whole_number(record["position"])
        if position is None or not 1 <= position <= MAX_POSITION:
            shown = record["position"] or "empty"
            message = f"{shown!r} is not a position (a whole number from 1 to {MAX_POSITION:,})"
            issues.append(Issue(where, message, line, "position"))
        positions.append(position or 0)
    if issues:
        raise SiteError(issues)
    out = text.reset_index(drop=True).astype(str)
    out["position"] = pd.Series(positions, dtype="int64")
    if "existing" in out.columns:
        out["existing"] = out["existing"].str.lower()
    return out


def _cell(value: Any) -> str:
    """A cell pandas read, as text: its missing values (NaN, None) are empty cells."""
    return "" if pd.isna(value) else cell_text(value)


def _unnamed(column: str) -> bool:
    return column == "" or column.startswith("Unnamed:")


def _whole_number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
