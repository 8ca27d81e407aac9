"""Mode shares."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def mode_shares(trips: Mapping[str, float]) -> pd.DataFrame:
    """Trips and share per mode: ``mode``, ``trips``, ``share`` (of all trips; 0 when there are none)."""
    table = pd.DataFrame({"mode": list(trips), "trips": [float(v) for v in trips.values()]})
    total = table["trips"].sum()
    table["share"] = table["trips"] / total if total > 0 else 0.0
    return table
