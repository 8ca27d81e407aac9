"""Frequency-based transit assignment (optimal strategies) on a :class:`TransitGraph`.

:func:`assign_transit` loads a zone-to-zone demand matrix onto the graph with the
Spiess & Florian (1989) optimal strategies (:mod:`transitopt.kernels.transit`) and
returns link volumes, line boardings and loads, and OD skims. The expected wait at a
stop whose attractive lines have combined frequency ``F`` (sum of 1/headway) is
``wait_factor / F``; the default ``WAIT_FACTOR = 0.5`` (half the combined headway)
reproduces the paper's worked example.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DemandError
from ..demand.od import check_trips
from ..kernels import transit as kernels
from ..kernels._config import sized
from .defaults import WAIT_FACTOR
from .graph import ALIGHT, BOARD, LINK_KINDS, LINK_SKIM_NAMES, RIDE, TransitGraph

#: skim layers of :attr:`TransitAssignment.skims`, in order
SKIM_NAMES = ("total_s", "wait_s") + LINK_SKIM_NAMES


@dataclass(frozen=True, eq=False)
class TransitAssignment:
    """Result of :func:`assign_transit`.

    Attributes
    ----------
    graph : TransitGraph
    demand : (z, z) float64
        The demand assigned, in ``graph.zone_ids`` order (trips per period).
    link_volume : (m,) float64
        Passengers on each link of ``graph``.
    skims : (z, z, 5) float64 or None
        Layers ``SKIM_NAMES``: expected total time, wait, in-vehicle and walk time (s)
        and expected boardings; ``inf`` where there is no transit path, 0 on the
        diagonal (intrazonal trips are not transit trips and are not assigned).
    unassigned : float
        Trips between zones with no transit path (not loaded; also warned about).
    wait_factor : float
    info : dict
    """

    graph: TransitGraph
    demand: np.ndarray
    link_volume: np.ndarray
    skims: np.ndarray | None
    unassigned: float
    wait_factor: float
    info: dict = field(default_factory=dict, repr=False)

    def skim(self, name: str) -> np.ndarray:
        """One (z, z) skim layer by name (``"total_s"``, ``"in_vehicle_s"``, ...)."""
        if self.skims is None:
            raise ValueError("the assignment ran with skims=False")
        return self.skims[:, :, SKIM_NAMES.index(name)]

    def line_table(self) -> pd.DataFrame:
        """Per line: boardings, alightings, passenger-hours in vehicle, peak segment load,
        capacity offered in the period's hour and the peak load / capacity ratio."""
        g = self.graph
        n_lines = len(g.line_ids)
        kind = g.kind
        line = np.where(g.line >= 0, g.line, n_lines)

        def per_line(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
            return np.bincount(line[mask], weights=values[mask], minlength=n_lines + 1)[:n_lines]

        ride = kind == RIDE
        peak = np.zeros(n_lines)
        np.maximum.at(peak, g.line[ride], self.link_volume[ride])
        capacity_per_hour = g.line_capacity * 3600.0 / g.line_headway_s
        return pd.DataFrame(
            {
                "line": list(g.line_ids),
                "headway_s": g.line_headway_s,
                "boardings": per_line(kind == BOARD, self.link_volume),
                "alightings": per_line(kind == ALIGHT, self.link_volume),
                "passenger_hours": per_line(ride, self.link_volume * g.in_vehicle_s) / 3600.0,
                "peak_load": peak,
                "capacity_per_hour": capacity_per_hour,
                "peak_load_per_capacity_hour": peak / capacity_per_hour,
            }
        )

    def links_table(self) -> pd.DataFrame:
        """``graph.links_table()`` with a ``volume`` column."""
        table = self.graph.links_table()
        table["volume"] = self.link_volume
        return table

    def volume_by_kind(self) -> dict[str, float]:
        """Total volume on each kind of link (``"board"``, ``"access"``, ...)."""
        totals = np.bincount(self.graph.kind, weights=self.link_volume, minlength=len(LINK_KINDS))
        return {name: float(v) for name, v in zip(LINK_KINDS, totals, strict=True)}


def assign_transit(
    graph: TransitGraph,
    demand: Any,
    *,
    wait_factor: float = WAIT_FACTOR,
    skims: bool = True,
) -> TransitAssignment:
    """Assign transit demand with optimal strategies.

    Parameters
    ----------
    graph
        From :func:`~transitopt.transit.graph.build_transit_graph`.
    demand
        An :class:`~transitopt.demand.od.ODMatrix`-like object (``zones``, ``matrix``)
        whose zone ids are ``graph.zone_ids`` (any order, a subset allowed), a DataFrame
        with columns ``origin``, ``destination``, ``trips``, or a (z, z) array in
        ``graph.zone_ids`` order. Intrazonal trips are not assigned.
    wait_factor
        Expected wait at a node = ``wait_factor / F`` with ``F`` the combined frequency of
        its attractive lines (1/s); 0.5 = half the combined headway.
    skims
        Also compute the OD skims (all zone pairs).

    Raises
    ------
    DemandError
        Demand names zones the graph does not have, or is negative or not finite.
    """
    if not wait_factor > 0:
        raise ValueError(f"wait_factor must be > 0, got {wait_factor!r}")
    matrix = _demand_matrix(graph, demand)
    np.fill_diagonal(matrix, 0.0)
    z = matrix.shape[0]
    # one optimal-strategies search over every link per destination
    assign_kernel = sized(kernels.assign, z * graph.n_links)
    volume, skim_array, arrived = assign_kernel(
        graph.tail,
        graph.head,
        graph.cost_s,
        graph.freq_hz,
        graph.in_indptr,
        graph.in_links,
        graph.link_skim if skims else np.empty((graph.n_links, 0)),  # no skims: nothing to carry
        float(wait_factor),
        graph.origin_node,
        graph.destination_node,
        matrix,
        bool(skims),
    )
    unassigned = float(matrix.sum() - arrived.sum())
    info: dict[str, Any] = {"total_trips": float(matrix.sum())}
    if unassigned > 1e-9 * max(1.0, matrix.sum()):
        info["unassigned_trips"] = unassigned
        warnings.warn(
            f"{unassigned:.6g} of {matrix.sum():.6g} trips have no transit path and were not assigned "
            "(zones without a stop within walking distance, or unconnected lines)",
            stacklevel=2,
        )
    else:
        unassigned = 0.0
    if skims:
        diagonal = np.arange(z)
        skim_array[diagonal, diagonal, :] = 0.0  # intrazonal: not a transit trip
    return TransitAssignment(
        graph=graph,
        demand=matrix,
        link_volume=volume,
        skims=skim_array if skims else None,
        unassigned=unassigned,
        wait_factor=float(wait_factor),
        info=info,
    )


def _demand_matrix(graph: TransitGraph, demand: Any) -> np.ndarray:
    """The demand as a dense (z, z) float64 matrix in ``graph.zone_ids`` order."""
    zone_ids = graph.zone_ids
    z = zone_ids.size
    position = {_key(v): k for k, v in enumerate(zone_ids)}

    def index_of(ids: Any, role: str) -> np.ndarray:
        out = np.empty(len(ids), dtype=np.int64)
        for k, v in enumerate(ids):
            try:
                out[k] = position[_key(v)]
            except KeyError:
                raise DemandError(
                    f"{role} zone {v!r} is not a zone of the transit graph ({z} zones)"
                ) from None
        return out

    if isinstance(demand, pd.DataFrame):
        missing = {"origin", "destination", "trips"} - set(demand.columns)
        if missing:
            raise DemandError(f"demand table lacks columns {sorted(missing)}")
        o = index_of(demand["origin"].to_numpy(), "origin")
        d = index_of(demand["destination"].to_numpy(), "destination")
        trips = pd.to_numeric(demand["trips"], errors="coerce").to_numpy(np.float64)
        matrix = np.zeros((z, z))
        np.add.at(matrix, (o, d), trips)
    elif hasattr(demand, "zones") and hasattr(demand, "matrix"):
        idx = index_of(np.asarray(demand.zones), "demand")
        matrix = np.zeros((z, z))
        matrix[np.ix_(idx, idx)] = np.asarray(demand.matrix, dtype=np.float64)
    else:
        matrix = np.array(demand, dtype=np.float64)
        if matrix.shape != (z, z):
            raise DemandError(
                f"demand matrix has shape {matrix.shape}, expected ({z}, {z}) for the graph's zones"
            )
    check_trips(matrix, zone_ids)
    return np.ascontiguousarray(matrix)


def _key(value: Any) -> Any:
    """Zone ids compare as int when integral, else as str (GTFS stop ids)."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return str(value)


def strategy_link_sums(
    graph: TransitGraph, link_weights: np.ndarray, *, wait_factor: float = WAIT_FACTOR
) -> np.ndarray:
    """Per zone pair, the expected sum of ``link_weights`` over the links one trip uses
    under the optimal strategies of ``graph`` (the skim recurrence of
    :mod:`transitopt.kernels.transit` with ``link_weights`` as the link attributes).

    With 0/1 weights marking the boarding links of a line, entry ``[i, j, c]`` is the
    expected boardings of line ``c`` per trip from zone ``i`` to zone ``j``: for fixed
    strategies, the line's boardings are ``sum_ij demand_ij * entry[i, j, c]``.

    Parameters
    ----------
    link_weights : (m, k) float64
        One column per quantity to sum.

    Returns
    -------
    (z, z, k) float64
        In ``graph.zone_ids`` order; 0 where no transit path exists and on the diagonal.
    """
    weights = np.ascontiguousarray(link_weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != graph.n_links:
        raise ValueError(f"link_weights must have shape ({graph.n_links}, k), got {weights.shape}")
    z = len(graph.zone_ids)
    _, skims, _ = sized(kernels.assign, z * graph.n_links)(
        graph.tail,
        graph.head,
        graph.cost_s,
        graph.freq_hz,
        graph.in_indptr,
        graph.in_links,
        weights,
        float(wait_factor),
        graph.origin_node,
        graph.destination_node,
        np.zeros((z, z)),
        True,
    )
    sums = np.array(skims[:, :, 2:])
    sums[~np.isfinite(sums)] = 0.0
    diagonal = np.arange(z)
    sums[diagonal, diagonal, :] = 0.0
    return sums
