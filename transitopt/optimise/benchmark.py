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

#: the routes count the ``literature/*.csv`` tables refer to
_LITERATURE_ROUTES = {"Mandl": 6, "Mumford0": 12, "Mumford1": 15, "Mumford2": 56}


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
    if _LITERATURE_ROUTES.get(case.instance) == case.n_routes:
        path = (
            data_dir() / "tndp" / "literature" / f"{case.instance}_Results_all_best_passenger.csv"
        )
        table = pd.read_csv(path)
        for rec in table.itertuples(index=False):
            rows.append(
                (rec.Approach, float(rec.f1_ATT), float(rec.f2_TRT), False, None, "as published")
            )
    out = pd.DataFrame(rows, columns=["source", "att", "trt", "verified", "max_nodes", "note"])
    return out.sort_values(["att", "verified"], ascending=[True, False], kind="stable").reset_index(
        drop=True
    )


def run_case(
    case: BenchmarkCase,
    *,
    budget_s: float,
    seeds: Sequence[int] = (0,),
    progress: ProgressCallback | None = None,
    clock: Literal["wall", "cpu"] = "cpu",
) -> pd.DataFrame:
    """Run the passenger-objective design once per seed; one row per run.

    ``budget_s`` counts CPU seconds of this process by default (``clock="cpu"``), so a
    run on a busy machine gets the search it was given; ``clock="wall"`` counts wall time.
    ``progress`` is passed to :func:`~transitopt.optimise.design_routes` (same dict keys);
    after a run it cancelled, or one stopped by Ctrl-C, no further seed is run.

    Columns: ``case``, ``instance``, ``n_routes``, ``min_nodes``, ``max_nodes``, ``seed``,
    ``budget_s``, ``seconds``, ``evaluations``, ``att``, ``d0``, ``d1``, ``d2``, ``dun``,
    ``trt``, ``stopped_by``, ``routes`` (node ids).
    """
    inst = read_tndp_instance(case.instance)
    rows = []
    for seed in seeds:
        res = design_routes(
            inst,
            n_routes=case.n_routes,
            min_nodes=case.min_nodes,
            max_nodes=case.max_nodes,
            objective="passenger",
            budget_s=budget_s,
            seed=seed,
            progress=progress,
            clock=clock,
        )
        ev = res.evaluation
        rows.append(
            {
                "case": case.label,
                "instance": case.instance,
                "n_routes": case.n_routes,
                "min_nodes": case.min_nodes,
                "max_nodes": case.max_nodes,
                "seed": seed,
                "budget_s": budget_s,
                "seconds": res.seconds,
                "clock": clock,
                "evaluations": res.n_evaluations,
                "att": ev.att,
                "d0": ev.d0,
                "d1": ev.d1,
                "d2": ev.d2,
                "dun": ev.dun,
                "trt": ev.trt,
                "stopped_by": res.stopped_by,
                "routes": res.routes,
            }
        )
        if res.stopped_by in ("interrupted", "cancelled"):
            break
    return pd.DataFrame(rows)
