"""The `rackfit` command line. Turns exceptions into one-line `error:` messages and the
contract's exit codes: 0 written, 1 internal error, 2 bad input or usage, 3 infeasible,
4 time limit without a plan, 5 `check` found violations."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click

from optimizer.cli_common import (
    EXIT_VIOLATIONS,
    RackfitGroup,
    echo_warning,
    handles_errors,
    solve_options,
)
from optimizer.errors import UsageError
from optimizer.report_cli import report
from optimizer.status import Status
from optimizer.studies_cli import batch, sweep


@click.group(
    cls=RackfitGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error.")
@click.version_option(package_name="rackfit")
def main(debug: bool) -> None:
    """rackfit: place GPU racks in a data center under power (N-1), cooling, network and
    grid limits, proven optimal with a MILP (Pyomo + HiGHS).

    A SITE is a folder of CSV tables plus site.yaml, or one .xlsx workbook (see
    docs/site-format.md). Exit codes: 0 done, 1 internal error, 2 bad input or usage,
    3 infeasible site, 4 time limit before any plan, 5 check found violations.
    """


# -- validate ----------------------------------------------------------------------------
@main.command()
@click.argument("site", type=click.Path(path_type=Path))
@handles_errors
def validate(site: Path) -> None:
    """Load SITE and check every rule of the format; print errors and warnings. Solves
    nothing. Exit 0 when the site is usable (warnings allowed), 2 otherwise."""
    from optimizer.loaders import load_site_with_warnings

    loaded, warnings = load_site_with_warnings(site)
    for w in warnings:
        echo_warning(str(w))
    positions = sum(r.positions for r in loaded.rows)
    click.echo(
        f"{site}: valid: {len(loaded.halls)} halls, {len(loaded.rows)} rows, {positions:,} "
        f"positions, {len(loaded.devices)} power devices, {len(loaded.pods)} pods, "
        f"{len(loaded.demand)} clusters, {len(warnings)} warnings"
    )


# -- plan --------------------------------------------------------------------------------
@main.command()
@click.argument("site", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("plan"),
    show_default=True,
    help="A folder (CSV tables, summary.json, plan.xlsx, pictures) or a FILE.xlsx.",
)
@solve_options
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write the plan as one HTML page (OUT/plan.html; OUT.html beside a workbook).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only warnings and errors.")
@click.option("--verbose", "-v", is_flag=True, help="Also show the solver's own log.")
@handles_errors
def plan(
    site: Path,
    out: Path,
    objective: str | None,
    time_limit_s: float,
    mip_gap: float,
    threads: int | None,
    grid_mw: float | None,
    strategy: str,
    with_report: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Solve SITE and write the plan to --out.

    Prints each stage with its time (load, checks, build, solve, verify, write), live
    progress for longer solves, and a summary: GPUs and racks per cluster, binding limits with
    their marginal values, and the gain over first fit. A plan stopped by the time limit is
    written with a warning (exit 0); no plan at all exits 4; an infeasible site exits 3 and
    names the limits in conflict.
    """
    import time

    from optimizer.api import plan as make_plan
    from optimizer.export import write_plan
    from optimizer.solve import Progress

    began = time.perf_counter()

    def on_stage(name: str, seconds: float) -> None:
        if not quiet:
            click.echo(f"  {name:<16}{seconds:8.2f} s", err=True)

    def on_progress(p: Progress) -> None:
        if quiet or p.time_s < 1.0:
            return
        bound = "-" if p.bound is None else f"{p.bound:,.1f}"
        gap = "-" if p.gap is None else f"{100 * p.gap:.3f}%"
        click.echo(
            f"  solving {p.time_s:7.1f} s   plan {p.incumbent:,.1f}   bound {bound}   gap {gap}",
            err=True,
        )

    from optimizer.loaders import load_site_with_warnings

    if not quiet:
        click.echo(f"rackfit plan {site}", err=True)
    loaded, warnings = load_site_with_warnings(site)
    for w in warnings:
        echo_warning(str(w))
    result = make_plan(
        loaded,
        objective=objective,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threads=threads,
        grid_mw=grid_mw,
        strategy=strategy,
        verbose=verbose,
        on_stage=on_stage,
        on_progress=on_progress,
    )
    write_began = time.perf_counter()
    write_plan(result, out)
    if with_report:
        from optimizer.export.report import report_input, report_path_for, write_report

        write_report(report_input(result), report_path_for(out))
    on_stage("write", time.perf_counter() - write_began)
    if result.status == Status.TIME_LIMIT:
        gap = result.summary.get("mip_gap")
        echo_warning(
            f"the time limit stopped the solver: the plan is feasible and verified but only "
            f"proven within {100 * (gap or 0):.3f}% of the optimum (bound "
            f"{result.summary.get('bound')}); raise --time-limit to close the gap"
        )
    if not quiet:
        click.echo(_summary_text(result, out, time.perf_counter() - began))


