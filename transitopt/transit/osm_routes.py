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
* the line id is ``relation/<id>``, its name the ``ref`` tag (else ``name``).

Extracts are often clipped: members outside the file have no location. Such members are
dropped and relations left with fewer than two stops are skipped; both are counted in
the :class:`~transitopt.transit.report.ImportReport`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .._errors import InputFileError
from .defaults import OSM_DEFAULT_HEADWAY_S, OSM_ROUTE_MODES
from .lines import Line, Stop, TransitSupply
from .report import ImportReport, examples

_STOP_ROLE = re.compile(
    r"^(?:(?:forward|backward):)?(?:stop(?:_entry_only|_exit_only|_\d+)?|start_stop|end_stop)$"
)
_PLATFORM_ROLE = re.compile(r"^(?:(?:forward|backward):)?platform(?:_entry_only|_exit_only|_\d+)?$")


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
    import osmium

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: OSM file not found")
    route_types = tuple(route_types or OSM_ROUTE_MODES)
    unknown = [t for t in route_types if t not in OSM_ROUTE_MODES]
    if unknown:
        raise ValueError(
            f"route types {unknown} are not supported; choose from {sorted(OSM_ROUTE_MODES)}"
        )
    headway_defaults = {**OSM_DEFAULT_HEADWAY_S, **(default_headways_s or {})}
    report = ImportReport(source=str(path))

    # ---- pass 1: relations (routes, and the members of every relation for platform areas)
    routes: list[tuple[int, dict[str, str], list[tuple[str, int, str]]]] = []
    relation_members: dict[int, list[tuple[str, int]]] = {}
    try:
        for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
            members = [(m.type, m.ref, m.role) for m in rel.members]
            relation_members[rel.id] = [(t, ref) for t, ref, _ in members]
            tags = dict(rel.tags)
            if tags.get("type") == "route" and tags.get("route") in route_types:
                routes.append((rel.id, tags, members))
    except (RuntimeError, OSError) as exc:
        raise InputFileError(f"{path}: cannot read as an OSM file ({exc})") from None
    if not routes:
        raise InputFileError(f"{path}: no route relation with route={'/'.join(route_types)}")

    # what the chosen members need: node locations, way vertices, relation platforms' parts
    wanted_nodes: set[int] = set()
    wanted_ways: set[int] = set()
    for _, _, members in routes:
        for kind, ref, role in members:
            if not (_STOP_ROLE.match(role) or _PLATFORM_ROLE.match(role)):
                continue
            if kind == "n":
                wanted_nodes.add(ref)
            elif kind == "w":
                wanted_ways.add(ref)
            elif kind == "r":
                for sub_kind, sub_ref in relation_members.get(ref, []):
                    (
                        wanted_nodes
                        if sub_kind == "n"
                        else wanted_ways
                        if sub_kind == "w"
                        else set()
                    ).add(sub_ref)

    # ---- pass 2: node locations and way vertices
    node_at: dict[int, tuple[float, float]] = {}
    node_name: dict[int, str] = {}
    way_points: dict[int, list[tuple[float, float]]] = {}
    way_name: dict[int, str] = {}
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if obj.is_node():
            if obj.id in wanted_nodes and obj.location.valid():
                node_at[obj.id] = (obj.location.lon, obj.location.lat)
                node_name[obj.id] = obj.tags.get("name", "")
        elif obj.is_way() and obj.id in wanted_ways:
            points = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if points:
                way_points[obj.id] = points
                way_name[obj.id] = obj.tags.get("name", "")

    def locate(kind: str, ref: int) -> tuple[str, str, float, float] | None:
        """(stop id, name, lon, lat) of a member, or None when it is not in the file."""
        if kind == "n":
            if ref not in node_at:
                return None
            lon, lat = node_at[ref]
            return f"node/{ref}", node_name.get(ref, ""), lon, lat
        if kind == "w":
            points = way_points.get(ref)
            if not points:
                return None
            xy = np.asarray(points).mean(axis=0)
            return f"way/{ref}", way_name.get(ref, ""), float(xy[0]), float(xy[1])
        points = []
        for sub_kind, sub_ref in relation_members.get(ref, []):
            if sub_kind == "n" and sub_ref in node_at:
                points.append(node_at[sub_ref])
            elif sub_kind == "w":
                points.extend(way_points.get(sub_ref, []))
        if not points:
            return None
        xy = np.asarray(points).mean(axis=0)
        return f"relation/{ref}", "", float(xy[0]), float(xy[1])

    stops: dict[str, Stop] = {}
    lines: list[Line] = []
    skipped: list[int] = []
    dropped_members = 0
    used_platforms = 0
    default_headway: dict[str, int] = {}
    bad_interval: list[int] = []
    repeated = 0
    for rel_id, tags, members in routes:
        groups = {"stop": [], "platform": []}
        located = {"stop": 0, "platform": 0}
        for kind, ref, role in members:
            group = (
                "stop"
                if _STOP_ROLE.match(role)
                else "platform"
                if _PLATFORM_ROLE.match(role)
                else None
            )
            if group is None:
                continue
            where = locate(kind, ref)
            groups[group].append(where)
            located[group] += where is not None
        group = "platform" if located["platform"] > located["stop"] else "stop"
        used_platforms += group == "platform"
        chosen = [w for w in groups[group] if w is not None]
        dropped_members += len(groups[group]) - len(chosen)
        sequence: list[str] = []
        for stop_id, name, lon, lat in chosen:
            stops.setdefault(stop_id, Stop(id=stop_id, name=name, lon=lon, lat=lat))
            if sequence and sequence[-1] == stop_id:
                repeated += 1
                continue
            sequence.append(stop_id)
        if len(sequence) < 2:
            skipped.append(rel_id)
            continue
        route = tags["route"]
        headway = _parse_interval(tags.get("interval"))
        if headway is None:
            if tags.get("interval"):
                bad_interval.append(rel_id)
            headway = headway_defaults[route]
            default_headway[route] = default_headway.get(route, 0) + 1
        lines.append(
            Line(
                id=f"relation/{rel_id}",
                name=tags.get("ref") or tags.get("name") or str(rel_id),
                mode=OSM_ROUTE_MODES[route],
                stop_ids=tuple(sequence),
                headway_s=headway,
                route_id=str(rel_id),
            )
        )
    report.add("info", "route relations read", len(routes))
    report.add(
        "skip",
        "route relations with fewer than 2 stops located in the file",
        len(skipped),
        examples(skipped),
    )
    report.add("skip", "stop/platform members outside the file (dropped)", dropped_members)
    report.add(
        "info", "routes whose platforms were used (fewer located stop positions)", used_platforms
    )
    report.add("repair", "the same stop twice in a row (merged)", repeated)
    report.add(
        "skip",
        "interval tags that could not be read (default headway used)",
        len(bad_interval),
        examples(bad_interval),
    )
    for route, count in sorted(default_headway.items()):
        report.add(
            "assume",
            f"{route} routes without interval: default headway {headway_defaults[route]:g} s",
            count,
        )
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
