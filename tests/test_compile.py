"""First-run compile time: evaluating a scenario compiles each kernel once.

numba compiles a kernel once per combination of argument types, and a new user waits for
every compilation on the first run (``transitopt demo``). A second specialisation (a
read-only array where a writeable one came before, an int32, a constant, an unsigned
``prange`` index) costs that user about a second each; ``transitopt/kernels/_config.py``
lists the rules that avoid them. The evaluation runs in a fresh process with an empty
numba cache (a cached kernel is loaded without its helpers, so a helper's second
specialisation would go unseen), so that kernels that other tests call directly with
other types do not count. Slow: it compiles every kernel of an evaluation (about 25 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import transitopt

_SCRIPT = """
import importlib, json, pkgutil, sys
from pathlib import Path
from numba.core.registry import CPUDispatcher
import transitopt.kernels as kernels
from transitopt.scenario import evaluate

for path in sys.argv[1:]:
    evaluate(Path(path))
found = {}
for info in pkgutil.iter_modules(kernels.__path__):
    module = importlib.import_module("transitopt.kernels." + info.name)
    for name, obj in vars(module).items():
        if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
            found[info.name + "." + name] = [str(s) for s in obj.signatures]
print(json.dumps(found))
"""

#: kernels a scenario evaluation must run (so the check below is not vacuous)
HOT = [
    "shortest_paths.dijkstra_into",
    "shortest_paths.many_to_many_within",
    "shortest_paths.single_source",
    "heap.heap_push",
    "heap.heap_pop",
    "transit.assign",
    "transit.strategy_into",
    "snapping.nearest_nodes",
    "accessibility.matrix_sums",
    "assignment.skim_compressed",
]


@pytest.mark.slow
def test_scenario_evaluation_compiles_each_kernel_once(tmp_path, town_toml):
    zones = {"population_total": 3000, "jobs_total": 3000}
    (tmp_path / "base.toml").write_text(town_toml(3000, zones=zones), encoding="utf-8")
    (tmp_path / "lane.toml").write_text(
        '[scenario]\nname = "Lane"\nbaseline = "base.toml"\n\n[[edits]]\ntype = "bus_lane"\n'
        'line = "bus:1"\n\n[[edits]]\ntype = "change_line"\nline = "bus:1"\nheadway_min = 5\n',
        encoding="utf-8",
    )
    package_root = str(Path(transitopt.__file__).resolve().parents[1])
    env = dict(
        os.environ,
        TRANSITOPT_CACHE=str(tmp_path / "cache"),
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    )
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "base.toml"), str(tmp_path / "lane.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    missing = [name for name in HOT if not found.get(name)]
    assert not missing, f"the evaluation no longer runs {missing}: update HOT"
    twice = {name: sigs for name, sigs in found.items() if len(sigs) > 1}
    assert not twice, "compiled more than once (see kernels/_config.py):\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(sigs) for name, sigs in twice.items()
    )
