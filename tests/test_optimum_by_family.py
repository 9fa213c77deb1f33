"""One hand-checkable site per constraint family of the contract (§1-7 and the objective):
the optimum is worked out in each test's docstring, the test asserts it exactly and that the
limit in question is the one that binds. Then the bundled example sites."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sites import cool, dev, make_site, overhead, rack, row, want, weather

from optimizer.api import plan
from optimizer.errors import InfeasibleError
from optimizer.schema import Site
from optimizer.tables import Plan
from optimizer.verify import verify

DATA = Path(__file__).resolve().parents[1] / "data"


def solved(site: Site, **options: Any) -> Plan:
    """The plan, checked to be optimal and valid by the independent verifier."""
    p = plan(site, **options)
    assert p.status == "optimal"
    assert verify(p.site, p.placements) == []
    return p


def racks_in(p: Plan) -> dict[str, int]:
    """Racks per row id `hall/row` (rows with racks only)."""
    return {f"{h}/{r}": n for (h, r), n in p.placements.groupby(["hall", "row"]).size().items()}


def table_row(table: Any, **key: Any) -> dict[str, Any]:
    sel = table
    for k, v in key.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, f"no single line {key} in\n{table}"
    return sel.iloc[0].to_dict()


def limited_by(p: Plan, cluster: str = "c") -> str:
    return str(table_row(p.clusters, cluster=cluster)["limited_by"])


# -- 1 space ------------------------------------------------------------------------------


def test_space_positions_bind():
    """Rows of 3 and 4 positions, 8-GPU racks, nothing else limits: 3 + 4 = 7 racks,
    56 GPUs; both rows are full."""
    site = make_site(rows=[row("H", "R1", positions=3), row("H", "R2", positions=4)])
    p = solved(site)
    assert (p.summary["objective"], p.summary["gpus"], p.summary["racks"]) == (56, 56, 7)
    assert racks_in(p) == {"H/R1": 3, "H/R2": 4}
    assert p.rows["binding"].tolist() == [True, True]
    assert limited_by(p).startswith("space")


# -- 2 fit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "unfit", "fit"),
    [
        ("max_rack_kw", {"max_rack_kw": 24.9}, {"max_rack_kw": 25.0}),
        ("max_rack_kg", {"max_rack_kg": 999.0}, {"max_rack_kg": 1000.0}),
        ("liquid", {"liquid": False}, {"liquid": True}),
    ],
)
def test_fit_rule_keeps_racks_out_of_a_row(rule, unfit, fit):
    """A 25 kW, 1,000 kg rack with half its heat to liquid. Row R1 (10 positions) fails one
    fit rule by a hair (24.9 kW per position, 999 kg, or no facility water); row R2
    (3 positions) meets it exactly (25 kW and 1,000 kg are allowed: the rule is ≤). So the
    racks stand in R2 only: 3 racks, 24 GPUs, although R1 has 10 free positions."""
    model = rack(design_kw=25, weight_kg=1000, liquid_fraction=0.5)
    base = {"liquid": True}
    site = make_site(
        rows=[
            row("H", "R1", positions=10, **{**base, **unfit}),
            row("H", "R2", positions=3, **{**base, **fit}),
        ],
        demand=[want("c", model)],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (24, 3)
    assert racks_in(p) == {"H/R2": 3}
    assert limited_by(p) == "space (space H/R2)"  # R1 is not even a candidate


# -- 3 demand: min / max racks ------------------------------------------------------------


def test_max_racks_binds():
    """40 positions but max_racks = 4: 4 racks, 32 GPUs."""
    site = make_site(rows=[row("H", "R1")], demand=[want("c", max_racks=4)])
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (32, 4)
    assert limited_by(p) == "max_racks"


def test_min_racks_forces_a_less_valuable_cluster_in():
    """10 positions shared by `big` (16 GPUs a rack) and `small` (8 GPUs, min_racks 3).
    Without the minimum the optimum is 10 big racks (160 GPUs); with it, small must get
    exactly 3 (more would only cost) and big the other 7: 7 * 16 + 3 * 8 = 136 GPUs."""
    site = make_site(
        rows=[row("H", "R1", positions=10)],
        demand=[want("big", rack("r16", gpus=16)), want("small", rack("r8"), min_racks=3)],
    )
    p = solved(site)
    assert (p.summary["objective"], p.summary["gpus"], p.summary["racks"]) == (136, 136, 10)
    placed = dict(zip(p.clusters["cluster"], p.clusters["placed_racks"], strict=True))
    assert placed == {"big": 7, "small": 3}
    free = make_site(
        rows=[row("H", "R1", positions=10)],
        demand=[want("big", rack("r16", gpus=16)), want("small", rack("r8"))],
    )
    assert solved(free).summary["gpus"] == 160


# -- 3 demand: colocation ------------------------------------------------------------------


def test_colocation_in_one_hall_costs_gpus():
    """Hall H1 has a row of 4 positions, hall H2 two rows of 2 and 1. Without colocation the
    cluster fills all 7 positions (56 GPUs); colocated by hall it gets the best single hall:
    max(4, 2 + 1) = 4 racks, 32 GPUs, all in H1."""
    rows = [
        row("H1", "A", positions=4),
        row("H2", "B", positions=2),
        row("H2", "C", positions=1),
    ]
    free = solved(make_site(rows=rows, demand=[want("c", colocate="none")]))
    assert (free.summary["gpus"], free.summary["racks"]) == (56, 7)
    p = solved(make_site(rows=rows, demand=[want("c", colocate="hall")]))
    assert (p.summary["gpus"], p.summary["racks"]) == (32, 4)
    assert racks_in(p) == {"H1/A": 4}
    assert "colocation" in limited_by(p)


def test_colocation_in_one_pod_costs_gpus():
    """One hall; row A (3 positions) in pod P1, rows B and C (2 each) in pod P2, row D
    (5 positions) in no pod. Without colocation: 3 + 2 + 2 + 5 = 12 racks. Colocated by pod,
    the cluster may only use rows of one pod (a row without a pod does not count): the best
    pod is P2 with 2 + 2 = 4 racks, 32 GPUs."""
    rows = [
        row("H", "A", positions=3, pod="P1"),
        row("H", "B", positions=2, pod="P2"),
        row("H", "C", positions=2, pod="P2"),
        row("H", "D", positions=5),
    ]
    free = solved(make_site(rows=rows, demand=[want("c", colocate="none")]))
    assert free.summary["racks"] == 12
    p = solved(make_site(rows=rows, demand=[want("c", colocate="pod")]))
    assert (p.summary["gpus"], p.summary["racks"]) == (32, 4)
    assert racks_in(p) == {"H/B": 2, "H/C": 2}
    assert "colocation" in limited_by(p)


# -- 4 cooling ---------------------------------------------------------------------------


def test_air_cooling_with_spares_binds():
    """40 kW air racks, 40 positions. Hall H air: a line of 4 x 100 kW with 1 spare (300 kW)
    and a line of 2 x 50 kW with 1 spare (50 kW): 350 kW. 40 n ≤ 350 gives 8 racks
    (320 kW); counting the spares (500 kW) would give 12."""
    site = make_site(
        rows=[row("H", "R1")],
        demand=[want("c", rack(design_kw=40))],
        cooling=[cool("H", "air", 4, 100, spares=1), cool("H", "air", 2, 50, spares=1)],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (64, 8)
    air = table_row(p.cooling, hall="H", medium="air")
    assert (air["load_kw"], air["capacity_kw"], air["binding"]) == (320.0, 350.0, True)
    assert limited_by(p).startswith("cooling")


def test_liquid_cooling_with_spares_binds():
    """100 kW racks with liquid_fraction 0.8: 80 kW to liquid, 20 kW to air. Liquid: 3 CDUs
    of 250 kW with 1 spare = 500 kW, so 80 n ≤ 500 gives 6 racks (480 kW). Air is 1,000 kW
    (20 n ≤ 1,000 allows 50) and there are 40 positions, so liquid is what binds."""
    site = make_site(
        rows=[row("H", "R1", liquid=True)],
        demand=[want("c", rack(design_kw=100, liquid_fraction=0.8))],
        cooling=[cool("H", "liquid", 3, 250, spares=1), cool("H", "air", 1, 1000)],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (48, 6)
    liquid = table_row(p.cooling, hall="H", medium="liquid")
    air = table_row(p.cooling, hall="H", medium="air")
    assert (liquid["load_kw"], liquid["capacity_kw"], liquid["binding"]) == (480.0, 500.0, True)
    assert (air["load_kw"], air["binding"]) == (120.0, False)


# -- 5 network ---------------------------------------------------------------------------


def test_pod_ports_bind():
    """Racks of 32 ports in two rows of pod P (100 ports), 40 positions each:
    32 n ≤ 100 gives 3 racks (96 ports)."""
    site = make_site(
        rows=[row("H", "R1", pod="P"), row("H", "R2", pod="P")],
        demand=[want("c", rack(ports=32))],
        pods=[("P", 100)],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (24, 3)
    pod = table_row(p.pods, pod="P")
    assert (pod["ports_used"], pod["ports"], pod["binding"]) == (96, 100, True)
    assert limited_by(p).startswith("ports")


# -- 6 power -------------------------------------------------------------------------------


def test_normal_power_binds_on_a_single_fed_row():
    """Row R1 single-fed by PDU (110 kW) under ROOT (1,000 kW), 25 kW racks: 25 n ≤ 110
    gives 4 racks (100 kW). A failure only darkens the row, so the worst case is normal
    operation."""
    site = make_site(
        rows=[row("H", "R1", "PDU")],
        devices=[dev("ROOT", 1000), dev("PDU", 110, parent="ROOT")],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (32, 4)
    pdu = table_row(p.power, device="PDU")
    assert (pdu["normal_kw"], pdu["worst_kw"], pdu["worst_failure"]) == (100.0, 100.0, None)
    assert pdu["binding"] is True
    assert table_row(p.power, device="ROOT")["binding"] is False


def test_n1_binds_for_2n():
    """2N: rows R1, R2 (40 positions each) fed by UPS-A and UPS-B, 500 kW each, 25 kW racks.
    Normal operation: 12.5 n ≤ 500, n ≤ 40. After UPS-A fails UPS-B carries all:
    25 n ≤ 500, n ≤ 20. Optimum 20 racks; each UPS carries 250 kW normally (50%)."""
    site = make_site(
        rows=[row("H", "R1", "UPS-A", "UPS-B"), row("H", "R2", "UPS-A", "UPS-B")],
        devices=[dev("UPS-A", 500), dev("UPS-B", 500)],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (160, 20)
    for me, other in (("UPS-A", "UPS-B"), ("UPS-B", "UPS-A")):
        line = table_row(p.power, device=me)
        assert (line["normal_kw"], line["worst_kw"], line["worst_failure"]) == (250, 500, other)
        assert line["binding"] is True
    assert limited_by(p).startswith("power")


def block3_site(**kw: Any) -> Site:
    return make_site(
        rows=[row("H", "R12", "U1", "U2"), row("H", "R23", "U2", "U3"),
              row("H", "R31", "U3", "U1")],
        devices=[dev("U1", 400), dev("U2", 400), dev("U3", 400)],
        **kw,
    )  # fmt: skip


def test_n1_binds_for_block_redundant_three_ups():
    """Three 400 kW UPS, rows fed (U1,U2), (U2,U3), (U3,U1), 40 positions each, 25 kW racks
    (16 racks = 400 kW). When U1 fails, U2 carries all of row (U1,U2) and half of row
    (U2,U3): n12 + n23 / 2 ≤ 16, and likewise for each failure and survivor (6 rows).
    Each n appears with weight 1 in two of them and ½ in two: summing all six gives
    3 (n12 + n23 + n31) ≤ 96, at most 32 racks. 32 needs all six tight, which forces
    n12 = n23 = n31 = 32/3: not integer. (11, 10, 10) meets all six (U2 after U1 fails:
    11 + 5 = 16), so the optimum is 31 racks, 248 GPUs."""
    p = solved(block3_site())
    assert (p.summary["gpus"], p.summary["racks"]) == (248, 31)
    assert sorted(racks_in(p).values()) == [10, 10, 11]
    assert p.power["worst_kw"].max() == 400.0
    assert p.power["worst_failure"].notna().all()  # the worst case is always a failure
    assert p.power["normal_kw"].max() <= 0.5 * 25 * 21  # normal operation is far from binding


def test_derate_binds():
    """2N pair of 500 kW UPS with derate 0.8: 400 kW usable each. After either fails the
    other carries all: 25 n ≤ 400, 16 racks (20 without the derate)."""
    site = make_site(
        rows=[row("H", "R1", "A", "B")],
        devices=[dev("A", 500, derate=0.8), dev("B", 500, derate=0.8)],
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (128, 16)
    a = table_row(p.power, device="A")
    assert (a["limit_kw"], a["worst_kw"], a["utilization"], a["binding"]) == (400, 400, 1.0, True)


# -- 7 grid ---------------------------------------------------------------------------------


def test_grid_with_overhead_interpolated_at_design_temperature():
    """overhead.csv: 10 °C (0.1, 0.02), 20 °C (0.2, 0.05), 30 °C (0.4, 0.15); design 25 °C
    lies half-way between 20 and 30: air 0.3, liquid 0.1. A 100 kW rack with liquid
    fraction 0.5 draws 100 + 50 × 0.3 + 50 × 0.1 = 120 kW from the grid. Grid 1,250 kW:
    10 racks (1,200 kW). The interpolation matters: at 20 °C (112.5 kW a rack) 11 racks
    would fit, at 30 °C (127.5 kW) only 9. The weather (all 40 °C) plays no part, since
    design_temp_c is given."""
    site = make_site(
        rows=[row("H", "R1", liquid=True)],
        demand=[want("c", rack(design_kw=100, liquid_fraction=0.5))],
        grid_limit_kw=1250,
        design_temp_c=25,
        overhead=overhead((10, 0.1, 0.02), (20, 0.2, 0.05), (30, 0.4, 0.15)),
        weather=weather(40, 40),
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (80, 10)
    g = p.grid.iloc[0].to_dict()
    assert g["it_kw"] == 1000
    assert g["air_overhead_kw"] == pytest.approx(150)
    assert g["liquid_overhead_kw"] == pytest.approx(50)
    assert g["total_kw"] == pytest.approx(1200)
    assert (g["limit_kw"], g["binding"]) == (1250, True)
    assert limited_by(p) == "grid (grid)"


def test_firm_onsite_power_adds_to_the_grid_limit():
    """No overhead.csv, pue 1.25: a 40 kW air rack draws 50 kW. Grid 1,000 kW alone: 20
    racks; with 200 kW of firm on-site generation: 1,200 / 50 = 24 racks."""
    rows = [row("H", "R1")]
    demand = [want("c", rack(design_kw=40))]
    alone = solved(make_site(rows=rows, demand=demand, grid_limit_kw=1000, pue=1.25))
    assert alone.summary["racks"] == 20
    p = solved(make_site(rows=rows, demand=demand, grid_limit_kw=1000, onsite_firm_kw=200,
                         pue=1.25))  # fmt: skip
    assert (p.summary["gpus"], p.summary["racks"]) == (192, 24)
    g = p.grid.iloc[0].to_dict()
    assert (g["total_kw"], g["limit_kw"], g["utilization"], g["binding"]) == (1200, 1200, 1, True)


def test_fixed_overhead_takes_grid_capacity():
    """pue 1.25, 40 kW air racks at 50 kW from the grid each, grid 1,000 kW, fixed overhead
    130 kW: 50 n ≤ 870 gives 17 racks (850 + 130 = 980 kW); without the fixed overhead 20."""
    site = make_site(
        rows=[row("H", "R1")],
        demand=[want("c", rack(design_kw=40))],
        grid_limit_kw=1000,
        fixed_overhead_kw=130,
        pue=1.25,
    )
    p = solved(site)
    assert (p.summary["gpus"], p.summary["racks"]) == (136, 17)
    g = p.grid.iloc[0].to_dict()
    assert (g["fixed_overhead_kw"], g["total_kw"], g["binding"]) == (130, 980, True)


# -- objectives ------------------------------------------------------------------------------


def cost_site(**kw: Any) -> Site:
    return make_site(
        rows=[row("H", "R1", liquid=True)],
        demand=[
            want(
                "c",
                rack("r", design_kw=30, typical_kw=20, liquid_fraction=0.25, capex_usd=100_000),
                min_racks=3,
                max_racks=10,
            ),
            want("extra", rack("x", capex_usd=1)),
        ],  # fmt: skip
        objective="cost",
        energy_usd_per_kwh=0.10,
        fixed_overhead_kw=50,
        overhead=overhead((20, 0.2, 0.1), (30, 0.4, 0.2)),
        **kw,
    )


def test_cost_objective_with_hourly_overhead_from_weather():
    """Meet min_racks = 3 of `c` at least cost; `extra` has no minimum, so it stays out.
    One `c` rack: capex $100,000; typical 20 kW, liquid fraction 0.25. Weather: 15, 20, 25,
    35 °C. Overhead (air, liquid): 15 °C -> (0.2, 0.1) flat below 20; 20 -> (0.2, 0.1);
    25 -> (0.3, 0.15); 35 -> (0.4, 0.2) flat above 30. Per hour 1 + 0.75 air + 0.25 liquid:
    1.175, 1.175, 1.2625, 1.35, sum 4.9625; four hours scale to 8,760 (x 2,190):
    10,867.875 h. Energy: 0.10 $/kWh x 20 kW x 10,867.875 h = $21,735.75. A rack costs
    $121,735.75, three cost $365,207.25. The 50 kW fixed overhead is not in the cost, and
    design_temp_c (30) is not used when there is weather."""
    p = solved(cost_site(weather=weather(15, 20, 25, 35), design_temp_c=30))
    assert p.summary["objective"] == pytest.approx(365_207.25, rel=1e-9)
    assert (p.summary["racks"], p.summary["gpus"]) == (3, 24)
    placed = dict(zip(p.clusters["cluster"], p.clusters["placed_racks"], strict=True))
    assert placed == {"c": 3, "extra": 0}


def test_cost_objective_without_weather_uses_design_temperature():
    """No weather: 8,760 h at design_temp_c = 25 °C, overhead (0.3, 0.15): factor
    1 + 0.225 + 0.0375 = 1.2625; energy 0.10 x 20 x 1.2625 x 8,760 = $22,119; a rack
    $122,119; three $366,357."""
    p = solved(cost_site(design_temp_c=25))
    assert p.summary["objective"] == pytest.approx(366_357.0, rel=1e-9)
    assert p.summary["racks"] == 3


def test_value_weights_steer_the_gpus_objective():
    """10 positions; `a` 8 GPUs a rack at value 1 (8 a rack), `b` 4 GPUs at value 3
    (12 a rack), max_racks 6. Objective: 6 b + 4 a = 72 + 32 = 104, placing 24 + 32 = 56
    GPUs, although 10 `a` racks would place 80 GPUs (objective 80)."""
    site = make_site(
        rows=[row("H", "R1", positions=10)],
        demand=[
            want("a", rack("ra", gpus=8)),
            want("b", rack("rb", gpus=4), value=3, max_racks=6),
        ],
    )
    p = solved(site)
    assert (p.summary["objective"], p.summary["gpus"], p.summary["racks"]) == (104, 56, 10)
    weighted = dict(zip(p.clusters["cluster"], p.clusters["weighted_gpus"], strict=True))
    assert weighted == {"a": 32, "b": 72}


# -- infeasible ---------------------------------------------------------------------------


def test_infeasible_site_names_the_conflicting_limit_and_numbers():
    """min_racks 10 of 25 kW racks on a row single-fed by PDU (200 kW): they need 250 kW
    through PDU in normal operation, 50 kW more than its limit; space (40) and everything
    else are ample, so the power limit is the one conflict."""
    site = make_site(
        rows=[row("H", "R1", "PDU")],
        devices=[dev("PDU", 200)],
        demand=[want("c", min_racks=10)],
    )
    with pytest.raises(InfeasibleError) as err:
        plan(site)
    message = str(err.value)
    assert "PDU" in message
    assert "250" in message and "200" in message
    assert err.value.conflicts and len(err.value.conflicts) == 1


def test_infeasible_site_with_power_n1_conflict():
    """The 2N pair of 300 kW UPS allows 12 racks of 25 kW (N-1); min_racks 14 needs 350 kW
    on the survivor after the other fails."""
    site = make_site(
        rows=[row("H", "R1", "A", "B")],
        devices=[dev("A", 300), dev("B", 300)],
        demand=[want("c", min_racks=14)],
    )
    with pytest.raises(InfeasibleError) as err:
        plan(site)
    message = str(err.value)
    assert "fails" in message and "350" in message and "300" in message


# -- edge cases found by the property tests ---------------------------------------------------


@pytest.mark.parametrize("strategy", ["plain", "auto"])
def test_site_where_nothing_fits_gives_an_empty_optimal_plan(strategy):
    """The only cluster needs liquid and no row has it (a warning, not an error): the best
    plan places nothing, and that is optimal."""
    site = make_site(rows=[row("H", "R1")], demand=[want("c", rack(liquid_fraction=0.5))])
    p = plan(site, strategy=strategy)
    assert (p.status, p.summary["racks"], p.summary["objective"]) == ("optimal", 0, 0)


@pytest.mark.parametrize("strategy", ["plain", "auto"])
def test_pod_colocated_minimum_with_no_row_in_a_pod_is_infeasible(strategy):
    """`c` must have a rack, colocated by pod, but the only row is in no pod."""
    site = make_site(rows=[row("H", "R1")], demand=[want("c", min_racks=1, colocate="pod")])
    with pytest.raises(InfeasibleError, match="c"):
        plan(site, strategy=strategy)


@pytest.mark.parametrize("strategy", ["plain", "auto"])
def test_colocated_cluster_that_fits_nowhere_is_left_out(strategy):
    """`c1` (liquid, colocated by hall) fits no row; `c0` fills the 40 positions."""
    site = make_site(
        rows=[row("H", "R1")],
        demand=[want("c0"), want("c1", rack("l", liquid_fraction=0.5), colocate="hall")],
    )
    p = plan(site, strategy=strategy)
    assert (p.status, p.summary["racks"]) == ("optimal", 40)


# -- the bundled example sites ------------------------------------------------------------


def test_small_example_optimum():
    """data/small (README): 3 GB200 + 7 H100 + 1 storage rack = 440 GPUs, 11 racks."""
    p = solved(DATA / "small")
    assert (p.summary["objective"], p.summary["gpus"], p.summary["racks"]) == (440, 440, 11)


def test_block_redundant_example_optimum():
    """data/block-redundant (README): 42 + 4 + 2 racks, 2,688 GPUs; N-1 on the UPS blocks
    binds."""
    p = solved(DATA / "block-redundant")
    assert (p.summary["gpus"], p.summary["racks"]) == (2688, 48)
    ups = p.power[p.power["device"].isin(["U1", "U2", "U3", "U4"])]
    assert ups["binding"].any()


@pytest.mark.skipif(not (DATA / "colossus").exists(), reason="data/colossus not in the repo yet")
def test_colossus_example_solves_and_verifies():
    """data/colossus (about 2,000 columns) to a 1e-3 gap within a minute, and the plan
    passes the independent verifier."""
    began = time.perf_counter()
    p = plan(DATA / "colossus", time_limit_s=60, mip_gap=1e-3)
    assert p.status in ("optimal", "time_limit")
    assert p.summary["mip_gap"] is not None and p.summary["mip_gap"] <= 1e-3
    assert verify(p.site, p.placements) == []
    assert time.perf_counter() - began < 120
