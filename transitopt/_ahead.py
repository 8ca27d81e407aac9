"""Compile ahead: a first run's kernels compiled in a second process, side by side.

On a first run (an empty numba cache) a command compiles its kernels one after the
other as it reaches them, on one core. :func:`compiling_ahead` starts a second process
that compiles the same kernels for the same argument types, in the opposite order, into
numba's on-disk cache (``cache=True``, :mod:`transitopt.kernels._config`); when the
command reaches a kernel the second process has finished, numba loads it from the cache
instead of compiling it. The two meet in the middle, so on two cores a first run waits
for about half of the compilation. The answers do not change: a cached kernel is the
same compiled code.

What each command compiles, with which argument types, is listed in
:mod:`._ahead_lists`, recorded from a first run of the command
(``python benchmarks/bench_first_run.py --record``; ``tests/test_ahead.py`` checks
that the lists still cover what the commands compile). A kernel the list misses is
compiled by the command as before; a listed kernel the command does not reach costs
the second process's time only.

Off where it cannot help: with ``NUMBA_DISABLE_JIT``, on one core, when every listed
kernel is already in the cache, and when ``TRANSITOPT_COMPILE_AHEAD=0``
(:func:`transitopt.settings.compile_ahead`). Any failure of the second process (a
kernel that does not compile, no permission to write the cache) leaves the command to
compile as before.

    python -m transitopt._ahead demo    # what the second process runs
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import numpy as np
from numba.core import config, types

from .settings import compile_ahead

_ARRAY = re.compile(r"(readonly )?array\((\w+), (\d+)d, ([CFA])\)")


def encode(numba_type: Any) -> str:
    """The listed text of a numba argument type: a scalar's name (``int64``), an array
    as numba writes it (``readonly array(int32, 1d, C)``), a tuple in parentheses."""
    if isinstance(numba_type, types.Array) and _ARRAY.fullmatch(str(numba_type)):
        return str(numba_type)  # not an unaligned array nor one of records
    if isinstance(numba_type, (types.Integer, types.Float, types.Boolean)):
        return str(numba_type)
    if isinstance(numba_type, types.BaseTuple):
        items = [encode(item) for item in cast(Any, numba_type).types]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise ValueError(f"argument type {numba_type} ({type(numba_type).__name__}) is not listable")


def decode(text: str) -> Any:
    """The numba type of a listed argument type (the inverse of :func:`encode`)."""
    array = _ARRAY.fullmatch(text)
    if array:
        readonly, dtype, ndim, layout = array.groups()
        return types.Array(_scalar(dtype), int(ndim), cast(Any, layout), readonly=bool(readonly))
    if text.startswith("(") and text.endswith(")"):
        return types.BaseTuple.from_types([decode(item) for item in _split(text[1:-1])])
    return _scalar(text)


def _split(text: str) -> list[str]:
    """``text`` split at its top-level commas (not those inside parentheses)."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(text[start:at].strip())
            start = at + 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _scalar(name: str) -> Any:
    from numba.np.numpy_support import from_dtype

    try:
        return from_dtype(np.dtype(name))
    except TypeError:
        raise ValueError(f"unknown listed type {name!r}") from None


def entry_line(name: str, signature: Sequence[Any]) -> str:
    """One line of a list: ``name(type, type, ...)``."""
    return f"{name}({', '.join(encode(t) for t in signature)})"


def parse_line(line: str) -> tuple[str, tuple[Any, ...]]:
    """The kernel name and numba argument types of a list's line (see :func:`entry_line`)."""
    name, _, args = line.partition("(")
    if not args.endswith(")"):
        raise ValueError(f"not a listed kernel: {line!r}")
    return name, tuple(decode(item) for item in _split(args[:-1]))


def kernel(name: str) -> Any:
    """The dispatcher of a listed kernel, ``"<module under transitopt.kernels>.<name>"``;
    ``<name>_serial`` is a parallel kernel's serial twin (``kernels._config``)."""
    module_name, _, attribute = name.rpartition(".")
    module = importlib.import_module(f"transitopt.kernels.{module_name}")
    found = getattr(module, attribute, None)
    if found is None and attribute.endswith("_serial"):
        found = getattr(getattr(module, attribute.removesuffix("_serial"), None), "serial", None)
    if found is None or not hasattr(found, "compile"):
        raise LookupError(f"no kernel {name!r} in transitopt.kernels.{module_name}")
    return found


def listed(command: str) -> list[tuple[str, tuple[Any, ...]]]:
    """What ``command`` compiles on a first run, in the order it compiles it:
    ``(kernel name, numba argument types)`` pairs; empty for a command with no list."""
    from ._ahead_lists import LISTS

    return [parse_line(line) for line in LISTS.get(command, "").splitlines() if line.strip()]


def _cached(dispatcher: Any) -> bool:
    """Whether numba's on-disk cache holds a current entry for ``dispatcher`` (its index
    file exists and was written for this source; numba's internals, so any surprise
    counts as not cached)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:
        return False


def _usable_cores() -> int:
    """Cores this process may run on (all of the machine's where the OS cannot say)."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _worth_starting(command: str) -> bool:
    """Whether a second process would help ``command`` (see the module docstring)."""
    if not compile_ahead() or getattr(config, "DISABLE_JIT", False):
        return False
    if _usable_cores() < 2:
        return False
    entries = listed(command)
    try:
        return any(not _cached(kernel(name)) for name, _ in entries)
    except LookupError:  # a stale list: the command compiles as before
        return False


@contextlib.contextmanager
def compiling_ahead(command: str) -> Iterator[subprocess.Popen | None]:
    """Run the body with ``command``'s kernels compiling ahead in a second process.

    Yields the process, or None where compiling ahead is off or cannot help (see the
    module docstring). On leaving, a process still compiling is stopped.
    """
    process = None
    if _worth_starting(command):
        with contextlib.suppress(OSError):
            process = subprocess.Popen(
                [sys.executable, "-m", "transitopt._ahead", command, str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    try:
        yield process
    finally:
        if process is not None:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop a compiling process now: SIGTERM ends it at once where it runs Python code
    (a cache file half written is removed, see :func:`main`); where it is inside
    LLVM for more than a second it writes nothing, so it is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


class _Stopped(Exception):
    """Raised in the compiling process by SIGTERM."""


def compile_listed(
    command: str, parent: int | None = None, stopped: Callable[[], bool] = lambda: False
) -> None:
    """Compile ``command``'s listed kernels, last first, into numba's on-disk cache (a
    kernel already compiled inside an earlier one returns at once); stops between
    kernels once ``stopped()`` is true or the ``parent`` process is gone."""
    for name, signature in reversed(listed(command)):
        if stopped() or (parent is not None and os.getppid() != parent):
            break
        with contextlib.suppress(Exception):  # the command compiles what this could not
            kernel(name).compile(signature)


def main(argv: Sequence[str]) -> None:
    """``python -m transitopt._ahead COMMAND [PARENT_PID]``: the second process.

    SIGTERM (from :func:`compiling_ahead`) stops it at once where it runs Python code:
    numba removes a cache file it was writing before the exception leaves. Ctrl-C, which
    reaches the whole process group, is left to the command, which then stops it."""
    requested = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal requested
        requested = True
        raise _Stopped

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    compile_listed(argv[0], int(argv[1]) if len(argv) > 1 else None, lambda: requested)


if __name__ == "__main__":
    main(sys.argv[1:])
