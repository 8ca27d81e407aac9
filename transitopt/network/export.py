"""Writing a compiled network to GraphML, GeoPackage or (Geo)Parquet."""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import InputFileError
from .._io import atomic_path
from .compiled import Network

#: file endings and the format each one writes
EXPORT_FORMATS = {".graphml": "GraphML", ".gpkg": "GeoPackage", ".parquet": "GeoParquet"}


def export_network(network: Network, path: str | os.PathLike) -> Path:
    """Write ``network`` to ``path``; the format follows the ending (see ``EXPORT_FORMATS``).

    GraphML keeps every node and edge attribute and loads back with
    :func:`transitopt.network.load_network`; GeoPackage holds an ``edges`` and a
    ``nodes`` layer; Parquet holds the edges as GeoParquet. The file appears only
    once it is complete.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        accepted = ", ".join(EXPORT_FORMATS)
        raise InputFileError(
            f"{path}: unknown export format {suffix!r}; expected one of {accepted}"
        )
    with atomic_path(path) as tmp:
        if suffix == ".graphml":
            import osmnx as ox

            ox.io.save_graphml(network.to_networkx(), filepath=tmp)
        elif suffix == ".gpkg":
            edges = _stringify_lists(network.to_geodataframe())
            edges.to_file(tmp, layer="edges", driver="GPKG")
            _nodes_geodataframe(network).to_file(tmp, layer="nodes", driver="GPKG")
        else:
            _stringify_lists(network.to_geodataframe()).to_parquet(tmp)
    return path


def _nodes_geodataframe(network: Network):
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"node": range(network.n_nodes), "node_id": network.node_id, "centroid": network.centroid},
        geometry=gpd.points_from_xy(network.node_x, network.node_y),
        crs=network.crs,
    )


def _stringify_lists(frame):
    """OSM attributes can hold lists (merged ways) and mixed types; file formats want one
    scalar type per column, so such columns become text (lists joined with ``;``)."""
    for column in frame.columns:
        if column != "geometry" and frame[column].dtype == object:
            frame[column] = frame[column].map(_as_text)
    return frame


def _as_text(value):
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
