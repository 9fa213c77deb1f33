"""What every `rackfit` command shares: error handling (exceptions -> one `error:` line and
the contract's exit code), the usage-error group, and the solve options that `plan`, `sweep`
and `batch` take. Both command modules (cli.py, studies_cli.py) import this one; it imports
neither."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from optimizer.errors import RackfitError, SiteError
from optimizer.schema import STRATEGIES

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_VIOLATIONS = range(6)
F = TypeVar("F", bound=Callable[..., Any])


def echo_error(text: str) -> None:
    click.echo(f"error: {text}", err=True)


def one_line(text: str, most: int = 500) -> str:
    """A message on one line (errors are one line each), cut short if very long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


def _debug(debug: bool, exc: BaseException) -> None:
    if debug:
        traceback.print_exception(exc)


def echo_warning(text: str) -> None:
    click.echo(f"warning: {text}", err=True)


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
                echo_error(str(issue))
            code = exc.exit_code
        except RackfitError as exc:
            _debug(debug, exc)
            echo_error(one_line(str(exc)))
            code = exc.exit_code
        except KeyboardInterrupt as exc:
            _debug(debug, exc)
            echo_error("interrupted; nothing was written and earlier outputs are unchanged")
            code = EXIT_INTERNAL
        except (click.exceptions.Exit, click.ClickException):
            raise
        except BrokenPipeError:  # the reader of our output went away (e.g. `| head`)
            sys.stderr.close()
            code = EXIT_OK
        except Exception as exc:  # a bug: say so, in one line unless --debug
            _debug(debug, exc)
            name = type(exc).__name__
            echo_error(
                f"internal error ({name}: {one_line(str(exc))}); rerun with --debug for details"
            )
            code = EXIT_INTERNAL
        sys.exit(code)

    return wrapper  # type: ignore[return-value]


class RackfitGroup(click.Group):
    """Usage errors (a missing argument, a bad option value) as one `error:` line, exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            echo_error("interrupted")
            sys.exit(EXIT_INTERNAL)
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx else "rackfit"
            hint = f" (see {path} --help)"
            echo_error(f"{exc.format_message()}{hint}".replace("\n", " "))
            sys.exit(EXIT_INPUT)
        except click.ClickException as exc:
            echo_error(exc.format_message())
            sys.exit(exc.exit_code)


def time_limit_option(default_s: float, per: str) -> Callable[[F], F]:
    return click.option(
        "--time-limit",
        "time_limit_s",
        type=click.FloatRange(min=0.1),
        default=default_s,
        show_default=True,
        help=f"Seconds the solver may run {per}.",
    )


def mip_gap_option(per: str) -> Callable[[F], F]:
    return click.option(
        "--mip-gap",
        type=click.FloatRange(min=0.0, max=1.0),
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


def solve_options(func: F) -> F:
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
            type=click.FloatRange(min=0.0),
            default=None,
            help="Replace the site's grid_limit_kw with this many MW (onsite_firm_kw still "
            "adds; with phases.csv, in every phase that does not set its own).",
        ),
        strategy_option("the plan"),
    ]
    for option in reversed(options):
        func = option(func)
    return func
