"""Edge attributes from OSM tags, with per-class defaults from a country profile.

For every edge: free-flow speed (km/h) from ``maxspeed``, lanes per direction from
``lanes``, capacity (veh/h, or pcu/h in the Indonesian profile) = lanes x per-lane
capacity of the road class, BPR ``alpha``/``beta``, and free-flow time (s) = length /
speed. Whatever the tags do not give comes from the profile, a TOML file in
``transitopt/data/profiles`` (``generic``, ``indonesia``) or a user's own file.

Tag rules (documented choices)
------------------------------
- ``maxspeed``: numbers in km/h ("50"), with units ("30 mph", "50 km/h", "10 knots"),
  implicit country limits ("DE:urban", "ID:urban", "RU:motorway", "DE:zone30"), "walk".
  Several values ("50;30", "50|30", or a list after osmnx simplification): the
  **minimum** readable value. "none", "signals", "variable" and junk: class default.
- ``highway`` given as a list (osmnx simplification): the most important class
  (order of :data:`HIGHWAY_ORDER`).
- ``lanes``: junk-tolerant ("2", "2.5", "2;3" and lists take the minimum; "", "two", 0:
  class default). OSM counts the lanes of **both** directions on a two-way road, so a
  non-oneway edge gets ``lanes / 2`` (at least 1); a oneway edge gets ``lanes``.
  Profile defaults are already per direction.
- walk and bike networks: the profile's walking/cycling speed, 1 lane, infinite capacity.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import InputFileError
from ..defaults import deep_merge

#: road classes from most to least important; lists of classes resolve to the first one
HIGHWAY_ORDER = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "busway", "road", "living_street", "service", "track",
    "pedestrian", "footway", "cycleway", "bridleway", "path", "steps", "corridor",
)  # fmt: skip
_RANK = {name: i for i, name in enumerate(HIGHWAY_ORDER)}

#: sections of a profile file that hold per-class tables (each needs a ``default`` key)
CLASS_TABLES = ("speed_kph", "lanes_per_direction", "capacity_vph_per_lane")
_SECTIONS = {
    "profile",
    "bpr",
    "modes",
    "implicit_maxspeed",
    "permissions",
    "model",
    "pce",
    "external",
    *CLASS_TABLES,
}
_KPH_PER = {"km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)
_IMPLICIT = re.compile(r"^([A-Z]{2}(?:-[A-Z0-9]{1,3})?):([a-z_]+)(?::?(\d+))?$")
#: the shipped profile files (package data)
_PROFILE_FOLDER = Path(__file__).resolve().parent.parent / "data" / "profiles"


# ---------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class Profile:
    """Default attribute values by road class; see ``data/profiles/generic.toml``.

    Attributes
    ----------
    name : str
        Profile name (file stem).
    speed_kph, lanes_per_direction, capacity_vph_per_lane : dict
        Per-class values (km/h, lanes per direction, veh/h per lane); key ``default``
        for classes not listed.
    alpha, beta : float
        BPR volume-delay parameters.
    walk_speed_kph, bike_speed_kph : float
        Speeds on walk and bike networks.
    implicit_maxspeed : dict
        Implicit limits: ``{"urban": 50, ..., "DE": {"rural": 100, ...}}`` (km/h).
    digest : str
        sha256 of all values but ``[model]`` (part of the cache key).
    motorcycle_barred_highways : tuple of str
        ``highway=*`` values motorcycles may not use (``[permissions]``).
    motorcycle_barred_on_toll : bool
        Motorcycles may not use ``toll=yes`` ways (``[permissions]``).
    pce : dict
        ``[pce]``: passenger-car equivalents by road type (:mod:`transitopt.network.pce`);
        empty when the profile has none. Not part of ``digest`` (the compiled network
        does not depend on it).

    A way's own ``motorcycle=yes``/``designated`` lifts both bars; ``motorcycle=no`` bars
    it under every profile (:func:`motorcycle_barred`).
    """

    name: str
    speed_kph: dict[str, float]
    lanes_per_direction: dict[str, float]
    capacity_vph_per_lane: dict[str, float]
    alpha: float
    beta: float
    walk_speed_kph: float
    bike_speed_kph: float
    implicit_maxspeed: dict[str, Any] = field(repr=False)
    digest: str = field(repr=False)
    motorcycle_barred_highways: tuple[str, ...] = ()
    motorcycle_barred_on_toll: bool = False
    pce: dict[str, Any] = field(default_factory=dict, repr=False)

    def class_value(self, table: str, road_class: str) -> float:
        """Value of a per-class table for ``road_class`` (``default`` if not listed)."""
        values = getattr(self, table)
        return values.get(road_class, values["default"])


def available_profiles() -> list[str]:
    """Names of the profiles shipped with transitopt."""
    folder = _PROFILE_FOLDER
    return sorted(
        p.name[: -len(".toml")]
        for p in folder.iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("_")
    )


def load_profile(
    profile: str | Path = "generic",
    *,
    overrides: Mapping[str, Any] | str | Path | None = None,
) -> Profile:
    """Load an imputation profile and apply overrides.

    Parameters
    ----------
    profile
        Name of a shipped profile (see :func:`available_profiles`) or path to a TOML file
        with the layout of ``generic.toml`` (missing sections come from ``generic``).
    overrides
        Values replacing those of the profile, as a mapping of the same layout
        (``{"speed_kph": {"residential": 25}, "bpr": {"beta": 5}}``) or a TOML file path.

    Returns
    -------
    Profile

    Raises
    ------
    InputFileError
        A profile or overrides file is missing or not valid TOML.
    ValueError
        Unknown profile name or section, or a value that is not a positive number.
    """
    base = _read_toml(_shipped("_implicit_maxspeed"))
    merged = deep_merge(_read_toml(_shipped("generic")), base)
    if isinstance(profile, Path) or (isinstance(profile, str) and profile.endswith(".toml")):
        name = Path(profile).stem
        merged = deep_merge(merged, _checked(_read_toml(Path(profile)), str(profile)))
    else:
        if profile not in available_profiles():
            raise ValueError(
                f"unknown profile {profile!r}; expected one of {available_profiles()} "
                "or a path to a .toml file"
            )
        name = profile
        merged = deep_merge(merged, _checked(_read_toml(_shipped(profile)), profile))
    if overrides is not None:
        if isinstance(overrides, str | Path):
            extra = _checked(_read_toml(Path(overrides)), str(overrides))
        else:
            extra = _checked(dict(overrides), "overrides")
        merged = deep_merge(merged, extra)
    for table in CLASS_TABLES:
        for key, value in merged[table].items():
            _positive(value, f"{table}.{key}")
    bpr, modes = merged["bpr"], merged["modes"]
    _positive(bpr["beta"], "bpr.beta")
    if not isinstance(bpr["alpha"], int | float) or bpr["alpha"] < 0:
        raise ValueError(f"bpr.alpha must be a number >= 0, got {bpr['alpha']!r}")
    for key in ("walk_speed_kph", "bike_speed_kph"):
        _positive(modes[key], f"modes.{key}")
    payload = {k: v for k, v in merged.items() if k not in ("profile", "model", "pce")}
    permissions = merged.get("permissions", {})
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return Profile(
        name=name,
        speed_kph={k: float(v) for k, v in merged["speed_kph"].items()},
        lanes_per_direction={k: float(v) for k, v in merged["lanes_per_direction"].items()},
        capacity_vph_per_lane={k: float(v) for k, v in merged["capacity_vph_per_lane"].items()},
        alpha=float(bpr["alpha"]),
        beta=float(bpr["beta"]),
        walk_speed_kph=float(modes["walk_speed_kph"]),
        bike_speed_kph=float(modes["bike_speed_kph"]),
        implicit_maxspeed=merged["implicit_maxspeed"],
        digest=digest,
        motorcycle_barred_highways=tuple(
            str(v) for v in permissions.get("motorcycle_barred_highways", ())
        ),
        motorcycle_barred_on_toll=bool(permissions.get("motorcycle_barred_on_toll", False)),
        pce=dict(merged.get("pce", {})),
    )


def profile_model_defaults(profile: str | Path = "generic") -> dict[str, Any]:
    """The ``[model]`` table of a profile: defaults of a scenario's ``[model]`` when its
    ``network.profile`` names the profile (empty when the profile has none)."""
    return profile_section(profile, "model")


def profile_section(profile: str | Path, section: str) -> dict[str, Any]:
    """One table of a profile (a shipped name or a ``.toml`` path), empty when it has none
    (e.g. ``external``: the external-traffic rule, :mod:`transitopt.demand.external`)."""
    if isinstance(profile, Path) or (isinstance(profile, str) and profile.endswith(".toml")):
        data = _checked(_read_toml(Path(profile)), str(profile))
    elif profile in available_profiles():
        data = _checked(_read_toml(_shipped(profile)), profile)
    else:
        raise ValueError(
            f"unknown profile {profile!r}; expected one of {available_profiles()} "
            "or a path to a .toml file"
        )
    table = data.get(section, {})
    return dict(table) if isinstance(table, Mapping) else {}


def motorcycle_barred(tags: Mapping[str, Any], profile: Profile) -> bool:
    """Motorcycles may not use a way with these OSM tags under ``profile``.

    ``motorcycle=no`` (or ``motor_vehicle=no`` without ``motorcycle=yes``) bars them
    everywhere; the profile's ``[permissions]`` bar them from some ``highway=*`` values
    and from ``toll=yes`` ways, unless the way says ``motorcycle=yes`` or ``designated``.
    """
    own = _values(tags.get("motorcycle"))
    if "no" in own:
        return True
    if any(v in ("yes", "designated", "permissive") for v in own):
        return False
    if "no" in _values(tags.get("motor_vehicle")):
        return True
    if profile.motorcycle_barred_on_toll and "yes" in _values(tags.get("toll")):
        return True
    return any(h in profile.motorcycle_barred_highways for h in _values(tags.get("highway")))


def _shipped(name: str) -> Any:
    return _PROFILE_FOLDER / f"{name}.toml"


def _read_toml(path: Any) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise InputFileError(f"profile file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{path}: not valid TOML ({exc})") from None


def _checked(data: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(data) - _SECTIONS
    if unknown:
        raise ValueError(
            f"{where}: unknown section(s) {sorted(unknown)}; expected {sorted(_SECTIONS)}"
        )
    for key, value in data.items():
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: section {key!r} must be a table, got {value!r}")
    return data


def _positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"profile value {name} must be a positive number, got {value!r}")


# ---------------------------------------------------------------------------- tag parsing
def _values(value: Any) -> list[str]:
    """A tag value (string, number or list of them) as a list of strings."""
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, list | tuple | set):
        return [s for v in value for s in _values(v)]
    return [s.strip() for s in re.split(r"[;|]", str(value)) if s.strip()]


def parse_maxspeed(
    value: Any, *, implicit: Mapping[str, Any] | None = None
) -> tuple[float | None, str]:
    """Speed limit in km/h from an OSM ``maxspeed`` value.

    Parameters
    ----------
    value
        Tag value: ``"50"``, ``"30 mph"``, ``"50;30"``, ``"DE:urban"``, ``"walk"``, a list...
    implicit
        Implicit limits table (``Profile.implicit_maxspeed``); without it implicit values
        are not read.

    Returns
    -------
    (speed_kph, source)
        ``source`` is ``"tag"`` (a number), ``"implicit"`` (country code or "walk") or
        ``"default"`` with ``speed_kph=None`` (nothing readable: use the class default).
        With several values, the minimum and the source of that minimum.
    """
    best: tuple[float | None, str] = (None, "default")
    for text in _values(value):
        kph, source = _one_maxspeed(text, implicit or {})
        if kph is not None and (best[0] is None or kph < best[0]):
            best = (kph, source)
    return best


def _one_maxspeed(text: str, implicit: Mapping[str, Any]) -> tuple[float | None, str]:
    match = _NUMBER.match(text)
    if match:
        number = float(match.group(1).replace(",", "."))
        unit = (match.group(2) or "km/h").lower()
        kph = number * _KPH_PER[unit]
        return (kph, "tag") if 0 < kph < 400 else (None, "default")
    if text.lower() == "walk":
        walk_kph = implicit.get("walk")
        if isinstance(walk_kph, int | float):
            return float(walk_kph), "implicit"
        return None, "default"
    implicit_match = _IMPLICIT.match(text)
    if not implicit_match:
        return None, "default"
    region, kind, zone_kph = implicit_match.groups()
    if zone_kph is not None and kind.startswith("zone"):
        return float(zone_kph), "implicit"
    for table in (implicit.get(region), implicit.get(region.split("-")[0]), implicit):
        if isinstance(table, Mapping):
            table_kph = table.get(kind)
            if isinstance(table_kph, int | float) and not isinstance(table_kph, bool):
                return float(table_kph), "implicit"
    return None, "default"


def parse_lanes(value: Any) -> float | None:
    """Number of lanes from an OSM ``lanes`` value ("2", "2.5", "2;3", list: minimum); None if unreadable."""
    best = None
    for text in _values(value):
        try:
            lanes = float(text.replace(",", "."))
        except ValueError:
            continue
        if 0 < lanes < 50 and (best is None or lanes < best):
            best = lanes
    return best


def main_highway(value: Any) -> str:
    """The most important road class of an OSM ``highway`` value or list ("" if none)."""
    classes = _values(value)
    if not classes:
        return ""
    return min(classes, key=lambda c: (_RANK.get(c, len(_RANK)), c))


def is_oneway(value: Any) -> bool:
    """osmnx ``oneway`` edge attribute (bool, or a string after GraphML) as a bool."""
    if isinstance(value, list | tuple):
        return all(is_oneway(v) for v in value)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "-1")
    return bool(value)


# ---------------------------------------------------------------------------- imputation
def edge_attributes(
    data: Mapping[str, Any], *, profile: Profile, network_type: str = "drive"
) -> dict[str, Any]:
    """Imputed attributes of one osmnx edge.

    Parameters
    ----------
    data
        The edge's osmnx attributes (``highway``, ``maxspeed``, ``lanes``, ``oneway``,
        ``length`` in metres).
    profile
        Defaults, see :func:`load_profile`.
    network_type
        "walk" and "bike" use the profile's mode speed and infinite capacity.

    Returns
    -------
    dict
        ``road_class``, ``speed_kph``, ``speed_source``, ``lanes_per_direction``,
        ``lanes_source``, ``capacity_vph``, ``alpha``, ``beta``, ``free_flow_time_s``.
    """
    road_class = main_highway(data.get("highway"))
    if network_type in ("walk", "bike"):
        speed = profile.walk_speed_kph if network_type == "walk" else profile.bike_speed_kph
        speed_source = lanes_source = "mode"
        lanes, capacity = 1.0, math.inf
    else:
        tagged_speed, speed_source = parse_maxspeed(
            data.get("maxspeed"), implicit=profile.implicit_maxspeed
        )
        if tagged_speed is None:
            speed = profile.class_value("speed_kph", road_class)
        else:
            speed = tagged_speed
        tagged_lanes = parse_lanes(data.get("lanes"))
        if tagged_lanes is None:
            lanes, lanes_source = profile.class_value("lanes_per_direction", road_class), "default"
        else:
            lanes_source = "tag"
            lanes = tagged_lanes
            if not is_oneway(data.get("oneway", False)):
                lanes = max(lanes / 2.0, 1.0)
        capacity = lanes * profile.class_value("capacity_vph_per_lane", road_class)
    length = float(data.get("length", data.get("length_m", math.nan)))
    return {
        "road_class": road_class,
        "speed_kph": float(speed),
        "speed_source": speed_source,
        "lanes_per_direction": float(lanes),
        "lanes_source": lanes_source,
        "capacity_vph": float(capacity),
        "alpha": profile.alpha,
        "beta": profile.beta,
        "free_flow_time_s": length / (speed / 3.6),
    }


def impute_graph(G: Any, *, profile: Profile, network_type: str = "drive") -> Any:
    """Add imputed attributes (see :func:`edge_attributes`) to every edge of an osmnx graph.

    ``G`` is changed in place and returned (osmnx style). Run it before
    ``osmnx.simplify_graph`` with :data:`EDGE_ATTR_AGGS` so that merged edges sum their
    segments' free-flow times and keep their bottleneck capacity.
    """
    for _, _, data in G.edges(data=True):
        data.update(edge_attributes(data, profile=profile, network_type=network_type))
    return G


def merge_sources(values: Iterable[str]) -> str:
    """Source label of a merged edge: the common label, or ``"mixed"``."""
    unique = set(values)
    return unique.pop() if len(unique) == 1 else "mixed"


#: how ``osmnx.simplify_graph`` combines the imputed attributes of merged segments
EDGE_ATTR_AGGS = {
    "length": sum,
    "free_flow_time_s": sum,
    "capacity_vph": min,
    "lanes_per_direction": min,
    "speed_kph": min,
    "alpha": max,
    "beta": max,
    "road_class": main_highway,
    "speed_source": merge_sources,
    "lanes_source": merge_sources,
}
