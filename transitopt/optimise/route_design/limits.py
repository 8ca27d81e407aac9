"""The constraints on a route set: how many routes, how many nodes per route."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..._errors import TransitoptError
from ..instances import TNDPInstance
from .network import LinkNetwork


class RouteDesignError(TransitoptError, ValueError):
    """Route constraints that no route set can satisfy, or bad design arguments."""


@dataclass(frozen=True)
class RouteLimits:
    """``n_routes`` routes of ``min_nodes..max_nodes`` nodes (inclusive) each."""

    n_routes: int
    min_nodes: int
    max_nodes: int

    def check(self, instance: TNDPInstance) -> None:
        """Raise :class:`RouteDesignError` naming the constraint no route set can meet."""
        n = instance.n_nodes
        if self.n_routes < 1:
            raise RouteDesignError(f"n_routes must be >= 1, got {self.n_routes}")
        if self.min_nodes < 2:
            raise RouteDesignError(
                f"min_nodes must be >= 2 (a route joins at least two nodes), got {self.min_nodes}"
            )
        if self.max_nodes < self.min_nodes:
            raise RouteDesignError(
                f"max_nodes ({self.max_nodes}) is below min_nodes ({self.min_nodes})"
            )
        if self.min_nodes > n:
            raise RouteDesignError(
                f"min_nodes ({self.min_nodes}) exceeds the {n} nodes of {instance.name}"
            )
        if self.n_routes * (self.max_nodes - 1) + 1 < n:
            raise RouteDesignError(
                f"{self.n_routes} routes of at most {self.max_nodes} nodes cannot cover the "
                f"{n} nodes of {instance.name} in one connected network "
                f"(needs n_routes * (max_nodes - 1) + 1 >= {n})"
            )

    def allows(self, route: Sequence[int]) -> bool:
        """Whether a route has an allowed number of nodes and visits none twice."""
        return self.min_nodes <= len(route) <= self.max_nodes and len(set(route)) == len(route)

    def violation(self, network: LinkNetwork, routes: Sequence[Sequence[int]]) -> str:
        """Empty string if the route set is feasible, else what is wrong."""
        if len(routes) != self.n_routes:
            return f"{len(routes)} routes, expected n_routes={self.n_routes}"
        seen = set()
        for k, route in enumerate(routes):
            problem = self._route_violation(network, route)
            if problem:
                return f"route {k + 1}{problem}"
            key = min(tuple(route), tuple(reversed(route)))
            if key in seen:
                return f"route {k + 1} duplicates another route"
            seen.add(key)
        if not network.connected(routes):
            return "the routes do not cover every node in one connected network"
        return ""

    def _route_violation(self, network: LinkNetwork, route: Sequence[int]) -> str:
        """What is wrong with one route (the text follows "route k", no space), or ``""``."""
        if not (self.min_nodes <= len(route) <= self.max_nodes):
            return (
                f" has {len(route)} nodes, outside min_nodes..max_nodes = "
                f"{self.min_nodes}..{self.max_nodes}"
            )
        if len(set(route)) != len(route):
            return " visits a node twice"
        for a, b in zip(route[:-1], route[1:], strict=True):
            if not np.isfinite(network.travel_time[a, b]):
                return ": no link between consecutive nodes"
        return ""
