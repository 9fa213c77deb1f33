"""Solved model -> `Plan`: placements and utilization tables as DataFrames.

The only module that reads a solution. Loads per device come from the independent verifier's
arithmetic (`verify.power_loads`), so the power table a user reads is the second opinion's,
not the formulation's. Marginal values are the LP relaxation's row duals (labelled so).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer import verify
from optimizer.formulation import BuiltModel, Family, Index, Place
from optimizer.layout import placements_from_counts, placements_with_phases
from optimizer.schema import MEDIA, Cluster, Site
from optimizer.solve import Compiled
from optimizer.tables import (
    CLUSTER_COLUMNS,
    COOLING_COLUMNS,
    GRID_COLUMNS,
    PHASE_COLUMNS,
    POD_COLUMNS,
    POWER_COLUMNS,
    ROW_COLUMNS,
)

BINDING_UTILIZATION = 0.999
MARGINAL_SOURCE = "lp_relaxation_duals"


@dataclass
class RowState:
    """Per compiled row: its label, headroom and whether one more rack of any place in it
    would break it (the row binds the integer plan)."""

    labels: list[str]
    families: list[str]
    slack: np.ndarray
    tight: np.ndarray


def _place_columns(built: BuiltModel, model: Compiled) -> list[tuple[Place, int]]:
    """(place, its column) for every place that has one."""
    pairs = zip(built.index.places, model.place_column.tolist(), strict=True)
    return [(p, k) for p, k in pairs if k >= 0]


def racks_by_place(built: BuiltModel, model: Compiled, x: np.ndarray) -> dict[Place, int]:
    """(cluster, hall, row) -> racks placed (standing in the last phase), from a column
    vector."""
    return {p: int(round(x[k])) for p, k in _place_columns(built, model)}


def standing_by_place(built: BuiltModel, model: Compiled, x: np.ndarray) -> dict[Place, list[int]]:
    """(cluster, hall, row) -> new racks standing there in each phase (v1.1)."""
    index = built.index
    stand = dict(zip(built.place_phases, model.stand_column.tolist(), strict=True))
    out: dict[Place, list[int]] = {}
    for p, last in _place_columns(built, model):
        counts = []
        for q in index.phases:
            if q == index.last_phase:
                k = last
            elif q < index.first_phase(p):
                counts.append(0)
                continue
            else:
                k = stand[(*p, q)]
            counts.append(int(round(x[k])))
        out[p] = counts
    return out


def _phase_id(built: BuiltModel, q: int) -> str:
    phases = built.index.site.phases
    return phases[q].phase if phases else str(q)


def _row_label(built: BuiltModel, family: str, key: Any) -> str:
    """A row as a person names it: `power UPS-A (UPS-B fails)`, `space H1/R3`, `grid`."""
    if family == Family.COOLING_PHASE:
        return f"cooling {key[0]} {key[1]} in phase {_phase_id(built, key[2])}"
    if family == Family.GRID_PHASE:
        return f"grid in phase {_phase_id(built, key)}"
    if family == Family.DEMAND_PHASE:
        return f"min_racks {key}"
    if family == Family.PHASE_STAYS:
        return f"racks stay {key[0]} {key[1]}/{key[2]}"
    if family == Family.POWER:
        return f"power {built.power_limits[key].label}"
    if family == Family.SPACE:
        return f"space {key[0]}/{key[1]}"
    if family == Family.COOLING:
        return f"cooling {key[0]} {key[1]}"
    if family == Family.NETWORK:
        return f"ports {key}"
    if family == Family.GRID:
        return "grid"
    if family == Family.DEMAND:
        return f"max_racks {key}"
    if family in (Family.COLOCATION_LINK, Family.COLOCATION_ONE):
        return f"colocation {key if not isinstance(key, tuple) else key[0]}"
    return str(family)


def growable_columns(built: BuiltModel, model: Compiled, x: np.ndarray) -> np.ndarray:
    """Rack columns that could take one more rack as far as their own bound and their
    cluster's max_racks go (so a limit is judged only by racks that could still come)."""
    index = built.index
    pairs = _place_columns(built, model)
    placed: Counter[str] = Counter(index.existing_in_cluster)
    for p, k in pairs:
        placed[p[0]] += int(round(x[k]))
    grow = np.zeros(model.shape[1], dtype=bool)
    for p, k in pairs:
        cap = index.cluster[p[0]].max_racks
        grow[k] = x[k] < model.col_upper[k] - 0.5 and (cap is None or placed[p[0]] < cap)
    # v1.1: an earlier phase's count can grow up to the next one's
    for k in model.stand_column[model.stand_column >= 0]:
        grow[k] = x[k] < model.col_upper[k] - 0.5
    return grow


