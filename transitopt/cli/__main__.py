"""``python -m transitopt.cli``: the same as the ``transitopt`` command."""

from . import app

app()
