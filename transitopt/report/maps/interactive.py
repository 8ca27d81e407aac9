"""Maps as interactive plotly figures (plain dicts) for the HTML report.

Longitude and latitude are plain x/y axes at the local aspect ratio: no tiles, no geo
projection, nothing fetched from the network. A :class:`GeometryStore` keeps each
polyline once per report; the traces refer to it by index.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .geometry import vertex_arrays
from .layer import (
    HALO_COLOUR,
    HALO_WIDTH,
    HIGHLIGHT_STYLE,
    MapLayer,
    MapView,
    highlight_centre_line,
)

#: most features per map with a hover text (a large city's maps would otherwise weigh megabytes each)
MAX_HOVER = 5000
#: colour of the context streets under a line map
STREETS = "#d9d9d9"
#: colour of the streets drawn over a zone map
STREETS_OVER_ZONES = "#8a8a8a"
#: outline of marked roads (bus lanes)
MARK = "#7b2cbf"
_FONT_FAMILY = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


class GeometryStore:
    """Polylines stored once per report and referenced by index from every map.

    A map trace that draws features ``[i, j, ...]`` of the store carries ``"_geo": [i,
    j, ...]`` instead of ``x``/``y``; the page expands it (the features joined with
    gaps) before plotting. The street network then appears once in the page, not once
    per map.
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.x: list[list[float]] = []
        self.y: list[list[float]] = []
        self._finite = True  # every coordinate stored is a finite number

    def add(self, key: str, coords: np.ndarray) -> int:
        """Index of the polyline ``key`` (stored on first use)."""
        if key not in self._index:
            self._index[key] = len(self.x)
            self._finite = self._finite and bool(np.isfinite(coords).all())
            self.x.append(np.round(coords[:, 0], 6).tolist())
            self.y.append(np.round(coords[:, 1], 6).tolist())
        return self._index[key]

    def add_all(self, keys: list[str], parts: list[np.ndarray]) -> list[int]:
        """Indices of the polylines ``keys`` (as :meth:`add`, rounding the new ones at once)."""
        new: dict[str, np.ndarray] = {}
        index = self._index
        for key, coords in zip(keys, parts, strict=True):
            if key not in index and key not in new:
                new[key] = coords
        if new:
            xs, ys, bounds = _rounded(list(new.values()))
            self._finite = self._finite and bool(np.isfinite(xs).all() and np.isfinite(ys).all())
            spans = list(zip(bounds[:-1], bounds[1:], strict=True))
            self._index.update(zip(new, range(len(self.x), len(self.x) + len(new)), strict=True))
            self.x.extend([xs[a:b] for a, b in spans])
            self.y.extend([ys[a:b] for a, b in spans])
        return [index[k] for k in keys]

    def __len__(self) -> int:
        return len(self.x)

    def to_dict(self) -> dict:
        """``{"x": [[lon, ...], ...], "y": [[lat, ...], ...]}``."""
        return {"x": self.x, "y": self.y}

    def to_json(self) -> str | None:
        """:meth:`to_dict` as compact JSON, written at once where every coordinate is a
        finite number (a city's streets: no value to convert); ``None`` otherwise."""
        if not self._finite:
            return None
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _xy(parts: list[np.ndarray], keys: list[str] | None, store: GeometryStore | None) -> dict:
    """Trace coordinates: ``_geo`` indices into ``store``, or ``x``/``y`` joined with gaps."""
    if store is not None and keys is not None and len(keys) == len(parts):
        return {"_geo": store.add_all(keys, parts)}
    x: list = []
    y: list = []
    if not parts:
        return {"x": x, "y": y}
    xs, ys, bounds = _rounded(parts)
    for j in range(len(parts)):
        if x:
            x.append(None)
            y.append(None)
        x += xs[bounds[j] : bounds[j + 1]]
        y += ys[bounds[j] : bounds[j + 1]]
    return {"x": x, "y": y}


def _rounded(parts: list[np.ndarray]) -> tuple[list, list, list[int]]:
    """x and y of all ``parts`` rounded to 6 decimals (one pass), and where each part starts."""
    coords = np.concatenate(vertex_arrays(parts))
    coords = np.round(coords, 6)
    bounds = np.r_[0, np.cumsum([len(g) for g in parts])].tolist()
    return coords[:, 0].tolist(), coords[:, 1].tolist(), bounds


def _features(layer: MapLayer, which, store: GeometryStore | None) -> dict:
    """Trace coordinates of the features ``which`` of ``layer``."""
    ids = layer.ids if len(layer.ids) == len(layer.geometry) else None
    return _xy([layer.geometry[i] for i in which], [ids[i] for i in which] if ids else None, store)


def _streets_trace(layer: MapLayer, store: GeometryStore | None) -> dict:
    """The grey context streets of a layer, without hover."""
    ids = layer.background_ids if len(layer.background_ids) == len(layer.background) else None
    return {
        "type": "scatter",
        "mode": "lines",
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "streets",
        **_xy(layer.background, ids, store),
        "line": {
            "color": STREETS if layer.kind == "lines" else STREETS_OVER_ZONES,
            "width": 0.8 if layer.kind == "lines" else 0.5,
        },
    }


