"""Content digests of input files: the one home of ``file_digest``.

Caches key their entries by what a file holds, not by its name (a renamed copy hits, an
edited copy misses). Digests are memoised by path, modification time and size, in a
bounded memo.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

#: bytes read at a time while hashing
_CHUNK_BYTES = 1 << 20
#: digests remembered (path, modification time, size); the least recently used go first
_MEMO_SIZE = 1024

__all__ = ["file_digest"]


def file_digest(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes; for a folder, of its files' digests in path order.

    Parameters
    ----------
    path : path
        A file or a folder (e.g. an unpacked GTFS feed).

    Returns
    -------
    str
        64 hex characters.
    """
    path = Path(path)
    if path.is_dir():
        return hashlib.sha256(
            "".join(file_digest(p) for p in sorted(path.rglob("*")) if p.is_file()).encode()
        ).hexdigest()
    stat = path.stat()
    return _bytes_digest(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _bytes_digest(path: str, mtime_ns: int, size: int) -> str:
    """sha256 of the file at ``path`` (``mtime_ns`` and ``size`` only key the memo)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