def row_state(built: BuiltModel, model: Compiled, x: np.ndarray) -> RowState:
    """A row binds when no rack that could still come fits in its headroom."""
    activity = model.A @ x
    slack = model.row_upper - activity
    a = model.A.tocsr()
    grow = growable_columns(built, model, x)
    smallest = np.full(a.shape[0], np.inf)
    for k in range(a.shape[0]):
        cols = a.indices[a.indptr[k] : a.indptr[k + 1]]
        data = a.data[a.indptr[k] : a.indptr[k + 1]]
        pos = data[(data > 0) & grow[cols]]
        if pos.size:
            smallest[k] = pos.min()
    tight = np.isfinite(model.row_upper) & (slack < smallest - 1e-7)
    labels = [
        _row_label(built, f, key) for f, key in zip(model.row_family, model.row_key, strict=True)
    ]
    return RowState(labels, list(model.row_family), slack, tight)


def _limited_by(
    index: Index,
    model: Compiled,
    x: np.ndarray,
    state: RowState,
    placed: dict[str, int],
) -> dict[str, str]:
    """Per cluster, the limits that stop it from getting one more rack anywhere."""
    site = index.site
    a = model.A.tocsc()
    column = dict(zip(index.places, model.place_column.tolist(), strict=True))
    out: dict[str, str] = {}
    for cluster in site.demand:
        c = cluster.cluster
        if cluster.max_racks is not None and placed.get(c, 0) >= cluster.max_racks:
            out[c] = "max_racks"
            continue
        places = index.by_cluster.get(c, [])
        if not places:
            out[c] = "fits no row"
            continue
        reasons: Counter[str] = Counter()
        for p in places:
            k = column[p]
            if k < 0:  # in no row and not in the objective: nothing limits it
                continue
            if x[k] >= model.col_upper[k] - 0.5:
                reasons[f"space {p[1]}/{p[2]}"] += 1
                continue
            rows = a.indices[a.indptr[k] : a.indptr[k + 1]]
            coefs = a.data[a.indptr[k] : a.indptr[k + 1]]
            for r, coef in zip(rows, coefs, strict=True):
                if coef > 0 and np.isfinite(model.row_upper[r]) and state.slack[r] < coef - 1e-7:
                    reasons[state.labels[r]] += 1
        if not reasons:
            out[c] = "objective (more racks would not pay)"
            continue
        # Group by family, name the most frequent specific limits.
        fam = Counter(label.split(" ")[0] for label in reasons.elements())
        top = ", ".join(f for f, _ in fam.most_common())
        worst = "; ".join(label for label, _ in reasons.most_common(2))
        out[c] = f"{top} ({worst})"
    return out


def _duals_by(
    model: Compiled, duals: np.ndarray | None, family: str
) -> dict[Any, float]:  # per constraint index: summed dual
    out: dict[Any, float] = defaultdict(float)
    if duals is None:
        return out
    for k in model.rows_of(family):
        out[model.row_key[k]] += float(duals[k])
    return out


def _round(value: float, digits: int = 6) -> float:
    return float(round(value, digits)) + 0.0  # + 0.0 turns -0.0 into 0.0


