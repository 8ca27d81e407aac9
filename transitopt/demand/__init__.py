"""Travel demand: zones and origin-destination matrices."""

from .od import ODMatrix

__all__ = ["ODMatrix"]
