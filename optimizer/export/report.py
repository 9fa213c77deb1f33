"""Writes the HTML report of a plan (`optimizer.report_html` makes the text): from a solved
`Plan` (`rackfit plan --report`) or from a plan on disk (`rackfit report`). Like every
writer, all or nothing: the page is written beside its place and moved there when complete."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.errors import UsageError
from optimizer.export.atomic import write_atomically
from optimizer.export.values import output_tables, summary_for_output
from optimizer.report_html import ReportInput, render
from optimizer.tables import Plan


def report_input(plan: Plan, sweep: pd.DataFrame | None = None) -> ReportInput:
    """A solved plan as the report's input: the tables and summary exactly as written."""
    return ReportInput(
        summary=summary_for_output(plan),
        tables=output_tables(plan),
        rack_kw={m.model: m.design_kw for m in plan.site.models},
        sweep=sweep,
    )


def report_path_for(out: Path) -> Path:
    """Where `rackfit plan --out OUT --report` puts the page: OUT/plan.html for a plan
    folder, OUT with the suffix .html for a workbook."""
    return out.with_suffix(".html") if out.suffix.lower() == ".xlsx" else out / "plan.html"


def write_report(report: ReportInput, out: Path) -> Path:
    """Write the page for `report` to `out` (a file; an earlier one is replaced)."""
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"{out} is a folder; name an .html file for --out")
    text = render(report)

    def fill(tmp: Path) -> None:
        (tmp / out.name).write_text(text, encoding="utf-8", newline="\n")

    write_atomically(out, fill)
    return out
