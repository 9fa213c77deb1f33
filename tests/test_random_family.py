"""The random family of benchmark sites (issue 15): sites load and validate, and a seed gives
the same files every time (the benchmarks' tables must be reproducible)."""

from __future__ import annotations

import sys
from pathlib import Path

from clirun import rackfit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import main as generate_main  # noqa: E402
from random_family import (  # noqa: E402
    GPU_MODELS,
    RANDOM_BINDINGS,
    RANDOM_TOPOLOGIES,
    generate_random_site,
)

from optimizer.loaders import load_site  # noqa: E402


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_seeds_validate_and_each_is_deterministic(tmp_path: Path) -> None:
    """Seeds 3 (ORP rooms) and 7 (3N/2 blocks, grid binding) at scale 0.25: `rackfit validate`
    passes without warnings, and writing a seed twice gives byte-identical files."""
    for seed in (3, 7):
        first, again = tmp_path / f"a{seed}", tmp_path / f"b{seed}"
        for out in (first, again):
            args = ["--family", "random", "--seed", str(seed), "--scale", "0.25", "--out", out]
            assert generate_main([str(a) for a in args]) == 0
        assert _files(first) == _files(again)
        result = rackfit("validate", first)
        assert "0 warnings" in result.stdout
        site = load_site(first)
        assert 3 <= len(site.demand) <= 20
        assert site.name.startswith(f"random-{RANDOM_TOPOLOGIES[seed % 5]}-")


def test_the_family_varies_topology_binding_and_values_per_kw() -> None:
    """Over five seeds every topology appears; GPU clusters' values per kW stay within +-5%
    of the band's middle; every site has a network cluster with a fixed count."""
    names = set()
    for seed in range(5):
        tables = generate_random_site(0.25, seed)
        names.add(tables["site"]["name"].split("-")[1])
        demand = tables["demand"]
        assert (demand.cluster == "fabric-eth").sum() == 1
    assert names == set(RANDOM_TOPOLOGIES)
    assert generate_random_site(0.25, 5)["site"]["name"].split("-")[2] == RANDOM_BINDINGS[1]
    for seed in (0, 6, 10):
        demand = generate_random_site(0.25, seed)["demand"]
        for model, value in zip(demand.model, demand.value, strict=True):
            if model in GPU_MODELS:
                design_kw, gpus, _ = GPU_MODELS[model]
                assert abs(value * gpus / design_kw / 0.5 - 1) <= 0.05 + 1e-5


def test_peers_writes_the_model_as_mps_and_every_solver_reads_it(tmp_path: Path) -> None:
    """benchmarks/peers.py on a one-hall site with a 2 s limit: the MPS file HiGHS reads back
    has rackfit's shape and sense; raw HiGHS's plan satisfies the model's rows; CP-SAT runs
    too when ortools is installed (else it says it is missing); rackfit's bound holds for
    every plan found. Each solver ran in its own process, whose peak memory is reported."""
    import peers

    from optimizer.formulation import build_model
    from optimizer.solve import compile_model

    site_dir = tmp_path / "site"
    assert generate_main(["--family", "random", "--seed", "2", "--scale", "0.125",
                          "--out", str(site_dir)]) == 0  # fmt: skip
    rows = peers.compare(site_dir, 2.0, 1e-4, 1, "auto")
    by = {r["solver"]: r for r in rows}
    assert set(by) == {"rackfit auto", "raw HiGHS", "CP-SAT"}
    assert by["raw HiGHS"]["viol"] is not None and by["raw HiGHS"]["viol"] <= 1e-6
    assert all(r["peak_mib"] > 50 for r in rows)  # a Python with numpy and HiGHS loaded
    bound = by["rackfit auto"]["bound"]
    for r in rows:
        if r.get("objective") is not None and r["solver"] != "CP-SAT":
            assert r["objective"] <= bound + 1e-6  # gpus: maximized
    if by["CP-SAT"]["status"] == peers.NO_ORTOOLS:
        assert "pip install" in peers.table(rows)
    model = compile_model(build_model(load_site(site_dir)))
    mps = tmp_path / "m.mps"
    peers.write_mps(model, mps)
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(mps))
    lp = h.getLp()
    assert (lp.num_row_, lp.num_col_) == model.shape[:2]
    assert lp.sense_ == highspy.ObjSense.kMaximize


def test_peers_report_reads_its_csv_back_and_says_when_rackfit_is_below_but_proven(
    tmp_path: Path, capsys
) -> None:
    """`peers.py --report CSV` prints the table again from the rows --out wrote. A rackfit
    plan below a peer's is "no", unless rackfit proved it within the --mip-gap every solver
    was given ("within gap"); at least both peers' plans is "yes"."""
    import csv

    import peers

    def rows(site: str, ours: float, gap: float, raw: float) -> list[dict]:
        common = {"site": site, "load": 1.0, "seconds": 60.0, "peak_mib": 300.0}
        return [
            {**common, "solver": "rackfit auto", "status": "optimal", "objective": ours,
             "bound": ours * (1 + gap), "gap": gap, "bound_source": "highs"},
            {**common, "solver": "raw HiGHS", "status": "Optimal", "objective": raw,
             "bound": raw * 1.0001, "gap": 1e-4},
        ]  # fmt: skip

    out = tmp_path / "peers.csv"
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*peers.FIELDS, "bound_source"])
        writer.writeheader()
        for r in (
            rows("a", 100.0, 5e-5, 100.0)
            + rows("b", 99.99, 5e-5, 100.0)
            + rows("c", 99.0, 1e-2, 100.0)
        ):
            writer.writerow({k: r.get(k) for k in [*peers.FIELDS, "bound_source"]})
    assert peers.main(["--report", str(out), "--mip-gap", "1e-4"]) == 0
    lines = {
        line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines()
    }
    assert lines["a"].split(" | ")[6] == "yes"
    assert lines["b"].split(" | ")[6] == "within gap"
    assert lines["c"].split(" | ")[6] == "no"
    assert "| — |" in lines["a"]  # no CP-SAT row: its column says so
