"""The neighbourhood search: two halls, or two clusters, re-solved at a time, the rest of the
plan fixed (strategy/neighbourhood.py), and the plans it hands to HiGHS's search."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from pyomo.common.errors import InfeasibleConstraintException
from sites import dev, make_site, rack, row, want
from test_decomposition import three_blocks
from test_properties import FAST, sites

from optimizer.api import first_fit_start, plan
from optimizer.formulation import build_model
from optimizer.layout import placements_from_counts
from optimizer.results import racks_by_place
from optimizer.solve import Solution, SolveOptions, Solver, cancel_on, compile_model
from optimizer.status import Status
from optimizer.strategy import neighbourhood
from optimizer.strategy.blocks import column_clusters, column_halls
from optimizer.strategy.neighbourhood import (
    NeighbourhoodSearch,
    improve_by_neighbourhoods,
    neighbourhoods,
)
from optimizer.verify import verify

EXACT = SolveOptions(time_limit_s=30, mip_gap=0.0, threads=1)


def search(site, start=None, seconds=30.0, options=EXACT):
    """The search from `start` (default: the empty plan); its result, and every plan it
    offered in order."""
    built = build_model(site)
    model = compile_model(built)
    best = [np.zeros(model.shape[1]) if start is None else start(built, model)]
    offered: list[np.ndarray] = []

    def offer(x: np.ndarray) -> None:
        offered.append(x)
        best[0] = x

    partitions = [column_halls(built, model), column_clusters(built, model)]
    found = improve_by_neighbourhoods(model, partitions, lambda: best[0], offer, options, seconds)
    return found, offered, built, model


def test_every_pair_of_halls_once_in_an_order_drawn_from_the_seed():
    hall_of = np.array([0, 0, 1, 2, 3, -1, 3])
    pairs = neighbourhoods(hall_of, seed=0)
    assert sorted(pairs) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert neighbourhoods(hall_of, seed=0) == pairs
    assert {tuple(neighbourhoods(hall_of, seed=s)) for s in range(5)} != {tuple(pairs)}
    assert neighbourhoods(np.array([0, 1, 1]), seed=0) in ([(0,), (1,)], [(1,), (0,)])
    assert neighbourhoods(np.array([0, 0, -1]), seed=0) == []  # one hall: the whole model


def on_a_fake_clock(monkeypatch, halls, clusters, cluster_s, seconds, halls_proven=True,
                    triples_of=()):  # fmt: skip
    """The search with every re-solve faked: a neighbourhood of halls takes 3 s on a fake
    clock (proven optimal unless `halls_proven` is False: then it hits its time limit), one
    of clusters `cluster_s`, and none finds a better plan; a pair of halls that is not proven
    takes its whole time limit. The (kind, size) of each re-solve in order, the search's
    result, and each re-solve's time limit."""
    clock = [0.0]
    calls: list[tuple[str, int]] = []
    limits: list[float] = []

    def fake_resolve(model, block_of, blocks, x, options, limit):
        kind = "halls" if block_of is halls else "clusters"
        calls.append((kind, len(blocks)))
        limits.append(limit)
        clock[0] += (3.0 if halls_proven else limit) if kind == "halls" else cluster_s
        proven = halls_proven or kind == "clusters"
        return Solution(Status.OPTIMAL if proven else Status.TIME_LIMIT, x.copy(), None, None,
                        0.0, 0.0)  # fmt: skip

    monkeypatch.setattr(neighbourhood, "_resolve", fake_resolve)
    monkeypatch.setattr(neighbourhood.time, "perf_counter", lambda: clock[0])
    model = compile_model(build_model(three_blocks(("H1",))))
    x = np.zeros(model.shape[1])
    found = improve_by_neighbourhoods(model, [halls, clusters], lambda: x, lambda _: None, EXACT,
                             seconds, triples_of=triples_of)  # fmt: skip
    return calls, found, limits


H2, C2, C3 = ("halls", 2), ("clusters", 2), ("clusters", 3)


def test_the_kinds_share_the_time_and_the_search_ends_when_every_one_is_settled(monkeypatch):
    """A pair of halls takes 3 s, a pair of clusters 0.3 s, and no re-solve finds anything
    better (each proven optimal at the plan it starts from). After a hall pair, the cluster
    pairs take turns until they have had as much time; the search ends once all 3 + 3
    neighbourhoods are settled at the plan, having re-solved each once."""
    calls, found, _ = on_a_fake_clock(monkeypatch, np.array([0, 1, 2]), np.array([0, 1, 2]),
                                   0.3, 60.0)  # fmt: skip
    assert calls == [H2, C2, C2, C2, H2, H2]  # the cluster pairs ran out before their 3 s
    assert found == NeighbourhoodSearch(solves=6, improvements=0, objective=None)


