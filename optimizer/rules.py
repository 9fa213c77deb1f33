"""The contract's rules as plain arithmetic on a `Site`'s raw fields: device paths and the
power geometry of every row (§6, with v1.1's failover ratings), what fits a row (§2), cooling
capacity per phase (§4), overhead at the design temperature (§7), the float tolerance. The
independent verifier, first fit and the stranded-capacity table use them; this module imports
only the schema (never the formulation), so the verifier stays a second opinion on the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.schema import Site

REL_TOL = 1e-6
ABS_TOL = 1e-6


def exceeds(load: float, limit: float) -> bool:
    """True when `load` is over `limit` by more than float noise."""
    return bool(load > limit + REL_TOL * abs(limit) + ABS_TOL)


def device_path(parent_of: dict[str, str | None], device: str, origin: str) -> list[str]:
    """`device` and all its ancestors, walking `parent` links from the raw device table."""
    if device not in parent_of:
        raise ValueError(f"{origin}: device {device!r} is not in the site's devices")
    out: list[str] = []
    seen: set[str] = set()
    current: str | None = device
    while current is not None and current not in seen:
        if current not in parent_of:
            raise ValueError(f"{origin}: parent device {current!r} is not in the site's devices")
        seen.add(current)
        out.append(current)
        current = parent_of[current]
    return out


@dataclass(frozen=True)
class PowerIncidence:
    """The site's power geometry as arrays, shared by the verifier and the baseline.

    Devices are indexed in `site.devices` order. `path_a[r]` / `path_b[r]` are the device
    indices on the paths of row r's feeds (`path_b[r]` is empty for a single-fed row);
    `dual[r]` says whether the row has a second feed. `limit_kw[d] = capacity_kw * derate`.
    """

    device_ids: tuple[str, ...]
    limit_kw: np.ndarray
    path_a: tuple[np.ndarray, ...]
    path_b: tuple[np.ndarray, ...]
    dual: np.ndarray
    # v1.1: the limit after a single failure (failover_kw, else capacity_kw * derate)
    failover_kw: np.ndarray | None = None

    @property
    def failover_limit_kw(self) -> np.ndarray:
        return self.limit_kw if self.failover_kw is None else self.failover_kw

    @property
    def on_some_path(self) -> np.ndarray:
        """Sorted indices of the devices that lie on the path of some row."""
        parts = [p for p in self.path_a + self.path_b if p.size]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(parts))


def power_incidence(site: Site) -> PowerIncidence:
    parent_of: dict[str, str | None] = {}
    for d in site.devices:
        parent_of[d.device] = d.parent if d.parent else None
    index = {d.device: i for i, d in enumerate(site.devices)}
    path_a: list[np.ndarray] = []
    path_b: list[np.ndarray] = []
    dual: list[bool] = []
    for row in site.rows:
        origin = f"row {row.hall}/{row.row}"
        a = device_path(parent_of, row.feed_a, origin)
        path_a.append(np.array(sorted(index[x] for x in a), dtype=np.int64))
        if row.feed_b:
            b = device_path(parent_of, row.feed_b, origin)
            path_b.append(np.array(sorted(index[x] for x in b), dtype=np.int64))
            dual.append(True)
        else:
            path_b.append(np.zeros(0, dtype=np.int64))
            dual.append(False)
    return PowerIncidence(
        device_ids=tuple(d.device for d in site.devices),
        limit_kw=np.array([d.capacity_kw * d.derate for d in site.devices], dtype=float),
        path_a=tuple(path_a),
        path_b=tuple(path_b),
        dual=np.array(dual, dtype=bool),
        failover_kw=np.array(
            [
                d.capacity_kw * d.derate if d.failover_kw is None else d.failover_kw
                for d in site.devices
            ],
            dtype=float,
        ),
    )


def rack_fit_problems(
    row_max_kw: float | None,
    row_max_kg: float | None,
    row_liquid: bool,
    design_kw: float,
    weight_kg: float,
    liquid_fraction: float,
    strict: bool = False,
) -> list[tuple[str, float, float]]:
    """Contract §2 for one (row, rack model): a list of (what, load, limit) that fail.
    `strict` compares exactly; otherwise float noise (see `exceeds`) is allowed."""

    def over(load: float, limit: float) -> bool:
        return load > limit if strict else exceeds(load, limit)

    out: list[tuple[str, float, float]] = []
    if row_max_kw is not None and over(design_kw, row_max_kw):
        out.append(("kw", design_kw, row_max_kw))
    if row_max_kg is not None and over(weight_kg, row_max_kg):
        out.append(("kg", weight_kg, row_max_kg))
    if liquid_fraction > 0 and not row_liquid:
        out.append(("liquid", liquid_fraction, 0.0))
    return out


def overhead_at_design(site: Site) -> tuple[float, float]:
    """(air, liquid) overhead per kW of heat at `design_temp_c`: linear between the points
    of overhead.csv and flat beyond them; `pue - 1` for both media without overhead.csv."""
    if not site.overhead:
        return (site.pue - 1.0, site.pue - 1.0)
    pts = sorted(site.overhead, key=lambda p: p.temp_c)
    temps = np.array([p.temp_c for p in pts], dtype=float)
    air = float(np.interp(site.design_temp_c, temps, [p.air_overhead for p in pts]))
    liquid = float(np.interp(site.design_temp_c, temps, [p.liquid_overhead for p in pts]))
    return (air, liquid)


def cooling_capacity(site: Site, phase: int | None = None) -> dict[tuple[str, str], float]:
    """(hall, medium) -> sum over the hall's lines of (units - spares) * unit_kw; with
    `phase` (v1.1), over the lines serving in that phase (0-based, phases.csv order)."""
    cap: dict[tuple[str, str], float] = {}
    ids = [p.phase for p in site.phases]
    for line in site.cooling:
        if phase is not None and line.phase and ids.index(line.phase) > phase:
            continue
        key = (line.hall, line.medium)
        cap[key] = cap.get(key, 0.0) + max(line.units - line.spares, 0) * line.unit_kw
    return cap


def row_shares(
    path_a: np.ndarray, path_b: np.ndarray, dual: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contract §6 for one row, per kW of rack: `(devices, normal, shift)`.

    `devices`: the device indices on the row's paths (sorted); `normal[i]`: the share that
    device `devices[i]` carries in normal operation (1/2 on one path of a dual-fed row, 1 on
    both paths or on the one path of a single-fed row); `shift[i, j]`: how that share changes
    when device `devices[j]` fails (the row moves to its other path, or goes dark).
    """
    devices = np.union1d(path_a, path_b)
    in_a = np.isin(devices, path_a).astype(float)
    in_b = np.isin(devices, path_b).astype(float)
    after = np.zeros((devices.size, devices.size))  # [x, d]: share on d when x fails
    if dual:
        normal = 0.5 * in_a + 0.5 * in_b
        after[(in_a > 0) & (in_b == 0)] = in_b  # x on A only: the rack moves to B
        after[(in_b > 0) & (in_a == 0)] = in_a  # x on B only: the rack moves to A
        # x on both paths: the rack is dark, a row of zeros
    else:
        normal = in_a  # every failure on the one path darkens the rack
    return devices, normal, after.T - normal[:, None]


@dataclass(frozen=True)
class ClusterData:
    """Per rack kind: its rack model's raw fields. `cluster_data` gives one kind per cluster
    (demand.csv order); `_read_lines` adds one per (model, cluster) of the existing racks
    (v1.1), with `cluster` (index into demand, -1 = none), `existing` and `label`."""

    design_kw: np.ndarray
    weight_kg: np.ndarray
    liquid_fraction: np.ndarray
    ports: np.ndarray
    cluster: np.ndarray | None = None
    existing: np.ndarray | None = None
    label: tuple[str, ...] = ()


def cluster_data(site: Site) -> ClusterData:
    models = {m.model: m for m in site.models}
    for c in site.demand:
        if c.model not in models:
            raise ValueError(f"cluster {c.cluster!r}: model {c.model!r} is not in the site")
    ms = [models[c.model] for c in site.demand]
    return ClusterData(
        design_kw=np.array([m.design_kw for m in ms], dtype=float),
        weight_kg=np.array([m.weight_kg for m in ms], dtype=float),
        liquid_fraction=np.array([m.liquid_fraction for m in ms], dtype=float),
        ports=np.array([m.ports for m in ms], dtype=float),
    )
