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
    "placement", "space", "fit", "demand", "colocation", "cooling", "network", "power", "grid"
]
RULES: tuple[str, ...] = (
    "placement",
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

    `rule`: the contract rule (`placement`, `space`, `fit`, `demand`, `colocation`,
    `cooling`, `network`, `power`, `grid`). `where`: what is over its limit (a device id,
    `hall H1 air`, a pod id, `H1/R3`, a cluster id, or `site`). `load` and `limit`: the value
    found and the value allowed. `failure`: for N-1 power, the device whose failure gives
    `load`; `None` in normal operation and for every other rule. `message`: one readable line.
    """

    rule: Rule
    where: str
    load: float
    limit: float
    failure: str | None
    message: str

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


def _read_placements(site: Site, placements: pd.DataFrame) -> tuple[list[Violation], _Counts]:
    """Placement sanity (row and cluster exist, model is the cluster's, positions valid and
    unique) and the rack counts of the lines that can be checked further."""
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
    out: list[Violation] = []

    for key, n in _tally((halls[i], rows[i]) for i in np.flatnonzero(r_idx < 0)).items():
        where = "/".join(key)
        msg = f"{where}: row not in rows.csv ({_racks(n)} placed there)"
        out.append(Violation("placement", where, float(n), 0.0, None, msg))
    for cluster, n in _tally(clusters[i] for i in np.flatnonzero(c_idx < 0)).items():
        msg = f"{cluster}: cluster not in demand.csv ({_racks(n)} placed)"
        out.append(Violation("placement", str(cluster), float(n), 0.0, None, msg))
    wrong = (
        (clusters[i], models[i])
        for i in np.flatnonzero(c_idx >= 0)
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

    good = (r_idx >= 0) & (c_idx >= 0)
    n_clusters = max(len(site.demand), 1)
    keys, racks = np.unique(r_idx[good] * n_clusters + c_idx[good], return_counts=True)
    counts = _Counts(
        row_idx=(keys // n_clusters).astype(np.int64),
        cluster_idx=(keys % n_clusters).astype(np.int64),
        racks=racks.astype(np.int64),
    )
    return out, counts


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


def _check_demand(site: Site, placed: np.ndarray) -> list[Violation]:
    out = []
    for i, c in enumerate(site.demand):
        n = int(placed[i])
        if n < c.min_racks:
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


def _check_cooling(site: Site, counts: _Counts, cd: ClusterData) -> list[Violation]:
    heat = _heat_by_hall(site, counts, cd)
    cap = cooling_capacity(site)
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


def _check_power(site: Site, counts: _Counts, cd: ClusterData) -> list[Violation]:
    inc = power_incidence(site)
    loads = _device_loads(inc, _row_kw(site, counts, cd))
    over_normal = _exceeds_array(loads.normal_kw, inc.limit_kw)
    over_worst = _exceeds_array(loads.worst_kw, inc.limit_kw) & (loads.worst_failure >= 0)
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
            out.append(
                Violation(
                    "power",
                    dev,
                    load,
                    limit,
                    failed,
                    f"{dev}: {_kw(load)} kW after {failed} fails > limit {_kw(limit)} kW",
                )
            )
    return out


def grid_kw(site: Site, placements: pd.DataFrame) -> float:
    """The plan's draw from the grid at `design_temp_c`: IT + cooling overhead + fixed."""
    _, counts = _read_placements(site, placements)
    return _grid_kw(site, counts, cluster_data(site))


def _grid_kw(site: Site, counts: _Counts, cd: ClusterData) -> float:
    air_oh, liquid_oh = overhead_at_design(site)
    c, n = counts.cluster_idx, counts.racks
    it = float(np.sum(n * cd.design_kw[c]))
    liquid = float(np.sum(n * cd.design_kw[c] * cd.liquid_fraction[c]))
    air = float(np.sum(n * cd.design_kw[c] * (1.0 - cd.liquid_fraction[c])))
    return it + air * air_oh + liquid * liquid_oh + site.fixed_overhead_kw


def _check_grid(site: Site, counts: _Counts, cd: ClusterData) -> list[Violation]:
    load = _grid_kw(site, counts, cd)
    limit = site.grid_limit_kw + site.onsite_firm_kw
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
            f"limit {_kw(limit)} kW (grid {_kw(site.grid_limit_kw)} + on-site "
            f"{_kw(site.onsite_firm_kw)})",
        )
    ]


# -- public API -------------------------------------------------------------------------------


def verify(site: Site, placements: pd.DataFrame) -> list[Violation]:
    """Every violation of the contract's rules §1-7 by `placements` (empty: the plan is valid).

    `placements` has one line per rack with columns `hall,row,position,cluster,model`.
    Lines naming an unknown row or cluster are reported under `placement` and left out of
    the other checks; a line whose model differs from its cluster's is reported and then
    counted as a rack of the cluster's model. Violations come in rule order (see `RULES`),
    then in the order of the site's tables. For power, each overloaded device gets at most
    two violations: normal operation (`failure=None`), and the failure that loads it most,
    when that is more than its normal load.
    """
    out, counts = _read_placements(site, placements)
    cd = cluster_data(site)
    placed = np.bincount(counts.cluster_idx, weights=counts.racks, minlength=len(site.demand))
    out += _check_space(site, counts)
    out += _check_fit(site, counts, cd)
    out += _check_demand(site, placed)
    out += _check_colocation(site, counts)
    out += _check_cooling(site, counts, cd)
    out += _check_network(site, counts, cd)
    out += _check_power(site, counts, cd)
    out += _check_grid(site, counts, cd)
    return out


def power_loads(site: Site, placements: pd.DataFrame) -> pd.DataFrame:
    """Per device (site order): `device, normal_kw, worst_kw, worst_failure, limit_kw`.

    `worst_kw` is the most the device carries in normal operation or after any single
    device failure; `worst_failure` names that failure (`None` when the worst is normal
    operation). Lines of `placements` that name an unknown row or cluster are ignored.
    """
    _, counts = _read_placements(site, placements)
    inc = power_incidence(site)
    loads = _device_loads(inc, _row_kw(site, counts, cluster_data(site)))
    failure = [inc.device_ids[x] if x >= 0 else None for x in loads.worst_failure]
    return pd.DataFrame(
        {
            "device": pd.Series(inc.device_ids, dtype=object),
            "normal_kw": loads.normal_kw,
            "worst_kw": loads.worst_kw,
            "worst_failure": pd.Series(failure, dtype=object),
            "limit_kw": inc.limit_kw,
        }
    )