def test_a_partitions_triples_come_once_its_pairs_are_done_on_its_own_time(monkeypatch):
    """Three halls and four clusters, triples of clusters asked for (a pair of halls 3 s,
    any cluster neighbourhood 0.25 s), nothing better anywhere: after the first pair of
    halls, the clusters catch up on time with their 6 pairs and then their 4 triples (2.5 s
    in all), then the other 2 pairs of halls; each once, and the search ends (every
    neighbourhood proven at the plan)."""
    calls, found, _ = on_a_fake_clock(monkeypatch, np.array([0, 1, 2, 0]), np.array([0, 1, 2, 3]),
                                   0.25, 60.0, triples_of=[1])  # fmt: skip
    assert calls == [H2] + [C2] * 6 + [C3] * 4 + [H2] * 2
    assert found == NeighbourhoodSearch(solves=13, improvements=0, objective=None)
    assert neighbourhoods(np.array([0, 1, 2]), seed=0, size=3) == []  # the pairs cover it


def test_after_one_pass_the_neighbourhoods_not_proven_come_again_with_more_time(monkeypatch):
    """A pair of halls always hits its time limit and is never proven; pairs and triples of
    clusters are proven at once with nothing better. Every neighbourhood is re-solved once
    (a pair of halls, the clusters' 6 pairs and 4 triples, the other 2 pairs of halls);
    after that only the pairs of halls come again, each with twice its last time (3, 6, then
    12 s at most: the same start and limit would repeat HiGHS's same search), until the
    search's time (80 s) is up: 3 x 3 + 3 x 6 + 4 x 12 s, the 2.5 s of the clusters, and the
    2.5 s left."""
    calls, found, limits = on_a_fake_clock(monkeypatch, np.array([0, 1, 2, 0]),
                                           np.array([0, 1, 2, 3]), 0.25, 80.0,
                                           halls_proven=False, triples_of=[1])  # fmt: skip
    assert calls[:11] == [H2] + [C2] * 6 + [C3] * 4
    assert set(calls[11:]) == {H2}
    halls = [limit for call, limit in zip(calls, limits, strict=True) if call == H2]
    assert halls[:6] == [3.0] * 3 + [6.0] * 3
    assert halls[6:] == [12.0] * 4 + [pytest.approx(80 - 77.5)]
    assert found.solves == len(calls) and not found.cancelled and found.objective is None


def two_halls_three_clusters():
    """H1: 2 positions under 20 kW; H2: 10 positions under 90 kW. Cluster A: exactly two
    5 kW racks of 8 GPUs; B: 10 kW racks of 10 GPUs; C: exactly one 1 kW rack of 1 GPU.
    The optimum puts A in H2 (2 A + 1 C + 7 B there, 2 B in H1): 16 + 1 + 90 = 107 GPUs.
    With A in H1 (the start below), H2 has room for only 8 B beside C: 16 + 1 + 80 = 97."""
    return make_site(
        rows=[row("H1", "R1", "P1", positions=2), row("H2", "R1", "P2", positions=10)],
        devices=[dev("P1", 20), dev("P2", 90)],
        demand=[
            want("A", rack("a", design_kw=5), min_racks=2, max_racks=2),
            want("B", rack("b", design_kw=10, gpus=10)),
            want("C", rack("c", design_kw=1, gpus=1), min_racks=1, max_racks=1),
        ],
    )


def a_in_hall_one(built, model):
    """The plan 2 A in H1; 1 C and 8 B in H2 (97 GPUs)."""
    counts = {("A", "H1", "R1"): 2, ("C", "H2", "R1"): 1, ("B", "H2", "R1"): 8}
    x = np.zeros(model.shape[1])
    for p, col in zip(built.index.places, model.place_column.tolist(), strict=True):
        if col >= 0:
            x[col] = counts.get(p, 0)
    return x


def test_a_cluster_pair_moves_racks_between_halls_where_no_hall_alone_can():
    """From the plan with A in H1, neither hall re-solved alone can do better (A's count is
    pinned by the other hall, C's too): the search of halls alone ends with nothing. Freeing
    the clusters A and B over the whole site moves A to H2 and B to H1: the optimum, 107."""
    built = build_model(two_halls_three_clusters())
    model = compile_model(built)
    start = a_in_hall_one(built, model)
    assert model.keeps(start) and model.objective_of(start) == pytest.approx(97.0)
    halls_only = improve_by_neighbourhoods(model, [column_halls(built, model)], lambda: start,
                                  lambda x: None, EXACT, 30.0)  # fmt: skip
    assert halls_only.objective is None and halls_only.solves == 2 and not halls_only.cancelled
    found, offered, _, _ = search(two_halls_three_clusters(), a_in_hall_one)
    assert found.objective == pytest.approx(107.0) and not found.cancelled
    site = two_halls_three_clusters()
    racks = racks_by_place(built, model, offered[-1])
    assert verify(site, placements_from_counts(site, racks)) == []


