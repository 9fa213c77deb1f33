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

from optimizer.choices import STRATEGIES
from optimizer.errors import RackfitError, SiteError, Terminated
from optimizer.textsafe import one_line as escaped_line

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_VIOLATIONS = range(6)
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports a process it ended
EXIT_INTERRUPTED = 128 + 2  # Ctrl-C (SIGINT), likewise
F = TypeVar("F", bound=Callable[..., Any])


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM raises `Terminated` (a KeyboardInterrupt), so that writing stops the way
    Ctrl-C stops it: the temporary output removed, the previous one left as it was."""
    raise Terminated


def printable(text: str) -> str:
    """A message as one line: a line break or escape sequence in a user's text (an id, a
    file name) written as an escape, so no input can forge or hide a line."""
    return escaped_line(text, most=2000)


def echo_error(text: str) -> None:
    click.echo(f"error: {printable(text)}", err=True)


def one_line(text: str, most: int = 500) -> str:
    """A message on one line (errors are one line each), cut short if very long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


def _debug(debug: bool, exc: BaseException) -> None:
    if debug:
        traceback.print_exception(exc)


def echo_warning(text: str) -> None:
    click.echo(f"warning: {printable(text)}", err=True)


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
        except Terminated as exc:
            _debug(debug, exc)
            echo_error("terminated; nothing was written and earlier outputs are unchanged")
            code = EXIT_TERMINATED
        except KeyboardInterrupt as exc:
            _debug(debug, exc)
            echo_error("interrupted; nothing was written and earlier outputs are unchanged")
            code = EXIT_INTERRUPTED
        except (click.exceptions.Exit, click.ClickException):
            raise
        except BrokenPipeError:  # the reader of our output went away (e.g. `| head`)
            sys.stderr.close()
            code = EXIT_OK
        except OSError as exc:  # the file system refused: a read-only folder, a name too long
            _debug(debug, exc)
            echo_error(_os_error_text(exc))
            code = EXIT_INPUT
        except MemoryError as exc:
            _debug(debug, exc)
            echo_error("out of memory: the input is too large for this machine")
            code = EXIT_INPUT
        except Exception as exc:  # a bug: say so, in one line unless --debug
            _debug(debug, exc)
            name = type(exc).__name__
            echo_error(
                f"internal error ({name}: {one_line(str(exc))}); rerun with --debug for details"
            )
            code = EXIT_INTERNAL
        sys.exit(code)

    return wrapper  # type: ignore[return-value]


def _os_error_text(exc: OSError) -> str:
    """`plan/x.csv: Permission denied`: the file and the system's reason."""
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or type(exc).__name__
    if exc.filename2 is not None:
        name = f"{name} -> {exc.filename2}"
    return f"{name}: {reason}" if name else f"the file system refused: {reason}"


class RackfitGroup(click.Group):
    """Usage errors (a missing argument, a bad option value) as one `error:` line, exit 2.
    While a command runs, SIGTERM stops it as Ctrl-C does (`Terminated`, exit 143)."""

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
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


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
        help=(
            "Solver threads (default: HiGHS decides). On sites the strategy finds hard, HiGHS "
            "takes one fewer and the strategy's stages the other."
        ),
    )(func)


def strategy_option(per: str) -> Callable[[F], F]:
    return click.option(
        "--strategy",
        type=click.Choice(list(STRATEGIES)),
        default="auto",
        show_default=True,
        help=f"How {per} is solved. auto: HiGHS and the surrogate bound start together; "
        "HiGHS is stopped once a plan is within --mip-gap of the tightest bound; on hard "
        "sites the decomposition bound and the heuristic run beside HiGHS and hand in bounds "
        "and plans as they come; auto-cut: the same with the surrogate bound added as the "
        "row objective <= bound (HiGHS then starts once the bound is known); plain: HiGHS "
        "alone.",
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
            type=FiniteFloat(min=0.0, max=100_000.0),  # 100 GW: the format's limit
            default=None,
            help="Replace the site's grid_limit_kw with this many MW (onsite_firm_kw still "
            "adds; with phases.csv, in every phase that does not set its own).",
        ),
        strategy_option("the plan"),
    ]
    for option in reversed(options):
        func = option(func)
    return func
