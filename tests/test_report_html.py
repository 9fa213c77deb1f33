"""The HTML report (`rackfit report`, `rackfit plan --report`): the file itself, without a
browser. tests/test_report_browser.py opens it in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clirun import EXIT_INPUT, error_lines, rackfit

from optimizer import loaders
from optimizer.report_html import embed_json

HOSTILE = "</script><script>alert(1)</script><!--\u2028<img src=x onerror=alert(2)>&amp;"


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "plan"
    rackfit("plan", "data/small", "--out", out, "--report", "--quiet")
    return out


def page_data(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="plan-data">(.*?)</script>', html, re.DOTALL
    )
    assert match is not None
    return json.loads(match[1])


def test_plan_report_writes_one_self_contained_page(small_plan: Path) -> None:
    html = (small_plan / "plan.html").read_text(encoding="utf-8")
    # No server, no network: nothing is loaded from anywhere, and the policy forbids it.
    assert "default-src 'none'" in html
    assert not re.search(r"<(script|img|link|iframe)[^>]*\s(src|href)=", html)
    assert "@import" not in html and "url(" not in html
    assert html.count("<script") == 2  # the data block and the inline script
    data = page_data(html)
    summary = json.loads((small_plan / "summary.json").read_text())
    assert data["summary"] == summary
    assert len(data["racks"]) == summary["racks"] == 11
    assert data["halls"] == ["L", "A"]
    assert data["tables"]["stranded"]["columns"][:2] == ["hall", "device"]


def test_report_command_reads_a_plan_folder_back(small_plan: Path, tmp_path: Path) -> None:
    out = tmp_path / "small.html"
    result = rackfit("report", small_plan, "--out", out)
    assert result.stdout.startswith(f"wrote {out}: ")
    again = page_data(out.read_text(encoding="utf-8"))
    first = page_data((small_plan / "plan.html").read_text(encoding="utf-8"))
    assert again["racks"] == first["racks"]
    assert again["tables"] == first["tables"]
    assert again["binding"] == first["binding"]
    # the binding limits are those of the terminal summary (data/small/README.md: PDU-AA)
    assert again["binding"][0][:2] == ["power", "PDU-AA (after TX-B fails)"]


def test_report_of_a_workbook_and_default_out(small_plan: Path, tmp_path: Path) -> None:
    workbook = tmp_path / "small.xlsx"
    rackfit("plan", "data/small", "--out", workbook, "--report", "--quiet")
    assert (tmp_path / "small.html").is_file()  # beside the workbook
    (tmp_path / "small.html").unlink()
    rackfit("report", workbook)  # default --out: PLAN with the suffix .html
    data = page_data((tmp_path / "small.html").read_text(encoding="utf-8"))
    assert data["summary"]["gpus"] == 440
    assert len(data["racks"]) == 11


def test_report_with_site_computes_stranded_for_an_older_plan(
    small_plan: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for f in small_plan.iterdir():
        if f.suffix in (".csv", ".json") and f.name != "stranded.csv":
            (old / f.name).write_bytes(f.read_bytes())
    rackfit("report", old, "--out", tmp_path / "without.html")
    assert "stranded" not in page_data((tmp_path / "without.html").read_text())["tables"]
    rackfit("report", old, "--site", "data/small", "--out", tmp_path / "with.html")
    with_site = page_data((tmp_path / "with.html").read_text())
    written = page_data((small_plan / "plan.html").read_text())
    assert with_site["tables"]["stranded"] == written["tables"]["stranded"]


def test_report_with_a_sweep_folder(small_plan: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    pd.DataFrame(
        {"supply_mw": [0.9, 1.0, 1.1], "design_temp_c": [35, 35, 35], "gpus": [376, 440, 472]}
    ).to_csv(sweep / "sweep.csv", index=False)
    rackfit("report", small_plan, "--sweep", sweep, "--out", tmp_path / "s.html")
    data = page_data((tmp_path / "s.html").read_text())
    assert data["sweep"]["rows"][1] == [1.0, 35, 440]


def test_report_errors_name_the_file(tmp_path: Path, small_plan: Path) -> None:
    result = rackfit("report", tmp_path / "nothing", code=EXIT_INPUT)
    assert error_lines(result) == [f"error: {tmp_path / 'nothing'}: no such file or folder"]
    result = rackfit("report", small_plan, "--sweep", tmp_path, code=EXIT_INPUT)
    assert error_lines(result) == [f"error: {tmp_path}: not a sweep folder: no sweep.csv"]
    result = rackfit("report", small_plan, "--out", tmp_path, code=EXIT_INPUT)
    assert "is a folder" in error_lines(result)[0]


def test_hostile_ids_cannot_leave_the_data_block(small_plan: Path, tmp_path: Path) -> None:
    """A cluster id holding `</script>`, `<!--`, markup and U+2028 stays inside the JSON."""
    plan = hostile_plan(small_plan, tmp_path / "hostile")
    rackfit("report", plan, "--out", tmp_path / "h.html")
    html = (tmp_path / "h.html").read_text(encoding="utf-8")
    assert (
        html.count("</script>") == 2
        and "<!--" not in html
        and "onerror" not in html.split('<script type="application/json"')[0]
    )
    assert "<img" not in html
    data = page_data(html)
    assert HOSTILE in data["clusters"]
    assert embed_json(HOSTILE).count("<") == 0


def hostile_plan(plan: Path, out: Path) -> Path:
    """A copy of `plan` whose cluster `infer` is renamed to HOSTILE everywhere."""
    out.mkdir()
    for f in plan.iterdir():
        if f.suffix in (".csv", ".json"):
            text = f.read_text(encoding="utf-8")
            if f.suffix == ".csv":
                frame = pd.read_csv(f, dtype=str, keep_default_na=False)
                if "cluster" in frame.columns:
                    frame["cluster"] = frame["cluster"].replace("infer", HOSTILE)
                frame.to_csv(out / f.name, index=False)
            else:
                (out / f.name).write_text(text, encoding="utf-8")
    return out


def test_help_lists_report() -> None:
    assert "report" in rackfit("--help").stdout
    text = rackfit("report", "--help").stdout
    for option in ("--site", "--sweep", "--out"):
        assert option in text
    assert "--report" in rackfit("plan", "--help").stdout


def test_browser_tests_say_why_they_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Chromium the browser tests skip with a reason that `pytest -ra` shows."""
    import browser

    monkeypatch.setattr(browser, "CHROMIUM", ("/nonexistent/chromium",))
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    reason = browser.missing()
    assert reason is not None and "Chromium is not installed" in reason
    skipped = pytest.raises(pytest.skip.Exception, match="browser tests skipped: Chromium")
    with skipped, browser.open_browser():
        pass


