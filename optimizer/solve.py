"""The only module that talks to HiGHS.

A Pyomo model is compiled once to matrices with Pyomo's own standard-form compiler
(`compile_model`), then handed to highspy in one `passModel` call. Working on highspy
directly (instead of through a Pyomo solver plugin) gives what planning needs and the plugins
do not all offer: a feasible start (`setSolution`), live progress from HiGHS callbacks,
re-solves after changing one row bound (sweeps), and LP-relaxation duals from the same
matrices. The hand-off was measured against Pyomo's `highs` plugin: see docs/performance.md.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
from scipy import sparse

from optimizer.formulation import BuiltModel, Family
from optimizer.status import Status

INF = highspy.kHighsInf
SEED = 20241120  # a fixed random seed: the same input gives the same plan


_S = highspy.HighsModelStatus
# HiGHS's model status -> ours. Anything not listed is an error.
HIGHS_STATUS: dict[Any, Status] = {
    _S.kOptimal: Status.OPTIMAL,
    _S.kInfeasible: Status.INFEASIBLE,
    _S.kUnboundedOrInfeasible: Status.INFEASIBLE,
    _S.kTimeLimit: Status.TIME_LIMIT,
    _S.kIterationLimit: Status.TIME_LIMIT,
    _S.kSolutionLimit: Status.TIME_LIMIT,
    _S.kInterrupt: Status.INTERRUPTED,
    getattr(_S, "kHighsInterrupt", _S.kInterrupt): Status.INTERRUPTED,
    _S.kMemoryLimit: Status.MEMORY_LIMIT,
}


@dataclass
class Compiled:
    """A linear model as labelled matrices. Row k is `row_lower[k] ≤ A[k] @ x ≤ row_upper[k]`.

    Labels (in the manner of linopy): `row_family[k]` names the constraint family row k came
    from (a `formulation.Family` for a built model; a ranged constraint gives two rows) and
    `row_key[k]` its index within the family; `var_columns[name]` gives, for each index of the
    variable `name` in the variable's own order, its column (-1 where the variable is in no
    row and not in the objective). Nothing outside this module and the formulation needs to
    know that the model was written in Pyomo."""

    A: sparse.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    cost: np.ndarray
    cost_offset: float
    maximize: bool
    row_family: list[str] = field(default_factory=list)
    row_key: list[Any] = field(default_factory=list)
    var_columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, columns, nonzeros)."""
        return (self.A.shape[0], self.A.shape[1], int(self.A.nnz))

    def objective_of(self, x: np.ndarray) -> float:
        """The objective of the plan `x` (constant included)."""
        return float(self.cost @ x + self.cost_offset)

    def violation(self, x: np.ndarray) -> float:
        """The largest amount by which the plan `x` breaks a row or column bound (0: none)."""
        act = self.A @ x
        return max(
            float(np.max(act - self.row_upper, initial=0.0)),
            float(np.max(self.row_lower - act, initial=0.0)),
            float(np.max(x - self.col_upper, initial=0.0)),
            float(np.max(self.col_lower - x, initial=0.0)),
        )

    def keeps(self, x: np.ndarray, tolerance: float = 1e-6) -> bool:
        """Does the plan `x` keep every row and column bound (within `tolerance`)?"""
        return self.violation(x) <= tolerance

    @property
    def place_column(self) -> np.ndarray:
        """A built model's column of each place, in `Index.places` order (-1: no column)."""
        return self.var_columns.get("racks", np.zeros(0, dtype=np.int64))

    @property
    def choice_column(self) -> np.ndarray:
        """A built model's column of each colocation choice, in `BuiltModel.colocation`
        order (-1: no column)."""
        return self.var_columns.get("choice", np.zeros(0, dtype=np.int64))

    @property
    def row_names(self) -> list[str]:
        """Each row as `family[key]`, e.g. `space[H1,R3]`, `power[12]`, `grid`."""

        def name(family: str, key: Any) -> str:
            if key is None:
                return str(family)
            shown = ",".join(map(str, key)) if isinstance(key, tuple) else str(key)
            return f"{family}[{shown}]"

        return [name(f, k) for f, k in zip(self.row_family, self.row_key, strict=True)]

    @property
    def stand_column(self) -> np.ndarray:
        """A phased built model's column of each earlier-phase count, in
        `BuiltModel.place_phases` order (-1: no column)."""
        return self.var_columns.get("stand", np.zeros(0, dtype=np.int64))

    def rows_of(self, family: str) -> np.ndarray:
        """Indices of the rows of one family."""
        return np.array([k for k, f in enumerate(self.row_family) if f == family], dtype=int)

    def with_rows(
        self, a: sparse.csr_array, lower: np.ndarray, upper: np.ndarray, family: str
    ) -> Compiled:
        """A copy with the rows of `a` appended (one family for all of them)."""
        n = a.shape[0]
        return replace(
            self,
            A=sparse.vstack([self.A, a], format="csr"),
            row_lower=np.concatenate([self.row_lower, lower]),
            row_upper=np.concatenate([self.row_upper, upper]),
            row_family=[*self.row_family, *([family] * n)],
            row_key=[*self.row_key, *range(n)],
        )


