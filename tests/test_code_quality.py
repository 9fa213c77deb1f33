"""Lint and types are part of the test command (docs/architecture.md, "Habits")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing_in_the_code_and_tests():
    result = run("ruff", "check", "optimizer", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_type_errors_in_the_package():
    result = run("mypy", "optimizer")
    assert result.returncode == 0, result.stdout + result.stderr
