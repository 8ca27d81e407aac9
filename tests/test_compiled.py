"""The compiled Network: CSR layout, immutability, conversions."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from transitopt import Network, NetworkError
from transitopt.network.summary import summarize_network


@pytest.fixture
def small() -> Network:
    # 0 -> 1 -> 2, 2 -> 0, a parallel 0 -> 1 and a self-loop on 2; node 3 isolated
    tail = np.array([1, 0, 2, 0, 2])
    head = np.array([2, 1, 0, 1, 2])
    return Network.from_edges(
        tail,
        head,
        n_nodes=4,
        node_id=np.array([10, 20, 30, 40]),
        node_x=np.array([0.0, 1.0, 2.0, 3.0]),
        node_y=np.zeros(4),
        length_m=np.array([100.0, 200.0, 300.0, 150.0, 5.0]),
        edges=pd.DataFrame({"name": ["b", "a", "c", "a2", "loop"], "highway": ["primary"] * 5}),
    )


def test_csr_is_sorted_by_tail_and_keeps_edge_rows_aligned(small):
    assert small.n_nodes == 4 and small.n_edges == 5
    np.testing.assert_array_equal(small.indptr, [0, 2, 3, 5, 5])
    np.testing.assert_array_equal(small.tail, [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(small.head, [1, 1, 2, 0, 2])
    # stable sort: the first 0 -> 1 edge given (length 200, "a") comes first
    np.testing.assert_array_equal(small.length_m, [200.0, 150.0, 100.0, 300.0, 5.0])
    assert list(small.edges["name"]) == ["a", "a2", "b", "c", "loop"]
    for u in range(small.n_nodes):
        assert (small.tail[small.indptr[u] : small.indptr[u + 1]] == u).all()


def test_arrays_are_read_only(small):
    with pytest.raises(ValueError):
        small.length_m[0] = 1.0
    with pytest.raises(AttributeError):
        small.crs = "EPSG:3857"


def test_replace_builds_a_new_network_without_touching_the_old(small):
    faster = small.replace(free_flow_time_s=np.ones(small.n_edges))
    assert np.isnan(small.free_flow_time_s).all()
    assert (faster.free_flow_time_s == 1).all()


def test_reverse_csr_lists_in_edges(small):
    rev_indptr, rev_edge = small.reverse
    for v in range(small.n_nodes):
        in_edges = rev_edge[rev_indptr[v] : rev_indptr[v + 1]]
        expected = np.flatnonzero(small.head == v)
        np.testing.assert_array_equal(np.sort(in_edges), expected)


def test_node_index_maps_source_ids_and_names_a_missing_id(small):
    np.testing.assert_array_equal(small.node_index([30, 10]), [2, 0])
    with pytest.raises(KeyError, match="node id 99"):
        small.node_index(99)


def test_bad_edges_are_rejected():
    with pytest.raises(NetworkError, match="0..1"):
        Network.from_edges([0], [5], n_nodes=2)
    with pytest.raises(NetworkError, match="shape"):
        Network.from_edges([0], [1], n_nodes=2, length_m=[1.0, 2.0])


def test_networkx_round_trip_keeps_every_edge(small):
    graph = small.to_networkx()
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == 4 and graph.number_of_edges() == 5
    lengths = sorted(d["length_m"] for _, _, d in graph.edges(data=True))
    assert lengths == sorted(small.length_m.tolist())
    assert graph.number_of_edges(10, 20) == 2 and graph.has_edge(30, 30)


def test_geodataframe_has_one_line_per_edge(small):
    gdf = small.to_geodataframe()
    assert len(gdf) == small.n_edges
    assert gdf.crs.to_epsg() == 4326
    np.testing.assert_allclose(gdf.geometry.iloc[2].coords[0], (1.0, 0.0))


def test_summary_counts_components_and_km(small):
    summary = summarize_network(small)
    # {0,1,2} strongly connected, {3} alone
    assert summary.n_strong_components == 2 and summary.n_weak_components == 2
    assert summary.total_km == pytest.approx(0.755)
    assert summary.km_by_class["edges"].sum() == 5
