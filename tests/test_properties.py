"""Properties of the optimizer on random small sites (hypothesis): 1-2 halls, 2-5 rows,
1-3 clusters, a random power forest of depth ≤ 3 with dual- and single-fed rows.

- the plan passes the independent verifier;
- it places at least the weighted GPUs of the first-fit baseline (when first fit meets every
  min_racks, it is a feasible plan, so the optimum cannot be worse);
- the pruned N-1 rows give the same optimum as the naive ones, and no row is emitted twice;
- the pruned N-1 rows hold exactly when the verifier finds no power violation.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sites import cool, dev, make_site, overhead, rack, row, want

from optimizer.api import plan
from optimizer.baseline import first_fit
from optimizer.errors import InfeasibleError
from optimizer.formulation import build_model, power_limits
from optimizer.layout import placements_from_counts
from optimizer.schema import Device, Site
from optimizer.solve import SolveOptions, compile_model, solve
from optimizer.tables import Plan
from optimizer.verify import verify

# On a failure hypothesis's pytest plugin imports its patch writer (libcst), which imports
# mypy_extensions.TypedDict: a DeprecationWarning that `filterwarnings = error` turns into an
# INTERNALERROR hiding the falsifying example. Import it once here, warnings ignored.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

FAST = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def power_forests(draw: st.DrawFn) -> list[Device]:
    """1-2 roots, each with 0-2 children, each with 0-2 children (depth ≤ 3)."""
    kw = st.sampled_from([60, 100, 150, 250, 400, 1000])
    derate = st.sampled_from([1.0, 1.0, 0.8])
    devices: list[Device] = []

    def grow(name: str, parent: str | None, depth: int) -> None:
        devices.append(dev(name, draw(kw), parent, draw(derate)))
        if depth < 3:
            for k in range(draw(st.integers(0, 2))):
                grow(f"{name}.{k}", name, depth + 1)

    for r in range(draw(st.integers(1, 2))):
        grow(f"T{r}", None, 1)
    return devices


@st.composite
def sites(draw: st.DrawFn, objectives: tuple[str, ...] = ("gpus",)) -> Site:
    devices = draw(power_forests())
    names = [d.device for d in devices]
    halls = ["H1", "H2"][: draw(st.integers(1, 2))]
    pods = ["P1", "P2"][: draw(st.integers(0, 2))]
    rows = []
    for i in range(draw(st.integers(2, 5))):
        feed_a = draw(st.sampled_from(names))
        others = [n for n in names if n != feed_a]
        feed_b = draw(st.sampled_from([None, *others])) if others else None
        rows.append(
            row(
                draw(st.sampled_from(halls)), f"R{i}", feed_a, feed_b,
                positions=draw(st.integers(1, 8)),
                max_rack_kw=draw(st.sampled_from([None, None, None, 50, 150])),
                max_rack_kg=draw(st.sampled_from([None, None, None, 1000, 1500])),
                liquid=draw(st.sampled_from([True, True, False])),
                pod=draw(st.sampled_from([None, *pods])),
            )
        )  # fmt: skip
    demand = []
    for k in range(draw(st.integers(1, 3))):
        design_kw = draw(st.sampled_from([25, 40, 80, 132, 10]))
        model = rack(
            f"m{k}", design_kw=design_kw, typical_kw=0.8 * design_kw,
            gpus=draw(st.sampled_from([8, 32, 64, 72, 0])),
            liquid_fraction=draw(st.sampled_from([0.0, 0.0, 0.5, 0.85])),
            weight_kg=draw(st.sampled_from([650, 1000, 1400])),
            ports=draw(st.sampled_from([0, 8, 32, 72])),
            capex_usd=draw(st.sampled_from([50_000, 300_000])),
        )  # fmt: skip
        lo = draw(st.sampled_from([0, 0, 0, 1, 2]))
        hi = draw(st.sampled_from([None, lo + 1, lo + 4]))
        demand.append(
            want(
                f"c{k}", model, min_racks=lo, max_racks=hi,
                colocate=draw(st.sampled_from(["none", "hall", "pod", "none"])),
                value=draw(st.sampled_from([1.0, 2.0, 0.5, 1.0])),
            )
        )  # fmt: skip
    cooling = []
    for hall in halls:
        for medium in ("air", "liquid"):
            units = draw(st.integers(1, 4))
            cooling.append(
                cool(hall, medium, units, draw(st.sampled_from([100, 200, 400])),
                     spares=draw(st.integers(0, min(units, 1))))
            )  # fmt: skip
    extra = {}
    if draw(st.booleans()):
        extra["overhead"] = overhead((15, 0.2, 0.05), (35, 0.45, 0.15))
        extra["design_temp_c"] = draw(st.sampled_from([10, 25, 40]))
    return make_site(
        rows=rows, devices=devices, demand=demand, cooling=cooling,
        pods=[(p, draw(st.sampled_from([64, 150, 1000]))) for p in pods],
        grid_limit_kw=draw(st.sampled_from([500, 1500, 100_000])),
        onsite_firm_kw=draw(st.sampled_from([0, 100])),
        fixed_overhead_kw=draw(st.sampled_from([0, 50])),
        pue=draw(st.sampled_from([1.2, 1.5])),
        objective=draw(st.sampled_from(objectives)),
        **extra,
    )  # fmt: skip


def solved_or_skipped(site: Site) -> Plan:
    """The optimal plan; infeasible sites are skipped."""
    try:
        p = plan(site, mip_gap=1e-9, marginal_values=False, time_limit_s=30)
    except InfeasibleError:
        assume(False)
    assert p.status == "optimal"
    return p


def weighted_gpus(site: Site, placements: pd.DataFrame) -> float:
    value = {c.cluster: c.value for c in site.demand}
    gpus = {c.cluster: site.model_of(c).gpus for c in site.demand}
    return float(sum(value[c] * gpus[c] for c in placements["cluster"]))


@FAST
@given(site=sites())
def test_plan_verifies_and_beats_first_fit(site):
    p = solved_or_skipped(site)
    assert verify(site, p.placements) == []
    assert p.summary["objective"] == pytest.approx(weighted_gpus(site, p.placements))
    baseline = first_fit(site)
    placed = baseline.groupby("cluster").size()
    if all(placed.get(c.cluster, 0) >= c.min_racks for c in site.demand):
        assert verify(site, baseline) == []  # so the baseline is a feasible point
        assert weighted_gpus(site, p.placements) >= weighted_gpus(site, baseline) - 1e-9


@FAST
@given(site=sites(objectives=("gpus", "cost")))
def test_pruned_and_naive_power_rows_give_the_same_optimum(site):
    pruned = power_limits(site)
    naive = power_limits(site, prune=False)
    keys = [(lim.rows, lim.weights) for lim in pruned]
    assert len(set(keys)) == len(keys), "a power row was emitted twice"
    p = solved_or_skipped(site)
    sol = solve(compile_model(build_model(site, prune=False)), SolveOptions(mip_gap=1e-9))
    assert sol.status == "optimal" and sol.objective is not None
    assert p.summary["objective"] == pytest.approx(sol.objective, abs=1e-6)
    assert len(pruned) <= len(naive)


@st.composite
def sites_with_counts(draw: st.DrawFn) -> tuple[Site, dict]:
    """A random site and random rack counts per (cluster, row) that fit the rows."""
    site = draw(sites())
    counts: dict[tuple[str, str, str], int] = {}
    for r in site.rows:
        left = r.positions
        for c in site.demand:
            if not r.fits(site.model_of(c)) or left == 0:
                continue
            n = draw(st.integers(0, left))
            left -= n
            if n:
                counts[c.cluster, r.hall, r.row] = n
    return site, counts


@settings(FAST, max_examples=150)
@given(case=sites_with_counts())
def test_pruned_power_rows_hold_exactly_when_the_verifier_finds_no_power_violation(case):
    """The lean rows are exact: for any placement (that respects space and fit), every
    pruned row holds iff every device is within its limit in normal operation and after
    every single failure, as the independent verifier computes it."""
    site, counts = case
    row_kw = np.zeros(len(site.rows))
    where = {r.id: i for i, r in enumerate(site.rows)}
    kw = {c.cluster: site.model_of(c).design_kw for c in site.demand}
    for (c, hall, r), n in counts.items():
        row_kw[where[hall, r]] += n * kw[c]
    power_ok = not any(
        v.rule == "power" for v in verify(site, placements_from_counts(site, counts))
    )
    assert pruned_rows_hold(site, row_kw) == power_ok


def pruned_rows_hold(site: Site, row_kw: np.ndarray) -> bool:
    """Whether every pruned power row holds with `row_kw` design kW standing in each row."""
    return all(
        sum(wt * row_kw[i] for i, wt in zip(lim.rows, lim.weights, strict=True))
        <= lim.limit_kw * (1 + 1e-9)
        for lim in power_limits(site)
    )
