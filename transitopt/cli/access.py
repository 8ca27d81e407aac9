"""``transitopt access``: opportunities reachable from each zone of a city."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ._common import console, one_of, positive


def access(
    source: Annotated[str, typer.Argument(help="OSM file with buildings and POIs, or 'helsinki'.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Per-zone table: .csv or .parquet.")
    ],
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            "-m",
            help="walk, car (free flow) or transit.",
            callback=one_of("walk", "car", "transit"),
        ),
    ] = "walk",
    cell: Annotated[
        float, typer.Option("--cell", help="Hexagon zone size, metres.", callback=positive)
    ] = 250.0,
    cutoffs: Annotated[
        str, typer.Option("--cutoffs", help="Comma-separated minutes.")
    ] = "15,30,45,60",
    opportunity: Annotated[
        str, typer.Option("--opportunity", help="jobs, population, pois or a POI category.")
    ] = "jobs",
    gtfs: Annotated[
        Path | None,
        typer.Option("--gtfs", help="GTFS feed for --mode transit (default: OSM routes)."),
    ] = None,
    map_png: Annotated[
        Path | None, typer.Option("--map", help="Choropleth map (PNG) of the first cutoff.")
    ] = None,
) -> None:
    """Jobs (or other opportunities) reachable from each zone; table, city average and map."""
    from .._ahead import compiling_ahead
    from .._io import write_table
    from ..accessibility import plot_accessibility
    from ..city_access import city_accessibility

    try:
        minutes = tuple(float(v) for v in cutoffs.split(","))
    except ValueError:
        minutes = ()
    if not minutes or not all(math.isfinite(v) and v > 0 for v in minutes):
        raise typer.BadParameter(
            f"expected minutes above 0 separated by commas; got {cutoffs!r}",
            param_hint="--cutoffs",
        )
    listed = "access" if mode == "transit" else f"access-{mode}"  # _ahead_lists.LISTS
    with compiling_ahead(listed), console.status(Text(f"Accessibility by {mode} ...")):
        result = city_accessibility(
            source,
            mode=mode,  # type: ignore[arg-type]  # city_accessibility checks the name
            cell_size_m=cell,
            cutoffs_min=minutes,
            opportunity=opportunity,
            transit=gtfs,
        )
    write_table(result.zones.drop(columns="geometry"), output)
    view = Table(title=f"Population-weighted {opportunity} reachable by {mode}", show_edge=False)
    view.add_column("measure")
    view.add_column("city average", justify="right")
    for name, value in result.city_average.items():
        view.add_row(str(name), f"{value:,.0f}")
    console.print(view)
    console.print(f"{len(result.zones):,} zones of {cell:g} m; wrote {output}")
    if map_png is not None:
        column = f"{opportunity}_{minutes[0]:g}min"
        plot_accessibility(
            result.zones,
            column,
            map_png,
            title=f"{opportunity} within {minutes[0]:g} min by {mode}",
        )
        console.print(f"wrote {map_png}")
