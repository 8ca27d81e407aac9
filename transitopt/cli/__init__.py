"""The ``transitopt`` command line: a thin shell over the Python API.

Every command parses its arguments, calls the API and prints; errors on bad input are
one line (``error: ...``) with exit code 1 and no traceback (:class:`._common.OneLineErrors`).
One module per command group; this file only lists the commands.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from . import access, batch, bench, network, optimise, roads, scenario, transit
from ._common import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    help="transitopt: street networks, shortest paths and skims for transport planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _add_group(name: str, help: str, commands: dict[str, Callable[..., None]]) -> None:
    """Add the command group ``transitopt NAME`` with ``commands`` (command name: handler)."""
    group = typer.Typer(help=help, no_args_is_help=True)
    for command, handler in commands.items():
        group.command(command)(handler)
    app.add_typer(group, name=name)


_add_group(
    "network",
    "Load, inspect and export street networks.",
    {"info": network.info, "export": network.export},
)
app.command("skim")(roads.skim)
app.command("assign")(roads.assign)
_add_group(
    "transit",
    "Import transit lines (GTFS, OSM route relations) and assign riders.",
    {"import": transit.import_lines, "assign": transit.assign},
)
app.command("access")(access.access)
app.command("evaluate")(scenario.evaluate)
app.command("compare")(scenario.compare)
app.command("batch")(batch.batch)
_add_group(
    "optimise",
    "Optimise transit: route design, frequencies under a fleet budget.",
    {"routes": optimise.routes, "frequencies": optimise.frequencies},
)
_add_group("bench", "Benchmark instances from the literature.", {"tndp": bench.tndp})
app.command("demo")(scenario.demo)

__all__ = ["app"]
