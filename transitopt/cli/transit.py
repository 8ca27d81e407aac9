"""``transitopt transit import|assign``: transit lines and frequency-based assignment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ._common import (
    DefaultHeadwayOpt,
    EndOpt,
    StartOpt,
    TransitSourceArg,
    command_group,
    console,
    load,
    minutes_to_s,
    period,
    service_date,
    shown_warnings,
)

group = command_group("Import transit lines (GTFS, OSM route relations) and assign riders.")


@group.command("import")
def import_lines(
    source: TransitSourceArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the line table (.csv or .parquet).")
    ] = None,
    start: StartOpt = "07:00",
    end: EndOpt = "09:00",
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Service day YYYYMMDD (GTFS); default: busiest day.",
            callback=service_date,
        ),
    ] = None,
    default_headway: DefaultHeadwayOpt = None,
) -> None:
    """Summarise the lines, stops and headways of a feed, and what had to be repaired or skipped."""
    period(start, end)
    from .._io import write_table

    supply, report = _read_supply(
        source, start=start, end=end, date=date, default_headway_s=minutes_to_s(default_headway)
    )
    lines = supply.lines_table()
    console.print(f"{len(supply.stops):,} stops, {supply.n_lines:,} lines")
    _print_lines_by_mode(lines)
    console.print(str(report), highlight=False, markup=False)
    if output is not None:
        write_table(lines, output)
        console.print(f"wrote {output}")


def _read_supply(source: str, **period: Any) -> Any:
    """:func:`transitopt.read_supply` with a status line."""
    from ..network.sources import resolve_source
    from ..transit import read_supply

    with console.status(Text(f"Reading transit lines from {resolve_source(source)} ...")):
        return read_supply(source, **period)


def _print_lines_by_mode(lines: Any) -> None:
    by_mode = lines.groupby("mode").agg(
        lines=("line", "size"), median_headway_min=("headway_s", "median")
    )
    table = Table(title="Lines by mode", show_edge=False)
    for column in ("mode", "lines", "median headway (min)", "median stops"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    stops_by_mode = lines.groupby("mode")["n_stops"].median()
    for mode, row in by_mode.iterrows():
        table.add_row(
            str(mode),
            f"{int(row.lines):,}",
            f"{row.median_headway_min / 60:.1f}",
            f"{stops_by_mode[mode]:.0f}",
        )
    console.print(table)


@group.command("assign")
def assign(
    source: TransitSourceArg,
    demand: Annotated[
        Path,
        typer.Option(
            "--demand",
            "-d",
            help="OD matrix: .csv (origin,destination,trips), .omx or _trips.tntp (zone ids).",
        ),
    ],
    zones: Annotated[Path, typer.Option("--zones", help="CSV of zone points: zone, lon, lat.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Per-line table: .csv or .parquet.")
    ],
    walk: Annotated[
        str | None,
        typer.Option(
            "--walk", help="OSM file for the walk network (default: straight-line walks)."
        ),
    ] = None,
    start: StartOpt = "07:00",
    end: EndOpt = "09:00",
    default_headway: DefaultHeadwayOpt = None,
) -> None:
    """Frequency-based transit assignment (optimal strategies): boardings and loads per line."""
    period(start, end)
    from .._io import write_table
    from ..demand import read_od
    from ..transit import assign_transit, build_transit_graph
    from ..zones import read_zones

    supply, _report = _read_supply(
        source, start=start, end=end, date=None, default_headway_s=minutes_to_s(default_headway)
    )
    zone_table = read_zones(zones)
    walk_network = load(walk, "walk", "generic") if walk else None
    od = read_od(demand)
    with shown_warnings(), console.status(Text("Building the transit graph and assigning ...")):
        graph = build_transit_graph(supply, zones=zone_table, walk_network=walk_network)
        result = assign_transit(graph, od)
    names = supply.lines_table()[["line", "label", "name", "long_name", "operator", "mode"]]
    lines = names.merge(result.line_table(), on="line", how="right")
    write_table(lines, output)
    busiest = lines.sort_values("boardings", ascending=False).head(10)
    view = Table(title="Busiest lines", show_edge=False)
    for column in ("line", "boardings", "peak load", "load/cap"):
        view.add_column(
            column,
            justify="left" if column == "line" else "right",
            overflow="fold",
            no_wrap=column != "line",
        )
    for row in busiest.itertuples(index=False):
        view.add_row(
            str(row.label),
            f"{row.boardings:,.0f}",
            f"{row.peak_load:,.0f}",
            f"{row.peak_load_per_capacity_hour:.2f}",
        )
    console.print(view)
    console.print(
        "load/cap = highest segment load / capacity offered per hour", style="dim", highlight=False
    )
    console.print(
        f"{result.demand.sum():,.0f} trips assigned, "
        f"{result.unassigned:,.0f} without a transit path; "
        f"{lines['boardings'].sum():,.0f} boardings; wrote {output}"
    )
