"""A site folder to a workbook and back, losslessly: the text of every cell is carried over.
Numbers are written to the workbook as numbers (so Excel shows them as such) when that keeps
their text; ids and other text are written as text (string cells, never formulas), so `007`,
`1e3`, `TRUE` or `=x` stay what they were. CSV fields that a spreadsheet would run as a
formula are neutralized (optimizer/textsafe.py), and read back as they were."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml

from optimizer.export import write_atomically
from optimizer.loaders import SITE_SHEET, TABLES, RawSite, read_raw_site
from optimizer.schema import Site
from optimizer.text import cell_text
from optimizer.textsafe import neutralize, string_cells


def _kind(annotation: Any) -> str:
    """`number`, `bool` or `text`: what a schema field holds (Optional and Annotated seen
    through; a Literal such as `air`/`liquid` is text)."""
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if get_origin(annotation) is Annotated:
        return _kind(get_args(annotation)[0])
    kinds = {_kind(a) for a in get_args(annotation) if a is not type(None)}
    if get_origin(annotation) is not Literal and len(kinds) == 1:
        return kinds.pop()
    return "text"


def _kinds(fields: dict[str, Any]) -> dict[str, str]:
    return {name: _kind(info.annotation) for name, info in fields.items()}


SITE_KEY_KINDS = _kinds(Site.model_fields)
TABLE_KINDS = {name: _kinds(spec.schema.model_fields) for name, spec in TABLES.items()}


def _typed(text: str, kind: str = "number") -> object:
    """A cell's text as the value a spreadsheet or YAML should hold: a number or a boolean
    only in a column of numbers or booleans, and only when it reads back as the same text;
    anything else (ids, `007`, `1e3`, `TRUE` in a text column) stays text."""
    if text == "":
        return None
    if kind == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind != "number":
        return text
    value: object
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    if isinstance(value, int) and abs(value) >= 2**53:
        return text  # a spreadsheet keeps 15 digits of a number
    return value if cell_text(value) == text else text


def write_site_workbook(raw: RawSite, out: Path) -> None:
    """Every table of `raw` as one sheet of `out` (.xlsx), the site keys in the `site` sheet."""
    import openpyxl
    from openpyxl.styles import Font

    def fill(tmp: Path) -> None:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = SITE_SHEET
        sheet.append(["key", "value"])
        for key, text in raw.site_keys.items():
            sheet.append([key, _typed(text, SITE_KEY_KINDS.get(key, "text"))])
        for name, table in raw.tables.items():
            ws = book.create_sheet(name)
            ws.append(table.columns)
            kinds = [TABLE_KINDS.get(name, {}).get(c, "text") for c in table.columns]
            for _, record in table.records:
                ws.append(
                    [
                        _typed(record.get(c, ""), k)
                        for c, k in zip(table.columns, kinds, strict=True)
                    ]
                )
        for ws in book.worksheets:
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
        string_cells(book)
        book.save(tmp / out.name)

    write_atomically(out, fill)


def write_site_folder(raw: RawSite, out: Path) -> None:
    """`raw` as a site folder: site.yaml plus one CSV per table."""

    def fill(tmp: Path) -> None:
        folder = tmp / out.name
        folder.mkdir()
        keys = {k: _typed(v, SITE_KEY_KINDS.get(k, "text")) for k, v in raw.site_keys.items()}
        (folder / "site.yaml").write_text(
            yaml.safe_dump(keys, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        for name, table in raw.tables.items():
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(table.columns)
            for _, record in table.records:
                writer.writerow([neutralize(record.get(c, "")) for c in table.columns])
            (folder / f"{name}.csv").write_text(buffer.getvalue(), encoding="utf-8")

    write_atomically(out, fill)


def convert_site(source: Path, out: Path) -> str:
    """Folder -> workbook when `out` ends in .xlsx, workbook -> folder otherwise. Returns the
    direction taken. Raises SiteError when the source cannot be read."""
    raw = read_raw_site(source)
    if raw.issues:
        from optimizer.errors import SiteError

        raise SiteError(raw.issues)
    # A site without `name` is named after its folder or workbook: keep that name.
    raw.site_keys.setdefault("name", source.stem if source.suffix else source.name)
    if out.suffix.lower() == ".xlsx":
        write_site_workbook(raw, out)
        return "workbook"
    write_site_folder(raw, out)
    return "folder"
