"""Writes a `Plan` to disk — a plan folder or one workbook — and reads placements back.

Writers only write: every number comes from the Plan, which results.py filled. What happens
here is presentation: rounding, number formats, colours, pictures, and moving the finished
output into place so that a failed or interrupted write never leaves half a plan behind.

A plan folder (`write_plan(plan, Path("out"))`) holds:

    placements.csv  summary.json  clusters.csv  power.csv  cooling.csv  pods.csv  rows.csv
    grid.csv  plan.xlsx  floor-<hall>.png (one per hall)  utilization.png

`write_plan(plan, Path("plan.xlsx"))` writes only the workbook. docs/outputs.md explains
every file and column.

Determinism: the CSVs and summary.json are byte-identical for equal plans. Floats are
rounded to `FLOAT_DECIMALS`, lines end in `\\n`, summary keys come in a fixed order, and every
timing is in the one field `timings_s`.

Pictures are drawn on `matplotlib.figure.Figure` objects with the Agg canvas, never through
pyplot, so importing this module does not change the backend of a notebook or a GUI.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import markers, rcParams
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from PIL import Image

from optimizer.errors import Issue, SiteError, UsageError
from optimizer.tables import PLACEMENT_COLUMNS, Plan
from optimizer.textsafe import neutralized_table, string_cells, unneutralize

# -- output conventions ----------------------------------------------------------------------
MAX_POSITION = 10_000_000  # the most positions a row may have (schema.NonNegInt)
FLOAT_DECIMALS = 6  # every float in the CSVs, summary.json and the workbook
TIMING_DECIMALS = 3
WORKBOOK_NAME = "plan.xlsx"
SUMMARY_NAME = "summary.json"
UTILIZATION_PICTURE = "utilization.png"
SUMMARY_SHEET = "Summary"
# summary.json: these keys first, in this order, then the others alphabetically, timings last.
SUMMARY_FIRST_KEYS = (
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
)
TIMINGS_KEY = "timings_s"
# Count columns: written as whole numbers even when a missing value made them float.
COUNT_COLUMNS = frozenset(
    {
        "position",
        "min_racks",
        "max_racks",
        "placed_racks",
        "gpus",
        "ports",
        "ports_used",
        "positions",
        "racks",
    }
)
# Utilization colours (workbook and pictures): green below AMBER, amber below RED, red from RED.
AMBER_UTILIZATION = 0.8
RED_UTILIZATION = 0.999  # the contract's `binding`: utilization >= 99.9%
GREEN_HEX, AMBER_HEX, RED_HEX = "C6EFCE", "FFEB9C", "FFC7CE"  # Excel's good / neutral / bad
BAR_GREEN, BAR_AMBER, BAR_RED = "#4caf50", "#f0a30a", "#d9534f"
EMPTY_POSITION = "#dddddd"

# -- picture sizes ---------------------------------------------------------------------------
DPI = 100
FIGURE_WIDTH_IN = 12.0
MAX_FIGURE_HEIGHT_IN = 20.0
TOP_N = 30  # bars per section of the utilization picture
MAX_ROW_LABELS = 60
MAX_LEGEND_ENTRIES = 30
MAX_COLUMN_WIDTH = 60
PNG_COMPRESS_LEVEL = 1  # zlib's fastest: files ~15% bigger than at the default 6, written faster
TICK_LABEL_GID = {"x": "x-tick-label", "y": "y-tick-label"}  # see _draw_ticks

_NUMBER_FORMATS = {"kw": "#,##0.0", "count": "#,##0", "share": "0.0%"}


# ============================================================================================
# Writing a plan
# ============================================================================================
def write_plan(plan: Plan, out: Path) -> Path:
    """Write `plan` to `out` and return `out`.

    `out` ending in `.xlsx`: the workbook only. Anything else: a plan folder (see the module
    docstring). Everything is written to a temporary sibling of `out` first and moved into
    place at the end; on any exception (Ctrl-C included) the temporary output is removed and
    a previous `out` is left as it was. An existing folder is only replaced if it is empty or
    holds a plan (`summary.json` or `placements.csv`), never an unrelated folder.
    """
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise UsageError(f"--out {out}: name a new folder or an .xlsx file, not {out}")
    with _collector_paused():
        if out.suffix.lower() == ".xlsx":
            if out.is_dir():
                raise UsageError(f"{out} is a folder, not a workbook; choose another --out")
            _check_replaceable_workbook(out)
            write_atomically(out, lambda tmp: _write_workbook(plan, tmp / out.name))
        else:
            _check_replaceable_folder(out)
            write_atomically(out, lambda tmp: _write_plan_folder(plan, tmp / out.name))
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off, then back as it was. Writing makes enough objects to
    start several full collections, each of which walks every object of the process: after
    a solve, hundreds of thousands (a tenth of the writing time at Colossus scale). The
    cycles the writing leaves (figures, the workbook) are collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_plan_folder(plan: Plan, folder: Path) -> None:
    folder.mkdir()
    tables = output_tables(plan)
    for name, table in tables.items():
        _write_csv(table, folder / f"{name}.csv")
    _write_summary_json(plan, folder / SUMMARY_NAME)
    if too_large_for_a_sheet(tables) is None:  # else the CSVs alone hold the tables
        _write_workbook(plan, folder / WORKBOOK_NAME, tables)
    with warnings.catch_warnings():
        # A name in a script the font lacks (CJK, emoji) is drawn as boxes; matplotlib's
        # warning per glyph would reach the terminal, even under --quiet.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        floor_plans = _FloorPlans(plan)
        for hall, file_name in picture_names(plan).items():
            floor_plans.save(hall, folder / file_name)
        _save_figure(utilization_figure(plan), folder / UTILIZATION_PICTURE)


def picture_names(plan: Plan) -> dict[str, str]:
    """Hall -> floor-plan file name, `floor-<hall>.png` with the hall made file-safe."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for hall in plan.site.halls:
        stem = "floor-" + (re.sub(r"[^A-Za-z0-9._-]+", "_", hall).strip("._") or "hall")
        name, n = f"{stem}.png", 1
        while name.lower() in taken:  # two halls that only differ in unsafe characters
            n += 1
            name = f"{stem}-{n}.png"
        taken.add(name.lower())
        names[hall] = name
    return names


