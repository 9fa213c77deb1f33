"""`rackfit validate` on very large sites: time and peak memory stay linear in the size.

Two shapes, each written to a temporary folder and validated in a fresh process (so the
peak memory is that of one `rackfit validate`):

- `rows`: a site with N rows in `rows.csv` (100 rows a hall, every row dual-fed from its
  hall's two PDUs, one pod a hall) and a proportional `power.csv`, `pods.csv`, `cooling.csv`;
- `chain`: a power chain N levels deep (each device the parent of the next), the two rows at
  its bottom.

    python benchmarks/validate_scale.py --rows 10000 100000 1000000 --chain 1000 10000 \\
        --out benchmarks/results/validate_scale.csv

Prints one line per case: size, seconds (wall and CPU), peak resident memory (MB), and CPU
seconds per 1,000 rows or levels, so linear growth shows as a flat last column.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS_PER_HALL = 100
SITE_YAML = "name: scale\ngrid_limit_kw: 1e7\n"
DEMAND = "cluster,model,min_racks,max_racks,colocate,value\ntrain,nvidia-dgx-h100,0,,none,1\n"


def write_rows_site(folder: Path, n_rows: int) -> None:
    """`n_rows` rows in halls of ROWS_PER_HALL, two PDUs and one pod a hall."""
    halls = (n_rows + ROWS_PER_HALL - 1) // ROWS_PER_HALL
    folder.mkdir(parents=True)
    (folder / "site.yaml").write_text(SITE_YAML)
    (folder / "demand.csv").write_text(DEMAND)
    with (folder / "rows.csv").open("w") as fh:
        fh.write("hall,row,positions,feed_a,feed_b,max_rack_kw,max_rack_kg,liquid,pod\n")
        for i in range(n_rows):
            h = i // ROWS_PER_HALL
            fh.write(f"H{h},R{i},10,PDU-{h}-A,PDU-{h}-B,50,1500,false,POD-{h}\n")
    with (folder / "power.csv").open("w") as fh:
        fh.write("device,parent,capacity_kw,derate\nTX-A,,1e7,1\nTX-B,,1e7,1\n")
        for h in range(halls):
            fh.write(f"PDU-{h}-A,TX-A,2000,0.8\nPDU-{h}-B,TX-B,2000,0.8\n")
    with (folder / "pods.csv").open("w") as fh:
        fh.write("pod,ports\n")
        fh.writelines(f"POD-{h},4000\n" for h in range(halls))
    with (folder / "cooling.csv").open("w") as fh:
        fh.write("hall,medium,units,unit_kw,spares\n")
        fh.writelines(f"H{h},air,10,500,1\n" for h in range(halls))


def write_chain_site(folder: Path, depth: int) -> None:
    """A power chain `depth` devices deep; two rows fed from its two lowest devices."""
    folder.mkdir(parents=True)
    (folder / "site.yaml").write_text(SITE_YAML)
    (folder / "demand.csv").write_text(DEMAND)
    with (folder / "power.csv").open("w") as fh:
        fh.write("device,parent,capacity_kw,derate\nD0,,1e6,1\n")
        fh.writelines(f"D{i},D{i - 1},1e6,1\n" for i in range(1, depth))
        fh.write(f"SIDE,D{depth // 2},1e6,1\n")
    (folder / "rows.csv").write_text(
        "hall,row,positions,feed_a,feed_b,max_rack_kw,max_rack_kg,liquid,pod\n"
        f"H,R1,10,D{depth - 1},SIDE,50,,false,\nH,R2,10,D{depth - 1},,50,,false,\n"
    )
    (folder / "cooling.csv").write_text("hall,medium,units,unit_kw,spares\nH,air,10,500,1\n")


def validate(folder: Path) -> tuple[float, float, float, int, str]:
    """Seconds (wall and CPU) and peak memory (MB) of a fresh `rackfit validate`, its exit
    code and its last line of output. On a shared machine CPU time is the steadier."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = usage.ru_maxrss
    cpu_before = usage.ru_utime + usage.ru_stime
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from optimizer.cli import main; main()", "validate", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    lines = (done.stdout + done.stderr).strip().splitlines()
    # ru_maxrss of the children is the largest of any child so far: run the sizes upwards
    peak_mb = max(usage.ru_maxrss, before) / 1024
    return seconds, cpu, peak_mb, done.returncode, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--chain", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args(argv)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("rows", n, write_rows_site) for n in sorted(args.rows)]
        cases += [("chain", n, write_chain_site) for n in sorted(args.chain)]
        for shape, n, write in cases:
            folder = Path(tmp) / f"{shape}-{n}"
            write(folder, n)
            seconds, cpu, peak_mb, code, last = validate(folder)
            per_k = cpu / n * 1000
            results.append(
                [shape, n, round(seconds, 2), round(cpu, 2), round(peak_mb), code, round(per_k, 4)]
            )
            print(
                f"{shape:<6}{n:>10,}  {seconds:8.2f} s wall  {cpu:8.2f} s CPU  {peak_mb:8.0f} MB  "
                f"exit {code}  {per_k:.4f} CPU s per 1,000   {last[:60]}",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(
                ["shape", "size", "seconds", "cpu_s", "peak_mb", "exit", "cpu_s_per_1000"]
            )
            writer.writerows(results)


if __name__ == "__main__":
    main()
