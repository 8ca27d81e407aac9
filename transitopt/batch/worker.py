"""The work of one city, run in a worker process (local pool or Dask worker).

A task is compact and picklable: paths and small policy specs. The worker reads the
city's baseline file from the output folder, loads its network once (memoised by the
scenario module for the following scenarios) and runs the city's scenarios in order,
baseline first. Each result is written atomically under ``runs/<city>/<scenario>``; a
result whose ``summary.json`` holds the same key (the scenario's digest: specs, edits,
input file contents, model version) is reused, not recomputed.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: file names inside the output folder
LOG = "log.jsonl"


@dataclass(frozen=True)
class CityTask:
    """One city's runs: where its baseline file is, where results go, which policies."""

    city: str
    folder: str
    runs: str
    policies: tuple[dict[str, Any], ...]
    log: str
    threads: int = 0


#: how often (s) a local worker checks that the batch process still runs
PARENT_CHECK_S = 1.0


def watch_parent(parent_pid: int, manifest: str) -> None:
    """Worker initializer: exit soon after the batch process dies (``kill -9``).

    A daemon thread checks every :data:`PARENT_CHECK_S` seconds whether this process
    still has ``parent_pid`` as its parent; when not, it marks the manifest ``killed``
    (the parent cannot) and ends the worker at once, whatever it is computing (results
    are written atomically, so nothing half-written stays).
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        _mark_killed(Path(manifest), parent_pid)
        os._exit(70)

    threading.Thread(target=watch, name="transitopt-parent-watch", daemon=True).start()


def _mark_killed(manifest: Path, parent_pid: int) -> None:
    from .._io import write_text

    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("status") == "running" and data.get("pid") == parent_pid:
            data["status"] = "killed"
            data["error"] = (
                f"the batch process {parent_pid} ended without finishing (killed?); "
                "rerun the same command to resume"
            )
            write_text(manifest, json.dumps(data, indent=2))
    except (OSError, ValueError):
        pass


def run_city(task: CityTask) -> list[dict[str, Any]]:
    """Run (or reuse) every scenario of one city; one row per scenario, failures included."""
    _limit_threads(task.threads)
    import pandas as pd

    from ..scenario import evaluate, load_scenario, write_result
    from ..scenario.calibration import remember_calibration
    from ..scenario.inputs import load_base
    from ..scenario.plausibility import has_no_effect
    from .policies import NotApplicable, policy_edits
    from .spec import PolicySpec, write_alternative

    folder, runs = Path(task.folder), Path(task.runs)
    rows = []
    baseline_links = baseline_lines = None
    baseline_error = None
    n_lines = None
    order = sorted(task.policies, key=lambda p: p["policy"] != "baseline")
    for raw in order:
        policy = PolicySpec.model_validate(raw)
        started = time.perf_counter()
        row: dict[str, Any] = {"city": task.city, "scenario": policy.name, "policy": policy.policy}
        try:
            base = load_scenario(folder / "baseline.toml")
            if policy.policy == "baseline":
                scenario = base
            else:
                if policy.policy == "bus_lanes_over_voc" and baseline_links is None:
                    raise RuntimeError(
                        f"the baseline run of {task.city!r} failed ({baseline_error}); "
                        "bus lanes need its v/c"
                    )
                if n_lines is None:
                    n_lines = len(load_base(base).supply.lines)
                edits = policy_edits(
                    policy,
                    n_lines=n_lines,
                    baseline_links=baseline_links,
                    baseline_lines=baseline_lines,
                )
                path = write_alternative(
                    folder,
                    f"{task.city}/{policy.name}",
                    edits,
                    description=f"policy {policy.policy}",
                )
                scenario = load_scenario(path)
            key = scenario.digest()
            target = runs / policy.name
            summary = _complete(target, key)
            reused = summary is not None
            if summary is None:
                write_result(evaluate(scenario), target)
                summary = json.loads((target / "summary.json").read_text(encoding="utf-8"))
            else:
                remember_calibration(scenario, summary)  # for the alternatives that follow
            row.update(
                _row(summary, target),
                status="no_effect" if has_no_effect(summary) else "ok",
                reused=reused,
            )
            if policy.policy == "baseline":
                baseline_links = pd.read_parquet(
                    target / "links.parquet", columns=["way", "voc", "bus_vph"]
                )
                baseline_lines = pd.read_parquet(target / "lines.parquet", columns=["line", "mode"])
        except NotApplicable as exc:
            row.update(status="not_applicable", reused=False, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a failing run is recorded, the batch goes on
            row.update(
                status="failed",
                reused=False,
                error_type=type(exc).__name__,
                error=str(exc),
                traceback=traceback.format_exc(limit=8),
            )
            if policy.policy == "baseline":
                baseline_error = f"{type(exc).__name__}: {exc}"
        row.setdefault("run_time_s", time.perf_counter() - started)
        row["wall_s"] = time.perf_counter() - started
        _log(task.log, row)
        rows.append(row)
    return rows


def failed_rows(task: CityTask, exc: BaseException) -> list[dict[str, Any]]:
    """Rows for a city whose worker died (every scenario failed with ``exc``)."""
    rows = []
    for raw in task.policies:
        row = {
            "city": task.city,
            "scenario": raw["name"],
            "policy": raw["policy"],
            "status": "failed",
            "reused": False,
            "error_type": type(exc).__name__,
            "error": str(exc) or repr(exc),
        }
        _log(task.log, row)
        rows.append(row)
    return rows


def _complete(target: Path, key: str) -> dict[str, Any] | None:
    """The summary of a finished result in ``target`` with this key, else None."""
    path = target / "summary.json"
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (
        summary if summary.get("key") == key and summary.get("stop_reason") != "cancelled" else None
    )


def _row(summary: dict[str, Any], target: Path) -> dict[str, Any]:
    timings = summary.get("timings") or {}
    return {
        "key": summary.get("key"),
        "converged": bool(summary.get("converged")),
        "iterations": summary.get("iterations"),
        "stop_reason": summary.get("stop_reason"),
        **_noise(summary, target),
        "run_time_s": timings.get("total_s"),
        "result_dir": str(target),
        "warnings": ", ".join(sorted({str(w.get("code")) for w in summary.get("warnings") or ()})),
        "headline": summary.get("headline") or {},
    }


def _noise(summary: dict[str, Any], target: Path) -> dict[str, float]:
    """The run's convergence noise (:func:`transitopt.scenario.explain.noise_floor` of the
    run alone): ``noise_relative`` (relative change of a time or a total) and
    ``noise_share`` (change of a mode share), from its summary and convergence log."""
    import pandas as pd

    from ..scenario.explain import noise_floor
    from ..scenario.result import ScenarioResult

    path = target / "convergence.parquet"
    log = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    floor = noise_floor(ScenarioResult("", "", {"convergence": log}, summary))
    return {"noise_relative": floor.relative, "noise_share": floor.share}


def _log(path: str, row: dict[str, Any]) -> None:
    """Append one line to the run log (a single ``write`` on an ``O_APPEND`` file)."""
    entry = {k: v for k, v in row.items() if k not in ("headline", "traceback")}
    entry["action"] = (
        "failed"
        if row.get("status") == "failed"
        else "reused"
        if row.get("reused")
        else "not_applicable"
        if row.get("status") == "not_applicable"
        else "computed"
    )
    entry["time"] = time.time()
    entry["pid"] = os.getpid()
    line = (json.dumps(entry, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _limit_threads(threads: int) -> None:
    """At most ``threads`` numba threads in this process (0: leave as is)."""
    if threads <= 0:
        return
    import numba

    # numba sets its config attributes at import time, so type checkers do not see them
    n_max = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, min(threads, n_max)))
