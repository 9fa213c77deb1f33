"""The hardware library: `models/<model>.yaml`, one rack model per file, every number with
its source beside it (`{value: 72, source: "NVIDIA DGX GB200 user guide"}`)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from optimizer.errors import Issue, SiteError
from optimizer.schema import RackModel
from optimizer.text import describe_error, load_yaml, yaml_issue

if TYPE_CHECKING:
    import pandas as pd

NUMBER_FIELDS = (
    "gpus", "design_kw", "typical_kw", "liquid_fraction", "weight_kg", "ports", "capex_usd",
)  # fmt: skip
TEXT_FIELDS = ("model", "name", "description")


LIBRARY_PACKAGE = "optimizer.hardware"  # models/ as a wheel carries it (pyproject.toml)


def library_dir() -> Path:
    """`$RACKFIT_MODELS` if set; else the library the installed package carries (the data
    package `optimizer.hardware`, read with importlib.resources); else, in a checkout or an
    editable install, the `models/` folder at the top of the repository."""
    env = os.environ.get("RACKFIT_MODELS")
    if env:
        return Path(env)
    from importlib import resources

    try:
        readme = resources.files(LIBRARY_PACKAGE).joinpath("README.md")
    except ModuleNotFoundError:  # not installed from a wheel
        return Path(__file__).resolve().parent.parent / "models"
    # A package installed from a wheel lies in a folder: its files are ordinary files.
    return Path(str(readme)).parent


def _entry(path: Path, issues: list[Issue]) -> tuple[RackModel, dict[str, str], str] | None:
    where = str(path)
    before = len(issues)  # `issues` holds the other files' problems too
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(Issue(where, f"cannot read rack model: {str(exc).splitlines()[0]}"))
        return None
    try:
        data, repeated = load_yaml(text)
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        issues.append(yaml_issue(where, exc))
        return None
    if not isinstance(data, dict):
        issues.append(Issue(where, "expected a mapping of fields"))
        return None
    for key, line, first in repeated:
        issues.append(
            Issue(where, f"field repeats on line {line} (first on line {first})", column=str(key))
        )
    unknown = {str(k) for k in data} - set(NUMBER_FIELDS) - set(TEXT_FIELDS)
    for key in sorted(unknown):
        issues.append(Issue(where, "unknown field", column=key))
    values: dict[str, object] = {"model": data.get("model", path.stem)}
    sources: dict[str, str] = {}
    for key in NUMBER_FIELDS:
        item = data.get(key)
        if not isinstance(item, dict) or "value" not in item:
            issues.append(Issue(where, "expected {value: ..., source: ...}", column=key))
            continue
        source = str(item.get("source") or "").strip()
        if not source:
            issues.append(
                Issue(where, "every number needs a source (or 'estimate: ...')", column=key)
            )
        values[key] = item["value"]
        sources[key] = source
    if values["model"] != path.stem:
        issues.append(
            Issue(where, f"model id '{values['model']}' differs from the file name", column="model")
        )
    if len(issues) > before:
        return None
    try:
        model = RackModel.model_validate(values)
    except Exception as exc:  # pydantic ValidationError
        for err in getattr(exc, "errors", list)():
            issues.append(Issue(where, describe_error(err), column=str(err["loc"][0])))
        return None
    return model, sources, str(data.get("name", model.model))


@lru_cache(maxsize=8)
def _load(folder: str) -> tuple[tuple[RackModel, ...], tuple[dict[str, str], ...], tuple[str, ...]]:
    issues: list[Issue] = []
    models, sources, names = [], [], []
    if not Path(folder).is_dir():
        problem = "no hardware library here: not a folder (RACKFIT_MODELS names the library)"
        raise SiteError(Issue(folder, problem))
    for path in sorted(Path(folder).glob("*.yaml")):
        entry = _entry(path, issues)
        if entry is not None:
            models.append(entry[0])
            sources.append(entry[1])
            names.append(entry[2])
    if issues:
        raise SiteError(issues)
    return tuple(models), tuple(sources), tuple(names)


def load_library(folder: Path | None = None) -> tuple[RackModel, ...]:
    """Every rack model of the library, sorted by id."""
    return _load(str(folder or library_dir()))[0]


def library_table(folder: Path | None = None) -> pd.DataFrame:
    """The library as a table: one line per model, its numbers, and a `sources` column."""
    import pandas as pd  # here: loading a site needs no pandas (fast start)

    models, sources, names = _load(str(folder or library_dir()))
    lines = []
    for model, source, name in zip(models, sources, names, strict=True):
        line = {"model": model.model, "name": name, **model.model_dump(exclude={"model"})}
        line["sources"] = "; ".join(f"{k}: {v}" for k, v in source.items())
        lines.append(line)
    return pd.DataFrame(lines, columns=["model", "name", *NUMBER_FIELDS, "sources"])


def library_sources(folder: Path | None = None) -> dict[str, dict[str, str]]:
    """model -> field -> source text."""
    models, sources, _ = _load(str(folder or library_dir()))
    return {m.model: dict(s) for m, s in zip(models, sources, strict=True)}
