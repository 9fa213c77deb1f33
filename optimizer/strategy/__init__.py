"""How the optimum is proven at scale (see docs/strategy.md)."""

from optimizer.strategy.pipeline import solve_with_strategy

__all__ = ["solve_with_strategy"]
