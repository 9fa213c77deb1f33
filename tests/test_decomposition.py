"""The decomposition bound by hall (issue 15): valid on random sites, never above the LP
bound, exact on the hand site whose integer hull is known, identical halls priced once, and
its plans pass the independent verifier."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from sites import dev, make_site, rack, row, want
from test_properties import FAST, sites
from test_strategy import optimum

from optimizer.formulation import build_model
from optimizer.layout import placements_from_counts
from optimizer.results import racks_by_place
from optimizer.schema import Site
from optimizer.solve import SolveOptions, compile_model
from optimizer.strategy.decompose import DecompositionBound, decomposition_bound
from optimizer.strategy.heuristic import fill_power_groups
from optimizer.verify import verify

EXACT = SolveOptions(time_limit_s=30, mip_gap=0.0, threads=1)


def decompose(site: Site, budget_s: float = 20.0) -> tuple[DecompositionBound, object, object]:
    m = build_model(site)
    model = compile_model(m)
    return decomposition_bound(m, model, site, EXACT, budget_s), m, model


@pytest.mark.slow
@settings(FAST)
@given(site=sites(objectives=("gpus", "cost")))
def test_the_decomposition_bound_is_valid_and_never_above_the_lp_bound(site):
    """On random small sites (one or two halls, power forests that may span halls, both
    objectives): the bound is on the right side of the proven optimum and no worse than the
    LP relaxation's."""
    best = optimum(site, "plain")
    if best is None:
        return  # infeasible: nothing to bound
    result, _, _ = decompose(site)
    assert result.bound is not None and result.lp_bound is not None
    tol = 1e-6 * max(1.0, abs(best))
    if site.objective == "gpus":
        assert best - tol <= result.bound <= result.lp_bound + tol
    else:
        assert result.lp_bound - tol <= result.bound <= best + tol


def three_blocks(halls: tuple[str, ...], grid_kw: float = 1e8) -> Site:
    """Per hall three 400 kW UPS in 3N/2 and rows on the pairs (U1,U2), (U2,U3), (U3,U1);
    25 kW racks of 8 GPUs."""
    rows, devices = [], []
    for h in halls:
        rows += [row(h, "R12", f"{h}U1", f"{h}U2"), row(h, "R23", f"{h}U2", f"{h}U3"),
                 row(h, "R31", f"{h}U3", f"{h}U1")]  # fmt: skip
        devices += [dev(f"{h}U{k}", 400) for k in (1, 2, 3)]
    return make_site(rows=rows, devices=devices, grid_limit_kw=grid_kw, pue=1.0)


def test_the_hand_site_gets_its_integer_hull_31_racks_not_32():
    """One hall: summing the six failure rows allows 32 racks (LP 256 GPUs); with integer
    racks per row the best is 31 (11 + 10 + 10; e.g. U1 failing puts 11 + 5 on U2 ... each
    surviving UPS carries n_xy + n_yz / 2 <= 16), 248 GPUs. The decomposition prices the hall
    exactly, so its bound is 248, below the LP's 256."""
    result, _, _ = decompose(three_blocks(("H",)))
    assert result.lp_bound == pytest.approx(256.0)
    assert result.bound == pytest.approx(248.0)


def test_identical_halls_are_priced_once_and_the_grid_couples_them():
    """Four identical halls as above under a grid of 2,900 kW (pue 1: 116 racks of 25 kW):
    each hall takes at most 31 racks, so the grid (116 < 124) binds and the optimum is 116
    racks, 928 GPUs. Every pricing round asks for four halls' prices but solves one MIP."""
    site = three_blocks(("H1", "H2", "H3", "H4"), grid_kw=2_900)
    result, m, model = decompose(site)
    assert result.distinct_blocks == 1 and result.blocks == 4
    assert result.block_lookups == 4 * result.block_solves
    assert result.bound == pytest.approx(928.0)
    assert optimum(site, "plain") == pytest.approx(928.0)


def test_without_the_grid_identical_halls_add_up_to_four_hand_optima():
    site = three_blocks(("H1", "H2", "H3", "H4"))
    result, m, model = decompose(site)
    assert result.block_solves == 1
    assert result.bound == pytest.approx(4 * 248.0)
    assert result.plan is not None
    found = fill_power_groups(m, model, result.plan, EXACT)
    assert found is not None and found.objective == pytest.approx(4 * 248.0)


@pytest.mark.slow
@settings(FAST)
@given(site=sites())
def test_every_plan_from_the_decomposition_passes_the_independent_verifier(site):
    if optimum(site, "plain") is None:
        return  # infeasible: no plan to find
    result, m, model = decompose(site)
    if result.plan is None:
        return
    found = fill_power_groups(m, model, result.plan, EXACT)
    if found is None or found.x is None:
        return
    placements = placements_from_counts(site, racks_by_place(m, model, found.x))
    assert verify(site, placements) == []


def test_phases_or_existing_racks_skip_the_decomposition():
    """A site the decomposition does not model yet gets no bound from it, never a wrong one."""
    from optimizer.strategy.decompose import unsupported

    class WithPhases:
        phases = ("p1", "p2")
        existing = ()

    assert unsupported(WithPhases()) == "phases (phases.csv)"  # type: ignore[arg-type]
    assert unsupported(three_blocks(("H",))) is None
    _ = want, rack  # the helpers the other tests share
