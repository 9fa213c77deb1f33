"""The benchmarks must not rot: the generator, one benchmark case and the direct highspy
build run here at a tiny scale (issue 7). The timings themselves are not tested."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import direct_highspy  # noqa: E402
import run as bench_run  # noqa: E402
from generate import generate_site, write_site  # noqa: E402

from optimizer.formulation import build_model  # noqa: E402
from optimizer.loaders import load_site  # noqa: E402
from optimizer.solve import SolveOptions, compile_model, solve  # noqa: E402


def test_one_case_at_a_tiny_scale(tmp_path: Path) -> None:
    """Generator at scale 0.125 (one hall; the grid binds, so it solves in well under a
    second) and run.py's per-case function: a sane row."""
    site_dir = write_site(generate_site(0.125, 0, "4n3", "grid"), tmp_path / "site")
    spec = {
        "scale": 0.125,
        "topology": "4n3",
        "binding": "grid",
        "strategy": "auto",
        "seed": 0,
        "time_limit_s": 10.0,
        "mip_gap": 1e-4,
        "threads": 1,
        "marginal_values": False,
    }
    row = bench_run.run_case(spec, site_dir)
    assert row["status"] == "optimal"
    assert row["verify_passed"] is True
    assert row["gap"] is not None and row["gap"] <= 1e-4
    assert row["bound"] >= row["objective"] - 1e-6  # gpus: maximized
    assert row["model_rows"] > 0 and row["model_columns"] > 0 and row["model_nonzeros"] > 0
    assert row["direct_shape_match"] is True
    assert row["gpus"] > 0 and row["racks"] > 0
    assert 0 < row["peak_mib"] < 4096
    for key in ("load_s", "build_s", "handoff_s", "solve_s", "results_s", "verify_s", "write_s"):
        assert row[key] is None or row[key] >= 0, key
    assert 0 < row["modelling_s"] < row["total_s"]
    assert 0 < row["overhead_pct"] < 100
    final = [row[f"gap_{t}s"] for t in bench_run.GAP_TIMES if row[f"gap_{t}s"] is not None]
    assert final and final[-1] <= 1e-4  # ended optimal before 300 s: the final gap holds
    assert "FAILED" not in bench_run.format_case(row)
    assert row["case"] in bench_run.markdown([row])


def test_gap_at_reads_the_timeline() -> None:
    timeline = [
        [1.0, 90.0, None, "first fit"],
        [2.0, None, 110.0, "surrogate"],
        [5.0, 100.0, 105.0, "highs-sample"],
        [20.0, 104.0, 104.0, "end"],
    ]
    assert bench_run.gap_at(timeline, 0.5, True, False) is None
    assert bench_run.gap_at(timeline, 3.0, True, False) == pytest.approx(20 / 90)
    assert bench_run.gap_at(timeline, 10.0, True, False) == pytest.approx(0.05)
    assert bench_run.gap_at(timeline, 60.0, True, False) == 0.0
    assert bench_run.gap_at(timeline, 60.0, True, True) is None  # stopped by its time limit


@pytest.mark.parametrize("site", ["data/small", "data/block-redundant"])
def test_direct_highspy_matches_the_pyomo_model(site: str) -> None:
    """Same rows, columns and coefficients as the Pyomo path, and the same optimum."""
    s = load_site(ROOT / site)
    built = build_model(s)
    compiled = compile_model(built)
    model, h = direct_highspy.build(s, threads=1)
    assert model.shape == compiled.shape
    assert compiled.row_names == model.row_names
    cols: list[tuple[str, tuple] | None] = [None] * compiled.shape[1]
    for place, k in zip(built.index.places, compiled.place_column, strict=True):
        cols[k] = ("racks", place)
    for group, k in zip(built.colocation, compiled.choice_column, strict=True):
        cols[k] = ("choice", group)
    assert cols == model.cols
    assert abs(compiled.A.tocsc() - model.A).max() == 0
    np.testing.assert_array_equal(compiled.row_lower, model.row_lower)
    np.testing.assert_array_equal(compiled.row_upper, model.row_upper)
    np.testing.assert_array_equal(compiled.col_upper, model.col_upper)
    np.testing.assert_allclose(compiled.cost, model.cost)
    pyomo_solution = solve(compiled, SolveOptions(time_limit_s=30, threads=1))
    direct = direct_highspy.solve(h, time_limit_s=30)
    assert pyomo_solution.status == "optimal" and direct.status == "Optimal"
    assert direct.objective == pytest.approx(pyomo_solution.objective, abs=1e-6)


def test_validate_scale_and_import_time_run_at_a_tiny_scale(tmp_path: Path, capsys) -> None:
    """benchmarks/validate_scale.py (a 300-row site, a 50-level chain) and
    benchmarks/import_time.py (one repeat): every case validates (exit 0)."""
    import import_time
    import validate_scale

    out = tmp_path / "scale.csv"
    validate_scale.main(["--rows", "300", "--chain", "50", "--out", str(out)])
    lines = out.read_text().splitlines()
    assert lines[0] == "shape,size,seconds,cpu_s,peak_mb,exit,cpu_s_per_1000"
    assert [line.split(",")[5] for line in lines[1:]] == ["0", "0"]
    import_time.main(["--repeat", "1"])
    printed = capsys.readouterr().out
    assert "rackfit --help" in printed and "rackfit validate data/small" in printed
