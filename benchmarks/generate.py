"""Deterministic synthetic sites for rackfit's benchmarks (issues 7 and 11).

``generate_site(scale, seed, topology, binding)`` returns the tables of a site in the format of
the site contract (``../shared/spec/site-format.md``, v1), keyed by file name; ``write_site``
writes them to a folder. Plain numpy/pandas/pyyaml: this module does not import ``optimizer``.

Scale 1 is Colossus-like (xAI, Memphis; numbers in ``data/colossus/README.md``):

- 8 halls of 49 rows x 8 positions (3,136 positions; 44 liquid rows, 5 air rows per hall),
  so 200,704 GPUs if every position held a 64-GPU rack; power, not space, is what limits.
- Power, per hall: 4 UPS blocks in a block-redundant 4N/3 scheme. A block is 5 modules of
  1,200 kW (Eaton 9395P-1200) in parallel, 6,000 kW, modelled as one device because the block
  fails as a unit. Each row is dual-fed from a pair of distinct blocks, through its own 415 V
  800 A busway under each (546 kW, derate 0.8 = 437 kW usable). Each block hangs from a bank
  of 2.5 MVA transformers (2,375 kW each at PF 0.95, derate 1; in some halls one bank is
  derated to 0.8 so it sits just below its block and binds). Halls 1-4 hang from substation
  SUB1, 5-8 from SUB2 (150 MW each); every 4 more halls add a substation.
- Cooling, per hall: a liquid line (2,000 kW units) and an air line (400 kW fan walls), each
  N+1. Liquid racks send 15% of their heat to air (library ``liquid_fraction`` 0.85).
- Network: pods of 8-rack arrays, one pod per two rows; ports vary by pod (576..768 for the
  liquid pods), so some pods bind.
- Demand: 5 clusters of 4 library models (Supermicro liquid HGX H100, GB200 NVL72 colocated
  in one hall, a pod-colocated H100 cluster, DGX H100 air racks, Ethernet racks).
- Grid: a limit at the design temperature plus 16 MW gas turbines as ``onsite_firm_kw``.

``topology`` changes the power chain: ``2n`` (blocks A, B of 14 modules; every row on A/B),
``3n2`` (three blocks of 7 modules, rows on pairs), ``4n3`` (four blocks of 5 modules, rows on
pairs), ``single`` (single-corded rows: each row on one busway under one of three blocks of 5
modules). A hall then carries 16.8-18 MW of IT, less than its busways would allow, so the UPS
blocks are the power limit in every topology.

``binding`` picks the family that is tight:

- ``power``: the UPS N-1 rows bind in every hall. The grid allows 97% of the power-limited
  facility load (``_hall_it_max_kw`` at the design temperature), so with more than one hall
  it binds as well and one hall is left short; a one-hall site gets 3% headroom instead, or
  no UPS row could bind. Liquid cooling has >= 5% headroom; the air lines are sized at 90%
  of the heat to air of a hall of liquid racks plus 600 kW, so a hall one fan wall short
  comes close.
- ``grid``: the grid allows 75% of the power-limited facility load; power and cooling slack.
- ``cooling``: each hall's liquid capacity is ~75% of its power-limited liquid heat and air
  ~65% of its sizing, so liquid binds in every hall and air in some; the grid is 15% above
  the power-limited load.

Scale S makes ``max(1, round(8 S))`` halls. Every random choice is drawn from a generator
seeded by ``(seed, hall)`` (the weather by ``(seed, 1000003)``), so a hall does not change
when the scale does, and the same arguments give byte-identical files.

Command line::

    python benchmarks/generate.py --scale 1 --seed 0 --topology 4n3 --binding power --out DIR
    python benchmarks/generate.py --family random --seed 3 --scale 1 --out DIR

``--family random`` makes the random family of ``benchmarks/random_family.py`` instead (issue
15): topology, binding family, hall sizes and ratings, and demand all drawn from the seed;
``--topology`` and ``--binding`` do not apply to it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

TOPOLOGIES = ("2n", "3n2", "4n3", "single")
BINDINGS = ("power", "grid", "cooling")

COLUMNS = {
    "rows": [
        "hall",
        "row",
        "positions",
        "feed_a",
        "feed_b",
        "max_rack_kw",
        "max_rack_kg",
        "liquid",
        "pod",
    ],
    "power": ["device", "parent", "capacity_kw", "derate"],
    "cooling": ["hall", "medium", "units", "unit_kw", "spares"],
    "pods": ["pod", "ports"],
    "demand": ["cluster", "model", "min_racks", "max_racks", "colocate", "value"],
    "overhead": ["temp_c", "air_overhead", "liquid_overhead"],
    "weather": ["hour", "temp_c"],
}

# --- shape of a hall (Colossus-like; see data/colossus/README.md) ---------------------------
HALLS_PER_SCALE = 8
HALLS_PER_SUBSTATION = 4
SUBSTATION_KW = 150_000  # each Colossus substation: 150 MW
ROWS_PER_HALL = 49
LIQUID_ROWS_PER_HALL = 44  # the last 5 rows are air rows
POSITIONS_PER_ROW = 8  # one 8-rack array per row
ROWS_PER_POD = 2
LIQUID_MAX_RACK_KW = 140
AIR_MAX_RACK_KW = 45
MAX_RACK_KG = 1_500
LIGHT_FLOOR_KG = 1_200  # some liquid rows stand on a lighter floor: no GB200 (1,360 kg)
LIGHT_FLOOR_SHARE = 0.1

# --- power chain ---------------------------------------------------------------------------
UPS_MODULE_KW = 1_200  # Eaton 9395P-1200
BUSWAY_KW = 546  # 415 V, 800 A, PF 0.95
BUSWAY_DERATE = 0.8  # continuous load (NEC 125% rule)
TRANSFORMER_KW = 2_375  # 2.5 MVA at PF 0.95
WEAK_TRANSFORMER_DERATE = 0.8
WEAK_TRANSFORMER_HALL_SHARE = 0.3  # halls where one transformer bank is derated

# --- cooling -------------------------------------------------------------------------------
LIQUID_UNIT_KW = 2_000  # facility CDU / chilled-water unit (1.3-5 MW class)
AIR_UNIT_KW = 400  # fan wall / CRAH (200-500 kW)
LIQUID_HEAT_SHARE = 0.85  # library liquid_fraction of the liquid GPU racks
AIR_RACK_ALLOWANCE_KW = 600  # air racks (DGX, network) a hall's air line is sized for

# --- site ----------------------------------------------------------------------------------
FIXED_OVERHEAD_KW_PER_HALL = 250  # lighting, offices, security (estimate)
TURBINE_FIRM_KW = 16_000  # Solar SMT-130, ~16.5 MW ISO; firm on a hot day (estimate)
TURBINE_SHARE = 0.1  # turbines cover about this share of the supply
ENERGY_USD_PER_KWH = 0.0623  # Tennessee industrial, EIA 2023

GRID_FACTOR = {"power": 0.97, "grid": 0.75, "cooling": 1.15}  # x power-limited facility load
ONE_HALL_POWER_GRID_FACTOR = 1.03
LIQUID_COOLING_FACTOR = {"power": 1.05, "grid": 1.05, "cooling": 0.75}
AIR_COOLING_FACTOR = {"power": 0.9, "grid": 1.1, "cooling": 0.65}

OVERHEAD_CURVE = pd.DataFrame(
    {  # facility kW per kW of heat, by outdoor temperature (estimates, see README)
        "temp_c": [-10, 0, 10, 20, 25, 30, 35, 40, 45],
        "air_overhead": [0.10, 0.12, 0.15, 0.22, 0.28, 0.35, 0.42, 0.50, 0.58],
        "liquid_overhead": [0.04, 0.045, 0.05, 0.07, 0.09, 0.11, 0.14, 0.17, 0.20],
    }
)

# Memphis: monthly normal ~5 C (Jan) to ~28 C (Jul), ~10 C daily range (estimates).
ANNUAL_MEAN_C = 16.8
SEASONAL_AMPLITUDE_C = 11.5
DIURNAL_AMPLITUDE_C = 5.0
HOURS = 8_760


def _hall_count(scale: float) -> int:
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return max(1, round(HALLS_PER_SCALE * scale))


def _blocks(topology: str) -> tuple[list[str], list[tuple[str, ...]], int]:
    """Block letters, the feeds of the rows (taken in turn), and 1,200 kW modules per block.

    Blocks are sized so that a hall carries 16.8-18 MW of IT after N-1, below the ~18.3 MW
    that its busways allow with 5 Supermicro racks (410 kW) per liquid row, so that the UPS,
    not the busways, is the power limit.
    """
    if topology == "2n":  # one block carries the hall after the other fails: 16.8 MW
        return ["A", "B"], [("A", "B")], 14
    if topology == "3n2":  # the blocks' usable sum carries 3/2 of the load: 2 x 8.4 = 16.8 MW
        return ["A", "B", "C"], [("A", "B"), ("A", "C"), ("B", "C")], 7
    if topology == "4n3":  # 3 x 6 MW = 18 MW
        pairs: list[tuple[str, ...]] = [
            ("A", "B"),
            ("C", "D"),
            ("A", "C"),
            ("B", "D"),
            ("A", "D"),
            ("B", "C"),
        ]
        return ["A", "B", "C", "D"], pairs, 5
    if topology == "single":  # no N-1 transfer: 3 x 6 MW in normal operation
        return ["A", "B", "C"], [("A",), ("B",), ("C",)], 5
    raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")


def _hall_it_max_kw(block_usable_kw: list[float], topology: str, rows_kw: list[float]) -> float:
    """A simple upper bound on a hall's IT kW: the N-1 sum over blocks, and the rows' busways."""
    if topology == "2n":
        ups = min(block_usable_kw)
    elif topology == "single":
        ups = sum(block_usable_kw)
    else:
        k = len(block_usable_kw)
        ups = (k - 1) / k * sum(block_usable_kw)
    return min(ups, sum(rows_kw))


def _overhead_at(temp_c: float) -> tuple[float, float]:
    c = OVERHEAD_CURVE
    return (
        float(np.interp(temp_c, c.temp_c, c.air_overhead)),
        float(np.interp(temp_c, c.temp_c, c.liquid_overhead)),
    )


def _weather(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 1_000_003])
    hour = np.arange(HOURS)
    day = hour / 24.0
    seasonal = ANNUAL_MEAN_C - SEASONAL_AMPLITUDE_C * np.cos(2 * np.pi * (day - 15) / 365)
    diurnal = -DIURNAL_AMPLITUDE_C * np.cos(2 * np.pi * ((hour % 24) - 3) / 24)  # warmest 15:00
    daily = np.zeros(HOURS // 24)  # weather systems: an AR(1) anomaly per day
    for d in range(1, daily.size):
        daily[d] = 0.7 * daily[d - 1] + rng.normal(0, 1.8)
    noise = rng.normal(0, 0.6, HOURS)
    temp = seasonal + diurnal + np.repeat(daily, 24) + noise
    return pd.DataFrame({"hour": hour, "temp_c": np.round(temp, 1)})


def _demand(n_halls: int) -> pd.DataFrame:
    h = n_halls
    rows = [
        # cluster, model, min, max, colocate, value
        ("train-h100", "supermicro-hgx-h100-liquid", 16 * h, None, "none", 1),
        ("train-gb200", "nvidia-gb200-nvl72", 24, 96, "hall", 2.5),  # 2.5 vs 0.99 PF per GPU
        ("eval-h100", "supermicro-hgx-h100-liquid", 8, 16, "pod", 1),
        ("infer-dgx", "nvidia-dgx-h100", h, 4 * h, "none", 1),
        ("fabric-eth", "network-ethernet", 2 * h, 2 * h, "none", 1),
    ]
    return pd.DataFrame(rows, columns=COLUMNS["demand"]).astype({"max_racks": object})


def generate_site(
    scale: float = 1,
    seed: int = 0,
    topology: str = "4n3",
    binding: str = "power",
    name: str | None = None,
) -> dict[str, pd.DataFrame | dict]:
    """The tables of a synthetic site, keyed by file name without extension.

    ``"site"`` is the dict for site.yaml; every other value is a DataFrame with exactly the
    contract's columns (``None`` for an empty cell, Python bools for ``liquid``).
    """
    if binding not in BINDINGS:
        raise ValueError(f"binding must be one of {BINDINGS}, got {binding!r}")
    n_halls = _hall_count(scale)
    letters, feeds, modules = _blocks(topology)
    ups_kw = modules * UPS_MODULE_KW
    tx_units = math.ceil(ups_kw / TRANSFORMER_KW)
    width = max(2, len(str(n_halls)))

    weather = _weather(seed)
    design_temp_c = float(weather.temp_c.max())
    air_oh, liquid_oh = _overhead_at(design_temp_c)

    rows: list[dict] = []
    power: list[dict] = []
    cooling: list[dict] = []
    pods: list[dict] = []
    n_subs = math.ceil(n_halls / HALLS_PER_SUBSTATION)
    for s in range(n_subs):
        power.append(
            {"device": f"SUB{s + 1}", "parent": None, "capacity_kw": SUBSTATION_KW, "derate": 1}
        )

    facility_kw = 0.0
    for h in range(n_halls):
        rng = np.random.default_rng([seed, h])
        hall = f"H{h + 1:0{width}d}"
        sub = f"SUB{h // HALLS_PER_SUBSTATION + 1}"

        # transformers and UPS blocks
        weak_block = (
            int(rng.integers(len(letters))) if rng.random() < WEAK_TRANSFORMER_HALL_SHARE else -1
        )
        block_usable: list[float] = []
        for b, letter in enumerate(letters):
            tx = f"{hall}-TX{b + 1}"
            derate = WEAK_TRANSFORMER_DERATE if b == weak_block else 1
            power.append(
                {
                    "device": tx,
                    "parent": sub,
                    "capacity_kw": tx_units * TRANSFORMER_KW,
                    "derate": derate,
                }
            )
            power.append(
                {"device": f"{hall}-UPS-{letter}", "parent": tx, "capacity_kw": ups_kw, "derate": 1}
            )
            block_usable.append(min(ups_kw, tx_units * TRANSFORMER_KW * derate))

        # rows, busways and pods; rows take the block pairs in turn, from a random start
        offset = int(rng.integers(len(feeds)))
        light = rng.random(LIQUID_ROWS_PER_HALL) < LIGHT_FLOOR_SHARE
        liquid_pods = math.ceil(LIQUID_ROWS_PER_HALL / ROWS_PER_POD)
        pod_arrays = rng.choice([9, 10, 12], size=liquid_pods, p=[0.2, 0.3, 0.5])
        rows_kw: list[float] = []
        for i in range(ROWS_PER_HALL):
            row = f"R{i + 1:02d}"
            liquid = i < LIQUID_ROWS_PER_HALL
            if liquid:
                pod_index = i // ROWS_PER_POD
            else:
                pod_index = liquid_pods + (i - LIQUID_ROWS_PER_HALL) // ROWS_PER_POD
            pod = f"{hall}-POD{pod_index + 1:02d}"
            if not pods or pods[-1]["pod"] != pod:
                # liquid pods: 9-12 arrays' worth of 64-port racks; air pods: 16 DGX (32 ports)
                if liquid:
                    ports = 64 * int(pod_arrays[pod_index])
                else:
                    ports = 32 * POSITIONS_PER_ROW * ROWS_PER_POD
                pods.append({"pod": pod, "ports": ports})
            feed_devices = []
            for side, letter in zip("AB", feeds[(i + offset) % len(feeds)], strict=False):
                busway = f"{hall}-{row}-BW-{side}"
                power.append(
                    {
                        "device": busway,
                        "parent": f"{hall}-UPS-{letter}",
                        "capacity_kw": BUSWAY_KW,
                        "derate": BUSWAY_DERATE,
                    }
                )
                feed_devices.append(busway)
            max_rack_kw = LIQUID_MAX_RACK_KW if liquid else AIR_MAX_RACK_KW
            rows.append(
                {
                    "hall": hall,
                    "row": row,
                    "positions": POSITIONS_PER_ROW,
                    "feed_a": feed_devices[0],
                    "feed_b": feed_devices[1] if len(feed_devices) > 1 else None,
                    "max_rack_kw": max_rack_kw,
                    "max_rack_kg": LIGHT_FLOOR_KG if liquid and light[i] else MAX_RACK_KG,
                    "liquid": liquid,
                    "pod": pod,
                }
            )
            rows_kw.append(min(BUSWAY_KW * BUSWAY_DERATE, POSITIONS_PER_ROW * max_rack_kw))

        # cooling, sized against what the power chain lets the hall carry
        hall_it_kw = _hall_it_max_kw(block_usable, topology, rows_kw)
        liquid_kw = LIQUID_COOLING_FACTOR[binding] * LIQUID_HEAT_SHARE * hall_it_kw
        air_kw = AIR_COOLING_FACTOR[binding] * (
            (1 - LIQUID_HEAT_SHARE) * hall_it_kw + AIR_RACK_ALLOWANCE_KW
        )
        short = int(rng.random() < 0.3)  # some halls are one fan wall short
        air_units = math.ceil(air_kw / AIR_UNIT_KW) - short
        cooling.append(
            {
                "hall": hall,
                "medium": "liquid",
                "units": math.ceil(liquid_kw / LIQUID_UNIT_KW) + 1,
                "unit_kw": LIQUID_UNIT_KW,
                "spares": 1,
            }
        )
        cooling.append(
            {
                "hall": hall,
                "medium": "air",
                "units": air_units + 1,
                "unit_kw": AIR_UNIT_KW,
                "spares": 1,
            }
        )

        facility_kw += hall_it_kw * (
            1 + LIQUID_HEAT_SHARE * liquid_oh + (1 - LIQUID_HEAT_SHARE) * air_oh
        )

    fixed_overhead_kw = FIXED_OVERHEAD_KW_PER_HALL * n_halls
    grid_factor = GRID_FACTOR[binding]
    if binding == "power" and n_halls == 1:
        grid_factor = ONE_HALL_POWER_GRID_FACTOR  # a binding grid would leave no UPS row binding
    supply_kw = grid_factor * (facility_kw + fixed_overhead_kw)
    turbines = round(TURBINE_SHARE * supply_kw / TURBINE_FIRM_KW)
    onsite_kw = turbines * TURBINE_FIRM_KW
    grid_kw = int(round((supply_kw - onsite_kw) / 100) * 100)

    site = {
        "name": name or f"synthetic-{topology}-{binding}-s{scale:g}-seed{seed}",
        "grid_limit_kw": grid_kw,
        "onsite_firm_kw": onsite_kw,
        "fixed_overhead_kw": fixed_overhead_kw,
        "design_temp_c": design_temp_c,
        "energy_usd_per_kwh": ENERGY_USD_PER_KWH,
        "objective": "gpus",
    }
    tables: dict[str, pd.DataFrame | dict] = {
        "site": site,
        "rows": pd.DataFrame(rows, columns=COLUMNS["rows"]),
        "power": pd.DataFrame(power, columns=COLUMNS["power"]),
        "cooling": pd.DataFrame(cooling, columns=COLUMNS["cooling"]),
        "pods": pd.DataFrame(pods, columns=COLUMNS["pods"]),
        "demand": _demand(n_halls),
        "overhead": OVERHEAD_CURVE.copy(),
        "weather": weather,
    }
    return tables


def _cell(value: object) -> object:
    """A cell as written: empty for none, true/false, integral numbers without ``.0``."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return value


