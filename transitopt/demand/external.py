"""External zones (gateways) of a clipped street network: through and external–internal
vehicle trips.

A street network cut out of a city (an OSM extract of a few km) holds only the trips
that start and end inside it; at peak the arterials also carry traffic from the rest of
the city, through the area or into and out of it. This module adds that traffic by a
stated rule:

**Gateways.** A gateway is a node where a major road leaves the extract: a dead end (one
neighbouring node) of a link whose ``highway`` is one of ``road_classes``, lying outside
the extract's declared bounds (an ``.osm`` file's ``<bounds>``: complete ways reach past
them, so a road cut by the extract ends outside), or, without bounds, within
``boundary_m`` of the edge of the network's bounding box. A gateway is named by its
road and its side of the area (``"Jalan Arif Rahman Hakim (east)"``; a road with no
name by its class, ``"unnamed primary (north)"``; a second gateway of the same name
and side gets `` 2``).

**Cordon volumes (capacity rule).** A gateway's vehicles entering the area per hour, in
PCU, are ``utilisation`` × the capacity (PCU/h) of its links into the area; leaving, the
same × the capacity of its links out. A one-way way that ends at the edge of an extract
keeps both directions in the compiled network (a dead-end one-way would strand its
traffic), so its cordon direction is unknown: half its capacity is counted each way (a
dual carriageway's two gateways sum to the capacity of one direction). The PCU are split
into vehicle classes by ``vehicle_shares`` (shares of vehicles: ``PCU × share_c / sum_k
share_k pce_k`` vehicles of class ``c``).

**Cordon volumes (counts).** Where a planner has cordon counts, a counts CSV in the
format of :mod:`transitopt.demand.counts` (``way``/``direction`` or ``from_node``/
``to_node``, ``count``, ``class``) gives them: a count on a gateway's link into the area
is its inbound volume of that class (veh/h), on a link out its outbound volume; a
gateway without a count keeps the capacity rule.

**Split (per class).** A share ``through_share`` of each gateway's inbound vehicles cross
the area to another gateway: a doubly constrained (Furness) split of the inbound and
outbound through volumes over pairs of gateways at least ``min_through_km`` apart (a
trip between two neighbouring gateways does not cross the area). The rest of the
inbound vehicles end in the zones, in proportion to ``jobs × exp(-decay_per_km × d)``
(``d``: straight-line km from the gateway: the morning peak's work trips); the rest of
the outbound vehicles start in the zones in proportion to ``population × exp(-decay ×
d)``. What a Furness split cannot place (gateways with no partner far enough) goes to or
from the zones.

External trips are vehicle trips with fixed classes: they are assigned in the road
equilibrium with the area's own vehicles (so they reroute round a closure and congest
the arterials) but take no part in the area's mode choice: their mode was chosen
outside the area.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import DemandError, InputFileError
from ..geo import haversine_m
from ..network.compiled import Network
from .gravity import furness

__all__ = [
    "EXTERNAL_CLASSES",
    "ExternalDemand",
    "ExternalRule",
    "external_demand",
    "external_note",
    "external_rule",
    "external_summary",
    "find_gateways",
    "read_bounds",
]

#: vehicle classes of external traffic (ojek and buses at the cordon count as motorcycles
#: and preload respectively)
EXTERNAL_CLASSES = ("car", "motorcycle")
#: compass sides of a gateway, by bearing from the network's centre
_SIDES = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


@dataclass(frozen=True)
class ExternalRule:
    """Parameters of the external traffic rule (see the module docstring).

    Parameters
    ----------
    utilisation
        Peak-hour flow at the cordon as a share of the capacity of the gateway's links
        (volume/capacity, PCU over PCU/h).
    through_share
        Share of a gateway's inbound vehicles that cross the area to another gateway.
    vehicle_shares
        Shares of vehicles at the cordon by class (``car``, ``motorcycle``); sum 1.
    pce
        PCU per vehicle by class (to turn PCU volumes into vehicles).
    road_classes
        OSM ``highway`` values of roads that can be gateways.
    min_through_km
        Through trips only between gateways at least this far apart (straight line, km).
    decay_per_km
        Distance decay of external–internal trips over the zones (1/km).
    boundary_m
        Without declared bounds: a dead end within this distance of the network's
        bounding box is at the edge (m).
    """

    utilisation: float = 0.7
    through_share: float = 0.3
    vehicle_shares: Mapping[str, float] = field(
        default_factory=lambda: {"car": 1.0, "motorcycle": 0.0}
    )
    pce: Mapping[str, float] = field(default_factory=lambda: {"car": 1.0, "motorcycle": 0.25})
    road_classes: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary", "tertiary")
    min_through_km: float = 1.0
    decay_per_km: float = 0.3
    boundary_m: float = 150.0

    def __post_init__(self) -> None:
        checks = {
            "utilisation": 0.0 <= self.utilisation <= 2.0,
            "through_share": 0.0 <= self.through_share <= 1.0,
            "min_through_km": self.min_through_km >= 0.0,
            "decay_per_km": self.decay_per_km >= 0.0,
            "boundary_m": self.boundary_m >= 0.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"external rule: {name} = {getattr(self, name)!r} is out of range")
        unknown = set(self.vehicle_shares) - set(EXTERNAL_CLASSES)
        if unknown:
            raise ValueError(
                f"external rule: vehicle_shares has unknown class(es) {sorted(unknown)}; "
                f"expected {list(EXTERNAL_CLASSES)}"
            )
        shares = np.array([float(v) for v in self.vehicle_shares.values()])
        if (shares < 0).any() or not math.isclose(shares.sum(), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"external rule: vehicle_shares {dict(self.vehicle_shares)} must be >= 0 and sum to 1"
            )
        for c in self.vehicle_shares:
            if not float(self.pce.get(c, 0.0)) > 0.0:
                raise ValueError(f"external rule: pce of class {c!r} must be > 0")

    @property
    def pcu_per_vehicle(self) -> float:
        """Mean PCU per vehicle at the cordon."""
        return float(sum(s * float(self.pce[c]) for c, s in self.vehicle_shares.items()))


@dataclass(frozen=True, eq=False)
class ExternalDemand:
    """Gateways and their vehicle trips per hour, by class.

    Attributes
    ----------
    gateways : DataFrame
        One row per gateway: ``gateway`` (name), ``node_id``, ``lon``, ``lat``,
        ``highway``, ``capacity_in_pcu``, ``capacity_out_pcu`` (PCU/h of its links into
        and out of the area), ``in_<class>``, ``out_<class>`` (veh/h), ``source``
        (``capacity`` or ``counts``).
    through : mapping of class to (g, g) float64
        Vehicles/h from gateway to gateway.
    inbound : mapping of class to (g, z) float64
        Vehicles/h from gateway to zone (zones in the order given).
    outbound : mapping of class to (z, g) float64
        Vehicles/h from zone to gateway.
    rule : ExternalRule
    """

    gateways: pd.DataFrame
    through: Mapping[str, np.ndarray]
    inbound: Mapping[str, np.ndarray]
    outbound: Mapping[str, np.ndarray]
    rule: ExternalRule

    def totals(self) -> dict[str, float]:
        """Vehicles/h by class and kind: ``through_<class>``, ``inbound_<class>``,
        ``outbound_<class>``."""
        out: dict[str, float] = {}
        for c in self.through:
            out[f"through_{c}"] = float(self.through[c].sum())
            out[f"inbound_{c}"] = float(self.inbound[c].sum())
            out[f"outbound_{c}"] = float(self.outbound[c].sum())
        return out

    def routable(
        self, drive: Network, open_links: Mapping[str, np.ndarray], zone_node_ids: np.ndarray
    ) -> ExternalDemand:
        """The same trips with each class kept to the part of ``drive`` it can drive in
        (``open_links``: bool per link by class; e.g. after a motorcycle ban): a trip
        between a gateway and a zone that the class's open links do not join (different
        strongly connected components) enters or leaves by the nearest gateway (straight
        line) that does join that zone: the vehicles approach the area by another road;
        with no such gateway it is dropped. A through trip between two gateways not
        joined inside the area is dropped: it goes round outside the extract."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        node_index = {int(v): i for i, v in enumerate(drive.node_id)}
        gates = np.array([node_index[int(v)] for v in self.gateways["node_id"]], dtype=np.int64)
        zones = np.array([node_index[int(v)] for v in zone_node_ids], dtype=np.int64)
        lon = self.gateways["lon"].to_numpy(float)
        lat = self.gateways["lat"].to_numpy(float)
        km = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
        through, inbound, outbound = dict(self.through), dict(self.inbound), dict(self.outbound)
        n = drive.n_nodes
        for c in self.through:
            keep = open_links.get(c)
            if keep is None:
                continue
            graph = csr_matrix(
                (np.ones(int(keep.sum())), (drive.tail[keep], drive.head[keep])), shape=(n, n)
            )
            _, label = connected_components(graph, directed=True, connection="strong")
            g_label, z_label = label[gates], label[zones]
            through[c] = np.where(g_label[:, None] == g_label[None, :], through[c], 0.0)
            inbound[c] = _to_joined(inbound[c], g_label, z_label, km)
            outbound[c] = _to_joined(outbound[c].T, g_label, z_label, km).T
        return ExternalDemand(self.gateways, through, inbound, outbound, self.rule)

    def vehicle_od(
        self, node_ids: np.ndarray, zone_node_ids: np.ndarray, classes: Sequence[str]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The external trips as node-to-node matrices (veh/h) for a road assignment.

        ``node_ids``: the assignment's zone nodes so far (network node ids); ``zone_node_ids``:
        the node of each zone (in the zones' order). Returns the node ids (``node_ids``
        followed by the gateway nodes not among them) and a matrix per class of
        ``classes`` over them; a class not in ``classes`` (motorcycles in a car-only
        model) is added to ``car`` at its PCE.
        """
        node_ids = np.asarray(node_ids, dtype=np.int64)
        gate = self.gateways["node_id"].to_numpy(np.int64)
        extra = np.array(
            [g for g in dict.fromkeys(gate.tolist()) if g not in set(node_ids.tolist())]
        )
        nodes = np.concatenate([node_ids, extra.astype(np.int64)])
        index = {int(v): i for i, v in enumerate(nodes)}
        gi = np.array([index[int(v)] for v in gate], dtype=np.int64)
        zi = np.array([index[int(v)] for v in np.asarray(zone_node_ids, np.int64)], dtype=np.int64)
        n = nodes.size
        out = {c: np.zeros((n, n)) for c in classes}
        for c in self.through:
            target, factor = (c, 1.0) if c in out else ("car", float(self.rule.pce[c]))
            if target not in out:
                raise ValueError(f"external traffic: no class {target!r} among {list(classes)}")
            m = out[target]
            np.add.at(m, (gi[:, None], gi[None, :]), factor * self.through[c])
            np.add.at(m, (gi[:, None], zi[None, :]), factor * self.inbound[c])
            np.add.at(m, (zi[:, None], gi[None, :]), factor * self.outbound[c])
        for m in out.values():
            np.fill_diagonal(m, 0.0)
        return nodes, out


# ---------------------------------------------------------------------------- gateways
def read_bounds(path: str | os.PathLike) -> tuple[float, float, float, float] | None:
    """The ``<bounds>`` of an ``.osm`` XML file as ``(west, south, east, north)`` degrees,
    or ``None`` (no such element in the first 64 kB, or another format)."""
    path = Path(path)
    if path.suffix.lower() != ".osm" or not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(65536)
    match = re.search(r"<bounds\b([^>]*)/?>", head)
    if match is None:
        return None
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
    try:
        return (
            float(attrs["minlon"]),
            float(attrs["minlat"]),
            float(attrs["maxlon"]),
            float(attrs["maxlat"]),
        )
    except (KeyError, ValueError):
        return None


def find_gateways(
    drive: Network,
    *,
    road_classes: Sequence[str] = ExternalRule.road_classes,
    bounds: tuple[float, float, float, float] | None = None,
    boundary_m: float = ExternalRule.boundary_m,
) -> pd.DataFrame:
    """The gateways of ``drive`` (module docstring): ``gateway`` (name), ``node``
    (compiled index), ``node_id``, ``lon``, ``lat``, ``highway``, ``capacity_in_pcu``,
    ``capacity_out_pcu`` (PCU/h), sorted by name."""
    n = drive.n_nodes
    tail, head = drive.tail, drive.head
    other = np.concatenate([head, tail])
    ends = np.concatenate([tail, head])
    keep = other != ends
    pairs = np.unique(np.stack([ends[keep], other[keep]], axis=1), axis=0)
    degree = np.bincount(pairs[:, 0], minlength=n) if pairs.size else np.zeros(n, np.int64)
    edges = drive.edges
    highway = _column(edges, "highway", drive.n_edges)
    name = _column(edges, "name", drive.n_edges)
    oneway = (
        edges["oneway"].fillna(False).astype(bool).to_numpy()
        if "oneway" in edges.columns
        else np.zeros(drive.n_edges, dtype=bool)
    )
    classes = set(road_classes)
    major = np.array([bool(classes & set(_values(h))) for h in highway], dtype=bool)
    usable = major & (drive.capacity_vph > 0) & np.isfinite(drive.capacity_vph)
    x, y = drive.node_x, drive.node_y
    if bounds is not None:
        west, south, east, north = bounds
        outside = (x < west) | (x > east) | (y < south) | (y > north)
    else:
        lat0 = float(np.mean(y)) if n else 0.0
        dx = boundary_m / (111_320.0 * max(math.cos(math.radians(lat0)), 1e-6))
        dy = boundary_m / 110_574.0
        outside = (
            (x <= x.min() + dx) | (x >= x.max() - dx) | (y <= y.min() + dy) | (y >= y.max() - dy)
        )
    cx, cy = (float(x.min() + x.max()) / 2, float(y.min() + y.max()) / 2) if n else (0.0, 0.0)
    rows = []
    for v in np.flatnonzero((degree == 1) & outside):
        into = np.flatnonzero((tail == v) & usable)
        out_of = np.flatnonzero((head == v) & usable)
        if into.size + out_of.size == 0:
            continue
        cap_in = float(drive.capacity_vph[into].sum())
        cap_out = float(drive.capacity_vph[out_of].sum())
        links = np.concatenate([into, out_of])
        if into.size and out_of.size and oneway[links].all():
            cap_in, cap_out = cap_in / 2.0, cap_out / 2.0
        e = int(links[0])
        road = _first(name[e]) or f"unnamed {_first(highway[e])}"
        bearing = math.degrees(math.atan2(x[v] - cx, y[v] - cy)) % 360.0
        side = _SIDES[int(((bearing + 22.5) % 360.0) // 45.0)]
        rows.append(
            {
                "gateway": f"{road} ({side})",
                "node": int(v),
                "node_id": int(drive.node_id[v]),
                "lon": float(x[v]),
                "lat": float(y[v]),
                "highway": _first(highway[e]),
                "capacity_in_pcu": cap_in,
                "capacity_out_pcu": cap_out,
            }
        )
    columns = ["gateway", "node", "node_id", "lon", "lat", "highway"]
    frame = pd.DataFrame(rows, columns=[*columns, "capacity_in_pcu", "capacity_out_pcu"])
    frame = frame.sort_values(["gateway", "lon", "lat"]).reset_index(drop=True)
    seen: dict[str, int] = {}
    names = []
    for g in frame["gateway"]:
        seen[g] = seen.get(g, 0) + 1
        names.append(g if seen[g] == 1 else f"{g} {seen[g]}")
    frame["gateway"] = names
    return frame


# ---------------------------------------------------------------------------- demand
def external_demand(
    drive: Network,
    zones: pd.DataFrame,
    rule: ExternalRule,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    counts: str | os.PathLike | None = None,
) -> ExternalDemand:
    """Gateways of ``drive`` and their through and external–internal vehicle trips/h by
    ``rule`` (module docstring); ``zones`` has ``lon``, ``lat``, ``population``, ``jobs``.

    Raises
    ------
    DemandError
        No gateway was found (the network reaches no edge on a road of ``road_classes``).
    InputFileError
        ``counts`` cannot be read or none of its rows counts a gateway's link.
    """
    gates = find_gateways(
        drive, road_classes=rule.road_classes, bounds=bounds, boundary_m=rule.boundary_m
    )
    if gates.empty:
        where = (
            "outside its bounds"
            if bounds is not None
            else f"within {rule.boundary_m:g} m of its edge"
        )
        raise DemandError(
            f"no gateway: the street network has no dead end of a {'/'.join(rule.road_classes)} "
            f"road {where}; widen road_classes (or boundary_m, without bounds)"
        )
    classes = [c for c, s in rule.vehicle_shares.items() if s > 0] or ["car"]
    per_vehicle = rule.pcu_per_vehicle
    for c in EXTERNAL_CLASSES:
        share = float(rule.vehicle_shares.get(c, 0.0))
        gates[f"in_{c}"] = rule.utilisation * gates["capacity_in_pcu"] * share / per_vehicle
        gates[f"out_{c}"] = rule.utilisation * gates["capacity_out_pcu"] * share / per_vehicle
    gates["source"] = "capacity"
    if counts is not None:
        classes = _apply_counts(gates, drive, counts, classes)
    g = len(gates)
    glon, glat = gates["lon"].to_numpy(float), gates["lat"].to_numpy(float)
    zlon, zlat = zones["lon"].to_numpy(float), zones["lat"].to_numpy(float)
    gate_km = haversine_m(glon[:, None], glat[:, None], glon[None, :], glat[None, :]) / 1000.0
    zone_km = haversine_m(glon[:, None], glat[:, None], zlon[None, :], zlat[None, :]) / 1000.0
    apart = (gate_km >= rule.min_through_km) & ~np.eye(g, dtype=bool)
    jobs = _weights(zones, "jobs")
    population = _weights(zones, "population")
    decay = np.exp(-rule.decay_per_km * zone_km)
    to_zone = _row_shares(jobs[None, :] * decay)
    from_zone = _row_shares(population[None, :] * decay)
    through, inbound, outbound = {}, {}, {}
    for c in classes:
        arrive = gates[f"in_{c}"].to_numpy(float)
        leave = gates[f"out_{c}"].to_numpy(float)
        t = _through(rule.through_share * arrive, rule.through_share * leave, apart)
        through[c] = t
        inbound[c] = (arrive - t.sum(axis=1))[:, None] * to_zone
        outbound[c] = ((leave - t.sum(axis=0))[:, None] * from_zone).T
    gates = gates.drop(columns="node")
    return ExternalDemand(gates, through, inbound, outbound, rule)


def _through(arrive: np.ndarray, leave: np.ndarray, apart: np.ndarray) -> np.ndarray:
    """Through trips: ``arrive`` (per origin gateway) over ``leave`` (per destination,
    scaled to the same total) on the pairs ``apart``; a gateway with no partner sends none."""
    rows = np.where(apart.any(axis=1), arrive, 0.0)
    cols = np.where(apart.any(axis=0), leave, 0.0)
    if rows.sum() <= 0.0 or cols.sum() <= 0.0:
        return np.zeros_like(apart, dtype=float)
    cols = cols * (rows.sum() / cols.sum())
    trips, _, _ = furness(rows, cols, apart.astype(float), max_iterations=500)
    trips = np.nan_to_num(trips)
    # a pair structure that cannot be balanced exactly leaves a row short, never over
    over = trips.sum(axis=1) > rows
    trips[over] *= (rows[over] / trips[over].sum(axis=1))[:, None]
    return trips


def _apply_counts(
    gates: pd.DataFrame, drive: Network, path: str | os.PathLike, classes: list[str]
) -> list[str]:
    """Replace the capacity rule's volumes by counted ones where a count is on a gateway's
    link (in place); returns the classes with traffic."""
    from .counts import read_counts

    counts = read_counts(path, drive)
    node_row = {int(v): i for i, v in enumerate(gates["node"])}
    counted = 0
    seen: set[tuple[int, str]] = set()
    for k in range(counts.n_observations):
        links = counts.edges[counts.indptr[k] : counts.indptr[k + 1]]
        if links.size != 1:
            continue
        e = int(links[0])
        c = str(counts.vehicle_class[k])
        if c not in EXTERNAL_CLASSES:
            raise InputFileError(
                f"{path}: cordon count {counts.labels[k]!r} is of class {c!r}; external "
                f"traffic counts are by class {list(EXTERNAL_CLASSES)}"
            )
        for end, kind in ((int(drive.tail[e]), "in"), (int(drive.head[e]), "out")):
            if end in node_row:
                r = node_row[end]
                if (r, kind) not in seen:  # the first count of a gateway and direction
                    for other in EXTERNAL_CLASSES:  # replaces the rule's volumes there
                        gates.loc[r, f"{kind}_{other}"] = 0.0
                    seen.add((r, kind))
                gates.loc[r, f"{kind}_{c}"] += float(counts.observed[k])
                gates.loc[r, "source"] = "counts"
                counted += 1
    if counted == 0:
        raise InputFileError(
            f"{path}: no count is on a gateway's link; gateways: {', '.join(gates['gateway'])}"
        )
    return [
        c
        for c in EXTERNAL_CLASSES
        if (gates[f"in_{c}"].sum() + gates[f"out_{c}"].sum()) > 0 or c in classes
    ]


def _to_joined(
    trips: np.ndarray, g_label: np.ndarray, z_label: np.ndarray, km: np.ndarray
) -> np.ndarray:
    """Gateway-zone ``trips`` (g, z) moved, where gateway and zone are in different
    components, to the nearest gateway in the zone's component (dropped if none)."""
    out = np.where(g_label[:, None] == z_label[None, :], trips, 0.0)
    for g, z in zip(*np.nonzero((g_label[:, None] != z_label[None, :]) & (trips > 0)), strict=True):
        joined = g_label == z_label[z]
        if joined.any():
            out[int(np.argmin(np.where(joined, km[g], np.inf))), z] += trips[g, z]
    return out


def _weights(zones: pd.DataFrame, column: str) -> np.ndarray:
    if column in zones.columns:
        w = zones[column].to_numpy(float)
        if np.isfinite(w).all() and w.sum() > 0:
            return w
    return np.ones(len(zones))


def _row_shares(w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, w / total, 1.0 / max(w.shape[1], 1))


def _column(edges: pd.DataFrame, column: str, m: int) -> np.ndarray:
    if column in edges.columns:
        return edges[column].to_numpy(object)
    return np.full(m, None, dtype=object)


def _values(value: object) -> list[str]:
    """An OSM tag value (string, list, NaN) as a list of strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list | tuple | set | np.ndarray):
        return [s for v in value for s in _values(v)]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [s.strip().strip("'\"") for s in re.split(r"[;,|]", text) if s.strip()]


def _first(value: object) -> str:
    values = _values(value)
    return values[0] if values else ""


def external_rule(
    profile: str | os.PathLike = "generic",
    *,
    pce: Mapping[str, float] | None = None,
    **overrides: object,
) -> ExternalRule:
    """The rule of a profile's ``[external]`` table (the generic profile's for values it
    lacks), with ``overrides`` (``None`` values ignored) and PCU per vehicle ``pce`` by
    class (default: car 1, motorcycle 0.25)."""
    from ..network.imputation import profile_section

    values: dict[str, object] = dict(profile_section("generic", "external"))
    if str(profile) != "generic":
        values.update(profile_section(str(profile), "external"))
    values.update({k: v for k, v in overrides.items() if v is not None})
    fields = set(ExternalRule.__dataclass_fields__) - {"pce"}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(
            f"external rule: unknown key(s) {sorted(unknown)}; expected {sorted(fields)}"
        )
    if "road_classes" in values:
        values["road_classes"] = tuple(values["road_classes"])  # type: ignore[arg-type]
    if "vehicle_shares" in values:
        shares = {c: 0.0 for c in EXTERNAL_CLASSES}
        shares.update(dict(values["vehicle_shares"]))  # type: ignore[call-overload]
        values["vehicle_shares"] = shares
    return ExternalRule(pce=dict(pce or {"car": 1.0, "motorcycle": 0.25}), **values)  # type: ignore[arg-type]


def external_note(external: ExternalDemand) -> str:
    """One line for a scenario's notes: gateways and external vehicles/h."""
    t = external.totals()
    gates = external.gateways
    by_kind = {
        kind: sum(v for k, v in t.items() if k.startswith(kind))
        for kind in ("through", "inbound", "outbound")
    }
    counted = int((gates["source"] == "counts").sum())
    rule = external.rule
    how = (
        f"{counted} from cordon counts, the rest at {rule.utilisation:g} of capacity"
        if counted
        else f"at {rule.utilisation:g} of their capacity"
    )
    return (
        f"external traffic: {len(gates)} gateways ({how}): {by_kind['through']:,.0f} through, "
        f"{by_kind['inbound']:,.0f} inbound and {by_kind['outbound']:,.0f} outbound vehicles/h, "
        "assigned with the area's own traffic and outside its mode choice"
    )


def external_summary(external: ExternalDemand | None) -> dict[str, object]:
    """A JSON-ready summary (a result's ``summary["external"]``): ``enabled``, the rule,
    the totals (veh/h) and one record per gateway."""
    if external is None:
        return {"enabled": False}
    gates = external.gateways.copy()
    rule = external.rule
    return {
        "enabled": True,
        "rule": {
            "utilisation": rule.utilisation,
            "through_share": rule.through_share,
            "vehicle_shares": dict(rule.vehicle_shares),
            "road_classes": list(rule.road_classes),
            "min_through_km": rule.min_through_km,
            "decay_per_km": rule.decay_per_km,
        },
        "totals": external.totals(),
        "gateways": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in gates.to_dict(orient="records")
        ],
    }
