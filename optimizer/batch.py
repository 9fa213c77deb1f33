"""Scenario batches: one solve per row of a scenarios table, in parallel.

Each scenario overrides keys of the site (see SCENARIO_COLUMNS). Runs in local processes by
default, or on a Dask distributed cluster (an existing scheduler, or a local one started for
the batch). Results come back in the scenarios' order whatever finished first; a scenario
that is infeasible or fails is reported in its row and does not stop the batch.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from optimizer.errors import Issue, RackfitError, SiteError
from optimizer.loaders import load_site
from optimizer.schema import Row, Site
from optimizer.status import Status
from optimizer.text import describe_error
from optimizer.textsafe import control_character, unneutralize

SCENARIO_COLUMNS = {
    "scenario": "name of the scenario (required, unique)",
    "grid_mw": "grid limit in MW (replaces grid_limit_kw; with phases.csv, in every phase "
    "that does not set its own)",
    "onsite_mw": "firm on-site generation in MW (replaces onsite_firm_kw; likewise)",
    "design_temp_c": "design temperature",
    "energy_usd_per_kwh": "energy price",
    "objective": "gpus or cost",
    "substitute_model": "OLD=NEW: every cluster of model OLD uses model NEW instead",
    "out_of_service": "device ids separated by ';' taken out of service (failed for good)",
}
RESULT_COLUMNS = [
    "scenario",
    "status",
    "objective",
    "gpus",
    "racks",
    "mip_gap",
    "bound",
    "message",
    "solve_s",
]

SCHEDULER_TIMEOUT_S = 10


def read_scenarios(path: Path) -> list[dict[str, str]]:
    """The scenarios table, each row as {column: text}. SiteError names file, row, column."""
    where = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise SiteError(Issue(where, "no such file")) from None
    except OSError as exc:  # a folder, no permission
        raise SiteError(Issue(where, f"cannot read file: {exc.strerror or exc}")) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SiteError(Issue(where, f"not a readable CSV table: {exc}")) from None
    issues = [
        Issue(where, f"unknown column (allowed: {', '.join(SCENARIO_COLUMNS)})", row=1, column=c)
        for c in frame.columns
        if c not in SCENARIO_COLUMNS
    ]
    if "scenario" not in frame.columns:
        issues.append(Issue(where, "required column is missing", column="scenario"))
    seen: set[str] = set()
    for i, name in enumerate(frame.get("scenario", pd.Series(dtype=str))):
        name = name.strip()  # names are compared as they are used: trimmed
        if not name:
            issues.append(Issue(where, "value is required", row=i + 2, column="scenario"))
        elif name in seen:
            issues.append(
                Issue(where, f"duplicate scenario '{name}'", row=i + 2, column="scenario")
            )
        seen.add(name)
    for i, record in enumerate(frame.to_dict(orient="records")):
        for column, value in record.items():
            found = control_character(str(value).strip())
            if found is not None:
                message = f"holds a control character ({found}); values must be one line of text"
                issues.append(Issue(where, message, row=i + 2, column=str(column)))
    if issues:
        raise SiteError(issues)
    return [
        {str(k): unneutralize(str(v).strip()) for k, v in r.items()}
        for r in frame.to_dict(orient="records")
    ]


def without_device(site: Site, device: str) -> Site:
    """The site with `device` failed for good: rows that lose one feed become single-fed from
    the other; rows that lose every feed get no positions."""
    rows: list[Row] = []
    for row in site.rows:
        on_a = device in site.path(row.feed_a)
        on_b = row.feed_b is not None and device in site.path(row.feed_b)
        if row.feed_b is not None and on_a and not on_b:
            rows.append(row.model_copy(update={"feed_a": row.feed_b, "feed_b": None}))
        elif row.feed_b is not None and on_b and not on_a:
            rows.append(row.model_copy(update={"feed_b": None}))
        elif on_a:
            rows.append(row.model_copy(update={"positions": 0}))
        else:
            rows.append(row)
    return site.with_updates(rows=tuple(r.model_dump() for r in rows))


def _apply_scenario(
    site: Site, scenario: dict[str, str], where: str = "scenarios", line: int = 0
) -> Site:
    """The site with a scenario's overrides applied (empty cells keep the site's value)."""

    def bad(column: str, message: str) -> SiteError:
        return SiteError(Issue(where, message, row=line or None, column=column))

    changes: dict[str, Any] = {}
    numeric = {
        "grid_mw": ("grid_limit_kw", 1000.0),
        "onsite_mw": ("onsite_firm_kw", 1000.0),
        "design_temp_c": ("design_temp_c", 1.0),
        "energy_usd_per_kwh": ("energy_usd_per_kwh", 1.0),
    }
    for column, (key, scale) in numeric.items():
        text = scenario.get(column, "")
        if text:
            try:
                changes[key] = float(text) * scale
            except ValueError:
                raise bad(column, f"expected a number, got '{text}'") from None
    if scenario.get("objective"):
        if scenario["objective"] not in ("gpus", "cost"):
            raise bad("objective", f"expected gpus or cost, got '{scenario['objective']}'")
        changes["objective"] = scenario["objective"]
    out = site.with_updates(**changes) if changes else site
    sub = scenario.get("substitute_model", "")
    if sub:
        old, sep, new = sub.partition("=")
        if not sep or old not in out.model_by_id or new not in out.model_by_id:
            raise bad("substitute_model", f"expected OLD=NEW with two known models, got '{sub}'")
        demand = [c.model_copy(update={"model": new}) if c.model == old else c for c in out.demand]
        out = out.with_updates(demand=tuple(c.model_dump() for c in demand))
    for device in filter(None, (d.strip() for d in scenario.get("out_of_service", "").split(";"))):
        if device not in out.device_by_id:
            raise bad("out_of_service", f"device '{device}' is not in power.csv")
        out = without_device(out, device)
    return out


def apply_scenario(
    site: Site, scenario: dict[str, str], where: str = "scenarios", line: int = 0
) -> Site:
    """The site with a scenario's overrides applied (empty cells keep the site's value).
    An override the site cannot take (a negative MW, say) is a SiteError at its row."""
    try:
        return _apply_scenario(site, scenario, where, line)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "scenario"
        column = {"grid_limit_kw": "grid_mw", "onsite_firm_kw": "onsite_mw"}.get(key, key)
        raise SiteError(
            Issue(where, describe_error(err), row=line or None, column=column)
        ) from None


def run_scenario(site: Site, scenario: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """Solve one scenario; every outcome is a result row, never an exception."""
    from optimizer.api import plan

    began = time.perf_counter()
    row: dict[str, Any] = {"scenario": scenario["scenario"]}
    try:
        p = plan(apply_scenario(site, scenario), marginal_values=False, **options)
        s = p.summary
        row.update(
            status=s["status"],
            objective=s["objective"],
            gpus=s["gpus"],
            racks=s["racks"],
            mip_gap=s["mip_gap"],
            bound=s["bound"],
            message="",
        )
    except RackfitError as exc:
        status = {3: Status.INFEASIBLE, 4: Status.NO_PLAN, 2: Status.BAD_INPUT}.get(
            exc.exit_code, Status.ERROR
        )
        row.update(status=status, message=str(exc).splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - one scenario's bug must not stop the batch
        row.update(status=Status.ERROR, message=f"{type(exc).__name__}: {exc}")
    row["solve_s"] = round(time.perf_counter() - began, 3)
    return row


def run_batch(
    site_path: Path,
    scenarios: list[dict[str, str]],
    scenarios_where: str | Path = "scenarios",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_workers: int | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Every scenario solved; rows in the scenarios' order."""
    site = load_site(site_path)
    for line, sc in enumerate(scenarios, start=2):  # fail fast on bad overrides
        apply_scenario(site, sc, str(scenarios_where), line)
    if scheduler or dask_workers:
        rows = _on_dask(site, scenarios, options, scheduler, dask_workers)
    elif workers == 1 or len(scenarios) <= 1:
        rows = [run_scenario(site, sc, options) for sc in scenarios]
    else:
        with cf.ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(
                pool.map(
                    run_scenario, [site] * len(scenarios), scenarios, [options] * len(scenarios)
                )
            )
    return pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS)


def _on_dask(
    site: Site,
    scenarios: list[dict[str, str]],
    options: dict[str, Any],
    scheduler: str | None,
    n_workers: int | None,
) -> list[dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        from optimizer.errors import UsageError

        raise UsageError("Dask is not installed: pip install 'rackfit[cluster]'") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            from optimizer.errors import UsageError

            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({reason})") from None
    else:
        cluster = LocalCluster(
            n_workers=n_workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = [client.submit(run_scenario, site, sc, options, pure=False) for sc in scenarios]
        return list(client.gather(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
