"""A bound by decomposition into halls that never asks HiGHS to close a hard aggregate.

Where the binding rows live. The rows that make Colossus-scale sites hard (UPS N-1 rows,
busways, pods, cooling) each lie inside one hall: the power forest below the site-level
devices splits the site into halls. Only a few rows couple halls: the grid, the substations
(devices above several halls), cluster minimums and maximums, and colocation's "one hall".
So the full model is block-angular: max c·x s.t. x_h ∈ X_h for every hall h (the hall's own
rows, integers) and l ≤ Σ_h A_h x_h ≤ u (the coupling rows).

Lagrangian relaxation of the coupling rows. For any multipliers π (one per coupling row),
and any plan x feasible for the full model,

    c·x = Σ_h (c_h − π A_h)·x_h + π·(Σ_h A_h x_h) ≤ Σ_h U_h(π) + Σ_r max(π_r u_r, π_r l_r),

where U_h(π) is any number ≥ max{(c_h − π A_h)·x_h : x_h ∈ X_h}, and max(π_r u_r, π_r l_r)
≥ π_r (A x)_r because (A x)_r ∈ [l_r, u_r] (a multiplier whose side is infinite is set to 0).
So L(π) = Σ_h U_h(π) + Σ_r max(π_r u_r, π_r l_r) is a valid bound for every π, and the
bound reported is the smallest L over all π tried: its validity never depends on how π was
found or on any solve converging. (For the `cost` objective everything is done on −cost.)

U_h(π) is the smaller of two valid upper bounds on the hall's maximum:
- the hall's own MIP at row level (exact rows) with the reduced costs: HiGHS's proven dual
  bound after a short time limit (its root LP with cuts at least; the LP relaxation's value
  when HiGHS gives no bound in time);
- the hall's aggregate (strategy/bound.py's aggregated MIP on the hall alone, which is a
  relaxation of the hall's rows: racks per power class and cluster), with each aggregate
  column priced at the largest reduced cost of the places it stands for (so
  Σ_p r_p x_p ≤ Σ_(k,c) max_p r_p · y_kc), plus max(0, r_j) · upper_j for the few columns
  the aggregate drops (a pod-colocation choice). The hall also keeps its own share of the
  grid and of its substations (valid: the other halls' loads are non-negative). The
  aggregate MIP is solved by HiGHS with a time limit; what enters the bound is its proven
  dual bound, never its incumbent.
With π = the LP relaxation's duals of the coupling rows, Σ_h LP_h(π) + Σ_r ... equals the
LP bound (LP duality) and each U_h ≤ LP_h, so the first L is at most the LP bound; each
later π can only lower the reported minimum. The integrality per hall (racks come in 82 and
132 kW pieces; a block group's N-1 rows cap their sum) is what takes the bound below the LP.

Multipliers after the first: Dantzig–Wolfe column generation. The halls' aggregate plans
found while pricing are columns of a master LP (convex combinations per hall, coupling rows
with penalised slacks); its duals, smoothed towards the best π so far, are the next π.
Halls that are identical (same aggregate and same reduced costs) are priced once (a cache;
`DecompositionBound.block_solves` counts the MIPs actually solved).

The integer master (each hall picks one of its plans, coupling rows exact) gives a plan per
hall and power class; strategy/heuristic.py lays it out on rows (fix and optimize), and the
result is a start for HiGHS.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
from scipy import sparse

from optimizer.formulation import BuiltModel, Index, power_limits
from optimizer.schema import Site
from optimizer.solve import INF, Compiled, SolveOptions, Solver, _highs, _pass, compile_model
from optimizer.status import Status
from optimizer.strategy.blocks import column_halls
from optimizer.strategy.bound import Aggregate, SurrogateBound, build_aggregate

SMOOTHING = 0.5  # next π = SMOOTHING · best π + (1 − SMOOTHING) · master duals (Wentges)
STALL_ITERATIONS = 4  # stop when the bound has not improved for this many pricing rounds
HALL_MIP_SECONDS = 1.0  # most one hall's MIP (aggregate, or row level) takes in one round


def unsupported(site: Site) -> str | None:
    """Why the decomposition cannot be used on `site` (None: it can). Racks already standing
    and phased build-outs (contract v1.1) change the hall's rows in ways the aggregate does
    not model yet, so the pipeline skips the decomposition there rather than risk a wrong
    bound."""
    if getattr(site, "existing", None):
        return "racks already standing (existing.csv)"
    if getattr(site, "phases", None):
        return "phases (phases.csv)"
    return None


@dataclass
class _Block:
    hall: str
    agg: Aggregate  # the hall's aggregated MIP (strategy/bound.py)
    compiled: Compiled  # the aggregate as matrices
    members: list[np.ndarray]  # per aggregate column: the full-model columns it stands for
    loose: np.ndarray  # full-model columns of the hall the aggregate does not represent
    lp: Compiled  # the hall's rows of the full model over its columns (row level)
    lp_cols: np.ndarray
    key: bytes  # structure of the hall (identical halls share it)
    row_ids: dict[str, list[int]] = field(default_factory=dict)  # class -> full site rows
    y_keys: dict[int, tuple[str, str]] = field(default_factory=dict)  # column -> (class, c)
    integer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass
class DecompositionBound:
    """The result. `bound` is in the model's own sense (an upper bound for `gpus`, a lower
    bound for `cost`); None when the decomposition did not apply or failed."""

    bound: float | None
    lp_bound: float | None = None
    iterations: int = 0
    blocks: int = 0
    distinct_blocks: int = 0
    block_solves: int = 0  # aggregate MIPs solved (cache misses)
    block_lookups: int = 0  # aggregate prices asked for
    history: list[tuple[float, float]] = field(default_factory=list)  # (seconds, bound)
    plan: SurrogateBound | None = None  # the integer master's plan per hall and power class
    skipped: str | None = None
    solve_s: float = 0.0


def _hash(*arrays: np.ndarray) -> bytes:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"|")
    return h.digest()


def _hall_site(site: Site, hall: str) -> Site:
    """The hall alone: its rows, every device on their paths, its cooling and pods, and every
    cluster with no minimum (minimums couple halls); grid and substations stay whole."""
    rows = tuple(r for r in site.rows if r.hall == hall)
    devices = {d for r in rows for feed in r.feeds for d in site.path(feed)}
    pods = {r.pod for r in rows if r.pod is not None}
    fields = {name: getattr(site, name) for name in type(site).model_fields}
    fields.update(
        rows=rows,
        devices=tuple(d for d in site.devices if d.device in devices),
        cooling=tuple(c for c in site.cooling if c.hall == hall),
        pods=tuple(p for p in site.pods if p.pod in pods),
        demand=tuple(c.model_copy(update={"min_racks": 0}) for c in site.demand),
        weather=(),  # the objective is replaced by reduced costs; the grid uses design_temp_c
    )
    # parts of a valid site, so no validation again (it would cost O(site) per hall)
    return type(site).model_construct(**fields)


def _blocks(
    built: BuiltModel,
    model: Compiled,
    site: Site,
    hall_of: np.ndarray,
    coupling: np.ndarray,
    supply_kw: float | None,
    deadline: float,
) -> list[_Block] | None:
    """One block per hall; None when building them all would not fit before `deadline`."""
    a = model.A.tocsc()
    local = ~coupling
    a_rows = model.A.tocsr()
    row_halls = np.full(model.shape[0], -1)
    for r in np.flatnonzero(local):
        cols = a_rows.indices[a_rows.indptr[r] : a_rows.indptr[r + 1]]
        if cols.size:
            row_halls[r] = hall_of[cols[0]]
    site_row = {row.id: i for i, row in enumerate(site.rows)}
    col_of_place = {
        p: col
        for p, col in zip(built.index.places, model.place_column.tolist(), strict=True)
        if col >= 0
    }
    col_of_choice = dict(zip(built.colocation, model.choice_column.tolist(), strict=True))
    blocks: list[_Block] = []
    began = time.perf_counter()
    for h, hall in enumerate(site.halls):
        now = time.perf_counter()
        if blocks and now + (now - began) / len(blocks) > deadline:
            return None
        sub = _hall_site(site, hall)
        agg = build_aggregate(Index(sub), power_limits(sub), built.objective_name, supply_kw)
        compiled = compile_model(agg.model)
        members: list[np.ndarray] = []
        covered: set[int] = set()
        member_of: dict[int, np.ndarray] = {}
        y_keys = {}
        for (k, c), j in zip(agg.keys, compiled.var_columns["y"].tolist(), strict=True):
            if j < 0:
                continue
            places = [(c, sub.rows[i].hall, sub.rows[i].row) for i in agg.classes[k]]
            cols = [col_of_place[p] for p in places if p in col_of_place]
            y_keys[j] = (k, c)
            member_of[j] = np.array(cols, dtype=int)
        z_columns = compiled.var_columns.get("z", np.zeros(0, dtype=np.int64)).tolist()
        for (c, g), j in zip(list(agg.model.z.keys()), z_columns, strict=True):
            col = col_of_choice.get((c, g), -1)
            if j >= 0 and col >= 0:
                member_of[j] = np.array([col], dtype=int)
        for j in range(compiled.shape[1]):
            cols = member_of.get(j, np.zeros(0, dtype=int))
            members.append(cols)
            covered.update(int(x) for x in cols)
        lp_cols = np.flatnonzero(hall_of == h)
        loose = np.array([j for j in lp_cols if int(j) not in covered], dtype=int)
        lp_rows = np.flatnonzero(row_halls == h)
        sub_a = sparse.csr_array(a[:, lp_cols].tocsr()[lp_rows])
        lp = replace(
            model,
            A=sub_a,
            row_lower=model.row_lower[lp_rows],
            row_upper=model.row_upper[lp_rows],
            col_lower=model.col_lower[lp_cols],
            col_upper=model.col_upper[lp_cols],
            integer=np.zeros(len(lp_cols), dtype=bool),
            cost=np.zeros(len(lp_cols)),
            cost_offset=0.0,
            maximize=True,
            row_family=[model.row_family[r] for r in lp_rows],
            row_key=[model.row_key[r] for r in lp_rows],
            var_columns={},
        )
        key = _hash(
            compiled.A.data, compiled.A.indices, compiled.A.indptr, compiled.row_lower,
            compiled.row_upper, compiled.col_upper, sub_a.data, sub_a.indices, sub_a.indptr,
            lp.row_lower, lp.row_upper, lp.col_upper,
        )  # fmt: skip
        row_ids = {k: [site_row[sub.rows[i].id] for i in rows] for k, rows in agg.classes.items()}
        blocks.append(
            _Block(
                hall,
                agg,
                compiled,
                members,
                loose,
                lp,
                lp_cols,
                key,
                row_ids,
                y_keys,
                model.integer[lp_cols],
            )  # fmt: skip
        )
    return blocks


class _Pricer:
    """Upper bounds on each hall's best reduced value, cached by (hall structure, costs)."""

    def __init__(self, blocks: list[_Block], options: SolveOptions, result: DecompositionBound):
        self.blocks = blocks
        self.options = options
        self.result = result
        self.cache: dict[bytes, tuple[float, np.ndarray | None]] = {}
        self.lp_cache: dict[bytes, float] = {}

    def _mip(
        self, block: _Block, rho: np.ndarray, seconds: float
    ) -> tuple[float, np.ndarray | None]:
        self.result.block_lookups += 1
        key = block.key + _hash(np.round(rho, 9))
        if key in self.cache:
            return self.cache[key]
        self.result.block_solves += 1
        agg = replace(block.compiled, cost=rho, cost_offset=0.0, maximize=True)
        options = replace(self.options, time_limit_s=max(seconds, 0.05), mip_gap=1e-6, threads=1)
        solution = Solver(agg, options).solve()
        upper = solution.bound if solution.status != Status.INFEASIBLE else -INF
        if upper is None:
            upper = INF
        out = (float(upper), None if solution.x is None else np.round(solution.x))
        self.cache[key] = out
        return out

    def _lp(self, block: _Block, rho: np.ndarray, seconds: float) -> float:
        """The hall's own rows at row level with HiGHS's cuts: its proven dual bound after
        `seconds` (at least as tight as the hall's LP), or its LP value without time."""
        key = block.key + _hash(np.round(rho, 9))
        if key not in self.lp_cache:
            hall = replace(block.lp, cost=rho, integer=block.integer)
            options = replace(
                self.options, time_limit_s=max(seconds, 0.05), mip_gap=1e-6, threads=1
            )
            solution = Solver(hall, options).solve()
            value = solution.bound if solution.status != Status.INFEASIBLE else -INF
            if value is None:  # no bound in time: the LP relaxation
                lp = Solver(replace(block.lp, cost=rho), replace(self.options, threads=1)).solve()
                value = lp.objective if lp.status == Status.OPTIMAL else None
            self.lp_cache[key] = INF if value is None else float(value)
        return self.lp_cache[key]

    def price(
        self, reduced: np.ndarray, seconds: float, with_lp: bool
    ) -> tuple[float, list[np.ndarray | None]]:
        """Σ_h U_h for the full model's reduced costs, and each hall's aggregate plan."""
        total = 0.0
        plans: list[np.ndarray | None] = []
        for block in self.blocks:
            rho = np.array(
                [reduced[cols].max() if cols.size else 0.0 for cols in block.members], dtype=float
            )
            upper, plan = self._mip(block, rho, seconds)
            if block.loose.size:  # columns the aggregate drops: each at its best bound
                at = np.isin(block.lp_cols, block.loose)
                upper += float(
                    (np.maximum(reduced[block.loose], 0.0) * block.lp.col_upper[at]).sum()
                )
            if with_lp:
                upper = min(upper, self._lp(block, reduced[block.lp_cols], seconds))
            total += upper
            plans.append(plan)
        return total, plans


