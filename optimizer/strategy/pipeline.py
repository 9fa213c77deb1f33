"""Orchestration: heuristic start, surrogate bound, full solve with the cut and the start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from optimizer.schema import Site
from optimizer.solve import Compiled, Progress, Solution, SolveOptions, Solver


def solve_with_strategy(
    m: Any, model: Compiled, site: Site, options: SolveOptions, start: np.ndarray | None,
    stages: Any, on_progress: Callable[[Progress], None] | None,
) -> tuple[Solution, str]:  # fmt: skip
    with stages.stage("solve"):
        solution = Solver(model, options).solve(start, on_progress)
    return solution, "highs"
