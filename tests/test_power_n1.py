"""The lean N-1 derivation (`power_limits`) on hand cases: which rows are emitted, which are
left out and why (no rise, dominated, duplicate, never binding), and that pruning keeps
the optimum.

A power row is `Σ_i w_i · L_i ≤ limit` over row loads L_i; below it is written as
`({row: w, ...}, limit)`. Every row has 40 positions and the rack is 25 kW, so a row can
hold 1,000 kW (rows that could never bind at that load are dropped, see the last rule of
the derivation).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sites import dev, make_site, row

from optimizer.api import plan
from optimizer.formulation import PowerLimit, build_model, power_limits
from optimizer.loaders import load_site
from optimizer.schema import Site
from optimizer.solve import SolveOptions, compile_model, solve

DATA = Path(__file__).resolve().parents[1] / "data"

Lhs = frozenset[tuple[str, float]]


def lhs(site: Site, lim: PowerLimit) -> Lhs:
    return frozenset((site.rows[i].row, w) for i, w in zip(lim.rows, lim.weights, strict=True))


def rows_of(site: Site, limits: list[PowerLimit]) -> set[tuple[Lhs, float]]:
    """The emitted rows as ({row: weight}, limit), labels left out."""
    out = {(lhs(site, lim), lim.limit_kw) for lim in limits}
    assert len(out) == len(limits), "a row was emitted twice"
    return out


def labels(limits: list[PowerLimit]) -> set[tuple[str, str | None]]:
    """(device, failure) of each emitted row."""
    return {(lim.device, lim.failure) for lim in limits}


def w(**weights: float) -> Lhs:
    return frozenset(weights.items())


def assert_no_duplicates(site: Site, limits: list[PowerLimit]) -> None:
    keys = [lhs(site, lim) for lim in limits]
    assert len(set(keys)) == len(keys)


# -- 2N --------------------------------------------------------------------------------------


def two_n() -> Site:
    return make_site(
        rows=[row("H", "R1", "A", "B"), row("H", "R2", "A", "B")],
        devices=[dev("A", 500), dev("B", 450)],
    )


def test_2n_keeps_one_row_the_survivor_with_the_smaller_limit():
    """A (500 kW) and B (450 kW) feed both rows. Normal: each carries ½ of each row. After
    A fails B carries all: ({R1: 1, R2: 1}, 450), which dominates B's normal row; after B
    fails A carries all: the same left-hand side with limit 500, a duplicate of a weaker
    row. So one row is left: B after A fails, ≤ 450."""
    site = two_n()
    limits = power_limits(site)
    assert rows_of(site, limits) == {(w(R1=1, R2=1), 450)}
    assert labels(limits) == {("B", "A")}
    naive = power_limits(site, prune=False)
    assert labels(naive) == {("A", None), ("A", "B"), ("B", None), ("B", "A")}


# -- block-redundant ---------------------------------------------------------------------------


def block3() -> Site:
    return make_site(
        rows=[row("H", "R12", "U1", "U2"), row("H", "R23", "U2", "U3"),
              row("H", "R31", "U3", "U1")],
        devices=[dev("U1", 400), dev("U2", 400), dev("U3", 400)],
    )  # fmt: skip


def test_block_redundant_three_ups_gives_six_failure_rows():
    """Rows fed (U1,U2), (U2,U3), (U3,U1). When U1 fails, U2 takes all of R12 and keeps ½ of
    R23; U3 takes all of R31 and keeps ½ of R23. Six such rows (failure, survivor), all
    different; each normal row (½, ½) is dominated by either failure row of its UPS."""
    site = block3()
    limits = power_limits(site)
    assert rows_of(site, limits) == {
        (w(R12=1, R23=0.5), 400),  # U2 after U1
        (w(R31=1, R23=0.5), 400),  # U3 after U1
        (w(R12=1, R31=0.5), 400),  # U1 after U2
        (w(R23=1, R31=0.5), 400),  # U3 after U2
        (w(R31=1, R12=0.5), 400),  # U1 after U3
        (w(R23=1, R12=0.5), 400),  # U2 after U3
    }
    assert labels(limits) == {
        ("U2", "U1"), ("U3", "U1"), ("U1", "U2"), ("U3", "U2"), ("U1", "U3"), ("U2", "U3"),
    }  # fmt: skip


# -- single-corded rows ----------------------------------------------------------------------


def test_single_corded_rows_give_no_failure_rows():
    """ROOT (1,000 kW) over PDU1 (100) and PDU2 (200); R1 single-fed by PDU1, R2 by PDU2.
    A failure darkens the rows under it and moves nothing, so no load rises: only the
    normal rows PDU1 {R1}, PDU2 {R2}, ROOT {R1, R2} (2,000 kW possible > 1,000) remain.
    The naive form also has ROOT after PDU1 ({R2}) and ROOT after PDU2 ({R1})."""
    site = make_site(
        rows=[row("H", "R1", "PDU1"), row("H", "R2", "PDU2")],
        devices=[dev("ROOT", 1000), dev("PDU1", 100, "ROOT"), dev("PDU2", 200, "ROOT")],
    )
    limits = power_limits(site)
    assert rows_of(site, limits) == {(w(R1=1), 100), (w(R2=1), 200), (w(R1=1, R2=1), 1000)}
    assert all(lim.failure is None for lim in limits)
    assert labels(power_limits(site, prune=False)) == {
        ("ROOT", None), ("ROOT", "PDU1"), ("ROOT", "PDU2"), ("PDU1", None), ("PDU2", None),
    }  # fmt: skip


def test_single_corded_row_next_to_a_dual_fed_row():
    """Add R3 fed (PDU1, PDU2). When PDU2 fails, PDU1 takes all of R3 and still carries
    R1: ({R1: 1, R3: 1}, 100); mirror: ({R2: 1, R3: 1}, 200). ROOT is on both paths of R3:
    its load never rises, so it keeps its normal row ({R1, R2, R3: 1}, 1,000). R1's own
    failure (PDU1) darkens it and adds no row."""
    site = make_site(
        rows=[row("H", "R1", "PDU1"), row("H", "R2", "PDU2"), row("H", "R3", "PDU1", "PDU2")],
        devices=[dev("ROOT", 1000), dev("PDU1", 100, "ROOT"), dev("PDU2", 200, "ROOT")],
    )
    limits = power_limits(site)
    assert rows_of(site, limits) == {
        (w(R1=1, R3=1), 100),
        (w(R2=1, R3=1), 200),
        (w(R1=1, R2=1, R3=1), 1000),
    }
    assert labels(limits) == {("PDU1", "PDU2"), ("PDU2", "PDU1"), ("ROOT", None)}


# -- a device on both paths of a row -------------------------------------------------------------


def test_device_on_both_paths_carries_both_halves_and_never_rises():
    """R1 fed by A (300 kW, a root) and B (100 kW, under A): A is on both paths, so it
    carries both halves (weight 1) in normal operation; when B fails the rack draws all
    through A, weight still 1 (no rise); when A fails the rack is dark. B carries ½ and
    drops to 0 when A fails. Two normal rows: ({R1: 1}, 300) and ({R1: ½}, 100)."""
    site = make_site(rows=[row("H", "R1", "A", "B")], devices=[dev("A", 300), dev("B", 100, "A")])
    limits = power_limits(site)
    assert rows_of(site, limits) == {(w(R1=1), 300), (w(R1=0.5), 100)}
    assert labels(limits) == {("A", None), ("B", None)}
    # The naive form also has A after B: the same row as A's normal one.
    assert labels(power_limits(site, prune=False)) == {("A", None), ("A", "B"), ("B", None)}


def test_common_root_of_a_2n_pair_is_a_duplicate_of_the_survivor_row():
    """ROOT (400 kW) over A and B (500 kW each), rows R1, R2 fed (A, B). ROOT carries every
    row in full in normal operation: ({R1: 1, R2: 1}, 400), the same left-hand side as A
    after B fails (≤ 500) and B after A fails (≤ 500). Only ROOT's row, the tightest, stays."""
    site = make_site(
        rows=[row("H", "R1", "A", "B"), row("H", "R2", "A", "B")],
        devices=[dev("ROOT", 400), dev("A", 500, "ROOT"), dev("B", 500, "ROOT")],
    )
    limits = power_limits(site)
    assert rows_of(site, limits) == {(w(R1=1, R2=1), 400)}
    assert labels(limits) == {("ROOT", None)}


