"""The scenario file schema (TOML), validated with pydantic before anything is computed.

A *baseline* file describes a whole situation; an *alternative* names its baseline and
lists edits. Every field, its unit and its default is documented here and in
``docs/scenarios.md``; the model behind the parameters is described in ``docs/model.md``.
Errors name the file, the line, the field (dotted path, e.g. ``edits[2].headway_min``)
and what was expected (:func:`format_validation_error`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .._errors import InputFileError
from ..defaults import deep_merge, section
from ..network.imputation import available_profiles, profile_model_defaults, profile_section
from ..transit.defaults import MODES

#: default values (with their sources) from ``transitopt/data/defaults.toml``
_MODEL = section("model")
_CHOICE = section("model.mode_choice")
_ASSIGNMENT = section("model.assignment")
_FEEDBACK = section("model.feedback")
_GRAPH = section("transit_graph")
_EMISSIONS = section("emissions")
_CALIBRATION = section("calibration")
_CAPACITY = section("transit_capacity")

#: edit types an alternative may list, in the order of docs/scenarios.md
EDIT_TYPES = (
    "add_line",
    "remove_line",
    "reroute_line",
    "change_line",
    "bus_lane",
    "change_road",
    "close_road",
    "add_road",
    "restrict_road",
    "change_mode_costs",
)

_TIME = r"^\d{1,2}:\d{2}(:\d{2})?$"


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    parts += [0] * (3 - len(parts))
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


class ScenarioError(InputFileError):
    """A scenario file is malformed, refers to something that does not exist, or is out of range."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Positive = Annotated[float, Field(gt=0)]
#: places (seated + standing) per vehicle: more than 0, at most a long metro train
Places = Annotated[float, Field(gt=0, le=5000)]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


