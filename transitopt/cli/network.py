"""``transitopt network info|export``: load, inspect and export street networks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ._common import NetworkTypeOpt, ProfileOpt, SourceArg, command_group, console, load

group = command_group("Load, inspect and export street networks.")


@group.command("info")
def info(
    source: SourceArg, network_type: NetworkTypeOpt = "drive", profile: ProfileOpt = "generic"
) -> None:
    """Print nodes, edges, km by road class, components and what was imputed."""
    print_summary(load(source, network_type, profile))


@group.command("export")
def export(
    source: SourceArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file: .graphml, .gpkg or .parquet.")
    ],
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """Write the compiled network as GraphML, GeoPackage or GeoParquet."""
    from ..network import export_network

    network = load(source, network_type, profile)
    with console.status(Text(f"Writing {output} ...")):
        export_network(network, output)
    console.print(f"wrote {output} ({network.n_nodes:,} nodes, {network.n_edges:,} edges)")


def print_summary(network: Any) -> None:
    """Size, components, km by road class and the origin of imputed values."""
    from ..network import summarize_network
    from ..network.summary import describe_kept

    summary = summarize_network(network)
    info = summary.info
    console.print(
        f"{info.get('source', 'network')}  ({info.get('network_type', '')})", style="bold"
    )
    console.print(
        f"  {summary.n_nodes:,} nodes, {summary.n_edges:,} directed edges, "
        f"{summary.total_km:,.1f} km of edges; {summary.n_strong_components} strongly / "
        f"{summary.n_weak_components} weakly connected component(s)"
    )
    kept = describe_kept(info)
    if kept:
        console.print(f"  {kept}")
    table = Table(title="Road classes", show_edge=False)
    for column in ("class", "edges", "km", "mean km/h", "mean lanes"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for row in summary.km_by_class.itertuples(index=False):
        table.add_row(
            str(row[0]),
            f"{row.edges:,}",
            f"{row.km:,.2f}",
            f"{row.mean_speed_kph:.1f}",
            f"{row.mean_lanes:.2f}",
        )
    console.print(table)
    imputed = info.get("imputed")
    if imputed:
        _print_imputed(imputed)


def _print_imputed(imputed: dict) -> None:
    table = Table(title="Where attribute values came from (edges)", show_edge=False)
    table.add_column("attribute")
    per_attribute = {name: counts for name, counts in imputed.items() if isinstance(counts, dict)}
    kinds = sorted({kind for counts in per_attribute.values() for kind in counts})
    for kind in kinds:
        table.add_column(kind, justify="right")
    for attribute, counts in per_attribute.items():
        table.add_row(attribute, *[f"{counts.get(kind, 0):,}" for kind in kinds])
    console.print(table)
