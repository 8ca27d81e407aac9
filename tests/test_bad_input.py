"""Bad input, table-driven: every case ends with one ``error: ...`` line and writes nothing.

Each row is a command line a careless or hostile user could type (issue #13's trials and
more): a bad option value, a malformed or implausible file, an unwritable output. The test
asserts the exit code (1 for bad data, 2 for bad usage, as click does), that standard error
holds exactly one line starting with ``error:`` which names the offending value, that no
traceback is printed and that the output path was not created.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from transitopt.cli import app

TOWN = Path(__file__).parent / "data" / "scenario_town.osm"

#: zone points on the hand-written town (a 3 x 3 grid of 300 m blocks at 60 N, 25 E)
GOOD_ZONES = "zone,lon,lat\n1,25.000,60.000\n2,25.0108,60.0027\n3,25.0054,60.0054\n"
GOOD_OD = "origin,destination,trips\n1,2,10\n2,3,5\n"

#: files the cases refer to as {name}; written into a fresh folder per case
FILES: dict[str, str] = {
    "zones.csv": GOOD_ZONES,
    "od.csv": GOOD_OD,
    "od_text.csv": "origin,destination,trips\n1,2,ten\n2,3,5\n",
    "od_huge.csv": "origin,destination,trips\n1,2,1e300\n2,3,5\n",
    "od_inf.csv": "origin,destination,trips\n1,2,inf\n2,3,5\n",
    "od_nan.csv": "origin,destination,trips\n1,2,nan\n2,3,5\n",
    "od_negative.csv": "origin,destination,trips\n1,2,-4\n2,3,5\n",
    "od_unknown_zone.csv": "origin,destination,trips\n1,2,10\nA7,3,5\n",
    "od_no_trips.csv": "origin,destination,flow\n1,2,10\n",
    "zones_missing_lat.csv": "zone,lon\n1,25.0\n2,25.01\n",
    "zones_nan.csv": "zone,lon,lat\n1,25.000,60.000\n2,nan,60.0027\n",
    "zones_lat95.csv": "zone,lon,lat\n1,25.000,60.000\n2,25.0108,95.0\n",
    "zones_text.csv": "zone,lon,lat\n1,25.000,60.000\n2,east,60.0027\n",
    "zones_duplicate.csv": "zone,lon,lat\n1,25.000,60.000\n1,25.0108,60.0027\n",
    "zones_far.csv": "zone,lon,lat\n1,25.000,60.000\n2,-122.27,37.80\n",
    "zones_swapped.csv": "zone,lon,lat\n1,60.000,25.000\n2,60.0027,25.0108\n3,60.0054,25.0054\n",
    "zones_2km.csv": "zone,lon,lat\n1,25.000,60.000\n2,25.0108,60.0300\n",
    "roads.shp": "not a shapefile",
    "broken.osm": "<osm><node id='1' lat=",
    "empty.osm": "<?xml version='1.0'?><osm version='0.6'></osm>",
    "nan_node.osm": (
        "<?xml version='1.0'?><osm version='0.6'>"
        "<node id='1' lat='nan' lon='25.0'/><node id='2' lat='60.0' lon='25.01'/>"
        "<node id='3' lat='60.01' lon='25.01'/>"
        "<way id='9'><nd ref='1'/><nd ref='2'/><nd ref='3'/><nd ref='1'/>"
        "<tag k='highway' v='residential'/></way></osm>"
    ),
    "lat95.osm": (
        "<?xml version='1.0'?><osm version='0.6'>"
        "<node id='1' lat='95.0' lon='25.0'/><node id='2' lat='60.0' lon='25.01'/>"
        "<node id='3' lat='60.01' lon='25.01'/>"
        "<way id='9'><nd ref='1'/><nd ref='2'/><nd ref='3'/><nd ref='1'/>"
        "<tag k='highway' v='residential'/></way></osm>"
    ),
    "duplicate_node.osm": (
        "<?xml version='1.0'?><osm version='0.6'>"
        "<node id='1' lat='60.0' lon='25.0'/><node id='2' lat='60.0' lon='25.01'/>"
        "<node id='3' lat='60.01' lon='25.01'/><node id='2' lat='-33.0' lon='151.0'/>"
        "<way id='9'><nd ref='1'/><nd ref='2'/><nd ref='3'/><nd ref='1'/>"
        "<tag k='highway' v='residential'/></way></osm>"
    ),
    "markup[/]dir/x.txt": "",
    "trips_huge_TNTP": "",
}

TOWN_ARG = str(TOWN)
SKIM = ["skim", TOWN_ARG, "-o", "{out}/skim.csv"]
ASSIGN = ["assign", TOWN_ARG, "-o", "{out}/flows.csv", "-d", "{tmp}/od.csv", "--zones"]
ACCESS = ["access", TOWN_ARG, "-o", "{out}/access.csv"]
IMPORT = ["transit", "import", TOWN_ARG, "-o", "{out}/lines.csv"]
ROUTES = ["optimise", "routes", "Mandl1", "-k", "4", "-o", "{out}/routes.txt", "--budget", "1"]

# (id, arguments, exit code, a fragment the error line must contain)
CASES: list[tuple[str, list[str], int, str]] = [
    # option values
    ("profile", [*SKIM, "--grid", "300", "--profile", "atlantis"], 2, "atlantis"),
    ("network type", [*SKIM, "--grid", "300", "--type", "boat"], 2, "boat"),
    ("grid zero", [*SKIM, "--grid", "0"], 2, "--grid"),
    ("grid negative", [*SKIM, "--grid", "-100"], 2, "--grid"),
    ("grid nan", [*SKIM, "--grid", "nan"], 2, "--grid"),
    ("grid text", [*SKIM, "--grid", "wide"], 2, "--grid"),
    ("weight", [*SKIM, "--grid", "300", "--weight", "banana"], 2, "banana"),
    ("max snap", [*SKIM, "--grid", "300", "--max-snap", "-1"], 2, "--max-snap"),
    ("zones and grid", [*SKIM, "--grid", "300", "--zones", "{tmp}/zones.csv"], 2, "--grid"),
    ("neither zones nor grid", SKIM, 2, "--zones"),
    ("algorithm", [*ASSIGN, "{tmp}/zones.csv", "--algorithm", "dijkstra"], 2, "dijkstra"),
    ("gap negative", [*ASSIGN, "{tmp}/zones.csv", "--gap", "-1"], 2, "--gap"),
    ("gap nan", [*ASSIGN, "{tmp}/zones.csv", "--gap", "nan"], 2, "--gap"),
    ("max iter", [*ASSIGN, "{tmp}/zones.csv", "--max-iter", "0"], 2, "--max-iter"),
    ("time limit", [*ASSIGN, "{tmp}/zones.csv", "--time-limit", "-5"], 2, "--time-limit"),
    ("access mode", [*ACCESS, "--mode", "bike"], 2, "bike"),
    ("access cell", [*ACCESS, "--cell", "0"], 2, "--cell"),
    ("access cutoffs negative", [*ACCESS, "--cutoffs", "-5"], 2, "--cutoffs"),
    ("access cutoffs text", [*ACCESS, "--cutoffs", "soon"], 2, "soon"),
    ("access opportunity", [*ACCESS, "--opportunity", "foo"], 1, "foo"),
    ("start text", [*IMPORT, "--start", "abc"], 2, "abc"),
    ("start 25:99", [*IMPORT, "--start", "25:99"], 2, "25:99"),
    ("end before start", [*IMPORT, "--start", "09:00", "--end", "07:00"], 2, "--end"),
    ("date", [*IMPORT, "--date", "20241340"], 2, "20241340"),
    ("default headway", [*IMPORT, "--default-headway", "0"], 2, "--default-headway"),
    ("workers", ["batch", "{tmp}/none.toml", "-o", "{out}/b", "--workers", "-1"], 2, "--workers"),
    ("bench instance", ["bench", "tndp", "Atlantis", "--budget", "1"], 1, "Atlantis"),
    ("bench seeds", ["bench", "tndp", "Mandl", "--seeds", "a,b"], 2, "a,b"),
    ("bench budget", ["bench", "tndp", "Mandl", "--budget", "0"], 2, "--budget"),
    (
        "routes instance",
        ["optimise", "routes", "Atlantis", "-k", "3", "-o", "{out}/r.txt"],
        1,
        "Atlantis",
    ),
    ("routes count", [*ROUTES[:3], "-k", "0", *ROUTES[5:]], 2, "--routes"),
    ("routes objective", [*ROUTES, "--objective", "fastest"], 2, "fastest"),
    ("routes nodes order", [*ROUTES, "--min-nodes", "6", "--max-nodes", "3"], 1, "3"),
    ("routes budget", [*ROUTES[:-1], "-2"], 2, "--budget"),
    (
        "frequencies fleet",
        ["optimise", "frequencies", "{tmp}/none.toml", "--fleet", "-3", "-o", "{out}/f.toml"],
        2,
        "--fleet",
    ),
    ("unknown option", [*SKIM, "--grid", "300", "--bogus"], 2, "--bogus"),
    ("unknown command", ["teleport"], 2, "teleport"),
    # sources and outputs
    ("missing source", ["network", "info", "no/such/file.osm.pbf"], 1, "no/such/file.osm.pbf"),
    ("unknown source kind", ["network", "info", "{tmp}/roads.shp"], 1, ".shp"),
    ("broken osm", ["network", "info", "{tmp}/broken.osm"], 1, "broken.osm"),
    ("osm without roads", ["network", "info", "{tmp}/empty.osm"], 1, "empty.osm"),
    ("markup in a path", ["network", "info", "{tmp}/markup[/]dir/x.txt"], 1, "markup[/]dir"),
    (
        "markup in a missing path",
        ["network", "info", "{tmp}/[bold red]R9.osm"],
        1,
        "[bold red]R9.osm",
    ),
    ("export format", ["network", "export", TOWN_ARG, "-o", "{out}/net.shp"], 1, ".shp"),
    ("output under a file", [*SKIM[:3], "{tmp}/od.csv/skim.csv", "--grid", "300"], 1, "od.csv"),
    # zone points
    ("zones missing column", [*SKIM, "--zones", "{tmp}/zones_missing_lat.csv"], 1, "lat"),
    ("zones nan", [*SKIM, "--zones", "{tmp}/zones_nan.csv"], 1, "zones_nan.csv"),
    ("zones lat 95", [*SKIM, "--zones", "{tmp}/zones_lat95.csv"], 1, "95"),
    ("zones text coordinate", [*SKIM, "--zones", "{tmp}/zones_text.csv"], 1, "east"),
    ("zones duplicate id", [*SKIM, "--zones", "{tmp}/zones_duplicate.csv"], 1, "1"),
    ("zones far away", [*SKIM, "--zones", "{tmp}/zones_far.csv"], 1, "zone 2"),
    ("zones swapped lat/lon", [*SKIM, "--zones", "{tmp}/zones_swapped.csv"], 1, "swapped"),
    ("zones beyond 2 km", [*SKIM, "--zones", "{tmp}/zones_2km.csv"], 1, "zone 2"),
    # OD tables
    ("od text", [*ASSIGN[:5], "{tmp}/od_text.csv", "--zones", "{tmp}/zones.csv"], 1, "ten"),
    ("od huge", [*ASSIGN[:5], "{tmp}/od_huge.csv", "--zones", "{tmp}/zones.csv"], 1, "1e+300"),
    ("od inf", [*ASSIGN[:5], "{tmp}/od_inf.csv", "--zones", "{tmp}/zones.csv"], 1, "inf"),
    ("od nan", [*ASSIGN[:5], "{tmp}/od_nan.csv", "--zones", "{tmp}/zones.csv"], 1, "od_nan.csv"),
    ("od negative", [*ASSIGN[:5], "{tmp}/od_negative.csv", "--zones", "{tmp}/zones.csv"], 1, "-4"),
    (
        "od unknown zone",
        [*ASSIGN[:5], "{tmp}/od_unknown_zone.csv", "--zones", "{tmp}/zones.csv"],
        1,
        "A7",
    ),
    (
        "od without trips column",
        [*ASSIGN[:5], "{tmp}/od_no_trips.csv", "--zones", "{tmp}/zones.csv"],
        1,
        "trips",
    ),
    # OSM content
    ("osm nan coordinate", ["network", "info", "{tmp}/nan_node.osm"], 1, "'nan'"),
    ("osm latitude 95", ["network", "info", "{tmp}/lat95.osm"], 1, "node 1"),
    ("osm duplicate node", ["network", "info", "{tmp}/duplicate_node.osm"], 1, "node 2"),
]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """(input folder with :data:`FILES`, output folder that must stay empty)."""
    inputs = tmp_path / "in"
    for name, text in FILES.items():
        path = inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    return inputs, out


@pytest.mark.parametrize(
    ("args", "code", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_error_line_and_writes_nothing(folders, args, code, fragment):
    inputs, out = folders
    argv = [a.replace("{tmp}", str(inputs)).replace("{out}", str(out)) for a in args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------------- full disk
@pytest.fixture
def full_disk(tmp_path: Path):
    """A folder on a full file system: a 64 KiB tmpfs filled up (needs mount rights), else
    the same errno simulated at the writers (``ENOSPC`` after part of the data)."""
    import errno
    import subprocess

    folder = tmp_path / "full"
    folder.mkdir()
    try:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                capture_output=True,
            ).returncode
            == 0
        )
    except OSError:  # no mount command
        mounted = False
    if mounted:
        try:
            with (folder / "filler").open("wb") as filler:
                while True:
                    filler.write(b"x" * 1024)
                    filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        yield folder, {"filler"}
        subprocess.run(["umount", str(folder)], check=False)
        return
    import pandas as pd

    real_to_csv = pd.DataFrame.to_csv

    def half_then_full(self, path=None, *args, **kwargs):
        if path is not None and str(folder) in str(path):
            Path(path).write_text("origin,destination\n1,")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_to_csv(self, path, *args, **kwargs)

    real_write_text = Path.write_text

    def write_half(self, data, *args, **kwargs):
        if str(folder) in str(self):
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write_text(self, data, *args, **kwargs)

    import os

    real_replace = os.replace

    def no_room(src, dst, *args, **kwargs):  # any other writer: fails when moved into place
        if str(folder) in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst, *args, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(os, "replace", no_room)
    patch.setattr(pd.DataFrame, "to_csv", half_then_full)
    patch.setattr(Path, "write_text", write_half)
    yield folder, set()
    patch.undo()


@pytest.mark.parametrize(
    "args",
    [
        ["skim", TOWN_ARG, "--grid", "300", "-o", "{full}/skim.csv"],
        ["optimise", "routes", "Mandl1", "-k", "4", "--budget", "0.5", "-o", "{full}/r.txt"],
        ["network", "export", TOWN_ARG, "-o", "{full}/net.graphml"],
    ],
    ids=["skim", "optimise routes", "network export"],
)
def test_full_disk_is_one_error_line_and_leaves_no_file(full_disk, args):
    folder, before = full_disk
    argv = [a.replace("{full}", str(folder)) for a in args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "no space left on device" in lines[0].lower()
    assert Path(argv[-1]).name in lines[0]
    assert {p.name for p in folder.iterdir()} == before  # no partial file, no temp debris


# ---------------------------------------------------------------------------- other cities
@pytest.mark.parametrize(
    ("zones", "fragment"),
    [
        (GOOD_ZONES, "none of the 3 zones lies within 2,000 m of a stop"),
        ("zone,lon,lat\n1,-6.59,106.79\n2,-6.60,106.80\n", "look swapped"),
    ],
    ids=["zones of another city", "zones with lon/lat swapped"],
)
def test_transit_assign_refuses_zones_far_from_every_stop(require_data, tmp_path, zones, fragment):
    # the Bogor angkot feed (about 106.8 E, 6.6 S) with zones in the Helsinki town, or swapped
    feed = require_data("gtfs/bogor_angkot.zip")
    (tmp_path / "zones.csv").write_text(zones)
    (tmp_path / "od.csv").write_text(GOOD_OD.replace("2,3,5\n", ""))
    out = tmp_path / "lines.csv"
    result = CliRunner().invoke(
        app,
        [
            "transit",
            "assign",
            str(feed),
            "-d",
            str(tmp_path / "od.csv"),
            "--zones",
            str(tmp_path / "zones.csv"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert not out.exists()


def test_numbers_in_messages_are_plain():
    import numpy as np

    import transitopt.cli  # noqa: F401 (sets the print options of the command line)

    assert repr(np.int64(3)) == "3" and f"{[np.float64(0.5)]}" == "[0.5]"


def test_the_command_line_offers_every_road_algorithm():
    from transitopt.assignment.equilibrium import ALGORITHMS
    from transitopt.cli._common import ALGORITHM_NAMES

    assert ALGORITHM_NAMES == ALGORITHMS
