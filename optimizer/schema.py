"""The typed, immutable site: what the loaders produce and everything else reads.

Field names and units follow the contract (docs/site-format.md). Every class is a frozen
pydantic model that forbids unknown fields, so a misspelt column cannot slip through.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from optimizer.choices import STRATEGIES  # noqa: F401 (re-exported: `--strategy`'s choices)

MEDIA: tuple[str, str] = ("air", "liquid")
COLOCATE = ("none", "hall", "pod")
OBJECTIVES = ("gpus", "cost")
HOURS_PER_YEAR = 8760
DEFAULT_DESIGN_TEMP_C = 35.0

# Upper bounds catch typos (an extra zero or three) long before they reach the solver;
# each is far above anything a real site has.
NonNegFloat = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
NonNegInt = Annotated[int, Field(ge=0, le=10_000_000)]
Kw = Annotated[float, Field(ge=0, le=1e8, allow_inf_nan=False)]  # <= 100 GW
RackKw = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)]  # <= 10 MW per rack
TempC = Annotated[float, Field(ge=-90, le=70, allow_inf_nan=False)]  # Earth's records
Overhead = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RackModel(_Frozen):
    """A rack model: GPUs, power, heat split, weight, fabric ports and price of one rack."""

    model: Id
    gpus: NonNegInt
    design_kw: RackKw
    typical_kw: RackKw
    liquid_fraction: Share
    weight_kg: NonNegFloat
    ports: NonNegInt
    capex_usd: NonNegFloat

    def heat_kw(self, medium: str) -> float:
        """kW of this rack's design heat that goes to `medium` (contract §4)."""
        share = self.liquid_fraction if medium == "liquid" else 1.0 - self.liquid_fraction
        return self.design_kw * share


class Row(_Frozen):
    """A row of rack positions in a hall, fed by one or two power devices."""

    hall: Id
    row: Id
    positions: NonNegInt
    feed_a: Id
    feed_b: str | None = None
    max_rack_kw: RackKw | None = None
    max_rack_kg: NonNegFloat | None = None
    liquid: bool = False
    pod: str | None = None
    phase: str | None = None  # v1.1: the row exists from this phase on (None = the first)

    @property
    def id(self) -> tuple[str, str]:
        return (self.hall, self.row)

    @property
    def label(self) -> str:
        return f"{self.hall}/{self.row}"

    @property
    def feeds(self) -> tuple[str, ...]:
        return (self.feed_a,) if self.feed_b is None else (self.feed_a, self.feed_b)

    def fits(self, model: RackModel) -> bool:
        """Contract §2: power per position, floor weight, and liquid where the rack needs it."""
        if self.max_rack_kw is not None and model.design_kw > self.max_rack_kw:
            return False
        if self.max_rack_kg is not None and model.weight_kg > self.max_rack_kg:
            return False
        return not (model.liquid_fraction > 0 and not self.liquid)


class Device(_Frozen):
    """A device of the power forest (substation, transformer, UPS, busway, PDU ...)."""

    device: Id
    parent: str | None = None
    capacity_kw: Kw
    derate: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    failover_kw: Kw | None = None  # v1.1: short-term rating after a single failure

    @property
    def usable_kw(self) -> float:
        return self.capacity_kw * self.derate

    @property
    def failover_limit_kw(self) -> float:
        """The limit after a single failure: `failover_kw` where given, else the usable."""
        return self.usable_kw if self.failover_kw is None else self.failover_kw


class CoolingLine(_Frozen):
    """Cooling units of one medium in one hall; `spares` units are held in reserve."""

    hall: Id
    medium: Literal["air", "liquid"]
    units: NonNegInt
    unit_kw: Kw
    spares: NonNegInt = 0
    phase: str | None = None  # v1.1: the line serves from this phase on (None = the first)

    @property
    def capacity_kw(self) -> float:
        return max(self.units - self.spares, 0) * self.unit_kw


class Pod(_Frozen):
    """A network pod and its fabric ports for racks."""

    pod: Id
    ports: NonNegInt


