"""Metrics of an evaluated scenario: plain functions from tables and arrays to numbers and tables.

Each module computes one family of indicators from data an evaluation already holds
(link flows and times, transit loads, skims, zone attributes); none runs an
assignment. Every function is small enough to check by hand (see ``tests/test_metrics.py``).
"""

from .accessibility import (
    ACCESS_VARIANTS,
    CROWDED_VARIANT,
    crowded_access,
    cumulative_opportunities,
    decay_opportunities,
    population_weighted_mean,
    zone_access,
)
from .congestion import VOC_BINS, road_summary, voc_distribution
from .counts import FLOW_BANDS_VPH, count_statistics, geh, meets_flow_criterion, rmse_by_band
from .emissions import EMISSION_FACTORS, EmissionFactors, co2_kg_per_hour
from .equity import gains_losses, gini, lorenz_share, palma
from .modes import mode_shares
from .operator import line_operations, operator_summary
from .transit import (
    CROWDING_SEGMENT_COLUMNS,
    crowding_by_link,
    has_crowding,
    line_summary,
    transit_averages,
    transit_summary,
    zone_crowding,
)
from .vehicles import VEHICLE_KIND, class_co2_kg, class_flows, vehicle_km

__all__ = [
    "ACCESS_VARIANTS",
    "CROWDED_VARIANT",
    "CROWDING_SEGMENT_COLUMNS",
    "EMISSION_FACTORS",
    "FLOW_BANDS_VPH",
    "VEHICLE_KIND",
    "VOC_BINS",
    "EmissionFactors",
    "class_co2_kg",
    "class_flows",
    "co2_kg_per_hour",
    "count_statistics",
    "crowded_access",
    "crowding_by_link",
    "cumulative_opportunities",
    "decay_opportunities",
    "gains_losses",
    "geh",
    "has_crowding",
    "gini",
    "line_operations",
    "line_summary",
    "lorenz_share",
    "meets_flow_criterion",
    "mode_shares",
    "operator_summary",
    "palma",
    "population_weighted_mean",
    "rmse_by_band",
    "road_summary",
    "transit_averages",
    "transit_summary",
    "vehicle_km",
    "voc_distribution",
    "zone_access",
    "zone_crowding",
]