def _class_traces(layer: MapLayer, store: GeometryStore | None) -> list[dict]:
    """One trace per class (and line width within a class), the strongest classes last (on top)."""
    traces: list[dict] = []
    widths = layer.widths()
    for k in sorted(range(len(layer.legend)), key=lambda c: (layer.legend[c].width, c)):
        cls = layer.legend[k]
        members = np.flatnonzero(layer.classes == k)
        common = {
            "type": "scatter",
            "mode": "lines",
            "name": cls.label,
            "legendgroup": str(k),
            "legendrank": k,
            "hoverinfo": "skip",
            "visible": True if len(members) else "legendonly",
        }
        if layer.kind == "zones":
            traces.append(
                {
                    **common,
                    **_features(layer, members, store),
                    "fill": "toself",
                    "fillcolor": cls.colour,
                    "line": {"color": "#ffffff", "width": 0.6},
                }
            )
            continue
        groups = np.unique(widths[members]) if len(members) else np.array([cls.width])
        for j, w in enumerate(groups):
            traces.append(
                {
                    **common,
                    **_features(layer, members[widths[members] == w], store),
                    "showlegend": j == 0,
                    "line": {"color": cls.colour, "width": float(w), "dash": cls.dash},
                }
            )
    return traces


def _marks_and_pins(layer: MapLayer, store: GeometryStore | None) -> list[dict]:
    """Dashed outlines of the marked features and crosses on the pinned ones."""
    traces: list[dict] = []
    if layer.marks:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": layer.marks_label,
                "hoverinfo": "skip",
                "legendrank": len(layer.legend) + 1,
                **_features(layer, layer.marks, store),
                "line": {"color": MARK, "width": 1.6, "dash": "dash"},
            }
        )
    if layer.pins:
        at = layer.centres()[layer.pins]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": layer.pins_label,
                "hoverinfo": "skip",
                "legendrank": len(layer.legend) + 2,
                "x": np.round(at[:, 0], 6).tolist(),
                "y": np.round(at[:, 1], 6).tolist(),
                "marker": {
                    "symbol": "x-thin",
                    "size": 11,
                    "line": {"width": 2.5, "color": "#000000"},
                },
            }
        )
    return traces


def _hover_trace(layer: MapLayer, max_hover: int) -> dict:
    """Invisible points carrying the hover texts: at most ``max_hover``, those of the largest
    absolute values (a large network keeps details for its biggest changes)."""
    centres = layer.centres()
    keep = np.arange(len(centres))
    if len(keep) > max_hover:
        keep = np.sort(np.argsort(-np.abs(np.nan_to_num(layer.value)), kind="stable")[:max_hover])
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "details",
        "showlegend": False,
        "x": np.round(centres[keep, 0], 6).tolist(),
        "y": np.round(centres[keep, 1], 6).tolist(),
        "marker": {
            "size": 10 if layer.kind == "lines" else 18,
            "opacity": 0.0,
            "color": "#000000",
        },
        "hovertext": [layer.hover[i] for i in keep.tolist()],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _layer_traces(
    layer: MapLayer, store: GeometryStore | None, *, max_hover: int = MAX_HOVER
) -> list[dict]:
    """Plotly traces (plain dicts) of one layer without its streets: the classes, marks and pins,
    then the hover points."""
    halos, lines = _highlight_traces(layer)
    traces = _class_traces(layer, store)
    traces = halos + traces if layer.kind == "lines" else traces + halos
    traces += _marks_and_pins(layer, store) + lines
    if len(layer.geometry):
        traces.append(_hover_trace(layer, max_hover))
    return traces


def _highlight_traces(layer: MapLayer) -> tuple[list[dict], list[dict]]:
    """The added, changed and removed lines: light halos (drawn under a line map's features,
    over a zone map's cells) and, where :func:`~.layer.highlight_centre_line` says, thin lines
    on top; the hover names the lines."""
    halos: list[dict] = []
    lines: list[dict] = []
    for k, h in enumerate(layer.highlights):
        colour, dash = HIGHLIGHT_STYLE.get(h.kind, ("#000000", "solid"))
        xy = _xy(h.geometry, None, None)
        common = {"type": "scatter", "mode": "lines", "legendgroup": f"highlight-{k}", **xy}
        label = {
            "name": h.label,
            "legendrank": len(layer.legend) + 3 + k,
            "text": h.hover,
            "hoveron": "points",
            "hovertemplate": "%{text}<extra></extra>",
        }
        centre = highlight_centre_line(h.kind, layer.kind)
        halos.append(
            {
                **common,
                **({"showlegend": False, "hoverinfo": "skip"} if centre else label),
                "line": {"color": HALO_COLOUR.get(h.kind, "#cccccc"), "width": HALO_WIDTH},
            }
        )
        if centre:
            lines.append({**common, **label, "line": {"color": colour, "width": 1.5, "dash": dash}})
    return halos, lines


