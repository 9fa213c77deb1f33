"""The full solve with stages beside it (issue 15): HiGHS starts at once and takes plans and
bounds from a second thread as they come; that thread's solves stop when HiGHS ends; HiGHS's
thread pools are per thread, so both can solve at once with different thread counts."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from test_properties import FAST, sites

from optimizer.api import plan
from optimizer.errors import InfeasibleError
from optimizer.formulation import build_model
from optimizer.loaders import load_site
from optimizer.solve import Cancelled, SolveOptions, Solver, cancel_on, compile_model
from optimizer.strategy import pipeline
from optimizer.strategy.pipeline import _Board
from optimizer.verify import verify

COLOSSUS_GPUS = 115_872  # data/colossus's best plan (value-weighted GPUs; bound 115,880)


@pytest.fixture(scope="module")
def colossus():
    model = compile_model(build_model(load_site("data/colossus")))
    options = SolveOptions(time_limit_s=120, mip_gap=1e-4, threads=2)
    best = Solver(model, options).solve(stop_at=COLOSSUS_GPUS)  # stops at the optimum
    assert best.objective == pytest.approx(COLOSSUS_GPUS)
    return model, best.x


def test_a_plan_offered_from_outside_becomes_highs_plan(colossus):
    """HiGHS asks for outside plans before its search (and before each dive): the optimum
    handed in there is HiGHS's plan from then on, and the solve stops on it. HiGHS alone needs
    seconds and several plans to reach it (test_strategy's stop-rule test)."""
    model, optimum = colossus
    asked: list[float] = []

    def offer():
        asked.append(time.perf_counter())
        return optimum if len(asked) == 1 else None

    solution = Solver(model, SolveOptions(time_limit_s=60, mip_gap=1e-4, threads=1)).solve(
        offer=offer, stop_when=lambda incumbent: bool(asked)
    )
    assert asked, "HiGHS never asked for a plan"
    assert solution.objective == pytest.approx(COLOSSUS_GPUS)
    assert solution.x is not None
    assert (model.A @ solution.x <= model.row_upper + 1e-6).all()
    assert (model.A @ solution.x >= model.row_lower - 1e-6).all()


def test_stop_when_is_asked_while_highs_searches(colossus):
    """A decision made outside (here: after 0.3 s, with no plan needed) stops HiGHS within
    its next check; the result is HiGHS's best plan so far, with status time_limit."""
    model, _ = colossus
    began = time.perf_counter()
    solution = Solver(model, SolveOptions(time_limit_s=60, mip_gap=0.0, threads=1)).solve(
        stop_when=lambda incumbent: time.perf_counter() - began > 0.3
    )
    assert solution.status == "time_limit"
    assert solution.solve_s < 30


def test_a_cancelled_thread_stops_its_solve_and_raises(colossus):
    """Inside cancel_on(event), setting the event (as the full solve does when it ends)
    stops that thread's solve: Cancelled, not a plan and not KeyboardInterrupt."""
    model, _ = colossus
    event = threading.Event()
    outcome: list[object] = []

    def stages():
        with cancel_on(event):
            try:
                Solver(model, SolveOptions(time_limit_s=60, mip_gap=0.0, threads=1)).solve()
                outcome.append("finished")
            except Cancelled:
                outcome.append("cancelled")

    thread = threading.Thread(target=stages)
    thread.start()
    time.sleep(0.3)
    event.set()
    thread.join(30)
    assert outcome == ["cancelled"]


def test_two_threads_solve_at_once_with_their_own_thread_counts():
    """HiGHS keeps a thread pool per calling thread: one thread at --threads 2 and another at
    1 (as the stages beside the full solve) solve side by side, and each proves its model
    (a single shared pool would refuse the second count with an error status)."""
    models = {
        "block-redundant": compile_model(build_model(load_site("data/block-redundant"))),
        "small": compile_model(build_model(load_site("data/small"))),
    }
    results: dict[str, object] = {}

    def run(name, threads):
        options = SolveOptions(time_limit_s=120, mip_gap=1e-9, threads=threads)
        for _ in range(3):  # a few solves each, so that they overlap
            results[name] = Solver(models[name], options).solve()

    threads = [
        threading.Thread(target=run, args=("block-redundant", 2)),
        threading.Thread(target=run, args=("small", 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["block-redundant"].status == "optimal"
    assert results["block-redundant"].objective == pytest.approx(2688)
    assert results["small"].status == "optimal"
    assert results["small"].objective == pytest.approx(440)


def test_the_board_keeps_the_tighter_bound_and_the_better_plan():
    model = compile_model(build_model(load_site("data/small")))
    x = np.zeros(model.shape[1])
    board = _Board(model, 1e-4, bound=500.0, source="surrogate", x=None, objective=None)
    board.offer_bound(520.0, "decomposition")  # looser: ignored
    board.offer_bound(450.0, "decomposition")
    assert (board.bound, board.source) == (450.0, "decomposition")
    assert not board.done(None) and not board.done(440.0)
    assert board.done(449.96)  # within 1e-4 of 450
    board.offer_plan(x)
    assert board.take_plan() is x and board.take_plan() is None  # handed to HiGHS once


def _not_exact(monkeypatch):
    """Make every site take the hard path (stages beside HiGHS)."""
    real = pipeline.surrogate_bound

    def surrogate(*args, **kwargs):
        return replace(real(*args, **kwargs), exact=False)

    monkeypatch.setattr(pipeline, "surrogate_bound", surrogate)


@settings(FAST)
@given(site=sites(objectives=("gpus", "cost")))
def test_with_the_stages_beside_highs_the_optimum_is_plain_highs_one(site):
    """On random small sites that plain HiGHS proves, the hard path (decomposition and
    heuristic beside HiGHS, plans and bounds handed in as they come) proves the same optimum,
    and its plan passes the independent verifier."""
    with pytest.MonkeyPatch.context() as mp:
        _not_exact(mp)
        try:
            plain = plan(
                site, strategy="plain", mip_gap=1e-9, marginal_values=False, time_limit_s=30
            )
        except InfeasibleError:
            with pytest.raises(InfeasibleError):
                plan(site, mip_gap=1e-9, marginal_values=False, time_limit_s=30)
            return
        found = plan(site, mip_gap=1e-9, marginal_values=False, time_limit_s=30)
    assert found.status == "optimal"
    assert found.summary["objective"] == pytest.approx(
        plain.summary["objective"], rel=1e-9, abs=1e-6
    )
    assert not verify(site, found.placements)


def test_the_hard_path_on_colossus_is_proven_and_logs_its_stages(monkeypatch):
    """data/colossus on the hard path: HiGHS proves 115,872 within 1e-4 with the stages beside it;
    the log names every stage that ran (or that it was cancelled)."""
    _not_exact(monkeypatch)
    p = plan("data/colossus", marginal_values=False, time_limit_s=120)
    assert p.status == "optimal"
    assert p.summary["objective"] == pytest.approx(COLOSSUS_GPUS, rel=1e-4)
    names = [s["stage"] for s in p.summary["strategy_stages"]]
    assert names[0] == "surrogate bound" and names[-1] == "full solve"
    assert {"decomposition bound", "stages cancelled"} & set(names)