# ---------------------------------------------------------------------------- stops and lines
class StopPoint(_Spec):
    """A stop given by its WGS84 coordinates (degrees)."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    name: str | None = None


class StopNode(_Spec):
    """A stop at an OSM node of the street network (``{node = 123}``)."""

    node: int
    name: str | None = None


def _stop_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "stop_id"
    if isinstance(value, int) and not isinstance(value, bool):
        return "node_id"
    if isinstance(value, dict | StopPoint | StopNode):
        return (
            "node"
            if (isinstance(value, StopNode) or (isinstance(value, dict) and "node" in value))
            else "point"
        )
    return None


#: a stop reference: an existing stop id (str), an OSM node id (int), ``{lat, lon}`` or ``{node}``
StopRef = Annotated[
    Annotated[str, Tag("stop_id")]
    | Annotated[int, Tag("node_id")]
    | Annotated[StopPoint, Tag("point")]
    | Annotated[StopNode, Tag("node")],
    Discriminator(
        _stop_kind,
        custom_error_type="stop",
        custom_error_message="a stop is a stop id (text), an OSM node id (integer), {lat = .., lon = ..} or {node = ..}",
    ),
]
#: a point: an OSM node id (integer) or ``{lat, lon}``
NodeRef = Annotated[
    Annotated[int, Tag("node_id")] | Annotated[StopPoint, Tag("point")],
    Discriminator(
        lambda v: (
            "node_id"
            if isinstance(v, int) and not isinstance(v, bool)
            else "point"
            if isinstance(v, dict | StopPoint)
            else None
        ),
        custom_error_type="node",
        custom_error_message="a node is an OSM node id (integer) or {lat = .., lon = ..}",
    ),
]


class StopSpec(_Spec):
    """A named stop defined in the baseline file (``[[transit.stops]]``)."""

    id: Annotated[str, Field(min_length=1)]
    name: str | None = None
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class LineFields(_Spec):
    """Fields of a line written in a scenario file."""

    id: Annotated[str, Field(min_length=1)]
    name: str | None = None
    long_name: str | None = None
    operator: str | None = None
    mode: Literal[MODES] = "bus"  # type: ignore[valid-type]
    stops: Annotated[list[StopRef], Field(min_length=2)]
    headway_min: Annotated[float, Field(gt=0, le=1440)]
    capacity: Places | None = None
    speed_kph: Annotated[float, Field(gt=0, le=300)] | None = None
    dwell_s: Annotated[float, Field(ge=0, le=600)] | None = None
    fare: NonNegative | None = None
    #: boarded and left anywhere along the route (angkot, share taxis), not only at stops
    hail_and_ride: bool = False
    both_directions: bool = False
    #: stops of the return direction in its order of travel (with ``both_directions``;
    #: default: ``stops`` reversed), e.g. the stops on the other side of a divided avenue
    stops_back: Annotated[list[StopRef], Field(min_length=2)] | None = None

    @model_validator(mode="after")
    def _back_needs_both(self) -> LineFields:
        if self.stops_back is not None and not self.both_directions:
            raise ValueError("stops_back needs both_directions = true")
        return self


# ---------------------------------------------------------------------------- baseline sections
class ScenarioMeta(_Spec):
    name: str | None = None
    description: str = ""
    baseline: str | None = None


class NetworkSpec(_Spec):
    """``[network]``: the street network (``source = "none"`` for none)."""

    source: Annotated[str, Field(min_length=1)] = "helsinki"
    profile: str = "generic"
    walk: bool = True


class PeriodSpec(_Spec):
    """``[period]``: the analysis period (GTFS headways are counted in it)."""

    name: str = "am"
    start: Annotated[str, Field(pattern=_TIME)] = "07:00"
    end: Annotated[str, Field(pattern=_TIME)] = "08:00"
    date: str | None = None

    @model_validator(mode="after")
    def _order(self) -> PeriodSpec:
        if _seconds(self.end) <= _seconds(self.start):
            raise ValueError(f"end {self.end!r} must be after start {self.start!r}")
        return self

    @property
    def hours(self) -> float:
        """Length of the period (h)."""
        return (_seconds(self.end) - _seconds(self.start)) / 3600.0


class ZonesSpec(_Spec):
    """``[zones]``: a CSV of zone points or a square grid over the network."""

    file: str | None = None
    grid_cell_m: Annotated[float, Field(gt=0)] = 300.0
    weights: Literal["street_length", "nodes", "stops", "uniform", "landuse"] = "street_length"
    population_total: NonNegative | None = None
    jobs_total: NonNegative | None = None
    min_weight_share: Share = 0.0


class SynthesisSpec(_Spec):
    """``[demand.synthesis]``: doubly constrained gravity model over the zones."""

    trips_per_hour: Positive
    decay_per_km: NonNegative = 0.5
    detour_factor: Annotated[float, Field(ge=1, le=5)] = 1.3


class ExternalSpec(_Spec):
    """``[demand.external]``: gateways where major roads leave a clipped extract, with
    through and external-internal vehicle trips (:mod:`transitopt.demand.external`);
    values not given come from the profile's ``[external]``."""

    utilisation: Annotated[float, Field(ge=0, le=2)] | None = None
    through_share: Share | None = None
    vehicle_shares: dict[Literal["car", "motorcycle"], Share] | None = None
    road_classes: list[str] | None = None
    min_through_km: NonNegative | None = None
    decay_per_km: NonNegative | None = None
    boundary_m: NonNegative | None = None
    #: cordon counts (a counts CSV, transitopt.demand.counts) replacing the capacity rule
    #: on the gateways they count
    counts_file: str | None = None


class DemandSpec(_Spec):
    """``[demand]``: an OD file (person trips per hour, all modes) or synthesis parameters."""

    od_file: str | None = None
    synthesis: SynthesisSpec | None = None
    scale: Positive = 1.0
    external: ExternalSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DemandSpec:
        if (self.od_file is None) == (self.synthesis is None):
            raise ValueError("give exactly one of od_file or [demand.synthesis]")
        return self


