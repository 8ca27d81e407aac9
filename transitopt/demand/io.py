"""Reading an OD matrix from any supported file and attaching its zones to a network."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import InputFileError
from ..network.compiled import Network
from .od import ODMatrix

#: file kinds :func:`read_demand` accepts
DEMAND_FORMATS = (".csv", ".omx", "_trips.tntp")


def read_demand(path: str | os.PathLike) -> ODMatrix:
    """An OD matrix from long CSV (``origin,destination,trips``), OMX or a TNTP trips file."""
    from ..network.tntp import read_tntp_trips

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: demand file not found")
    name = path.name.lower()
    if name.endswith(".tntp"):
        return read_tntp_trips(path)
    if name.endswith(".omx"):
        return ODMatrix.read_omx(path)
    if name.endswith(".csv"):
        return ODMatrix.read_csv(path)
    raise InputFileError(f"{path}: unknown demand format; expected one of {DEMAND_FORMATS}")


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
