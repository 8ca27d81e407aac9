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

import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._io import clean_debris, write_text
from .spec import Batch, BatchError, load_batch, write_baseline
from .summary import summary_table, write_overview, write_summary
from .worker import LOG, CityTask, failed_rows, run_city, watch_parent

#: manifest file name and format tag
MANIFEST = "batch.json"
FORMAT = "transitopt-batch/2"
_OLD_FORMAT = "transitopt-batch/1"  # identified by name only; taken over on a digest match
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
        ``iterations``, ``stop_reason``, ``noise_relative`` and ``noise_share`` (the run's
        convergence noise: relative change of a time or total, change of a mode share,
        :func:`transitopt.scenario.explain.noise_floor`; the overview greys policy effects
        within the two runs' noise), ``run_time_s`` (model run time of the result),
        ``error_type``, ``error``, ``result_dir`` and one column per headline metric.
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
    scheduler_timeout_s: float = 10.0,
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
        Address of a Dask scheduler (``tcp://host:8786``): connect a client to it, within
        ``scheduler_timeout_s`` seconds, before the output folder is claimed.
    overwrite
        Take over the folder of a *different* batch (another batch file's content):
        its summary, log and generated files are replaced; its results are reused where
        their key still matches. A folder that is not a batch folder is never touched.
    progress
        Called after each city with ``city``, ``cities_done``, ``cities_failed``,
        ``cities_remaining``, ``runs_done``, ``runs_failed``, ``runs_total``,
        ``elapsed_s`` and ``eta_s``.

    The manifest (``batch.json``) says how the run ended: ``finished``, ``interrupted``
    (Ctrl-C or SIGTERM: the workers are stopped), ``failed``, or ``killed`` (written by
    the workers when the batch process vanished, e.g. ``kill -9``; they then exit within
    a few seconds). A rerun reuses every finished result.

    Raises
    ------
    BatchError
        The batch file is invalid, the output folder belongs to other work, or the
        scheduler cannot be reached.
    """
    started = time.perf_counter()
    if not isinstance(batch, Batch):
        batch = load_batch(batch)
    out = Path(output_dir).resolve()
    n_workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if n_workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    own_client = False
    if client is None and scheduler is not None:  # reach it before the folder is claimed
        client = connect(scheduler, timeout_s=scheduler_timeout_s)
        own_client = True
    claimed = False
    try:
        _claim(out, batch, overwrite=overwrite)
        claimed = True
        _clean_partials(out)
        with _terminate_as_interrupt():
            return _run(batch, out, n_workers, client, progress, started)
    except BaseException as exc:
        if claimed:
            how = "interrupted" if isinstance(exc, (KeyboardInterrupt, _Terminated)) else "failed"
            _write_manifest(out, batch, status=how, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if own_client:
            client.close()


def _run(
    batch: Batch,
    out: Path,
    n_workers: int,
    client: Any,
    progress: Callable[[dict[str, Any]], object] | None,
    started: float,
) -> BatchSummary:
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
                threads=threads if client is None else 1,
            )
        )
    tracker = _Progress(len(tasks), len(tasks) * len(policies), progress, started)
    rows: list[dict[str, Any]] = []
    if client is not None:
        rows = _run_dask(tasks, client, tracker)
    elif n_workers == 0:
        for task in tasks:
            rows += tracker.add(task, run_city(task))
    else:
        rows = _run_pool(tasks, min(n_workers, len(tasks)), tracker, out / MANIFEST)
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
def _run_pool(
    tasks: list[CityTask], workers: int, tracker: _Progress, manifest: Path
) -> list[dict[str, Any]]:
    # spawn: numba's threading layers are not fork-safe
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=watch_parent,
        initargs=(os.getpid(), str(manifest)),
    )
    try:
        futures = {pool.submit(run_city, task): task for task in tasks}
        rows = _collect(futures, as_completed(futures), tracker)
    except BaseException:
        # Ctrl-C, SIGTERM or an error: stop the workers now instead of waiting for them
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        raise
    pool.shutdown(wait=True)
    return rows


def connect(scheduler: str, *, timeout_s: float = 10.0) -> Any:
    """A ``dask.distributed.Client`` of ``scheduler``, or :class:`BatchError` within ``timeout_s``."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise BatchError(
            "--scheduler needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    try:
        return Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(
            f"cannot reach the Dask scheduler {scheduler!r} within {timeout_s:g} s "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'})"
        ) from None


def _run_dask(tasks: list[CityTask], client: Any, tracker: _Progress) -> list[dict[str, Any]]:
    from dask.distributed import as_completed as dask_completed

    tag = uuid.uuid4().hex[:8]
    futures = {
        client.submit(run_city, task, pure=False, key=f"transitopt-batch-{task.city}-{tag}"): task
        for task in tasks
    }
    try:
        return _collect(futures, dask_completed(list(futures)), tracker)
    except BaseException:
        client.cancel(list(futures))
        raise


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` while the batch runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    """Make ``out`` this batch's folder, or refuse.

    A folder belongs to the batch whose content digest (:func:`batch_digest`) its
    manifest holds, or to the same batch file edited since (same name and path: edit a
    policy and rerun to recompute only what changed). Two different batch files with the
    same name or file name never share a folder unless ``overwrite`` says so.
    """
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out}: output folder is a file")
    if manifest.is_file():
        owner = _manifest(out)
        if owner.get("format") not in (FORMAT, _OLD_FORMAT):
            raise BatchError(
                f"{out}: {MANIFEST} is not a transitopt batch manifest; refusing to write there"
            )
        same_file = batch.path is not None and owner.get("file") == str(batch.path)
        same = owner.get("digest") == batch_digest(batch) or (
            owner.get("name") == batch.name and (same_file or owner.get("format") == _OLD_FORMAT)
        )
        if not same:
            if not overwrite:
                raise BatchError(
                    f"{out}: holds the results of another batch ({owner.get('name')!r} from "
                    f"{owner.get('file')}), not this one ({batch.name!r} from {batch.path}); "
                    "choose another output folder, or take it over (--force / overwrite=True)"
                )
            for name in _OWNED:
                if name == "runs":
                    continue  # results are reused only where their key still matches
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


def batch_digest(batch: Batch) -> str:
    """SHA-256 of a batch's validated content (its name, cities and scenarios)."""
    text = json.dumps(batch.spec.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(
    out: Path,
    batch: Batch,
    *,
    status: str,
    counts: dict[str, int] | None = None,
    error: str | None = None,
) -> None:
    old = _manifest(out)
    data = {
        "format": FORMAT,
        "name": batch.name,
        "file": str(batch.path) if batch.path else None,
        "digest": batch_digest(batch),
        "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "status": status,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cities": [c.id for c in batch.cities],
        "scenarios": [s.model_dump(mode="json") for s in batch.scenarios],
        "counts": counts or old.get("counts"),
    }
    if error is not None:
        data["error"] = error
    write_text(out / MANIFEST, json.dumps(data, indent=2))


def _clean_partials(out: Path) -> None:
    """Remove temporary files and folders left by runs that were killed while writing."""
    runs = out / "runs"
    if runs.is_dir():
        for city in runs.iterdir():
            if city.is_dir():
                clean_debris(city)
        for partial in runs.glob("*/.*.partial"):  # written by older versions
            shutil.rmtree(partial, ignore_errors=True)
        for old in runs.glob("*/.*.old-*"):
            shutil.rmtree(old, ignore_errors=True)
    clean_debris(out)