class TransitSpec(_Spec):
    """``[transit]``: lines from OSM route relations, a GTFS feed and/or the file itself."""

    osm_routes: bool = False
    route_types: list[str] | None = None
    gtfs: str | None = None
    gtfs_mode: Literal[MODES] | None = None  # type: ignore[valid-type]
    gtfs_headway_min: (
        Annotated[float, Field(gt=0, le=1440)]
        | dict[str, Annotated[float, Field(gt=0, le=1440)]]
        | None
    ) = None
    #: places per vehicle of the GTFS lines: one number, or by route id, short name or
    #: line id (``"*"``: the rest); overrides the feed's ``vehicle_capacity`` and the
    #: mode defaults
    gtfs_capacity: Places | dict[str, Places] | None = None
    trip_fare: NonNegative = 0.0
    line_fare: NonNegative = 0.0
    use_timetable_times: bool = True
    #: lines of OSM and GTFS boarded anywhere along their route: None (default) as the
    #: source marks them (GTFS angkot/share taxis, OSM route=share_taxi/minibus), or all/none
    hail_and_ride: bool | None = None
    exclude: list[str] = []
    stops: list[StopSpec] = []
    lines: list[LineFields] = []


#: the modes of the choice set (transitopt.assignment.mode_choice.MODES)
ChoiceMode = Literal["car", "motorcycle", "ojek", "transit", "walk"]


class NestSpec(_Spec):
    """``[[model.mode_choice.nests]]``: a nest of modes of the nested logit."""

    name: Annotated[str, Field(min_length=1)]
    modes: Annotated[list[ChoiceMode], Field(min_length=2)]
    scale: Annotated[float, Field(gt=0, le=1)]


class ModeChoiceSpec(_Spec):
    """``[model.mode_choice]``: multinomial (or, with ``nests``, nested) logit on generalised minutes."""

    beta_per_min: Annotated[float, Field(lt=0, ge=-5)] = _CHOICE["beta_per_min"]
    asc_car: float = _CHOICE["asc_car"]
    asc_transit: float = _CHOICE["asc_transit"]
    asc_walk: float = _CHOICE["asc_walk"]
    asc_motorcycle: float = _CHOICE["asc_motorcycle"]
    asc_ojek: float = _CHOICE["asc_ojek"]
    max_walk_km: Positive = _CHOICE["max_walk_km"]
    modes: list[ChoiceMode] = _CHOICE["modes"]
    nests: list[NestSpec] = _CHOICE["nests"]

    @model_validator(mode="after")
    def _nests_fit(self) -> ModeChoiceSpec:
        seen: dict[str, str] = {}
        for nest in self.nests:
            for mode in nest.modes:
                if mode in seen:
                    raise ValueError(
                        f"mode {mode!r} is in nests {seen[mode]!r} and {nest.name!r}: a mode "
                        "belongs to at most one nest"
                    )
                seen[mode] = nest.name
        return self


class AssignmentSpec(_Spec):
    """``[model.assignment]``: the road equilibrium inside each feedback iteration."""

    algorithm: Literal["msa", "fw", "cfw", "bfw", "algb"] = _ASSIGNMENT["algorithm"]
    gap: Annotated[float, Field(gt=0, lt=1)] = _ASSIGNMENT["gap"]
    max_iter: Annotated[int, Field(ge=1, le=100_000)] = _ASSIGNMENT["max_iter"]


class FeedbackSpec(_Spec):
    """``[model.feedback]``: the outer loop (MSA on the mode-split demand)."""

    max_iter: Annotated[int, Field(ge=1, le=500)] = _FEEDBACK["max_iter"]
    tolerance: Annotated[float, Field(gt=0, lt=1)] = _FEEDBACK["tolerance"]
    transit_sweeps: Annotated[int, Field(ge=0, le=10_000)] = _FEEDBACK["transit_sweeps"]


