"""Batch throughput: runs per minute and peak memory per worker, 1 and 2 local workers and a
2-worker Dask LocalCluster, on the OSM extracts of the shared data (the example batch,
``scenarios/batch_example.toml``, baseline + doubled frequency: 4 cities, 6 model runs,
2 runs not applicable).

Each configuration runs in a fresh subprocess into an empty folder (nothing reused), so
its peak memory (``getrusage(RUSAGE_CHILDREN).ru_maxrss``: the largest descendant) is its
own. Throughput counts computed model runs over the wall time of ``run_batch``, worker
start-up and imports included. The configurations alternate (local-1, local-2, dask-2,
local-1, ...), ``--repeat`` times each; medians are reported (least wall time beside).
Writes the ``batch`` section of ``--readme`` (default ``benchmarks/README.md``).

    python benchmarks/bench_batch.py
    python benchmarks/bench_batch.py --repeat 1 --readme /tmp/README.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme import loadavg, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("local-1", "local-2", "dask-2")


def workload() -> dict:
    data = tomllib.loads((ROOT / "scenarios" / "batch_example.toml").read_text(encoding="utf-8"))
    data["scenarios"] = [s for s in data["scenarios"] if s["policy"] != "bus_lanes_over_voc"]
    data["batch"]["name"] = "bench"
    return data


def one(config: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from transitopt.batch import run_batch

    spec = workload()
    out = Path(tempfile.mkdtemp(prefix=f"bench-batch-{config}-"))
    started = time.perf_counter()
    if config.startswith("dask"):
        from dask.distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            summary = run_batch(spec, out / "out", client=client)
    else:
        summary = run_batch(spec, out / "out", workers=int(config.split("-")[1]))
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "config": config,
        "computed": summary.computed,
        "failed": summary.failed,
        "wall_s": wall,
        "runs_per_min": summary.computed / wall * 60,
        "model_s": float(summary.table["run_time_s"].sum()),
        "peak_worker_mb": peak_mb,
    }


def median_row(config: str, runs: list[dict]) -> dict:
    """Medians over the repeats of one configuration (least wall time as ``best_wall_s``)."""
    out = {"config": config, "repeats": len(runs), "best_wall_s": min(r["wall_s"] for r in runs)}
    for key in ("computed", "failed", "wall_s", "runs_per_min", "model_s", "peak_worker_mb"):
        out[key] = float(np.median([r[key] for r in runs]))
    out["computed"] = int(out["computed"])
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in CONFIGS:
        print(json.dumps(one(sys.argv[1])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    args = parser.parse_args()
    load0 = loadavg()
    samples: dict[str, list[dict]] = {c: [] for c in CONFIGS}
    for _ in range(args.repeat):
        for config in CONFIGS:
            done = subprocess.run(
                [sys.executable, __file__, config],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            samples[config].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(samples[config][-1], flush=True)
    load1 = loadavg()
    rows = [median_row(c, samples[c]) for c in CONFIGS]
    base = {r["config"]: r for r in rows}
    speedup = base["local-2"]["runs_per_min"] / base["local-1"]["runs_per_min"]
    overhead = base["local-2"]["wall_s"] / base["dask-2"]["wall_s"]
    table = "\n".join(
        f"| {r['config']} | {r['computed']} | {r['wall_s']:.1f} ({r['best_wall_s']:.1f}) | {r['runs_per_min']:.1f} "
        f"| {r['model_s']:.1f} | "
        f"{r['peak_worker_mb']:.0f} |"
        for r in rows
    )
    met = [speedup >= 1.7, 1 / overhead <= 1.15]
    targets = {
        (True, True): "Both targets are met in this run.",
        (True, False): "The 2-worker target is met in this run, the Dask one is not.",
        (False, True): "The Dask target is met in this run, the 2-worker one is not.",
        (False, False): "Neither target is met on this small batch.",
    }[tuple(met)]
    section = f"""## Batch evaluation (cities × policies)

`python benchmarks/bench_batch.py` — the example batch (`scenarios/batch_example.toml`: Helsinki, Monaco,
West Oakland, Surabaya-Sukolilo; baseline and doubled frequency; 6 model runs, 2 not applicable), each
configuration in a fresh process into an empty folder, the configurations alternating, medians of
{args.repeat} runs each. Machine: {platform.machine()}, {os.cpu_count()} cores (load average, 1 / 5 / 15 min,
{load0} at the start, {load1} at the end), Python
{platform.python_version()}. *wall s*: median (least); *runs/min*: computed runs over the wall time of `run_batch` (worker start-up,
imports and numba cache loading included); *model s*: sum of the runs' own times; *peak MB*: largest
resident set of a worker process.

| configuration | runs | wall s (least) | runs/min | model s | peak MB per worker |
|---|---:|---:|---:|---:|---:|
{table}

2 workers vs 1: **{speedup:.2f}×** the runs per minute (target ≥ 1.7×); Dask vs the local pool with 2 workers:
wall time ratio **{1 / overhead:.2f}** (target ≤ 1.15).

Scaling: one task per city (its network is loaded once for all its scenarios), so parallelism is at most the
number of cities and the batch ends with its slowest city; the example's runs are short (about a second of model time each on a quiet machine), so each worker's fixed start-up dominates: one worker pays it once, two workers each pay it, Dask adds its scheduler and worker start-up, and with four cities of unequal size the second worker idles at the end. {targets} With real city networks (runs of many seconds) the per-run work dominates. Each worker pays a fixed start-up (imports, numba cache
loading, ~5–10 s here) before its first run. For 50 cities × 5 scenarios (250 runs of ~5–30 s each) on N
machines, a Dask cluster with one single-threaded worker per core gives about min(50, cores) concurrent
cities; the shared output folder (results, log, manifest) must be on a file system all workers see, and the
tasks ship only paths and policy specs."""
    write_section("batch", section, args.readme)
    print(section)


if __name__ == "__main__":
    main()
