"""Geography helpers: great-circle distances and local metric coordinates.

The one home for Earth-geometry constants and conversions outside the kernels (the
kernels keep their own ``@njit`` haversine in :mod:`transitopt.kernels.snapping`, which
defines :data:`EARTH_RADIUS_M`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .kernels.snapping import EARTH_RADIUS_M

#: metres per degree of latitude (and of longitude at the equator)
METRES_PER_DEGREE = math.radians(1.0) * EARTH_RADIUS_M

__all__ = ["EARTH_RADIUS_M", "METRES_PER_DEGREE", "haversine_m", "local_xy"]


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance in metres between points given in degrees (broadcasts)."""
    lon1, lat1, lon2, lat2 = (
        np.deg2rad(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def local_xy(lon: Any, lat: Any, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular coordinates in metres around latitude ``lat0`` (degrees).

    Good to about 0.1 % over a city. Returns ``(x, y)`` arrays shaped like the input.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return lon * METRES_PER_DEGREE * math.cos(math.radians(lat0)), lat * METRES_PER_DEGREE
