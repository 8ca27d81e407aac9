"""Batch evaluation on the hand-written town: validation messages, policies checked against
the scenario module's own results, resume after SIGKILL, a changed parameter, the output
folder's ownership, the local spawn pool and a real Dask LocalCluster.

Reference for every metric: :func:`transitopt.scenario.evaluate` of the same scenario
(its result folder), and an uninterrupted in-process run of the same batch; floats are
compared with ``rtol=1e-9`` (same code, same inputs, possibly another process).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt.batch import BatchError, load_batch, run_batch, ways_over_voc
from transitopt.scenario import read_result

TOWN = (Path(__file__).parent / "data" / "scenario_town.osm").as_posix()
BATCH = f"""\
[batch]
name = "town-batch"

[model.feedback]
max_iter = 20

[defaults]
zones = {{grid_cell_m = 300, weights = "uniform", population_total = 9000, jobs_total = 9000}}
demand = {{synthesis = {{trips_per_hour = 12000}}}}

[[cities]]
id = "busy-town"
network = "{TOWN}"
osm_routes = true
demand = {{synthesis = {{trips_per_hour = 30000}}}}

[[cities]]
id = "no-transit"
network = "{TOWN}"
osm_routes = false

[[scenarios]]
name = "baseline"
policy = "baseline"

[[scenarios]]
name = "frequent"
policy = "headway_factor"
factor = 0.5

