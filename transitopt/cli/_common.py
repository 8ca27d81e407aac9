"""What every command shares: the consoles, the common options, one-line errors, warnings."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from .._errors import TransitoptError

if TYPE_CHECKING:
    from rich.progress import Progress

console = Console()
err_console = Console(stderr=True)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="OSM file (.osm, .osm.bz2, .osm.pbf), GraphML, TNTP folder or _net.tntp file, "
        "a place name, or 'helsinki' for the embedded central-Helsinki extract."
    ),
]
TransitSourceArg = Annotated[
    str,
    typer.Argument(help="GTFS zip or folder, an OSM file with route relations, or 'helsinki'."),
]
NetworkTypeOpt = Annotated[str, typer.Option("--type", "-t", help="Network type: drive or walk.")]
ProfileOpt = Annotated[
    str, typer.Option("--profile", help="Default-value profile: generic or indonesia.")
]
StartOpt = Annotated[str, typer.Option("--start", help="Analysis period start (GTFS), HH:MM.")]
EndOpt = Annotated[str, typer.Option("--end", help="Analysis period end (GTFS), HH:MM.")]
DefaultHeadwayOpt = Annotated[
    float | None,
    typer.Option("--default-headway", help="Headway (min) for GTFS routes without any times."),
]


class OneLineErrors(TyperGroup):
    """The root command group: transitopt's typed errors become ``error: ...`` and exit code 1.

    The one place where errors on bad input are turned into a message without a traceback;
    sub-groups and commands run inside :meth:`invoke`, so they need nothing of their own.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (TransitoptError, FileNotFoundError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None


def command_group(help: str) -> typer.Typer:
    """A group of subcommands (``transitopt GROUP COMMAND``) that shows its help when bare."""
    return typer.Typer(help=help, no_args_is_help=True)


def field_progress(description: str, field: str) -> Progress:
    """A transient progress bar: ``description``, the bar, the task field ``field`` (shown
    after its name) and the time elapsed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(description),
        BarColumn(),
        TextColumn(f"{field} {{task.fields[{field}]}}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


#: seconds between plain progress lines when the output is not a terminal
PLAIN_PROGRESS_EVERY_S = 10.0


@contextmanager
def search_progress(
    description: str, budget_s: float | None, max_evaluations: int | None
) -> Iterator[Callable[[dict], None]]:
    """A route-design progress callback: a transient bar in a terminal, else (piped, logged)
    a plain line at most every :data:`PLAIN_PROGRESS_EVERY_S` seconds and at the end.

    The callback takes the route-design progress dict (``evaluations``, ``seconds``,
    ``att``, ``trt``); the bar counts evaluations when ``max_evaluations`` is given, else
    seconds.
    """

    def text(event: dict) -> str:
        return (
            f"{event.get('evaluations', 0):,} evaluations, {event.get('seconds', 0.0):.0f} s; "
            f"best ATT {event.get('att', float('nan')):.3f} min, "
            f"TRT {event.get('trt', float('nan')):.0f} min"
        )

    if not console.is_terminal:
        last: dict = {}
        printed = [-math.inf]

        def plain(event: dict) -> None:
            last.update(event)
            if time.monotonic() - printed[0] >= PLAIN_PROGRESS_EVERY_S:
                printed[0] = time.monotonic()
                print(f"{description}: {text(event)}", flush=True)

        yield plain
        if last:
            print(f"{description}: done, {text(last)}", flush=True)
        return
    total = float(max_evaluations if max_evaluations is not None else budget_s or 0.0)
    with field_progress(description, "best") as bar:
        task = bar.add_task("search", total=total, best="-")

        def show(event: dict) -> None:
            done = event.get("evaluations" if max_evaluations is not None else "seconds", 0.0)
            bar.update(task, completed=min(total, float(done)), best=text(event).split("; ")[1])

        yield show


def load(source: str, network_type: str, profile: str) -> Any:
    """:func:`transitopt.load_network` with a status line."""
    from ..network import load_network

    with console.status(f"Loading {source} ({network_type}) ..."):
        return load_network(source, network_type=network_type, profile=profile)


@contextmanager
def shown_warnings(category: type[Warning] = Warning, *, others: bool = True) -> Iterator[None]:
    """Collect the warnings raised inside; afterwards print each as ``warning: ...``.

    Every warning of ``category`` is kept (even a repeat); other warnings pass the usual
    filters and are printed only when ``others`` is true.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        yield
    for warning in caught:
        if others or issubclass(warning.category, category):
            err_console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)


def minutes_to_s(minutes: float | None) -> float | None:
    """Minutes from an option to seconds for the API (``None`` stays ``None``)."""
    return None if minutes is None else minutes * 60
