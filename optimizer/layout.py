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


def counts_from_placements(placements: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """(cluster, hall, row) -> racks, from a placements table."""
    if placements.empty:
        return {}
    grouped = placements.groupby(["cluster", "hall", "row"], sort=False).size()
    out: dict[tuple[str, str, str], int] = {}
    for key, n in grouped.items():
        c, h, r = cast(tuple[object, object, object], key)
        out[str(c), str(h), str(r)] = int(n)
    return out
