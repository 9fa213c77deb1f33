"""Writes a `Plan` to disk: a plan folder or one workbook.

A plan folder (`write_plan(plan, Path("out"))`) holds:

    placements.csv  summary.json  clusters.csv  power.csv  cooling.csv  pods.csv  rows.csv
    grid.csv  plan.xlsx  floor-<hall>.png (one per hall)  utilization.png

`write_plan(plan, Path("plan.xlsx"))` writes only the workbook. docs/outputs.md explains
every file and column.

Determinism: the CSVs and summary.json are byte-identical for equal plans. Floats are
rounded to `FLOAT_DECIMALS`, lines end in `\\n`, summary keys come in a fixed order, and every
timing is in the one field `timings_s`.
"""

from __future__ import annotations

import gc
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from optimizer.errors import UsageError
from optimizer.export.atomic import (
    check_replaceable_folder,
    check_replaceable_workbook,
    write_atomically,
)
from optimizer.export.pictures import (
    FloorPlans,
    picture_names,
    save_figure,
    utilization_figure,
)
from optimizer.export.values import (
    SUMMARY_NAME,
    UTILIZATION_PICTURE,
    WORKBOOK_NAME,
    output_tables,
    summary_for_output,
)
from optimizer.export.workbook import too_large_for_a_sheet, write_workbook
from optimizer.tables import Plan
from optimizer.textsafe import neutralized_table


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
    if out.is_symlink() and not out.exists():
        target = os.readlink(out)
        raise UsageError(f"--out {out} is a symbolic link to nothing ({target}); choose another")
    with _collector_paused():
        if out.suffix.lower() == ".xlsx":
            if out.is_dir():
                raise UsageError(f"{out} is a folder, not a workbook; choose another --out")
            check_replaceable_workbook(out)
            write_atomically(out, lambda tmp: write_workbook(plan, tmp / out.name))
        else:
            check_replaceable_folder(out)
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
        write_workbook(plan, folder / WORKBOOK_NAME, tables)
    with warnings.catch_warnings():
        # A name in a script the font lacks (CJK, emoji) is drawn as boxes; matplotlib's
        # warning per glyph would reach the terminal, even under --quiet.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        floor_plans = FloorPlans(plan)
        for hall, file_name in picture_names(plan).items():
            floor_plans.save(hall, folder / file_name)
        save_figure(utilization_figure(plan), folder / UTILIZATION_PICTURE)


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    neutralized_table(table).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_summary_json(plan: Plan, path: Path) -> None:
    text = json.dumps(summary_for_output(plan), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8", newline="\n")
