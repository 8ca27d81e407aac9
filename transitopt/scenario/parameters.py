"""The one conversion from a scenario file's ``[model]`` (and fares) to the model's parameters."""

from __future__ import annotations

from collections.abc import Mapping

from ..assignment.multimodal import (
    FeedbackParameters,
    ModeChoiceParameters,
    MultimodalParameters,
    Nest,
    RoadParameters,
)
from ..transit.capacity import CapacityParameters
from .schema import BaselineFile

#: ``[model]`` fields that are parameters of the multimodal model under the same name
_SHARED = (
    "value_of_time_per_h",
    "car_occupancy",
    "car_cost_per_km",
    "parking_cost",
    "car_terminal_min",
    "car_speed_kph",
    "car_detour_factor",
    "bus_pcu",
    "bus_max_speed_kph",
    "walk_speed_mps",
    "walk_detour_factor",
    "max_access_walk_m",
    "max_transfer_walk_m",
    "walk_weight",
    "wait_weight",
    "boarding_penalty_min",
    "transfer_penalty_min",
    "max_stop_snap_m",
    "motorcycle_occupancy",
    "motorcycle_cost_per_km",
    "motorcycle_parking_cost",
    "motorcycle_terminal_min",
    "motorcycle_pcu",
    "pce_by_road_type",
    "ojek_fare_per_km",
    "ojek_flag_fall",
    "ojek_min_fare",
    "ojek_wait_min",
)


def model_parameters(
    baseline: BaselineFile, changes: Mapping[str, float] | None = None
) -> MultimodalParameters:
    """The :class:`MultimodalParameters` of a baseline: its ``[model]`` and ``transit.trip_fare``,
    with the ``[model]`` values an alternative's ``change_mode_costs`` edits replaced (``changes``).

    ``detour_factor`` (transit segments off the street network) is not a field of the
    file and keeps the model default.
    """
    spec = baseline.model
    if changes:
        spec = spec.model_copy(update=dict(changes))
    mc = spec.mode_choice
    cap = spec.transit_capacity
    return MultimodalParameters(
        **{name: getattr(spec, name) for name in _SHARED},
        trip_fare=baseline.transit.trip_fare,
        mode_choice=ModeChoiceParameters(
            **mc.model_dump()
            | {
                "modes": tuple(mc.modes),
                "nests": tuple(Nest(n.name, tuple(n.modes), float(n.scale)) for n in mc.nests),
            }
        ),
        road=RoadParameters(**spec.assignment.model_dump()),
        feedback=FeedbackParameters(**spec.feedback.model_dump()),
        transit_capacity=(
            CapacityParameters(**cap.model_dump(exclude={"enabled"})) if cap.enabled else None
        ),
    )
