"""Stranded capacity (optimizer/stranded.py): the rule of its docstring on a hand site where
each cause occurs once, and on the bundled small site."""

from __future__ import annotations

import pandas as pd
import pytest
from sites import cool, dev, make_site, rack, row, want

from optimizer.schema import Site
from optimizer.stranded import (
    CAUSES,
    STRANDED_COLUMNS,
    stranded_capacity,
)
from optimizer.verify import verify

M10 = rack("m10", design_kw=10, gpus=1, ports=1)
M5 = rack("m5", design_kw=5, gpus=1, ports=1)


def hand_site() -> Site:
    """The site of stranded.py's docstring: one root device per row; `pue` 1 and a grid limit
    of the 85 kW the plan below places, so the grid is full."""
    return make_site(
        rows=[
            row("H", "R1", "P1", positions=2, pod="Q"),
            row("H", "R2", "P2", positions=4, pod="Q", max_rack_kw=4),
            row("H", "R3", "P3", positions=2, pod="Q", max_rack_kw=8),
            row("C", "R4", "P4", positions=4, pod="Q"),
            row("H", "R5", "P5", positions=4, pod="Q5"),
            row("H", "R6", "P6a", "P6b", positions=4, pod="Q"),
            row("H", "R7", "P7", positions=4, pod="Q"),
        ],
        devices=[
            dev("P1", 100),
            dev("P2", 50),
            dev("P3", 50),
            dev("P4", 100),
            dev("P5", 100),
            dev("P6a", 100),
            dev("P6b", 10),
            dev("P7", 100),
        ],
        demand=[want("main", M10), want("small", M5, max_racks=1)],
        cooling=[cool("H", "air", 1, 1000), cool("C", "air", 1, 20)],
        pods=[("Q", 1000), ("Q5", 2)],
        pue=1.0,
        grid_limit_kw=85,
    )


def hand_plan() -> pd.DataFrame:
    racks = [
        ("H", "R1", "main", "m10"),
        ("H", "R1", "main", "m10"),
        ("H", "R3", "small", "m5"),
        ("C", "R4", "main", "m10"),
        ("C", "R4", "main", "m10"),
        ("H", "R5", "main", "m10"),
        ("H", "R5", "main", "m10"),
        ("H", "R6", "main", "m10"),
        ("H", "R7", "main", "m10"),
    ]
    lines, used = [], {}
    for hall, r, cluster, model in racks:
        used[r] = used.get(r, 0) + 1
        lines.append((hall, r, used[r], cluster, model))
    return pd.DataFrame(lines, columns=["hall", "row", "position", "cluster", "model"])


def test_each_cause_once_on_the_hand_site() -> None:
    site, plan = hand_site(), hand_plan()
    assert verify(site, plan) == []  # a valid plan: the grid exactly full
    table = stranded_capacity(site, plan, "gpus")
    assert list(table.columns) == STRANDED_COLUMNS
    got = {
        r["device"]: (r["hall"], r["limit_kw"], r["load_kw"], r["failure"], r["stranded_kw"],
                      r["cause"], r["blocked_by"])
        for r in table.to_dict("records")
    }  # fmt: skip
    assert got == {
        "P1": ("H", 100, 20, None, 80, "no position free", "1 full row"),
        "P2": ("H", 50, 0, None, 50, "no rack that fits",
               "no model of the demand fits a free position"),
        "P3": ("H", 50, 5, None, 45, "demand exhausted", "small at max_racks"),
        "P4": ("C", 100, 20, None, 80, "cooling full", "cooling C air"),
        "P5": ("H", 100, 20, None, 80, "ports full", "ports Q5"),
        "P6a": ("H", 100, 10, "P6b", 90, "N-1 of another device", "P6b after P6a fails"),
        "P6b": ("H", 10, 10, "P6a", 0, "", ""),
        "P7": ("H", 100, 10, None, 90, "grid full", "grid"),
    }  # fmt: skip
    assert set(table["cause"]) - {""} <= set(CAUSES)


def test_the_cost_objective_strands_by_demand() -> None:
    """With `cost`, a plan places only what is asked: P7's free capacity is demand's."""
    site = hand_site().with_updates(grid_limit_kw=1000)
    table = stranded_capacity(site, hand_plan(), "cost").set_index("device")
    assert table.loc["P7", "cause"] == "demand exhausted"
    assert table.loc["P7", "blocked_by"] == (
        "main: the cost objective places only what is asked; small at max_racks"
    )


def test_a_headroom_smaller_than_any_rack_is_no_rack_that_fits() -> None:
    """P: 25 kW left of 100 after three 25 kW racks; the next rack needs 25.5."""
    site = make_site(
        rows=[row("H", "R", "P", positions=10)],
        devices=[dev("P", 100)],
        demand=[want("c", rack(design_kw=25.5))],
    )
    plan = pd.DataFrame(
        [("H", "R", k, "c", "r25.5") for k in (1, 2, 3)],
        columns=["hall", "row", "position", "cluster", "model"],
    )
    line = stranded_capacity(site, plan).iloc[0]
    assert (line["stranded_kw"], line["cause"]) == (pytest.approx(23.5), "no rack that fits")
    assert line["blocked_by"] == (
        "smallest rack that fits a free position: 25.5 kW; room for 23.5 kW"
    )