def build_tables(
    built: BuiltModel, model: Compiled, x: np.ndarray, duals: np.ndarray | None
) -> dict[str, pd.DataFrame]:
    """Every result table of a solved model."""
    index = built.index
    site = index.site
    racks = racks_by_place(built, model, x)
    standing = None
    if site.existing or site.phases:
        standing = standing_by_place(built, model, x)
        placements = placements_with_phases(site, standing)
    else:
        placements = placements_from_counts(site, racks)
    state = row_state(built, model, x)
    placed = Counter[str]()
    for (c, _, _), n in racks.items():
        placed[c] += n
    for c, n in index.existing_in_cluster.items():
        placed[c] += n
    phases = (
        {}
        if standing is None or not site.phases
        else {"phases": _phases_table(built, index, standing, model, x, state)}
    )
    return phases | {
        "placements": placements,
        "clusters": _clusters_table(index, placed, _limited_by(index, model, x, state, placed)),
        "power": _power_table(built, site, placements, model, state, duals),
        "cooling": _cooling_table(index, racks, model, duals, state),
        "pods": _pods_table(index, racks, model, duals, state),
        "rows": _rows_table(index, racks, model, duals),
        "grid": _grid_table(index, racks, model, duals, state),
    }


def _clusters_table(index: Index, placed: Counter[str], limited: dict[str, str]) -> pd.DataFrame:
    """Per cluster; `placed_racks` counts its existing racks too, and (v1.1, with
    existing.csv) `existing_racks` says how many of them stood already."""
    site = index.site
    lines = []
    for c in site.demand:
        model = site.model_of(c)
        n = placed.get(c.cluster, 0)
        lines.append(
            [
                c.cluster,
                c.model,
                c.min_racks,
                c.max_racks,
                n,
                n * model.gpus,
                c.value,
                _round(n * model.gpus * c.value),
                _round(n * model.design_kw),
                limited.get(c.cluster, ""),
            ]
        )
    frame = pd.DataFrame(lines, columns=CLUSTER_COLUMNS)
    if site.existing:
        frame.insert(
            CLUSTER_COLUMNS.index("placed_racks") + 1,
            "existing_racks",
            [index.existing_in_cluster.get(c.cluster, 0) for c in site.demand],
        )
    return frame.astype({"max_racks": "Int64"})


def _power_table(
    built: BuiltModel,
    site: Site,
    placements: pd.DataFrame,
    model: Compiled,
    state: RowState,
    duals: np.ndarray | None,
) -> pd.DataFrame:
    by_device = {
        str(r["device"]): r for r in verify.power_loads(site, placements).to_dict("records")
    }
    marginal: dict[str, float] = defaultdict(float)
    binding_rows: set[str] = set()
    for k in model.rows_of(Family.POWER):
        limit = built.power_limits[model.row_key[k]]
        if duals is not None:
            marginal[limit.device] += float(duals[k])
        if state.tight[k]:
            binding_rows.update((limit.device, *limit.twins))
    lines = []
    failover = any(d.failover_kw is not None for d in site.devices)
    for d in site.devices:
        row = by_device[d.device]
        limit = float(row["worst_limit_kw"]) if failover else d.usable_kw
        worst = float(row["worst_kw"])
        normal = float(row["normal_kw"])
        util = worst / limit if limit > 0 else (0.0 if worst == 0 else float("inf"))
        failure = row["worst_failure"]
        line = [
            d.device,
            d.parent,
            d.capacity_kw,
            d.derate,
            _round(d.usable_kw),
            _round(normal),
            _round(worst),
            None if failure is None or pd.isna(failure) else str(failure),
            _round(util),
            bool(d.device in binding_rows or util >= BINDING_UTILIZATION),
            _round(marginal.get(d.device, 0.0)),
        ]
        if failover:  # v1.1: the short-term rating and which limit gave the worst case
            line += [d.failover_kw, str(row["worst_limit"]), _round(limit)]
        lines.append(line)
    columns = POWER_COLUMNS + (["failover_kw", "worst_limit", "worst_limit_kw"] if failover else [])
    return pd.DataFrame(lines, columns=columns)


def _utilization(load: float, limit: float) -> float:
    if limit > 0:
        return _round(load / limit)
    return 0.0 if load == 0 else float("inf")


def _tight_by(model: Compiled, state: RowState, family: str) -> dict[Any, bool]:
    """Constraint index -> does its row bind (the same rule for every family)."""
    return {model.row_key[k]: bool(state.tight[k]) for k in model.rows_of(family)}


