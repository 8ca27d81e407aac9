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
    SnappingError,
    TransitoptError,
)

__version__ = "0.1.0"

#: public name -> sub-module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    # street networks
    "Network": "network",
    "load_network": "network",
    "export_network": "network",
    "from_networkx": "network",
    "summarize_network": "network",
    "load_tntp": "network.tntp",
    # shortest paths, skims and zones
    "shortest_path": "paths",
    "skim": "paths",
    "snap_points": "paths",
    "zone_skim": "skims",
    "write_skim": "skims",
    "grid_zones": "zones",
    "read_zones": "zones",
    # demand
    "ODMatrix": "demand",
    "read_demand": "demand.io",
    "gravity_model": "demand",
    "read_landuse": "demand",
    # road traffic assignment
    "assign": "assignment",
    "UserEquilibrium": "assignment",
    # transit
    "read_supply": "transit",
    "read_gtfs": "transit",
    "read_osm_routes": "transit",
    "build_transit_graph": "transit",
    "assign_transit": "transit",
    # accessibility
    "city_accessibility": "city_access",
    "transit_accessibility": "accessibility",
    "isochrones": "accessibility",
    # scenarios
    "load_scenario": "scenario",
    "validate_scenario": "scenario",
    "evaluate": "scenario",
    "evaluate_file": "scenario",
    "compare": "scenario",
    "compare_files": "scenario",
    "write_comparison": "scenario",
    "read_result": "scenario",
    "write_result": "scenario",
    "example_scenarios": "scenario",
    "write_report": "report",
    "write_maps": "report",
    # optimisation
    "read_tndp_instance": "optimise",
    "evaluate_route_set": "optimise",
    "design_routes": "optimise",
    "optimise_frequencies": "optimise",
    # many cities x policies
    "load_batch": "batch",
    "run_batch": "batch",
}

__all__ = [
    "ConvergenceWarning",
    "DemandError",
    "GeocodingError",
    "InputFileError",
    "NetworkError",
    "SnappingError",
    "TransitoptError",
    "__version__",
    *_EXPORTS,
]


def __getattr__(name: str) -> Any:
    """Load a public name (or a sub-module such as ``paths``) on first access."""
    module = _EXPORTS.get(name)
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
    from .assignment import UserEquilibrium, assign
    from .batch import load_batch, run_batch
    from .city_access import city_accessibility
    from .demand import ODMatrix, gravity_model, read_landuse
    from .demand.io import read_demand
    from .network import Network, export_network, from_networkx, load_network, summarize_network
    from .network.tntp import load_tntp
    from .optimise import (
        design_routes,
        evaluate_route_set,
        optimise_frequencies,
        read_tndp_instance,
    )
    from .paths import shortest_path, skim, snap_points
    from .report import write_maps, write_report
    from .scenario import (
        compare,
        compare_files,
        evaluate,
        evaluate_file,
        example_scenarios,
        load_scenario,
        read_result,
        validate_scenario,
        write_comparison,
        write_result,
    )
    from .skims import write_skim, zone_skim
    from .transit import (
        assign_transit,
        build_transit_graph,
        read_gtfs,
        read_osm_routes,
        read_supply,
    )
    from .zones import grid_zones, read_zones
