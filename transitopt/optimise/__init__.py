"""Optimisation: transit route design (TNDP/UTRP) and its benchmark instances.

Frequency setting under a fleet budget on scenarios: :func:`optimise_frequencies`.
Route design on a city's scenario: :func:`design_city` and :func:`write_design`.
"""

from .benchmark import STANDARD_CASES, BenchmarkCase, published_results, run_case, standard_cases
from .city import CityDesign, CityDesignError, CityNetwork, city_network, design_city, write_design
from .evaluation import (
    TRANSFER_PENALTY_MIN,
    RouteSetEvaluation,
    evaluate_route_set,
    route_set_travel_times,
    routes_to_arrays,
)
from .frequencies import (
    CLOCK_FACE_MIN,
    FrequencyError,
    FrequencyResult,
    optimise_frequencies,
    write_scenario,
)
from .instances import (
    TNDPInstance,
    read_literature_route_sets,
    read_route_set,
    read_tndp_instance,
    write_route_set,
)
from .route_design import RouteDesignError, RouteDesignResult, design_routes

__all__ = [
    "CityDesign",
    "CityDesignError",
    "CityNetwork",
    "city_network",
    "design_city",
    "write_design",
    "CLOCK_FACE_MIN",
    "FrequencyError",
    "FrequencyResult",
    "optimise_frequencies",
    "write_scenario",
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
