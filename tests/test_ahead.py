"""Compiling ahead (``transitopt._ahead``): a first run's kernels compiled in a second process.

The lists of what each command compiles (``transitopt/_ahead_lists.py``) are recorded by
``python benchmarks/bench_first_run.py --record``; these tests fail when a list no longer
names a kernel, or no longer covers what a command compiles, so that it is recorded again.
The scenario evaluation's coverage is checked in ``tests/test_compile.py`` (its evaluation
already runs in a fresh process).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import typeof

import transitopt
from transitopt import _ahead
from transitopt._ahead_lists import LISTS

_RECORD_AGAIN = "record the lists again: python benchmarks/bench_first_run.py --record"


@pytest.mark.parametrize("command", sorted(LISTS))
def test_every_listed_kernel_exists_with_its_types(command):
    entries = _ahead.listed(command)
    assert len(entries) > 20
    for name, signature in entries:
        try:
            kernel = _ahead.kernel(name)
        except LookupError as exc:
            pytest.fail(f"{exc}: {_RECORD_AGAIN}")
        assert hasattr(kernel, "compile"), name
        assert _ahead.parse_line(_ahead.entry_line(name, signature)) == (name, signature)


def test_every_command_that_compiles_ahead_has_a_list():
    """The names the CLI gives ``compiling_ahead`` are the lists' keys (a name without a
    list would silently start nothing)."""
    cli = Path(transitopt.__file__).parent / "cli"
    named = set()
    for source in cli.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        named.update(re.findall(r'compiling_ahead\("([\w-]+)"', text))  # also "x" if ...
    expected = "demo evaluate assign skim calibrate frequencies routes design".split()
    assert set(expected) <= named
    assert named <= set(LISTS), named - set(LISTS)
    modes = re.search(
        r'"access" if mode == "transit" else f"access-\{mode\}"',
        (cli / "access.py").read_text(encoding="utf-8"),
    )
    assert modes and {"access", "access-walk", "access-car"} <= set(LISTS)


def test_listed_types_are_the_types_numba_gives_the_arguments():
    """An encoded array or tuple decodes to the type numba infers for such a value."""
    frozen = np.arange(4, dtype=np.int32)
    frozen.setflags(write=False)
    values = [
        np.zeros(3),
        np.zeros((2, 3), dtype=np.int64),
        np.zeros((2, 3), order="F"),
        frozen,
        np.zeros(2, dtype=np.bool_),
        np.float64(1.0),
        np.int64(2),
        True,
        (np.zeros(2), np.int64(1)),
        (np.int64(1), np.int64(2)),
        (np.zeros(2),),
        ((frozen, np.float64(1.0)), np.zeros(1)),
    ]
    for value in values:
        numba_type = typeof(value)
        assert _ahead.decode(_ahead.encode(numba_type)) == numba_type, value
    line = "heap.heap_push(array(float64, 1d, C), (int64, (bool, readonly array(int32, 2d, A))))"
    name, signature = _ahead.parse_line(line)
    assert name == "heap.heap_push" and _ahead.entry_line(name, signature) == line


def test_unlistable_types_are_refused():
    with pytest.raises(ValueError, match="not listable"):
        _ahead.encode(typeof("text"))
    with pytest.raises(ValueError, match="not listable"):
        _ahead.encode(typeof(np.zeros(2, dtype=[("x", "f8")])))  # an array of records
    with pytest.raises(ValueError, match="unknown listed type 'nonsense'"):
        _ahead.decode("nonsense")
    with pytest.raises(ValueError, match="not a listed kernel"):
        _ahead.parse_line("heap.heap_push")


def test_off_switch_and_no_list_start_nothing(monkeypatch):
    monkeypatch.setattr(_ahead, "_cached", lambda dispatcher: False)
    monkeypatch.setenv("TRANSITOPT_COMPILE_AHEAD", "0")
    with _ahead.compiling_ahead("demo") as process:
        assert process is None
    monkeypatch.setenv("TRANSITOPT_COMPILE_AHEAD", "1")
    with _ahead.compiling_ahead("no such command") as process:
        assert process is None


def test_a_list_naming_a_missing_kernel_starts_nothing(monkeypatch):
    """A stale list (a kernel renamed since it was recorded) leaves the command to compile
    as before instead of failing."""
    monkeypatch.setattr(_ahead, "_cached", lambda dispatcher: False)
    monkeypatch.setenv("TRANSITOPT_COMPILE_AHEAD", "1")
    stale = [("heap.no_such_kernel", ())]
    monkeypatch.setattr(_ahead, "listed", lambda command: stale)
    with _ahead.compiling_ahead("demo") as process:
        assert process is None


def test_a_second_process_starts_and_is_stopped_on_leaving(monkeypatch):
    if _ahead._usable_cores() < 2:
        pytest.skip("compiling ahead is off on one core")
    monkeypatch.setattr(_ahead, "_cached", lambda dispatcher: False)
    monkeypatch.setenv("TRANSITOPT_COMPILE_AHEAD", "1")
    with _ahead.compiling_ahead("assign") as process:
        assert process is not None
        assert process.poll() is None  # still importing or compiling
    assert process.returncode is not None  # stopped and waited for


#: a command in a fresh process with a listener on numba's compile events (fired for
#: compilations only, not for kernels loaded from the on-disk cache): prints the project's
#: kernels it compiled as JSON on the last line
_COMMAND_COMPILES = """
import json, sys
from numba.core import event
compiled = []

class Listener(event.Listener):
    def on_start(self, ev):
        func = ev.data["dispatcher"].py_func
        if func.__module__.startswith("transitopt."):
            compiled.append(func.__module__ + "." + func.__qualname__)

    def on_end(self, ev):
        pass

event.register("numba:compile", Listener())
from transitopt.cli import app
app(sys.argv[1:], standalone_mode=False)
print(json.dumps(compiled))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "command, data, args, written",
    [
        ("assign", "tntp/SiouxFalls", ["assign", "{data}", "-o", "{out}/flows.csv"], "flows.csv"),
        (
            "routes",
            "tndp/Mandl",
            ["optimise", "routes", "Mandl1", "--routes", "6", "--evaluations", "2000",
             "--seed", "1", "-o", "{out}/routes.txt"],
            "routes.txt",
        ),
    ],
)  # fmt: skip
def test_kernels_compiled_ahead_are_the_ones_the_command_loads(
    command, data, args, written, tmp_path, require_data
):
    """The second process's work, alone, then the command with its cache: the command
    compiles none of the project's kernels (the list covers the README's example, and the
    cached code is what the command runs). About 20-30 CPU s each."""
    folder = require_data(data)
    package_root = str(Path(transitopt.__file__).resolve().parents[1])
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        TRANSITOPT_CACHE=str(tmp_path / "cache"),
        TRANSITOPT_COMPILE_AHEAD="0",
        PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    )
    ahead = subprocess.run(
        [sys.executable, "-m", "transitopt._ahead", command],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ahead.returncode == 0, ahead.stderr[-3000:]
    argv = [arg.format(data=folder, out=tmp_path) for arg in args]
    run = subprocess.run(
        [sys.executable, "-c", _COMMAND_COMPILES, *argv],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    compiled = json.loads(run.stdout.strip().splitlines()[-1])
    assert compiled == [], f"{command} compiled after compiling ahead: {compiled}; {_RECORD_AGAIN}"
    assert (tmp_path / written).stat().st_size > 0
