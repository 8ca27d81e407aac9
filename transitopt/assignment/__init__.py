"""Road traffic assignment to user equilibrium (car class with fixed preloads)."""

from ._problem import fixed_cost_s
from .equilibrium import ALGORITHMS, UserEquilibrium, assign
from .result import AssignmentResult

__all__ = ["ALGORITHMS", "AssignmentResult", "UserEquilibrium", "assign", "fixed_cost_s"]
