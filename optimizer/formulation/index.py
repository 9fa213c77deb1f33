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
            home = self.existing_group.get(cluster.cluster)
            for row in self.site.rows:
                if self.free_positions(row.id) == 0 or not row.fits(model):
                    continue
                if cluster.colocate == "pod" and row.pod is None:
                    continue
                if home is not None and home != (
                    row.hall if cluster.colocate == "hall" else row.pod
                ):
                    continue  # v1.1: a colocated cluster's new racks join its existing ones
                out.append((cluster.cluster, row.hall, row.row))
        return tuple(out)

    # -- v1.1: racks already standing and phases ------------------------------------------
    @cached_property
    def existing_in_row(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for rack in self.site.existing:
            out[rack.row_id] = out.get(rack.row_id, 0) + 1
        return out

    @cached_property
    def existing_in_cluster(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for rack in self.site.existing:
            if rack.cluster is not None:
                out[rack.cluster] = out.get(rack.cluster, 0) + 1
        return out

    @cached_property
    def existing_group(self) -> dict[str, str | None]:
        """Colocated cluster -> the hall (pod) its existing racks stand in."""
        out: dict[str, str | None] = {}
        for rack in self.site.existing:
            cluster = self.cluster.get(rack.cluster or "")
            if cluster is None or cluster.colocate == "none":
                continue
            row = self.row[rack.row_id]
            out[cluster.cluster] = rack.hall if cluster.colocate == "hall" else row.pod
        return out

    def free_positions(self, row_id: tuple[str, str]) -> int:
        """Positions of a row not taken by existing racks."""
        return self.row[row_id].positions - self.existing_in_row.get(row_id, 0)

    @property
    def phases(self) -> range:
        return range(self.site.phase_count)

    @property
    def last_phase(self) -> int:
        return self.site.phase_count - 1

    def first_phase(self, place: Place) -> int:
        """The first phase a new rack of the place may stand in: its row's and its
        cluster's phase, whichever is later."""
        site = self.site
        return max(
            site.phase_number(self.row[place[1], place[2]].phase),
            site.phase_number(self.cluster[place[0]].phase),
        )

    @cached_property
    def existing_models(self) -> list[tuple[tuple[str, str], RackModel, str | None]]:
        """(row id, model, cluster) of every existing rack."""
        return [(r.row_id, self.site.model_by_id[r.model], r.cluster) for r in self.site.existing]

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
        """Most new racks a place can take: its row's free positions, capped by max_racks
        less the cluster's existing racks."""
        cluster = self.cluster[place[0]]
        positions = self.free_positions((place[1], place[2]))
        if cluster.max_racks is None:
            return positions
        return max(min(positions, cluster.max_racks - self.existing_in_cluster.get(place[0], 0)), 0)

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
