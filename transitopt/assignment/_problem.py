"""Turn a network, an OD matrix and options into the flat arrays the solvers iterate on.

Everything that can be wrong with the input is checked here, before any iteration:
NaN or negative free-flow times, capacities or BPR parameters, OD zones missing from
the network, demand between zones that no car path connects.

Closed links. A link carries no cars, and its generalised cost is ``inf`` (shortest
paths never use it), when it does not allow ``MODE_CAR`` (a bus lane, a footway),
when its capacity is 0 while its free-flow time is positive (the volume-delay
function would divide by zero), or when the caller lists it in ``closed``. Demand
whose every path needs such a link is reported as unassignable, never silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import DemandError, NetworkError
from ..demand.od import ODMatrix
from ..kernels.assignment import unreachable_pairs
from ..kernels.vdf import VDF_BPR, VDF_CONICAL
from ..network.compiled import MODE_CAR, Network

#: volume-delay functions by name
VDF_KINDS = {"bpr": VDF_BPR, "conical": VDF_CONICAL}


@dataclass(frozen=True, eq=False)
class Problem:
    """Flat arrays of one car-equilibrium problem (all per-link arrays in CSR order)."""

    indptr: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    t0: np.ndarray  # free-flow time, s
    cap: np.ndarray  # capacity, veh/h
    alpha: np.ndarray
    beta: np.ndarray
    kind: np.ndarray  # VDF_* per link
    fixed: np.ndarray  # flow-independent generalised cost, s (inf: closed)
    preload: np.ndarray  # fixed flow in PCU/h (buses)
    no_through: np.ndarray  # centroids
    origin_nodes: np.ndarray  # compiled node index per origin row of ``demand``
    dest_nodes: np.ndarray  # compiled node index per destination column
    demand: np.ndarray  # (n_orig, n_dest) assignable trips, veh/h
    origin_zones: np.ndarray  # zone ids of the rows
    dest_zones: np.ndarray  # zone ids of the columns
    unassigned: pd.DataFrame  # origin, destination, trips that no path connects
    closed: np.ndarray  # bool per link
    intrazonal: float  # trips within one node (need no link, not assigned)

    @property
    def total_demand(self) -> float:
        """Assignable trips (veh/h)."""
        return float(self.demand.sum())

    @property
    def vdf_args(self) -> tuple:
        """Arguments ``(preload, fixed, t0, cap, alpha, beta, kind)`` of the vdf kernels."""
        return (self.preload, self.fixed, self.t0, self.cap, self.alpha, self.beta, self.kind)


def _unreachable(
    network: Network,
    usable: np.ndarray,
    no_through: np.ndarray,
    origin_nodes: np.ndarray,
    dest_nodes: np.ndarray,
    demand: np.ndarray,
) -> np.ndarray:
    """``out[o, d]``: ``demand[o, d] > 0`` but no path of ``usable`` links leads there
    without passing through a ``no_through`` node.

    The largest strongly connected component ``C`` of the usable links that leave through
    nodes settles most pairs at once: an origin with a usable link into ``C`` (or in it)
    reaches every destination with a usable link from ``C`` (or in it), since ``C`` holds
    only through nodes (a no-through node has no links out in that graph). Only the other
    origins and destinations get a breadth-first search each
    (:func:`.kernels.assignment.unreachable_pairs`), so the answer is the same as searching
    from every origin.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = network.n_nodes
    tail, head = network.tail, network.head
    through = usable & ~no_through[tail]
    graph = csr_matrix(
        (np.ones(int(through.sum()), dtype=np.int8), (tail[through], head[through])), shape=(n, n)
    )
    _, label = connected_components(graph, directed=True, connection="strong")
    largest = np.bincount(label).argmax()
    in_core = label == largest
    if np.count_nonzero(in_core) < 2:
        in_core[:] = False
    leads_in = in_core.copy()  # a node with a usable link into C (or in C)
    leads_in[tail[usable & in_core[head]]] = True
    reached = in_core.copy()  # a node with a usable link from C (or in C)
    reached[head[usable & in_core[tail]]] = True
    lost_o = np.flatnonzero(~leads_in[origin_nodes])
    lost_d = np.flatnonzero(~reached[dest_nodes])
    bad = np.zeros(demand.shape, dtype=np.bool_)
    if lost_o.size:
        bad[lost_o] = unreachable_pairs(
            network.indptr, network.head, usable, no_through,
            np.ascontiguousarray(origin_nodes[lost_o]), dest_nodes,
            np.ascontiguousarray(demand[lost_o]),
        )  # fmt: skip
    kept_o = np.flatnonzero(leads_in[origin_nodes])  # the other origins' rows are complete
    if lost_d.size and kept_o.size:
        bad[np.ix_(kept_o, lost_d)] = unreachable_pairs(
            network.indptr, network.head, usable, no_through,
            np.ascontiguousarray(origin_nodes[kept_o]), np.ascontiguousarray(dest_nodes[lost_d]),
            np.ascontiguousarray(demand[np.ix_(kept_o, lost_d)]),
        )  # fmt: skip
    return bad


def _check_finite(
    name: str, values: np.ndarray, network: Network, *, allow_inf: bool = False
) -> None:
    bad = np.isnan(values) | (values < 0) | (np.isinf(values) if not allow_inf else False)
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        u, v = network.node_id[network.tail[e]], network.node_id[network.head[e]]
        raise NetworkError(
            f"{name} of link {e} ({u} -> {v}) is {float(values[e])!r}; expected a finite value >= 0 "
            f"({int(bad.sum())} such links)"
        )


