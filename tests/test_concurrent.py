"""The full solve with stages beside it (issue 15): HiGHS starts at once beside the
surrogate, from no plan (raw HiGHS's path), and takes bounds and fallback plans from a
second thread as they come; if the surrogate comes back exact within its head start, that
search is thrown away and the easy path runs in turn; that thread's solves stop when HiGHS
ends; HiGHS's thread pools are per thread, so both can solve at once with different thread
counts."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from test_properties import FAST, sites

from optimizer.api import plan
from optimizer.errors import InfeasibleError
from optimizer.formulation import build_model
from optimizer.loaders import load_site
from optimizer.solve import (
    Cancelled,
    Progress,
    Solution,
    SolveOptions,
    Solver,
    Status,
    cancel_on,
    compile_model,
)  # fmt: skip
from optimizer.strategy import pipeline
from optimizer.strategy.pipeline import _Board, _Held, _Run
from optimizer.verify import verify

COLOSSUS_GPUS = 115_872  # data/colossus's best plan (value-weighted GPUs; bound 115,880)


@pytest.fixture(scope="module")
def colossus():
    model = compile_model(build_model(load_site("data/colossus")))
    options = SolveOptions(time_limit_s=120, mip_gap=1e-4, threads=2)
    best = Solver(model, options).solve(stop_at=COLOSSUS_GPUS)  # stops at the optimum
    assert best.objective == pytest.approx(COLOSSUS_GPUS)
    return model, best.x


def test_stop_when_is_asked_while_highs_searches(colossus):
    """A decision made outside (here: after 0.3 s, with no plan needed) stops HiGHS within
    its next check; the result is HiGHS's best plan so far, with status time_limit."""
    model, _ = colossus
    began = time.perf_counter()
    solution = Solver(model, SolveOptions(time_limit_s=60, mip_gap=0.0, threads=1)).solve(
        stop_when=lambda incumbent, bound: time.perf_counter() - began > 0.3
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
    fresh = _Board(model, 1e-4, bound=500.0, source="surrogate", x=None, objective=None)
    assert fresh.done(440.0, highs_bound=440.04)  # HiGHS's own bound proves HiGHS's plan
    board.offer_plan(x)  # the empty plan: objective 0, a fallback
    assert board.x is x and board.objective == 0.0
    assert not board.done(None, highs_bound=440.0)
    board.offer_plan(None)
    assert board.x is x


def test_a_highs_bound_below_a_known_plan_does_not_stop_the_search():
    """A bound worse than a plan already found cannot be a proof: the board does not stop
    HiGHS on it, nor remember it for the surrogate's stop rule, and the log says so."""
    model = compile_model(build_model(load_site("data/small")))  # maximizes
    board = _Board(model, 1e-4, bound=None, source="surrogate", x=None, objective=None)
    assert not board.done(440.0, highs_bound=439.0)  # below HiGHS's own plan
    assert board.highs_bound is None and board.ignored_bounds == [439.0]
    assert board.done(440.0, highs_bound=440.0000001)  # equal but for rounding: a proof
    assert board.highs_bound == 440.0000001
    x = np.zeros(model.shape[1])
    board = _Board(model, 1e-4, bound=None, source="surrogate", x=x, objective=450.0)
    assert not board.done(430.0, highs_bound=449.0)  # below the board's plan
    assert board.ignored_bounds == [449.0] and board.highs_bound is None
    log = pipeline.StrategyLog()
    solution = Solution(Status.TIME_LIMIT, x, 430.0, 460.0, None, 1.0)
    pipeline._finish(model, SolveOptions(), solution, time.perf_counter(), None, board, log, 0.0)
    assert log.stages[-1] == {"stage": "HiGHS bound below a known plan, ignored",
                              "incumbent": 450.0, "bound": 449.0}  # fmt: skip


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
    # first fit is logged when the path is decided: after the surrogate's entry when the
    # surrogate came back within its head start, before it when it did not (a busy machine)
    assert set(names[:2]) == {"surrogate bound", "first fit"} and names[-1] == "full solve"
    assert {"decomposition bound", "stages cancelled"} & set(names)


def test_on_the_hard_path_highs_searches_the_path_raw_highs_takes(monkeypatch):
    """rackfit's full solve starts from no plan and is handed none while it searches, so its
    plans are raw HiGHS's plans on the same model, in the same order (HiGHS is
    deterministic): the sequence rackfit saw in 4 s is a start of the one raw HiGHS sees in
    8 s. Asked for 2 threads, rackfit's HiGHS takes 1 beside the stages (they take the
    other), so raw HiGHS here is on 1 thread too."""
    _not_exact(monkeypatch)
    site = load_site("data/colossus")
    ours: list[float] = []
    p = plan(site, marginal_values=False, time_limit_s=4, threads=2, mip_gap=1e-9,
             on_progress=lambda snap: ours.append(round(snap.incumbent, 6)))  # fmt: skip
    raw: list[float] = []
    model = compile_model(build_model(site))
    Solver(model, SolveOptions(time_limit_s=8, mip_gap=1e-9, threads=1)).solve(
        on_progress=lambda snap: raw.append(round(snap.incumbent, 6))
    )
    assert ours, "no plan in 4 s"
    assert raw[: len(ours)] == ours
    assert p.summary["objective"] >= ours[-1] - 1e-6


def test_a_slow_surrogate_does_not_hold_highs_back(monkeypatch):
    """The surrogate runs alone only for its head start (3% of the limit): here it waits
    until HiGHS has found a plan, which happens only if HiGHS started without it. data/small
    is then proven by HiGHS, with the surrogate still running beside it."""
    real = pipeline.surrogate_bound
    highs_found_a_plan = threading.Event()
    waited: list[bool] = []

    def slow_surrogate(*args, **kwargs):
        waited.append(highs_found_a_plan.wait(timeout=60))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "surrogate_bound", slow_surrogate)
    p = plan("data/small", marginal_values=False, time_limit_s=10, mip_gap=1e-9,
             on_progress=lambda snap: highs_found_a_plan.set())  # fmt: skip
    assert waited == [True], "HiGHS did not start before the surrogate came back"
    assert (p.status, p.summary["gpus"], p.summary["bound"]) == ("optimal", 440, 440.0)


