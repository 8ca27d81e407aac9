"""First run: the numba compilation a new user waits for, per command (issue 11, item 6).

Each command runs twice in fresh processes, both with an empty network cache
(``TRANSITOPT_CACHE``): first with an empty numba cache (``NUMBA_CACHE_DIR``, what a new
user has), then with the numba cache the first run left. The compilation is the
difference of the two runs' CPU seconds (user + system, all threads, from
``getrusage`` of the finished child and the second process it waited for), so it does
not depend on other work on the machine as wall time would; the time waited for it is
the difference of their wall seconds. Each command runs with compiling ahead
(``transitopt._ahead``: a second process compiles the kernels in the opposite order) on and
off, alternately.

Commands (``NUMBA_NUM_THREADS=2``), the README's examples:

* ``demo``: ``transitopt demo`` (the five Helsinki example scenarios, report and maps);
* ``evaluate``: ``transitopt evaluate scenarios/helsinki_base.toml``;
* ``assign``: ``transitopt assign <data>/tntp/SiouxFalls`` (bfw to 1e-5);
* ``skim``: ``transitopt skim <data>/osm/monaco-250101.osm.pbf --grid 500``;
* ``access``, ``access-walk``, ``access-car``: ``transitopt access helsinki`` by transit
  (``--cutoffs 10,15,20``), on foot and by car;
* ``calibrate``: ``transitopt calibrate <data>/tntp/SiouxFalls`` with the prior and counts
  of ``docs/calibration``;
* ``frequencies``: ``transitopt optimise frequencies scenarios/helsinki_base.toml --fleet
  58 --max-evaluations 50``;
* ``routes``: ``transitopt optimise routes Mandl1 --routes 6 --evaluations 20000``;
* ``design``: ``transitopt optimise design scenarios/helsinki_base.toml --routes 6 --fleet
  30 --spacing 250``.

    python benchmarks/bench_first_run.py --commands demo evaluate assign   # about 6 min CPU
    python benchmarks/bench_first_run.py --commands demo --markdown --repeat 3
    python benchmarks/bench_first_run.py --commands skim access calibrate frequencies \
        routes design --markdown --repeat 3 --section first_run_more
    python benchmarks/bench_first_run.py --commands demo --kernels   # CPU s per kernel

Beside the table, a host-speed line: the CPU seconds of compiling a small self-contained
kernel (a heap Dijkstra of three functions written in this file, numba only) in a fresh
process, median of three, so that figures from different hosts can be compared (the
shared 2-core host of 2026-12-07 measured 2.1–2.5 CPU s).

``--kernels`` instead runs each command once with an empty numba cache and lists the CPU
seconds of each kernel's compilation (numba's ``numba:compile`` events, less the kernels
compiled inside them), largest first: where a first run's compilation goes.

``--record`` writes ``transitopt/_ahead_lists.py``, what each command compiles
on a first run (rerun it when kernels or their argument types change;
``tests/test_ahead.py`` says when).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _readme import loadavg, write_section  # noqa: E402

from transitopt.settings import data_dir  # noqa: E402

#: the commands measured and listed; each name is the list's key in ``_ahead_lists.LISTS``
#: and the ``transitopt._ahead.compiling_ahead`` argument of the CLI command it runs
COMMANDS = (
    "demo", "evaluate", "assign", "skim", "access", "access-walk", "access-car", "calibrate",
    "frequencies", "routes", "design",
)  # fmt: skip


#: the CLI command of a measured name where the two differ
SHOWN = {
    "access-walk": "access --mode walk",
    "access-car": "access --mode car",
    "frequencies": "optimise frequencies",
    "routes": "optimise routes",
    "design": "optimise design",
}


def command_args(name: str, out: Path) -> list[str]:
    """The CLI arguments of command ``name`` writing under ``out`` (the README's examples)."""
    data = data_dir()
    base = str(ROOT / "scenarios" / "helsinki_base.toml")
    calibration = ROOT / "docs" / "calibration"
    args = {
        "demo": ["demo", "-o", str(out / "demo")],
        "evaluate": ["evaluate", base, "-o", str(out / "ev")],
        "assign": ["assign", str(data / "tntp" / "SiouxFalls"), "-o", str(out / "flows.csv")],
        "skim": [
            "skim", str(data / "osm" / "monaco-250101.osm.pbf"), "--grid", "500",
            "-o", str(out / "monaco.omx"),
        ],
        "access": [
            "access", "helsinki", "--mode", "transit", "--cutoffs", "10,15,20",
            "-o", str(out / "access.csv"),
        ],
        "access-walk": ["access", "helsinki", "-o", str(out / "access.csv")],
        "access-car": ["access", "helsinki", "--mode", "car", "-o", str(out / "access.csv")],
        "calibrate": [
            "calibrate", str(data / "tntp" / "SiouxFalls"),
            "--demand", str(calibration / "siouxfalls_prior.csv"),
            "--counts", str(calibration / "siouxfalls_counts.csv"), "-o", str(out / "cal"),
        ],
        "frequencies": [
            "optimise", "frequencies", base, "--fleet", "58", "--max-evaluations", "50",
            "-o", str(out / "freq.toml"),
        ],
        "routes": [
            "optimise", "routes", "Mandl1", "--routes", "6", "--evaluations", "20000",
            "--seed", "1", "-o", str(out / "mandl6.txt"),
        ],
        "design": [
            "optimise", "design", base, "--routes", "6", "--fleet", "30", "--spacing", "250",
            "-o", str(out / "designed.toml"),
        ],
    }  # fmt: skip
    if name not in args:
        raise ValueError(f"unknown command {name!r}; expected one of {COMMANDS}")
    return args[name]


def run_once(name: str, numba_cache: Path, ahead: bool) -> tuple[float, float]:
    """``(CPU s, wall s)`` of one run of command ``name`` in a fresh process, compiling
    ahead (``transitopt._ahead``) or not; the CPU seconds include the second process's."""
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=str(numba_cache),
            TRANSITOPT_CACHE=str(Path(tmp) / "cache"),
            TRANSITOPT_COMPILE_AHEAD="1" if ahead else "0",
            NUMBA_NUM_THREADS="2",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        cmd = [sys.executable, "-m", "transitopt.cli", *command_args(name, Path(tmp))]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(name: str, ahead: bool) -> dict:
    """Cold (empty numba cache) and warm runs of command ``name``."""
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as numba_cache:
        cold_cpu, cold_wall = run_once(name, Path(numba_cache), ahead)
        warm_cpu, warm_wall = run_once(name, Path(numba_cache), ahead)
    return {
        "cold_cpu": cold_cpu,
        "cold_wall": cold_wall,
        "warm_cpu": warm_cpu,
        "warm_wall": warm_wall,
        "compile_cpu": cold_cpu - warm_cpu,
        "compile_wall": cold_wall - warm_wall,
    }


def median_of(runs: list[dict]) -> dict:
    """The median of each figure over ``runs`` (each figure on its own)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


#: the end of the child scripts below: the command, then what the listener ``found``
_RUN_COMMAND = """
event.register("numba:compile", Listener())
from transitopt.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(found))
"""

#: run in the child process by ``--kernels``: the command with a listener on numba's
#: compile events, printing ``{kernel: [compilations, CPU s]}`` as JSON on the last line
_KERNEL_TIMES = """
import json, sys, time
from numba.core import event

