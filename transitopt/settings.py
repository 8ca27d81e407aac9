"""Global settings: where the shared data and the cache live.

Environment variables
---------------------
``TRANSITOPT_DATA``
    Folder with the shared test and benchmark data (TNTP, OSM extracts, GTFS, ...).
    Default: ``../shared/data`` relative to the current working directory.
``TRANSITOPT_CACHE``
    Folder for cached, loaded networks. Default: ``~/.cache/transitopt``.
``TRANSITOPT_COMPILE_AHEAD``
    ``0`` turns off compiling ahead: on a first run, a second process compiling the
    command's numba kernels into numba's cache while the command runs
    (``transitopt._ahead``). Default: on.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path("..") / "shared" / "data"


def data_dir() -> Path:
    """Folder holding the shared data sets (``TRANSITOPT_DATA``, default ``../shared/data``)."""
    return Path(os.environ.get("TRANSITOPT_DATA", DEFAULT_DATA_DIR)).expanduser()


def cache_dir() -> Path:
    """Folder for the on-disk network cache (``TRANSITOPT_CACHE``, default ``~/.cache/transitopt``)."""
    default = Path.home() / ".cache" / "transitopt"
    return Path(os.environ.get("TRANSITOPT_CACHE", default)).expanduser()


def compile_ahead() -> bool:
    """Whether commands compile their kernels ahead in a second process on a first run
    (``TRANSITOPT_COMPILE_AHEAD``, default on; ``0`` turns it off)."""
    return os.environ.get("TRANSITOPT_COMPILE_AHEAD", "1").strip() != "0"
