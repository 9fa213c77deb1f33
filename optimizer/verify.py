"""The independent verifier: does a plan meet every rule of the contract (§1-7)?

This is the second opinion on every plan the tool writes and the engine of `rackfit check`.
It is plain arithmetic with numpy and pandas, and it shares no code with the formulation:
device paths, fit, cooling capacity, overhead and grid draw are all re-derived here from the
raw fields of the `Site`, never through the helper methods the formulation uses.

`verify(site, placements)` returns one `Violation` per broken limit (an empty list means the
plan is valid); `power_loads(site, placements)` returns every device's normal and worst-case
(N-1) load for reporting.

Power (contract §6) is computed for all failures at once. For each row `r` let `A_r` and
`B_r` be the devices on the paths of its feeds and `P_r` the design kW of its racks. The
normal load of a device is the sum of the rows' contributions. When device `X` fails, only
the rows with `X` on a path change: a dual-fed row with `X` on one path only moves all of
`P_r` to the other path, a row whose every path contains `X` goes dark, and `X` itself
carries nothing. The change from normal is a sum over rows of incidence products, so the
loads of every device under every failure come from a few matrix products.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

from optimizer.rules import (
    ABS_TOL,
    REL_TOL,
    ClusterData,
    PowerIncidence,
    cluster_data,
    cooling_capacity,
    exceeds,
    overhead_at_design,
    power_incidence,
    rack_fit_problems,
    row_shares,
)
from optimizer.schema import Site

K = TypeVar("K", bound=Hashable)
Rule = Literal[
    "placement", "existing", "space", "fit", "demand", "colocation", "cooling", "network",
    "power", "grid",
]  # fmt: skip
RULES: tuple[str, ...] = (
    "placement",
    "existing",
    "space",
    "fit",
    "demand",
    "colocation",
    "cooling",
    "network",
    "power",
    "grid",
)

#: A load is a violation only when it exceeds `limit + REL_TOL * |limit| + ABS_TOL`.

_PLACEMENT_COLUMNS = ("hall", "row", "position", "cluster", "model")


@dataclass(frozen=True)
class Violation:
    """One broken limit of a plan.

    `rule`: the contract rule (`placement`, `existing`, `space`, `fit`, `demand`,
    `colocation`, `cooling`, `network`, `power`, `grid`). `where`: what is over its limit
    (a device id, `hall H1 air`, a pod id, `H1/R3`, a cluster id, or `site`). `load` and
    `limit`: the value found and the value allowed. `failure`: for N-1 power, the device
    whose failure gives `load`; `None` in normal operation and for every other rule.
    `message`: one readable line.
    """

    rule: Rule
    where: str
    load: float
    limit: float
    failure: str | None
    message: str
    phase: str | None = None  # v1.1: the first phase the limit is broken in (phased sites)

    def __str__(self) -> str:
        return self.message


def _exceeds_array(load: np.ndarray, limit: np.ndarray) -> np.ndarray:
    return np.asarray(load > limit + REL_TOL * np.abs(limit) + ABS_TOL)


def _racks(n: int | float) -> str:
    return f"{int(n)} rack" if n == 1 else f"{int(n)} racks"


def _kw(x: float) -> str:
    return f"{x:,.1f}"


# -- raw-field derivations (independent of Site's helper methods) ---------------------------


# -- power loads --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loads:
    normal_kw: np.ndarray  # (D,) every device in normal operation
    worst_kw: np.ndarray  # (D,) max over normal and every single failure
    worst_failure: np.ndarray  # (D,) index of the failed device giving worst_kw, -1 = normal


def _device_loads(inc: PowerIncidence, row_kw: np.ndarray) -> _Loads:
    """Normal and worst N-1 load of every device, given the design kW standing in each row.

    A failure of `x` changes the load of `d` only if some loaded row has both on its paths,
    so the changes are summed over those (x, d) pairs only: the work grows with the rows
    times their path lengths squared, not with the number of devices squared. Every other
    failure leaves `d` at its normal load.
    """
    n_dev = len(inc.device_ids)
    normal = np.zeros(n_dev)
    worst = np.zeros(n_dev)
    worst_failure = np.full(n_dev, -1, dtype=np.int64)
    xs: list[np.ndarray] = []
    ds: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    for r in np.flatnonzero(row_kw > 0):
        devices, share, shift = row_shares(inc.path_a[r], inc.path_b[r], bool(inc.dual[r]))
        kw = float(row_kw[r])
        normal[devices] += kw * share
        m = devices.size
        ds.append(np.repeat(devices, m))
        xs.append(np.tile(devices, m))
        deltas.append(kw * shift.ravel())
    worst[:] = normal
    if not xs:
        return _Loads(normal, worst, worst_failure)
    x_all, d_all = np.concatenate(xs), np.concatenate(ds)
    keep = x_all != d_all  # the failed device itself carries nothing
    keys, inverse = np.unique(x_all[keep] * n_dev + d_all[keep], return_inverse=True)
    delta = np.bincount(inverse, weights=np.concatenate(deltas)[keep])
    if keys.size == 0:
        return _Loads(normal, worst, worst_failure)
    x, d = keys // n_dev, keys % n_dev
    load = normal[d] + delta
    order = np.lexsort((x, -load, d))  # per device: highest load first, then power.csv order
    first = order[np.r_[True, d[order][1:] != d[order][:-1]]]
    better = load[first] > normal[d[first]] * (1 + 1e-12) + 1e-12
    worst[d[first[better]]] = load[first[better]]
    worst_failure[d[first[better]]] = x[first[better]]
    return _Loads(normal, worst, worst_failure)


# -- placements -> counts ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Counts:
    """Racks per (row index, cluster index) of the lines that name a known row and cluster."""

    row_idx: np.ndarray
    cluster_idx: np.ndarray
    racks: np.ndarray


def _as_text(col: pd.Series) -> list[str]:
    return ["" if _is_missing(v) else str(v) for v in col.tolist()]


def _is_missing(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _tally(keys: Iterable[K]) -> dict[K, int]:
    """How often each key occurs, in order of first occurrence."""
    out: dict[K, int] = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


_TRUE = ("true", "1", "yes")


@dataclass(frozen=True)
class _Lines:
    """The placement lines that can be checked further: row, rack kind and phase (index
    into site.phases, 0 without phases) of each, and the kinds' data."""

    row_idx: np.ndarray
    kind_idx: np.ndarray
    phase_idx: np.ndarray
    kinds: ClusterData


