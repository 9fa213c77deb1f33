"""data/small.xlsx is data/small as one workbook (issue 3: the small site also as .xlsx)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from optimizer.cli import main
from optimizer.loaders import load_site

DATA = Path(__file__).resolve().parent.parent / "data"


def test_the_bundled_workbook_loads_to_the_same_site_as_the_folder():
    assert load_site(DATA / "small.xlsx") == load_site(DATA / "small")


def test_the_bundled_workbook_plans_to_the_hand_worked_optimum(tmp_path):
    result = CliRunner().invoke(
        main, ["plan", str(DATA / "small.xlsx"), "--out", str(tmp_path / "p.xlsx"), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert load_site(DATA / "small.xlsx").name == "small"
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "p.xlsx", read_only=True)
    values = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert values["gpus"] == 440 and values["racks"] == 11


def test_the_package_offers_plan_and_sweep_as_the_issue_names_them():
    """`optimizer.plan(site) -> Plan` and `optimizer.sweep(site, grid_mw=[...]) -> DataFrame`."""
    import optimizer

    p = optimizer.plan(DATA / "small")
    assert isinstance(p, optimizer.Plan) and p.summary["gpus"] == 440
    curve = optimizer.sweep(DATA / "small", grid_mw=[0.8, 1.0])
    assert list(curve["gpus"]) == [368, 440]
