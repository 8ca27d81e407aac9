"""Names, not ids: lines by short/long name and operator, links by OSM way, street name and
road class, link outputs with geometry (GeoPackage), on the hand-written town of
``tests/data/scenario_town.osm`` (bus 1 = relation 401, operator "Town Transit"; South
Street = way 101, Centre Road = way 202) and the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt.network.compiled import Network
from transitopt.network.export import links_geodataframe, write_links
from transitopt.scenario import evaluate_file, load_scenario, read_result, write_result
from transitopt.scenario.edits import apply_edits
from transitopt.scenario.inputs import load_base
from transitopt.transit.lines import Line, line_label, lines_text

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def folder(tmp_path_factory, town_toml) -> Path:
    path = tmp_path_factory.mktemp("town-names")
    zones = {"population_total": 9000, "jobs_total": 9000}
    (path / "base.toml").write_text(town_toml(3000, zones=zones), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def town_result(folder):
    return evaluate_file(folder / "base.toml", cache=False)


def prepared(folder: Path, edits: str, name: str):
    path = folder / f"{name}.toml"
    path.write_text(f'[scenario]\nbaseline = "base.toml"\n\n{edits}', encoding="utf-8")
    scenario = load_scenario(path)
    return apply_edits(scenario, load_base(scenario))


# ---------------------------------------------------------------------------- lines
def test_line_label_adds_the_long_name_unless_it_repeats_the_short_one():
    assert line_label("tram", "3", "Kaivopuisto - Meilahti") == "tram 3 Kaivopuisto - Meilahti"
    assert line_label("bus", "1", "Bus 1") == "bus 1"  # OSM name = "Bus 1", ref = "1"
    assert line_label("bus", "X1", None) == "bus X1"
    a = Line(id="r/1", name="3", mode="tram", stop_ids=("a", "b"), headway_s=600, long_name="A - B")
    b = a.replace(id="r/2", long_name="B - A")
    c = a.replace(id="r/3", name="55", mode="bus", long_name="C - D")
    assert lines_text([a, b, c, "gone/9"]) == "tram 3 (2 lines), bus 55 C - D, gone/9"


def test_osm_import_keeps_operator_and_long_names(town_result):
    lines = town_result.tables["lines"]
    row = lines.set_index("line").loc["relation/401"]
    assert (row["name"], row["label"], row["operator"]) == ("1", "bus 1", "Town Transit")
    segments = town_result.tables["segments"]
    assert set(segments["label"]) == {"bus 1"}


def test_osm_long_name_drops_the_ref_and_falls_back_to_from_to():
    from transitopt.transit.osm_routes import _long_name

    assert _long_name({"ref": "611B", "name": "611B Suutarila - Rautatientori"}) == (
        "Suutarila - Rautatientori"
    )
    assert _long_name({"ref": "5", "name": "5: Katajanokka–Rautatieasema"}) == (
        "Katajanokka–Rautatieasema"
    )
    assert _long_name({"ref": "421", "from": "Martinlaakso", "to": "Elielinaukio"}) == (
        "Martinlaakso - Elielinaukio"
    )
    assert _long_name({"ref": "20N"}) is None


def test_gtfs_import_takes_long_names_and_agency(require_data):
    from transitopt.transit.gtfs import read_gtfs

    # bandung_raya_bus.zip: three agencies; routes.txt names each route's agency_id
    feed = require_data("gtfs/bandung_raya_bus.zip")
    supply, _ = read_gtfs(feed, start="17:00", end="19:00")
    line = supply.line("damri_11:0")
    assert (line.name, line.long_name, line.operator) == (
        "DAMRI 11",
        "Leuwipanjang - Cibiru",
        "DAMRI",
    )
    assert line.label == "bus DAMRI 11 Leuwipanjang - Cibiru"
    assert {ln.operator for ln in supply.lines} == {
        "DAMRI",
        "Blue Bird Bandung",
        "Badan Layanan Umum Daerah Kota Bandung",
    }


def test_edit_log_names_lines_and_streets(folder):
    p = prepared(
        folder,
        '[[edits]]\ntype = "change_line"\nline = "bus:1"\nheadway_min = 5\n\n'
        '[[edits]]\ntype = "close_road"\nway = 101\n\n'
        '[[edits]]\ntype = "add_line"\nid = "X"\nlong_name = "West - East"\noperator = "Town Transit"\n'
        "both_directions = true\nheadway_min = 10\nstops = [4, 5, 6]\n",
        "named",
    )
    log = p.log.set_index("type")
    assert log.loc["change_line", "target"] == "bus 1"
    assert log.loc["change_line", "ids"] == "relation/401"
    assert log.loc["close_road", "target"] == "way 101 (South Street)"
    assert log.loc["add_line", "target"] == "bus X West - East"
    assert log.loc["add_line", "ids"] == "X:0, X:1"
    assert p.supply.line("X:1").operator == "Town Transit"
    assert not p.log["target"].str.contains("relation/").any()


# ---------------------------------------------------------------------------- links
def test_street_table_of_simplified_chains():
    edges = pd.DataFrame(
        {
            "osmid": [[11, 12], 13, None],
            "name": [["High Street", "High Street", "Low Road"], "Mill Lane", np.nan],
            "highway": ["primary", ["residential", "service"], None],
        }
    )
    net = Network.from_edges([0, 1, 2], [1, 2, 0], n_nodes=3, edges=edges)
    table = net.street_table()
    assert table.isna().to_numpy()[2].all()  # a link the source has nothing for
    assert table.fillna("").to_dict("list") == {
        "way": ["11", "13", ""],
        "name": ["High Street; Low Road", "Mill Lane", ""],
        "highway": ["primary", "residential; service", ""],
    }


def _street_text_reference(value, join):
    """The per-value rule of ``Network.street_table`` written out plainly."""

    def missing(v):
        return v is None or (isinstance(v, float) and v != v) or v == ""

    if isinstance(value, list | tuple | np.ndarray):
        if not join:
            first = value[0] if len(value) else None
            return None if missing(first) else str(first)
        text = list(dict.fromkeys(str(v) for v in value if not missing(v)))
        return "; ".join(text) if text else None
    return None if missing(value) else str(value)


def test_street_table_matches_the_per_value_rule_on_random_attributes():
    rng = np.random.default_rng(3)
    pool = [None, np.nan, "", "Main St", "Ring", 7, 8.5, [11, 12], ["A", "A", "B"], [], [None, "C"]]
    n = 400
    edges = pd.DataFrame(
        {c: pd.Series([pool[k] for k in rng.integers(0, len(pool), n)], dtype=object)
         for c in ("osmid", "name", "highway")}
    )  # fmt: skip
    net = Network.from_edges(np.arange(n) % 5, (np.arange(n) + 1) % 5, n_nodes=5, edges=edges)
    table = net.street_table()
    for column, source, join in (
        ("way", "osmid", False),
        ("name", "name", True),
        ("highway", "highway", True),
    ):
        expected = [_street_text_reference(v, join) for v in net.edges[source]]
        got = [None if v is None or (isinstance(v, float) and v != v) else v for v in table[column]]
        assert got == expected, column


def test_storable_converts_only_mixed_object_columns():
    from transitopt.scenario.result import _storable

    table = pd.DataFrame(
        {
            "text": pd.Series(["a", None, np.nan], dtype=object),
            "mixed": pd.Series(["a", 3, None], dtype=object),
            "lists": pd.Series([[1, 2], None, "x"], dtype=object),
            "number": [1.0, 2.0, 3.0],
        }
    )
    out = _storable(table).fillna("missing")
    assert out["mixed"].tolist() == ["a", "3", "missing"]
    assert out["lists"].tolist() == ["[1, 2]", "missing", "x"]
    assert _storable(table)["text"].equals(table["text"])
    assert table["mixed"].tolist() == ["a", 3, None]  # the input is left alone
    plain = table[["text", "number"]]
    assert _storable(plain) is plain  # nothing to convert: no copy


def test_result_links_have_way_name_class_and_a_geopackage(town_result, tmp_path):
    import pyogrio

    links = town_result.tables["links"]
    assert links["way"].notna().all() and links["highway"].notna().all()
    south = links[(links["from_node"] == 1) & (links["to_node"] == 2)].iloc[0]
    assert (south["way"], south["name"]) == ("101", "South Street")
    folder = write_result(town_result, tmp_path / "out")
    gpkg = folder / "links.gpkg"
    assert pyogrio.list_layers(gpkg)[0][0] == "links"
    frame = pyogrio.read_dataframe(gpkg)
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == len(links)
    assert {"way", "name", "highway", "lanes", "capacity_vph", "flow", "voc", "time_s"} <= set(
        frame.columns
    )
    np.testing.assert_allclose(frame["flow"], links["flow"])
    # each link's geometry runs from its tail node to its head node (degrees)
    first = np.array([g.coords[0] for g in frame.geometry])
    last = np.array([g.coords[-1] for g in frame.geometry])
    np.testing.assert_allclose(first, links[["x0", "y0"]].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(last, links[["x1", "y1"]].to_numpy(), atol=1e-9)
    # the CSV keeps the full names; the cache (csv=False) has no GeoPackage
    assert "South Street" in set(pd.read_csv(folder / "links.csv")["name"])
    cached = write_result(town_result, tmp_path / "cache", csv=False)
    assert not (cached / "links.gpkg").exists()
    assert len(read_result(folder).tables["links"]) == len(links)


def test_write_links_refuses_other_formats_and_writes_geoparquet(town_result, tmp_path):
    from transitopt import InputFileError

    links = town_result.tables["links"]
    with pytest.raises(InputFileError, match="links.shp"):
        write_links(links, tmp_path / "links.shp")
    assert not any(tmp_path.iterdir())
    import geopandas as gpd

    path = write_links(links, tmp_path / "links.parquet")
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == 4326 and len(frame) == len(links)
    straight = links_geodataframe(links.drop(columns=["geometry_wkt"], errors="ignore"))
    assert all(len(g.coords) == 2 for g in straight.geometry)


# ---------------------------------------------------------------------------- terminal
def headline_table(n_alternatives: int) -> pd.DataFrame:
    """A comparison table shaped like :func:`transitopt.scenario.compare`'s, long names."""
    from transitopt.cli._tables import TERMINAL_METRICS
    from transitopt.metrics.registry import metric

    rows = [metric(name) for name in TERMINAL_METRICS]
    table = pd.DataFrame(
        {
            "group": [m.group for m in rows],
            "metric": [m.name for m in rows],
            "unit": [m.unit for m in rows],
        }
    )
    rng = np.random.default_rng(7)
    base = np.where(table["unit"] == "share", 0.2199, 1234567.0)
    table["Helsinki baseline with a long descriptive name"] = base
    for k in range(n_alternatives):
        name = f"Alternative {k}: car-free Keskuskatu and more buses"
        value = base * (1 + rng.uniform(-0.5, 1.5, len(base)))
        table[name] = value
        table[f"{name} Δ"] = value - base
        table[f"{name} Δ%"] = 100 * (value - base) / base
    return table


