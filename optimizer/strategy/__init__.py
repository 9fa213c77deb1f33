"""How the optimum is proven at scale (see docs/strategy.md)."""

from optimizer.strategy.pipeline import StrategyLog, StrategyResult, solve_with_strategy

__all__ = ["StrategyLog", "StrategyResult", "solve_with_strategy"]
