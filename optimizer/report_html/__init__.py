"""A plan as one self-contained HTML page (`rackfit report`, `rackfit plan --report`).

`render(report)` returns the page as text; the export layer writes it (optimizer/export/report.py).
The page needs no server and no network: its style and script are inlined from the files
beside this module (template.html, report.css, report.js), and the plan travels inside it as
JSON in a `<script type="application/json">` block, with `<`, `>`, `&` and the two JavaScript
line separators written as `\\uXXXX` escapes so that no id in a plan can close the block or
open a comment. The script builds the page with `textContent` only, never `innerHTML`, so ids
are shown as text whatever they hold. A Content-Security-Policy forbids every fetch.

What the page shows (docs/outputs.md, "plan.html"): summary and proof, binding limits with
their marginal values, one zoomable SVG floor plan per hall (a hall selector draws one hall at
a time above `ALL_HALLS_MOST_POSITIONS` positions), device utilization with the failure behind
each worst case, clusters and what limited them, stranded capacity, the sweep curve when
given, and a phase selector when the placements have a `phase` column.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.errors import Issue, SiteError
from optimizer.export.values import json_value
from optimizer.report import binding_limits_in, cell_is_true
from optimizer.schema import Site
from optimizer.textsafe import unneutralize_value

ALL_HALLS_MOST_POSITIONS = 5000  # above this, the page draws one hall at a time
TABLE_NAMES = ("clusters", "power", "cooling", "pods", "rows", "grid", "stranded", "phases")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


@dataclass(frozen=True)
class ReportInput:
    """Everything the page shows: summary.json's content, the plan's tables by file stem
    (`placements` and those of `TABLE_NAMES` that exist), the design kW of each rack model,
    and a sweep table (sweep.csv) when given."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    rack_kw: dict[str, float] = field(default_factory=dict)
    sweep: pd.DataFrame | None = None


# -- the page --------------------------------------------------------------------------------
def render(report: ReportInput) -> str:
    """The page: template.html with the style, the script and the data inlined."""
    parts = {
        "TITLE": html.escape(f"rackfit plan: {report.summary.get('site', '')}", quote=True),
        "STYLE": _asset("report.css"),
        "SCRIPT": _asset("report.js"),
        "DATA": embed_json(report_data(report)),
    }
    # One pass, so that nothing inserted is searched for placeholders again.
    return re.sub(
        r"/\*@(TITLE|STYLE|SCRIPT|DATA)@\*/", lambda m: parts[m[1]], _asset("template.html")
    )


