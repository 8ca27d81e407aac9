"""OpenStreetMap public-transport route relations to transit lines.

:func:`read_osm_routes` reads ``type=route`` relations with ``route`` = bus, trolleybus,
share_taxi/minibus, tram, light_rail, train, subway or monorail from an ``.osm.pbf``,
``.osm`` or ``.osm.bz2`` file with pyosmium, and makes one line per relation:

* stops are the relation's members in member order whose role names a stop position
  (``stop``, ``stop_entry_only``, ``stop_exit_only``, ``start_stop``, ``end_stop``,
  ``forward:stop`` ...) or a platform (``platform``, ``platform_entry_only`` ...). A
  relation usually lists both, one after the other; the group with more members
  located in the file is used (on a tie the one with more named members, then stop
  positions), never both. A node member is
  located at the node; a way or relation platform at the mean of its nodes' locations
  (the centroid of its vertices).
* the headway comes from the ``interval`` tag (minutes, ``hh:mm`` or ``hh:mm:ss``, the
  first value if several) or, without one, from ``OSM_DEFAULT_HEADWAY_S`` by route type
  (:mod:`transitopt.transit.defaults`).
* the line id is ``relation/<id>``, its name the ``ref`` tag (else ``name``), its long
  name the ``name`` tag without the ref (else ``from - to``), its operator the
  ``operator`` tag (else ``network``).

Relations mapped the older way (public-transport schema v1) are read too:

* **both directions in one relation**: stop members with roles ``forward_stop`` /
  ``backward_stop`` (``forward_platform`` / ``backward_platform``) make two lines,
  ``relation/<id>:forward`` and ``relation/<id>:backward``; a plain ``stop`` member
  serves both. Each direction runs along the relation's ways (all of them, in member
  order forward and in reverse order backward), and its stops are put in order along
  that path when all lie within ``member_offset_m`` of it (else member order is kept).
* **ways but no stop members** (or fewer than two located in the file): the stops are
  derived: the bus stops (``highway=bus_stop``, ``public_transport=platform`` /
  ``stop_position`` nodes; ``railway=tram_stop`` / ``station`` / ``halt`` for rail
  modes) within ``max_offset_m`` (30 m) of the chained ways, ordered by their position
  along them, two within ``merge_along_m`` (40 m) of each other taken as one (see
  :mod:`transitopt.transit.osm_route_paths`; distances in ``data/defaults.toml``,
  section ``osm_route_stops``). Platform ways and areas are not candidates.

**Both platforms of a stop in one direction.** Where two consecutive stops of one
direction of a bus-type route are the two platforms of one stop on opposite sides of the
route's ways (within ``pair_m``, 60 m, of each other, or with the same name within
``pair_same_name_m``, 150 m), only the platform on the side the bus travels is kept:
the right of the travel direction in right-hand traffic, the left in left-hand
traffic. Keeping both would make the bus turn round between them. The driving side is
given (``driving_side``) or inferred from the file: the side of their route's ways,
taken in travel order, on which most stop members lie (right when too few to tell).
Members ordered only by member order are checked along their ways as well; the dropped
platforms are counted in the report and in the ``far_side_dropped`` column of its
routes table.

Extracts are often clipped and cross-border routes leave even a whole-country file:
members outside the file have no location. Such members are dropped and the in-file
part of the route is kept; relations left with fewer than two stops are skipped. All of
it is counted in the :class:`~transitopt.transit.report.ImportReport`, whose ``routes``
table says per relation and direction where the stops came from.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError
from ..defaults import section
from ..geo import METRES_PER_DEGREE, haversine_m
from .defaults import OSM_DEFAULT_HEADWAY_S, OSM_ROUTE_MODES
from .lines import Line, Stop, TransitSupply
from .osm_route_paths import RoutePath, WayNodes, chain_ways, project, project_sided, stops_along
from .report import ImportReport, examples

#: distances (m) for deriving and ordering stops along a route's ways
#: (``data/defaults.toml``, section ``osm_route_stops``)
OSM_ROUTE_STOPS: dict[str, float] = section("osm_route_stops")

#: route types whose stops are bus stops (the others stop at railway stops)
#: ``route=*`` values whose vehicles are hailed anywhere along the route (angkot, share
#: taxis): their lines are ``Line.hail_and_ride``
HAIL_AND_RIDE_ROUTES = ("share_taxi", "minibus")
_ROAD_ROUTES = ("bus", "trolleybus", "share_taxi", "minibus")

_STOP_ROLE = re.compile(
    r"^(?:(?:forward|backward):)?(?:stop(?:_entry_only|_exit_only|_\d+)?|start_stop|end_stop)$"
)
_PLATFORM_ROLE = re.compile(r"^(?:(?:forward|backward):)?platform(?:_entry_only|_exit_only|_\d+)?$")
#: PTv1 roles of a relation that holds both directions: ``forward_stop``, ``backward_platform``
_DIRECTED_ROLE = re.compile(r"^(forward|backward)_(stop|platform)$")


#: a relation member: (type "n"/"w"/"r", ref, role)
_Member = tuple[str, int, str]

#: a located stop member: (stop id, name, lon, lat)
_Located = tuple[str, str, float, float]


@dataclass(frozen=True)
class _RouteRelation:
    """A ``type=route`` relation of a chosen route type."""

    id: int
    tags: dict[str, str]
    members: list[_Member]


@dataclass
class _Tally:
    """What the import repaired, skipped or assumed, counted for the report."""

    skipped: list[int] = field(default_factory=list)
    dropped_members: int = 0
    used_platforms: int = 0
    default_headway: dict[str, int] = field(default_factory=dict)
    bad_interval: list[int] = field(default_factory=list)
    repeated: int = 0
    derived: list[int] = field(default_factory=list)
    two_way: list[int] = field(default_factory=list)
    reordered: list[int] = field(default_factory=list)
    cut: list[int] = field(default_factory=list)
    gaps: int = 0
    far_side: list[int] = field(default_factory=list)
    far_side_dropped: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def read_osm_routes(
    path: str | os.PathLike,
    *,
    route_types: tuple[str, ...] | None = None,
    default_headways_s: dict[str, float] | None = None,
    driving_side: str | None = None,
) -> tuple[TransitSupply, ImportReport]:
    """Read public-transport route relations from an OSM file into lines.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    route_types
        ``route=*`` values to read; default every key of ``OSM_ROUTE_MODES``.
    default_headways_s
        Headway (s) by route type for relations without ``interval``; defaults to
        ``OSM_DEFAULT_HEADWAY_S``.
    driving_side
        ``"right"`` or ``"left"``: the side of the road vehicles keep to, which decides
        which of two platforms of a stop listed in one direction is kept. Default:
        inferred from the file (see the module docstring).

    Returns
    -------
    supply : TransitSupply
    report : ImportReport
        Relations skipped (fewer than two stops in the file), members dropped (outside
        the extract), stops derived from the ways, headways assumed; ``report.routes``
        has one row per relation and direction.

    Raises
    ------
    InputFileError
        The file cannot be read, or it holds no usable route relation.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: OSM file not found")
    route_types = _checked_route_types(route_types)
    headway_defaults = {**OSM_DEFAULT_HEADWAY_S, **(default_headways_s or {})}
    routes, relation_members = _read_relations(path, route_types)
    locations = _MemberLocations.read(path, routes, relation_members)
    side = _DrivingSide.of(routes, locations, driving_side)
    stops: dict[str, Stop] = {}
    lines: list[Line] = []
    tally = _Tally()
    for relation in routes:
        directions = _directions(relation)
        made = []
        for direction in directions:
            sequence, row = _direction_stops(
                relation, direction, locations, stops, tally, side.keep
            )
            tally.rows.append(row)
            if len(sequence) >= 2:
                made.append((direction, sequence))
        if not made:
            tally.skipped.append(relation.id)
            continue
        headway = _headway_s(relation, headway_defaults, tally)
        lines.extend(_line(relation, d, seq, headway, len(directions) > 1) for d, seq in made)
    report = _report(path, len(routes), tally, headway_defaults, side)
    if not lines:
        raise InputFileError(
            f"{path}: none of the {len(routes)} route relations has 2 stops located in the file"
        )
    used = {s for line in lines for s in line.stop_ids}
    supply = TransitSupply.from_stops(
        (stops[s] for s in sorted(used)),
        lines,
        info={"source": str(path), "format": "osm"},
    )
    return supply, report


