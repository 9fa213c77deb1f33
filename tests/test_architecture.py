"""The boundaries docs/architecture.md promises: every module imports on its own, the compiled
model is labelled (every row has a family, every place its column), Pyomo stays inside the
formulation and solve.py, and one status vocabulary covers HiGHS's answers."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import highspy
import numpy as np
import pytest

from optimizer.formulation import Family, build_model
from optimizer.loaders import load_site
from optimizer.solve import HIGHS_STATUS, compile_model
from optimizer.status import Status

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "optimizer"
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
)
PYOMO_ALLOWED = ("optimizer/formulation/", "optimizer/solve.py", "optimizer/strategy/bound.py")


def _sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}


def test_every_module_imports_first_in_a_fresh_interpreter():
    """An import cycle shows only when a module of the cycle is imported first: each module is
    imported with no rackfit module loaded before it (the third-party libraries stay cached,
    which does not change what rackfit's own modules do)."""
    script = f"""
import importlib, sys
failed = []
for name in {MODULES!r}:
    for loaded in [m for m in sys.modules if m == "optimizer" or m.startswith("optimizer.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
print("\\n".join(failed))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == ""
    assert len(MODULES) > 40  # the walk found the package


def _runtime_imports(source: str) -> set[str]:
    """rackfit modules a file imports when it runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(source)
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("optimizer"):
            submodules = {f"{node.module}.{a.name}" for a in node.names} & set(MODULES)
            found.update(submodules or {node.module})  # `from optimizer import library`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("optimizer"))
    return found & set(MODULES)


def test_no_module_imports_itself_through_others():
    """No import cycle among rackfit's modules, counting imports inside functions too (a
    function-level import only hides a cycle). A package imports its own modules."""
    graph = {
        ".".join(Path(path).with_suffix("").parts).removesuffix(".__init__"): _runtime_imports(src)
        for path, src in _sources().items()
    }

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [m for m in graph[start] if not m.startswith(start + ".")]
        while todo:
            m = todo.pop()
            if m in seen:
                continue
            seen.add(m)
            todo += graph.get(m, set())
        return seen

    cycles = [m for m in graph if m in reach(m) and not m.endswith(("optimizer", "export"))]
    assert cycles == []


@pytest.mark.parametrize("site", ["data/small", "data/block-redundant", "data/colossus"])
def test_every_row_of_a_built_model_belongs_to_a_family_and_every_place_has_its_column(site):
    built = build_model(load_site(ROOT / site))
    compiled = compile_model(built)  # raises for a row whose constraint is no Family
    assert all(isinstance(f, Family) for f in compiled.row_family)
    assert len(compiled.row_key) == compiled.shape[0]
    # every column is a place or a colocation choice, each exactly once
    columns = np.concatenate([compiled.place_column, compiled.choice_column])
    assert sorted(columns.tolist()) == list(range(compiled.shape[1]))
    assert len(compiled.place_column) == len(built.index.places)
    assert len(compiled.choice_column) == len(built.colocation)
    # a power row's key is its PowerLimit
    for k in compiled.rows_of(Family.POWER):
        limit = built.power_limits[compiled.row_key[k]]
        assert compiled.row_upper[k] == pytest.approx(limit.limit_kw)
    # the grid row is the one row of its family, keyed None
    (grid,) = compiled.rows_of(Family.GRID)
    assert compiled.row_key[grid] is None and compiled.row_names[grid] == "grid"


def test_a_model_that_is_not_built_keeps_its_own_row_names():
    import pyomo.environ as pyo

    m = pyo.ConcreteModel()
    m.y = pyo.Var([1, 2], domain=pyo.NonNegativeIntegers, bounds=(0, 3))
    m.cap = pyo.Constraint(expr=m.y[1] + 2 * m.y[2] <= 4)
    m.objective = pyo.Objective(expr=m.y[1] + m.y[2], sense=pyo.maximize)
    compiled = compile_model(m)
    assert compiled.row_family == ["cap"] and compiled.row_names == ["cap"]
    assert compiled.var_columns["y"].tolist() == [0, 1]


def test_pyomo_stays_inside_the_formulation_and_solve():
    """Outside formulation/ and solve.py no code reaches into Pyomo's objects: no column
    lookup by id(VarData), no parent_component(), no model typed Any. (strategy/bound.py
    builds its own small aggregated model in Pyomo and compiles it through solve.py.)"""
    offenders = []
    for path, src in _sources().items():
        if "column_of[id(" in src:
            offenders.append(f"{path}: column_of[id(")
        if "parent_component()" in src and not path.startswith(PYOMO_ALLOWED[:2]):
            offenders.append(f"{path}: parent_component()")
        if re.search(r"\bm: Any\b", src):
            offenders.append(f"{path}: m: Any")
        if re.search(r"^\s*(import|from) pyomo", src, re.M) and not path.startswith(PYOMO_ALLOWED):
            offenders.append(f"{path}: imports pyomo")
    assert offenders == []


def test_every_highs_status_maps_to_one_of_ours():
    everything = [
        getattr(highspy.HighsModelStatus, name)
        for name in dir(highspy.HighsModelStatus)
        if name.startswith("k")
    ]
    mapped = {HIGHS_STATUS.get(s, Status.ERROR) for s in everything}
    assert mapped <= set(Status)
    assert HIGHS_STATUS[highspy.HighsModelStatus.kMemoryLimit] == Status.MEMORY_LIMIT
    assert HIGHS_STATUS[highspy.HighsModelStatus.kOptimal] == "optimal"  # summary.json's word
    assert [s.value for s in (Status.OPTIMAL, Status.TIME_LIMIT, Status.INFEASIBLE)] == [
        "optimal",
        "time_limit",
        "infeasible",
    ]