[[scenarios]]
name = "bus-lanes"
policy = "bus_lanes_over_voc"
threshold = 0.3
"""
VOLATILE = ["reused", "run_time_s", "result_dir"]


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.drop(columns=VOLATILE).reset_index(drop=True)
    want = want.drop(columns=VOLATILE).reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for column in got.columns:
        if pd.api.types.is_float_dtype(want[column]):
            np.testing.assert_allclose(
                got[column].to_numpy(float),
                want[column].to_numpy(float),
                rtol=1e-9,
                equal_nan=True,
                err_msg=column,
            )
        else:
            assert got[column].astype(object).tolist() == want[column].astype(object).tolist(), (
                column
            )


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "town.toml"
    path.write_text(BATCH, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(batch_file, tmp_path_factory):
    """An uninterrupted run in this process."""
    return run_batch(batch_file, tmp_path_factory.mktemp("ref") / "out", workers=0)


def log_entries(folder: Path) -> list[dict]:
    if not (folder / "log.jsonl").is_file():
        return []
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('policy = "headway_factor"\nfactor = 0.5', 'policy = "more_trams"\nfactor = 0.5'),
            r"scenarios\[1\].*unknown policy 'more_trams'",
        ),
        (
            ('id = "no-transit"', 'id = "busy-town"'),
            r"cities\[1\]\.id: duplicated id 'busy-town' \(also cities\[0\]\)",
        ),
        (
            (
                f'id = "no-transit"\nnetwork = "{TOWN}"',
                'id = "no-transit"\nnetwork = "missing/nowhere.osm"',
            ),
            r"cities\[1\] \(city 'no-transit'\): network.source: network file not found: .*missing/nowhere.osm",
        ),
        (("factor = 0.5", "threshold = 0.5"), r"scenarios\[1\].*needs factor"),
        (('policy = "headway_factor"\nfactor = 0.5', 'policy = "optimised"'), r"not available yet"),
    ],
)
def test_bad_batch_files_name_file_and_entry(tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(BATCH.replace(*edit), encoding="utf-8")
    with pytest.raises(BatchError, match=message) as info:
        load_batch(path)
    assert str(path) in str(info.value)


def test_ways_over_voc_selects_bus_links_over_the_threshold():
    links = pd.DataFrame(
        {
            "way": ["1", "2", "3", None, "5"],
            "voc": [0.95, 0.5, 1.2, 2.0, 0.91],
            "bus_vph": [10.0, 10.0, 0.0, 5.0, 3.0],
        }
    )
    # by hand: way 1 (0.95 > 0.9, buses), way 5 (0.91, buses); way 3 has no buses, the 4th link no way
    assert ways_over_voc(links, threshold=0.9) == [1, 5]


# ---------------------------------------------------------------------------- results
def test_summary_has_a_row_per_city_and_scenario(reference):
    t = reference.table
    assert list(zip(t["city"], t["scenario"], strict=True)) == [
        (c, s) for c in ("busy-town", "no-transit") for s in ("baseline", "frequent", "bus-lanes")
    ]
    status = dict(zip(zip(t["city"], t["scenario"], strict=True), t["status"], strict=True))
    assert status[("no-transit", "frequent")] == "not_applicable"
    assert status[("no-transit", "baseline")] == "ok"
    assert reference.failed == 0 and reference.computed == 4 and reference.not_applicable == 2
    assert (
        reference.files["summary_parquet"].is_file()
        and reference.files["overview_png"].stat().st_size > 1000
    )
    assert_same_table(pd.read_parquet(reference.files["summary_parquet"]), t)


def test_metrics_are_those_of_the_scenario_results(reference):
    for row in reference.table[reference.table["status"] == "ok"].itertuples():
        result = read_result(row.result_dir)
        assert result.key == row.key
        for metric, value in result.headline().items():
            if metric not in ("iterations", "converged"):
                assert getattr(row, metric) == pytest.approx(value, rel=1e-12, nan_ok=True)


def test_noise_columns_are_the_explanations_of_each_run(reference):
    """A row's ``noise_relative`` and ``noise_share`` are the noise floor of its result alone
    (:func:`transitopt.scenario.explain.noise_floor`, the report's bands)."""
    from transitopt.scenario.explain import noise_floor

    ok = reference.table[reference.table["status"] == "ok"]
    assert len(ok)
    for row in ok.itertuples():
        floor = noise_floor(read_result(row.result_dir))
        assert row.noise_relative == pytest.approx(floor.relative, rel=1e-12)
        assert row.noise_share == pytest.approx(floor.share, rel=1e-12)
        assert row.noise_share >= 2e-3  # never below the feedback tolerance


def test_policy_effects_label_changes_within_noise():
    """Town A's transit share moves 0.1 points (band 0.2: the tolerance) and its cost 0.1 %
    (band 0.5 %, a run's link-time change); town B's move 1 point and 2 %; town C's
    baseline has no noise figures (an older summary): no verdict."""
    from transitopt.batch.summary import policy_effects

    rows = []
    for city, share, cost, relative in (
        ("A", 0.001, 0.001, 5e-3),
        ("B", 0.01, 0.02, 2e-3),
        ("C", 0.001, 0.001, np.nan),
    ):
        for policy, factor in (("baseline", 0.0), ("frequent", 1.0)):
            rows.append(
                {
                    "city": city,
                    "scenario": policy,
                    "policy": policy,
                    "status": "ok",
                    "noise_relative": relative if policy == "baseline" else 2e-3,
                    "noise_share": 2e-3,
                    "share_transit": 0.2 + factor * share,
                    "composite_cost_min": 30.0 * (1 + factor * cost),
                }
            )
    effects = policy_effects(pd.DataFrame(rows)).set_index(["city", "metric"])
    assert effects.loc[("A", "share_transit"), "change"] == pytest.approx(0.1)  # points
    assert effects.loc[("A", "composite_cost_min"), "change"] == pytest.approx(0.1)  # %
    assert effects.loc["A", "within_noise"].all()
    assert not effects.loc["B", "within_noise"].any()
    assert not effects.loc[("C", "composite_cost_min"), "within_noise"]
    assert effects.loc[("C", "share_transit"), "within_noise"]  # the share band is known


def test_headway_policy_halves_every_headway(reference):
    t = reference.table.set_index(["city", "scenario"])
    base = (
        read_result(t.loc[("busy-town", "baseline"), "result_dir"]).table("lines").set_index("line")
    )
    alt = (
        read_result(t.loc[("busy-town", "frequent"), "result_dir"]).table("lines").set_index("line")
    )
    assert len(base) > 0
    np.testing.assert_allclose(
        alt.loc[base.index, "headway_s"], 0.5 * base["headway_s"], rtol=1e-12
    )


def test_bus_lanes_only_on_bus_ways_over_the_threshold(reference):
    t = reference.table.set_index(["city", "scenario"])
    base = read_result(t.loc[("busy-town", "baseline"), "result_dir"]).table("links")
    lanes = read_result(t.loc[("busy-town", "bus-lanes"), "result_dir"]).table("links")
    chosen = ways_over_voc(base, threshold=0.3)
    assert chosen, "the busy town must have bus links over v/c 0.3"
    laned = lanes[lanes["bus_lane"]]
    assert len(laned) > 0
    assert set(laned["way"].astype(int)) <= set(chosen)
    assert (laned["bus_vph"] > 0).all()


# ---------------------------------------------------------------------------- resume and ownership
def test_rerun_reuses_everything(reference, batch_file):
    again = run_batch(batch_file, reference.output_dir, workers=0)
    assert again.computed == 0 and again.reused == 4
    assert_same_table(again.table, reference.table)


def test_changed_policy_recomputes_only_that_scenario(batch_file, tmp_path):
    out = tmp_path / "out"
    one_city = (
        BATCH.split('[[cities]]\nid = "no-transit"')[0]
        + "[[scenarios]]"
        + BATCH.split("[[scenarios]]", 1)[1]
    )
    path = tmp_path / "one.toml"
    path.write_text(one_city, encoding="utf-8")
    first = run_batch(path, out, workers=0)
    assert first.computed == 3
    path.write_text(one_city.replace("factor = 0.5", "factor = 0.8"), encoding="utf-8")
    second = run_batch(path, out, workers=0)
    actions = {(e["scenario"], e["action"]) for e in log_entries(out)[3:]}
    assert actions == {("baseline", "reused"), ("frequent", "computed"), ("bus-lanes", "reused")}
    assert second.computed == 1 and second.reused == 2


def test_output_folder_of_another_batch_is_refused(reference, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(BATCH.replace('name = "town-batch"', 'name = "other"'), encoding="utf-8")
    manifest = (reference.output_dir / "batch.json").read_text()
    with pytest.raises(
        BatchError, match="holds the results of another batch \\('town-batch'.*--force"
    ):
        run_batch(other, reference.output_dir, workers=0)
    assert (reference.output_dir / "batch.json").read_text() == manifest
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(BatchError, match="not a batch output folder"):
        run_batch(other, foreign, workers=0, overwrite=True)
    assert (foreign / "thesis.tex").read_text() == "keep me"


@pytest.mark.slow
def test_killed_batch_resumes_without_recomputing(reference, batch_file, tmp_path):
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transitopt.batch",
            str(batch_file),
            "-o",
            str(out),
            "--workers",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    done: list[Path] = []
    while time.monotonic() < deadline and process.poll() is None:
        done = list(out.glob("runs/*/*/summary.json"))
        if done:
            break
        time.sleep(0.02)
    assert done, (
        f"no result before the deadline: {process.stderr.read().decode() if process.poll() else ''}"
    )
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = list(out.glob("runs/*/*/summary.json"))  # what had finished at the kill
    assert 1 <= len(done) < 4, "the batch must be killed mid-run"
    mtimes = {p.parent: p.stat().st_mtime_ns for p in done}
    before = len(log_entries(out))
    resumed = run_batch(batch_file, out, workers=0)
    assert not list(out.glob("runs/*/.*"))  # no debris of the killed write left
    for folder, mtime in mtimes.items():
        assert (folder / "summary.json").stat().st_mtime_ns == mtime
    reused = {
        (e["city"], e["scenario"]) for e in log_entries(out)[before:] if e["action"] == "reused"
    }
    assert reused == {(p.parent.name, p.name) for p in mtimes}
    assert resumed.reused == len(mtimes) and resumed.computed == 4 - len(mtimes)
    assert_same_table(resumed.table, reference.table)


def _start_pool_batch(batch_file: Path, out: Path) -> tuple[subprocess.Popen, list]:
    """A batch with two spawn workers in a child process; returns it and its workers once
    both workers run and the manifest says running."""
    psutil = pytest.importorskip("psutil")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transitopt.batch",
            str(batch_file),
            "-o",
            str(out),
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    workers: list = []
    while time.monotonic() < deadline and process.poll() is None:
        children = psutil.Process(process.pid).children(recursive=True)
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        if len(workers) >= 2 and (out / "batch.json").is_file():
            break
        time.sleep(0.1)
    assert len(workers) >= 2, process.stderr.read().decode() if process.poll() else "no workers"
    return process, children


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGKILL, "killed"), (signal.SIGTERM, "interrupted")]
)
def test_killing_the_batch_process_ends_its_workers(batch_file, tmp_path, sig, status):
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    process, children = _start_pool_batch(batch_file, out)
    time.sleep(1.0)  # the workers are computing
    os.kill(process.pid, sig)  # the parent only: its workers must not outlive it
    process.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=10)
    # an ended worker whose exit status nobody has collected yet (a zombie) has ended
    running = []
    for child in alive:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                running.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    assert not running, running
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["status"] == status
    resumed = run_batch(batch_file, out, workers=0)  # and the folder resumes
    assert resumed.computed + resumed.reused == 4


