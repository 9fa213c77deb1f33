"""`rackfit report`: a plan on disk as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli_common import handles_errors


@click.command()
@click.argument("plan_path", metavar="PLAN", type=click.Path(path_type=Path))
@click.option(
    "--site",
    "site_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The plan's site: rack kW from its models, and stranded capacity computed for a "
    "plan written without stranded.csv.",
)
@click.option(
    "--sweep",
    "sweep_path",
    type=click.Path(path_type=Path),
    default=None,
    help="A sweep folder (rackfit sweep --out): adds the curve of GPUs against supply MW.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file to write.  [default: PLAN with the suffix .html]",
)
@handles_errors
def report(
    plan_path: Path, site_path: Path | None, sweep_path: Path | None, out: Path | None
) -> None:
    """Write PLAN (a plan folder or plan workbook) as one self-contained HTML page: summary
    and proof, binding limits, a zoomable floor plan per hall (hover a rack for its cluster,
    model, kW and feeds), utilization per device with the failure behind its worst case,
    clusters, stranded capacity, and the sweep curve with --sweep. Opens in any browser,
    offline: no server, no network."""
    from optimizer.export.report import write_report
    from optimizer.loaders import load_site
    from optimizer.report_html import input_from_files

    site = None if site_path is None else load_site(site_path)
    data = input_from_files(plan_path, site, sweep_path)
    target = out if out is not None else plan_path.with_suffix(".html")
    write_report(data, target)
    racks = len(data.tables["placements"])
    click.echo(f"wrote {target}: {target.stat().st_size / 1e6:.2f} MB, {racks:,} racks")
