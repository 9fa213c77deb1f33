"""Start-up cost of the command line: import time (`python -X importtime`) of what
`rackfit --help` and `rackfit validate SITE` import, and the wall time of each command.

    python benchmarks/import_time.py --repeat 7

Each figure is the median of `--repeat` fresh processes. The import time is the sum of the
top-level entries of `-X importtime` for the modules each command needs (its own imports
and everything they pull in), so Python's own start-up is not counted; the wall time is the
whole command, start-up and work included. Prints the load average, since the machine may
be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN = (
    "import sys\nfrom optimizer.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
)


def import_seconds(args: list[str], code: str = RUN) -> float:
    """Import time of one fresh `rackfit ARGS`: the sum of the top-level entries of
    -X importtime (Python's own start-up imports included; see `main`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    total_us = 0
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        if not parts[2].startswith("  "):  # one space: a top-level import; more: nested
            total_us += int(parts[1])
    return total_us / 1e6


def wall_and_cpu_seconds(args: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one fresh `rackfit ARGS`. On a shared
    machine the CPU time is the steadier of the two."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, check=False, cwd=REPO)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    # Python's own start-up imports (site, encodings), counted apart
    python = statistics.median(import_seconds([], "pass") for _ in range(args.repeat))
    print(f"{'python -c pass':<28} imports {python:6.3f} s (subtracted below)")
    for command in (["--help"], ["validate", "data/small"], ["models"]):
        imports = statistics.median(import_seconds(command) for _ in range(args.repeat))
        imports -= python
        runs = [wall_and_cpu_seconds(command) for _ in range(args.repeat)]
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        shown = "rackfit " + " ".join(command)
        print(
            f"{shown:<28} imports {imports:6.3f} s   whole command {wall:6.3f} s wall, "
            f"{cpu:6.3f} s CPU",
            flush=True,
        )


if __name__ == "__main__":
    main()
