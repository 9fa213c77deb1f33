"""The plan as one Excel workbook: a Summary sheet, then one sheet per table, with number
formats, filters, frozen headers and utilization colours."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from optimizer.errors import UsageError
from optimizer.export.values import (
    AMBER_HEX,
    AMBER_UTILIZATION,
    COUNT_COLUMNS,
    GREEN_HEX,
    RED_HEX,
    RED_UTILIZATION,
    SUMMARY_SHEET,
    TIMINGS_KEY,
    is_number,
    json_value,
    output_tables,
    plain_value,
    summary_for_output,
)
from optimizer.tables import Plan
from optimizer.textsafe import string_cells

MAX_COLUMN_WIDTH = 60
_NUMBER_FORMATS = {"kw": "#,##0.0", "count": "#,##0", "share": "0.0%"}
SHEET_ROWS = 1_048_576  # the most rows an Excel sheet holds, the header included


def too_large_for_a_sheet(tables: Mapping[str, pd.DataFrame]) -> str | None:
    """Why the tables cannot be one workbook (a table longer than a sheet), or None."""
    for name, table in tables.items():
        if len(table) + 1 > SHEET_ROWS:
            return (
                f"the plan's {name} table has {len(table):,} rows, more than an Excel sheet "
                f"holds ({SHEET_ROWS - 1:,} below its header)"
            )
    return None


def write_workbook(
    plan: Plan, path: Path, tables: Mapping[str, pd.DataFrame] | None = None
) -> None:
    """The plan as one workbook. Every text cell is a string cell, never a formula, whatever
    an id starts with (docs/outputs.md, spreadsheet safety)."""
    tables = output_tables(plan) if tables is None else tables
    problem = too_large_for_a_sheet(tables)
    if problem is not None:
        raise UsageError(f"{problem}; write a plan folder (--out DIR) for the CSV tables")
    workbook = Workbook()
    summary_sheet = workbook.active
    summary_sheet.title = SUMMARY_SHEET
    _fill_summary_sheet(summary_sheet, plan, tables["clusters"])
    for name, table in tables.items():
        _fill_table_sheet(workbook.create_sheet(sheet_title(name)), table)
    string_cells(workbook)
    workbook.save(path)


def sheet_title(name: str) -> str:
    """An Excel sheet name: at most 31 characters, none of `[]:*?/\\`."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]


def _fill_summary_sheet(sheet: Any, plan: Plan, clusters: pd.DataFrame) -> None:
    bold = Font(bold=True)
    summary = summary_for_output(plan)
    timings = summary.pop(TIMINGS_KEY)
    sheet.append(["key", "value"])
    for key, value in summary.items():
        sheet.append([key, _sheet_value(value)])
        _format_summary_value(sheet.cell(sheet.max_row, 2), key)
    for stage, seconds in timings.items():
        sheet.append([f"{TIMINGS_KEY}.{stage}", seconds])
        sheet.cell(sheet.max_row, 2).number_format = "0.000"
    # Per cluster: what was asked and what was placed.
    wanted = ["cluster", "min_racks", "max_racks", "placed_racks", "gpus", "limited_by"]
    present = [c for c in wanted if c in clusters.columns]
    if "cluster" in present:
        sheet.append([])
        sheet.append(present)
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = bold
        for values in clusters[present].itertuples(index=False, name=None):
            sheet.append([_sheet_value(v) for v in values])
            for j, column in enumerate(present, start=1):
                if column in COUNT_COLUMNS:
                    sheet.cell(sheet.max_row, j).number_format = _NUMBER_FORMATS["count"]
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    _fit_column_widths(sheet)


def _format_summary_value(cell: Any, key: str) -> None:
    if not is_number(cell.value) or isinstance(cell.value, bool):
        return
    if key in COUNT_COLUMNS or key.endswith("_gpus") or key.endswith("_racks"):
        cell.number_format = _NUMBER_FORMATS["count"]
    elif key in ("objective", "bound"):
        cell.number_format = "#,##0.00"
    elif key.endswith("_gap"):
        cell.number_format = "0.000%"
    elif key.endswith("_kw"):
        cell.number_format = _NUMBER_FORMATS["kw"]


