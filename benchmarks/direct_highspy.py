"""The rackfit MILP built straight on highspy from numpy arrays, without Pyomo (issue 7).

This is the yardstick for the modelling overhead in ``benchmarks/run.py``: the same rows,
columns and coefficients as ``optimizer.formulation.build_model`` + ``optimizer.solve
.compile_model``, assembled as COO triplets with numpy, converted to CSC with scipy and
handed to HiGHS in one array ``passModel`` call. The data the rows are made of — which
(cluster, row) places exist (``optimizer.formulation.Index``) and which power rows survive
exact pruning (``optimizer.formulation.power_limits``) — is reused, so the comparison is
Pyomo against numpy for the *model*, not two different formulations.

Rows come in the order Pyomo declares them (space, demand, colocation link and choice,
cooling, network, power, grid) and columns in Pyomo's order (racks per place, then the
colocation choices), so the two matrices can be compared entry by entry. As in Pyomo's
standard form, a ranged row (``min ≤ Σ ≤ max``) is two rows (≤ max, then ≥ min), an equality
is one, columns that no row or objective mentions are left out, and a constant moves to the
right-hand side.

Command line (prints the shape and timings; ``--solve`` also solves it)::

    python benchmarks/direct_highspy.py data/small --solve
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
from scipy import sparse

from optimizer.formulation import Index, objective_coefficients, power_limits
from optimizer.schema import MEDIA, Site

INF = highspy.kHighsInf


@dataclass
class DirectModel:
    """``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``, ``integer`` columns;
    ``cols`` names each column ``("racks", place)`` or ``("choice", (cluster, group))``."""

    A: sparse.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    cost: np.ndarray
    cost_offset: float
    maximize: bool
    cols: list[tuple[str, tuple]]
    row_names: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, columns, nonzeros), as ``Compiled.shape``."""
        return (self.A.shape[0], self.A.shape[1], int(self.A.nnz))


