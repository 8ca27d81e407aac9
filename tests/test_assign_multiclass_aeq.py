"""Multi-class equilibrium against AequilibraE's multi-class assignment on TNTP networks.

Classes (:func:`three_classes`): the TNTP demand split 70 / 20 / 10 % into cars (PCE 1),
motorcycles (PCE 0.5, barred from the 10 % highest-capacity links other than centroid
connectors, highest first, except where a bar would leave an OD pair without a path) and trucks (PCE 2.5,
paying a distance cost). AequilibraE gets the same inputs: one ``TrafficClass`` per class
with ``set_pce``, the class's fixed cost through ``set_fixed_cost`` (in minutes), and the
motorcycles' bar as a fixed cost of 1e5 min on the barred links (a path through one
costs more than any path without; AequilibraE sums class flows link by link, so all
classes share one graph).

What is compared. The PCU total per link is unique at equilibrium (the objective is
strictly convex in it) and so is the objective; class flows are not (where two classes
face the same costs, swapping their PCU between equal-cost paths changes nothing), so
they are compared more loosely, and each solver's class flows are checked to be an
equilibrium of their own (every class on its shortest paths: the gap over classes).
Tolerances (relative to the largest PCU total; measured figures in the tests): both
solvers to the same relative gap (AequilibraE's rgap is the same PCU-weighted measure as
ours, :mod:`transitopt.assignment.classes`), SiouxFalls at 1e-6 and Anaheim at 1e-8.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from transitopt.assignment import VehicleClass, assign
from transitopt.assignment._problem import build_problem, fixed_cost_s
from transitopt.demand import ODMatrix
from transitopt.network.tntp import load_tntp

os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")  # before AequilibraE is imported
pytest.importorskip("aequilibrae")

#: (name, demand share, pce); motorcycles barred from links of capacity above the
#: BAR_QUANTILE of capacities (centroid connectors never); trucks pay a distance cost of
#: TRUCK_DISTANCE_SHARE of the network's mean free-flow time per length unit (TNTP length
#: units differ: miles, feet), trucks pay TRUCK_DISTANCE_S seconds per length unit
SPLIT = (("car", 0.7, 1.0), ("motorcycle", 0.2, 0.5), ("truck", 0.1, 2.5))
BAR_QUANTILE = 0.9
TRUCK_DISTANCE_SHARE = 0.2
#: the AequilibraE stand-in for a closed link (min)
BARRED_MIN = 1e5


def three_classes(case) -> list[VehicleClass]:
    """The three classes of the module docstring on a TNTP case."""
    net = case.network
    connector = net.centroid[net.tail] | net.centroid[net.head]
    roads = net.capacity_vph[~connector]
    barred = np.zeros(net.n_edges, dtype=bool)
    candidates = np.flatnonzero(~connector & (net.capacity_vph > np.quantile(roads, BAR_QUANTILE)))
    for e in candidates[np.argsort(-net.capacity_vph[candidates], kind="stable")]:
        barred[e] = True  # kept only if every OD pair stays connected for motorcycles
        if len(build_problem(net, case.demand, closed=barred).unassigned):
            barred[e] = False
    out = []
    for name, share, pce in SPLIT:
        od = ODMatrix(zones=case.demand.zones, matrix=case.demand.matrix * share)
        if name == "motorcycle":
            out.append(VehicleClass(name, od, pce=pce, closed=barred))
        elif name == "truck":
            per_length = TRUCK_DISTANCE_SHARE * net.free_flow_time_s.sum() / net.length_m.sum()
            out.append(VehicleClass(name, od, pce=pce, distance_factor=float(per_length)))
        else:
            out.append(VehicleClass(name, od, pce=pce))
    return out


def class_fixed_s(case, vc: VehicleClass) -> np.ndarray:
    """The class's fixed cost per link (s) as transitopt computes it (closed: inf)."""
    fixed = fixed_cost_s(
        case.network, toll_factor=vc.toll_factor, distance_factor=vc.distance_factor
    )
    if vc.closed is not None:
        fixed = np.where(vc.closed, np.inf, fixed)
    return fixed


