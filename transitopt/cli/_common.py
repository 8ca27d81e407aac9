"""What every command shares: the consoles, the common options, one-line errors, warnings."""

from __future__ import annotations

import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from .._errors import TransitoptError

if TYPE_CHECKING:
    from rich.progress import Progress

# User text (paths, ids, names) is never read as rich markup: styles are given as styles.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)
DEBUG_ENV = "TRANSITOPT_DEBUG"
# click's usage error, from whichever click typer uses (newer typers vendor their own)
UsageError: type[Exception] = next(
    cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError"
)

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


def one_of(*allowed: str) -> Callable[[Any], Any]:
    """An option callback: the value must be one of ``allowed`` (``None`` passes)."""

    def check(value: Any) -> Any:
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"expected one of {', '.join(allowed)}; got {value!r}")
        return value

    return check


def positive(value: float | None) -> float | None:
    """An option callback: a finite number above zero (``None`` passes)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"expected a finite number above 0; got {value:g}")
    return value


def non_negative(value: float | None) -> float | None:
    """An option callback: a finite number of at least zero (``None`` passes)."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"expected a finite number of 0 or more; got {value:g}")
    return value


_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")


def clock(value: str | None) -> str | None:
    """An option callback: a service-day time ``HH:MM[:SS]`` (hours up to 47, GTFS style)."""
    if value is None:
        return value
    match = _CLOCK.match(value.strip())
    if match is None or int(match.group(1)) > 47:
        raise typer.BadParameter(f"expected a time HH:MM (00:00 to 47:59); got {value!r}")
    return value.strip()


def clock_seconds(value: str) -> int:
    """Seconds after midnight of a time that :func:`clock` accepted."""
    parts = [int(part) for part in value.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


def period(start: str, end: str) -> None:
    """Refuse an analysis period whose end is not after its start."""
    if clock_seconds(end) <= clock_seconds(start):
        raise typer.BadParameter(
            f"the period must end after it starts; got --start {start} --end {end}",
            param_hint="--end",
        )


def service_date(value: str | None) -> str | None:
    """An option callback: a calendar date ``YYYYMMDD``."""
    if value is None:
        return value
    from datetime import datetime

    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYYMMDD; got {value!r}") from None
    return value


def _profiles() -> tuple[str, ...]:
    from ..network.imputation import available_profiles

    return tuple(available_profiles())


def profile_name(value: str) -> str:
    """An option callback: the name of a shipped road profile."""
    checked: str = one_of(*_profiles())(value)
    return checked


NetworkTypeOpt = Annotated[
    str,
    typer.Option(
        "--type", "-t", help="Network type: drive or walk.", callback=one_of("drive", "walk")
    ),
]
ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile", help="Default-value profile: generic or indonesia.", callback=profile_name
    ),
]
ZonesOpt = Annotated[
    Path | None,
    typer.Option("--zones", help="CSV of zone points (zone, lon, lat) the OD zone ids refer to."),
]
#: road equilibrium algorithms (as ``transitopt.assignment.equilibrium.ALGORITHMS``)
ALGORITHM_NAMES = ("msa", "fw", "cfw", "bfw", "algb")
AlgorithmOpt = Annotated[
    str,
    typer.Option(
        "--algorithm",
        "-a",
        help="Equilibrium algorithm: msa, fw, cfw, bfw or algb.",
        callback=one_of(*ALGORITHM_NAMES),
    ),
]
StartOpt = Annotated[
    str, typer.Option("--start", help="Analysis period start (GTFS), HH:MM.", callback=clock)
]
EndOpt = Annotated[
    str, typer.Option("--end", help="Analysis period end (GTFS), HH:MM.", callback=clock)
]
DefaultHeadwayOpt = Annotated[
    float | None,
    typer.Option(
        "--default-headway",
        help="Headway (min) for GTFS routes without any times.",
        callback=positive,
    ),
]


def debugging() -> bool:
    """Whether tracebacks are wanted (``--debug`` or ``TRANSITOPT_DEBUG=1``)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def error_message(exc: BaseException) -> str:
    """One line for an exception: its message, with the file an ``OSError`` names."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, UsageError):
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "transitopt"
        return f"{command}: {getattr(exc, 'format_message', exc.__str__)()}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"{where}{exc.strerror.lower()}"
    if isinstance(exc, (TransitoptError, OSError, ValueError)):
        return str(exc)  # the API's messages on bad arguments name the value and what was expected
    return f"unexpected {type(exc).__name__}: {exc} (rerun with {DEBUG_ENV}=1 for the traceback)"


def print_error(message: str) -> None:
    """``error: message`` on one line of standard error; the message is shown as written."""
    line = " ".join(str(message).split())
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", line), highlight=False, soft_wrap=True
    )


def print_warning(message: str, *, code: str | None = None) -> None:
    """``warning (code): message`` on standard error; the message is shown as written."""
    label = f"warning ({code}):" if code else "warning:"
    err_console.print(Text.assemble((label, "yellow"), " ", str(message)), highlight=False)


class OneLineErrors(TyperGroup):
    """The root command group: errors become one ``error: ...`` line, no traceback.

    The one place where errors are turned into a message: transitopt's typed errors, missing
    or unwritable files (every ``OSError``: no space, read-only folder) and anything unexpected
    end with exit code 1; bad options and arguments (click's usage errors) with exit code 2,
    in the same one-line form. ``TRANSITOPT_DEBUG=1`` (or ``--debug``) re-raises for the
    traceback. Sub-groups and commands run inside :meth:`invoke`, so they need nothing of
    their own.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if "--debug" in args:  # anywhere before the command's own arguments end
            args = [arg for arg in args if arg != "--debug"]
            os.environ[DEBUG_ENV] = "1"
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            self._fail(exc, 2)
            raise  # pragma: no cover (_fail always raises)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except UsageError as exc:
            self._fail(exc, 2)
        except Exception as exc:  # noqa: BLE001 (every error ends as one line)
            self._fail(exc, 1)

    @staticmethod
    def _fail(exc: BaseException, code: int) -> None:
        if debugging():
            raise exc
        print_error(error_message(exc))
        sys.stderr.flush()
        raise typer.Exit(code=code) from None


def command_group(help: str) -> typer.Typer:
    """A group of subcommands (``transitopt GROUP COMMAND``) that shows its help when bare."""
    return typer.Typer(help=help, no_args_is_help=True)


def field_progress(description: str, field: str) -> Progress:
    """A transient progress bar: ``description``, the bar, the task field ``field`` (shown
    after its name) and the time elapsed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(description, markup=False),
        BarColumn(),
        TextColumn(f"{field} {{task.fields[{field}]}}", markup=False),
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


def demand_file(demand: Path | None, source: str, what: str = "OD matrix") -> Path:
    """``--demand``, or the trips file of a TNTP folder ``source`` when it is not given."""
    if demand is not None:
        return demand
    trips = sorted(Path(source).glob("*_trips.tntp")) if Path(source).is_dir() else []
    if not trips:
        raise typer.BadParameter(f"give the {what} with --demand FILE", param_hint="--demand")
    return trips[0]


def load(source: str, network_type: str, profile: str) -> Any:
    """:func:`transitopt.load_network` with a status line."""
    from ..network import load_network

    with console.status(Text(f"Loading {source} ({network_type}) ...")):
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
            print_warning(str(warning.message))


def minutes_to_s(minutes: float | None) -> float | None:
    """Minutes from an option to seconds for the API (``None`` stays ``None``)."""
    return None if minutes is None else minutes * 60
