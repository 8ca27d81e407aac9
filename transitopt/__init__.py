"""transitopt: transport network optimisation for cities with OpenStreetMap data."""

from ._errors import (
    ConvergenceWarning,
    DemandError,
    GeocodingError,
    InputFileError,
    NetworkError,
    SnappingError,
    TransitoptError,
)
from .network import Network

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DemandError",
    "GeocodingError",
    "InputFileError",
    "Network",
    "NetworkError",
    "SnappingError",
    "TransitoptError",
    "__version__",
]
