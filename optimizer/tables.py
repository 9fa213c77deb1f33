"""What a solve returns: a `Plan`, a site plus result tables as pandas DataFrames.

Every table's columns are listed here once (the stranded table's in stranded.py); results.py
fills them, export.py writes them, docs/outputs.md explains them column by column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from optimizer.schema import Site
from optimizer.status import Status

# A limit binds when the plan uses at least this share of it (or no rack that could still come
# fits in what is left): the one threshold of every table, the workbook and the pictures.
BINDING_UTILIZATION = 0.999

PLACEMENT_COLUMNS = ["hall", "row", "position", "cluster", "model"]
CLUSTER_COLUMNS = [
    "cluster",
    "model",
    "min_racks",
    "max_racks",
    "placed_racks",
    "gpus",
    "value",
    "weighted_gpus",
    "design_kw",
    "limited_by",
]
POWER_COLUMNS = [
    "device",
    "parent",
    "capacity_kw",
    "derate",
    "limit_kw",
    "normal_kw",
    "worst_kw",
    "worst_failure",
    "utilization",
    "binding",
    "marginal_value",
]
COOLING_COLUMNS = [
    "hall",
    "medium",
    "load_kw",
    "capacity_kw",
    "utilization",
    "binding",
    "marginal_value",
]
POD_COLUMNS = ["pod", "ports_used", "ports", "utilization", "binding", "marginal_value"]
ROW_COLUMNS = [
    "hall",
    "row",
    "pod",
    "feed_a",
    "feed_b",
    "liquid",
    "positions",
    "racks",
    "design_kw",
    "utilization",
    "binding",
    "marginal_value",
]
GRID_COLUMNS = [
    "it_kw",
    "air_overhead_kw",
    "liquid_overhead_kw",
    "fixed_overhead_kw",
    "total_kw",
    "grid_limit_kw",
    "onsite_firm_kw",
    "limit_kw",
    "design_temp_c",
    "utilization",
    "binding",
    "marginal_value",
]

# v1.1: one line per phase of a phased site (phases.csv of the plan)
PHASE_COLUMNS = [
    "phase",
    "weight",
    "racks",
    "new_racks",
    "gpus",
    "weighted_gpus",
    "grid_kw",
    "grid_limit_kw",
    "onsite_firm_kw",
    "limit_kw",
    "utilization",
    "binds",
]

# Plan statuses (contract: summary.json `status`).
OPTIMAL, TIME_LIMIT, INFEASIBLE = Status.OPTIMAL, Status.TIME_LIMIT, Status.INFEASIBLE


@dataclass(frozen=True)
class Plan:
    """A solved site.

    `summary` holds the scalar results written to summary.json (status, objective, gpus,
    racks, mip_gap, bound, ...). Tables are DataFrames with the columns listed above.
    """

    site: Site
    summary: dict[str, Any]
    placements: pd.DataFrame
    clusters: pd.DataFrame
    power: pd.DataFrame
    cooling: pd.DataFrame
    pods: pd.DataFrame
    rows: pd.DataFrame
    grid: pd.DataFrame
    timings_s: dict[str, float] = field(default_factory=dict)
    phases: pd.DataFrame | None = None  # v1.1: per phase, for a site with phases.csv

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    @cached_property
    def stranded(self) -> pd.DataFrame:
        """Per power device: the kW the plan leaves unused and why (optimizer/stranded.py),
        computed from the site and the placements when first asked for."""
        from optimizer.stranded import stranded_table

        return stranded_table(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by file stem, in the order they are written."""
        return {
            "placements": self.placements,
            "clusters": self.clusters,
            "power": self.power,
            "cooling": self.cooling,
            "pods": self.pods,
            "rows": self.rows,
            "grid": self.grid,
            "stranded": self.stranded,
        } | ({} if self.phases is None else {"phases": self.phases})