stack, found = [], {}

class Listener(event.Listener):
    def on_start(self, ev):
        stack.append([time.process_time(), 0.0])

    def on_end(self, ev):
        start, inner = stack.pop()
        spent = time.process_time() - start
        if stack:
            stack[-1][1] += spent
        func = ev.data["dispatcher"].py_func
        name = func.__module__.replace("transitopt.kernels.", "") + "." + func.__qualname__
        entry = found.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += spent - inner
"""
_KERNEL_TIMES += _RUN_COMMAND


def kernel_times(name: str) -> dict[str, list]:
    """``{kernel: [compilations, CPU s]}`` of one run of command ``name``, empty caches."""
    return child_json(_KERNEL_TIMES, name)


#: run in the child process by ``--record``: the command with a listener on numba's
#: compile events, printing the project's kernels in the order their compilation started,
#: with their argument types (``transitopt._ahead.entry_line``), as JSON on the last line
_RECORD = """
import json, sys
from numba.core import event
from transitopt._ahead import entry_line

found = []

class Listener(event.Listener):
    def on_start(self, ev):
        func = ev.data["dispatcher"].py_func
        if func.__module__.startswith("transitopt.kernels."):
            name = func.__module__.removeprefix("transitopt.kernels.") + "." + func.__qualname__
            line = entry_line(name, ev.data["args"])
            if line not in found:
                found.append(line)

    def on_end(self, ev):
        pass
