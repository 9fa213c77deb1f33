"""The sparse index of the model: which (cluster, row) pairs can hold racks at all."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from optimizer.schema import Cluster, RackModel, Row, Site

Place = tuple[str, str, str]  # (cluster, hall, row)


@dataclass(frozen=True)
class Index:
    """Places where a cluster's rack may stand (contract §2), grouped the ways the
    constraint families need them. Built once per site; every family reads it."""

    site: Site

    @cached_property
    def places(self) -> tuple[Place, ...]:
        """(cluster, hall, row) for every row the cluster's model fits, in demand x rows
        order. A pod-colocated cluster only gets rows that belong to a pod."""
        out = []
        for cluster in self.site.demand:
            model = self.site.model_of(cluster)
            for row in self.site.rows:
                if row.positions == 0 or not row.fits(model):
                    continue
                if cluster.colocate == "pod" and row.pod is None:
                    continue
                out.append((cluster.cluster, row.hall, row.row))
        return tuple(out)

    @cached_property
    def place_set(self) -> frozenset[Place]:
        return frozenset(self.places)

    @cached_property
    def cluster(self) -> dict[str, Cluster]:
        return {c.cluster: c for c in self.site.demand}

    @cached_property
    def row(self) -> dict[tuple[str, str], Row]:
        return {r.id: r for r in self.site.rows}

    def model(self, place: Place) -> RackModel:
        return self.site.model_of(self.cluster[place[0]])

    def upper_racks(self, place: Place) -> int:
        """Most racks a place can take: its row's positions, capped by max_racks."""
        cluster = self.cluster[place[0]]
        positions = self.row[place[1], place[2]].positions
        return positions if cluster.max_racks is None else min(positions, cluster.max_racks)

    def _group(self, key) -> dict:  # type: ignore[no-untyped-def]
        out: dict = {}
        for p in self.places:
            out.setdefault(key(p), []).append(p)
        return out

    @cached_property
    def by_row(self) -> dict[tuple[str, str], list[Place]]:
        return self._group(lambda p: (p[1], p[2]))

    @cached_property
    def by_cluster(self) -> dict[str, list[Place]]:
        return self._group(lambda p: p[0])

    @cached_property
    def by_hall(self) -> dict[str, list[Place]]:
        return self._group(lambda p: p[1])

    @cached_property
    def by_pod(self) -> dict[str, list[Place]]:
        grouped = self._group(lambda p: self.row[p[1], p[2]].pod)
        grouped.pop(None, None)
        return grouped

    @cached_property
    def by_cluster_hall(self) -> dict[tuple[str, str], list[Place]]:
        return self._group(lambda p: (p[0], p[1]))

    @cached_property
    def by_cluster_pod(self) -> dict[tuple[str, str], list[Place]]:
        grouped = self._group(lambda p: (p[0], self.row[p[1], p[2]].pod))
        return {k: v for k, v in grouped.items() if k[1] is not None}
