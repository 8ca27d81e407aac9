"""A baseline calibrated to traffic counts (``[calibration] counts``) and its alternative.

The "observed" counts are the road flows of the same town evaluated with a third more
demand (a known solution); the baseline starts from the smaller demand.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from transitopt._errors import ConvergenceWarning
from transitopt.scenario import evaluate
from transitopt.scenario.schema import ScenarioError


@pytest.fixture(scope="module")
def town_counts(tmp_path_factory, town_toml) -> Path:
    path = tmp_path_factory.mktemp("town_counts")
    (path / "truth.toml").write_text(town_toml(16000), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        truth = evaluate(path / "truth.toml")
    links = truth.table("links")
    counted = links[links["flow"] > 0].iloc[::2]
    counted[["from_node", "to_node"]].assign(count=counted["flow"].round(1)).to_csv(
        path / "counts.csv", index=False
    )
    (path / "base.toml").write_text(
        town_toml(12000) + '\n[calibration]\ncounts = "counts.csv"\n', encoding="utf-8"
    )
    (path / "lane.toml").write_text(
        '[scenario]\nname = "Lane"\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\n'
        'line = "bus:1"\nheadway_min = 4\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def results(town_counts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return evaluate(town_counts / "base.toml"), evaluate(town_counts / "lane.toml")


def test_baseline_matrix_is_estimated_and_alternatives_use_it(results):
    base, lane = results
    fitted = base.summary["calibration"]["counts"]
    assert fitted["after"]["percent_rmse"] < 0.5 * fitted["before"]["percent_rmse"]
    assert fitted["after"]["share_geh_below_5"] >= fitted["before"]["share_geh_below_5"]
    assert fitted["total_trips_after"] > fitted["total_trips_before"]  # the truth has more
    fit = base.table("counts_fit")
    assert len(fit) == fitted["observations"]
    assert (
        np.abs(fit["modelled"] - fit["count"]).mean()
        < np.abs(fit["modelled_before"] - fit["count"]).mean()
    )
    adjustment = base.table("od_adjustment")
    assert (adjustment["factor"] > 0).all() and len(adjustment) > 0
    assert any("estimated from" in note for note in base.summary["notes"])
    # the alternative scales its demand by the baseline's factors, never refits
    assert lane.summary["calibration"]["counts"]["source"] == "baseline"
    assert "od_adjustment" not in lane.tables
    assert any("scaled by the baseline" in note for note in lane.summary["notes"])


def test_report_shows_the_fit(results, tmp_path):
    from transitopt.report import write_report

    base, lane = results
    page = write_report(base, [lane], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Fit to counts" in page
    assert "(before estimation)" in page
    assert "Counted links by GEH" in page and "Modelled against counted" in page
    # every counted link of the baseline is on the GEH map
    assert base.table("counts_fit")["edges"].str.split().map(len).sum() == len(
        base.table("counts_fit")
    )


def test_counts_file_errors_name_the_key(town_counts, town_toml, tmp_path):
    (tmp_path / "bad.csv").write_text("from_node,to_node,count\n1,2,-4\n")
    (tmp_path / "base.toml").write_text(
        town_toml(12000) + '\n[calibration]\ncounts = "bad.csv"\n', encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match=r"calibration\.counts: .*row 1: count"):
        evaluate(tmp_path / "base.toml")
    (tmp_path / "missing.toml").write_text(
        town_toml(12000) + '\n[calibration]\ncounts = "nope.csv"\n', encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match="counts file not found"):
        evaluate(tmp_path / "missing.toml")
