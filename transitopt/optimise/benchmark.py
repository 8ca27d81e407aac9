"""The standard UTRP benchmark cases and the published results they are compared with.

Cases (number of routes, min–max nodes per route) follow the literature: Mandl with 4,
6, 7 and 8 routes of 2–8 nodes; Mumford0 12 routes (2–15), Mumford1 15 (10–30),
Mumford2 56 (10–22) (Mumford 2013; shared data README, section 2).

Published passenger-objective values come from the shared data, never from constants
here: for Mandl the 122 literature route sets (evaluated with
:func:`~transitopt.optimise.evaluate_route_set`, so each figure is verified) and, for all
instances, ``tndp/literature/<instance>_Results_all_best_passenger.csv`` (values as
published, route sets not available).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from .._progress import ProgressCallback
from ..settings import data_dir
from .evaluation import evaluate_route_set
from .instances import read_literature_route_sets, read_tndp_instance
from .route_design import design_routes


@dataclass(frozen=True)
class BenchmarkCase:
    """One standard problem: instance, number of routes, min/max nodes per route."""

    instance: str
    n_routes: int
    min_nodes: int
    max_nodes: int

    @property
    def label(self) -> str:
        return f"{self.instance} {self.n_routes} routes ({self.min_nodes}-{self.max_nodes})"


STANDARD_CASES: tuple[BenchmarkCase, ...] = (
    BenchmarkCase("Mandl", 4, 2, 8),
    BenchmarkCase("Mandl", 6, 2, 8),
    BenchmarkCase("Mandl", 7, 2, 8),
    BenchmarkCase("Mandl", 8, 2, 8),
    BenchmarkCase("Mumford0", 12, 2, 15),
    BenchmarkCase("Mumford1", 15, 10, 30),
    BenchmarkCase("Mumford2", 56, 10, 22),
)

#: the routes count the ``literature/<instance>_*.csv`` tables refer to
_LITERATURE_ROUTES = {"Mandl": 6, "Mumford0": 12, "Mumford1": 15, "Mumford2": 56}

#: the route counts with a file of their own, ``literature/Mandl<k>_Results_data_headers_all.csv``
_MANDL_ROUTE_FILES = (4, 7, 8)


def standard_cases(instance: str | None = None) -> list[BenchmarkCase]:
    """The standard cases, all or those of one instance (``"Mandl"``, ``"Mumford0"`` ...)."""
    if instance is None:
        return list(STANDARD_CASES)
    key = instance.lower().rstrip("1") if instance.lower().startswith("mandl") else instance.lower()
    cases = [c for c in STANDARD_CASES if c.instance.lower() == key]
    if not cases:
        raise ValueError(
            f"no standard TNDP case for {instance!r}; known: Mandl, Mumford0, Mumford1, Mumford2"
        )
    return cases


def published_results(case: BenchmarkCase) -> pd.DataFrame:
    """Published passenger-objective results for a case, best ATT first.

    Columns: ``source``, ``att`` (minutes), ``trt`` (minutes), ``verified`` (True when the
    figure was computed here from the published route set), ``max_nodes`` (longest route
    of the published set, when known), ``note``.
    """
    rows: list[tuple] = []
    if case.instance == "Mandl":
        inst = read_tndp_instance("Mandl")
        for title, routes in read_literature_route_sets().items():
            if len(routes) != case.n_routes:
                continue
            longest = max(len(r) for r in routes)
            if "operator" in title.lower() or longest > case.max_nodes:
                continue  # different objective, or breaks the node limit
            ev = evaluate_route_set(inst, routes)
            rows.append((title, ev.att, ev.trt, True, longest, "route set evaluated here"))
    best = literature_points(case)
    best = best[best["kind"] == "best passenger"]
    for rec in best.itertuples(index=False):
        rows.append((rec.source, rec.att, rec.trt, False, None, "as published"))
    out = pd.DataFrame(rows, columns=["source", "att", "trt", "verified", "max_nodes", "note"])
    return out.sort_values(["att", "verified"], ascending=[True, False], kind="stable").reset_index(
        drop=True
    )


def literature_points(case: BenchmarkCase) -> pd.DataFrame:
    """Every published (ATT, TRT) point for a case in the shared literature files.

    Columns: ``source``, ``att``, ``trt`` (minutes, as published: ATT to 2 decimals,
    John (2016)'s front to 8), ``kind``: ``"best passenger"`` or ``"best operator"`` (the
    two ends of a paper's bi-objective result) or ``"front"`` (an inner point of John
    (2016)'s Pareto front). Empty for cases the files do not cover.
    """
    folder = data_dir() / "tndp" / "literature"
    columns = ["source", "att", "trt", "kind"]
    if case.instance == "Mandl" and case.n_routes in _MANDL_ROUTE_FILES:
        table = _read_points(folder / f"Mandl{case.n_routes}_Results_data_headers_all.csv")
        return table.assign(kind="best passenger")[columns]  # data README, section 2
    if _LITERATURE_ROUTES.get(case.instance) != case.n_routes:
        return pd.DataFrame(columns=columns)
    rows = []
    for kind in ("passenger", "operator"):
        table = _read_points(folder / f"{case.instance}_Results_all_best_{kind}.csv")
        rows.append(table.assign(kind=f"best {kind}"))
    every = _read_points(folder / f"{case.instance}_Results_data_headers_all.csv")
    front = every[every["source"].str.startswith("John (2016)")]
    rows.append(front.assign(kind="front"))
    return pd.concat(rows, ignore_index=True)[columns]


def _read_points(path) -> pd.DataFrame:
    """A literature table (``f1_ATT``/``f_1_ATT``, ``f2_TRT``/``f_2_TRT``, ``Approach``)."""
    table = pd.read_csv(path)
    table.columns = [c.replace("f_1", "f1").replace("f_2", "f2") for c in table.columns]
    return pd.DataFrame(
        {
            "source": table["Approach"].astype(str).str.strip(),
            "att": table["f1_ATT"].astype(float),
            "trt": table["f2_TRT"].astype(float),
        }
    )


def hypervolume(points, reference: tuple[float, float]) -> float:
    """Area (min²) dominated by ``points`` (ATT, TRT; both minimised) within ``reference``.

    Points beyond the reference in either coordinate add nothing.
    """
    ref_att, ref_trt = map(float, reference)
    inside = sorted((float(a), float(t)) for a, t in points if a < ref_att and t < ref_trt)
    area, trt_floor = 0.0, ref_trt
    for att, trt in inside:  # ascending ATT: each point adds the strip below the last TRT
        if trt < trt_floor:
            area += (ref_att - att) * (trt_floor - trt)
            trt_floor = trt
    return area


def run_case(
    case: BenchmarkCase,
    *,
    budget_s: float | None = None,
    max_evaluations: int | None = None,
    seeds: Sequence[int] = (0,),
    progress: ProgressCallback | None = None,
    clock: Literal["wall", "cpu"] = "cpu",
    objective: Literal["passenger", "pareto"] = "passenger",
) -> pd.DataFrame:
    """Run the route design once per seed; one row per run.

    Give ``max_evaluations`` alone for reproducible runs (the same seed gives the same
    route set on any machine). ``budget_s`` counts CPU seconds of this process by default
    (``clock="cpu"``), ``clock="wall"`` wall time; either is not reproducible.
    ``progress`` is passed to :func:`~transitopt.optimise.design_routes` (same dict keys);
    after a run it cancelled, or one stopped by Ctrl-C, no further seed is run.

    Columns: ``case``, ``instance``, ``n_routes``, ``min_nodes``, ``max_nodes``,
    ``objective``, ``seed``, ``budget_s``, ``max_evaluations``, ``seconds`` (the search
    clock), ``cpu_s`` (CPU seconds of this process during the run), ``evaluations``,
    ``att``, ``d0``, ``d1``, ``d2``, ``dun``, ``trt``, ``stopped_by``, ``routes`` (node
    ids), ``front`` (for ``"pareto"``: the non-dominated (ATT, TRT) pairs found, else
    ``None``).
    """
    inst = read_tndp_instance(case.instance)
    rows = []
    for seed in seeds:
        cpu0 = time.process_time()
        res = design_routes(
            inst,
            n_routes=case.n_routes,
            min_nodes=case.min_nodes,
            max_nodes=case.max_nodes,
            objective=objective,
            budget_s=budget_s,
            max_evaluations=max_evaluations,
            seed=seed,
            progress=progress,
            clock=clock,
        )
        cpu_s = time.process_time() - cpu0
        ev = res.evaluation
        rows.append(
            {
                "case": case.label,
                "instance": case.instance,
                "n_routes": case.n_routes,
                "min_nodes": case.min_nodes,
                "max_nodes": case.max_nodes,
                "objective": objective,
                "seed": seed,
                "budget_s": budget_s,
                "max_evaluations": max_evaluations,
                "seconds": res.seconds,
                "clock": clock,
                "cpu_s": cpu_s,
                "evaluations": res.n_evaluations,
                "att": ev.att,
                "d0": ev.d0,
                "d1": ev.d1,
                "d2": ev.d2,
                "dun": ev.dun,
                "trt": ev.trt,
                "stopped_by": res.stopped_by,
                "routes": res.routes,
                "front": (
                    [
                        (float(a), float(t))
                        for a, t in zip(res.front["att"], res.front["trt"], strict=True)
                    ]
                    if objective == "pareto"
                    else None
                ),
            }
        )
        if res.stopped_by in ("interrupted", "cancelled"):
            break
    return pd.DataFrame(rows)
