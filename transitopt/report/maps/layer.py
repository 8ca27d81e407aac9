"""The map data model: a :class:`MapLayer` (features, values, classes, hover texts) and a
:class:`MapView` (a layer or its variants by time budget) — what both renderers draw.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import overload

import numpy as np

from ...geo import METRES_PER_DEGREE
from .classes import MapClass, nice_number
from .geometry import midpoints

#: how highlighted lines are drawn over every map of an alternative: colour, dash
HIGHLIGHT_STYLE = {
    "added": ("#e7298a", "solid"),
    "changed": ("#ff7f00", "dash"),
    "removed": ("#252525", "dot"),
}
#: the highlight's halo: width (px) and its colour, a light tint of the style's (opaque, so
#: that overlapping lines do not darken it); it lies under a line map's own lines
HALO_WIDTH = 9.0
HALO_COLOUR = {
    kind: "#"
    + "".join(f"{round(255 - 0.4 * (255 - int(c[i : i + 2], 16))):02x}" for i in (1, 3, 5))
    for kind, (c, _) in HIGHLIGHT_STYLE.items()
}


def highlight_centre_line(kind: str, layer_kind: str) -> bool:
    """Whether a highlight gets a thin line on top of the map: always on zone maps; on line
    maps only for removed lines (the halo marks the others without hiding their colours)."""
    return layer_kind != "lines" or kind == "removed"


class LazyTexts(Sequence[str]):
    """``n`` texts made when asked for: ``make(i)`` is the text of feature ``i``.

    A city's road maps have a hover text per road (hundreds of thousands) of which the
    HTML report keeps at most ``interactive.MAX_HOVER`` and a PNG none: only those are
    formatted.
    """

    def __init__(self, n: int, make: Callable[[int], str]) -> None:
        self._n = int(n)
        self._make = make

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self._n))]
        i = operator.index(index)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"text {index} of {self._n}")
        return self._make(i)

    def __repr__(self) -> str:
        return f"<LazyTexts of {self._n}>"


@dataclass(frozen=True)
class LineHighlight:
    """Transit lines an alternative adds, changes or removes, drawn on top of a map.

    Attributes
    ----------
    kind : {"added", "changed", "removed"}
        What happened to the lines (picks the style in :data:`HIGHLIGHT_STYLE`).
    label : str
        Legend entry (``"added line: X1"``).
    geometry : list of (n, 2) arrays
        lon/lat polylines of the lines (their street routes where they have one).
    hover : str
        Hover text: each line and what changed.
    """

    kind: str
    label: str
    geometry: list[np.ndarray] = field(repr=False)
    hover: str = ""


@dataclass(frozen=True)
class MapLayer:
    """A thematic map: features with values, colour classes and hover texts.

    Attributes
    ----------
    key : str
        Short id used in file names (``"flow_change"``, ``"voc"``, ...).
    title : str
        Map title.
    scenario : str
        Scenario the map shows (for a change map: the alternative).
    kind : {"lines", "zones"}
        Line features (roads, corridors) or polygon features (zones).
    geometry : list of (n, 2) arrays
        lon/lat (degrees) per feature; polygons are closed rings.
    value : (f,) array
        The mapped value per feature.
    classes : (f,) int array
        Index into ``legend`` per feature.
    legend : tuple of MapClass
        Classes in legend order.
    legend_title : str
        Heading of the legend (says what the value and its unit are).
    hover : sequence of str
        Hover text per feature (may hold ``<br>`` line breaks); a :class:`LazyTexts`
        on road maps.
    width : (f,) array or None
        Line width (px) per feature when it varies within a class (line loads).
    background : list of (n, 2) arrays
        Grey context lines (the street network), drawn without hover.
    note : str
        One sentence under the map.
    ids : list of str
        A stable id per feature (``road:…``, ``corridor:…``, ``zone:…``): features of
        the same id have the same geometry in every map, so a report stores it once.
    background_ids : list of str
        Ids of the ``background`` lines.
    marks : list of int
        Features to outline on top (roads that got a bus lane), with ``marks_label`` in
        the legend.
    pins : list of int
        Features to pin with a cross at their centre, visible at any zoom (closed
        roads, often a few metres long), with ``pins_label`` in the legend.
    highlights : tuple of LineHighlight
        Lines the scenario adds, changes or removes, drawn over everything.
    """

    key: str
    title: str
    scenario: str
    kind: str
    geometry: list[np.ndarray] = field(repr=False)
    value: np.ndarray = field(repr=False)
    classes: np.ndarray = field(repr=False)
    legend: tuple[MapClass, ...] = field(repr=False)
    legend_title: str = ""
    hover: Sequence[str] = field(default_factory=list, repr=False)
    width: np.ndarray | None = field(default=None, repr=False)
    background: list[np.ndarray] = field(default_factory=list, repr=False)
    note: str = ""
    ids: list[str] = field(default_factory=list, repr=False)
    background_ids: list[str] = field(default_factory=list, repr=False)
    marks: list[int] = field(default_factory=list, repr=False)
    marks_label: str = ""
    pins: list[int] = field(default_factory=list, repr=False)
    pins_label: str = ""
    highlights: tuple[LineHighlight, ...] = field(default=(), repr=False)

    def widths(self) -> np.ndarray:
        """Line width per feature (px)."""
        if self.width is not None:
            return np.asarray(self.width, dtype=float)
        per_class = np.array([c.width for c in self.legend], dtype=float)
        return per_class[self.classes] if len(self.classes) else np.zeros(0)

    def centres(self) -> np.ndarray:
        """(f, 2) a point on each feature: the middle vertex of a line, the mean of a ring."""
        out = np.empty((len(self.geometry), 2))
        if self.kind == "zones":
            for i, g in enumerate(self.geometry):
                out[i] = g[:-1].mean(axis=0) if len(g) > 1 else g[0]
            return out
        return midpoints(self.geometry)

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the features and the background."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[float, float, float, float]:
        """:meth:`bounds`, computed once per layer (the lists are not changed once made)."""
        parts = [g for g in (*self.geometry, *self.background) if len(g)]
        if not parts:
            return (0.0, 0.0, 1.0, 1.0)
        xy = np.concatenate(parts)
        xy = xy[np.isfinite(xy).all(axis=1)]
        return (
            float(xy[:, 0].min()),
            float(xy[:, 1].min()),
            float(xy[:, 0].max()),
            float(xy[:, 1].max()),
        )

    def scale_bar(self) -> tuple[float, str] | None:
        """Length in degrees of longitude and label (``"500 m"``, ``"2 km"``) of a scale bar of
        a nice length, a sixth to a quarter of the map's width; None for a map without width."""
        x0, y0, x1, y1 = self.bounds()
        m_per_deg_x = METRES_PER_DEGREE * math.cos(math.radians((y0 + y1) / 2.0))
        width_m = (x1 - x0) * m_per_deg_x
        if width_m <= 0:
            return None
        length = nice_number(width_m / 6.0)
        if length > width_m / 4.0:
            length /= 2.0
        label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        return length / m_per_deg_x, label


@dataclass(frozen=True)
class MapView:
    """One map of the report: one layer, or variants of it to switch between (time budgets).

    Attributes
    ----------
    layers : tuple of MapLayer
        The variants; they share features and differ in value.
    labels : tuple of str
        Button label per variant (empty for a single layer).
    default : int
        The variant shown first (and drawn in the PNG).
    """

    layers: tuple[MapLayer, ...]
    labels: tuple[str, ...] = ()
    default: int = 0

    @property
    def layer(self) -> MapLayer:
        """The default variant."""
        return self.layers[self.default]


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (lower case, ``-`` between words)."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "scenario"
