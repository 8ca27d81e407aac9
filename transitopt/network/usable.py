"""What a clipped OSM extract keeps: roads only, islands joined by service roads, dead ends opened.

An extract cut out of a city (a bounding box, a country polygon) loses the roads beyond
its edge. Keeping only the largest strongly connected component then throws away much of
what the city has: a one-way street that leaves the extract ends in a node a car can
enter but never leave, and everything behind it is cut off with it. Three steps keep the
city's streets usable (``docs/model.md``, "Street networks from clipped extracts"):

1. **Roads only** (:func:`refine_extract`, drive types): a way is kept only when its
   ``highway`` value is a road class (:data:`DRIVE_ROAD_CLASSES`). osmnx's drive filter
   lists what to exclude, so undocumented values such as ``highway=trail`` (159 footpaths
   in the embedded Helsinki extract) pass it and become "roads" at the default speed.
2. **Islands joined by service roads** (:func:`refine_extract`, ``network_type="drive"``):
   osmnx's "drive" leaves out ``highway=service``. Where a group of streets is reachable
   only through public service roads (a square, a station forecourt), the shortest chain
   of service-road segments that joins it to the main street network is kept (at most
   :data:`MAX_BRIDGE_M` metres); other service roads stay out.
3. **Dead ends opened** (:func:`keep_usable`, every compiled network): the largest weakly
   connected component is kept, and each part of it that a car can enter but not leave
   (or leave but not enter) gets one *reverse connector*: a copy of the fastest edge
   into (out of) that part, pointing the other way, with the same length, free-flow
   time and capacity, flagged ``connector`` in the edge table. At a clipped boundary this
   stands for the turn that traffic makes beyond the edge of the extract; inside the
   city it opens a one-way that ends in a dead end. Repeated until the component is
   strongly connected; each connector merges at least two strong components, so at most
   (strong components - 1) connectors are added. Other weak components (islands) are
   dropped and counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from .._errors import NetworkError
from ..geo import haversine_m
from .pbf import OsmExtract

#: ``highway`` values that are roads for the drive network types (OSM wiki, Key:highway,
#: "Roads", "Link roads" and the special road types open to motor traffic)
DRIVE_ROAD_CLASSES = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "road", "busway",
    }
)  # fmt: skip
#: longest chain of service roads kept to join an island to the main network, metres
MAX_BRIDGE_M = 1000.0


def refine_extract(extract: OsmExtract, network_type: str) -> OsmExtract:
    """Drop ways that are not roads and join islands through service roads (drive types).

    Parameters
    ----------
    extract
        Read with ``candidates="drive_service"`` when ``network_type`` is "drive" (its
        service roads are the candidates for joining islands).
    network_type
        The network being built. "walk" and "bike" extracts are returned unchanged.

    Returns
    -------
    OsmExtract
        A new extract without candidates. ``stats`` gains ``not_roads`` (ways left out
        per ``highway`` value), ``islands_joined`` and ``service_m`` (service-road metres
        kept to join them).

    Raises
    ------
    NetworkError
        No way of the extract is a road.
    """
    if network_type not in ("drive", "drive_service"):
        return extract
    not_roads: Counter[str] = Counter()

    roads = []
    for way in extract.ways:
        highway = way[2].get("highway", "")
        if highway in DRIVE_ROAD_CLASSES:
            roads.append(way)
        else:
            not_roads[highway] += 1
    if not roads:
        raise NetworkError(
            f"none of the {len(extract.ways)} {network_type!r} ways is a road "
            f"(highway values: {sorted(not_roads)}); expected one of {sorted(DRIVE_ROAD_CLASSES)}"
        )
    split_ids = dict(extract.split_ids)
    bridges, n_joined, metres = _bridges(
        roads,
        [w for w in extract.candidates if w[2].get("highway") in DRIVE_ROAD_CLASSES],
        extract.nodes,
    )
    next_id = min([-1, *split_ids]) - 1
    for way_id, refs, tags in bridges:
        split_ids[next_id] = split_ids.get(way_id, way_id)
        roads.append((next_id, refs, tags))
        next_id -= 1
    stats = {
        **extract.stats,
        "not_roads": dict(sorted(not_roads.items())),
        "islands_joined": n_joined,
        "service_m": round(metres, 1),
    }
    used = {ref for _, refs, _ in roads for ref in refs}
    ids = {w[0] for w in roads}
    return OsmExtract(
        nodes={k: v for k, v in extract.nodes.items() if k in used},
        ways=roads,
        split_ids={k: v for k, v in split_ids.items() if k in ids},
        stats=stats,
    )


def _bridges(
    drive: list[tuple[int, list[int], dict[str, str]]],
    service: list[tuple[int, list[int], dict[str, str]]],
    nodes: dict[int, tuple[float, float, dict[str, str]]],
) -> tuple[list[tuple[int, list[int], dict[str, str]]], int, float]:
    """Service-road segments joining each drive island to the main drive component.

    Returns the segments as two-node ways (way id, refs, tags), the number of islands
    joined and the metres of service road kept.
    """
    import networkx as nx

    if not service:
        return [], 0, 0.0
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        root = a
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    for _, refs, _ in drive:
        for a, b in zip(refs, refs[1:], strict=False):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for node in parent:
        groups.setdefault(find(node), []).append(node)
    if len(groups) < 2:
        return [], 0, 0.0
    main = max(groups, key=lambda r: (len(groups[r]), -r))
    S = nx.Graph()
    for index, (_, refs, _) in enumerate(service):
        for a, b in zip(refs, refs[1:], strict=False):
            S.add_edge(a, b, weight=float(haversine_m(*nodes[a][:2], *nodes[b][:2])), way=index)
    sources = [n for n in groups[main] if n in S]
    if not sources:
        return [], 0, 0.0
    dist, paths = nx.multi_source_dijkstra(S, sources, cutoff=MAX_BRIDGE_M)
    segments: dict[tuple[int, int], int] = {}
    joined = 0
    for root, members in groups.items():
        if root == main:
            continue
        reached = [n for n in members if n in dist]
        if not reached:
            continue
        end = min(reached, key=lambda n: (dist[n], n))
        joined += 1
        path = paths[end]
        for a, b in zip(path, path[1:], strict=False):
            segments[(min(a, b), max(a, b))] = S[a][b]["way"]
    out = []
    metres = 0.0
    for (a, b), index in sorted(segments.items()):
        way_id, refs, tags = service[index]
        ia, ib = refs.index(a), refs.index(b)
        pair = [a, b] if ia < ib else [b, a]  # keep the way's direction (one-way service roads)
        out.append((way_id, pair, tags))
        metres += S[a][b]["weight"]
    return out, joined, metres


def keep_usable(G: Any, *, in_place: bool = False) -> tuple[Any, dict[str, Any]]:
    """The largest weak component of ``G``, made strongly connected by reverse connectors.

    Parameters
    ----------
    G
        A networkx ``MultiDiGraph`` whose edges carry ``free_flow_time_s`` (seconds).
    in_place
        Change ``G`` itself (else a copy of the kept part is changed).

    Returns
    -------
    graph, report
        ``report`` holds ``kept`` (``nodes``, ``of_nodes``, ``connectors``) and ``dropped``
        (``nodes``, ``edges``, ``islands``, ``largest_island``: nodes of the largest island).

    Raises
    ------
    NetworkError
        No strongly connected part has two or more nodes (no two-way street, no loop):
        there is nothing to anchor the network on.
    """
    import networkx as nx

    n_nodes, n_edges = G.number_of_nodes(), G.number_of_edges()
    weak = list(nx.weakly_connected_components(G))
    keep = max(weak, key=lambda c: (len(c), -min(c)))
    islands = sorted((len(c) for c in weak if c is not keep), reverse=True)
    if in_place:
        G.remove_nodes_from([n for n in G.nodes if n not in keep])
        H = G
    else:
        H = G.subgraph(keep).copy()
    kept_edges = H.number_of_edges()
    if max(len(c) for c in nx.strongly_connected_components(H)) < 2:
        raise NetworkError(
            "no two-way street or loop: no strongly connected part of two or more nodes "
            f"({n_nodes} nodes, {n_edges} edges)"
        )
    connectors = _open_dead_ends(H)
    report = {
        "kept": {"nodes": H.number_of_nodes(), "of_nodes": n_nodes, "connectors": connectors},
        "dropped": {
            "nodes": n_nodes - H.number_of_nodes(),
            "edges": n_edges - kept_edges,
            "islands": len(islands),
            "largest_island": islands[0] if islands else 0,
        },
    }
    return H, report


def _open_dead_ends(H: Any) -> int:
    """Add reverse connectors until ``H`` (weakly connected) is strongly connected."""
    import networkx as nx

    added = 0
    while True:
        components = list(nx.strongly_connected_components(H))
        if len(components) <= 1:
            return added
        core = max(range(len(components)), key=lambda i: (len(components[i]), -min(components[i])))
        where = {node: i for i, c in enumerate(components) for node in c}
        into: dict[int, tuple] = {}
        out_of: dict[int, tuple] = {}
        for u, v, k, data in H.edges(keys=True, data=True):
            cu, cv = where[u], where[v]
            if cu == cv:
                continue
            rank = (float(data.get("free_flow_time_s", math.inf)), str(u), str(v), str(k))
            if cv not in into or rank < into[cv][0]:
                into[cv] = (rank, u, v, k)
            if cu not in out_of or rank < out_of[cu][0]:
                out_of[cu] = (rank, u, v, k)
        chosen = set()
        for c in range(len(components)):
            if c == core:
                continue
            if c not in out_of:  # a car can enter but not leave
                chosen.add(into[c][1:])
            elif c not in into:  # a car can leave but not enter
                chosen.add(out_of[c][1:])
        for u, v, k in sorted(chosen, key=lambda e: tuple(map(str, e))):
            _add_reverse(H, u, v, k)
            added += 1


def _add_reverse(H: Any, u: Any, v: Any, k: Any) -> None:
    """Add ``v -> u``, a copy of edge ``(u, v, k)`` pointing the other way (a connector)."""
    data = dict(H.edges[u, v, k])
    geometry = data.get("geometry")
    if geometry is not None and hasattr(geometry, "reverse"):
        data["geometry"] = geometry.reverse()
    elif geometry is not None and hasattr(geometry, "coords"):
        from shapely.geometry import LineString

        data["geometry"] = LineString(list(geometry.coords)[::-1])
    data["connector"] = True
    H.add_edge(v, u, **data)


def connector_flags(values: Iterable[Any]) -> list[bool]:
    """``connector`` edge values (True, missing, or text after GraphML) as booleans."""
    return [v is True or str(v).strip().lower() == "true" for v in values]