"""
_RECORD += _RUN_COMMAND


def child_json(script: str, name: str) -> Any:
    """The JSON last line printed by ``script`` run with command ``name``'s arguments in a
    fresh process with empty caches (compiling ahead off)."""
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=str(Path(tmp) / "numba"),
            TRANSITOPT_CACHE=str(Path(tmp) / "cache"),
            TRANSITOPT_COMPILE_AHEAD="0",
            NUMBA_NUM_THREADS="2",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        cmd = [sys.executable, "-c", script, *command_args(name, Path(tmp))]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def record_lists(
    commands: Sequence[str] = COMMANDS, path: Path = ROOT / "transitopt" / "_ahead_lists.py"
) -> None:
    """Write ``transitopt/_ahead_lists.py``: what each of ``commands`` compiles on a first
    run, one kernel per line (a command that compiles what another does shares its list);
    the other commands keep their lists. Kernels first compiled on a side thread (the walk
    searches beside the drive set-up, ``assignment.multimodal``) may come in another order
    from one recording to the next."""
    from transitopt._ahead_lists import LISTS

    lists = {name: LISTS[name].strip() for name in COMMANDS if name in LISTS}
    for name in commands:
        lists[name] = "\n".join(child_json(_RECORD, name))
        print(f"recorded {name}: {len(lists[name].splitlines())} kernels", flush=True)
    lists = {name: lists[name] for name in COMMANDS if name in lists}
    constants: dict[str, str] = {}  # list text -> its constant's name
    lines = [
        '"""What each command compiles on a first run, in order: one kernel per line, with',
        "its argument types (``transitopt._ahead.entry_line``).",
        "",
        "Generated by ``python benchmarks/bench_first_run.py --record``; read by",
        "``transitopt._ahead`` (compiling ahead). Do not edit by hand.",
        '"""',
    ]
    for name, text in lists.items():
        if text not in constants:
            constants[text] = "_" + name.upper().replace("-", "_")
            lines += ["", f'{constants[text]} = """', text, '"""']
    lines += ["", "LISTS = {"]
    lines += [f'    "{name}": {constants[text]},' for name, text in lists.items()]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = ", ".join(f"{n} {len(t.splitlines())} kernels" for n, t in lists.items())
    print(f"wrote {path}: {counts}")


def print_kernel_times(name: str, per_kernel: dict[str, list], top: int = 25) -> None:
    ranked = sorted(per_kernel.items(), key=lambda item: -item[1][1])
    total = sum(seconds for _, seconds in per_kernel.values())
    print(f"transitopt {name}: {total:.1f} CPU s in {len(per_kernel)} compiled functions")
    for kernel, (count, seconds) in ranked[:top]:
        print(f"  {seconds:6.2f}  {kernel}" + (f" ({count} specialisations)" if count > 1 else ""))


#: run in a fresh process by :func:`reference_compile`: a heap Dijkstra in three kernels,
#: about the shape of the project's search kernels but independent of the project;
#: prints the CPU seconds from before the decorators to after the first call
_REFERENCE_COMPILE = """
import time
import numpy as np
from numba import njit

t0 = time.process_time()


@njit(cache=False)
def _sift_up(key, item, pos, i):
    while i > 0:
        parent = (i - 1) // 2
        if key[parent] <= key[i]:
            break
        key[parent], key[i] = key[i], key[parent]
        item[parent], item[i] = item[i], item[parent]
        pos[item[i]] = i
        pos[item[parent]] = parent
        i = parent


@njit(cache=False)
def _sift_down(key, item, pos, size):
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and key[c + 1] < key[c]:
            c += 1
        if key[i] <= key[c]:
            break
        key[c], key[i] = key[i], key[c]
        item[c], item[i] = item[i], item[c]
        pos[item[i]] = i
        pos[item[c]] = c
        i = c


@njit(cache=False)
def dijkstra(indptr, head, weight, source):
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    pos = np.full(n, -1, dtype=np.int64)
    key = np.empty(n)
    item = np.empty(n, dtype=np.int64)
    dist[source] = 0.0
    key[0], item[0], pos[source], size = 0.0, source, 0, 1
    while size > 0:
        u = item[0]
        size -= 1
        key[0], item[0] = key[size], item[size]
        pos[item[0]] = 0
        pos[u] = -2
        _sift_down(key, item, pos, size)
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            nd = dist[u] + weight[e]
            if nd < dist[v]:
                dist[v] = nd
                if pos[v] == -1:
                    key[size], item[size], pos[v] = nd, v, size
                    size += 1
                    _sift_up(key, item, pos, size - 1)
                elif pos[v] >= 0:
                    key[pos[v]] = nd
                    _sift_up(key, item, pos, pos[v])
    return dist


indptr = np.array([0, 2, 3, 4, 4])
head = np.array([1, 2, 3, 3])
assert dijkstra(indptr, head, np.ones(4), 0)[3] == 2.0
print(time.process_time() - t0)
"""


