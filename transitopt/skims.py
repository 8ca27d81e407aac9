"""Zone-to-zone skims: snap zones to the network, run the skim kernels, write CSV or OMX."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import InputFileError
from ._io import atomic_path
from ._progress import ProgressCallback
from .network.compiled import Network
from .paths import skim, snap_points

#: file endings a skim can be written to
SKIM_FORMATS = (".csv", ".omx")


@dataclass(frozen=True)
class ZoneSkim:
    """A zone-to-zone matrix.

    Attributes
    ----------
    zones : DataFrame
        ``zone``, ``x``, ``y``, ``node`` (compiled index it attaches to), ``snap_m``.
    matrix : (n_zones, n_zones) float64
        Cost from row zone to column zone in the units of ``weight`` (seconds for
        ``free_flow_time_s``, metres for ``length_m``); ``inf`` where unreachable.
    weight : str
        Name of the per-edge array the cost was summed over.
    """

    zones: pd.DataFrame
    matrix: np.ndarray
    weight: str

    @property
    def n_unreachable(self) -> int:
        """Number of ordered zone pairs with no path."""
        return int(np.isinf(self.matrix).sum())

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``origin``, ``destination``, ``cost`` (``inf`` where unreachable)."""
        ids = self.zones["zone"].to_numpy()
        n = ids.size
        return pd.DataFrame(
            {
                "origin": np.repeat(ids, n),
                "destination": np.tile(ids, n),
                self.weight: self.matrix.ravel(),
            }
        )


def zone_skim(
    network: Network,
    zones: pd.DataFrame,
    *,
    weight: str = "free_flow_time_s",
    max_snap_m: float | None = None,
    chunk_size: int = 256,
    progress: ProgressCallback | None = None,
) -> ZoneSkim:
    """Cost matrix between ``zones`` (columns ``zone``, ``x``, ``y``) over ``network``.

    Each zone attaches to its nearest node; a zone farther than ``max_snap_m`` metres
    from any node raises :class:`~transitopt.SnappingError`. ``progress`` is called with
    ``{"done": origins skimmed, "total": zones}`` after each chunk of origins.
    """
    node, snap_m = snap_points(
        network, zones["x"].to_numpy(), zones["y"].to_numpy(), max_distance_m=max_snap_m
    )
    attached = zones.assign(node=np.asarray(node, dtype=np.int64), snap_m=np.asarray(snap_m))
    nodes = attached["node"].to_numpy()
    n = len(attached)
    matrix = np.empty((n, n))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        matrix[start:stop] = skim(network, nodes[start:stop], nodes, weight=weight, by_index=True)
        if progress is not None:
            progress({"done": stop, "total": n})
    return ZoneSkim(zones=attached.reset_index(drop=True), matrix=matrix, weight=weight)


def write_skim(result: ZoneSkim, path: str | os.PathLike) -> Path:
    """Write a skim as long CSV (``origin,destination,<weight>``) or as OMX (matrix + zone map)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SKIM_FORMATS:
        raise InputFileError(
            f"{path}: unknown skim format {suffix!r}; expected one of {SKIM_FORMATS}"
        )
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            result.to_frame().to_csv(tmp, index=False)
        else:
            import openmatrix as omx

            with omx.open_file(str(tmp), "w") as handle:
                handle[result.weight] = result.matrix
                handle.create_mapping("zone", result.zones["zone"].to_numpy())
    return path