class _Rows:
    """COO triplets and bounds, appended one block of rows at a time."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.names: list[str] = []
        self.n = 0

    def add(self, rows, cols, vals, lower, upper, names) -> None:  # type: ignore[no-untyped-def]
        """Rows numbered 0..len(lower)-1 within the block."""
        lower = np.asarray(lower, dtype=float).reshape(-1)
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(lower)
        self.hi.append(np.asarray(upper, dtype=float).reshape(-1))
        self.names.extend(names)
        self.n += len(lower)


def _first_appearance(keys: np.ndarray) -> np.ndarray:
    """Distinct values of `keys` in order of first appearance."""
    _, first = np.unique(keys, return_index=True)
    return keys[np.sort(first)]


def build_arrays(site: Site, objective: str | None = None, prune: bool = True) -> DirectModel:
    """The MILP of ``optimizer.formulation.build_model(site)`` as arrays (see module doc)."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    limits = power_limits(site, prune=prune)
    seconds["data"] = time.perf_counter() - t0  # the N-1 rows: the same call as build_model's

    t0 = time.perf_counter()
    index = Index(site)
    places = index.places
    objective = objective or site.objective
    clusters = list(site.demand)
    c_pos = {c.cluster: k for k, c in enumerate(clusters)}
    r_pos = {r.id: k for k, r in enumerate(site.rows)}
    models = [site.model_of(c) for c in clusters]
    n_places = len(places)
    pc = np.fromiter((c_pos[p[0]] for p in places), dtype=np.int64, count=n_places)
    pr = np.fromiter((r_pos[p[1], p[2]] for p in places), dtype=np.int64, count=n_places)
    halls = list(site.halls)
    h_pos = {h: k for k, h in enumerate(halls)}
    row_hall = np.array([h_pos[r.hall] for r in site.rows], dtype=np.int64)
    ph = row_hall[pr] if n_places else np.zeros(0, dtype=np.int64)
    pods = [p.pod for p in site.pods]
    pod_pos = {p: k for k, p in enumerate(pods)}
    row_pod = np.array([pod_pos.get(r.pod, -1) if r.pod else -1 for r in site.rows], dtype=int)
    pp = row_pod[pr] if n_places else np.zeros(0, dtype=np.int64)
    positions = np.array([r.positions for r in site.rows], dtype=float)
    max_racks = np.array(
        [np.inf if c.max_racks is None else c.max_racks for c in clusters], dtype=float
    )
    design_kw = np.array([m.design_kw for m in models], dtype=float)
    ports = np.array([m.ports for m in models], dtype=float)
    heat = {medium: np.array([m.heat_kw(medium) for m in models]) for medium in MEDIA}
    grid_kw = np.array([site.grid_kw_per_rack(m) for m in models], dtype=float)
    upper = np.minimum(positions[pr], max_racks[pc]) if n_places else np.zeros(0)
    place_ids = np.arange(n_places)
    rows = _Rows()

    # space: rows with more than one place
    count = np.bincount(pr, minlength=len(site.rows))
    spaced = _first_appearance(pr) if n_places else pr
    spaced = spaced[count[spaced] > 1]
    k_of_row = np.full(len(site.rows), -1)
    k_of_row[spaced] = np.arange(len(spaced))
    mask = k_of_row[pr] >= 0
    rows.add(
        k_of_row[pr[mask]],
        place_ids[mask],
        np.ones(mask.sum()),
        np.full(len(spaced), -INF),
        positions[spaced],
        [f"space[{site.rows[i].hall},{site.rows[i].row}]" for i in spaced],
    )

    # demand: min ≤ Σ racks ≤ max when not implied; a range is two rows, min = max one
    reach = np.bincount(pc, weights=upper, minlength=len(clusters))
    blocks: list[tuple[int, float, float]] = []  # (cluster, lower, upper)
    for k, c in enumerate(clusters):
        lo = float(c.min_racks) if c.min_racks > 0 else None
        hi = float(c.max_racks) if c.max_racks is not None and c.max_racks < reach[k] else None
        if lo is None and hi is None:
            continue
        if not (pc == k).any():
            if lo:
                raise ValueError(f"cluster {c.cluster} has a minimum and nowhere to stand")
            continue
        if lo is not None and hi is not None and lo != hi:
            blocks += [(k, -INF, hi), (k, lo, INF)]  # Pyomo's order: upper, lower
        else:
            blocks.append((k, -INF if lo is None else lo, INF if hi is None else hi))
    for k, lo, hi in blocks:
        sel = place_ids[pc == k]
        rows.add(
            np.zeros(len(sel)),
            sel,
            np.ones(len(sel)),
            [lo],
            [hi],
            [f"demand[{clusters[k].cluster}]"],
        )

    # colocation: Σ_{places in g} racks − M_g choice[c, g] ≤ 0, Σ_g choice[c, g] ≤ 1
    groups: list[tuple[int, str, np.ndarray]] = []
    for how, key_of in (("hall", ph), ("pod", pp)):
        chosen = [k for k, c in enumerate(clusters) if c.colocate == how]
        if not chosen:
            continue
        sel = place_ids[np.isin(pc, chosen) & (key_of >= 0)]
        pair = pc[sel] * (max(len(halls), len(pods)) + 1) + key_of[sel]
        for code in _first_appearance(pair):
            members = sel[pair == code]
            k, g = int(pc[members[0]]), int(key_of[members[0]])
            groups.append((k, halls[g] if how == "hall" else pods[g], members))
    n_racks = n_places
    choice_col = n_racks + np.arange(len(groups))
    for j, (k, g, members) in enumerate(groups):
        big = min(float(upper[members].sum()), max_racks[k])
        rows.add(
            np.zeros(len(members) + 1),
            np.append(members, choice_col[j]),
            np.append(np.ones(len(members)), -big),
            [-INF],
            [0.0],
            [f"colocation_link[{clusters[k].cluster},{g}]"],
        )
    colocated = list(dict.fromkeys(k for k, _, _ in groups))
    for k in colocated:
        cols = [choice_col[j] for j, (kk, _, _) in enumerate(groups) if kk == k]
        rows.add(
            np.zeros(len(cols)),
            cols,
            np.ones(len(cols)),
            [-INF],
            [1.0],
            [f"colocation_one[{clusters[k].cluster}]"],
        )

    # cooling per (hall, medium) with heat
    hall_order = _first_appearance(ph) if n_places else ph
    keys = [
        (h, medium) for h in hall_order for medium in MEDIA if (heat[medium][pc[ph == h]] > 0).any()
    ]
    for h, medium in keys:
        sel = place_ids[(ph == h) & (heat[medium][pc] > 0)]
        rows.add(
            np.zeros(len(sel)),
            sel,
            heat[medium][pc[sel]],
            [-INF],
            [site.cooling_capacity_kw(halls[h], medium)],
            [f"cooling[{halls[h]},{medium}]"],
        )

    # network per pod whose places have ports
    with_pod = place_ids[pp >= 0]
    pod_order = _first_appearance(pp[with_pod]) if len(with_pod) else pp[with_pod]
    for g in pod_order:
        sel = place_ids[(pp == g) & (ports[pc] > 0)]
        if len(sel) == 0:
            continue
        rows.add(
            np.zeros(len(sel)),
            sel,
            ports[pc[sel]],
            [-INF],
            [site.pods[g].ports],
            [f"network[{pods[g]}]"],
        )

    # power: Σ_i w_i Σ_{places of row i} design_kw · racks ≤ limit, vectorized over limits
    by_row = np.argsort(pr, kind="stable")
    starts = np.concatenate([[0], np.cumsum(count)])
    if limits:
        lens = np.fromiter((len(lim.rows) for lim in limits), dtype=np.int64, count=len(limits))
        lim_rows = np.fromiter(
            (i for lim in limits for i in lim.rows), dtype=np.int64, count=int(lens.sum())
        )
        lim_w = np.fromiter(
            (w for lim in limits for w in lim.weights), dtype=float, count=int(lens.sum())
        )
        lim_id = np.repeat(np.arange(len(limits)), lens)
        per = count[lim_rows]  # places per (limit, row) term
        has = np.bincount(lim_id, weights=per, minlength=len(limits)) > 0
        new_id = np.cumsum(has) - 1  # limits without places are skipped, like Pyomo's Skip
        rep = np.repeat(np.arange(len(lim_rows)), per)
        offset = np.arange(len(rep)) - np.repeat(np.cumsum(per) - per, per)
        cols = by_row[starts[lim_rows[rep]] + offset]
        rows.add(
            new_id[lim_id[rep]],
            cols,
            lim_w[rep] * design_kw[pc[cols]],
            np.full(int(has.sum()), -INF),
            np.array([lim.limit_kw for lim in limits])[has],
            [f"power[{k}]" for k in np.flatnonzero(has)],
        )

    # grid: Σ grid kW per rack · racks ≤ supply − fixed overhead
    draw = grid_kw[pc]
    sel = place_ids[draw != 0]
    rows.add(
        np.zeros(len(sel)),
        sel,
        draw[sel],
        [-INF],
        [site.supply_limit_kw - site.fixed_overhead_kw],
        ["grid"],
    )

    # objective
    coef = objective_coefficients(index, objective)
    cost = np.zeros(n_racks + len(groups))
    cost[:n_racks] = np.fromiter((coef[p] for p in places), dtype=float, count=n_places)

    r = np.concatenate(rows.r) if rows.r else np.zeros(0, dtype=np.int64)
    c = np.concatenate(rows.c) if rows.c else np.zeros(0, dtype=np.int64)
    v = np.concatenate(rows.v) if rows.v else np.zeros(0)
    keep_nz = v != 0
    r, c, v = r[keep_nz], c[keep_nz], v[keep_nz]
    n_cols_all = n_racks + len(groups)
    # columns that no row or objective mentions are not columns (as in Pyomo's compiler)
    used = np.zeros(n_cols_all, dtype=bool)
    used[c] = True
    used |= cost != 0
    new_col = np.cumsum(used) - 1
    A = sparse.coo_array((v, (r, new_col[c])), shape=(rows.n, int(used.sum()))).tocsc()
    A.sum_duplicates()
    A.sort_indices()
    names = [("racks", p) for p in places] + [
        ("choice", (clusters[k].cluster, g)) for k, g, _ in groups
    ]
    col_lower = np.zeros(n_cols_all)
    col_upper = np.concatenate([upper, np.ones(len(groups))])
    seconds["assemble"] = time.perf_counter() - t0
    return DirectModel(
        A=A,
        row_lower=np.concatenate(rows.lo) if rows.lo else np.zeros(0),
        row_upper=np.concatenate(rows.hi) if rows.hi else np.zeros(0),
        col_lower=col_lower[used],
        col_upper=col_upper[used],
        integer=np.ones(int(used.sum()), dtype=bool),
        cost=cost[used],
        cost_offset=0.0,
        maximize=objective == "gpus",
        cols=[n for n, u in zip(names, used, strict=True) if u],
        row_names=rows.names,
        seconds=seconds,
    )


