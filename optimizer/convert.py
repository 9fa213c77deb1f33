"""A site folder to a workbook and back, losslessly: the text of every cell is carried over
(numbers are written to the workbook as numbers so Excel shows them as such)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import yaml

from optimizer.export import write_atomically
from optimizer.loaders import SITE_SHEET, RawSite, read_raw_site


def _typed(text: str) -> object:
    """A cell's text as the value a spreadsheet or YAML should hold."""
    if text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


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
            sheet.append([key, _typed(text)])
        for name, table in raw.tables.items():
            ws = book.create_sheet(name)
            ws.append(table.columns)
            for _, record in table.records:
                ws.append([_typed(record.get(c, "")) for c in table.columns])
        for ws in book.worksheets:
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
        book.save(tmp / out.name)

    write_atomically(out, fill)


def write_site_folder(raw: RawSite, out: Path) -> None:
    """`raw` as a site folder: site.yaml plus one CSV per table."""

    def fill(tmp: Path) -> None:
        folder = tmp / out.name
        folder.mkdir()
        keys = {k: _typed(v) for k, v in raw.site_keys.items()}
        (folder / "site.yaml").write_text(
            yaml.safe_dump(keys, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        for name, table in raw.tables.items():
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(table.columns)
            for _, record in table.records:
                writer.writerow([record.get(c, "") for c in table.columns])
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