def test_an_error_in_the_stages_thread_is_raised_in_the_callers(monkeypatch):
    """A bug in a stage is not swallowed by its thread: plan() raises it."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the surrogate")

    monkeypatch.setattr(pipeline, "surrogate_bound", broken)
    with pytest.raises(RuntimeError, match="a bug in the surrogate"):
        plan("data/small", marginal_values=False, time_limit_s=10)


def test_ctrl_c_while_waiting_for_the_surrogate_stops_the_stages_thread_first(monkeypatch):
    """Ctrl-C during the surrogate's head start: the KeyboardInterrupt leaves only after the
    stages thread has stopped (a HiGHS solve still running at exit would abort the process,
    and the exit code would not be 130)."""
    from contextlib import contextmanager

    real = pipeline.surrogate_bound

    def slow_surrogate(*args, **kwargs):
        time.sleep(0.5)
        return real(*args, **kwargs)

    class CtrlCAfterTheWait:
        @contextmanager
        def stage(self, name):
            yield
            raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "surrogate_bound", slow_surrogate)
    site = load_site("data/small")
    built = build_model(site)
    model = compile_model(built)
    with pytest.raises(KeyboardInterrupt):
        pipeline.solve_with_strategy(
            built, model, site, SolveOptions(time_limit_s=10), None, CtrlCAfterTheWait(), None
        )
    assert not [t for t in threading.enumerate() if t.name == "rackfit-stages"]


def _record_searches(monkeypatch) -> threading.Event:
    """An event set when the pipeline's first HiGHS search begins."""
    searching = threading.Event()

    class Recording(pipeline.Solver):
        def solve(self, *args, **kwargs):
            searching.set()
            return super().solve(*args, **kwargs)

    monkeypatch.setattr(pipeline, "Solver", Recording)
    return searching


def test_highs_starts_at_once_and_the_easy_path_throws_its_search_away(monkeypatch):
    """HiGHS starts beside the surrogate, not after its head start (3 s of a 100 s limit):
    the surrogate here waits (2 s at most) for HiGHS's search to begin. It then comes back
    exact, so the site is easy: HiGHS's search is thrown away and the plan is the one the
    easy path gives without the wait, placement for placement."""
    expected = plan("data/small", marginal_values=False, time_limit_s=100)
    real_surrogate = pipeline.surrogate_bound
    searching = _record_searches(monkeypatch)
    waited: list[bool] = []

    def waiting_surrogate(*args, **kwargs):
        waited.append(searching.wait(timeout=2))
        return real_surrogate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "surrogate_bound", waiting_surrogate)
    found = plan("data/small", marginal_values=False, time_limit_s=100)
    assert waited == [True], "HiGHS did not start before the surrogate came back"
    assert (found.status, found.summary["gpus"]) == ("optimal", 440)
    assert found.placements.equals(expected.placements)
    assert found.summary["strategy_stages"] == expected.summary["strategy_stages"]


def test_progress_from_a_search_that_may_be_thrown_away_is_held_back():
    """While the path is not decided HiGHS's plans are held: shown in order once the site
    turns out hard, never if it is easy (that search is thrown away)."""
    snapshots = [Progress(time_s=t, incumbent=v, bound=None, gap=None)
                 for t, v in ((0.1, 10.0), (0.2, 12.0), (0.3, 13.0))]  # fmt: skip
    for hard in (True, False):
        shown: list[Progress] = []
        run = _Run(deadline=0.0)
        held = _Held(run, shown.append)
        held.show(snapshots[0])
        held.show(snapshots[1])
        assert shown == []
        run.hard = hard
        run.decided.set()
        held.show(snapshots[2])
        assert shown == (snapshots if hard else [])