class TransitCapacitySpec(_Spec):
    """``[model.transit_capacity]``: line capacities and crowding in the transit assignment
    (:mod:`transitopt.transit.capacity`; off unless ``enabled``)."""

    enabled: bool = False
    beta: Positive = _CAPACITY["beta"]
    crowding: bool = _CAPACITY["crowding"]
    period_h: Positive = _CAPACITY["period_h"]
    max_iter: Annotated[int, Field(ge=1, le=5000)] = _CAPACITY["max_iter"]
    tolerance: Annotated[float, Field(gt=0, lt=1)] = _CAPACITY["tolerance"]
    step_rule: Literal["auto", "msa", "sra", "line_search", "columns", "stops", "sweeps"] = (
        _CAPACITY["step_rule"]
    )


class EmissionsSpec(_Spec):
    """``[model.emissions]``: fuel use per vehicle-km (see :mod:`transitopt.metrics.emissions`)."""

    car_l_per_100km: NonNegative = _EMISSIONS["car_l_per_100km"]
    bus_l_per_100km: NonNegative = _EMISSIONS["bus_l_per_100km"]
    brt_l_per_100km: NonNegative = _EMISSIONS["brt_l_per_100km"]
    minibus_l_per_100km: NonNegative = _EMISSIONS["minibus_l_per_100km"]
    tram_kwh_per_km: NonNegative = _EMISSIONS["tram_kwh_per_km"]
    rail_kwh_per_km: NonNegative = _EMISSIONS["rail_kwh_per_km"]
    grid_kg_per_kwh: NonNegative = _EMISSIONS["grid_kg_per_kwh"]
    motorcycle_l_per_100km: NonNegative = _EMISSIONS["motorcycle_l_per_100km"]


class ModelSpec(_Spec):
    """``[model]``: behavioural and technical parameters.

    Defaults: ``transitopt/data/defaults.toml`` (section ``model``; the walking values
    are those of ``transit_graph``); sources and reasoning in ``docs/model.md``.
    """

    currency: str = _MODEL["currency"]
    value_of_time_per_h: Positive = _MODEL["value_of_time_per_h"]
    car_occupancy: Annotated[float, Field(ge=1, le=10)] = _MODEL["car_occupancy"]
    car_cost_per_km: NonNegative = _MODEL["car_cost_per_km"]
    parking_cost: NonNegative = _MODEL["parking_cost"]
    car_terminal_min: NonNegative = _MODEL["car_terminal_min"]
    car_speed_kph: Annotated[float, Field(gt=0, le=200)] = _MODEL["car_speed_kph"]
    car_detour_factor: Annotated[float, Field(ge=1, le=5)] = _MODEL["car_detour_factor"]
    bus_pcu: NonNegative = _MODEL["bus_pcu"]
    bus_max_speed_kph: Annotated[float, Field(gt=0, le=200)] = _MODEL["bus_max_speed_kph"]
    layover_share: Share = _MODEL["layover_share"]
    walk_speed_mps: Annotated[float, Field(gt=0, le=5)] = _GRAPH["walk_speed_mps"]
    walk_detour_factor: Annotated[float, Field(ge=1, le=5)] = _GRAPH["walk_detour_factor"]
    max_access_walk_m: NonNegative = _GRAPH["max_access_walk_m"]
    max_transfer_walk_m: NonNegative = _GRAPH["max_transfer_walk_m"]
    walk_weight: Annotated[float, Field(ge=1, le=10)] = _MODEL["walk_weight"]
    wait_weight: Annotated[float, Field(ge=1, le=10)] = _MODEL["wait_weight"]
    boarding_penalty_min: NonNegative = _MODEL["boarding_penalty_min"]
    transfer_penalty_min: NonNegative = _MODEL["transfer_penalty_min"]
    max_stop_snap_m: Positive = _MODEL["max_stop_snap_m"]
    stop_merge_m: NonNegative = _MODEL["stop_merge_m"]
    accessibility_min: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] = _MODEL[
        "accessibility_min"
    ]
    motorcycle_occupancy: Annotated[float, Field(ge=1, le=3)] = _MODEL["motorcycle_occupancy"]
    motorcycle_cost_per_km: NonNegative = _MODEL["motorcycle_cost_per_km"]
    motorcycle_parking_cost: NonNegative = _MODEL["motorcycle_parking_cost"]
    motorcycle_terminal_min: NonNegative = _MODEL["motorcycle_terminal_min"]
    motorcycle_pcu: Annotated[float, Field(gt=0, le=2)] = _MODEL["motorcycle_pcu"]
    pce_by_road_type: bool = _MODEL["pce_by_road_type"]
    ojek_fare_per_km: NonNegative = _MODEL["ojek_fare_per_km"]
    ojek_flag_fall: NonNegative = _MODEL["ojek_flag_fall"]
    ojek_min_fare: NonNegative = _MODEL["ojek_min_fare"]
    ojek_wait_min: NonNegative = _MODEL["ojek_wait_min"]
    mode_choice: ModeChoiceSpec = ModeChoiceSpec()
    assignment: AssignmentSpec = AssignmentSpec()
    feedback: FeedbackSpec = FeedbackSpec()
    emissions: EmissionsSpec = EmissionsSpec()
    transit_capacity: TransitCapacitySpec = TransitCapacitySpec()


