"""Checks across a site's tables.

`table_errors` finds what makes a site unusable (a reference to nothing, a cycle in the power
forest, duplicate ids, ...), each located at the file, row and column to fix. `site_warnings`
finds what is allowed but probably not meant (a single point of failure shared by both feeds,
a cluster that fits nowhere, ...); warnings never stop a solve.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from optimizer.errors import Issue
from optimizer.schema import Site

if TYPE_CHECKING:
    from optimizer.loaders import ParsedSite, RawSite


Record = tuple[str, int, dict[str, str]]  # where, spreadsheet row, {column: text}


def _records(raw: RawSite, table: str) -> list[Record]:
    t = raw.tables.get(table)
    return [(t.where, line, rec) for line, rec in t.records] if t else []


def _duplicates(raw: RawSite, table: str, columns: tuple[str, ...], issues: list[Issue]) -> None:
    first: dict[tuple[str, ...], int] = {}
    for where, line, rec in _records(raw, table):
        key = tuple(rec.get(c, "") for c in columns)
        if "" in key:
            continue
        if key in first:
            issues.append(
                Issue(
                    where,
                    f"duplicate {columns[-1]} '{'/'.join(key)}' (first on row {first[key]})",
                    row=line,
                    column=columns[-1],
                )
            )
        else:
            first[key] = line


def _cycle_issues(raw: RawSite, issues: list[Issue]) -> None:
    records = _records(raw, "power")
    parent = {rec.get("device", ""): rec.get("parent", "") for _, _, rec in records}
    reported: set[str] = set()
    for where, line, rec in records:
        start = rec.get("device", "")
        seen: list[str] = []
        current = start
        while current and current in parent and current not in seen:
            seen.append(current)
            current = parent[current]
        if current and current in seen:
            cycle = seen[seen.index(current) :]
            if start in cycle and not reported.intersection(cycle):
                reported.update(cycle)
                shown = " -> ".join([*cycle, cycle[0]])
                message = (
                    "a device cannot be its own parent"
                    if len(cycle) == 1
                    else f"the power chain has a cycle: {shown}"
                )
                issues.append(Issue(where, message, row=line, column="parent"))


def _reference_issues(
    raw: RawSite, table: str, column: str, known: set[str], message: str, issues: list[Issue]
) -> None:
    for where, line, rec in _records(raw, table):
        value = rec.get(column, "")
        if value and value not in known:
            issues.append(Issue(where, message.format(value=value), row=line, column=column))


def table_errors(parsed: ParsedSite, raw: RawSite, model_ids: set[str]) -> list[Issue]:
    """Every cross-table problem (empty list = the site can be built). References, ids and
    cycles are checked on the text of every record, parsed or not, so a record with a bad
    number still has its references checked and still counts as existing."""
    t = parsed.tables
    issues: list[Issue] = []
    for table, columns in (
        ("rows", ("hall", "row")), ("power", ("device",)), ("pods", ("pod",)),
        ("demand", ("cluster",)), ("models", ("model",)), ("weather", ("hour",)),
    ):  # fmt: skip
        _duplicates(raw, table, columns, issues)

    folder = raw.site_where.endswith(".yaml")
    power_file = "power.csv" if folder else "the power sheet"
    pods_file = "pods.csv" if folder else "the pods sheet"
    devices = raw.ids("power", "device")
    _reference_issues(
        raw,
        "power",
        "parent",
        devices,
        f"parent '{{value}}' is not a device in {power_file}",
        issues,
    )
    _cycle_issues(raw, issues)
    for column in ("feed_a", "feed_b"):
        _reference_issues(
            raw, "rows", column, devices, f"device '{{value}}' is not in {power_file}", issues
        )
    _reference_issues(
        raw, "rows", "pod", raw.ids("pods", "pod"), f"pod '{{value}}' is not in {pods_file}", issues
    )
    _reference_issues(
        raw,
        "cooling",
        "hall",
        raw.ids("rows", "hall"),
        "hall '{value}' has no rows in rows.csv",
        issues,
    )
    _reference_issues(
        raw,
        "demand",
        "model",
        model_ids,
        "model '{value}' is in neither the hardware library (rackfit models) nor models.csv",
        issues,
    )
    for where, line, rec in _records(raw, "rows"):
        if rec.get("feed_b") and rec.get("feed_b") == rec.get("feed_a"):
            issues.append(
                Issue(
                    where,
                    f"feed_b equals feed_a ('{rec['feed_a']}'); leave feed_b "
                    "empty for a single-corded row",
                    row=line,
                    column="feed_b",
                )
            )

    for loc in t["cooling"]:
        c = loc.obj
        if c.spares > c.units:
            issues.append(
                Issue(
                    loc.where,
                    f"spares ({c.spares}) exceed units ({c.units})",
                    row=loc.line,
                    column="spares",
                )
            )
    for loc in t["demand"]:
        c = loc.obj
        if c.max_racks is not None and c.min_racks > c.max_racks:
            issues.append(
                Issue(
                    loc.where,
                    f"min_racks ({c.min_racks}) exceeds max_racks ({c.max_racks})",
                    row=loc.line,
                    column="min_racks",
                )
            )
    previous = None
    for loc in t["overhead"]:
        temp = loc.obj.temp_c
        if previous is not None and temp == previous:
            issues.append(
                Issue(
                    loc.where,
                    f"temperature {temp:g} repeats; each must be listed once",
                    row=loc.line,
                    column="temp_c",
                )
            )
        elif previous is not None and temp < previous:
            issues.append(
                Issue(
                    loc.where,
                    f"temperatures must increase down the table: {temp:g} comes after {previous:g}",
                    row=loc.line,
                    column="temp_c",
                )
            )
        previous = temp if previous is None else max(previous, temp)
    return issues


def site_warnings(site: Site) -> list[Issue]:
    """What is allowed but likely unintended. Locations name the table and the id."""
    issues: list[Issue] = []
    roots = {d.device for d in site.devices if d.parent is None}
    for row in site.rows:
        if row.feed_b is None:
            continue
        shared = [d for d in site.path(row.feed_a) if d in site.path(row.feed_b) and d not in roots]
        if shared:
            issues.append(
                Issue(
                    "rows.csv",
                    f"row {row.label}: both feeds go through '{shared[0]}', "
                    "a single point of failure below the root",
                    column="feed_b",
                )
            )
    for cluster in site.demand:
        model = site.model_of(cluster)
        if not any(r.fits(model) for r in site.rows):
            issues.append(
                Issue(
                    "demand.csv",
                    f"cluster '{cluster.cluster}': model '{model.model}' "
                    "fits no row (power per position, weight or liquid)",
                    column="model",
                )
            )
    for hall in site.halls:
        liquid_rows = any(r.liquid for r in site.rows if r.hall == hall)
        if liquid_rows and site.cooling_capacity_kw(hall, "liquid") == 0:
            issues.append(
                Issue(
                    "cooling.csv",
                    f"hall '{hall}' has liquid rows but no liquid cooling capacity",
                    column="medium",
                )
            )
    used_pods = Counter(r.pod for r in site.rows if r.pod is not None)
    for pod in site.pods:
        if pod.pod not in used_pods:
            issues.append(Issue("pods.csv", f"pod '{pod.pod}' is used by no row", column="pod"))
    return issues
