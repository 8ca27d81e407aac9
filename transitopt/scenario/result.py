"""The result of an evaluated scenario, and writing/reading it (Parquet + CSV + summary.json).

A :class:`ScenarioResult` is plain data: named tables (DataFrames) and a JSON-able
summary. :func:`write_result` writes every table as Parquet and CSV and the summary as
``summary.json`` into a temporary folder next to the target and renames it into place
only when everything is written, so a failed or interrupted write never leaves a folder
that looks complete. :func:`read_result` reads such a folder back (this is how cached
results are reused).
"""

from __future__ import annotations

import json
import math
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError
from .._io import atomic_folder, plain_json, write_csv
from ..network.export import link_lines, write_links

#: the tables of a result, in the order they are written (``line_crowding_log`` only
#: with line capacities)
TABLES = (
    "metrics",
    "mode_shares",
    "links",
    "voc_distribution",
    "lines",
    "routes",
    "segments",
    "stops",
    "zones",
    "od",
    "convergence",
    "line_crowding_log",
    "edits",
    "calibration",
)
#: the file that marks a complete result folder (written last)
SUMMARY = "summary.json"
#: the road links with their street geometry (GeoPackage, layer ``links``), beside the tables
LINKS_GPKG = "links.gpkg"


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """An evaluated scenario.

    Attributes
    ----------
    name : str
        Scenario name.
    key : str
        Hash of the scenario content and inputs (the cache key).
    tables : mapping of str to DataFrame
        ``metrics`` (headline: ``group, metric, unit, value``), ``mode_shares``,
        ``links`` (road links: flows, times, v/c, buses, bus lanes), ``voc_distribution``,
        ``lines`` (per line: use, crowding, operations), ``routes`` (fleet per route),
        ``segments`` (per-line load profiles), ``stops``, ``zones`` (population, jobs,
        trips, accessibility), ``od`` (trips by mode and skims per zone pair),
        ``convergence`` (one row per feedback iteration), with line capacities
        ``line_crowding_log`` (riders denied boarding and passenger-hours standing per
        feedback iteration and line) and ``edits`` (what each edit did).
    summary : mapping
        JSON-able: name, files, convergence, headline metrics, parameters, notes, timings.
    outcome : MultimodalResult or None
        In-memory arrays of the run (``None`` for a result read from disk).

    A result is complete without ``outcome``: the tables hold the final state of the
    feedback loop (link times in ``links.time_s``, demand by mode in ``od``), and
    :func:`transitopt.scenario.evaluate.final_state` rebuilds the model from the
    scenario files deterministically, so nothing needs evaluating again.
    """

    name: str
    key: str
    tables: Mapping[str, pd.DataFrame] = field(repr=False)
    summary: Mapping[str, Any] = field(repr=False)
    outcome: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "summary", MappingProxyType(dict(self.summary)))

    # ------------------------------------------------------------------ access
    def table(self, name: str) -> pd.DataFrame:
        """A copy of one table (``"links"``, ``"zones"``, ...)."""
        try:
            return self.tables[name].copy()
        except KeyError:
            raise KeyError(f"no table {name!r}; tables: {list(self.tables)}") from None

    @property
    def metrics(self) -> pd.DataFrame:
        """Headline metrics: ``group, metric, unit, value``."""
        return self.table("metrics")

    @property
    def convergence(self) -> pd.DataFrame:
        """One row per feedback iteration."""
        return self.table("convergence")

    @property
    def converged(self) -> bool:
        """Whether the feedback loop met its tolerance."""
        return bool(self.summary["converged"])

    def headline(self) -> pd.Series:
        """Headline metric values indexed by metric name."""
        m = self.tables["metrics"]
        return pd.Series(m["value"].to_numpy(), index=m["metric"].to_numpy(), name=self.name)

    def __getitem__(self, metric: str) -> float:
        """A headline metric value: ``result["share_transit"]``."""
        values = self.headline()
        if metric not in values.index:
            raise KeyError(f"no metric {metric!r}; metrics: {list(values.index)}")
        return float(values[metric])

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return f"<ScenarioResult {self.name!r}: {state} in {self.summary.get('iterations')} iterations>"


