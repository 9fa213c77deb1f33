"""The terminal summary of a plan: text lines, no files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.tables import Plan

MARGINAL_UNITS = {
    "power": "GPU-value/kW",
    "cooling": "GPU-value/kW",
    "pods": "GPU-value/port",
    "rows": "GPU-value/position",
    "grid": "GPU-value/kW",
}


def binding_limits(plan: Plan, most: int = 8) -> list[tuple[str, str, float, float]]:
    """(kind, where, utilization, marginal value) of the binding limits, largest marginal
    value first: the first `most` of `binding_limits_in`."""
    tables = {"power": plan.power, "cooling": plan.cooling, "pods": plan.pods}
    tables.update({"grid": plan.grid, "rows": plan.rows})
    return binding_limits_in(tables)[:most]


def binding_limits_in(tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, str, float, float]]:
    """Every binding limit of a plan's tables (those of a Plan, or read back from a plan
    folder, where an empty `worst_failure` is NaN), largest marginal value first."""
    found: list[tuple[str, str, Any, Any]] = []

    def binding(name: str) -> list[dict[Any, Any]]:
        table = tables.get(name)
        if table is None or "binding" not in table.columns:
            return []
        return [r for r in table.to_dict("records") if cell_is_true(r["binding"])]

    for r in binding("power"):
        failure = r.get("worst_failure")
        when = "normal" if failure is None or pd.isna(failure) else f"after {failure} fails"
        found.append(("power", f"{r['device']} ({when})", r["utilization"], r["marginal_value"]))
    for r in binding("cooling"):
        where = f"{r['hall']} {r['medium']}"
        found.append(("cooling", where, r["utilization"], r["marginal_value"]))
    for r in binding("pods"):
        found.append(("pods", str(r["pod"]), r["utilization"], r["marginal_value"]))
    for r in binding("grid"):
        found.append(("grid", "site supply", r["utilization"], r["marginal_value"]))
    full_rows = binding("rows")
    if full_rows:
        value = sum(float(r["marginal_value"]) for r in full_rows)
        found.append(("rows", f"{len(full_rows)} full rows", 1.0, value))
    out = [(k, w, float(u), float(v)) for k, w, u, v in found]
    out.sort(key=lambda t: (-abs(t[3]), t[0], t[1]))
    return out


def cell_is_true(value: Any) -> bool:
    """A `binding` cell: a bool in a Plan, `True`/`False` text in a CSV read as text."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return str(value).strip().lower() == "true"


def _brownfield_lines(plan: Plan) -> list[str]:
    """v1.1: what the plan installs beside the racks already standing, and per phase."""
    s, site = plan.summary, plan.site
    lines = []
    if site.existing:
        lines.append(
            f"  {len(site.existing):,} racks already standing; the plan installs "
            f"{s['new_racks']:,} racks with {s['new_gpus']:,} GPUs"
        )
    if plan.phases is not None:
        lines.append("")
        lines.append(
            f"  {'phase':<14}{'weight':>7}{'new':>7}{'racks':>8}{'GPUs':>10}{'grid kW':>12}"
            f"{'of':>12}  binds"
        )
        for _, p in plan.phases.iterrows():
            lines.append(
                f"  {str(p['phase']):<14}{p['weight']:>7g}{p['new_racks']:>7,}{p['racks']:>8,}"
                f"{p['gpus']:>10,}{p['grid_kw']:>12,.0f}{p['limit_kw']:>12,.0f}  {p['binds']}"
            )
    return lines


def summary_lines(plan: Plan, out: Path | None = None, total_s: float | None = None) -> list[str]:
    s = plan.summary
    objective = s["objective"]
    shown_objective = (
        f"{objective:,.0f} USD"
        if s["objective_name"] == "cost"
        else f"{objective:,.1f} value-weighted GPUs"
    )
    gap = s.get("mip_gap")
    lines = [
        "",
        f"{s['site']}: {s['status']}  {shown_objective}  "
        f"(gap {100 * (gap or 0):.4f}%, bound {s.get('bound')} from {s.get('bound_source')})",
        f"  {s['gpus']:,} GPUs in {s['racks']:,} racks, {s['design_kw']:,.0f} kW design load",
    ]
    lines += _brownfield_lines(plan)
    base = s.get("baseline_gpus")
    base_objective = s.get("baseline_objective")
    weighted = s["objective_name"] == "gpus" and objective != s["gpus"]
    if base is not None and weighted and base_objective:
        # value-weighted GPUs: compare what the objective counts, and show the GPUs too
        gain = s["gain_over_baseline_objective"]
        lines.append(
            f"  first fit (a DCIM tool's answer) places {base:,} GPUs worth "
            f"{base_objective:,.1f} value-weighted: {gain:+,.1f} "
            f"({100 * gain / base_objective:+.1f}%) with rackfit, {s['gpus'] - base:+,} GPUs"
        )
    elif base is not None:
        gain = s["gpus"] - base
        pct = f" ({100 * gain / base:+.1f}%)" if base else ""
        lines.append(
            f"  first fit (a DCIM tool's answer) places {base:,} GPUs: "
            f"{gain:+,} GPUs{pct} with rackfit"
        )
    else:
        lines.append("  first fit (a DCIM tool's answer) cannot meet every min_racks here")
    lines.append("")
    lines.append(
        f"  {'cluster':<18}{'model':<28}{'placed':>8}{'asked':>14}{'GPUs':>10}  limited by"
    )
    for _, c in plan.clusters.iterrows():
        hi = "-" if c["max_racks"] is None or str(c["max_racks"]) == "<NA>" else str(c["max_racks"])
        asked = f"{c['min_racks']}..{hi}"
        lines.append(
            f"  {str(c['cluster']):<18}{str(c['model']):<28}{c['placed_racks']:>8,}"
            f"{asked:>14}{c['gpus']:>10,}  {c['limited_by']}"
        )
    binding = binding_limits(plan)
    if binding:
        lines.append("")
        lines.append("  binding limits (marginal value from the LP relaxation's duals):")
        for kind, where, util, value in binding:
            lines.append(
                f"    {kind:<8}{where:<44}{100 * util:7.1f}%   {value:,.4g} {MARGINAL_UNITS[kind]}"
            )
    if out is not None:
        lines.append("")
        lines.append(f"  written to {out}" + (f" in {total_s:.1f} s" if total_s else ""))
    return lines
