"""The one shape of progress callbacks across the API.

Every long-running function takes ``progress: ProgressCallback | None``. It is called with
one ``dict`` describing the state after each step (iteration, evaluation, finished run);
the keys are documented by the function that calls it (always plain numbers or strings,
so a callback may log them as they are). Returning ``False`` asks the work to stop early
and keep what it has (the result then says it was cancelled); any other return value,
including ``None``, lets it go on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ProgressCallback = Callable[[dict[str, Any]], object]

__all__ = ["ProgressCallback", "wants_stop"]


def wants_stop(progress: ProgressCallback | None, state: dict[str, Any]) -> bool:
    """Call ``progress`` with ``state`` (if given); whether it asked to stop."""
    return progress is not None and progress(state) is False
