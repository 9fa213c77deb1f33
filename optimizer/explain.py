"""Why a site is infeasible, in the site's own words and numbers.

Two layers. `raise_if_trivially_infeasible` catches what needs no solver (a cluster whose
minimum cannot stand anywhere). `infeasible_error` runs an elastic re-solve: every limit row
(space, cooling, ports, power normal and N-1, grid) gets a non-negative slack, the minimums
stay hard, and the total slack relative to each limit is minimized. The limits that need
slack are the ones that conflict with the minimums, and the slack is how much is missing.
(HiGHS's irreducible infeasible subset, `getIis`, names rows but for a MIP it is an LP-level
answer and lists many rows with no amounts; the elastic answer gives amounts a site engineer
can act on, so it is the one used.)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from scipy import sparse

from optimizer.errors import InfeasibleError
from optimizer.formulation import BuiltModel, Family, build_model
from optimizer.schema import Site
from optimizer.solve import Compiled, SolveOptions, compile_model, solve

ELASTIC = {
    Family.SPACE,
    Family.COOLING,
    Family.NETWORK,
    Family.POWER,
    Family.GRID,
    Family.COOLING_PHASE,
    Family.GRID_PHASE,
}
# What racks already standing can break on their own (contract v1.1, exit 3).
STANDING_RULES = ("demand", "cooling", "network", "power", "grid")
UNITS = {"space": "positions", "network": "ports"}


def standing_violations(site: Site) -> list[str]:
    """Contract v1.1: the limits the racks already standing break on their own, in every
    phase, each with the amount it is over by (checked by the independent verifier)."""
    if not site.existing:
        return []
    import pandas as pd

    from optimizer.verify import verify

    placements = pd.DataFrame(
        [
            {
                "hall": r.hall,
                "row": r.row,
                "position": r.position,
                "cluster": r.cluster or "",
                "model": r.model,
                "existing": "true",
            }
            for r in site.existing
        ]
    )
    out = []
    for v in verify(site, placements):
        if v.rule not in STANDING_RULES or v.load <= v.limit:
            continue  # a minimum the new racks are to meet is no conflict
        unit = "ports" if v.rule == "network" else "racks" if v.rule == "demand" else "kW"
        out.append(f"{v.message} ({v.load - v.limit:,.1f} {unit} over)")
    return out


def raise_if_trivially_infeasible(site: Site) -> None:
    """Racks already standing that break a limit on their own (v1.1); a cluster with
    min_racks > 0 whose model fits no row, or fewer fitting positions than its minimum."""
    from optimizer.formulation import Index

    standing = standing_violations(site)
    if standing:
        raise InfeasibleError(
            "the site is infeasible: the racks already standing (existing.csv) break "
            f"{'a limit' if len(standing) == 1 else f'{len(standing)} limits'} on their own: "
            + "; ".join(standing),
            standing,
        )

    index = Index(site)
    problems = []
    for c in site.demand:
        if c.min_racks == 0:
            continue
        model = site.model_of(c)
        fitting = [index.row[h, r] for _, h, r in index.by_cluster.get(c.cluster, [])]
        positions = sum(r.positions for r in fitting)
        if not fitting:
            where = " in a row that belongs to a pod" if c.colocate == "pod" else ""
            problems.append(
                f"cluster {c.cluster} needs at least {c.min_racks} racks of {model.model} "
                f"({model.design_kw:g} kW, {model.weight_kg:g} kg"
                f"{', liquid' if model.liquid_fraction > 0 else ''}) but the model fits no "
                f"row{where}"
            )
        elif positions + index.existing_in_cluster.get(c.cluster, 0) < c.min_racks:
            problems.append(
                f"cluster {c.cluster} needs at least {c.min_racks} racks of {model.model} but "
                f"only {positions} positions fit it"
            )
    if problems:
        raise InfeasibleError("the site is infeasible: " + "; ".join(problems), problems)


def _elastic(model: Compiled, rows: list[int]) -> Compiled:
    """The model with a slack column on each listed row, minimizing relative slack."""
    n_rows, n_cols, _ = model.shape
    k = len(rows)
    slack = sparse.csr_array(
        (-np.ones(k), (np.array(rows, dtype=int), np.arange(k))), shape=(n_rows, k)
    )
    scale = np.maximum(np.abs(model.row_upper[rows]), 1.0)
    return Compiled(
        A=sparse.hstack([model.A, slack], format="csr"),
        row_lower=model.row_lower.copy(),
        row_upper=model.row_upper.copy(),
        col_lower=np.concatenate([model.col_lower, np.zeros(k)]),
        col_upper=np.concatenate([model.col_upper, np.full(k, np.inf)]),
        integer=np.concatenate([model.integer, np.zeros(k, dtype=bool)]),
        cost=np.concatenate([np.zeros(n_cols), 1.0 / scale]),
        cost_offset=0.0,
        maximize=False,
        row_family=model.row_family,
        row_key=model.row_key,
        var_columns=model.var_columns,
    )


def conflicts(site: Site, time_limit_s: float = 60.0) -> list[str]:
    """One sentence per limit that must grow for the minimums to fit, largest first."""
    built = build_model(site)
    model = compile_model(built)
    rows = [
        k
        for k, family in enumerate(model.row_family)
        if family in ELASTIC and np.isfinite(model.row_upper[k])
    ]
    sol = solve(_elastic(model, rows), SolveOptions(time_limit_s=time_limit_s, mip_gap=1e-6))
    if sol.x is None:
        return [
            "the demand minimums and colocation rules cannot all hold even with every "
            "limit relaxed (check min_racks against max_racks and colocation)"
        ]
    x = sol.x[: model.shape[1]]
    slack = sol.x[model.shape[1] :]
    a = model.A.tocsr()
    place_of = {
        k: p for p, k in zip(built.index.places, model.place_column.tolist(), strict=True) if k >= 0
    }
    found = []
    for j, k in enumerate(rows):
        if slack[j] <= 1e-6:
            continue
        family = model.row_family[k]
        cols = a.indices[a.indptr[k] : a.indptr[k + 1]]
        clusters: dict[str, float] = defaultdict(float)
        for col in cols:
            p = place_of.get(int(col))
            if p is not None and x[col] > 0.5:
                clusters[p[0]] += x[col]
        limit = float(model.row_upper[k])
        need = limit + float(slack[j])
        who = " and ".join(sorted(clusters)) or "the demand"
        verb = "needs" if len(clusters) == 1 else "need"
        found.append(
            (
                float(slack[j]) / max(limit, 1.0),
                _sentence(built, family, model.row_key[k], who, verb, need, limit),
            )
        )
    found.sort(key=lambda t: -t[0])
    return [text for _, text in found]


def _sentence(
    built: BuiltModel, family: str, key: Any, who: str, verb: str, need: float, limit: float
) -> str:
    unit = UNITS.get(family, "kW")
    if family == "space":
        return (
            f"clusters {who} {verb} at least {need:,.0f} positions in row {key[0]}/{key[1]}; "
            f"it has {limit:,.0f}"
        )
    if family == "cooling":
        return (
            f"clusters {who} {verb} at least {need:,.0f} kW of {key[1]} cooling in hall "
            f"{key[0]}; {key[0]} has {limit:,.0f} kW"
        )
    if family == "network":
        return f"clusters {who} {verb} at least {need:,.0f} ports in pod {key}; it has {limit:,.0f}"
    if family == "power":
        lim = built.power_limits[key]
        when = "in normal operation" if lim.failure is None else f"after {lim.failure} fails"
        return (
            f"clusters {who} {verb} at least {need:,.0f} kW through {lim.device} {when}; "
            f"its limit is {limit:,.0f} kW (capacity x derate)"
        )
    if family == "cooling_phase":
        phase = built.index.site.phases[key[2]].phase
        return (
            f"clusters {who} {verb} at least {need:,.0f} kW of {key[1]} cooling in hall "
            f"{key[0]} in phase {phase} (beside the racks already standing); it has "
            f"{limit:,.0f} kW then"
        )
    if family == "grid_phase":
        phase = built.index.site.phases[key].phase
        return (
            f"clusters {who} {verb} at least {need:,.0f} kW from the grid and on-site supply "
            f"in phase {phase}, beyond the fixed draw; the phase leaves {limit:,.0f} kW"
        )
    if family == "grid":
        fixed = built.index.site.fixed_overhead_kw  # the row's limit is the supply minus it
        return (
            f"clusters {who} {verb} at least {need + fixed:,.0f} kW from the grid and on-site "
            f"supply (IT, cooling overhead at the design temperature and {fixed:,.0f} kW fixed "
            f"overhead); the supply is {limit + fixed:,.0f} kW"
        )
    return f"{family} {key}: {need:,.1f} {unit} needed, {limit:,.1f} available"


def infeasible_error(site: Site) -> InfeasibleError:
    """The error to raise for an infeasible site, with the conflicting limits named."""
    found = conflicts(site)
    head = "the site is infeasible: no plan meets every demand minimum within the limits"
    return InfeasibleError(f"{head}: " + "; ".join(found[:3]), found)
