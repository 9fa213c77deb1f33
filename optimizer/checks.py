"""Checks across a site's tables.

`table_errors` finds what makes a site unusable (a reference to nothing, a cycle in the power
forest, duplicate ids, ...), each located at the file, row and column to fix. `site_warnings`
finds what is allowed but probably not meant (a single point of failure shared by both feeds,
a cluster that fits nowhere, ...); warnings never stop a solve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from optimizer.errors import Issue
from optimizer.schema import Site
from optimizer.text import shorten

if TYPE_CHECKING:
    from optimizer.loaders import ParsedSite, RawSite


Record = tuple[str, int, dict[str, str]]  # where, spreadsheet row, {column: text}
EXTRA = "\0extra"  # record key of the cells beyond the header (a ragged row; loaders)


@dataclass(frozen=True)
class SiteLocations:
    """Where a loaded site's tables and records are, for messages about a `Site` (which no
    longer knows its files). Built by `loaders.site_locations`; empty = the bare file names.

    `files`: table (`rows`, `power`, ...) -> its file or `workbook:sheet`.
    `rows`: (table, *id) -> spreadsheet row of the record's first line, e.g.
    `("rows", "A", "A3")`, `("demand", "train")`, `("cooling", "L", "liquid")`.
    """

    files: Mapping[str, str] = field(default_factory=dict)
    rows: Mapping[tuple[str, ...], int] = field(default_factory=dict)

    def where(self, table: str) -> str:
        return self.files.get(table, f"{table}.csv")

    def row(self, table: str, *key: str) -> int | None:
        return self.rows.get((table, *key))

    def issue(self, table: str, key: tuple[str, ...], message: str, column: str) -> Issue:
        return Issue(self.where(table), message, row=self.row(table, *key), column=column)


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
                    f"duplicate {columns[-1]} '{shorten('/'.join(key))}' "
                    f"(first on row {first[key]})",
                    row=line,
                    column=columns[-1],
                )
            )
        else:
            first[key] = line


def _cycle_issues(raw: RawSite, issues: list[Issue]) -> None:
    """Each cycle of the power chain, once, at the first record on it. Linear in the number
    of devices: each device is walked up from once."""
    records = _records(raw, "power")
    parent = {rec.get("device", ""): rec.get("parent", "") for _, _, rec in records}
    walked: dict[str, bool] = {}  # device -> still on the current walk?
    cycle_of: dict[str, list[str]] = {}
    for _, _, rec in records:
        walk: list[str] = []
        current = rec.get("device", "")
        while current and current in parent and current not in walked:
            walked[current] = True
            walk.append(current)
            current = parent[current]
        if current and walked.get(current):  # the walk came back onto itself
            cycle = walk[walk.index(current) :]
            for device in cycle:
                cycle_of[device] = cycle
        for device in walk:
            walked[device] = False
    reported: set[int] = set()
    for where, line, rec in records:
        start = rec.get("device", "")
        found = cycle_of.get(start)
        if found is None or id(found) in reported:
            continue
        reported.add(id(found))
        at = found.index(start)
        cycle = found[at:] + found[:at]
        shown = shorten(" -> ".join([*cycle, cycle[0]]), 200)
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
        if EXTRA in rec:
            continue  # a ragged row (already reported): its cells may be shifted
        if value and value not in known:
            issues.append(
                Issue(where, message.format(value=shorten(value)), row=line, column=column)
            )


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

    def named(table: str) -> str:
        return f"{table}.csv" if folder else f"the {table} sheet"

    # A table that could not be read (or whose header is wrong) has already been reported:
    # checking references into it would flag every one of them as well.
    broken = parsed.broken
    devices = raw.ids("power", "device")
    if "power" not in broken:
        _reference_issues(
            raw, "power", "parent", devices,
            f"parent '{{value}}' is not a device in {named('power')}", issues,
        )  # fmt: skip
        for column in ("feed_a", "feed_b"):
            _reference_issues(
                raw, "rows", column, devices,
                f"device '{{value}}' is not in {named('power')}", issues,
            )  # fmt: skip
    _cycle_issues(raw, issues)
    if "pods" not in broken:
        _reference_issues(
            raw, "rows", "pod", raw.ids("pods", "pod"),
            f"pod '{{value}}' is not in {named('pods')}", issues,
        )  # fmt: skip
    if "rows" not in broken:
        _reference_issues(
            raw, "cooling", "hall", raw.ids("rows", "hall"),
            f"hall '{{value}}' has no rows in {named('rows')}", issues,
        )  # fmt: skip
    if "models" not in broken:
        _reference_issues(
            raw, "demand", "model", model_ids,
            "model '{value}' is in neither the hardware library (rackfit models) nor "
            f"{named('models')}",
            issues,
        )  # fmt: skip
    for where, line, rec in _records(raw, "rows"):
        if rec.get("feed_b") and rec.get("feed_b") == rec.get("feed_a"):
            issues.append(
                Issue(
                    where,
                    f"feed_b equals feed_a ('{shorten(rec['feed_a'])}'); leave feed_b "
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
    issues += brownfield_errors(parsed, raw, model_ids, named)
    return issues


def brownfield_errors(
    parsed: ParsedSite, raw: RawSite, model_ids: set[str], named: Callable[[str], str]
) -> list[Issue]:
    """Contract v1.1: failover ratings, phases and the racks already standing (existing.csv),
    each problem at its file, row and column."""
    issues: list[Issue] = []
    for loc in parsed.tables["power"]:
        d = loc.obj
        if d.failover_kw is not None and d.failover_kw < d.capacity_kw * d.derate * (1 - 1e-12):
            issues.append(
                Issue(
                    loc.where,
                    f"failover_kw ({d.failover_kw:g}) is below capacity_kw x derate "
                    f"({d.capacity_kw * d.derate:g}); the rating after a failure cannot be "
                    "lower than the continuous one",
                    row=loc.line,
                    column="failover_kw",
                )
            )
    _duplicates(raw, "phases", ("phase",), issues)
    has_phases = "phases" in raw.tables or "phases" in raw.unread
    phases = raw.ids("phases", "phase")
    for table in ("rows", "cooling", "demand"):
        for where, line, rec in _records(raw, table):
            value = rec.get("phase", "")
            if not value or EXTRA in rec:
                continue
            if not has_phases:
                message = (
                    f"phase '{shorten(value)}' but the site has no {named('phases')}; add it "
                    "listing the phases, or leave phase empty"
                )
            elif "phases" in parsed.broken or value in phases:
                continue
            else:
                message = f"phase '{shorten(value)}' is not in {named('phases')}"
            issues.append(Issue(where, message, row=line, column="phase"))
    issues += _existing_errors(parsed, raw, model_ids, named)
    return issues


def _existing_errors(
    parsed: ParsedSite, raw: RawSite, model_ids: set[str], named: Callable[[str], str]
) -> list[Issue]:
    """existing.csv: each rack on a position of a row of the first phase, each position used
    once, a known model, and a known cluster of the same model; a colocated cluster's
    existing racks in one hall (pod)."""
    issues: list[Issue] = []
    rows = {(r.obj.hall, r.obj.row): r.obj for r in parsed.tables["rows"]}
    row_ids = {(rec.get("hall", ""), rec.get("row", "")) for _, _, rec in _records(raw, "rows")}
    clusters = {c.obj.cluster: c.obj for c in parsed.tables["demand"]}
    cluster_ids = raw.ids("demand", "cluster")
    first_phase = next((p.obj.phase for p in parsed.tables["phases"]), None)
    taken: dict[tuple[str, str, int], int] = {}
    groups: dict[str, dict[str, int]] = {}  # cluster -> hall or pod -> first line
    for loc in parsed.tables["existing"]:
        rack, where, line = loc.obj, loc.where, loc.line
        row = rows.get(rack.row_id)
        label = f"{shorten(rack.hall)}/{shorten(rack.row)}"
        if rack.row_id not in row_ids:
            if "rows" not in parsed.broken:
                issues.append(Issue(where, f"row {label} is not in {named('rows')}", line, "row"))
        elif row is not None:
            if rack.position > row.positions:
                issues.append(
                    Issue(
                        where,
                        f"position {rack.position} is off the row: {label} has "
                        f"{row.positions} positions",
                        line,
                        "position",
                    )
                )
            if row.phase and row.phase != first_phase:
                issues.append(
                    Issue(
                        where,
                        f"row {label} exists only from phase '{shorten(row.phase)}' on; a "
                        "rack already standing needs a row of the first phase",
                        line,
                        "row",
                    )
                )
        key = (rack.hall, rack.row, rack.position)
        if key in taken:
            issues.append(
                Issue(
                    where,
                    f"position {rack.position} of {label} is taken twice (first on row "
                    f"{taken[key]})",
                    line,
                    "position",
                )
            )
        else:
            taken[key] = line or 0
        if rack.model not in model_ids and "models" not in parsed.broken:
            issues.append(
                Issue(
                    where,
                    f"model '{shorten(rack.model)}' is in neither the hardware library "
                    f"(rackfit models) nor {named('models')}",
                    line,
                    "model",
                )
            )
        if rack.cluster is None:
            continue
        cluster = clusters.get(rack.cluster)
        if rack.cluster not in cluster_ids:
            if "demand" not in parsed.broken:
                issues.append(
                    Issue(
                        where,
                        f"cluster '{shorten(rack.cluster)}' is not in {named('demand')}",
                        line,
                        "cluster",
                    )
                )
            continue
        if cluster is None:
            continue
        if cluster.model != rack.model:
            issues.append(
                Issue(
                    where,
                    f"model '{shorten(rack.model)}' is not the model of cluster "
                    f"'{shorten(rack.cluster)}' ('{shorten(cluster.model)}')",
                    line,
                    "model",
                )
            )
        if cluster.colocate == "none" or row is None:
            continue
        group = rack.hall if cluster.colocate == "hall" else row.pod
        if group is None:
            issues.append(
                Issue(
                    where,
                    f"cluster '{shorten(rack.cluster)}' is colocated by pod but row {label} "
                    "has no pod",
                    line,
                    "cluster",
                )
            )
            continue
        seen = groups.setdefault(rack.cluster, {})
        if seen and group not in seen:
            first_group, first_line = next(iter(seen.items()))
            issues.append(
                Issue(
                    where,
                    f"cluster '{shorten(rack.cluster)}' is colocated by {cluster.colocate} but "
                    f"its existing racks stand in {cluster.colocate} '{shorten(first_group)}' "
                    f"(row {first_line}) and '{shorten(group)}'",
                    line,
                    "cluster",
                )
            )
        seen.setdefault(group, line or 0)
    return issues


def site_warnings(site: Site, locations: SiteLocations | None = None) -> list[Issue]:
    """What is allowed but likely unintended. With `locations` (see `loaders.site_locations`;
    `loaders.load_site_with_warnings` passes them) each warning names the site's own file or
    sheet and the row of the record; without, the bare table file name and the id."""
    at = locations or SiteLocations()
    issues: list[Issue] = []
    roots = {d.device for d in site.devices if d.parent is None}
    for row in site.rows:
        if row.feed_b is None:
            continue
        path_b = set(site.path(row.feed_b))
        shared = [d for d in site.path(row.feed_a) if d in path_b and d not in roots]
        if shared:
            issues.append(
                at.issue(
                    "rows",
                    row.id,
                    f"row {row.label}: both feeds go through '{shared[0]}', "
                    "a single point of failure below the root",
                    column="feed_b",
                )
            )
    for cluster in site.demand:
        model = site.model_of(cluster)
        if not any(r.fits(model) for r in site.rows):
            issues.append(
                at.issue(
                    "demand",
                    (cluster.cluster,),
                    f"cluster '{cluster.cluster}': model '{model.model}' "
                    "fits no row (power per position, weight or liquid)",
                    column="model",
                )
            )
    liquid_halls = {r.hall for r in site.rows if r.liquid}
    liquid_kw: dict[str, float] = {}
    for line in site.cooling:
        if line.medium == "liquid":
            liquid_kw[line.hall] = liquid_kw.get(line.hall, 0.0) + line.capacity_kw
    for hall in site.halls:
        if hall in liquid_halls and liquid_kw.get(hall, 0.0) == 0:
            issues.append(
                at.issue(  # at the hall's (empty) liquid line if it has one
                    "cooling",
                    (hall, "liquid"),
                    f"hall '{hall}' has liquid rows but no liquid cooling capacity",
                    column="medium",
                )
            )
    rows = {r.id: r for r in site.rows}
    for rack in site.existing:
        row, model = rows[rack.row_id], site.model_by_id[rack.model]
        if not row.fits(model):
            issues.append(
                at.issue(
                    "existing",
                    (rack.hall, rack.row, str(rack.position)),
                    f"existing rack at {row.label} position {rack.position} ({model.model}) "
                    "would not fit the row (power per position, weight or liquid); it "
                    "already stands, so it is kept and counted in every limit",
                    column="model",
                )
            )
    used_pods = Counter(r.pod for r in site.rows if r.pod is not None)
    for pod in site.pods:
        if pod.pod not in used_pods:
            issues.append(
                at.issue("pods", (pod.pod,), f"pod '{pod.pod}' is used by no row", column="pod")
            )
    return issues
