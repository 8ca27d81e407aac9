"""The transit model's defaults and vocabulary: modes, per-mode values, graph parameters.

The numbers live in ``transitopt/data/defaults.toml`` (sections ``transit_graph``,
``transit_modes``, ``osm_default_headway_s``), with their sources; change a default
there (or pass the parameter explicitly) rather than in the code that uses it. They are
planning-level assumptions, to be replaced by local data where a city has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..defaults import section

_GRAPH = section("transit_graph")

#: transit modes a :class:`~transitopt.transit.lines.Line` may have
MODES = ("bus", "brt", "tram", "rail", "minibus")


@dataclass(frozen=True)
class ModeDefaults:
    """Defaults of one transit mode.

    Attributes
    ----------
    speed_kph : float
        Commercial running speed between stops (km/h), used when a line has neither
        its own running times nor its own speed. Bus-type modes on a street network run
        at this speed along the shortest drive path; rail and tram along the straight
        line times ``GraphParameters.detour_factor``.
    capacity : float
        Passengers per vehicle (seated + standing).
    dwell_s : float
        Time a vehicle stands at each intermediate stop (s).
    headway_s : float
        Headway used for OSM route relations without an ``interval`` tag (s).
    seat_share : float
        Seats / capacity of a vehicle (for the crowding multipliers).
    """

    speed_kph: float
    capacity: float
    dwell_s: float
    headway_s: float
    seat_share: float


#: per-mode defaults (sources in ``data/defaults.toml``, section ``transit_modes``)
MODE_DEFAULTS: dict[str, ModeDefaults] = {
    mode: ModeDefaults(**values) for mode, values in section("transit_modes").items()
}

#: OSM ``route=*`` values read as transit lines, and the mode each becomes
OSM_ROUTE_MODES: dict[str, str] = {
    "bus": "bus",
    "trolleybus": "bus",
    "share_taxi": "minibus",
    "minibus": "minibus",
    "tram": "tram",
    "light_rail": "tram",
    "train": "rail",
    "subway": "rail",
    "monorail": "rail",
}

#: headway of OSM route relations without an ``interval`` tag, by ``route=*`` value (s);
#: a planning guess (``data/defaults.toml``, section ``osm_default_headway_s``)
OSM_DEFAULT_HEADWAY_S: dict[str, float] = section("osm_default_headway_s")


def gtfs_route_type_mode(route_type: int) -> str:
    """The transit mode of a GTFS ``route_type`` (basic and extended route types)."""
    basic = {
        0: "tram",
        1: "rail",
        2: "rail",
        3: "bus",
        4: "rail",
        5: "tram",
        6: "rail",
        7: "rail",
        11: "bus",
        12: "rail",
    }
    if route_type in basic:
        return basic[route_type]
    if 100 <= route_type < 500:  # railway, coach (2xx) is a bus, urban railway / metro
        return "bus" if 200 <= route_type < 300 else "rail"
    if 700 <= route_type < 800 or route_type == 800:  # bus services, trolleybus
        return "bus"
    if 900 <= route_type < 1000:  # tram services
        return "tram"
    return "bus"


@dataclass(frozen=True)
class GraphParameters:
    """Parameters of the transit graph (see :func:`transitopt.transit.graph.build_transit_graph`).

    Defaults and their sources: ``data/defaults.toml``, section ``transit_graph``.

    Attributes
    ----------
    walk_speed_mps : float
        Walking speed (m/s); 1.2 m/s is the usual planning value (HCM pedestrian design speed).
    max_access_walk_m : float
        Longest walk from a zone to a stop and from a stop to a zone (m). 800 m is the
        commonly used catchment of a rapid-transit stop, a 10-11 minute walk.
    max_transfer_walk_m : float
        Longest walk between two different stops on a transfer (m).
    walk_detour_factor : float
        Walking distance / straight-line distance when there is no walk network
        (1.3, a typical circuity of urban street grids).
    detour_factor : float
        Vehicle path length / straight-line distance between consecutive stops when a
        line has no running times and no drive network is given (buses), and always
        for rail and tram, which run on their own alignment (1.2).
    boarding_penalty_s : float
        Added to every boarding, first or transfer (s). 0 by default, so that the
        model reproduces the Spiess-Florian example; 2-5 min is common in practice.
    transfer_penalty_s : float
        Added to a boarding after alighting from another vehicle (s), on top of the
        boarding penalty; it sits on the transfer links between a stop's arrival and
        departure nodes and on the walking links between stops. 0 by default, as the
        boarding penalty; the scenario model's default is 5 min (``transfer_penalty_min``).
    """

    walk_speed_mps: float = _GRAPH["walk_speed_mps"]
    max_access_walk_m: float = _GRAPH["max_access_walk_m"]
    max_transfer_walk_m: float = _GRAPH["max_transfer_walk_m"]
    walk_detour_factor: float = _GRAPH["walk_detour_factor"]
    detour_factor: float = _GRAPH["detour_factor"]
    boarding_penalty_s: float = _GRAPH["boarding_penalty_s"]
    transfer_penalty_s: float = _GRAPH["transfer_penalty_s"]

    def __post_init__(self) -> None:
        for name in ("walk_speed_mps", "walk_detour_factor", "detour_factor"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"GraphParameters.{name} must be positive, got {getattr(self, name)!r}"
                )
        for name in (
            "max_access_walk_m",
            "max_transfer_walk_m",
            "boarding_penalty_s",
            "transfer_penalty_s",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(
                    f"GraphParameters.{name} must be >= 0, got {getattr(self, name)!r}"
                )


#: waiting-time factor of the optimal-strategies assignment: at a node whose attractive
#: lines have combined frequency F (vehicles/s, sum of 1/headway), the expected wait is
#: ``WAIT_FACTOR / F``. 0.5 (half the combined headway) is the value of regular,
#: evenly spaced arrivals and the one used in Spiess & Florian's (1989) worked example;
#: 1.0 is the value for exponentially distributed (random) headways.
WAIT_FACTOR: float = _GRAPH["wait_factor"]