def run_aequilibrae(case, classes: list[VehicleClass], gap: float, cores: int = 1) -> dict:
    """AequilibraE bfw on ``classes``; class flows (veh/h) in the network's link order."""
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    net = case.network
    edges = net.edges
    links = pd.DataFrame(
        {
            "link_id": edges["tntp_link"].to_numpy(),
            "a_node": edges["init_node"].to_numpy(),
            "b_node": edges["term_node"].to_numpy(),
            "direction": 1,
            "free_flow_time": np.maximum(net.free_flow_time_s / 60.0, 1e-8),
            "capacity": net.capacity_vph,
            "alpha": net.alpha,
            "beta": net.beta,
        }
    )
    for vc in classes:
        fixed = class_fixed_s(case, vc)
        links[f"fixed_{vc.name}"] = np.where(np.isinf(fixed), BARRED_MIN, fixed / 60.0)
    links["id"] = links["link_id"]
    links = links.sort_values("link_id").reset_index(drop=True)
    zones = case.demand.zones
    graph = Graph()
    graph.network = links
    graph.network_ok = True
    graph.status = "OK"
    graph.prepare_graph(zones.astype(np.int64))
    graph.set_graph("free_flow_time")
    graph.set_blocked_centroid_flows(bool(net.centroid.any()))
    traffic = []
    for vc in classes:
        matrix = AequilibraeMatrix()
        matrix.create_empty(zones=zones.size, matrix_names=["matrix"], memory_only=True)
        matrix.index = zones
        matrix.matrices[:, :, 0] = vc.demand.matrix
        matrix.computational_view(["matrix"])
        tc = TrafficClass(vc.name, graph, matrix)
        tc.set_pce(float(vc.pce))
        if links[f"fixed_{vc.name}"].any():
            tc.set_fixed_cost(f"fixed_{vc.name}")
        traffic.append(tc)
    assignment = TrafficAssignment()
    assignment.set_classes(traffic)
    assignment.set_vdf("BPR")
    assignment.set_vdf_parameters({"alpha": "alpha", "beta": "beta"})
    assignment.set_capacity_field("capacity")
    assignment.set_time_field("free_flow_time")
    assignment.set_algorithm("bfw")
    assignment.max_iter = 20_000
    assignment.rgap_target = gap
    assignment.set_cores(cores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assignment.execute()
    report = pd.DataFrame(assignment.assignment.convergence_report)
    order = edges["tntp_link"].to_numpy()
    flows = {
        tc._id: tc.results.get_load_results()["matrix_tot"].reindex(order).to_numpy(np.float64)
        for tc in traffic
    }
    return {
        "class_flow": flows,
        "rgap": float(report["rgap"].iloc[-1]),
        "iterations": int(report["iteration"].iloc[-1]),
        "history": report,
    }


def objective_s(case, classes, class_flow: dict[str, np.ndarray]) -> float:
    """``sum_a integral_0^{v_a} t_a + sum_c fixed_c . pce_c x_c`` (veh·s/h), from flows."""
    net = case.network
    t0, cap, alpha, beta = net.free_flow_time_s, net.capacity_vph, net.alpha, net.beta
    v = sum(vc.pce * class_flow[vc.name] for vc in classes)
    value = float(np.sum(t0 * (v + alpha * cap / (beta + 1) * (v / cap) ** (beta + 1))))
    for vc in classes:
        fixed = class_fixed_s(case, vc)
        used = class_flow[vc.name] > 0
        value += float(np.dot(fixed[used], vc.pce * class_flow[vc.name][used]))
    return value


@pytest.fixture(scope="module")
def cases(shared_data):
    loaded = {}

    def get(name):
        if name not in loaded:
            loaded[name] = load_tntp(shared_data / "tntp" / name)
        return loaded[name]

    return get


def _compare(case, gap, *, algorithm="bfw", our_gap=None):
    classes = three_classes(case)
    ours = assign(
        case.network,
        classes=classes,
        algorithm=algorithm,
        gap=gap if our_gap is None else our_gap,
        max_iter=100_000,
    )
    assert ours.converged and len(ours.unassigned) == 0
    ref = run_aequilibrae(case, classes, gap)
    assert ref["rgap"] <= gap
    pce = {vc.name: vc.pce for vc in classes}
    ref_total = sum(pce[k] * f for k, f in ref["class_flow"].items())
    scale = float(np.abs(ref_total).max())
    total_diff = float(np.abs(ours.flow - ref_total).max()) / scale
    class_diff = {
        k: float(np.abs(ours.class_flow[k] - f).max()) / scale for k, f in ref["class_flow"].items()
    }
    obj_ours = objective_s(case, classes, dict(ours.class_flow))
    obj_ref = objective_s(case, classes, ref["class_flow"])
    barred = classes[1].closed
    return {
        "ours": ours,
        "ref": ref,
        "total_diff": total_diff,
        "class_diff": class_diff,
        "objective_rel": abs(obj_ours - obj_ref) / obj_ref,
        "objective_ours": obj_ours,
        "objective_ref": obj_ref,
        "ref_barred_flow": float(ref["class_flow"]["motorcycle"][barred].sum()),
        "barred": barred,
    }


def _check(out, *, objective: float, total: float, per_class: float):
    print({k: v for k, v in out.items() if k not in ("ours", "ref", "barred")})
    assert out["ref_barred_flow"] == 0.0  # the 1e5-min stand-in bars as a closed link does
    assert out["ours"].class_flow["motorcycle"][out["barred"]].sum() == 0.0
    assert out["objective_rel"] < objective
    assert out["total_diff"] < total
    assert max(out["class_diff"].values()) < per_class


@pytest.mark.slow
def test_siouxfalls_three_classes_match_aequilibrae(cases):
    # measured (2026-12-06, gap 1e-6): objective 2.2e-8, totals 9.4e-5, classes <= 9.3e-4
    # (AequilibraE: 443 iterations; SiouxFalls' bfw tail makes 1e-8 take both tools
    # 20,000 iterations)
    _check(_compare(cases("SiouxFalls"), gap=1e-6), objective=1e-6, total=2e-4, per_class=5e-3)


@pytest.mark.slow
def test_anaheim_three_classes_match_aequilibrae(cases):
    # at gap 1e-6 both tools are ~5e-3 of the largest flow from the 1e-9 solution (the
    # single-class test allows 1e-2 there), so compare at 1e-8: measured (2026-12-06)
    # totals 4.8e-4, classes <= 2.7e-4 (AequilibraE 561 iterations, transitopt 725)
    _check(_compare(cases("Anaheim"), gap=1e-8), objective=1e-7, total=1e-3, per_class=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "gap", "total", "per_class"),
    # measured (2026-12-06), per-class bushes to 1e-10 (SiouxFalls 58 iterations, Anaheim
    # 12): objective -6.9e-8 / -8.8e-10 (ours lower), totals 1.8e-4 / 6.3e-4, classes
    # 3.7e-2 / 6.9e-3: the bushes settle on another of the equilibrium's class splits
    # (their gap over classes, 1e-10, certifies every class on its shortest paths)
    [("SiouxFalls", 1e-6, 5e-4, 6e-2), ("Anaheim", 1e-8, 1e-3, 1.5e-2)],
)
def test_per_class_bushes_match_aequilibrae(cases, name, gap, total, per_class):
    out = _compare(cases(name), gap, algorithm="algb", our_gap=1e-10)
    assert out["ours"].relative_gap <= 1e-10
    _check(out, objective=1e-7, total=total, per_class=per_class)
