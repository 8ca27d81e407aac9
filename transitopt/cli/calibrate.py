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
    vehicle_classes: Annotated[
        list[str] | None,
        typer.Option(
            "--class",
            help="Another vehicle class NAME[:PCE]=FILE (its prior matrix; PCE default 1), "
            "repeatable: the classes' matrices are estimated together under the multi-class "
            "equilibrium, --demand being class 'car'. Counts name their class in a 'class' "
            "column ('pcu': all classes together, in PCU).",
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
    from ..assignment.classes import VehicleClass
    from ..demand import ODMatrix, attach_to_nodes, read_counts, read_od
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
    zone_table = attach_zones(network, read_zones(zones)) if zones is not None else None

    def prior_of(path: Path) -> ODMatrix:
        od = read_od(path)
        return od if zone_table is None else attach_to_nodes(od, zone_table, network)

    od = prior_of(demand)
    prior: ODMatrix | list[VehicleClass] = od
    if vehicle_classes:
        prior = [VehicleClass("car", od)]
        for text in vehicle_classes:
            name, pce, path = _class_option(text)
            prior.append(VehicleClass(name, prior_of(path), pce=pce))
    observed = read_counts(counts, network)
    classes = ", ".join(
        f"{c.name} {c.demand.total():,.1f} (PCE {c.pce:g})" for c in prior
    ) if isinstance(prior, list) else f"{od.total():,.1f}"
    console.print(
        f"prior: {od.n_zones:,} zones, trips {classes}; counts: "
        f"{observed.n_observations} observations"
    )
    for row, reason in observed.unmatched.itertuples(index=False):
        console.print(f"  unmatched {'row ' + str(row) if row else ''}: {reason}")
    with shown_warnings(ConvergenceWarning):
        result = estimate_matrix(
            network,
            prior,
            observed,
            max_outer=max_outer,
            inner_iterations=inner,
            target_percent_rmse=target_rmse,
            assignment={"algorithm": algorithm, "gap": gap},
        )
    console.print(result.summary())
    if result.class_estimates:
        for row in result.class_statistics().itertuples(index=False):
            console.print(
                f"  {row.vehicle_class}: {row.n} counts, GEH<5 {100 * row.share_geh_below_5_prior:.1f}% "
                f"-> {100 * row.share_geh_below_5:.1f}%, trips {row.trips_prior:,.1f} -> {row.trips:,.1f}"
            )
    page = write_calibration(result, output)
    console.print(f"wrote {output}/ (estimate.omx, fit.csv, statistics.csv, ...) and {page}")


def _class_option(text: str) -> tuple[str, float, Path]:
    """``NAME[:PCE]=FILE`` of ``--class``: the name, the PCE and the prior's path."""
    head, sep, path = text.partition("=")
    name, _, pce_text = head.partition(":")
    name = name.strip()
    try:
        pce = float(pce_text) if pce_text.strip() else 1.0
    except ValueError:
        pce = float("nan")
    if not sep or not name or not path.strip() or not (pce > 0) or name in ("car", "pcu"):
        raise typer.BadParameter(
            f"{text!r}: expected NAME[:PCE]=FILE, e.g. truck:2.5=truck_prior.csv (PCE > 0; "
            "'car' is --demand and 'pcu' names all classes)",
            param_hint="--class",
        )
    return name, pce, Path(path.strip())