class CalibrationSpec(_Spec):
    """``[calibration]``: observed mode shares (and mean trip length) the baseline reproduces.

    The mode constants are fitted with the whole model (:mod:`transitopt.assignment.calibration`)
    and reused by every alternative of the baseline; ``mean_trip_length_km`` fits the
    distance decay of ``[demand.synthesis]``; ``counts`` (a counts CSV,
    :func:`transitopt.demand.read_counts`) has the baseline's car matrix estimated from
    traffic counts (:func:`transitopt.assignment.odme.road_mode_factors`) and its total
    demand scaled accordingly, for the baseline and every alternative; ``transit_od``
    also adjusts the transit OD to the counted boardings per line and stop
    (:class:`transitopt.assignment.boardings.TransitMatrixEstimation`), likewise; each
    mode (road class, transit) keeps its own factor by zone-pair constants
    (:mod:`transitopt.scenario.calibration`).
    """

    targets: dict[ChoiceMode, Annotated[float, Field(gt=0, lt=1)]] | None = None
    mean_trip_length_km: Positive | None = None
    counts: str | None = None
    counts_max_outer: Annotated[int, Field(ge=1, le=50)] = 10
    transit_od: bool = False
    tolerance: Annotated[float, Field(gt=0, le=0.005)] = _CALIBRATION["tolerance"]
    max_iter: Annotated[int, Field(ge=1, le=200)] = _CALIBRATION["max_iter"]

    @model_validator(mode="after")
    def _something(self) -> CalibrationSpec:
        if self.targets is None and self.mean_trip_length_km is None and self.counts is None:
            raise ValueError(
                "give targets (mode shares), mean_trip_length_km and/or counts (a counts CSV)"
            )
        if self.transit_od and (self.counts is None or self.targets is not None):
            raise ValueError(
                "transit_od adjusts the transit OD to counted boardings: it needs counts (a "
                "counts CSV with line/stop rows) and no targets (the boardings fix the constant)"
            )
        if self.targets is not None:
            total = sum(self.targets.values())
            if abs(total - 1.0) > 1e-3:
                raise ValueError(
                    f"the target shares sum to {total:.4g}; they must sum to 1 (within 0.001)"
                )
        return self


def _profile_external(data: dict[str, Any], profile: str) -> dict[str, Any]:
    """A shipped profile's ``[external]`` under the file's ``[demand.external]`` (when
    the file has one), so that the values are part of the spec and its digest."""
    demand = data.get("demand")
    external = demand.get("external") if isinstance(demand, dict) else None
    if not isinstance(demand, dict) or not isinstance(external, dict):
        return data
    defaults = profile_section(profile, "external")
    return {**data, "demand": {**demand, "external": deep_merge(defaults, external)}}


