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
from .kernels import _config  # noqa: F401  (numba and OpenMP settings before any kernel runs)
from .network import (
    Network,
    export_network,
    from_networkx,
    load_network,
    open_network,
    summarize_network,
)

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DemandError",
    "GeocodingError",
    "InputFileError",
    "Network",
    "export_network",
    "from_networkx",
    "load_network",
    "open_network",
    "summarize_network",
    "NetworkError",
    "SnappingError",
    "TransitoptError",
    "__version__",
]
