"""Text that is safe to hand back: in a spreadsheet cell, a CSV field, or one message line.

A leaf module (no imports from rackfit): the writers, the loaders and the command line share
these few rules, so that what one writes the other reads back to the same id.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (and treat a leading
tab or carriage return the same way when they import a CSV): OWASP's "CSV injection". So:

- every text cell of a workbook rackfit writes is stored as a string cell, never a formula
  (`string_cells`);
- in a CSV rackfit writes, a text field that starts with one of those characters, or with a
  single quote, gets one more single quote in front (`neutralize`); a plain number such as
  `-5` or `+1e3` is not text and is left alone;
- whatever rackfit reads (site tables, sheets, placements) drops one leading single quote
  before one of those characters or another quote (`unneutralize`), so a neutralized id reads
  back as the id it was, and a CSV round trip is lossless.

Ids that cannot be written safely at all (a line break, a tab or another control character)
are refused when a site is read (`control_character`).
"""

from __future__ import annotations

import math
import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def neutralize(text: str) -> str:
    """A CSV field that no spreadsheet runs as a formula (see the module docstring)."""
    if text.startswith(QUOTE) or (text.startswith(FORMULA_STARTS) and not _is_number(text)):
        return QUOTE + text
    return text


def unneutralize(text: str) -> str:
    """The id a neutralized field stands for: `'=x` -> `=x`, `''x` -> `'x`, else unchanged."""
    if len(text) > 1 and text[0] == QUOTE and (text[1] == QUOTE or text[1] in FORMULA_STARTS):
        return text[1:]
    return text


def neutralize_value(value: Any) -> Any:
    """`neutralize` for a table value: text is neutralized, anything else passes."""
    return neutralize(value) if isinstance(value, str) else value


# Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional
# overrides and isolates (they make a text show other than it reads).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def unneutralize_value(value: Any) -> Any:
    """`unneutralize` for a table value read back: text is unneutralized, anything else
    passes."""
    return unneutralize(value) if isinstance(value, str) else value


def control_character(text: str) -> str | None:
    """The first control character of `text` (line breaks and tabs included) as `U+000A`,
    or None when there is none."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def one_line(text: str, most: int = 500) -> str:
    """`text` as one printable line: line breaks and other control characters written as
    escapes (`\\n`, `\\x1b`), cut to `most` characters with an ellipsis."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def string_cells(workbook: Any) -> None:
    """Make every cell of an openpyxl `workbook` that openpyxl took for a formula (its text
    starts with `=`) a string cell. rackfit writes no formulas into cells: any such text is
    a user's id or name, and a spreadsheet must show it, not run it."""
    for sheet in workbook.worksheets:
        cells = getattr(sheet, "_cells", None)  # {(row, column): cell}, without creating any
        every = cells.values() if cells is not None else (c for r in sheet.iter_rows() for c in r)
        for cell in every:
            if cell.data_type == "f":
                cell.data_type = "s"


def neutralized_table(frame: Any) -> Any:
    """A copy of a pandas DataFrame with every text cell `neutralize`d, for a CSV; number,
    boolean and missing cells are left as they are."""
    out = frame.copy()
    for column in out.columns:
        if getattr(out[column].dtype, "kind", "") == "O":  # object, string or category
            out[column] = out[column].astype(object).map(neutralize_value)
    return out