def test_a_warm_started_point_waits_for_the_surrogates_head_start(monkeypatch):
    """A sweep's point starts HiGHS from the previous point's plan: not raw HiGHS's path, so
    HiGHS waits for the surrogate's head start instead of racing it (the point is easy
    here: the surrogate is exact, and the plan is proven without a search thrown away)."""
    from optimizer.api import Stages, first_fit_start

    real_surrogate = pipeline.surrogate_bound
    searching = _record_searches(monkeypatch)
    searched_before_the_bound: list[bool] = []

    def slow_surrogate(*args, **kwargs):
        time.sleep(0.3)
        searched_before_the_bound.append(searching.is_set())
        return real_surrogate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "surrogate_bound", slow_surrogate)
    site = load_site("data/small")
    built = build_model(site)
    model = compile_model(built)
    start = first_fit_start(built, model, site).start
    result = pipeline.solve_with_strategy(
        built, model, site, SolveOptions(time_limit_s=100, mip_gap=1e-9), start, Stages(),
        None, heuristic=False, warm_start=True,
    )  # fmt: skip
    assert searched_before_the_bound == [False]
    assert result.solution.objective == pytest.approx(440)


def test_the_surrogate_goes_on_past_its_share_only_while_its_plan_is_worth_the_best_known():
    """The surrogate's stop rule: never within its share of the limit; after it, it goes on
    only while the aggregate's own best plan is within the gap of the best plan known (the
    board's, or HiGHS's as `done` was told), since only then can its bound prove that plan."""
    model = compile_model(build_model(load_site("data/small")))  # maximizes
    board = _Board(model, 1e-4, bound=None, source="surrogate", x=None, objective=None)
    options = SolveOptions(time_limit_s=10, mip_gap=1e-4)
    ctx = SimpleNamespace(board=board, options=options)
    undecided = _Run(deadline=0.0)
    within_share = pipeline._surrogate_stop_rule(ctx, time.perf_counter(), undecided)
    past_share = pipeline._surrogate_stop_rule(ctx, time.perf_counter() - 2.5, undecided)  # 2 s
    assert not within_share(None, None) and not within_share(900.0, 1000.0)
    assert past_share(1000.0, 1010.0)  # no plan known: nothing its bound could prove
    board.offer_plan(np.zeros(model.shape[1]))  # objective 0
    assert past_share(1000.0, 1010.0)
    assert not board.done(1000.05)  # HiGHS's plan, 5e-5 below the aggregate's
    assert board.best_objective() == 1000.05
    assert not past_share(1000.0, 1010.0)  # within 1e-4: only the proof is missing
    assert past_share(1000.2, 1010.0)  # 2e-4 above it: its bound cannot prove 1000.05
    assert past_share(None, 1010.0)  # the aggregate has no plan yet
    assert not within_share(1000.2, 1010.0)


def test_on_the_hard_path_the_surrogate_stops_once_its_plan_is_beyond_highs_bound():
    """Once the path is hard, the surrogate stops as soon as its aggregate's plan is better
    than HiGHS's proven bound on the full model by more than the gap: its own bound, at least
    that good, can then neither prove a plan nor tighten the bound. Not before the path is
    decided (the path depends on the input alone), and not on the easy path."""
    model = compile_model(build_model(load_site("data/small")))  # maximizes
    board = _Board(model, 1e-4, bound=None, source="surrogate", x=None, objective=None)
    ctx = SimpleNamespace(board=board, options=SolveOptions(time_limit_s=10, mip_gap=1e-4))
    run = _Run(deadline=0.0)
    stop = pipeline._surrogate_stop_rule(ctx, time.perf_counter(), run)  # within its share
    board.done(990.0, highs_bound=1000.0)  # HiGHS: a plan of 990, nothing above 1000
    assert board.highs_bound == 1000.0
    assert not stop(1000.2, 1010.0)  # undecided
    run.hard = False
    run.decided.set()
    assert not stop(1000.2, 1010.0)  # easy
    run.hard = True
    assert stop(1000.2, 1010.0)  # 2e-4 above HiGHS's bound
    assert not stop(1000.05, 1010.0)  # within 1e-4 of it: its bound might still prove
    assert not stop(None, 1010.0)
    board.done(995.0, highs_bound=1003.0)  # a looser bound later: the tighter one is kept
    assert board.highs_bound == 1000.0 and stop(1000.2, 1010.0)


def test_beside_the_stages_highs_leaves_them_one_of_the_threads_asked_for():
    """The stages thread gets a core of its own: HiGHS takes one thread fewer than asked,
    never fewer than one; with no count asked, HiGHS decides (half the cores)."""
    assert [pipeline._beside_threads(n) for n in (None, 1, 2, 4)] == [None, 1, 1, 3]
