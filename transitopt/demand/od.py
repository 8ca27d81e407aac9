"""Origin-destination matrices: a dense zone-by-zone table of trips, with CSV and OMX I/O.

An :class:`ODMatrix` holds trips per analysis period (typically vehicles per hour) between
zones named by the node id of their centroid in the network (``Network.node_id``). It is
immutable; readers and writers go through pandas (CSV, long format) and ``openmatrix``
(OMX, one matrix plus the zone mapping). Writes are atomic: a failed write leaves no file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DemandError, InputFileError
from .._io import atomic_path

#: name of the OMX mapping that stores the zone ids in matrix order (readers also accept
#: ``"zone"``, which skims were written with before)
OMX_ZONE_MAPPING = "zones"
_OMX_ZONE_MAPPINGS = (OMX_ZONE_MAPPING, "zone")


def write_omx(
    path: str | os.PathLike, matrices: Mapping[str, np.ndarray], zones: np.ndarray
) -> Path:
    """Write zone-by-zone matrices and the zone mapping :data:`OMX_ZONE_MAPPING` to OMX.

    The one OMX writer of transitopt (OD matrices, skims). The write is atomic: a failed
    write leaves no file.

    Parameters
    ----------
    path : path
        The ``.omx`` file.
    matrices : mapping of str to (z, z) array
        Matrix name to values, in ``zones`` order.
    zones : (z,) int
        Zone ids in matrix order.

    Returns
    -------
    Path
    """
    import openmatrix as omx

    path = Path(path)
    with atomic_path(path) as tmp:
        handle = omx.open_file(str(tmp), "w")
        try:
            for name, matrix in matrices.items():
                handle[name] = matrix
            handle.create_mapping(OMX_ZONE_MAPPING, np.asarray(zones))
        finally:
            handle.close()
    return path


#: the most trips one OD pair may carry per period: far above any city (Sydney's whole
#: morning peak is under a million trips), low enough that sums stay exact in float64
MAX_TRIPS_PER_PAIR = 1e8
#: the most trips a whole matrix may hold per period (about a day's trips of the world)
MAX_TRIPS_TOTAL = 1e10


def check_trips(matrix: np.ndarray, zones: Any) -> None:
    """Raise :class:`DemandError` naming the first cell of the (z, z) trip ``matrix`` that is
    not a finite number in 0 .. :data:`MAX_TRIPS_PER_PAIR`, or when the total exceeds
    :data:`MAX_TRIPS_TOTAL`; ``zones`` are the z zone ids in matrix order."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(matrix) | (matrix < 0) | (matrix > MAX_TRIPS_PER_PAIR)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DemandError(
            f"demand from zone {_id(zones[i])} to zone {_id(zones[j])} is "
            f"{float(matrix[i, j])!r}; expected a finite number from 0 to "
            f"{MAX_TRIPS_PER_PAIR:.0e} trips ({int(bad.sum())} bad cells in all)"
        )
    total = float(matrix.sum())
    if total > MAX_TRIPS_TOTAL:
        raise DemandError(
            f"the OD matrix holds {total:.3g} trips in all; expected at most "
            f"{MAX_TRIPS_TOTAL:.0e} (a unit error, e.g. trips per year?)"
        )