def _summary_text(result: Any, out: Path, total_s: float) -> str:
    from optimizer.report import summary_lines

    return "\n".join(summary_lines(result, out, total_s))


# -- check -------------------------------------------------------------------------------
@main.command()
@click.argument("site", type=click.Path(path_type=Path))
@click.argument("plan_path", metavar="PLAN", type=click.Path(path_type=Path))
@handles_errors
def check(site: Path, plan_path: Path) -> None:
    """Re-check PLAN against every constraint of SITE and list each violation.

    PLAN is a plan folder, a plan workbook, or a placements.csv (hand-edited or not).
    Exit 0 when the plan holds, 5 when anything is violated."""
    from optimizer.export import read_plan_placements
    from optimizer.loaders import load_site
    from optimizer.verify import verify

    loaded = load_site(site)
    placements = read_plan_placements(plan_path)
    violations = verify(loaded, placements)
    gpus = sum(loaded.model_by_id[m].gpus for m in placements["model"] if m in loaded.model_by_id)
    if not violations:
        click.echo(
            f"{plan_path}: OK: {len(placements):,} racks, {gpus:,} GPUs; every limit "
            "holds in normal operation and after any single device failure"
        )
        return
    for v in violations:
        click.echo(f"violation: [{v.rule}] {v.message}")
    click.echo(f"{plan_path}: {len(violations)} violation(s)", err=True)
    sys.exit(EXIT_VIOLATIONS)


# -- models ------------------------------------------------------------------------------
@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How to print the library.",
)
@click.option("--sources", is_flag=True, help="Also show where every number comes from.")
@handles_errors
def models(fmt: str, sources: bool) -> None:
    """List the hardware library (models/): GPUs, design and typical kW, liquid share,
    weight, ports and price of each rack model. A site's models.csv adds to it or
    overrides it by `model`."""
    from optimizer.library import library_table

    table = library_table()
    if not sources:
        table = table.drop(columns=["sources"])
    if fmt == "csv":
        click.echo(table.to_csv(index=False, lineterminator="\n"), nl=False)
    elif fmt == "json":
        click.echo(table.to_json(orient="records", indent=2))
    else:
        with_width = table.drop(columns=["name"]) if not sources else table
        click.echo(with_width.to_string(index=False))


# -- init --------------------------------------------------------------------------------
@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--brownfield",
    is_flag=True,
    help="Write a site with racks already standing (existing.csv), a build-out in two "
    "phases (phases.csv and phase columns) and UPS failover ratings (failover_kw).",
)
@handles_errors
def init(directory: Path, brownfield: bool) -> None:
    """Write a small, valid, commented example site to DIRECTORY to start from."""
    from optimizer.export import write_atomically

    template = Path(__file__).parent / "templates" / ("brownfield" if brownfield else "starter")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} already exists and is not empty; choose a new folder")
    if directory.exists():
        directory.rmdir()

    def fill(tmp: Path) -> None:
        shutil.copytree(template, tmp / directory.name)

    write_atomically(directory, fill)
    click.echo(f"wrote a starter site to {directory}; next: rackfit validate {directory}")


# -- convert -----------------------------------------------------------------------------
@main.command()
@click.argument("site", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@handles_errors
def convert(site: Path, out: Path) -> None:
    """Convert SITE between a folder and a workbook: OUT ending in .xlsx writes a workbook
    (one sheet per table, a `site` sheet of key,value), anything else a folder. Every cell
    is carried over, so both load to the same site."""
    from optimizer.convert import convert_site

    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise UsageError(f"{out} already exists; choose a new name")
    direction = convert_site(site, out)
    click.echo(f"wrote the site as a {direction}: {out}")


main.add_command(sweep)
main.add_command(batch)
main.add_command(report)


if __name__ == "__main__":  # pragma: no cover
    main()