def test_unreachable_scheduler_fails_fast_and_claims_nothing(batch_file, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(BatchError, match="cannot reach the Dask scheduler 'tcp://127.0.0.1:1'"):
        run_batch(batch_file, out, scheduler="tcp://127.0.0.1:1", scheduler_timeout_s=2)
    assert time.monotonic() - started < 20
    assert not out.exists()


def test_another_batch_file_with_the_same_name_is_refused(reference, tmp_path):
    # same [batch] name and file name, other content: not the same batch
    other = tmp_path / "elsewhere" / "town.toml"
    other.parent.mkdir()
    other.write_text(BATCH.replace("factor = 0.5", "factor = 0.25"), encoding="utf-8")
    with pytest.raises(BatchError, match="another batch"):
        run_batch(other, reference.output_dir, workers=0)


# ---------------------------------------------------------------------------- executors
@pytest.mark.slow
def test_local_process_pool_matches_in_process(reference, batch_file, tmp_path):
    summary = run_batch(batch_file, tmp_path / "pool", workers=2)
    assert summary.computed == 4
    assert os.getpid() not in {e["pid"] for e in log_entries(tmp_path / "pool")}
    assert_same_table(summary.table, reference.table)


@pytest.mark.slow
def test_dask_local_cluster_matches_in_process(reference, batch_file, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        events = []
        summary = run_batch(batch_file, tmp_path / "dask", client=client, progress=events.append)
    assert summary.computed == 4
    assert [e["cities_done"] for e in events] == [1, 2] and events[-1]["cities_remaining"] == 0
    assert os.getpid() not in {e["pid"] for e in log_entries(tmp_path / "dask")}
    assert_same_table(summary.table, reference.table)


def test_the_readme_example_batch_validates(shared_data):
    from transitopt.batch import load_batch

    batch = load_batch(Path(__file__).resolve().parents[1] / "scenarios" / "batch_example.toml")
    assert [c.id for c in batch.cities] == [
        "helsinki",
        "monaco",
        "west-oakland",
        "surabaya-sukolilo",
    ]
    assert [s.policy for s in batch.scenarios] == [
        "baseline",
        "headway_factor",
        "bus_lanes_over_voc",
    ]
