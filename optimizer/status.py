"""The one vocabulary for how a solve, a plan or a study point ended. A leaf module (no
solver import), so tables, batches and the command line can name a status cheaply;
solve.py maps HiGHS's model status onto it."""

from enum import StrEnum


class Status(StrEnum):
    """How a solve ended: one vocabulary for HiGHS's answer, the plan, summary.json, sweeps and
    batches (the values are the strings summary.json has always had)."""

    OPTIMAL = "optimal"  # proven within the gap
    TIME_LIMIT = "time_limit"  # stopped by the time limit (with or without a plan)
    INFEASIBLE = "infeasible"  # no plan meets the limits and minimums
    INTERRUPTED = "interrupted"  # Ctrl-C, or stopped from a callback
    MEMORY_LIMIT = "memory_limit"  # HiGHS ran out of memory
    NO_PLAN = "no_plan"  # a study point that ended without a plan
    BAD_INPUT = "bad_input"  # a batch scenario the site cannot take
    ERROR = "error"  # HiGHS failed in some other way
