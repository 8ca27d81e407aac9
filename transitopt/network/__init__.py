"""Street networks: loading (OSM, GraphML, TNTP), attribute imputation, compiling to a :class:`Network`."""

from .compiled import MODE_ALL, MODE_BIKE, MODE_BUS, MODE_CAR, MODE_WALK, Network

__all__ = ["Network", "MODE_ALL", "MODE_BIKE", "MODE_BUS", "MODE_CAR", "MODE_WALK"]
