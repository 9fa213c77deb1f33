"""All-or-nothing output: a file or folder is written beside its target and moved into place
only when complete, so a failed or interrupted write never leaves half an output behind."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from optimizer.errors import UsageError
from optimizer.export.values import SUMMARY_NAME, SUMMARY_SHEET


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


def check_replaceable_folder(out: Path) -> None:
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


def check_replaceable_workbook(out: Path) -> None:
    """An existing `out.xlsx` is replaced only when it is a plan workbook rackfit wrote (it
    has the sheet Summary), never a site workbook or another file."""
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