class BaselineFile(_Spec):
    """A baseline scenario file."""

    scenario: ScenarioMeta = ScenarioMeta()
    network: NetworkSpec = NetworkSpec()
    period: PeriodSpec = PeriodSpec()
    zones: ZonesSpec = ZonesSpec()
    demand: DemandSpec
    transit: TransitSpec = TransitSpec()
    model: ModelSpec = ModelSpec()
    calibration: CalibrationSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, data: Any) -> Any:
        """A shipped profile's ``[model]`` (``network.profile``) under the file's own ``[model]``."""
        if not isinstance(data, dict):
            return data
        network = data.get("network")
        profile = network.get("profile", "generic") if isinstance(network, dict) else "generic"
        if not isinstance(profile, str) or profile not in available_profiles():
            return data
        data = _profile_external(data, profile)
        defaults = profile_model_defaults(profile)
        if not defaults:
            return data
        model = data.get("model", {})
        if not isinstance(model, dict):
            return data
        return {**data, "model": deep_merge(defaults, model)}

    @field_validator("calibration")
    @classmethod
    def _fits_the_model(
        cls, value: CalibrationSpec | None, info: ValidationInfo
    ) -> CalibrationSpec | None:
        model, demand = info.data.get("model"), info.data.get("demand")
        if value is None:
            return value
        if value.targets is not None and model is not None:
            modes = list(model.mode_choice.modes)
            if set(value.targets) != set(modes):
                raise ValueError(
                    f"targets name {', '.join(value.targets) or 'no mode'} but the choice set "
                    f"(model.mode_choice.modes) is {', '.join(modes)}: give a target share for "
                    "every mode of the choice set"
                )
        if value.mean_trip_length_km is not None and demand is not None and demand.od_file:
            raise ValueError(
                "mean_trip_length_km fits the distance decay of [demand.synthesis], but this "
                "baseline reads its demand from demand.od_file"
            )
        return value


# ---------------------------------------------------------------------------- edits
LineSelector = (
    Annotated[str, Field(min_length=1)]
    | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
)


class AddLine(LineFields):
    """Add a line (fields as in ``[[transit.lines]]``)."""

    type: Literal["add_line"]


class RemoveLine(_Spec):
    """Remove lines (a line id, or a route id naming all its directions)."""

    type: Literal["remove_line"]
    line: LineSelector


class RerouteLine(_Spec):
    """Give one line a new list of stops (headway, mode, capacity are kept)."""

    type: Literal["reroute_line"]
    line: Annotated[str, Field(min_length=1)]
    stops: Annotated[list[StopRef], Field(min_length=2)]


class ChangeLine(_Spec):
    """Change headway, capacity, speed, dwell or fare of lines."""

    type: Literal["change_line"]
    line: LineSelector
    headway_min: Annotated[float, Field(gt=0, le=1440)] | None = None
    headway_factor: Positive | None = None
    capacity: Places | None = None
    speed_kph: Annotated[float, Field(gt=0, le=300)] | None = None
    dwell_s: Annotated[float, Field(ge=0, le=600)] | None = None
    fare: NonNegative | None = None
    hail_and_ride: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ChangeLine:
        fields = (
            "headway_min",
            "headway_factor",
            "capacity",
            "speed_kph",
            "dwell_s",
            "fare",
            "hail_and_ride",
        )
        if all(getattr(self, f) is None for f in fields):
            raise ValueError(f"a change_line edit needs at least one of {', '.join(fields)}")
        if self.headway_min is not None and self.headway_factor is not None:
            raise ValueError("give headway_min or headway_factor, not both")
        return self


class BusLane(_Spec):
    """A bus lane along the street route of lines (takes one car lane)."""

    type: Literal["bus_lane"]
    line: LineSelector
    ways: list[int] | None = None
    on_single_lane: Literal["mixed", "error"] = "mixed"


class _RoadSelector(_Spec):
    way: int | None = None
    ways: list[int] | None = None
    nodes: Annotated[list[int], Field(min_length=2, max_length=2)] | None = None
    road: str | None = None
    both_directions: bool = True

    @model_validator(mode="after")
    def _one_selector(self) -> _RoadSelector:
        given = [n for n in ("way", "ways", "nodes", "road") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                f"name the road with exactly one of way, ways, nodes, road (got {given or 'none'})"
            )
        return self


