"""The strategy that proves the optimum at scale (issue 11): the surrogate bound is valid, the
heuristic's plans verify, and the strategy finds the same optimum as plain HiGHS."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from sites import dev, make_site, rack, row, want
from test_properties import FAST, sites

from optimizer.api import plan
from optimizer.errors import InfeasibleError
from optimizer.formulation import build_model
from optimizer.layout import placements_from_counts
from optimizer.loaders import load_site
from optimizer.results import racks_by_place
from optimizer.schema import Site
from optimizer.solve import SolveOptions, Solver, compile_model
from optimizer.strategy.bound import surrogate_bound
from optimizer.strategy.heuristic import fill_power_groups
from optimizer.verify import verify

EXACT = SolveOptions(time_limit_s=30, mip_gap=0.0, threads=1)


def bound_of(site: Site) -> float | None:
    built = build_model(site)
    return surrogate_bound(built.index, built.power_limits, built.objective_name, EXACT).bound


def optimum(site: Site, strategy: str) -> float | None:
    try:
        p = plan(site, strategy=strategy, mip_gap=1e-9, marginal_values=False, time_limit_s=30)
    except InfeasibleError:
        return None
    assert p.status == "optimal"
    return float(p.summary["objective"])


@settings(FAST)
@given(site=sites(objectives=("gpus", "cost")))
def test_the_surrogate_bound_is_never_beaten_by_the_optimum(site):
    """The aggregated MIP is a relaxation: its bound is >= the optimum for `gpus` (maximize)
    and <= it for `cost` (minimize), on random small sites."""
    best = optimum(site, "plain")
    if best is None:
        return  # infeasible: nothing to bound
    bound = bound_of(site)
    assert bound is not None
    if site.objective == "gpus":
        assert bound >= best - 1e-6
    else:
        assert bound <= best + 1e-6 * max(1.0, abs(best))


@settings(FAST)
@given(site=sites(objectives=("gpus", "cost")))
def test_the_strategy_finds_the_optimum_plain_highs_proves(site):
    """Both uses of the bound (a stopping rule, `auto`; a row in the model, `auto-cut`)."""
    plain = optimum(site, "plain")
    for strategy in ("auto", "auto-cut"):
        found = optimum(site, strategy)
        if plain is None:  # infeasible for plain HiGHS: infeasible for the strategy too
            assert found is None
        else:
            assert found == pytest.approx(plain, rel=1e-9, abs=1e-6)


@settings(FAST)
@given(site=sites())
def test_every_heuristic_plan_passes_the_independent_verifier(site):
    if optimum(site, "plain") is None:
        return  # infeasible: no plan to find
    built = build_model(site)
    model = compile_model(built)
    sb = surrogate_bound(built.index, built.power_limits, built.objective_name, EXACT)
    found = fill_power_groups(built, model, sb, EXACT)
    if found is None or found.x is None:
        return
    placements = placements_from_counts(site, racks_by_place(built, model, found.x))
    assert verify(site, placements) == []


def block3_site() -> Site:
    return make_site(
        rows=[row("H", "R12", "U1", "U2"), row("H", "R23", "U2", "U3"),
              row("H", "R31", "U3", "U1")],
        devices=[dev("U1", 400), dev("U2", 400), dev("U3", 400)],
    )  # fmt: skip


def test_the_bound_is_exact_when_every_row_is_its_own_power_class():
    """Three 400 kW UPS, rows (U1,U2), (U2,U3), (U3,U1), 25 kW racks of 8 GPUs. Summing the
    six failure rows gives 3 (n12 + n23 + n31) 25 <= 6 x 400, at most 32 racks (256 GPUs),
    and the LP reaches 32. But each row is fed by its own pair of blocks, so each row is its
    own power class and the aggregated model keeps every N-1 row as it is, with integer
    racks: its optimum is the true one, 31 racks (11, 10, 10) = 248 GPUs, below the LP's 256."""
    assert bound_of(block3_site()) == pytest.approx(248.0)
    assert optimum(block3_site(), "auto") == pytest.approx(248.0)


def test_a_relaxed_pod_limit_leaves_the_bound_above_the_optimum_and_the_full_solve_closes_it():
    """One hall, rows R1 (pod P1, 64 ports) and R2 (pod P2, 1,000 ports), 10 positions each,
    both on one feed: one power class. Racks: 8 GPUs, 64 ports, 10 kW. Truly R1 takes one
    rack (64 ports) and R2 ten (positions): 11 racks, 88 GPUs. The aggregate only sums ports
    per hall (1,064 / 64 -> 16 racks) and positions per class (20): bound 16 x 8 = 128 GPUs.
    The bound is valid (128 >= 88) but not tight; the full solve with the cut proves 88."""
    site = make_site(
        rows=[row("H", "R1", "P", positions=10, pod="P1"),
              row("H", "R2", "P", positions=10, pod="P2")],
        devices=[dev("P", 10_000)],
        demand=[want("c", rack(design_kw=10, ports=64))],
        pods=[("P1", 64), ("P2", 1000)],
    )  # fmt: skip
    assert bound_of(site) == pytest.approx(128.0)
    p = plan(site)
    assert (p.status, p.summary["gpus"], p.summary["racks"]) == ("optimal", 88, 11)
    assert p.summary["bound"] == pytest.approx(88.0)
    assert p.summary["bound_source"] in ("highs", "highs+surrogate-cut")


def test_the_4n3_example_is_proven_by_the_surrogate_bound():
    """data/block-redundant (4N/3, README): 2,688 GPUs. The aggregated MIP over its power
    classes (rows on the same pair of blocks) reaches exactly that, so the plan's bound comes
    from the surrogate, not from HiGHS's branch-and-bound."""
    p = plan("data/block-redundant")
    assert (p.status, p.summary["gpus"], p.summary["bound"]) == ("optimal", 2688, 2688.0)
    assert p.summary["bound_source"] == "surrogate"
    stages = [s["stage"] for s in p.summary["strategy_stages"]]
    assert stages[0] == "surrogate bound"
    assert np.isfinite(p.timings_s["bound"])


@pytest.mark.slow
def test_the_stop_rule_ends_highs_at_the_first_plan_good_enough(fresh_highs_scheduler):
    """`Solver.solve(stop_at=v)` ends the solve once a plan reaches v: status time_limit, with
    that plan. On data/colossus HiGHS needs seconds (and many plans) to prove the optimum; with
    v at half the optimum its first plan already qualifies, so it stops at once."""
    model = compile_model(build_model(load_site("data/colossus")))
    options = SolveOptions(time_limit_s=60, mip_gap=1e-4, threads=1)
    stopped = Solver(model, options).solve(stop_at=0.5 * 115_872)
    assert stopped.status == "time_limit"
    assert stopped.objective is not None and stopped.objective >= 0.5 * 115_872
    assert stopped.solve_s < 30
    x = stopped.x
    assert x is not None
    assert float(model.cost @ x + model.cost_offset) == pytest.approx(stopped.objective)
    assert (model.A @ x <= model.row_upper + 1e-6).all()
    assert (model.A @ x >= model.row_lower - 1e-6).all()