# -- deeper trees ---------------------------------------------------------------------------------


def busway_tree() -> Site:
    """UTIL (1e6 kW) over U1 (1,000) and U2 (900); under U1 busways BW1A (400), BW2A (300);
    under U2 BW1B (400), BW2B (300); R1 fed (BW1A, BW1B), R2 fed (BW2A, BW2B)."""
    return make_site(
        rows=[row("H", "R1", "BW1A", "BW1B"), row("H", "R2", "BW2A", "BW2B")],
        devices=[
            dev("UTIL", 1e6), dev("U1", 1000, "UTIL"), dev("U2", 900, "UTIL"),
            dev("BW1A", 400, "U1"), dev("BW1B", 400, "U2"),
            dev("BW2A", 300, "U1"), dev("BW2B", 300, "U2"),
        ],
    )  # fmt: skip


def test_busway_failure_row_is_dominated_by_its_ups_failure_row():
    """When BW1B fails, R1 moves to the A side: U1 carries ({R1: 1, R2: ½}). When U2 fails,
    both rows move: U1 carries ({R1: 1, R2: 1}) ≥ the busway case element-wise, so the
    busway failure rows of the UPS are dominated and not emitted. What is left:
    - U2 after U1 fails, ({R1: 1, R2: 1}, 900) (U1 after U2, ≤ 1,000, is its duplicate);
    - BW1A or BW1B after the other side fails, ({R1: 1}, 400), once;
    - BW2A or BW2B likewise, ({R2: 1}, 300), once.
    UTIL is on both paths of both rows (never rises) and 2,000 kW can never reach 1e6."""
    site = busway_tree()
    limits = power_limits(site)
    assert rows_of(site, limits) == {(w(R1=1, R2=1), 900), (w(R1=1), 400), (w(R2=1), 300)}
    assert ("U2", "U1") in labels(limits)
    for ups in ("U1", "U2"):
        assert not any(lim.device == ups and lim.failure != ups and
                       lim.failure is not None and lim.failure.startswith("BW")
                       for lim in limits)  # fmt: skip
    assert not any(lim.device == "UTIL" for lim in limits)
    naive = {(lim.device, lim.failure): lhs(site, lim) for lim in power_limits(site, prune=False)}
    assert naive["U1", "BW1B"] == w(R1=1, R2=0.5)
    assert naive["U1", "U2"] == w(R1=1, R2=1)


