"""Power in normal operation and after any single device failure (contract §6), lean.

Loads are linear in the design kW placed in each row, `L_i = Σ_c design_kw_c · racks[c, i]`.
For a device d and a situation s (normal operation, or device X failed) the load is
`Σ_i w_s(d, i) · L_i` with weights in {0, 1/2, 1}:

- normal:  w(d, i) = ½[d ∈ A_i] + ½[d ∈ B_i] for a dual-fed row (A_i, B_i the paths of its
  feeds), [d ∈ A_i] for a single-fed row;
- X fails: w_X(d, i) = 0 if X lies on every path of row i (the rack is dark),
  [d ∈ B_i] if X ∈ A_i only, [d ∈ A_i] if X ∈ B_i only, and the normal weight otherwise.

Which rows are built, and why leaving the others out changes nothing (exact pruning):

1. Rise. w_X(d, i) > w(d, i) only for a dual-fed row with X on exactly one path and d on the
   other path only (then the weight goes from ½ to 1). If no row of d has that, w_X ≤ w
   everywhere, and the failure row is implied by the normal row. So candidate pairs (X, d) are
   read off the rows: X ∈ A_i \\ B_i with d ∈ B_i \\ A_i, and the mirror image.
2. Dominance. All L_i ≥ 0. If two rows of the same device satisfy w ≤ w' element-wise, then
   w·L ≤ w'·L ≤ limit: the first is implied and is dropped (equal rows are dropped once). This
   covers a busway whose failure moves a subset of the racks its UPS's failure moves, devices
   on both paths of a row (their weight is already 1 in normal operation: no rise), and the
   normal row itself when some failure raises every weight of the device.
3. Duplicates across devices. Two devices with the same weights (a transformer over a single
   UPS) give the same left-hand side; only the smaller limit is kept.
4. Never binding. If the largest load the rows could ever carry (positions × the largest
   design kW that fits each row) is within the limit, the row cannot bind and is dropped.

Every dropped row is implied by a kept one (or by the variable bounds), so the feasible set,
and hence the optimum, is exactly that of the naive "every failure × every device" model.

Contract v1.1. Failover ratings: a failure row's limit is `failover_kw` (≥ capacity_kw ·
derate, checked on loading), the normal row's stays capacity_kw · derate. Rule 1 still holds
(a failure row with w_X ≤ w is implied by the normal row, whose limit is not larger); rule 2
drops a row only for a dominating row whose limit is not larger (a normal row is never
dropped for a failure row with a larger limit); rule 3 keeps the smallest limit. Existing
racks: L_i includes the design kW E_i already standing in row i, so each row reads
Σ w · L_new ≤ limit − Σ w · E, and the rules above, argued on L = L_new + E ≥ 0, stay exact;
rule 4 counts E_i plus the free positions times the largest fitting rack.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyomo.environ as pyo

from optimizer.formulation.index import Index
from optimizer.schema import Site

NORMAL = None  # the `failure` of a normal-operation row


@dataclass(frozen=True)
class PowerLimit:
    """One power row: Σ_i weights · L_i ≤ limit_kw for `device` when `failure` has failed
    (None = normal operation). `rows` index `site.rows`."""

    device: str
    failure: str | None
    limit_kw: float
    rows: tuple[int, ...]
    weights: tuple[float, ...]
    # devices whose row had this same left-hand side and the same limit (dropped as
    # duplicates): when this row binds, so do theirs (2N twins, say)
    twins: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        when = "normal operation" if self.failure is None else f"after {self.failure} fails"
        return f"{self.device} {when}"


@dataclass(frozen=True)
class Incidence:
    """Which rows have which device on the path of feed_a (A) and of feed_b (B): dense
    devices x rows boolean arrays (a few MB even at ten times Colossus), plus each row's
    paths as device positions."""

    devices: tuple[str, ...]
    on_a: np.ndarray  # devices x rows, bool
    on_b: np.ndarray
    dual: np.ndarray  # rows, bool: the row has a feed_b
    path_a: list[frozenset[int]]
    path_b: list[frozenset[int]]

    @classmethod
    def of(cls, site: Site) -> Incidence:
        devices = tuple(d.device for d in site.devices)
        pos = {d: k for k, d in enumerate(devices)}
        path_of = {d: frozenset(pos[x] for x in site.path(d)) for d in devices}
        n_rows = len(site.rows)
        on_a = np.zeros((len(devices), n_rows), dtype=bool)
        on_b = np.zeros((len(devices), n_rows), dtype=bool)
        path_a, path_b = [], []
        for i, row in enumerate(site.rows):
            pa = path_of[row.feed_a]
            pb = path_of[row.feed_b] if row.feed_b is not None else frozenset()
            on_a[list(pa), i] = True
            if pb:
                on_b[list(pb), i] = True
            path_a.append(pa)
            path_b.append(pb)
        return cls(
            devices=devices,
            on_a=on_a,
            on_b=on_b,
            dual=np.array([row.feed_b is not None for row in site.rows], dtype=bool),
            path_a=path_a,
            path_b=path_b,
        )


def existing_row_kw(site: Site) -> np.ndarray:
    """Design kW of the racks already standing in each row (site.rows order)."""
    at = {r.id: i for i, r in enumerate(site.rows)}
    out = np.zeros(len(site.rows))
    for rack in site.existing:
        out[at[rack.row_id]] += site.model_by_id[rack.model].design_kw
    return out


def _max_row_kw(site: Site) -> np.ndarray:
    """Largest design kW each row could ever hold (existing racks, plus the free positions
    x the largest fitting rack)."""
    models = [site.model_of(c) for c in site.demand]
    taken: dict[tuple[str, str], int] = {}
    for rack in site.existing:
        taken[rack.row_id] = taken.get(rack.row_id, 0) + 1
    out = existing_row_kw(site)
    for i, row in enumerate(site.rows):
        fitting = [m.design_kw for m in models if row.fits(m)]
        out[i] += (row.positions - taken.get(row.id, 0)) * max(fitting, default=0.0)
    return out


def _undominated(weights: np.ndarray, limits: np.ndarray) -> list[int]:
    """Indices of rows of `weights` not dominated by another: row j dominates row k when
    w_j ≥ w_k element-wise and limit_j ≤ limit_k; of equal rows the first is kept. Rows are
    tried by limit, then heaviest first, so a dominating row is usually kept before the rows
    it dominates and each check is against few kept rows."""
    order = sorted(range(len(weights)), key=lambda k: (limits[k], -weights[k].sum(), k))
    kept: list[int] = []
    for k in order:
        if kept and ((weights[kept] >= weights[k]).all(axis=1) & (limits[kept] <= limits[k])).any():
            continue
        kept.append(k)
    return sorted(kept)


def power_limits(site: Site, prune: bool = True) -> list[PowerLimit]:
    """Every power row the model needs, normal and N-1 (see the module docstring).

    With `prune=False`, the naive form: for every device its normal row, and for every
    failure X ≠ d a row whenever X's failure changes some weight of d — used by the tests
    to show pruning keeps the optimum."""
    inc = Incidence.of(site)
    usable = {d.device: d.usable_kw for d in site.devices}
    failover = {d.device: d.failover_limit_kw for d in site.devices}
    max_kw = _max_row_kw(site)
    out: list[PowerLimit] = []
    for k, d in enumerate(inc.devices):
        rows = np.flatnonzero(inc.on_a[k] | inc.on_b[k])
        if rows.size == 0:
            continue
        a_d = inc.on_a[k, rows]
        b_d = inc.on_b[k, rows]
        dual = inc.dual[rows]
        normal = np.where(dual, 0.5 * a_d + 0.5 * b_d, a_d.astype(float))
        xs: set[int] = set()
        for j, i in enumerate(rows):
            if prune:
                # X on one path only of a dual row where d is on the other path only.
                if not dual[j] or a_d[j] == b_d[j]:
                    continue
                xs |= (inc.path_a[i] - inc.path_b[i]) if b_d[j] else (inc.path_b[i] - inc.path_a[i])
            else:
                xs |= inc.path_a[i] | inc.path_b[i]
        xs.discard(k)
        failures = sorted(xs)
        if failures:
            fail_idx = np.asarray(failures, dtype=np.intp)
            xa = inc.on_a[np.ix_(fail_idx, rows)]
            xb = inc.on_b[np.ix_(fail_idx, rows)]
            w_fail = np.where(xa & xb, 0.0, np.where(xa, b_d, np.where(xb, a_d, normal))).astype(
                float
            )  # single-fed rows: xb is False and b_d is 0, so dark
            weights = np.vstack([normal[None, :], w_fail])
        else:
            weights = normal[None, :]
        labels: list[str | None] = [NORMAL, *(inc.devices[x] for x in failures)]
        limits = np.array([usable[d]] + [failover[d]] * len(failures))
        keep = _undominated(weights, limits) if prune else range(len(weights))
        for j in keep:
            w = weights[j]
            nz = w > 0
            if not nz.any():
                continue
            if prune and float(w[nz] @ max_kw[rows[nz]]) <= limits[j] * (1 + 1e-9):
                continue
            out.append(
                PowerLimit(
                    device=d,
                    failure=labels[j],
                    limit_kw=float(limits[j]),
                    rows=tuple(int(i) for i in rows[nz]),
                    weights=tuple(float(x) for x in w[nz]),
                )
            )
    if prune:
        out = _drop_duplicates(out)
    return out


def _drop_duplicates(limits: list[PowerLimit]) -> list[PowerLimit]:
    """Of rows with equal left-hand sides keep the one with the smallest limit."""
    groups: dict[tuple[tuple[int, ...], tuple[float, ...]], list[int]] = {}
    for k, lim in enumerate(limits):
        groups.setdefault((lim.rows, lim.weights), []).append(k)
    kept: list[tuple[int, PowerLimit]] = []
    for members in groups.values():
        best = min(members, key=lambda k: (limits[k].limit_kw, k))
        twins = tuple(
            dict.fromkeys(
                limits[k].device
                for k in members
                if k != best
                and limits[k].limit_kw == limits[best].limit_kw
                and limits[k].device != limits[best].device
            )
        )
        kept.append((best, replace(limits[best], twins=twins) if twins else limits[best]))
    return [lim for _, lim in sorted(kept, key=lambda t: t[0])]


def add_power(m: pyo.ConcreteModel, index: Index, limits: list[PowerLimit]) -> None:
    """Every device's load ≤ capacity_kw · derate in normal operation, and ≤ failover_kw
    (else capacity_kw · derate) after any single failure (contract §6, v1.1):
    Σ_i w(d, i) · (E_i + Σ_c design_kw_c · racks[c, i]) ≤ limit_kw, E_i the existing racks'
    kW. Racks only accumulate and devices serve in every phase: the last phase's rows are
    enough."""
    site = index.site
    row_places = [index.by_row.get(r.id, []) for r in site.rows]
    fixed_kw = existing_row_kw(site)
    design_kw = {p: index.model(p).design_kw for p in index.places}
    m.POWER = pyo.RangeSet(0, len(limits) - 1) if limits else pyo.Set(initialize=[])

    def rule(m: pyo.ConcreteModel, k: int) -> object:
        lim = limits[k]
        terms = [
            (w * design_kw[p], m.racks[p])
            for i, w in zip(lim.rows, lim.weights, strict=True)
            for p in row_places[i]
        ]
        if not terms:
            return pyo.Constraint.Skip
        fixed = sum(w * fixed_kw[i] for i, w in zip(lim.rows, lim.weights, strict=True))
        if fixed:
            return pyo.quicksum(c * v for c, v in terms) + fixed <= lim.limit_kw
        return pyo.quicksum(c * v for c, v in terms) <= lim.limit_kw

    m.power = pyo.Constraint(m.POWER, rule=rule)
