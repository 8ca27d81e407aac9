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

Parts, each in its module:

* :mod:`.network`: the link network (neighbours, shortest paths, pair demand);
* :mod:`.limits`: the constraints (routes, nodes per route) and the feasibility check;
* :mod:`.rules`: optional route rules (minutes, km, terminals, no U-turns; a penalty in
  the search) and the fleet-aware waiting term;
* :mod:`.start`: the start route set (greedy from candidate paths, repaired);
* :mod:`.moves`: the neighbourhood moves;
* :mod:`.scoring`: evaluation, the weighted objective and the Pareto archive;
* :mod:`.anneal`: the annealing loop, its budget, history and progress reports;
* :mod:`.design`: :func:`design_routes`, the passenger run or the weight sweep.
"""

from .design import Objective, RouteDesignResult, design_routes
from .limits import RouteDesignError
from .rules import FleetWait, RouteRules

__all__ = [
    "FleetWait",
    "Objective",
    "RouteDesignError",
    "RouteDesignResult",
    "RouteRules",
    "design_routes",
]