def compile_model(built: BuiltModel | pyo.ConcreteModel) -> Compiled:
    """A built model (or any Pyomo model, e.g. a strategy's aggregate) -> labelled matrices,
    in the model's declaration order (deterministic). For a built model every row's family is
    a `Family`; a constraint of another name is a bug (ValueError)."""
    m = built.model if isinstance(built, BuiltModel) else built
    objective = next(m.component_data_objects(pyo.Objective, active=True))
    maximize = objective.sense == pyo.maximize
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    columns = list(info.columns)
    n_rows = len(info.rows)
    A = sparse.csr_array(info.A) if n_rows else sparse.csr_array((0, len(columns)))
    rhs = np.asarray(info.rhs, dtype=float)
    mult = np.array([r.bound_type for r in info.rows], dtype=int).reshape(-1)
    lower = np.where(mult <= 0, rhs, -INF)
    upper = np.where(mult >= 0, rhs, INF)
    c = np.asarray(info.c.toarray()[0], dtype=float) if info.c.shape[0] else np.zeros(len(columns))
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    col_lower = np.array([-INF if v.lb is None else v.lb for v in columns], dtype=float)
    col_upper = np.array([INF if v.ub is None else v.ub for v in columns], dtype=float)
    column_of = {id(v): k for k, v in enumerate(columns)}
    var_columns = {
        var.name: np.array([column_of.get(id(v), -1) for v in var.values()], dtype=np.int64)
        for var in m.component_objects(pyo.Var, active=True, descend_into=False)
    }
    names = [r.constraint.parent_component().name for r in info.rows]
    families: list[str] = [Family(n) for n in names] if isinstance(built, BuiltModel) else names
    return Compiled(
        A=A,
        row_lower=lower,
        row_upper=upper,
        col_lower=col_lower,
        col_upper=col_upper,
        integer=np.array([v.is_integer() or v.is_binary() for v in columns], dtype=bool),
        cost=c,
        cost_offset=offset,
        maximize=maximize,
        row_family=families,
        row_key=[r.constraint.index() for r in info.rows],
        var_columns=var_columns,
    )


@dataclass(frozen=True)
class SolveOptions:
    time_limit_s: float = 300.0
    mip_gap: float = 1e-4
    threads: int | None = None  # None: HiGHS decides
    seed: int = SEED
    verbose: bool = False
    lp_solver: str | None = None  # e.g. "ipm" for the root LP of very large models


@dataclass
class Progress:
    """A snapshot HiGHS reports while it runs."""

    time_s: float
    incumbent: float | None
    bound: float | None
    gap: float | None


@dataclass
class Solution:
    status: Status
    x: np.ndarray | None  # column values (None: no feasible point)
    objective: float | None
    bound: float | None
    mip_gap: float | None
    solve_s: float
    nodes: int = 0
    log: list[str] = field(default_factory=list)


def _new_highs(verbose: bool) -> highspy.Highs:
    """A Highs object; the banner HiGHS prints on stdout at the first one is silenced unless
    verbose, so that machine-readable output (JSON on stdout) stays clean."""
    if verbose:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_THREADS = threading.local()  # per thread: the count its HiGHS scheduler was made with


