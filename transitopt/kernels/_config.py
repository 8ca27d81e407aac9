"""The one place numba options are set, so every kernel is compiled the same way.

Compile time is what a new user waits for on the first run (the on-disk cache,
``cache=True``, serves every later one), and numba compiles a kernel once per
combination of argument types. So every kernel should see one combination:

* calls between kernels pass constants and small integers as plain int64 and bool
  (:class:`_Kernel`): numba would otherwise compile a helper again for a constant
  argument (``Literal[int](0)``, ``Literal[bool](True)``; also a counter that starts at
  a constant, during type inference) and for an int32 node read from ``head``;
* a ``prange`` index is unsigned: pass it on as ``np.int64(i)``;
* a read-only array is a different type from a writeable one: graph structure is passed
  read-only (as a compiled network's arrays are), weights and node lists writeable
  (see ``paths._frozen``);
* parallel kernels parallelise their ``prange`` loops only (:func:`njit_parallel`), and
  small problems call their serial twin instead (:func:`sized`): a parallel kernel
  compiles about a second longer, for no gain on a few milliseconds of work; a serial
  twin calls the serial twins of the parallel kernels it calls, so a small problem
  compiles no parallel code;
* a helper called at one site whose own compilation measurably costs a first run is
  inlined there (:data:`njit_inline`);
* a branch that a first run does not take but that calls a large kernel (the road
  loadings' pruning) is taken in Python, so the large kernel compiles only when needed;
* no array-to-slice copies (``a[:k] = b[:k]``): their shape check alone compiles for
  seconds; a loop does the same. Likewise array reductions (``a.min()``, ``a.max()``):
  the four in the snapping grid (``snapping.build_grid``) compiled for about a second
  more than one loop.

``tests/test_compile.py`` checks that evaluating a scenario compiles each kernel once.
"""

from __future__ import annotations

import os
from typing import Any

# Idle OpenMP threads should sleep, not spin: parallel kernels are called many times in
# a row (every assignment iteration), and spinning workers steal the cores from the
# next call and from other processes (measured: up to ~4 ms per call on 2 busy cores).
# ``setdefault`` keeps a user's own setting; it must happen before OpenMP starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
from numba.core import types  # noqa: E402
from numba.core.registry import CPUDispatcher  # noqa: E402

#: numba's automatic parallelisation, reduced to explicit ``prange`` loops: its other
#: rewrites (numpy allocations, array expressions and reductions, slice assignments,
#: loop fusion) each become a parallel region compiled on its own, which slows the first
#: run for no gain (they allocate or clear scratch arrays), and a parallel reduction
#: would make results depend on the thread count
_PRANGE_ONLY = {
    "prange": True,
    "numpy": False,
    "reduction": False,
    "inplace_binop": False,
    "setitem": False,
    "comprehension": False,
    "stencil": False,
    "fusion": False,
}


_NARROW_INTS = (types.int8, types.int16, types.int32)


def _plain(arg: Any) -> Any:
    """The type a kernel is compiled for when another kernel passes an ``arg``: constants
    as their type, signed integers narrower than 64 bits as int64."""
    arg = types.unliteral(arg)
    return types.int64 if arg in _NARROW_INTS else arg


class _Kernel(CPUDispatcher):
    """numba's CPU dispatcher, except that a call from another kernel is compiled for
    :func:`_plain` argument types, so a helper compiles once for all its callers."""

    def get_call_template(self, args: Any, kws: Any) -> Any:
        """Type a call from compiled code (see numba's ``Dispatcher.get_call_template``)."""
        args = tuple(_plain(a) for a in args)
        kws = {k: _plain(v) for k, v in kws.items()}
        return super().get_call_template(args, kws)


def _compile(parallel: bool, inline: bool = False) -> Any:
    """``numba.njit`` with the options every kernel shares (cached, no GIL, numpy errors,
    no cfunc wrapper)."""
    options: dict[str, Any] = {
        "cache": True,
        "nogil": True,
        "error_model": "numpy",
        # no C-callable wrapper: it only serves kernels passed to kernels as first-class
        # function objects, which transitopt never does, and costs compile time for each
        "no_cfunc_wrapper": True,
    }
    if inline:
        options["inline"] = "always"
    if parallel:
        options["parallel"] = dict(_PRANGE_ONLY)  # a copy: numba empties the dict
    jit = numba.njit(**options)

    def decorate(func: Any) -> Any:
        kernel = jit(func)
        if type(kernel) is CPUDispatcher:  # not with NUMBA_DISABLE_JIT (a plain function)
            kernel.__class__ = _Kernel
        return kernel

    return decorate


#: decorator of every serial kernel
njit = _compile(parallel=False)

