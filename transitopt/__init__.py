"""transitopt: transport network optimisation for cities with OpenStreetMap data.

``import transitopt as to`` gives the planner's verbs; each is loaded on first use, so the
import itself stays cheap::

    net = to.load_network("helsinki")            # OSM, GraphML, TNTP, place name, bbox
    times = to.skim(net, net.node_id[:50])       # seconds, shortest paths
    supply, report = to.read_supply("helsinki")  # GTFS or OSM route relations
    base = to.evaluate_file("scenarios/helsinki_base.toml")

Sub-packages (``to.network``, ``to.paths``, ``to.transit``, ``to.scenario``, ...) hold the
rest; ``to.accessibility`` is the accessibility module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    ConvergenceWarning,
    DemandError,
    GeocodingError,
    InputFileError,
    NetworkError,
    NumericalError,
    SnappingError,
    TransitoptError,
)

__version__ = "0.1.0"

#: sub-module -> the public names it defines (each imported on first access)
_LAZY: dict[str, tuple[str, ...]] = {
    "network": ("Network", "load_network", "export_network", "from_networkx", "summarize_network"),
    "network.tntp": ("load_tntp",),
    "paths": ("shortest_path", "skim", "snap_points"),
    "skims": ("zone_skim", "write_skim"),
    "zones": ("grid_zones", "read_zones"),
    "demand": ("ODMatrix", "read_od", "gravity_model", "read_landuse"),
    "assignment": ("assign", "UserEquilibrium", "run_multimodal", "MultimodalParameters"),
    "transit": (
        "read_supply",
        "read_gtfs",
        "read_osm_routes",
        "build_transit_graph",
        "assign_transit",
    ),
    "accessibility": ("transit_accessibility", "isochrones"),
    "city_access": ("city_accessibility",),
    "scenario": (
        "load_scenario",
        "validate_scenario",
        "evaluate",
        "evaluate_file",
        "compare",
        "explain",
        "read_result",
        "write_result",
        "example_scenarios",
    ),
    "report": ("compare_files", "write_comparison", "write_report", "write_maps"),
    "optimise": (
        "read_tndp_instance",
        "evaluate_route_set",
        "design_routes",
        "optimise_frequencies",
        "design_city",
        "write_design",
    ),
    "batch": ("load_batch", "run_batch"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    # errors and warnings
    "ConvergenceWarning",
    "DemandError",
    "NumericalError",
    "GeocodingError",
    "InputFileError",
    "NetworkError",
    "SnappingError",
    "TransitoptError",
    "__version__",
    # street networks
    "Network",
    "export_network",
    "from_networkx",
    "load_network",
    "load_tntp",
    "summarize_network",
    # shortest paths, skims, zones, demand
    "ODMatrix",
    "gravity_model",
    "grid_zones",
    "read_od",
    "read_landuse",
    "read_zones",
    "shortest_path",
    "skim",
    "snap_points",
    "write_skim",
    "zone_skim",
    # road and transit assignment, the multimodal model, accessibility
    "MultimodalParameters",
    "UserEquilibrium",
    "assign",
    "assign_transit",
    "build_transit_graph",
    "city_accessibility",
    "isochrones",
    "read_gtfs",
    "read_osm_routes",
    "read_supply",
    "run_multimodal",
    "transit_accessibility",
    # scenarios and reports
    "compare",
    "compare_files",
    "evaluate",
    "evaluate_file",
    "example_scenarios",
    "explain",
    "load_scenario",
    "read_result",
    "validate_scenario",
    "write_comparison",
    "write_maps",
    "write_report",
    "write_result",
    # optimisation, batches
    "design_city",
    "design_routes",
    "evaluate_route_set",
    "load_batch",
    "optimise_frequencies",
    "read_tndp_instance",
    "run_batch",
    "write_design",
]


def __getattr__(name: str) -> Any:
    """Load a public name (or a sub-module such as ``paths``) on first access."""
    module = _MODULE_OF.get(name)
    if module is None:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what the names above resolve to, for type checkers and editors
    from .accessibility import isochrones, transit_accessibility
    from .assignment import MultimodalParameters, UserEquilibrium, assign, run_multimodal
    from .batch import load_batch, run_batch
    from .city_access import city_accessibility
    from .demand import ODMatrix, gravity_model, read_landuse, read_od
    from .network import Network, export_network, from_networkx, load_network, summarize_network
    from .network.tntp import load_tntp
    from .optimise import (
        design_city,
        design_routes,
        evaluate_route_set,
        optimise_frequencies,
        read_tndp_instance,
        write_design,
    )
    from .paths import shortest_path, skim, snap_points
    from .report import compare_files, write_comparison, write_maps, write_report
    from .scenario import example_scenarios, load_scenario, read_result, write_result
    from .scenario.compare import compare
    from .scenario.evaluate import evaluate, evaluate_file, validate_scenario
    from .scenario.explain import explain
    from .skims import write_skim, zone_skim
    from .transit import (
        assign_transit,
        build_transit_graph,
        read_gtfs,
        read_osm_routes,
        read_supply,
    )
    from .zones import grid_zones, read_zones