def _counts(lines: _Lines, upto: int | None) -> _Counts:
    """Racks per (row, kind) standing in phase `upto` (None = every line)."""
    sel = np.ones(lines.row_idx.size, dtype=bool) if upto is None else lines.phase_idx <= upto
    n_kinds = max(lines.kinds.design_kw.size, 1)
    keys, racks = np.unique(lines.row_idx[sel] * n_kinds + lines.kind_idx[sel], return_counts=True)
    return _Counts(
        row_idx=(keys // n_kinds).astype(np.int64),
        cluster_idx=(keys % n_kinds).astype(np.int64),
        racks=racks.astype(np.int64),
    )


def _existing_flags(
    site: Site, placements: pd.DataFrame, keys: list[tuple[str, str, str, str, str]]
) -> np.ndarray:
    """Which lines are racks already standing: the `existing` column where the plan has one,
    else the lines that match a rack of existing.csv in place, model and cluster."""
    if "existing" in placements.columns:
        return np.array([t.strip().lower() in _TRUE for t in _as_text(placements["existing"])])
    standing = {(r.hall, r.row, str(r.position), r.model, r.cluster or "") for r in site.existing}
    return np.array([k in standing for k in keys], dtype=bool)


def _read_placements(site: Site, placements: pd.DataFrame) -> tuple[list[Violation], _Counts]:
    """Placement sanity and the rack counts (per row and cluster) of every line."""
    out, lines = _read_lines(site, placements)
    return out, _counts(lines, None)


def _read_lines(site: Site, placements: pd.DataFrame) -> tuple[list[Violation], _Lines]:
    """Placement sanity (row and cluster exist, model is the cluster's, positions valid and
    unique; v1.1: the racks of existing.csv present and unmoved, phases known and in order)
    and the lines that can be checked further."""
    missing = [c for c in _PLACEMENT_COLUMNS if c not in placements.columns]
    if missing:
        raise ValueError(f"placements lack column(s): {', '.join(missing)}")
    halls, rows = _as_text(placements["hall"]), _as_text(placements["row"])
    clusters, models = _as_text(placements["cluster"]), _as_text(placements["model"])
    raw_positions = placements["position"].tolist()
    pos = pd.to_numeric(placements["position"], errors="coerce").to_numpy(dtype=float)
    row_index = {(r.hall, r.row): i for i, r in enumerate(site.rows)}
    cluster_index = {c.cluster: i for i, c in enumerate(site.demand)}
    r_idx = np.array([row_index.get(k, -1) for k in zip(halls, rows, strict=True)], dtype=np.int64)
    c_idx = np.array([cluster_index.get(c, -1) for c in clusters], dtype=np.int64)
    pos_text = [
        str(int(p)) if np.isfinite(p) and p == round(p) else str(raw) if raw is not None else ""
        for p, raw in zip(pos, raw_positions, strict=True)
    ]
    keys = list(zip(halls, rows, pos_text, models, clusters, strict=True))
    existing = _existing_flags(site, placements, keys)
    out: list[Violation] = []

    for key, n in _tally((halls[i], rows[i]) for i in np.flatnonzero(r_idx < 0)).items():
        where = "/".join(key)
        msg = f"{where}: row not in rows.csv ({_racks(n)} placed there)"
        out.append(Violation("placement", where, float(n), 0.0, None, msg))
    unknown = (c_idx < 0) & ~(existing & (np.array([c == "" for c in clusters], dtype=bool)))
    for cluster, n in _tally(clusters[i] for i in np.flatnonzero(unknown)).items():
        msg = f"{cluster}: cluster not in demand.csv ({_racks(n)} placed)"
        out.append(Violation("placement", str(cluster), float(n), 0.0, None, msg))
    wrong = (  # an existing rack is what existing.csv says (checked in _check_existing)
        (clusters[i], models[i])
        for i in np.flatnonzero((c_idx >= 0) & ~existing)
        if models[i] != site.demand[c_idx[i]].model
    )
    for (cluster, model), n in _tally(wrong).items():
        want = site.demand[cluster_index[cluster]].model
        msg = f"{cluster}: {_racks(n)} of model {model!r}, the cluster's model is {want!r}"
        out.append(Violation("placement", cluster, float(n), 0.0, None, msg))

    in_row = np.flatnonzero(r_idx >= 0)
    positions = np.array([r.positions for r in site.rows], dtype=float)
    limit = positions[r_idx[in_row]]
    p = pos[in_row]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(p) & (p == np.round(p)) & (p >= 1) & (p <= limit)
    for i, lim in zip(in_row[~ok], limit[~ok], strict=True):
        where = f"{halls[i]}/{rows[i]}"
        msg = (
            f"{where}: position {raw_positions[i]!r} (cluster {clusters[i]}) is not an integer "
            f"in 1..{int(lim)}"
        )
        out.append(Violation("placement", where, float(pos[i]), float(lim), None, msg))
    taken = zip(r_idx[in_row[ok]].tolist(), p[ok].astype(np.int64).tolist(), strict=True)
    for (r, position), n in _tally(sorted(taken)).items():
        if n > 1:
            row = site.rows[r]
            where = f"{row.hall}/{row.row}"
            msg = f"{where}: position {position} used by {n} racks"
            out.append(Violation("placement", where, float(n), 1.0, None, msg))

    out += _check_existing(site, keys, existing)
    phase_idx, phase_out = _line_phases(site, placements, keys, existing, r_idx, c_idx)
    out += phase_out

    # Kinds: one per cluster (new racks, the cluster's model), then one per (model, cluster)
    # of the existing lines, with the model the line names.
    model_by_id = {m.model: m for m in site.models}
    base = cluster_data(site)
    n = len(site.demand)
    extra: dict[tuple[str, int], int] = {}
    k_idx = c_idx.copy()
    for i in np.flatnonzero(existing):
        if models[i] not in model_by_id:
            k_idx[i] = -1
            msg = f"{halls[i]}/{rows[i]}: existing rack of model {models[i]!r}, not in the site"
            out.append(Violation("existing", f"{halls[i]}/{rows[i]}", 1.0, 0.0, None, msg))
            continue
        if c_idx[i] < 0 and clusters[i]:
            k_idx[i] = -1  # an unknown cluster, reported above
            continue
        k_idx[i] = n + extra.setdefault((models[i], int(c_idx[i])), len(extra))
    ms = [model_by_id[mid] for mid, _ in extra]
    kinds = ClusterData(
        design_kw=np.concatenate([base.design_kw, [m.design_kw for m in ms]]),
        weight_kg=np.concatenate([base.weight_kg, [m.weight_kg for m in ms]]),
        liquid_fraction=np.concatenate([base.liquid_fraction, [m.liquid_fraction for m in ms]]),
        ports=np.concatenate([base.ports, [float(m.ports) for m in ms]]),
        cluster=np.array(list(range(n)) + [c for _, c in extra], dtype=np.int64),
        existing=np.array([False] * n + [True] * len(extra), dtype=bool),
        label=tuple(c.cluster for c in site.demand) + tuple(f"existing {mid}" for mid, _ in extra),
    )
    good = (r_idx >= 0) & (k_idx >= 0)
    return out, _Lines(r_idx[good], k_idx[good], phase_idx[good], kinds)


def _check_existing(
    site: Site, keys: list[tuple[str, str, str, str, str]], existing: np.ndarray
) -> list[Violation]:
    """v1.1: every rack of existing.csv stands in the plan where it stood (same row,
    position, model and cluster), and no line claims to be one that is not."""
    out: list[Violation] = []
    marked = {keys[i] for i in np.flatnonzero(existing)}
    listed = {(r.hall, r.row, str(r.position), r.model, r.cluster or "") for r in site.existing}
    moved_to = [k for k in keys if k in marked and k not in listed]
    for rack in site.existing:
        key = (rack.hall, rack.row, str(rack.position), rack.model, rack.cluster or "")
        if key in marked:
            continue
        where = f"{rack.hall}/{rack.row}"
        elsewhere = next((k for k in moved_to if k[3:] == key[3:]), None)
        if elsewhere is not None:
            moved_to.remove(elsewhere)
            msg = (
                f"{where}: existing rack at position {rack.position} ({rack.model}) moved to "
                f"{elsewhere[0]}/{elsewhere[1]} position {elsewhere[2]}; racks already standing "
                "never move"
            )
        else:
            msg = (
                f"{where}: existing rack at position {rack.position} ({rack.model}) is missing "
                "from the plan"
            )
        out.append(Violation("existing", where, 0.0, 1.0, None, msg))
    for k in moved_to:
        where = f"{k[0]}/{k[1]}"
        msg = (
            f"{where}: position {k[2]} ({k[3]}) is marked existing but existing.csv has no "
            "such rack there"
        )
        out.append(Violation("existing", where, 1.0, 0.0, None, msg))
    return out


def _line_phases(
    site: Site,
    placements: pd.DataFrame,
    keys: list[tuple[str, str, str, str, str]],
    existing: np.ndarray,
    r_idx: np.ndarray,
    c_idx: np.ndarray,
) -> tuple[np.ndarray, list[Violation]]:
    """v1.1: each line's phase (index into phases.csv; empty = the first) and the phase
    rules: a known phase, existing racks in the first, no rack before its row exists, no
    new rack of a cluster before the cluster's phase."""
    ids = [p.phase for p in site.phases]
    number = {p: k for k, p in enumerate(ids)}
    out: list[Violation] = []
    n_lines = len(keys)
    phase_idx = np.zeros(n_lines, dtype=np.int64)
    texts = _as_text(placements["phase"]) if "phase" in placements.columns else [""] * n_lines
    for i, text in enumerate(texts):
        where = f"{keys[i][0]}/{keys[i][1]}"
        if text and text not in number:
            msg = f"{where}: position {keys[i][2]} has phase {text!r}, not in phases.csv"
            out.append(Violation("placement", where, 0.0, 0.0, None, msg))
            continue
        q = number.get(text, 0)
        phase_idx[i] = q
        if existing[i] and q != 0:
            msg = (
                f"{where}: existing rack at position {keys[i][2]} is given phase {text!r}; "
                "racks already standing stand from the first phase"
            )
            out.append(Violation("existing", where, float(q), 0.0, None, msg))
        if r_idx[i] >= 0:
            row_phase = site.rows[r_idx[i]].phase
            rq = number.get(row_phase or "", 0)
            if q < rq:
                msg = (
                    f"{where}: rack at position {keys[i][2]} stands in phase "
                    f"{ids[q] if ids else q!r} but the row exists only from phase {row_phase!r}"
                )
                out.append(Violation("placement", where, float(q), float(rq), None, msg))
        if c_idx[i] >= 0 and not existing[i]:
            cluster = site.demand[c_idx[i]]
            cq = number.get(cluster.phase or "", 0)
            if q < cq:
                msg = (
                    f"{cluster.cluster}: a new rack at {where} position {keys[i][2]} is "
                    f"installed in phase {ids[q]!r}, before the cluster's phase "
                    f"{cluster.phase!r}"
                )
                out.append(Violation("placement", cluster.cluster, float(q), float(cq), None, msg))
    return phase_idx, out


# -- the checks -------------------------------------------------------------------------------


def _check_space(site: Site, counts: _Counts) -> list[Violation]:
    racks = np.bincount(counts.row_idx, weights=counts.racks, minlength=len(site.rows))
    out = []
    for r in np.flatnonzero(racks > 0):
        row = site.rows[r]
        if racks[r] > row.positions:
            out.append(
                Violation(
                    "space",
                    f"{row.hall}/{row.row}",
                    float(racks[r]),
                    float(row.positions),
                    None,
                    f"{row.hall}/{row.row}: {int(racks[r])} racks > {row.positions} positions",
                )
            )
    return out


def _check_fit(site: Site, counts: _Counts, cd: ClusterData) -> list[Violation]:
    out = []
    for r, c in zip(counts.row_idx, counts.cluster_idx, strict=True):
        if cd.existing is not None and cd.existing[c]:
            continue  # a rack already standing: fit is not re-checked (contract v1.1)
        row, cluster = site.rows[r], site.demand[c]
        where = f"{row.hall}/{row.row}"
        problems = rack_fit_problems(
            row.max_rack_kw,
            row.max_rack_kg,
            row.liquid,
            float(cd.design_kw[c]),
            float(cd.weight_kg[c]),
            float(cd.liquid_fraction[c]),
        )
        for what, load, limit in problems:
            if what == "kw":
                msg = (
                    f"{where}: cluster {cluster.cluster} rack {_kw(load)} kW > max_rack_kw "
                    f"{_kw(limit)}"
                )
            elif what == "kg":
                msg = (
                    f"{where}: cluster {cluster.cluster} rack {_kw(load)} kg > max_rack_kg "
                    f"{_kw(limit)}"
                )
            else:
                msg = (
                    f"{where}: cluster {cluster.cluster} needs liquid (liquid_fraction "
                    f"{load:g}) but the row has none"
                )
            out.append(Violation("fit", where, load, limit, None, msg))
    return out


def _check_demand(site: Site, placed: np.ndarray, phase: int | None = None) -> list[Violation]:
    """min_racks (from the cluster's phase on) and max_racks (every phase)."""
    ids = [p.phase for p in site.phases]
    out = []
    for i, c in enumerate(site.demand):
        n = int(placed[i])
        arrived = phase is None or not c.phase or ids.index(c.phase) <= phase
        if arrived and n < c.min_racks:
            out.append(
                Violation(
                    "demand",
                    c.cluster,
                    float(n),
                    float(c.min_racks),
                    None,
                    f"{c.cluster}: {_racks(n)} < min_racks {c.min_racks}",
                )
            )
        if c.max_racks is not None and n > c.max_racks:
            out.append(
                Violation(
                    "demand",
                    c.cluster,
                    float(n),
                    float(c.max_racks),
                    None,
                    f"{c.cluster}: {_racks(n)} > max_racks {c.max_racks}",
                )
            )
    return out


def _check_colocation(site: Site, counts: _Counts) -> list[Violation]:
    out = []
    for i, c in enumerate(site.demand):
        if c.colocate not in ("hall", "pod"):
            continue
        rows = [site.rows[r] for r in counts.row_idx[counts.cluster_idx == i]]
        if not rows:
            continue
        if c.colocate == "hall":
            halls = list(dict.fromkeys(r.hall for r in rows))
            if len(halls) > 1:
                out.append(
                    Violation(
                        "colocation",
                        c.cluster,
                        float(len(halls)),
                        1.0,
                        None,
                        f"{c.cluster}: racks in {len(halls)} halls "
                        f"({', '.join(halls)}), colocate=hall allows 1",
                    )
                )
            continue
        pods = list(dict.fromkeys(r.pod for r in rows if r.pod))
        if len(pods) > 1:
            out.append(
                Violation(
                    "colocation",
                    c.cluster,
                    float(len(pods)),
                    1.0,
                    None,
                    f"{c.cluster}: racks in {len(pods)} pods "
                    f"({', '.join(pods)}), colocate=pod allows 1",
                )
            )
        sel = counts.cluster_idx == i
        outside = int(
            sum(
                n
                for r, n in zip(counts.row_idx[sel], counts.racks[sel], strict=True)
                if not site.rows[r].pod
            )
        )
        if outside:
            out.append(
                Violation(
                    "colocation",
                    c.cluster,
                    float(outside),
                    0.0,
                    None,
                    f"{c.cluster}: {_racks(outside)} in rows without a pod, colocate=pod allows 0",
                )
            )
    return out


def _heat_by_hall(site: Site, counts: _Counts, cd: ClusterData) -> dict[tuple[str, str], float]:
    heat: dict[tuple[str, str], float] = {}
    for r, c, n in zip(counts.row_idx, counts.cluster_idx, counts.racks, strict=True):
        hall = site.rows[r].hall
        liquid = n * cd.design_kw[c] * cd.liquid_fraction[c]
        air = n * cd.design_kw[c] * (1.0 - cd.liquid_fraction[c])
        heat[(hall, "air")] = heat.get((hall, "air"), 0.0) + float(air)
        heat[(hall, "liquid")] = heat.get((hall, "liquid"), 0.0) + float(liquid)
    return heat


def _check_cooling(
    site: Site, counts: _Counts, cd: ClusterData, phase: int | None = None
) -> list[Violation]:
    heat = _heat_by_hall(site, counts, cd)
    cap = cooling_capacity(site, phase)
    halls = list(dict.fromkeys(r.hall for r in site.rows))
    out = []
    for hall in halls:
        for medium in ("air", "liquid"):
            load, limit = heat.get((hall, medium), 0.0), cap.get((hall, medium), 0.0)
            if exceeds(load, limit):
                where = f"hall {hall} {medium}"
                out.append(
                    Violation(
                        "cooling",
                        where,
                        load,
                        limit,
                        None,
                        f"{where}: {_kw(load)} kW of heat > capacity {_kw(limit)} kW",
                    )
                )
    return out


def _check_network(site: Site, counts: _Counts, cd: ClusterData) -> list[Violation]:
    used: dict[str, float] = {}
    for r, c, n in zip(counts.row_idx, counts.cluster_idx, counts.racks, strict=True):
        pod = site.rows[r].pod
        if pod:
            used[pod] = used.get(pod, 0.0) + float(n * cd.ports[c])
    ports = {p.pod: float(p.ports) for p in site.pods}
    out = []
    for pod, load in used.items():
        limit = ports.get(pod, 0.0)
        if exceeds(load, limit):
            out.append(
                Violation(
                    "network",
                    pod,
                    load,
                    limit,
                    None,
                    f"pod {pod}: {load:,.0f} ports > {limit:,.0f} available",
                )
            )
    return out


def _row_kw(site: Site, counts: _Counts, cd: ClusterData) -> np.ndarray:
    return np.bincount(
        counts.row_idx,
        weights=counts.racks * cd.design_kw[counts.cluster_idx],
        minlength=len(site.rows),
    ).astype(float)


def _check_power(
    site: Site, counts: _Counts, cd: ClusterData, inc: PowerIncidence | None = None
) -> list[Violation]:
    inc = inc or power_incidence(site)
    loads = _device_loads(inc, _row_kw(site, counts, cd))
    failover = inc.failover_limit_kw
    over_normal = _exceeds_array(loads.normal_kw, inc.limit_kw)
    over_worst = _exceeds_array(loads.worst_kw, failover) & (loads.worst_failure >= 0)
    out = []
    for d in np.flatnonzero(over_normal | over_worst):
        dev, limit = inc.device_ids[d], float(inc.limit_kw[d])
        if over_normal[d]:
            load = float(loads.normal_kw[d])
            out.append(
                Violation(
                    "power",
                    dev,
                    load,
                    limit,
                    None,
                    f"{dev}: {_kw(load)} kW in normal operation > limit {_kw(limit)} kW",
                )
            )
        if over_worst[d]:
            load, failed = float(loads.worst_kw[d]), inc.device_ids[loads.worst_failure[d]]
            limit = float(failover[d])
            which = "failover_kw " if float(failover[d]) != float(inc.limit_kw[d]) else ""
            out.append(
                Violation(
                    "power",
                    dev,
                    load,
                    limit,
                    failed,
                    f"{dev}: {_kw(load)} kW after {failed} fails > {which}limit {_kw(limit)} kW",
                )
            )
    return out


def grid_kw(site: Site, placements: pd.DataFrame) -> float:
    """The plan's draw from the grid at `design_temp_c` (in the last phase, when every rack
    stands): IT + cooling overhead + fixed."""
    _, lines = _read_lines(site, placements)
    return _grid_kw(site, _counts(lines, None), lines.kinds)


def _grid_kw(site: Site, counts: _Counts, cd: ClusterData) -> float:
    air_oh, liquid_oh = overhead_at_design(site)
    c, n = counts.cluster_idx, counts.racks
    it = float(np.sum(n * cd.design_kw[c]))
    liquid = float(np.sum(n * cd.design_kw[c] * cd.liquid_fraction[c]))
    air = float(np.sum(n * cd.design_kw[c] * (1.0 - cd.liquid_fraction[c])))
    return it + air * air_oh + liquid * liquid_oh + site.fixed_overhead_kw


def _phase_grid(site: Site, phase: int | None) -> tuple[float, float]:
    """(grid_limit_kw, onsite_firm_kw) of a phase: phases.csv's, else site.yaml's."""
    grid, onsite = site.grid_limit_kw, site.onsite_firm_kw
    if phase is not None and site.phases:
        p = site.phases[phase]
        grid = grid if p.grid_limit_kw is None else p.grid_limit_kw
        onsite = onsite if p.onsite_firm_kw is None else p.onsite_firm_kw
    return grid, onsite


def _check_grid(
    site: Site, counts: _Counts, cd: ClusterData, phase: int | None = None
) -> list[Violation]:
    load = _grid_kw(site, counts, cd)
    grid, onsite = _phase_grid(site, phase)
    limit = grid + onsite
    if not exceeds(load, limit):
        return []
    return [
        Violation(
            "grid",
            "site",
            load,
            limit,
            None,
            f"site: {_kw(load)} kW from the grid at {site.design_temp_c:g} °C > "
            f"limit {_kw(limit)} kW (grid {_kw(grid)} + on-site {_kw(onsite)})",
        )
    ]


# -- public API -------------------------------------------------------------------------------


def verify(site: Site, placements: pd.DataFrame) -> list[Violation]:
    """Every violation of the contract's rules §1-7 and v1.1 by `placements` (empty: the
    plan is valid).

    `placements` has one line per rack with columns `hall,row,position,cluster,model` and,
    for v1.1 sites, `existing` (true for the racks of existing.csv; without the column a line
    matching such a rack in place, model and cluster is taken as it) and `phase` (the phase
    the rack is installed in; empty = the first). Lines naming an unknown row or cluster are
    reported under `placement` and left out of the other checks; a line whose model differs
    from its cluster's is reported and then counted as a rack of the cluster's model; an
    existing rack counts as its own model. Every phase is checked with the racks standing in
    it (installed in it or earlier) against its rows, cooling lines, grid limit and on-site
    supply; a violation with the same words in several phases is reported once, for the
    first (its `phase`). Violations come in rule order (see `RULES`), then in the order of
    the site's tables. For power, each overloaded device gets at most two violations: normal
    operation (`failure=None`), and the failure that loads it most, when that is more than
    its normal load (against failover_kw where given).
    """
    out, lines = _read_lines(site, placements)
    cd = lines.kinds
    assert cd.cluster is not None
    inc = power_incidence(site)
    ids = [p.phase for p in site.phases]
    found: dict[tuple[int, str], Violation] = {}
    for q in range(max(len(ids), 1)):
        counts = _counts(lines, q if ids else None)
        clustered = cd.cluster[counts.cluster_idx] >= 0
        by_cluster = _Counts(
            counts.row_idx[clustered], cd.cluster[counts.cluster_idx[clustered]],
            counts.racks[clustered],
        )  # fmt: skip
        placed = np.bincount(
            by_cluster.cluster_idx, weights=by_cluster.racks, minlength=len(site.demand)
        )
        phase = q if ids else None
        here = _check_space(site, counts)
        here += _check_fit(site, counts, cd)
        here += _check_demand(site, placed, phase)
        here += _check_colocation(site, by_cluster)
        here += _check_cooling(site, counts, cd, phase)
        here += _check_network(site, counts, cd)
        here += _check_power(site, counts, cd, inc)
        here += _check_grid(site, counts, cd, phase)
        for k, v in enumerate(here):
            key = (k, "") if not ids else (0, v.message)  # the same words in a later phase once
            if key not in found:
                found[key] = v if not ids else _in_phase(v, ids[q])
    order = {rule: k for k, rule in enumerate(RULES)}
    return out + sorted(found.values(), key=lambda v: order[v.rule])


def _in_phase(v: Violation, phase: str) -> Violation:
    return Violation(
        v.rule, v.where, v.load, v.limit, v.failure, f"phase {phase}: {v.message}", phase
    )


def power_loads(site: Site, placements: pd.DataFrame) -> pd.DataFrame:
    """Per device (site order): `device, normal_kw, worst_kw, worst_failure, limit_kw`,
    and (v1.1) `worst_limit_kw`, `worst_limit`.

    The worst case is the situation, normal operation or a single device failure, that loads
    the device most against its limit there (capacity_kw * derate in normal operation,
    failover_kw after a failure): `worst_kw` is its load, `worst_failure` the failure (`None`
    for normal operation), `worst_limit_kw` its limit and `worst_limit` which one it is
    (`continuous` or `failover`). Without failover ratings that is the highest load, as in
    v1. Lines of `placements` that name an unknown row or cluster are ignored; every phase's
    racks stand in the last phase, so these are the last phase's loads.
    """
    _, lines = _read_lines(site, placements)
    counts = _counts(lines, None)
    inc = power_incidence(site)
    loads = _device_loads(inc, _row_kw(site, counts, lines.kinds))
    failover = inc.failover_limit_kw
    worst = loads.normal_kw.copy()
    failure: list[str | None] = []
    limit_used = inc.limit_kw.copy()
    which: list[str] = []
    for d in range(len(inc.device_ids)):
        x = int(loads.worst_failure[d])
        after = loads.worst_kw[d] * inc.limit_kw[d]
        before = loads.normal_kw[d] * failover[d]
        if x >= 0 and (after > before or failover[d] == inc.limit_kw[d]):
            worst[d] = loads.worst_kw[d]
            limit_used[d] = failover[d]
            failure.append(inc.device_ids[x])
            which.append("failover" if failover[d] != inc.limit_kw[d] else "continuous")
        else:
            failure.append(None)
            which.append("continuous")
    frame = pd.DataFrame(
        {
            "device": pd.Series(inc.device_ids, dtype=object),
            "normal_kw": loads.normal_kw,
            "worst_kw": worst,
            "worst_failure": pd.Series(failure, dtype=object),
            "limit_kw": inc.limit_kw,
        }
    )
    if any(d.failover_kw is not None for d in site.devices):
        frame["worst_limit_kw"] = limit_used
        frame["worst_limit"] = pd.Series(which, dtype=object)
    return frame
