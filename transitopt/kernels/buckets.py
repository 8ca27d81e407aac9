"""A monotone bucket queue (Dinitz 1978) for Dijkstra searches on graphs whose arc costs
are all at least a positive width: the exact alternative to :mod:`.heap` where it pays.

Items ``0..n-1`` are queued at keys ``>= 0``; bucket ``b`` holds the items whose key
``k`` has ``floor(k / width) == b``, for a ``width`` a little below the smallest arc cost
:data:`WIDTH_SLACK`. A search settles the lowest non-empty bucket's items in any order:
an item queued in a higher bucket, or one of the same bucket, is at least ``width``
short of improving any of them, so each one's key is final when it is popped. The same
distances as a heap's, bit for bit (each is the smallest sum over final predecessors);
of several equally short paths it may keep another one.

Arrays (int32):

* ``position`` (n,): the item's absolute bucket while queued, :data:`.heap.NOT_QUEUED` or
  :data:`.heap.SETTLED` as for the heap;
* ``pool_item``/``pool_next`` (one per push): a pool of list entries, filled in push
  order; each bucket is a singly linked list of entries. Lowering an item's key pushes a
  new entry and leaves the old one behind, stale (its bucket is no longer the item's
  ``position``), to be skipped when that bucket is taken: no unlinking, so no writes to
  other items' entries;
* ``bucket_first`` (n_slots,): the first entry of each slot's list (-1: empty). Buckets
  live in a ring of ``n_slots`` slots (a power of two, ``mask = n_slots - 1``), enough
  that every queued key lies within the ring (:func:`bucket_ring`).

Pushing is O(1), and a bucket is taken whole once it is the lowest non-empty one (its
items are all final), after a scan over the empty buckets, one per ``width`` of distance.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._config import njit
from .heap import NOT_QUEUED

#: the bucket width is the smallest arc cost times ``1 - WIDTH_SLACK``: the rounding of
#: ``key * (1 / width)`` (two operations, relative 1.1e-16 each) then never makes a key
#: of bucket ``b`` improvable from bucket ``b`` or above while ``2b + 1 < WIDTH_SLACK /
#: 2.2e-16``, i.e. below :data:`MAX_BUCKET` (see :func:`bucket_ring`)
WIDTH_SLACK = 1e-6
#: the highest bucket a search may use with that slack (2.2e9 / 2, rounded down)
MAX_BUCKET = 1_000_000_000


@njit
def bucket_ring(ptr, head, cost, no_through):
    """``(width, n_slots)`` of a bucket queue for searches of the graph ``ptr``/``head``
    under ``cost`` that never queue ``no_through`` nodes (only their source): ``width``
    the smallest finite cost of an edge into a through node, less :data:`WIDTH_SLACK`;
    ``n_slots`` the power of two above the largest such cost over ``width``, plus two.
    ``(0.0, 0)`` where an edge into a through node costs 0 (or none is finite), or where
    a path of ``n - 1`` edges of the largest cost could pass :data:`MAX_BUCKET`: no
    bucket queue is exact there."""
    smallest = np.inf
    largest = 0.0
    n = ptr.size - 1
    for u in range(n):
        for e in range(ptr[u], ptr[u + 1]):
            c = cost[e]
            if no_through[head[e]] or c == np.inf:
                continue
            if c < smallest:
                smallest = c
            if c > largest:
                largest = c
    if not smallest > 0.0 or smallest == np.inf:
        return 0.0, 0
    width = smallest * (1.0 - WIDTH_SLACK)
    if (n - 1) * largest / width >= MAX_BUCKET:
        return 0.0, 0
    span = int(largest / width) + 3
    n_slots = 1
    while n_slots < span:
        n_slots *= 2
    return width, n_slots


@njit
def bucket_scratch(n, n_pushes, n_slots):
    """``(position, pool_item, pool_next, bucket_first)`` of an empty bucket queue over
    ``n`` items, room for ``n_pushes`` pushes, ``n_slots`` slots (int32: fewer bytes per
    item in the caches; bucket numbers stay below :data:`MAX_BUCKET`)."""
    position = np.full(n, NOT_QUEUED, dtype=np.int32)
    pool_item = np.empty(n_pushes, dtype=np.int32)
    pool_next = np.empty(n_pushes, dtype=np.int32)
    bucket_first = np.full(max(n_slots, 1), -1, dtype=np.int32)
    return position, pool_item, pool_next, bucket_first


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the processor to fetch ``array[index]`` into its caches (no effect on results;
    no bounds check: the address is only a hint). LLVM's ``llvm.prefetch`` (read, high
    locality, data cache), declared by its plain name, which LLVM upgrades to the
    pointer type it mangles for."""
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        address = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1]], wraparound=False
        )
        byte_pointer = cgutils.ir.IntType(8).as_pointer()
        int32 = cgutils.ir.IntType(32)
        function_type = cgutils.ir.FunctionType(
            cgutils.ir.VoidType(), [byte_pointer, int32, int32, int32]
        )
        function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch")
        hint = [cgutils.ir.Constant(int32, k) for k in (0, 3, 1)]
        builder.call(function, [builder.bitcast(address, byte_pointer), *hint])
        return context.get_dummy_value()

    return sig, codegen
