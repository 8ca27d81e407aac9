"""Transit route design (the urban transit routing problem, UTRP).

Given a network (a :class:`~transitopt.optimise.TNDPInstance`: travel times in minutes
and demand in trips), a number of routes and the minimum/maximum number of nodes per
route, :func:`design_routes` searches for a route set that

* covers every node and forms one connected route network (so all demand is served),
* has routes that are simple paths along links with ``min_nodes..max_nodes`` nodes,
  no two routes the same,

and minimises the passenger objective (ATT, the literature's average travel time with a
5-minute transfer penalty), the operator objective (TRT, total one-way route time), or
traces the trade-off between them (a weighted-sum sweep, returning the Pareto front).

The search is simulated annealing over route sets. A start is built greedily from
demand-weighted shortest and k-shortest paths between terminals; the moves extend, trim
or reroute a route along shortest paths, insert or delete a stop, exchange the tails of
two routes that cross, or replace a route by a new one. Every candidate is evaluated in
full by the numba kernel of :mod:`transitopt.kernels.tndp`.

Reproducibility: all randomness comes from ``numpy.random.default_rng(seed)``. With
``max_evaluations`` set the temperature schedule follows the evaluation count and the
result is identical for the same seed; with only ``budget_s`` the schedule follows the
clock, so results depend on the machine's speed.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from .._errors import TransitoptError
from ..kernels.tndp import evaluate_routes_fast, path_pair_sums, route_network_connected
from .evaluation import TRANSFER_PENALTY_MIN, RouteSetEvaluation, _summarise
from .instances import TNDPInstance

Objective = Literal["passenger", "operator", "pareto"]


class RouteDesignError(TransitoptError, ValueError):
    """Route constraints that no route set can satisfy, or bad design arguments."""


@dataclass(frozen=True)
class RouteDesignResult:
    """Outcome of :func:`design_routes`.

    Attributes
    ----------
    routes
        Best route set for the objective, routes as lists of node ids (for ``"pareto"``:
        the front's solution with the least ATT).
    evaluation
        Its ATT, d0..dun and TRT.
    objective
        ``"passenger"``, ``"operator"`` or ``"pareto"``.
    front
        Non-dominated (ATT, TRT) route sets found (columns ``att``, ``trt``, ``routes``),
        sorted by TRT; for single objectives, the non-dominated sets seen on the way.
    history
        One row per improvement: ``evaluations``, ``seconds``, ``objective`` (minutes for
        passenger/operator), ``att``, ``trt``.
    n_evaluations
        Route sets evaluated.
    seconds
        Wall time of the search.
    seed
        The seed used.
    stopped_by
        ``"budget_s"``, ``"max_evaluations"`` or ``"interrupted"`` (KeyboardInterrupt; the
        best solution so far is kept).
    """

    routes: list[list[int]]
    evaluation: RouteSetEvaluation
    objective: str
    front: pd.DataFrame
    history: pd.DataFrame
    n_evaluations: int
    seconds: float
    seed: int
    stopped_by: str
    settings: dict = field(default_factory=dict)


ProgressCallback = Callable[[dict], None]


def design_routes(
    instance: TNDPInstance,
    *,
    n_routes: int,
    min_nodes: int,
    max_nodes: int,
    objective: Objective = "passenger",
    budget_s: float | None = 60.0,
    max_evaluations: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    initial_routes: Sequence[Sequence[int]] | None = None,
    transfer_penalty_min: float = TRANSFER_PENALTY_MIN,
    pareto_weights: int = 7,
    clock: Literal["wall", "cpu"] = "wall",
) -> RouteDesignResult:
    """Design a route set for an instance by simulated annealing.

    Parameters
    ----------
    instance
        Network (travel times in minutes) and demand (trips).
    n_routes
        Number of routes.
    min_nodes, max_nodes
        Bounds on the nodes (stops) per route, inclusive.
    objective
        ``"passenger"`` (minimise ATT, minutes), ``"operator"`` (minimise TRT, minutes, ties
        broken by ATT: a 4-weight sweep from passenger to operator, returning the least TRT
        found) or ``"pareto"`` (weighted-sum sweep over ``pareto_weights`` weights; the
        budget is split evenly; returns the front's least ATT).
    budget_s
        Time budget in seconds (see ``clock``) (``None``: no time limit; then ``max_evaluations``
        is required).
    max_evaluations
        Evaluation budget; when given, the annealing schedule follows it and the result
        is reproducible for a seed.
    seed
        Seed of ``numpy.random.default_rng``.
    progress
        Called at each new best and at least once a second with a dict:
        ``evaluations``, ``seconds``, ``best`` (objective value), ``att``, ``trt``.
    initial_routes
        A feasible route set (node ids) to start from instead of the greedy start.
    transfer_penalty_min
        Minutes per transfer in the passenger model.
    pareto_weights
        Number of weights in the ``"pareto"`` sweep.
    clock
        What ``budget_s`` counts: ``"wall"`` seconds or ``"cpu"`` seconds of this process
        (fairer on a shared machine); ``seconds`` in the result and history use it too.

    Returns
    -------
    RouteDesignResult

    Raises
    ------
    RouteDesignError
        If the constraints cannot be met (the message names the constraint).
    """
    if objective not in ("passenger", "operator", "pareto"):
        raise RouteDesignError(
            f"objective must be 'passenger', 'operator' or 'pareto', got {objective!r}"
        )
    if budget_s is None and max_evaluations is None:
        raise RouteDesignError("give budget_s or max_evaluations (or both)")
    if budget_s is not None and budget_s <= 0:
        raise RouteDesignError(f"budget_s must be > 0, got {budget_s}")
    if max_evaluations is not None and max_evaluations < 1:
        raise RouteDesignError(f"max_evaluations must be >= 1, got {max_evaluations}")
    _check_constraints(instance, n_routes, min_nodes, max_nodes)
    clock_kind = clock
    if clock_kind not in ("wall", "cpu"):
        raise RouteDesignError(f"clock must be 'wall' or 'cpu', got {clock_kind!r}")
    clock = time.perf_counter if clock_kind == "wall" else time.process_time
    started = clock()  # the budget includes building the start
    search = _RouteSearch(instance, n_routes, min_nodes, max_nodes, seed, transfer_penalty_min)
    search.clock = clock
    if initial_routes is not None:
        start = [list(map(int, instance.index_of(r))) for r in initial_routes]
        problem = search.violation(start)
        if problem:
            raise RouteDesignError(f"initial_routes: {problem}")
    else:
        start = search.initial_solution()
    if objective == "passenger":
        search.set_weight(1.0)
        remaining = None if budget_s is None else max(budget_s - (clock() - started), 1e-3)
        best, stopped_by = search.anneal(start, remaining, max_evaluations, progress, started)
        front = search.front_table(instance)
    else:
        # weighted-sum sweep from passenger to operator, each weight starting from the last
        # one's best; "operator" returns the front's least TRT (ties: least ATT)
        n_weights = max(2, pareto_weights) if objective == "pareto" else _OPERATOR_WEIGHTS
        weights = np.linspace(1.0, 0.0, n_weights)
        stopped_by = "max_evaluations"
        current = start
        for k, w in enumerate(weights):
            share = 1.0 / (len(weights) - k)
            sub_budget = None if budget_s is None else (budget_s - (clock() - started)) * share
            sub_evals = (
                None
                if max_evaluations is None
                else int((max_evaluations - search.evaluations) * share)
            )
            if (sub_budget is not None and sub_budget <= 0) or (
                sub_evals is not None and sub_evals < 1
            ):
                break
            search.set_weight(float(w))
            current, stopped_by = search.anneal(current, sub_budget, sub_evals, progress, started)
            if stopped_by == "interrupted":
                break
        front = search.front_table(instance)
        pick = 0 if objective == "operator" else int(np.argmin(front["att"].to_numpy()))
        best = [list(map(int, instance.index_of(r))) for r in front.iloc[pick]["routes"]]
    raw = search.raw(best)
    return RouteDesignResult(
        routes=[[int(instance.node_id[s]) for s in r] for r in best],
        evaluation=_summarise(raw, len(best)),
        objective=objective,
        front=front,
        history=pd.DataFrame(
            search.history, columns=["evaluations", "seconds", "objective", "att", "trt"]
        ),
        n_evaluations=search.evaluations,
        seconds=clock() - started,
        seed=seed,
        stopped_by=stopped_by,
        settings={
            "n_routes": n_routes,
            "min_nodes": min_nodes,
            "max_nodes": max_nodes,
            "budget_s": budget_s,
            "max_evaluations": max_evaluations,
            "transfer_penalty_min": transfer_penalty_min,
            "clock": clock_kind,
        },
    )


def _check_constraints(
    instance: TNDPInstance, n_routes: int, min_nodes: int, max_nodes: int
) -> None:
    n = instance.n_nodes
    if n_routes < 1:
        raise RouteDesignError(f"n_routes must be >= 1, got {n_routes}")
    if min_nodes < 2:
        raise RouteDesignError(
            f"min_nodes must be >= 2 (a route joins at least two nodes), got {min_nodes}"
        )
    if max_nodes < min_nodes:
        raise RouteDesignError(f"max_nodes ({max_nodes}) is below min_nodes ({min_nodes})")
    if min_nodes > n:
        raise RouteDesignError(f"min_nodes ({min_nodes}) exceeds the {n} nodes of {instance.name}")
    if n_routes * (max_nodes - 1) + 1 < n:
        raise RouteDesignError(
            f"{n_routes} routes of at most {max_nodes} nodes cannot cover the {n} nodes of {instance.name} "
            f"in one connected network (needs n_routes * (max_nodes - 1) + 1 >= {n})"
        )


# --------------------------------------------------------------------------- the search


class _RouteSearch:
    """Route sets as lists of lists of node indices; moves, evaluation and annealing."""

    def __init__(self, instance, n_routes, min_nodes, max_nodes, seed, penalty):
        self.n = instance.n_nodes
        self.tt = instance.travel_time
        self.demand = instance.demand
        self.R, self.lo, self.hi = n_routes, min_nodes, max_nodes
        self.penalty = float(penalty)
        self.rng = np.random.default_rng(seed)
        # scalar draws in the moves come from a stdlib generator seeded by ``rng`` (10x faster)
        self.rnd = random.Random(int(self.rng.integers(2**63)))
        self.terminal = np.flatnonzero(instance.terminal)
        adj = np.isfinite(self.tt) & ~np.eye(self.n, dtype=bool)
        self.neighbours = [[int(u) for u in np.flatnonzero(adj[i])] for i in range(self.n)]
        self.linked = [set(nb) for nb in self.neighbours]
        weights = np.where(adj, self.tt, 0.0)
        self.dist, self.pred = shortest_path(
            csr_matrix(weights), directed=False, return_predecessors=True
        )
        self._paths: dict[tuple[int, int], tuple[int, ...]] = {}
        self.clock = time.perf_counter
        self.evaluations = 0
        self.history: list[tuple] = []
        self.archive: list[tuple[float, float, tuple]] = []  # non-dominated (att, trt, routes)
        self.weight = 1.0
        self.att_scale = 1.0
        self.trt_scale = 1.0
        sym = self.demand + self.demand.T
        self.pair_demand = np.triu(sym, 1)
        self._pair_cdf = np.cumsum(self.pair_demand.ravel())

    # ---- paths

    def path(self, a: int, b: int) -> tuple[int, ...]:
        """Nodes of the shortest path a → b (inclusive)."""
        key = (a, b)
        p = self._paths.get(key)
        if p is None:
            nodes = [b]
            while nodes[-1] != a:
                nodes.append(int(self.pred[a, nodes[-1]]))
            p = tuple(reversed(nodes))
            self._paths[key] = p
        return p

    # ---- feasibility

    def violation(self, routes: list[list[int]]) -> str:
        """Empty string if feasible, else what is wrong."""
        if len(routes) != self.R:
            return f"{len(routes)} routes, expected n_routes={self.R}"
        seen = set()
        for k, r in enumerate(routes):
            if not (self.lo <= len(r) <= self.hi):
                return f"route {k + 1} has {len(r)} nodes, outside min_nodes..max_nodes = {self.lo}..{self.hi}"
            if len(set(r)) != len(r):
                return f"route {k + 1} visits a node twice"
            for a, b in zip(r[:-1], r[1:], strict=True):
                if not np.isfinite(self.tt[a, b]):
                    return f"route {k + 1}: no link between consecutive nodes"
            key = min(tuple(r), tuple(reversed(r)))
            if key in seen:
                return f"route {k + 1} duplicates another route"
            seen.add(key)
        ptr, stops = _flatten(routes)
        if not route_network_connected(ptr, stops, self.n):
            return "the routes do not cover every node in one connected network"
        return ""

    # ---- evaluation

    def raw(self, routes) -> np.ndarray:
        ptr, stops = _flatten(routes)
        return evaluate_routes_fast(ptr, stops, self.tt, self.demand, self.penalty)

    def evaluate(self, routes) -> tuple[float, float, float] | None:
        """(objective, att, trt) or None when infeasible (not connected/covering)."""
        ptr, stops = _flatten(routes)
        if not route_network_connected(ptr, stops, self.n):
            return None
        raw = evaluate_routes_fast(ptr, stops, self.tt, self.demand, self.penalty)
        self.evaluations += 1
        att = raw[0] / (raw[6] - raw[5])
        trt = raw[7]
        self._archive(att, trt, routes)
        return self.objective(att, trt), att, trt

    def objective(self, att: float, trt: float) -> float:
        if self.weight >= 1.0:
            return att
        if self.weight <= 0.0:
            return trt + _OPERATOR_ATT_WEIGHT * att
        return self.weight * att / self.att_scale + (1.0 - self.weight) * trt / self.trt_scale

    def set_weight(self, w: float) -> None:
        self.weight = w

    def _archive(self, att, trt, routes):
        for a, t, _ in self.archive:
            if a <= att and t <= trt:
                return
        self.archive = [(a, t, r) for a, t, r in self.archive if not (att <= a and trt <= t)]
        self.archive.append((att, trt, tuple(tuple(r) for r in routes)))

    def front_table(self, instance) -> pd.DataFrame:
        rows = sorted(self.archive, key=lambda x: (x[1], x[0]))
        return pd.DataFrame(
            {
                "att": [a for a, _, _ in rows],
                "trt": [t for _, t, _ in rows],
                "routes": [
                    [[int(instance.node_id[s]) for s in r] for r in rs] for _, _, rs in rows
                ],
            }
        )

    # ---- initial solution

    def initial_solution(self) -> list[list[int]]:
        """Greedy demand-weighted shortest-path routes, repaired to cover every node."""
        self._check_path_length()
        for attempt in range(20):
            routes = self._greedy(randomise=attempt > 0)
            routes = self._repair(routes)
            if routes is not None and not self.violation(routes):
                return routes
        for _ in range(200):
            routes = self._repair(self._random_routes())
            if routes is not None and not self.violation(routes):
                return routes
        raise RouteDesignError(
            f"no feasible route set found: {self.R} routes of {self.lo}..{self.hi} nodes that are simple paths, "
            f"cover all {self.n} nodes and connect (check min_nodes against the network's longest paths)"
        )

    def _check_path_length(self, max_steps: int = 200_000) -> None:
        """Raise if no simple path has ``min_nodes`` nodes (depth-first search, bounded effort)."""
        need = self.lo
        if need <= max(len(self.path(a, b)) for a in range(self.n) for b in range(self.n)):
            return
        steps = 0
        for start in range(self.n):
            stack = [(start, iter(self.neighbours[start]))]
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
                stack.append((nxt, iter(self.neighbours[nxt])))
                on_path.add(nxt)
                if len(stack) >= need:
                    return
        raise RouteDesignError(
            f"min_nodes={need}: no simple path in the network has {need} nodes "
            f"(routes may not visit a node twice)"
        )

    def _candidate_pool(self) -> None:
        """Shortest paths between terminal pairs, plus k-shortest paths for the busiest pairs."""
        ends = self.terminal if self.terminal.size >= 2 else np.arange(self.n)
        paths = {}
        for a in ends:
            for b in ends:
                if a < b:
                    p = self.path(int(a), int(b))
                    if len(p) <= self.hi:
                        paths[p] = None
        graph = nx.Graph()
        for a in range(self.n):
            for b in self.neighbours[a]:
                graph.add_edge(a, b, weight=float(self.tt[a, b]))
        terminal = np.zeros(self.n, dtype=bool)
        terminal[ends] = True
        busy = np.argsort(-(self.pair_demand * np.outer(terminal, terminal)).ravel(), kind="stable")
        for pick in busy[:_K_SHORTEST_PAIRS]:
            a, b = divmod(int(pick), self.n)
            if self.pair_demand[a, b] <= 0:
                break
            for p in islice(nx.shortest_simple_paths(graph, a, b, weight="weight"), _K_SHORTEST):
                if len(p) <= self.hi:
                    paths[tuple(p)] = None
        pool = list(paths)
        self.pool_len = np.array([len(p) for p in pool], dtype=np.int64)
        self.pool_nodes = np.zeros((len(pool), max(self.pool_len)), dtype=np.int64)
        for i, p in enumerate(pool):
            self.pool_nodes[i, : len(p)] = p
        self.pool_valid = np.arange(self.pool_nodes.shape[1]) < self.pool_len[:, None]

    def _greedy(self, randomise: bool) -> list[list[int]]:
        """Routes one at a time: the pool path serving most not-yet-direct demand, grown at its ends."""
        if not hasattr(self, "pool_len"):
            self._candidate_pool()
        rng = self.rng
        remaining = self.pair_demand.copy()
        covered = np.zeros(self.n, dtype=bool)
        routes: list[list[int]] = []
        for _ in range(self.R):
            score = path_pair_sums(self.pool_nodes, self.pool_len, remaining)
            fresh = ((~covered[self.pool_nodes]) & self.pool_valid).sum(axis=1)
            score = score + 0.1 * fresh
            if routes:  # stay connected to the network built so far
                touches = (covered[self.pool_nodes] & self.pool_valid).any(axis=1)
                score[~touches] = -np.inf
            if randomise:
                score[rng.random(score.size) > min(1.0, 400 / score.size)] = -np.inf
            pick = int(np.argmax(score))
            if not np.isfinite(score[pick]):
                break
            best = [int(v) for v in self.pool_nodes[pick, : self.pool_len[pick]]]
            route = self._grow(best, remaining, covered, randomise)
            sub = np.asarray(route)
            remaining[np.ix_(sub, sub)] = 0.0
            covered[sub] = True
            routes.append(route)
        return routes

    def _grow(self, route, remaining, covered, randomise) -> list[int]:
        """Extend a route at its ends while it gains direct demand (or is below min_nodes)."""
        route = list(route)
        in_route = set(route)
        target = (
            self.hi
            if not randomise
            else int(self.rng.integers(max(self.lo, len(route)), self.hi + 1))
        )
        while len(route) < target:
            best, best_gain, at_end = None, 0.0, True
            for end, nodes in ((True, route[-1]), (False, route[0])):
                for u in self.neighbours[nodes]:
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

    def _random_routes(self) -> list[list[int]]:
        rng = self.rng
        routes: list[list[int]] = []
        covered = np.zeros(self.n, dtype=bool)
        for k in range(self.R):
            target = int(rng.integers(self.lo, self.hi + 1))
            start = (
                int(rng.integers(self.n)) if k == 0 else int(rng.choice(np.flatnonzero(covered)))
            )
            route = [start]
            while len(route) < target:
                options = [(int(u), True) for u in self.neighbours[route[-1]] if u not in route]
                options += [(int(u), False) for u in self.neighbours[route[0]] if u not in route]
                if not options:
                    break
                fresh = [o for o in options if not covered[o[0]]]
                u, at_end = (fresh or options)[int(rng.integers(len(fresh or options)))]
                route.append(u) if at_end else route.insert(0, u)
            routes.append(route)
            covered[route] = True
        return routes

    def _repair(self, routes: list[list[int]]) -> list[list[int]] | None:
        """Add uncovered nodes to route ends (along shortest paths) where the length allows."""
        if len(routes) < self.R:
            return None
        for _ in range(4 * self.n):
            covered = np.zeros(self.n, dtype=bool)
            for r in routes:
                covered[r] = True
            missing = np.flatnonzero(~covered)
            if missing.size == 0:
                break
            u = int(missing[self.rng.integers(missing.size)])
            options = []
            for k, r in enumerate(routes):
                for end in (r[-1], r[0]):
                    p = self.path(end, u)
                    extra = [v for v in p[1:]]
                    if len(r) + len(extra) <= self.hi and not set(extra) & set(r):
                        options.append((self.dist[end, u], k, end == r[-1], extra))
            if not options:
                return None
            options.sort(key=lambda o: o[0])
            _, k, at_end, extra = options[0]
            routes[k] = routes[k] + extra if at_end else list(reversed(extra)) + routes[k]
        for r in routes:
            while len(r) < self.lo:  # grow short routes
                options = [(u, True) for u in self.neighbours[r[-1]] if u not in r]
                options += [(u, False) for u in self.neighbours[r[0]] if u not in r]
                if not options:
                    return None
                u, at_end = options[int(self.rng.integers(len(options)))]
                r.append(int(u)) if at_end else r.insert(0, int(u))
        return routes

    # ---- moves: each returns {route index: new route} or None

    def propose(self, routes):
        """A random feasible-looking neighbour (route bounds, simple, distinct), or None."""
        rnd = self.rnd
        for _ in range(20):
            out = _MOVES[rnd.randrange(len(_MOVES))](self, routes)
            if out is None:
                continue
            if not all(
                self.lo <= len(r) <= self.hi and len(set(r)) == len(r) for r in out.values()
            ):
                continue
            new = list(routes)
            for k, r in out.items():
                new[k] = r
            if len({r if r[0] < r[-1] else r[::-1] for r in map(tuple, new)}) == len(new):
                return new
        return None

    def _move_extend(self, routes):
        rnd = self.rnd
        k = rnd.randrange(self.R)
        r = routes[k]
        if len(r) >= self.hi:
            return None
        at_end = rnd.random() < 0.5
        options = [u for u in self.neighbours[r[-1] if at_end else r[0]] if u not in r]
        if not options:
            return None
        u = rnd.choice(options)
        return {k: r + [u] if at_end else [u] + r}

    def _move_trim(self, routes):
        rnd = self.rnd
        k = rnd.randrange(self.R)
        r = routes[k]
        if len(r) <= self.lo:
            return None
        cut = rnd.randint(1, min(3, len(r) - self.lo))
        return {k: r[:-cut] if rnd.random() < 0.5 else r[cut:]}

    def _move_reroute_tail(self, routes):
        """Keep a head of the route and continue along the shortest path to another node."""
        rnd = self.rnd
        k = rnd.randrange(self.R)
        r = routes[k] if rnd.random() < 0.5 else routes[k][::-1]
        head = r[: rnd.randrange(len(r)) + 1]
        tail = list(self.path(head[-1], rnd.randrange(self.n))[1:])
        if not tail or len(head) + len(tail) > self.hi or not set(tail).isdisjoint(head):
            return None
        return {k: head + tail}

    def _move_shortcut(self, routes):
        """Replace the part between two stops by the shortest path between them."""
        rnd = self.rnd
        k = rnd.randrange(self.R)
        r = routes[k]
        if len(r) < 3:
            return None
        i, j = sorted(rnd.sample(range(len(r)), 2))
        new = r[:i] + list(self.path(r[i], r[j])) + r[j + 1 :]
        return None if new == r else {k: new}

    def _move_insert(self, routes):
        rnd = self.rnd
        k = rnd.randrange(self.R)
        r = routes[k]
        if len(r) >= self.hi:
            return None
        i = rnd.randrange(len(r) - 1)
        b = r[i + 1]
        common = [u for u in self.neighbours[r[i]] if b in self.linked[u] and u not in r]
        if not common:
            return None
        return {k: r[: i + 1] + [rnd.choice(common)] + r[i + 1 :]}

    def _move_delete(self, routes):
        rnd = self.rnd
        k = rnd.randrange(self.R)
        r = routes[k]
        if len(r) <= self.lo:
            return None
        i = rnd.randrange(len(r))
        if 0 < i < len(r) - 1 and r[i + 1] not in self.linked[r[i - 1]]:
            return None
        return {k: r[:i] + r[i + 1 :]}

    def _move_exchange(self, routes):
        """Swap the tails of two routes at a node they share."""
        rnd = self.rnd
        k, m = rnd.sample(range(self.R), 2)
        a, b = routes[k], routes[m]
        shared = sorted(set(a).intersection(b))
        if not shared:
            return None
        c = rnd.choice(shared)
        if rnd.random() < 0.5:
            b = b[::-1]
        i, j = a.index(c), b.index(c)
        return {k: a[:i] + b[j:], m: b[:j] + a[i:]}

    def _move_replace(self, routes):
        """Replace a route by a shortest path between a demand-weighted pair, grown at its ends."""
        rnd = self.rnd
        k = rnd.randrange(self.R)
        pick = int(np.searchsorted(self._pair_cdf, rnd.random() * self._pair_cdf[-1], side="right"))
        a, b = divmod(min(pick, self._pair_cdf.size - 1), self.n)
        p = list(self.path(a, b))
        if len(p) > self.hi:
            return None
        in_route = set(p)
        target = rnd.randint(max(self.lo, len(p)), self.hi)
        while len(p) < target:
            at_end = rnd.random() < 0.5
            options = [u for u in self.neighbours[p[-1] if at_end else p[0]] if u not in in_route]
            if not options:
                break
            u = rnd.choice(options)
            p.append(u) if at_end else p.insert(0, u)
            in_route.add(u)
        return {k: p}

    # ---- annealing

    def anneal(self, start, budget_s, max_evals, progress, started):
        """Simulated annealing from ``start``; returns (best routes, stop reason)."""
        t0 = self.clock()
        first_eval = self.evaluations
        cur = [list(r) for r in start]
        res = self.evaluate(cur)
        if res is None:
            raise RouteDesignError("start solution is not connected/covering")
        cur_f, cur_att, cur_trt = res
        if self.weight not in (0.0, 1.0):
            self.att_scale, self.trt_scale = max(cur_att, 1e-9), max(cur_trt, 1e-9)
            cur_f = self.objective(cur_att, cur_trt)
        best, best_f = cur, cur_f
        self._record(started, best_f, cur_att, cur_trt)
        temp0 = self._initial_temperature(cur, cur_f)
        temp1 = temp0 * 1e-3
        last_report = time.perf_counter()
        stopped_by = "max_evaluations"
        since_best = 0
        try:
            while True:
                done = self.evaluations - first_eval
                elapsed = self.clock() - t0
                if max_evals is not None and done >= max_evals:
                    stopped_by = "max_evaluations"
                    break
                if budget_s is not None and elapsed >= budget_s:
                    stopped_by = "budget_s"
                    break
                frac = done / max_evals if max_evals is not None else elapsed / budget_s
                temp = temp0 * (temp1 / temp0) ** min(frac, 1.0)
                cand = self.propose(cur)
                if cand is None:
                    continue
                res = self.evaluate(cand)
                if res is None:
                    continue
                f, att, trt = res
                delta = f - cur_f
                if delta <= 0 or self.rnd.random() < math.exp(-delta / temp):
                    cur, cur_f = cand, f
                    if f < best_f - 1e-12:
                        best, best_f = cand, f
                        since_best = 0
                        self._record(started, best_f, att, trt)
                        if progress is not None:
                            last_report = time.perf_counter()
                            self._report(progress, started)
                since_best += 1
                if since_best > _RESET_AFTER * (
                    100 + 5 * self.R
                ):  # wandered off: return to the best
                    cur, cur_f, since_best = best, best_f, 0
                if progress is not None and time.perf_counter() - last_report >= 1.0:
                    last_report = time.perf_counter()
                    self._report(progress, started)
        except KeyboardInterrupt:
            stopped_by = "interrupted"
        return best, stopped_by

    def _initial_temperature(self, cur, cur_f) -> float:
        """Temperature that accepts a typical worsening move with probability 1/2."""
        deltas = []
        for _ in range(30):
            cand = self.propose(cur)
            if cand is None:
                continue
            res = self.evaluate(cand)
            if res is not None and res[0] > cur_f:
                deltas.append(res[0] - cur_f)
        if not deltas:
            return 1e-3 * max(abs(cur_f), 1.0)
        return float(np.median(deltas)) / math.log(2.0)

    def _report(self, progress, started):
        _, _, best_f, att, trt = self.history[-1]
        progress(
            {
                "evaluations": self.evaluations,
                "seconds": self.clock() - started,
                "best": best_f,
                "att": att,
                "trt": trt,
            }
        )

    def _record(self, started, best_f, att, trt):
        self.history.append((self.evaluations, self.clock() - started, best_f, att, trt))


#: busiest terminal pairs that get k-shortest alternatives in the candidate pool, and k
_K_SHORTEST_PAIRS = 100
_K_SHORTEST = 3

#: minutes of TRT per minute of ATT in the operator objective: breaks TRT ties by ATT
_OPERATOR_ATT_WEIGHT = 0.01

#: weights of the passenger → operator sweep behind ``objective="operator"``
_OPERATOR_WEIGHTS = 4

#: non-improving evaluations (in units of 100 + 5 * n_routes) before returning to the best
_RESET_AFTER = 20

_MOVES = [
    _RouteSearch._move_extend,
    _RouteSearch._move_trim,
    _RouteSearch._move_reroute_tail,
    _RouteSearch._move_shortcut,
    _RouteSearch._move_insert,
    _RouteSearch._move_delete,
    _RouteSearch._move_exchange,
    _RouteSearch._move_replace,
]


def _flatten(routes) -> tuple[np.ndarray, np.ndarray]:
    lengths = [len(r) for r in routes]
    ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    stops = np.array(list(chain.from_iterable(routes)), dtype=np.int64)
    return ptr, stops


__all__ = ["RouteDesignError", "RouteDesignResult", "design_routes"]