def map_figure(
    view: MapView | MapLayer, *, store: GeometryStore | None = None, height: int = 560
) -> dict:
    """An interactive map as a plotly figure dict: pan, wheel zoom, hover details, legend to toggle classes.

    Longitude and latitude are plain x/y axes at the local aspect ratio: no tiles, no geo
    projection, nothing fetched from the network. A view with several variants gets a
    button per variant (the time budget of an accessibility map). With a ``store``, the
    traces reference its polylines (``_geo``) instead of holding coordinates.
    """
    if isinstance(view, MapLayer):
        view = MapView((view,))
    layer = view.layer
    # context streets once, shared by all variants
    data: list[dict] = [_streets_trace(layer, store)] if layer.background else []
    first = len(data)
    spans = []
    for i, variant in enumerate(view.layers):
        traces = _layer_traces(variant, store)
        shown = [t.get("visible", True) for t in traces]
        if i != view.default:
            for t in traces:
                t["visible"] = False
        spans.append((len(data), len(data) + len(traces), shown))
        data += traces
    if layer.kind == "zones" and data[:first]:
        data = data[first:] + data[:first]  # streets over the zone fills
        spans = [(a - first, b - first, shown) for a, b, shown in spans]
    layout = _layout(layer, height=height, variants=len(view.layers))
    if len(view.layers) > 1:
        layout["updatemenus"] = [_variant_buttons(view, spans, len(data))]
    return {"data": data, "layout": layout}


def _layout(layer: MapLayer, *, height: int, variants: int) -> dict:
    """Title, legend, axes at the local aspect ratio and a scale bar."""
    x0, y0, x1, y1 = layer.bounds()
    lat0 = (y0 + y1) / 2.0
    pad_x, pad_y = 0.03 * (x1 - x0 or 0.01), 0.03 * (y1 - y0 or 0.01)
    return {
        "title": {"text": layer.title, "font": {"size": 15}, "x": 0.01, "xanchor": "left"},
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 44 if variants < 2 else 84, "b": 8},
        "plot_bgcolor": "#fbfbfb",
        "paper_bgcolor": "#ffffff",
        "dragmode": "pan",
        "hovermode": "closest",
        "hoverdistance": 30,
        "font": {"family": _FONT_FAMILY, "size": 12},
        "legend": {
            "title": {"text": layer.legend_title},
            "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": "#dddddd",
            "borderwidth": 1,
            "x": 0.99,
            "xanchor": "right",
            "y": 0.99,
            "yanchor": "top",
            "font": {"size": 11},
        },
        "xaxis": {"visible": False, "range": [x0 - pad_x, x1 + pad_x]},
        "yaxis": {
            "visible": False,
            "range": [y0 - 2.5 * pad_y, y1 + pad_y],
            "scaleanchor": "x",
            "scaleratio": 1.0 / math.cos(math.radians(lat0)),
        },
        **_scale_bar(layer),
    }


def _variant_buttons(view: MapView, spans: list[tuple[int, int, list]], n_traces: int) -> dict:
    """A row of buttons, one per variant, each showing that variant's traces only."""
    buttons = []
    for variant, label, (start, stop, shown) in zip(view.layers, view.labels, spans, strict=True):
        mask: list = [True] * n_traces
        for a, b, _ in spans:
            mask[a:b] = [False] * (b - a)
        mask[start:stop] = shown
        buttons.append(
            {
                "label": label,
                "method": "update",
                "args": [
                    {"visible": mask},
                    {"title.text": variant.title, "legend.title.text": variant.legend_title},
                ],
            }
        )
    return {
        "type": "buttons",
        "direction": "right",
        "buttons": buttons,
        "active": view.default,
        "showactive": True,
        "x": 0.01,
        "xanchor": "left",
        "y": 1.0,
        "yanchor": "bottom",
        "pad": {"t": 2, "b": 2},
        "font": {"size": 11},
    }


def _scale_bar(layer: MapLayer) -> dict:
    """Layout ``shapes`` and ``annotations`` of a scale bar in the lower left corner (data units: true when zoomed)."""
    bar = layer.scale_bar()
    if bar is None:
        return {}
    dx, label = bar
    x0, y0, _, y1 = layer.bounds()
    bx, by = x0, y0 - 0.03 * (y1 - y0 or 0.01)
    return {
        "shapes": [
            {
                "type": "line",
                "x0": bx,
                "x1": bx + dx,
                "y0": by,
                "y1": by,
                "line": {"color": "#333333", "width": 3},
            }
        ],
        "annotations": [
            {
                "x": bx + dx,
                "y": by,
                "text": label,
                "showarrow": False,
                "xanchor": "left",
                "xshift": 6,
                "font": {"size": 11, "color": "#333333"},
            }
        ],
    }
