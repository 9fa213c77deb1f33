"""Contract v1.1: racks already standing (existing.csv), failover ratings (power.csv
`failover_kw`) and phased build-out (phases.csv, `phase` columns). Every optimum below is
worked out by hand in its docstring; every plan passes the independent verifier."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from clirun import EXIT_INFEASIBLE, EXIT_VIOLATIONS, error_lines, rackfit
from sites import dev, make_site, rack, row, want

from optimizer.api import plan
from optimizer.formulation import build_model, power_limits
from optimizer.schema import ExistingRack, Phase, Site
from optimizer.solve import SolveOptions, compile_model, solve
from optimizer.verify import verify

DATA = Path(__file__).resolve().parents[1] / "data"
SMALL = DATA / "small"


def solved(site: Site, objective: str | None = None):  # type: ignore[no-untyped-def]
    result = plan(site, objective=objective, strategy="plain")
    assert verify(site, result.placements) == []
    return result


def standing(hall: str, row_id: str, position: int, model: str, cluster: str | None = None):  # type: ignore[no-untyped-def]
    return ExistingRack(hall=hall, row=row_id, position=position, model=model, cluster=cluster)


# -- existing racks ---------------------------------------------------------------------------
def test_an_existing_rack_takes_the_last_position_of_a_row():
    """Row R1 has 4 positions; a rack of cluster c (25 kW, 8 GPUs) already stands in position
    4, and nothing else limits. The plan adds 3 racks in positions 1-3 and lists all 4; the
    objective counts the existing clustered rack: 4 x 8 = 32 GPUs, of which 24 are new."""
    site = make_site(
        rows=[row("H", "R1", positions=4)],
        existing=(standing("H", "R1", 4, "r25", "c"),),
    )
    result = solved(site)
    assert result.summary["objective"] == 32
    assert (result.summary["gpus"], result.summary["racks"]) == (32, 4)
    assert (result.summary["new_gpus"], result.summary["new_racks"]) == (24, 3)
    lines = result.placements[["position", "cluster", "existing"]].values.tolist()
    assert lines == [[1, "c", "false"], [2, "c", "false"], [3, "c", "false"], [4, "c", "true"]]
    assert "phase" not in result.placements.columns  # no phases.csv: no phase column


def test_an_existing_rack_outside_the_demand_takes_space_and_power_but_no_value():
    """Row R1 has 4 positions on one 100 kW device; someone else's 40 kW rack stands in
    position 1 (no cluster). Cluster c takes 25 kW racks: power leaves 60 kW, so 2 racks
    (3 positions free, 3 x 25 = 75 > 60). The objective is 2 x 8 = 16 GPUs."""
    site = make_site(
        rows=[row("H", "R1", "P", positions=4)],
        devices=[dev("P", 100)],
        models=[rack(design_kw=40)],
        existing=(standing("H", "R1", 1, "r40"),),
    )
    result = solved(site)
    assert result.summary["objective"] == 16
    assert result.summary["new_racks"] == 2
    first = result.placements.iloc[0]
    assert (first["cluster"], first["model"], first["existing"]) == ("", "r40", "true")


def test_the_cost_objective_does_not_count_existing_racks():
    """Cluster c must have 3 racks ($1 capex, pue 1, 25 kW typical; a year of energy is
    25 x 8,760 x 0.07 = $15,330 per rack); one already stands, so the plan buys 2:
    2 x (1 + 15,330) = $30,662."""
    site = make_site(
        rows=[row("H", "R1", positions=4)],
        demand=[want("c", min_racks=3)],
        existing=(standing("H", "R1", 2, "r25", "c"),),
        pue=1.0,
    )
    result = solved(site, objective="cost")
    assert result.summary["objective"] == pytest.approx(2 * (1 + 25 * 8760 * 0.07))
    assert (result.summary["racks"], result.summary["new_racks"]) == (2, 2)


def test_existing_racks_of_a_colocated_cluster_pull_its_new_racks_into_their_hall():
    """Cluster c is colocated by hall; one of its racks stands in hall B (2 positions), hall
    A has 10 free positions. The new racks must go to B: 1 more, 2 racks in all (16 GPUs)."""
    site = make_site(
        rows=[row("A", "A1", positions=10), row("B", "B1", positions=2)],
        demand=[want("c", colocate="hall")],
        existing=(standing("B", "B1", 1, "r25", "c"),),
    )
    result = solved(site)
    assert result.summary["objective"] == 16
    assert set(result.placements["hall"]) == {"B"}


def test_min_and_max_racks_count_the_existing_racks():
    """max_racks 3 with 2 standing leaves 1 new rack (3 x 8 = 24 GPUs)."""
    site = make_site(
        rows=[row("H", "R1", positions=10)],
        demand=[want("c", max_racks=3)],
        existing=(standing("H", "R1", 1, "r25", "c"), standing("H", "R1", 5, "r25", "c")),
    )
    result = solved(site)
    assert (result.summary["objective"], result.summary["new_racks"]) == (24, 1)


# -- failover ratings ---------------------------------------------------------------------------
def failover_site(failover_kw: float | None) -> Site:
    """Two 100 kW UPS A and B feed row R1 (2N, 20 positions) with 25 kW racks."""
    return make_site(
        rows=[row("H", "R1", "A", "B", positions=20)],
        devices=[dev("A", 100, failover_kw=failover_kw), dev("B", 100, failover_kw=failover_kw)],
    )


def test_a_failover_rating_admits_one_more_rack_than_the_continuous_rating():
    """After A fails, B carries every rack: 25 n <= 100 gives 4 racks with the continuous
    rating alone; with failover_kw 125, 25 n <= 125 gives 5 (normal operation, 12.5 n <=
    100, allows 8). The power table says the failover limit gave the worst case."""
    assert solved(failover_site(None)).summary["racks"] == 4
    result = solved(failover_site(125))
    assert result.summary["racks"] == 5
    power = result.power.set_index("device")
    assert power.loc["A", "worst_limit"] == "failover"
    assert power.loc["A", "worst_kw"] == 125
    assert power.loc["A", "worst_limit_kw"] == 125
    assert power.loc["A", "utilization"] == 1.0


def test_a_large_failover_rating_leaves_normal_operation_binding():
    """With failover_kw 300, N-1 allows 12 racks (25 n <= 300) but normal operation (12.5 n
    <= 100) allows 8: the normal row must survive the pruning, which may drop a row only for
    a dominating row whose limit is not larger. The worst case is normal operation."""
    site = failover_site(300)
    result = solved(site)
    assert result.summary["racks"] == 8
    assert result.power.set_index("device").loc["A", "worst_limit"] == "continuous"
    labels = {(lim.device, lim.failure, lim.limit_kw) for lim in power_limits(site)}
    assert ("A", None, 100.0) in labels and ("A", "B", 300.0) in labels


@pytest.mark.parametrize("failover_kw", [100, 110, 125, 160, 250])
def test_pruned_power_rows_keep_the_optimum_with_failover_ratings(failover_kw):
    """The lean N-1 rows and the naive every-failure-every-device rows give the same optimum
    on the bundled small site (2N, derated PDUs) with failover ratings on the UPSes."""
    from optimizer.loaders import load_site

    base = load_site(SMALL)
    devices = tuple(
        d.model_copy(update={"failover_kw": failover_kw * 8}) if d.device.startswith("UPS") else d
        for d in base.devices
    )
    site = base.with_updates(devices=devices)
    values = []
    for prune in (True, False):
        sol = solve(compile_model(build_model(site, prune=prune)), SolveOptions(mip_gap=0))
        values.append(sol.objective)
    assert values[0] == pytest.approx(values[1])


# -- phases -------------------------------------------------------------------------------------
def phases(*specs: tuple[str, float | None, float]) -> tuple[Phase, ...]:
    return tuple(Phase(phase=p, grid_limit_kw=g, weight=w) for p, g, w in specs)


def test_a_late_cluster_takes_the_space_an_early_cluster_would_have_wasted():
    """Row R1 has 4 positions. Cluster `early` (8 GPUs) may come in phase p1, cluster `late`
    (72 GPUs) arrives in p2; both weights 1. With k early racks (never removed) the objective
    is 8k (p1) + 8k + 72 (4 - k) (p2) = 288 - 56 k: the best plan leaves R1 empty in p1 for
    4 late racks in p2, 288. Placing greedily phase by phase would give 64."""
    site = make_site(
        rows=[row("H", "R1", positions=4)],
        demand=[
            want("early", rack("small", gpus=8)),
            want("late", rack("big", gpus=72), phase="p2"),
        ],
        phases=phases(("p1", None, 1), ("p2", None, 1)),
    )
    result = solved(site)
    assert result.summary["objective"] == 288
    assert result.placements[["cluster", "phase"]].values.tolist() == [["late", "p2"]] * 4
    table = result.phases.set_index("phase")
    assert table.loc["p1", "racks"] == 0 and table.loc["p2", "gpus"] == 288


def gb200_site(w2: float, p2_grid_kw: float | None = 600) -> Site:
    """Row R1 (4 positions, p1 on) and R2 (1 position, from p2); pue 1. GB200-like racks
    (132 kW, 72 GPUs), H100-like racks (40 kW, 32 GPUs). Grid 160 kW in p1, 600 kW in p2
    (`p2_grid_kw` None: site.yaml's 600 kW)."""
    return make_site(
        rows=[row("H", "R1", positions=4), row("H", "R2", positions=1, phase="p2")],
        demand=[
            want("gb", rack("gb200", design_kw=132, gpus=72)),
            want("h", rack("h100", design_kw=40, gpus=32)),
        ],
        phases=phases(("p1", 160, 1), ("p2", p2_grid_kw, w2)),
        pue=1.0,
        grid_limit_kw=600,
    )


def test_weights_change_which_phase_gets_the_gb200s():
    """p1 takes either 1 GB200 (132 kW, 72 GPUs) or 4 H100 (160 kW, 128 GPUs, R1 full).
    After 1 GB200, p2 (5 positions, 600 kW) takes 3 GB200 + 1 H100 (568 kW): 320 GPUs.
    After 4 H100, p2 has only R2: 1 GB200, 200 GPUs. (3, 2 or 1 H100 in p1 lead to 240,
    280 and 320 in p2.) So the objective is max(72 + 320 w2, 128 + 200 w2, 96 + 240 w2,
    64 + 280 w2, 32 + 320 w2): with w2 = 1 it is 392 and p1 gets a GB200; with w2 = 0.25 it
    is 178, p1 gets the H100s and the one GB200 waits for p2."""
    even = solved(gb200_site(1.0))
    assert even.summary["objective"] == 392
    first = even.placements[even.placements["phase"] == "p1"]
    assert first["cluster"].tolist() == ["gb"]
    late = solved(gb200_site(0.25))
    assert late.summary["objective"] == pytest.approx(178)
    first = late.placements[late.placements["phase"] == "p1"]
    assert first["cluster"].tolist() == ["h"] * 4
    gb = late.placements[late.placements["cluster"] == "gb"]
    assert gb[["row", "phase"]].values.tolist() == [["R2", "p2"]]
    assert late.summary["gpus"] == 200  # standing in the last phase


def test_min_racks_holds_from_the_clusters_phase_on():
    """Cluster c (min 3) arrives in p2; p1's grid (60 kW, pue 1) would not carry 3 racks of
    25 kW but p2's 100 kW does; filler cluster f (1 GPU, 25 kW) may use p1. Minimizing cost
    places nothing for f and exactly 3 c racks, all installed in p2."""
    site = make_site(
        rows=[row("H", "R1", positions=10)],
        demand=[want("c", min_racks=3, phase="p2"), want("f", rack("f25", gpus=1))],
        phases=phases(("p1", 60, 1), ("p2", 100, 1)),
        pue=1.0,
    )
    result = solved(site, objective="cost")
    assert result.placements[["cluster", "phase"]].values.tolist() == [["c", "p2"]] * 3


def test_one_phase_of_weight_one_gives_v1s_cost():
    """A phases.csv with one phase of weight 1 and no limits of its own: the cost objective
    equals v1's on the bundled small site."""
    v1 = plan(SMALL, objective="cost", strategy="plain")
    from optimizer.loaders import load_site

    site = load_site(SMALL).with_updates(phases=phases(("only", None, 1)))
    assert solved(site, objective="cost").summary["objective"] == v1.summary["objective"]


def test_existing_racks_stand_in_every_phase_and_count_in_its_grid():
    """Two 40 kW racks already stand (pue 1); p1's grid is 100 kW, p2's 200 kW; cluster c
    (25 kW) fills the rest: no rack in p1 (20 kW left), 4 by p2 (120 kW left). The existing
    racks belong to no cluster and add no value: the objective (weights 1) is 0 + 4 x 8."""
    site = make_site(
        rows=[row("H", "R1", positions=10)],
        models=[rack(design_kw=40)],
        existing=(standing("H", "R1", 1, "r40"), standing("H", "R1", 2, "r40")),
        phases=phases(("p1", 100, 1), ("p2", 200, 1)),
        pue=1.0,
    )
    result = solved(site)
    assert result.summary["objective"] == 32
    table = result.phases.set_index("phase")
    assert table["racks"].tolist() == [2, 6] and table["new_racks"].tolist() == [0, 4]
    assert table["grid_kw"].tolist() == [80, 180]


# -- the property: v1 sites plan exactly as before ------------------------------------------
def add_empty_column(path: Path, column: str) -> None:
    with path.open(newline="") as f:
        lines = list(csv.reader(f))
    lines[0].append(column)
    for line in lines[1:]:
        line.append("")
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(lines)


@pytest.mark.parametrize("name", ["small", "block-redundant"])
def test_empty_phase_columns_and_no_existing_racks_plan_byte_for_byte_as_v1(tmp_path, name):
    site = tmp_path / name
    shutil.copytree(DATA / name, site)
    for table in ("rows", "cooling", "demand"):
        add_empty_column(site / f"{table}.csv", "phase")
    (site / "existing.csv").write_text("hall,row,position,model,cluster\n")
    rackfit("plan", DATA / name, "--out", tmp_path / "v1", "--quiet")
    rackfit("plan", site, "--out", tmp_path / "v11", "--quiet")
    for table in ("placements", "power", "clusters", "grid", "cooling"):
        v1 = (tmp_path / "v1" / f"{table}.csv").read_bytes()
        assert (tmp_path / "v11" / f"{table}.csv").read_bytes() == v1, table
    assert not (tmp_path / "v11" / "phases.csv").exists()
    summary = json.loads((tmp_path / "v11" / "summary.json").read_text())
    assert "new_racks" not in summary


# -- bad input ----------------------------------------------------------------------------------
def small_copy(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(SMALL, site)
    return site


EXISTING_HEADER = "hall,row,position,model,cluster\n"


# The bad v1.1 inputs (existing.csv, phases.csv, the phase and failover_kw columns) are cases
# of the corpus, tests/bad_inputs (v11_*), checked by the loader and through the CLI.


def test_existing_racks_that_alone_overload_a_ups_are_exit_3_naming_device_and_failure(tmp_path):
    """Eleven 40 kW racks stand in a row fed by UPS-A and UPS-B (400 kW each): 220 kW each
    normally, but after UPS-B fails UPS-A carries 440 kW, 40 kW over (and the mirror)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "site.yaml").write_text("grid_limit_kw: 10000\npue: 1.0\n")
    (site / "rows.csv").write_text("hall,row,positions,feed_a,feed_b\nH,R1,20,UPS-A,UPS-B\n")
    (site / "power.csv").write_text("device,parent,capacity_kw\nUPS-A,,400\nUPS-B,,400\n")
    (site / "cooling.csv").write_text("hall,medium,units,unit_kw\nH,air,10,1000\n")
    (site / "models.csv").write_text(
        "model,gpus,design_kw,typical_kw,liquid_fraction,weight_kg,ports,capex_usd\n"
        "r40,8,40,30,0,800,0,1\n"
    )
    (site / "demand.csv").write_text("cluster,model\nc,r40\n")
    (site / "existing.csv").write_text(
        EXISTING_HEADER + "".join(f"H,R1,{p},r40,\n" for p in range(1, 12))
    )
    rackfit("validate", site)  # the input itself is fine
    result = rackfit("plan", site, "--out", tmp_path / "plan", code=EXIT_INFEASIBLE)
    (line,) = error_lines(result)
    assert "the racks already standing (existing.csv) break 2 limits on their own" in line
    assert "UPS-A: 440.0 kW after UPS-B fails > limit 400.0 kW (40.0 kW over)" in line
    assert not (tmp_path / "plan").exists()


# -- verifier and check -------------------------------------------------------------------------
def test_check_flags_a_missing_and_a_moved_existing_rack(tmp_path):
    site = small_copy(tmp_path)
    (site / "existing.csv").write_text(
        EXISTING_HEADER + "A,A1,2,nvidia-dgx-h100,infer\nA,A2,1,storage-flash,\n"
    )
    out = tmp_path / "plan"
    rackfit("plan", site, "--out", out, "--quiet")
    rackfit("check", site, out)
    placements = pd.read_csv(out / "placements.csv", dtype=str, keep_default_na=False)
    assert placements["existing"].tolist().count("true") == 2
    moved = placements.copy()
    at = (moved["existing"] == "true") & (moved["row"] == "A1")
    moved.loc[at, "row"] = "A3"  # A3 position 2 is free: A3 holds no 40 kW rack
    moved.loc[at, "position"] = "2"
    moved = moved[~((moved["existing"] == "true") & (moved["row"] == "A2"))]
    moved.to_csv(tmp_path / "edited.csv", index=False)
    result = rackfit("check", site, tmp_path / "edited.csv", code=EXIT_VIOLATIONS)
    assert "A/A1: existing rack at position 2 (nvidia-dgx-h100) moved to A/A3 position 2" in (
        result.stdout
    )
    assert "A/A2: existing rack at position 1 (storage-flash) is missing from the plan" in (
        result.stdout
    )


def test_the_verifier_checks_every_phase():
    """Rows R1 (p1 on) and R2 (from p2); p1's grid 50 kW, p2's 100 kW; 25 kW racks, pue 1.
    Three racks in p1 break p1's grid (75 > 50) although p2 holds them; a rack in R2 in p1
    stands before its row exists; a rack of a p2 cluster installed in p1 is too early."""
    site = make_site(
        rows=[row("H", "R1", positions=4), row("H", "R2", positions=4, phase="p2")],
        demand=[want("c"), want("d", phase="p2")],
        phases=phases(("p1", 50, 1), ("p2", 100, 1)),
        pue=1.0,
    )
    lines = pd.DataFrame(
        [
            ("H", "R1", 1, "c", "r25", "p1"),
            ("H", "R1", 2, "c", "r25", "p1"),
            ("H", "R2", 1, "c", "r25", "p1"),
            ("H", "R1", 3, "d", "r25", "p2"),
        ],
        columns=["hall", "row", "position", "cluster", "model", "phase"],
    )
    messages = [v.message for v in verify(site, lines)]
    assert any("exists only from phase 'p2'" in m for m in messages)
    assert any(m.startswith("phase p1: site: 75.0 kW from the grid") for m in messages)
    assert not any("p2: site" in m for m in messages)  # 100 kW in p2 is within its limit
    early = lines.copy()
    early.loc[3, "phase"] = "p1"
    early.loc[2, "row"] = "R1"
    early.loc[2, "position"] = 4
    messages = [v.message for v in verify(site, early)]
    assert any("before the cluster's phase 'p2'" in m for m in messages)


def test_a_phased_plan_is_written_with_its_phases_table_and_workbook_sheet(tmp_path):
    site = small_copy(tmp_path)
    (site / "phases.csv").write_text("phase,grid_limit_kw,weight\nnow,700,1\nlater,,2\n")
    (site / "existing.csv").write_text(EXISTING_HEADER + "A,A1,2,nvidia-dgx-h100,infer\n")
    out = tmp_path / "plan"
    rackfit("plan", site, "--out", out, "--quiet")
    table = pd.read_csv(out / "phases.csv")
    assert table["phase"].tolist() == ["now", "later"]
    assert table["grid_limit_kw"].tolist() == [700, 1010]
    assert (table["grid_kw"] <= table["limit_kw"] + 1e-6).all()
    placements = pd.read_csv(out / "placements.csv", keep_default_na=False)
    assert placements.columns.tolist()[-2:] == ["existing", "phase"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["racks"] == int(table["racks"].iloc[-1]) - 0  # storage is clustered
    with pd.ExcelFile(out / "plan.xlsx") as book:
        sheets = book.sheet_names
    assert "phases" in sheets
    rackfit("check", site, out)


# -- the rest of the user surface ---------------------------------------------------------------
def test_first_fit_places_wave_by_wave_and_the_plan_beats_it():
    """On the late-cluster site above, first fit fills R1 with `early` racks in p1 (they
    stay), so p2 has no room for `late`: 8 x 4 in each phase = 64. The plan's 288 is
    compared with it in the summary."""
    from optimizer.baseline import first_fit

    site = make_site(
        rows=[row("H", "R1", positions=4)],
        demand=[want("early", rack("small")), want("late", rack("big", gpus=72), phase="p2")],
        phases=phases(("p1", None, 1), ("p2", None, 1)),
    )
    placements = first_fit(site)
    assert placements[["cluster", "phase"]].values.tolist() == [["early", "p1"]] * 4
    assert verify(site, placements) == []
    result = solved(site)
    assert result.summary["baseline_objective"] == 64
    assert result.summary["gain_over_baseline_objective"] == 224


def test_first_fit_counts_existing_racks_and_failover_ratings():
    """failover_site(125) with one rack already standing: first fit adds racks while A and
    B hold 25 n <= 125 after a failure: 4 more."""
    site = failover_site(125).with_updates(existing=(standing("H", "R1", 7, "r25", "c"),))
    from optimizer.baseline import first_fit

    placements = first_fit(site)
    assert placements["existing"].tolist().count("false") == 4
    assert verify(site, placements) == []


def test_sweep_grid_applies_to_every_phase_without_its_own_limit():
    """gb200_site(1) with p1 at 160 kW of its own and p2 following the sweep: at 0.6 MW the
    plan is the 392 worked out above; at 0.3 MW p2 holds at most 200 GPUs (1 GB200 + 4
    H100 = 292 kW; 2 GB200 + 1 H100 = 304 kW is too much), reached after 4 H100 in p1
    (128), not after a GB200 (72): 128 + 200 = 328."""
    from optimizer.sweeps import sweep

    site = gb200_site(1.0, p2_grid_kw=None)
    frame = sweep(site, grid_mw=[0.3, 0.6], strategy="plain")
    assert frame["objective"].tolist() == [pytest.approx(328), pytest.approx(392)]
    for mw, value in ((0.3, 328), (0.6, 392)):
        assert plan(site, grid_mw=mw, strategy="plain").summary["objective"] == (
            pytest.approx(value)
        )


def test_init_brownfield_writes_a_site_that_validates_plans_and_checks(tmp_path):
    site = tmp_path / "mine"
    rackfit("init", "--brownfield", site)
    assert {"existing.csv", "phases.csv"} <= {p.name for p in site.iterdir()}
    assert "3 racks already standing, 2 phases, 0 warnings" in rackfit("validate", site).stdout
    rackfit("plan", site, "--out", tmp_path / "plan", "--quiet")
    rackfit("check", site, tmp_path / "plan")
    assert "--brownfield" in rackfit("init", "--help").stdout


def test_convert_carries_existing_and_phases_sheets(tmp_path):
    from optimizer.loaders import load_site

    site = tmp_path / "mine"
    rackfit("init", "--brownfield", site)
    book = tmp_path / "mine.xlsx"
    rackfit("convert", site, book)
    with pd.ExcelFile(book) as workbook:
        assert {"existing", "phases"} <= set(workbook.sheet_names)
    back = tmp_path / "back"
    rackfit("convert", book, back)
    assert load_site(book).model_dump() == load_site(site).model_dump()
    assert load_site(back).existing == load_site(site).existing


def test_the_phases_table_says_what_binds_in_each_phase():
    """gb200_site(0.25): p1 holds 4 H100 on 160 kW, the grid of p1 is full; in p2 R1 is full
    (space) and one GB200 stands in R2, also full."""
    result = solved(gb200_site(0.25))
    binds = result.phases.set_index("phase")["binds"]
    assert "grid" in binds["p1"] and "space H/R1" in binds["p1"]
    assert "space" in binds["p2"]


def test_batch_scenarios_plan_a_brownfield_site(tmp_path):
    """Scenarios override the grid of every phase without its own (here `next-year`) and may
    substitute a model: the racks already standing stay what they are."""
    from optimizer.batch import run_batch

    site = tmp_path / "mine"
    rackfit("init", "--brownfield", site)
    scenarios = [
        {"scenario": "tight", "grid_mw": "0.7"},
        {"scenario": "swap", "substitute_model": "nvidia-dgx-h100=nvidia-dgx-b200"},
    ]
    frame = run_batch(site, scenarios, workers=1, strategy="plain")
    assert frame["status"].tolist() == ["optimal", "optimal"], frame["message"].tolist()
    loose = plan(site, strategy="plain").summary["objective"]
    assert frame["objective"].iloc[0] < loose


def test_an_infeasible_minimum_counts_the_racks_already_standing():
    """Eight 40 kW racks stand on a 2N pair of 400 kW UPS (320 kW on one after a failure);
    cluster c needs 3 more 40 kW racks: 440 kW after a failure, 40 kW more than 400."""
    from optimizer.errors import InfeasibleError

    site = make_site(
        rows=[row("H", "R1", "A", "B", positions=20)],
        devices=[dev("A", 400), dev("B", 400)],
        demand=[want("c", rack(design_kw=40), min_racks=11)],
        existing=tuple(standing("H", "R1", p, "r40", "c") for p in range(1, 9)),
    )
    with pytest.raises(InfeasibleError) as info:
        plan(site, strategy="plain")
    assert (
        "at least 440 kW through A after B fails (with the racks already standing); its limit "
        "is 400 kW (capacity x derate)" in str(info.value)
    )


def test_an_existing_rack_that_would_not_fit_is_a_warning_and_still_counts(tmp_path):
    """A DGX B200 (57.2 kW, air) already stands in row A1 (45 kW per position): validate
    warns and exits 0; the plan keeps it, counts its 57.2 kW and passes the verifier, which
    does not re-check fit for racks already standing. (A GB200 there would make the site
    infeasible: hall A has no liquid cooling for its 112.2 kW of liquid heat.)"""
    site = small_copy(tmp_path)
    (site / "existing.csv").write_text(EXISTING_HEADER + "A,A1,6,nvidia-dgx-b200,\n")
    result = rackfit("validate", site)
    assert "existing.csv, row 2, column model: existing rack at A/A1 position 6" in (result.stderr)
    assert "would not fit the row" in result.stderr
    rackfit("plan", site, "--out", tmp_path / "plan", "--quiet")
    rackfit("check", site, tmp_path / "plan")
    rows = pd.read_csv(tmp_path / "plan" / "rows.csv").set_index("row")
    assert rows.loc["A1", "design_kw"] >= 57.2


def test_a_minimum_before_its_rows_exist_is_infeasible_exit_3(tmp_path):
    """Cluster c must have 2 racks from the first phase on, but its only row exists from p2:
    exit 3 saying so (not an internal error)."""
    from optimizer.errors import InfeasibleError

    site = make_site(
        rows=[row("H", "R1", positions=4, phase="p2")],
        demand=[want("c", min_racks=2)],
        phases=phases(("p1", None, 1), ("p2", None, 1)),
    )
    with pytest.raises(InfeasibleError, match="from phase p1 on, but the rows that exist by then"):
        plan(site, strategy="plain")


def test_the_benchmark_site_has_a_third_standing_and_its_phases(tmp_path):
    """benchmarks/brownfield.py builds what docs/performance.md measures: colossus with a
    third of its positions standing (a valid fill: no limit broken) and the phases' grid
    limits from 150 to 300 MW."""
    import sys

    sys.path.insert(0, str(DATA.parent / "benchmarks"))
    from brownfield import brownfield_site, grids_mw

    from optimizer.explain import standing_violations
    from optimizer.loaders import load_site

    site = load_site(brownfield_site(tmp_path / "b", 3))
    positions = sum(r.positions for r in site.rows)
    assert len(site.existing) == round(positions / 3)
    assert [p.grid_limit_kw for p in site.phases] == [150_000, 250_000, 300_000]
    assert [c.phase for c in site.demand if c.cluster == "train-gb200"] == ["P2"]
    assert standing_violations(site) == []
    assert grids_mw(5) == [150, 187.5, 225, 262.5, 300]
