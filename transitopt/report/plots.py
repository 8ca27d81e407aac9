"""Static figures (PNG) with matplotlib."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._io import atomic_path


def plot_convergence(history: pd.DataFrame, path: str | os.PathLike, *, title: str = "") -> Path:
    """Relative gap against iteration and wall time (log scale), written as PNG.

    ``history`` has the columns ``iteration``, ``relative_gap`` and ``time_s`` (an
    :class:`~transitopt.assignment.AssignmentResult`'s ``history``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_iteration, by_time) = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    gap = history["relative_gap"].clip(lower=1e-16)
    by_iteration.semilogy(history["iteration"], gap)
    by_iteration.set_xlabel("iteration")
    by_iteration.set_ylabel("relative gap")
    by_time.semilogy(history["time_s"], gap)
    by_time.set_xlabel("wall time (s)")
    for axes in (by_iteration, by_time):
        axes.grid(True, which="both", alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)
