"""First fit: what a DCIM tool does. Its plans always pass the verifier (except `min_racks`,
which it does not enforce), no rack could be added to them, and it can be far from optimal."""

from __future__ import annotations

import time

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_sites import dev, make_site, power_tree, rack, row

from optimizer.baseline import first_fit
from optimizer.layout import counts_from_placements, placements_from_counts
from optimizer.schema import Cluster, CoolingLine, OverheadPoint, Pod, Site
from optimizer.verify import Violation, verify


def racks_by_row(placements: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    return counts_from_placements(placements)


def gpus(site: Site, placements: pd.DataFrame) -> float:
    value = {c.cluster: c.value for c in site.demand}
    per_rack = {m.model: m.gpus for m in site.models}
    return float(
        sum(
            per_rack[m] * value[c]
            for c, m in zip(placements["cluster"], placements["model"], strict=True)
        )
    )


# -- hand cases ---------------------------------------------------------------------------


def test_2n_first_fit_fills_row_after_row_up_to_the_n1_limit():
    """UPS-A and UPS-B, 1,200 kW each, feed two 30-position rows; 25 kW racks. R1 fills
    (30 racks, 750 kW on the survivor after a failure); R2 takes 18 more: 25 * 48 = 1,200."""
    site = make_site(
        rows=[
            row("H1", "R1", "UPS-A", "UPS-B", positions=30),
            row("H1", "R2", "UPS-A", "UPS-B", positions=30),
        ],
        devices=[dev("UPS-A", 1200), dev("UPS-B", 1200)],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("c", "H1", "R1"): 30, ("c", "H1", "R2"): 18}
    assert verify(site, p) == []
    assert list(p.columns) == ["hall", "row", "position", "cluster", "model"]
    assert p["position"].tolist() == list(range(1, 31)) + list(range(1, 19))


def block3_site() -> Site:
    return make_site(
        rows=[
            row("H", "R12", "U1", "U2", positions=20),
            row("H", "R23", "U2", "U3", positions=20),
            row("H", "R31", "U3", "U1", positions=20),
        ],
        devices=[dev("U1", 400), dev("U2", 400), dev("U3", 400)],
    )


def test_first_fit_is_worse_than_optimal_on_block_redundant_ups():
    """Three 400 kW UPS; rows fed (U1,U2), (U2,U3), (U3,U1); 25 kW racks.

    The optimum is 31 racks, e.g. (11, 10, 10): when U1 fails, U2 carries all of R12 and
    half of R23, 25 * (11 + 10/2) = 400, and likewise for every failure and survivor;
    summing the six such inequalities bounds the total by 32, which no integer point meets.

    First fit fills R12 first. With R23 and R31 empty, U1 failing puts all of R12 on U2:
    25 * n12 <= 400, so R12 stops at 16. Then a rack in R23 adds 12.5 kW to U2 after U1
    fails (400 + 12.5 > 400), and a rack in R31 adds 12.5 kW to U1 after U2 fails: both
    refuse. First fit ends at 16 racks, about half of the optimum."""
    site = block3_site()
    p = first_fit(site)
    assert racks_by_row(p) == {("c", "H", "R12"): 16}
    assert verify(site, p) == []
    optimum = placements_from_counts(
        site, {("c", "H", "R12"): 11, ("c", "H", "R23"): 10, ("c", "H", "R31"): 10}
    )
    assert verify(site, optimum) == []
    assert len(p) == 16 < len(optimum) == 31


def test_first_fit_is_worse_than_optimal_when_an_early_cluster_takes_the_liquid_row():
    """Rows L (liquid, 4 positions) then A (air, 4 positions). Cluster `air` (8 GPUs, max 4)
    comes first in demand.csv and fits both rows, so first fit puts its 4 racks in L. Cluster
    `wet` (72 GPUs, liquid) then finds L full and A without liquid: 4 * 8 = 32 GPUs.
    The optimum puts `air` in A and `wet` in L: 32 + 4 * 72 = 320 GPUs."""
    site = make_site(
        rows=[row("H", "L", "P", positions=4, liquid=True), row("H", "A", "P", positions=4)],
        devices=[dev("P", 1e4)],
        models=[rack("air8", 20.0, gpus=8), rack("wet72", 120.0, gpus=72, liquid_fraction=0.8)],
        demand=[
            Cluster(cluster="air", model="air8", max_racks=4),
            Cluster(cluster="wet", model="wet72"),
        ],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("air", "H", "L"): 4}
    assert gpus(site, p) == 32
    optimum = placements_from_counts(site, {("air", "H", "A"): 4, ("wet", "H", "L"): 4})
    assert verify(site, optimum) == [] and gpus(site, optimum) == 320


def test_single_corded_rows_and_a_shared_root():
    """SUB (150 kW) is on both paths of the dual row D and on the path of the single row S.
    S (PDU-1 under UPS-A, 100 kW) fills to 4 racks = 100 kW. D: when UPS-B fails, UPS-A
    carries S + all of D <= 200, so D <= 4 racks; SUB carries S + D <= 150: D <= 2 racks."""
    site = make_site(
        rows=[row("H", "S", "PDU-1", positions=10), row("H", "D", "UPS-A", "UPS-B", positions=10)],
        devices=[
            dev("SUB", 150),
            dev("UPS-A", 200, "SUB"),
            dev("UPS-B", 200, "SUB"),
            dev("PDU-1", 100, "UPS-A"),
        ],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("c", "H", "S"): 4, ("c", "H", "D"): 2}
    assert verify(site, p) == []


def test_derate_and_max_racks():
    site = make_site(
        rows=[row("H", "R", "PDU", positions=10)],
        devices=[dev("PDU", 100, derate=0.8)],
        models=[rack("r20", 20.0)],
        demand=[Cluster(cluster="a", model="r20", max_racks=1), Cluster(cluster="b", model="r20")],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("a", "H", "R"): 1, ("b", "H", "R"): 3}  # 80 kW usable


def test_min_racks_is_not_enforced_and_the_verifier_says_so():
    """The first cluster takes all 4 positions; the second wants 2 and gets none."""
    site = make_site(
        rows=[row("H", "R", "P", positions=4)],
        devices=[dev("P", 1e4)],
        demand=[Cluster(cluster="a", model="r25"), Cluster(cluster="b", model="r25", min_racks=2)],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("a", "H", "R"): 4}
    assert [(v.rule, v.where, v.load, v.limit) for v in verify(site, p)] == [
        ("demand", "b", 0.0, 2.0)
    ]
    # With minimums first, b gets its 2 racks first and a fills the rest.
    p = first_fit(site, minimums_first=True)
    assert racks_by_row(p) == {("a", "H", "R"): 2, ("b", "H", "R"): 2}
    assert verify(site, p) == []


def test_the_first_row_chosen_fixes_the_hall_of_a_colocated_cluster():
    site = make_site(
        rows=[
            row("H1", "R1", "P", positions=2),
            row("H2", "R1", "P", positions=10),
            row("H1", "R2", "P", positions=3),
        ],
        devices=[dev("P", 1e4)],
        demand=[
            Cluster(cluster="c", model="r25", colocate="hall"),
            Cluster(cluster="d", model="r25", max_racks=1),
        ],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("c", "H1", "R1"): 2, ("c", "H1", "R2"): 3, ("d", "H2", "R1"): 1}


def test_minimums_first_puts_a_colocated_minimum_in_the_first_hall_that_takes_all_of_it():
    """c (colocate hall, min 5): H1 has 2 positions, H2 has 10. Plain first fit fixes H1 with
    its first rack and ends at 2 racks, short of the minimum; with minimums first, the
    minimum goes to H2, the first hall where all 5 fit, and the second pass fills H2 up."""
    site = make_site(
        rows=[row("H1", "R1", "P", positions=2), row("H2", "R1", "P", positions=10)],
        devices=[dev("P", 1e4)],
        demand=[Cluster(cluster="c", model="r25", colocate="hall", min_racks=5)],
    )
    assert racks_by_row(first_fit(site)) == {("c", "H1", "R1"): 2}
    p = first_fit(site, minimums_first=True)
    assert racks_by_row(p) == {("c", "H2", "R1"): 10}
    assert verify(site, p) == []


def test_minimums_first_keeps_plain_first_fit_when_no_hall_takes_the_whole_minimum():
    site = make_site(
        rows=[row("H1", "R1", "P", positions=2), row("H2", "R1", "P", positions=3)],
        devices=[dev("P", 1e4)],
        demand=[Cluster(cluster="c", model="r25", colocate="hall", min_racks=5)],
    )
    assert racks_by_row(first_fit(site, minimums_first=True)) == {("c", "H1", "R1"): 2}


def test_pod_colocation_skips_rows_without_a_pod_and_respects_ports():
    """R0 has no pod; P1 has 100 ports = 2 racks of 36 ports; then the pod is fixed."""
    site = make_site(
        rows=[
            row("H", "R0", "P", positions=5),
            row("H", "R1", "P", positions=5, pod="P1"),
            row("H", "R2", "P", positions=5, pod="P2"),
        ],
        devices=[dev("P", 1e4)],
        models=[rack(ports=36)],
        pods=[Pod(pod="P1", ports=100), Pod(pod="P2", ports=1000)],
        demand=[Cluster(cluster="c", model="r25", colocate="pod")],
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("c", "H", "R1"): 2}
    assert verify(site, p) == []


def test_cooling_and_grid_stop_first_fit():
    """Air cooling (3 - 1) * 50 = 100 kW in H1 stops the 5th 25 kW rack there; H2 then
    takes racks until the grid (pue 1.2: 30 kW per rack, 10 kW fixed) stops at 200 kW:
    10 + 30 * n <= 200, n <= 6, so 2 racks in H2."""
    site = make_site(
        rows=[row("H1", "R", "P"), row("H2", "R", "P")],
        devices=[dev("P", 1e4)],
        cooling=[
            CoolingLine(hall="H1", medium="air", units=3, unit_kw=50, spares=1),
            CoolingLine(hall="H2", medium="air", units=1, unit_kw=1000),
        ],
        pue=1.2,
        fixed_overhead_kw=10.0,
        grid_limit_kw=200.0,
    )
    p = first_fit(site)
    assert racks_by_row(p) == {("c", "H1", "R"): 4, ("c", "H2", "R"): 2}
    assert verify(site, p) == []


def test_fit_is_respected():
    site = make_site(
        rows=[
            row("H", "A", "P", max_rack_kw=20.0),
            row("H", "B", "P", max_rack_kg=900.0),
            row("H", "C", "P", positions=3, liquid=True),
        ],
        devices=[dev("P", 1e4)],
        models=[rack(liquid_fraction=0.5)],
    )
    assert racks_by_row(first_fit(site)) == {("c", "H", "C"): 3}


# -- properties on random small sites --------------------------------------------------------


@st.composite
def random_sites(draw: st.DrawFn) -> Site:
    devices = power_tree(draw, 6, [0.0, 40.0, 75.0, 150.0, 400.0, 2000.0, 2000.0])
    n_dev = len(devices)
    halls = ["H1", "H2"][: draw(st.integers(1, 2))]
    pods = ["P1", "P2"]
    rows = []
    for j in range(draw(st.integers(1, 5))):
        a = draw(st.integers(0, n_dev - 1))
        b = draw(st.one_of(st.none(), st.integers(0, n_dev - 1)))
        rows.append(
            row(
                draw(st.sampled_from(halls)),
                f"R{j}",
                f"D{a}",
                None if b is None else f"D{b}",
                positions=draw(st.integers(0, 6)),
                max_rack_kw=draw(st.sampled_from([None, None, 10.0, 30.0])),
                max_rack_kg=draw(st.sampled_from([None, None, 900.0])),
                liquid=draw(st.booleans()),
                pod=draw(st.sampled_from([None, *pods])),
            )
        )
    models = [
        rack(
            f"m{k}",
            draw(st.sampled_from([0.0, 5.0, 10.0, 17.5, 25.0, 40.0])),
            liquid_fraction=draw(st.sampled_from([0.0, 0.0, 0.5, 1.0])),
            weight_kg=draw(st.sampled_from([500.0, 1200.0])),
            ports=draw(st.integers(0, 4)),
        )
        for k in range(draw(st.integers(1, 3)))
    ]
    demand = []
    for k in range(draw(st.integers(1, 3))):
        most = draw(st.one_of(st.none(), st.integers(0, 8)))
        demand.append(
            Cluster(
                cluster=f"c{k}",
                model=draw(st.sampled_from([m.model for m in models])),
                min_racks=draw(st.integers(0, 3 if most is None else min(3, most))),
                max_racks=most,
                colocate=draw(st.sampled_from(["none", "hall", "pod"])),
            )
        )
    cooling = [
        CoolingLine(
            hall=h,
            medium=m,
            units=draw(st.integers(0, 3)),
            unit_kw=draw(st.sampled_from([20.0, 50.0, 200.0, 1000.0])),
            spares=draw(st.integers(0, 1)),
        )
        for h in halls
        for m in ("air", "liquid")
        if draw(st.integers(0, 4)) > 0
    ]
    overhead = draw(
        st.sampled_from(
            [
                [],
                [
                    OverheadPoint(temp_c=20, air_overhead=0.2, liquid_overhead=0.05),
                    OverheadPoint(temp_c=40, air_overhead=0.5, liquid_overhead=0.1),
                ],
            ]
        )
    )
    return make_site(
        rows=rows,
        devices=devices,
        models=models,
        demand=demand,
        cooling=cooling,
        pods=[Pod(pod=p, ports=draw(st.integers(0, 30))) for p in pods],
        overhead=overhead,
        design_temp_c=draw(st.sampled_from([25.0, 35.0, 45.0])),
        grid_limit_kw=draw(st.sampled_from([100.0, 300.0, 1e4, 1e4])),
        fixed_overhead_kw=draw(st.sampled_from([0.0, 20.0])),
    )


def short_of_a_minimum(v: Violation) -> bool:
    return v.rule == "demand" and v.load < v.limit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_sites(), st.booleans())
