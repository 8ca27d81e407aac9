"""Neighbourhood moves of the route search.

Each move changes one or two routes: extend or trim a route at an end, reroute its tail
along a shortest path, short-cut it between two stops, insert or delete a stop, exchange
the tails of two routes at a shared node, or replace a route by a new demand-weighted
path. Scalar draws come from a stdlib ``random.Random`` (ten times faster than numpy's).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from .limits import RouteLimits
from .network import LinkNetwork, Routes

#: a move: {route index: new route}, or None when it does not apply
Change = dict[int, list[int]] | None

#: tries of random moves before :meth:`RouteMoves.propose` gives up
_PROPOSAL_TRIES = 20


class RouteMoves:
    """Random neighbours of a route set within the route limits."""

    def __init__(self, network: LinkNetwork, limits: RouteLimits, rnd: random.Random):
        self.net = network
        self.limits = limits
        self.rnd = rnd
        # the order fixes which move a random draw picks (results depend on it)
        self._moves: tuple[Callable[[Routes], Change], ...] = (
            self.extend,
            self.trim,
            self.reroute_tail,
            self.shortcut,
            self.insert,
            self.delete,
            self.exchange,
            self.replace,
        )

    def propose(self, routes: Routes) -> Routes | None:
        """A random neighbour with allowed, simple and distinct routes, or None."""
        for _ in range(_PROPOSAL_TRIES):
            change = self._moves[self.rnd.randrange(len(self._moves))](routes)
            if change is None or not all(self.limits.allows(r) for r in change.values()):
                continue
            new = list(routes)
            for k, r in change.items():
                new[k] = r
            if len({r if r[0] < r[-1] else r[::-1] for r in map(tuple, new)}) == len(new):
                return new
        return None

    def _pick(self, routes: Routes) -> tuple[int, list[int]]:
        """A random route and its index."""
        k = self.rnd.randrange(self.limits.n_routes)
        return k, routes[k]

    def extend(self, routes: Routes) -> Change:
        """Add a linked node at one end."""
        rnd = self.rnd
        k, r = self._pick(routes)
        if len(r) >= self.limits.max_nodes:
            return None
        at_end = rnd.random() < 0.5
        options = [u for u in self.net.neighbours[r[-1] if at_end else r[0]] if u not in r]
        if not options:
            return None
        u = rnd.choice(options)
        return {k: r + [u] if at_end else [u] + r}

    def trim(self, routes: Routes) -> Change:
        """Drop one to three nodes at one end."""
        rnd = self.rnd
        k, r = self._pick(routes)
        if len(r) <= self.limits.min_nodes:
            return None
        cut = rnd.randint(1, min(3, len(r) - self.limits.min_nodes))
        return {k: r[:-cut] if rnd.random() < 0.5 else r[cut:]}

    def reroute_tail(self, routes: Routes) -> Change:
        """Keep a head of the route and continue along the shortest path to another node."""
        rnd = self.rnd
        k = rnd.randrange(self.limits.n_routes)
        r = routes[k] if rnd.random() < 0.5 else routes[k][::-1]
        head = r[: rnd.randrange(len(r)) + 1]
        tail = list(self.net.path(head[-1], rnd.randrange(self.net.n))[1:])
        if (
            not tail
            or len(head) + len(tail) > self.limits.max_nodes
            or not set(tail).isdisjoint(head)
        ):
            return None
        return {k: head + tail}

    def shortcut(self, routes: Routes) -> Change:
        """Replace the part between two stops by the shortest path between them."""
        k, r = self._pick(routes)
        if len(r) < 3:
            return None
        i, j = sorted(self.rnd.sample(range(len(r)), 2))
        new = r[:i] + list(self.net.path(r[i], r[j])) + r[j + 1 :]
        return None if new == r else {k: new}

    def insert(self, routes: Routes) -> Change:
        """Put a node linked to two consecutive stops between them."""
        rnd = self.rnd
        k, r = self._pick(routes)
        if len(r) >= self.limits.max_nodes:
            return None
        i = rnd.randrange(len(r) - 1)
        b = r[i + 1]
        common = [u for u in self.net.neighbours[r[i]] if b in self.net.linked[u] and u not in r]
        if not common:
            return None
        return {k: r[: i + 1] + [rnd.choice(common)] + r[i + 1 :]}

    def delete(self, routes: Routes) -> Change:
        """Drop a stop whose neighbours on the route are linked (or an end)."""
        k, r = self._pick(routes)
        if len(r) <= self.limits.min_nodes:
            return None
        i = self.rnd.randrange(len(r))
        if 0 < i < len(r) - 1 and r[i + 1] not in self.net.linked[r[i - 1]]:
            return None
        return {k: r[:i] + r[i + 1 :]}

    def exchange(self, routes: Routes) -> Change:
        """Swap the tails of two routes at a node they share."""
        rnd = self.rnd
        if self.limits.n_routes < 2:
            return None
        k, m = rnd.sample(range(self.limits.n_routes), 2)
        a, b = routes[k], routes[m]
        shared = sorted(set(a).intersection(b))
        if not shared:
            return None
        c = rnd.choice(shared)
        if rnd.random() < 0.5:
            b = b[::-1]
        i, j = a.index(c), b.index(c)
        return {k: a[:i] + b[j:], m: b[:j] + a[i:]}

    def replace(self, routes: Routes) -> Change:
        """Replace a route by a shortest path between a demand-weighted pair, grown at its ends."""
        rnd, net = self.rnd, self.net
        k = rnd.randrange(self.limits.n_routes)
        pick = int(np.searchsorted(net.pair_cdf, rnd.random() * net.pair_cdf[-1], side="right"))
        a, b = divmod(min(pick, net.pair_cdf.size - 1), net.n)
        path = list(net.path(a, b))
        if len(path) > self.limits.max_nodes:
            return None
        return {k: self._grow_randomly(path)}

    def _grow_randomly(self, path: list[int]) -> list[int]:
        """Add random linked nodes at random ends up to a random length in the limits."""
        rnd = self.rnd
        in_route = set(path)
        target = rnd.randint(max(self.limits.min_nodes, len(path)), self.limits.max_nodes)
        while len(path) < target:
            at_end = rnd.random() < 0.5
            end = path[-1] if at_end else path[0]
            options = [u for u in self.net.neighbours[end] if u not in in_route]
            if not options:
                break
            u = rnd.choice(options)
            path.append(u) if at_end else path.insert(0, u)
            in_route.add(u)
        return path
