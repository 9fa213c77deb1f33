"""Names the command line offers as choices, in a module with no imports, so that
`rackfit --help` starts without loading pydantic (optimizer.schema re-exports them)."""

# How a plan is solved (`--strategy`): auto = surrogate bound + power-group heuristic + HiGHS
# stopped once within the gap of the bound; auto-cut = the same with the bound also added as
# the row objective <= bound; plain = HiGHS alone (docs/strategy.md).
STRATEGIES = ("auto", "auto-cut", "plain")
