"""First-run compile time: evaluating a scenario compiles each kernel once.

numba compiles a kernel once per combination of argument types, and a new user waits for
every compilation on the first run (``transitopt demo``). A second specialisation (a
read-only array where a writeable one came before, an int32, a constant, an unsigned
``prange`` index) costs that user about a second each; ``transitopt/kernels/_config.py``
lists the rules that avoid them. The evaluation runs in a fresh process with an empty
numba cache (a cached kernel is loaded without its helpers, so a helper's second
specialisation would go unseen), so that kernels that other tests call directly with
other types do not count. Slow: it compiles every kernel of an evaluation (about 25 s).

A parallel kernel has a serial twin (``kernel.serial``, ``kernels._config.sized``) that
small problems call instead, since compiling the parallel variant costs about a second
more: the twins must give the same answers, bit for bit, and a process should compile only
one of the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import transitopt
from transitopt import _ahead
from transitopt.kernels import _config, snapping, transit
from transitopt.kernels import accessibility as kacc
from transitopt.kernels import shortest_paths as ksp

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
            serial = getattr(obj, "serial", None)
            if serial is not None:
                found[info.name + "." + name + ".serial"] = [str(s) for s in serial.signatures]
print(json.dumps(found))
"""

#: kernels a scenario evaluation must run, as themselves or as their serial twin (so the
#: check below is not vacuous)
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
    "assignment._skim_core",
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
    missing = [name for name in HOT if not (found.get(name) or found.get(name + ".serial"))]
    assert not missing, f"the evaluation no longer runs {missing}: update HOT"
    both = [name for name in found if found[name] and found.get(name + ".serial")]
    assert not both, f"compiled both parallel and serial (see kernels._config.sized): {both}"
    twice = {name: sigs for name, sigs in found.items() if len(sigs) > 1}
    assert not twice, "compiled more than once (see kernels/_config.py):\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(sigs) for name, sigs in twice.items()
    )
    # compiling ahead (transitopt._ahead) covers what an evaluation compiles
    listed = {
        (name.removesuffix("_serial") + ".serial" if name.endswith("_serial") else name,
         str(signature))
        for name, signature in _ahead.listed("evaluate")
    }  # fmt: skip
    unlisted = [
        f"{name}{sig}" for name, sigs in found.items() for sig in sigs if (name, sig) not in listed
    ]
    assert not unlisted, (
        "compiled by an evaluation but not listed for compiling ahead (record the lists "
        "again: python benchmarks/bench_first_run.py --record):\n" + "\n".join(unlisted)
    )


# ----------------------------------------------------------------------------- serial twins


def _same(parallel, serial) -> None:
    """Bitwise equal results (tuples of arrays or one array)."""
    if not isinstance(parallel, tuple):
        parallel, serial = (parallel,), (serial,)
    assert len(parallel) == len(serial)
    for a, b in zip(parallel, serial, strict=True):
        np.testing.assert_array_equal(a, b)


def _random_csr(rng, n: int, m: int):
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    order = np.argsort(tail, kind="stable")
    tail, head = tail[order], head[order].astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    indptr.setflags(write=False)  # graph structure is passed read-only (kernels/_config.py)
    head.setflags(write=False)
    return indptr, head, tail.astype(np.int64)


def test_serial_twins_give_the_same_answers():
    """Each parallel kernel that callers switch with ``sized`` against its serial twin on
    random inputs: identical arrays (parallel loops run over fixed chunks, summed in
    chunk order)."""
    rng = np.random.default_rng(11)
    n, m = 300, 1500
    indptr, head, tail = _random_csr(rng, n, m)
    weight = rng.uniform(1.0, 50.0, m)
    no_through = rng.random(n) < 0.05
    sources = rng.choice(n, 40, replace=False).astype(np.int64)
    targets = rng.choice(n, 60, replace=False).astype(np.int64)
    args = (indptr, head, weight, sources, targets, no_through)
    _same(ksp.many_to_many(*args), ksp.many_to_many.serial(*args))
    args = (*args, 60.0)
    _same(ksp.many_to_many_within(*args), ksp.many_to_many_within.serial(*args))

    times = np.where(rng.random((40, 60)) < 0.1, np.inf, rng.uniform(0, 3600, (40, 60)))
    opportunities = rng.uniform(0, 100, (60, 2))
    args = (times, opportunities, np.array([600.0, 1800.0]), np.array([1e-3]), 2400.0)
    _same(kacc.matrix_sums(*args), kacc.matrix_sums.serial(*args))

    lon, lat = 24.9 + rng.random(500) * 0.05, 60.15 + rng.random(500) * 0.05
    px, py = 24.89 + rng.random(300) * 0.07, 60.14 + rng.random(300) * 0.07
    ky = snapping.EARTH_RADIUS_M * np.pi / 180
    kx = ky * np.cos(np.radians(max(lat.max(), py.max())))
    grid = snapping.build_grid(lon * kx, lat * ky, 250)
    args = (px, py, px * kx, py * ky, lon, lat, np.arange(lon.size), *grid, True)
    _same(snapping.nearest_nodes(*args), snapping.nearest_nodes.serial(*args))

    n, m = 60, 400
    t_tail, t_head = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = t_tail != t_head
    t_tail, t_head = t_tail[keep].astype(np.int64), t_head[keep].astype(np.int64)
    cost = rng.uniform(1.0, 100.0, t_tail.size)
    freq = np.where(rng.random(t_tail.size) < 0.5, np.inf, rng.uniform(0.002, 0.05, t_tail.size))
    in_links = np.argsort(t_head, kind="stable").astype(np.int64)
    in_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(t_head, minlength=n), out=in_indptr[1:])
    nodes = np.arange(n, dtype=np.int64)
    demand = rng.uniform(0, 1, (n, n))
    skim = np.ones((t_tail.size, 1))
    args = (t_tail, t_head, cost, freq, in_indptr, in_links, skim, 0.5, nodes, nodes, demand, True)
    _same(transit.assign(*args), transit.assign.serial(*args))


