"""Transit boardings: counts per line and per stop, the transit constant fitted to them
(issue 17, item 5), in the API, the scenario ``[calibration]`` and ``transitopt calibrate``.

Known answer: the "observed" boardings are the town's own model run with
``asc_transit = 0.8`` (its bus line and its stops); the model starts from 0. Recovering
the constant to 0.01 utils and every observation to GEH < 0.5 is the test: one constant
moves all of them, so the truth is the only constant that fits the total within 1 %.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from transitopt._errors import ConvergenceWarning, InputFileError
from transitopt.assignment.boardings import BoardingsCalibration
from transitopt.assignment.calibration import CalibrationError
from transitopt.demand import counts_file_kinds, read_boardings, read_counts
from transitopt.scenario import evaluate, load_scenario
from transitopt.scenario.evaluate import apply_edits, build_model, load_base
from transitopt.scenario.schema import ScenarioError

TRUE_ASC = 0.8


def _boardings_rows(result) -> list[dict]:
    """Boardings per line and per stop of a model run (the "observed" counts)."""
    lines = result.transit.line_table()
    links = result.transit.links_table()
    stops = links[links["kind"] == "board"].groupby("stop")["volume"].sum()
    return [
        {"line": line, "stop": "", "count": round(float(v), 3)}
        for line, v in zip(lines["line"], lines["boardings"], strict=True)
    ] + [
        {"line": "", "stop": stop, "count": round(float(v), 3)}
        for stop, v in stops.items()
        if v > 0
    ]


@pytest.fixture(scope="module")
def town(tmp_path_factory, town_toml):
    """The town's baseline (asc_transit 0) and the boardings of its run at 0.8."""
    path = tmp_path_factory.mktemp("town_boardings")
    (path / "plain.toml").write_text(town_toml(12000), encoding="utf-8")
    scenario = load_scenario(path / "plain.toml")
    model = build_model(apply_edits(scenario, load_base(scenario)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        truth = model.with_constants(asc_transit=TRUE_ASC).run()
    rows = _boardings_rows(truth)
    pd.DataFrame(rows).to_csv(path / "boardings.csv", index=False)
    return path, model, truth, rows


def test_read_boardings_and_match_rows(town, tmp_path):
    path, model, truth, rows = town
    line = rows[0]["line"]
    text = (
        "line,stop,count,name\n"
        f"{line},,100,\n"
        ",node/1,40,first stop\n"
        f"{line},node/2,30,\n"
        "nope,,5,\n"
        ",node/999,5,\n"
    )
    file = tmp_path / "b.csv"
    file.write_text(text, encoding="utf-8")
    boardings = read_boardings(file)
    assert boardings.labels.tolist() == [
        f"line {line}",
        "first stop",
        f"line {line} at stop node/2",
        "line nope",
        "stop node/999",
    ]
    assert boardings.rows.tolist() == [1, 2, 3, 4, 5]
    matched = boardings.match(truth.transit.graph)
    assert matched.n_observations == 3
    assert matched.unmatched["row"].tolist() == [4, 5]
    assert "line 'nope' is not a line" in matched.unmatched["reason"].iloc[0]
    # modelled = the board-link volumes: the line's equal its line_table boardings
    modelled = matched.modelled(truth.transit.link_volume)
    assert modelled[0] == pytest.approx(truth.transit.line_table()["boardings"].iloc[0], rel=1e-12)
    # a stop's boardings of all its lines >= the line's alone at that stop
    assert modelled[1] >= 0 and modelled[2] <= modelled[0]


def test_counts_file_with_links_and_boardings(town, tmp_path):
    path, model, truth, rows = town
    file = tmp_path / "mixed.csv"
    file.write_text(
        f"from_node,to_node,line,stop,count\n,,{rows[0]['line']},,120\n1,2,,,300\n",
        encoding="utf-8",
    )
    assert counts_file_kinds(file) == {"links", "boardings"}
    only = tmp_path / "only.csv"
    only.write_text(f"line,count\n{rows[0]['line']},120\n", encoding="utf-8")
    assert counts_file_kinds(only) == {"boardings"}
    with pytest.raises(InputFileError, match="no traffic count rows"):
        read_counts(only, model.drive)
    bad = tmp_path / "bad.csv"
    bad.write_text("line,count\nx,-3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"row 1: count"):
        read_boardings(bad)
    with pytest.raises(InputFileError, match="no transit boardings rows"):
        read_boardings(_links_only(tmp_path))


def _links_only(tmp_path):
    file = tmp_path / "links.csv"
    file.write_text("from_node,to_node,count\n1,2,300\n", encoding="utf-8")
    return file


def test_constant_and_boardings_are_recovered(town):
    path, model, truth, rows = town
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = BoardingsCalibration(read_boardings(path / "boardings.csv")).run(model)
    assert fit.converged
    assert fit.constants["asc_transit"] == pytest.approx(TRUE_ASC, abs=0.01)
    assert fit.constants["asc_car"] == 0.0 and fit.constants["asc_walk"] == 0.0
    table = fit.fit_table()
    assert (table["geh_before"] > 5).all()  # the start is far off on every observation
    assert (table["geh"] < 0.5).all()
    assert np.abs(table["modelled"] / table["count"] - 1).max() < 0.01
    stats = fit.statistics()
    assert stats.loc["share_geh_below_5", "after"] == 1.0
    history = fit.history
    assert abs(history["ratio"].iloc[-1] - 1) <= 0.01 < abs(history["ratio"].iloc[-2] - 1)
    assert len(history) <= 6


def test_unreachable_boardings_are_refused(town, tmp_path):
    path, model, truth, rows = town
    file = tmp_path / "many.csv"
    file.write_text(f"line,count\n{rows[0]['line']},1e9\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(CalibrationError, match="did not fit within 4 model runs"):
            BoardingsCalibration(read_boardings(file), max_iter=4).run(model)
    file.write_text("line,count\nnope,10\n", encoding="utf-8")
    with pytest.raises(CalibrationError, match="no counted line or stop"):
        BoardingsCalibration(read_boardings(file)).run(model)


@pytest.fixture(scope="module")
def scenario_results(town, town_toml):
    """A baseline calibrated to the boardings and an alternative with a faster bus."""
    path, model, truth, rows = town
    (path / "base.toml").write_text(
        town_toml(12000) + '\n[calibration]\ncounts = "boardings.csv"\n', encoding="utf-8"
    )
    (path / "fast.toml").write_text(
        '[scenario]\nname = "Fast"\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\n'
        'line = "bus:1"\nheadway_min = 4\n',
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return evaluate(path / "base.toml"), evaluate(path / "fast.toml")


def test_scenario_baseline_fits_boardings_and_alternative_reuses_the_constant(scenario_results):
    base, fast = scenario_results
    fitted = base.summary["calibration"]
    assert fitted["fitted_to"] == "boardings"
    assert fitted["constants"]["asc_transit"] == pytest.approx(TRUE_ASC, abs=0.01)
    entry = fitted["boardings"]
    assert entry["fitted"] and entry["before"]["share_geh_below_5"] == 0.0
    assert entry["after"]["share_geh_below_5"] == 1.0
    assert abs(entry["total_modelled"] / entry["total_counted"] - 1) <= entry["tolerance"]
    assert base.summary["parameters"]["mode_choice"]["asc_transit"] == pytest.approx(
        fitted["constants"]["asc_transit"]
    )
    assert "geh_before" in base.table("boardings_fit")
    assert any("transit constant calibrated" in n for n in base.summary["notes"])
    # the alternative: the baseline's constant, its own boardings (more with a 4-min bus)
    alt = fast.summary["calibration"]
    assert alt["source"] == "baseline"
    assert alt["constants"]["asc_transit"] == fitted["constants"]["asc_transit"]
    assert alt["boardings"]["source"] == "baseline" and not alt["boardings"]["fitted"]
    assert alt["boardings"]["total_modelled"] > entry["total_modelled"]


def test_report_shows_the_boardings_fit(scenario_results, tmp_path):
    from transitopt.report import write_report

    base, fast = scenario_results
    page = write_report(base, [fast], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Fit to counts" in page and "Transit boardings" in page
    assert "(before calibration)" in page


def test_scenario_with_traffic_counts_and_boardings(town, town_toml, tmp_path):
    """Traffic counts and boardings from a bigger town at asc_transit 0.8: the car matrix
    is estimated and the constant fitted again after it, both fits improve."""
    path, model, truth, rows = town
    (tmp_path / "truth.toml").write_text(
        town_toml(16000) + f"\n[model.mode_choice]\nasc_transit = {TRUE_ASC}\n", encoding="utf-8"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        truth_result = evaluate(tmp_path / "truth.toml")
    links = truth_result.table("links")
    counted = links[links["flow"] > 0].iloc[::2]
    traffic = counted[["from_node", "to_node"]].assign(count=counted["flow"].round(1))
    boardings = pd.DataFrame(_boardings_rows(truth_result.outcome))
    pd.concat([traffic, boardings], ignore_index=True).to_csv(tmp_path / "counts.csv", index=False)
    (tmp_path / "base.toml").write_text(
        town_toml(12000) + '\n[calibration]\ncounts = "counts.csv"\n', encoding="utf-8"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = evaluate(tmp_path / "base.toml")
    fitted = base.summary["calibration"]
    counts = fitted["counts"]
    # measured: %RMSE 39.5 -> 3.7 after 4 rounds (matrix, then constant, alternately)
    assert counts["after"]["percent_rmse"] < 0.2 * counts["before"]["percent_rmse"]
    assert 2 <= counts["rounds"] <= 4
    entry = fitted["boardings"]
    assert abs(entry["total_modelled"] / entry["total_counted"] - 1) <= entry["tolerance"]
    assert entry["after"]["share_geh_below_5"] == 1.0
    assert fitted["boardings_runs_after_counts"] >= 1
    assert set(base.tables) >= {"counts_fit", "boardings_fit", "od_adjustment"}


def test_scenario_boardings_errors_name_the_key(town, town_toml, tmp_path):
    path, model, truth, rows = town
    (tmp_path / "b.csv").write_text("line,count\nnope,10\n", encoding="utf-8")
    (tmp_path / "base.toml").write_text(
        town_toml(12000) + '\n[calibration]\ncounts = "b.csv"\n', encoding="utf-8"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ScenarioError, match=r"calibration\.counts: .*no counted line or stop"):
            evaluate(tmp_path / "base.toml")
    # a scenario models cars only: a truck count is refused at the key, naming the class
    (tmp_path / "b.csv").write_text(
        "from_node,to_node,class,count\n1,2,truck,10\n", encoding="utf-8"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ScenarioError, match=r"calibration\.counts: .*vehicle class 'truck'"):
            evaluate(tmp_path / "base.toml")


def test_calibrate_cli_on_a_scenario(scenario_results, town, tmp_path):
    from typer.testing import CliRunner

    from transitopt.cli import app

    path, *_ = town
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        run = CliRunner().invoke(app, ["calibrate", str(path / "base.toml"), "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "transit constant calibrated" in run.output
    assert "boardings: GEH<5 0.0% -> 100.0%" in run.output
    table = pd.read_csv(out / "boardings_fit.csv")
    assert (table["geh"] < 0.5).all()
    assert (out / "calibration.json").stat().st_size > 0
    bad = CliRunner().invoke(
        app, ["calibrate", str(path / "base.toml"), "--counts", "x.csv", "-o", str(out)]
    )
    assert bad.exit_code != 0 and "leave out --counts" in bad.output


@pytest.mark.slow
def test_helsinki_docs_case_recovers_the_constant(tmp_path):
    """docs/calibration.md, "Transit boardings": the constant -0.5 that made the counts."""
    from pathlib import Path

    from typer.testing import CliRunner

    from transitopt.cli import app

    case = Path(__file__).resolve().parents[1] / "docs" / "calibration" / "helsinki_boardings.toml"
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        run = CliRunner().invoke(app, ["calibrate", str(case), "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "unmatched row 26: line 'bus:999'" in run.output
    history = pd.read_csv(out / "calibration.csv")
    assert history["asc_transit"].iloc[-1] == pytest.approx(-0.5, abs=0.01)
    assert (pd.read_csv(out / "boardings_fit.csv")["geh"] < 0.5).all()