def test_a_plan_that_is_not_optimal_leaves_room() -> None:
    site = make_site(rows=[row("H", "R", "P", positions=10)], devices=[dev("P", 100)])
    plan = pd.DataFrame(columns=["hall", "row", "position", "cluster", "model"])
    line = stranded_capacity(site, plan).iloc[0]
    assert (line["stranded_kw"], line["cause"], line["blocked_by"]) == (
        100,
        "room for a rack",
        "c in H/R",
    )


def test_upstream_device_after_a_failure_and_in_normal_operation() -> None:
    """A 2N pair under two UPSs: a failure of UPS-B moves the row to A; UPS-A's limit of
    60 kW takes one 40 kW rack (40 after UPS-B fails), not two. PDU-A (limit 200) is left
    with 160 kW: the N-1 rule of UPS-A (of equal failures, the first in power.csv order).
    A single-fed row under a 50 kW root with one 40 kW rack: its 1,000 kW PDU is stranded
    by the root in normal operation."""
    site = make_site(
        rows=[row("H", "R", "PDU-A", "PDU-B", positions=10), row("H", "S", "PDU-S")],
        devices=[
            dev("UPS-A", 60),
            dev("UPS-B", 60),
            dev("PDU-A", 200, parent="UPS-A"),
            dev("PDU-B", 200, parent="UPS-B"),
            dev("ROOT", 50),
            dev("PDU-S", 1000, parent="ROOT"),
        ],
        demand=[want("c", rack(design_kw=40))],
    )
    plan = pd.DataFrame(
        [("H", "R", 1, "c", "r40"), ("H", "S", 1, "c", "r40")],
        columns=["hall", "row", "position", "cluster", "model"],
    )
    table = stranded_capacity(site, plan).set_index("device")
    columns = ["load_kw", "failure", "stranded_kw", "cause", "blocked_by"]
    assert table.loc["PDU-A", columns].tolist() == [
        40, "UPS-B", 160, "N-1 of another device", "UPS-A after UPS-B fails"
    ]  # fmt: skip
    assert table.loc["PDU-S", ["stranded_kw", "cause", "blocked_by"]].tolist() == [
        960, "another device full", "ROOT in normal operation"
    ]  # fmt: skip


def test_plan_writes_stranded_csv_and_sheet_for_the_small_site(tmp_path) -> None:
    """data/small (README): 440 GPUs; PDU-AA carries all of hall A, 300.6 of 320 kW after
    PDU-AB's side fails (TX-B first in power.csv order): 19.4 kW left, less than a 40.8 kW
    H100 and only the storage rack (15 kW, already at its max) would fit. UPS-A's 103.4 kW
    (800 - 696.6) would take an H100 but PDU-AA's N-1 rule stops it."""
    import openpyxl
    from clirun import rackfit

    rackfit("plan", "data/small", "--out", tmp_path / "plan", "--quiet")
    table = pd.read_csv(tmp_path / "plan" / "stranded.csv", keep_default_na=False)
    assert list(table.columns) == STRANDED_COLUMNS
    lines = table.set_index("device")
    assert lines.loc["PDU-AA", ["hall", "stranded_kw", "cause", "blocked_by"]].tolist() == [
        "A", 19.4, "demand exhausted", "storage at max_racks"
    ]  # fmt: skip
    assert lines.loc["UPS-A", ["hall", "stranded_kw", "cause", "blocked_by"]].tolist() == [
        "", 103.4, "N-1 of another device", "PDU-AA after TX-B fails"
    ]  # fmt: skip
    assert lines.loc["PDU-LA", ["stranded_kw", "cause"]].tolist() == [
        164.0, "N-1 of another device"
    ]  # fmt: skip
    sheet = openpyxl.load_workbook(tmp_path / "plan" / "plan.xlsx")["stranded"]
    assert [c.value for c in sheet[1]] == STRANDED_COLUMNS
    assert sheet.max_row == 1 + len(table)


def test_a_failover_rating_sets_the_limit_after_a_failure() -> None:
    """Contract v1.1: PA and PB (100 kW, failover 150) feed one row with 120 kW: 60 kW each
    in normal operation (40 left), 120 after the other fails (30 left of 150). The limiting
    case is the failure: 30 kW stranded, and a 40 kW rack would add 40 after a failure."""
    site = make_site(
        rows=[row("H", "R", "PA", "PB", positions=10)],
        devices=[dev("PA", 100, failover_kw=150), dev("PB", 100, failover_kw=150)],
        demand=[want("c", rack(design_kw=40))],
    )
    plan = pd.DataFrame(
        [("H", "R", k, "c", "r40") for k in (1, 2, 3)],
        columns=["hall", "row", "position", "cluster", "model"],
    )
    line = stranded_capacity(site, plan).iloc[0]
    assert line[["limit_kw", "load_kw", "failure", "stranded_kw", "cause"]].tolist() == [
        150, 120, "PB", 30, "no rack that fits"
    ]  # fmt: skip


def test_a_phased_site_is_judged_in_its_last_phase() -> None:
    """Contract v1.1: the grid of the last phase counts. The hand site's grid is full at
    85 kW; a last phase with 100 kW lets P7 take one more m10 (10 kW, pue 1)."""
    from optimizer.schema import Phase

    site = hand_site().with_updates(
        phases=(Phase(phase="p1"), Phase(phase="p2", grid_limit_kw=100))
    )
    table = stranded_capacity(site, hand_plan(), "gpus").set_index("device")
    assert table.loc["P7", "cause"] == "room for a rack"
    assert table.loc["P6a", "cause"] == "N-1 of another device"
