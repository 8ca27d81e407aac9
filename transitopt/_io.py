"""File plumbing: atomic writes (a failed run never leaves a half-written file), plain JSON."""

from __future__ import annotations

import contextlib
import glob
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success.

    The temporary file keeps ``path``'s suffixes, so writers that infer the format
    from the name (GeoPackage, Parquet, OMX) still work. On any exception the
    temporary file is removed and ``path`` is left as it was. Its name carries this
    host and process id, so debris of a killed run (``kill -9``, power loss) is removed
    by the next write to the same path (:func:`remove_debris`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_debris(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{_OWNER}.",
        suffix="".join(path.suffixes) or ".tmp",
        dir=path.parent,
    )
    os.close(fd)
    os.unlink(tmp)  # writers such as GPKG refuse to open an existing empty file
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            os.chmod(tmp_path, 0o666 & ~_UMASK)  # as an ordinary write would (mkstemp: 0600)
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.errno is None or exc.filename not in (None, str(tmp_path), tmp_path):
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc  # name the user's file
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder next to ``folder``; it becomes ``folder`` only on success.

    Whatever ``folder`` held before is replaced as a whole (so files of an earlier run
    that this run does not write are gone), or, with ``replace=False``, an existing
    ``folder`` raises :class:`FileExistsError`. On any exception the temporary folder is
    removed. Debris of killed runs is removed first, as for :func:`atomic_path`. The new
    folder gets the usual permissions (``0777`` less the umask), not ``mkdtemp``'s 0700.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_debris(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{_OWNER}.", dir=folder.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        old = None
        if folder.exists():
            if not replace:
                raise FileExistsError(f"{folder}: exists")
            old = folder.with_name(f".{folder.name}.{_OWNER}.old")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


#: the process's file-creation mask (read once: ``os.umask`` can only be read by setting it)
_UMASK = os.umask(0o022)
os.umask(_UMASK)
#: who writes a temporary file: ``host-pid`` (dots and dashes of the host name dropped)
_OWNER = f"{''.join(c for c in socket.gethostname() if c.isalnum())[:32]}-{os.getpid()}"


def remove_debris(path: str | os.PathLike) -> int:
    """Remove temporary files of :func:`atomic_path` for ``path`` left by dead processes.

    Only files of processes of this host that no longer run are removed (a file of
    another host or of a live process may be a write in progress). Returns how many.
    """
    path = Path(path)
    host = _OWNER.rsplit("-", 1)[0]
    removed = 0
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.{host}-*"))
    except OSError:
        return 0
    for candidate in candidates:
        pid_text = candidate.name[len(path.name) + len(host) + 3 :].split(".", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            with contextlib.suppress(OSError):
                if candidate.is_dir():
                    shutil.rmtree(candidate)
                else:
                    candidate.unlink()
                removed += 1
    return removed


def clean_debris(folder: str | os.PathLike) -> int:
    """Remove every temporary file or folder in ``folder`` left by a dead process of this host.

    The names are those of :func:`atomic_path` and :func:`atomic_folder`
    (``.<name>.<host>-<pid>.<random>``). Returns how many were removed.
    """
    folder = Path(folder)
    host = _OWNER.rsplit("-", 1)[0]
    marker = f".{host}-"
    removed = 0
    try:
        entries = [entry for entry in folder.iterdir() if entry.name.startswith(".")]
    except OSError:
        return 0
    for entry in entries:
        at = entry.name.rfind(marker)
        if at <= 0:
            continue
        pid_text = entry.name[at + len(marker) :].split(".", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            with contextlib.suppress(OSError):
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed += 1
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` (without its index) atomically: Parquet for ``.parquet``, else CSV.

    Returns
    -------
    Path
        ``path``, written only if the whole table was.
    """
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        return write_csv(table, path)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


#: rows formatted at a time by :func:`write_csv` (bounds the memory of the text)
CSV_CHUNK_ROWS = 100_000


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` (without its index) as CSV atomically; returns the path.

    The bytes are exactly those of ``table.to_csv(path, index=False)`` (pandas' number
    formatting, ``True``/``False``, empty missing values, minimal quoting), formatted
    column by column with pyarrow's vectorised kernels instead of row by row: about ten
    times faster on a result's million-row OD and link tables. Tables with a column of
    another kind (float32, dates, categories, ...) or a single column are written by
    pandas itself.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if table.shape[1] < 2 or not all(_csv_kind(table[c]) for c in table.columns):
            table.to_csv(tmp, index=False)
            return path
        with open(tmp, "wb") as f:
            f.write((",".join(_csv_quote_text(str(c)) for c in table.columns) + "\n").encode())
            for text in _formatted_chunks(table):
                f.write(text)
    return path


#: threads formatting CSV chunks at once (pyarrow's kernels release the GIL)
CSV_THREADS = min(4, os.cpu_count() or 1)


def _formatted_chunks(table: pd.DataFrame) -> Iterator[Any]:
    """:func:`_csv_rows` of each ``CSV_CHUNK_ROWS`` rows of ``table``, in order, formatted
    by up to :data:`CSV_THREADS` threads (at most one chunk more than threads in memory)."""
    starts = range(0, len(table), CSV_CHUNK_ROWS)
    if CSV_THREADS < 2 or len(starts) < 2:
        for start in starts:
            yield _csv_rows(table.iloc[start : start + CSV_CHUNK_ROWS])
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(CSV_THREADS) as pool:
        pending: deque[Any] = deque()
        for start in starts:
            pending.append(pool.submit(_csv_rows, table.iloc[start : start + CSV_CHUNK_ROWS]))
            if len(pending) > CSV_THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _csv_kind(column: pd.Series) -> str | None:
    """How :func:`write_csv` formats ``column``: "int", "float", "bool", "text" or ``None``."""
    dtype = column.dtype
    if dtype == np.bool_:
        return "bool"
    if dtype.kind in "iu" and isinstance(dtype, np.dtype):
        return "int"
    if dtype == np.float64:
        return "float"
    if (isinstance(dtype, np.dtype) and dtype.kind == "O") or str(dtype) in ("string", "str"):
        return "text"
    return None


def _csv_rows(chunk: pd.DataFrame) -> Any:
    """The CSV lines (each ending in a newline) of ``chunk``, pandas' formatting."""
    import pyarrow.compute as pc

    cells = [_csv_cells(chunk[c], _csv_kind(chunk[c])) for c in chunk.columns]
    # the line feed goes on the last field (a short column), not on the joined line
    cells[-1] = pc.binary_join_element_wise(pc.fill_null(cells[-1], ""), _text("\n"), _text(""))
    return _string_bytes(pc.binary_join_element_wise(*cells, _text(","), null_handling="replace"))


def _text(value: str) -> Any:
    """A pyarrow large-string scalar."""
    import pyarrow as pa

    return pa.scalar(value, pa.large_string())


def _string_bytes(strings: Any) -> Any:
    """The characters of a pyarrow string array, concatenated (a bytes-like pyarrow buffer:
    written as it is, not copied into a ``bytes`` first)."""
    import pyarrow as pa

    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    strings = pa.concat_arrays([strings.cast(pa.large_string())])  # its own buffers, offset 0
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = strings.buffers()[2]
    if data is None:
        return b""
    return data[int(offsets[0]) : int(offsets[-1])]


def _csv_cells(column: pd.Series, kind: str | None) -> Any:
    """One pyarrow string array of ``column``'s CSV fields (``None`` where empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.to_numpy()
    if kind == "bool":
        return pa.array(np.where(values, "True", "False"), pa.large_string())
    if kind == "int":
        return pc.cast(pa.array(values), pa.large_string())
    if kind == "float":
        return _float_cells(np.asarray(values, dtype=np.float64))
    try:  # text (str/None/NaN) columns convert directly; anything else through str()
        text = pa.array(column, pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        missing = column.isna().to_numpy()
        text = pa.array(
            [None if m else str(v) for v, m in zip(values.tolist(), missing.tolist(), strict=True)],
            pa.large_string(),
        )
    quote = pc.match_substring_regex(text, '[,"\n]')  # csv's QUOTE_MINIMAL with "\n" lines
    quoted = pc.binary_join_element_wise(
        _text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text("")
    )
    return pc.if_else(pc.fill_null(quote, False), quoted, text)


#: pyarrow writes numbers of these sizes in plain decimals, as Python's repr does (checked
#: by tests/test_io_csv.py); outside them one of the two uses an exponent, so repr decides
_PLAIN_DECIMALS = (1e-4, 1e10)


def _float_cells(values: np.ndarray) -> Any:
    """CSV fields of float64 ``values`` as pandas writes them (Python's repr; NaN empty).

    pyarrow's shortest round-trip digits are repr's digits; only the notation differs:
    pyarrow writes whole numbers without ".0" and uses exponents from 1e10 and below 1e-6
    (repr: from 1e16 and below 1e-4). The cells are told apart with numpy, not by scanning
    the text: whole numbers get ".0", sizes outside :data:`_PLAIN_DECIMALS` use repr.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(values, from_pandas=True), pa.large_string())
    size = np.abs(values)
    low, high = _PLAIN_DECIMALS
    odd = np.isfinite(values) & (values != 0) & ((size < low) | (size >= high))
    whole = ~odd & np.isfinite(values) & (values == np.trunc(values))
    if whole.any():  # "-0" and "3" become "-0.0" and "3.0"
        digits = pc.cast(pa.array(values[whole]), pa.large_string())
        text = pc.replace_with_mask(
            text, pa.array(whole), pc.binary_join_element_wise(digits, _text(".0"), _text(""))
        )
    if odd.any():
        fixed = pa.array([repr(float(v)) for v in values[odd]], pa.large_string())
        text = pc.replace_with_mask(text, pa.array(odd), fixed)
    return text


def _csv_quote_text(text: str) -> str:
    """``text`` as one CSV field (quoted only when it holds a comma, quote or line feed)."""
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


#: types :func:`plain_json` keeps as they are (floats only when finite)
_SCALARS = frozenset({float, int, str, bool, type(None)})


def plain_json(value: Any) -> Any:
    """``value`` for :func:`json.dumps`: numpy types and paths as Python ones, non-finite floats
    as ``None``, mappings with string keys, tuples and arrays as lists."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(type(v) in _SCALARS for v in value):  # long coordinate lists: no call per item
            return [None if type(v) is float and not math.isfinite(v) else v for v in value]
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
