"""Figures and reports from results (never recomputes an assignment)."""

from .comparison import Comparison, compare_files, write_comparison
from .html import write_report
from .maps import write_maps
from .plots import plot_convergence

__all__ = [
    "Comparison",
    "compare_files",
    "plot_convergence",
    "write_comparison",
    "write_maps",
    "write_report",
]
