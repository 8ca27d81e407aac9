"""Multi-class equilibrium with a PCE per link (road type): diagonalisation.

A hand-solvable 2-link 2-class case with asymmetric PCE, the equilibrium conditions on a
grid with random PCE per link, and a PCE constant over the links giving today's answers.
"""

from __future__ import annotations

import numpy as np
import pytest

from transitopt.assignment import VehicleClass, assign
from transitopt.assignment.classes import build_class_problems
from transitopt.demand import ODMatrix
from transitopt.network import Network


def _two_links():
    """Zones 1 and 2 joined by two parallel links, each split by a middle node (1-3-2 and
    1-4-2) so that they are distinct paths; linear BPR (beta 1, alpha 1): link 1's time
    is ``10 + 0.1 v`` s, link 2's ``15 + 0.15 v`` s (``v`` in PCU/h, the time on the first
    half; the second halves have zero time). A toll of 1 on link 1."""
    return Network.from_edges(
        np.array([0, 2, 0, 3]),
        np.array([2, 1, 3, 1]),
        n_nodes=4,
        node_id=np.array([1, 2, 3, 4]),
        crs=None,
        free_flow_time_s=np.array([10.0, 0.0, 15.0, 0.0]),
        capacity_vph=np.array([100.0, 100.0, 100.0, 100.0]),
        alpha=np.ones(4),
        beta=np.ones(4),
        toll=np.array([1.0, 0.0, 0.0, 0.0]),
    )


def _link(net, a, b):
    return int(np.flatnonzero((net.tail == a) & (net.head == b))[0])


def _moto_pce(net, first, second):
    """Motorcycle PCE ``first`` on link 1 (both halves), ``second`` on link 2 (links are
    stored in the network's own order, not the input order)."""
    pce = np.empty(net.n_edges)
    pce[[_link(net, 0, 2), _link(net, 2, 1)]] = first
    pce[[_link(net, 0, 3), _link(net, 3, 1)]] = second
    return pce


def _od(trips):
    return ODMatrix(zones=np.array([1, 2]), matrix=np.array([[0.0, trips], [0.0, 0.0]]))


def _classes(moto_pce):
    """Cars (PCE 1, 100 s per toll unit: they keep off link 1) and motorcycles (no toll;
    PCE ``moto_pce`` per link)."""
    return [
        VehicleClass("car", _od(20.0), pce=1.0, toll_factor=100.0),
        VehicleClass("motorcycle", _od(400.0), pce=0.25, toll_factor=0.0, link_pce=moto_pce),
    ]


@pytest.mark.parametrize("algorithm", ["fw", "bfw", "algb"])
def test_asymmetric_pce_on_two_links_matches_the_hand_solution(algorithm):
    """Motorcycles 0.25 PCU on link 1, 0.5 on link 2. Cars all on link 2 (the toll costs
    them 100 s); motorcycles on both where ``10 + 0.1 * 0.25 x1 = 15 + 0.15 (20 + 0.5 x2)``
    with ``x1 + x2 = 400``: ``20 - 0.025 x2 = 18 + 0.075 x2``, ``x2 = 20``, ``x1 = 380``,
    both times 19.5 s; cars pay 19.5 s on link 2 against 19.5 + 100 on link 1."""
    net = _two_links()
    one, two = _link(net, 0, 2), _link(net, 0, 3)
    one_b, two_b = _link(net, 2, 1), _link(net, 3, 1)
    moto = _moto_pce(net, 0.25, 0.5)
    result = assign(net, classes=_classes(moto), algorithm=algorithm, gap=1e-10, max_iter=200)
    assert result.converged
    assert set(result.history["direction"]) == {"diagonal"}
    # flows to 1e-5 veh/h: the float accuracy of a relative gap of 1e-10 on ~8,000 veh·s/h
    assert result.class_flow["motorcycle"][one] == pytest.approx(380.0, abs=1e-5)
    assert result.class_flow["motorcycle"][two] == pytest.approx(20.0, abs=1e-5)
    assert result.class_flow["car"][two] == pytest.approx(20.0, abs=1e-5)
    assert result.class_flow["car"][one] == pytest.approx(0.0, abs=1e-9)
    # PCU on the links: each class's vehicles times its PCE there
    assert result.flow[one] == pytest.approx(0.25 * 380.0, abs=1e-5)
    assert result.flow[two] == pytest.approx(20.0 + 0.5 * 20.0, abs=1e-5)
    # equilibrium conditions: the motorcycles' two used paths cost the same (19.5 s) ...
    assert result.time_s[one] == pytest.approx(19.5, abs=1e-6)
    assert result.time_s[two] == pytest.approx(19.5, abs=1e-6)
    # ... and the cars' unused path costs more than their used one
    car = result.class_cost_s["car"]
    assert car[one] + car[one_b] > car[two] + car[two_b] + 99.0
    assert np.isnan(result.objective)  # an asymmetric problem has no objective


