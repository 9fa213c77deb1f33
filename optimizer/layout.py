"""Rack counts per (cluster, row) -> one line per rack with its position in the row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pandas as pd

from optimizer.schema import Site
from optimizer.tables import PLACEMENT_COLUMNS


def placements_from_counts(site: Site, racks: Mapping[tuple[str, str, str], int]) -> pd.DataFrame:
    """One line per placed rack, `hall,row,position,cluster,model`.

    `racks` maps (cluster, hall, row) to a rack count. Within each row the clusters are laid
    out in demand.csv order, each cluster's racks next to each other, positions from 1.
    """
    cluster_order = {c.cluster: i for i, c in enumerate(site.demand)}
    model_of = {c.cluster: c.model for c in site.demand}
    by_row: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for (cluster, hall, row_id), n in racks.items():
        if n > 0:
            by_row.setdefault((hall, row_id), []).append((cluster, int(n)))
    lines: list[tuple[str, str, int, str, str]] = []
    for row in site.rows:
        position = 1
        here = by_row.get(row.id, [])
        for cluster, n in sorted(here, key=lambda cn: cluster_order[cn[0]]):
            for _ in range(n):
                lines.append((row.hall, row.row, position, cluster, model_of[cluster]))
                position += 1
    return pd.DataFrame(lines, columns=PLACEMENT_COLUMNS).astype({"position": "int64"})


def placements_with_phases(
    site: Site, standing: Mapping[tuple[str, str, str], list[int]]
) -> pd.DataFrame:
    """Contract v1.1: every rack, existing and new, one line each, with `existing`
    (`true`/`false`, when the site has existing.csv) and `phase` (the phase the rack is
    installed in, the first for existing racks; when the site has phases.csv).

    `standing` maps (cluster, hall, row) to the new racks standing there in each phase
    (cumulative, never decreasing). Existing racks keep their positions; the new racks of a
    row take its free positions from 1 up, earlier phases first, then in demand.csv order, so
    a rack keeps its position in every later phase. Lines come row by row, by position.
    """
    cluster_order = {c.cluster: i for i, c in enumerate(site.demand)}
    model_of = {c.cluster: c.model for c in site.demand}
    phase_ids = [p.phase for p in site.phases] or [""]
    new_by_row: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for (cluster, hall, row_id), counts in standing.items():
        before = 0
        for q, n in enumerate(counts):
            for _ in range(int(n) - before):
                new_by_row.setdefault((hall, row_id), []).append(
                    (q, cluster_order[cluster], cluster)
                )
            before = max(before, int(n))
    existing_by_row: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for rack in site.existing:
        existing_by_row.setdefault(rack.row_id, []).append(
            (rack.position, rack.cluster or "", rack.model)
        )
    lines: list[dict[str, object]] = []
    for row in site.rows:
        taken = existing_by_row.get(row.id, [])
        here = [
            {"position": p, "cluster": c, "model": m, "existing": "true", "phase": phase_ids[0]}
            for p, c, m in taken
        ]
        used = {p for p, _, _ in taken}
        free = (p for p in range(1, row.positions + 1) if p not in used)
        for q, _, cluster in sorted(new_by_row.get(row.id, [])):
            here.append(
                {
                    "position": next(free),
                    "cluster": cluster,
                    "model": model_of[cluster],
                    "existing": "false",
                    "phase": phase_ids[q],
                }
            )
        for line in sorted(here, key=lambda d: int(str(d["position"]))):
            lines.append({"hall": row.hall, "row": row.row, **line})
    columns = list(PLACEMENT_COLUMNS)
    if site.existing:
        columns.append("existing")
    if site.phases:
        columns.append("phase")
    frame = pd.DataFrame(lines, columns=[*PLACEMENT_COLUMNS, "existing", "phase"])
    return frame[columns].astype({"position": "int64"})


def counts_from_placements(placements: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """(cluster, hall, row) -> new racks, from a placements table (racks already standing,
    `existing` true, are not counted)."""
    if "existing" in placements.columns:
        placements = placements[placements["existing"].astype(str).str.lower() != "true"]
    if placements.empty:
        return {}
    grouped = placements.groupby(["cluster", "hall", "row"], sort=False).size()
    out: dict[tuple[str, str, str], int] = {}
    for key, n in grouped.items():
        c, h, r = cast(tuple[object, object, object], key)
        out[str(c), str(h), str(r)] = int(n)
    return out
