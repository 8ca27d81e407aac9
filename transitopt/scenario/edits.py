"""Applying an alternative's edits to the loaded baseline.

Edits are applied in file order (the root-most alternative first) and each names what
it changes by a stable id, never a row number:

* lines by line id (``relation/123`` for OSM, ``<route_id>:<direction>`` for GTFS, the
  ``id`` of a line written in a file, ``<id>:0``/``<id>:1`` for ``both_directions``); a
  name that is no line id but a route id (GTFS ``route_id``, a file line's ``id``) or a
  route key (``<mode>:<ref>`` for OSM lines, e.g. ``tram:3``) selects every line
  (direction, variant) of that route; a pattern with ``*``, ``?`` or ``[...]`` selects
  every line whose id, route id or route key matches it (``"AK-*"``, ``"bus:6?"``);
* roads by OSM way id (``way``/``ways``: every link the way is part of, both
  directions), by a pair of OSM node ids that a link joins (``nodes = [u, v]``, plus
  ``v → u`` unless ``both_directions = false``), or by the ``id`` of a road added by an
  earlier ``add_road``.

Road edits change the drive network's arrays (a new :class:`Network`; the baseline's
is never touched). ``close_road`` closes links to cars and buses (buses re-route;
walking is unaffected). ``change_road`` with new ``lanes`` scales the capacity in
proportion unless a capacity is given.

Bus lanes are laid last, on the final street route of the lines named (after every
other edit): on each link of the route with at least 2 lanes one lane becomes a bus
lane — car capacity × (lanes − 1) / lanes, one lane fewer, buses at free flow and no
bus preload there. On links with fewer than 2 lanes ``on_single_lane`` decides:
``"mixed"`` (default) leaves the bus in mixed traffic there and reports the number of
such links; ``"error"`` refuses the edit.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..demand.external import ExternalDemand
from ..geo import haversine_m
from ..network.compiled import EDGE_FLOAT_DEFAULTS, MODE_BUS, MODE_CAR, Network
from ..transit.lines import Line, TransitSupply, lines_text
from ..transit.street_routes import StreetRoutes, fallback_notes, route_lines
from .files import EditRecord, Scenario
from .inputs import BaseData, make_lines, resolve_stops
from .parameters import model_parameters
from .schema import MODE_COST_FIELDS, ModelSpec, StopPoint


@dataclass(frozen=True, eq=False)
class Prepared:
    """A scenario ready to evaluate: the baseline with every edit applied.

    Attributes
    ----------
    scenario : Scenario
    drive, walk : Network or None
        Networks after road edits and bus lanes (``drive.edges`` has ``closed``,
        ``bus_lane`` and ``road_id`` columns).
    supply : TransitSupply
    line_meta : DataFrame
        ``route_key``, ``fare``, ``source`` by line id.
    routes : StreetRoutes
        Street routes of the bus-type lines.
    zones : DataFrame
    demand : (z, z) float64
    log : DataFrame
        One row per edit: ``file``, ``edit`` (index), ``type``, ``target`` (lines and
        streets by name), ``effect``, ``ids`` (the line ids an edit selected).
    notes : tuple of str
    model_changes : mapping of str to float
        ``[model]`` values replaced by ``change_mode_costs`` edits (the last edit wins).
    """

    scenario: Scenario
    drive: Network | None
    walk: Network | None
    supply: TransitSupply
    line_meta: pd.DataFrame
    routes: StreetRoutes
    zones: pd.DataFrame
    demand: np.ndarray
    log: pd.DataFrame
    notes: tuple[str, ...] = field(default=())
    model_changes: Mapping[str, float] = field(default_factory=dict)
    #: gateways and through / external-internal vehicle trips (``[demand.external]``)
    external: ExternalDemand | None = None

    @property
    def closed(self) -> np.ndarray:
        """Links closed to motor traffic (bool per drive link)."""
        return self._drive_flag("closed")

    @property
    def bus_lane(self) -> np.ndarray:
        """Links with a bus lane (bool per drive link)."""
        return self._drive_flag("bus_lane")

    def _drive_flag(self, column: str) -> np.ndarray:
        """Boolean link column ``column`` of the drive network (empty without one)."""
        if self.drive is None:
            return np.empty(0, bool)
        return self.drive.edges[column].to_numpy(bool)


def apply_edits(scenario: Scenario, base: BaseData) -> Prepared:
    """Apply the edits of ``scenario`` to ``base`` (raises :class:`ScenarioError` naming the edit)."""
    params = scenario.baseline.model
    model = model_parameters(scenario.baseline)
    state = _State(
        scenario=scenario,
        drive=_with_state_columns(base.drive),
        walk=base.walk,
        supply=base.supply,
        meta=base.line_meta.copy(),
        params=params,
    )
    for record in scenario.edits:
        state.apply(record)
    closed = state.drive.edges["closed"].to_numpy(bool) if state.drive is not None else None
    routes = route_lines(
        state.supply,
        state.drive,
        closed=closed,
        max_snap_m=model.max_stop_snap_m,
        detour_factor=model.detour_factor,
    )
    state.lay_bus_lanes(routes)
    notes = list(base.notes) + state.notes + fallback_notes(routes, state.supply)
    return Prepared(
        scenario=scenario,
        drive=state.drive,
        walk=state.walk,
        supply=state.supply,
        line_meta=state.meta,
        routes=routes,
        zones=base.zones,
        demand=base.demand,
        log=pd.DataFrame(state.log, columns=["file", "edit", "type", "target", "effect", "ids"]),
        notes=tuple(notes),
        model_changes=dict(state.model_changes),
        external=base.external,
    )


def _with_state_columns(net: Network | None) -> Network | None:
    if net is None:
        return None
    edges = net.edges.copy()
    for column, value in (("closed", False), ("bus_lane", False), ("road_id", None)):
        if column not in edges.columns:
            edges[column] = value
    return net.replace(edges=edges)


@dataclass
class _State:
    scenario: Scenario
    drive: Network | None
    walk: Network | None
    supply: TransitSupply
    meta: pd.DataFrame
    params: ModelSpec
    log: list[tuple] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bus_lanes: list[tuple[EditRecord, list[str]]] = field(default_factory=list)
    _ways: dict | None = None
    _picked: list[str] = field(default_factory=list)
    model_changes: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ dispatch
    def apply(self, record: EditRecord) -> None:
        edit = record.edit
        handler = getattr(self, f"_{edit.type}")
        self._picked = []
        target, effect = handler(record, edit)
        self.log.append(
            (record.file.name, record.index, edit.type, target, effect, ", ".join(self._picked))
        )

    # ------------------------------------------------------------------ lines
    def _select(self, record: EditRecord, selector, name: str = "line") -> list[str]:
        wanted = [selector] if isinstance(selector, str) else list(selector)
        out: list[str] = []
        ids = [ln.id for ln in self.supply.lines]
        keys = {
            ln.id: (ln.id, ln.route_id or "", self.meta.loc[ln.id, "route_key"])
            for ln in self.supply.lines
        }
        for value in wanted:
            if any(c in value for c in "*?["):
                hits = [i for i in ids if any(fnmatch.fnmatchcase(k, value) for k in keys[i])]
            else:
                hits = (
                    [i for i in ids if i == value]
                    or [i for i in ids if keys[i][1] == value]
                    or [i for i in ids if keys[i][2] == value]
                )
            if not hits:
                close = difflib.get_close_matches(value, ids, n=3)
                hint = (
                    f"; did you mean {', '.join(map(repr, close))}?"
                    if close
                    else f" ({len(ids)} lines exist)"
                )
                raise record.error(name, f"no line or route with id {value!r}{hint}")
            out += [h for h in hits if h not in out]
        self._picked += out
        return out

    def _names(self, ids: list[str]) -> str:
        """The lines ``ids`` by name (:func:`~transitopt.transit.lines.lines_text`)."""
        known = {ln.id: ln for ln in self.supply.lines}
        return lines_text(known.get(i, i) for i in ids)

    def _replace_lines(self, changed: Mapping[str, Line | None]) -> None:
        """Replace the lines named in ``changed`` (``None``: remove the line)."""
        lines = [changed.get(ln.id, ln) for ln in self.supply.lines]
        self.supply = TransitSupply(
            stops=self.supply.stops,
            lines=tuple(x for x in lines if x is not None),
            info=dict(self.supply.info),
        )

    def _add_line(self, record: EditRecord, edit) -> tuple[str, str]:
        lines, stops = make_lines(
            edit,
            self.supply.stops,
            drive=self.drive,
            walk=self.walk,
            merge_m=self.params.stop_merge_m,
            where=record.where,
        )
        existing = {ln.id for ln in self.supply.lines}
        for line in lines:
            if line.id in existing:
                raise record.error("id", f"line {line.id!r} already exists")
        self.supply = TransitSupply(
            stops=stops, lines=self.supply.lines + tuple(lines), info=dict(self.supply.info)
        )
        fare = edit.fare if edit.fare is not None else self.scenario.baseline.transit.line_fare
        for line in lines:
            self.meta.loc[line.id, ["route_key", "fare", "source"]] = [
                f"{line.mode}:{edit.id}",
                fare,
                "edit",
            ]
        self._picked += [line.id for line in lines]
        return lines_text(lines), f"{len(lines)} line(s), {len(lines[0].stop_ids)} stops"

    def _remove_line(self, record: EditRecord, edit) -> tuple[str, str]:
        ids = self._select(record, edit.line)
        names = self._names(ids)
        self._replace_lines(dict.fromkeys(ids))
        self.meta = self.meta.drop(index=ids)
        return names, f"removed {len(ids)} line(s)"

    def _reroute_line(self, record: EditRecord, edit) -> tuple[str, str]:
        ids = self._select(record, edit.line)
        if len(ids) != 1:
            raise record.error(
                "line", f"reroute_line changes one line; {edit.line!r} names {len(ids)}: {ids}"
            )
        line = self.supply.line(ids[0])
        stop_ids, stops = resolve_stops(
            edit.stops,
            self.supply.stops,
            prefix=f"{line.id}/r{record.index}",
            drive=self.drive,
            walk=self.walk,
            merge_m=self.params.stop_merge_m,
            where=record.where,
        )
        self.supply = TransitSupply(
            stops=stops, lines=self.supply.lines, info=dict(self.supply.info)
        )
        self._replace_lines({line.id: line.replace(stop_ids=tuple(stop_ids), running_times_s=None)})
        return line.label, f"{len(line.stop_ids)} -> {len(stop_ids)} stops"

    def _change_line(self, record: EditRecord, edit) -> tuple[str, str]:
        ids = self._select(record, edit.line)
        changed = {}
        effects = []
        for line_id in ids:
            line = self.supply.line(line_id)
            updates: dict[str, object] = {}
            if edit.headway_min is not None or edit.headway_factor is not None:

                def new(value: float) -> float:
                    return (
                        60.0 * edit.headway_min
                        if edit.headway_min is not None
                        else value * edit.headway_factor
                    )

                h = line.headway_s
                updates["headway_s"] = (
                    {k: new(v) for k, v in h.items()} if not isinstance(h, float) else new(h)
                )
            if edit.capacity is not None:
                updates["capacity"] = edit.capacity
            if edit.dwell_s is not None:
                updates["dwell_s"] = edit.dwell_s
            if edit.speed_kph is not None:
                updates["speed_kph"] = edit.speed_kph
                updates["running_times_s"] = None  # timed by the model at the new speed
            if edit.fare is not None:
                self.meta.loc[line_id, "fare"] = edit.fare
            if edit.hail_and_ride is not None:
                updates["hail_and_ride"] = edit.hail_and_ride
            changed[line_id] = line.replace(**updates) if updates else line
        for name in ("headway_min", "headway_factor", "capacity", "speed_kph", "dwell_s", "fare"):
            if getattr(edit, name) is not None:
                effects.append(f"{name}={getattr(edit, name):g}")
        if edit.hail_and_ride is not None:
            effects.append("hail-and-ride" if edit.hail_and_ride else "stop to stop")
        self._replace_lines(changed)
        return self._names(ids), "; ".join(effects)

    def _bus_lane(self, record: EditRecord, edit) -> tuple[str, str]:
        if self.drive is None:
            raise record.error(
                "line", "a bus lane needs a street network (network.source is 'none')"
            )
        ids = self._select(record, edit.line)
        self.bus_lanes.append((record, ids))
        return self._names(ids), "bus lane on the line's street route (laid after all edits)"

    def lay_bus_lanes(self, routes: StreetRoutes) -> None:
        """Lay the recorded bus lanes on the final routes (see the module docstring)."""
        if not self.bus_lanes:
            return
        net = self._checked_drive()
        lanes = net.lanes.copy()
        capacity = net.capacity_vph.copy()
        edges = net.edges.copy()
        bus_lane = edges["bus_lane"].to_numpy(bool).copy()
        for record, ids in self.bus_lanes:
            edit = record.edit
            present = [i for i in ids if i in routes.lines]
            gone = [i for i in ids if i not in {ln.id for ln in self.supply.lines}]
            if gone:
                self.notes.append(
                    f"{record.where('line')}: lines {gone} were removed by a later edit; no bus lane for them"
                )
            not_street = [i for i in ids if i not in routes.lines and i not in gone]
            if not_street:
                raise record.error(
                    "line",
                    f"lines {not_street} do not run on the street network "
                    "(tram, rail or no drive network); a bus lane needs a bus route",
                )
            links = routes.edges_of([routes.lines.index(i) for i in present])
            if edit.ways is not None:
                ways = self._way_index()
                keep = set()
                for k, way in enumerate(edit.ways):
                    if way not in ways:
                        raise record.error(f"ways[{k}]", f"no road link carries OSM way {way}")
                    keep |= set(ways[way].tolist())
                links = np.array(sorted(set(links.tolist()) & keep), dtype=np.int64)
            if links.size == 0:
                raise record.error(
                    "line", f"the street route of {ids} has no link to put a bus lane on"
                )
            links = links[~bus_lane[links]]
            single = links[lanes[links] < 2.0]
            if single.size and edit.on_single_lane == "error":
                examples = ", ".join(self._describe(e) for e in single[:3])
                raise record.error(
                    "on_single_lane",
                    f"{single.size} link(s) of the route have a single lane "
                    f'(e.g. {examples}); set on_single_lane = "mixed" to leave buses in mixed traffic there',
                )
            wide = links[lanes[links] >= 2.0]
            capacity[wide] *= (lanes[wide] - 1.0) / lanes[wide]
            lanes[wide] -= 1.0
            bus_lane[wide] = True
            effect = f"bus lane on {wide.size} link(s)"
            if single.size:
                effect += f"; {single.size} single-lane link(s) left in mixed traffic"
                self.notes.append(
                    f"{record.where()}: {single.size} single-lane link(s) of the route left in mixed traffic"
                )
            self.log.append(
                (
                    record.file.name,
                    record.index,
                    "bus_lane (laid)",
                    self._names(present),
                    effect,
                    ", ".join(present),
                )
            )
        edges["bus_lane"] = bus_lane
        self.drive = net.replace(lanes=lanes, capacity_vph=capacity, edges=edges)

    # ------------------------------------------------------------------ roads
    def _need_drive(self, record: EditRecord) -> Network:
        if self.drive is None:
            raise record.error(
                None, f"{record.edit.type} needs a street network (network.source is 'none')"
            )
        return self.drive

    def _checked_drive(self) -> Network:
        """The drive network, in steps that run only after an edit has checked it exists."""
        assert self.drive is not None, "road and bus lane edits check the drive network first"
        return self.drive

    def _way_index(self) -> dict[int, np.ndarray]:
        if self._ways is None:
            owners: dict[int, list[int]] = {}
            edges = self._checked_drive().edges
            column = edges["osmid"] if "osmid" in edges.columns else pd.Series([], dtype=object)
            for e, value in enumerate(column):
                values = value if isinstance(value, list | tuple | np.ndarray) else [value]
                for v in values:
                    try:
                        owners.setdefault(int(v), []).append(e)
                    except (TypeError, ValueError):
                        continue
            self._ways = {k: np.asarray(v, dtype=np.int64) for k, v in owners.items()}
        return self._ways

    def _road_text(self, edit, links: np.ndarray) -> str:
        """What a road edit names, with the street names of its links: ``"way 15466245
        (Mannerheimintie)"``."""
        edges = self._checked_drive().edges
        names: list[str] = []
        if "name" in edges.columns:
            for value in edges["name"].to_numpy(object)[links]:
                for name in value if isinstance(value, list | tuple) else [value]:
                    if isinstance(name, str) and name and name not in names:
                        names.append(name)
        target = _road_target(edit)
        return f"{target} ({', '.join(names)})" if names else target

    def _describe(self, e: int) -> str:
        net = self._checked_drive()
        return f"{int(net.node_id[net.tail[e]])}->{int(net.node_id[net.head[e]])}"

    def _select_roads(self, record: EditRecord, edit) -> np.ndarray:
        net = self._need_drive(record)
        if edit.way is not None or edit.ways is not None:
            ways = self._way_index()
            chosen: list[int] = []
            for k, way in enumerate([edit.way] if edit.way is not None else edit.ways):
                if way not in ways:
                    name = "way" if edit.way is not None else f"ways[{k}]"
                    raise record.error(
                        name,
                        f"no road link carries OSM way {way} (the drive network keeps the "
                        "largest connected part of the drivable roads)",
                    )
                chosen += ways[way].tolist()
            return np.unique(np.asarray(chosen, dtype=np.int64))
        if edit.road is not None:
            hits = np.flatnonzero(net.edges["road_id"].to_numpy(object) == edit.road)
            if hits.size == 0:
                raise record.error("road", f"no road added with id {edit.road!r}")
            return hits
        u, v = edit.nodes
        try:
            iu, iv = (int(i) for i in net.node_index([u, v]))
        except KeyError as exc:
            raise record.error(
                "nodes", f"{exc.args[0]} (give OSM node ids at the ends of a road link)"
            ) from None
        hits = np.flatnonzero((net.tail == iu) & (net.head == iv))
        if edit.both_directions:
            hits = np.union1d(hits, np.flatnonzero((net.tail == iv) & (net.head == iu)))
        if hits.size == 0:
            raise record.error("nodes", f"no road link joins nodes {u} and {v}")
        return hits

    def _change_road(self, record: EditRecord, edit) -> tuple[str, str]:
        links = self._select_roads(record, edit)
        net = self._checked_drive()
        lanes, capacity = net.lanes.copy(), net.capacity_vph.copy()
        speed, t0 = net.speed_kph.copy(), net.free_flow_time_s.copy()
        if edit.lanes is not None:
            if edit.capacity_vph is None and edit.capacity_factor is None:
                capacity[links] *= edit.lanes / np.maximum(lanes[links], 1e-9)
            lanes[links] = edit.lanes
        if edit.capacity_vph is not None:
            capacity[links] = edit.capacity_vph
        if edit.capacity_factor is not None:
            capacity[links] *= edit.capacity_factor
        if edit.speed_kph is not None:
            speed[links] = edit.speed_kph
            t0[links] = net.length_m[links] / (edit.speed_kph / 3.6)
        self.drive = net.replace(
            lanes=lanes, capacity_vph=capacity, speed_kph=speed, free_flow_time_s=t0
        )
        changes = [
            f"{n}={getattr(edit, n):g}"
            for n in ("lanes", "capacity_vph", "capacity_factor", "speed_kph")
            if getattr(edit, n) is not None
        ]
        return self._road_text(edit, links), f"{links.size} link(s): " + ", ".join(changes)

    def _close_road(self, record: EditRecord, edit) -> tuple[str, str]:
        links = self._select_roads(record, edit)
        net = self._checked_drive()
        edges = net.edges.copy()
        closed = edges["closed"].to_numpy(bool).copy()
        closed[links] = True
        edges["closed"] = closed
        self.drive = net.replace(edges=edges)
        return self._road_text(edit, links), f"closed {links.size} link(s)"

    def _restrict_road(self, record: EditRecord, edit) -> tuple[str, str]:
        links = self._select_roads(record, edit)
        net = self._checked_drive()
        edges = net.edges.copy()
        for vehicle in edit.vehicles:
            column = f"closed_{vehicle}"
            shut = (
                edges[column].to_numpy(bool).copy()
                if column in edges.columns
                else np.zeros(net.n_edges, dtype=bool)
            )
            shut[links] = True
            edges[column] = shut
        self.drive = net.replace(edges=edges)
        return (
            self._road_text(edit, links),
            f"closed {links.size} link(s) to {' and '.join(edit.vehicles)}",
        )

    def _change_mode_costs(self, record: EditRecord, edit) -> tuple[str, str]:
        changes = {
            n: float(getattr(edit, n)) for n in MODE_COST_FIELDS if getattr(edit, n) is not None
        }
        effect = ", ".join(
            f"{n} {self.model_changes.get(n, getattr(self.params, n)):g} -> {v:g}"
            for n, v in changes.items()
        )
        self.model_changes.update(changes)
        return "model costs", effect

    def _add_road(self, record: EditRecord, edit) -> tuple[str, str]:
        net = self._need_drive(record)
        if (net.edges["road_id"].to_numpy(object) == edit.id).any():
            raise record.error("id", f"a road with id {edit.id!r} was already added")
        ends = []
        for name in ("from_node", "to_node"):
            value = getattr(edit, name)
            if isinstance(value, StopPoint):
                from ..paths import snap_points

                node, dist = snap_points(net, [value.lon], [value.lat])
                if dist[0] > self.params.max_stop_snap_m:
                    raise record.error(
                        name,
                        f"the point lies {dist[0]:.0f} m from the nearest network node "
                        f"(more than max_stop_snap_m = {self.params.max_stop_snap_m:g} m)",
                    )
                ends.append(int(node[0]))
            else:
                try:
                    ends.append(int(net.node_index([value])[0]))
                except KeyError as exc:
                    raise record.error(name, str(exc.args[0])) from None
        a, b = ends
        if a == b:
            raise record.error("to_node", "the road starts and ends at the same node")
        length = edit.length_m or float(
            haversine_m(net.node_x[a], net.node_y[a], net.node_x[b], net.node_y[b])
        )
        capacity = edit.capacity_vph or edit.lanes * edit.capacity_per_lane_vph
        pairs = [(a, b), (b, a)] if edit.both_directions else [(a, b)]
        new = {
            "length_m": length,
            "free_flow_time_s": length / (edit.speed_kph / 3.6),
            "capacity_vph": capacity,
            "alpha": 0.15,
            "beta": 4.0,
            "lanes": edit.lanes,
            "speed_kph": edit.speed_kph,
            "toll": 0.0,
        }
        tail = np.r_[net.tail, [p[0] for p in pairs]]
        head = np.r_[net.head, [p[1] for p in pairs]]
        arrays = {k: np.r_[getattr(net, k), [new[k]] * len(pairs)] for k in EDGE_FLOAT_DEFAULTS}
        mode = MODE_BUS if edit.bus_only else MODE_CAR | MODE_BUS
        modes = np.r_[net.modes, [mode] * len(pairs)].astype(np.uint8)
        import shapely

        rows = pd.DataFrame(
            {
                "highway": ["scenario"] * len(pairs),
                "name": [edit.name or edit.id] * len(pairs),
                "road_id": [edit.id] * len(pairs),
                "closed": [False] * len(pairs),
                "bus_lane": [False] * len(pairs),
                "geometry": [
                    shapely.LineString(
                        [(net.node_x[p[0]], net.node_y[p[0]]), (net.node_x[p[1]], net.node_y[p[1]])]
                    )
                    for p in pairs
                ],
            }
        )
        edges = pd.concat([net.edges, rows], ignore_index=True)
        self.drive = Network.from_edges(
            tail,
            head,
            n_nodes=net.n_nodes,
            node_x=net.node_x,
            node_y=net.node_y,
            node_id=net.node_id,
            centroid=net.centroid,
            modes=modes,
            edges=edges,
            crs=net.crs,
            info=dict(net.info),
            **arrays,
        )
        self._ways = None
        return (
            edit.id,
            f"{len(pairs)} link(s), {length:.0f} m, {edit.lanes:g} lane(s), {edit.speed_kph:g} km/h",
        )


def _road_target(edit) -> str:
    if edit.way is not None:
        return f"way {edit.way}"
    if edit.ways is not None:
        return "ways " + ", ".join(str(w) for w in edit.ways)
    if edit.road is not None:
        return f"road {edit.road}"
    return f"nodes {edit.nodes[0]}-{edit.nodes[1]}"
