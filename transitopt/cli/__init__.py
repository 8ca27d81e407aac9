"""The ``transitopt`` command line: a thin shell over the Python API.

Every command parses its arguments, calls the API and prints; errors on bad input are
one line (``error: ...``) with exit code 1 and no traceback (:class:`._common.OneLineErrors`).
One module per command group; this file only lists the commands.
"""

from __future__ import annotations

import typer

from . import access, batch, bench, network, optimise, roads, scenario, transit
from ._common import OneLineErrors


def _group(help: str) -> typer.Typer:
    return typer.Typer(help=help, no_args_is_help=True)


app = typer.Typer(
    cls=OneLineErrors,
    help="transitopt: street networks, shortest paths and skims for transport planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

network_app = _group("Load, inspect and export street networks.")
network_app.command("info")(network.info)
network_app.command("export")(network.export)
app.add_typer(network_app, name="network")

app.command("skim")(roads.skim)
app.command("assign")(roads.assign)

transit_app = _group("Import transit lines (GTFS, OSM route relations) and assign riders.")
transit_app.command("import")(transit.import_lines)
transit_app.command("assign")(transit.assign)
app.add_typer(transit_app, name="transit")

app.command("access")(access.access)
app.command("evaluate")(scenario.evaluate)
app.command("compare")(scenario.compare)
app.command("batch")(batch.batch)

optimise_app = _group("Optimise transit: route design, frequencies under a fleet budget.")
optimise_app.command("routes")(optimise.routes)
optimise_app.command("frequencies")(optimise.frequencies)
app.add_typer(optimise_app, name="optimise")

bench_app = _group("Benchmark instances from the literature.")
bench_app.command("tndp")(bench.tndp)
app.add_typer(bench_app, name="bench")

app.command("demo")(scenario.demo)

__all__ = ["app"]
