"""Errors rackfit raises on purpose. The CLI maps each to an exit code (see docs/cli.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in a site, located as precisely as the input allows.

    `where` is `file[:sheet]`; `row` is the row number as a spreadsheet shows it
    (the header is row 1); `column` is a column name or a `site.yaml` key.
    """

    where: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [self.where]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return f"{', '.join(parts)}: {self.message}"


class RackfitError(Exception):
    """Base of every error rackfit raises deliberately."""

    exit_code = 1


class SiteError(RackfitError):
    """The site cannot be used: every problem found is in `issues` (exit code 2)."""

    exit_code = 2

    def __init__(self, issues: list[Issue] | Issue | str):
        if isinstance(issues, str):
            issues = [Issue(where="site", message=issues)]
        elif isinstance(issues, Issue):
            issues = [issues]
        self.issues: list[Issue] = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class UsageError(RackfitError):
    """A command was called with arguments that cannot work (exit code 2)."""

    exit_code = 2


class InfeasibleError(RackfitError):
    """No plan meets every limit and every demand minimum (exit code 3)."""

    exit_code = 3

    def __init__(self, message: str, conflicts: list[str] | None = None):
        self.conflicts = conflicts or []
        super().__init__(message)


class NoPlanError(RackfitError):
    """The time limit ran out before any feasible plan was found (exit code 4)."""

    exit_code = 4


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised like Ctrl-C, so every half-written output is removed on the way
    out (the command line installs the handler; exit code 143)."""


class OutOfMemoryError(RackfitError):
    """The solver ran out of memory (exit code 4, like a time limit: no plan, not a bug)."""

    exit_code = 4


class InternalError(RackfitError):
    """A bug: e.g. the solver's plan failed the independent verifier (exit code 1)."""

    exit_code = 1
