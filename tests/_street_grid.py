"""A street grid with zone centroids, shared by the all-or-nothing loader tests (no chains
to contract, so the greedy hierarchy and the elimination meet their worst case)."""

from __future__ import annotations

import numpy as np


def street_grid(
    side: int, n_zones: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A two-way grid of ``side`` x ``side`` street nodes (numbered from ``n_zones``) and
    ``n_zones`` centroids (nodes ``0..n_zones-1``), each joined both ways to one street node
    drawn by ``rng``: ``(tail, head, centroid)``, street edges first."""
    node = np.arange(side * side).reshape(side, side) + n_zones
    a = np.r_[node[:, :-1].ravel(), node[:-1, :].ravel()]
    b = np.r_[node[:, 1:].ravel(), node[1:, :].ravel()]
    spots = rng.choice(side * side, n_zones, replace=False) + n_zones
    tail = np.r_[a, b, np.arange(n_zones), spots]
    head = np.r_[b, a, spots, np.arange(n_zones)]
    return tail, head, np.arange(n_zones + side * side) < n_zones
