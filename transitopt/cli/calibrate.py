"""``transitopt calibrate``: estimate an OD matrix from traffic counts and report the fit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    AlgorithmOpt,
    NetworkTypeOpt,
    ProfileOpt,
    SourceArg,
    ZonesOpt,
    console,
    load,
    positive,
    shown_warnings,
)


def calibrate(
    source: SourceArg,
    counts: Annotated[
        Path,
        typer.Option(
            "--counts",
            "-c",
            help="Counts CSV: count + tntp_link, from_node/to_node or way/direction "
            "(+ optional screenline, class, period).",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Folder for the estimate, tables, figures, HTML."),
    ],
    demand: Annotated[
        Path | None,
        typer.Option(
            "--demand",
            "-d",
            help="Prior OD matrix: .csv (origin,destination,trips), .omx or _trips.tntp. "
            "Default for a TNTP folder: its trips file.",
        ),
    ] = None,
    zones: ZonesOpt = None,
    algorithm: AlgorithmOpt = "bfw",
    gap: Annotated[
        float, typer.Option("--gap", help="Equilibrium relative gap.", callback=positive)
    ] = 1e-5,
    max_outer: Annotated[
        int, typer.Option("--max-outer", help="Equilibrium solutions at most.", min=1)
    ] = 10,
    inner: Annotated[
        int, typer.Option("--inner", help="Gradient steps per equilibrium.", min=1)
    ] = 3,
    target_rmse: Annotated[
        float,
        typer.Option("--target-rmse", help="Stop at this %RMSE of the counts.", callback=positive),
    ] = 1.0,
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """OD matrix estimation from counts (Spiess 1990) with GEH, R² and RMSE by flow band."""
    from .._errors import ConvergenceWarning
    from ..assignment import estimate_matrix
    from ..demand import attach_to_nodes, read_counts, read_od
    from ..report.calibration import write_calibration
    from ..zones import attach_zones, read_zones

    network = load(source, network_type, profile)
    if demand is None:
        trips = sorted(Path(source).glob("*_trips.tntp")) if Path(source).is_dir() else []
        if not trips:
            raise typer.BadParameter(
                "give the prior OD matrix with --demand FILE", param_hint="--demand"
            )
        demand = trips[0]
    od = read_od(demand)
    if zones is not None:
        od = attach_to_nodes(od, attach_zones(network, read_zones(zones)), network)
    observed = read_counts(counts, network)
    console.print(
        f"prior: {od.n_zones:,} zones, {od.total():,.1f} trips; counts: "
        f"{observed.n_observations} observations"
    )
    for row, reason in observed.unmatched.itertuples(index=False):
        console.print(f"  unmatched {'row ' + str(row) if row else ''}: {reason}")
    with shown_warnings(ConvergenceWarning):
        result = estimate_matrix(
            network,
            od,
            observed,
            max_outer=max_outer,
            inner_iterations=inner,
            target_percent_rmse=target_rmse,
            assignment={"algorithm": algorithm, "gap": gap},
        )
    console.print(result.summary())
    page = write_calibration(result, output)
    console.print(f"wrote {output}/ (estimate.omx, fit.csv, statistics.csv, ...) and {page}")
