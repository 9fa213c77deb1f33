"""Output conventions every writer shares: file names, rounding, which columns are counts,
the utilization colours, and a plan's tables and summary as they are written (floats rounded,
counts whole, plain JSON values). No file is written here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from optimizer.tables import BINDING_UTILIZATION, Plan

FLOAT_DECIMALS = 6  # every float in the CSVs, summary.json and the workbook
TIMING_DECIMALS = 3
WORKBOOK_NAME = "plan.xlsx"
SUMMARY_NAME = "summary.json"
UTILIZATION_PICTURE = "utilization.png"
SUMMARY_SHEET = "Summary"
SUMMARY_FIRST_KEYS = (
    "site",
    "status",
    "objective_name",
    "objective",
    "gpus",
    "racks",
    "mip_gap",
    "bound",
    "baseline_gpus",
    "gain_over_baseline_gpus",
)
TIMINGS_KEY = "timings_s"
COUNT_COLUMNS = frozenset(
    {
        "position",
        "min_racks",
        "max_racks",
        "placed_racks",
        "gpus",
        "ports",
        "ports_used",
        "positions",
        "racks",
    }
)
AMBER_UTILIZATION = 0.8
RED_UTILIZATION = BINDING_UTILIZATION  # the contract's `binding`: utilization >= 99.9%
GREEN_HEX, AMBER_HEX, RED_HEX = "C6EFCE", "FFEB9C", "FFC7CE"  # Excel's good / neutral / bad
BAR_GREEN, BAR_AMBER, BAR_RED = "#4caf50", "#f0a30a", "#d9534f"
EMPTY_POSITION = "#dddddd"


def output_tables(plan: Plan) -> dict[str, pd.DataFrame]:
    """The plan's tables as written: floats rounded, counts whole, by file stem."""
    return {name: _table_for_output(table) for name, table in plan.tables().items()}


def _table_for_output(table: pd.DataFrame) -> pd.DataFrame:
    out = table.reset_index(drop=True).copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
            continue
        if pd.api.types.is_float_dtype(series):
            whole = series.dropna()
            if column in COUNT_COLUMNS and bool((whole == whole.round()).all()):
                out[column] = series.astype("Int64")
            else:
                out[column] = series.round(FLOAT_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
        elif series.dtype == object:
            out[column] = series.map(plain_value)
    return out


def plain_value(value: Any) -> Any:
    """A Python scalar for a cell: numpy scalars unwrapped, floats rounded, NaN/NA -> None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, FLOAT_DECIMALS) + 0.0 if math.isfinite(value) else value
    return value


def summary_for_output(plan: Plan) -> dict[str, Any]:
    """summary.json's content: fixed key order, plain JSON values, timings in `timings_s`."""
    keys = [k for k in SUMMARY_FIRST_KEYS if k in plan.summary]
    keys += sorted(k for k in plan.summary if k not in SUMMARY_FIRST_KEYS and k != TIMINGS_KEY)
    out = {k: json_value(plan.summary[k]) for k in keys}
    out[TIMINGS_KEY] = {
        str(stage): round(float(seconds), TIMING_DECIMALS)
        for stage, seconds in plan.timings_s.items()
    }
    return out


def json_value(value: Any, infinity_as_text: bool = False) -> Any:
    """A JSON value: mappings and sequences element by element (sets sorted), scalars as
    `plain_value` gives them. JSON has no infinity: None, or with `infinity_as_text` the
    text `inf` / `-inf` (the HTML report shows it)."""
    if isinstance(value, Mapping):
        return {str(k): json_value(v, infinity_as_text) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_value(v, infinity_as_text) for v in items]
    value = plain_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ("inf" if value > 0 else "-inf") if infinity_as_text else None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