def test_the_same_case_with_one_pce_per_class_is_the_symmetric_answer():
    """With 0.25 on both links (the scalar case) the split differs: ``20 - 0.025 x2 =
    18 + 0.0375 x2`` gives ``x2 = 32`` — so the asymmetric answer above is not the
    symmetric one by accident."""
    net = _two_links()
    result = assign(net, classes=_classes(None), algorithm="bfw", gap=1e-12, max_iter=500)
    assert result.class_flow["motorcycle"][_link(net, 0, 3)] == pytest.approx(32.0, abs=1e-5)
    assert "diagonal" not in set(result.history["direction"])


def _grid(n=5, seed=3):
    """An ``n`` × ``n`` grid, links both ways, random free-flow times and capacities."""
    rng = np.random.default_rng(seed)
    tail, head = [], []
    for i in range(n):
        for j in range(n):
            u = i * n + j
            if j + 1 < n:
                tail += [u, u + 1]
                head += [u + 1, u]
            if i + 1 < n:
                tail += [u, u + n]
                head += [u + n, u]
    m = len(tail)
    net = Network.from_edges(
        np.array(tail),
        np.array(head),
        n_nodes=n * n,
        node_id=np.arange(1, n * n + 1),
        crs=None,
        free_flow_time_s=rng.uniform(30.0, 90.0, m),
        capacity_vph=rng.uniform(300.0, 900.0, m),
        toll=(rng.random(m) < 0.2).astype(float),
    )
    zones = np.array([1, n, n * n - n + 1, n * n, (n * n + 1) // 2])
    return net, zones, rng


def _class_gap(result, net, name, od):
    """Relative gap of one class: ``(cost . x - SPTT) / cost . x`` at the result's class
    costs (scipy Dijkstra, an independent shortest-path code)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    cost = result.class_cost_s[name]
    x = result.class_flow[name]
    open_ = np.isfinite(cost)
    graph = csr_matrix(
        (cost[open_] + 1e-300, (net.tail[open_], net.head[open_])),
        shape=(net.n_nodes, net.n_nodes),
    )
    nodes = net.node_index(od.zones)
    dist = dijkstra(graph, indices=nodes)[:, nodes]
    sptt = float(np.nansum(np.where(od.matrix > 0, od.matrix * dist, 0.0)))
    used = x > 0
    tstt = float(np.dot(x[used], cost[used]))
    return (tstt - sptt) / tstt


@pytest.mark.parametrize("algorithm", ["bfw", "algb"])
def test_each_class_is_at_equilibrium_with_random_link_pce(algorithm):
    """Three classes on a grid, PCE per link drawn at random (motorcycles 0.25-0.5, trucks
    1.2-2.5): every class's own relative gap, measured with scipy's Dijkstra on its
    costs, is below 1e-6 when the run reports 1e-8 (used paths equal and minimal to
    that tolerance; the slack covers the path cost rounding of ~1e-12 per link)."""
    net, zones, rng = _grid()
    m = net.n_edges

    def od(scale):
        matrix = rng.uniform(0.0, scale, (zones.size, zones.size))
        np.fill_diagonal(matrix, 0.0)
        return ODMatrix(zones=zones, matrix=matrix)

    demand = {"car": od(300.0), "motorcycle": od(900.0), "truck": od(60.0)}
    classes = [
        VehicleClass("car", demand["car"], toll_factor=60.0),
        VehicleClass(
            "motorcycle",
            demand["motorcycle"],
            pce=0.25,
            toll_factor=0.0,
            link_pce=rng.uniform(0.25, 0.5, m),
        ),
        VehicleClass(
            "truck", demand["truck"], pce=2.0, toll_factor=120.0, link_pce=rng.uniform(1.2, 2.5, m)
        ),
    ]
    result = assign(net, classes=classes, algorithm=algorithm, gap=1e-8, max_iter=300)
    assert result.converged
    for c in classes:
        assert _class_gap(result, net, c.name, demand[c.name]) < 1e-6
        # every class's trips are all assigned
        out = net.node_index(c.demand.zones)
        leaving = sum(result.class_flow[c.name][net.tail == o].sum() for o in out)
        entering = sum(result.class_flow[c.name][net.head == o].sum() for o in out)
        assert leaving - entering == pytest.approx(0.0, abs=1e-6)
    pce = np.array([np.ones(m), classes[1].link_pce, classes[2].link_pce])
    volumes = sum(p * result.class_flow[c.name] for p, c in zip(pce, classes, strict=True))
    np.testing.assert_allclose(result.flow, volumes, rtol=1e-12)


@pytest.mark.parametrize("algorithm", ["bfw", "algb"])
def test_link_pce_constant_over_the_links_gives_todays_answer(algorithm):
    """A ``link_pce`` equal on every link is the class's scalar PCE: the same problem and
    the same flows as ``pce=`` (to 1e-6 veh/h at gap 1e-10); and the diagonalisation,
    run on it directly, reaches the same flows too (to 1e-3 veh/h at gap 1e-9)."""
    from transitopt.assignment._monitor import Monitor
    from transitopt.assignment.diagonalisation import solve_diagonalised

    net, zones, rng = _grid(seed=5)
    m = net.n_edges
    matrix = rng.uniform(0.0, 500.0, (zones.size, zones.size))
    np.fill_diagonal(matrix, 0.0)
    od = ODMatrix(zones=zones, matrix=matrix)
    scalar = [
        VehicleClass("car", od, toll_factor=60.0),
        VehicleClass("motorcycle", od, pce=0.3, toll_factor=0.0),
    ]
    per_link = [
        VehicleClass("car", od, toll_factor=60.0, link_pce=np.ones(m)),
        VehicleClass("motorcycle", od, pce=0.9, toll_factor=0.0, link_pce=np.full(m, 0.3)),
    ]
    a = assign(net, classes=scalar, algorithm=algorithm, gap=1e-10, max_iter=2000)
    b = assign(net, classes=per_link, algorithm=algorithm, gap=1e-10, max_iter=2000)
    np.testing.assert_allclose(b.flow, a.flow, atol=1e-6)
    for name in ("car", "motorcycle"):
        np.testing.assert_allclose(b.class_flow[name], a.class_flow[name], atol=1e-6)

    problems = build_class_problems(net, per_link)
    forced = type(problems)(
        names=problems.names,
        pce=problems.pce,
        classes=tuple(
            type(p)(**{**p.__dict__, "demand": p.demand / pce})
            for p, pce in zip(problems.classes, problems.pce, strict=True)
        ),
        shared=problems.shared,
        link_pce=np.array([np.ones(m), np.full(m, 0.3)]),
    )
    monitor = Monitor(problems.shared, gap=1e-9, max_iter=500, time_limit_s=None)
    vehicles = solve_diagonalised(forced, algorithm, monitor)
    assert monitor.converged
    np.testing.assert_allclose((forced.link_pce * vehicles).sum(axis=0), a.flow, atol=1e-3)


def test_bad_link_pce_is_rejected_with_the_class_and_link():
    net = _two_links()
    with pytest.raises(ValueError, match=r"'motorcycle': link_pce has shape \(3,\)"):
        assign(net, classes=_classes(np.ones(3)))
    with pytest.raises(ValueError, match="'motorcycle': link_pce of link 2 is 0.0"):
        assign(net, classes=_classes(np.array([0.25, 0.25, 0.0, 0.5])))  # any link order