@pytest.mark.parametrize("n_alternatives, parts", [(0, 1), (4, 1), (7, 2)])
def test_headline_table_fits_80_columns_with_a_legend(n_alternatives, parts):
    import io

    from rich.console import Console

    from transitopt.cli._tables import print_headline

    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, markup=False)  # as the CLI's
    table = headline_table(n_alternatives)
    print_headline(console, table, title="Headline metrics")
    text = out.getvalue()
    assert "…" not in text
    assert "[/" not in text and "[dim" not in text  # styles are styles, not printed markup
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.count("Headline metrics") == parts
    if n_alternatives:
        # full scenario names in the legend, one per code
        assert "base = Helsinki baseline with a long descriptive name" in text
        assert f"{chr(ord('A') + n_alternatives - 1)} = Alternative {n_alternatives - 1}:" in text
        assert "(+" in text or "(-" in text
        assert " pt)" in text  # share changes in points
    # every abbreviation is explained
    assert "max load/cap = Highest load / capacity" in " ".join(text.split())
    assert "1.235e+06" in text and "22.0%" in text


def test_headline_table_shows_motorcycle_rows_only_where_given():
    """Motorcycle and ojek shares and PCU-km per class are in the terminal table of a
    scenario with motorcycle modes (80 columns, abbreviations in the legend) and not in
    one without them (rows of zeros or missing values dropped)."""
    import io

    from rich.console import Console

    from transitopt.cli._tables import print_headline

    def printed(table):
        out = io.StringIO()
        print_headline(
            Console(file=out, width=80, color_system=None, markup=False), table, title="H"
        )
        return out.getvalue()

    table = headline_table(2)
    text = printed(table)
    assert max(len(line) for line in text.splitlines()) <= 80
    for short in ("moto share", "ojek share", "PCU·km", "car PCU·km", "moto PCU·km", "ojek PCU·km"):
        assert any(line.startswith(short + " ") for line in text.splitlines()), short
    legend = " ".join(text.split())
    assert "moto share = Motorcycle share" in legend
    assert "moto PCU·km = PCU-km of private motorcycles" in legend
    motorcycle_rows = table["metric"].isin(
        ["share_motorcycle", "share_ojek", "pcu_km", "car_pcu_km", "motorcycle_pcu_km",
         "ojek_pcu_km"]
    )  # fmt: skip
    without = table[~motorcycle_rows].copy()
    text = printed(without)
    assert "moto" not in text and "ojek" not in text and "PCU" not in text
    zeros = table.copy()
    zeros.loc[motorcycle_rows, zeros.columns[3:]] = 0.0
    assert "moto share" not in printed(zeros)


