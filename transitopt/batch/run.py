"""Running a batch: a local process pool or a Dask cluster, resumable, one summary table.

Output folder::

    batch.json               the manifest: which batch this folder belongs to
    cities/<city>/*.toml     the generated scenario files (baseline + one per policy)
    runs/<city>/<scenario>/  each result (write_result: Parquet + CSV + summary.json, atomic)
    log.jsonl                one line per run: computed, reused, failed, not_applicable
    summary.parquet, summary.csv, overview.png

A result is reused when its ``summary.json`` holds the key of the scenario as it is now
(:meth:`transitopt.scenario.Scenario.digest`); anything else is recomputed. Results are
renamed into place only when complete, so killing the batch loses at most the runs in
flight.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .spec import Batch, BatchError, load_batch, write_baseline
from .summary import summary_table, write_overview, write_summary
from .worker import LOG, CityTask, failed_rows, run_city

#: manifest file name and format tag
MANIFEST = "batch.json"
FORMAT = "transitopt-batch/1"
_OWNED = (MANIFEST, "cities", "runs", LOG, "summary.parquet", "summary.csv", "overview.png")


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    name : str
        The batch name.
    output_dir : Path
    table : DataFrame
        One row per city × scenario: ``city, scenario, policy, status`` (``ok``,
        ``no_effect``: evaluated, but no edit changed anything, see
        :mod:`transitopt.scenario.plausibility`; ``failed``, ``not_applicable``), ``reused``, ``key``, ``converged``,
        ``iterations``, ``run_time_s`` (model run time of the result), ``error_type``,
        ``error``, ``result_dir`` and one column per headline metric.
    computed, reused, failed, not_applicable : int
        Runs by outcome in this call.
    elapsed_s : float
        Wall time of this call (s).
    files : dict of str to Path
        ``summary_parquet``, ``summary_csv``, ``overview_png``, ``manifest``, ``log``.
    """

    name: str
    output_dir: Path
    table: pd.DataFrame = field(repr=False)
    computed: int
    reused: int
    failed: int
    not_applicable: int
    elapsed_s: float
    files: dict[str, Path] = field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether no run failed."""
        return self.failed == 0


def run_batch(
    batch: str | os.PathLike | dict[str, Any] | Batch,
    output_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    client: Any = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: Callable[[dict[str, Any]], object] | None = None,
) -> BatchSummary:
    """Evaluate every city × scenario of a batch; skip what is already done.

    Parameters
    ----------
    batch
        A batch file, the dict it would parse to, or a :class:`Batch`.
    output_dir
        Output folder (created). A folder of another batch, or holding anything else,
        is refused (see ``overwrite``).
    workers
        Local worker processes (default: the number of cores; ``0``: run in this
        process). One task per city: its network is loaded once for all its scenarios.
    client
        A ``dask.distributed.Client``: run the cities on its cluster instead (tasks ship
        paths, each worker loads from disk; the output folder must be shared).
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``): connect a client to it.
    overwrite
        Replace the results of a *different* batch in ``output_dir`` (a folder that is
        not a batch folder is never touched).
    progress
        Called after each city with ``city``, ``cities_done``, ``cities_failed``,
        ``cities_remaining``, ``runs_done``, ``runs_failed``, ``runs_total``,
        ``elapsed_s`` and ``eta_s``.

    Raises
    ------
    BatchError
        The batch file is invalid or the output folder belongs to other work.
    """
    started = time.perf_counter()
    if not isinstance(batch, Batch):
        batch = load_batch(batch)
    out = Path(output_dir).resolve()
    _claim(out, batch, overwrite=overwrite)
    _clean_partials(out)
    n_workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if n_workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    policies = tuple(p.model_dump(mode="json") for p in batch.scenarios)
    threads = max(1, (os.cpu_count() or 1) // max(1, min(n_workers, len(batch.cities))))
    tasks = []
    for city in batch.cities:
        folder = out / "cities" / city.id
        write_baseline(batch, city.id, folder)
        tasks.append(
            CityTask(
                city=city.id,
                folder=str(folder),
                runs=str(out / "runs" / city.id),
                policies=policies,
                log=str(out / LOG),
                threads=threads if client is None and scheduler is None else 1,
            )
        )
    tracker = _Progress(len(tasks), len(tasks) * len(policies), progress, started)
    rows: list[dict[str, Any]] = []
    if client is not None or scheduler is not None:
        rows = _run_dask(tasks, client, scheduler, tracker)
    elif n_workers == 0:
        for task in tasks:
            rows += tracker.add(task, run_city(task))
    else:
        rows = _run_pool(tasks, min(n_workers, len(tasks)), tracker)
    order = {
        (c.id, s.name): i
        for i, (c, s) in enumerate((c, s) for c in batch.cities for s in batch.scenarios)
    }
    rows.sort(key=lambda r: order[(r["city"], r["scenario"])])
    table = summary_table(rows)
    files = {
        "summary_parquet": out / "summary.parquet",
        "summary_csv": out / "summary.csv",
        "overview_png": out / "overview.png",
        "manifest": out / MANIFEST,
        "log": out / LOG,
    }
    write_summary(table, files["summary_parquet"], files["summary_csv"])
    write_overview(table, files["overview_png"], title=batch.name)
    counts = {
        s: int((table["status"] == s).sum())
        for s in ("ok", "no_effect", "failed", "not_applicable")
    }
    reused = int(table["reused"].sum())
    _write_manifest(out, batch, status="finished", counts={**counts, "reused": reused})
    return BatchSummary(
        name=batch.name,
        output_dir=out,
        table=table,
        computed=counts["ok"] + counts["no_effect"] - reused,
        reused=reused,
        failed=counts["failed"],
        not_applicable=counts["not_applicable"],
        elapsed_s=time.perf_counter() - started,
        files=files,
    )


# ---------------------------------------------------------------------------- executors
def _run_pool(tasks: list[CityTask], workers: int, tracker: _Progress) -> list[dict[str, Any]]:
    # spawn: numba's threading layers are not fork-safe
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_city, task): task for task in tasks}
        return _collect(futures, as_completed(futures), tracker)


def _run_dask(
    tasks: list[CityTask], client: Any, scheduler: str | None, tracker: _Progress
) -> list[dict[str, Any]]:
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    own = client is None
    if own:
        client = Client(scheduler)
    try:
        tag = uuid.uuid4().hex[:8]
        futures = {
            client.submit(
                run_city, task, pure=False, key=f"transitopt-batch-{task.city}-{tag}"
            ): task
            for task in tasks
        }
        return _collect(futures, dask_completed(list(futures)), tracker)
    finally:
        if own:
            client.close()


def _collect(
    futures: Mapping[Any, CityTask], completed: Iterable[Any], tracker: _Progress
) -> list[dict[str, Any]]:
    """Result rows of each future as it completes; a future that raised fails its city only."""
    rows: list[dict[str, Any]] = []
    for future in completed:
        task = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a dead or lost worker fails its city only
            result = failed_rows(task, exc)
        rows += tracker.add(task, result)
    return rows


class _Progress:
    def __init__(self, cities: int, runs: int, callback: Callable | None, started: float) -> None:
        self.cities, self.runs, self.callback, self.started = cities, runs, callback, started
        self.done = self.failed = self.runs_done = self.runs_failed = 0

    def add(self, task: CityTask, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.done += 1
        failed = sum(r.get("status") == "failed" for r in rows)
        self.failed += failed > 0
        self.runs_done += len(rows)
        self.runs_failed += failed
        if self.callback is not None:
            elapsed = time.perf_counter() - self.started
            remaining = self.cities - self.done
            self.callback(
                {
                    "city": task.city,
                    "city_failed": failed > 0,
                    "cities_done": self.done,
                    "cities_failed": self.failed,
                    "cities_remaining": remaining,
                    "runs_done": self.runs_done,
                    "runs_failed": self.runs_failed,
                    "runs_total": self.runs,
                    "elapsed_s": elapsed,
                    "eta_s": elapsed / self.done * remaining,
                }
            )
        return rows


# ---------------------------------------------------------------------------- output folder
def _claim(out: Path, batch: Batch, *, overwrite: bool) -> None:
    """Make ``out`` this batch's folder, or refuse."""
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out}: output folder is a file")
    if manifest.is_file():
        try:
            owner = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            owner = {}
        if owner.get("format") != FORMAT:
            raise BatchError(
                f"{out}: {MANIFEST} is not a transitopt batch manifest; refusing to write there"
            )
        if owner.get("name") != batch.name:
            if not overwrite:
                raise BatchError(
                    f"{out}: holds the results of batch {owner.get('name')!r} (from {owner.get('file')}), not "
                    f"{batch.name!r}; choose another output folder, or overwrite it (--force / overwrite=True)"
                )
            for name in _OWNED:
                path = out / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
    elif out.is_dir() and any(out.iterdir()):
        raise BatchError(
            f"{out}: not empty and not a batch output folder (no {MANIFEST}); refusing to write there"
        )
    out.mkdir(parents=True, exist_ok=True)
    _write_manifest(out, batch, status="running")


def _write_manifest(
    out: Path, batch: Batch, *, status: str, counts: dict[str, int] | None = None
) -> None:
    path = out / MANIFEST
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data = {
        "format": FORMAT,
        "name": batch.name,
        "file": str(batch.path) if batch.path else None,
        "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "status": status,
        "cities": [c.id for c in batch.cities],
        "scenarios": [s.model_dump(mode="json") for s in batch.scenarios],
        "counts": counts or old.get("counts"),
    }
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _clean_partials(out: Path) -> None:
    """Remove temporary folders left by runs that were killed while writing."""
    runs = out / "runs"
    if runs.is_dir():
        for partial in runs.glob("*/.*.partial"):
            shutil.rmtree(partial, ignore_errors=True)
        for old in runs.glob("*/.*.old-*"):
            shutil.rmtree(old, ignore_errors=True)
