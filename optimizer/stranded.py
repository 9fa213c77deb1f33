"""Stranded capacity: the power a plan leaves unused on each device, and why.

`stranded_capacity(site, placements, objective)` is a pure function of a site and a plan's
placements; `stranded_table(plan)` applies it to a solved `Plan`. One line per power device,
in power.csv order (columns `STRANDED_COLUMNS`):

- `stranded_kw` is the device's headroom in the case that limits it: the least, over normal
  operation and every single device failure, of its limit minus its load in that case
  (`limit_kw`, `load_kw` and `failure` describe that case; `failure` is empty for normal
  operation). With the v1 limits this is `limit_kw - worst_kw` of power.csv.
- `cause` says why no more racks use it, by one rule: a *candidate* is one more rack of a
  cluster of demand.csv in a row that draws through the device (on the path of its
  `feed_a` or `feed_b`). The candidates pass these tests in this order, and the cause is
  the first test that no candidate passes:

  1. `no position free`: the row has an empty position;
  2. `no rack that fits`: the cluster's model fits the row (contract §2, colocation: a
     colocated cluster that has racks stays in their hall or pod) and the kW it adds to the
     device, in every case, fits in the device's headroom;
  3. `demand exhausted`: the cluster asks for more (below `max_racks`, and one more rack
     counts in the objective: GPUs × value > 0 for `gpus`; never for `cost`, whose plans
     only meet the demand);
  4. `cooling full`: the hall has room for the rack's heat in each medium;
  5. `ports full`: the row's pod has ports for it;
  6. `N-1 of another device` / `another device full`: every other device holds the rack,
     in normal operation and after every single failure (the cause names the failure case
     when the device that would be overloaded is overloaded after a failure);
  7. `grid full`: the grid at the design temperature takes the rack with its overhead.

  Racks already standing (v1.1 `existing`) count like placed racks; a phased site is judged
  in its last phase (every row and cooling line, that phase's grid limit); the limit after a
  failure is `failover_kw` where given.

  A candidate that passes all seven gives `room for a rack` (only a plan that is not
  optimal leaves such room). `blocked_by` names the specific limits of the deciding test,
  the most frequent first (at most two). A device with no stranded kW has no cause.

The hand-worked example (tests/test_stranded.py, `hand_site`): eight root devices with one
row each in hall H (pod Q, 1,000 kW of air, 1,000 ports), except row R4 in hall C (20 kW of
air) and row R5 in pod Q5 (2 ports); racks `m10` (10 kW, 1 port, cluster `main`, no
maximum) and `m5` (5 kW, cluster `small`, at most 1); `pue` 1 and the grid limit equal to
the 85 kW placed, so the grid is full:

    device  row (positions, racks)         limit  load (case)         stranded  cause
    P1      R1 (2, 2 m10)                    100  20                        80  no position free
    P2      R2 (4, none; 4 kW per position)   50   0                        50  no rack that fits
    P3      R3 (2, 1 m5; 8 kW per position)   50   5                        45  demand exhausted
    P4      R4 (4, 2 m10): C air 20/20        100  20                        80  cooling full
    P5      R5 (4, 2 m10): Q5 ports 2/2       100  20                        80  ports full
    P6a     R6 dual P6a/P6b (4, 1 m10)        100  10 (after P6b fails)      90  N-1 of another
                                                 device: one more m10 puts 20 kW on P6b
                                                 after P6a fails, above its 10
    P6b     same row                            10  10 (after P6a fails)       0  (none)
    P7      R7 (4, 1 m10)                      100  10                        90  grid full
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.rules import power_incidence, row_shares
from optimizer.schema import MEDIA, Cluster, Row, Site

if TYPE_CHECKING:  # tables.Plan computes its stranded table with this module
    from optimizer.tables import Plan

STRANDED_COLUMNS = [
    "hall",
    "device",
    "limit_kw",
    "load_kw",
    "failure",
    "stranded_kw",
    "cause",
    "blocked_by",
]
NO_POSITION = "no position free"
NO_FIT = "no rack that fits"
DEMAND = "demand exhausted"
COOLING = "cooling full"
PORTS = "ports full"
OTHER_N1 = "N-1 of another device"
OTHER_NORMAL = "another device full"
GRID = "grid full"
ROOM = "room for a rack"
CAUSES = (NO_POSITION, NO_FIT, DEMAND, COOLING, PORTS, OTHER_N1, OTHER_NORMAL, GRID, ROOM)
TOLERANCE_KW = 1e-6  # headroom below this is no headroom; loads within it fit
NORMAL = -1  # the case index of normal operation (failures are device indices)


def stranded_table(plan: Plan) -> pd.DataFrame:
    """`stranded_capacity` of a solved plan (its site, placements and objective)."""
    return stranded_capacity(plan.site, plan.placements, str(plan.summary["objective_name"]))


def stranded_capacity(
    site: Site, placements: pd.DataFrame, objective: str | None = None
) -> pd.DataFrame:
    """Per power device: its unused kW in the case that limits it and the cause (module
    docstring). `placements` has `hall,row,cluster,model` per rack (existing racks too);
    `objective` is `gpus` or `cost` (default: the site's)."""
    state = _State.of(site, placements, objective or site.objective)
    lines = []
    for d, device in enumerate(site.devices):
        headroom, case = state.power.headroom(d)
        rows = state.rows_through[d]
        halls = sorted({site.rows[r].hall for r in rows})
        cause, blocked = ("", "")
        if headroom > TOLERANCE_KW:
            cause, blocked = state.cause(d, rows)
        lines.append(
            [
                halls[0] if len(halls) == 1 else None,
                device.device,
                _round(state.power.limit(d, case)),
                _round(state.power.load(d, case)),
                None if case == NORMAL else site.devices[case].device,
                _round(max(headroom, 0.0)),
                cause,
                blocked,
            ]
        )
    table = pd.DataFrame(lines, columns=STRANDED_COLUMNS)
    for column in ("hall", "failure"):  # empty = None, not NaN
        table[column] = pd.Series(
            [line[STRANDED_COLUMNS.index(column)] for line in lines], dtype=object
        )
    return table


def _round(value: float) -> float:
    return float(round(value, 6)) + 0.0


# -- power: loads in every case, and what one more rack adds ------------------------------
@dataclass
class _Power:
    """Device loads in normal operation and after each single failure, kept sparse: a
    failure changes a device's load only through rows that have both on their paths."""

    site: Site
    normal: np.ndarray
    limit_normal: np.ndarray
    limit_failed: np.ndarray
    delta: list[dict[int, float]]  # per device d: failed device x -> load change on d
    ranked: list[list[tuple[float, int]]] = field(default_factory=list)

    @classmethod
    def of(cls, site: Site, row_kw: np.ndarray, rows: list[RowPower], limit: np.ndarray) -> _Power:
        n = len(site.devices)
        normal = np.zeros(n)
        delta: list[dict[int, float]] = [{} for _ in range(n)]
        for r in np.flatnonzero(row_kw > 0):
            devices, share, shift = rows[r].devices, rows[r].share, rows[r].shift
            kw = float(row_kw[r])
            normal[devices] += kw * share
            for i, d in enumerate(devices):
                for j, x in enumerate(devices):
                    if x != d:
                        delta[d][int(x)] = delta[d].get(int(x), 0.0) + kw * shift[i, j]
        limit_failed = np.array([dev.failover_limit_kw for dev in site.devices], dtype=float)
        power = cls(site, normal, limit, limit_failed, delta)
        power.ranked = [
            sorted((power.room(d, x), x) for x in delta[d]) for d in range(n)
        ]  # per device: failures by the headroom they leave, least first
        return power

    def load(self, d: int, case: int) -> float:
        if case == NORMAL:
            return float(self.normal[d])
        return float(self.normal[d] + self.delta[d].get(case, 0.0))

    def limit(self, d: int, case: int) -> float:
        return float(self.limit_normal[d] if case == NORMAL else self.limit_failed[d])

    def room(self, d: int, case: int) -> float:
        return self.limit(d, case) - self.load(d, case)

    def headroom(self, d: int) -> tuple[float, int]:
        """The least headroom over every case, and that case (normal on a tie). Failures
        that do not change the load leave at least the normal headroom (a failover limit
        is never below the normal one), so only the ranked failures can be less."""
        best, case = self.room(d, NORMAL), NORMAL
        if self.ranked[d] and self.ranked[d][0][0] < best - TOLERANCE_KW:
            best, case = self.ranked[d][0]
        return best, case

    def most_kw(self, d: int, row: RowPower) -> tuple[float, int]:
        """The most design kW one more rack in `row` may have for device `d` to hold in every
        case, and the case that sets it."""
        i = row.position.get(d)
        if i is None:
            return float("inf"), NORMAL
        share = float(row.share[i])
        best, case = (np.inf, NORMAL)
        if share > 0:
            best = self.room(d, NORMAL) / share
            # failures off the row's paths: the rack keeps its normal share
            for room, x in self.ranked[d]:
                if x not in row.position:
                    if room / share < best:
                        best, case = room / share, x
                    break
        for j, x in enumerate(row.devices):  # failures on the row's paths
            x = int(x)
            after = share + float(row.shift[i, j])
            if x != d and after > 1e-12:
                kw = self.room(d, x) / after
                if kw < best:
                    best, case = kw, x
        return float(best), case


@dataclass(frozen=True)
class RowPower:
    """One row's share of a rack's kW on each device of its paths (`rules.row_shares`)."""

    devices: np.ndarray
    share: np.ndarray
    shift: np.ndarray
    position: dict[int, int]


# -- the rule ---------------------------------------------------------------------------
@dataclass
class _State:
    site: Site
    objective: str
    power: _Power
    row_power: list[RowPower]
    rows_through: list[list[int]]
    racks_in_row: np.ndarray
    placed: Counter[str]
    halls_of: dict[str, set[str]]
    pods_of: dict[str, set[str | None]]
    heat: dict[tuple[str, str], float]
    ports_used: Counter[str]
    grid_room: float
    most_kw_cache: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)
    fits_cache: dict[tuple[str, int], bool] = field(default_factory=dict)
    cooling_kw: dict[tuple[str, str], float] = field(default_factory=dict)
    grid_kw: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, site: Site, placements: pd.DataFrame, objective: str) -> _State:
        row_index = {r.id: i for i, r in enumerate(site.rows)}
        racks_in_row = np.zeros(len(site.rows), dtype=int)
        row_kw = np.zeros(len(site.rows))
        placed: Counter[str] = Counter()
        halls_of: dict[str, set[str]] = {}
        pods_of: dict[str, set[str | None]] = {}
        heat: dict[tuple[str, str], float] = {}
        ports_used: Counter[str] = Counter()
        grid = site.fixed_overhead_kw
        for hall, row, cluster, model_id in zip(
            placements["hall"].astype(str),
            placements["row"].astype(str),
            placements["cluster"],
            placements["model"].astype(str),
            strict=True,
        ):
            r = row_index.get((hall, row))
            model = site.model_by_id.get(model_id)
            if r is None or model is None:
                continue  # not this site's: the verifier reports it
            racks_in_row[r] += 1
            row_kw[r] += model.design_kw
            for medium in MEDIA:
                key = (hall, medium)
                heat[key] = heat.get(key, 0.0) + model.heat_kw(medium)
            pod = site.rows[r].pod
            if pod is not None:
                ports_used[pod] += model.ports
            grid += site.grid_kw_per_rack(model)
            if isinstance(cluster, str) and cluster:
                placed[cluster] += 1
                halls_of.setdefault(cluster, set()).add(hall)
                pods_of.setdefault(cluster, set()).add(pod)
        inc = power_incidence(site)
        row_power = []
        rows_through: list[list[int]] = [[] for _ in site.devices]
        for r in range(len(site.rows)):
            devices, share, shift = row_shares(inc.path_a[r], inc.path_b[r], bool(inc.dual[r]))
            row_power.append(
                RowPower(devices, share, shift, {int(d): i for i, d in enumerate(devices)})
            )
            for d in devices:
                rows_through[int(d)].append(r)
        cooling_kw: dict[tuple[str, str], float] = {}
        for line in site.cooling:
            key = (line.hall, line.medium)
            cooling_kw[key] = cooling_kw.get(key, 0.0) + line.capacity_kw
        return cls(
            cooling_kw=cooling_kw,
            grid_kw={m.model: site.grid_kw_per_rack(m) for m in site.models},
            site=site,
            objective=objective,
            power=_Power.of(site, row_kw, row_power, inc.limit_kw.astype(float)),
            row_power=row_power,
            rows_through=rows_through,
            racks_in_row=racks_in_row,
            placed=placed,
            halls_of=halls_of,
            pods_of=pods_of,
            heat=heat,
            ports_used=ports_used,
            grid_room=site.phase_supply_kw(site.phase_count - 1) - grid,
        )

    def most_kw(self, d: int, r: int) -> tuple[float, int]:
        key = (d, r)
        if key not in self.most_kw_cache:
            self.most_kw_cache[key] = self.power.most_kw(d, self.row_power[r])
        return self.most_kw_cache[key]

    def cause(self, d: int, rows: list[int]) -> tuple[str, str]:
        """The first test of the module docstring's rule that no candidate passes."""
        site = self.site
        free = [r for r in rows if self.racks_in_row[r] < site.rows[r].positions]
        if not free:
            full = f"{len(rows)} full row{'s' if len(rows) != 1 else ''}" if rows else "no rows"
            return NO_POSITION, full
        candidates = [
            (c, r)
            for r in free
            for c in site.demand
            if self._fits(c, r)
            and site.model_of(c).design_kw <= self.most_kw(d, r)[0] + TOLERANCE_KW
        ]
        if not candidates:
            return NO_FIT, self._no_fit_detail(d, free)
        wanted = [(c, r) for c, r in candidates if self._asks_for_more(c)]
        if not wanted:
            return DEMAND, _most_frequent(self._demand_reason(c) for c, _ in candidates)
        steps = (
            (COOLING, self._cooling_block),
            (PORTS, self._ports_block),
            (OTHER_N1, lambda c, r: self._device_block(d, c, r)),
            (GRID, self._grid_block),
        )
        for cause, block in steps:
            blocks = [(c, r, block(c, r)) for c, r in wanted]
            passing = [(c, r) for c, r, b in blocks if b is None]
            if not passing:
                reasons = [b for _, _, b in blocks if b is not None]
                if cause == OTHER_N1 and not any(" fails" in b for b in reasons):
                    cause = OTHER_NORMAL
                return cause, _most_frequent(reasons)
            wanted = passing
        c, r = wanted[0]
        return ROOM, f"{c.cluster} in {site.rows[r].label}"

    # -- the tests ----------------------------------------------------------------------
    def _fits(self, cluster: Cluster, r: int) -> bool:
        key = (cluster.cluster, r)
        if key not in self.fits_cache:
            self.fits_cache[key] = self._fits_row(cluster, self.site.rows[r])
        return self.fits_cache[key]

    def _fits_row(self, cluster: Cluster, row: Row) -> bool:
        if not row.fits(self.site.model_of(cluster)):
            return False
        if cluster.colocate == "pod" and row.pod is None:
            return False
        if self.placed.get(cluster.cluster, 0) == 0:
            return True
        if cluster.colocate == "hall":
            return row.hall in self.halls_of.get(cluster.cluster, set())
        if cluster.colocate == "pod":
            return row.pod in self.pods_of.get(cluster.cluster, set())
        return True

    def _no_fit_detail(self, d: int, free: list[int]) -> str:
        fitting = [
            self.site.model_of(c).design_kw
            for r in free
            for c in self.site.demand
            if self._fits(c, r)
        ]
        if not fitting:
            return "no model of the demand fits a free position"
        room = max(self.most_kw(d, r)[0] for r in free)
        return (
            f"smallest rack that fits a free position: {min(fitting):g} kW; "
            f"room for {max(room, 0.0):g} kW"
        )

    def _asks_for_more(self, cluster: Cluster) -> bool:
        if cluster.max_racks is not None and self.placed.get(cluster.cluster, 0) >= (
            cluster.max_racks
        ):
            return False
        if self.objective == "cost":
            return False
        return self.site.model_of(cluster).gpus * cluster.value > 0

    def _demand_reason(self, cluster: Cluster) -> str:
        if cluster.max_racks is not None and self.placed.get(cluster.cluster, 0) >= (
            cluster.max_racks
        ):
            return f"{cluster.cluster} at max_racks"
        if self.objective == "cost":
            return f"{cluster.cluster}: the cost objective places only what is asked"
        return f"{cluster.cluster}: no GPUs to count"

    def _cooling_block(self, cluster: Cluster, r: int) -> str | None:
        model = self.site.model_of(cluster)
        hall = self.site.rows[r].hall
        for medium in MEDIA:
            heat = model.heat_kw(medium)
            if heat <= 0:
                continue
            capacity = self.cooling_kw.get((hall, medium), 0.0)
            if self.heat.get((hall, medium), 0.0) + heat > capacity + TOLERANCE_KW:
                return f"cooling {hall} {medium}"
        return None

    def _ports_block(self, cluster: Cluster, r: int) -> str | None:
        pod = self.site.rows[r].pod
        if pod is None or pod not in self.site.pod_by_id:
            return None
        ports = self.site.model_of(cluster).ports
        if self.ports_used.get(pod, 0) + ports > self.site.pod_by_id[pod].ports:
            return f"ports {pod}"
        return None

    def _device_block(self, d: int, cluster: Cluster, r: int) -> str | None:
        kw = self.site.model_of(cluster).design_kw
        tightest: tuple[float, int, int] | None = None
        for other in self.row_power[r].devices:
            other = int(other)
            if other == d:
                continue
            most, case = self.most_kw(other, r)
            if kw > most + TOLERANCE_KW and (tightest is None or most < tightest[0]):
                tightest = (most, other, case)
        if tightest is None:
            return None
        _, other, case = tightest
        name = self.site.devices[other].device
        if case == NORMAL:
            return f"{name} in normal operation"
        return f"{name} after {self.site.devices[case].device} fails"

    def _grid_block(self, cluster: Cluster, r: int) -> str | None:
        if self.grid_kw[cluster.model] > self.grid_room + TOLERANCE_KW:
            return "grid"
        return None


def _most_frequent(reasons: Iterable[str], most: int = 2) -> str:
    """The most frequent reasons, ties in alphabetical order, joined by `; `."""
    counts = Counter(reasons)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(reason for reason, _ in ordered[:most])
