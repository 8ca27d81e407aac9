"""Read OSM files (PBF or XML) with pyosmium, keep one network type, write OSM XML for osmnx.

``osmnx.graph_from_xml`` turns *every* way of a file into edges (buildings, rivers,
...), and it refuses ways whose nodes are missing, as in any extract clipped at a
bounding box. This module does the part osmnx's Overpass query does when downloading:
it keeps the ways that pass osmnx's ``network_type`` filter, keeps their nodes, and
writes them to a small OSM XML file that ``graph_from_xml`` reads.

Missing nodes: a way referencing nodes that are not in the file is **split** at each
missing node; pieces with fewer than two nodes are dropped. Dropping the missing node
and joining its neighbours instead would invent a straight shortcut past a location the
file does not know. Extra pieces get temporary negative way ids (``split_ids`` maps them
back to the OSM way id).

One deviation from osmnx's filter: OSM's access tags form a hierarchy in which the more
specific key wins (https://wiki.openstreetmap.org/wiki/Key:access), so a way tagged
``motor_vehicle=no`` with ``motorcar=yes`` is open to cars. osmnx's Overpass filter drops
it; :func:`way_filter` keeps it for the drive types (in Liechtenstein, the main road
into Balzers is tagged so, and without it a twelfth of the country's roads are cut off).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import osmium

from .._errors import InputFileError, NetworkError

#: osmnx 2.1 ``_overpass._get_network_filter`` strings with ``settings.default_access``
#: (``["access"!~"private"]``) filled in; ``tests/test_osm.py`` checks they still match.
NETWORK_FILTERS = {
    "drive": (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bridleway|bus_guideway|construction|corridor|'
        "cycleway|elevator|escalator|footway|no|path|pedestrian|planned|platform|"
        'proposed|raceway|razed|rest_area|service|services|steps|track"]'
        '["motor_vehicle"!~"no"]["motorcar"!~"no"]'
        '["service"!~"alley|driveway|emergency_access|parking|parking_aisle|private"]'
    ),
    "drive_service": (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bridleway|bus_guideway|construction|corridor|'
        "cycleway|elevator|escalator|footway|no|path|pedestrian|planned|platform|"
        'proposed|raceway|razed|rest_area|services|steps|track"]'
        '["motor_vehicle"!~"no"]["motorcar"!~"no"]'
        '["service"!~"emergency_access|parking|parking_aisle|private"]'
    ),
    "walk": (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bus_guideway|construction|cycleway|motor|no|planned|'
        'platform|proposed|raceway|razed|rest_area|services"]'
        '["foot"!~"no"]["service"!~"private"]'
        '["sidewalk"!~"separate"]["sidewalk:both"!~"separate"]'
        '["sidewalk:left"!~"separate"]["sidewalk:right"!~"separate"]'
    ),
    "bike": (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bus_guideway|construction|corridor|elevator|'
        "escalator|footway|motor|no|planned|platform|proposed|raceway|razed|"
        'rest_area|services|steps"]'
        '["bicycle"!~"no"]["service"!~"private"]'
    ),
}

#: network types whose ways are all two-way (as osmnx ``settings.bidirectional_network_types``)
BIDIRECTIONAL_NETWORK_TYPES = frozenset({"walk"})

#: ``motorcar`` values that open a way to cars whatever ``motor_vehicle`` says
CAR_ALLOWED = frozenset({"yes", "designated", "permissive", "destination"})

_CLAUSE = re.compile(r'\["([^"]+)"(?:(!~|~|!=|=)"([^"]*)")?\]')


def way_filter(network_type: str) -> Callable[[Mapping[str, str]], bool]:
    """A predicate on a way's tags that is True when osmnx would keep the way.

    Overpass semantics: ``["k"]`` needs the key; ``["k"~"re"]`` needs a value matching the
    (unanchored, case-sensitive) regular expression; ``["k"!~"re"]`` passes when the key is
    absent or its value does not match. For "drive" and "drive_service", ``motorcar`` in
    :data:`CAR_ALLOWED` overrides a ``motor_vehicle`` clause (the more specific access tag
    wins).

    Parameters
    ----------
    network_type
        One of ``NETWORK_FILTERS`` ("drive", "drive_service", "walk", "bike").
    """
    try:
        text = NETWORK_FILTERS[network_type]
    except KeyError:
        raise ValueError(
            f"unknown network_type {network_type!r}; expected one of {sorted(NETWORK_FILTERS)}"
        ) from None
    clauses = []
    car_override = network_type in ("drive", "drive_service")
    for key, op, value in _CLAUSE.findall(text):
        clauses.append((key, op, re.compile(value) if op in ("~", "!~") else value))

    def keep(tags: Mapping[str, str]) -> bool:
        car_allowed = car_override and tags.get("motorcar") in CAR_ALLOWED
        for key, op, pattern in clauses:
            if car_allowed and key == "motor_vehicle":
                continue
            value = tags.get(key)
            if not op:
                ok = value is not None
            elif op == "~":
                ok = value is not None and pattern.search(value) is not None
            elif op == "!~":
                ok = value is None or pattern.search(value) is None
            elif op == "=":
                ok = value == pattern
            else:
                ok = value != pattern
            if not ok:
                return False
        return True

    return keep


@dataclass
class OsmExtract:
    """Ways of one network type and their nodes, read from an OSM file.

    Attributes
    ----------
    nodes : dict
        OSM node id -> ``(lon, lat, tags)``, degrees.
    ways : list
        ``(way_id, node_ids, tags)``; ids of extra pieces of split ways are negative.
    candidates : list
        Ways of the ``candidates`` filter of :func:`read_osm` only, as ``ways``.
    split_ids : dict
        Temporary negative way id -> OSM way id.
    stats : dict
        ``highway_ways`` (ways with a highway tag), ``ways`` (kept by the filter),
        ``missing_nodes`` (distinct node ids referenced but absent), ``ways_split``,
        ``ways_dropped`` (no piece of two or more nodes left).
    """

    nodes: dict[int, tuple[float, float, dict[str, str]]]
    ways: list[tuple[int, list[int], dict[str, str]]]
    candidates: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    split_ids: dict[int, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def read_osm(
    path: str | Path, *, network_type: str = "drive", candidates: str | None = None
) -> OsmExtract:
    """Read the ways of one network type and their nodes from an OSM file.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm``, ``.osm.xml``, ``.osm.bz2`` or ``.osm.gz`` file.
    network_type
        Way filter, see :func:`way_filter`.
    candidates
        A second network type: ways it keeps and ``network_type`` does not go to
        ``OsmExtract.candidates`` (split the same way; not counted in ``stats``).

    Returns
    -------
    OsmExtract

    Raises
    ------
    InputFileError
        The file cannot be parsed, or it has no ways with a ``highway`` tag.
    NetworkError
        No way passes the ``network_type`` filter.
    """
    path = Path(path)
    keep = way_filter(network_type)
    raw_ways: list[tuple[int, list[int], dict[str, str]]] = []
    raw_candidates: list[tuple[int, list[int], dict[str, str]]] = []
    maybe = way_filter(candidates) if candidates else None
    n_highway = 0
    try:
        ways = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        for way in ways:
            if not isinstance(way, osmium.osm.Way):  # the WAY entity filter lets only ways through
                continue
            n_highway += 1
            tags = {tag.k: tag.v for tag in way.tags}
            if keep(tags):
                raw_ways.append((way.id, [n.ref for n in way.nodes], tags))
            elif maybe is not None and maybe(tags):
                raw_candidates.append((way.id, [n.ref for n in way.nodes], tags))
        if n_highway == 0:
            raise InputFileError(f"{path}: no ways with a 'highway' tag (not a street map?)")
        if not raw_ways:
            raise NetworkError(
                f"{path}: none of its {n_highway} highway ways is usable for "
                f"network_type={network_type!r}"
            )
        wanted = {ref for _, refs, _ in raw_ways for ref in refs}
        also_wanted = {ref for _, refs, _ in raw_candidates for ref in refs}
        nodes: dict[int, tuple[float, float, dict[str, str]]] = {}
        for node in osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
            osmium.filter.IdFilter(wanted | also_wanted)
        ):
            if not isinstance(node, osmium.osm.Node):  # the NODE entity filter: only nodes
                continue
            loc = node.location
            if node.id in nodes:
                raise InputFileError(
                    f"{path}: node {node.id} appears more than once (node ids must be unique; "
                    "is this an OSM history file or two merged extracts?)"
                )
            if not loc.valid():
                raise InputFileError(
                    f"{path}: node {node.id} has coordinates outside the globe "
                    f"(lon {loc.lon_without_check():g}, lat {loc.lat_without_check():g}; "
                    "expected -180..180 and -90..90)"
                )
            nodes[node.id] = (loc.lon, loc.lat, {tag.k: tag.v for tag in node.tags})
    except (RuntimeError, osmium.InvalidLocationError) as exc:  # libosmium's parse errors
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{path}: corrupt or unreadable OSM file ({message})") from None

    extract = OsmExtract(nodes=nodes, ways=[])
    missing = wanted - nodes.keys()
    n_split = n_dropped = 0
    next_id = -1
    for target, source in ((extract.ways, raw_ways), (extract.candidates, raw_candidates)):
        counted = target is extract.ways
        for way_id, refs, tags in source:
            pieces = _split_at_missing(refs, nodes)
            if not pieces:
                n_dropped += counted
                continue
            if len(pieces) > 1 or len(pieces[0]) < len(refs):
                n_split += counted
            for k, piece in enumerate(pieces):
                if k == 0:
                    target.append((way_id, piece, tags))
                else:
                    extract.split_ids[next_id] = way_id
                    target.append((next_id, piece, tags))
                    next_id -= 1
    # drop nodes only referenced by dropped ways
    used = {ref for _, refs, _ in extract.ways + extract.candidates for ref in refs}
    extract.nodes = {k: v for k, v in nodes.items() if k in used}
    extract.stats = {
        "highway_ways": n_highway,
        "ways": len(raw_ways),
        "missing_nodes": len(missing),
        "ways_split": n_split,
        "ways_dropped": n_dropped,
    }
    if not extract.ways:
        raise NetworkError(
            f"{path}: every {network_type!r} way references nodes missing from the file"
        )
    return extract


def _split_at_missing(refs: list[int], nodes: Mapping[int, object]) -> list[list[int]]:
    """Runs of consecutive present nodes with at least two nodes each."""
    pieces: list[list[int]] = []
    current: list[int] = []
    for ref in refs:
        if ref in nodes:
            current.append(ref)
        else:
            if len(current) >= 2:
                pieces.append(current)
            current = []
    if len(current) >= 2:
        pieces.append(current)
    return pieces


def write_osm_xml(extract: OsmExtract, path: str | Path) -> Path:
    """Write the extract as OSM XML (nodes sorted by id, then ways in file order).

    Coordinates are written with 7 decimals, the precision of OSM itself.
    """
    path = Path(path)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="transitopt">\n'
        )
        for node_id in sorted(extract.nodes):
            lon, lat, tags = extract.nodes[node_id]
            out.write(f'<node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"')
            if tags:
                out.write(">")
                out.write(
                    "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
                )
                out.write("</node>\n")
            else:
                out.write("/>\n")
        for way_id, refs, tags in extract.ways:
            out.write(f'<way id="{way_id}">')
            out.write("".join(f'<nd ref="{ref}"/>' for ref in refs))
            out.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()))
            out.write("</way>\n")
        out.write("</osm>\n")
    return path