def test_headline_table_marks_changes_within_noise():
    """A change the explanation labels within noise prints as ``≈+x`` (no brackets), others
    as ``(+x)``; the legend says what ``≈`` means; still 80 columns."""
    import io

    from rich.console import Console

    from transitopt.cli._tables import print_headline

    table = headline_table(2)
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, markup=False)
    print_headline(console, table, title="H", within_noise=[{"share_car"}, set()])
    lines = out.getvalue().splitlines()
    row = table.set_index("metric").loc["share_car"]
    k = next(i for i, line in enumerate(lines) if line.startswith("car share "))
    names = [c for c in table.columns[3:] if not c.endswith("Δ") and not c.endswith("Δ%")]
    first, second = (100 * row[f"{name} Δ"] for name in names[1:])
    assert f"≈{first:+.2f} pt" in lines[k + 1] and f"({second:+.2f} pt)" in lines[k + 1]
    assert "≈: within the model's convergence noise" in " ".join(" ".join(lines).split())
    assert max(len(line) for line in lines) <= 80


@pytest.mark.slow
def test_evaluate_at_80_columns_shows_the_change_vs_its_baseline(tmp_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(root)}
    run = subprocess.run(
        [sys.executable, "-m", "transitopt.cli", "evaluate", str(SCENARIOS / "helsinki_new_line.toml"),
         "-o", str(tmp_path / "x1")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert "Headline metrics: change vs Helsinki baseline" in text
    assert "A = New bus line X1" in text and "base = Helsinki baseline" in text
    assert " pt)" in text and "%)" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = pd.read_csv(tmp_path / "x1" / "lines.csv")
    assert "bus X1 Hietalahti - Hakaniemi" in set(lines["label"])
    edits = pd.read_csv(tmp_path / "x1" / "edits.csv")
    assert list(edits["target"]) == ["bus X1 Hietalahti - Hakaniemi"]
    # the demo's OSM street network: way ids, names and classes in the links
    links = pd.read_csv(tmp_path / "x1" / "links.csv")
    assert links["way"].notna().all() and links["highway"].notna().all()
    assert links["name"].notna().mean() > 0.9
    import pyogrio

    frame = pyogrio.read_dataframe(tmp_path / "x1" / "links.gpkg")
    assert frame.crs.to_epsg() == 4326 and len(frame) == len(links)


def test_roads_assign_writes_named_links_with_geometry(town_osm, tmp_path):
    import pyogrio
    from typer.testing import CliRunner

    from transitopt.cli import app

    pd.DataFrame({"zone": [1, 9], "lon": [25.0, 25.0108], "lat": [60.0, 60.0054]}).to_csv(
        tmp_path / "zones.csv", index=False
    )
    pd.DataFrame({"origin": [1], "destination": [9], "trips": [500.0]}).to_csv(
        tmp_path / "od.csv", index=False
    )
    args = ["assign", str(town_osm), "--demand", str(tmp_path / "od.csv")]
    args += ["--zones", str(tmp_path / "zones.csv"), "--gap", "1e-6"]
    runner = CliRunner()
    for name in ("flows.csv", "flows.gpkg"):
        result = runner.invoke(app, [*args, "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "flows.csv")
    frame = pyogrio.read_dataframe(tmp_path / "flows.gpkg")
    assert frame.crs.to_epsg() == 4326 and len(frame) == len(table)
    assert {"way", "name", "highway", "lanes", "capacity_vph", "flow", "voc", "time_s"} <= set(
        frame.columns
    )
    # 500 cars/h from node 1 to node 9: every car crosses the town on named streets
    used = table[table["flow"] > 1.0]
    assert used["name"].notna().all() and used["way"].notna().all()
    assert set(used["name"]) <= {
        "South Street",
        "Middle Street",
        "North Street",
        "West Road",
        "Centre Road",
        "East Road",
    }
    assert used.loc[used["from_node"] == 1, "flow"].sum() == pytest.approx(500.0, rel=1e-6)
    np.testing.assert_allclose(frame["flow"].to_numpy(), table["flow"].to_numpy())
