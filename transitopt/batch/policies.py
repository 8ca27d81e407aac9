"""City-agnostic policies as scenario edits.

* ``baseline``: the city as loaded (no edits).
* ``headway_factor``: every line's headway × ``factor`` (``change_line`` on ``"*"``).
* ``bus_lanes_over_voc``: a bus lane (``bus_lane`` on the bus lines, restricted to ``ways``) on
  every OSM way that carries a line and has a link whose baseline v/c exceeds
  ``threshold``. The selection is per way (the stable id the scenario edits use), so a
  whole way gets lanes when one of its links is over the threshold; single-lane links
  stay mixed traffic (``on_single_lane = "mixed"``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .spec import PolicySpec


class NotApplicable(Exception):
    """The policy does nothing in this city (e.g. headways of a city without transit lines)."""


#: modes that run on streets and can use a bus lane
STREET_MODES = ("bus", "brt", "minibus")


def policy_edits(
    policy: PolicySpec,
    *,
    n_lines: int,
    baseline_links: pd.DataFrame | None,
    baseline_lines: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The edits (scenario-file dicts) of ``policy`` in one city.

    Parameters
    ----------
    n_lines
        Transit lines of the city's baseline.
    baseline_links, baseline_lines
        The baseline result's ``links`` and ``lines`` tables (``bus_lanes_over_voc`` only):
        lanes go to the street-running lines (:data:`STREET_MODES`).

    Raises
    ------
    NotApplicable
        The city has no transit lines (the run is recorded as not applicable).
    """
    if policy.policy == "baseline":
        return []
    if n_lines == 0:
        raise NotApplicable("the city has no transit lines")
    if policy.policy == "headway_factor":
        assert policy.factor is not None  # PolicySpec requires it for this policy
        return [{"type": "change_line", "line": "*", "headway_factor": float(policy.factor)}]
    if policy.policy == "bus_lanes_over_voc":
        assert policy.threshold is not None  # PolicySpec requires it for this policy
        ways = ways_over_voc(baseline_links, threshold=float(policy.threshold))
        lines = (
            "*"
            if baseline_lines is None
            else sorted(
                str(x)
                for x in baseline_lines.loc[baseline_lines["mode"].isin(STREET_MODES), "line"]
            )
        )
        if not lines:
            raise NotApplicable("the city has no bus lines")
        if not ways:
            return []
        return [{"type": "bus_lane", "line": lines, "ways": ways, "on_single_lane": "mixed"}]
    raise ValueError(f"unknown policy {policy.policy!r}")  # pragma: no cover - validated in spec


def ways_over_voc(links: pd.DataFrame | None, *, threshold: float) -> list[int]:
    """OSM way ids (sorted) of links that carry buses and whose v/c exceeds ``threshold``."""
    if links is None or not len(links) or "way" not in links.columns:
        return []
    voc = pd.to_numeric(links["voc"], errors="coerce").to_numpy(float)
    bus = pd.to_numeric(links["bus_vph"], errors="coerce").to_numpy(float) > 0
    hit = (voc > threshold) & bus & links["way"].notna().to_numpy()
    ways = set()
    for value in links.loc[hit, "way"]:
        try:
            ways.add(int(str(value)))
        except ValueError:
            continue
    return sorted(ways)
