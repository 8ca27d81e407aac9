"""``transitopt skim`` and ``transitopt assign``: skims and road traffic assignment."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import (
    AlgorithmOpt,
    NetworkTypeOpt,
    ProfileOpt,
    SourceArg,
    ZonesOpt,
    console,
    demand_file,
    field_progress,
    load,
    one_of,
    positive,
    shown_warnings,
)


def skim(
    source: SourceArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output matrix: .csv (long) or .omx.")
    ],
    zones: Annotated[
        Path | None, typer.Option("--zones", help="CSV of zone points: zone, lon, lat.")
    ] = None,
    grid: Annotated[
        float | None,
        typer.Option(
            "--grid",
            help="Square grid of this cell size (metres) instead of --zones.",
            callback=positive,
        ),
    ] = None,
    weight: Annotated[
        str,
        typer.Option(
            "--weight",
            help="Edge cost: free_flow_time_s (seconds) or length_m (metres).",
            callback=one_of("free_flow_time_s", "length_m"),
        ),
    ] = "free_flow_time_s",
    max_snap: Annotated[
        float | None,
        typer.Option(
            "--max-snap",
            help="Largest allowed zone-to-node distance, metres (default 2000; the grid's cell "
            "size with --grid).",
            callback=positive,
        ),
    ] = None,
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """Zone-to-zone travel-time (or distance) matrix for zone points or a regular grid."""
    from rich.progress import Progress

    from .._ahead import compiling_ahead
    from ..paths import MAX_SNAP_M
    from ..skims import write_skim, zone_skim
    from ..zones import grid_zones, read_zones

    if (zones is None) == (grid is None):
        raise typer.BadParameter("give exactly one of --zones FILE or --grid METRES")
    with compiling_ahead("skim"):
        network = load(source, network_type, profile)
        if zones is not None:
            zone_table = read_zones(zones)
        elif grid is not None:
            zone_table = grid_zones(network, cell_size_m=grid)
            if max_snap is None:
                max_snap = grid
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"Skimming {len(zone_table):,} zones", total=len(zone_table))
            result = zone_skim(
                network,
                zone_table,
                weight=weight,
                max_snap_m=MAX_SNAP_M if max_snap is None else max_snap,
                progress=lambda state: bar.update(task, completed=state["done"]),
            )
    write_skim(result, output)
    _print_skim(result)
    console.print(f"wrote {output}")


def _print_skim(result: Any) -> None:
    import numpy as np

    matrix = result.matrix
    off_diagonal = ~np.eye(matrix.shape[0], dtype=bool)
    values = matrix[off_diagonal & np.isfinite(matrix)]
    seconds = result.weight.endswith("_s")
    scale, unit = (1 / 60, "min") if seconds else (1 / 1000, "km")
    console.print(
        f"{len(result.zones):,} zones, {off_diagonal.sum():,} zone pairs, "
        f"{result.n_unreachable:,} unreachable; "
        f"largest zone snap distance {result.zones['snap_m'].max():.0f} m"
    )
    if values.size:
        console.print(
            f"{result.weight}: mean {values.mean() * scale:.1f} {unit}, "
            f"median {np.median(values) * scale:.1f} {unit}, "
            f"95th percentile {np.percentile(values, 95) * scale:.1f} {unit}, "
            f"max {values.max() * scale:.1f} {unit}"
        )


def assign(
    source: SourceArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Link table: .csv, .parquet, or .gpkg (with street geometry, for QGIS).",
        ),
    ],
    demand: Annotated[
        Path | None,
        typer.Option(
            "--demand",
            "-d",
            help="OD matrix: .csv (origin,destination,trips), .omx or _trips.tntp. "
            "Default for a TNTP folder: its trips file.",
        ),
    ] = None,
    zones: ZonesOpt = None,
    algorithm: AlgorithmOpt = "bfw",
    gap: Annotated[
        float, typer.Option("--gap", help="Target relative gap.", callback=positive)
    ] = 1e-5,
    max_iter: Annotated[int, typer.Option("--max-iter", help="Iteration limit.", min=1)] = 10_000,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Wall-time limit, seconds.", callback=positive),
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Convergence plot (PNG).")] = None,
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """Road traffic assignment to user equilibrium; writes flow, time and v/c per link."""
    from .._ahead import compiling_ahead
    from .._errors import ConvergenceWarning
    from .._io import write_table
    from ..assignment import UserEquilibrium
    from ..demand import attach_to_nodes, read_od
    from ..report import plot_convergence
    from ..zones import attach_zones, read_zones

    if output.suffix.lower() not in (".parquet", ".csv", ".gpkg"):
        raise typer.BadParameter(
            f"{output}: expected a .csv, .parquet or .gpkg file", param_hint="--output"
        )
    # the recorded list is of a bfw run (transitopt._ahead); other algorithms compile as before
    with compiling_ahead("assign" if algorithm == "bfw" else ""):
        network = load(source, network_type, profile)
        od = read_od(demand_file(demand, source))
        if zones is not None:
            od = attach_to_nodes(od, attach_zones(network, read_zones(zones)), network)
        console.print(f"demand: {od.n_zones:,} zones, {od.total():,.1f} trips")
        with shown_warnings(ConvergenceWarning), _gap_progress(algorithm, gap) as show:
            result = UserEquilibrium(
                network,
                od,
                algorithm=algorithm,
                gap=gap,
                max_iter=max_iter,
                time_limit_s=time_limit,
                progress=show,
            ).run()
    if output.suffix.lower() == ".gpkg":
        from ..network.export import write_links

        geometry = network.to_geodataframe().geometry
        write_links(result.link_table(), output, crs=network.crs, geometry=geometry)
    else:
        write_table(result.link_table(), output)
    console.print(result.summary())
    console.print(f"wrote {output}")
    if plot is not None:
        plot_convergence(
            result.history, plot, title=f"{network.info.get('source', '')} ({algorithm})"
        )
        console.print(f"wrote {plot}")


@contextmanager
def _gap_progress(algorithm: str, gap: float) -> Iterator[Callable[[dict], None]]:
    """A progress bar towards the target gap (log scale), fed one dict per iteration."""
    target = -math.log10(gap) if gap > 0 else 16.0
    with field_progress("[progress.description]{task.description}", "gap") as bar:
        task = bar.add_task(f"{algorithm} to gap {gap:g}", total=target, gap="-")

        def show(row: dict) -> None:
            value = row["relative_gap"]
            done = min(target, max(0.0, -math.log10(value))) if value > 0 else target
            bar.update(task, completed=done, gap=f"{value:.2e}")

        yield show
