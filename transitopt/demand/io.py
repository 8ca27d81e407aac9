"""Reading an OD matrix from any supported file and attaching its zones to a network."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import DemandError, InputFileError
from ..network.compiled import Network
from .od import ODMatrix

#: file kinds :func:`read_od` accepts
OD_FORMATS = (".csv", ".omx", "_trips.tntp")


def read_od(path: str | os.PathLike, *, zones: np.ndarray | None = None) -> ODMatrix:
    """An OD matrix from a long CSV, an OMX file or a TNTP trips file.

    The one OD reader of transitopt (the API, the scenario files and the CLI use it).

    Parameters
    ----------
    path : path
        ``.csv`` with columns ``origin``, ``destination``, ``trips`` (repeated pairs are
        summed); ``.omx`` (the first matrix; zone ids from the mapping ``zones`` or
        ``zone``, see :meth:`ODMatrix.read_omx`); ``*_trips.tntp``.
    zones : (z,) int, optional
        Zone ids to lay the matrix on, in this order (zones without trips get zeros).
        Default: the ids the file names.

    Returns
    -------
    ODMatrix
        Trips per period as the file holds them.

    Raises
    ------
    InputFileError
        The file is missing, of an unknown kind or unreadable.
    DemandError
        A bad value, or (with ``zones``) a zone id that is not in ``zones``.
    """
    from ..network.tntp import read_tntp_trips

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: demand file not found")
    name = path.name.lower()
    if name.endswith(".tntp"):
        od = read_tntp_trips(path)
    elif name.endswith(".omx"):
        od = ODMatrix.read_omx(path)
    elif name.endswith(".csv"):
        od = ODMatrix.read_csv(path)
    else:
        raise InputFileError(f"{path}: unknown demand format; expected one of {OD_FORMATS}")
    if zones is None:
        return od
    zones = np.asarray(zones, dtype=np.int64)
    position = pd.Index(zones).get_indexer(od.zones)
    if (position < 0).any():
        unknown = od.zones[position < 0][:5].tolist()
        raise DemandError(f"{path}: the OD file names zones {unknown} that are not zones")
    matrix = np.zeros((zones.size, zones.size))
    matrix[np.ix_(position, position)] = od.matrix
    return ODMatrix(zones=zones, matrix=matrix)


def attach_to_nodes(demand: ODMatrix, zones: pd.DataFrame, network: Network) -> ODMatrix:
    """Re-key ``demand`` from zone ids to the network node ids its zones attach to.

    ``zones`` has columns ``zone`` and ``node`` (compiled index, e.g. from
    :func:`transitopt.paths.snap_points`). Zones that attach to the same node are
    merged (their trips summed), so no trip is lost.
    """
    lookup = pd.Series(zones["node"].to_numpy(), index=zones["zone"].to_numpy())
    missing = np.setdiff1d(demand.zones, lookup.index.to_numpy())
    if missing.size:
        raise InputFileError(
            f"demand names zone(s) that the zone table lacks: {missing[:5].tolist()}"
        )
    table = demand.to_frame()
    table["origin"] = network.node_id[lookup.loc[table["origin"]].to_numpy()]
    table["destination"] = network.node_id[lookup.loc[table["destination"]].to_numpy()]
    return ODMatrix.from_frame(table)
