"""Street networks from OpenStreetMap: files, GraphML, place names, bboxes, polygons.

``load_osm_network`` reads them (the public door, :func:`transitopt.network.load_network`,
also takes TNTP and the embedded default)::

    net = load_osm_network("Helsinki.osm.pbf", network_type="drive", profile="generic")

Pipeline: read the source into an unsimplified osmnx graph (files: ways of the network
type only, see :mod:`transitopt.network.pbf`) -> impute speed, lanes, capacity and
free-flow time per OSM segment (:mod:`transitopt.network.imputation`) -> simplify with
osmnx, summing segment times and keeping bottleneck capacities -> keep the largest
weakly connected component, made strongly connected by reverse connectors at one-way
dead ends (:mod:`transitopt.network.usable`; files also drop non-road ``highway``
values and join islands through service roads) -> compile to a :class:`Network` (nodes
sorted by OSM id) -> cache (:mod:`transitopt.network.cache`).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import settings
from .._digest import file_digest
from .._errors import GeocodingError, InputFileError, NetworkError
from .._progress import ProgressCallback
from .cache import cache_key, read_cached, write_cached
from .compiled import MODE_BIKE, MODE_BUS, MODE_CAR, MODE_WALK, Network
from .imputation import EDGE_ATTR_AGGS, Profile, impute_graph, load_profile, motorcycle_barred
from .pbf import BIDIRECTIONAL_NETWORK_TYPES, CAR_ALLOWED, read_osm, write_osm_xml
from .usable import connector_flags, keep_usable, refine_extract

#: file name endings load_osm_network reads
ACCEPTED_EXTENSIONS = (
    ".osm.pbf", ".pbf", ".osm", ".osm.xml", ".xml", ".osm.bz2", ".osm.gz", ".graphml",
)  # fmt: skip
#: modes allowed on the edges of each network type
NETWORK_MODES = {
    "drive": MODE_CAR | MODE_BUS,
    "drive_service": MODE_CAR | MODE_BUS,
    "walk": MODE_WALK,
    "bike": MODE_BIKE,
}
#: seconds to wait for an OSM server before declaring the machine offline
ONLINE_CHECK_TIMEOUT_S = 5.0

#: numeric edge attributes that become Network arrays (not ``edges`` columns)
_NUMERIC_ATTRS = {
    "length", "length_m", "speed_kph", "free_flow_time_s", "capacity_vph", "lanes_per_direction",
    "alpha", "beta", "toll", "modes", "travel_time",
}  # fmt: skip
_FIRST_COLUMNS = ["osmid", "key", "highway", "name", "oneway", "road_class"]
#: OSM way tags kept on drive edges for motorcycle permissions -> their edge attribute
#: (``toll`` is the numeric toll cost of an edge, so its tag is kept as ``osm_toll``)
_PERMISSION_TAGS = {
    "motorcycle": "motorcycle",
    "motor_vehicle": "motor_vehicle",
    "toll": "osm_toll",
}


def load_osm_network(
    source: str | os.PathLike | tuple[float, float, float, float] | Any,
    *,
    network_type: str = "drive",
    profile: str | Path = "generic",
    overrides: Mapping[str, Any] | str | Path | None = None,
    cache: bool = True,
    simplify: bool = True,
    progress: ProgressCallback | None = None,
) -> Network:
    """Load a street network from OpenStreetMap data and compile it.

    Parameters
    ----------
    source
        A file (``.osm.pbf``, ``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz`` or an
        osmnx/transitopt ``.graphml``), a place name ("Monaco"), a bbox
        ``(west, south, east, north)`` in degrees, or a shapely (Multi)Polygon in
        EPSG:4326. Names, bboxes and polygons need internet (Nominatim and Overpass).
    network_type
        "drive" (cars and buses), "drive_service", "walk" or "bike"; ways are filtered
        as osmnx does for the same ``network_type``.
    profile
        Imputation profile: "generic", "indonesia" or a TOML file (see
        :func:`~transitopt.network.imputation.load_profile`).
    overrides
        Profile values to replace, e.g. ``{"speed_kph": {"residential": 25}}``, or a TOML file.
    cache
        Read and write the on-disk cache (``settings.cache_dir()``).
    simplify
        Merge chains of degree-2 nodes into single edges (osmnx ``simplify_graph``).
    progress
        Called with ``{"stage": str, "fraction": float in [0, 1]}`` at each stage
        (:mod:`transitopt._progress`).

    Returns
    -------
    Network
        Largest weakly connected component made strongly connected by reverse
        connectors (:mod:`transitopt.network.usable`). ``info`` holds ``source``,
        ``network_type``, ``profile``, ``imputed`` (counts of edges per attribute and
        origin: tag, implicit, default, mode, mixed), ``kept`` (nodes kept, of how
        many, connectors added), ``dropped`` (nodes, edges, islands, largest island),
        ``osm`` (file reading counts) and ``cache`` (hit, key);
        :func:`~transitopt.network.summary.describe_kept` says it in words.

    Raises
    ------
    InputFileError
        Missing file, unknown extension, corrupt file, no highways in the file.
    NetworkError
        Nothing usable for ``network_type``.
    GeocodingError
        A place, bbox or polygon cannot be resolved (for instance: no internet).
    """
    if network_type not in NETWORK_MODES:
        raise ValueError(
            f"unknown network_type {network_type!r}; expected one of {sorted(NETWORK_MODES)}"
        )

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress({"stage": stage, "fraction": fraction})

    prof = load_profile(profile, overrides=overrides)
    kind, label, digest = _describe_source(source)
    options = {
        "network_type": network_type,
        "profile": prof.digest,
        "simplify": bool(simplify),
        "versions": _versions(),
    }
    key = cache_key(digest, options)
    if cache:
        report("reading cache", 0.0)
        cached = read_cached(key)
        if cached is not None:
            report("done", 1.0)
            info = {**cached.info, "source": label, "cache": {"hit": True, "key": key}}
            return cached.replace(info=info)

    report("reading source", 0.05)
    G, osm_stats = _read_graph(kind, source, network_type)
    precompiled = _is_imputed(G)
    if not precompiled:
        report("imputing attributes", 0.5)
        impute_graph(G, profile=prof, network_type=network_type)
    if simplify and not precompiled and not _is_simplified(G):
        import osmnx as ox

        report("simplifying", 0.6)
        G = ox.simplify_graph(G, edge_attr_aggs=EDGE_ATTR_AGGS)
    report("compiling", 0.8)
    info = {
        "source": label,
        "source_kind": kind,
        "source_sha256": digest if kind in ("file", "graphml") else None,
        "simplify": bool(simplify),
        "osm": osm_stats,
        "cache": {"hit": False, "key": key if cache else None},
    }
    network = _compile(G, network_type=network_type, profile=prof, info=info, owned=True)
    if cache:
        write_cached(key, network)
    report("done", 1.0)
    return network


def from_networkx(
    G: Any,
    *,
    network_type: str = "drive",
    profile: str | Path | Profile = "generic",
    overrides: Mapping[str, Any] | str | Path | None = None,
    info: Mapping[str, Any] | None = None,
) -> Network:
    """Compile an osmnx ``MultiDiGraph`` (lon/lat node ``x``/``y``) into a :class:`Network`.

    Edges without imputed attributes are imputed first (lists of tag values from
    simplified graphs are handled); edges that carry ``free_flow_time_s`` and
    ``capacity_vph`` (from this module or a transitopt export) keep their values. Only
    the largest weakly connected component is kept, made strongly connected by reverse
    connectors (:func:`~transitopt.network.usable.keep_usable`); nodes are sorted by id.

    Parameters
    ----------
    G
        The graph (not changed).
    network_type
        Sets the mode flags (drive: car and bus; walk; bike) and the imputation rules.
    profile, overrides
        Imputation profile, see :func:`load_osm_network`.
    info
        Extra entries for ``Network.info``.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile, overrides=overrides)
    return _compile(G, network_type=network_type, profile=prof, info=info, owned=False)