def _fill_table_sheet(sheet: Any, table: pd.DataFrame) -> None:
    columns = [str(c) for c in table.columns]
    n_rows = len(table)
    # Column by column: the cell values, the number format and the widest text shown.
    values: list[list[Any]] = []
    formats: list[str | None] = []
    widths: list[int] = []
    for column, name in zip(table.columns, columns, strict=True):
        series = table[column]
        cells = [_sheet_value(v) for v in series.tolist()]
        number_format = _column_number_format(name, series) if n_rows else None
        values.append(cells)
        formats.append(number_format)
        header = len(name) + (2 if n_rows else 0)  # the filter button covers a header's end
        widths.append(max([header, *_shown_lengths(cells, number_format or "General")]))
    sheet.append(columns)
    for row in zip(*values, strict=True):
        sheet.append(row)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    if n_rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n_rows + 1}"
    for j, (column, number_format) in enumerate(zip(columns, formats, strict=True), start=1):
        if number_format is None:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, max_row=n_rows + 1, min_col=j, max_col=j):
            cell.number_format = number_format
        if _is_utilization(column):
            _colour_utilization(sheet, get_column_letter(j), n_rows)
    for j, n in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(n + 2, MAX_COLUMN_WIDTH)


def _is_utilization(column: str) -> bool:
    return column == "utilization" or column.endswith("_utilization")


def _column_number_format(column: str, series: pd.Series) -> str | None:
    if _is_utilization(column):
        return _NUMBER_FORMATS["share"]
    if pd.api.types.is_bool_dtype(series):
        return None
    if column == "kw" or column.endswith("_kw"):
        return _NUMBER_FORMATS["kw"]
    if pd.api.types.is_integer_dtype(series):
        return _NUMBER_FORMATS["count"]
    return None


def _colour_utilization(sheet: Any, letter: str, n_rows: int) -> None:
    cells = f"{letter}2:{letter}{n_rows + 1}"
    first = f"{letter}2"

    def fill(hex_rgb: str) -> PatternFill:
        return PatternFill(start_color=hex_rgb, end_color=hex_rgb, fill_type="solid")

    rules = sheet.conditional_formatting
    rules.add(
        cells,
        CellIsRule(
            operator="greaterThanOrEqual",
            formula=[repr(RED_UTILIZATION)],
            fill=fill(RED_HEX),
            stopIfTrue=True,
        ),
    )
    rules.add(
        cells,
        CellIsRule(
            operator="greaterThanOrEqual",
            formula=[repr(AMBER_UTILIZATION)],
            fill=fill(AMBER_HEX),
            stopIfTrue=True,
        ),
    )
    rules.add(  # ISNUMBER: an empty cell (no limit) stays uncoloured
        cells,
        FormulaRule(
            formula=[f"AND(ISNUMBER({first}),{first}<{AMBER_UTILIZATION!r})"],
            fill=fill(GREEN_HEX),
            stopIfTrue=True,
        ),
    )


def _sheet_value(value: Any) -> Any:
    """A value openpyxl can store: None for missing, text for what a cell cannot hold."""
    value = plain_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf": Excel has no infinity
    if isinstance(value, dict | list | tuple):
        return json.dumps(json_value(value), ensure_ascii=False)
    if value == "":
        return None
    return value


def _fit_column_widths(sheet: Any, filter_buttons: bool = False) -> None:
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            n = len(_shown_text(cell.value, cell.number_format))
            if cell.row == 1 and filter_buttons:
                n += 2  # the filter button covers the end of a header
            widths[cell.column] = max(widths.get(cell.column, 0), n)
    for column, n in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(n + 2, MAX_COLUMN_WIDTH)


def _shown_text(value: Any, number_format: str) -> str:
    """About the text Excel shows for `value` in `number_format` (for column widths)."""
    if isinstance(value, bool) or not is_number(value):
        return str(value)
    if number_format == _NUMBER_FORMATS["share"]:
        return f"{value:.1%}"
    if number_format == _NUMBER_FORMATS["kw"]:
        return f"{value:,.1f}"
    if number_format == _NUMBER_FORMATS["count"]:
        return f"{value:,.0f}"
    return f"{value:.10g}"


def _shown_lengths(values: list[Any], number_format: str) -> list[int]:
    """Lengths of the texts shown for the non-empty `values` of one column."""
    return [len(_shown_text(v, number_format)) for v in values if v is not None]
