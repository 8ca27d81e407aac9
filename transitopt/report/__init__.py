"""Figures and reports from results (never recomputes an assignment)."""

from .plots import plot_convergence

__all__ = ["plot_convergence"]
