"""The ``transitopt`` command line: a thin shell over the Python API.

Every command parses its arguments, calls the API and prints; errors on bad input
are one line (``error: ...``) with exit code 1 and no traceback.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="transitopt: street networks, shortest paths and skims for transport planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
network_app = typer.Typer(help="Load, inspect and export street networks.", no_args_is_help=True)
app.add_typer(network_app, name="network")
transit_app = typer.Typer(
    help="Import transit lines (GTFS, OSM route relations) and assign riders.", no_args_is_help=True
)
app.add_typer(transit_app, name="transit")
optimise_app = typer.Typer(
    help="Optimise transit: route design, frequencies under a fleet budget.", no_args_is_help=True
)
app.add_typer(optimise_app, name="optimise")
bench_app = typer.Typer(help="Benchmark instances from the literature.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

console = Console()
err_console = Console(stderr=True)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="OSM file (.osm, .osm.bz2, .osm.pbf), GraphML, TNTP folder or _net.tntp file, "
        "a place name, or 'helsinki' for the embedded central-Helsinki extract."
    ),
]
NetworkTypeOpt = Annotated[str, typer.Option("--type", "-t", help="Network type: drive or walk.")]
ProfileOpt = Annotated[
    str, typer.Option("--profile", help="Default-value profile: generic or indonesia.")
]


def friendly_errors(command):
    """Turn transitopt's typed errors into one-line messages and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from ._errors import TransitoptError

        try:
            return command(*args, **kwargs)
        except (TransitoptError, FileNotFoundError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None

    return wrapper


def _load(source: str, network_type: str, profile: str):
    from .network.sources import open_network

    with console.status(f"Loading {source} ({network_type}) ..."):
        return open_network(source, network_type=network_type, profile=profile)


def _print_summary(network) -> None:
    from .network.summary import summarize_network

    summary = summarize_network(network)
    info = summary.info
    console.print(f"[bold]{info.get('source', 'network')}[/]  ({info.get('network_type', '')})")
    console.print(
        f"  {summary.n_nodes:,} nodes, {summary.n_edges:,} directed edges, {summary.total_km:,.1f} km of edges; "
        f"{summary.n_strong_components} strongly / {summary.n_weak_components} weakly connected component(s)"
    )
    dropped = info.get("dropped")
    if dropped:
        console.print(f"  dropped outside the largest strongly connected component: {dropped}")
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
        table = Table(title="Where attribute values came from (edges)", show_edge=False)
        table.add_column("attribute")
        per_attribute = {
            name: counts for name, counts in imputed.items() if isinstance(counts, dict)
        }
        kinds = sorted({kind for counts in per_attribute.values() for kind in counts})
        for kind in kinds:
            table.add_column(kind, justify="right")
        for attribute, counts in per_attribute.items():
            table.add_row(attribute, *[f"{counts.get(kind, 0):,}" for kind in kinds])
        console.print(table)


@network_app.command("info")
@friendly_errors
def network_info(
    source: SourceArg, network_type: NetworkTypeOpt = "drive", profile: ProfileOpt = "generic"
) -> None:
    """Print nodes, edges, km by road class, components and what was imputed."""
    _print_summary(_load(source, network_type, profile))


@network_app.command("export")
@friendly_errors
def network_export(
    source: SourceArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file: .graphml, .gpkg or .parquet.")
    ],
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """Write the compiled network as GraphML, GeoPackage or GeoParquet."""
    from .network.export import export_network

    network = _load(source, network_type, profile)
    with console.status(f"Writing {output} ..."):
        export_network(network, output)
    console.print(f"wrote {output} ({network.n_nodes:,} nodes, {network.n_edges:,} edges)")


@app.command("skim")
@friendly_errors
def skim_command(
    source: SourceArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output matrix: .csv (long) or .omx.")
    ],
    zones: Annotated[
        Path | None, typer.Option("--zones", help="CSV of zone points: zone, lon, lat.")
    ] = None,
    grid: Annotated[
        float | None,
        typer.Option("--grid", help="Square grid of this cell size (metres) instead of --zones."),
    ] = None,
    weight: Annotated[
        str,
        typer.Option(
            "--weight", help="Edge cost: free_flow_time_s (seconds) or length_m (metres)."
        ),
    ] = "free_flow_time_s",
    max_snap: Annotated[
        float | None,
        typer.Option("--max-snap", help="Largest allowed zone-to-node distance, metres."),
    ] = None,
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """Zone-to-zone travel-time (or distance) matrix for zone points or a regular grid."""
    from rich.progress import Progress

    from .skims import write_skim, zone_skim
    from .zones import grid_zones, read_zones

    if (zones is None) == (grid is None):
        raise typer.BadParameter("give exactly one of --zones FILE or --grid METRES")
    network = _load(source, network_type, profile)
    zone_table = read_zones(zones) if zones is not None else grid_zones(network, cell_size_m=grid)
    if max_snap is None and grid is not None:
        max_snap = grid
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"Skimming {len(zone_table):,} zones", total=len(zone_table))
        result = zone_skim(
            network,
            zone_table,
            weight=weight,
            max_snap_m=max_snap,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    write_skim(result, output)
    _print_skim(result)
    console.print(f"wrote {output}")


def _print_skim(result) -> None:
    import numpy as np

    matrix = result.matrix
    off_diagonal = ~np.eye(matrix.shape[0], dtype=bool)
    values = matrix[off_diagonal & np.isfinite(matrix)]
    seconds = result.weight.endswith("_s")
    scale, unit = (1 / 60, "min") if seconds else (1 / 1000, "km")
    console.print(
        f"{len(result.zones):,} zones, {off_diagonal.sum():,} zone pairs, "
        f"{result.n_unreachable:,} unreachable; largest zone snap distance {result.zones['snap_m'].max():.0f} m"
    )
    if values.size:
        console.print(
            f"{result.weight}: mean {values.mean() * scale:.1f} {unit}, median {np.median(values) * scale:.1f} {unit}, "
            f"95th percentile {np.percentile(values, 95) * scale:.1f} {unit}, max {values.max() * scale:.1f} {unit}"
        )


@app.command("assign")
@friendly_errors
def assign_command(
    source: SourceArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Link table: .parquet or .csv.")],
    demand: Annotated[
        Path | None,
        typer.Option(
            "--demand",
            "-d",
            help="OD matrix: .csv (origin,destination,trips), .omx or _trips.tntp. "
            "Default for a TNTP folder: its trips file.",
        ),
    ] = None,
    zones: Annotated[
        Path | None,
        typer.Option(
            "--zones", help="CSV of zone points (zone, lon, lat) the OD zone ids refer to."
        ),
    ] = None,
    algorithm: Annotated[
        str, typer.Option("--algorithm", "-a", help="msa, fw, cfw, bfw or algb.")
    ] = "bfw",
    gap: Annotated[float, typer.Option("--gap", help="Target relative gap.")] = 1e-5,
    max_iter: Annotated[int, typer.Option("--max-iter", help="Iteration limit.")] = 10_000,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Wall-time limit, seconds.")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Convergence plot (PNG).")] = None,
    network_type: NetworkTypeOpt = "drive",
    profile: ProfileOpt = "generic",
) -> None:
    """Road traffic assignment to user equilibrium; writes flow, time and v/c per link."""
    import warnings

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ._errors import ConvergenceWarning
    from ._io import atomic_path
    from .assignment import UserEquilibrium
    from .demand import attach_to_nodes, read_od
    from .report import plot_convergence

    if output.suffix.lower() not in (".parquet", ".csv"):
        raise typer.BadParameter(
            f"{output}: expected a .parquet or .csv file", param_hint="--output"
        )
    network = _load(source, network_type, profile)
    if demand is None:
        trips = sorted(Path(source).glob("*_trips.tntp")) if Path(source).is_dir() else []
        if not trips:
            raise typer.BadParameter("give the OD matrix with --demand FILE", param_hint="--demand")
        demand = trips[0]
    od = read_od(demand)
    if zones is not None:
        from .paths import snap_points
        from .zones import read_zones

        table = read_zones(zones)
        node, _ = snap_points(network, table["x"].to_numpy(), table["y"].to_numpy())
        od = attach_to_nodes(od, table.assign(node=node), network)
    console.print(f"demand: {od.n_zones:,} zones, {od.total():,.1f} trips")
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("gap {task.fields[gap]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        import math

        target = -math.log10(gap) if gap > 0 else 16.0
        task = bar.add_task(f"{algorithm} to gap {gap:g}", total=target, gap="-")

        def show(row: dict) -> None:
            value = row["relative_gap"]
            done = min(target, max(0.0, -math.log10(value))) if value > 0 else target
            bar.update(task, completed=done, gap=f"{value:.2e}")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = UserEquilibrium(
                network,
                od,
                algorithm=algorithm,
                gap=gap,
                max_iter=max_iter,
                time_limit_s=time_limit,
                callback=show,
            ).run()
    for warning in caught:
        err_console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    table = result.link_table()
    with atomic_path(output) as tmp:
        if output.suffix.lower() == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    console.print(result.summary())
    console.print(f"wrote {output}")
    if plot is not None:
        plot_convergence(
            result.history, plot, title=f"{network.info.get('source', '')} ({algorithm})"
        )
        console.print(f"wrote {plot}")


def _read_supply(
    source: str, *, start: str, end: str, date: str | None, default_headway_s: float | None
):
    """Transit lines from a GTFS zip/folder, or from the route relations of an OSM file."""
    from .network.sources import EMBEDDED_DEFAULT, embedded_default_path
    from .transit import read_gtfs, read_osm_routes

    path = embedded_default_path() if source.lower() == EMBEDDED_DEFAULT else Path(source)
    is_gtfs = path.suffix.lower() == ".zip" or (path.is_dir() and (path / "stops.txt").exists())
    with console.status(f"Reading transit lines from {path} ..."):
        if is_gtfs:
            return read_gtfs(
                path, date=date, start=start, end=end, default_headway_s=default_headway_s
            )
        return read_osm_routes(path)


@transit_app.command("import")
@friendly_errors
def transit_import(
    source: Annotated[
        str,
        typer.Argument(help="GTFS zip or folder, an OSM file with route relations, or 'helsinki'."),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the line table (.csv or .parquet).")
    ] = None,
    start: Annotated[
        str, typer.Option("--start", help="Analysis period start (GTFS), HH:MM.")
    ] = "07:00",
    end: Annotated[str, typer.Option("--end", help="Analysis period end (GTFS), HH:MM.")] = "09:00",
    date: Annotated[
        str | None,
        typer.Option("--date", help="Service day YYYYMMDD (GTFS); default: busiest day."),
    ] = None,
    default_headway: Annotated[
        float | None,
        typer.Option("--default-headway", help="Headway (min) for GTFS routes without any times."),
    ] = None,
) -> None:
    """Summarise the lines, stops and headways of a feed, and what had to be repaired or skipped."""
    from ._io import atomic_path

    supply, report = _read_supply(
        source,
        start=start,
        end=end,
        date=date,
        default_headway_s=None if default_headway is None else default_headway * 60,
    )
    lines = supply.lines_table()
    console.print(f"{len(supply.stops):,} stops, {supply.n_lines:,} lines")
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
    console.print(str(report), highlight=False, markup=False)
    if output is not None:
        with atomic_path(output) as tmp:
            lines.to_parquet(
                tmp, index=False
            ) if output.suffix.lower() == ".parquet" else lines.to_csv(tmp, index=False)
        console.print(f"wrote {output}")


@transit_app.command("assign")
@friendly_errors
def transit_assign_command(
    source: Annotated[
        str,
        typer.Argument(help="GTFS zip or folder, an OSM file with route relations, or 'helsinki'."),
    ],
    demand: Annotated[
        Path,
        typer.Option("--demand", "-d", help="OD table CSV: origin, destination, trips (zone ids)."),
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
    start: Annotated[
        str, typer.Option("--start", help="Analysis period start (GTFS), HH:MM.")
    ] = "07:00",
    end: Annotated[str, typer.Option("--end", help="Analysis period end (GTFS), HH:MM.")] = "09:00",
    default_headway: Annotated[
        float | None,
        typer.Option("--default-headway", help="Headway (min) for GTFS routes without any times."),
    ] = None,
) -> None:
    """Frequency-based transit assignment (optimal strategies): boardings and loads per line."""
    import warnings

    from ._io import atomic_path
    from .transit import assign_transit, build_transit_graph
    from .zones import read_zones

    supply, _report = _read_supply(
        source,
        start=start,
        end=end,
        date=None,
        default_headway_s=None if default_headway is None else default_headway * 60,
    )
    zone_table = read_zones(zones)
    walk_network = _load(walk, "walk", "generic") if walk else None
    od = _read_od_table(demand)
    with console.status("Building the transit graph and assigning ..."):
        graph = build_transit_graph(supply, zones=zone_table, walk_network=walk_network)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = assign_transit(graph, od)
    for warning in caught:
        err_console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    lines = result.line_table()
    with atomic_path(output) as tmp:
        lines.to_parquet(tmp, index=False) if output.suffix.lower() == ".parquet" else lines.to_csv(
            tmp, index=False
        )
    busiest = lines.sort_values("boardings", ascending=False).head(10)
    view = Table(title="Busiest lines", show_edge=False)
    for column in ("line", "boardings", "peak_load", "peak_load_per_capacity_hour"):
        view.add_column(column, justify="left" if column == "line" else "right")
    for row in busiest.itertuples(index=False):
        view.add_row(
            str(row.line),
            f"{row.boardings:,.0f}",
            f"{row.peak_load:,.0f}",
            f"{row.peak_load_per_capacity_hour:.2f}",
        )
    console.print(view)
    console.print(
        f"{result.demand.sum():,.0f} trips assigned, {result.unassigned:,.0f} without a transit path; "
        f"{lines['boardings'].sum():,.0f} boardings; wrote {output}"
    )


def _read_od_table(path: Path):
    """An OD table (origin, destination, trips) from CSV, with a one-line error when unreadable."""
    import pandas as pd

    from ._errors import InputFileError

    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read the OD table ({exc})") from None
    missing = {"origin", "destination", "trips"} - set(table.columns)
    if missing:
        raise InputFileError(f"{path}: OD table lacks column(s) {sorted(missing)}")
    return table


@app.command("access")
@friendly_errors
def access_command(
    source: Annotated[str, typer.Argument(help="OSM file with buildings and POIs, or 'helsinki'.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Per-zone table: .csv or .parquet.")
    ],
    mode: Annotated[
        str, typer.Option("--mode", "-m", help="walk, car (free flow) or transit.")
    ] = "walk",
    cell: Annotated[float, typer.Option("--cell", help="Hexagon zone size, metres.")] = 250.0,
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
    from ._io import atomic_path
    from .accessibility import plot_accessibility
    from .city_access import city_accessibility

    try:
        minutes = tuple(float(v) for v in cutoffs.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"expected numbers separated by commas, got {cutoffs!r}", param_hint="--cutoffs"
        ) from None
    with console.status(f"Accessibility by {mode} ..."):
        result = city_accessibility(
            source,
            mode=mode,
            cell_size_m=cell,
            cutoffs_min=minutes,
            opportunity=opportunity,
            transit=gtfs,
        )
    table = result.zones.drop(columns="geometry")
    with atomic_path(output) as tmp:
        table.to_parquet(tmp, index=False) if output.suffix.lower() == ".parquet" else table.to_csv(
            tmp, index=False
        )
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


def _evaluate(path: Path):
    """Evaluate (or reuse the cached result of) one scenario file, showing its feedback loop."""
    import warnings

    from ._errors import ConvergenceWarning
    from .scenario import evaluate_file

    with console.status(f"Evaluating {path} ...") as status:

        def show(row: dict) -> None:
            status.update(f"Evaluating {path}: feedback iteration {row.get('iteration', '?')}")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = evaluate_file(path, progress=show)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            err_console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    return result


#: metrics shown on the terminal (the files and the report hold all of them)
TERMINAL_METRICS = (
    "share_car",
    "share_transit",
    "share_walk",
    "car_veh_h",
    "car_delay_veh_h",
    "car_avg_speed_kph",
    "lane_km_voc_over_1_0",
    "transit_boardings",
    "transit_avg_time_min",
    "transit_max_load_ratio",
    "transit_fleet",
    "co2_total",
)


def _print_metrics(table) -> None:
    """Headline metrics on the terminal: the baseline, then each alternative with its % change."""
    import math

    def number(value: float) -> str:
        return "" if math.isnan(value) else f"{value:,.4g}"

    shown = table[table["metric"].isin(TERMINAL_METRICS)]
    if shown.empty:
        shown = table
    value_columns = [
        c
        for c in table.columns
        if c not in ("group", "metric", "unit")
        and not str(c).endswith("Δ")
        and not str(c).endswith("Δ%")
    ]
    view = Table(show_edge=False, title="Headline metrics (change vs baseline)")
    view.add_column("metric")
    view.add_column("unit")
    for column in value_columns:
        view.add_column(str(column)[:24], justify="right")
    for _, row in shown.iterrows():
        cells = [str(row["metric"]), str(row["unit"]), number(row[value_columns[0]])]
        for column in value_columns[1:]:
            pct = row.get(f"{column} Δ%", math.nan)
            cells.append(number(row[column]) + ("" if math.isnan(pct) else f" ({pct:+.1f}%)"))
        view.add_row(*cells)
    console.print(view)


@app.command("evaluate")
@friendly_errors
def evaluate_command(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file (TOML): a baseline or an alternative.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the result tables and summary.json.")
    ],
) -> None:
    """Evaluate one scenario: road equilibrium, transit assignment, mode choice, metrics."""
    from .scenario import write_result

    result = _evaluate(scenario)
    write_result(result, output)
    _print_metrics(result.metrics.rename(columns={"value": result.name}))
    console.print(f"wrote {output}/ (Parquet and CSV tables, summary.json)")


@app.command("compare")
@friendly_errors
def compare_command(
    scenarios: Annotated[
        list[Path], typer.Argument(help="Baseline scenario file, then one or more alternatives.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the comparison, report and maps.")
    ],
) -> None:
    """Compare alternatives with a baseline: headline table, HTML report and PNG maps."""
    _compare(scenarios, output)


def _compare(scenarios: list[Path], output: Path) -> None:
    from ._io import atomic_path
    from .report import write_maps, write_report
    from .scenario import compare, validate_scenario, write_result

    if len(scenarios) < 2:
        raise typer.BadParameter("give a baseline and at least one alternative")
    for path in scenarios:  # validate every file before any computation
        validate_scenario(path)
    results = [_evaluate(path) for path in scenarios]
    table = compare(results[0], *results[1:])
    _print_metrics(table)
    output.mkdir(parents=True, exist_ok=True)
    for path, result in zip(scenarios, results, strict=True):
        write_result(result, output / "scenarios" / path.stem)
    with atomic_path(output / "comparison.csv") as tmp:
        table.to_csv(tmp, index=False)
    with console.status("Writing the report and maps ..."):
        maps = write_maps(results[0], results[1:], output / "maps")
        report = write_report(results[0], results[1:], output / "report.html")
    not_converged = [r.name for r in results if not r.converged]
    if not_converged:
        err_console.print(
            f"[yellow]warning:[/] not converged: {', '.join(not_converged)} (the report says so)"
        )
    console.print(f"report: {report.resolve()}")
    console.print(
        f"tables: {output}/comparison.csv, {output}/scenarios/; {len(maps)} PNG maps in {output}/maps/"
    )


@app.command("batch")
@friendly_errors
def batch_command(
    batch_file: Annotated[
        Path, typer.Argument(help="Batch file (TOML): cities × policy scenarios.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (resumable).")],
    workers: Annotated[
        int | None, typer.Option("--workers", help="Local worker processes (default: cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Reuse an output folder of a different batch.")
    ] = False,
) -> None:
    """Evaluate every city × policy scenario; resumes finished work; one summary table."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from .batch import load_batch, run_batch

    spec = load_batch(batch_file)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("cities", total=len(spec.cities), state="")

        def show(event: dict) -> None:
            bar.update(
                task,
                completed=event["cities_done"] + event["cities_failed"],
                state=f"failed {event['cities_failed']}, runs {event['runs_done']}/{event['runs_total']}",
            )

        summary = run_batch(
            spec, output, workers=workers, scheduler=scheduler, overwrite=force, progress=show
        )
    console.print(
        f"{summary.computed} computed, {summary.reused} reused, {summary.failed} failed, "
        f"{summary.not_applicable} not applicable in {summary.elapsed_s:.1f} s"
    )
    console.print(
        f"summary: {summary.files['summary_csv']}; overview: {summary.files['overview_png']}"
    )
    if not summary.ok:
        raise typer.Exit(code=1)


def _search_progress(description: str):
    """A rich progress bar over a time budget, showing the best objective so far."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(description),
        BarColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@optimise_app.command("routes")
@friendly_errors
def optimise_routes(
    instance: Annotated[
        str, typer.Argument(help="TNDP instance: Mandl1, Mandl2, Mumford0-2 or a folder.")
    ],
    routes: Annotated[int, typer.Option("--routes", "-k", help="Number of routes.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Route set file (one route per line).")
    ],
    min_nodes: Annotated[int, typer.Option("--min-nodes", help="Fewest nodes per route.")] = 2,
    max_nodes: Annotated[int, typer.Option("--max-nodes", help="Most nodes per route.")] = 8,
    objective: Annotated[
        str, typer.Option("--objective", help="passenger, operator or pareto.")
    ] = "passenger",
    budget: Annotated[float, typer.Option("--budget", help="Search time, seconds.")] = 60.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")] = 0,
) -> None:
    """Design a route set (simulated annealing, numba evaluation); Ctrl-C keeps the best so far."""
    from .optimise import design_routes, read_tndp_instance, write_route_set

    inst = read_tndp_instance(instance)
    with _search_progress(f"{objective} search, {budget:g} s") as bar:
        task = bar.add_task("search", total=budget, best="-")

        def show(event: dict) -> None:
            bar.update(
                task,
                completed=min(budget, event.get("seconds", 0.0)),
                best=f"ATT {event.get('att', float('nan')):.3f} min, TRT {event.get('trt', float('nan')):.0f} min",
            )

        result = design_routes(
            inst,
            n_routes=routes,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            objective=objective,
            budget_s=budget,
            seed=seed,
            progress=show,
        )
    ev = result.evaluation
    write_route_set(
        result.routes,
        output,
        header=f"{instance}: {routes} routes, {objective}, seed {seed}; "
        f"ATT {ev.att:.4f} min, TRT {ev.trt:.0f} min",
    )
    console.print(
        f"ATT {ev.att:.2f} min, d0 {ev.d0:.2f} %, d1 {ev.d1:.2f} %, d2 {ev.d2:.2f} %, dun {ev.dun:.2f} %, "
        f"TRT {ev.trt:.0f} min; {result.n_evaluations:,} evaluations in {result.seconds:.1f} s "
        f"({result.stopped_by})"
    )
    console.print(f"wrote {output}")


@optimise_app.command("frequencies")
@friendly_errors
def optimise_frequencies_command(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file whose line headways to optimise.")
    ],
    fleet: Annotated[int, typer.Option("--fleet", help="Vehicles available (all lines).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="New alternative scenario file (TOML).")
    ],
    min_headway: Annotated[
        float, typer.Option("--min-headway", help="Shortest headway, minutes.")
    ] = 3.0,
    max_headway: Annotated[
        float, typer.Option("--max-headway", help="Longest headway, minutes.")
    ] = 30.0,
    operator_weight: Annotated[
        float,
        typer.Option(
            "--operator-weight", help="Operator cost per vehicle-hour (scenario currency)."
        ),
    ] = 0.0,
    max_evaluations: Annotated[
        int, typer.Option("--max-evaluations", help="Transit assignments at most.")
    ] = 500,
) -> None:
    """Choose headways within a fleet budget; writes a scenario that `transitopt compare` accepts."""
    from .optimise.frequencies import optimise_frequencies, write_scenario

    with console.status("Optimising headways ...") as status:

        def show(event: dict) -> None:
            status.update(
                f"Optimising headways: {event.get('evaluations', '?')} assignments, "
                f"objective {event.get('objective', float('nan')):,.1f}"
            )

        result = optimise_frequencies(
            scenario,
            fleet=fleet,
            headway_bounds_min=(min_headway, max_headway),
            operator_weight_per_veh_h=operator_weight,
            max_evaluations=max_evaluations,
            progress=show,
        )
    write_scenario(result, output)
    changed = result.routes[result.routes["headway_min"] != result.routes["baseline_headway_min"]]
    console.print(
        f"fleet {result.baseline_fleet} -> {result.fleet_used} of {result.fleet_budget}; objective "
        f"{result.objective_before:,.1f} -> {result.objective_after:,.1f} {result.currency}/h; "
        f"{len(changed)} route(s) changed"
    )
    console.print(
        f"wrote {output}; compare it: transitopt compare {scenario} {output} -o out/frequencies"
    )


@bench_app.command("tndp")
@friendly_errors
def bench_tndp(
    instance: Annotated[
        str, typer.Argument(help="Mandl1, Mandl2, Mumford0, Mumford1 or Mumford2.")
    ],
    budget: Annotated[float, typer.Option("--budget", help="Search CPU seconds per run.")] = 60.0,
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds.")] = "0",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Runs table (CSV).")] = None,
) -> None:
    """Run the literature's standard route-design cases of an instance; compare with published ATT."""
    from ._io import atomic_path
    from .optimise import published_results, run_case, standard_cases

    cases = standard_cases(instance)
    seed_list = [int(v) for v in seeds.split(",")]
    rows = []
    for case in cases:
        with console.status(f"{case.label}: {len(seed_list)} run(s) of {budget:g} s ..."):
            runs = run_case(case, budget_s=budget, seeds=seed_list)
        best = runs.loc[runs["att"].idxmin()]
        published = published_results(case)
        best_published = published["att"].min() if len(published) else float("nan")
        gap = 100.0 * (best["att"] - best_published) / best_published
        console.print(
            f"{case.label}: ATT {best['att']:.3f} min (TRT {best['trt']:.0f}); best published "
            f"{best_published:.2f} ({gap:+.2f} %)"
        )
        rows.append(runs)
    if output is not None:
        import pandas as pd

        with atomic_path(output) as tmp:
            pd.concat(rows).to_csv(tmp, index=False)
        console.print(f"wrote {output}")


def example_scenarios() -> list[Path]:
    """The Helsinki example scenarios shipped in ``scenarios/`` (baseline first)."""
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    base = folder / "helsinki_base.toml"
    if not base.is_file():
        from ._errors import InputFileError

        raise InputFileError(f"{folder}: example scenarios not found (run from a source checkout)")
    return [base, *sorted(p for p in folder.glob("helsinki_*.toml") if p != base)]


@app.command("demo")
@friendly_errors
def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the demo outputs.")
    ] = Path("transitopt-demo"),
) -> None:
    """Quickstart, offline: compare the example scenarios on the embedded central-Helsinki extract."""
    scenarios = example_scenarios()
    console.print(
        f"Comparing {len(scenarios)} example scenarios on central Helsinki (offline, embedded data)"
    )
    _print_summary(_load("helsinki", "drive", "generic"))
    _compare(scenarios, output)


if __name__ == "__main__":  # pragma: no cover
    app()
