"""Travel demand: zones and origin-destination matrices."""

from .od import ODMatrix

__all__ = ["ODMatrix"]

# trip generation, gravity model and land-use proxies (helper ACCESS)
from .gravity import (  # noqa: E402
    GravityResult,
    TripEnds,
    furness,
    generate_trips,
    gravity_model,
    intrazonal_cost,
)
from .landuse import (  # noqa: E402
    LandUse,
    LandUseParameters,
    node_totals,
    read_landuse,
    read_landuse_table,
    zone_totals,
)

__all__ += [
    "GravityResult",
    "LandUse",
    "LandUseParameters",
    "TripEnds",
    "furness",
    "generate_trips",
    "gravity_model",
    "intrazonal_cost",
    "node_totals",
    "read_landuse",
    "read_landuse_table",
    "zone_totals",
]
