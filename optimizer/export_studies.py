"""Writers for studies: a sweep folder (sweep.csv, sweep.png, sweep.xlsx) and a batch folder
(results.csv, results.xlsx). Writers only write; the numbers come from sweep.py / batch.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from optimizer.errors import UsageError
from optimizer.export import write_atomically
from optimizer.textsafe import neutralized_table, string_cells


def _check_replaceable_folder(out: Path, marker: str) -> None:
    """Only an empty folder or one this command wrote before (it holds `marker`) is replaced."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).exists())):
        raise UsageError(
            f"{out} exists and is not an earlier output (no {marker}); choose another --out"
        )


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """Floats to 6 decimals (never exponent form), whole-number columns as integers."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            whole = values.dropna()
            if len(whole) and (whole == whole.round()).all() and column in ("gpus", "racks"):
                out[column] = values.astype("Int64")
            else:
                out[column] = values.round(6)
    neutralized_table(out).to_csv(path, index=False, lineterminator="\n")


def _xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet, index=False)
        ws = writer.sheets[sheet]
        ws.freeze_panes = "A2"
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for k, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
            ws.column_dimensions[get_column_letter(k)].width = min(width + 2, 60)
        string_cells(writer.book)


def sweep_figure(frame: pd.DataFrame) -> Figure:
    """GPUs against supply MW, one line per design temperature; where the set of binding
    limits changes, the new set is annotated."""
    fig = Figure(figsize=(10, 6), dpi=100)  # no pyplot: the caller's backend is left alone
    ax = fig.subplots()
    for temp, part in frame.groupby("design_temp_c", sort=True):
        ok = part[part["gpus"].notna()]
        ax.plot(ok["supply_mw"], ok["gpus"], marker="o", label=f"design {temp:g} °C")
        previous = None
        for _, r in ok.iterrows():
            binding = r["binding"] if isinstance(r["binding"], str) else ""
            families = ",".join(sorted({b.split("(")[0] for b in binding.split(";") if b}))
            if families != previous:
                ax.annotate(
                    families or "none",
                    (r["supply_mw"], r["gpus"]),
                    fontsize=8,
                    textcoords="offset points",
                    xytext=(4, -12),
                )
                previous = families
        bad = part[part["gpus"].isna()]
        if len(bad):
            ax.scatter(
                bad["supply_mw"],
                [0] * len(bad),
                marker="x",
                color="red",
                label="infeasible / no plan",
            )
    ax.set_xlabel("grid + firm on-site supply (MW)")
    ax.set_ylabel("GPUs placed")
    ax.set_title("GPUs against supply; labels: limits that bind from that point on")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def _write_study(frame: pd.DataFrame, out: Path, stem: str, figure: Figure | None) -> Path:
    """A study folder: STEM.csv, STEM.xlsx and, given a figure, STEM.png (atomic)."""
    _check_replaceable_folder(out, marker=f"{stem}.csv")

    def fill(tmp: Path) -> None:
        folder = tmp / out.name
        folder.mkdir()
        _csv(frame, folder / f"{stem}.csv")
        _xlsx(frame, folder / f"{stem}.xlsx", stem)
        if figure is not None:
            figure.savefig(folder / f"{stem}.png")

    write_atomically(out, fill)
    return out


def write_sweep(frame: pd.DataFrame, out: Path) -> Path:
    """A sweep folder: sweep.csv, sweep.png, sweep.xlsx."""
    return _write_study(frame, out, "sweep", sweep_figure(frame))


def write_batch(frame: pd.DataFrame, out: Path) -> Path:
    """A batch folder: results.csv and results.xlsx."""
    return _write_study(frame, out, "results", None)