def _lp_duals(
    model: Compiled, sign: float, options: SolveOptions
) -> tuple[float, np.ndarray] | None:
    """The LP relaxation in max sense: its value and row duals (d value / d row bound)."""
    h = _highs(options)
    h.setOptionValue("time_limit", float(options.time_limit_s))
    _pass(h, replace(model, cost=sign * model.cost, cost_offset=sign * model.cost_offset,
                     maximize=True), relax=True)  # fmt: skip
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value), np.asarray(h.getSolution().row_dual)


def _row_term(pi: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Σ_r max(π_r u_r, π_r l_r) (π already zero where its side is infinite)."""
    up = np.where(pi > 0, pi * np.where(np.isfinite(upper), upper, 0.0), 0.0)
    lo = np.where(pi < 0, pi * np.where(np.isfinite(lower), lower, 0.0), 0.0)
    return float(up.sum() + lo.sum())


def _valid(pi: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return np.where(
        (pi > 0) & ~np.isfinite(upper), 0.0, np.where((pi < 0) & ~np.isfinite(lower), 0.0, pi)
    )


def decomposition_bound(
    built: BuiltModel,
    model: Compiled,
    site: Site,
    options: SolveOptions,
    budget_s: float,
    with_plan: bool = True,
    supply_kw: float | None = None,
) -> DecompositionBound:
    """The bound of the module docstring within `budget_s` seconds (the first multipliers,
    the LP's, are always priced in full)."""
    began = time.perf_counter()
    why = unsupported(site)
    if why is not None:
        return DecompositionBound(bound=None, skipped=why)
    sign = 1.0 if model.maximize else -1.0
    if model.shape[1] == 0:  # nothing to decide: the objective is its constant
        return DecompositionBound(bound=model.cost_offset, lp_bound=model.cost_offset)
    hall_of = column_halls(built, model)
    a = model.A.tocsr()
    n_rows = a.shape[0]
    coupling = np.zeros(n_rows, dtype=bool)
    for r in range(n_rows):
        hs = hall_of[a.indices[a.indptr[r] : a.indptr[r + 1]]]
        coupling[r] = hs.size > 0 and (hs.min() < 0 or hs.min() != hs.max())
    if (hall_of < 0).any() or len(site.halls) < 1:
        return DecompositionBound(bound=None, skipped="columns outside every hall")
    result = DecompositionBound(bound=None, blocks=len(site.halls))
    blocks = _blocks(built, model, site, hall_of, coupling, supply_kw, began + budget_s)
    if blocks is None:
        return replace(result, skipped="no time to build every hall's aggregate")
    result.distinct_blocks = len({b.key for b in blocks})
    cost = sign * model.cost
    offset = sign * model.cost_offset
    rows = np.flatnonzero(coupling)
    a_c = sparse.csr_array(a[rows])
    lower, upper = model.row_lower[rows], model.row_upper[rows]
    pricer = _Pricer(blocks, options, result)

    def deadline_left() -> float:
        return budget_s - (time.perf_counter() - began)

    def lagrangian(pi: np.ndarray, with_lp: bool) -> tuple[float, list[np.ndarray | None]]:
        reduced = cost - a_c.T @ pi
        # two MIPs a hall (aggregate, row level) share what is left
        seconds = min(HALL_MIP_SECONDS, max(deadline_left(), 0.0) / max(2 * len(blocks), 1))
        total, plans = pricer.price(reduced, seconds, with_lp)
        return total + _row_term(pi, lower, upper) + offset, plans

    # 1. the LP's multipliers
    lp = _lp_duals(model, sign, replace(options, time_limit_s=max(budget_s, 1.0)))
    if lp is None:
        return replace(
            result, skipped="the LP relaxation did not solve", solve_s=time.perf_counter() - began
        )
    result.lp_bound = sign * lp[0]
    pi_best = _valid(lp[1][rows], lower, upper)
    best, plans = lagrangian(pi_best, with_lp=True)
    result.history.append((time.perf_counter() - began, sign * best))
    columns: list[list[np.ndarray]] = [[] for _ in blocks]
    seen: list[set[bytes]] = [set() for _ in blocks]

    def add(plans: list[np.ndarray | None]) -> int:
        added = 0
        for b, plan in enumerate(plans):
            if plan is None:
                continue
            k = _hash(plan)
            if k not in seen[b]:
                seen[b].add(k)
                columns[b].append(plan)
                added += 1
        return added

    for b, block in enumerate(blocks):  # the empty plan keeps every master feasible-ish
        add([np.zeros(block.compiled.shape[1]) if i == b else None for i in range(len(blocks))])
    add(plans)
    rep = _representatives(blocks, cost, a_c)

    # 2. Dantzig–Wolfe: master duals, smoothed, priced; stop when closed, stalled or late
    stall = 0
    while deadline_left() > 0 and stall < STALL_ITERATIONS:
        master = _master_lp(blocks, columns, rep, lower, upper, options)
        if master is None:
            break
        value, pi_master = master
        if best - value <= 1e-7 * max(1.0, abs(best)):
            break  # the master reached the bound: Lagrangian dual solved
        pi = _valid(SMOOTHING * pi_best + (1 - SMOOTHING) * pi_master, lower, upper)
        bound, plans = lagrangian(pi, with_lp=False)
        result.iterations += 1
        added = add(plans)
        if bound < best - 1e-9 * max(1.0, abs(best)):
            best, pi_best, stall = bound, pi, 0
        else:
            stall += 1
            if not added:
                bound, plans = lagrangian(_valid(pi_master, lower, upper), with_lp=False)
                if bound < best:
                    best, pi_best = bound, _valid(pi_master, lower, upper)
                if not add(plans):
                    break
        result.history.append((time.perf_counter() - began, sign * best))
    result.bound = sign * best
    if with_plan:
        result.plan = _integer_master(
            blocks, columns, rep, lower, upper, options, max(deadline_left(), 2.0)
        )
    result.solve_s = time.perf_counter() - began
    return result


@dataclass
class _Rep:
    value: np.ndarray  # per aggregate column: objective (max sense) of a representative place
    rows: sparse.csr_array  # coupling rows x aggregate columns


def _representatives(blocks: list[_Block], cost: np.ndarray, a_c: sparse.csr_array) -> list[_Rep]:
    """Each aggregate column's objective and coupling coefficients, read off its first
    member (exact when members agree, as they do on power classes; only the master's
    guidance uses these, never the bound)."""
    out = []
    a_csc = a_c.tocsc()
    for block in blocks:
        first = np.array([cols[0] if cols.size else -1 for cols in block.members], dtype=int)
        ok = first >= 0
        value = np.where(ok, cost[np.maximum(first, 0)], 0.0)
        cols = a_csc[:, np.maximum(first, 0)].tocsc()
        cols = cols @ sparse.diags(ok.astype(float))
        out.append(_Rep(value, sparse.csr_array(cols)))
    return out


def _master_matrix(
    blocks: list[_Block], columns: list[list[np.ndarray]], rep: list[_Rep]
) -> tuple[np.ndarray, sparse.csc_array, list[tuple[int, int]]]:
    values, mats, owner = [], [], []
    for b, plans in enumerate(columns):
        if not plans:
            continue
        y = np.vstack(plans).T  # aggregate columns x plans
        values.append(rep[b].value @ y)
        mats.append(sparse.csc_array(rep[b].rows @ y))
        owner += [(b, j) for j in range(len(plans))]
    return np.concatenate(values), sparse.hstack(mats, format="csc"), owner


def _master_lp(
    blocks: list[_Block],
    columns: list[list[np.ndarray]],
    rep: list[_Rep],
    lower: np.ndarray,
    upper: np.ndarray,
    options: SolveOptions,
) -> tuple[float, np.ndarray] | None:
    """The restricted master LP with penalised slacks: its value and coupling-row duals."""
    value, mat, owner = _master_matrix(blocks, columns, rep)
    n_c = mat.shape[0]
    n = len(owner)
    penalty = 1e3 * max(1.0, float(np.abs(value).max()) if n else 1.0)
    conv = sparse.csc_array(
        (np.ones(n), ([b for b, _ in owner], np.arange(n))), shape=(len(blocks), n)
    )
    slack = sparse.hstack([sparse.identity(n_c, format="csc"), -sparse.identity(n_c, format="csc")])
    a = sparse.vstack(
        [
            sparse.hstack([mat, slack]),
            sparse.hstack([conv, sparse.csc_array((len(blocks), 2 * n_c))]),
        ],
        format="csr",
    )
    lp = Compiled(
        A=sparse.csr_array(a),
        row_lower=np.concatenate([lower, np.ones(len(blocks))]),
        row_upper=np.concatenate([upper, np.ones(len(blocks))]),
        col_lower=np.zeros(n + 2 * n_c),
        col_upper=np.full(n + 2 * n_c, INF),
        integer=np.zeros(n + 2 * n_c, dtype=bool),
        cost=np.concatenate([value, np.full(2 * n_c, -penalty)]),
        cost_offset=0.0,
        maximize=True,
    )
    h = _highs(replace(options, threads=1))
    _pass(h, lp, relax=True)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value), np.asarray(h.getSolution().row_dual)[:n_c]


def _integer_master(
    blocks: list[_Block],
    columns: list[list[np.ndarray]],
    rep: list[_Rep],
    lower: np.ndarray,
    upper: np.ndarray,
    options: SolveOptions,
    seconds: float,
) -> SurrogateBound | None:
    """Each hall picks one of its generated plans; coupling rows exact. Returns the choice
    as racks per (hall, power class, cluster), the form strategy/heuristic.py lays out."""
    value, mat, owner = _master_matrix(blocks, columns, rep)
    n = len(owner)
    conv = sparse.csr_array(
        (np.ones(n), ([b for b, _ in owner], np.arange(n))), shape=(len(blocks), n)
    )
    mip = Compiled(
        A=sparse.vstack([sparse.csr_array(mat), conv], format="csr"),
        row_lower=np.concatenate([lower, np.ones(len(blocks))]),
        row_upper=np.concatenate([upper, np.ones(len(blocks))]),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
        cost=value,
        cost_offset=0.0,
        maximize=True,
    )
    solution = Solver(mip, replace(options, time_limit_s=seconds, threads=1)).solve()
    if solution.x is None:
        return None
    counts: dict[tuple[str, str, str], int] = {}
    members: dict[str, list[int]] = {}
    for j in np.flatnonzero(np.round(solution.x) > 0):
        b, p = owner[j]
        block = blocks[b]
        plan = columns[b][p]
        members.update(block.row_ids)
        for col, (k, c) in block.y_keys.items():
            n_racks = int(round(plan[col]))
            if n_racks:
                counts[block.hall, k, c] = n_racks
    return SurrogateBound(bound=None, exact=False, classes=counts, members=members)