def _compile(
    G: Any, *, network_type: str, profile: Profile, info: Mapping[str, Any] | None, owned: bool
) -> Network:
    """:func:`from_networkx`; ``owned=True`` lets it change ``G`` in place."""
    prof = profile
    if G.number_of_edges() == 0:
        raise NetworkError("the graph has no edges")
    if not _is_imputed(G):
        G = impute_graph(G if owned else G.copy(), profile=prof, network_type=network_type)
        owned = True
    # values from a transitopt export (``lanes`` per direction, no ``lanes_per_direction``)
    given = not any("lanes_per_direction" in d for _, _, d in G.edges(data=True))
    G, usable = keep_usable(G, in_place=owned)

    nodes = sorted(G.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    node_x = np.array([float(G.nodes[n]["x"]) for n in nodes])
    node_y = np.array([float(G.nodes[n]["y"]) for n in nodes])
    edge_list = sorted(
        G.edges(keys=True, data=True), key=lambda e: (index[e[0]], index[e[1]], str(e[2]))
    )
    m = len(edge_list)
    tail = np.fromiter((index[u] for u, _, _, _ in edge_list), dtype=np.int64, count=m)
    head = np.fromiter((index[v] for _, v, _, _ in edge_list), dtype=np.int64, count=m)
    arrays = {
        name: np.empty(m)
        for name in (
            "length_m",
            "free_flow_time_s",
            "capacity_vph",
            "alpha",
            "beta",
            "lanes",
            "speed_kph",
            "toll",
        )
    }
    modes = np.empty(m, dtype=np.uint8)
    default_mode = NETWORK_MODES.get(network_type, MODE_CAR | MODE_BUS)
    driving = network_type in ("drive", "drive_service")
    records = []
    for j, (u, v, k, data) in enumerate(edge_list):
        length = _number(data.get("length", data.get("length_m")))
        time = _number(data["free_flow_time_s"])
        arrays["length_m"][j] = length
        arrays["free_flow_time_s"][j] = time
        arrays["capacity_vph"][j] = _number(data["capacity_vph"])
        arrays["alpha"][j] = _number(data.get("alpha", prof.alpha))
        arrays["beta"][j] = _number(data.get("beta", prof.beta))
        lanes = data.get("lanes_per_direction", data.get("lanes") if given else None)
        arrays["lanes"][j] = _number(lanes, default=1.0)
        arrays["speed_kph"][j] = (
            3.6 * length / time if time > 0 and length > 0 else _number(data.get("speed_kph"))
        )
        arrays["toll"][j] = _number(data.get("toll"), default=0.0)
        modes[j] = int(_number(data.get("modes"), default=default_mode))
        record = {"osmid": None, "key": k}
        for name, value in data.items():
            if name in _NUMERIC_ATTRS or (given and name == "lanes"):
                continue
            record[name] = sorted(value, key=str) if isinstance(value, list) else value
        if driving:
            record["motorcycle_barred"] = str(data.get("motorcycle_barred")).lower() == "true" or (
                motorcycle_barred(
                    {
                        "motorcycle": data.get("motorcycle"),
                        "motor_vehicle": data.get("motor_vehicle"),
                        "toll": data.get("osm_toll"),
                        "highway": data.get("highway"),
                    },
                    prof,
                )
            )
        if record.get("geometry") is None:
            record["geometry"] = _straight_line(
                node_x[index[u]], node_y[index[u]], node_x[index[v]], node_y[index[v]]
            )
        records.append(record)
    edges = pd.DataFrame.from_records(records)
    edges["connector"] = connector_flags(edges.get("connector", [None] * m))
    ordered = [c for c in _FIRST_COLUMNS if c in edges.columns]
    rest = sorted(c for c in edges.columns if c not in ordered and c != "geometry")
    edges = edges[ordered + rest + ["geometry"]]

    full_info = {
        "network_type": network_type,
        "profile": prof.name,
        "imputed": _imputed_counts(edges, prof, network_type=network_type),
        **usable,
        **dict(info or {}),
    }
    crs = str(G.graph.get("crs", "EPSG:4326")).upper()
    return Network.from_edges(
        tail, head, n_nodes=len(nodes), node_x=node_x, node_y=node_y,
        node_id=np.asarray(nodes, dtype=np.int64), modes=modes, edges=edges, crs=crs,
        info=full_info, **arrays,
    )  # fmt: skip


# ---------------------------------------------------------------------------- sources
def _describe_source(source: Any) -> tuple[str, str, str]:
    """``(kind, label, digest)``: kind is file, graphml, place, bbox or polygon."""
    if isinstance(source, str | os.PathLike) and _looks_like_path(source):
        path = Path(source).expanduser()
        name = path.name.lower()
        if not path.exists():
            raise InputFileError(f"file not found: {path}")
        if not path.is_file():
            raise InputFileError(f"not a file: {path}")
        if not name.endswith(ACCEPTED_EXTENSIONS):
            raise InputFileError(
                f"{path}: unknown file type; expected one of {', '.join(ACCEPTED_EXTENSIONS)}"
            )
        kind = "graphml" if name.endswith(".graphml") else "file"
        return kind, str(path), file_digest(path)
    if isinstance(source, str):
        if not source.strip():
            raise GeocodingError("empty place name")
        return "place", source, "place:" + source.strip()
    if _is_polygon(source):
        return "polygon", f"polygon {source.bounds}", "polygon:" + source.wkb_hex
    if isinstance(source, Sequence) and len(source) == 4:
        try:
            west, south, east, north = (float(c) for c in source)
        except (TypeError, ValueError):
            raise GeocodingError(
                f"bbox must be 4 numbers (west, south, east, north), got {source!r}"
            ) from None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise GeocodingError(
                f"bbox {source!r} is not (west, south, east, north) in degrees with west < east, south < north"
            )
        bbox = (west, south, east, north)
        return "bbox", f"bbox {bbox}", f"bbox:{bbox}"
    raise TypeError(
        f"source must be a file path, place name, (west, south, east, north) bbox or polygon, got {type(source).__name__}"
    )


def _looks_like_path(source: str | os.PathLike) -> bool:
    if not isinstance(source, str):
        return True
    text = source.strip()
    if text.lower().endswith(ACCEPTED_EXTENSIONS) or os.path.exists(text):
        return True
    # "data/city.geojson", "map.shp": no spaces or commas, a separator or an extension
    return not re.search(r"[\s,]", text) and (
        "/" in text or os.sep in text or re.search(r"\.[A-Za-z0-9]{1,8}$", text) is not None
    )


def _is_polygon(value: Any) -> bool:
    try:
        from shapely.geometry import MultiPolygon, Polygon
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, Polygon | MultiPolygon)


