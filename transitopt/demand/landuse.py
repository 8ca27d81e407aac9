"""Population and jobs proxies from OpenStreetMap buildings and points of interest.

For cities without census or employment data, :func:`read_landuse` reads building
footprints and POIs from the same OSM file as the street network (pyosmium; areas are
assembled from closed ways and multipolygon relations) and estimates:

* floor area = footprint area x levels. Levels come from ``building:levels``, else
  ``height`` / :attr:`LandUseParameters.storey_height_m`, else the median tagged levels
  of the same building type in the same file (when at least
  :attr:`~LandUseParameters.min_tagged_for_median` are tagged), else
  :data:`DEFAULT_LEVELS` by building type;
* population = residential floor area / :attr:`~LandUseParameters.m2_per_person`;
* jobs = floor area of commercial, industrial and civic buildings / m² per job of
  their class (:attr:`~LandUseParameters.m2_per_job`);
* ``building=yes`` and other unknown types take the class of the OSM ``landuse``
  polygon they stand in (residential, commercial/retail, industrial), else "mixed":
  :attr:`~LandUseParameters.mixed_residential_share` of the floor area houses people,
  the rest jobs;
* POI counts by category (:data:`POI_CATEGORIES`: shop, office, education, health,
  food, services) from tagged nodes and from the centroids of tagged areas.

Every default lives in :class:`LandUseParameters` and the tables below; they are
planning-level assumptions, to be replaced by local figures where a city has them.
:func:`read_landuse_table` reads a user's own table (points or polygons with numeric
columns) instead; :func:`zone_totals` and :func:`node_totals` allocate either to zones
or to network nodes.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError, SnappingError
from ..geo import METRES_PER_DEGREE, local_xy

#: building class of each OSM ``building=*`` value; unknown values and ``yes`` are
#: classed by the landuse polygon around them, else "mixed"
BUILDING_CLASS: dict[str, str] = {
    **dict.fromkeys(
        [
            "apartments",
            "residential",
            "house",
            "detached",
            "semidetached_house",
            "terrace",
            "dormitory",
            "bungalow",
            "cabin",
            "farm",
            "houseboat",
            "static_caravan",
            "flats",
            "dwelling_house",
            "townhouse",
        ],
        "residential",
    ),
    **dict.fromkeys(
        [
            "commercial",
            "office",
            "retail",
            "supermarket",
            "kiosk",
            "hotel",
            "shop",
            "mall",
            "bank",
            "restaurant",
            "store",
        ],
        "commercial",
    ),
    **dict.fromkeys(
        ["industrial", "warehouse", "manufacture", "factory", "depot", "hangar"], "industrial"
    ),
    **dict.fromkeys(
        [
            "school",
            "university",
            "college",
            "kindergarten",
            "hospital",
            "clinic",
            "public",
            "civic",
            "government",
            "train_station",
            "transportation",
            "fire_station",
            "police",
            "church",
            "cathedral",
            "chapel",
            "mosque",
            "temple",
            "synagogue",
            "religious",
            "museum",
            "library",
            "sports_hall",
            "stadium",
            "office;public",
        ],
        "civic",
    ),
    **dict.fromkeys(
        [
            "garage",
            "garages",
            "shed",
            "roof",
            "parking",
            "carport",
            "construction",
            "hut",
            "greenhouse",
            "barn",
            "ruins",
            "bunker",
            "tower",
            "service",
            "utility",
            "toilets",
            "bridge",
            "stable",
            "cowshed",
            "no",
            "entrance",
            "transformer_tower",
            "water_tower",
            "container",
            "tent",
            "pavilion",
            "atrium",
            "grandstand",
            "boathouse",
            "silo",
            "storage_tank",
            "digester",
            "gatehouse",
        ],
        "none",
    ),
}

#: building class of the OSM ``landuse=*`` polygon a building of unknown type stands in
LANDUSE_CLASS: dict[str, str] = {
    "residential": "residential",
    "commercial": "commercial",
    "retail": "commercial",
    "industrial": "industrial",
    "education": "civic",
    "institutional": "civic",
    "religious": "civic",
}

#: levels of a building with no level or height tag and too few tagged neighbours of its
#: type: low-rise for houses, sheds and single-storey retail/industry, mid-rise otherwise
DEFAULT_LEVELS: dict[str, float] = {
    "house": 2.0, "detached": 2.0, "semidetached_house": 2.0, "terrace": 2.0, "bungalow": 1.0,
    "cabin": 1.0, "farm": 2.0, "apartments": 4.0, "residential": 3.0, "dormitory": 4.0,
    "commercial": 3.0, "office": 4.0, "retail": 1.0, "supermarket": 1.0, "kiosk": 1.0,
    "hotel": 5.0, "industrial": 1.0, "warehouse": 1.0, "school": 2.0, "university": 3.0,
    "hospital": 4.0, "church": 1.0, "yes": 2.0,
}  # fmt: skip
#: levels of building types not in :data:`DEFAULT_LEVELS`
FALLBACK_LEVELS = 2.0

#: POI categories: (OSM key, values or "*" for any value) pairs; the first match wins
POI_CATEGORIES: dict[str, list[tuple[str, Any]]] = {
    "education": [
        ("amenity", {"school", "kindergarten", "college", "university", "language_school",
                     "music_school", "driving_school", "childcare", "library"}),
    ],
    "health": [
        ("amenity", {"hospital", "clinic", "doctors", "dentist", "pharmacy", "nursing_home",
                     "social_facility", "veterinary"}),
        ("healthcare", "*"),
    ],
    "shop": [("shop", "*")],
    "office": [("office", "*")],
    "food": [("amenity", {"restaurant", "cafe", "fast_food", "bar", "pub", "food_court",
                          "ice_cream", "biergarten"})],
    "services": [
        ("amenity", {"bank", "post_office", "townhall", "police", "courthouse", "community_centre",
                     "arts_centre", "cinema", "theatre", "marketplace", "place_of_worship",
                     "fire_station", "public_building", "social_centre", "conference_centre",
                     "nightclub", "studio", "internet_cafe", "bureau_de_change", "money_transfer"}),
    ],
}  # fmt: skip
#: OSM keys read for POIs
POI_KEYS = ("amenity", "shop", "office", "healthcare")

_NUMBER = re.compile(r"[-+]?\d*\.?\d+")


@dataclass(frozen=True)
class LandUseParameters:
    """Conversion factors from floor area to residents and jobs.

    Attributes
    ----------
    m2_per_person : float
        Gross residential floor area per resident (m²). 35 m² suits European cities
        (Finland averages about 40 m² of dwelling floor per person, Statistics Finland
        2020); Indonesian cities are nearer 10-15 m²: set it for the city.
    m2_per_job : dict
        Gross floor area per job (m²) by building class: ``commercial`` (offices, shops,
        hotels), ``industrial`` and ``civic`` (schools, hospitals, public buildings).
        Defaults 30 / 80 / 50, typical planning ratios (offices 15-25 m² net, retail and
        services 30-50, industry and warehousing 60-120).
    mixed_residential_share : float
        Share of the floor area of a "mixed" building (``building=yes`` or an unknown
        type outside a classed landuse polygon) that houses people; the rest counts as
        ``commercial`` jobs.
    storey_height_m : float
        Metres per level when only ``height`` is tagged.
    min_tagged_for_median : int
        Buildings of one type with tagged levels needed before their median stands in
        for the untagged ones of that type.
    """

    m2_per_person: float = 35.0
    m2_per_job: dict[str, float] = field(
        default_factory=lambda: {"commercial": 30.0, "industrial": 80.0, "civic": 50.0}
    )
    mixed_residential_share: float = 0.5
    storey_height_m: float = 3.0
    min_tagged_for_median: int = 10

    def __post_init__(self) -> None:
        if not self.m2_per_person > 0:
            raise ValueError(f"m2_per_person must be > 0, got {self.m2_per_person}")
        for key in ("commercial", "industrial", "civic"):
            value = self.m2_per_job.get(key)
            if value is None or not value > 0:
                raise ValueError(f"m2_per_job[{key!r}] must be > 0, got {value}")
        if not 0.0 <= self.mixed_residential_share <= 1.0:
            raise ValueError(
                f"mixed_residential_share must lie in [0, 1], got {self.mixed_residential_share}"
            )
        if not self.storey_height_m > 0:
            raise ValueError(f"storey_height_m must be > 0, got {self.storey_height_m}")


@dataclass(frozen=True, eq=False)
class LandUse:
    """Buildings and POIs of an area, with population and jobs estimates.

    Attributes
    ----------
    buildings : GeoDataFrame
        One row per building (EPSG:4326 polygons): ``osm_type``, ``osm_id``, ``building``,
        ``building_class``, ``footprint_m2``, ``levels``, ``levels_source`` (tag, height,
        median, default), ``floor_m2``, ``population``, ``jobs``, ``x``, ``y`` (centroid).
    pois : GeoDataFrame
        One row per POI (points; centroids of areas): ``osm_type``, ``osm_id``, ``category``,
        ``key``, ``value``, ``x``, ``y``.
    params : LandUseParameters
    info : dict
        Counts: buildings read and skipped (no area could be built), levels by source,
        building classes, POIs by category.
    """

    buildings: Any
    pois: Any
    params: LandUseParameters
    info: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (
            f"<LandUse {len(self.buildings)} buildings, population {self.total('population'):,.0f}, "
            f"jobs {self.total('jobs'):,.0f}, {len(self.pois)} POIs>"
        )

    def total(self, column: str) -> float:
        """Sum of a building column (``population``, ``jobs``, ``floor_m2``)."""
        return float(self.buildings[column].sum())

    def points(self) -> Any:
        """Opportunity points: buildings (centroids) with ``population`` and ``jobs``, and
        POIs with one count column per category of :data:`POI_CATEGORIES` plus ``pois``
        (their total). Every numeric column is 0 where it does not apply."""
        import geopandas as gpd

        categories = list(POI_CATEGORIES)
        b = self.buildings
        rows_b = pd.DataFrame({"x": b["x"].to_numpy(), "y": b["y"].to_numpy(),
                               "population": b["population"].to_numpy(), "jobs": b["jobs"].to_numpy()})  # fmt: skip
        p = self.pois
        rows_p = pd.DataFrame({"x": p["x"].to_numpy(), "y": p["y"].to_numpy()})
        for c in categories:
            rows_b[c] = 0.0
            rows_p[c] = (p["category"].to_numpy() == c).astype(np.float64)
        rows_b["pois"] = 0.0
        rows_p["pois"] = 1.0
        rows_p["population"] = 0.0
        rows_p["jobs"] = 0.0
        table = pd.concat([rows_b, rows_p[rows_b.columns]], ignore_index=True)
        return gpd.GeoDataFrame(
            table, geometry=gpd.points_from_xy(table["x"], table["y"]), crs="EPSG:4326"
        )


# ----------------------------------------------------------------------------- reading OSM


def read_landuse(path: str | os.PathLike, *, params: LandUseParameters | None = None) -> LandUse:
    """Buildings and POIs from an OSM file, with population and jobs estimates.

    Parameters
    ----------
    path : path
        ``.osm``, ``.osm.pbf``, ``.osm.bz2``... (anything pyosmium reads); the same file
        the street network came from.
    params : LandUseParameters, optional
        Conversion factors; defaults as documented on the class.

    Returns
    -------
    LandUse

    Raises
    ------
    InputFileError
        The file is missing or unreadable, or holds no building and no POI.
    """
    import geopandas as gpd

    params = params or LandUseParameters()
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: OSM file not found")
    try:
        try:
            scan = _scan(path)
        except RuntimeError as exc:
            if "out of order" not in str(exc):
                raise
            # area assembly needs id-sorted input (OSM API exports are not): sort a copy
            with tempfile.TemporaryDirectory() as tmp:
                scan = _scan(_sorted_copy(path, Path(tmp) / "sorted.osm.pbf"))
    except RuntimeError as exc:
        raise InputFileError(f"{path}: cannot read as OSM data ({exc})") from None
    buildings, landuse, pois, building_sources, failed_geometry = scan
    if not buildings and not pois:
        raise InputFileError(f"{path}: no building footprint and no point of interest found")
    b = _buildings_frame(buildings, landuse, params)
    skipped = max(0, building_sources - len(buildings))
    if skipped:
        warnings.warn(
            f"{path.name}: {skipped} of {building_sources} building outlines could not be built as areas "
            "(open rings or members outside the extract); they are left out",
            stacklevel=2,
        )
    poi_frame = pd.DataFrame(
        pois, columns=["osm_type", "osm_id", "category", "key", "value", "x", "y"]
    )
    poi_gdf = gpd.GeoDataFrame(
        poi_frame, geometry=gpd.points_from_xy(poi_frame["x"], poi_frame["y"]), crs="EPSG:4326"
    )
    info = {
        "source": str(path),
        "buildings": len(b),
        "buildings_skipped": skipped,
        "area_errors": failed_geometry,
        "levels_source": {k: int(v) for k, v in Counter(b["levels_source"]).items()},
        "building_class": {k: int(v) for k, v in Counter(b["building_class"]).items()},
        "pois": {k: int(v) for k, v in Counter(poi_gdf["category"]).items()},
        "population": float(b["population"].sum()),
        "jobs": float(b["jobs"].sum()),
    }
    return LandUse(buildings=b, pois=poi_gdf, params=params, info=info)


def _scan(path: Path) -> tuple[list, list, list, int, int]:
    """Buildings, classed landuse polygons and POIs of an id-sorted OSM file."""
    import osmium
    import shapely

    keys = ("building", "landuse", *POI_KEYS)
    wkb = osmium.geom.WKBFactory()
    buildings: list[tuple] = []
    landuse: list[tuple] = []
    pois: list[tuple] = []
    building_sources = 0  # closed ways and multipolygon relations tagged building
    failed_geometry = 0
    processor = (
        osmium.FileProcessor(str(path))
        .with_areas(osmium.filter.KeyFilter(*keys))
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    for obj in processor:
        tags = obj.tags
        if isinstance(obj, osmium.osm.Node):
            category = _poi_category(tags)
            if category is not None:
                key = category[1]
                pois.append(
                    (
                        "node",
                        obj.id,
                        category[0],
                        key,
                        tags.get(key),
                        obj.location.lon,
                        obj.location.lat,
                    )
                )
            continue
        if isinstance(obj, osmium.osm.Way):
            if "building" in tags and obj.is_closed():
                building_sources += 1
            continue
        if isinstance(obj, osmium.osm.Relation):
            if "building" in tags and tags.get("type") == "multipolygon":
                building_sources += 1
            continue
        if not isinstance(obj, osmium.osm.Area):
            continue  # a changeset: no geometry
        # an area, assembled from a closed way or a multipolygon relation
        try:
            geom = shapely.from_wkb(wkb.create_multipolygon(obj))
        except Exception:  # noqa: BLE001 - libosmium raises on degenerate rings
            failed_geometry += 1
            continue
        osm_type = "way" if obj.from_way() else "relation"
        osm_id = obj.orig_id()
        if "building" in tags and tags.get("building") != "no":
            buildings.append((osm_type, osm_id, tags.get("building"), tags.get("building:levels"),
                              tags.get("height"), geom))  # fmt: skip
        elif "landuse" in tags and tags["landuse"] in LANDUSE_CLASS:
            landuse.append((LANDUSE_CLASS[tags["landuse"]], geom))
        category = _poi_category(tags)
        if category is not None:
            c = geom.centroid
            pois.append(
                (osm_type, osm_id, category[0], category[1], tags.get(category[1]), c.x, c.y)
            )
    return buildings, landuse, pois, building_sources, failed_geometry


def _sorted_copy(path: Path, out: Path) -> Path:
    """Write ``path`` sorted by type then id (nodes, ways, relations) to ``out``."""
    import osmium

    mutable = osmium.osm.mutable
    writer = osmium.SimpleWriter(str(out))
    try:
        for entity in (osmium.osm.NODE, osmium.osm.WAY, osmium.osm.RELATION):
            objs: list[tuple[int, mutable.Node | mutable.Way | mutable.Relation]] = []
            for o in osmium.FileProcessor(str(path), entity):
                tags = {t.k: t.v for t in o.tags}
                if isinstance(o, osmium.osm.Node):
                    objs.append((o.id, mutable.Node(o, tags=tags)))
                elif isinstance(o, osmium.osm.Way):
                    nodes = [n.ref for n in o.nodes]
                    objs.append((o.id, mutable.Way(o, nodes=nodes, tags=tags)))
                elif isinstance(o, osmium.osm.Relation):
                    members = [(m.type, m.ref, m.role) for m in o.members]
                    objs.append((o.id, mutable.Relation(o, members=members, tags=tags)))
            objs.sort(key=lambda id_and_obj: id_and_obj[0])
            add = {osmium.osm.NODE: writer.add_node, osmium.osm.WAY: writer.add_way}.get(
                entity, writer.add_relation
            )
            for _, obj in objs:
                add(obj)
    finally:
        writer.close()
    return out


def _poi_category(tags: Any) -> tuple[str, str] | None:
    """(category, key) of the first :data:`POI_CATEGORIES` rule the tags match."""
    for category, rules in POI_CATEGORIES.items():
        for key, values in rules:
            value = tags.get(key)
            if value is None or value == "no":
                continue
            if values == "*" or value in values:
                return category, key
    return None


def parse_levels(value: Any) -> float:
    """Number of levels from a ``building:levels`` value ("5", "3;4", "2.5", "3-5"): the
    largest number found; ``nan`` if none or not positive."""
    if value is None:
        return math.nan
    numbers = [float(m) for m in _NUMBER.findall(str(value).replace(",", "."))]
    numbers = [abs(v) for v in numbers]
    best = max(numbers, default=math.nan)
    return best if best > 0 else math.nan


def _buildings_frame(rows: list[tuple], landuse: list[tuple], params: LandUseParameters) -> Any:
    """Buildings with footprint, levels, floor area, class, population and jobs."""
    import geopandas as gpd
    import shapely

    columns = ["osm_type", "osm_id", "building", "levels_tag", "height_tag", "geometry"]
    frame = pd.DataFrame(rows, columns=columns)
    geoms = frame["geometry"].to_numpy()
    gdf = gpd.GeoDataFrame(frame.drop(columns=["geometry"]), geometry=geoms, crs="EPSG:4326")
    if len(gdf) == 0:
        for c in ("building_class", "levels_source"):
            gdf[c] = pd.Series(dtype=object)
        for c in ("footprint_m2", "levels", "floor_m2", "population", "jobs", "x", "y"):
            gdf[c] = pd.Series(dtype=np.float64)
        return gdf.drop(columns=["levels_tag", "height_tag"])
    centroids = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    gdf["footprint_m2"] = footprint_area_m2(geoms, cy)
    gdf["x"], gdf["y"] = cx, cy
    kind = gdf["building"].astype(str)
    # levels: tag, height, per-type median of tagged, table default
    levels = np.array([parse_levels(v) for v in gdf["levels_tag"]])
    source = np.where(np.isfinite(levels), "tag", "").astype(object)
    heights = np.array([parse_levels(v) for v in gdf["height_tag"]]) / params.storey_height_m
    use_height = ~np.isfinite(levels) & np.isfinite(heights)
    levels[use_height] = np.maximum(1.0, np.round(heights[use_height]))
    source[use_height] = "height"
    tagged = pd.Series(levels[source == "tag"], index=kind[source == "tag"].to_numpy())
    medians = tagged.groupby(level=0).agg(["median", "size"])
    for btype in kind[~np.isfinite(levels)].unique():
        mask = (kind == btype).to_numpy() & ~np.isfinite(levels)
        if btype in medians.index and medians.loc[btype, "size"] >= params.min_tagged_for_median:
            levels[mask] = float(medians.loc[btype, "median"])
            source[mask] = "median"
        else:
            levels[mask] = DEFAULT_LEVELS.get(btype, FALLBACK_LEVELS)
            source[mask] = "default"
    gdf["levels"] = levels
    gdf["levels_source"] = source
    gdf["floor_m2"] = gdf["footprint_m2"] * levels
    # class: from the type, else from the landuse polygon around the centroid, else mixed
    klass = kind.map(BUILDING_CLASS).to_numpy(dtype=object)
    unknown = pd.isna(klass)
    if unknown.any() and landuse:
        tree = shapely.STRtree(np.array([g for _, g in landuse], dtype=object))
        use_class = np.array([c for c, _ in landuse], dtype=object)
        idx = np.flatnonzero(unknown)
        pairs = tree.query(centroids[idx], predicate="within")
        # first landuse polygon found for each building (polygons rarely overlap)
        first = pd.Series(pairs[1]).groupby(pairs[0]).first()
        klass[idx[first.index.to_numpy()]] = use_class[first.to_numpy()]
    klass = np.where(pd.isna(klass), "mixed", klass)
    gdf["building_class"] = klass
    floor = gdf["floor_m2"].to_numpy()
    share = np.select(
        [klass == "residential", klass == "mixed"], [1.0, params.mixed_residential_share], 0.0
    )
    gdf["population"] = floor * share / params.m2_per_person
    m2_job = np.select(
        [klass == "commercial", klass == "mixed", klass == "industrial", klass == "civic"],
        [params.m2_per_job["commercial"], params.m2_per_job["commercial"], params.m2_per_job["industrial"],
         params.m2_per_job["civic"]],
        np.inf,
    )  # fmt: skip
    job_share = np.where(klass == "mixed", 1.0 - params.mixed_residential_share, 1.0)
    gdf["jobs"] = floor * job_share / m2_job
    order = ["osm_type", "osm_id", "building", "building_class", "footprint_m2", "levels", "levels_source",
             "floor_m2", "population", "jobs", "x", "y", "geometry"]  # fmt: skip
    return gdf[order]


def footprint_area_m2(geoms: Any, lat: Any) -> np.ndarray:
    """Area (m²) of small lon/lat polygons: planar area in square degrees times the
    WGS84 ellipsoid's local scale at each polygon's latitude, (pi/180)² M N cos(lat)
    (M, N: meridional and prime-vertical radii of curvature). Within 1e-4 of the
    geodesic area for building-sized polygons."""
    import shapely

    a, f = 6_378_137.0, 1.0 / 298.257223563  # WGS84
    e2 = f * (2.0 - f)
    phi = np.deg2rad(np.asarray(lat, dtype=np.float64))
    w = 1.0 - e2 * np.sin(phi) ** 2
    m = a * (1.0 - e2) / w**1.5
    n = a / np.sqrt(w)
    return shapely.area(np.asarray(geoms)) * math.radians(1.0) ** 2 * m * n * np.cos(phi)


# ----------------------------------------------------------------------------- user tables


def read_landuse_table(
    path: str | os.PathLike,
    *,
    columns: list[str] | None = None,
    layer: str | None = None,
) -> Any:
    """A user's table of population, jobs or other opportunities.

    Parameters
    ----------
    path : path
        GeoPackage/GeoJSON/Shapefile/Parquet of points or polygons, or a CSV with
        ``lon``/``x`` and ``lat``/``y`` columns.
    columns : list of str, optional
        Numeric columns to keep (default: every numeric column except ids and
        coordinates). Missing values count as 0; negative values are an error.
    layer : str, optional
        Layer of a multi-layer file.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points or polygons with the chosen columns as float64.
    """
    import geopandas as gpd

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: land-use table not found")
    name = path.name.lower()
    try:
        if name.endswith(".csv"):
            table = pd.read_csv(path)
            lower = {c.lower(): c for c in table.columns}
            xc = next((lower[c] for c in ("lon", "longitude", "x") if c in lower), None)
            yc = next((lower[c] for c in ("lat", "latitude", "y") if c in lower), None)
            if xc is None or yc is None:
                raise InputFileError(
                    f"{path}: needs lon/x and lat/y columns; found {list(table.columns)}"
                )
            gdf = gpd.GeoDataFrame(
                table, geometry=gpd.points_from_xy(table[xc], table[yc]), crs="EPSG:4326"
            )
            gdf = gdf.drop(columns=[xc, yc])
        elif name.endswith(".parquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except InputFileError:
        raise
    except Exception as exc:  # readers raise many types for unreadable files
        raise InputFileError(f"{path}: cannot read land-use table ({exc})") from None
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    if columns is None:
        skip = {"id", "zone", "fid", "x", "y", "lon", "lat"}
        columns = [c for c in gdf.columns if c != gdf.geometry.name and c.lower() not in skip
                   and pd.api.types.is_numeric_dtype(gdf[c])]  # fmt: skip
        if not columns:
            raise InputFileError(f"{path}: no numeric column to use as population or opportunities")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputFileError(
            f"{path}: column(s) {missing} not found; columns are {list(gdf.columns)}"
        )
    out = gpd.GeoDataFrame(index=gdf.index, geometry=gdf.geometry, crs="EPSG:4326")
    for c in columns:
        values = pd.to_numeric(gdf[c], errors="coerce")
        text_bad = values.isna() & gdf[c].notna()
        if text_bad.any():
            raise InputFileError(
                f"{path}: column {c!r} value {gdf[c][text_bad].iloc[0]!r} is not a number"
            )
        values = values.fillna(0.0).astype(np.float64)
        if (values < 0).any():
            raise InputFileError(
                f"{path}: column {c!r} has negative value {values[values < 0].iloc[0]}"
            )
        out[c] = values.to_numpy()
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        raise InputFileError(
            f"{path}: row {int(np.flatnonzero(empty.to_numpy())[0])} has no geometry"
        )
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------- allocation


def zone_totals(zones: Any, data: Any, *, columns: list[str]) -> pd.DataFrame:
    """Sum numeric columns of points or polygons over zones.

    Points (buildings' centroids, POIs) count in the zone polygon that holds them; when
    ``zones`` has no polygons, in the zone with the nearest centroid. Polygons (a
    population grid) are split over zone polygons in proportion to the overlapping
    area (areal interpolation; each source polygon's value is assumed uniform over it).

    Parameters
    ----------
    zones : DataFrame or GeoDataFrame
        ``zone``, ``x``, ``y`` (EPSG:4326) and optionally polygon ``geometry``.
    data : GeoDataFrame
        Points or polygons (EPSG:4326) with the numeric ``columns``.
    columns : list of str

    Returns
    -------
    DataFrame
        Indexed by ``zone`` (all zones, 0 where nothing falls), one column per name,
        plus the ``attrs["outside"]`` totals of what fell in no zone.
    """
    import shapely

    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks column(s) {missing}")
    zone_ids = zones["zone"].to_numpy()
    values = data[columns].to_numpy(dtype=np.float64)
    out = np.zeros((len(zones), len(columns)))
    geoms = data.geometry.to_numpy()
    kinds = set(shapely.get_type_id(geoms).tolist())
    polygon_data = bool(kinds & {3, 6})
    has_polys = "geometry" in zones.columns and bool(
        set(shapely.get_type_id(zones.geometry.to_numpy()).tolist()) & {3, 6}
    )
    if polygon_data:
        if not has_polys:
            raise ValueError("areal interpolation of polygon data needs zone polygons")
        lat0 = float(np.nanmean(zones["y"].to_numpy()))
        zg = _to_local_metres(zones.geometry.to_numpy(), lat0)
        dg = _to_local_metres(geoms, lat0)
        areas = shapely.area(dg)
        tree = shapely.STRtree(zg)
        pairs = tree.query(dg, predicate="intersects")
        inter = shapely.area(shapely.intersection(dg[pairs[0]], zg[pairs[1]]))
        share = np.divide(
            inter, areas[pairs[0]], out=np.zeros_like(inter), where=areas[pairs[0]] > 0
        )
        np.add.at(out, pairs[1], values[pairs[0]] * share[:, None])
    else:
        pts = shapely.centroid(geoms)
        if has_polys:
            tree = shapely.STRtree(zones.geometry.to_numpy())
            pairs = tree.query(pts, predicate="within")
            first = (
                pd.Series(pairs[1]).groupby(pairs[0]).first()
            )  # a point on a shared edge counts once
            np.add.at(out, first.to_numpy(), values[first.index.to_numpy()])
        else:
            lat0 = float(np.nanmean(zones["y"].to_numpy()))
            zx, zy = local_xy(zones["x"].to_numpy(), zones["y"].to_numpy(), lat0)
            px, py = local_xy(shapely.get_x(pts), shapely.get_y(pts), lat0)
            from scipy.spatial import cKDTree

            _, nearest = cKDTree(np.column_stack([zx, zy])).query(np.column_stack([px, py]))
            np.add.at(out, nearest, values)
    frame = pd.DataFrame(out, columns=columns, index=pd.Index(zone_ids, name="zone"))
    frame.attrs["outside"] = {
        c: float(values[:, k].sum() - out[:, k].sum()) for k, c in enumerate(columns)
    }
    return frame


def node_totals(
    network: Any,
    data: Any,
    *,
    columns: list[str],
    max_snap_m: float | None = None,
) -> np.ndarray:
    """Sum numeric columns of points (or polygons, by centroid) at their nearest network node.

    Parameters
    ----------
    network : Network
    data : GeoDataFrame or DataFrame
        Points with ``geometry`` or ``x``/``y`` in the network's CRS.
    columns : list of str
    max_snap_m : float, optional
        Points farther than this from every node are left out (a warning gives how many
        and what they held); ``None`` keeps every point.

    Returns
    -------
    (n_nodes, len(columns)) float64
        Opportunities at each compiled node.
    """
    from ..paths import snap_points

    x, y = _xy(data)
    values = data[columns].to_numpy(dtype=np.float64)
    out = np.zeros((network.n_nodes, len(columns)))
    if len(values) == 0:
        return out
    node, dist = snap_points(network, x, y)
    keep = np.ones(node.size, dtype=bool)
    if max_snap_m is not None:
        keep = dist <= max_snap_m
        if not keep.all():
            lost = values[~keep].sum(axis=0)
            detail = ", ".join(f"{c} {v:,.1f}" for c, v in zip(columns, lost, strict=True))
            warnings.warn(
                f"{int((~keep).sum())} of {keep.size} points lie farther than {max_snap_m:g} m from the "
                f"network and are left out ({detail})",
                stacklevel=2,
            )
    if not keep.any():
        raise SnappingError(f"no point lies within {max_snap_m:g} m of the network")
    np.add.at(out, node[keep], values[keep])
    return out


def _xy(data: Any) -> tuple[np.ndarray, np.ndarray]:
    if "geometry" in data.columns:
        import shapely

        pts = shapely.centroid(data.geometry.to_numpy())
        return shapely.get_x(pts), shapely.get_y(pts)
    return data["x"].to_numpy(dtype=np.float64), data["y"].to_numpy(dtype=np.float64)


def _to_local_metres(geoms: np.ndarray, lat0: float) -> np.ndarray:
    import shapely

    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    return shapely.transform(geoms, lambda c: c * np.array([kx, METRES_PER_DEGREE]))
