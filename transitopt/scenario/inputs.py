"""Loading what a baseline names: street networks, transit lines, zones and demand.

Loaded data is memoised in the process (keyed by the resolved spec and the input
files' digests), so that a baseline and its alternatives load each source once.

Zones and demand
----------------
Zones come from ``zones.file`` (read by :func:`transitopt.zones.read_zones`: a CSV with
``zone``, ``lon``, ``lat`` and optionally ``population``, ``jobs``, or a GeoPandas file)
or a square grid of ``zones.grid_cell_m`` over the walk network (else the drive
network, else the stops). Zones without ``population``/``jobs`` columns get them by
``zones.weights``:

* ``landuse``: residents and jobs estimated from the OSM buildings of the network file
  (:func:`transitopt.demand.landuse.read_landuse`), summed to the nearest zone, then
  scaled to ``population_total`` / ``jobs_total`` where those are given;
* ``street_length`` (walk network metres in the zone, nearest zone centre),
  ``nodes``, ``stops`` or ``uniform`` (:func:`transitopt.zones.zone_weights`):
  ``population_total`` and ``jobs_total`` split in proportion to the weight (both
  default to 10,000 — set them: absolute accessibility and population counts scale
  with them).

Demand is person trips per hour by all modes. ``demand.od_file`` is a long CSV, OMX or
TNTP file keyed by the zone ids (:func:`transitopt.demand.read_od`);
``[demand.synthesis]`` distributes ``trips_per_hour`` with a doubly constrained gravity
model (:func:`transitopt.demand.gravity_demand`): productions in proportion to
population, attractions to jobs, deterrence ``exp(-decay_per_km × d)`` with ``d`` the
straight-line distance × ``detour_factor`` (km), balanced by Furness. Intrazonal trips
are not synthesised (they would all walk).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._digest import file_digest
from .._errors import DemandError, InputFileError, SnappingError
from ..demand.external import ExternalDemand, external_note
from ..geo import haversine_m
from ..network.compiled import Network
from ..transit.lines import Line, TransitSupply
from .files import EMBEDDED_SOURCES, NO_NETWORK, Scenario
from .schema import BaselineFile, LineFields, ScenarioError, StopNode, StopPoint

#: default totals when zones carry neither population nor jobs and none is given
DEFAULT_TOTAL = 10_000.0


@dataclass(frozen=True, eq=False)
class BaseData:
    """Everything a baseline loads, before edits.

    Attributes
    ----------
    drive, walk : Network or None
        Street networks (``None`` without one).
    supply : TransitSupply
        Stops and lines (OSM routes, GTFS and the file's own lines).
    line_meta : DataFrame
        Indexed by line id: ``route_key`` (lines sharing a fleet), ``fare`` (per
        boarding), ``source`` (``osm``, ``gtfs``, ``file``, ``edit``).
    zones : DataFrame
        ``zone``, ``lon``, ``lat``, ``population``, ``jobs``.
    demand : (z, z) float64
        Person trips per hour, all modes, in ``zones`` order.
    notes : tuple of str
        Assumptions made while loading (imports repaired, totals defaulted).
    decay_fit : dict or None
        With ``calibration.mean_trip_length_km``: ``mean_trip_length_km`` (the target),
        ``modelled_km`` and ``decay_per_km`` (the fitted decay the demand was
        synthesised with).
    """

    drive: Network | None
    walk: Network | None
    supply: TransitSupply
    line_meta: pd.DataFrame
    zones: pd.DataFrame
    demand: np.ndarray
    notes: tuple[str, ...] = field(default=())
    decay_fit: dict[str, float] | None = None
    external: ExternalDemand | None = None


#: in-process memos, least recently used first: loaded baselines by content hash, and
#: loaded sources (street networks, OSM routes, GTFS, buildings) by file and options;
#: each keeps at most ``BASES_KEPT`` / ``SOURCES_KEPT`` entries (whole networks: a batch
#: over many cities must not hold them all)
_BASE_CACHE: dict[str, BaseData] = {}
_SOURCE_CACHE: dict[tuple, object] = {}
BASES_KEPT = 8
SOURCES_KEPT = 8


def load_base(scenario: Scenario) -> BaseData:
    """Load the baseline of ``scenario`` (memoised per baseline content)."""
    spec = scenario.baseline
    key = _base_key(scenario)
    if key not in _BASE_CACHE:
        _remember(_BASE_CACHE, key, _load_base(scenario, spec), BASES_KEPT)
    return _recall(_BASE_CACHE, key)


def clear_cache() -> None:
    """Forget the in-process memo of loaded inputs."""
    _BASE_CACHE.clear()
    _SOURCE_CACHE.clear()


def _base_key(scenario: Scenario) -> str:
    import hashlib
    import json

    content = {
        "spec": scenario.baseline.model_dump(mode="json"),
        "inputs": {str(p): file_digest(p) for p in scenario.input_files()},
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _memo(key: tuple, load):
    if key not in _SOURCE_CACHE:
        _remember(_SOURCE_CACHE, key, load(), SOURCES_KEPT)
    return _recall(_SOURCE_CACHE, key)


def _remember(cache: dict, key, value, limit: int) -> None:
    """Store ``value``, dropping the least recently used entries beyond ``limit``."""
    cache[key] = value
    while len(cache) > limit:
        cache.pop(next(iter(cache)))


def _recall(cache: dict, key):
    """The entry of ``key``, marked as most recently used."""
    cache[key] = cache.pop(key)
    return cache[key]


def osm_file(source: str) -> Path | None:
    """The OSM file behind a network source (the embedded extract for ``"helsinki"``)."""
    if source.lower() in EMBEDDED_SOURCES:
        from ..network.sources import embedded_default_path

        return embedded_default_path()
    path = Path(source)
    name = path.name.lower()
    if path.is_file() and name.endswith((".osm", ".pbf", ".bz2", ".xml")):
        return path
    return None


def _load_base(scenario: Scenario, spec: BaselineFile) -> BaseData:
    from ..network.sources import load_network

    notes: list[str] = []
    source = spec.network.source
    drive = walk = None
    if source.lower() != NO_NETWORK:
        try:
            drive = _memo(
                ("drive", source, spec.network.profile),
                lambda: load_network(source, network_type="drive", profile=spec.network.profile),
            )
            if spec.network.walk:
                walk = _memo(
                    ("walk", source, spec.network.profile),
                    lambda: load_network(source, network_type="walk", profile=spec.network.profile),
                )
        except ScenarioError:
            raise
        except Exception as exc:  # loaders raise several error types; name the field
            raise scenario.error(
                ("network", "source"), f"cannot load the street network: {exc}"
            ) from None
    if drive is not None:
        from ..network.summary import describe_kept

        if kept := describe_kept(dict(drive.info)):
            notes.append(f"street network: {kept}")
    supply, meta, transit_notes = _load_supply(scenario, spec, drive, walk)
    notes += transit_notes
    zones, zone_notes = _load_zones(scenario, spec, drive, walk, supply)
    notes += zone_notes
    demand, decay_fit = _load_demand(scenario, spec, zones)
    external = _load_external(scenario, spec, drive, zones)
    if external is not None:
        notes.append(external_note(external))
    if decay_fit is not None:
        notes.append(
            f"demand: distance decay {decay_fit['decay_per_km']:.4g} /km fitted to a mean trip "
            f"length of {decay_fit['mean_trip_length_km']:g} km (calibration.mean_trip_length_km)"
        )
    return BaseData(
        drive=drive,
        walk=walk,
        supply=supply,
        line_meta=meta,
        zones=zones,
        demand=demand,
        notes=tuple(notes),
        decay_fit=decay_fit,
        external=external,
    )


# ---------------------------------------------------------------------------- transit
@dataclass
class _SupplyParts:
    """Stops, lines, line metadata and notes gathered from the transit sources."""

    stops: list[pd.DataFrame] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    meta: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, lines: list[Line], source: str, fare: float, route_key) -> None:
        """Lines from one source; ``route_key(line)`` names the fleet they share."""
        self.lines += lines
        self.meta += [
            {"line": ln.id, "route_key": route_key(ln), "fare": fare, "source": source}
            for ln in lines
        ]


def _load_supply(
    scenario: Scenario, spec: BaselineFile, drive, walk
) -> tuple[TransitSupply, pd.DataFrame, list[str]]:
    """Transit stops and lines from OSM route relations, GTFS and the file, in that order."""
    parts = _SupplyParts()
    if spec.transit.osm_routes:
        _add_osm_routes(scenario, spec, parts)
    if spec.transit.gtfs:
        _add_gtfs(scenario, spec, parts)
    if spec.transit.stops:
        parts.stops.append(_file_stops(spec.transit.stops))
    table = _concat_stops(parts.stops)
    duplicate = table.index[table.index.duplicated()]
    if len(duplicate):
        raise scenario.error(
            ("transit", "stops"),
            f"stop id {duplicate[0]!r} is defined twice (OSM/GTFS and the file)",
        )
    table = _add_file_lines(scenario, spec, parts, table, drive=drive, walk=walk)
    if spec.transit.exclude:
        _exclude_lines(spec.transit.exclude, parts)
    ids = [ln.id for ln in parts.lines]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise scenario.error(
            ("transit",), f"line id {dup!r} comes from two sources (OSM, GTFS, file)"
        )
    if not parts.lines:
        parts.notes.append("no transit lines: transit is unavailable")
    _hail_and_ride(spec.transit.hail_and_ride, parts)
    supply = TransitSupply(
        stops=table, lines=tuple(parts.lines), info={"source": scenario.baseline_path.name}
    )
    meta = pd.DataFrame(parts.meta, columns=["line", "route_key", "fare", "source"])
    return supply, meta.set_index("line"), parts.notes


def _hail_and_ride(flag: bool | None, parts: _SupplyParts) -> None:
    """``transit.hail_and_ride``: OSM and GTFS lines all (``True``) or none (``False``)
    hail-and-ride, or (``None``) as their source marks them; a note counts them."""
    if flag is not None:
        source = {m["line"]: m["source"] for m in parts.meta}
        parts.lines = [
            ln.replace(hail_and_ride=flag) if source[ln.id] in ("osm", "gtfs") else ln
            for ln in parts.lines
        ]
    hail = sum(ln.hail_and_ride for ln in parts.lines)
    if hail:
        parts.notes.append(
            f"{hail} hail-and-ride lines (angkot): boarded and left anywhere along the route"
        )


def _add_osm_routes(scenario: Scenario, spec: BaselineFile, parts: _SupplyParts) -> None:
    """The route relations of the OSM network file."""
    from ..transit import read_osm_routes

    t = spec.transit
    path = osm_file(spec.network.source)
    if path is None:
        raise scenario.error(
            ("transit", "osm_routes"), "OSM route relations need an OSM file as network.source"
        )
    route_types = tuple(t.route_types) if t.route_types else None
    try:
        supply, _ = _memo(
            ("osm_routes", str(path), tuple(t.route_types or ())),
            lambda: read_osm_routes(path, route_types=route_types),
        )
    except (ValueError, OSError) as exc:
        raise scenario.error(("transit", "route_types"), str(exc)) from None
    parts.stops.append(supply.stops)
    parts.add(list(supply.lines), "osm", t.line_fare, lambda ln: f"{ln.mode}:{ln.name}")
    parts.notes.append(f"{len(supply.lines)} lines from OSM route relations of {path.name}")


def _add_gtfs(scenario: Scenario, spec: BaselineFile, parts: _SupplyParts) -> None:
    """The GTFS feed's trips in the period, with the file's overrides."""
    from ..transit import read_gtfs

    t, period = spec.transit, spec.period
    gtfs = t.gtfs
    if not gtfs:
        return
    try:
        supply, _ = _memo(
            ("gtfs", gtfs, period.date, period.start, period.end),
            lambda: read_gtfs(gtfs, date=period.date, start=period.start, end=period.end),
        )
    except (ValueError, OSError) as exc:
        raise scenario.error(("transit", "gtfs"), str(exc)) from None
    lines = [ln.replace(mode=t.gtfs_mode) if t.gtfs_mode else ln for ln in supply.lines]
    if t.gtfs_headway_min is not None:
        lines = _override_headways(scenario, lines, t.gtfs_headway_min)
        parts.notes.append("GTFS headways overridden by transit.gtfs_headway_min")
    if t.gtfs_capacity is not None:
        lines = _override_capacities(scenario, lines, t.gtfs_capacity)
        parts.notes.append("GTFS vehicle capacities set by transit.gtfs_capacity")
    if not t.use_timetable_times:
        lines = [ln.replace(running_times_s=None, dwell_s=None) for ln in lines]
    parts.stops.append(supply.stops)
    parts.add(lines, "gtfs", t.line_fare, lambda ln: f"{ln.mode}:{ln.route_id or ln.id}")
    parts.notes.append(
        f"{len(lines)} lines from GTFS {Path(gtfs).name} ({period.start}-{period.end})"
    )


def _file_stops(stops) -> pd.DataFrame:
    """The ``[[transit.stops]]`` of the file as a stop table."""
    return pd.DataFrame(
        {
            "name": [s.name or s.id for s in stops],
            "lon": [s.lon for s in stops],
            "lat": [s.lat for s in stops],
        },
        index=pd.Index([s.id for s in stops], name="stop_id"),
    )


def _add_file_lines(
    scenario: Scenario, spec: BaselineFile, parts: _SupplyParts, table: pd.DataFrame, *, drive, walk
) -> pd.DataFrame:
    """The ``[[transit.lines]]`` of the file; returns the stop table with their new stops."""
    t = spec.transit
    seen = {ln.id for ln in parts.lines}
    for k, fields in enumerate(t.lines):
        where = lambda name, k=k: scenario.where("transit", "lines", k, name)  # noqa: E731
        new_lines, table = make_lines(
            fields, table, drive=drive, walk=walk, merge_m=spec.model.stop_merge_m, where=where
        )
        for line in new_lines:
            if line.id in seen:
                raise ScenarioError(f"{where('id')}: line id {line.id!r} already exists")
            seen.add(line.id)
        fare = t.line_fare if fields.fare is None else fields.fare
        parts.add(new_lines, "file", fare, lambda ln, key=fields.id: f"{ln.mode}:{key}")
    return table


def _exclude_lines(patterns: list[str], parts: _SupplyParts) -> None:
    """Drop the lines whose id, name or route key matches one of ``patterns``."""
    import fnmatch

    keys = {m["line"]: m["route_key"] for m in parts.meta}
    dropped = {
        ln.id
        for ln in parts.lines
        if any(
            fnmatch.fnmatchcase(v, pat) for pat in patterns for v in (ln.id, ln.name, keys[ln.id])
        )
    }
    parts.lines = [ln for ln in parts.lines if ln.id not in dropped]
    parts.meta = [m for m in parts.meta if m["line"] not in dropped]
    parts.notes.append(f"{len(dropped)} lines excluded by transit.exclude {patterns}")


def _override_headways(scenario: Scenario, lines: list[Line], value) -> list[Line]:
    minutes = _per_line(scenario, lines, value, "gtfs_headway_min")
    return [
        ln.replace(headway_s=60.0 * m) if m is not None else ln
        for ln, m in zip(lines, minutes, strict=True)
    ]


def _override_capacities(scenario: Scenario, lines: list[Line], value) -> list[Line]:
    places = _per_line(scenario, lines, value, "gtfs_capacity")
    return [
        ln.replace(capacity=c) if c is not None else ln for ln, c in zip(lines, places, strict=True)
    ]


def _per_line(scenario: Scenario, lines: list[Line], value, field: str) -> list:
    """The value of ``[transit] <field>`` for each line: one for all, or by line id, route
    id or name (``"*"``: the rest; ``None``: keep the line's own)."""
    if not isinstance(value, dict):
        return [value] * len(lines)
    known = {k for ln in lines for k in (ln.route_id, ln.name, ln.id)}
    unknown = sorted(k for k in value if k != "*" and k not in known)
    if unknown:
        raise scenario.error(("transit", field), f"no GTFS route, name or line {unknown[0]!r}")
    out = []
    for ln in lines:
        key = next(
            (k for k in (ln.id, ln.route_id, ln.name) if k in value), "*" if "*" in value else None
        )
        out.append(value[key] if key is not None else None)
    return out


def _concat_stops(tables: list[pd.DataFrame]) -> pd.DataFrame:
    if not tables:
        return pd.DataFrame(
            {
                "name": pd.Series(dtype=str),
                "lon": pd.Series(dtype=float),
                "lat": pd.Series(dtype=float),
            },
            index=pd.Index([], name="stop_id", dtype=str),
        )
    table = pd.concat([t[["name", "lon", "lat"]] for t in tables])
    table.index = table.index.astype(str)
    table.index.name = "stop_id"
    return table


def make_lines(
    fields: LineFields, stops: pd.DataFrame, *, drive, walk, merge_m: float, where
) -> tuple[list[Line], pd.DataFrame]:
    """Lines (one, or two with ``both_directions``) of a line written in a file, and the stop
    table with any new stops added. ``where(field)`` names the field in messages."""
    stop_ids, stops = resolve_stops(
        fields.stops, stops, prefix=fields.id, drive=drive, walk=walk, merge_m=merge_m, where=where
    )
    common = dict(
        name=fields.name or fields.id,
        mode=fields.mode,
        headway_s=60.0 * fields.headway_min,
        capacity=fields.capacity,
        dwell_s=fields.dwell_s,
        speed_kph=fields.speed_kph,
        route_id=fields.id,
        long_name=fields.long_name,
        operator=fields.operator,
        hail_and_ride=fields.hail_and_ride,
    )
    if len(set(stop_ids)) < 2:
        raise ScenarioError(
            f"{where('stops')}: the stops resolve to a single stop {stop_ids[0]!r}; a line needs two"
        )
    if fields.both_directions:
        back_ids = list(reversed(stop_ids))
        if fields.stops_back is not None:
            back_ids, stops = resolve_stops(
                fields.stops_back, stops, prefix=f"{fields.id}/back", drive=drive, walk=walk,
                merge_m=merge_m,
                where=lambda field: where("stops_back" if field == "stops" else field),
            )  # fmt: skip
            if len(set(back_ids)) < 2:
                raise ScenarioError(
                    f"{where('stops_back')}: the stops resolve to a single stop {back_ids[0]!r}; "
                    "a line needs two"
                )
        lines = [
            Line(id=f"{fields.id}:0", stop_ids=tuple(stop_ids), direction_id=0, **common),
            Line(id=f"{fields.id}:1", stop_ids=tuple(back_ids), direction_id=1, **common),
        ]
    else:
        lines = [Line(id=fields.id, stop_ids=tuple(stop_ids), **common)]
    return lines, stops


def resolve_stops(
    refs, stops: pd.DataFrame, *, prefix: str, drive, walk, merge_m: float, where
) -> tuple[list[str], pd.DataFrame]:
    """Stop ids for stop references (ids, OSM node ids, points), adding new stops to the table.

    A point within ``merge_m`` metres of an existing stop is that stop; an OSM node id
    is the stop ``node/<id>`` if there is one, else a new stop at the node (looked up in
    the drive, then the walk network).
    """
    out: list[str] = []
    new_rows: dict[str, tuple[str, float, float]] = {}
    points: dict[str, int] = {}  # new stops given as points -> their position in ``refs``
    lon_all = stops["lon"].to_numpy(float)
    lat_all = stops["lat"].to_numpy(float)
    index = stops.index
    for k, ref in enumerate(refs):
        if isinstance(ref, str):
            if ref not in index and ref not in new_rows:
                sample = ", ".join(repr(s) for s in list(index[:5]))
                raise ScenarioError(
                    f"{where('stops')}[{k}]: no stop with id {ref!r} (known stops: {sample}, ...)"
                )
            out.append(ref)
            continue
        if isinstance(ref, int | StopNode):
            node = ref if isinstance(ref, int) else ref.node
            stop_id = f"node/{node}"
            if stop_id in index or stop_id in new_rows:
                out.append(stop_id)
                continue
            location = _node_location(node, drive, walk)
            if location is None:
                raise ScenarioError(
                    f"{where('stops')}[{k}]: OSM node {node} is not in the street network"
                )
            lon, lat = location
            name = ref.name if isinstance(ref, StopNode) and ref.name else stop_id
            new_rows[stop_id] = (name, lon, lat)
            out.append(stop_id)
            continue
        assert isinstance(ref, StopPoint)
        if lon_all.size and merge_m > 0:
            d = haversine_m(ref.lon, ref.lat, lon_all, lat_all)
            j = int(np.argmin(d))
            if d[j] <= merge_m:
                out.append(str(index[j]))
                continue
        stop_id = f"{prefix}/{k}"
        new_rows[stop_id] = (ref.name or stop_id, ref.lon, ref.lat)
        points[stop_id] = k
        out.append(stop_id)
    _check_new_stops(new_rows, points, drive if drive is not None else walk, where)
    if new_rows:
        clash = [s for s in new_rows if s in index]
        if clash:
            raise ScenarioError(
                f"{where('stops')}: new stop id {clash[0]!r} already exists; rename the line"
            )
        extra = pd.DataFrame(
            {
                "name": [v[0] for v in new_rows.values()],
                "lon": [v[1] for v in new_rows.values()],
                "lat": [v[2] for v in new_rows.values()],
            },
            index=pd.Index(list(new_rows), name="stop_id"),
        )
        stops = pd.concat([stops, extra])
    return out, stops


def _check_new_stops(new_rows: dict, points: dict[str, int], network, where) -> None:
    """Refuse stops given as points that lie implausibly far from the street network."""
    if not points or network is None:
        return
    from ..paths import MAX_SNAP_M, check_near_network, snap_points

    lon = np.array([new_rows[stop][1] for stop in points])
    lat = np.array([new_rows[stop][2] for stop in points])
    _, dist = snap_points(network, lon, lat)
    labels = [f"{where('stops')}[{k}]" for k in points.values()]
    try:
        check_near_network(
            network, lon, lat, dist, labels=labels, what="stop", limit_m=MAX_SNAP_M, option=None
        )
    except SnappingError as exc:
        raise ScenarioError(str(exc).replace("stop(s)", "new stop(s)", 1)) from None


def _node_location(node: int, *networks) -> tuple[float, float] | None:
    """(lon, lat) of OSM node ``node`` in the first network that has it (``None``: in none)."""
    for net in networks:
        if net is None:
            continue
        try:
            i = int(net.node_index([node])[0])
        except KeyError:
            continue
        return float(net.node_x[i]), float(net.node_y[i])
    return None


# ---------------------------------------------------------------------------- zones
def _load_zones(
    scenario: Scenario, spec: BaselineFile, drive, walk, supply
) -> tuple[pd.DataFrame, list[str]]:
    from ..zones import grid_zones, split_total, zone_weights

    notes: list[str] = []
    z = spec.zones
    if z.file:
        zones = _read_zone_file(scenario, Path(z.file))
    else:
        base = walk if walk is not None else drive
        if base is None:
            if len(supply.stops) == 0:
                raise scenario.error(
                    ("zones",), "a zone grid needs a street network or transit stops to cover"
                )
            base = Network.from_edges(
                np.empty(0, np.int64),
                np.empty(0, np.int64),
                n_nodes=len(supply.stops),
                node_x=supply.stops["lon"].to_numpy(),
                node_y=supply.stops["lat"].to_numpy(),
            )
        grid = grid_zones(base, cell_size_m=z.grid_cell_m)
        zones = pd.DataFrame(
            {
                "zone": grid["zone"].to_numpy(np.int64),
                "lon": grid["x"].to_numpy(float),
                "lat": grid["y"].to_numpy(float),
            }
        )
        notes.append(f"{len(zones)} zones: a {z.grid_cell_m:g} m grid")
    missing = [c for c in ("population", "jobs") if c not in zones.columns]
    if missing:
        if z.weights == "landuse":
            totals = _landuse_totals(scenario, spec, zones)
            notes.append(
                "population and jobs estimated from OSM buildings (transitopt.demand.landuse)"
            )
            for column in missing:
                zones[column] = totals[column]
                given = z.population_total if column == "population" else z.jobs_total
                estimated = float(totals[column].sum())
                if given is not None and estimated > 0:  # keep the pattern, match the total
                    zones[column] = totals[column] * (given / estimated)
                    notes.append(
                        f"{column} from buildings ({estimated:,.0f}) scaled to "
                        f"zones.{column}_total ({given:,.0f})"
                    )
        else:
            try:
                weight = zone_weights(
                    _xy(zones),
                    z.weights,
                    network=walk if walk is not None else drive,
                    stops=supply.stops,
                )
            except ValueError as exc:
                raise scenario.error(("zones", "weights"), str(exc)) from None
            for column, total in (("population", z.population_total), ("jobs", z.jobs_total)):
                if column not in missing:
                    continue
                if total is None:
                    total = DEFAULT_TOTAL
                    notes.append(f"zones.{column}_total not given: {DEFAULT_TOTAL:,.0f} assumed")
                zones[column] = split_total(total, weight)
            notes.append(f"population and jobs split over zones by {z.weights}")
    if z.min_weight_share > 0:
        share = (zones["population"] + zones["jobs"]) / max(
            (zones["population"] + zones["jobs"]).sum(), 1e-300
        )
        keep = share >= z.min_weight_share / len(zones)
        zones = zones[keep].reset_index(drop=True)
    return zones[["zone", "lon", "lat", "population", "jobs"]].reset_index(drop=True), notes


def _xy(zones: pd.DataFrame) -> pd.DataFrame:
    """The scenario's zone table (``lon``, ``lat``) in the zone contract (``x``, ``y``)."""
    return zones.rename(columns={"lon": "x", "lat": "y"})


def _read_zone_file(scenario: Scenario, path: Path) -> pd.DataFrame:
    from ..zones import read_zones

    try:
        zones = read_zones(path)
    except InputFileError as exc:
        raise scenario.error(("zones", "file"), str(exc)) from None
    return pd.DataFrame(zones.drop(columns="geometry")).rename(columns={"x": "lon", "y": "lat"})


def _landuse_totals(scenario: Scenario, spec: BaselineFile, zones: pd.DataFrame) -> pd.DataFrame:
    from ..demand.landuse import read_landuse, zone_totals

    path = osm_file(spec.network.source)
    if path is None:
        raise scenario.error(
            ("zones", "weights"), "weights = 'landuse' reads buildings from an OSM network file"
        )

    def load():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read_landuse(path).points()

    points = _memo(("landuse", str(path)), load)
    frame = zone_totals(_xy(zones), points, columns=["population", "jobs"])
    return frame.reindex(zones["zone"].to_numpy()).fillna(0.0).reset_index(drop=True)


# ---------------------------------------------------------------------------- demand
def _load_external(
    scenario: Scenario, spec: BaselineFile, drive: Network | None, zones: pd.DataFrame
) -> ExternalDemand | None:
    """Gateways and external vehicle trips of ``[demand.external]`` (None without it)."""
    from ..demand.external import external_demand, external_rule, read_bounds

    e = spec.demand.external
    if e is None:
        return None
    loc = ("demand", "external")
    if drive is None:
        raise scenario.error(loc, "external zones need a street network (network.source)")
    values = e.model_dump(exclude={"counts_file"})
    try:
        rule = external_rule(
            spec.network.profile,
            pce={"car": 1.0, "motorcycle": float(spec.model.motorcycle_pcu)},
            **values,
        )
        return external_demand(
            drive,
            zones,
            rule,
            bounds=read_bounds(spec.network.source),
            counts=e.counts_file,
        )
    except (ValueError, InputFileError) as exc:
        raise scenario.error(loc, str(exc)) from None


def _load_demand(
    scenario: Scenario, spec: BaselineFile, zones: pd.DataFrame
) -> tuple[np.ndarray, dict[str, float] | None]:
    """The demand matrix and, when its decay was fitted to a mean trip length, the fit."""
    from ..demand import fit_decay, gravity_demand, read_od

    d = spec.demand
    if d.od_file:
        try:
            od = read_od(d.od_file, zones=zones["zone"].to_numpy(np.int64))
        except ValueError as exc:
            raise scenario.error(("demand", "od_file"), str(exc)) from None
        return od.matrix * d.scale, None
    s = d.synthesis
    assert s is not None  # DemandSpec holds exactly one of od_file and synthesis
    target = spec.calibration.mean_trip_length_km if spec.calibration else None
    if target is not None:
        try:
            fit = fit_decay(
                _xy(zones),
                trips=s.trips_per_hour,
                mean_trip_km=target,
                detour_factor=s.detour_factor,
            )
        except DemandError as exc:
            raise scenario.error(("calibration", "mean_trip_length_km"), str(exc)) from None
        decay_fit = {
            "mean_trip_length_km": float(target),
            "modelled_km": float(fit.mean_cost_min),
            "decay_per_km": float(fit.beta),
        }
        return fit.od.matrix * d.scale, decay_fit
    try:
        od = gravity_demand(
            _xy(zones),
            trips=s.trips_per_hour,
            decay_per_km=s.decay_per_km,
            detour_factor=s.detour_factor,
        )
    except DemandError as exc:
        raise scenario.error(("zones",), str(exc)) from None
    return od.matrix * d.scale, None
