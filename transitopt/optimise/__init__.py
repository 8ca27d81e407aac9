"""Optimisation: transit route design (TNDP/UTRP) and its benchmark instances.

Frequency setting on scenarios will live here too once the scenario layer exists.
"""

from .benchmark import STANDARD_CASES, BenchmarkCase, published_results, run_case, standard_cases
from .evaluation import (
    TRANSFER_PENALTY_MIN,
    RouteSetEvaluation,
    evaluate_route_set,
    route_set_travel_times,
    routes_to_arrays,
)
from .instances import (
    TNDPInstance,
    read_literature_route_sets,
    read_route_set,
    read_tndp_instance,
    write_route_set,
)
from .routes import RouteDesignError, RouteDesignResult, design_routes

__all__ = [
    "STANDARD_CASES",
    "BenchmarkCase",
    "published_results",
    "run_case",
    "standard_cases",
    "TRANSFER_PENALTY_MIN",
    "RouteDesignError",
    "RouteDesignResult",
    "RouteSetEvaluation",
    "TNDPInstance",
    "design_routes",
    "evaluate_route_set",
    "read_literature_route_sets",
    "read_route_set",
    "read_tndp_instance",
    "route_set_travel_times",
    "routes_to_arrays",
    "write_route_set",
]
