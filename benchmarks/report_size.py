"""How large the HTML report is and how long Chromium takes to open it, at a scale.

    python benchmarks/report_size.py --site data/colossus --out /tmp/report-1x
    python benchmarks/generate.py --scale 10 --out /tmp/site-10x
    python benchmarks/report_size.py --site /tmp/site-10x --out /tmp/report-10x

Makes a plan folder from first fit's placements (no solve: the page's size depends on the
racks, rows and devices, not on how good the plan is), with the tables the page shows
(placements, rows, clusters, power, stranded, summary), writes the page with
`rackfit report --site`, then opens it in headless Chromium (tests/browser.py) and prints the
file size, the time to write it, the time until the page is drawn, and the nodes drawn.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def plan_folder(site_path: Path, out: Path) -> int:
    from optimizer.baseline import first_fit
    from optimizer.loaders import load_site
    from optimizer.verify import power_loads

    site = load_site(site_path)
    placements = first_fit(site)
    out.mkdir(parents=True, exist_ok=True)
    placements.to_csv(out / "placements.csv", index=False)
    counts = placements.groupby(["hall", "row"]).size()
    rows = pd.DataFrame(
        [
            [r.hall, r.row, r.pod, r.feed_a, r.feed_b, r.liquid, r.positions,
             int(counts.get((r.hall, r.row), 0))]
            for r in site.rows
        ],
        columns=["hall", "row", "pod", "feed_a", "feed_b", "liquid", "positions", "racks"],
    )  # fmt: skip
    rows.to_csv(out / "rows.csv", index=False)
    placed = placements.groupby("cluster").size()
    clusters = pd.DataFrame(
        [[c.cluster, c.model, int(placed.get(c.cluster, 0))] for c in site.demand],
        columns=["cluster", "model", "placed_racks"],
    )
    clusters.to_csv(out / "clusters.csv", index=False)
    power = power_loads(site, placements)
    power["utilization"] = power["worst_kw"] / power["limit_kw"]
    power.to_csv(out / "power.csv", index=False)
    gpus = sum(site.model_by_id[m].gpus for m in placements["model"])
    summary = {"site": site.name, "status": "first_fit", "objective_name": "gpus",
               "gpus": gpus, "racks": len(placements)}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary))
    return len(placements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="a new folder")
    args = parser.parse_args(argv)
    from browser import open_browser
    from click.testing import CliRunner

    from optimizer.cli import main as rackfit

    racks = plan_folder(args.site, args.out / "plan")
    html = args.out / "plan.html"
    began = time.perf_counter()
    result = CliRunner().invoke(
        rackfit, ["report", str(args.out / "plan"), "--site", str(args.site), "--out", str(html)]
    )
    write_s = time.perf_counter() - began
    assert result.exit_code == 0, result.output
    with open_browser() as browser:
        open_s = browser.open(html)
        render_ms = browser.js("return document.body.getAttribute('data-render-ms')")
        nodes = browser.js("return document.getElementsByTagName('*').length")
        drawn = len(browser.css("svg.hall-plan rect"))
        errors = browser.console_errors()
    print(
        f"{args.site}: {racks:,} racks; {html.stat().st_size / 1e6:.2f} MB; written in "
        f"{write_s:.1f} s; opened in {open_s:.2f} s (script {render_ms} ms); {nodes:,} DOM "
        f"nodes, {drawn:,} position rectangles drawn; console errors: {len(errors)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
