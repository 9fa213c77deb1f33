"""The neighbourhood search: two halls re-solved at a time, the rest of the plan fixed
(strategy/neighbourhood.py), and the plans it hands to HiGHS's search."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from pyomo.common.errors import InfeasibleConstraintException
from test_decomposition import three_blocks
from test_properties import FAST, sites

from optimizer.api import first_fit_start, plan
from optimizer.formulation import build_model
from optimizer.layout import placements_from_counts
from optimizer.results import racks_by_place
from optimizer.solve import SolveOptions, Solver, cancel_on, compile_model
from optimizer.strategy.blocks import column_halls
from optimizer.strategy.neighbourhood import improve_by_halls, neighbourhoods
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

    found = improve_by_halls(model, column_halls(built, model), lambda: best[0], offer,
                             options, seconds)  # fmt: skip
    return found, offered, built, model


def test_every_pair_of_halls_once_in_an_order_drawn_from_the_seed():
    hall_of = np.array([0, 0, 1, 2, 3, -1, 3])
    pairs = neighbourhoods(hall_of, seed=0)
    assert sorted(pairs) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert neighbourhoods(hall_of, seed=0) == pairs
    assert {tuple(neighbourhoods(hall_of, seed=s)) for s in range(5)} != {tuple(pairs)}
    assert neighbourhoods(np.array([0, 1, 1]), seed=0) in ([(0,), (1,)], [(1,), (0,)])
    assert neighbourhoods(np.array([0, 0, -1]), seed=0) == []  # one hall: the whole model


def test_from_the_empty_plan_four_hand_halls_reach_their_optimum_and_the_search_ends():
    """Four 3N/2 halls of 25 kW racks (each at most 31 racks, 248 GPUs: test_decomposition).
    Without a grid limit, the first round re-solves every pair exactly: 4 x 248 = 992, the
    optimum; the second finds nothing with every pair proven, and the search ends by itself
    (not by its time), after 2 rounds of 6 pairs."""
    began = time.perf_counter()
    found, offered, _, model = search(three_blocks(("H1", "H2", "H3", "H4")))
    assert found.objective == pytest.approx(992.0) and not found.cancelled
    assert found.solves == 12 and found.improvements == len(offered) >= 2
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
    assert "hall-pair search" in names or "stages cancelled" in names
    assert verify(site, p.placements) == []
