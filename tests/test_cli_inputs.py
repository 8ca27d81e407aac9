"""The command line reads its inputs through the API's readers (one OD reader for every command)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from transitopt.cli import app
from transitopt.demand import ODMatrix

runner = CliRunner()


def test_transit_assign_reads_omx_demand_like_csv(tmp_path):
    zones = pd.DataFrame(
        {"zone": [1, 2, 3], "lon": [24.940, 24.950, 24.945], "lat": [60.168, 60.172, 60.176]}
    )
    zones.to_csv(tmp_path / "zones.csv", index=False)
    od = pd.DataFrame(
        [(a, b, 10.0 * a + b) for a in zones.zone for b in zones.zone if a != b],
        columns=["origin", "destination", "trips"],
    )
    od.to_csv(tmp_path / "od.csv", index=False)
    ODMatrix.from_frame(od).to_omx(tmp_path / "od.omx")
    tables = {}
    for suffix in ("csv", "omx"):
        out = tmp_path / f"lines_{suffix}.csv"
        args = ["transit", "assign", "helsinki", "--demand", str(tmp_path / f"od.{suffix}")]
        result = runner.invoke(app, [*args, "--zones", str(tmp_path / "zones.csv"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert f"{od['trips'].sum():,.0f} trips assigned" in result.output
        tables[suffix] = pd.read_csv(out)
    pd.testing.assert_frame_equal(tables["csv"], tables["omx"])


def test_compare_needs_a_baseline_and_an_alternative(tmp_path):
    result = runner.invoke(app, ["compare", "scenarios/helsinki_base.toml", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "baseline and at least one alternative" in result.output
