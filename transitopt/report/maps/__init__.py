"""Maps of scenario results: link flow change, v/c, line loads, accessibility change, winners/losers.

Each map is first built as a :class:`~.layer.MapLayer` — plain data: one lon/lat geometry
per feature (a road, a transit corridor between two stops, a zone), its value, a colour
class and a hover text — from a result's tables. The same layer draws as an interactive
plotly figure for the HTML report (:func:`~.interactive.map_figure`) and as a PNG for
slides (:func:`~.png.write_maps`). The maps use no background tiles, so they need no
network.

Roads are drawn per street between two nodes (both directions together): car flows are
summed over the directions, v/c is the larger of the two. Transit corridors join
consecutive stops along the street route of bus-type lines (a straight line for trams,
rail and segments off the streets), with the passengers of every line and both
directions summed. On every map of an alternative, the lines it adds, changes or
removes are highlighted on top (:func:`~.layers.line_highlights`). Zones are drawn as cells: the Voronoi cell of the zone's centre cut
to a square as wide as the median spacing between neighbouring centres (for a regular
grid of zones this is exactly the grid cell).

Modules, by job:

* :mod:`.geometry`: lon/lat polylines of links, midpoints, zone cells;
* :mod:`.tables`: links merged into roads, segments into corridors (cached per result);
* :mod:`.classes`: legend entries, colour scales, class limits;
* :mod:`.layer`: the data model (:class:`MapLayer`, :class:`MapView`);
* :mod:`.layers`: the maps of a comparison (:func:`report_maps`);
* :mod:`.interactive`: plotly figures for the HTML report;
* :mod:`.png`: PNG files for slides (:func:`write_maps`).
"""

from .classes import MapClass
from .interactive import GeometryStore, map_figure
from .layer import LineHighlight, MapLayer, MapView
from .layers import (
    access_change_layer,
    flow_change_layer,
    line_highlights,
    line_load_layer,
    report_maps,
    voc_layer,
    winners_losers_layer,
)
from .png import write_maps

__all__ = [
    "GeometryStore",
    "LineHighlight",
    "MapClass",
    "MapLayer",
    "MapView",
    "access_change_layer",
    "flow_change_layer",
    "line_highlights",
    "line_load_layer",
    "map_figure",
    "report_maps",
    "voc_layer",
    "winners_losers_layer",
    "write_maps",
]