def test_serial_twin_of_a_kernel_calling_parallel_kernels():
    """The road loading's kernel ``_load_core`` has a serial twin that calls the serial
    twins of the parallel kernels it calls (``_aon_blocks``), so a small loading compiles
    no parallel code; it loads the same flows, zone costs and trees, bit for bit, as the
    parallel kernel, on the core and on the pruned core (a street grid: no chains, so
    the core keeps derived edges)."""
    from _street_grid import street_grid

    from transitopt.assignment._aon import CompressedAON
    from transitopt.kernels import assignment as kas
    from transitopt.network import Network

    rng = np.random.default_rng(12)
    tail, head, centroid = street_grid(12, 8, rng)
    net = Network.from_edges(
        tail, head, n_nodes=centroid.size, centroid=centroid,
        free_flow_time_s=rng.uniform(5.0, 20.0, tail.size), crs=None,
    )  # fmt: skip
    zones = np.flatnonzero(centroid).astype(np.int64)
    demand = rng.uniform(0.0, 5.0, (zones.size, zones.size))
    np.fill_diagonal(demand, 0.0)
    usable = np.ones(net.n_edges, dtype=bool)
    aon = CompressedAON(net.indptr, net.head, usable, centroid, zones, zones, demand)
    cost = net.free_flow_time_s * rng.uniform(1.0, 2.0, net.n_edges)
    shape = (aon.origins.size, aon.dests.size)
    assert kas._load_core.serial.py_func.__globals__["_aon_blocks"] is kas._aon_blocks.serial
    c_args, core_edge = aon.args[:7], aon.args[10]
    for prune in (False, True):
        graph = kas._searched_core(*aon.args, cost, aon.no_through, prune)
        out = {}
        for name, kernel in (("parallel", kas._load_core), ("serial", kas._load_core.serial)):
            zone_cost = np.empty(shape)
            tree = np.empty((shape[0], aon.n_core), np.int32)
            count = np.zeros(shape[0], np.int64)
            flow = kernel(
                *c_args, core_edge, *graph, cost, aon.no_through, aon.origins, aon.dests,
                aon.demand, True, zone_cost, tree, count,
            )  # fmt: skip
            trees = [tree[i, : count[i]] for i in range(shape[0])]
            out[name] = (*flow, zone_cost, count, np.concatenate(trees))
        _same(out["parallel"], out["serial"])
        assert out["serial"][0].sum() > 0.0


def test_sized_picks_the_serial_twin_for_small_work_until_the_parallel_one_ran():
    """``sized``: serial below ``PARALLEL_MIN_WORK``, parallel at or above it, and parallel
    for any size once the parallel variant has run in the process."""

    class Kernel:  # stands in for a dispatcher: its compiled signatures and its twin
        signatures: list[str] = []
        serial = object()

    kernel = Kernel()
    small, large = _config.PARALLEL_MIN_WORK - 1, _config.PARALLEL_MIN_WORK
    assert _config.sized(kernel, small) is Kernel.serial
    assert _config.sized(kernel, large) is kernel
    kernel.signatures = ["(float64[:],)"]
    assert _config.sized(kernel, small) is kernel
    plain = object()
    assert _config.sized(plain, small) is plain
    assert ksp.many_to_many.serial.py_func.__qualname__ == "many_to_many_serial"


def test_inlined_helpers_call_no_parallel_kernel():
    """A helper inlined into its caller (``kernels._config.njit_inline``) is inlined with
    its own module's globals, so inside a serial twin (which reads each parallel kernel it
    calls as that kernel's twin, ``_config._SerialGlobals``) a parallel kernel called by
    the helper would stay parallel: an inlined helper calls none. Also checks that the
    transit assignment's block is inlined (the only ``njit_inline`` so far)."""
    import importlib
    import pkgutil

    import transitopt.kernels as kernels

    inlined = []
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module("transitopt.kernels." + info.name)
        for name, obj in vars(module).items():
            options = getattr(obj, "targetoptions", None)
            if not options or options.get("inline") != "always":
                continue
            if obj.py_func.__module__ != module.__name__:
                continue
            inlined.append(f"{info.name}.{name}")
            for called in obj.py_func.__code__.co_names:
                value = vars(module).get(called)
                assert getattr(value, "serial", None) is None, (
                    f"{info.name}.{name} is inlined but calls the parallel kernel {called}"
                )
    assert "transit._assign_block" in inlined
