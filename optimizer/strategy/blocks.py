"""The blocks a strategy works on: each column's hall, and each column's cluster.

Halls are where the binding rows live (UPS N-1 rows, busways, pods, cooling); the rows that
couple halls are few (grid, substations, cluster minimums and maximums, colocation). The
decomposition bound prices halls, the power-group heuristic fills them in turn, and the
neighbourhood search re-solves them in pairs: all three read a column's hall from here.
Clusters cut across halls: the neighbourhood search also re-solves pairs of clusters over
the whole site (which rack models go where), reading a column's cluster from here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optimizer.formulation import BuiltModel
from optimizer.solve import Compiled


def column_halls(built: BuiltModel, model: Compiled) -> np.ndarray:
    """Each full-model column's hall, as its index in `site.halls` (-1: none, e.g. a column
    of the whole site). A place's earlier-phase counts (v1.1) belong to its hall; a
    colocation choice to the hall of its group's places."""
    index = built.index
    halls = {h: n for n, h in enumerate(index.site.halls)}

    def choice_hall(cluster: str, group: str) -> int | None:
        members = index.by_cluster_hall.get((cluster, group)) or index.by_cluster_pod.get(
            (cluster, group)
        )
        return halls[members[0][1]] if members else None

    return _label_columns(built, model, lambda cluster, hall: halls[hall], choice_hall)


def column_clusters(built: BuiltModel, model: Compiled) -> np.ndarray:
    """Each full-model column's cluster, as its index in the sorted cluster names (-1: none).
    A place's earlier-phase counts (v1.1) and a colocation choice belong to their cluster."""
    names = sorted({p[0] for p in built.index.places} | {c for c, _ in built.colocation})
    clusters = {c: n for n, c in enumerate(names)}
    return _label_columns(
        built, model, lambda cluster, hall: clusters[cluster], lambda cluster, _: clusters[cluster]
    )


def _label_columns(
    built: BuiltModel,
    model: Compiled,
    of_place: Callable[[str, str], int],
    of_choice: Callable[[str, str], int | None],
) -> np.ndarray:
    """Each full-model column's label (-1: none): `of_place(cluster, hall)` for a place's
    count and its earlier-phase counts, `of_choice(cluster, hall or pod)` for a colocation
    choice (None: none)."""
    label = np.full(model.shape[1], -1)
    for (c, hall, _), col in zip(built.index.places, model.place_column.tolist(), strict=True):
        if col >= 0:
            label[col] = of_place(c, hall)
    for (c, hall, _, _), col in zip(built.place_phases, model.stand_column.tolist(),
                                    strict=True):  # fmt: skip
        if col >= 0:
            label[col] = of_place(c, hall)
    for (c, g), col in zip(built.colocation, model.choice_column.tolist(), strict=True):
        chosen = of_choice(c, g) if col >= 0 else None
        if chosen is not None:
            label[col] = chosen
    return label
