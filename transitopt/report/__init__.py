"""Figures and reports from results (never recomputes an assignment)."""

from .html import write_report
from .maps import write_maps
from .plots import plot_convergence

__all__ = ["plot_convergence", "write_maps", "write_report"]