@pytest.mark.parametrize(("tx_kw", "kept"), [(1200, {"U1", "U2"}), (800, {"TX2"})])
def test_transformer_over_a_single_ups_is_a_duplicate(tx_kw, kept):
    """TX1 over U1, TX2 over U2 (UPS 1,000 kW each), rows R1, R2 fed (U1, U2). Every device
    of side 2 after any failure on side 1 carries ({R1: 1, R2: 1}): U2 and TX2 give the
    same left-hand side (and so do U1 and TX1 on the other side). One row is kept, with the
    smallest limit: a UPS's 1,000 kW when the transformer is 1,200 kW, the transformer's
    800 kW when it is 800 kW (TX1 stays at 1,200)."""
    site = make_site(
        rows=[row("H", "R1", "U1", "U2"), row("H", "R2", "U1", "U2")],
        devices=[
            dev("TX1", 1200), dev("TX2", tx_kw),
            dev("U1", 1000, "TX1"), dev("U2", 1000, "TX2"),
        ],
    )  # fmt: skip
    limits = power_limits(site)
    assert rows_of(site, limits) == {(w(R1=1, R2=1), min(tx_kw, 1000))}
    assert {lim.device for lim in limits} <= kept


def test_rows_that_can_never_bind_are_dropped():
    """2N pair of 1,000 kW UPS over one 40-position row of 25 kW racks: 1,000 kW at most
    can stand there, exactly the limit after a failure: no row is needed at all."""
    site = make_site(rows=[row("H", "R1", "A", "B")], devices=[dev("A", 1000), dev("B", 1000)])
    assert power_limits(site) == []
    assert len(power_limits(site, prune=False)) == 4


def test_hand_cases_never_emit_duplicates():
    for site in (two_n(), block3(), busway_tree()):
        assert_no_duplicates(site, power_limits(site))


# -- pruning keeps the optimum -------------------------------------------------------------------


def unpruned_optimum(site: Site) -> float:
    model = compile_model(build_model(site, prune=False))
    sol = solve(model, SolveOptions(time_limit_s=60, mip_gap=1e-9))
    assert sol.status == "optimal"
    assert sol.objective is not None
    return sol.objective


@pytest.mark.parametrize("name", ["block3", "busway_tree", "block-redundant", "small"])
def test_pruned_model_is_smaller_with_the_same_optimum(name):
    site = {"block3": block3, "busway_tree": busway_tree}.get(name, lambda: None)()
    site = site or load_site(DATA / name)
    pruned = power_limits(site)
    naive = power_limits(site, prune=False)
    assert len(pruned) < len(naive)
    pruned_rows = compile_model(build_model(site)).shape[0]
    naive_rows = compile_model(build_model(site, prune=False)).shape[0]
    assert pruned_rows < naive_rows
    p = plan(site, mip_gap=1e-9)
    assert p.status == "optimal"
    assert p.summary["objective"] == pytest.approx(unpruned_optimum(site), abs=1e-6)


def test_block_redundant_example_is_much_leaner():
    """data/block-redundant: UTIL over four TX, each over one UPS block U1..U4, busways
    under the blocks, 12 liquid rows and 2 air rows, every row dual-fed by two blocks.
    Lean: 12 UPS rows (each block after each other block fails; the transformer over a
    single block is a duplicate), one busway row per liquid row (its pair's other row is
    a duplicate; air busways, 8 x 20 kW ≤ 218.4 kW, can never bind) and UTIL's normal row
    (on both paths everywhere, 8,192 kW possible > 6,000): 25 rows, where the naive form
    has hundreds."""
    site = load_site(DATA / "block-redundant")
    pruned, naive = power_limits(site), power_limits(site, prune=False)
    assert_no_duplicates(site, pruned)
    by_kind = Counter(lim.device[:2] for lim in pruned)
    assert by_kind == {"UT": 1, "U1": 3, "U2": 3, "U3": 3, "U4": 3, "BW": 12}
    assert all(lim.failure is not None for lim in pruned if lim.device != "UTIL")
    assert sorted(site.rows[lim.rows[0]].row for lim in pruned if lim.device[:2] == "BW") == [
        f"R{i:02d}" for i in range(1, 13)
    ]
    assert len(naive) > 10 * len(pruned)
