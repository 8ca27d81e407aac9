"""Evaluate a transit route set with the UTRP literature's passenger and operator model.

Passengers take the minimum-cost path through the route network: in-vehicle time plus
``transfer_penalty_min`` (5 minutes in Mandl 1979 and Mumford 2013) per transfer, ties
broken by fewer transfers; routes run in both directions; a stop visited twice by one
route is one node of that route's graph.

* ATT: demand-weighted mean cost in minutes (transfer penalties included) over the demand
  that has a path;
* d0, d1, d2: % of all demand travelling with 0, 1, 2 transfers; dun: % with more than
  two transfers or no path at all (``d_nopath`` gives the latter alone);
* TRT: sum of the one-way travel times of the routes in minutes (the operator cost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import NetworkError
from ..kernels.tndp import evaluate_routes_fast, route_set_skim
from .instances import TNDPInstance

#: minutes added per transfer in the literature's model
TRANSFER_PENALTY_MIN = 5.0


@dataclass(frozen=True)
class RouteSetEvaluation:
    """Objectives of one route set (see the module docstring for definitions).

    Attributes
    ----------
    att
        Average travel time in minutes incl. transfer penalties (passenger objective).
    d0, d1, d2, dun
        % of demand with 0, 1, 2 transfers, and with more than 2 or no path.
    trt
        Total one-way route time in minutes (operator objective).
    d_nopath
        % of demand with no path at all (included in ``dun``).
    n_routes
        Number of routes.
    """

    att: float
    d0: float
    d1: float
    d2: float
    dun: float
    trt: float
    d_nopath: float
    n_routes: int

    def as_dict(self) -> dict[str, float]:
        """The fields as a plain dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_raw(cls, raw: np.ndarray, n_routes: int) -> RouteSetEvaluation:
        """From the (8,) result of :func:`~transitopt.kernels.tndp.evaluate_routes_fast`."""
        cost, q0, q1, q2, q_more, q_none, total, trt = (float(v) for v in raw)
        served = total - q_none
        pct = 100.0 / total if total > 0 else 0.0
        return cls(
            att=cost / served if served > 0 else float("inf"),
            d0=q0 * pct,
            d1=q1 * pct,
            d2=q2 * pct,
            dun=(q_more + q_none) * pct,
            trt=trt,
            d_nopath=q_none * pct,
            n_routes=n_routes,
        )


def routes_to_arrays(
    instance: TNDPInstance, routes: Sequence[Sequence[int]], *, ids: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a route set and flatten it to ``(route_ptr, stops)`` node indices.

    Parameters
    ----------
    instance
        The network.
    routes
        Routes as sequences of node ids (``ids=True``, the file's ids) or of node
        indices ``0..n-1`` (``ids=False``).

    Raises
    ------
    NetworkError
        A route has fewer than two stops, an unknown node, or two consecutive stops
        that are not joined by a link.
    """
    if len(routes) == 0:
        raise NetworkError("route set is empty")
    flat = []
    ptr = [0]
    n = instance.n_nodes
    for k, route in enumerate(routes):
        if len(route) < 2:
            raise NetworkError(f"route {k + 1} has {len(route)} stop(s); a route needs at least 2")
        if ids:
            try:
                idx = instance.index_of(route)
            except KeyError as exc:
                raise NetworkError(f"route {k + 1}: {exc.args[0]}") from None
        else:
            idx = np.asarray(route, dtype=np.int64)
            if idx.min() < 0 or idx.max() >= n:
                raise NetworkError(f"route {k + 1}: node index outside 0..{n - 1}")
        for a, b in zip(idx[:-1], idx[1:], strict=True):
            if a == b or not np.isfinite(instance.travel_time[a, b]):
                na, nb = (instance.node_id[a], instance.node_id[b]) if ids else (a, b)
                raise NetworkError(
                    f"route {k + 1}: no link between consecutive stops {na} and {nb}"
                )
        flat.append(idx)
        ptr.append(ptr[-1] + idx.size)
    return np.asarray(ptr, dtype=np.int64), np.concatenate(flat).astype(np.int64)


def evaluate_route_set(
    instance: TNDPInstance,
    routes: Sequence[Sequence[int]],
    *,
    ids: bool = True,
    transfer_penalty_min: float = TRANSFER_PENALTY_MIN,
) -> RouteSetEvaluation:
    """ATT, d0, d1, d2, dun and TRT of a route set on an instance.

    Parameters
    ----------
    instance
        The network and demand.
    routes
        Routes as sequences of node ids (default) or of indices ``0..n-1`` (``ids=False``).
    transfer_penalty_min
        Minutes added per transfer.

    Returns
    -------
    RouteSetEvaluation

    Examples
    --------
    >>> inst = read_tndp_instance("Mandl")                        # doctest: +SKIP
    >>> evaluate_route_set(inst, [[1, 2, 3, 6, 8, 10, 11, 12], ...])  # doctest: +SKIP
    """
    ptr, stops = routes_to_arrays(instance, routes, ids=ids)
    raw = evaluate_routes_fast(
        ptr, stops, instance.travel_time, instance.demand, float(transfer_penalty_min)
    )
    return RouteSetEvaluation.from_raw(raw, len(routes))


def route_set_travel_times(
    instance: TNDPInstance,
    routes: Sequence[Sequence[int]],
    *,
    ids: bool = True,
    transfer_penalty_min: float = TRANSFER_PENALTY_MIN,
) -> tuple[np.ndarray, np.ndarray]:
    """(n, n) passenger cost in minutes (incl. penalties; ``inf`` no path) and (n, n) transfers (-1 no path)."""
    ptr, stops = routes_to_arrays(instance, routes, ids=ids)
    return route_set_skim(ptr, stops, instance.travel_time, float(transfer_penalty_min))