def new_highs(threads: int | None = None) -> highspy.Highs:
    """A quiet Highs object (the banner on stdout silenced)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    if threads:
        h.setOptionValue("threads", int(threads))
    return h


def pass_model(h: highspy.Highs, model: DirectModel) -> None:
    """One array `passModel` call: CSC matrix, bounds, costs, integrality."""
    n_rows, n_cols, nnz = model.shape
    sense = highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize
    status = h.passModel(
        n_cols,
        n_rows,
        nnz,
        int(highspy.MatrixFormat.kColwise),
        int(sense),
        model.cost_offset,
        model.cost,
        model.col_lower,
        model.col_upper,
        model.row_lower,
        model.row_upper,
        model.A.indptr.astype(np.int32),
        model.A.indices.astype(np.int32),
        model.A.data.astype(float),
        model.integer.astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")


def build(site: Site, threads: int | None = None) -> tuple[DirectModel, highspy.Highs]:
    """Arrays and a Highs object holding them; ``model.seconds`` has data (``power_limits``),
    assemble (Index, numpy, COO -> CSC) and pass (``passModel``)."""
    model = build_arrays(site)
    h = new_highs(threads)
    t0 = time.perf_counter()
    pass_model(h, model)
    model.seconds["pass"] = time.perf_counter() - t0
    return model, h


@dataclass
class DirectResult:
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solve_s: float


def solve(
    h: highspy.Highs, time_limit_s: float = 60.0, mip_gap: float = 1e-4, seed: int = 20241120
) -> DirectResult:
    """Run HiGHS on the model passed to `h`."""
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("random_seed", int(seed))
    t0 = time.perf_counter()
    h.run()
    took = time.perf_counter() - t0
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    has = info.primal_solution_status == 2
    return DirectResult(
        status=status,
        objective=float(info.objective_function_value) if has else None,
        bound=float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None,
        gap=float(info.mip_gap) if has and np.isfinite(info.mip_gap) else None,
        solve_s=took,
    )


def main(argv: list[str] | None = None) -> int:
    from optimizer.loaders import load_site

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", help="site folder or workbook")
    parser.add_argument("--solve", action="store_true", help="also solve the model")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--mip-gap", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    site = load_site(Path(args.site))
    model, h = build(site, args.threads)
    rows, cols, nnz = model.shape
    s = model.seconds
    print(f"{site.name}: {rows:,} rows, {cols:,} columns, {nnz:,} nonzeros")
    print(
        f"data (power_limits) {s['data']:.3f} s, assemble {s['assemble']:.3f} s, "
        f"passModel {s['pass']:.3f} s"
    )
    if args.solve:
        res = solve(h, args.time_limit, args.mip_gap)
        print(
            f"{res.status}: objective {res.objective}, bound {res.bound}, gap {res.gap}, "
            f"{res.solve_s:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
