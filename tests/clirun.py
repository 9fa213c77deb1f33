"""Run `rackfit` in the test process through click's CliRunner, as test_cli.py,
test_studies.py and test_reliability.py do.

    from clirun import EXIT_INPUT, error_lines, rackfit

    result = rackfit("plan", site, "--out", out, code=EXIT_INPUT)
    assert error_lines(result) == ["error: ..."]
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from optimizer.cli import main

# The exit codes of the contract (../shared/spec/site-format.md, "The command line").
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_VIOLATIONS = range(6)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT


def rackfit(*args: object, code: int | None = EXIT_OK) -> Result:
    """Run `rackfit ARGS` and check its exit code (`code=None`: any but 0); the failure shows
    what it printed."""
    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="rackfit")
    ok = result.exit_code != 0 if code is None else result.exit_code == code
    assert ok, (
        f"rackfit {' '.join(map(str, args))}: exit {result.exit_code}, expected {code}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n--- {result.exc_info!r}"
    )
    return result


def error_lines(result: Result) -> list[str]:
    """The lines of stderr that start with `error:`."""
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def listing(folder: Path) -> list[str]:
    """Every name in `folder`, hidden ones (temporary folders) included, sorted."""
    return sorted(p.name for p in folder.iterdir())