class Cluster(_Frozen):
    """A line of demand.csv: a group of identical racks to place."""

    cluster: Id
    model: Id
    min_racks: NonNegInt = 0
    max_racks: NonNegInt | None = None
    colocate: Literal["none", "hall", "pod"] = "none"
    value: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = 1.0
    phase: str | None = None  # v1.1: the cluster's new racks arrive in this phase


class ExistingRack(_Frozen):
    """A line of existing.csv (v1.1): a rack already standing, never moved or removed."""

    hall: Id
    row: Id
    position: Annotated[int, Field(ge=1, le=10_000_000)]
    model: Id
    cluster: str | None = None

    @property
    def row_id(self) -> tuple[str, str]:
        return (self.hall, self.row)


class Phase(_Frozen):
    """A line of phases.csv (v1.1): a build-out wave, its limits and objective weight."""

    phase: Id
    grid_limit_kw: Kw | None = None
    onsite_firm_kw: Kw | None = None
    weight: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = 1.0


class OverheadPoint(_Frozen):
    """Facility kW per kW of heat removed, by medium, at an outdoor temperature."""

    temp_c: TempC
    air_overhead: Overhead
    liquid_overhead: Overhead


class WeatherHour(_Frozen):
    hour: NonNegInt
    temp_c: TempC


