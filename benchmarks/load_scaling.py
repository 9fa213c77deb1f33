"""Loading time against site size, up to a 100,000-row rows.csv (issue 9 item 7: show that
loading is linear).

Sites come from the benchmark generator (``benchmarks/generate.py``) with as many halls as
the row count needs (49 rows a hall; every hall brings its transformers, UPS blocks, two
busways a row, pods and cooling lines, so every table grows with the rows). Each site is
written to a temporary folder and loaded with ``optimizer.loaders.load_site`` (parsing,
validation and the cross-table checks) ``--repeat`` times in this process; the fastest time
is reported (wall clock and process CPU time, which a shared machine disturbs less), with
seconds per 1,000 rows and a least-squares line through the CPU times.

    python benchmarks/load_scaling.py --rows 392 1000 3000 10000 30000 100000 \\
        --out benchmarks/results/load_scaling.csv
"""

from __future__ import annotations

import argparse
import csv
import gc
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

ROWS_PER_HALL = 49
FIELDS = [
    "target_rows",
    "halls",
    "rows",
    "devices",
    "pods",
    "generate_s",
    "load_s",
    "s_per_1000_rows",
    "cpu_s",
    "cpu_s_per_1000_rows",
    "rows_csv_mb",
]


def measure(target_rows: int, repeat: int = 1, seed: int = 0) -> dict[str, float]:
    """Generate a site with at least `target_rows` rows and time loading it."""
    from generate import generate_site, write_site

    from optimizer.loaders import load_site

    halls = max(1, math.ceil(target_rows / ROWS_PER_HALL))
    t0 = time.perf_counter()
    tables = generate_site(halls / 8, seed, "4n3", "power")
    with tempfile.TemporaryDirectory(prefix="rackfit-load-") as tmp:
        folder = write_site(tables, Path(tmp) / "site")
        generate_s = time.perf_counter() - t0
        best = best_cpu = math.inf
        for _ in range(repeat):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            site = load_site(folder)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        mb = (folder / "rows.csv").stat().st_size / 1e6
        out = {
            "target_rows": target_rows,
            "halls": halls,
            "rows": len(site.rows),
            "devices": len(site.devices),
            "pods": len(site.pods),
            "generate_s": generate_s,
            "load_s": best,
            "s_per_1000_rows": 1000 * best / len(site.rows),
            "cpu_s": best_cpu,
            "cpu_s_per_1000_rows": 1000 * best_cpu / len(site.rows),
            "rows_csv_mb": mb,
        }
        del site
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Site loading time against size.")
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[392, 1000, 3000, 10000, 30000, 100000]
    )
    parser.add_argument("--repeat", type=int, default=2, help="loads per size (fastest kept)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "load_scaling.csv")
    args = parser.parse_args(argv)
    from optimizer.loaders import load_site

    load_site(HERE.parent / "data" / "small")  # warm up: imports and the hardware library
    results = []
    print(
        f"{'rows':>8} {'devices':>8} {'pods':>7} {'load s':>8} {'s / 1,000 rows':>15} "
        f"{'CPU s':>8} {'CPU s / 1,000':>14}"
    )
    for n in args.rows:
        r = measure(n, repeat=args.repeat)
        results.append(r)
        print(
            f"{r['rows']:>8,} {r['devices']:>8,} {r['pods']:>7,} {r['load_s']:>8.2f} "
            f"{r['s_per_1000_rows']:>15.3f} {r['cpu_s']:>8.2f} "
            f"{r['cpu_s_per_1000_rows']:>14.3f}",
            flush=True,
        )
    rows = np.array([r["rows"] for r in results], dtype=float)
    secs = np.array([r["cpu_s"] for r in results])  # CPU: robust to a shared machine
    if len(rows) >= 2:
        slope, intercept = np.polyfit(rows, secs, 1)
        fitted = slope * rows + intercept
        ss_res = float(((secs - fitted) ** 2).sum())
        ss_tot = float(((secs - secs.mean()) ** 2).sum())
        r2 = 1 - ss_res / ss_tot if ss_tot > 0 else 1.0
        # exponent of a power law through the two largest sizes: 1 = linear, 2 = quadratic
        k = np.log(secs[-1] / secs[-2]) / np.log(rows[-1] / rows[-2]) if len(rows) >= 2 else None
        print(
            f"\nleast squares on CPU seconds: {1000 * slope:.3f} s per 1,000 rows "
            f"+ {intercept:.2f} s "
            f"(R^2 = {r2:.4f}); growth exponent between the two largest sizes: {k:.2f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(results)
    print(
        "\n| rows.csv rows | devices | pods | MB | load s (wall) | s per 1,000 rows "
        "| CPU s | CPU s per 1,000 rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['devices']:,} | {r['pods']:,} | {r['rows_csv_mb']:.1f} | "
            f"{r['load_s']:.2f} | {r['s_per_1000_rows']:.3f} | {r['cpu_s']:.2f} | "
            f"{r['cpu_s_per_1000_rows']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