@dataclass(frozen=True)
class _DrivingSide:
    """The side of the road vehicles keep to, and where that came from.

    ``keep`` is the side of the travel direction whose platform is kept: ``-1`` right
    (right-hand traffic), ``+1`` left (the sign convention of ``project_sided``).
    """

    name: str
    keep: int
    how: str

    @classmethod
    def of(
        cls, routes: list[_RouteRelation], locations: _MemberLocations, given: str | None
    ) -> _DrivingSide:
        """The given side, or the one most stop members of the road routes lie on."""
        if given is not None:
            if given not in ("right", "left"):
                raise ValueError(f"driving_side must be 'right' or 'left', got {given!r}")
            return cls(given, -1 if given == "right" else 1, "given")
        votes = {-1: 0, 1: 0}
        for relation in routes:
            if relation.tags["route"] not in _ROAD_ROUTES:
                continue
            for direction in _directions(relation):
                members, _ = _chosen_stops(relation, direction, locations, _Tally())
                path, _ = locations.path(_route_way_ids(relation, direction))
                if path is None or not members:
                    continue
                offset, _, sides = project_sided(
                    path, np.array([m[2] for m in members]), np.array([m[3] for m in members])
                )
                beside = (offset >= 1.0) & (offset <= OSM_ROUTE_STOPS["max_offset_m"])
                for value in (-1, 1):
                    votes[value] += int(np.sum(beside & (sides == value)))
        total = votes[-1] + votes[1]
        if total >= _MIN_SIDE_VOTES and max(votes.values()) >= 2 * min(votes.values()):
            keep = -1 if votes[-1] >= votes[1] else 1
            name = "right" if keep == -1 else "left"
            how = f"inferred: {votes[keep]} of {total} stop members beside their route's ways lie on the {name}"
            return cls(name, keep, how)
        how = f"assumed: {total} stop members beside their route's ways are too few or too split to tell"
        return cls("right", -1, how)


