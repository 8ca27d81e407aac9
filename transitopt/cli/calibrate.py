"""``transitopt calibrate``: estimate an OD matrix from traffic counts and report the fit,
or calibrate a baseline scenario (its ``[calibration]``: shares, counts, boardings)."""

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
    demand_file,
    load,
    positive,
    shown_warnings,
)


def calibrate(
    source: SourceArg,
    counts: Annotated[
        Path | None,
        typer.Option(
            "--counts",
            "-c",
            help="Counts CSV: count + tntp_link, from_node/to_node or way/direction "
            "(+ optional screenline, class, period). Not for a scenario file: its "
            "[calibration] counts names them.",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Folder for the estimate, tables, figures, HTML."),
    ] = Path("calibration"),
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
    """OD matrix estimation from counts (Spiess 1990) with GEH, R² and RMSE by flow band.

    SOURCE may also be a baseline scenario file (.toml) with a [calibration] section: it is
    evaluated with its calibration (mode constants to target shares or to counted
    boardings, car matrix to traffic counts) and the fit tables are written to --output.
    """
    if source.lower().endswith(".toml"):
        if counts is not None or demand is not None or vehicle_classes:
            raise typer.BadParameter(
                "a scenario file names its counts and demand itself ([calibration] counts, "
                "[demand]); leave out --counts, --demand and --class",
                param_hint="SOURCE",
            )
        _calibrate_scenario(Path(source), output)
        return
    if counts is None:
        raise typer.BadParameter("give the counts CSV with --counts FILE", param_hint="--counts")
    from .._ahead import compiling_ahead
    from .._errors import ConvergenceWarning
    from ..assignment import estimate_matrix
    from ..assignment.classes import VehicleClass
    from ..demand import ODMatrix, attach_to_nodes, read_counts, read_od
    from ..report.calibration import write_calibration
    from ..zones import attach_zones, read_zones

    # the recorded list is of a bfw run (transitopt._ahead); other algorithms compile as before
    with compiling_ahead("calibrate" if algorithm == "bfw" else ""):
        network = load(source, network_type, profile)
        demand = demand_file(demand, source, "prior OD matrix")
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
        classes = (
            ", ".join(f"{c.name} {c.demand.total():,.1f} (PCE {c.pce:g})" for c in prior)
            if isinstance(prior, list)
            else f"{od.total():,.1f}"
        )
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


def _calibrate_scenario(path: Path, output: Path) -> None:
    """Evaluate a baseline with ``[calibration]``; print and write its calibration tables."""
    import json

    from .._ahead import compiling_ahead
    from .._errors import ConvergenceWarning
    from .._io import atomic_path, write_table
    from ..scenario import evaluate, load_scenario

    scenario = load_scenario(path)
    if not scenario.is_baseline or scenario.baseline.calibration is None:
        raise typer.BadParameter(
            f"{path}: not a baseline scenario with a [calibration] section", param_hint="SOURCE"
        )
    # the scenario's evaluation compiles what `transitopt evaluate` does, and some more
    with compiling_ahead("evaluate"), shown_warnings(ConvergenceWarning):
        result = evaluate(scenario)
    fitted = result.summary.get("calibration") or {}
    for note in result.summary.get("notes", []):
        if "calibrat" in note or "counts" in note or "boardings" in note:
            console.print(note)
    for key, what in (("counts", "traffic counts"), ("boardings", "boardings")):
        entry = fitted.get(key)
        if not entry or "after" not in entry:
            continue
        before = entry.get("before")
        after = entry["after"]
        shown = (
            f"GEH<5 {100 * before['share_geh_below_5']:.1f}% -> "
            f"{100 * after['share_geh_below_5']:.1f}%, %RMSE {before['percent_rmse']:.1f} -> "
            f"{after['percent_rmse']:.1f}, R2 {before['r2']:.3f} -> {after['r2']:.3f}"
            if before
            else f"GEH<5 {100 * after['share_geh_below_5']:.1f}%, %RMSE "
            f"{after['percent_rmse']:.1f}, R2 {after['r2']:.3f}"
        )
        console.print(f"  {entry['observations']} {what}: {shown}")
        for row, reason in entry.get("unmatched", []):
            console.print(f"  unmatched row {row}: {reason}")
    _print_transit_od(fitted.get("transit_od"))
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (
        "calibration", "counts_fit", "boardings_fit", "od_adjustment", "transit_od_history",
        "mode_shares",
    ):  # fmt: skip
        if name in result.tables:
            write_table(result.tables[name], output / f"{name}.csv")
            written.append(f"{name}.csv")
    with atomic_path(output / "calibration.json") as tmp:
        Path(tmp).write_text(json.dumps(fitted, indent=2, default=str), encoding="utf-8")
    console.print(f"wrote {output}/ ({', '.join([*written, 'calibration.json'])})")


def _print_transit_od(entry: dict | None) -> None:
    """The fit per line before and after the transit OD adjustment (``transit_od``)."""
    if not entry:
        return
    before, after = entry["at_constant"], entry["after"]
    start = entry.get("start", "at the fitted constant")
    console.print(
        f"  transit OD: {entry['observations']} lines/stops {start} -> adjusted: "
        f"%RMSE {before['percent_rmse']:.1f} -> {after['percent_rmse']:.1f}, largest error "
        f"{100 * entry['max_relative_error_at_constant']:.1f}% -> "
        f"{100 * entry['max_relative_error']:.1f}% (tolerance {100 * entry['tolerance']:g}%), "
        f"R2 {before['r2']:.3f} -> {after['r2']:.3f}"
    )