def fixed_cost_s(
    network: Network,
    *,
    toll_factor: float | None = None,
    distance_factor: float | None = None,
) -> np.ndarray:
    """Flow-independent generalised cost per link (s): ``toll_factor * toll + distance_factor * length_m``.

    Parameters
    ----------
    toll_factor
        Seconds per toll unit. Default: a TNTP network's README weight (minutes per
        toll unit × 60), else 0.
    distance_factor
        Seconds per metre. Default: a TNTP network's README weight (minutes per length
        unit × 60), computed on the file's raw lengths so the cost is exactly the
        TNTP definition (Chicago-Sketch: 0.04 min/mile), else 0.
    """
    tntp = network.info.get("tntp", {}) if isinstance(network.info, dict) else {}
    cost = np.zeros(network.n_edges)
    if toll_factor is None:
        cost += 60.0 * float(tntp.get("toll_factor", 0.0) or 0.0) * network.toll
    elif toll_factor:
        cost += toll_factor * network.toll
    if distance_factor is None:
        factor = float(tntp.get("distance_factor", 0.0) or 0.0)
        if factor:
            raw = (
                network.edges["length"].to_numpy(dtype=np.float64)
                if "length" in network.edges
                else network.length_m
            )
            cost += 60.0 * factor * raw
    elif distance_factor:
        cost += distance_factor * network.length_m
    _check_finite("generalised fixed cost", cost, network)
    return cost


def build_problem(
    network: Network,
    demand: ODMatrix,
    *,
    vdf: str = "bpr",
    preload: np.ndarray | None = None,
    closed: np.ndarray | None = None,
    toll_factor: float | None = None,
    distance_factor: float | None = None,
) -> Problem:
    """Validate the inputs and build the :class:`Problem` (see the module docstring)."""
    if vdf not in VDF_KINDS:
        raise ValueError(f"unknown vdf {vdf!r}; expected one of {sorted(VDF_KINDS)}")
    m = network.n_edges
    t0 = np.asarray(network.free_flow_time_s, dtype=np.float64)
    cap = np.asarray(network.capacity_vph, dtype=np.float64)
    alpha = np.asarray(network.alpha, dtype=np.float64)
    beta = np.asarray(network.beta, dtype=np.float64)
    _check_finite("free_flow_time_s", t0, network)
    _check_finite("capacity_vph", cap, network, allow_inf=True)
    _check_finite("alpha", alpha, network)
    _check_finite("beta", beta, network)
    kind = np.full(m, VDF_KINDS[vdf], dtype=np.int64)
    if vdf == "conical" and np.any(alpha[t0 > 0] <= 1.0):
        raise NetworkError("the conical volume-delay function needs alpha > 1 on every link")

    shut = (network.modes & MODE_CAR) == 0
    shut |= (cap <= 0.0) & (t0 > 0.0)
    if closed is not None:
        closed = np.asarray(closed, dtype=np.bool_)
        if closed.shape != (m,):
            raise ValueError(f"closed has shape {closed.shape}, expected ({m},)")
        shut |= closed
    fixed = fixed_cost_s(network, toll_factor=toll_factor, distance_factor=distance_factor)
    fixed[shut] = np.inf
    cap = np.where(
        shut | (cap <= 0.0), np.inf, cap
    )  # never divide by zero; closed links carry no flow

    if preload is None:
        pre = np.zeros(m)
    else:
        pre = np.asarray(preload, dtype=np.float64)
        if pre.shape != (m,):
            raise ValueError(f"preload has shape {pre.shape}, expected ({m},) (PCU/h per link)")
        _check_finite("preload", pre, network)

    # zones -> nodes
    try:
        nodes = network.node_index(demand.zones)
    except KeyError as exc:
        raise DemandError(f"OD zone not in the network: {exc.args[0]}") from None
    matrix = np.array(demand.matrix, dtype=np.float64)
    has_origin = matrix.sum(axis=1) > 0
    has_dest = matrix.sum(axis=0) > 0
    origin_rows = np.flatnonzero(has_origin)
    dest_cols = np.flatnonzero(has_dest)
    sub = np.ascontiguousarray(matrix[np.ix_(origin_rows, dest_cols)])
    origin_nodes = nodes[origin_rows].astype(np.int64)
    dest_nodes = nodes[dest_cols].astype(np.int64)
    # demand within one node needs no link
    same = origin_nodes[:, None] == dest_nodes[None, :]
    intrazonal = float(sub[same].sum())
    sub[same] = 0.0

    # demand no car path connects, reported per pair
    no_through = np.asarray(network.centroid, dtype=np.bool_)
    bad = _unreachable(network, ~shut, no_through, origin_nodes, dest_nodes, sub)
    i, j = np.nonzero(bad)
    unassigned = pd.DataFrame(
        {
            "origin": demand.zones[origin_rows[i]].astype(np.int64),
            "destination": demand.zones[dest_cols[j]].astype(np.int64),
            "trips": sub[i, j],
        }
    )
    sub[bad] = 0.0

    return Problem(
        indptr=network.indptr,
        head=network.head,
        tail=network.tail,
        t0=t0,
        cap=cap,
        alpha=alpha,
        beta=beta,
        kind=kind,
        fixed=fixed,
        preload=pre,
        no_through=no_through,
        origin_nodes=origin_nodes,
        dest_nodes=dest_nodes,
        demand=sub,
        origin_zones=demand.zones[origin_rows],
        dest_zones=demand.zones[dest_cols],
        unassigned=unassigned,
        closed=shut,
        intrazonal=intrazonal,
    )