class ChangeRoad(_RoadSelector):
    """Change lanes, capacity or speed of road links."""

    type: Literal["change_road"]
    lanes: Annotated[float, Field(gt=0, le=20)] | None = None
    capacity_vph: Positive | None = None
    capacity_factor: Positive | None = None
    speed_kph: Annotated[float, Field(gt=0, le=200)] | None = None

    @model_validator(mode="after")
    def _something(self) -> ChangeRoad:
        if all(
            getattr(self, f) is None
            for f in ("lanes", "capacity_vph", "capacity_factor", "speed_kph")
        ):
            raise ValueError(
                "a change_road edit needs at least one of lanes, capacity_vph, capacity_factor, speed_kph"
            )
        if self.capacity_vph is not None and self.capacity_factor is not None:
            raise ValueError("give capacity_vph or capacity_factor, not both")
        return self


class CloseRoad(_RoadSelector):
    """Close road links to motor traffic (cars and buses; walking is unaffected)."""

    type: Literal["close_road"]


class RestrictRoad(_RoadSelector):
    """Close road links to some vehicle classes (a motorcycle ban, a car-free day); buses,
    the other classes and walking keep them."""

    type: Literal["restrict_road"]
    vehicles: Annotated[list[Literal["car", "motorcycle"]], Field(min_length=1)]


#: ``change_mode_costs`` fields: the ``[model]`` field each replaces
MODE_COST_FIELDS = (
    "car_cost_per_km",
    "parking_cost",
    "motorcycle_cost_per_km",
    "motorcycle_parking_cost",
    "ojek_fare_per_km",
    "ojek_flag_fall",
    "ojek_min_fare",
    "ojek_wait_min",
)


class ChangeModeCosts(_Spec):
    """New money costs of the road modes (``[model]`` fields of the same name): a parking
    charge, an ojek fare change."""

    type: Literal["change_mode_costs"]
    car_cost_per_km: NonNegative | None = None
    parking_cost: NonNegative | None = None
    motorcycle_cost_per_km: NonNegative | None = None
    motorcycle_parking_cost: NonNegative | None = None
    ojek_fare_per_km: NonNegative | None = None
    ojek_flag_fall: NonNegative | None = None
    ojek_min_fare: NonNegative | None = None
    ojek_wait_min: NonNegative | None = None

    @model_validator(mode="after")
    def _something(self) -> ChangeModeCosts:
        if all(getattr(self, f) is None for f in MODE_COST_FIELDS):
            raise ValueError(
                f"a change_mode_costs edit needs at least one of {', '.join(MODE_COST_FIELDS)}"
            )
        return self


class AddRoad(_Spec):
    """A new road link between two existing nodes (OSM node ids or points snapped to the network)."""

    type: Literal["add_road"]
    id: Annotated[str, Field(min_length=1)]
    name: str | None = None
    from_node: NodeRef
    to_node: NodeRef
    lanes: Annotated[float, Field(gt=0, le=20)] = 1.0
    speed_kph: Annotated[float, Field(gt=0, le=200)] = 30.0
    capacity_vph: Positive | None = None
    capacity_per_lane_vph: Positive = 900.0
    length_m: Positive | None = None
    both_directions: bool = True
    bus_only: bool = False


Edit = Annotated[
    AddLine
    | RemoveLine
    | RerouteLine
    | ChangeLine
    | BusLane
    | ChangeRoad
    | CloseRoad
    | AddRoad
    | RestrictRoad
    | ChangeModeCosts,
    Field(discriminator="type"),
]


class AlternativeFile(_Spec):
    """An alternative scenario file: a baseline (path) and edits."""

    scenario: ScenarioMeta
    edits: list[Edit] = []

    @model_validator(mode="after")
    def _has_baseline(self) -> AlternativeFile:
        if not self.scenario.baseline:
            raise ValueError(
                "an alternative needs scenario.baseline (the path of its baseline file)"
            )
        return self


