"""Properties of contract v1.1 on random small sites (hypothesis): the random sites of
test_properties.py with failover ratings, racks already standing and up to three phases.

- every plan passes the independent verifier, and its objective is what the verifier's
  reading of the placements gives (value-weighted GPUs standing, summed over the phases
  with their weights);
- the pruned N-1 rows (failover limits and fixed load included) give the same optimum as the
  naive ones;
- the pruned rows hold exactly when the verifier finds no power violation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_properties import FAST, pruned_rows_hold, sites

from optimizer.api import plan
from optimizer.errors import InfeasibleError
from optimizer.formulation import build_model
from optimizer.formulation.power import existing_row_kw
from optimizer.layout import placements_with_phases
from optimizer.schema import ExistingRack, Phase, Site
from optimizer.solve import SolveOptions, compile_model, solve
from optimizer.tables import Plan
from optimizer.verify import verify


@st.composite
def brownfield_sites(draw: st.DrawFn, phased: bool = True) -> Site:
    site = draw(sites(objectives=("gpus", "cost")))
    ratio = st.sampled_from([None, None, 1.0, 1.1, 1.25, 2.0])
    devices = []
    for d in site.devices:
        r = draw(ratio)
        devices.append(d.model_copy(update={"failover_kw": None if r is None else d.usable_kw * r}))
    existing = []
    for row in site.rows:
        for position in range(1, row.positions + 1):
            if not draw(st.sampled_from([False, False, False, True])):
                continue
            c = draw(st.sampled_from(site.demand))
            clustered = c.colocate == "none" and draw(st.booleans())
            existing.append(
                ExistingRack(
                    hall=row.hall, row=row.row, position=position, model=c.model,
                    cluster=c.cluster if clustered else None,
                )
            )  # fmt: skip
    changes: dict = {"devices": devices, "existing": tuple(existing)}
    if phased:
        n = draw(st.integers(1, 3))
        ids = [f"p{k}" for k in range(n)]
        changes["phases"] = tuple(
            Phase(
                phase=p,
                grid_limit_kw=draw(st.sampled_from([None, 300, 800, 100_000])),
                weight=draw(st.sampled_from([1.0, 0.5, 2.0])),
            )
            for p in ids
        )
        taken = {r.row_id for r in existing}
        changes["rows"] = tuple(
            r if r.id in taken else r.model_copy(update={"phase": draw(st.sampled_from(ids))})
            for r in site.rows
        )
        changes["cooling"] = tuple(
            c.model_copy(update={"phase": draw(st.sampled_from(ids))}) for c in site.cooling
        )
        changes["demand"] = tuple(
            c.model_copy(update={"phase": draw(st.sampled_from(ids))}) for c in site.demand
        )
    return Site.model_validate(site.model_dump() | changes)


def phased_objective(site: Site, placements) -> float:  # type: ignore[no-untyped-def]
    """The `gpus` objective read off the placements: per phase, the value-weighted GPUs of
    the clustered racks installed in it or earlier, times the phase's weight."""
    ids = [p.phase for p in site.phases] or [""]
    weight = [p.weight for p in site.phases] or [1.0]
    value = {c.cluster: c.value for c in site.demand}
    gpus = {m.model: m.gpus for m in site.models}
    phase = placements["phase"] if "phase" in placements else [""] * len(placements)
    total = 0.0
    for c, m, p in zip(placements["cluster"], placements["model"], phase, strict=True):
        if c:
            q = ids.index(p) if p else 0
            total += gpus[m] * value[c] * sum(weight[q:])
    return total


SOLVES = settings(FAST, max_examples=15)  # each example solves; the machine is shared


def solved_or_skipped(site: Site) -> Plan:
    """The optimal plan (HiGHS alone); infeasible sites are skipped."""
    try:
        return plan(site, mip_gap=1e-9, marginal_values=False, time_limit_s=30, strategy="plain")
    except InfeasibleError:
        assume(False)
        raise


@SOLVES
@given(site=brownfield_sites())
def test_brownfield_plans_verify_and_their_objective_is_the_placements(site):
    p = solved_or_skipped(site)
    assert verify(site, p.placements) == []
    if site.existing:
        assert p.placements["existing"].tolist().count("true") == len(site.existing)
    if site.objective == "gpus":
        assert p.summary["objective"] == pytest.approx(phased_objective(site, p.placements))


@SOLVES
@given(site=brownfield_sites())
def test_pruned_and_naive_rows_give_the_same_optimum_with_failover_and_fixed_load(site):
    p = solved_or_skipped(site)
    sol = solve(compile_model(build_model(site, prune=False)), SolveOptions(mip_gap=1e-9))
    assert sol.status == "optimal" and sol.objective is not None
    assert p.summary["objective"] == pytest.approx(sol.objective, abs=1e-6)


@settings(FAST, max_examples=150)
@given(site=brownfield_sites(phased=False), data=st.data())
def test_pruned_rows_hold_exactly_when_the_verifier_finds_no_power_violation(site, data):
    """With failover ratings and racks already standing: for any new racks (respecting space
    and fit), every pruned row holds with the fixed load iff every device is within its
    limit (failover_kw after a failure) as the independent verifier computes it."""
    taken: dict[tuple[str, str], int] = {}
    for r in site.existing:
        taken[r.row_id] = taken.get(r.row_id, 0) + 1
    counts: dict[tuple[str, str, str], int] = {}
    for r in site.rows:
        left = r.positions - taken.get(r.id, 0)
        for c in site.demand:
            if not r.fits(site.model_of(c)) or left == 0:
                continue
            n = data.draw(st.integers(0, left))
            left -= n
            if n:
                counts[c.cluster, r.hall, r.row] = n
    row_kw = existing_row_kw(site)
    where = {r.id: i for i, r in enumerate(site.rows)}
    kw = {c.cluster: site.model_of(c).design_kw for c in site.demand}
    for (c, hall, r), n in counts.items():
        row_kw[where[hall, r]] += n * kw[c]
    holds = pruned_rows_hold(site, row_kw)
    placements = placements_with_phases(site, {k: [n] for k, n in counts.items()})
    power_ok = not any(v.rule == "power" for v in verify(site, placements))
    assert holds == power_ok
    assert np.all(row_kw >= 0)


@SOLVES
@given(site=brownfield_sites(phased=False))
def test_the_strategy_keeps_the_optimum_with_failover_ratings(site):
    """Failover ratings alone keep the surrogate bound and heuristic (each power row has its
    own limit); racks already standing send the site to HiGHS alone. Either way `auto`
    finds plain HiGHS's optimum."""
    site = site.with_updates(existing=())
    plain = solved_or_skipped(site)
    auto = plan(site, mip_gap=1e-9, marginal_values=False, time_limit_s=30)
    assert auto.summary["objective"] == pytest.approx(plain.summary["objective"], abs=1e-6)
    assert verify(site, auto.placements) == []
