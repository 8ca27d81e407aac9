"""The route set the search starts from: greedy demand-weighted paths, repaired to cover all nodes.

Candidates are the shortest paths between terminal pairs plus k-shortest alternatives for
the busiest pairs. Routes are picked one at a time (the candidate serving most demand not
yet served directly, touching the routes so far), grown at their ends, then repaired: any
uncovered node is joined to a route end along a shortest path. When 20 greedy starts (all
but the first randomised) fail, random walks are tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import networkx as nx
import numpy as np

from ...kernels.tndp import path_pair_sums
from .limits import RouteDesignError, RouteLimits
from .network import LinkNetwork, Routes

#: busiest terminal pairs that get k-shortest alternatives in the candidate pool, and k
_K_SHORTEST_PAIRS = 100
_K_SHORTEST = 3

#: greedy starts tried (the first deterministic), then random starts
_GREEDY_TRIES = 20
_RANDOM_TRIES = 200


@dataclass(frozen=True)
class _CandidatePool:
    """Candidate paths padded into a matrix: ``nodes`` (P, L), ``lengths`` (P,), ``valid`` (P, L)."""

    nodes: np.ndarray
    lengths: np.ndarray
    valid: np.ndarray

    @classmethod
    def of(cls, paths: list[tuple[int, ...]]) -> _CandidatePool:
        lengths = np.array([len(p) for p in paths], dtype=np.int64)
        nodes = np.zeros((len(paths), max(lengths)), dtype=np.int64)
        for i, p in enumerate(paths):
            nodes[i, : len(p)] = p
        return cls(nodes, lengths, np.arange(nodes.shape[1]) < lengths[:, None])


class StartBuilder:
    """Builds a feasible start route set; randomness from ``rng``."""

    def __init__(self, network: LinkNetwork, limits: RouteLimits, rng: np.random.Generator):
        self.net = network
        self.limits = limits
        self.rng = rng

    def build(self) -> Routes:
        """A feasible route set, greedy if possible, else from random walks.

        Raises
        ------
        RouteDesignError
            No simple path has ``min_nodes`` nodes, or no try gave a feasible set.
        """
        self._check_path_length()
        pool = self._candidate_pool()
        for attempt in range(_GREEDY_TRIES):
            routes = self._repair(self._greedy(pool, randomise=attempt > 0))
            if routes is not None and not self.limits.violation(self.net, routes):
                return routes
        for _ in range(_RANDOM_TRIES):
            routes = self._repair(self._random_routes())
            if routes is not None and not self.limits.violation(self.net, routes):
                return routes
        lim = self.limits
        raise RouteDesignError(
            f"no feasible route set found: {lim.n_routes} routes of {lim.min_nodes}..{lim.max_nodes} "
            f"nodes that are simple paths, cover all {self.net.n} nodes and connect "
            "(check min_nodes against the network's longest paths)"
        )

    # ---- can a route be long enough?

    def _check_path_length(self, max_steps: int = 200_000) -> None:
        """Raise if no simple path has ``min_nodes`` nodes (depth-first search, bounded effort)."""
        need, net = self.limits.min_nodes, self.net
        if need <= max(len(net.path(a, b)) for a in range(net.n) for b in range(net.n)):
            return
        steps = 0
        for start in range(net.n):
            stack = [(start, iter(net.neighbours[start]))]
            on_path = {start}
            while stack:
                steps += 1
                if steps > max_steps:
                    return  # undecided: let the construction try
                node, it = stack[-1]
                nxt = next((u for u in it if u not in on_path), None)
                if nxt is None:
                    stack.pop()
                    on_path.discard(node)
                    continue
                stack.append((nxt, iter(net.neighbours[nxt])))
                on_path.add(nxt)
                if len(stack) >= need:
                    return
        raise RouteDesignError(
            f"min_nodes={need}: no simple path in the network has {need} nodes "
            f"(routes may not visit a node twice)"
        )

    # ---- candidates

    def _candidate_pool(self) -> _CandidatePool:
        """Shortest paths between terminal pairs, plus k-shortest paths for the busiest pairs."""
        net = self.net
        ends = net.terminal if net.terminal.size >= 2 else np.arange(net.n)
        paths: dict[tuple[int, ...], None] = {}
        for a in ends:
            for b in ends:
                if a < b:
                    p = net.path(int(a), int(b))
                    if len(p) <= self.limits.max_nodes:
                        paths[p] = None
        for p in self._k_shortest_busiest(ends):
            paths[p] = None
        return _CandidatePool.of(list(paths))

    def _k_shortest_busiest(self, ends: np.ndarray) -> list[tuple[int, ...]]:
        """Up to ``_K_SHORTEST`` shortest simple paths for the busiest terminal pairs."""
        net = self.net
        graph = nx.Graph()
        for a in range(net.n):
            for b in net.neighbours[a]:
                graph.add_edge(a, b, weight=float(net.travel_time[a, b]))
        terminal = np.zeros(net.n, dtype=bool)
        terminal[ends] = True
        busy = np.argsort(-(net.pair_demand * np.outer(terminal, terminal)).ravel(), kind="stable")
        found = []
        for pick in busy[:_K_SHORTEST_PAIRS]:
            a, b = divmod(int(pick), net.n)
            if net.pair_demand[a, b] <= 0:
                break
            for p in islice(nx.shortest_simple_paths(graph, a, b, weight="weight"), _K_SHORTEST):
                if len(p) <= self.limits.max_nodes:
                    found.append(tuple(p))
        return found

    # ---- greedy construction

    def _greedy(self, pool: _CandidatePool, randomise: bool) -> Routes:
        """Routes one at a time: the pool path serving most not-yet-direct demand, grown at its ends."""
        remaining = self.net.pair_demand.copy()
        covered = np.zeros(self.net.n, dtype=bool)
        routes: Routes = []
        for _ in range(self.limits.n_routes):
            score = self._pool_scores(pool, remaining, covered, bool(routes), randomise)
            pick = int(np.argmax(score))
            if not np.isfinite(score[pick]):
                break
            best = [int(v) for v in pool.nodes[pick, : pool.lengths[pick]]]
            route = self._grow(best, remaining, covered, randomise)
            sub = np.asarray(route)
            remaining[np.ix_(sub, sub)] = 0.0
            covered[sub] = True
            routes.append(route)
        return routes

    def _pool_scores(
        self,
        pool: _CandidatePool,
        remaining: np.ndarray,
        covered: np.ndarray,
        must_touch: bool,
        randomise: bool,
    ) -> np.ndarray:
        """Direct demand each candidate would serve, plus 0.1 per new node; ``-inf`` excluded."""
        score = path_pair_sums(pool.nodes, pool.lengths, remaining)
        fresh = ((~covered[pool.nodes]) & pool.valid).sum(axis=1)
        score = score + 0.1 * fresh
        if must_touch:  # stay connected to the network built so far
            touches = (covered[pool.nodes] & pool.valid).any(axis=1)
            score[~touches] = -np.inf
        if randomise:
            score[self.rng.random(score.size) > min(1.0, 400 / score.size)] = -np.inf
        return score

    def _grow(
        self, route: list[int], remaining: np.ndarray, covered: np.ndarray, randomise: bool
    ) -> list[int]:
        """Extend a route at its ends while it gains direct demand (or is below min_nodes)."""
        lim = self.limits
        route = list(route)
        in_route = set(route)
        target = (
            lim.max_nodes
            if not randomise
            else int(self.rng.integers(max(lim.min_nodes, len(route)), lim.max_nodes + 1))
        )
        while len(route) < target:
            best, best_gain, at_end = None, 0.0, True
            for end, node in ((True, route[-1]), (False, route[0])):
                for u in self.net.neighbours[node]:
                    if u in in_route:
                        continue
                    gain = (
                        remaining[u, route].sum()
                        + remaining[route, u].sum()
                        + (0.5 if not covered[u] else 0.0)
                    )
                    if gain > best_gain:
                        best, best_gain, at_end = int(u), gain, end
            if best is None:
                break
            if at_end:
                route.append(best)
            else:
                route.insert(0, best)
            in_route.add(best)
        return route

    # ---- random construction and repair

    def _random_routes(self) -> Routes:
        """Random walks of random length, each from a node the walks so far cover."""
        rng, lim, net = self.rng, self.limits, self.net
        routes: Routes = []
        covered = np.zeros(net.n, dtype=bool)
        for k in range(lim.n_routes):
            target = int(rng.integers(lim.min_nodes, lim.max_nodes + 1))
            start = int(rng.integers(net.n)) if k == 0 else int(rng.choice(np.flatnonzero(covered)))
            route = [start]
            while len(route) < target:
                options = net.end_extensions(route)
                if not options:
                    break
                fresh = [o for o in options if not covered[o[0]]]
                u, at_end = (fresh or options)[int(rng.integers(len(fresh or options)))]
                route.append(u) if at_end else route.insert(0, u)
            routes.append(route)
            covered[route] = True
        return routes

    def _repair(self, routes: Routes) -> Routes | None:
        """Cover every node and lengthen short routes, or ``None`` when that fails."""
        if len(routes) < self.limits.n_routes:
            return None
        if not self._cover_missing(routes):
            return None
        return routes if self._lengthen_short(routes) else None

    def _cover_missing(self, routes: Routes) -> bool:
        """Add uncovered nodes to route ends (along shortest paths) where the length allows."""
        net = self.net
        for _ in range(4 * net.n):
            covered = np.zeros(net.n, dtype=bool)
            for r in routes:
                covered[r] = True
            missing = np.flatnonzero(~covered)
            if missing.size == 0:
                break
            u = int(missing[self.rng.integers(missing.size)])
            options = []
            for k, r in enumerate(routes):
                for end in (r[-1], r[0]):
                    extra = list(net.path(end, u)[1:])
                    if len(r) + len(extra) <= self.limits.max_nodes and not set(extra) & set(r):
                        options.append((net.dist[end, u], k, end == r[-1], extra))
            if not options:
                return False
            options.sort(key=lambda o: o[0])
            _, k, at_end, extra = options[0]
            routes[k] = routes[k] + extra if at_end else list(reversed(extra)) + routes[k]
        return True

    def _lengthen_short(self, routes: Routes) -> bool:
        """Grow routes below ``min_nodes`` by random linked nodes at their ends."""
        for r in routes:
            while len(r) < self.limits.min_nodes:
                options = self.net.end_extensions(r)
                if not options:
                    return False
                u, at_end = options[int(self.rng.integers(len(options)))]
                r.append(int(u)) if at_end else r.insert(0, int(u))
        return True
