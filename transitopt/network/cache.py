"""On-disk cache of compiled networks, keyed by source content and load options.

A file source is keyed by the sha256 of its bytes (:func:`transitopt._digest.file_digest`;
a renamed copy hits, an edited copy misses); a place name, bbox or polygon by its text. The options (network type,
profile values, overrides, simplify) and :data:`CACHE_FORMAT` are part of the key.

Entries are pickles of the :class:`~transitopt.network.compiled.Network` fields (edge
geometries as one array of WKB, decoded at once when read, not one object at a time), written
to a temporary file in the cache folder and moved into place with ``os.replace``, so an
interrupted write never leaves a half-written entry. An unreadable entry counts as a miss
and is removed. Pickles run code when read: the cache folder must be trusted (it is the
user's own, ``settings.cache_dir()``).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from .. import settings
from .compiled import Network

#: bump when the layout of cached networks or the loading pipeline changes
CACHE_FORMAT = 5  # 3: usable drive network (network.usable), buses on the ways of bus routes; 4: motorcycle permissions (edges["motorcycle_barred"]); 5: edge geometries as WKB
_SUBDIR = "networks"


def cache_key(source_digest: str, options: dict[str, Any]) -> str:
    """Key of a cache entry: sha256 of the source digest, the options and the format version.

    ``options`` must be JSON-serialisable (it is dumped with sorted keys).
    """
    payload = json.dumps(
        {"source": source_digest, "options": options, "format": CACHE_FORMAT},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_path(key: str) -> Path:
    """Where the entry of ``key`` lives (``settings.cache_dir()/networks/<key>.pkl``)."""
    return settings.cache_dir() / _SUBDIR / f"{key}.pkl"


def read_cached(key: str) -> Network | None:
    """The cached network of ``key``, or None on a miss (or an unreadable entry, removed)."""
    path = cache_path(key)
    try:
        with path.open("rb") as f:
            payload = pickle.load(f)
        if payload.get("format") != CACHE_FORMAT:
            return None
        if payload.get("key") != key:  # a copied or swapped file is not this entry
            path.unlink(missing_ok=True)
            return None
        return Network(**_with_geometries(payload["fields"], payload["geometry_wkb"]))
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any broken entry is a miss
        path.unlink(missing_ok=True)
        return None


def write_cached(key: str, network: Network) -> Path | None:
    """Store ``network`` under ``key`` atomically; returns the entry's path.

    The entry holds its key, checked when read. A cache folder that cannot be written
    (read-only, full disk) is a warning, not an error: the network is simply not cached
    (``None`` is returned).
    """
    path = cache_path(key)
    stored, wkb = _without_geometries({f.name: getattr(network, f.name) for f in fields(network)})
    payload = {"format": CACHE_FORMAT, "key": key, "fields": stored, "geometry_wkb": wkb}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:16]}-", suffix=".tmp")
    except OSError as exc:
        _not_cached(path, exc)
        return None
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        _not_cached(path, exc)
        return None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _without_geometries(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields with the edge table's geometry columns taken out, and those columns as
    WKB (``{column: (position, object array of bytes or None)}``)."""
    import shapely

    edges = values["edges"]
    wkb: dict[str, Any] = {}
    for position, column in enumerate(edges.columns):
        if edges[column].dtype != object:
            continue
        geometries = edges[column].to_numpy(object)
        if geometries.size and (shapely.is_geometry(geometries) | pd.isna(geometries)).all():
            wkb[column] = (position, shapely.to_wkb(geometries))
    if wkb:
        values = {**values, "edges": edges.drop(columns=list(wkb))}
    return values, wkb


def _with_geometries(values: dict[str, Any], wkb: dict[str, Any]) -> dict[str, Any]:
    """The fields with the geometry columns of :func:`_without_geometries` decoded back
    in place (one vectorised ``shapely.from_wkb`` per column)."""
    import shapely

    if not wkb:
        return values
    edges = values["edges"]  # a table of its own, just read
    for column, (position, data) in sorted(wkb.items(), key=lambda item: item[1][0]):
        edges.insert(position, column, shapely.from_wkb(data))
    return {**values, "edges": edges}


def _not_cached(path: Path, exc: OSError) -> None:
    warnings.warn(
        f"network cache {path.parent} cannot be written ({exc.strerror or exc}); the network "
        "is not cached (set TRANSITOPT_CACHE to a writable folder)",
        stacklevel=3,
    )


def clear_cache() -> int:
    """Remove every cached network; returns how many entries were removed."""
    folder = settings.cache_dir() / _SUBDIR
    removed = 0
    if folder.is_dir():
        for entry in folder.glob("*.pkl"):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