# -- atomic replacement ----------------------------------------------------------------------
def write_atomically(out: Path, fill: Callable[[Path], None]) -> None:
    """`fill(tmp)` writes `tmp / out.name` (a file or a folder); then that replaces `out`.

    All or nothing: `tmp` is a new hidden sibling of `out`; on any exception, Ctrl-C
    included, it is removed (with any parent folders this call created) and a previous `out`
    is left as it was. An existing folder `out` is moved aside, the new one moved in, and the
    old one deleted only then."""
    out = Path(os.path.abspath(out))  # `.` has a name now, and a parent
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        _fill_empty_folder(out, fill)  # e.g. `init .`: the folder itself stays
        return
    created = _make_parents(out.parent)
    tmp = _make_temp_dir(out.parent, f".{_short_name(out.name)}.tmp-")
    try:
        fill(tmp)
        _swap_into_place(tmp / out.name, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # deepest first; only folders this call made, if still empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    tmp.rmdir()


_write_atomically = write_atomically  # the name cli.py and convert.py import today


def _short_name(name: str) -> str:
    """The start of `name` for a temporary sibling, so that `.NAME.tmp-1234abcd` stays
    within the 255 bytes a file name may have, however long `name` is."""
    return name.encode("utf-8")[:200].decode("utf-8", errors="ignore")


def _fill_empty_folder(out: Path, fill: Callable[[Path], None]) -> None:
    """`write_atomically` into an existing empty folder (the current one, say), which cannot
    be swapped: written beside its future place inside it, then moved in entry by entry. On
    any exception what was moved is removed again and the folder is left empty."""
    tmp = _make_temp_dir(out, ".rackfit.tmp-")
    moved: list[Path] = []
    try:
        fill(tmp)
        made = tmp / out.name
        if not made.is_dir():
            raise UsageError(f"{out} is a folder; choose another name")
        for entry in sorted(made.iterdir()):
            os.rename(entry, out / entry.name)
            moved.append(out / entry.name)
        made.rmdir()
    except BaseException:
        for path in moved:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rmdir()


def _swap_into_place(new: Path, out: Path) -> None:
    if not out.exists() or out.is_file():
        os.replace(new, out)  # atomic for a file; a new folder simply appears
        return
    aside = _make_temp_dir(out.parent, f".{_short_name(out.name)}.old-")
    os.rename(out, aside / out.name)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(aside / out.name, out)
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _check_replaceable_workbook(out: Path) -> None:
    """An existing `out.xlsx` is replaced only when it is a plan workbook rackfit wrote (it
    has the sheets Summary and placements), never a site workbook or another file."""
    if not (out.exists() or out.is_symlink()):
        return
    from optimizer.errors import SiteError
    from optimizer.loaders import read_workbook_sheets

    try:
        sheets = read_workbook_sheets(out, [], wanted=SUMMARY_SHEET)
    except SiteError:
        sheets = {}
    if SUMMARY_SHEET not in sheets:
        raise UsageError(
            f"{out} exists and is not a plan workbook (no {SUMMARY_SHEET} sheet), e.g. a site; "
            "refusing to replace it, choose another --out"
        )


def _check_replaceable_folder(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder; choose another --out")
    is_plan = (out / SUMMARY_NAME).exists() or (out / "placements.csv").exists()
    if not is_plan and any(out.iterdir()):
        raise UsageError(
            f"{out} is a folder that holds no plan (no {SUMMARY_NAME}); "
            "refusing to replace it, choose another --out"
        )


def _make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder in `parent`, created with the user's umask (mkdtemp's is 0700)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and missing ancestors; return those created, deepest first."""
    missing: list[Path] = []
    current = folder.absolute()
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


# -- tables: rounding and types --------------------------------------------------------------
def output_tables(plan: Plan) -> dict[str, pd.DataFrame]:
    """The plan's tables as written: floats rounded, counts whole, by file stem."""
    return {name: _table_for_output(table) for name, table in plan.tables().items()}


def _table_for_output(table: pd.DataFrame) -> pd.DataFrame:
    out = table.reset_index(drop=True).copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
            continue
        if pd.api.types.is_float_dtype(series):
            whole = series.dropna()
            if column in COUNT_COLUMNS and bool((whole == whole.round()).all()):
                out[column] = series.astype("Int64")
            else:
                out[column] = series.round(FLOAT_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
        elif series.dtype == object:
            out[column] = series.map(_plain_value)
    return out


def _plain_value(value: Any) -> Any:
    """A Python scalar for a cell: numpy scalars unwrapped, floats rounded, NaN/NA -> None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, FLOAT_DECIMALS) + 0.0 if math.isfinite(value) else value
    return value


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    neutralized_table(table).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


# -- summary.json ----------------------------------------------------------------------------
def summary_for_output(plan: Plan) -> dict[str, Any]:
    """summary.json's content: fixed key order, plain JSON values, timings in `timings_s`."""
    keys = [k for k in SUMMARY_FIRST_KEYS if k in plan.summary]
    keys += sorted(k for k in plan.summary if k not in SUMMARY_FIRST_KEYS and k != TIMINGS_KEY)
    out = {k: _json_value(plan.summary[k]) for k in keys}
    out[TIMINGS_KEY] = {
        str(stage): round(float(seconds), TIMING_DECIMALS)
        for stage, seconds in plan.timings_s.items()
    }
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_json_value(v) for v in items]
    value = _plain_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _write_summary_json(plan: Plan, path: Path) -> None:
    text = json.dumps(summary_for_output(plan), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8", newline="\n")


# -- the workbook ----------------------------------------------------------------------------
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


def _write_workbook(
    plan: Plan, path: Path, tables: Mapping[str, pd.DataFrame] | None = None
) -> None:
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
    if not _is_number(cell.value) or isinstance(cell.value, bool):
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
    value = _plain_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf": Excel has no infinity
    if isinstance(value, dict | list | tuple):
        return json.dumps(_json_value(value), ensure_ascii=False)
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
    if isinstance(value, bool) or not _is_number(value):
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


# ============================================================================================
# Pictures
# ============================================================================================
def _new_figure(height_in: float) -> Figure:
    figure = Figure(figsize=(FIGURE_WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save_figure(figure: Figure, path: Path) -> None:
    """Draw `figure` (one of `_new_figure`'s, at `DPI`) and write it as a PNG of exactly
    figsize * DPI pixels (no bbox_inches="tight")."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    canvas.draw()
    _write_png(canvas, path)


def _write_png(canvas: FigureCanvasAgg, path: Path) -> None:
    """What `canvas` drew, as `savefig` would write it, but encoded here by Pillow: RGB when
    the picture is opaque (it always is: figures are white), zlib level `PNG_COMPRESS_LEVEL`,
    and no text chunks (no "Software" with matplotlib's version), so the file depends on the
    plan only."""
    pixels = np.asarray(canvas.buffer_rgba())
    image = Image.fromarray(pixels)
    if bool((pixels[..., 3] == 255).all()):
        image = image.convert("RGB")
    image.save(path, format="png", dpi=(DPI, DPI), compress_level=PNG_COMPRESS_LEVEL)


def cluster_colours(plan: Plan) -> dict[str, str]:
    """Cluster -> colour, in demand.csv order (then any other cluster the placements name),
    the same in every floor plan of the plan. With racks already standing or phases (v1.1)
    the keys are `rack_categories`: existing racks grey, and each cluster's racks a shade
    of its colour per phase, lighter for later phases."""
    clusters = list(dict.fromkeys([c.cluster for c in plan.site.demand]))
    for cluster in plan.placements["cluster"].astype(str):
        if cluster not in clusters:
            clusters.append(cluster)
    palette = [to_hex(c) for c in _palette(len(clusters))]
    colours = dict(zip(clusters, palette, strict=True))
    if not plan.site.existing and not plan.site.phases:
        return colours
    phases = [p.phase for p in plan.site.phases] or [""]
    out = {EXISTING_LABEL: EXISTING_COLOUR} if plan.site.existing else {}
    present = set(rack_categories(plan))
    for cluster in clusters:
        for k, phase in enumerate(phases):
            label = _category(cluster, phase if plan.site.phases else "")
            if label in present:
                share = 0.6 * k / max(len(phases) - 1, 1)  # towards white
                r, g, b = ((1 - share) * v + share for v in to_rgb(colours[cluster]))
                out[label] = to_hex((r, g, b))
    return out


EXISTING_LABEL = "already standing"
EXISTING_COLOUR = "#7f7f7f"


def _category(cluster: str, phase: str) -> str:
    return f"{cluster}, phase {phase}" if phase else cluster


def rack_categories(plan: Plan) -> list[str]:
    """What a floor plan colours each placement line by: its cluster; v1.1: racks already
    standing as one category, and new racks by cluster and phase installed."""
    p = plan.placements
    clusters = p["cluster"].astype(str).tolist()
    phases = p["phase"].astype(str).tolist() if "phase" in p.columns else [""] * len(p)
    existing = (
        (p["existing"].astype(str).str.lower() == "true").tolist()
        if "existing" in p.columns
        else [False] * len(p)
    )
    return [
        EXISTING_LABEL if e else _category(c, ph)
        for c, ph, e in zip(clusters, phases, existing, strict=True)
    ]


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    base = list(colormaps["tab20"].colors)  # type: ignore[attr-defined]
    base = base[0::2] + base[1::2]  # the ten strong colours first, then their light twins
    if n <= len(base):
        return base[:n]
    return [colormaps["turbo"](i / max(n - 1, 1)) for i in range(n)]


@dataclass(frozen=True)
class _HallView:
    """What a floor plan shows of one hall."""

    layout: tuple[Any, ...]  # rows, width, row labels: all but the racks, title and legend
    n_rows: int
    width: int  # positions in the longest row
    row_labels: dict[int, str]  # row index -> its label, every `step`th row
    grid: np.ma.MaskedArray  # rows x positions: 0 empty, i + 1 the i-th cluster; masked: none
    title: str
    legend: list[tuple[str, str]]  # (colour, text)

    @property
    def height_in(self) -> float:
        return min(max(1.6 + 0.28 * self.n_rows, 3.0), MAX_FIGURE_HEIGHT_IN)


def _hall_view(plan: Plan, hall: str, colours: Mapping[str, str]) -> _HallView:
    rows = [r for r in plan.site.rows if r.hall == hall]
    if not rows:
        raise ValueError(f"hall {hall!r} has no rows in site {plan.site.name!r}")
    code = {c: i + 1 for i, c in enumerate(colours)}  # 0 = empty position
    in_hall = plan.placements["hall"].astype(str) == hall
    here = plan.placements[in_hall]
    categories = [c for c, keep in zip(rack_categories(plan), in_hall, strict=True) if keep]
    row_index = {r.row: i for i, r in enumerate(rows)}
    positions = here["position"].astype("int64").tolist()
    width = max([r.positions for r in rows] + [max(positions, default=0), 1])

    grid = np.full((len(rows), width), -1, dtype=np.int64)  # -1 = no such position
    for i, row in enumerate(rows):
        grid[i, : row.positions] = 0
    racks_by_cluster: dict[str, int] = {}
    gpus = 0
    design_kw = 0.0
    models = plan.site.model_by_id
    for row_id, position, cluster, model in zip(
        here["row"].astype(str).tolist(),
        positions,
        categories,
        here["model"].astype(str).tolist(),
        strict=True,
    ):
        at = row_index.get(row_id)
        if at is not None and 1 <= position <= width:
            grid[at, position - 1] = code[cluster]
        racks_by_cluster[cluster] = racks_by_cluster.get(cluster, 0) + 1
        if model in models:
            gpus += models[model].gpus
            design_kw += models[model].design_kw

    step = max(1, math.ceil(len(rows) / MAX_ROW_LABELS))
    row_labels = {i: _short(rows[i].row, 16) for i in range(0, len(rows), step)}
    legend = [
        (colours[c], f"{_short(c, 24)} ({_racks(racks_by_cluster[c])})")
        for c in colours
        if c in racks_by_cluster
    ]
    if len(legend) > MAX_LEGEND_ENTRIES:
        more = len(legend) - MAX_LEGEND_ENTRIES + 1
        legend = [*legend[: MAX_LEGEND_ENTRIES - 1], ("white", f"... {more} more clusters")]
    legend.append((EMPTY_POSITION, "empty position"))
    return _HallView(
        layout=(len(rows), width, tuple(row_labels.items())),
        n_rows=len(rows),
        width=width,
        row_labels=row_labels,
        grid=np.ma.masked_less(grid, 0),
        title=(
            f"{_short(plan.site.name, 40)} — hall {_short(hall, 40)}: "
            f"{gpus:,} GPUs, {design_kw:,.0f} kW design placed"
        ),
        legend=legend,
    )


def floor_plan_figure(plan: Plan, hall: str) -> Figure:
    """The hall seen from above: each row a strip of positions, coloured by cluster."""
    colours = cluster_colours(plan)
    view = _hall_view(plan, hall, colours)
    figure = _new_figure(view.height_in)
    axes = figure.add_axes(
        _axes_box(view.height_in, left_in=1.3, right_in=2.8, top_in=0.6, bottom_in=0.7)
    )
    cmap = ListedColormap([EMPTY_POSITION, *colours.values()])
    norm = BoundaryNorm(np.arange(len(colours) + 2) - 0.5, cmap.N)
    axes.pcolormesh(
        np.arange(view.width + 1) + 0.5,
        np.arange(view.n_rows + 1) - 0.5,
        view.grid,
        cmap=cmap,
        norm=norm,
        edgecolors="white",
        linewidth=0.6 if view.width * view.n_rows <= 5000 else 0.0,
    )
    axes.set_xlim(0.5, view.width + 0.5)
    axes.set_ylim(view.n_rows - 0.5, -0.5)  # first row at the top
    row_labels = _draw_ticks(axes, "y", list(view.row_labels), list(view.row_labels.values()))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    position_labels = _draw_ticks(axes, "x")
    axes.set_xlabel("position")
    axes.set_ylabel("row")
    _place_axis_label(axes, "x", position_labels)
    _place_axis_label(axes, "y", row_labels)
    # y=1.0 is where matplotlib puts the title; saying so spares it measuring every label.
    axes.set_title(view.title, y=1.0)
    _floor_plan_legend(axes, view.legend)
    return figure


def _floor_plan_legend(axes: Axes, entries: list[tuple[str, str]]) -> None:
    axes.legend(
        handles=[Patch(color=colour, label=text) for colour, text in entries],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        fontsize="small",
        frameon=False,
    )


class _FloorPlans:
    """write_plan's floor plans, one hall after another: the pictures `floor_plan_figure`
    draws, pixel for pixel, drawn faster when halls are alike.

    Halls with the same layout (as many rows, as wide, the same row labels) share one
    figure. What they have in common (axes, tick marks and labels, axis labels) is drawn
    once and kept; for each hall that background is restored and only the hall's own part
    is drawn on it, in the order a full drawing draws it: the racks, the frame (which lies
    on them), the title and the legend. The shared texts took most of the drawing time."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.colours = cluster_colours(plan)
        self.layout: tuple[Any, ...] | None = None
        self.figure: Figure | None = None
        self.background: Any = None  # what the canvas drew of the layout, see save

    def save(self, hall: str, path: Path) -> None:
        view = _hall_view(self.plan, hall, self.colours)
        if self.figure is None or view.layout != self.layout:
            self.figure = floor_plan_figure(self.plan, hall)
            self.layout = view.layout
            self.background = None
        else:
            axes = self.figure.axes[0]
            axes.collections[0].set_array(view.grid)
            axes.title.set_text(view.title)
            cast(Legend, axes.get_legend()).remove()
            _floor_plan_legend(axes, view.legend)
        axes = self.figure.axes[0]
        legend = cast(Legend, axes.get_legend())
        own: list[Artist] = [axes.collections[0], *axes.spines.values(), axes.title, legend]
        canvas = cast(FigureCanvasAgg, self.figure.canvas)
        if self.background is None:
            for artist in own:
                artist.set_visible(False)
            canvas.draw()
            self.background = canvas.copy_from_bbox(self.figure.bbox)
            for artist in own:
                artist.set_visible(True)
        canvas.restore_region(self.background)
        for artist in own:
            self.figure.draw_artist(artist)
        _write_png(canvas, path)


def utilization_figure(plan: Plan) -> Figure:
    """Worst-case load / limit as bars: power devices, cooling, pods (each the `TOP_N` most
    utilised) and the grid, with a line at 100%."""
    sections = [
        _top_section("Power devices: worst case (normal or N-1) / limit", plan.power, "device"),
        _top_section("Cooling: heat / capacity", plan.cooling, "hall", "medium"),
        _top_section("Pods: ports used / ports", plan.pods, "pod"),
        _grid_section(plan),
    ]
    bar_in = 0.2
    fixed_in = 0.55 + 0.7  # top margin + bottom axis label
    gap_in = 0.4  # between sections, room for a title
    n_bars = [max(len(labels), 1) for _, labels, _ in sections]
    wanted = fixed_in + sum(gap_in + 0.25 + bar_in * n for n in n_bars)
    if wanted > MAX_FIGURE_HEIGHT_IN:
        bar_in *= (MAX_FIGURE_HEIGHT_IN - fixed_in - len(sections) * (gap_in + 0.25)) / (
            bar_in * sum(n_bars)
        )
    height = min(max(wanted, 4.0), MAX_FIGURE_HEIGHT_IN)
    figure = _new_figure(height)

    all_values = [v for _, _, values in sections for v in values]
    x_max = max([1.1, *(v * 1.08 for v in all_values)]) * 100
    top_in = 0.55
    left, width = 2.6 / FIGURE_WIDTH_IN, 1 - 3.0 / FIGURE_WIDTH_IN
    for k, ((title, labels, values), n) in enumerate(zip(sections, n_bars, strict=True)):
        axes_in = 0.25 + bar_in * n
        top_in += gap_in
        axes = figure.add_axes((left, 1 - (top_in + axes_in) / height, width, axes_in / height))
        top_in += axes_in
        _draw_bars(axes, title, labels, values, x_max)
        # One x axis, at the bottom: the sections share it, the others only show tick marks.
        x_labels = _draw_ticks(axes, "x", with_labels=k == len(sections) - 1)
    axes.set_xlabel("utilization (%)")
    _place_axis_label(axes, "x", x_labels)
    figure.suptitle(f"{_short(plan.site.name, 60)}: utilization of every limit", y=1 - 0.1 / height)
    return figure


def _top_section(
    title: str, table: pd.DataFrame, *label_columns: str
) -> tuple[str, list[str], list[float]]:
    if "utilization" not in table.columns or not set(label_columns) <= set(table.columns):
        return title, [], []
    frame = table[[*label_columns, "utilization"]].copy()
    frame["utilization"] = pd.to_numeric(frame["utilization"], errors="coerce")
    frame = frame[np.isfinite(frame["utilization"])]
    labels = frame[label_columns[0]].astype(str)
    for column in label_columns[1:]:
        labels = labels + " " + frame[column].astype(str)
    frame["label"] = labels
    frame = frame.sort_values(["utilization", "label"], ascending=[False, True], kind="mergesort")
    if len(frame) > TOP_N:
        title = f"{title} — top {TOP_N} of {len(frame):,}"
    frame = frame.head(TOP_N)
    return title, [str(v) for v in frame["label"]], [float(v) for v in frame["utilization"]]


def _grid_section(plan: Plan) -> tuple[str, list[str], list[float]]:
    title = "Grid: total draw at the design temperature / grid limit + firm on-site"
    grid = plan.grid
    if not {"total_kw", "limit_kw", "utilization"} <= set(grid.columns):
        return title, [], []
    labels: list[str] = []
    values: list[float] = []
    for total, limit, utilization in zip(
        grid["total_kw"], grid["limit_kw"], grid["utilization"], strict=True
    ):
        if _is_number(utilization) and math.isfinite(utilization):
            labels.append(f"grid ({total:,.0f} of {limit:,.0f} kW)")
            values.append(float(utilization))
    return title, labels, values


def _draw_bars(
    axes: Axes, title: str, labels: list[str], values: list[float], x_max: float
) -> None:
    axes.set_title(title, loc="left", fontsize="medium", y=1.0)  # y: see floor_plan_figure
    axes.set_xlim(0, x_max)
    axes.axvline(100, color="black", linestyle="--", linewidth=1)
    if not labels:
        axes.set_ylim(-0.5, 0.5)
        axes.set_yticks([])
        axes.text(x_max / 2, 0, "nothing to show", ha="center", va="center", color="grey")
        return
    y = list(range(len(labels)))
    percent = [v * 100 for v in values]
    for yi, p, v in zip(y, percent, values, strict=True):
        # What barh(y, percent, height=0.7) draws. The limits are set, so the bars need not
        # update them (add_patch), which took most of the time of barh.
        axes.add_artist(Rectangle((0, yi - 0.35), p, 0.7, facecolor=_bar_colour(v)))
    _draw_ticks(axes, "y", y, [_short(label, 30) for label in labels], fontsize="small")
    axes.set_ylim(len(labels) - 0.5, -0.5)  # most utilised at the top
    for yi, p in enumerate(percent):
        axes.text(p + x_max * 0.005, yi, f"{p:.1f}%", va="center", fontsize="x-small")


# Tick marks and labels. matplotlib draws each tick as a `Tick`: three lines and two texts,
# made, laid out and measured one by one, which took most of the time of a floor plan (one
# tick per row). `_draw_ticks` draws the same marks as one line of markers and the labels as
# plain texts (gid `TICK_LABEL_GID`), and `_place_axis_label` puts the axis label where the
# axis would have, next to the labels: the same pixels.
_TICK_MARKERS: dict[str, dict[str, Any]] = {
    "x": {"out": markers.TICKDOWN, "in": markers.TICKUP, "inout": "|"},
    "y": {"out": markers.TICKLEFT, "in": markers.TICKRIGHT, "inout": "_"},
}


def _draw_ticks(
    axes: Axes,
    which: str,
    values: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    *,
    with_labels: bool = True,
    fontsize: str | None = None,
) -> list[Text]:
    """Tick marks at `values` on the bottom (`which` "x") or left ("y") side of `axes`, and
    `labels` next to them. Without `values`: where the axis's locator puts them, labelled by
    its formatter, as the axis would show them. Returns the label texts."""
    axis = axes.xaxis if which == "x" else axes.yaxis
    if values is None:
        located = [float(v) for v in axis.get_major_locator()()]
        shown = axis.get_major_formatter().format_ticks(located)
        low, high = sorted(axis.get_view_interval())
        tolerance = (high - low) * 1e-10
        inside = [i for i, v in enumerate(located) if low - tolerance <= v <= high + tolerance]
        ticks = [located[i] for i in inside]
        labels = [shown[i] for i in inside] if labels is None else labels
    else:
        ticks = [float(v) for v in values]
    axis.set_ticks([])
    rc = f"{which}tick."
    side = "bottom" if which == "x" else "left"
    size = float(_rc(rc + "major.size"))
    direction = str(_rc(rc + "direction"))
    if ticks and _rc(rc + side) and _rc(f"{rc}major.{side}"):
        zeros = [0.0] * len(ticks)
        marks = Line2D(
            *((ticks, zeros) if which == "x" else (zeros, ticks)),
            transform=_tick_transform(axes, which),
            linestyle="none",
            marker=_TICK_MARKERS[which][direction],
            markersize=size,
            markeredgewidth=_rc(rc + "major.width"),
            color=_rc(rc + "color"),
            clip_on=False,
        )
        axes.add_line(marks)
    if not with_labels or not labels or not _rc(f"{rc}label{side}"):
        return []
    text_transform, va, ha = (
        axes.get_xaxis_text1_transform(_tick_label_pad(which))
        if which == "x"
        else axes.get_yaxis_text1_transform(_tick_label_pad(which))
    )
    colour = _rc(rc + "labelcolor")
    if colour == "inherit":
        colour = _rc(rc + "color")
    return [
        axes.text(
            value if which == "x" else 0,
            0 if which == "x" else value,
            label,
            transform=text_transform,
            va=va,
            ha=ha,
            color=colour,
            fontsize=fontsize or _rc(rc + "labelsize"),
            gid=TICK_LABEL_GID[which],
        )
        for value, label in zip(ticks, labels, strict=True)
    ]


def _rc(name: str) -> Any:
    """rcParams[name] for a name put together here (rcParams is typed by literal names)."""
    return cast(Mapping[str, Any], rcParams)[name]


def _tick_transform(axes: Axes, which: str) -> Any:
    if which == "x":
        return axes.get_xaxis_transform(which="tick1")
    return axes.get_yaxis_transform(which="tick1")


def _tick_label_pad(which: str) -> float:
    """Points between the axes and its tick labels: the pad plus the tick's outer part."""
    size = float(_rc(f"{which}tick.major.size"))
    outside = {"out": 1.0, "inout": 0.5}.get(str(_rc(f"{which}tick.direction")), 0.0)
    return float(_rc(f"{which}tick.major.pad")) + size * outside


def _place_axis_label(axes: Axes, which: str, labels: list[Text]) -> None:
    """Put the axis label `labelpad` below (x) or left of (y) the tick `labels`, where the
    axis puts it next to its own tick labels. The labels are measured by the renderer that
    will draw them, which keeps the sizes for the drawing."""
    figure = axes.get_figure(root=True)
    assert isinstance(figure, Figure)
    renderer = cast(FigureCanvasAgg, figure.canvas).get_renderer()
    extents = [t.get_window_extent(renderer) for t in labels]
    size_px = max((e.height if which == "x" else e.width for e in extents), default=0.0)
    axis = axes.xaxis if which == "x" else axes.yaxis
    offset = (_tick_label_pad(which) + size_px * 72 / figure.dpi + float(axis.labelpad)) / 72
    if which == "x":
        shift = ScaledTranslation(0, -offset, figure.dpi_scale_trans)
        axis.set_label_coords(0.5, 0, transform=axes.transAxes + shift)
    else:
        shift = ScaledTranslation(-offset, 0, figure.dpi_scale_trans)
        axis.set_label_coords(0, 0.5, transform=axes.transAxes + shift)


def _bar_colour(utilization: float) -> str:
    if utilization >= RED_UTILIZATION:
        return BAR_RED
    return BAR_AMBER if utilization >= AMBER_UTILIZATION else BAR_GREEN


def _axes_box(
    height_in: float, left_in: float, right_in: float, top_in: float, bottom_in: float
) -> tuple[float, float, float, float]:
    """An axes rectangle in figure fractions from margins in inches."""
    left = left_in / FIGURE_WIDTH_IN
    bottom = bottom_in / height_in
    return (
        left,
        bottom,
        1 - left - right_in / FIGURE_WIDTH_IN,
        max(1 - bottom - top_in / height_in, 0.05),
    )


def _racks(n: int) -> str:
    return "1 rack" if n == 1 else f"{n:,} racks"


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


# ============================================================================================
# Reading placements back (rackfit check)
# ============================================================================================
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
        where = f"{path}:placements"
        raw = _read_placements_sheet(path)
    else:
        where = str(path)
        raw = _read_placements_csv(path)
    return _placements_from_raw(raw, where)


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


def _read_placements_sheet(path: Path) -> pd.DataFrame:
    """The sheet `placements` as text, through the site loader's safe reader (only the cells
    the file holds, formulas by their saved value, `NA` stays the id `NA`)."""
    from optimizer.loaders import read_workbook_sheets

    issues: list[Issue] = []
    sheets = read_workbook_sheets(path, issues, wanted="placements")
    if issues:
        raise SiteError(issues)
    if "placements" not in sheets:
        message = "no sheet 'placements' (a plan workbook has one)"
        raise SiteError(Issue(where=str(path), message=message))
    rows = sheets["placements"]
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
    text = raw.map(_cell_text) if len(raw.columns) else raw
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


def _cell_text(value: Any) -> str:
    value = _plain_value(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a workbook stores 3 as 3.0
    return str(value).strip()


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