class Site(_Frozen):
    """A whole site, valid by construction once `loaders.load_site` returns it."""

    name: Id
    grid_limit_kw: Kw
    onsite_firm_kw: Kw = 0.0
    fixed_overhead_kw: Kw = 0.0
    design_temp_c: TempC = DEFAULT_DESIGN_TEMP_C
    pue: Annotated[float, Field(ge=1, le=10, allow_inf_nan=False)] = 1.3
    energy_usd_per_kwh: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 0.07
    objective: Literal["gpus", "cost"] = "gpus"
    models: tuple[RackModel, ...]
    rows: tuple[Row, ...]
    devices: tuple[Device, ...]
    cooling: tuple[CoolingLine, ...]
    pods: tuple[Pod, ...] = ()
    demand: tuple[Cluster, ...]
    overhead: tuple[OverheadPoint, ...] = ()
    weather: tuple[WeatherHour, ...] = ()
    existing: tuple[ExistingRack, ...] = ()  # v1.1
    phases: tuple[Phase, ...] = ()  # v1.1; empty = one phase with site.yaml's limits

    # -- look-ups (derived, never stored) ------------------------------------------------
    @cached_property
    def model_by_id(self) -> dict[str, RackModel]:
        return {m.model: m for m in self.models}

    @cached_property
    def device_by_id(self) -> dict[str, Device]:
        return {d.device: d for d in self.devices}

    @cached_property
    def pod_by_id(self) -> dict[str, Pod]:
        return {p.pod: p for p in self.pods}

    @cached_property
    def halls(self) -> tuple[str, ...]:
        """Halls in order of first appearance in rows.csv."""
        return tuple(dict.fromkeys(r.hall for r in self.rows))

    def model_of(self, cluster: Cluster) -> RackModel:
        return self.model_by_id[cluster.model]

    def path(self, device: str) -> tuple[str, ...]:
        """The device and all its ancestors, from the device up to its root."""
        out: dict[str, None] = {}  # ordered, with constant-time membership
        current: str | None = device
        while current is not None and current not in out:
            out[current] = None
            current = self.device_by_id[current].parent
        return tuple(out)

    def cooling_capacity_kw(self, hall: str, medium: str) -> float:
        """Sum over the hall's lines of `(units - spares) * unit_kw` (contract, cooling.csv)."""
        return sum(c.capacity_kw for c in self.cooling if c.hall == hall and c.medium == medium)

    def overhead_at(self, temp_c: float) -> tuple[float, float]:
        """(air, liquid) facility kW per kW of heat at `temp_c`: linear between the listed
        temperatures, flat beyond; `pue - 1` for both media when there is no overhead.csv."""
        if not self.overhead:
            return (self.pue - 1.0, self.pue - 1.0)
        pts = self.overhead
        if temp_c <= pts[0].temp_c:
            return (pts[0].air_overhead, pts[0].liquid_overhead)
        if temp_c >= pts[-1].temp_c:
            return (pts[-1].air_overhead, pts[-1].liquid_overhead)
        for lo, hi in zip(pts, pts[1:], strict=False):
            if lo.temp_c <= temp_c <= hi.temp_c:
                t = (temp_c - lo.temp_c) / (hi.temp_c - lo.temp_c)
                return (
                    lo.air_overhead + t * (hi.air_overhead - lo.air_overhead),
                    lo.liquid_overhead + t * (hi.liquid_overhead - lo.liquid_overhead),
                )
        raise AssertionError("unreachable: overhead temperatures are sorted")

    @property
    def supply_limit_kw(self) -> float:
        """Grid limit plus firm on-site generation (contract §7)."""
        return self.grid_limit_kw + self.onsite_firm_kw

    def grid_kw_per_rack(self, model: RackModel) -> float:
        """Grid draw of one rack at the design temperature: IT plus cooling overhead."""
        air_oh, liquid_oh = self.overhead_at(self.design_temp_c)
        return model.design_kw + model.heat_kw("air") * air_oh + model.heat_kw("liquid") * liquid_oh

    def energy_usd_per_rack(self, model: RackModel) -> float:
        """One year of energy for one rack at `typical_kw`, with hourly overhead (contract)."""
        if self.weather:
            temps = [h.temp_c for h in self.weather]
            scale = HOURS_PER_YEAR / len(temps)
        else:
            temps = [self.design_temp_c]
            scale = float(HOURS_PER_YEAR)
        lf = model.liquid_fraction
        factor_hours = 0.0
        for t in temps:
            air_oh, liquid_oh = self.overhead_at(t)
            factor_hours += 1.0 + (1.0 - lf) * air_oh + lf * liquid_oh
        return self.energy_usd_per_kwh * model.typical_kw * factor_hours * scale

    def cost_usd_per_rack(self, model: RackModel) -> float:
        """Capex plus one year of energy: the `cost` objective's coefficient."""
        return model.capex_usd + self.energy_usd_per_rack(model)

    # -- v1.1: phases and existing racks ------------------------------------------------
    @property
    def phase_count(self) -> int:
        """Phases of the build-out; a site without phases.csv has one."""
        return max(len(self.phases), 1)

    def phase_number(self, phase: str | None) -> int:
        """0-based number of a phase id (None or empty = the first phase)."""
        if not phase:
            return 0
        return [p.phase for p in self.phases].index(phase)

    def phase_weight(self, q: int) -> float:
        return self.phases[q].weight if self.phases else 1.0

    def phase_supply_kw(self, q: int) -> float:
        """Grid limit plus firm on-site supply in phase q (site.yaml's where not set)."""
        grid, onsite = self.phase_limits_kw(q)
        return grid + onsite

    def phase_limits_kw(self, q: int) -> tuple[float, float]:
        """(grid_limit_kw, onsite_firm_kw) in phase q, site.yaml's where phases.csv is empty."""
        p = self.phases[q] if self.phases else None
        grid = self.grid_limit_kw if p is None or p.grid_limit_kw is None else p.grid_limit_kw
        onsite = self.onsite_firm_kw if p is None or p.onsite_firm_kw is None else p.onsite_firm_kw
        return grid, onsite

    def cooling_capacity_in_phase_kw(self, hall: str, medium: str, q: int) -> float:
        """The hall's capacity for a medium from the lines serving in phase q."""
        return sum(
            c.capacity_kw
            for c in self.cooling
            if c.hall == hall and c.medium == medium and self.phase_number(c.phase) <= q
        )

    def with_updates(self, **changes: object) -> Site:
        """A copy with some top-level keys replaced (validated again)."""
        data = self.model_dump()
        data.update(changes)
        return Site.model_validate(data)