#: decorator of a helper with one call site, in one kernel, where compiling it as a kernel
#: of its own measurably costs a first run: numba inlines it there (``inline="always"``,
#: typed as part of its caller) instead of building, optimising and emitting a library for
#: it that its caller links in and optimises again; called from Python it compiles like
#: any kernel. Only for one call site (each site gets a copy, typed and optimised again),
#: and the helper must call no parallel kernel: it is inlined with its own module's
#: globals, so a serial twin would not swap that kernel for its twin
#: (``tests/test_compile.py`` checks). Measured 2026-12-07 (old and new code side by side
#: in fresh processes, empty caches, five pairs): ``transit._assign_block`` inlined into
#: ``transit.assign``'s serial twin, the demo's transit assignment compiles in 0.7-1.4
#: CPU s less (of 12.5-14.3 under load 2-2.8; every pair); other
#: single-site helpers (the road loading's block, the snapping ring search, the
#: accessibility rows, the conical integral) saved nothing measurable, and helpers with two
#: call sites (``_search_listed``, ``leaves_last``) cost more than they saved
njit_inline = _compile(parallel=False, inline=True)


def njit_parallel(func: Any) -> Any:
    """Compile ``func`` with the common options and ``parallel=True`` (use ``numba.prange``).

    The kernel also gets a serial twin, ``kernel.serial`` (the same code with ``prange``
    run as ``range``, compiled only when first called): see :func:`sized`.
    """
    kernel = _compile(parallel=True)(func)
    kernel.serial = _compile(parallel=False)(_serial_copy(func))
    return kernel


class _SerialGlobals(dict):
    """The globals a serial twin sees: its module's, read through at each look-up (so it
    sees names defined after it), except that a parallel kernel (one with a ``serial``
    twin) reads as its serial twin. Empty itself: every name comes through
    :meth:`__missing__`; ``in``, ``keys`` and ``get`` answer for the module's names (numba
    asks them, e.g. to tell an undefined name from an untyped one)."""

    def __init__(self, module_globals: dict[str, Any]) -> None:
        super().__init__()
        self.module_globals = module_globals

    def __missing__(self, name: str) -> Any:
        value = self.module_globals[name]
        serial = getattr(value, "serial", None) if callable(value) else None
        return serial if callable(serial) else value

    def __contains__(self, name: object) -> bool:
        return name in self.module_globals

    def keys(self) -> Any:
        return self.module_globals.keys()

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self.module_globals else default


def _serial_copy(func: Any) -> Any:
    """A copy of ``func`` under the name ``<name>_serial``: numba's on-disk cache files are
    named after the function (and its index is not keyed by the ``parallel`` option), so
    the twin needs a name of its own to keep its compiled code apart. The parallel kernels
    it calls are their serial twins too (:class:`_SerialGlobals`): a small problem
    compiles no parallel code."""
    copy = type(func)(  # a new function over the same code
        func.__code__, _SerialGlobals(func.__globals__), func.__name__ + "_serial",
        func.__defaults__, func.__closure__,
    )  # fmt: skip
    copy.__qualname__ = func.__qualname__ + "_serial"
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


#: work (loop steps of the kernel's inner loop: edges relaxed, links scanned, matrix cells
#: read) below which :func:`sized` picks a parallel kernel's serial twin: about a
#: millisecond on one core, where waking the worker threads takes a good part of what
#: they could save, while compiling the parallel variant on a first run costs about a
#: second more than the serial one (numba builds and compiles a separate gufunc for each
#: ``prange`` loop)
PARALLEL_MIN_WORK = 500_000


def sized(kernel: Any, work: float) -> Any:
    """The variant of the :func:`njit_parallel` ``kernel`` to call for ``work`` loop steps.

    The serial twin below :data:`PARALLEL_MIN_WORK`, unless the parallel variant has
    already run in this process (it is compiled or loaded then, and a process should not
    compile both); else the parallel kernel. Both give the same answers, bit for bit
    (parallel loops run over a fixed number of chunks, :data:`PARALLEL_CHUNKS`, in
    either variant), so the choice only changes speed and what a first run compiles.
    """
    serial = getattr(kernel, "serial", None)
    if serial is None or work >= PARALLEL_MIN_WORK or getattr(kernel, "signatures", None):
        return kernel
    return serial


#: parallel kernels split their work (sources, origins, destinations) into at most this
#: many chunks, each with its own scratch arrays: enough to keep any thread count busy and
#: balanced, and fixed, so that reductions over the chunks (link flows) give the same
#: result, bit for bit, with any number of threads
PARALLEL_CHUNKS = 32


@njit
def chunk_count(n_items: int) -> int:
    """How many chunks a parallel loop over ``n_items`` items uses (1 to ``PARALLEL_CHUNKS``)."""
    return max(1, min(PARALLEL_CHUNKS, n_items))
