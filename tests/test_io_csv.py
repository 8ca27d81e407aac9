"""The vectorised CSV writer writes exactly the bytes of ``DataFrame.to_csv(index=False)``
(the reference), and JSON plumbing keeps its answers (issue #12 item 8: a result's
million-row OD and link tables were written row by row)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from transitopt._io import CSV_CHUNK_ROWS, plain_json, write_csv


def _tricky_table(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # floats over 40 orders of magnitude, whole numbers, and the edges of repr's notation
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e15, 1e16, 9999999999999998.0, 1e-4,
               9.99e-5, 1.0, -3.0, 1e-7, 1.5e-8, 2.0**53, 5e-324, 1.7976931348623157e308,
               123456789012.5, 0.1 + 0.2]  # fmt: skip
    x = np.r_[rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n), special]
    m = x.size
    words = ["a", "b,c", 'q"x', "line\nbreak", "cr\rx", "", None, "ä ü", " lead"]
    mixed = np.array(["x", 1.5, None, np.nan, "y,z", 3, [1, 2]], dtype=object)
    return pd.DataFrame(
        {
            "x": x,
            "whole": np.round(rng.standard_normal(m) * 1000),
            "i": rng.integers(-(10**12), 10**12, m),
            "u8": rng.integers(0, 255, m).astype(np.uint8),
            "flag": rng.random(m) < 0.5,
            "text": pd.array(rng.choice(np.array(words, dtype=object), m), dtype="string"),
            "plain": pd.Series(rng.choice(np.array(words[:6], dtype=object), m), dtype=object),
            "mixed": pd.Series(rng.choice(mixed, m), dtype=object),
            'odd, "name"': np.arange(m),
        }
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_write_csv_bytes_equal_pandas(tmp_path, seed):
    table = _tricky_table(seed, CSV_CHUNK_ROWS + 1234 if seed else 5000)  # seed 1: two chunks
    table.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_write_csv_chunks_formatted_by_threads_keep_their_order(tmp_path, monkeypatch, threads):
    import transitopt._io as io_module

    monkeypatch.setattr(io_module, "CSV_CHUNK_ROWS", 7)
    monkeypatch.setattr(io_module, "CSV_THREADS", threads)
    table = _tricky_table(2, 200)  # 29 chunks, more than the threads' window
    table.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_write_csv_other_kinds_and_edge_shapes(tmp_path):
    """float32, dates, categories, one column and no rows go through pandas itself;
    chunked pyarrow text is joined first."""
    tables = [
        pd.DataFrame({"f": np.array([0.1, 2.5], dtype=np.float32), "k": [1, 2]}),
        pd.DataFrame({"d": pd.to_datetime(["2024-05-01", "2024-05-02"]), "k": [1, 2]}),
        pd.DataFrame({"c": pd.Categorical(["a", "b"]), "k": [1, 2]}),
        pd.DataFrame({"only": ["", "x"]}),
        pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}),
        # text held by pyarrow in several chunks (a concatenated table)
        pd.DataFrame(
            {
                "s": pd.concat(
                    [pd.Series(["a", "b,c"], dtype="str"), pd.Series(["x", None], dtype="str")],
                    ignore_index=True,
                ),
                "k": [1.0, 2.0, 3.0, 4.0],
            }
        ),
    ]
    for k, table in enumerate(tables):
        table.to_csv(tmp_path / f"p{k}.csv", index=False)
        write_csv(table, tmp_path / f"f{k}.csv")
        assert (tmp_path / f"f{k}.csv").read_bytes() == (tmp_path / f"p{k}.csv").read_bytes()


def test_plain_json_lists_fast_path_keeps_answers():
    value = {
        "xy": [[1.5, math.nan, None, 2, "s", True], [math.inf, -0.0]],
        "numpy": [np.float64(3.0), np.array([1.0, np.nan])],
        "tuple": (1, 2.5),
    }
    assert plain_json(value) == {
        "xy": [[1.5, None, None, 2, "s", True], [None, -0.0]],
        "numpy": [3.0, [1.0, None]],
        "tuple": [1, 2.5],
    }


def test_write_csv_floats_at_the_notation_boundaries(tmp_path):
    """Around the sizes where pyarrow's or repr's notation switches (1e-7, 1e-4, 1e10,
    1e16), with few and many digits, whole and not: the bytes of pandas."""
    rng = np.random.default_rng(5)
    edges = np.array([1e-7, 1e-6, 1e-4, 1e10, 1e15, 1e16])
    near = np.concatenate([np.nextafter(edges, 0), edges, np.nextafter(edges, np.inf)])
    spread = 10 ** rng.uniform(-8, 17, 20_000)
    x = np.concatenate([near, -near, spread, np.round(spread), np.round(spread, 2)])
    table = pd.DataFrame({"x": x, "k": np.arange(x.size)})
    table.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