def reference_compile(runs: int = 3) -> float:
    """Median CPU seconds of compiling :data:`_REFERENCE_COMPILE`'s kernels in ``runs``
    fresh processes (numba imported before the clock starts; no on-disk cache): a
    host-speed figure independent of the project."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _REFERENCE_COMPILE],
            env=dict(os.environ, NUMBA_NUM_THREADS="2"),
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return sorted(times)[len(times) // 2]


def host_line(seconds: float) -> str:
    """The host-speed line printed beside the tables."""
    return (
        f"host speed: the reference compile (a three-function heap Dijkstra, "
        f"`bench_first_run.py`) took {seconds:.2f} CPU s, median of 3 fresh processes"
    )


def table(results: dict[tuple[str, bool], dict]) -> str:
    lines = [
        "| command | compile ahead | CPU s, empty numba cache | CPU s, numba cache filled "
        "| compilation, CPU s | wall s, empty cache | wall s, cache filled "
        "| waited for compilation, wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (name, ahead), r in results.items():
        lines.append(
            f"| `transitopt {SHOWN.get(name, name)}` | {'on' if ahead else 'off'} "
            f"| {r['cold_cpu']:.1f} "
            f"| {r['warm_cpu']:.1f} | {r['compile_cpu']:.1f} | {r['cold_wall']:.1f} "
            f"| {r['warm_wall']:.1f} | {r['compile_wall']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=COMMANDS)
    parser.add_argument("--markdown", action="store_true", help="write benchmarks/README.md")
    parser.add_argument(
        "--kernels", action="store_true", help="list the compile CPU s of each kernel instead"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each command and setting (medians)"
    )
    parser.add_argument(
        "--section",
        default="first_run",
        help="the benchmarks/README.md section --markdown writes (one per set of commands)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write transitopt/_ahead_lists.py (what each command compiles) instead",
    )
    args = parser.parse_args()
    if args.record:
        record_lists(args.commands)
        return
    if args.kernels:
        for name in args.commands:
            print_kernel_times(name, kernel_times(name))
        print(host_line(reference_compile()))
        return
    load_start = loadavg()
    reference = reference_compile()
    runs: dict[tuple[str, bool], list[dict]] = {}
    for name in args.commands:
        for _ in range(args.repeat):
            for ahead in (False, True):  # alternating, so both see the same machine
                runs.setdefault((name, ahead), []).append(measure(name, ahead))
                print(name, "ahead" if ahead else "not ahead", runs[name, ahead][-1], flush=True)
    results = {key: median_of(found) for key, found in runs.items()}
    text = table(results) + "\n\n" + host_line(reference)
    print(text)
    if args.markdown:
        import numba

        more = "" if args.section == "first_run" else " (more commands)"
        header = (
            f"## First run: numba compilation per command{more}\n\n"
            f"Command: `python benchmarks/bench_first_run.py {' '.join(sys.argv[1:])}`. "
            "Each command runs in a fresh process with an empty network cache, first with an "
            "empty numba cache (a new user), then with the numba cache that run filled; "
            "*compilation* is the difference of their CPU seconds (user + system, all threads "
            "and both processes), *waited for compilation* the difference of their wall "
            "seconds, 2 numba threads. *Compile ahead* on (the default): a second process "
            "compiles the command's kernels in the opposite order into numba's cache "
            "(`transitopt/_ahead.py`), so the two cores share the compilation; off: "
            "`TRANSITOPT_COMPILE_AHEAD=0`. The two settings alternate run by run; medians of "
            f"{args.repeat} runs each. numba {numba.__version__}; load average {load_start} at "
            f"the start, {loadavg()} at the end (CPU seconds hardly depend on it; the wall "
            "time does). Target (issue 11): a first `transitopt demo` under 25 s of "
            "compilation on 2 cores. Small problems call serial twins of the parallel kernels "
            "(`kernels._config.sized`), which compile about a second faster each; "
            "`--kernels` lists the compile CPU s per kernel. The host-speed line under the "
            "table is the CPU s of compiling a small self-contained kernel written in the "
            "benchmark (numba only, fresh processes), to compare hosts.\n"
        )
        write_section(args.section, header + "\n" + text)


if __name__ == "__main__":
    main()