def _read_graph(kind: str, source: Any, network_type: str) -> tuple[Any, dict[str, Any]]:
    """Unsimplified osmnx graph of the source (GraphML: as stored) and reading counts."""
    if kind == "file":
        return _graph_from_osm_file(Path(source).expanduser(), network_type)
    if kind == "graphml":
        import osmnx as ox

        try:
            G = ox.load_graphml(Path(source).expanduser())
        except Exception as exc:  # noqa: BLE001 - XML, type and key errors of a bad file
            raise InputFileError(f"{source}: not a readable GraphML street graph ({exc})") from None
        if G.number_of_edges() == 0:
            raise NetworkError(f"{source}: the GraphML graph has no edges")
        return G, {}
    return _download(kind, source, network_type), {}


def _graph_from_osm_file(
    path: Path, network_type: str, *, refine: bool = True
) -> tuple[Any, dict[str, Any]]:
    """Unsimplified osmnx graph of a file's ways of ``network_type``.

    ``refine=False`` keeps osmnx's filter as it is (no road-class check, no service
    roads joining islands, :func:`~transitopt.network.usable.refine_extract`).
    """
    import osmnx as ox

    if refine:
        candidates = "drive_service" if network_type == "drive" else None
        extract = refine_extract(
            read_osm(path, network_type=network_type, candidates=candidates), network_type
        )
    else:
        extract = read_osm(path, network_type=network_type)
    with tempfile.TemporaryDirectory(prefix="transitopt-") as folder:
        xml = write_osm_xml(extract, Path(folder) / "network.osm")
        G = ox.graph_from_xml(
            xml,
            bidirectional=network_type in BIDIRECTIONAL_NETWORK_TYPES,
            simplify=False,
            retain_all=True,
        )
    if extract.split_ids:
        for _, _, data in G.edges(data=True):
            data["osmid"] = extract.split_ids.get(data["osmid"], data["osmid"])
    if network_type in ("drive", "drive_service"):
        car_only = {
            extract.split_ids.get(way_id, way_id)
            for way_id, _, tags in extract.ways
            if _car_only(tags)
        }
        if car_only:  # a bus route of the file runs along it: buses use it
            car_only -= _bus_route_ways(path)
        for _, _, data in G.edges(data=True):
            if data["osmid"] in car_only:
                data["modes"] = MODE_CAR
        # the tags motorcycle permissions are read from (osmnx keeps neither)
        permission_tags = {
            extract.split_ids.get(way_id, way_id): {
                key: tags[key] for key in _PERMISSION_TAGS if key in tags
            }
            for way_id, _, tags in extract.ways
        }
        for _, _, data in G.edges(data=True):
            for key, value in permission_tags.get(data["osmid"], {}).items():
                data[_PERMISSION_TAGS[key]] = value
    return G, dict(extract.stats)


