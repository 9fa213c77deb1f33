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
refusing it: each cluster scans the rows once, and loads are kept incrementally (the N-1
loads as a device-by-failure matrix, of which each rack touches only the rows and columns of
the devices on its row's paths). It shares the verifier's power incidence, and nothing with
the formulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.layout import placements_from_counts
from optimizer.schema import Site
from optimizer.verify import (
    _cluster_data,
    _cooling_capacity,
    _overhead_at_design,
    _power_incidence,
    _PowerIncidence,
    _rack_fit_problems,
)

# First fit accepts a rack while every load stays within `limit * (1 + TOL) + TOL`; far
# tighter than the verifier's tolerance, so the verifier never disagrees with it.
TOL = 1e-9


def _with_tol(limit: np.ndarray | float) -> np.ndarray:
    lim = np.asarray(limit, dtype=float)
    return np.asarray(lim + TOL * np.abs(lim) + TOL)


@dataclass(frozen=True)
class _RowPower:
    """The devices a rack in one row loads, and how, in local device indices."""

    devices: np.ndarray  # (m,) local indices of the devices on the row's paths
    normal: np.ndarray  # (m,) kW per kW of rack in normal operation (1/2 or 1)
    shift: np.ndarray  # (m, m) [d, x]: change of that share when device x fails


class _PowerState:
    """Device loads in normal operation and after each single failure, kept incrementally.

    `failed[d, x]` is the load on device `d` when device `x` fails (only devices on some
    row's path are tracked; any other failure changes nothing, i.e. is normal operation).
    """

    def __init__(self, inc: _PowerIncidence):
        self.inc = inc
        self.cols = inc.on_some_path
        local = np.full(len(inc.device_ids), -1, dtype=np.int64)
        local[self.cols] = np.arange(self.cols.size)
        self.local = local
        k = self.cols.size
        self.limit = _with_tol(inc.limit_kw[self.cols])
        self.normal = np.zeros(k)
        self.failed = np.zeros((k, k))
        self._rows: dict[int, _RowPower] = {}

    def row(self, r: int) -> _RowPower:
        if r not in self._rows:
            a = self.local[self.inc.path_a[r]]
            b = self.local[self.inc.path_b[r]]
            devices = np.union1d(a, b)
            in_a = np.isin(devices, a).astype(float)
            in_b = np.isin(devices, b).astype(float)
            after = np.zeros((devices.size, devices.size))  # [x, d]: share on d if x fails
            if self.inc.dual[r]:
                normal = 0.5 * in_a + 0.5 * in_b
                after[(in_a > 0) & (in_b == 0)] = in_b  # x on A only: the rack moves to B
                after[(in_b > 0) & (in_a == 0)] = in_a  # x on B only: the rack moves to A
                # x on both paths: the rack is dark (row of zeros)
            else:
                normal = in_a  # every failure on the one path darkens the rack
            shift = after.T - normal[:, None]  # [d, x]
            self._rows[r] = _RowPower(devices, normal, shift)
        return self._rows[r]

    def accepts(self, r: int, kw: float) -> bool:
        """Whether `kw` more in row `r` keeps every device within its limit, N-1 included."""
        if kw <= 0:
            return True
        rp = self.row(r)
        d = rp.devices
        add = kw * rp.normal
        limit = self.limit[d]
        if np.any(self.normal[d] + add > limit):
            return False
        loads = self.failed[d] + add[:, None]
        loads[:, d] += kw * rp.shift
        loads[np.arange(d.size), d] = -np.inf  # the failed device carries nothing
        return bool(np.all(loads.max(axis=1) <= limit))

    def add(self, r: int, kw: float) -> None:
        rp = self.row(r)
        d = rp.devices
        add = kw * rp.normal
        self.normal[d] += add
        self.failed[d] += add[:, None]
        self.failed[np.ix_(d, d)] += kw * rp.shift


def first_fit(site: Site) -> pd.DataFrame:
    """Placements (`hall,row,position,cluster,model`) of the first-fit heuristic.

    Clusters in demand.csv order, rows in rows.csv order, one rack at a time into the first
    row where it fits and every limit still holds; `min_racks` is not enforced.
    """
    cd = _cluster_data(site)
    rows = site.rows
    power = _PowerState(_power_incidence(site))

    racks_in_row = np.zeros(len(rows), dtype=np.int64)
    cooling_cap = {key: float(_with_tol(v)) for key, v in _cooling_capacity(site).items()}
    heat: dict[tuple[str, str], float] = {}
    pod_cap = {p.pod: float(p.ports) for p in site.pods}
    ports_used: dict[str, float] = {}
    air_oh, liquid_oh = _overhead_at_design(site)
    grid_limit = float(_with_tol(site.grid_limit_kw + site.onsite_firm_kw))
    grid_load = site.fixed_overhead_kw

    counts: dict[tuple[str, str, str], int] = {}
    for ci, cluster in enumerate(site.demand):
        design_kw = float(cd.design_kw[ci])
        lf = float(cd.liquid_fraction[ci])
        heat_liquid, heat_air = design_kw * lf, design_kw * (1.0 - lf)
        ports = float(cd.ports[ci])
        grid_per_rack = design_kw + heat_air * air_oh + heat_liquid * liquid_oh
        most = cluster.max_racks if cluster.max_racks is not None else np.inf
        candidates = [
            r
            for r, row in enumerate(rows)
            if not _rack_fit_problems(
                row.max_rack_kw,
                row.max_rack_kg,
                row.liquid,
                design_kw,
                float(cd.weight_kg[ci]),
                lf,
                strict=True,
            )
            and not (cluster.colocate == "pod" and not row.pod)
        ]
        placed = 0
        fixed_hall: str | None = None
        fixed_pod: str | None = None
        i = 0
        while placed < most and i < len(candidates):
            r = candidates[i]
            row = rows[r]
            air_key, liquid_key = (row.hall, "air"), (row.hall, "liquid")
            ok = (
                racks_in_row[r] < row.positions
                and (fixed_hall is None or row.hall == fixed_hall)
                and (fixed_pod is None or row.pod == fixed_pod)
                and grid_load + grid_per_rack <= grid_limit
                and (
                    heat_air <= 0
                    or heat.get(air_key, 0.0) + heat_air <= cooling_cap.get(air_key, TOL)
                )
                and (
                    heat_liquid <= 0
                    or heat.get(liquid_key, 0.0) + heat_liquid <= cooling_cap.get(liquid_key, TOL)
                )
                and (
                    not row.pod
                    or ports <= 0
                    or ports_used.get(row.pod, 0.0) + ports <= pod_cap.get(row.pod, 0.0)
                )
                and power.accepts(r, design_kw)
            )
            if not ok:
                i += 1  # every limit only tightens: this row refuses the cluster for good
                continue
            racks_in_row[r] += 1
            heat[air_key] = heat.get(air_key, 0.0) + heat_air
            heat[liquid_key] = heat.get(liquid_key, 0.0) + heat_liquid
            if row.pod:
                ports_used[row.pod] = ports_used.get(row.pod, 0.0) + ports
            grid_load += grid_per_rack
            power.add(r, design_kw)
            key = (cluster.cluster, row.hall, row.row)
            counts[key] = counts.get(key, 0) + 1
            placed += 1
            if cluster.colocate == "hall":
                fixed_hall = row.hall
            elif cluster.colocate == "pod":
                fixed_pod = row.pod
    return placements_from_counts(site, counts)
