"""Passenger-car equivalents per link by road type, from a profile's ``[pce]`` table.

A profile may give each vehicle kind (``motorcycle``, ``bus``, ``truck``) a PCE per road
type (the Indonesian profile: MKJI 1997's emp, ``data/profiles/indonesia.toml``). A
link's road type follows from what the compiled OSM network keeps:

* ``motorway``: ``road_class`` motorway or motorway_link;
* ``divided``: one-way, or two lanes or more per direction (``Network.lanes``);
* ``undivided_wide`` / ``undivided_narrow``: the rest, wide where the road class is in
  the table's ``wide_highways`` (OSM rarely tags the carriageway width).

Where the table has no value for a link's road type (motorcycles on a motorway), or the
network has no road classes (TNTP, GraphML without them), the caller's default applies.
"""

from __future__ import annotations

import numpy as np

from .compiled import Network
from .imputation import Profile, is_oneway, main_highway

#: road types of :func:`road_types`
ROAD_TYPES = ("motorway", "divided", "undivided_wide", "undivided_narrow")
MOTORWAYS = ("motorway", "motorway_link")


def road_types(network: Network, profile: Profile) -> np.ndarray | None:
    """The road type of every link (object array of :data:`ROAD_TYPES`); ``None`` when
    the network keeps no ``road_class`` or ``highway`` per link."""
    edges = network.edges
    column = "road_class" if "road_class" in edges.columns else "highway"
    if column not in edges.columns:
        return None
    classes = [main_highway(v) for v in edges[column].to_numpy(object)]
    oneway = (
        edges["oneway"].to_numpy(object)
        if "oneway" in edges.columns
        else np.zeros(network.n_edges, dtype=object)
    )
    wide = {str(h) for h in profile.pce.get("wide_highways", ())}
    lanes = np.asarray(network.lanes, dtype=np.float64)
    out = np.empty(network.n_edges, dtype=object)
    for e, road_class in enumerate(classes):
        if road_class in MOTORWAYS:
            out[e] = "motorway"
        elif is_oneway(oneway[e]) or lanes[e] >= 2.0:
            out[e] = "divided"
        elif road_class in wide:
            out[e] = "undivided_wide"
        else:
            out[e] = "undivided_narrow"
    return out


def has_pce_table(profile: Profile, vehicle: str) -> bool:
    """Whether ``profile`` gives ``vehicle`` a PCE by road type."""
    return isinstance(profile.pce.get(vehicle), dict) and bool(profile.pce[vehicle])


def link_pce(
    network: Network, vehicle: str, *, profile: Profile, default: float
) -> np.ndarray | None:
    """PCE of ``vehicle`` on every link (PCU per vehicle) from ``profile``'s ``[pce]``
    table, ``default`` where the table has no value for the link's road type.

    Returns ``None`` when the profile has no table for ``vehicle`` or the network has no
    road classes (the caller then uses one PCE for the class).

    Raises
    ------
    ValueError
        A table value that is not a number > 0, or a road type not in :data:`ROAD_TYPES`.
    """
    if not has_pce_table(profile, vehicle):
        return None
    table = profile.pce[vehicle]
    for key, value in table.items():
        if key not in ROAD_TYPES:
            raise ValueError(
                f"profile {profile.name!r} [pce] {vehicle}: unknown road type {key!r}; "
                f"expected one of {list(ROAD_TYPES)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(
                f"profile {profile.name!r} [pce] {vehicle}.{key} must be a number > 0, "
                f"got {value!r}"
            )
    types = road_types(network, profile)
    if types is None:
        return None
    values = {key: float(value) for key, value in table.items()}
    return np.array([values.get(t, float(default)) for t in types], dtype=np.float64)