def _id(value: Any) -> Any:
    """A zone id as written (``3``, not ``np.int64(3)``)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, eq=False)
class ODMatrix:
    """Trips between zones, dense.

    Attributes
    ----------
    zones : (z,) int64
        Node ids (``Network.node_id``) of the zone centroids, in matrix order; unique.
    matrix : (z, z) float64
        ``matrix[i, j]`` trips from ``zones[i]`` to ``zones[j]`` per analysis period
        (vehicles/hour for the TNTP networks); finite and >= 0.
    """

    zones: np.ndarray
    matrix: np.ndarray

    def __post_init__(self) -> None:
        zones = np.asarray(self.zones)
        if zones.ndim != 1:
            raise DemandError(f"zones must be one-dimensional, got shape {zones.shape}")
        if zones.size and not np.issubdtype(zones.dtype, np.integer):
            if not np.all(
                np.asarray(zones, dtype=np.float64) == np.round(zones.astype(np.float64))
            ):
                raise DemandError("zone ids must be integers (network node ids)")
        zones = zones.astype(np.int64)
        matrix = np.array(self.matrix, dtype=np.float64)  # always a private copy
        z = zones.size
        if matrix.shape != (z, z):
            raise DemandError(f"matrix has shape {matrix.shape}, expected ({z}, {z}) for {z} zones")
        unique, counts = np.unique(zones, return_counts=True)
        if unique.size != z:
            raise DemandError(
                f"zone ids must be unique; repeated: {unique[counts > 1][:5].tolist()}"
            )
        check_trips(matrix, zones)
        zones.flags.writeable = False
        matrix.flags.writeable = False
        object.__setattr__(self, "zones", zones)
        object.__setattr__(self, "matrix", matrix)

    # ------------------------------------------------------------------ summaries
    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return self.zones.size

    def total(self) -> float:
        """Total trips in the matrix."""
        return float(self.matrix.sum())

    def __repr__(self) -> str:
        return f"<ODMatrix {self.n_zones} zones, {np.count_nonzero(self.matrix)} OD pairs > 0, total {self.total():.6g}>"

    def to_frame(self, *, nonzero: bool = True) -> pd.DataFrame:
        """Long table with columns ``origin``, ``destination`` (zone ids) and ``trips``.

        Parameters
        ----------
        nonzero
            Keep only pairs with trips > 0 (default); otherwise every pair.
        """
        i, j = np.nonzero(self.matrix) if nonzero else np.indices(self.matrix.shape).reshape(2, -1)
        return pd.DataFrame(
            {"origin": self.zones[i], "destination": self.zones[j], "trips": self.matrix[i, j]}
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        zones: np.ndarray | None = None,
        origin: str = "origin",
        destination: str = "destination",
        trips: str = "trips",
    ) -> ODMatrix:
        """Build a matrix from a long table; repeated pairs are summed.

        Parameters
        ----------
        frame
            One row per OD pair.
        zones
            Zone ids in matrix order; default: the sorted ids found in ``frame``.
        origin, destination, trips
            Column names.
        """
        missing = [c for c in (origin, destination, trips) if c not in frame.columns]
        if missing:
            raise DemandError(f"OD table lacks column(s) {missing}; has {list(frame.columns)}")
        o = frame[origin].to_numpy(dtype=np.int64)
        d = frame[destination].to_numpy(dtype=np.int64)
        t = frame[trips].to_numpy(dtype=np.float64)
        if zones is None:
            zones = np.unique(np.concatenate([o, d]))
        zones = np.asarray(zones, dtype=np.int64)
        position = pd.Index(zones)
        oi = position.get_indexer(o)
        di = position.get_indexer(d)
        unknown = np.concatenate([o[oi < 0], d[di < 0]])
        if unknown.size:
            raise DemandError(
                f"OD table names zone(s) not in the zone list: {np.unique(unknown)[:5].tolist()}"
            )
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(t) | (t < 0) | (t > MAX_TRIPS_PER_PAIR)
        if bad.any():
            k = int(np.argmax(bad))
            raise DemandError(
                f"demand from zone {_id(o[k])} to zone {_id(d[k])} is {float(t[k])!r}; "
                f"expected a finite number from 0 to {MAX_TRIPS_PER_PAIR:.0e} trips"
            )
        matrix = np.zeros((zones.size, zones.size))
        np.add.at(matrix, (oi, di), t)
        return cls(zones=zones, matrix=matrix)

    # ------------------------------------------------------------------ CSV
    def to_csv(self, path: str | os.PathLike, *, nonzero: bool = True) -> Path:
        """Write the long table ``origin,destination,trips`` (atomically); returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.to_frame(nonzero=nonzero).to_csv(tmp, index=False, float_format="%.17g")
        return path

    @classmethod
    def read_csv(cls, path: str | os.PathLike, *, zones: np.ndarray | None = None) -> ODMatrix:
        """Read a long table with columns ``origin,destination,trips``.

        Zones default to the sorted ids found in the file (a zone without any trips is
        only kept when ``zones`` names it).
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"OD file not found: {path}")
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputFileError(f"{path}: not a readable CSV OD table ({exc})") from None
        try:
            return cls.from_frame(frame, zones=zones)
        except DemandError as exc:
            raise DemandError(f"{path}: {exc}") from None

    # ------------------------------------------------------------------ OMX
    def to_omx(self, path: str | os.PathLike, *, name: str = "demand") -> Path:
        """Write an OMX file with matrix ``name`` and the zone mapping ``zones`` (atomically)."""
        return write_omx(path, {name: self.matrix}, self.zones)

    @classmethod
    def read_omx(cls, path: str | os.PathLike, *, name: str | None = None) -> ODMatrix:
        """Read matrix ``name`` (default: the only or first matrix) from an OMX file.

        Zone ids come from the mapping ``zones`` or ``zone`` if present (else the file's
        only mapping, else ``1..z``).
        """
        import openmatrix as omx

        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"OMX file not found: {path}")
        try:
            handle = omx.open_file(str(path), "r")
        except Exception as exc:  # tables raises HDF5ExtError and friends
            raise InputFileError(f"{path}: not a readable OMX file ({exc})") from None
        try:
            names = handle.list_matrices()
            if not names:
                raise InputFileError(f"{path}: OMX file holds no matrix")
            if name is None:
                name = names[0]
            elif name not in names:
                raise InputFileError(f"{path}: no matrix {name!r}; the file has {names}")
            matrix = np.asarray(handle[name][:], dtype=np.float64)
            mappings = handle.list_mappings()
            known = [m for m in _OMX_ZONE_MAPPINGS if m in mappings]
            if known or len(mappings) == 1:
                mapping = known[0] if known else mappings[0]
                zones = np.asarray(handle.map_entries(mapping), dtype=np.int64)
            else:
                zones = np.arange(1, matrix.shape[0] + 1, dtype=np.int64)
        finally:
            handle.close()
        try:
            return cls(zones=zones, matrix=matrix)
        except DemandError as exc:
            raise DemandError(f"{path}: {exc}") from None
