"""Road assignment cases for the benchmarks: the TNTP networks, Sydney with a synthesised
demand, and a seeded synthetic grid city.

* TNTP names (``"SiouxFalls"`` ... ``"Berlin-Center"``): :func:`transitopt.network.tntp.load_tntp`.
* ``"Sydney"``: the TNTP network (3,264 zones, 33,113 nodes, 75,379 links) has no demand
  upstream (``Sydney_trips.tntp.zip`` is not in the data), so one is synthesised:
  a doubly-constrained gravity model (:func:`transitopt.demand.gravity_model`) over the
  free-flow zone-to-zone times with ``exp(-0.1 / min)`` deterrence, productions and
  attractions drawn per zone from a gamma(2) distribution (seed 11), zero for zones that
  reach (or are reached by) no other zone, and scaled to **424,670 trips** (half the total
  of the upstream Sydney demand: the full total overloads the network with these trips;
  free-flow mean trip time 16.9 min).
* ``"Grid<N>"`` (e.g. ``"Grid100k"``, ``"Grid2k"``): :func:`grid_city`, a square grid
  of about N street nodes plus N/100 zone centroids (1,000 for 100k), same gravity
  demand with 1,000 trips per zone (moderate congestion: on Grid10k, volume/capacity
  reaches 1.4 on the busiest link, 0.77 at the 95th percentile).

Synthesised demands are cached in ``benchmarks/out/cases/`` (git-ignored), so that every
benchmark process (and every tool) reads the same matrix; :func:`prepare_case` builds the
cache before the timed processes start.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.demand.gravity import gravity_model
from transitopt.demand.od import ODMatrix
from transitopt.network.compiled import Network
from transitopt.network.tntp import TNTPCase, load_tntp, read_tntp_network
from transitopt.paths import skim
from transitopt.settings import data_dir

CACHE = Path(__file__).resolve().parent / "out" / "cases"
SEED = 11
#: gravity deterrence exp(-BETA * t), t free-flow minutes
BETA_PER_MIN = 0.1
#: half the total of the upstream Sydney demand (849,339): with the full total these gravity
#: trips overload the network (after 5 bfw iterations 5 % of the links carried over 1.9 times
#: their capacity, relative gap still 0.48)
SYDNEY_TRIPS = 424_670.0
ARTERIAL_VPH = 1800.0
LOCAL_VPH = 450.0
GRID_TRIPS_PER_ZONE = 1000.0
#: changes whenever grid_city changes
GRID_VERSION = 2


def _gravity(network: Network, zones: np.ndarray, total: float, seed: int) -> np.ndarray:
    """Doubly-constrained gravity trips between ``zones`` (node ids) over free-flow minutes."""
    rng = np.random.default_rng(seed)
    productions = rng.gamma(2.0, 1.0, zones.size)
    attractions = rng.gamma(2.0, 1.0, zones.size)
    cost = skim(network, zones, method="dijkstra", cache=False) / 60.0
    np.fill_diagonal(cost, np.inf)  # no intrazonal trips
    reach = np.isfinite(cost)
    for _ in range(10):  # zones that reach / are reached by no other zone get no trips
        p_ok = (reach & (attractions > 0)[None, :]).any(axis=1)
        a_ok = (reach & (productions > 0)[:, None]).any(axis=0)
        if p_ok.all() and a_ok.all():
            break
        productions = np.where(p_ok, productions, 0.0)
        attractions = np.where(a_ok, attractions, 0.0)
    productions *= total / productions.sum()
    attractions *= total / attractions.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gravity_model(
            productions, attractions, cost, zones=zones, deterrence="exponential", beta=BETA_PER_MIN
        )
    return result.od.matrix


def _cached_demand(key: str, network: Network, zones: np.ndarray, total: float) -> ODMatrix:
    # the key names every parameter, so that a changed recipe never reads a stale matrix
    path = CACHE / f"{key}_t{total:.0f}_b{BETA_PER_MIN}_s{SEED}_g{GRID_VERSION}_demand.npy"
    if path.exists():
        matrix = np.load(path)
    else:
        matrix = _gravity(network, zones, total, SEED)
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, matrix)
        tmp.replace(path)
    return ODMatrix(zones=zones, matrix=matrix)


def grid_city(
    n_nodes: int, *, arterial_every: int = 8, seed: int = SEED
) -> tuple[Network, np.ndarray]:
    """A seeded synthetic city: a square street grid with arterials and zone centroids.

    ``side = round(sqrt(n_nodes))`` street nodes a side, 100 m blocks (lengths jittered
    ±20 %, seeded); every ``arterial_every``-th row and column is an arterial (50 km/h,
    1,800 veh/h), the others local streets (30 km/h, 450 veh/h);
    BPR alpha 0.15, beta 4; every street two-way. ``n_nodes // 100`` zones (at least 4)
    on a regular sub-grid, each a centroid (node ids ``1..z``, blocked for through
    traffic) joined both ways to the 4 street nodes around its position by connectors
    of 20 km/h, no capacity limit (alpha 0).

    Returns
    -------
    (Network, zones)
        Node ids ``1..n`` (centroids first, as in TNTP); zones are node ids ``1..z``.
    """
    rng = np.random.default_rng(seed)
    side = max(3, round(math.sqrt(n_nodes)))
    zside = max(2, round(math.sqrt(max(4, n_nodes // 100))))
    z = zside * zside
    street = lambda r, c: z + r * side + c  # noqa: E731  (compiled index)
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    tails, heads, kind, lengths = [], [], [], []
    for dr, dc in ((0, 1), (1, 0)):
        r, c = rows[: side - dr, : side - dc].ravel(), cols[: side - dr, : side - dc].ravel()
        a, b = street(r, c), street(r + dr, c + dc)
        arterial = (r % arterial_every == 0) if dr == 0 else (c % arterial_every == 0)
        block = 100.0 * rng.uniform(0.8, 1.2, a.size)  # one length for both directions
        tails += [a, b]
        heads += [b, a]
        kind += [arterial, arterial]
        lengths += [block, block]
    tail = np.concatenate(tails)
    head = np.concatenate(heads)
    art = np.concatenate(kind)
    length = np.concatenate(lengths)
    n_street = tail.size
    speed = np.where(art, 50.0, 30.0)
    capacity = np.where(art, ARTERIAL_VPH, LOCAL_VPH)
    alpha = np.full(n_street, 0.15)
    # zone centroids: centre of each zone cell, joined to the 4 street nodes around it
    step = side / zside
    zr = np.minimum(((np.arange(zside) + 0.5) * step).astype(np.int64), side - 2)
    zr_grid, zc_grid = np.meshgrid(zr, zr, indexing="ij")
    zr_all, zc_all = zr_grid.ravel(), zc_grid.ravel()
    ct, ch = [], []
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        s = street(zr_all + dr, zc_all + dc)
        ct += [np.arange(z), s]
        ch += [s, np.arange(z)]
    ctail, chead = np.concatenate(ct), np.concatenate(ch)
    clen = np.full(ctail.size, 70.7)
    tail = np.concatenate([tail, ctail])
    head = np.concatenate([head, chead])
    length = np.concatenate([length, clen])
    speed = np.concatenate([speed, np.full(ctail.size, 20.0)])
    capacity = np.concatenate([capacity, np.full(ctail.size, 99_999.0)])
    alpha = np.concatenate([alpha, np.zeros(ctail.size)])
    n = z + side * side
    fft = length / (speed / 3.6)
    node_id = np.arange(1, n + 1, dtype=np.int64)
    x = np.concatenate([(zc_all + 0.5) * 100.0, (np.arange(side * side) % side) * 100.0])
    y = np.concatenate([(zr_all + 0.5) * 100.0, (np.arange(side * side) // side) * 100.0])
    edges = pd.DataFrame(
        {
            "tntp_link": np.arange(1, tail.size + 1, dtype=np.int64),
            "init_node": tail + 1,
            "term_node": head + 1,
        }
    )
    network = Network.from_edges(
        tail,
        head,
        n_nodes=n,
        node_x=x,
        node_y=y,
        node_id=node_id,
        centroid=node_id <= z,
        edges=edges,
        crs=None,
        info={"source": f"grid_city({n_nodes}, arterial_every={arterial_every}, seed={seed})"},
        length_m=length,
        free_flow_time_s=fft,
        capacity_vph=capacity,
        alpha=alpha,
        beta=np.full(tail.size, 4.0),
        speed_kph=speed,
    )
    return network, np.arange(1, z + 1, dtype=np.int64)


def _grid_size(name: str) -> int | None:
    m = re.fullmatch(r"Grid(\d+)(k?)", name)
    if m is None:
        return None
    return int(m.group(1)) * (1000 if m.group(2) else 1)


def load_case(name: str) -> TNTPCase:
    """The case ``name`` (see the module docstring), synthesising and caching its demand if needed."""
    size = _grid_size(name)
    if size is not None:
        network, zones = grid_city(size)
        demand = _cached_demand(name, network, zones, GRID_TRIPS_PER_ZONE * zones.size)
        folder = CACHE
    elif name == "Sydney":
        folder = data_dir() / "tntp" / "Sydney"
        network = read_tntp_network(
            folder / "Sydney_net.tntp", node_file=folder / "Sydney_node.tntp"
        )
        zones = np.arange(1, network.info["tntp"]["zones"] + 1, dtype=np.int64)
        demand = _cached_demand(name, network, zones, SYDNEY_TRIPS)
    else:
        return load_tntp(name)
    return TNTPCase(
        network=network, demand=demand, best_flows=None, folder=folder, metadata={"name": name}
    )


prepare_case = load_case