def _highs(options: SolveOptions) -> highspy.Highs:
    wanted = int(options.threads or 0)
    made = getattr(_THREADS, "count", None)
    if made is not None and made != wanted:
        # HiGHS keeps a thread pool per calling thread; a different count needs a new one
        # (otherwise run() fails with an error status).
        highspy.Highs.resetThreadScheduler(True)
    _THREADS.count = wanted
    h = _new_highs(options.verbose)
    h.setOptionValue("output_flag", bool(options.verbose))
    h.setOptionValue("log_to_console", bool(options.verbose))
    h.setOptionValue("random_seed", int(options.seed))
    if options.threads:
        h.setOptionValue("threads", int(options.threads))
    return h


def _pass(h: highspy.Highs, model: Compiled, relax: bool = False) -> None:
    lp = highspy.HighsLp()
    n_rows, n_cols, _ = model.shape
    csc = model.A.tocsc()
    csc.sort_indices()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.offset_ = model.cost_offset
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    if not relax and model.integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in model.integer
        ]
    h.passModel(lp)


class Cancelled(Exception):
    """A solve stopped because its thread's cancel event (`cancel_on`) was set."""


_SCOPE = threading.local()  # per thread: the event that cancels its solves (cancel_on)


def cancel_requested() -> bool:
    """Has this thread's cancel event (`cancel_on`) been set? For work between solves."""
    event: threading.Event | None = getattr(_SCOPE, "event", None)
    return event is not None and event.is_set()


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Every solve this thread runs inside the block stops (raising `Cancelled`) once
    `event` is set. The strategy's stages beside the full solve run so: when the full solve
    ends, whatever they are solving stops within a tenth of a second."""
    _SCOPE.event = event
    try:
        yield
    finally:
        _SCOPE.event = None


def _run_interruptibly(h: highspy.Highs, stop: Callable[[], bool] | None = None) -> bool:
    """Run HiGHS in its own thread; Ctrl-C cancels the solve cleanly (HiGHS stops at its next
    check) instead of killing the process. Returns whether Ctrl-C was pressed. `stop` is
    asked every tenth of a second; when it says so the solve is cancelled the same way.

    While HiGHS runs, Ctrl-C only sets a flag and cancels (a handler of our own): a
    KeyboardInterrupt raised between two lines of the waiting loop would leave the HiGHS
    thread running while the interpreter exits, and its C++ threads then abort the process
    (SIGABRT). The thread is always waited for."""
    pressed: list[int] = []
    h.HandleUserInterrupt = True  # HiGHS's interrupt callbacks then honour cancelSolve()

    def on_interrupt(signum: int, frame: object) -> None:
        pressed.append(signum)
        h.cancelSolve()

    def run() -> None:
        try:
            h.run()
        finally:
            # HiGHS keeps a task scheduler per thread: let it go with the thread, as
            # highspy's own solve thread does.
            highspy.Highs.resetThreadScheduler(False)

    in_main = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if in_main else ()
    previous = {s: signal.signal(s, on_interrupt) for s in signals}
    try:
        worker = threading.Thread(target=run, name="highs", daemon=True)
        worker.start()
        stopped = False
        while worker.is_alive():
            try:
                worker.join(0.1)
            except KeyboardInterrupt:  # outside the main thread's handler (not in main)
                pressed.append(signal.SIGINT)
                h.cancelSolve()
            if not stopped and stop is not None and worker.is_alive() and stop():
                stopped = True
                h.cancelSolve()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if signal.SIGTERM in pressed:  # now that HiGHS has stopped: terminate as asked
        signal.raise_signal(signal.SIGTERM)
    return bool(pressed)


class Solver:
    """A compiled model loaded into HiGHS, ready to solve and re-solve.

    Re-solving after `set_row_upper` keeps the model in HiGHS (sweeps change one bound)."""

    def __init__(self, model: Compiled, options: SolveOptions):
        self.model = model
        self.options = options
        self.h = _highs(options)
        _pass(self.h, model)

    def set_row_upper(self, row: int, upper: float) -> None:
        self.h.changeRowBounds(row, float(self.model.row_lower[row]), float(upper))
        self.model.row_upper[row] = upper

    def add_row(self, coefficients: np.ndarray, lower: float, upper: float) -> None:
        """Append a row (e.g. a cut `objective ≤ bound`) over all columns."""
        idx = np.flatnonzero(coefficients).astype(np.int32)
        self.h.addRow(float(lower), float(upper), len(idx), idx, coefficients[idx].astype(float))

    def solve(
        self,
        start: np.ndarray | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        time_limit_s: float | None = None,
        stop_at: float | None = None,
        stop_when: Callable[[float | None, float | None], bool] | None = None,
        on_plan: Callable[[np.ndarray], None] | None = None,
    ) -> Solution:
        """Solve to the gap or the time limit. `start`: a feasible point to begin from.
        `stop_at`: stop as soon as a plan reaches this objective (a bound known from outside
        HiGHS, less the allowed gap); the result then has status "time_limit" and the plan.
        `stop_when`: the same decision made outside, asked with HiGHS's best objective and
        its proven bound so far (None before it has them) at every new plan and about every
        tenth of a second while it searches. `on_plan`: told each better plan HiGHS finds
        (reading it does not change HiGHS's search). Inside `cancel_on(event)`, setting the
        event raises `Cancelled`."""
        h, opts = self.h, self.options
        h.setOptionValue("time_limit", float(time_limit_s or opts.time_limit_s))
        h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
        if opts.lp_solver:
            h.setOptionValue("mip_lp_solver", opts.lp_solver)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)
        log: list[str] = []
        began = time.perf_counter()
        reached = [False]

        best: list[float | None] = [None, None]  # HiGHS's best plan and bound so far

        def good_enough(value: float | None) -> bool:
            if stop_when is not None and stop_when(value, best[1]):
                return True
            if stop_at is None or value is None:
                return False
            return value >= stop_at if self.model.maximize else value <= stop_at

        def improving(event: highspy.HighsCallbackEvent) -> None:
            out = event.data_out
            bound = out.mip_dual_bound
            snapshot = Progress(
                time_s=time.perf_counter() - began,
                incumbent=float(out.objective_function_value),
                bound=None if not np.isfinite(bound) else float(bound),
                gap=float(out.mip_gap) if np.isfinite(out.mip_gap) else None,
            )
            log.append(
                f"{snapshot.time_s:7.2f}s  plan {snapshot.incumbent:,.2f}  bound "
                f"{snapshot.bound if snapshot.bound is not None else float('nan'):,.2f}"
            )
            if on_progress is not None:
                on_progress(snapshot)
            best[0], best[1] = snapshot.incumbent, snapshot.bound
            if on_plan is not None:
                on_plan(np.asarray(out.mip_solution, dtype=float))
            if good_enough(snapshot.incumbent):
                reached[0] = True
                h.cancelSolve()  # HiGHS stops at its next check (HandleUserInterrupt is on)

        def reading_bound(event: highspy.HighsCallbackEvent) -> None:
            """HiGHS's own interrupt check: note its proven bound for stop_when, which `stop`
            asks every tenth of a second."""
            bound = event.data_out.mip_dual_bound
            if np.isfinite(bound):
                best[1] = float(bound)

        cancel: threading.Event | None = getattr(_SCOPE, "event", None)

        def stop() -> bool:
            if cancel is not None and cancel.is_set():
                return True
            if stop_when is not None and good_enough(best[0]):
                reached[0] = True
                return True
            return False

        h.cbMipImprovingSolution.subscribe(improving)
        if stop_when is not None:
            h.cbMipInterrupt.subscribe(reading_bound)
        interrupted = False
        try:
            interrupted = _run_interruptibly(h, stop)
        finally:
            h.cbMipImprovingSolution.unsubscribe(improving)
            if stop_when is not None:
                h.cbMipInterrupt.unsubscribe(reading_bound)
        solution = self._solution(time.perf_counter() - began, log)
        if interrupted:
            raise KeyboardInterrupt
        if solution.status == Status.INTERRUPTED:
            if cancel is not None and cancel.is_set() and not reached[0]:
                raise Cancelled
            if not reached[0]:
                raise KeyboardInterrupt
            solution = replace(solution, status=Status.TIME_LIMIT)
        if _objective_of_its_plan(self.model, solution):
            return solution
        if start is not None:
            # HiGHS 1.16.0, with a start and presolve, may value the start wrongly in the
            # presolved space and call it optimal (docs/performance.md): solve again without
            h.clearSolver()
            limit = float(time_limit_s or opts.time_limit_s)
            return self.solve(None, on_progress, max(limit - solution.solve_s, 1.0), stop_at,
                              stop_when, on_plan)  # fmt: skip
        return _distrusted(self.model, solution)

    def _solution(self, solve_s: float, log: list[str]) -> Solution:
        h = self.h
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kModelEmpty or self.model.shape[1] == 0:
            # Nothing to decide (e.g. no cluster fits any row): the empty plan is optimal.
            return Solution(
                Status.OPTIMAL,
                np.zeros(self.model.shape[1]),
                self.model.cost_offset,
                self.model.cost_offset,
                0.0,
                solve_s,
                log=log,
            )
        info = h.getInfo()
        has_point = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x: np.ndarray | None = (
            np.asarray(h.getSolution().col_value, dtype=float) if has_point else None
        )
        is_mip = bool(self.model.integer.any())
        objective = float(info.objective_function_value) if has_point else None
        bound = float(info.mip_dual_bound) if is_mip else objective
        if bound is not None and not np.isfinite(bound):
            bound = None
        gap = float(info.mip_gap) if is_mip and has_point else (0.0 if has_point else None)
        if gap is not None and not np.isfinite(gap):
            gap = None
        name = HIGHS_STATUS.get(status, Status.ERROR)
        return Solution(
            status=name,
            x=x,
            objective=objective,
            bound=bound,
            mip_gap=gap,
            solve_s=solve_s,
            nodes=int(info.mip_node_count) if is_mip else 0,
            log=log,
        )


def _objective_of_its_plan(model: Compiled, solution: Solution) -> bool:
    """Is HiGHS's objective the objective of the plan it returned (to 1e-6)?"""
    if solution.x is None or solution.objective is None or model.shape[1] == 0:
        return True
    value = model.objective_of(solution.x)
    return abs(value - solution.objective) <= 1e-6 * max(1.0, abs(value))


def _distrusted(model: Compiled, solution: Solution) -> Solution:
    """A plan whose objective HiGHS got wrong: the plan keeps its true objective, and
    nothing HiGHS proved about it is kept (no bound, no gap, not optimal)."""
    assert solution.x is not None
    status = Status.TIME_LIMIT if solution.status == Status.OPTIMAL else solution.status
    return replace(
        solution, objective=model.objective_of(solution.x), bound=None, mip_gap=None,
        status=status,
    )  # fmt: skip


def solve(
    model: Compiled,
    options: SolveOptions | None = None,
    start: np.ndarray | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Solution:
    """One solve of a compiled model."""
    return Solver(model, options or SolveOptions()).solve(start, on_progress)


def relaxation_duals(model: Compiled, options: SolveOptions | None = None) -> np.ndarray | None:
    """Row duals of the LP relaxation (integers relaxed): d(objective)/d(row bound), signed
    so that a positive value means the objective improves when the limit is raised. None when
    the relaxation does not solve to optimality."""
    opts = options or SolveOptions()
    h = _highs(opts)
    h.setOptionValue("time_limit", float(opts.time_limit_s))
    _pass(h, model, relax=True)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kModelEmpty:
        return np.zeros(model.shape[0])
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    duals = np.asarray(h.getSolution().row_dual, dtype=float)
    # HiGHS: dual = d(obj)/d(rhs) in the problem's own sense. For a maximization, raising a
    # binding upper bound raises the objective; for a minimization it lowers the cost, which
    # HiGHS reports as a negative number: flip so that "better" is positive.
    return duals if model.maximize else -duals


def start_vector(model: Compiled, values: dict[int, float]) -> np.ndarray:
    """A full start point from {column: value}; other columns at their lower bound."""
    x = np.where(np.isfinite(model.col_lower), model.col_lower, 0.0).astype(float)
    for k, value in values.items():
        if k >= 0:
            x[k] = value
    return x
