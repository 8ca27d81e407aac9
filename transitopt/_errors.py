"""Exception hierarchy.

Every error transitopt raises on bad input is a :class:`TransitoptError`, and each
class also inherits the built-in exception a caller would expect, so ``except
ValueError`` keeps working. Messages name the file, field or id and what was expected.
"""

from __future__ import annotations


class TransitoptError(Exception):
    """Base class of all transitopt errors."""


class InputFileError(TransitoptError, ValueError):
    """A file is missing, of an unknown kind, corrupt or malformed."""


class NetworkError(TransitoptError, ValueError):
    """A street network cannot be built or is unusable (empty, disconnected, ...)."""


class GeocodingError(TransitoptError, ValueError):
    """A place name or area could not be resolved (or no internet to resolve it)."""


class SnappingError(TransitoptError, ValueError):
    """Points could not be attached to the network (too far away, outside the area)."""


class DemandError(TransitoptError, ValueError):
    """An OD matrix or zone table is inconsistent with the network."""


class NumericalError(TransitoptError, ArithmeticError):
    """An iterative method produced an impossible value (a negative or non-finite gap)."""


class ConvergenceWarning(UserWarning):
    """An iterative method stopped before reaching its target."""
