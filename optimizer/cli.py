"""The `rackfit` command line. Turns exceptions into one-line `error:` messages and the
contract's exit codes: 0 written, 1 internal error, 2 bad input or usage, 3 infeasible,
4 time limit without a plan, 5 `check` found violations."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from optimizer.choices import STRATEGIES
from optimizer.errors import RackfitError, SiteError, Terminated, UsageError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_VIOLATIONS = range(6)
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports a process it ended
F = TypeVar("F", bound=Callable[..., Any])


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM raises `Terminated` (a KeyboardInterrupt), so that writing stops the way
    Ctrl-C stops it: the temporary output removed, the previous one left as it was."""
    raise Terminated


def _err(text: str) -> None:
    """One `error:` line: a line break or escape sequence in a user's text (an id, a file
    name) is written as an escape, so no message can forge or hide a line."""
    click.echo(f"error: {_line(text)}", err=True)


def _one_line(text: str, most: int = 500) -> str:
    """A message on one line (errors are one line each), cut short if very long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


def _line(text: str) -> str:
    from optimizer.textsafe import one_line

    return one_line(text, most=2000)


def _debug(debug: bool, exc: BaseException) -> None:
    if debug:
        traceback.print_exception(exc)


def _warn(text: str) -> None:
    click.echo(f"warning: {_line(text)}", err=True)


def handles_errors(func: F) -> F:
    """Run a command; map rackfit's errors to messages and exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except SiteError as exc:
            _debug(debug, exc)
            for issue in exc.issues:
                _err(str(issue))
            code = exc.exit_code
        except RackfitError as exc:
            _debug(debug, exc)
            _err(_one_line(str(exc)))
            code = exc.exit_code
        except Terminated as exc:
            _debug(debug, exc)
            _err("terminated; nothing was written and earlier outputs are unchanged")
            code = EXIT_TERMINATED
        except KeyboardInterrupt as exc:
            _debug(debug, exc)
            _err("interrupted; nothing was written and earlier outputs are unchanged")
            code = EXIT_INTERNAL
        except (click.exceptions.Exit, click.ClickException):
            raise
        except BrokenPipeError:  # the reader of our output went away (e.g. `| head`)
            sys.stderr.close()
            code = EXIT_OK
        except OSError as exc:  # the file system refused: a read-only folder, a name too long
            _debug(debug, exc)
            _err(_os_error_text(exc))
            code = EXIT_INPUT
        except MemoryError as exc:
            _debug(debug, exc)
            _err("out of memory: the input is too large for this machine")
            code = EXIT_INPUT
        except Exception as exc:  # a bug: say so, in one line unless --debug
            _debug(debug, exc)
            name = type(exc).__name__
            _err(f"internal error ({name}: {_one_line(str(exc))}); rerun with --debug for details")
            code = EXIT_INTERNAL
        sys.exit(code)

    return wrapper  # type: ignore[return-value]


def _os_error_text(exc: OSError) -> str:
    """`cannot write plan/x.csv: Permission denied`: the file and the system's reason."""
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or type(exc).__name__
    if exc.filename2 is not None:
        name = f"{name} -> {exc.filename2}"
    return f"{name}: {reason}" if name else f"the file system refused: {reason}"