def write_result(result: ScenarioResult, folder: str | os.PathLike, *, csv: bool = True) -> Path:
    """Write ``result`` to ``folder`` atomically: ``<table>.parquet`` (and ``.csv``) and ``summary.json``.

    With ``csv`` (files for people, not the cache) the road links are also written with
    their street geometry to ``links.gpkg`` (layer ``links``, one row per directed link:
    OSM way id, street name, road class, lanes, capacity, flow, v/c, times), which opens
    in QGIS.

    An existing ``folder`` is replaced only if it is empty or a previous result (holds
    ``summary.json``); anything else raises :class:`~transitopt.InputFileError` and is
    left untouched.
    """
    folder = Path(folder)
    if folder.exists() and (
        not folder.is_dir() or (any(folder.iterdir()) and not (folder / SUMMARY).exists())
    ):
        raise InputFileError(
            f"{folder}: exists and is not a result folder; refusing to overwrite it"
        )
    with atomic_folder(folder) as tmp:
        # the files are independent: written side by side (Parquet, CSV formatting and
        # GDAL release the GIL), the largest tables first, the summary last
        writes: list[Callable[[], Any]] = [
            partial(_write_table, result.tables[name], tmp / name, csv=csv)
            for name in sorted(
                (name for name in TABLES if name in result.tables),
                key=lambda name: -len(result.tables[name]),
            )
        ]
        links = result.tables.get("links")
        if csv and links is not None and len(links) and "x0" in links.columns:
            writes.insert(
                1,
                lambda: write_links(
                    links,
                    tmp / LINKS_GPKG,
                    crs=result.summary.get("crs", "EPSG:4326"),
                    geometry=link_lines_of(result),
                ),
            )
        _run_all(writes)
        summary = {
            **dict(result.summary),
            "name": result.name,
            "key": result.key,
            "tables": list(result.tables),
        }
        (tmp / SUMMARY).write_text(
            json.dumps(plain_json(summary), indent=2, sort_keys=False), encoding="utf-8"
        )
    return folder


#: threads writing a result's files at once
WRITE_THREADS = 3


def _write_table(table: pd.DataFrame, stem: Path, *, csv: bool) -> None:
    """``stem.parquet`` and (with ``csv``) ``stem.csv`` of ``table``."""
    table = _storable(table)
    table.to_parquet(stem.with_suffix(".parquet"), index=False)
    if csv:
        write_csv(table, stem.with_suffix(".csv"))


def _run_all(calls: list[Callable[[], Any]]) -> None:
    """Run ``calls`` on up to :data:`WRITE_THREADS` threads, in order of start; every call
    ends before this returns, and the first failure (in the given order) is raised."""
    if len(calls) < 2:
        for call in calls:
            call()
        return
    with ThreadPoolExecutor(min(WRITE_THREADS, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
    for future in futures:
        future.result()


#: the parsed link geometries of the results written or drawn (dropped with the result)
_LINK_LINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LINK_LINES_LOCK = threading.Lock()


def link_lines_of(result: ScenarioResult) -> np.ndarray | None:
    """:func:`~transitopt.network.export.link_lines` of ``result``'s links table, parsed once
    per result (its GeoPackage and its maps share them); ``None`` without links or their
    end coordinates."""
    links = result.tables.get("links")
    if links is None or len(links) == 0 or not {"x0", "y0", "x1", "y1"} <= set(links.columns):
        return None
    with _LINK_LINES_LOCK:
        if result not in _LINK_LINES:
            _LINK_LINES[result] = link_lines(links)
        return _LINK_LINES[result]


def read_result(folder: str | os.PathLike) -> ScenarioResult:
    """Read a folder written by :func:`write_result`."""
    folder = Path(folder)
    summary_path = folder / SUMMARY
    if not summary_path.is_file():
        raise InputFileError(f"{folder}: not a complete result folder (no {SUMMARY})")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    tables = {}
    for name in summary.get("tables", TABLES):
        path = folder / f"{name}.parquet"
        if path.is_file():
            tables[name] = pd.read_parquet(path)
    return ScenarioResult(name=summary["name"], key=summary["key"], tables=tables, summary=summary)


def _storable(table: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding mixed values (lists, numbers and text) become text for Parquet.

    Only such columns are converted (a copy of the table is made only then); missing
    values (``None``, NaN) stay missing.
    """
    out = table
    for column in table.columns:
        values = table[column]
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in (
            "string",
            "empty",
        ):
            if out is table:
                out = table.copy(deep=False)
            out[column] = values.map(_text_or_none)
    return out


def _text_or_none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