def _asset(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&`
    (so no `</script>` and no `<!--`), and no U+2028/U+2029."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m[0]], text)


def report_data(report: ReportInput) -> dict[str, Any]:
    """The JSON the script reads (its shape is the script's, not a contract)."""
    tables = report.tables
    rows = tables["rows"]
    placements = tables["placements"]
    halls = list(dict.fromkeys(str(h) for h in rows["hall"]))
    row_index = {
        (str(h), str(r)): i for i, (h, r) in enumerate(zip(rows["hall"], rows["row"], strict=True))
    }
    clusters = list(dict.fromkeys(str(c) for c in tables["clusters"]["cluster"]))
    extra = [str(c) for c in placements["cluster"] if str(c) not in clusters]
    clusters += list(dict.fromkeys(extra))
    cluster_index = {c: i for i, c in enumerate(clusters)}
    models = list(dict.fromkeys(str(m) for m in placements["model"]))
    model_index = {m: i for i, m in enumerate(models)}
    phases = _phase_order(tables, placements)
    phase_index = {p: i for i, p in enumerate(phases)}
    racks = []
    for record in placements.to_dict("records"):
        r = row_index.get((str(record["hall"]), str(record["row"])))
        if r is None:
            continue  # a rack in a row the plan's rows table does not list: nothing to draw
        racks.append(
            [
                r,
                int(record["position"]),
                cluster_index[str(record["cluster"])],
                model_index[str(record["model"])],
                phase_index.get(_text(record.get("phase")) or "", 0) if phases else 0,
                1 if cell_is_true(record.get("existing")) else 0,
            ]
        )
    return {
        "summary": _plain(report.summary),
        "halls": halls,
        "rows": _columns(rows, ["hall", "row", "positions", "feed_a", "feed_b", "pod", "racks"]),
        "clusters": clusters,
        "models": [[m, _plain(report.rack_kw.get(m))] for m in models],
        "racks": racks,
        "phases": phases,
        "all_halls_most_positions": ALL_HALLS_MOST_POSITIONS,
        "binding": [list(b) for b in binding_limits_in(tables)],
        "tables": {name: _table(tables[name]) for name in TABLE_NAMES if name in tables},
        "sweep": None if report.sweep is None else _table(report.sweep),
    }


def _phase_order(tables: dict[str, pd.DataFrame], placements: pd.DataFrame) -> list[str]:
    """Phases in build order: phases.csv's order, else first appearance; [] without phases."""
    if "phase" not in placements.columns:
        return []
    listed = [str(p) for p in tables["phases"]["phase"]] if "phases" in tables else []
    seen = [p for p in (_text(v) for v in placements["phase"]) if p]
    return list(dict.fromkeys([*listed, *seen]))


# -- reading a plan back ------------------------------------------------------------------
def input_from_files(
    plan_path: Path, site: Site | None = None, sweep_path: Path | None = None
) -> ReportInput:
    """A plan folder or plan workbook (and optionally its site and a sweep folder) as the
    page's input. With `site`, rack kW come from its models and a plan without stranded.csv
    gets one computed; without it, from the plan's clusters and the hardware library."""
    from optimizer.export import read_plan_placements

    plan_path = Path(plan_path)
    if plan_path.suffix.lower() in (".xlsx", ".xlsm") and plan_path.is_file():
        summary, tables, placements = _read_workbook(plan_path)  # one read of the file
    else:
        placements = read_plan_placements(plan_path)  # names a missing file or folder
        if not plan_path.is_dir():
            raise SiteError(
                Issue(str(plan_path), "a report needs a plan folder or a plan workbook, not a CSV")
            )
        summary = _read_summary_json(plan_path / "summary.json")
        tables = {
            name: _read_csv(plan_path / f"{name}.csv")
            for name in TABLE_NAMES
            if (plan_path / f"{name}.csv").is_file()
        }
    for needed in ("rows", "clusters"):
        if needed not in tables:
            raise SiteError(Issue(str(plan_path), f"not a complete plan: no {needed} table"))
    tables["placements"] = placements
    if "stranded" not in tables and site is not None:
        from optimizer.stranded import stranded_capacity

        objective = str(summary.get("objective_name") or site.objective)
        tables["stranded"] = stranded_capacity(site, placements, objective)
    return ReportInput(
        summary=summary,
        tables=tables,
        rack_kw=_rack_kw(tables["clusters"], placements, site),
        sweep=None if sweep_path is None else read_sweep(sweep_path),
    )


def read_sweep(path: Path) -> pd.DataFrame:
    """sweep.csv of a sweep folder (or the file itself)."""
    path = Path(path)
    file = path / "sweep.csv" if path.is_dir() else path
    if not file.is_file():
        raise SiteError(Issue(str(path), "not a sweep folder: no sweep.csv"))
    table = _read_csv(file)
    for column in ("supply_mw", "gpus"):
        if column not in table.columns:
            raise SiteError(Issue(str(file), f"missing column {column}", 1, column))
    return table


def _read_summary_json(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteError(Issue(str(path.parent), "not a plan folder: no summary.json")) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SiteError(Issue(str(path), f"not valid JSON: {e}")) from None
    if not isinstance(summary, dict):
        raise SiteError(Issue(str(path), "not a JSON object"))
    return summary


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # Only an empty cell is missing (a hall named NA stays NA), and a text field written
        # neutralized against formulas reads back as the id it stands for (textsafe).
        table = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise SiteError(Issue(str(path), f"cannot read as CSV: {str(e).strip()}")) from None
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):  # text (object or str dtype)
            table[column] = table[column].map(unneutralize_value)
    return table


def _read_workbook(
    path: Path,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame], pd.DataFrame]:
    """The Summary sheet's key/value lines, the table sheets and the placements, from one
    read of the file through the site loader's safe reader (read-only, only the cells the
    file holds, formulas by their saved value, a hostile or damaged file one error naming
    it; `NA` stays the id `NA`)."""
    from optimizer.export.read import placements_from_sheets, read_sheets, sheet_frame

    sheets = read_sheets(path)
    placements = placements_from_sheets(path, sheets)
    summary: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    previous = 1  # row 1 is the header (key, value)
    for line, values in sheets.get("Summary", [])[1:]:
        key = values[0] if values else None
        if line != previous + 1 or not isinstance(key, str) or not key:
            break  # the summary lines end at the first blank line
        previous = line
        value = values[1] if len(values) > 1 else None
        if key.startswith("timings_s."):
            timings[key.removeprefix("timings_s.")] = value
        else:
            summary[key] = _plain(_listed(value))
    summary["timings_s"] = timings
    tables = {
        name: sheet_frame(sheets[name]).dropna(how="all").reset_index(drop=True).infer_objects()
        for name in TABLE_NAMES
        if name in sheets
    }  # the written sheets have no blank rows; columns of numbers become numeric
    return summary, tables, placements


def _listed(value: Any) -> Any:
    """A list or mapping the workbook wrote as JSON text (strategy_stages, phases), back."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _rack_kw(
    clusters: pd.DataFrame, placements: pd.DataFrame, site: Site | None
) -> dict[str, float]:
    if site is not None:
        return {m.model: m.design_kw for m in site.models}
    out: dict[str, float] = {}
    for record in clusters.to_dict("records"):
        placed = _number(record.get("placed_racks"))
        if placed > 0 and math.isfinite(_number(record.get("design_kw"))):
            out.setdefault(str(record["model"]), _number(record["design_kw"]) / placed)
    missing = {str(m) for m in placements["model"]} - set(out)
    if missing:
        from optimizer.library import load_library

        out.update({m.model: m.design_kw for m in load_library() if m.model in missing})
    return out


# -- plain JSON values -------------------------------------------------------------------
def _columns(table: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    present = [c for c in columns if c in table.columns]
    return [
        [_plain(v) for v in values] for values in table[present].itertuples(index=False, name=None)
    ]


def _table(table: pd.DataFrame) -> dict[str, Any]:
    return {
        "columns": [str(c) for c in table.columns],
        "rows": [
            [_plain(v) for v in values] for values in table.itertuples(index=False, name=None)
        ],
    }


def _plain(value: Any) -> Any:
    """A JSON value for the page (export.values.json_value): numpy unwrapped, NaN/NA ->
    None, infinity -> the text `inf`."""
    return json_value(value, infinity_as_text=True)


def _text(value: Any) -> str:
    plain = _plain(value)
    return "" if plain is None else str(plain)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
