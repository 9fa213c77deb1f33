"""The first-fit baseline: how a DCIM tool or a spreadsheet places racks, for comparison.

Clusters are taken in demand.csv order, rows in rows.csv order. Each rack of a cluster goes
into the first row where it fits and every limit of the contract still holds afterwards:
space, fit, `max_racks`, colocation (the first row chosen fixes the hall or pod of a
colocated cluster), cooling, pod ports, power in normal operation and after any single
device failure, and the grid. A cluster's racks are placed until no row accepts another or
`max_racks` is reached; then the next cluster starts.

It is a heuristic: it never looks back, so an early cluster can take the space, power or
cooling a later, more valuable one needed, and `min_racks` is NOT enforced (a cluster may
end with fewer racks than its minimum; the verifier reports that as a `demand` violation).
Every other limit holds in its plans.

Every limit only tightens as racks are added, so a row that refuses a cluster's rack keeps
refusing it: each cluster scans the rows once, and loads are kept incrementally (for each
device, its load after the failure of each device it shares a row's paths with; a rack
touches only the devices on its row's paths). It shares the verifier's power incidence and
per-row N-1 shares, and nothing with the formulation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.layout import placements_from_counts, placements_with_phases
from optimizer.rules import (
    PowerIncidence,
    cluster_data,
    cooling_capacity,
    overhead_at_design,
    power_incidence,
    rack_fit_problems,
    row_shares,
)
from optimizer.schema import Site

# First fit accepts a rack while every load stays within `limit * (1 + TOL) + TOL`; far
# tighter than the verifier's tolerance, so the verifier never disagrees with it.
TOL = 1e-9


def _with_tol(limit: np.ndarray | float) -> np.ndarray:
    lim = np.asarray(limit, dtype=float)
    return np.asarray(lim + TOL * np.abs(lim) + TOL)


@dataclass(frozen=True)
class _RowPower:
    """How a kW of rack in one row loads each device on its paths, in normal operation and
    after each failure, as offsets into the per-device failure tables."""

    devices: np.ndarray  # (m,) device indices on the row's paths
    share: np.ndarray  # (m,) share of the rack each carries in normal operation
    at: tuple[np.ndarray, ...]  # per device i: where the row's other devices sit in partners
    shift: tuple[np.ndarray, ...]  # per device i: change of its share when each of them fails


class _PowerState:
    """Device loads in normal operation and after each single failure, kept incrementally.

    The failure of `x` changes the load of `d` only when some row has both on its paths;
    `partners[d]` lists those `x` (a fixed property of the site) and `delta[d]` holds, for
    each, the load of `d` after `x` fails minus its normal load. Any other failure leaves
    `d` at its normal load. Memory and work grow with rows times path lengths squared.
    """

    def __init__(self, inc: PowerIncidence):
        self.inc = inc
        n_dev = len(inc.device_ids)
        self.limit = _with_tol(inc.limit_kw)
        self.failover = _with_tol(inc.failover_limit_kw)  # after a failure (v1.1)
        self.normal = np.zeros(n_dev)
        together: list[set[int]] = [set() for _ in range(n_dev)]
        for a, b in zip(inc.path_a, inc.path_b, strict=True):
            devices = set(a.tolist()) | set(b.tolist())
            for d in devices:
                together[d] |= devices
        self.partners = [np.array(sorted(t - {d}), dtype=np.int64) for d, t in enumerate(together)]
        self.delta = [np.zeros(p.size) for p in self.partners]
        self._rows: dict[int, _RowPower] = {}

    def row(self, r: int) -> _RowPower:
        if r not in self._rows:
            devices, share, shift = row_shares(
                self.inc.path_a[r], self.inc.path_b[r], bool(self.inc.dual[r])
            )
            at, shifts = [], []
            for i, d in enumerate(devices):
                others = np.flatnonzero(devices != d)
                at.append(np.searchsorted(self.partners[d], devices[others]))
                shifts.append(shift[i, others])
            self._rows[r] = _RowPower(devices, share, tuple(at), tuple(shifts))
        return self._rows[r]

    def accepts(self, r: int, kw: float) -> bool:
        """Whether `kw` more in row `r` keeps every device within its limit, N-1 included."""
        if kw <= 0:
            return True
        rp = self.row(r)
        normal = self.normal[rp.devices] + kw * rp.share
        limit = self.limit[rp.devices]
        if np.any(normal > limit):
            return False
        limit = self.failover[rp.devices]
        for i, d in enumerate(rp.devices):
            delta = self.delta[d]
            if delta.size == 0:
                continue
            after = delta.copy()
            after[rp.at[i]] += kw * rp.shift[i]
            if normal[i] + after.max() > limit[i]:
                return False
        return True

    def add(self, r: int, kw: float) -> None:
        rp = self.row(r)
        self.normal[rp.devices] += kw * rp.share
        for i, d in enumerate(rp.devices):
            self.delta[d][rp.at[i]] += kw * rp.shift[i]


def first_fit(site: Site, minimums_first: bool = False) -> pd.DataFrame:
    """Placements (`hall,row,position,cluster,model`) of the first-fit heuristic.

    Clusters in demand.csv order, rows in rows.csv order, one rack at a time into the first
    row where it fits and every limit still holds; `min_racks` is not enforced.

    `minimums_first=True` runs two passes instead: first every cluster up to its
    `min_racks`, then every cluster up to its `max_racks`, both in demand.csv order. In the
    first pass a colocated cluster goes to the first hall (or pod) that can take its whole
    minimum, as a planner would pick one, rather than to the hall of the first row that takes
    one rack. The minimums are still not guaranteed, but are met far more often (e.g. for a
    warm start and for the baseline the summary compares the optimum with).
    """
    if site.existing or site.phases:
        return placements_with_phases(site, first_fit_waves(site, minimums_first))
    ff = _FirstFit(site)
    if minimums_first:
        for ci, cluster in enumerate(site.demand):
            most = cluster.min_racks
            if cluster.max_racks is not None:
                most = min(most, cluster.max_racks)
            ff = ff.fill_whole(ci, most)
    for ci, cluster in enumerate(site.demand):
        ff.fill(ci, cluster.max_racks if cluster.max_racks is not None else np.inf)
    return placements_from_counts(site, ff.counts)


def first_fit_waves(
    site: Site, minimums_first: bool = False
) -> dict[tuple[str, str, str], list[int]]:
    """Contract v1.1, as a DCIM tool would plan it: the racks already standing first, then
    phase by phase, first fit with the rows, cooling lines and clusters of that phase, each
    wave on top of the racks of the earlier ones. A rack placed in a phase must also fit the
    grid of every later phase (a later phase may have less supply). Returns the new racks
    standing at each (cluster, hall, row) in each phase."""
    ids = [p.phase for p in site.phases]
    number = {p: k for k, p in enumerate(ids)}
    n_phases = max(len(ids), 1)
    ff = _FirstFit(site)
    ff.add_existing()
    supplies = [_phase_supply_kw(site, q) for q in range(n_phases)]
    waves: list[dict[tuple[str, str, str], int]] = []
    for q in range(n_phases):
        ff.open_phase(
            q,
            rows={r for r, row in enumerate(site.rows) if number.get(row.phase or "", 0) <= q},
            grid_kw=min(supplies[q:]),
            lines=[c for c in site.cooling if number.get(c.phase or "", 0) <= q],
        )
        arrived = [ci for ci, c in enumerate(site.demand) if number.get(c.phase or "", 0) <= q]
        if minimums_first:
            for ci in arrived:
                cluster = site.demand[ci]
                most = cluster.min_racks
                if cluster.max_racks is not None:
                    most = min(most, cluster.max_racks)
                ff = ff.fill_whole(ci, most)
        for ci in arrived:
            cluster = site.demand[ci]
            ff.fill(ci, cluster.max_racks if cluster.max_racks is not None else np.inf)
        waves.append(dict(ff.counts))
    keys = list(dict.fromkeys(k for wave in waves for k in wave))
    return {k: [wave.get(k, 0) for wave in waves] for k in keys}


def _phase_supply_kw(site: Site, q: int) -> float:
    """Grid plus on-site supply of phase q: phases.csv's values, else site.yaml's."""
    grid, onsite = site.grid_limit_kw, site.onsite_firm_kw
    if site.phases:
        p = site.phases[q]
        grid = grid if p.grid_limit_kw is None else p.grid_limit_kw
        onsite = onsite if p.onsite_firm_kw is None else p.onsite_firm_kw
    return grid + onsite


class _FirstFit:
    """The running state of first fit: racks per row, loads per limit, and per cluster its
    racks placed, its fixed hall or pod, and the rows it may still try."""

    def __init__(self, site: Site):
        self.site = site
        self.cd = cd = cluster_data(site)
        rows = site.rows
        self.power = _PowerState(power_incidence(site))
        self.racks_in_row = np.zeros(len(rows), dtype=np.int64)
        self.cooling_cap = {k: float(_with_tol(v)) for k, v in cooling_capacity(site).items()}
        self.heat: dict[tuple[str, str], float] = {}
        self.pod_cap = {p.pod: float(p.ports) for p in site.pods}
        self.ports_used: dict[str, float] = {}
        self.air_oh, self.liquid_oh = overhead_at_design(site)
        self.grid_limit = float(_with_tol(site.grid_limit_kw + site.onsite_firm_kw))
        self.grid_load = site.fixed_overhead_kw
        self.counts: dict[tuple[str, str, str], int] = {}
        self.placed = [0] * len(site.demand)
        self.fixed: list[tuple[str | None, str | None]] = [(None, None)] * len(site.demand)
        self.candidates: list[list[int]] = []
        for ci, cluster in enumerate(site.demand):
            self.candidates.append(
                [
                    r
                    for r, row in enumerate(rows)
                    if not rack_fit_problems(
                        row.max_rack_kw,
                        row.max_rack_kg,
                        row.liquid,
                        float(cd.design_kw[ci]),
                        float(cd.weight_kg[ci]),
                        float(cd.liquid_fraction[ci]),
                        strict=True,
                    )
                    and not (cluster.colocate == "pod" and not row.pod)
                ]
            )
        self.next_row = [0] * len(site.demand)
        self.open_rows: set[int] | None = None  # v1.1: the rows of the current phase

    def add_existing(self) -> None:
        """v1.1: the racks already standing, as fixed load in every limit; a colocated
        cluster's hall or pod is where its existing racks stand."""
        site, rows = self.site, {row.id: r for r, row in enumerate(self.site.rows)}
        models = {m.model: m for m in site.models}
        clusters = {c.cluster: ci for ci, c in enumerate(site.demand)}
        for rack in site.existing:
            r, model = rows[rack.row_id], models[rack.model]
            row = site.rows[r]
            lf = model.liquid_fraction
            self.racks_in_row[r] += 1
            for medium, share in (("air", 1.0 - lf), ("liquid", lf)):
                self.heat[row.hall, medium] = (
                    self.heat.get((row.hall, medium), 0.0) + model.design_kw * share
                )
            if row.pod:
                self.ports_used[row.pod] = self.ports_used.get(row.pod, 0.0) + model.ports
            self.grid_load += model.design_kw * (
                1.0 + (1.0 - lf) * self.air_oh + lf * self.liquid_oh
            )
            self.power.add(r, model.design_kw)
            ci = clusters.get(rack.cluster or "")
            if ci is not None:
                self.placed[ci] += 1
                colocate = site.demand[ci].colocate
                if colocate == "hall":
                    self.fixed[ci] = (row.hall, None)
                elif colocate == "pod":
                    self.fixed[ci] = (None, row.pod)

    def open_phase(self, q: int, rows: set[int], grid_kw: float, lines: list) -> None:  # type: ignore[type-arg]
        """v1.1: the next wave: its rows, the least grid supply of this and every later
        phase, and the cooling lines serving by now; every cluster scans its rows again."""
        self.open_rows = rows
        self.grid_limit = float(_with_tol(grid_kw))
        cap: dict[tuple[str, str], float] = {}
        for line in lines:
            key = (line.hall, line.medium)
            cap[key] = cap.get(key, 0.0) + max(line.units - line.spares, 0) * line.unit_kw
        self.cooling_cap = {k: float(_with_tol(v)) for k, v in cap.items()}
        self.next_row = [0] * len(self.site.demand)

    def fill_whole(self, ci: int, most: int) -> _FirstFit:
        """The state after placing `most` racks of cluster `ci`: for a colocated cluster, in
        the first hall or pod (in rows.csv order) where all of them fit; if none takes them
        all, plain `fill`."""
        cluster = self.site.demand[ci]
        if cluster.colocate == "none" or most <= 0 or self.fixed[ci] != (None, None):
            self.fill(ci, most)
            return self
        rows = self.site.rows
        by_hall = cluster.colocate == "hall"
        free: dict[str | None, int] = {}  # free positions per hall or pod, on rows it fits
        for r in self.candidates[ci]:
            if self.open_rows is not None and r not in self.open_rows:
                continue
            group = rows[r].hall if by_hall else rows[r].pod
            free[group] = free.get(group, 0) + rows[r].positions - int(self.racks_in_row[r])
        ports = float(self.cd.ports[ci])
        for group, positions in free.items():
            if positions < most:
                continue  # cannot hold the minimum: no need to try
            if not by_hall and not self._ports_fit(group, most * ports):
                continue
            trial = self._copy()
            trial.fixed[ci] = (group, None) if by_hall else (None, group)
            trial.fill(ci, most)
            if trial.placed[ci] >= most:
                return trial
        self.fill(ci, most)
        return self

    def _ports_fit(self, pod: str | None, ports: float) -> bool:
        """Whether `pod` has `ports` more free (always, for a row without a pod)."""
        if not pod or ports <= 0:
            return True
        return self.ports_used.get(pod, 0.0) + ports <= self.pod_cap.get(pod, 0.0)

    def _copy(self) -> _FirstFit:
        """A copy whose running state (loads, counts, pointers) can change independently;
        the site and the per-cluster data are shared."""
        shared = {id(self.site): self.site, id(self.cd): self.cd}
        shared[id(self.candidates)] = self.candidates
        shared[id(self.power.inc)] = self.power.inc
        shared[id(self.power.partners)] = self.power.partners
        shared[id(self.power._rows)] = self.power._rows
        return copy.deepcopy(self, shared)

    def fill(self, ci: int, most: float) -> None:
        """Place racks of cluster `ci`, each in the first row that takes it, until `most`
        racks are placed or no row takes another."""
        cluster, cd, rows = self.site.demand[ci], self.cd, self.site.rows
        design_kw = float(cd.design_kw[ci])
        lf = float(cd.liquid_fraction[ci])
        heat_liquid, heat_air = design_kw * lf, design_kw * (1.0 - lf)
        ports = float(cd.ports[ci])
        grid_per_rack = design_kw + heat_air * self.air_oh + heat_liquid * self.liquid_oh
        candidates, heat = self.candidates[ci], self.heat
        i = self.next_row[ci]
        fixed_hall, fixed_pod = self.fixed[ci]
        while self.placed[ci] < most and i < len(candidates):
            r = candidates[i]
            row = rows[r]
            air_key, liquid_key = (row.hall, "air"), (row.hall, "liquid")
            ok = (
                self.racks_in_row[r] < row.positions
                and (self.open_rows is None or r in self.open_rows)
                and (fixed_hall is None or row.hall == fixed_hall)
                and (fixed_pod is None or row.pod == fixed_pod)
                and self.grid_load + grid_per_rack <= self.grid_limit
                and (
                    heat_air <= 0
                    or heat.get(air_key, 0.0) + heat_air <= self.cooling_cap.get(air_key, TOL)
                )
                and (
                    heat_liquid <= 0
                    or heat.get(liquid_key, 0.0) + heat_liquid
                    <= self.cooling_cap.get(liquid_key, TOL)
                )
                and self._ports_fit(row.pod, ports)
                and self.power.accepts(r, design_kw)
            )
            if not ok:
                i += 1  # every limit only tightens: this row refuses the cluster for good
                continue
            self.racks_in_row[r] += 1
            heat[air_key] = heat.get(air_key, 0.0) + heat_air
            heat[liquid_key] = heat.get(liquid_key, 0.0) + heat_liquid
            if row.pod:
                self.ports_used[row.pod] = self.ports_used.get(row.pod, 0.0) + ports
            self.grid_load += grid_per_rack
            self.power.add(r, design_kw)
            key = (cluster.cluster, row.hall, row.row)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.placed[ci] += 1
            if cluster.colocate == "hall":
                fixed_hall = row.hall
            elif cluster.colocate == "pod":
                fixed_pod = row.pod
        self.next_row[ci] = i
        self.fixed[ci] = (fixed_hall, fixed_pod)