class RackfitGroup(click.Group):
    """Usage errors (a missing argument, a bad option value) as one `error:` line, exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        import signal
        import threading

        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            _err("interrupted")
            sys.exit(EXIT_INTERNAL)
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx else "rackfit"
            hint = f" (see {path} --help)"
            _err(f"{exc.format_message()}{hint}".replace("\n", " "))
            sys.exit(EXIT_INPUT)
        except click.ClickException as exc:
            _err(exc.format_message())
            sys.exit(exc.exit_code)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


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
        _warn(str(w))
    positions = sum(r.positions for r in loaded.rows)
    click.echo(
        f"{site}: valid: {len(loaded.halls)} halls, {len(loaded.rows)} rows, {positions:,} "
        f"positions, {len(loaded.devices)} power devices, {len(loaded.pods)} pods, "
        f"{len(loaded.demand)} clusters, {len(warnings)} warnings"
    )


# -- plan --------------------------------------------------------------------------------
class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses nan and inf (a range check alone lets nan through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def time_limit_option(default_s: float, per: str) -> Callable[[F], F]:
    return click.option(
        "--time-limit",
        "time_limit_s",
        type=FiniteFloat(min=0.1),
        default=default_s,
        show_default=True,
        help=f"Seconds the solver may run {per}.",
    )


def mip_gap_option(per: str) -> Callable[[F], F]:
    return click.option(
        "--mip-gap",
        type=FiniteFloat(min=0.0, max=1.0),
        default=1e-4,
        show_default=True,
        help=f"Stop when {per} is proven within this relative gap of optimal.",
    )


def threads_option(func: F) -> F:
    return click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        help="Solver threads (default: HiGHS decides).",
    )(func)


def strategy_option(per: str) -> Callable[[F], F]:
    return click.option(
        "--strategy",
        type=click.Choice(list(STRATEGIES)),
        default="auto",
        show_default=True,
        help=f"How {per} is solved. auto: surrogate bound + heuristic start + HiGHS, stopped "
        "once a plan is within --mip-gap of the bound; auto-cut: the same with the bound "
        "added as the row objective <= bound; plain: HiGHS alone.",
    )


def _solve_options(func: F) -> F:
    options = [
        click.option(
            "--objective",
            type=click.Choice(["gpus", "cost"]),
            default=None,
            help="Override the site's objective: gpus (most value-weighted GPUs) or "
            "cost (meet every min_racks at least capex + a year of energy).",
        ),
        time_limit_option(300.0, "on the plan"),
        mip_gap_option("the plan"),
        threads_option,
        click.option(
            "--grid-mw",
            type=FiniteFloat(min=0.0, max=100_000.0),
            default=None,
            help="Replace the site's grid_limit_kw with this many MW (onsite_firm_kw still "
            "adds; with phases.csv, in every phase that does not set its own).",
        ),
        strategy_option("the plan"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


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
@_solve_options
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
        _warn(str(w))
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
    on_stage("write", time.perf_counter() - write_began)
    if out.suffix.lower() != ".xlsx" and not (out / "plan.xlsx").exists():
        _warn(
            f"{out}: no plan.xlsx: the plan is too large for an Excel sheet; the CSV files hold it"
        )
    if result.status == "time_limit":
        _warn(_stopped_text(result.summary.get("mip_gap"), result.summary.get("bound")))
    if not quiet:
        click.echo(_summary_text(result, out, time.perf_counter() - began))


def _stopped_text(gap: float | None, bound: float | None) -> str:
    """The warning for a plan the time limit stopped, with the proven gap when there is one."""
    if gap is None or bound is None:
        return (
            "the time limit stopped the solver before it proved any bound: the plan is "
            "feasible and verified, but how far it is from the optimum is not known; raise "
            "--time-limit to prove it"
        )
    return (
        f"the time limit stopped the solver: the plan is feasible and verified but only "
        f"proven within {100 * gap:.3f}% of the optimum (bound {bound:,.2f}); raise "
        "--time-limit to close the gap"
    )


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
        click.echo(f"violation: [{v.rule}] {_line(v.message)}")
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
        _print_models_table(table if sources else table.drop(columns=["name"]))


def _print_models_table(table: Any) -> None:
    """The library as a formatted table (rich): ids whole, numbers right-aligned."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text  # cells as plain text: an id with [brackets] is no markup

    from optimizer.library import library_dir

    if table.empty:
        click.echo(f"no rack models in the hardware library ({library_dir()})")
        return
    out = Table(title=f"Hardware library: {len(table)} rack models", title_justify="left")
    formats = {"capex_usd": "{:,.0f}", "weight_kg": "{:,.0f}", "liquid_fraction": "{:.2f}"}
    for column in table.columns:
        number = column not in ("model", "name", "sources")
        out.add_column(column, justify="right" if number else "left", no_wrap=column == "model")
    for record in table.itertuples(index=False):
        out.add_row(
            *(
                formats.get(c, "{:g}").format(v) if isinstance(v, int | float) else Text(str(v))
                for c, v in zip(table.columns, record, strict=True)
            )
        )
    # Not a terminal (a pipe, a file): wide enough that no id or number is wrapped.
    console = Console(width=None if sys.stdout.isatty() else 200, highlight=False)
    console.print(out)


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
    from optimizer.export import _write_atomically

    template = Path(__file__).parent / "templates" / ("brownfield" if brownfield else "starter")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} already exists and is not empty; choose a new folder")
    directory = Path(os.path.abspath(directory))  # `init .` names the folder it fills

    def fill(tmp: Path) -> None:
        shutil.copytree(template, tmp / directory.name)

    _write_atomically(directory, fill)
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
    direction = convert_site(site, Path(os.path.abspath(out)))
    click.echo(f"wrote the site as a {direction}: {out}")


def _register_studies() -> None:
    from optimizer.studies_cli import batch, sweep

    main.add_command(sweep)
    main.add_command(batch)


_register_studies()


if __name__ == "__main__":  # pragma: no cover
    main()