def _car_only(tags: Mapping[str, str]) -> bool:
    """``motor_vehicle=no`` lifted for cars (``motorcar=yes``) but not for buses."""
    return (
        tags.get("motor_vehicle") == "no"
        and tags.get("motorcar") in CAR_ALLOWED
        and tags.get("bus", tags.get("psv")) not in CAR_ALLOWED
    )


def _bus_route_ways(path: str | Path) -> set[int]:
    """Ids of the ways that ``route=bus`` (trolleybus, minibus, share_taxi) relations of
    the file list, stops and platforms left out."""
    import osmium

    ways: set[int] = set()
    relation: Any  # pyosmium's objects
    for relation in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        tags = relation.tags
        if tags.get("type") != "route" or tags.get("route") not in _BUS_ROUTES:
            continue
        for member in relation.members:
            if member.type == "w" and "stop" not in member.role and "platform" not in member.role:
                ways.add(member.ref)
    return ways


#: route relation types whose ways are open to buses
_BUS_ROUTES = frozenset({"bus", "trolleybus", "minibus", "share_taxi"})


@contextmanager
def _osmnx_settings(**values: Any):
    """Temporarily change ``osmnx.settings``."""
    import osmnx as ox

    old = {name: getattr(ox.settings, name) for name in values}
    try:
        for name, value in values.items():
            setattr(ox.settings, name, value)
        yield
    finally:
        for name, value in old.items():
            setattr(ox.settings, name, value)


