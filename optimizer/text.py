"""Text in and text out, shared by every reader of user files: a cell as text, YAML with
located errors, a pydantic error as a phrase, a value shortened for a message. A leaf module:
it imports nothing of rackfit but `errors`, so loaders, library, batch and the plan reader
can all use it without importing each other."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import yaml

from optimizer.errors import Issue

SHORT = 40  # longest value echoed whole in a message


def shorten(text: str, limit: int = SHORT) -> str:
    """`text` cut to `limit` characters with an ellipsis, so a message never echoes a
    10,000-character cell whole."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def cell_text(value: Any) -> str:
    """One cell as the text a CSV would hold. Whole floats lose their `.0`, so a workbook's
    8.0 and a CSV's 8 read the same; other floats keep their shortest exact form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


class SiteYamlLoader(yaml.SafeLoader):
    """A safe loader that notes keys given twice in a mapping (PyYAML keeps the last one
    silently) and turns a number too long to convert into a located YAML error."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[tuple[str, int, int]] = []  # key, line, line of its first use

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` may be overridden on purpose
                key = self.construct_object(key_node, deep=deep)
                try:
                    seen = key in first
                except TypeError:
                    continue  # unhashable: the base class reports it
                line = key_node.start_mark.line + 1
                if seen:
                    self.repeated.append((str(key), line, first[key]))
                else:
                    first[key] = line
        assert isinstance(node, yaml.MappingNode)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # int("1" * 5000), 2024-13-45, ...
            problem = (
                "number too large"
                if node.tag == "tag:yaml.org,2002:int"
                else f"cannot read value: {shorten(str(exc), 60)}"
            )
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def load_yaml(text: str) -> tuple[Any, list[tuple[str, int, int]]]:
    """YAML text -> (data, repeated keys as (key, line, first line)). Raises yaml.YAMLError
    (with the line in `problem_mark`), ValueError, OverflowError or RecursionError."""
    loader = SiteYamlLoader(text)
    try:
        return loader.get_single_data(), loader.repeated
    finally:
        loader.dispose()


def yaml_issue(where: str, exc: Exception) -> Issue:
    """A YAML reading error as an issue at the line it names (row = the YAML line)."""
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        row = mark.line + 1 if mark is not None else None
        message = f"invalid YAML: {shorten(problem, 80)}"
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and start.line + 1 != row:
            message += f" ({shorten(context, 60)} started on line {start.line + 1})"
        return Issue(where, message, row=row)
    if isinstance(exc, RecursionError):
        return Issue(where, "invalid YAML: nested too deeply")
    return Issue(where, f"invalid YAML: a value cannot be read ({shorten(str(exc), 80)})")


def bound_text(value: Any) -> str:
    """A schema bound as a person writes it: 0 not 0.0, 10000000 not 1e+07."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        if float(value).is_integer() and abs(value) < 1e16:
            return str(int(value))
        return f"{value:g}"
    return str(value)


def shown_value(got: Any) -> str:
    """An input value quoted for a message, cut short when it is long."""
    if isinstance(got, str):
        return f"'{shorten(got)}'"
    try:
        return shorten(repr(got))
    except ValueError:  # an int too long to write out in decimal
        return "a number too long to show"


def describe_error(error: Mapping[str, Any]) -> str:
    """A pydantic error as a phrase a site engineer understands."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    shown = shown_value(error.get("input"))
    if kind == "missing":
        return "value is required"
    if kind == "int_parsing_size":
        return f"number too large, got {shown}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"expected a whole number, got {shown}"
    if kind in ("float_parsing", "float_type"):
        return f"expected a number, got {shown}"
    if kind == "finite_number":
        return f"expected a finite number, got {shown}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {shown}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {shown}"
    if kind == "greater_than_equal":
        return f"must be at least {bound_text(ctx.get('ge'))}, got {shown}"
    if kind == "greater_than":
        return f"must be more than {bound_text(ctx.get('gt'))}, got {shown}"
    if kind == "less_than_equal":
        return f"must be at most {bound_text(ctx.get('le'))}, got {shown}"
    if kind == "less_than":
        return f"must be less than {bound_text(ctx.get('lt'))}, got {shown}"
    if kind == "string_too_short":
        return "value is required"
    if kind == "string_too_long":
        return f"text longer than {ctx.get('max_length')} characters"
    return shorten(str(error.get("msg", kind)), 120)
