"""ODMatrix: validation and CSV / OMX round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transitopt import DemandError, InputFileError
from transitopt.demand import ODMatrix


def _od() -> ODMatrix:
    rng = np.random.default_rng(7)
    matrix = rng.uniform(0, 100, size=(5, 5))
    matrix[1, 3] = 0.0
    return ODMatrix(zones=np.array([10, 3, 7, 42, 5]), matrix=matrix)


def test_matrix_is_immutable_and_total():
    od = _od()
    assert od.total() == pytest.approx(od.matrix.sum())
    with pytest.raises(ValueError):
        od.matrix[0, 0] = 1.0
    assert od.zones.dtype == np.int64


def test_csv_round_trip_is_exact(tmp_path):
    od = _od()
    path = od.to_csv(tmp_path / "od.csv")
    back = ODMatrix.read_csv(path, zones=od.zones)
    assert np.array_equal(back.zones, od.zones)
    assert np.array_equal(back.matrix, od.matrix)  # %.17g keeps every bit
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["origin", "destination", "trips"]
    assert len(frame) == 24  # 25 pairs, one zero


def test_omx_round_trip_keeps_zone_mapping(tmp_path):
    od = _od()
    path = od.to_omx(tmp_path / "od.omx", name="cars")
    back = ODMatrix.read_omx(path)
    assert np.array_equal(back.zones, od.zones)
    assert np.array_equal(back.matrix, od.matrix)
    with pytest.raises(InputFileError, match="no matrix 'trucks'"):
        ODMatrix.read_omx(path, name="trucks")


def test_writes_leave_no_temporary_files(tmp_path):
    _od().to_csv(tmp_path / "a.csv")
    _od().to_omx(tmp_path / "a.omx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.omx"]


@pytest.mark.parametrize("value", [-1.0, np.nan, np.inf])
def test_bad_demand_names_the_zone_pair(value):
    matrix = np.ones((3, 3))
    matrix[2, 0] = value
    with pytest.raises(DemandError, match="from zone 30 to zone 10"):
        ODMatrix(zones=np.array([10, 20, 30]), matrix=matrix)


def test_shape_and_duplicate_zones():
    with pytest.raises(DemandError, match=r"shape \(2, 3\)"):
        ODMatrix(zones=np.array([1, 2]), matrix=np.ones((2, 3)))
    with pytest.raises(DemandError, match="unique"):
        ODMatrix(zones=np.array([1, 1]), matrix=np.ones((2, 2)))


def test_from_frame_sums_repeats_and_rejects_unknown_zones(tmp_path):
    frame = pd.DataFrame({"origin": [1, 1, 2], "destination": [2, 2, 1], "trips": [1.0, 2.0, 5.0]})
    od = ODMatrix.from_frame(frame)
    assert np.array_equal(od.matrix, [[0.0, 3.0], [5.0, 0.0]])
    with pytest.raises(DemandError, match=r"not in the zone list: \[2\]"):
        ODMatrix.from_frame(frame, zones=np.array([1, 3]))
    path = tmp_path / "bad.csv"
    path.write_text("origin,destination,trips\n1,2,-3\n")
    with pytest.raises(DemandError, match="bad.csv.*from zone 1 to zone 2"):
        ODMatrix.read_csv(path)


def test_read_od_reads_every_format_the_same(tmp_path, require_data):
    import openmatrix as omx

    from transitopt.demand import OMX_ZONE_MAPPING, read_od, write_omx

    od = _od()
    for path in (od.to_csv(tmp_path / "od.csv"), od.to_omx(tmp_path / "od.omx")):
        assert np.array_equal(read_od(path, zones=od.zones).matrix, od.matrix)
    with omx.open_file(str(tmp_path / "od.omx")) as handle:
        assert handle.list_mappings() == [OMX_ZONE_MAPPING]
    # skims written before used the mapping name "zone": still read, beside another mapping
    with omx.open_file(str(tmp_path / "old.omx"), "w") as handle:
        handle["time"] = od.matrix
        handle.create_mapping("zone", od.zones)
        handle.create_mapping("taz", od.zones + 1)
    assert np.array_equal(read_od(tmp_path / "old.omx").zones, od.zones)
    write_omx(tmp_path / "two.omx", {"a": od.matrix, "b": 2 * od.matrix}, od.zones)
    assert read_od(tmp_path / "two.omx").total() == pytest.approx(od.total())
    trips = require_data("tntp/SiouxFalls/SiouxFalls_trips.tntp")
    assert read_od(trips).n_zones == 24


def test_read_od_onto_given_zones(tmp_path):
    from transitopt.demand import read_od

    (tmp_path / "od.csv").write_text("origin,destination,trips\n1,2,10\n2,1,5\n1,2,1\n")
    od = read_od(tmp_path / "od.csv", zones=[3, 2, 1])
    assert od.zones.tolist() == [3, 2, 1]
    assert od.matrix[2, 1] == 11.0 and od.matrix[1, 2] == 5.0 and od.total() == 16.0
    with pytest.raises(DemandError, match=r"od.csv: the OD file names zones \[1\]"):
        read_od(tmp_path / "od.csv", zones=[2, 3])
    with pytest.raises(InputFileError, match="unknown demand format"):
        (tmp_path / "od.txt").write_text("x")
        read_od(tmp_path / "od.txt")
    with pytest.raises(InputFileError, match="not found"):
        read_od(tmp_path / "missing.csv")
