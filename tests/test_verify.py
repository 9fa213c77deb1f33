"""The independent verifier on hand-built sites: every rule broken once, with the exact
where/load/limit, and N-1 power checked against hand arithmetic and a naive re-computation."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_sites import dev, make_site, power_tree, rack, row

from optimizer.layout import placements_from_counts
from optimizer.schema import Cluster, CoolingLine, OverheadPoint, Pod, Site
from optimizer.verify import Violation, power_loads, verify


def plan(site: Site, racks: dict[tuple[str, str, str], int]) -> pd.DataFrame:
    """Placements from {(cluster, hall, row): racks}."""
    return placements_from_counts(site, racks)


def only(violations: list[Violation], rule: str) -> list[tuple[str, float, float, str | None]]:
    return [(v.where, v.load, v.limit, v.failure) for v in violations if v.rule == rule]


# -- power: 2N ----------------------------------------------------------------------------


def two_n_site() -> Site:
    """2N: UPS-A and UPS-B, 1,200 kW each, feed both rows; 25 kW racks."""
    return make_site(
        rows=[row("H1", "R1", "UPS-A", "UPS-B"), row("H1", "R2", "UPS-A", "UPS-B")],
        devices=[dev("UPS-A", 1200), dev("UPS-B", 1200)],
    )


def test_2n_passes_at_48_racks_the_n1_limit():
    """When UPS-A fails UPS-B carries every rack: 25 * n <= 1,200, so n <= 48."""
    site = two_n_site()
    assert verify(site, plan(site, {("c", "H1", "R1"): 24, ("c", "H1", "R2"): 24})) == []


def test_2n_one_more_rack_breaks_n1_on_both_ups():
    """49 racks: normal 612.5 kW each, 1,225 kW on the survivor after either UPS fails."""
    site = two_n_site()
    v = verify(site, plan(site, {("c", "H1", "R1"): 25, ("c", "H1", "R2"): 24}))
    assert only(v, "power") == [
        ("UPS-A", 1225.0, 1200.0, "UPS-B"),
        ("UPS-B", 1225.0, 1200.0, "UPS-A"),
    ]
    assert [x.rule for x in v] == ["power", "power"]
    assert v[1].message == "UPS-B: 1,225.0 kW after UPS-A fails > limit 1,200.0 kW"


def test_power_loads_reports_normal_worst_and_the_failure_behind_it():
    site = two_n_site()
    loads = power_loads(site, plan(site, {("c", "H1", "R1"): 10}))
    assert loads.to_dict("records") == [
        dict(
            device="UPS-A", normal_kw=125.0, worst_kw=250.0, worst_failure="UPS-B", limit_kw=1200.0
        ),
        dict(
            device="UPS-B", normal_kw=125.0, worst_kw=250.0, worst_failure="UPS-A", limit_kw=1200.0
        ),
    ]


# -- power: block redundant ------------------------------------------------------------------


def block3_site() -> Site:
    """Three 400 kW UPS; rows fed (U1,U2), (U2,U3), (U3,U1); 25 kW racks."""
    return make_site(
        rows=[
            row("H", "R12", "U1", "U2"),
            row("H", "R23", "U2", "U3"),
            row("H", "R31", "U3", "U1"),
        ],
        devices=[dev("U1", 400), dev("U2", 400), dev("U3", 400)],
    )


def block3_plan(site: Site, n12: int, n23: int, n31: int) -> pd.DataFrame:
    return plan(site, {("c", "H", "R12"): n12, ("c", "H", "R23"): n23, ("c", "H", "R31"): n31})


def test_block_redundant_11_10_10_passes():
    """U1 fails: U2 carries R12 whole and half of R23: 25 * (11 + 10/2) = 400 <= 400.
    U2 fails: U1 carries 25 * (11 + 10/2) = 400. U3 fails: U2 and U1 carry 387.5.
    U3 carries at most 25 * (10 + 10/2) = 375 (after U1 or U2 fails)."""
    site = block3_site()
    assert verify(site, block3_plan(site, 11, 10, 10)) == []
    loads = power_loads(site, block3_plan(site, 11, 10, 10)).set_index("device")
    assert loads.loc["U1", "worst_kw"] == 400.0 and loads.loc["U1", "worst_failure"] == "U2"
    assert loads.loc["U2", "worst_kw"] == 400.0 and loads.loc["U2", "worst_failure"] == "U1"
    assert loads.loc["U3", "worst_kw"] == 375.0


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # (12,10,10): U1 fails -> U2 = 25*(12 + 5) = 425; U2 fails -> U1 = 25*(12 + 5) = 425
        ((12, 10, 10), [("U1", 425.0, 400.0, "U2"), ("U2", 425.0, 400.0, "U1")]),
        # (11,11,10): U1 fails -> U2 = 25*(11 + 5.5) = 412.5 (U3 failing gives the same;
        # the first failure in power.csv order is named)
        ((11, 11, 10), [("U2", 412.5, 400.0, "U1")]),
        # (11,10,11): U2 fails -> U1 = 25*(11 + 5.5) = 412.5
        ((11, 10, 11), [("U1", 412.5, 400.0, "U2")]),
    ],
)
def test_block_redundant_one_more_rack_in_any_row_fails(counts, expected):
    site = block3_site()
    v = verify(site, block3_plan(site, *counts))
    assert only(v, "power") == expected
    assert len(v) == len(expected)


# -- power: shared devices, single cords, derate -------------------------------------------


def shared_root_site() -> Site:
    """SUB (100 kW) is on both paths: UPS-A/PDU-A and UPS-B/PDU-B both hang under it."""
    return make_site(
        rows=[row("H", "R", "PDU-A", "PDU-B")],
        devices=[
            dev("SUB", 100),
            dev("UPS-A", 1000, "SUB"),
            dev("UPS-B", 1000, "SUB"),
            dev("PDU-A", 1000, "UPS-A"),
            dev("PDU-B", 1000, "UPS-B"),
        ],
    )


def test_device_on_both_paths_carries_both_halves():
    """4 racks * 25 kW: SUB carries 50 + 50 = 100 <= 100; the UPS carry 50 each and 100
    after the other side fails (first such failure in power.csv order: UPS-x)."""
    site = shared_root_site()
    p = plan(site, {("c", "H", "R"): 4})
    assert verify(site, p) == []
    loads = power_loads(site, p).set_index("device")
    assert loads.loc["SUB"].tolist() == [100.0, 100.0, None, 100.0]
    assert loads.loc["UPS-A"].tolist() == [50.0, 100.0, "UPS-B", 1000.0]
    assert loads.loc["PDU-B"].tolist() == [50.0, 100.0, "UPS-A", 1000.0]


def test_device_on_both_paths_overloads_in_normal_operation_only():
    """5 racks: SUB carries 125 kW in normal operation; no failure moves load off or onto
    it except its own (then the rack is dark), so one violation, failure None."""
    site = shared_root_site()
    v = verify(site, plan(site, {("c", "H", "R"): 5}))
    assert only(v, "power") == [("SUB", 125.0, 100.0, None)]
    assert v[0].message == "SUB: 125.0 kW in normal operation > limit 100.0 kW"


def test_both_feeds_under_one_ups_go_dark_together():
    """Both PDUs hang under UPS-A: when UPS-A fails the rack is dark, nothing moves."""
    site = make_site(
        rows=[row("H", "R", "PDU-1", "PDU-2")],
        devices=[dev("UPS-A", 50), dev("PDU-1", 30, "UPS-A"), dev("PDU-2", 30, "UPS-A")],
    )
    p = plan(site, {("c", "H", "R"): 2})  # 50 kW: 25 on each PDU, 50 on UPS-A
    loads = power_loads(site, p).set_index("device")
    assert loads["normal_kw"].tolist() == [50.0, 25.0, 25.0]
    assert loads["worst_kw"].tolist() == [50.0, 50.0, 50.0]
    assert only(verify(site, p), "power") == [
        ("PDU-1", 50.0, 30.0, "PDU-2"),
        ("PDU-2", 50.0, 30.0, "PDU-1"),
    ]


def single_cord_site() -> Site:
    """Row S is single-corded on PDU-1 under UPS-A; row D is dual-fed (UPS-A, UPS-B)."""
    return make_site(
        rows=[row("H", "S", "PDU-1"), row("H", "D", "UPS-A", "UPS-B")],
        devices=[dev("UPS-A", 100), dev("UPS-B", 100), dev("PDU-1", 100, "UPS-A")],
    )


def test_single_corded_row_goes_dark_when_its_feeds_ancestor_fails():
    """S: 2 racks (50 kW), D: 2 racks (50 kW). UPS-A fails: S is dark, UPS-B carries only D
    (50), nothing of S. UPS-B fails: UPS-A carries S + all of D = 100 <= 100."""
    site = single_cord_site()
    p = plan(site, {("c", "H", "S"): 2, ("c", "H", "D"): 2})
    assert verify(site, p) == []
    loads = power_loads(site, p).set_index("device")
    assert loads.loc["UPS-A"].tolist() == [75.0, 100.0, "UPS-B", 100.0]
    assert loads.loc["UPS-B"].tolist() == [25.0, 50.0, "UPS-A", 100.0]
    assert loads.loc["PDU-1"].tolist() == [50.0, 50.0, None, 100.0]


def test_single_corded_rows_n1_violation():
    """S: 2 racks, D: 4 racks. Normal UPS-A = 50 + 50 = 100 (fits); UPS-B fails: UPS-A =
    50 + 100 = 150 > 100. UPS-A fails: UPS-B = 100 (S dark), which fits."""
    site = single_cord_site()
    v = verify(site, plan(site, {("c", "H", "S"): 2, ("c", "H", "D"): 4}))
    assert only(v, "power") == [("UPS-A", 150.0, 100.0, "UPS-B")]


def test_derate_lowers_the_limit():
    """100 kW * derate 0.8 = 80 kW: 4 racks of 20 kW fit, 5 do not."""
    site = make_site(
        rows=[row("H", "R", "PDU")],
        devices=[dev("PDU", 100, derate=0.8)],
        models=[rack("r20", 20.0)],
    )
    assert verify(site, plan(site, {("c", "H", "R"): 4})) == []
    v = verify(site, plan(site, {("c", "H", "R"): 5}))
    assert only(v, "power") == [("PDU", 100.0, 80.0, None)]


def test_float_noise_is_not_a_violation():
    """Three racks of 0.1 kW on a 0.3 kW device: 0.1 * 3 = 0.30000000000000004."""
    site = make_site(rows=[row("H", "R", "P")], devices=[dev("P", 0.3)], models=[rack("tiny", 0.1)])
    assert verify(site, plan(site, {("c", "H", "R"): 3})) == []


# -- the other rules, each broken once --------------------------------------------------------


def simple_site(**kw: object) -> Site:
    base: dict[str, object] = dict(
        rows=[row("H1", "R1", "P", positions=4), row("H1", "R2", "P", positions=4)],
        devices=[dev("P", 1e6)],
    )
    base.update(kw)
    return make_site(**base)  # type: ignore[arg-type]


def lines(*rows: tuple[str, str, object, str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["hall", "row", "position", "cluster", "model"])


def test_placement_sanity():
    site = simple_site()
    p = lines(
        ("H1", "R1", 1, "c", "r25"),
        ("H1", "R1", 1, "c", "r25"),  # position 1 used twice
        ("H1", "R1", 0, "c", "r25"),  # position out of range
        ("H1", "R1", 5, "c", "r25"),  # beyond 4 positions
        ("H1", "R2", 1.5, "c", "r25"),  # not an integer
        ("H1", "R2", "x", "c", "r25"),  # not a number
        ("H1", "R2", 2, "c", "other"),  # model is not the cluster's
        ("H1", "R9", 1, "c", "r25"),  # no such row
        ("H1", "R2", 3, "zz", "r25"),  # no such cluster
    )
    v = verify(site, p)
    assert all(x.rule == "placement" for x in v)  # R1 holds 4 lines in 4 positions
    assert [(x.where, x.limit) for x in v] == [
        ("H1/R9", 0.0),
        ("zz", 0.0),
        ("c", 0.0),
        ("H1/R1", 4.0),
        ("H1/R1", 4.0),
        ("H1/R2", 4.0),
        ("H1/R2", 4.0),
        ("H1/R1", 1.0),
    ]
    loads = [x.load for x in v]
    assert loads[:6] == [1.0, 1.0, 1.0, 0.0, 5.0, 1.5] and np.isnan(loads[6])
    assert loads[7] == 2.0
    assert [x.message for x in v] == [
        "H1/R9: row not in rows.csv (1 rack placed there)",
        "zz: cluster not in demand.csv (1 rack placed)",
        "c: 1 rack of model 'other', the cluster's model is 'r25'",
        "H1/R1: position 0 (cluster c) is not an integer in 1..4",
        "H1/R1: position 5 (cluster c) is not an integer in 1..4",
        "H1/R2: position 1.5 (cluster c) is not an integer in 1..4",
        "H1/R2: position 'x' (cluster c) is not an integer in 1..4",
        "H1/R1: position 1 used by 2 racks",
    ]


def test_placements_without_a_required_column_are_refused():
    with pytest.raises(ValueError, match="position"):
        verify(simple_site(), pd.DataFrame(columns=["hall", "row", "cluster", "model"]))


def test_empty_plan_is_valid_without_minimums():
    assert verify(simple_site(), lines()) == []


def test_space():
    site = simple_site()
    p = lines(*[("H1", "R1", i, "c", "r25") for i in range(1, 6)])
    v = verify(site, p)
    assert only(v, "space") == [("H1/R1", 5.0, 4.0, None)]
    assert [x.rule for x in v] == ["placement", "space"]  # position 5 of 4, then space


def test_fit_power_weight_and_liquid():
    site = simple_site(
        rows=[
            row("H1", "R1", "P", max_rack_kw=20.0),
            row("H1", "R2", "P", max_rack_kg=900.0),
            row("H1", "R3", "P"),
            row("H1", "R4", "P", liquid=True, max_rack_kw=60.0, max_rack_kg=2000.0),
        ],
        models=[rack("wet", 60.0, liquid_fraction=0.8, weight_kg=1500.0)],
    )
    v = verify(site, plan(site, {("c", "H1", r): 1 for r in ("R1", "R2", "R3", "R4")}))
    assert only(v, "fit") == [
        ("H1/R1", 60.0, 20.0, None),
        ("H1/R1", 0.8, 0.0, None),
        ("H1/R2", 1500.0, 900.0, None),
        ("H1/R2", 0.8, 0.0, None),
        ("H1/R3", 0.8, 0.0, None),
    ]
    assert v[0].message == "H1/R1: cluster c rack 60.0 kW > max_rack_kw 20.0"


def test_demand_min_and_max():
    site = simple_site(
        models=[rack()],
        demand=[
            Cluster(cluster="lo", model="r25", min_racks=3),
            Cluster(cluster="hi", model="r25", max_racks=1),
        ],
    )
    v = verify(site, plan(site, {("lo", "H1", "R1"): 2, ("hi", "H1", "R2"): 2}))
    assert only(v, "demand") == [("lo", 2.0, 3.0, None), ("hi", 2.0, 1.0, None)]


def test_colocation_hall_and_pod():
    site = simple_site(
        rows=[
            row("H1", "R1", "P", pod="P1"),
            row("H2", "R1", "P", pod="P2"),
            row("H2", "R2", "P", pod="P2"),
            row("H2", "R3", "P"),
        ],
        pods=[Pod(pod="P1", ports=100), Pod(pod="P2", ports=100)],
        demand=[
            Cluster(cluster="h", model="r25", colocate="hall"),
            Cluster(cluster="p", model="r25", colocate="pod"),
            Cluster(cluster="ok", model="r25", colocate="hall"),
        ],
    )
    counts = {
        ("h", "H1", "R1"): 1,
        ("h", "H2", "R1"): 1,  # two halls
        ("p", "H1", "R1"): 1,
        ("p", "H2", "R2"): 2,
        ("p", "H2", "R3"): 3,  # 2 pods + podless
        ("ok", "H2", "R1"): 1,
        ("ok", "H2", "R3"): 1,  # one hall: fine
    }
    v = verify(site, plan(site, counts))
    assert only(v, "colocation") == [
        ("h", 2.0, 1.0, None),
        ("p", 2.0, 1.0, None),
        ("p", 3.0, 0.0, None),
    ]
    assert v[0].message == "h: racks in 2 halls (H1, H2), colocate=hall allows 1"


def test_cooling_per_hall_and_medium():
    """Hall H1 air: 2 * (3 - 1) * 30 = 120 kW of capacity; 5 racks * 25 kW * 0.6 = 75 kW
    liquid into (2 - 0) * 40 = 80, air 5 * 25 * 0.4 = 50 <= 120. Hall H2 has no liquid
    line: capacity 0."""
    site = simple_site(
        rows=[
            row("H1", "R1", "P", liquid=True, positions=10),
            row("H2", "R1", "P", liquid=True, positions=10),
        ],
        models=[rack("r25", 25.0, liquid_fraction=0.6)],
        cooling=[
            CoolingLine(hall="H1", medium="air", units=3, unit_kw=30, spares=1),
            CoolingLine(hall="H1", medium="air", units=3, unit_kw=30, spares=1),
            CoolingLine(hall="H1", medium="liquid", units=2, unit_kw=40),
            CoolingLine(hall="H2", medium="air", units=1, unit_kw=1000),
        ],
    )
    assert verify(site, plan(site, {("c", "H1", "R1"): 5})) == []
    v = verify(site, plan(site, {("c", "H1", "R1"): 6, ("c", "H2", "R1"): 1}))
    assert only(v, "cooling") == [
        ("hall H1 liquid", 90.0, 80.0, None),
        ("hall H2 liquid", 15.0, 0.0, None),
    ]
    assert v[0].message == "hall H1 liquid: 90.0 kW of heat > capacity 80.0 kW"


def test_network_per_pod_and_podless_rows_unconstrained():
    site = simple_site(
        rows=[row("H1", "R1", "P", pod="P1"), row("H1", "R2", "P")],
        models=[rack(ports=36)],
        pods=[Pod(pod="P1", ports=100)],
    )
    assert verify(site, plan(site, {("c", "H1", "R1"): 2, ("c", "H1", "R2"): 40})) == []
    v = verify(site, plan(site, {("c", "H1", "R1"): 3}))
    assert only(v, "network") == [("P1", 108.0, 100.0, None)]


@pytest.mark.parametrize(
    ("overhead", "design_temp_c", "per_rack_kw"),
    [
        # 30 °C is halfway between 20 and 40: air 0.2, liquid 0.1: 100 + 50*0.2 + 50*0.1
        ([(20, 0.1, 0.05), (40, 0.3, 0.15)], 30.0, 115.0),
        ([(20, 0.1, 0.05), (40, 0.3, 0.15)], 50.0, 122.5),  # flat beyond the last point
        ([(20, 0.1, 0.05), (40, 0.3, 0.15)], 0.0, 107.5),  # flat before the first
        ([], 30.0, 150.0),  # no overhead.csv: pue 1.5 - 1 for both media
    ],
)
def test_grid_at_the_design_temperature(overhead, design_temp_c, per_rack_kw):
    site = simple_site(
        rows=[row("H1", "R1", "P", liquid=True)],
        models=[rack("half", 100.0, liquid_fraction=0.5)],
        overhead=[
            OverheadPoint(temp_c=t, air_overhead=a, liquid_overhead=q) for t, a, q in overhead
        ],
        design_temp_c=design_temp_c,
        pue=1.5,
        fixed_overhead_kw=10.0,
        grid_limit_kw=2 * per_rack_kw - 40.0,
        onsite_firm_kw=30.0,
    )
    v = verify(site, plan(site, {("c", "H1", "R1"): 2}))
    assert only(v, "grid") == [
        ("site", pytest.approx(2 * per_rack_kw + 10.0), 2 * per_rack_kw - 10.0, None)
    ]
    assert verify(site, plan(site, {("c", "H1", "R1"): 1})) == []


def test_violation_is_frozen_and_prints_its_message():
    v = Violation("grid", "site", 2.0, 1.0, None, "site: too much")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.load = 0.0  # type: ignore[misc]
    assert str(v) == "site: too much"


# -- N-1 power against a naive re-computation, on random forests ----------------------------


def naive_power(
    site: Site, racks: dict[tuple[str, str, str], int]
) -> tuple[dict[str, float], dict[str, float]]:
    """Normal and worst load per device, scenario by scenario, straight from contract §6."""
    parent = {d.device: d.parent for d in site.devices}

    def path(x: str) -> set[str]:
        out: set[str] = set()
        while x is not None and x not in out:
            out.add(x)
            x = parent[x]  # type: ignore[assignment]
        return out

    model = {m.model: m for m in site.models}
    cmodel = {c.cluster: model[c.model] for c in site.demand}
    row_kw: dict[tuple[str, str], float] = {}
    for (c, h, r), n in racks.items():
        row_kw[(h, r)] = row_kw.get((h, r), 0.0) + n * cmodel[c].design_kw
    loads_by: dict[str | None, dict[str, float]] = {}
    for x in [None, *parent]:
        load = dict.fromkeys(parent, 0.0)
        for rw in site.rows:
            kw = row_kw.get(rw.id, 0.0)
            pa = path(rw.feed_a)
            pb = path(rw.feed_b) if rw.feed_b else None
            if pb is None:
                if x not in pa:
                    for d in pa:
                        load[d] += kw
                continue
            in_a, in_b = x in pa, x in pb
            if in_a and in_b:
                continue
            if in_a:
                for d in pb:
                    load[d] += kw
            elif in_b:
                for d in pa:
                    load[d] += kw
            else:
                for d in pa:
                    load[d] += kw / 2
                for d in pb:
                    load[d] += kw / 2
        if x is not None:
            load[x] = 0.0
        loads_by[x] = load
    normal = loads_by[None]
    worst = {d: max(s[d] for s in loads_by.values()) for d in parent}
    return normal, worst


@st.composite
def random_power_sites(draw):
    devices = power_tree(draw, 7, [10.0, 40.0, 75.0, 150.0, 400.0])
    n_dev = len(devices)
    n_rows = draw(st.integers(1, 5))
    rows, racks = [], {}
    for j in range(n_rows):
        a = draw(st.integers(0, n_dev - 1))
        b = draw(st.one_of(st.none(), st.integers(0, n_dev - 1)))
        rows.append(row("H", f"R{j}", f"D{a}", None if b is None else f"D{b}"))
        racks[("c", "H", f"R{j}")] = draw(st.integers(0, 6))
    site = make_site(rows=rows, devices=devices, models=[rack("m", 12.5)])
    return site, racks


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_power_sites())
def test_power_matches_a_naive_scenario_by_scenario_computation(case):
    site, racks = case
    p = plan(site, racks)
    normal, worst = naive_power(site, racks)
    loads = power_loads(site, p).set_index("device")
    for d in normal:
        assert loads.loc[d, "normal_kw"] == pytest.approx(normal[d], abs=1e-9)
        assert loads.loc[d, "worst_kw"] == pytest.approx(worst[d], abs=1e-9)
    limit = {x.device: x.capacity_kw * x.derate for x in site.devices}
    over = {d for d in normal if worst[d] > limit[d] + 1e-6}
    assert {v.where for v in verify(site, p) if v.rule == "power"} == over


# -- scale ------------------------------------------------------------------------------------


def big_site(halls: int = 8, rows_per_hall: int = 20, positions: int = 20) -> Site:
    """Like a large campus: per hall two 2N UPS lines under two substations, and per row an
    A-side and B-side PDU (2 * 160 rows + 8*4 UPS + 2 roots ~ 354 devices; more with
    the busways below), 3,200 positions."""
    devices = [dev("SUB-A", 1e6), dev("SUB-B", 1e6)]
    rows = []
    for h in range(halls):
        for side in "AB":
            for u in range(2):
                devices.append(dev(f"H{h}-UPS-{side}{u}", 2500, f"SUB-{side}"))
        for r in range(rows_per_hall):
            u = r % 2
            for side in "AB":
                devices.append(dev(f"H{h}-BW-{side}{r}", 600, f"H{h}-UPS-{side}{u}", 0.8))
                devices.append(dev(f"H{h}-PDU-{side}{r}", 300, f"H{h}-BW-{side}{r}", 0.8))
            rows.append(
                row(f"H{h}", f"R{r}", f"H{h}-PDU-A{r}", f"H{h}-PDU-B{r}", positions=positions)
            )
    return make_site(rows=rows, devices=devices, models=[rack("m", 12.0)])


def test_verify_is_fast_at_campus_scale():
    site = big_site()
    assert len(site.devices) > 600
    counts = {("c", r.hall, r.row): 20 for r in site.rows}
    p = plan(site, counts)
    assert len(p) == 3200
    start = time.perf_counter()
    v = verify(site, p)
    elapsed = time.perf_counter() - start
    # each PDU: 20 * 12 = 240 kW after its partner fails > 300 * 0.8 = 240? equal: fits
    assert v == []
    assert elapsed < 5.0
