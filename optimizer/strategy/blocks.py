"""The blocks a strategy works on: each column's hall, and each column's cluster.

Halls are where the binding rows live (UPS N-1 rows, busways, pods, cooling); the rows that
couple halls are few (grid, substations, cluster minimums and maximums, colocation). The
decomposition bound prices halls, the power-group heuristic fills them in turn, and the
neighbourhood search re-solves them in pairs: all three read a column's hall from here.
Clusters cut across halls: the neighbourhood search also re-solves pairs of clusters over
the whole site (which rack models go where), reading a column's cluster from here."""

from __future__ import annotations

import numpy as np

from optimizer.formulation import BuiltModel
from optimizer.solve import Compiled


def column_halls(built: BuiltModel, model: Compiled) -> np.ndarray:
    """Each full-model column's hall, as its index in `site.halls` (-1: none, e.g. a column
    of the whole site). A place's earlier-phase counts (v1.1) belong to its hall; a
    colocation choice to the hall of its group's places."""
    index = built.index
    halls = {h: n for n, h in enumerate(index.site.halls)}
    hall_of = np.full(model.shape[1], -1)
    for p, col in zip(index.places, model.place_column.tolist(), strict=True):
        if col >= 0:
            hall_of[col] = halls[p[1]]
    for (_, hall, _, _), col in zip(built.place_phases, model.stand_column.tolist(),
                                    strict=True):  # fmt: skip
        if col >= 0:
            hall_of[col] = halls[hall]
    for (c, g), col in zip(built.colocation, model.choice_column.tolist(), strict=True):
        members = index.by_cluster_hall.get((c, g)) or index.by_cluster_pod.get((c, g))
        if col >= 0 and members:
            hall_of[col] = halls[members[0][1]]
    return hall_of


def column_clusters(built: BuiltModel, model: Compiled) -> np.ndarray:
    """Each full-model column's cluster, as its index in the sorted cluster names (-1: none).
    A place's earlier-phase counts (v1.1) and a colocation choice belong to their cluster."""
    index = built.index
    names = sorted({p[0] for p in index.places} | {c for c, _ in built.colocation})
    clusters = {c: n for n, c in enumerate(names)}
    cluster_of = np.full(model.shape[1], -1)
    for p, col in zip(index.places, model.place_column.tolist(), strict=True):
        if col >= 0:
            cluster_of[col] = clusters[p[0]]
    for (c, _, _, _), col in zip(built.place_phases, model.stand_column.tolist(), strict=True):
        if col >= 0:
            cluster_of[col] = clusters[c]
    for (c, _), col in zip(built.colocation, model.choice_column.tolist(), strict=True):
        if col >= 0:
            cluster_of[col] = clusters[c]
    return cluster_of
