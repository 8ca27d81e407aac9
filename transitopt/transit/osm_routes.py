"""OpenStreetMap public-transport route relations to transit lines.

:func:`read_osm_routes` reads ``type=route`` relations with ``route`` = bus, trolleybus,
share_taxi/minibus, tram, light_rail, train, subway or monorail from an ``.osm.pbf``,
``.osm`` or ``.osm.bz2`` file with pyosmium, and makes one line per relation:

* stops are the relation's members in member order whose role names a stop position
  (``stop``, ``stop_entry_only``, ``stop_exit_only``, ``start_stop``, ``end_stop``,
  ``forward:stop`` ...) or a platform (``platform``, ``platform_entry_only`` ...). A
  relation usually lists both, one after the other; the group with more members
  located in the file is used (stop positions on a tie), never both. A node member is
  located at the node; a way or relation platform at the mean of its nodes' locations
  (the centroid of its vertices).
* the headway comes from the ``interval`` tag (minutes, ``hh:mm`` or ``hh:mm:ss``, the
  first value if several) or, without one, from ``OSM_DEFAULT_HEADWAY_S`` by route type
  (:mod:`transitopt.transit.defaults`).
* the line id is ``relation/<id>``, its name the ``ref`` tag (else ``name``), its long
  name the ``name`` tag without the ref (else ``from - to``), its operator the
  ``operator`` tag (else ``network``).

Extracts are often clipped: members outside the file have no location. Such members are
dropped and relations left with fewer than two stops are skipped; both are counted in
the :class:`~transitopt.transit.report.ImportReport`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputFileError
from .defaults import OSM_DEFAULT_HEADWAY_S, OSM_ROUTE_MODES
from .lines import Line, Stop, TransitSupply
from .report import ImportReport, examples

_STOP_ROLE = re.compile(
    r"^(?:(?:forward|backward):)?(?:stop(?:_entry_only|_exit_only|_\d+)?|start_stop|end_stop)$"
)
_PLATFORM_ROLE = re.compile(r"^(?:(?:forward|backward):)?platform(?:_entry_only|_exit_only|_\d+)?$")


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


def read_osm_routes(
    path: str | os.PathLike,
    *,
    route_types: tuple[str, ...] | None = None,
    default_headways_s: dict[str, float] | None = None,
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

    Returns
    -------
    supply : TransitSupply
    report : ImportReport
        Relations skipped (fewer than two located stops), members dropped (outside the
        extract), headways assumed.

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
    stops: dict[str, Stop] = {}
    lines: list[Line] = []
    tally = _Tally()
    for relation in routes:
        sequence = _stop_sequence(_chosen_stops(relation, locations, tally), stops, tally)
        if len(sequence) < 2:
            tally.skipped.append(relation.id)
            continue
        headway = _headway_s(relation, headway_defaults, tally)
        lines.append(_line(relation, sequence, headway))
    report = _report(path, len(routes), tally, headway_defaults)
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
    return None


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


class _MemberLocations:
    """Where the stop and platform members of the routes are (pass 2 over the file)."""

    def __init__(self, relation_members: dict[int, list[tuple[str, int]]]) -> None:
        self.relation_members = relation_members
        self.node_at: dict[int, tuple[float, float]] = {}
        self.node_name: dict[int, str] = {}
        self.way_points: dict[int, list[tuple[float, float]]] = {}
        self.way_name: dict[int, str] = {}

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
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        obj: Any  # pyosmium's objects
        for obj in processor.with_locations():
            if obj.is_node():
                if obj.id in wanted_nodes and obj.location.valid():
                    out.node_at[obj.id] = (obj.location.lon, obj.location.lat)
                    out.node_name[obj.id] = obj.tags.get("name", "")
            elif obj.is_way() and obj.id in wanted_ways:
                points = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if points:
                    out.way_points[obj.id] = points
                    out.way_name[obj.id] = obj.tags.get("name", "")
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


def _centroid(stop_id: str, name: str, points: list[tuple[float, float]] | None) -> _Located | None:
    """A stop at the mean of ``points`` (lon, lat), or None without points."""
    if not points:
        return None
    xy = np.asarray(points).mean(axis=0)
    return stop_id, name, float(xy[0]), float(xy[1])


def _chosen_stops(
    relation: _RouteRelation, locations: _MemberLocations, tally: _Tally
) -> list[_Located]:
    """The located members of the group (stop positions or platforms) with more located."""
    groups: dict[str, list[_Located | None]] = {"stop": [], "platform": []}
    located = {"stop": 0, "platform": 0}
    for kind, ref, role in relation.members:
        group = _role_group(role)
        if group is None:
            continue
        where = locations.locate(kind, ref)
        groups[group].append(where)
        located[group] += where is not None
    group = "platform" if located["platform"] > located["stop"] else "stop"
    tally.used_platforms += group == "platform"
    chosen = [w for w in groups[group] if w is not None]
    tally.dropped_members += len(groups[group]) - len(chosen)
    return chosen


def _stop_sequence(chosen: list[_Located], stops: dict[str, Stop], tally: _Tally) -> list[str]:
    """Stop ids in member order, the same stop twice in a row merged; adds new stops."""
    sequence: list[str] = []
    for stop_id, name, lon, lat in chosen:
        stops.setdefault(stop_id, Stop(id=stop_id, name=name, lon=lon, lat=lat))
        if sequence and sequence[-1] == stop_id:
            tally.repeated += 1
            continue
        sequence.append(stop_id)
    return sequence


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


def _line(relation: _RouteRelation, sequence: list[str], headway_s: float) -> Line:
    """The line of a route relation."""
    tags = relation.tags
    return Line(
        id=f"relation/{relation.id}",
        name=tags.get("ref") or tags.get("name") or str(relation.id),
        mode=OSM_ROUTE_MODES[tags["route"]],
        stop_ids=tuple(sequence),
        headway_s=headway_s,
        route_id=str(relation.id),
        long_name=_long_name(tags),
        operator=tags.get("operator") or tags.get("network"),
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
    path: Path, n_routes: int, tally: _Tally, headway_defaults: dict[str, float]
) -> ImportReport:
    """The import report from the tally."""
    report = ImportReport(source=str(path))
    report.add("info", "route relations read", n_routes)
    report.add(
        "skip",
        "route relations with fewer than 2 stops located in the file",
        len(tally.skipped),
        examples(tally.skipped),
    )
    report.add("skip", "stop/platform members outside the file (dropped)", tally.dropped_members)
    report.add(
        "info",
        "routes whose platforms were used (fewer located stop positions)",
        tally.used_platforms,
    )
    report.add("repair", "the same stop twice in a row (merged)", tally.repeated)
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