def test_ids_that_look_like_formulas_read_back_as_written(tmp_path: Path) -> None:
    """A cluster id starting with `=` (which CSV writers may neutralize with a quote for
    spreadsheets) is the same id in the page as in the site."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree("data/small", site)
    demand = (site / "demand.csv").read_text().replace("infer,", "=SUM(A1)+infer,")
    (site / "demand.csv").write_text(demand)
    rackfit("plan", site, "--out", tmp_path / "plan", "--quiet")
    rackfit("report", tmp_path / "plan", "--out", tmp_path / "p.html")
    data = page_data((tmp_path / "p.html").read_text(encoding="utf-8"))
    assert "=SUM(A1)+infer" in data["clusters"]
    assert not any(c.startswith("'") for c in data["clusters"])
    clusters = data["tables"]["clusters"]
    assert [r[0] for r in clusters["rows"]] == ["train", "=SUM(A1)+infer", "storage"]


def test_a_workbook_report_reads_the_same_tables_as_the_folder_and_keeps_a_hall_named_na(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report of a plan workbook reads its sheets with the site loader's safe reader
    (read-only; `NA` is an id, not a missing value), once: data/small with hall A renamed
    `NA`, planned to a folder and to a workbook, gives the same page data."""
    site = tmp_path / "site"
    site.mkdir()
    for f in Path("data/small").iterdir():
        text = f.read_text(encoding="utf-8")
        if f.name in ("rows.csv", "cooling.csv"):
            text = re.sub(r"(?m)^A,", "NA,", text)
        (site / f.name).write_text(text, encoding="utf-8")
    rackfit("plan", site, "--out", tmp_path / "folder", "--report", "--quiet")
    rackfit("plan", site, "--out", tmp_path / "book.xlsx", "--report", "--quiet")
    folder = page_data((tmp_path / "folder" / "plan.html").read_text(encoding="utf-8"))
    reads: list[Path] = []
    real = loaders.read_workbook_sheets

    def counted(path: Path, *args: object, **kwargs: object) -> object:
        reads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(loaders, "read_workbook_sheets", counted)
    rackfit("report", tmp_path / "book.xlsx", "--out", tmp_path / "again.html")
    assert reads == [tmp_path / "book.xlsx"]  # placements, summary and tables in one read
    book = page_data((tmp_path / "again.html").read_text(encoding="utf-8"))
    assert folder["halls"] == book["halls"] == ["L", "NA"]
    assert book["tables"] == folder["tables"]
    assert book["racks"] == folder["racks"]
    assert {k: v for k, v in book["summary"].items() if k != "timings_s"} == {
        k: v for k, v in folder["summary"].items() if k != "timings_s"
    }


def test_page_values_and_summary_json_values_come_from_one_function() -> None:
    """The page and summary.json convert values with one function (export.values.json_value):
    numpy unwrapped, NaN -> None, floats rounded as in every file; only infinity differs,
    which the page shows as text and JSON cannot hold."""
    from optimizer.export.values import json_value
    from optimizer.report_html import _plain

    value = {"kw": np.float64(1 / 3), "gone": float("nan"), "cap": [np.inf, -np.inf], 7: "x"}
    assert _plain(value) == {"kw": 0.333333, "gone": None, "cap": ["inf", "-inf"], "7": "x"}
    assert json_value(value) == {"kw": 0.333333, "gone": None, "cap": [None, None], "7": "x"}
