"""Maps as PNG files for slides, drawn with matplotlib: the same layers as the HTML report."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..._io import atomic_path
from .geometry import vertex_arrays
from .interactive import MARK, STREETS
from .layer import (
    HALO_COLOUR,
    HALO_WIDTH,
    HIGHLIGHT_STYLE,
    MapLayer,
    highlight_centre_line,
    slug,
)
from .layers import report_maps

if TYPE_CHECKING:
    from ...scenario.result import ScenarioResult

#: width of a map file (inches) and the share of it the map takes (the legend on the right)
_WIDTH_IN, _MAP_SHARE = 11.0, 0.68


def write_maps(
    base: ScenarioResult,
    alternatives: list[ScenarioResult],
    folder: str | os.PathLike,
    *,
    dpi: int = 150,
) -> list[Path]:
    """PNG maps for slides: the maps of the HTML report, one file each.

    Parameters
    ----------
    base
        The baseline result.
    alternatives
        Results to compare with it.
    folder
        Output folder (created). Each file is written atomically; existing files of the
        same name are replaced.
    dpi
        Resolution of the PNGs (dots per inch; the figures are 11 inches wide).

    Returns
    -------
    list of Path
        ``<nn>-<scenario>-<map>.png`` in the order of the report: the baseline's v/c
        and line loads, then per alternative car flow change, v/c, line loads,
        accessibility change by zone and winners/losers.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    used: set[str] = set()
    for index, (_, views) in enumerate(report_maps(base, alternatives)):
        for layer in (view.layer for view in views):
            stem = f"{index:02d}-{slug(layer.scenario)}-{layer.key.replace('_', '-')}"
            while stem in used:
                stem += "-2"
            used.add(stem)
            paths.append(draw_png(layer, folder / f"{stem}.png", dpi=dpi))
    return paths


def draw_png(layer: MapLayer, path: Path, *, dpi: int = 150) -> Path:
    """Draw ``layer`` as a PNG at ``path`` (written atomically): the map on the left, the legend
    on the right, title above and note below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x0, y0, x1, y1 = layer.bounds()
    aspect = 1.0 / math.cos(math.radians((y0 + y1) / 2.0))
    ratio = (y1 - y0) * aspect / max(x1 - x0, 1e-9)
    # fixed layout (no tight bounding box: one draw per file)
    height_in = min(max(_WIDTH_IN * _MAP_SHARE * ratio / 0.86, 5.0), 14.0)
    fig = plt.figure(figsize=(_WIDTH_IN, height_in))
    ax = fig.add_axes((0.01, 0.06, _MAP_SHARE, 0.86))
    if layer.kind == "lines" and layer.background:
        ax.add_artist(_polylines(layer.background, colour=STREETS, width=0.6, zorder=1))
    handles = _draw_classes(ax, layer)
    if layer.kind == "zones" and layer.background:
        ax.add_artist(_polylines(layer.background, colour="#777777", width=0.4, zorder=5))
    handles += _draw_marks_and_pins(ax, layer)
    handles += _draw_highlights(ax, layer)
    handles.sort(key=lambda h: h[0])
    fig.legend(
        handles=[h for _, h in handles],
        title=layer.legend_title.replace("<br>", "\n"),
        loc="upper left",
        bbox_to_anchor=(_MAP_SHARE + 0.03, 0.92),
        fontsize=9,
        title_fontsize=10,
        frameon=False,
        alignment="left",
    )
    pad_x, pad_y = 0.03 * (x1 - x0 or 0.01), 0.03 * (y1 - y0 or 0.01)
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect(aspect)
    ax.set_axis_off()
    _draw_scale_bar(ax, layer, y=y0 - pad_y / 2)
    # titles as figure text: cheaper than axes titles, whose placement lays out the (hidden) axes
    fig.text(0.01, 1.0 - 0.25 / height_in, layer.title, fontsize=13, va="top")
    fig.text(0.01, 0.12 / height_in, layer.note, fontsize=8, color="#555555", va="bottom")
    with atomic_path(path) as tmp:
        # fast compression: maps compress well
        fig.savefig(tmp, dpi=dpi, format="png", pil_kwargs={"compress_level": 2})
    plt.close(fig)
    return path


def _polylines(
    parts: list[np.ndarray], *, colour: str, width: float, zorder: float, capstyle: str = "butt"
) -> Any:
    """Unfilled polylines (lon/lat vertex arrays) as one compound matplotlib path patch."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    parts = [g for g in vertex_arrays(parts) if len(g) >= 2]
    if not parts:
        return PathPatch(MplPath(np.zeros((0, 2))), fill=False)
    vertices = np.concatenate(parts)
    codes = np.full(len(vertices), MplPath.LINETO, dtype=MplPath.code_type)
    codes[np.r_[0, np.cumsum([len(g) for g in parts])[:-1]]] = MplPath.MOVETO
    return PathPatch(
        MplPath(vertices, codes),
        fill=False,
        edgecolor=colour,
        linewidth=width,
        zorder=zorder,
        capstyle=capstyle,
        joinstyle="round",
    )


