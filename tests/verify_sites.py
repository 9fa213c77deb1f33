"""Build `Site` objects for the verifier and first-fit tests (test_verify.py, test_baseline.py).

    from verify_sites import dev, make_site, rack, row

    site = make_site(
        rows=[row("H1", "R1", "UPS-A", "UPS-B")],
        devices=[dev("UPS-A", 1200), dev("UPS-B", 1200)],
    )

The builders of sites.py (`row` and `dev` are the same ones), with the defaults the hand
arithmetic of these tests was written against: a rack draws 70% of its design power typically
and its id is `r25` whatever its design; `make_site` takes the power devices as its second
argument, gives a cluster `c` of the first rack model when no demand is given, 1e7 kW of air
and liquid cooling in every hall and the name `t`. `power_tree` draws a random power chain for
the hypothesis strategies of both files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sites
from hypothesis import strategies as st
from sites import cool, dev, row

from optimizer.schema import Cluster, CoolingLine, Device, RackModel, Row, Site

__all__ = ["dev", "make_site", "power_tree", "rack", "row"]


def rack(model: str = "r25", design_kw: float = 25.0, **kw: Any) -> RackModel:
    """`sites.rack` with a typical draw of 70% of `design_kw` (unless `typical_kw` is given)."""
    return sites.rack(model, design_kw, **{"typical_kw": design_kw * 0.7, **kw})


def make_site(
    rows: Iterable[Row],
    devices: Iterable[Device],
    models: Iterable[RackModel] = (),
    demand: Iterable[Cluster] | None = None,
    cooling: Iterable[CoolingLine] | None = None,
    **kw: Any,
) -> Site:
    """A site with the given rows and devices; by default one 25 kW air rack model and one
    cluster `c` of it, plenty of cooling in every hall and no grid limit to speak of."""
    rows = tuple(rows)
    models = tuple(models) or (rack(),)
    if demand is None:
        demand = (Cluster(cluster="c", model=models[0].model),)
    if cooling is None:
        halls = dict.fromkeys(r.hall for r in rows)
        cooling = [cool(h, m, 1, 1e7) for h in halls for m in ("air", "liquid")]
    return sites.make_site(
        rows, devices, demand=demand, cooling=cooling, models=models, **{"name": "t", **kw}
    )


def power_tree(draw: st.DrawFn, most: int, capacities_kw: Sequence[float]) -> list[Device]:
    """A random power chain for hypothesis strategies: 1 to `most` devices D0, D1, ..., each
    under no parent or an earlier device, its capacity one of `capacities_kw`, derate 1 or 0.8."""
    devices = []
    for i in range(draw(st.integers(1, most))):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        devices.append(
            dev(
                f"D{i}",
                draw(st.sampled_from(capacities_kw)),
                None if parent is None else f"D{parent}",
                draw(st.sampled_from([1.0, 0.8])),
            )
        )
    return devices
