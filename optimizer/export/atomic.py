"""All-or-nothing output: a file or folder is written beside its target and moved into place
only when complete, so a failed or interrupted write never leaves half an output behind."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from optimizer.errors import UsageError
from optimizer.export.values import SUMMARY_NAME


def write_atomically(out: Path, fill: Callable[[Path], None]) -> None:
    """`fill(tmp)` writes `tmp / out.name` (a file or a folder); then that replaces `out`.

    All or nothing: `tmp` is a new hidden sibling of `out`; on any exception, Ctrl-C
    included, it is removed (with any parent folders this call created) and a previous `out`
    is left as it was. An existing folder `out` is moved aside, the new one moved in, and the
    old one deleted only then."""
    created = _make_parents(out.parent)
    tmp = _make_temp_dir(out.parent, f".{out.name}.tmp-")
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


def _swap_into_place(new: Path, out: Path) -> None:
    if not out.exists() or out.is_file():
        os.replace(new, out)  # atomic for a file; a new folder simply appears
        return
    aside = _make_temp_dir(out.parent, f".{out.name}.old-")
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
