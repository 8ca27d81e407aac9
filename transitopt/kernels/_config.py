"""The one place numba options are set, so every kernel is compiled the same way."""

from __future__ import annotations

import numba

#: options for every serial kernel
NJIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}

njit = numba.njit(**NJIT_OPTIONS)


def njit_parallel(func):
    """Compile ``func`` with the common options and ``parallel=True`` (use ``numba.prange``)."""
    return numba.njit(parallel=True, **NJIT_OPTIONS)(func)
