"""Travel demand: OD matrices (one reader, one OMX writer), trip generation, the gravity
model and land-use proxies for residents and jobs."""

from .counts import (
    Boardings,
    LinkCounts,
    combine_counts,
    counts_file_kinds,
    link_counts,
    read_boardings,
    read_counts,
)
from .gravity import (
    GravityResult,
    TripEnds,
    fit_decay,
    furness,
    generate_trips,
    gravity_demand,
    gravity_model,
    intrazonal_cost,
)
from .io import OD_FORMATS, attach_to_nodes, read_od
from .landuse import (
    LandUse,
    LandUseParameters,
    node_totals,
    read_landuse,
    read_landuse_table,
    zone_totals,
)
from .od import OMX_ZONE_MAPPING, ODMatrix, write_omx

__all__ = [
    "OD_FORMATS",
    "OMX_ZONE_MAPPING",
    "GravityResult",
    "LandUse",
    "LandUseParameters",
    "Boardings",
    "LinkCounts",
    "ODMatrix",
    "TripEnds",
    "attach_to_nodes",
    "furness",
    "generate_trips",
    "fit_decay",
    "gravity_demand",
    "gravity_model",
    "intrazonal_cost",
    "combine_counts",
    "counts_file_kinds",
    "link_counts",
    "node_totals",
    "read_landuse",
    "read_landuse_table",
    "read_boardings",
    "read_counts",
    "read_od",
    "write_omx",
    "zone_totals",
]