#: stop members beside their ways needed to infer the driving side from a file
_MIN_SIDE_VOTES = 10


def _checked_route_types(route_types: tuple[str, ...] | None) -> tuple[str, ...]:
    """The route types to read (default: all supported); ValueError for unknown ones."""
    route_types = tuple(route_types or OSM_ROUTE_MODES)
    unknown = [t for t in route_types if t not in OSM_ROUTE_MODES]
    if unknown:
        raise ValueError(
            f"route types {unknown} are not supported; choose from {sorted(OSM_ROUTE_MODES)}"
        )
    return route_types


def _role_group(role: str) -> str | None:
    """``"stop"`` for a stop-position role, ``"platform"`` for a platform role, else None."""
    if _STOP_ROLE.match(role):
        return "stop"
    if _PLATFORM_ROLE.match(role):
        return "platform"
    directed = _DIRECTED_ROLE.match(role)
    return directed.group(2) if directed else None


def _role_direction(role: str) -> str | None:
    """``"forward"``/``"backward"`` for a PTv1 directed stop role, else None (both ways)."""
    directed = _DIRECTED_ROLE.match(role)
    return directed.group(1) if directed else None


def _directions(relation: _RouteRelation) -> tuple[str | None, ...]:
    """``("forward", "backward")`` for a PTv1 relation holding both directions, else ``(None,)``."""
    if any(_DIRECTED_ROLE.match(role) for _, _, role in relation.members):
        return ("forward", "backward")
    return (None,)


