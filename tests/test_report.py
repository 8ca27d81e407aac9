"""The HTML report, its maps and charts, and the PNG maps, on small hand-made results.

The results are built by :func:`make_result`: a 4 × 3 street grid (200 m blocks) in
central Helsinki, two transit lines and six 250 m zones, with flows and loads chosen so
that every number a map or table shows can be computed by hand. The browser checks are
in ``test_report_browser.py``.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from transitopt.metrics import voc_distribution
from transitopt.metrics.congestion import road_summary
from transitopt.metrics.registry import metric
from transitopt.report import html as report_html
from transitopt.report import write_maps, write_report
from transitopt.report.charts import load_profile_figure
from transitopt.report.maps import classes, geometry, interactive, layers, tables
from transitopt.scenario import ScenarioResult, compare

LON0, LAT0 = 24.94, 60.17
M_PER_DEG = 111_195.0
DX = 200.0 / (M_PER_DEG * math.cos(math.radians(LAT0)))  # 200 m east, in degrees of longitude
DY = 200.0 / M_PER_DEG


def _grid_links(
    flow_scale: float, closed_way: str | None, bus_lane_way: str | None = None
) -> pd.DataFrame:
    """Both directions of every street of a 4 × 3 node grid; flow 100 + 10 × edge (veh/h) × ``flow_scale``."""
    rows = []
    node = {(i, j): 1000 + 10 * i + j for i in range(3) for j in range(4)}
    for (i, j), a in node.items():
        for di, dj in ((0, 1), (1, 0)):
            if (i + di, j + dj) not in node:
                continue
            b = node[(i + di, j + dj)]
            way = f"w{a}{b}"
            for u, v, (iu, ju), (iv, jv) in (
                (a, b, (i, j), (i + di, j + dj)),
                (b, a, (i + di, j + dj), (i, j)),
            ):
                rows.append(
                    {
                        "from_node": u,
                        "to_node": v,
                        "way": way,
                        "name": f"Street {way}",
                        "x0": LON0 + ju * DX,
                        "y0": LAT0 + iu * DY,
                        "x1": LON0 + jv * DX,
                        "y1": LAT0 + iv * DY,
                    }
                )
    links = pd.DataFrame(rows)
    n = len(links)
    links["edge"] = np.arange(n)
    links["length_m"] = 200.0
    links["lanes"] = 1.0
    links["capacity_vph"] = 800.0
    links["speed_kph"] = 30.0
    links["free_flow_time_s"] = 24.0
    links["flow"] = (100.0 + 10.0 * np.arange(n)) * flow_scale
    links["preload"] = 0.0
    links["bus_vph"] = 0.0
    links["bus_lane"] = links["way"].eq(bus_lane_way) if bus_lane_way else False
    links["bus_only"] = False
    links["closed"] = links["way"].eq(closed_way) if closed_way else False
    links.loc[links["closed"], "flow"] = 0.0
    links["time_s"] = 24.0 * (1 + 0.15 * (links["flow"] / 800.0) ** 4)
    links["voc"] = links["flow"] / links["capacity_vph"]
    # one link drawn with a bend, through its WKT geometry
    wkt = [None] * n
    wkt[0] = (
        f"LINESTRING ({links.x0[0]} {links.y0[0]}, {(links.x0[0] + links.x1[0]) / 2} "
        f"{links.y0[0] + DY / 4}, {links.x1[0]} {links.y1[0]})"
    )
    links["geometry_wkt"] = wkt
    return links


def _segments(load_scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    stops = pd.DataFrame(
        {
            "stop_id": [f"s{k}" for k in range(6)],
            "name": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"],
            "lon": [LON0, LON0 + DX, LON0 + 2 * DX, LON0 + 3 * DX, LON0 + DX, LON0 + DX],
            "lat": [LAT0, LAT0, LAT0, LAT0, LAT0 + DY, LAT0 + 2 * DY],
        }
    )
    xy = stops.set_index("stop_id")
    rows = []
    for line, name, seq_stops, loads, cap in (
        ("L1", "1", ["s0", "s1", "s2", "s3"], [300.0, 500.0, 200.0], 600.0),
        ("L2", "2", ["s4", "s1", "s5"], [100.0, 700.0], 600.0),
    ):
        for k, (a, b) in enumerate(zip(seq_stops[:-1], seq_stops[1:], strict=True)):
            load = loads[k] * load_scale
            rows.append(
                {
                    "line": line,
                    "name": name,
                    "mode": "bus",
                    "seq": k,
                    "from_stop": a,
                    "to_stop": b,
                    "from_lon": xy.lon[a],
                    "from_lat": xy.lat[a],
                    "to_lon": xy.lon[b],
                    "to_lat": xy.lat[b],
                    "length_m": 200.0,
                    "run_time_s": 60.0,
                    "load": load,
                    "boardings": load / 2,
                    "alightings": load / 2,
                    "capacity_per_hour": cap,
                    "load_ratio": load / cap,
                }
            )
    stops["boardings"] = 10.0
    stops["alightings"] = 10.0
    return pd.DataFrame(rows), stops


def _zones(access_gain: float) -> pd.DataFrame:
    lon_step = 250.0 / (M_PER_DEG * math.cos(math.radians(LAT0)))
    lat_step = 250.0 / M_PER_DEG
    rows = []
    for k in range(6):
        i, j = divmod(k, 3)
        rows.append(
            {
                "zone": k + 1,
                "lon": LON0 + j * lon_step,
                "lat": LAT0 + i * lat_step,
                "population": 100.0 * (k + 1),
                "jobs": 50.0 * (6 - k),
            }
        )
    zones = pd.DataFrame(rows)
    for t, base in ((30, 500.0), (45, 1000.0), (60, 1050.0)):
        value = np.full(6, base)
        if t == 45:  # zones 1 and 2 gain, zone 6 loses (at 45 min only)
            value = value + np.array([access_gain, access_gain, 0, 0, 0, -access_gain / 4])
        zones[f"jobs_transit_{t}min"] = value
        zones[f"jobs_car_{t}min"] = 1050.0
    return zones


def make_result(
    name: str,
    *,
    seed: int = 0,
    flow_scale: float = 1.0,
    load_scale: float = 1.0,
    access_gain: float = 0.0,
    closed_way: str | None = None,
    bus_lane_way: str | None = None,
    converged: bool = True,
) -> ScenarioResult:
    """A small, fully hand-computable :class:`ScenarioResult` (``seed`` only varies the mode shares)."""
    rng = np.random.default_rng(seed)
    links = _grid_links(flow_scale, closed_way, bus_lane_way)
    segments, stops = _segments(load_scale)
    zones = _zones(access_gain)
    share = np.array([0.3, 0.2, 0.5]) + rng.uniform(-0.02, 0.02, 3)
    share /= share.sum()
    trips = 10_000.0
    mode_shares = pd.DataFrame(
        {"mode": ["car", "transit", "walk"], "trips": share * trips, "share": share}
    )
    tolerance = 0.002
    gaps = [0.05, 0.01, 0.001] if converged else [0.05, 0.03, 0.02]
    convergence = pd.DataFrame(
        {
            "iteration": [1, 2, 3],
            "mode_gap": [np.nan, *gaps[1:]],
            "link_time_change": gaps,
            "share_car": share[0],
            "share_transit": share[1],
            "share_walk": share[2],
            "road_gap": 1e-5,
            "road_iterations": 8,
            "seconds": 0.1,
        }
    )
    road = road_summary(links)
    pop = zones["population"].to_numpy()
    rows = [("demand", "trips", "trips/h", trips)]
    rows += [
        ("mode_share", f"share_{m}", "share", s)
        for m, s in zip(mode_shares["mode"], share, strict=True)
    ]
    rows += [
        ("road", k, "veh·km/h" if "km" in k else "veh·h/h" if k.endswith("_h") else "ratio", v)
        for k, v in road.items()
        if k in ("car_veh_km", "car_veh_h", "car_delay_veh_h", "max_voc")
    ]
    rows += [("transit", "transit_boardings", "boardings/h", float(segments["boardings"].sum()))]
    rows += [
        (
            "accessibility",
            f"jobs_transit_{t}min",
            "jobs (pop-weighted)",
            float(np.sum(pop * zones[f"jobs_transit_{t}min"]) / pop.sum()),
        )
        for t in (30, 45, 60)
    ]
    rows += [("emissions", "co2_total", "kg/h", road["car_veh_km"] * 0.17)]
    rows += [
        ("model", "iterations", "iterations", 3.0),
        ("model", "converged", "bool", float(converged)),
    ]
    metrics = pd.DataFrame(rows, columns=["group", "metric", "unit", "value"])
    lines = pd.DataFrame(
        {"line": ["L1", "L2"], "name": ["1", "2"], "mode": "bus", "headway_s": 600.0}
    )
    edits = (
        pd.DataFrame(
            {
                "file": [f"{name}.toml"],
                "edit": [0],
                "type": ["change_road"],
                "target": ["way w1"],
                "effect": ["hand-made"],
            }
        )
        if name != "base"
        else pd.DataFrame(columns=["file", "edit", "type", "target", "effect"])
    )
    tables = {
        "metrics": metrics,
        "mode_shares": mode_shares,
        "links": links,
        "voc_distribution": voc_distribution(links),
        "lines": lines,
        "segments": segments,
        "stops": stops,
        "zones": zones,
        "convergence": convergence,
        "edits": edits,
    }
    summary = {
        "name": name,
        "description": f"hand-made scenario {name}",
        "file": f"/tmp/{name}.toml",
        "kind": "baseline" if name == "base" else "alternative",
        "chain": [f"/tmp/{name}.toml"],
        "converged": converged,
        "iterations": 3,
        "mode_gap": gaps[-1],
        "link_time_change": gaps[-1],
        "tolerance": tolerance,
        "period": {"name": "am", "start": "07:00", "end": "08:00"},
        "parameters": {
            "value_of_time_per_h": 10.0,
            "mode_choice": {"beta_per_min": -0.06 * (1 + seed)},
            "accessibility_min": [30, 45, 60],
        },
        "network": {"source": "hand-made"},
        "zones": 6,
        "lines": 2,
        "notes": [f"note of {name}"],
        "timings": {"total_s": 1.5},
    }
    return ScenarioResult(name=name, key=f"key-{name}-{seed}", tables=tables, summary=summary)


@pytest.fixture(scope="module")
def pair():
    base = make_result("base")
    alt = make_result(
        "alt",
        seed=1,
        flow_scale=1.5,
        load_scale=2.0,
        access_gain=400.0,
        closed_way="w10001001",
        bus_lane_way="w10011002",
    )
    return base, alt


# ---------------------------------------------------------------------------- page
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_report_is_self_contained(pair, tmp_path):
    base, alt = pair
    path = write_report(base, [alt], tmp_path / "out" / "report.html", title="Hand-made <test>")
    assert path == tmp_path / "out" / "report.html" and path.is_file()
    page = path.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(page)
    # nothing loaded from anywhere: no src/href to a file or URL, no CSS imports or url()
    for tag, attrs in parser.tags:
        assert "src" not in attrs, (tag, attrs)
        if tag == "link":
            pytest.fail(f"<link> in a self-contained page: {attrs}")
        if "href" in attrs:
            assert attrs["href"].startswith("#"), (tag, attrs)
    styles = "".join(re.findall(r"<style>(.*?)</style>", page, flags=re.S))
    assert "@import" not in styles and "url(" not in styles
    # plotly.js inlined exactly once; every figure is a call of the page's plot function
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()[:200]) == 1
    assert page.count("transitoptPlot('fig") == 12  # 7 maps + 5 charts
    assert "<title>Hand-made &lt;test&gt;</title>" in page
    # plotly.js 4 offers to upload a chart unless told not to
    assert page.count('"showSendToCloud":false') == 12 and "plot.ly" not in page.replace(
        get_plotlyjs(), ""
    )
    # no leftovers of the atomic write
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def _headline_cells(page: str, metric: str) -> list[str]:
    row = re.search(rf"<tr><td title='{metric}'>.*?</tr>", page)
    assert row, metric
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0))]


def test_headline_table_values(pair, tmp_path):
    """Car veh-km: 200 m × Σ flows; the alternative has 1.5 × the flows, one street (2 links) closed."""
    base, alt = pair
    page = write_report(base, [alt], tmp_path / "r.html").read_text(encoding="utf-8")
    n = len(base.tables["links"])
    flows = 100.0 + 10.0 * np.arange(n)
    base_km = 0.2 * flows.sum()  # veh·km/h, hand-computed
    closed = alt.tables["links"]["closed"].to_numpy()
    alt_km = 0.2 * 1.5 * flows[~closed].sum()
    cells = _headline_cells(page, "car_veh_km")
    assert cells[:2] == ["Car vehicle-km", "veh·km/h"]
    assert cells[2] == f"{base_km:,.0f}" and cells[3] == f"{alt_km:,.0f}"
    assert cells[4] == f"+{alt_km - base_km:,.0f}"
    assert cells[5] == f"+{100 * (alt_km - base_km) / base_km:.1f} %"
    # shares in percent and percentage points; the direction colours (more delay = worse)
    share = _headline_cells(page, "share_car")
    expected = alt["share_car"] - base["share_car"]
    sign = "+" if expected > 0 else "−"
    assert (
        share[2] == f"{100 * base['share_car']:.1f} %"
        and share[4] == f"{sign}{100 * abs(expected):.2f} pp"
    )
    assert re.search(r"<td title='car_delay_veh_h'>.*?class='num worse'", page)
    assert re.search(r"<td title='jobs_transit_45min'>.*?class='num better'", page)
    # winners and losers at 45 min from compare: zones 1, 2 gain, zone 6 loses
    assert _headline_cells(page, "transit_access_45min_zones_gain")[3] == "2"
    assert _headline_cells(page, "transit_access_45min_population_lose")[3] == "600"
    # the same numbers as compare()
    table = compare(base, alt).set_index("metric")
    assert table.loc["car_veh_km", "alt Δ"] == pytest.approx(alt_km - base_km, rel=1e-12)


def test_headline_table_greys_changes_within_noise(tmp_path):
    """A mode share moved by 0.1 points (band: the tolerance, 0.2 points) is within noise:
    grey and marked ≈, not green or red; car delay +50 % is a change (red)."""
    base = make_result("base")
    metrics = base.tables["metrics"].copy()
    moved = metrics["metric"] == "share_car"
    metrics.loc[moved, "value"] += 0.001
    metrics.loc[metrics["metric"] == "car_delay_veh_h", "value"] *= 1.5
    alt = ScenarioResult("alt", "alt", {**base.tables, "metrics": metrics}, base.summary)
    page = write_report(base, [alt], tmp_path / "r.html").read_text(encoding="utf-8")
    assert _headline_cells(page, "share_car")[4] == "≈+0.10 pp"
    assert re.search(r"<td title='share_car'>(?:(?!</tr>).)*class='num noise'", page)
    assert not re.search(r"<td title='share_car'>(?:(?!</tr>).)*class='num (better|worse)'", page)
    assert re.search(r"<td title='car_delay_veh_h'>(?:(?!</tr>).)*class='num worse'", page)
    assert _headline_cells(page, "car_delay_veh_h")[4].startswith("+")


def test_report_says_when_a_run_did_not_converge(tmp_path):
    base = make_result("base")
    good = write_report(base, [make_result("alt", seed=1)], tmp_path / "good.html").read_text(
        encoding="utf-8"
    )
    assert "id='all-converged'" in good and "not-converged" not in good
    page = write_report(
        base, [make_result("alt", seed=1, converged=False)], tmp_path / "bad.html"
    ).read_text(encoding="utf-8")
    banner = page.index("id='not-converged'")
    assert banner < page.index("<section")  # at the top, before any result
    text = re.sub(r"<[^>]+>", "", page[banner : page.index("</div>", banner)])
    assert (
        "1 of 2 runs did NOT converge" in text
        and "alt did not converge" in text
        and "tolerance 0.002" in text
    )
    assert (
        page.count("NOT converged") >= 3
    )  # headline, scenario and parameter tables mark the column


def test_failed_report_leaves_previous_file(pair, tmp_path, monkeypatch):
    base, alt = pair
    path = tmp_path / "report.html"
    path.write_text("previous", encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report_html.charts, "convergence_figure", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_report(base, [alt], path)
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_of_baseline_alone(tmp_path):
    page = write_report(make_result("base"), [], tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("transitoptPlot('fig") == 6  # v/c + line loads; 4 charts (no change chart)


def test_streets_stored_once(pair, tmp_path):
    """The street network appears once in the page however many maps draw it."""
    import json

    base, alt = pair
    page = write_report(base, [alt, make_result("alt2", seed=2)], tmp_path / "r.html").read_text(
        encoding="utf-8"
    )
    store = json.loads(
        re.search(r'id="transitopt-geometry">(.*?)</script>', page, flags=re.S).group(1)
    )
    roads = 17  # 4 × 3 grid: 3 × 3 east-west + 4 × 2 north-south streets
    corridors = 5  # L1: 3 stop pairs, L2: 2
    assert len(store["x"]) == roads + corridors + 6


# ---------------------------------------------------------------------------- maps
def test_road_table_merges_directions(pair):
    base, _ = pair
    links = base.tables["links"]
    roads = tables.road_table(links)
    assert len(roads) == 17
    # street between nodes 1000 and 1001: links 0 (1000→1001) and 1 (1001→1000)
    road = roads.loc["1000-1001-w10001001"]
    assert road["flow"] == pytest.approx(100.0 + 110.0)
    assert road["flow_ab"] == pytest.approx(100.0) and road["flow_ba"] == pytest.approx(110.0)
    assert road["voc"] == pytest.approx(110.0 / 800.0)
    assert road["geometry"].shape == (3, 2)  # the bend of its WKT geometry
    assert roads["flow"].sum() == pytest.approx(links["flow"].sum())


def test_flow_change_layer(pair):
    base, alt = pair
    layer = layers.flow_change_layer(base, alt)
    roads = tables.road_table(base.tables["links"])
    expected = 0.5 * roads["flow"].to_numpy()  # 1.5 × the flows
    closed = roads.index == "1000-1001-w10001001"
    expected[closed] = -roads["flow"].to_numpy()[closed]
    np.testing.assert_allclose(layer.value, expected, rtol=1e-12)
    assert layer.legend[layer.classes[closed][0]].label == "closed in the alternative"
    # every other value lies in its class's interval, read back from the class labels
    for value, k in zip(layer.value[~closed], layer.classes[~closed], strict=True):
        label = layer.legend[k].label.replace("−", "-").replace(",", "")
        numbers = [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", label)]
        if label.startswith("within"):
            assert abs(value) <= numbers[0]
        elif label.startswith(">"):
            assert value > numbers[0]
        elif label.startswith("≤"):
            assert value <= numbers[0]
        else:
            assert numbers[0] < value <= numbers[1]
    assert "(closed)" in layer.hover[int(np.flatnonzero(closed)[0])]
    assert [layer.ids[i] for i in layer.pins] == [
        "road:1000-1001-w10001001"
    ]  # a cross on the closed street
    # the street that got a bus lane is outlined
    assert [layer.ids[i] for i in layer.marks] == [
        "road:1001-1002-w10011002"
    ] and layer.marks_label == "new bus lane"
    assert "(new bus lane)" in layer.hover[layer.marks[0]]


def test_hover_points_capped_to_largest_values(pair):
    base, alt = pair
    layer = layers.flow_change_layer(base, alt)
    details = interactive._layer_traces(layer, None, max_hover=3)[-1]
    largest = np.argsort(-np.abs(layer.value))[:3]
    assert details["name"] == "details" and details["hovertext"] == [
        layer.hover[i] for i in sorted(largest)
    ]


def test_line_load_layer_sums_lines_and_directions(pair):
    base, _ = pair
    layer = layers.line_load_layer(base)
    corridors = dict(zip(layer.ids, layer.value, strict=True))
    assert corridors["corridor:s0|s1"] == pytest.approx(300.0)
    assert corridors["corridor:s1|s4"] == pytest.approx(100.0)  # L2 runs s4 → s1, stored sorted
    assert len(corridors) == 5
    crowding = {i: layer.legend[k].label for i, k in zip(layer.ids, layer.classes, strict=True)}
    assert crowding["corridor:s1|s5"] == "over capacity"  # 700 / 600
    assert crowding["corridor:s1|s2"] == "0.8 – 1.0"  # 500 / 600
    assert crowding["corridor:s0|s1"] == "0.5 – 0.8"  # 300 / 600


def test_zone_cells_of_a_grid_are_its_squares():
    """Centres on a 250 m grid give 250 m squares, also next to a missing cell."""
    from transitopt.geo import haversine_m

    lon_step = 250.0 / (M_PER_DEG * math.cos(math.radians(LAT0)))
    lat_step = 250.0 / M_PER_DEG
    lon, lat = np.meshgrid(LON0 + lon_step * np.arange(4), LAT0 + lat_step * np.arange(3))
    keep = np.ones(12, bool)
    keep[5] = False  # a hole in the middle
    cells = geometry.zone_cells(lon.ravel()[keep], lat.ravel()[keep])
    assert len(cells) == 11
    for ring, x, y in zip(cells, lon.ravel()[keep], lat.ravel()[keep], strict=True):
        assert ring.shape[0] == 5 and np.allclose(ring[0], ring[-1])
        width = haversine_m(ring[:, 0].min(), y, ring[:, 0].max(), y)
        height = haversine_m(x, ring[:, 1].min(), x, ring[:, 1].max())
        assert width == pytest.approx(250.0, rel=1e-3) and height == pytest.approx(250.0, rel=1e-3)
        assert ring[:-1, 0].mean() == pytest.approx(x, abs=1e-9) and ring[
            :-1, 1
        ].mean() == pytest.approx(y, abs=1e-9)


def test_access_change_layer(pair):
    """Jobs within 45 min by transit: +400 in zones 1 and 2, −100 in zone 6, no change elsewhere."""
    base, alt = pair
    layer = layers.access_change_layer(base, alt, column="jobs_transit_45min")
    np.testing.assert_allclose(layer.value, [400, 400, 0, 0, 0, -100])
    labels = [layer.legend[k].label for k in layer.classes]
    assert labels[2:5] == ["no change"] * 3
    assert labels[0] == labels[1] != "no change" and labels[5] not in ("no change", labels[0])
    assert "jobs within 45 min by transit:<br>1,000 → 1,400 (+400, +40.0 %)" in layer.hover[0]


def test_winners_losers_match_compare(pair):
    base, alt = pair
    view = layers.report_maps(base, [alt])[1][1][-1]
    assert view.labels == ("30 min", "45 min", "60 min") and view.default == 1
    layer = view.layer
    verdict = dict(zip(layer.ids, layer.classes, strict=True))
    assert [verdict[f"zone:{z}"] for z in range(1, 7)] == [
        0,
        0,
        1,
        1,
        1,
        2,
    ]  # gain, gain, same ×3, lose
    assert layer.legend[0].label == "gain: 2 zones, 300 residents"
    assert layer.legend[2].label == "lose: 1 zone, 600 residents"


@pytest.mark.slow
def test_write_maps(pair, tmp_path):
    from PIL import Image

    base, alt = pair
    paths = write_maps(base, [alt], tmp_path / "png", dpi=40)
    assert [p.name for p in paths] == [
        "00-base-voc.png",
        "00-base-line-loads.png",
        "01-alt-flow-change.png",
        "01-alt-voc.png",
        "01-alt-line-loads.png",
        "01-alt-access-change.png",
        "01-alt-winners-losers.png",
    ]
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB")).astype(float)
        assert image.std() > 10.0 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20, path
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == sorted(p.name for p in paths)


# ---------------------------------------------------------------------------- charts and formatting
def test_load_profile_menu(pair):
    base, alt = pair
    fig = load_profile_figure([base, alt])
    buttons = fig["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == [
        "bus 2: Epsilon → Zeta",
        "bus 1: Alpha → Delta",
    ]  # busiest first
    # the first line's bars: base loads, then the alternative's (2 ×); traces per scenario: bars, capacity, seats
    assert fig["data"][0]["y"] == [100.0, 700.0] and fig["data"][3]["y"] == [200.0, 1400.0]
    assert buttons[1]["args"][0]["y"][0] == [300.0, 500.0, 200.0]
    assert buttons[1]["args"][1]["xaxis.ticktext"] == ["Alpha", "Beta", "Gamma"]


def test_labels_and_formatting():
    assert metric("jobs_transit_45min").label == "Jobs within 45 min by transit (generalised time)"
    assert (
        metric("transit_access_30min_population_lose").label
        == "Residents losing transit access (30 min, beyond model noise)"
    )
    assert metric("co2_total").sign == -1
    assert metric("jobs_car_30min").sign == 1
    assert metric("trips").sign == 0
    assert report_html._number(0.2345, "share") == "23.4 %"
    assert report_html._number(12345.6) == "12,346"
    assert report_html._delta(-0.0012, "share") == "−0.12 pp"
    assert report_html._percent(-3.14159) == "−3.1 %" and report_html._percent(0.01) == "+<0.1 %"
    assert report_html._delta(-1500.0) == "−1,500"
    assert report_html._percent(float("nan")) == "–"
    assert (
        classes.nice_number(0.3) == 0.5
        and classes.nice_number(120) == 200
        and classes.nice_number(1000) == 1000
    )


# ---------------------------------------------------------------------------- line highlights
def _with_line_edits(result: ScenarioResult) -> ScenarioResult:
    """``result`` with line X added (on a street route), L2 removed and L1 every 5 min."""
    segments = result.tables["segments"]
    x = segments[segments["line"] == "L1"].copy()
    x["line"], x["name"] = "X", "Express"
    route = f"LINESTRING ({LON0} {LAT0}, {LON0} {LAT0 + DY / 2}, {LON0 + DX} {LAT0})"
    x["geometry_wkt"] = [route, "", ""]
    segments = pd.concat([segments[segments["line"] != "L2"], x], ignore_index=True)
    lines = pd.DataFrame(
        {"line": ["L1", "X"], "name": ["1", "Express"], "mode": "bus", "headway_s": [300.0, 600.0]}
    )
    tables = {**result.tables, "segments": segments, "lines": lines}
    return ScenarioResult(name=result.name, key=result.key + "-lines", tables=tables,
                          summary=result.summary)  # fmt: skip


def test_added_changed_and_removed_lines_are_highlighted_on_every_map(pair, tmp_path):
    from PIL import Image

    from transitopt.report.maps.interactive import map_figure

    base, alt = pair
    alt = _with_line_edits(alt)
    found = {h.kind: h for h in layers.line_highlights(base, alt)}
    assert set(found) == {"added", "changed", "removed"}
    assert found["added"].label == "added line: bus Express"
    assert found["removed"].label == "removed line: bus 2"
    assert "headway 600 → 300 s" in found["changed"].hover
    # the added line is drawn along its street route (3 vertices), the rest stop to stop
    assert [len(g) for g in found["added"].geometry] == [3, 2, 2]
    assert len(found["removed"].geometry) == 2  # L2's two segments, from the baseline
    sections = layers.report_maps(base, [alt])
    assert all(not v.layer.highlights for v in sections[0][1])  # baseline: nothing changed
    alt_views = sections[1][1]
    assert len(alt_views) == 5
    for view in alt_views:
        for variant in view.layers:
            assert {h.kind for h in variant.highlights} == {"added", "changed", "removed"}
        names = [t.get("name") for t in map_figure(view)["data"]]
        assert "added line: bus Express" in names and "removed line: bus 2" in names
    paths = write_maps(base, [alt], tmp_path / "png", dpi=40)
    from transitopt.report.maps.layer import HALO_COLOUR

    magenta = np.array([int(HALO_COLOUR["added"][i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB")).astype(float)
        pixels = int((np.abs(image - magenta).sum(axis=2) < 12).sum())
        assert (pixels > 20) == path.name.startswith("01-"), path.name


def test_road_hover_texts_made_on_demand_and_maps_built_once(pair):
    """A city's road maps format only the hover texts a renderer asks for (the report keeps
    ``MAX_HOVER``, a PNG none), and the PNG maps and the HTML report of the same results
    share one set of layers (issue #12 item 8)."""
    from transitopt.report.maps.layer import LazyTexts

    base, alt = pair
    layer = layers.voc_layer(alt, base=base)
    assert isinstance(layer.hover, LazyTexts) and len(layer.hover) == len(layer.value)
    roads = tables.roads_of(alt)
    k = len(roads) - 1
    row = roads.iloc[k]
    assert layer.hover[-1] == layer.hover[k] and layer.hover[k : k + 1] == [layer.hover[k]]
    assert f"v/c {row['voc']:.2f}" in layer.hover[k]
    assert f"cars {row['flow']:,.0f} veh/h" in layer.hover[k]
    with pytest.raises(IndexError):
        layer.hover[len(roads)]
    first = layers.report_maps(base, [alt])
    again = layers.report_maps(base, [alt])
    assert [v for _, views in first for v in views] == [v for _, views in again for v in views]
    assert all(
        a is b
        for (_, x), (_, y) in zip(first, again, strict=True)
        for a, b in zip(x, y, strict=True)
    )
    alone = layers.report_maps(base, [])  # other alternatives: built anew
    assert len(alone) == 1 and alone[0][1][0] is not first[0][1][0]


def test_link_geometry_parsed_once_equals_parsing_the_text(pair):
    """The maps reuse the links' geometries parsed for the GeoPackage (``link_lines_of``):
    the same vertices as parsing ``geometry_wkt`` again; links without a shape are the
    straight line between their end nodes in both."""
    import shapely

    from transitopt.network.export import link_lines
    from transitopt.report.maps.geometry import link_geometry
    from transitopt.scenario.result import link_lines_of

    base, _ = pair
    links = base.tables["links"]
    lines = link_lines_of(base)
    assert lines is link_lines_of(base)  # parsed once per result
    wkt = links["geometry_wkt"].to_numpy(object)
    shaped = np.array([isinstance(w, str) and w != "" for w in wkt])
    assert 0 < shaped.sum() < len(links)  # the fixture has both kinds
    for line, w, row in zip(lines, wkt, links.itertuples(), strict=True):
        expected = (
            shapely.from_wkt(w)
            if isinstance(w, str) and w
            else shapely.LineString([(row.x0, row.y0), (row.x1, row.y1)])
        )
        assert shapely.equals_exact(line, expected, tolerance=0.0)
    assert all(shapely.equals_exact(link_lines(links), lines, tolerance=0.0))
    again, reused = link_geometry(links), link_geometry(links, lines)
    assert len(again) == len(reused) == len(links)
    for a, b in zip(again, reused, strict=True):
        np.testing.assert_array_equal(a, b)
    assert tables.feature_ids("road", pd.Index(["a", "b"], dtype="string[pyarrow]")) == [
        "road:a",
        "road:b",
    ]
