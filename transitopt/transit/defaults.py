"""Every default value of the transit model, in one place.

Change a default here (or pass the parameter explicitly) rather than in the code that
uses it. Sources of the numbers are given next to them; they are planning-level
assumptions, to be replaced by local data where a city has it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    speed_kph: float
    capacity: float
    dwell_s: float
    headway_s: float


#: per-mode defaults: mixed-traffic city bus ~18-20 km/h, BRT ~25 km/h (ITDP BRT Standard
#: ranges), angkot/minibus ~15 km/h with frequent stops, tram ~18 km/h, urban rail ~35 km/h;
#: capacities of a 12 m bus, 18 m BRT bus, 12-seat angkot, 30 m tram, 4-car train.
MODE_DEFAULTS: dict[str, ModeDefaults] = {
    "bus": ModeDefaults(speed_kph=18.0, capacity=70.0, dwell_s=20.0, headway_s=600.0),
    "brt": ModeDefaults(speed_kph=25.0, capacity=120.0, dwell_s=25.0, headway_s=300.0),
    "minibus": ModeDefaults(speed_kph=15.0, capacity=12.0, dwell_s=10.0, headway_s=300.0),
    "tram": ModeDefaults(speed_kph=18.0, capacity=200.0, dwell_s=20.0, headway_s=600.0),
    "rail": ModeDefaults(speed_kph=35.0, capacity=800.0, dwell_s=30.0, headway_s=900.0),
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
#: a planning guess (10 min bus/tram, 5 min metro, 15 min suburban train).
OSM_DEFAULT_HEADWAY_S: dict[str, float] = {
    "bus": 600.0,
    "trolleybus": 600.0,
    "share_taxi": 300.0,
    "minibus": 300.0,
    "tram": 600.0,
    "light_rail": 600.0,
    "subway": 300.0,
    "monorail": 600.0,
    "train": 900.0,
}


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
        departure nodes and on the walking links between stops.
    """

    walk_speed_mps: float = 1.2
    max_access_walk_m: float = 800.0
    max_transfer_walk_m: float = 300.0
    walk_detour_factor: float = 1.3
    detour_factor: float = 1.2
    boarding_penalty_s: float = 0.0
    transfer_penalty_s: float = 0.0

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
WAIT_FACTOR = 0.5
