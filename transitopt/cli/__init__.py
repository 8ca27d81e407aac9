"""The ``transitopt`` command line: a thin shell over the Python API.

Every command parses its arguments, calls the API and prints; errors on bad input are
one line (``error: ...``) with exit code 1 and no traceback (:class:`._common.OneLineErrors`).
One module per command group; this file only lists the commands.
"""

from __future__ import annotations

import numpy as np
import typer

from . import access, batch, bench, calibrate, network, optimise, roads, scenario, transit
from ._common import OneLineErrors

# numbers in messages as a user writes them: ``3``, not ``np.int64(3)`` (numpy 2's repr)
np.set_printoptions(legacy="1.25")

app = typer.Typer(
    cls=OneLineErrors,
    help="transitopt: street networks, shortest paths and skims for transport planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command("skim")(roads.skim)
app.command("assign")(roads.assign)
app.command("access")(access.access)
app.command("calibrate")(calibrate.calibrate)
app.command("evaluate")(scenario.evaluate)
app.command("compare")(scenario.compare)
app.command("batch")(batch.batch)
app.command("demo")(scenario.demo)
app.add_typer(network.group, name="network")
app.add_typer(transit.group, name="transit")
app.add_typer(optimise.group, name="optimise")
app.add_typer(bench.group, name="bench")

__all__ = ["app"]