def _cooling_table(
    index: Index,
    racks: dict[Place, int],
    model: Compiled,
    duals: np.ndarray | None,
    state: RowState,
) -> pd.DataFrame:
    site = index.site
    dual = _duals_by(model, duals, Family.COOLING)
    tight = _tight_by(model, state, Family.COOLING)
    lines = []
    for hall in site.halls:
        for medium in MEDIA:
            load = sum(index.model(p).heat_kw(medium) * n for p, n in racks.items() if p[1] == hall)
            load += sum(
                rm.heat_kw(medium) for rid, rm, _ in index.existing_models if rid[0] == hall
            )
            cap = site.cooling_capacity_kw(hall, medium)
            if (
                cap == 0
                and load == 0
                and not any(c.hall == hall and c.medium == medium for c in site.cooling)
            ):
                continue
            util = _utilization(load, cap)
            lines.append(
                [
                    hall,
                    medium,
                    _round(load),
                    _round(cap),
                    util,
                    tight.get((hall, medium), False),
                    _round(dual.get((hall, medium), 0.0)),
                ]
            )
    return pd.DataFrame(lines, columns=COOLING_COLUMNS)


def _pods_table(
    index: Index,
    racks: dict[Place, int],
    model: Compiled,
    duals: np.ndarray | None,
    state: RowState,
) -> pd.DataFrame:
    site = index.site
    dual = _duals_by(model, duals, Family.NETWORK)
    tight = _tight_by(model, state, Family.NETWORK)
    used: Counter[str] = Counter()
    for p, n in racks.items():
        pod = index.row[p[1], p[2]].pod
        if pod is not None:
            used[pod] += index.model(p).ports * n
    for rid, rack_model, _ in index.existing_models:
        pod = index.row[rid].pod
        if pod is not None:
            used[pod] += rack_model.ports
    lines = []
    for pod_line in site.pods:
        u = used.get(pod_line.pod, 0)
        lines.append(
            [
                pod_line.pod,
                u,
                pod_line.ports,
                _utilization(u, pod_line.ports),
                tight.get(pod_line.pod, False),
                _round(dual.get(pod_line.pod, 0.0)),
            ]
        )
    return pd.DataFrame(lines, columns=POD_COLUMNS)


def _rows_table(
    index: Index, racks: dict[Place, int], model: Compiled, duals: np.ndarray | None
) -> pd.DataFrame:
    site = index.site
    dual = _duals_by(model, duals, Family.SPACE)
    count: Counter[tuple[str, str]] = Counter()
    kw: dict[tuple[str, str], float] = defaultdict(float)
    for p, n in racks.items():
        count[p[1], p[2]] += n
        kw[p[1], p[2]] += index.model(p).design_kw * n
    for rid, rack_model, _ in index.existing_models:
        count[rid] += 1
        kw[rid] += rack_model.design_kw
    lines = []
    for r in site.rows:
        n = count.get(r.id, 0)
        lines.append(
            [
                r.hall,
                r.row,
                r.pod,
                r.feed_a,
                r.feed_b,
                r.liquid,
                r.positions,
                n,
                _round(kw.get(r.id, 0.0)),
                _utilization(n, r.positions),
                bool(r.positions > 0 and n >= r.positions),
                _round(dual.get(r.id, 0.0)),
            ]
        )
    return pd.DataFrame(lines, columns=ROW_COLUMNS)


def _grid_table(
    index: Index,
    racks: dict[Place, int],
    model: Compiled,
    duals: np.ndarray | None,
    state: RowState,
) -> pd.DataFrame:
    site = index.site
    air_oh, liquid_oh = site.overhead_at(site.design_temp_c)
    standing = [(index.model(p), n) for p, n in racks.items()]
    standing += [(rack_model, 1) for _, rack_model, _ in index.existing_models]
    it = sum(rm.design_kw * n for rm, n in standing)
    air = sum(rm.heat_kw("air") * n for rm, n in standing) * air_oh
    liquid = sum(rm.heat_kw("liquid") * n for rm, n in standing) * liquid_oh
    total = it + air + liquid + site.fixed_overhead_kw
    grid_kw, onsite_kw = site.phase_limits_kw(index.last_phase)
    limit = grid_kw + onsite_kw
    grid_rows = model.rows_of(Family.GRID)
    tight = bool(grid_rows.size and state.tight[grid_rows[0]])
    dual = sum(_duals_by(model, duals, Family.GRID).values())
    line = [
        _round(it),
        _round(air),
        _round(liquid),
        _round(site.fixed_overhead_kw),
        _round(total),
        _round(grid_kw),
        _round(onsite_kw),
        _round(limit),
        _round(site.design_temp_c),
        _utilization(total, limit),
        tight,
        _round(dual),
    ]
    return pd.DataFrame([line], columns=GRID_COLUMNS)


