"""The one place numba options are set, so every kernel is compiled the same way."""

from __future__ import annotations

import os
from typing import Any

# Idle OpenMP threads should sleep, not spin: parallel kernels are called many times in
# a row (every assignment iteration), and spinning workers steal the cores from the
# next call and from other processes (measured: up to ~4 ms per call on 2 busy cores).
# ``setdefault`` keeps a user's own setting; it must happen before OpenMP starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402


def _compile(parallel: bool) -> Any:
    """``numba.njit`` with the options every kernel shares (cached, no GIL, numpy errors)."""
    return numba.njit(cache=True, nogil=True, error_model="numpy", parallel=parallel)


#: decorator of every serial kernel
njit = _compile(parallel=False)


def njit_parallel(func: Any) -> Any:
    """Compile ``func`` with the common options and ``parallel=True`` (use ``numba.prange``)."""
    return _compile(parallel=True)(func)


#: parallel kernels split their work (sources, origins, destinations) into at most this
#: many chunks, each with its own scratch arrays: enough to keep any thread count busy and
#: balanced, and fixed, so that reductions over the chunks (link flows) give the same
#: result, bit for bit, with any number of threads
PARALLEL_CHUNKS = 32


@njit
def chunk_count(n_items: int) -> int:
    """How many chunks a parallel loop over ``n_items`` items uses (1 to ``PARALLEL_CHUNKS``)."""
    return max(1, min(PARALLEL_CHUNKS, n_items))
