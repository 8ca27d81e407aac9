"""Global settings: where the shared data and the cache live.

Environment variables
---------------------
``TRANSITOPT_DATA``
    Folder with the shared test and benchmark data (TNTP, OSM extracts, GTFS, ...).
    Default: ``../shared/data`` relative to the current working directory.
``TRANSITOPT_CACHE``
    Folder for cached, loaded networks. Default: ``~/.cache/transitopt``.
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