def _draw_classes(ax: Any, layer: MapLayer) -> list[tuple[int, Any]]:
    """Draw the features class by class (the widest lines on top); legend handles by class."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    widths = layer.widths()
    handles: list[tuple[int, Any]] = []
    for k in sorted(range(len(layer.legend)), key=lambda c: (layer.legend[c].width, c)):
        cls = layer.legend[k]
        members = np.flatnonzero(layer.classes == k)
        shapes = [layer.geometry[i] for i in members]
        if layer.kind == "zones":
            if len(members):
                ax.add_collection(
                    PolyCollection(
                        shapes, facecolors=cls.colour, edgecolors="white", linewidths=0.5, zorder=2
                    )
                )
            handles.append((k, Patch(facecolor=cls.colour, edgecolor="#999999", label=cls.label)))
            continue
        dotted = cls.dash == "dot"
        if len(members) and not dotted:
            # one compound path per line width: far faster than a collection of paths
            member_widths = widths[members]
            for w in np.unique(member_widths):
                ax.add_artist(  # add_patch would walk every vertex for the data limits
                    _polylines(
                        [shapes[j] for j in np.flatnonzero(member_widths == w)],
                        colour=cls.colour,
                        width=float(w) * 0.75,
                        zorder=2 + cls.width,
                        capstyle="round",
                    )
                )
        elif len(members):
            ax.add_collection(
                LineCollection(
                    shapes,
                    colors=cls.colour,
                    linewidths=widths[members] * 0.75,
                    linestyles="dotted" if dotted else "solid",
                    capstyle="round",
                    zorder=2 + cls.width,
                )
            )
        line = Line2D(
            [],
            [],
            color=cls.colour,
            linewidth=cls.width * 0.75,
            linestyle=":" if dotted else "-",
            label=cls.label,
        )
        handles.append((k, line))
    return handles


def _draw_marks_and_pins(ax: Any, layer: MapLayer) -> list[tuple[int, Any]]:
    """Dashed outlines of the marked features, crosses on the pinned ones; their legend handles."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    handles: list[tuple[int, Any]] = []
    if layer.marks:
        ax.add_collection(
            LineCollection(
                [layer.geometry[i] for i in layer.marks],
                colors=MARK,
                linewidths=1.2,
                linestyles="dashed",
                zorder=20,
            )
        )
        line = Line2D([], [], color=MARK, linewidth=1.2, linestyle="--", label=layer.marks_label)
        handles.append((len(layer.legend), line))
    if layer.pins:
        at = layer.centres()[layer.pins]
        ax.scatter(at[:, 0], at[:, 1], marker="x", s=60, linewidths=2.0, color="#000000", zorder=30)
        cross = Line2D(
            [],
            [],
            color="#000000",
            marker="x",
            linestyle="none",
            markersize=7,
            markeredgewidth=2.0,
            label=layer.pins_label,
        )
        handles.append((len(layer.legend) + 1, cross))
    return handles


def _draw_highlights(ax: Any, layer: MapLayer) -> list[tuple[int, Any]]:
    """The added, changed and removed lines: a wide light halo under the map's lines (over a
    zone map's cells) and, where :func:`highlight_centre_line` says, a thin line in the
    kind's colour and dash on top; legend handles."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    handles: list[tuple[int, Any]] = []
    dashes: dict[str, Literal["solid", "dashed", "dotted"]] = {
        "solid": "solid",
        "dash": "dashed",
        "dot": "dotted",
    }
    halo_z = 1.5 if layer.kind == "lines" else 6.0
    for k, h in enumerate(layer.highlights):
        colour, dash = HIGHLIGHT_STYLE.get(h.kind, ("#000000", "solid"))
        halo = HALO_COLOUR.get(h.kind, "#cccccc")
        if h.geometry:
            ax.add_collection(
                LineCollection(
                    h.geometry,
                    colors=halo,
                    linewidths=HALO_WIDTH,
                    capstyle="round",
                    joinstyle="round",
                    zorder=halo_z,
                )
            )
            if highlight_centre_line(h.kind, layer.kind):
                ax.add_collection(
                    LineCollection(
                        h.geometry,
                        colors=colour,
                        linewidths=1.3,
                        linestyles=dashes[dash],
                        zorder=40 + k,
                    )
                )
        line = Line2D([], [], color=halo, linewidth=7.0, label=h.label)
        handles.append((len(layer.legend) + 2 + k, line))
    return handles


def _draw_scale_bar(ax: Any, layer: MapLayer, *, y: float) -> None:
    """A scale bar at height ``y`` from the left edge of the features."""
    bar = layer.scale_bar()
    if bar is None:
        return
    dx, label = bar
    x0 = layer.bounds()[0]
    ax.plot([x0, x0 + dx], [y] * 2, color="#333333", linewidth=3, zorder=10)
    ax.annotate(
        label,
        (x0 + dx, y),
        textcoords="offset points",
        xytext=(5, 0),
        ha="left",
        va="center",
        fontsize=9,
        color="#333333",
    )
