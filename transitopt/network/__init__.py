"""Street networks: loading (OSM, GraphML, TNTP), attribute imputation, compiling to a :class:`Network`."""

from .compiled import MODE_ALL, MODE_BIKE, MODE_BUS, MODE_CAR, MODE_WALK, Network
from .export import export_network
from .osm import from_networkx
from .sources import load_network
from .summary import NetworkSummary, summarize_network

__all__ = [
    "MODE_ALL",
    "MODE_BIKE",
    "MODE_BUS",
    "MODE_CAR",
    "MODE_WALK",
    "Network",
    "NetworkSummary",
    "export_network",
    "from_networkx",
    "load_network",
    "summarize_network",
]
