"""Fixtures shared by several test files."""

from __future__ import annotations

import highspy
import pytest


@pytest.fixture
def fresh_highs_scheduler():
    """HiGHS keeps one thread scheduler per process, sized by the first solve. A user's
    `rackfit` is a new process, so the tests that pass --threads (or solve with several
    thread counts in one process) start, and leave, a fresh scheduler."""
    highspy.Highs.resetGlobalScheduler(True)
    yield
    highspy.Highs.resetGlobalScheduler(True)
