"""Build `Site` objects tersely in tests.

    from sites import dev, make_site, rack, row, want

    site = make_site(
        rows=[row("H", "R1", "A", "B", positions=10)],
        devices=[dev("A", 500), dev("B", 500)],
        demand=[want("c", rack(design_kw=25), max_racks=8)],
    )

Defaults make every limit but the ones a test names irrelevant: feeds, pods and halls the
rows name but the test does not list get a device / pod / cooling line too large to matter,
and the grid limit is 1e8 kW. Rack models come with their clusters (`want`), so a test never
keeps a separate model list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from optimizer.schema import (
    Cluster,
    CoolingLine,
    Device,
    OverheadPoint,
    Pod,
    RackModel,
    Row,
    Site,
    WeatherHour,
)

BIG_KW = 1e8  # the schema's largest kW: "no limit"
BIG_PORTS = 10_000_000


def rack(model: str | None = None, design_kw: float = 25.0, **kw: Any) -> RackModel:
    """A rack model: 8 GPUs, air-cooled, 1,000 kg, no ports, typical = design, $1 by default.
    The id defaults to `r<design_kw>`."""
    fields: dict[str, Any] = dict(
        model=model or f"r{design_kw:g}", gpus=8, design_kw=design_kw, typical_kw=design_kw,
        liquid_fraction=0.0, weight_kg=1000.0, ports=0, capex_usd=1.0,
    )  # fmt: skip
    fields.update(kw)
    return RackModel.model_validate(fields)


def want(
    cluster: str = "c", model: RackModel | None = None, **kw: Any
) -> tuple[Cluster, RackModel]:
    """A line of demand.csv together with its rack model (default: `rack()`)."""
    model = model or rack()
    return Cluster(cluster=cluster, model=model.model, **kw), model


def row(hall: str, name: str, feed_a: str = "P", feed_b: str | None = None,
        positions: int = 40, **kw: Any) -> Row:  # fmt: skip
    return Row(hall=hall, row=name, positions=positions, feed_a=feed_a, feed_b=feed_b, **kw)


def dev(
    device: str, capacity_kw: float, parent: str | None = None, derate: float = 1.0,
    failover_kw: float | None = None,
) -> Device:  # fmt: skip
    return Device(
        device=device, parent=parent, capacity_kw=capacity_kw, derate=derate,
        failover_kw=failover_kw,
    )  # fmt: skip


def cool(hall: str, medium: str, units: int, unit_kw: float, spares: int = 0) -> CoolingLine:
    return CoolingLine(hall=hall, medium=medium, units=units, unit_kw=unit_kw, spares=spares)


def overhead(*points: tuple[float, float, float]) -> tuple[OverheadPoint, ...]:
    """overhead.csv from (temp_c, air_overhead, liquid_overhead) triples."""
    return tuple(OverheadPoint(temp_c=t, air_overhead=a, liquid_overhead=q) for t, a, q in points)


def weather(*temps_c: float) -> tuple[WeatherHour, ...]:
    return tuple(WeatherHour(hour=h, temp_c=t) for h, t in enumerate(temps_c))


def make_site(
    rows: Iterable[Row],
    devices: Iterable[Device] = (),
    demand: Iterable[tuple[Cluster, RackModel] | Cluster] = (),
    cooling: Iterable[CoolingLine] | None = None,
    pods: Iterable[Pod | tuple[str, int]] = (),
    models: Iterable[RackModel] = (),
    **site: Any,
) -> Site:
    """A valid `Site`. `demand` defaults to one cluster `c` of `rack()`; `cooling=None` gives
    every hall unlimited air and liquid (pass a list to set it: halls left out get none);
    pods may be `("P1", 100)` pairs. Other keyword arguments are site.yaml keys."""
    rows = tuple(rows)
    lines = list(demand) or [want()]
    clusters = tuple(x[0] if isinstance(x, tuple) else x for x in lines)
    all_models = {m.model: m for m in models}
    all_models.update({x[1].model: x[1] for x in lines if isinstance(x, tuple)})
    devs = {d.device: d for d in devices}
    for r in rows:
        for feed in r.feeds:
            devs.setdefault(feed, dev(feed, BIG_KW))
    if cooling is None:
        halls = dict.fromkeys(r.hall for r in rows)
        cooling = [cool(h, m, 1, BIG_KW) for h in halls for m in ("air", "liquid")]
    pod_list = {
        p.pod: p for p in (Pod(pod=x[0], ports=x[1]) if isinstance(x, tuple) else x for x in pods)
    }
    for r in rows:
        if r.pod is not None:
            pod_list.setdefault(r.pod, Pod(pod=r.pod, ports=BIG_PORTS))
    fields: dict[str, Any] = dict(
        name="test", grid_limit_kw=BIG_KW, models=tuple(all_models.values()), rows=rows,
        devices=tuple(devs.values()), cooling=tuple(cooling), pods=tuple(pod_list.values()),
        demand=clusters,
    )  # fmt: skip
    fields.update(site)
    return Site.model_validate(fields)
