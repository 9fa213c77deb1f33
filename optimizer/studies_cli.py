"""`rackfit sweep` and `rackfit batch`: studies of many solves."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli_common import (
    handles_errors,
    mip_gap_option,
    strategy_option,
    threads_option,
    time_limit_option,
)
from optimizer.status import Status


@click.command()
@click.argument("site", type=click.Path(path_type=Path))
@click.option(
    "--grid-mw",
    default=None,
    metavar="A:B:STEP",
    help="Grid limits in MW: A:B:STEP (both ends included), or A,B,C. With phases.csv, "
    "each point's limit applies to every phase that does not set its own grid_limit_kw.",
)
@click.option(
    "--onsite-mw",
    default=None,
    metavar="A:B:STEP",
    help="Firm on-site generation in MW (replaces onsite_firm_kw; with phases.csv, in "
    "every phase that does not set its own).",
)
@click.option(
    "--design-temp-c",
    default=None,
    metavar="A:B:STEP",
    help="Design temperatures in °C (each temperature rebuilds the model).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("sweep"),
    show_default=True,
    help="Folder for sweep.csv, sweep.png and sweep.xlsx.",
)
@click.option(
    "--objective",
    type=click.Choice(["gpus", "cost"]),
    default=None,
    help="Override the site's objective.",
)
@time_limit_option(120.0, "per point")
@mip_gap_option("each point")
@threads_option
@strategy_option("each point")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Solve the points in this many processes (each builds its own model and takes "
    "every N-th point; try the number of cores).",
)
@handles_errors
def sweep(
    site: Path,
    grid_mw: str | None,
    onsite_mw: str | None,
    design_temp_c: str | None,
    out: Path,
    objective: str | None,
    time_limit_s: float,
    mip_gap: float,
    threads: int | None,
    strategy: str,
    jobs: int,
) -> None:
    """Solve SITE at each grid limit (and on-site MW / design temperature) and write GPUs
    against MW: per point the status, objective, GPUs, racks, gap, the limits that bind and
    the marginal value (objective per extra MW). The model is built once and re-solved,
    warm-started from the previous point."""
    from optimizer.errors import UsageError
    from optimizer.export_studies import write_sweep
    from optimizer.sweeps import parse_range
    from optimizer.sweeps import sweep as run

    if not (grid_mw or onsite_mw or design_temp_c):
        raise UsageError("give at least one of --grid-mw, --onsite-mw, --design-temp-c")
    frame = run(
        site,
        grid_mw=parse_range(grid_mw, "--grid-mw") if grid_mw else None,
        onsite_mw=parse_range(onsite_mw, "--onsite-mw") if onsite_mw else None,
        design_temp_c=parse_range(design_temp_c, "--design-temp-c") if design_temp_c else None,
        objective=objective,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threads=threads,
        strategy=strategy,
        jobs=jobs,
    )
    write_sweep(frame, out)
    shown = frame[
        [
            "grid_mw",
            "onsite_mw",
            "design_temp_c",
            "status",
            "gpus",
            "marginal_value_per_mw",
            "binding",
        ]
    ]
    click.echo(shown.to_string(index=False))
    click.echo(f"written to {out}")
    if (frame["status"] == Status.TIME_LIMIT).any():
        click.echo("warning: some points stopped at the time limit (see mip_gap)", err=True)


@click.command()
@click.argument("site", type=click.Path(path_type=Path))
@click.argument("scenarios", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("batch"),
    show_default=True,
    help="Folder for results.csv and results.xlsx.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Local processes (default: one per core).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on an existing Dask distributed scheduler, e.g. tcp://host:8786.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Start a local Dask cluster with this many workers for the batch.",
)
@time_limit_option(120.0, "per scenario")
@mip_gap_option("each scenario")
@handles_errors
def batch(
    site: Path,
    scenarios: Path,
    out: Path,
    jobs: int | None,
    scheduler: str | None,
    workers: int | None,
    time_limit_s: float,
    mip_gap: float,
) -> None:
    """Solve SITE once per row of SCENARIOS (a CSV) and write one results table, in the
    scenarios' order. Columns of SCENARIOS: scenario (required), grid_mw, onsite_mw,
    design_temp_c, energy_usd_per_kwh, objective, substitute_model (OLD=NEW),
    out_of_service (device ids separated by ';'). Empty cells keep the site's value. An
    infeasible scenario is reported in its row and does not stop the batch."""
    from optimizer.batch import read_scenarios, run_batch
    from optimizer.export_studies import write_batch

    table = read_scenarios(scenarios)
    frame = run_batch(
        site,
        table,
        scenarios,
        workers=jobs,
        scheduler=scheduler,
        dask_workers=workers,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threads=1,
    )
    write_batch(frame, out)
    click.echo(frame.drop(columns=["message"]).to_string(index=False))
    click.echo(f"written to {out}")
