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
from .demand.od import write_omx
from .network.compiled import Network
from .paths import MAX_SNAP_M, check_near_network, skim, snap_points

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
    max_snap_m: float | None = MAX_SNAP_M,
    chunk_size: int = 256,
    progress: ProgressCallback | None = None,
) -> ZoneSkim:
    """Cost matrix between ``zones`` (columns ``zone``, ``x``, ``y``) over ``network``.

    Each zone attaches to its nearest node; a zone farther than ``max_snap_m`` metres
    (default :data:`~transitopt.paths.MAX_SNAP_M`, 2 km; ``None``: no limit) from any node
    raises :class:`~transitopt.SnappingError` naming the farthest zone (and swapped
    longitude/latitude, when that is the cause). ``progress`` is called with
    ``{"done": origins skimmed, "total": zones}`` after each chunk of origins.
    """
    x, y = zones["x"].to_numpy(), zones["y"].to_numpy()
    node, snap_m = snap_points(network, x, y)
    check_near_network(network, x, y, snap_m, labels=zones["zone"], limit_m=max_snap_m)
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
    """Write a skim as long CSV (``origin,destination,<weight>``) or as OMX (matrix + the zone mapping ``zones``, see
    :func:`transitopt.demand.od.write_omx`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SKIM_FORMATS:
        raise InputFileError(
            f"{path}: unknown skim format {suffix!r}; expected one of {SKIM_FORMATS}"
        )
    if suffix == ".omx":
        return write_omx(path, {result.weight: result.matrix}, result.zones["zone"].to_numpy())
    with atomic_path(path) as tmp:
        result.to_frame().to_csv(tmp, index=False)
    return path
