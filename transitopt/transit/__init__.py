"""Transit supply (stops, lines, headways), its importers (GTFS, OSM route relations),
the transit graph and the optimal-strategies assignment (unconstrained, or with line
capacities and crowding)."""

from .assign import SKIM_NAMES, TransitAssignment, assign_transit
from .capacity import CapacityAssignment, CapacityParameters, assign_transit_capacity
from .defaults import MODE_DEFAULTS, MODES, WAIT_FACTOR, GraphParameters
from .graph import LINK_KINDS, TransitGraph, build_transit_graph
from .gtfs import read_gtfs
from .lines import Line, Stop, TransitSupply
from .osm_routes import read_osm_routes
from .report import ImportReport
from .sources import read_supply

__all__ = [
    "LINK_KINDS",
    "MODES",
    "MODE_DEFAULTS",
    "SKIM_NAMES",
    "WAIT_FACTOR",
    "CapacityAssignment",
    "CapacityParameters",
    "GraphParameters",
    "ImportReport",
    "Line",
    "Stop",
    "TransitAssignment",
    "TransitGraph",
    "TransitSupply",
    "assign_transit",
    "assign_transit_capacity",
    "build_transit_graph",
    "read_gtfs",
    "read_osm_routes",
    "read_supply",
]