def test_from_the_empty_plan_four_hand_halls_reach_their_optimum_and_the_search_ends():
    """Four 3N/2 halls of 25 kW racks (each at most 31 racks, 248 GPUs: test_decomposition).
    Without a grid limit, each pair re-solved exactly takes both its halls to 248 each: three
    pairs reach 4 x 248 = 992, the optimum; then the five other pairs, re-solved at it, find
    nothing and are proven, and the search ends by itself (not by its time) after 8 solves.
    There is one cluster: no cluster neighbourhood (it would be the whole model)."""
    began = time.perf_counter()
    found, offered, _, model = search(three_blocks(("H1", "H2", "H3", "H4")))
    assert found.objective == pytest.approx(992.0) and not found.cancelled
    assert found.improvements == len(offered) == 3 and found.solves == 3 + 5
    assert time.perf_counter() - began < 30


def test_with_the_grid_binding_the_pairs_share_what_the_grid_allows():
    """The same halls under 2,900 kW of grid (116 racks of 25 kW, pue 1): a pair may take
    only what the fixed halls leave, and the search ends at the optimum, 928 GPUs."""
    found, offered, built, model = search(three_blocks(("H1", "H2", "H3", "H4"), 2_900))
    assert found.objective == pytest.approx(928.0)
    assert [model.objective_of(x) for x in offered] == sorted(
        model.objective_of(x) for x in offered
    )


@pytest.mark.slow
@settings(FAST)
@given(site=sites(objectives=("gpus", "cost")))
def test_every_plan_offered_is_better_than_the_last_and_passes_the_verifier(site):
    """On random small sites, both objectives, from first fit's plan: each plan the search
    offers keeps every row of the model, is better than the one before, and its placements
    pass the independent verifier."""
    built = build_model(site)
    try:
        model = compile_model(built)
    except InfeasibleConstraintException:  # a row no plan can keep (Pyomo finds it)
        assume(False)
    start = first_fit_start(built, model, site).start
    if start is None:
        return  # first fit misses a minimum: no plan to start from
    found, offered, built, model = search(site, lambda b, m: start, seconds=5.0)
    values = [model.objective_of(x) for x in [start, *offered]]
    steps = np.diff(values) if model.maximize else -np.diff(values)
    assert (steps > 0).all()
    for x in offered:
        assert model.keeps(x)
        assert verify(site, placements_from_counts(site, racks_by_place(built, model, x))) == []


def test_a_cancelled_search_says_so():
    event = threading.Event()
    event.set()
    with cancel_on(event):
        found, offered, _, _ = search(three_blocks(("H1", "H2", "H3")))
    assert found.cancelled and found.solves == 0 and offered == []


def test_highs_tells_each_plan_it_finds():
    """`Solver.solve(on_plan=...)` hands over every better plan HiGHS finds (where the
    neighbourhood search starts): each keeps the rows, and the last is the plan returned."""
    model = compile_model(build_model(three_blocks(("H1", "H2", "H3", "H4"))))
    seen: list[np.ndarray] = []
    best = Solver(model, EXACT).solve(on_plan=seen.append)
    assert best.objective == pytest.approx(992.0) and seen
    assert all(model.keeps(x) for x in seen)
    assert model.objective_of(seen[-1]) == pytest.approx(992.0)


def test_on_the_hard_path_the_search_runs_beside_highs_and_the_plan_verifies(monkeypatch):
    """The search is the last stage beside HiGHS: the log names it (or that the stages were
    cancelled before it ended), and the plan passes the verifier."""
    from test_concurrent import _not_exact

    _not_exact(monkeypatch)
    site = three_blocks(("H1", "H2", "H3", "H4"), 2_900)
    p = plan(site, marginal_values=False, time_limit_s=30, mip_gap=0.0)
    assert p.status == "optimal" and p.summary["objective"] == pytest.approx(928.0)
    names = [s["stage"] for s in p.summary["strategy_stages"]]
    assert "neighbourhood search" in names or "stages cancelled" in names
    assert verify(site, p.placements) == []