def _require_online(url: str, *, what: str) -> None:
    """Raise GeocodingError at once when ``url`` cannot be reached."""
    import requests

    try:
        requests.head(url, timeout=ONLINE_CHECK_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        host = re.sub(r"^\w+://([^/]+).*$", r"\1", url)
        raise GeocodingError(
            f"cannot reach {host} to resolve {what} ({type(exc).__name__}; no internet?); "
            "pass a local OSM file instead, e.g. load_network('city.osm.pbf')"
        ) from None


def _download(kind: str, source: Any, network_type: str) -> Any:
    import osmnx as ox
    import requests

    what = {
        "place": f"place {source!r}",
        "bbox": f"bbox {tuple(source)!r}",
        "polygon": "the polygon",
    }[kind]
    if kind == "place":
        _require_online(ox.settings.nominatim_url, what=what)
    _require_online(ox.settings.overpass_url, what=what)
    insufficient = getattr(getattr(ox, "_errors", None), "InsufficientResponseError", LookupError)
    kwargs: dict[str, Any] = {"network_type": network_type, "simplify": False, "retain_all": True}
    with _osmnx_settings(cache_folder=str(settings.cache_dir() / "osmnx-http")):
        try:
            if kind == "place":
                return ox.graph_from_place(source, **kwargs)
            if kind == "bbox":
                west, south, east, north = (float(c) for c in source)
                return ox.graph_from_bbox((west, south, east, north), **kwargs)
            return ox.graph_from_polygon(source, **kwargs)
        except requests.RequestException as exc:
            raise GeocodingError(
                f"download for {what} failed ({type(exc).__name__}); pass a local OSM file instead"
            ) from None
        except insufficient as exc:
            raise GeocodingError(f"no street data found for {what} ({exc})") from None
        except (TypeError, ValueError) as exc:
            # osmnx: "Nominatim could not geocode query", "did not geocode to a polygon"
            raise GeocodingError(f"could not resolve {what}: {exc}") from None


# ---------------------------------------------------------------------------- helpers
def _versions() -> dict[str, str]:
    """Versions that change what a load produces (part of the cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("transitopt", "osmnx"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            out[package] = "unknown"
    return out


def _is_imputed(G: Any) -> bool:
    """True when every edge carries ``free_flow_time_s`` and ``capacity_vph``."""
    return all("free_flow_time_s" in d and "capacity_vph" in d for _, _, d in G.edges(data=True))


def _is_simplified(G: Any) -> bool:
    value = G.graph.get("simplified", False)
    return value is True or str(value).lower() == "true"


def _number(value: Any, *, default: float = math.nan) -> float:
    """A float from a number, numeric string or list (minimum); ``default`` if unreadable."""
    if isinstance(value, list | tuple):
        numbers = [_number(v) for v in value]
        numbers = [x for x in numbers if not math.isnan(x)]
        return min(numbers) if numbers else default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(number) else number


def _straight_line(x0: float, y0: float, x1: float, y1: float) -> Any:
    from shapely.geometry import LineString

    return LineString([(x0, y0), (x1, y1)])


def _imputed_counts(edges: pd.DataFrame, profile: Profile, *, network_type: str) -> dict[str, Any]:
    """Edges per origin of each imputed attribute (tag, implicit, default, mode, mixed)."""
    m = len(edges)
    if "speed_source" not in edges.columns:
        return {"speed_kph": {"given": m}, "lanes": {"given": m}, "capacity_vph": {"given": m}}
    counts: dict[str, Any] = {
        "speed_kph": dict(sorted(Counter(map(str, edges["speed_source"])).items())),
        "lanes": dict(sorted(Counter(map(str, edges["lanes_source"])).items())),
    }
    if network_type in ("walk", "bike"):
        counts["capacity_vph"] = {"mode": m}
    else:
        counts["capacity_vph"] = {"profile": m}
        counts["road_class_not_in_profile"] = int(
            sum(1 for c in edges["road_class"] if str(c) not in profile.speed_kph)
        )
    return counts