def write_site(
    tables: dict[str, pd.DataFrame | dict], out_dir: str | Path, header: str | None = None
) -> Path:
    """Writes ``site.yaml`` and one CSV per table (no index, empty cells, true/false)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for key, table in tables.items():
        if key == "site":
            assert isinstance(table, dict)
            text = yaml.safe_dump({k: _cell(v) for k, v in table.items()}, sort_keys=False)
            (out / "site.yaml").write_text((f"# {header}\n" if header else "") + text)
        else:
            assert isinstance(table, pd.DataFrame)
            cells = {
                column: [str(_cell(v)) for v in table[column].tolist()] for column in table.columns
            }
            pd.DataFrame(cells, columns=table.columns).to_csv(
                out / f"{key}.csv", index=False, lineterminator="\n"
            )
    return out


def _summary(tables: dict[str, pd.DataFrame | dict]) -> str:
    rows = tables["rows"]
    site = tables["site"]
    assert isinstance(rows, pd.DataFrame) and isinstance(site, dict)
    positions = int(rows.positions.sum())
    return (
        f"{rows.hall.nunique()} halls, {len(rows)} rows, {positions} positions "
        f"({64 * positions:,} GPUs at 64 per position), {len(tables['power'])} devices, "
        f"{len(tables['pods'])} pods, grid {site['grid_limit_kw']:,} kW "
        f"+ onsite {site['onsite_firm_kw']:,} kW"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a deterministic synthetic rackfit site.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--family",
        choices=("synthetic", "random"),
        default="synthetic",
        help="synthetic: one hall design repeated (--topology, --binding); random: the random "
        "family of benchmarks/random_family.py, everything drawn from --seed",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1 = Colossus-like, 8 halls")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--topology", choices=TOPOLOGIES, default="4n3", help="power topology")
    parser.add_argument("--binding", choices=BINDINGS, default="power", help="the tight family")
    parser.add_argument(
        "--name",
        default=None,
        help="site name (default: synthetic-TOPOLOGY-BINDING-sSCALE-seedSEED)",
    )
    parser.add_argument("--out", required=True, help="folder to write (required)")
    args = parser.parse_args(argv)
    if args.family == "random":
        from random_family import generate_random_site

        tables = generate_random_site(args.scale, args.seed, name=args.name)
        shape = "--family random"
    else:
        tables = generate_site(args.scale, args.seed, args.topology, args.binding, name=args.name)
        shape = f"--topology {args.topology} --binding {args.binding}"
    command = (
        f"python benchmarks/generate.py --scale {args.scale:g} --seed {args.seed} {shape}"
        + (f" --name {args.name}" if args.name else "")
        + " --out DIR"
    )
    write_site(tables, args.out, header=f"generated by: {command}")
    print(f"{args.out}: {_summary(tables)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
