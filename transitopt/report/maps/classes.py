"""Colour classes of the maps: legend entries, colour scales and class limits.

A map sorts its features into classes (:class:`MapClass`: a legend label, a colour,
a line width and dash). Changes use seven classes symmetric about zero with "nice"
limits (:func:`diverging_classes`); v/c uses the bins of
:data:`~transitopt.metrics.congestion.VOC_BINS`; transit corridors are coloured by
crowding (load / capacity).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ...metrics.congestion import VOC_BINS

#: colours of the v/c classes of :data:`~transitopt.metrics.congestion.VOC_BINS`
VOC_COLOURS = ("#1a9850", "#a6d96a", "#fee08b", "#f46d43", "#a50026")
#: diverging colours (decrease → increase) for changes of flow
DECREASE = ("#08519c", "#4292c6", "#9ecae1")
INCREASE = ("#fc9272", "#de2d26", "#99000d")
#: diverging fills (loss → gain) for changes of accessibility
LOSS = ("#b2182b", "#ef8a62", "#fddbc7")
GAIN = ("#d1e5f0", "#67a9cf", "#2166ac")
_NEUTRAL = "#c8c8c8"
#: the class of closed roads, last in a road map's legend
CLOSED_COLOUR = "#000000"


class MapClass(NamedTuple):
    """One legend entry: features of a class share colour, line width (px) and dash."""

    label: str
    colour: str
    width: float = 1.5
    dash: str = "solid"


def nice_number(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is >= ``x`` (``x`` > 0)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10.0 * power


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 or x == int(x) else f"{x:,.2g}"


def diverging_classes(
    values: np.ndarray,
    *,
    minimum: float,
    low: tuple[str, ...],
    high: tuple[str, ...],
    unit: str,
    widths: tuple[float, ...] = (4.5, 3.0, 2.0),
    neutral: float | None = None,
) -> tuple[np.ndarray, tuple[MapClass, ...]]:
    """Seven classes symmetric about 0 with "nice" limits: 3 of decrease, a neutral class, 3 of increase.

    The limits are ``c1 < c2 < c3`` with ``c3`` about half, ``c2`` a fifth and ``c1`` a
    twentieth of the largest absolute value (never below ``minimum``); ``|v| <= c1`` is
    "little change". With ``neutral``, ``c1 = neutral`` and the middle class is "no
    change" (for changes where any change matters, such as accessibility). Class ``k``
    holds ``edges[k-1] < v <= edges[k]`` of the edges ``-c3, -c2, -c1, c1, c2, c3``.
    """
    values = np.nan_to_num(np.asarray(values, dtype=float))
    top = float(np.abs(values).max()) if values.size else 0.0
    c1 = float(neutral) if neutral is not None else max(nice_number(top * 0.05), minimum)
    c2 = max(nice_number(top * 0.2), 2 * c1, minimum)
    c3 = max(nice_number(top * 0.5), 2 * c2)
    edges = np.array([-c3, -c2, -c1, c1, c2, c3])
    classes = np.searchsorted(edges, values, side="left")
    if neutral is None:
        inner = (
            f"−{_fmt(c2)} to −{_fmt(c1)}",
            f"within ±{_fmt(c1)} {unit}",
            f"+{_fmt(c1)} to +{_fmt(c2)}",
        )
    else:
        inner = (f"−{_fmt(c2)} to 0", "no change", f"0 to +{_fmt(c2)}")
    legend = (
        MapClass(f"≤ −{_fmt(c3)}", low[0], widths[0]),
        MapClass(f"−{_fmt(c3)} to −{_fmt(c2)}", low[1], widths[1]),
        MapClass(inner[0], low[2], widths[2]),
        MapClass(inner[1], _NEUTRAL, 1.0),
        MapClass(inner[2], high[0], widths[2]),
        MapClass(f"+{_fmt(c2)} to +{_fmt(c3)}", high[1], widths[1]),
        MapClass(f"> +{_fmt(c3)}", high[2], widths[0]),
    )
    return classes.astype(np.int64), legend


def with_closed(
    classes: np.ndarray,
    legend: tuple[MapClass, ...],
    closed: np.ndarray,
    *,
    label: str,
    width: float,
) -> tuple[np.ndarray, tuple[MapClass, ...]]:
    """``classes`` and ``legend`` with a last, dotted black class for the ``closed`` roads."""
    legend = (*legend, MapClass(label, CLOSED_COLOUR, width, "dot"))
    return np.where(closed, len(legend) - 1, classes).astype(np.int64), legend


def voc_classes(voc: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, tuple[MapClass, ...]]:
    """Classes of volume/capacity by :data:`VOC_BINS` (wider lines when busier), closed roads last."""
    edges = np.asarray(VOC_BINS, dtype=float)
    classes = np.clip(np.searchsorted(edges, voc, side="right") - 1, 0, edges.size - 2)
    labels = [
        f"{edges[i]:g} – {edges[i + 1]:g}" if np.isfinite(edges[i + 1]) else f"≥ {edges[i]:g}"
        for i in range(edges.size - 1)
    ]
    widths = (1.2, 1.8, 2.6, 3.6, 4.6)
    legend = tuple(
        MapClass(label, colour, w)
        for label, colour, w in zip(labels, VOC_COLOURS, widths, strict=True)
    )
    return with_closed(classes, legend, closed, label="closed", width=1.5)


def crowding_classes(load_ratio: np.ndarray) -> tuple[np.ndarray, tuple[MapClass, ...]]:
    """Classes of load / capacity: under 0.5, 0.5 – 0.8, 0.8 – 1.0, over capacity."""
    edges = np.array([0.0, 0.5, 0.8, 1.0, np.inf])
    classes = np.clip(
        np.searchsorted(edges, np.nan_to_num(load_ratio), side="right") - 1, 0, edges.size - 2
    )
    legend = (
        MapClass("load / capacity < 0.5", "#4575b4", 2.0),
        MapClass("0.5 – 0.8", "#fdae61", 2.0),
        MapClass("0.8 – 1.0", "#f46d43", 2.0),
        MapClass("over capacity", "#a50026", 2.0),
    )
    return classes.astype(np.int64), legend


def load_widths(load: np.ndarray) -> tuple[np.ndarray, float]:
    """Line width (px, half-pixel steps, 1 to 10) growing with the square root of ``load``, and
    the load of the widest line (a nice number at or above the largest load)."""
    top = nice_number(float(load.max())) if load.size and load.max() > 0 else 1.0
    width = 1.0 + 9.0 * np.sqrt(np.clip(load / top, 0.0, 1.0))
    return np.round(width * 2.0) / 2.0, top  # half-pixel steps: few plotly traces
