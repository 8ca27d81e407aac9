"""Transit supply (stops, lines, headways), its importers (GTFS, OSM route relations),
the transit graph and the optimal-strategies assignment."""

from .defaults import MODE_DEFAULTS, MODES, WAIT_FACTOR, GraphParameters
from .gtfs import read_gtfs
from .lines import Line, Stop, TransitSupply
from .report import ImportReport

__all__ = [
    "MODES",
    "MODE_DEFAULTS",
    "WAIT_FACTOR",
    "GraphParameters",
    "ImportReport",
    "Line",
    "Stop",
    "TransitSupply",
    "read_gtfs",
]
