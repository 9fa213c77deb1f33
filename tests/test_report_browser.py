"""The HTML report opened in headless Chromium (tests/browser.py). Skipped, with the reason
shown by `pytest -ra`, where selenium, Chromium or chromedriver is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from browser import Browser, open_browser, screenshot
from clirun import rackfit
from PIL import Image
from test_report_html import HOSTILE, hostile_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "plan"
    rackfit("plan", "data/small", "--out", out, "--report", "--quiet")
    return out


@pytest.fixture(scope="module")
def browser() -> Browser:
    with open_browser() as b:
        yield b


def test_small_report_draws_every_hall_and_rack_without_errors(small_plan, browser) -> None:
    browser.open(small_plan / "plan.html")
    assert browser.console_errors() == []
    placements = pd.read_csv(small_plan / "placements.csv")
    halls = [svg.get_attribute("data-hall") for svg in browser.css("svg.hall-plan")]
    assert halls == ["L", "A"]  # one floor plan per hall, in rows.csv order
    for hall in halls:
        racks = browser.css(f'svg.hall-plan[data-hall="{hall}"] rect.rack')
        assert len(racks) == int((placements["hall"] == hall).sum())
    # every position is drawn once: racks plus empty slots = the rows' positions (22)
    assert len(browser.css("svg.hall-plan rect")) == 22


def test_hover_shows_the_racks_cluster_model_kw_and_feeds(small_plan, browser) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    browser.open(small_plan / "plan.html")
    tip = browser.css("#tip")[0]
    assert not tip.is_displayed()
    rack = browser.css('svg.hall-plan[data-hall="A"] rect.rack')[0]
    ActionChains(browser.driver).move_to_element(rack).perform()
    assert tip.is_displayed()
    assert tip.text.splitlines() == [
        "A / A1, position 1",
        "cluster: infer",
        "model: nvidia-dgx-h100 (40.8 kW)",
        "feed A: PDU-AA",
        "feed B: PDU-AB",
        "pod: POD-A",
    ]


def test_numbers_shown_equal_summary_json_and_the_hand_worked_ones(small_plan, browser) -> None:
    """data/small/README.md: 440 GPUs in 11 racks; PDU-AA carries all of hall A, 300.6 of
    320 kW, after the B side fails; the grid draws 1.3 × 696.6 + 50 = 955.58 kW."""
    browser.open(small_plan / "plan.html")
    summary = json.loads((small_plan / "summary.json").read_text())
    shown = {e.get_attribute("data-key"): e for e in browser.css("#summary-values dd")}
    for key in ("gpus", "racks", "objective", "bound", "mip_gap", "design_kw", "baseline_gpus"):
        assert json.loads(shown[key].get_attribute("data-value")) == summary[key], key
    assert shown["gpus"].text == "440" and shown["racks"].text == "11"
    assert shown["design_kw"].text == "696.6"
    assert shown["objective"].text == f"{summary['objective']:,.0f}"
    assert shown["baseline_gpus"].text == f"{summary['baseline_gpus']:,}"
    power = {
        r[0]: r
        for r in (
            [td.text for td in tr.find_elements("css selector", "td")]
            for tr in browser.css("#power-table tbody tr")
        )
    }
    assert power["PDU-AA"][2:6] == ["320.0", "157.8", "300.6", "TX-B"]
    assert power["PDU-AA"][6].endswith("93.9 %")
    grid = [td.text for td in browser.css("#grid-table tbody td")]
    assert grid[0] == "696.6" and grid[4] == "955.6" and grid[5] == "1,010.0"
    clusters = [[td.text for td in tr.find_elements("css selector", "td")][:6]
                for tr in browser.css("#clusters-table tbody tr")]  # fmt: skip
    assert clusters == [
        ["train", "nvidia-gb200-nvl72", "0", "", "3", "216"],
        ["infer", "nvidia-dgx-h100", "0", "", "7", "224"],
        ["storage", "storage-flash", "1", "1", "1", "0"],
    ]
    assert "PDU-AA" in browser.css("#stranded-table")[0].text


def test_screenshot_has_the_reports_structure(small_plan, tmp_path) -> None:
    """Compared by structure, not pixels: the image is the window's size, it is not blank
    where the sections are, and the hall plans lie inside the page without overlapping."""
    png = tmp_path / "report.png"
    screenshot(small_plan / "plan.html", png, height=1400)
    image = Image.open(png).convert("L")
    assert image.size == (1280, 1400)
    columns = image.width // 4
    # the header, the summary, the binding limits and the floor plans all hold ink
    for top in (0, 150, 400, 700):
        band = image.crop((0, top, columns * 4, top + 100))
        assert band.getextrema()[0] < 128, f"blank band at y={top}"
    with open_browser(1280, 1400) as b:
        b.open(small_plan / "plan.html")
        boxes = [b.js("var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, "
                      "r.width, r.height];", svg) for svg in b.css("svg.hall-plan")]  # fmt: skip
        racks = [b.js("var r = arguments[0].getBoundingClientRect(); return [r.width, r.height];",
                      rect) for rect in b.css("rect.rack")]  # fmt: skip
    assert len(boxes) == 2
    (l1, t1, w1, h1), (l2, t2, w2, h2) = boxes
    assert t1 + h1 <= t2 or l1 + w1 <= l2  # hall L above or left of hall A, not overlapping
    assert all(left >= 0 and left + w <= 1280 and w > 50 and h > 20 for left, _, w, h in boxes)
    assert all(w >= 8 and h >= 8 for w, h in racks)  # a rack is large enough to hover


def test_hostile_ids_render_as_text(small_plan, tmp_path, browser) -> None:
    plan = hostile_plan(small_plan, tmp_path / "hostile")
    rackfit("report", plan, "--out", tmp_path / "h.html")
    browser.open(tmp_path / "h.html")
    assert browser.console_errors() == []
    assert browser.js("return document.querySelectorAll('img, #report script').length") == 0
    legend = browser.css("#legend")[0]
    assert legend.get_attribute("textContent").startswith("train (3)" + HOSTILE + " (7)")
    clusters = browser.css("#clusters-table tbody tr td")
    assert HOSTILE in [td.get_attribute("textContent") for td in clusters]


def test_sweep_curve_has_a_point_per_solved_grid_limit(small_plan, tmp_path, browser) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    pd.DataFrame(
        {"supply_mw": [0.9, 1.0, 1.1], "design_temp_c": [35] * 3, "gpus": [376, 440, 472]}
    ).to_csv(sweep / "sweep.csv", index=False)
    rackfit("report", small_plan, "--sweep", sweep, "--out", tmp_path / "s.html")
    browser.open(tmp_path / "s.html")
    assert browser.console_errors() == []
    points = browser.css("#sweep-chart circle.sweep-point")
    assert [p.get_attribute("textContent") for p in points] == [
        "0.9 MW (design 35 °C): 376 GPUs",
        "1.0 MW (design 35 °C): 440 GPUs",
        "1.1 MW (design 35 °C): 472 GPUs",
    ]
    ys = [float(p.get_attribute("cy")) for p in points]
    assert ys[0] > ys[1] > ys[2]  # more GPUs higher up


def test_a_large_site_draws_one_hall_at_a_time(tmp_path, browser) -> None:
    """Above 5,000 positions the page draws one hall, chosen in a selector."""
    rows, placements = [], []
    for h in range(1, 4):
        for r in range(1, 41):
            rows.append([f"H{h}", f"R{r}", 50, f"A{h}", f"B{h}", None, 0])
            placements += [[f"H{h}", f"R{r}", p, "c", "m"] for p in range(1, 1 + (r % 7) * 5)]
    folder = tmp_path / "big"
    folder.mkdir()
    pd.DataFrame(placements, columns=["hall", "row", "position", "cluster", "model"]).to_csv(
        folder / "placements.csv", index=False
    )
    pd.DataFrame(
        rows, columns=["hall", "row", "positions", "feed_a", "feed_b", "pod", "racks"]
    ).to_csv(folder / "rows.csv", index=False)
    pd.DataFrame({"cluster": ["c"], "model": ["m"]}).to_csv(folder / "clusters.csv", index=False)
    (folder / "summary.json").write_text(json.dumps({"site": "big", "racks": len(placements)}))
    rackfit("report", folder, "--out", tmp_path / "big.html")
    browser.open(tmp_path / "big.html")
    assert browser.console_errors() == []
    assert [s.get_attribute("data-hall") for s in browser.css("svg.hall-plan")] == ["H1"]
    per_hall = len(placements) // 3
    assert len(browser.css("svg.hall-plan rect.rack")) == per_hall
    assert len(browser.css("svg.hall-plan rect")) == 40 * 50
    from selenium.webdriver.support.ui import Select

    Select(browser.css("#hall-select")[0]).select_by_value("H3")
    assert [s.get_attribute("data-hall") for s in browser.css("svg.hall-plan")] == ["H3"]

    # zoom: the view box shrinks, and "fit" brings the whole hall back
    def view_box() -> str:
        return browser.js("return document.querySelector('svg.hall-plan').getAttribute('viewBox')")

    before = view_box()
    browser.css("#zoom-in")[0].click()
    assert float(view_box().split()[2]) < float(before.split()[2])
    browser.css("#zoom-reset")[0].click()
    assert view_box() == before


def test_phase_selector_shows_the_racks_standing_in_a_phase(tmp_path, browser) -> None:
    """Contract v1.1: data/small with one H100 already standing in A1 and two phases, the
    first with 800 kW of grid. The plan stands 10 racks in 2025 (the grid binds) and 11 in
    2026; the selector lists both, and 2025 draws only the racks installed by then."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree("data/small", site)
    (site / "phases.csv").write_text("phase,grid_limit_kw\n2025,800\n2026,\n")
    (site / "existing.csv").write_text(
        "hall,row,position,model,cluster\nA,A1,1,nvidia-dgx-h100,infer\n"
    )
    rackfit("plan", site, "--out", tmp_path / "plan", "--report", "--quiet")
    phases = pd.read_csv(tmp_path / "plan" / "phases.csv")
    assert phases["racks"].tolist() == [10, 11]
    browser.open(tmp_path / "plan" / "plan.html")
    assert browser.console_errors() == []
    from selenium.webdriver.support.ui import Select

    select = Select(browser.css("#phase-select")[0])
    assert [o.text for o in select.options] == ["2025", "2026"]
    assert len(browser.css("rect.rack")) == 11  # the last phase at first
    assert len(browser.css("rect.rack.existing")) == 1
    select.select_by_visible_text("2025")
    assert len(browser.css("rect.rack")) == 10
    assert len(browser.css("#phases-table tbody tr")) == 2