# ---------------------------------------------------------------------------- parsing and messages
def parse_file(path: Path, text: str, data: dict[str, Any]) -> BaselineFile | AlternativeFile:
    """Validate the parsed TOML of ``path``: an alternative when ``scenario.baseline`` is set or
    it has ``edits``, else a baseline. Raises :class:`ScenarioError` listing every problem."""
    meta = data.get("scenario")
    if not isinstance(meta, dict):
        meta = {}
    alternative = bool(meta.get("baseline")) or "edits" in data
    model = AlternativeFile if alternative else BaselineFile
    if alternative:
        extra = sorted(set(data) - {"scenario", "edits"})
        if extra:
            line = locate_line(text, (extra[0],))
            raise ScenarioError(
                f"{path}:{line}: {extra[0]}: an alternative holds only [scenario] and [[edits]]; "
                f"{', '.join(extra)} belong in the baseline file"
            )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(path, text, exc)) from None


def dotted(loc: tuple[Any, ...]) -> str:
    """``("edits", 2, "headway_min")`` → ``"edits[2].headway_min"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_TAGS = {*EDIT_TYPES, "stop_id", "node_id", "point", "node", "str", "int", "float", "bool"}


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union/discriminator tags (edit type names, stop kinds, ``str``, ``list[...]``)."""
    out: list[Any] = []
    for k, part in enumerate(loc):
        previous = loc[k - 1] if k else None
        if isinstance(part, str) and (
            part.startswith(("list[", "function-", "constrained-", "tagged-union["))
            or part in ("str", "int", "float", "bool")
            or (part in _TAGS and isinstance(previous, int))
            or (part in ("point", "node_id") and previous in ("from_node", "to_node"))
        ):
            continue
        out.append(part)
    return tuple(out)


def format_validation_error(path: Path, text: str, exc: ValidationError, *, limit: int = 12) -> str:
    """One line per problem: ``file:line: field.path: what was expected (got value)``."""
    lines = []
    seen = set()
    for error in exc.errors():
        loc = _clean_loc(tuple(error["loc"]))
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc += ("type",)
        where = dotted(loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        key = (where, message)
        if key in seen:
            continue
        seen.add(key)
        got = error.get("input")
        shown = (
            ""
            # the value of an unknown key is never echoed: it may be a secret (a token)
            if error["type"] in ("missing", "model_type", "extra_forbidden")
            or isinstance(got, dict)
            else f" (got {got!r})"
        )
        lines.append(f"{path}:{locate_line(text, loc)}: {where}: {message}{shown}")
    more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{path}: invalid scenario file\n  " + "\n  ".join(lines[:limit]) + more


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def locate_line(text: str, loc: tuple[Any, ...]) -> int:
    """Best line number (1-based) of a field path in TOML ``text``; 1 when it cannot be found.

    Tracks ``[table]`` and ``[[array]]`` headers (counting array entries) and ``key =``
    lines, then returns the line of the longest recorded prefix of ``loc``.
    """
    found: dict[tuple[Any, ...], int] = {(): 1}
    counts: dict[tuple[str, ...], int] = {}
    current: tuple[Any, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(raw)
        if match:
            names = tuple(p.strip().strip('"') for p in match.group(2).split("."))
            path: list[Any] = []
            for k in range(len(names)):
                path.append(names[k])
                prefix = names[: k + 1]
                if match.group(1) == "[[" and k == len(names) - 1:
                    counts[prefix] = counts.get(prefix, -1) + 1
                    path.append(counts[prefix])
                elif prefix in counts and k < len(names) - 1:
                    path.append(counts[prefix])
            current = tuple(path)
            found.setdefault(current, number)
            continue
        match = _KEY.match(raw)
        if match and not raw.lstrip().startswith("#"):
            keys = tuple(p.strip().strip('"') for p in match.group(1).split("."))
            found.setdefault(current + keys, number)
    for k in range(len(loc), -1, -1):
        if tuple(loc[:k]) in found:
            return found[tuple(loc[:k])]
    return 1