def _phases_table(
    built: BuiltModel,
    index: Index,
    standing: dict[Place, list[int]],
    model: Compiled,
    x: np.ndarray,
    state: RowState,
) -> pd.DataFrame:
    """v1.1: per phase, the racks and GPUs standing (existing ones included), the racks
    installed in it, the value-weighted GPUs, the grid draw against the phase's limit, and
    the limits that bind in it (the last phase's are every family's)."""
    site = index.site
    air_oh, liquid_oh = site.overhead_at(site.design_temp_c)
    binds: dict[int, list[str]] = {q: [] for q in index.phases}
    last_phase_families = (Family.GRID, Family.COOLING, Family.POWER, Family.NETWORK, Family.SPACE)
    for k in np.flatnonzero(state.tight):
        family, key = state.families[k], model.row_key[k]
        if family == Family.GRID_PHASE:
            binds[key].append(state.labels[k].replace(f" in phase {_phase_id(built, key)}", ""))
        elif family == Family.COOLING_PHASE:
            label = state.labels[k].replace(f" in phase {_phase_id(built, key[2])}", "")
            binds[key[2]].append(label)
        elif family in last_phase_families:
            binds[index.last_phase].append(state.labels[k])
    # Power, ports and space have rows for the last phase only (racks only accumulate): in
    # an earlier phase they bind where that phase's racks leave no room for one more.
    column = dict(_place_columns(built, model))
    for q in range(index.last_phase):
        x_q = x.copy()
        for p, counts in standing.items():
            x_q[column[p]] = counts[q]
        state_q = row_state(built, model, x_q)
        for j in np.flatnonzero(state_q.tight).tolist():
            if state_q.families[j] in (Family.POWER, Family.NETWORK, Family.SPACE):
                binds[q].append(state_q.labels[j])
    lines = []
    previous = len(site.existing)  # standing before the first phase: not installed by the plan
    for q in index.phases:
        here: list[tuple[Any, Cluster | None, int]] = [
            (index.model(p), index.cluster[p[0]], n[q]) for p, n in standing.items()
        ]
        here += [(rm, index.cluster[c] if c else None, 1) for _, rm, c in index.existing_models]
        racks = sum(n for _, _, n in here)
        gpus = sum(rm.gpus * n for rm, c, n in here if c is not None)
        weighted = sum(rm.gpus * c.value * n for rm, c, n in here if c is not None)
        it = sum(rm.design_kw * n for rm, _, n in here)
        air = sum(rm.heat_kw("air") * n for rm, _, n in here) * air_oh
        liquid = sum(rm.heat_kw("liquid") * n for rm, _, n in here) * liquid_oh
        draw = it + air + liquid + site.fixed_overhead_kw
        grid_kw, onsite_kw = site.phase_limits_kw(q)
        families = Counter(label.split(" ")[0] for label in binds[q])
        text = "; ".join(
            dict.fromkeys(
                label if families[label.split(" ")[0]] == 1 else f"{f} ({families[f]} limits)"
                for label in binds[q]
                for f in [label.split(" ")[0]]
            )
        )
        lines.append(
            [
                site.phases[q].phase,
                site.phase_weight(q),
                racks,
                racks - previous,
                gpus,
                _round(weighted),
                _round(draw),
                _round(grid_kw),
                _round(onsite_kw),
                _round(grid_kw + onsite_kw),
                _utilization(draw, grid_kw + onsite_kw),
                text,
            ]
        )
        previous = racks
    return pd.DataFrame(lines, columns=PHASE_COLUMNS)