def _route_way_ids(relation: _RouteRelation, direction: str | None) -> list[int]:
    """The ways a direction runs along, in travel order: every way member that is not a
    stop or platform, in member order (in reverse order for ``"backward"``).

    Way roles ``forward``/``backward`` are not used to pick ways: old two-way relations
    use them both for "this direction only" and for "drawn against the travel
    direction", so a direction's path is approximate where the two directions split.
    """
    ways = [
        ref
        for kind, ref, role in relation.members
        if kind == "w" and _role_group(role) is None and "platform" not in role
    ]
    return ways[::-1] if direction == "backward" else ways


def _read_relations(
    path: Path, route_types: tuple[str, ...]
) -> tuple[list[_RouteRelation], dict[int, list[tuple[str, int]]]]:
    """Pass 1: the route relations, and the members of every relation (for platform areas)."""
    import osmium

    routes: list[_RouteRelation] = []
    relation_members: dict[int, list[tuple[str, int]]] = {}
    rel: Any  # pyosmium's objects
    try:
        for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
            members = [(m.type, m.ref, m.role) for m in rel.members]
            relation_members[rel.id] = [(t, ref) for t, ref, _ in members]
            tags = dict(rel.tags)
            if tags.get("type") == "route" and tags.get("route") in route_types:
                routes.append(_RouteRelation(rel.id, tags, members))
    except (RuntimeError, OSError) as exc:
        raise InputFileError(f"{path}: cannot read as an OSM file ({exc})") from None
    if not routes:
        raise InputFileError(f"{path}: no route relation with route={'/'.join(route_types)}")
    return routes, relation_members


def _stop_kind(tags: Any) -> str | None:
    """``"road"`` for a bus stop node, ``"rail"`` for a railway stop node, else None."""
    railway = tags.get("railway")
    if railway in ("tram_stop", "station", "halt", "stop"):
        return "rail"
    if tags.get("highway") == "bus_stop":
        return "road"
    if tags.get("public_transport") in ("platform", "stop_position"):
        return (
            "rail" if railway or tags.get("tram") == "yes" or tags.get("train") == "yes" else "road"
        )
    return None


