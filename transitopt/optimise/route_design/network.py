"""The link network a route set is designed on: neighbours, shortest paths, demand pairs."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from ...kernels.tndp import route_network_connected
from ...network.compiled import Network
from ...paths import shortest_paths, skim
from ..instances import TNDPInstance

#: a route set during the search: routes as lists of node indices ``0..n-1``
Routes = list[list[int]]


class LinkNetwork:
    """Links, all-pairs shortest paths and pair demand of an instance (node indices).

    Links are undirected (either direction's time, the shorter if both are given); paths
    come from the routing door (:mod:`transitopt.paths`), weights in minutes.

    Attributes
    ----------
    n
        Number of nodes.
    travel_time, demand
        The instance's (n, n) link times (minutes) and trips.
    terminal
        Indices of the nodes that may end a route.
    neighbours, linked
        Per node, the linked nodes as a list and as a set.
    dist
        (n, n) shortest-path travel times (minutes).
    pair_demand
        (n, n) trips between each unordered node pair, upper triangle.
    pair_cdf
        Cumulative ``pair_demand`` in row-major order (to draw pairs by demand).
    """

    def __init__(self, instance: TNDPInstance) -> None:
        self.n = instance.n_nodes
        self.travel_time = instance.travel_time
        self.demand = instance.demand
        self.terminal = np.flatnonzero(instance.terminal)
        adjacent = np.isfinite(self.travel_time) & ~np.eye(self.n, dtype=bool)
        self.neighbours = [[int(u) for u in np.flatnonzero(adjacent[i])] for i in range(self.n)]
        self.linked = [set(nb) for nb in self.neighbours]
        tail, head = np.nonzero(adjacent | adjacent.T)
        time_min = np.fmin(self.travel_time[tail, head], self.travel_time[head, tail])
        self._graph = Network.from_edges(
            tail, head, n_nodes=self.n, free_flow_time_s=time_min, crs=None
        )
        self.dist = skim(self._graph, np.arange(self.n), by_index=True, method="dijkstra")
        self._paths: dict[tuple[int, int], tuple[int, ...]] = {}
        self.pair_demand = np.triu(self.demand + self.demand.T, 1)
        self.pair_cdf = np.cumsum(self.pair_demand.ravel())

    def path(self, a: int, b: int) -> tuple[int, ...]:
        """Nodes of the shortest path ``a`` → ``b``, both included (cached)."""
        key = (a, b)
        found = self._paths.get(key)
        if found is None:
            (edges,) = shortest_paths(self._graph, [a], [b], weight="free_flow_time_s")
            found = (a, *(int(v) for v in self._graph.head[edges]))
            self._paths[key] = found
        return found

    def end_extensions(self, route: Sequence[int]) -> list[tuple[int, bool]]:
        """``(node, at_end)`` for every node that extends ``route`` at its last or first stop."""
        options = [(u, True) for u in self.neighbours[route[-1]] if u not in route]
        options += [(u, False) for u in self.neighbours[route[0]] if u not in route]
        return options

    def connected(self, routes: Sequence[Sequence[int]]) -> bool:
        """Whether the routes cover every node in one connected network."""
        ptr, stops = flatten_routes(routes)
        return bool(route_network_connected(ptr, stops, self.n))


def flatten_routes(routes: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(route_ptr, stops)`` int64 arrays of a route set, as the kernels take it."""
    lengths = [len(r) for r in routes]
    ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    stops = np.array(list(chain.from_iterable(routes)), dtype=np.int64)
    return ptr, stops