def test_first_fit_never_violates_the_verifier_and_no_rack_can_be_added(site, minimums_first):
    """Every violation of a first-fit plan is a cluster short of its `min_racks`, and every
    further rack of a cluster below its `max_racks`, in any row, breaks some other limit."""
    p = first_fit(site, minimums_first=minimums_first)
    assert all(short_of_a_minimum(v) for v in verify(site, p))
    counts = counts_from_placements(p)
    for cluster in site.demand:
        placed = sum(n for (c, _, _), n in counts.items() if c == cluster.cluster)
        if cluster.max_racks is not None and placed >= cluster.max_racks:
            continue
        for r in site.rows:
            more = dict(counts)
            key = (cluster.cluster, r.hall, r.row)
            more[key] = more.get(key, 0) + 1
            broken = verify(site, placements_from_counts(site, more))
            assert [v for v in broken if not short_of_a_minimum(v)], (cluster, r)


# -- scale ------------------------------------------------------------------------------------


def test_first_fit_is_fast_at_campus_scale():
    """8 halls x 20 rows x 20 positions (3,200) under ~1,000 devices, with UPS that run out
    before the rows do, so first fit meets many refusals."""
    devices = [dev("SUB-A", 1e5), dev("SUB-B", 1e5)]
    rows = []
    for h in range(8):
        for side in "AB":
            for u in range(4):
                devices.append(dev(f"H{h}-UPS-{side}{u}", 1000, f"SUB-{side}"))
        for r in range(20):
            u = r % 4
            for side in "AB":
                devices.append(dev(f"H{h}-BW-{side}{r}", 600, f"H{h}-UPS-{side}{u}", 0.8))
                devices.append(dev(f"H{h}-PDU-{side}{r}", 300, f"H{h}-BW-{side}{r}", 0.8))
                devices.append(dev(f"H{h}-RPP-{side}{r}", 300, f"H{h}-PDU-{side}{r}"))
            rows.append(row(f"H{h}", f"R{r}", f"H{h}-RPP-A{r}", f"H{h}-RPP-B{r}", positions=20))
    site = make_site(
        rows=rows,
        devices=devices,
        models=[rack("big", 40.0), rack("small", 12.0)],
        demand=[
            Cluster(cluster="big", model="big", max_racks=600),
            Cluster(cluster="small", model="small"),
        ],
    )
    assert len(site.devices) >= 1000 and sum(r.positions for r in site.rows) == 3200
    start = time.perf_counter()
    p = first_fit(site)
    elapsed = time.perf_counter() - start
    assert verify(site, p) == []
    assert elapsed < 10.0