class _MemberLocations:
    """Where the members of the routes are, and the file's stop nodes (pass 2)."""

    def __init__(self, relation_members: dict[int, list[tuple[str, int]]]) -> None:
        self.relation_members = relation_members
        self.node_at: dict[int, tuple[float, float]] = {}
        self.node_name: dict[int, str] = {}
        self.way_points: dict[int, list[tuple[float, float]]] = {}
        self.way_name: dict[int, str] = {}
        self.way_nodes: dict[int, WayNodes] = {}
        #: stop nodes of the file by kind ("road", "rail"): ids, names, lon, lat
        self.candidates: dict[str, tuple[list[int], list[str], np.ndarray, np.ndarray]] = {}

    @classmethod
    def read(
        cls,
        path: Path,
        routes: list[_RouteRelation],
        relation_members: dict[int, list[tuple[str, int]]],
    ) -> _MemberLocations:
        """Node locations and way vertices of the members the routes need."""
        import osmium

        out = cls(relation_members)
        wanted_nodes, wanted_ways = out._wanted(routes)
        route_ways = {ref for r in routes for d in _directions(r) for ref in _route_way_ids(r, d)}
        found: dict[str, list[tuple[int, str, float, float]]] = {"road": [], "rail": []}
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        obj: Any  # pyosmium's objects
        for obj in processor.with_locations():
            if obj.is_node():
                if not obj.location.valid():
                    continue
                kind = _stop_kind(obj.tags)
                if kind is not None:
                    where = (obj.id, obj.tags.get("name", ""), obj.location.lon, obj.location.lat)
                    found[kind].append(where)
                if obj.id in wanted_nodes or kind is not None:
                    out.node_at[obj.id] = (obj.location.lon, obj.location.lat)
                    out.node_name[obj.id] = obj.tags.get("name", "")
            elif obj.is_way() and (obj.id in wanted_ways or obj.id in route_ways):
                nodes = [
                    (n.ref, n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()
                ]
                if nodes:
                    out.way_points[obj.id] = [(lon, lat) for _, lon, lat in nodes]
                    out.way_nodes[obj.id] = nodes
                    out.way_name[obj.id] = obj.tags.get("name", "")
        for kind, rows in found.items():
            out.candidates[kind] = (
                [r[0] for r in rows],
                [r[1] for r in rows],
                np.array([r[2] for r in rows], dtype=np.float64),
                np.array([r[3] for r in rows], dtype=np.float64),
            )
        return out

    def _wanted(self, routes: list[_RouteRelation]) -> tuple[set[int], set[int]]:
        """Nodes and ways the stop members need: themselves, or a platform relation's parts."""
        wanted: dict[str, set[int]] = {"n": set(), "w": set()}
        for relation in routes:
            for kind, ref, role in relation.members:
                if _role_group(role) is None:
                    continue
                if kind in wanted:
                    wanted[kind].add(ref)
                elif kind == "r":
                    for sub_kind, sub_ref in self.relation_members.get(ref, []):
                        if sub_kind in wanted:
                            wanted[sub_kind].add(sub_ref)
        return wanted["n"], wanted["w"]

    def locate(self, kind: str, ref: int) -> _Located | None:
        """(stop id, name, lon, lat) of a member, or None when it is not in the file.

        A node is located at the node; a way or relation platform at the mean of its
        vertices' locations.
        """
        if kind == "n":
            if ref not in self.node_at:
                return None
            lon, lat = self.node_at[ref]
            return f"node/{ref}", self.node_name.get(ref, ""), lon, lat
        if kind == "w":
            return _centroid(f"way/{ref}", self.way_name.get(ref, ""), self.way_points.get(ref))
        points = []
        for sub_kind, sub_ref in self.relation_members.get(ref, []):
            if sub_kind == "n" and sub_ref in self.node_at:
                points.append(self.node_at[sub_ref])
            elif sub_kind == "w":
                points.extend(self.way_points.get(sub_ref, []))
        return _centroid(f"relation/{ref}", "", points)

    def path(self, way_ids: list[int]) -> tuple[RoutePath | None, int]:
        """The chained path of the ways found in the file, and how many were not found."""
        found = [self.way_nodes[w] for w in way_ids if w in self.way_nodes]
        return chain_ways(found), len(way_ids) - len(found)

    def stops_beside(self, path: RoutePath, route: str, keep_side: int) -> list[_Located]:
        """The file's stop nodes served along ``path`` (see ``OSM_ROUTE_STOPS``), in order;
        on a road the path runs twice, a stop is placed on the pass it is on the
        ``keep_side`` of."""
        kind = "road" if route in _ROAD_ROUTES else "rail"
        ids, names, lon, lat = self.candidates.get(kind, ([], [], np.empty(0), np.empty(0)))
        if not ids:
            return []
        # a bounding box of the path grown by twice the distance (degrees), to prefilter
        pad_lat = 2.0 * OSM_ROUTE_STOPS["max_offset_m"] / METRES_PER_DEGREE
        pad_lon = pad_lat / max(math.cos(math.radians(float(np.abs(path.lat).max()))), 0.01)
        near = np.flatnonzero(
            (lon >= path.lon.min() - pad_lon)
            & (lon <= path.lon.max() + pad_lon)
            & (lat >= path.lat.min() - pad_lat)
            & (lat <= path.lat.max() + pad_lat)
        )
        order = stops_along(
            path,
            lon[near],
            lat[near],
            max_offset_m=OSM_ROUTE_STOPS["max_offset_m"],
            merge_along_m=OSM_ROUTE_STOPS["merge_along_m"],
            travel_side=keep_side if route in _ROAD_ROUTES else 0,
        )
        return [(f"node/{ids[i]}", names[i], float(lon[i]), float(lat[i])) for i in near[order]]


def _centroid(stop_id: str, name: str, points: list[tuple[float, float]] | None) -> _Located | None:
    """A stop at the mean of ``points`` (lon, lat), or None without points."""
    if not points:
        return None
    xy = np.asarray(points).mean(axis=0)
    return stop_id, name, float(xy[0]), float(xy[1])


def _direction_stops(
    relation: _RouteRelation,
    direction: str | None,
    locations: _MemberLocations,
    stops: dict[str, Stop],
    tally: _Tally,
    keep_side: int,
) -> tuple[list[str], dict[str, Any]]:
    """The stop sequence of one direction of a relation, and its row of the routes table.

    ``keep_side``: of two platforms of one stop on opposite sides of the ways, the side
    kept (``-1`` right, ``+1`` left of the travel direction).
    """
    members, outside = _chosen_stops(relation, direction, locations, tally)
    way_ids = _route_way_ids(relation, direction)
    path, ways_outside = locations.path(way_ids) if way_ids else (None, 0)
    source = "members"
    if len(members) >= 2 and direction is not None and path is not None:
        if _order_along(members, path):
            tally.reordered.append(relation.id)
            source = "members, ordered along the ways"
    elif not members and not outside and path is not None:
        derived = locations.stops_beside(path, relation.tags["route"], keep_side)
        if len(derived) >= 2:
            members = derived
            source = "derived from bus stops beside the ways"
            tally.derived.append(relation.id)
    dropped = 0
    if path is not None:
        tally.gaps += path.gaps
        if relation.tags["route"] in _ROAD_ROUTES and len(members) >= 2:
            members, dropped = _drop_far_side_twins(members, path, keep_side)
            if dropped:
                tally.far_side.append(relation.id)
                tally.far_side_dropped += dropped
    if direction == "forward":
        tally.two_way.append(relation.id)
    if (outside or ways_outside) and len(members) >= 2:
        tally.cut.append(relation.id)
    sequence = _stop_sequence(members, stops, tally)
    row = {
        "relation": relation.id,
        "direction": direction or "",
        "route": relation.tags["route"],
        "ref": relation.tags.get("ref", ""),
        "name": relation.tags.get("name", ""),
        "stops": len(sequence) if len(sequence) >= 2 else 0,
        "stops_from": source if len(sequence) >= 2 else "",
        "stop_members_outside": outside,
        "ways": len(way_ids),
        "ways_outside": ways_outside,
        "path_km": round(path.length_m / 1000.0, 2) if path is not None else float("nan"),
        "path_gaps": path.gaps if path is not None else 0,
        "far_side_dropped": dropped,
        "status": "imported" if len(sequence) >= 2 else _skip_reason(members, outside, path),
    }
    return sequence, row


def _drop_far_side_twins(
    members: list[_Located], path: RoutePath, keep_side: int
) -> tuple[list[_Located], int]:
    """``members`` without the far-side platform of each stop listed with both of its
    platforms in a row (see the module docstring), and how many were dropped."""
    offset, _, sides = project_sided(
        path, np.array([m[2] for m in members]), np.array([m[3] for m in members])
    )
    kept: list[int] = []
    dropped = 0
    for i in range(len(members)):
        if kept and _twins(members[kept[-1]], members[i]):
            j = kept[-1]
            if sides[i] * sides[j] == -1 and min(offset[i], offset[j]) >= 0.5:
                dropped += 1
                if sides[i] == keep_side:
                    kept[-1] = i
                continue
        kept.append(i)
    return [members[i] for i in kept], dropped


def _twins(a: _Located, b: _Located) -> bool:
    """Two platforms of one stop: within ``pair_m``, or the same name within
    ``pair_same_name_m`` (sides not checked here)."""
    distance = haversine_m(a[2], a[3], b[2], b[3])
    if distance <= OSM_ROUTE_STOPS["pair_m"]:
        return True
    return bool(a[1] and a[1] == b[1] and distance <= OSM_ROUTE_STOPS["pair_same_name_m"])


def _skip_reason(members: list[_Located], outside: int, path: RoutePath | None) -> str:
    """Why a direction has no line, in words."""
    if outside:
        return f"skipped: {len(members)} stop(s) in the file, {outside} outside"
    if path is None:
        return "skipped: no stop members and no ways in the file"
    return "skipped: no stop members and fewer than 2 bus stops beside the ways"


def _order_along(members: list[_Located], path: RoutePath) -> bool:
    """Sort ``members`` (in place) by position along ``path`` when all lie near it."""
    lon = np.array([m[2] for m in members])
    lat = np.array([m[3] for m in members])
    offset, along = project(path, lon, lat)
    if np.any(offset > OSM_ROUTE_STOPS["member_offset_m"]):
        return False
    order = np.argsort(along, kind="stable")
    changed = bool(np.any(order != np.arange(len(order))))
    members[:] = [members[i] for i in order]
    return changed


def _chosen_stops(
    relation: _RouteRelation, direction: str | None, locations: _MemberLocations, tally: _Tally
) -> tuple[list[_Located], int]:
    """The located members of the group (stop positions or platforms) with more located,
    and how many of that group are outside the file. With a ``direction``, the members
    of that direction and those serving both."""
    groups: dict[str, list[_Located | None]] = {"stop": [], "platform": []}
    located = {"stop": 0, "platform": 0}
    for kind, ref, role in relation.members:
        group = _role_group(role)
        if group is None or _role_direction(role) not in (None, direction):
            continue
        where = locations.locate(kind, ref)
        groups[group].append(where)
        located[group] += where is not None
    named = {g: sum(1 for w in groups[g] if w is not None and w[1]) for g in groups}
    group = (
        "platform"
        if (located["platform"], named["platform"]) > (located["stop"], named["stop"])
        else "stop"
    )
    tally.used_platforms += group == "platform"
    chosen = [w for w in groups[group] if w is not None]
    outside = len(groups[group]) - len(chosen)
    tally.dropped_members += outside
    return chosen, outside


def _stop_sequence(chosen: list[_Located], stops: dict[str, Stop], tally: _Tally) -> list[str]:
    """Stop ids in order, the same stop twice in a row merged (the same id, or the same
    name within ``merge_along_m``: two platforms of one stop); adds new stops."""
    sequence: list[str] = []
    previous: _Located | None = None
    for here in chosen:
        if previous is not None and _same_stop(previous, here):
            tally.repeated += 1
            continue
        sequence.append(here[0])
        previous = here
    if len(sequence) >= 2:
        for stop_id, name, lon, lat in chosen:
            stops.setdefault(stop_id, Stop(id=stop_id, name=name, lon=lon, lat=lat))
    return sequence


def _same_stop(a: _Located, b: _Located) -> bool:
    """The same id, or the same non-empty name within ``merge_along_m``."""
    if a[0] == b[0]:
        return True
    if not a[1] or a[1] != b[1]:
        return False
    distance = haversine_m(a[2], a[3], b[2], b[3])
    return bool(distance <= OSM_ROUTE_STOPS["merge_along_m"])


def _headway_s(
    relation: _RouteRelation, headway_defaults: dict[str, float], tally: _Tally
) -> float:
    """The ``interval`` tag in seconds, else the route type's default (counted)."""
    route = relation.tags["route"]
    headway = _parse_interval(relation.tags.get("interval"))
    if headway is None:
        if relation.tags.get("interval"):
            tally.bad_interval.append(relation.id)
        headway = headway_defaults[route]
        tally.default_headway[route] = tally.default_headway.get(route, 0) + 1
    return headway


def _line(
    relation: _RouteRelation,
    direction: str | None,
    sequence: list[str],
    headway_s: float,
    two_way: bool,
) -> Line:
    """The line of a route relation (one direction of a two-way PTv1 relation)."""
    tags = relation.tags
    line_id = f"relation/{relation.id}"
    if two_way:
        line_id += f":{direction}"
    return Line(
        id=line_id,
        name=tags.get("ref") or tags.get("name") or str(relation.id),
        mode=OSM_ROUTE_MODES[tags["route"]],
        stop_ids=tuple(sequence),
        headway_s=headway_s,
        route_id=str(relation.id),
        direction_id=None if direction is None else int(direction == "backward"),
        long_name=_long_name(tags),
        operator=tags.get("operator") or tags.get("network"),
        hail_and_ride=tags["route"] in HAIL_AND_RIDE_ROUTES,
    )


def _long_name(tags: dict[str, str]) -> str | None:
    """The ``name`` tag without a leading ``ref`` (``"611B Suutarila - ..."``), else
    ``"from - to"``."""
    name, ref = tags.get("name", "").strip(), tags.get("ref", "").strip()
    if ref and name.startswith(ref):
        name = name[len(ref) :].lstrip(" :-–")
    if name:
        return name
    if tags.get("from") and tags.get("to"):
        return f"{tags['from']} - {tags['to']}"
    return None


def _report(
    path: Path,
    n_routes: int,
    tally: _Tally,
    headway_defaults: dict[str, float],
    side: _DrivingSide,
) -> ImportReport:
    """The import report from the tally."""
    report = ImportReport(source=str(path))
    report.add("info", "route relations read", n_routes)
    report.add("info", f"driving side: {side.name}", 1, side.how)
    report.add(
        "skip",
        "route relations with fewer than 2 stops located in the file",
        len(tally.skipped),
        examples(tally.skipped),
    )
    report.add("skip", "stop/platform members outside the file (dropped)", tally.dropped_members)
    report.add(
        "repair",
        "routes partly outside the file (in-file part kept)",
        len(set(tally.cut)),
        examples(sorted(set(tally.cut))),
    )
    report.add(
        "assume",
        f"routes without stop members in the file: stops derived from bus stops within "
        f"{OSM_ROUTE_STOPS['max_offset_m']:g} m of their ways",
        len(set(tally.derived)),
        examples(sorted(set(tally.derived))),
    )
    report.add(
        "info",
        "two-way relations (forward_stop/backward_stop roles) split into two lines",
        len(tally.two_way),
        examples(tally.two_way),
    )
    report.add(
        "repair",
        "directions whose stop members were put in order along the ways",
        len(tally.reordered),
        examples(sorted(set(tally.reordered))),
    )
    report.add("repair", "joins of route ways sharing no node (straight jump)", tally.gaps)
    report.add(
        "info",
        "routes whose platforms were used (fewer located stop positions)",
        tally.used_platforms,
    )
    report.add(
        "repair",
        f"both platforms of a stop in one direction: the one on the far side of the "
        f"{side.name}-hand traffic dropped (opposite sides of the ways, within "
        f"{OSM_ROUTE_STOPS['pair_m']:g} m or the same name within "
        f"{OSM_ROUTE_STOPS['pair_same_name_m']:g} m)",
        tally.far_side_dropped,
        examples(sorted(set(tally.far_side))),
    )
    report.add(
        "repair",
        "the same stop twice in a row (merged; same id, or same name within 40 m)",
        tally.repeated,
    )
    report.add(
        "skip",
        "interval tags that could not be read (default headway used)",
        len(tally.bad_interval),
        examples(tally.bad_interval),
    )
    for route, count in sorted(tally.default_headway.items()):
        report.add(
            "assume",
            f"{route} routes without interval: default headway {headway_defaults[route]:g} s",
            count,
        )
    report.routes = pd.DataFrame(tally.rows)
    return report


def _parse_interval(value: str | None) -> float | None:
    """Seconds from an OSM ``interval`` value: ``"10"`` (minutes), ``"00:10"``, ``"00:10:00"``."""
    if not value:
        return None
    first = re.split(r"[;,]", value)[0].strip()
    match = re.fullmatch(r"(\d+)(?::(\d{1,2}))?(?::(\d{1,2}))?", first)
    if not match:
        return None
    a, b, c = match.groups()
    if b is None:
        seconds = int(a) * 60.0
    elif c is None:
        seconds = int(a) * 3600.0 + int(b) * 60.0
    else:
        seconds = int(a) * 3600.0 + int(b) * 60.0 + int(c)
    return seconds if seconds > 0 else None
