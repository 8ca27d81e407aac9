"""Driver of the bush-based Algorithm B (kernels in :mod:`transitopt.kernels.assignment_bush`).

Each iteration finds the shortest-path costs from every origin, which give the relative
gap of the current flows (exact, every iteration) and each origin's excess cost, and
grows the bushes whose excess cost is not small (``GROW_SHARE``; those below the mean
every other iteration only, ``ALTERNATE_BELOW_SHARE``) from a shortest-path search of
their own; from the second iteration on, the costs come from one zone-to-zone
search of the small core graph that all-or-nothing loading uses (``SKIM_GAP``; when
few bushes grew the iteration before), so only the origins whose bushes grow are
searched on the bush graph. Then ``inner_sweeps`` round-robin
equilibration sweeps over all bushes (one pass per bush and sweep converges faster than
several passes on one bush in a row). A sweep runs in ``SWEEP_LANES`` lanes in parallel
(Jacobi between lanes, Gauss-Seidel within one; the decomposition by origin of parallel
origin-based assignment): results depend on the number of lanes, not of threads.

Bushes live on the *bush graph*: the network with dead-end trees dropped and chains
contracted into one link each (:class:`BushGraph`; on Sydney 14,525 of 33,113 nodes
and 38,787 of 75,379 links), which makes bushes, searches and sweeps smaller alike.

Bushes are stored sparse, in pools with a region per origin (see the kernels' module):
memory grows with the bushes' sizes, not with origins × links. The origins are split
into *segments* of at most ``SEGMENT_ORIGINS``, each with its own pool, so that
rebuilding one (when a bush outgrows its region) needs room for one segment's copy, not
for a copy of all bushes. A region is made larger (``REGION_SLACK``) than its bush, so
that a bush rarely outgrows it; when one does, its segment's pool is copied into a new
one with a larger region for it. Segments are processed in origin order; a sweep's
rounds of lanes are formed within a segment, so with one lane the results do not depend
on how origins are split (with several, on ``SEGMENT_ORIGINS`` too).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..kernels._config import sized
from ..kernels.assignment_bush import (
    chain_costs,
    chain_graph,
    excess_from_skim,
    gap_and_grow,
    init_bushes,
    repack_bushes,
    spread_flows,
    sum_bush_flows,
    sweep,
)
from ..kernels.vdf import beckmann, costs_into
from ._aon import CompressedAON
from ._monitor import Monitor
from ._problem import Problem
from .classes import ClassProblems

#: equilibration sweeps per iteration (after each bush update) ...
INNER_SWEEPS = 8
#: ... doubled, up to this many, while an iteration fails to halve the gap (a slow tail
#: where bushes of neighbouring origins undo each other's shifts: more sweeps between the
#: costlier shortest-path searches pay off)
MAX_INNER_SWEEPS = 64
#: bushes whose largest path cost difference is at least this share of the worst bush's ...
FOCUS_SHARE = 0.1
#: ... get this many extra passes per regular sweep, when they are few (<= 5 % of bushes)
FOCUS_PASSES = 4
#: after an iteration's first sweep, a bush takes part in its sweeps only while its
#: excess cost (its largest path cost difference times its demand, an upper bound) is
#: at least this share of the bushes' mean: most of the gap is in a few bushes
ACTIVE_SHARE = 0.01
#: an iteration updates only the bushes whose excess cost (their travel time less their
#: shortest-path time) is at least this share of the mean excess at the iteration before
#: (Dial 2006: bushes near equilibrium are left as they are; the shortest-path costs of
#: every origin are still found, so the gap stays exact); 0: every bush, every iteration
GROW_SHARE = 0.1
#: a bush whose excess cost was below this share of the mean at the iteration before is
#: updated every other iteration only (origins of one parity on even iterations, of the
#: other on odd ones; it is still searched, so the gap stays exact); 0: never held back ...
ALTERNATE_BELOW_SHARE = 1.0
#: ... while at least this share of the bushes is above the update threshold (where
#: nearly every bush grows, as on Sydney: updates 36,482 -> 28,147 to 1e-6, 12 iterations
#: both; where few do, as on Berlin-Center, holding some back cost iterations to 1e-10)
ALTERNATE_WHEN_SHARE = 0.5
#: from the second iteration on, the gap and each origin's excess come from zone-to-zone
#: shortest-path costs searched on the core graph of all-or-nothing loading
#: (:class:`._aon.CompressedAON`: chains contracted, nodes eliminated; much smaller than
#: the bush graph), and only the origins whose bushes grow are searched on the bush graph
#: (the bush update grafts their trees). Same distances up to the order of summation;
#: Berlin-Center to 1e-6: searches and bush updates 2.1 -> 0.8 CPU s, the skims ~0.7
SKIM_GAP = True
#: ... when the iteration before updated fewer than this share of the bushes (else the
#: updates' own searches are most of the skim's work: search every origin on the bush graph)
SKIM_BELOW_SHARE = 0.5
#: relative cost difference below which two bush paths count as equal
SHIFT_REL_TOL = 1e-15
#: a sweep shifts flow at a bush node only if its path cost difference is at least this
#: share of the bush's largest at its previous pass (the small ones cost as much to walk
#: and gain little; the threshold falls with the bush's largest difference)
SKIP_SHARE = 0.1
#: sweeps run in this many lanes (in parallel; Jacobi between lanes, Gauss-Seidel within
#: one: see :func:`.kernels.assignment_bush.sweep`) until an iteration's gap rises (lanes
#: can overshoot together on shared congested links), then in one; multi-class runs in one
SWEEP_LANES = 2
#: ... each lane taking this many bushes per round before the lanes' flows are combined
SWEEP_BATCH = 8
#: a bush's region in the pool holds this share more nodes and links than the bush ...
REGION_SLACK = 0.5
#: ... and at least this many more
REGION_MIN_SLACK = 16
#: origins per segment (pool) of bushes
SEGMENT_ORIGINS = 256
#: scratch memory (bytes) for building the first bushes: origins are done in batches of
#: as many as fit (each needs a dense row per node and per link) ...
INIT_SCRATCH_BYTES = 4 * 2**20
#: ... but at least this many (to keep the threads busy)
INIT_MIN_BATCH = 32


class Bushes(NamedTuple):
    """The pool of bushes, in the order of the kernels' arguments (see the kernels' module)."""

    node_start: np.ndarray
    node_cap: np.ndarray
    node_count: np.ndarray
    nodes: np.ndarray
    lend: np.ndarray
    link_start: np.ndarray
    link_cap: np.ndarray
    link_count: np.ndarray
    links: np.ndarray
    flows: np.ndarray


class BushGraph(NamedTuple):
    """The graph the bushes live on: the problem's network with dead-end trees dropped and
    chains contracted (:func:`.kernels.assignment_bush.chain_graph`); each link's members
    are network links that carry its flow."""

    indptr: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    rev_indptr: np.ndarray
    rev_edge: np.ndarray
    member_ptr: np.ndarray
    member: np.ndarray
    no_through: np.ndarray
    origin_nodes: np.ndarray
    dest_nodes: np.ndarray

    @classmethod
    def of_problem(cls, p: Problem) -> BushGraph:
        """The bush graph of ``p`` (centroids, origins and destinations kept)."""
        protect = np.array(p.no_through, dtype=np.bool_)
        protect[p.origin_nodes] = True
        protect[p.dest_nodes] = True
        new_of, indptr, head, tail, member_ptr, member = chain_graph(
            p.indptr, p.head, ~p.closed, protect
        )
        kept = np.flatnonzero(new_of >= 0)
        rev_indptr, rev_edge = _reverse(indptr.size - 1, head)
        no_through = np.ascontiguousarray(np.asarray(p.no_through)[kept])
        graph = cls(
            indptr, head, tail, rev_indptr, rev_edge, member_ptr, member, no_through,
            new_of[p.origin_nodes], new_of[p.dest_nodes],
        )  # fmt: skip
        # the structure read-only like a problem's graph, so that the kernels compile once
        for a in graph[:8]:
            a.flags.writeable = False
        return graph


class _Segment(NamedTuple):
    """Origins ``lo:hi`` and the pool of their bushes."""

    lo: int
    hi: int
    bushes: Bushes


def solve_algorithm_b(
    problem: Problem, monitor: Monitor, *, inner_sweeps: int | None = None
) -> np.ndarray:
    """Run Algorithm B until ``monitor`` stops it; returns the car flows (veh/h)."""
    p = problem
    inner_sweeps = INNER_SWEEPS if inner_sweeps is None else inner_sweeps
    args = p.vdf_args
    g = BushGraph.of_problem(p)
    n = g.indptr.size - 1
    m = g.head.size
    n_orig = p.origin_nodes.size
    members = (g.member_ptr, g.member)
    origin_demand = p.demand.sum(axis=1)
    worst = np.zeros(n_orig)
    need = np.zeros((n_orig, 2), dtype=np.int64)
    excess = np.zeros(n_orig)
    grow_above = -np.inf  # the first iteration updates every bush
    hold = np.zeros(n_orig, dtype=np.bool_)  # bushes not updated this iteration
    parity = np.arange(n_orig) % 2
    lanes = SWEEP_LANES
    flow = np.zeros(m)  # per bush-graph link
    cost = np.empty(m)
    deriv = np.empty(m)
    link_flow = np.zeros(p.head.size)  # per network link
    link_cost = np.empty(p.head.size)
    chain_costs(flow, *members, *args, cost, deriv)
    graph = (g.indptr, g.head, g.tail)
    bounds = list(range(0, n_orig, SEGMENT_ORIGINS)) + [n_orig]
    segments = [
        _Segment(lo, hi, _first_bushes(g, p.demand, cost, lo, hi))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    core: CompressedAON | None = None
    updated_share = 1.0
    k = 0
    previous_gap = np.inf
    while True:
        flow[:] = 0.0
        for seg in segments:
            b = seg.bushes
            sum_bush_flows(b.link_start, b.link_count, b.links, b.flows, flow)
        chain_costs(flow, *members, *args, cost, deriv)
        spread_flows(flow, *members, link_flow)
        costs_into(link_flow, *args, link_cost)
        skim = None
        if SKIM_GAP and grow_above > -np.inf and updated_share < SKIM_BELOW_SHARE:
            if core is None:
                core = CompressedAON.of_problem(p)
            skim = core.skim(link_cost)
        sptt = 0.0
        for i, (lo, hi, b) in enumerate(segments):
            search = (
                *graph, g.rev_indptr, g.rev_edge, cost, g.no_through, g.origin_nodes[lo:hi],
                g.dest_nodes, p.demand[lo:hi],
            )  # fmt: skip
            here, mine, wait = need[lo:hi], excess[lo:hi], hold[lo:hi]
            todo = np.flatnonzero(~wait)
            if skim is not None:
                sptt += excess_from_skim(
                    skim[lo:hi], p.demand[lo:hi], b.link_start, b.link_count, b.links, b.flows,
                    cost, mine,
                )  # fmt: skip
                todo = np.flatnonzero((mine >= grow_above) & ~wait)
                here[:] = 0
            part, _ = gap_and_grow(*search, *b, todo, grow_above, SHIFT_REL_TOL, here, mine)
            if skim is None:
                sptt += part
                if wait.any():  # held back: searched for the gap, not updated
                    todo = np.flatnonzero(wait)
                    part, _ = gap_and_grow(*search, *b, todo, np.inf, SHIFT_REL_TOL, here, mine)
                    sptt += part
            over = np.flatnonzero(here[:, 0])
            while over.size:  # bushes that outgrew their regions: enlarge them, grow them again
                b = _enlarge(b, over, here, n, m)
                gap_and_grow(*search, *b, over, -np.inf, SHIFT_REL_TOL, here, mine)
                over = over[here[over, 0] > 0]
            segments[i] = _Segment(lo, hi, b)
        updated_share = float(np.mean((excess >= grow_above) & ~hold))
        if monitor.record(k, link_flow, link_cost, sptt, direction="bush"):
            return link_flow
        gap = monitor.rows[-1]["relative_gap"]
        # the threshold for the next iteration's updates: a share of the mean excess it is
        # expected to find (this one's, shrunk as the gap shrank in this iteration)
        # (after the first iteration, every bush: its gap says nothing of the next one's)
        grow_above = -np.inf
        if GROW_SHARE > 0.0 and 0.0 < previous_gap < np.inf:
            grow_above = GROW_SHARE * float(excess.mean()) * min(1.0, gap / previous_gap)
        if gap > previous_gap:
            # lanes overshoot where their bushes share congested links (Jacobi): from the
            # first iteration that loses ground on, sweep in one lane (Gauss-Seidel)
            lanes = 1
        if gap > 0.5 * previous_gap:
            inner_sweeps = min(2 * inner_sweeps, MAX_INNER_SWEEPS)
        elif gap < 0.05 * previous_gap:
            inner_sweeps = max(inner_sweeps // 2, INNER_SWEEPS)
        previous_gap = gap
        k += 1
        hold[:] = False
        crowded = float(np.mean(excess >= grow_above)) >= ALTERNATE_WHEN_SHARE
        if ALTERNATE_BELOW_SHARE > 0.0 and grow_above > -np.inf and crowded:
            hold[:] = (excess < ALTERNATE_BELOW_SHARE * excess.mean()) & (parity == k % 2)
        # ``sweep`` shifts flow within bushes and updates flow, cost and deriv in place
        _sweep(segments, graph, g, origin_demand, flow, cost, deriv, members, args, worst, lanes)
        for _ in range(max(inner_sweeps, 1) - 1):
            # round robin: one pass per bush and sweep converges best; after the first,
            # only over bushes whose excess cost (bound) is not negligible
            bound = worst * origin_demand
            active = bound > ACTIVE_SHARE * bound.mean()
            _sweep(
                segments, graph, g, origin_demand, flow, cost, deriv, members, args, worst, lanes,
                active,
            )  # fmt: skip
        # bushes far from equilibrium get extra passes of their own (cheap: a few bushes)
        focus = worst >= FOCUS_SHARE * worst.max() if worst.max() > 0.0 else worst < 0.0
        if 0 < focus.sum() <= max(1, n_orig // 20):
            for _ in range(FOCUS_PASSES * inner_sweeps):
                _sweep(
                    segments, graph, g, origin_demand, flow, cost, deriv, members, args, worst,
                    lanes, focus,
                )  # fmt: skip


def _all(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.int64)


def _sweep(
    segments: list[_Segment],
    graph: tuple,
    g: BushGraph,
    origin_demand: np.ndarray,
    flow: np.ndarray,
    cost: np.ndarray,
    deriv: np.ndarray,
    members: tuple,
    args: tuple,
    worst: np.ndarray,
    lanes: int,
    only: np.ndarray | None = None,
) -> None:
    """One equilibration pass over all bushes (or those flagged in ``only``), in origin
    order, in ``lanes`` lanes."""
    for lo, hi, b in segments:
        todo = _all(hi - lo) if only is None else np.flatnonzero(only[lo:hi])
        if todo.size:
            kernel = sized(sweep, 4 * int(b.link_count[todo].sum()))
            # one lane: rounds change nothing but cost a parallel launch each (85 iterations
            # of 3 classes on Chicago-Sketch: 37 s with rounds of SWEEP_BATCH, 25 s before)
            batch = SWEEP_BATCH if lanes > 1 else int(todo.size)
            kernel(
                *graph, g.origin_nodes[lo:hi], origin_demand[lo:hi], *b, flow, cost, deriv,
                *members, *args, todo, SHIFT_REL_TOL, SKIP_SHARE, worst[lo:hi], lanes, batch,
            )  # fmt: skip


def _region(size: np.ndarray, limit: int) -> np.ndarray:
    """Region sizes (int64) for bushes of ``size`` nodes or links, at most ``limit``."""
    size = size.astype(np.int64)
    return np.minimum(size + (size * REGION_SLACK).astype(np.int64) + REGION_MIN_SLACK, limit)


def _first_bushes(g: BushGraph, demand: np.ndarray, cost: np.ndarray, lo: int, hi: int) -> Bushes:
    """The pool of the first bushes of origins ``lo:hi`` (shortest paths under ``cost``),
    built in batches of origins."""
    n = g.indptr.size - 1
    m = g.head.size
    n_orig = hi - lo
    rows = int(max(1, min(n_orig, max(INIT_MIN_BATCH, INIT_SCRATCH_BYTES // (8 * n + 12 * m)))))
    out_nodes = np.empty((rows, n), dtype=np.int32)
    out_lend = np.empty((rows, n), dtype=np.int32)
    out_links = np.empty((rows, m), dtype=np.int32)
    out_flows = np.empty((rows, m))
    sizes = np.empty((rows, 2), dtype=np.int64)
    node_count = np.zeros(n_orig, dtype=np.int64)
    link_count = np.zeros(n_orig, dtype=np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    for start in range(0, n_orig, rows):
        stop = min(start + rows, n_orig)
        init_bushes(
            g.indptr, g.head, g.tail, cost, g.no_through, g.origin_nodes[lo:hi], g.dest_nodes,
            demand[lo:hi], start, stop, out_nodes, out_lend, out_links, out_flows, sizes,
        )  # fmt: skip
        for i in range(stop - start):
            c, n_links = sizes[i]
            node_count[start + i] = c
            link_count[start + i] = n_links
            parts.append(
                (
                    out_nodes[i, :c].copy(),
                    out_lend[i, :c].copy(),
                    out_links[i, :n_links].copy(),
                    out_flows[i, :n_links].copy(),
                )
            )
    del out_nodes, out_lend, out_links, out_flows
    node_cap = _region(node_count, n)
    link_cap = _region(link_count, m)
    node_start = np.concatenate(([0], np.cumsum(node_cap)[:-1])).astype(np.int64)
    link_start = np.concatenate(([0], np.cumsum(link_cap)[:-1])).astype(np.int64)
    nodes = np.empty(int(node_cap.sum()), dtype=np.int32)
    lend = np.empty(nodes.size, dtype=np.int32)
    links = np.empty(int(link_cap.sum()), dtype=np.int32)
    flows = np.empty(links.size)
    for r, (part_nodes, part_lend, part_links, part_flows) in enumerate(parts):
        s, ls = node_start[r], link_start[r]
        nodes[s : s + part_nodes.size] = part_nodes
        lend[s : s + part_nodes.size] = part_lend
        links[ls : ls + part_links.size] = part_links
        flows[ls : ls + part_links.size] = part_flows
    return Bushes(
        node_start, node_cap, node_count, nodes, lend, link_start, link_cap, link_count, links,
        flows,
    )  # fmt: skip


def _enlarge(bushes: Bushes, over: np.ndarray, need: np.ndarray, n: int, m: int) -> Bushes:
    """The pool copied into a new one whose regions for origins ``over`` fit ``need`` (nodes, links)."""
    b = bushes
    # regions of bushes that shrank shrink too (the copy costs the same)
    node_cap = np.minimum(b.node_cap, _region(b.node_count, n))
    link_cap = np.minimum(b.link_cap, _region(b.link_count, m))
    # room for the grown bush and, until it is written, the stored one (it may be larger
    # in links while smaller in nodes, or the other way round)
    node_cap[over] = _region(np.maximum(need[over, 0], b.node_count[over]), n)
    link_cap[over] = _region(np.maximum(need[over, 1], b.link_count[over]), m)
    node_start, nodes, lend, link_start, links, flows = repack_bushes(
        b.node_start, b.node_count, b.nodes, b.lend, b.link_start, b.link_count, b.links, b.flows,
        node_cap, link_cap,
    )  # fmt: skip
    return Bushes(
        node_start, node_cap, b.node_count, nodes, lend, link_start, link_cap, b.link_count, links,
        flows,
    )  # fmt: skip


def _reverse(n: int, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reverse CSR ``(rev_indptr, rev_edge)`` of a graph of ``n`` nodes: in-links of ``v``
    are ``rev_edge[rev_indptr[v]:rev_indptr[v+1]]``."""
    rev_edge = np.argsort(head, kind="stable").astype(np.int64)
    rev_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(head, minlength=n), out=rev_indptr[1:])
    return rev_indptr, rev_edge


class _ClassBushes:
    """One class's bushes and arrays in :func:`solve_algorithm_b_classes`."""

    def __init__(self, p: Problem, shared_preload: np.ndarray) -> None:
        self.p = p
        self.g = g = BushGraph.of_problem(p)
        self.members = (g.member_ptr, g.member)
        self.graph = (g.indptr, g.head, g.tail)
        n_orig = p.origin_nodes.size
        self.origin_demand = p.demand.sum(axis=1)
        self.worst = np.zeros(n_orig)
        self.need = np.zeros((n_orig, 2), dtype=np.int64)
        self.excess = np.zeros(n_orig)
        m = g.head.size
        self.flow = np.zeros(m)
        self.cost = np.empty(m)
        self.deriv = np.empty(m)
        self.link_flow = np.zeros(p.head.size)  # PCU/h per network link
        self.preload = shared_preload.copy()
        self.args = (self.preload, *p.vdf_args[1:])
        chain_costs(self.flow, *self.members, *self.args, self.cost, self.deriv)
        bounds = list(range(0, n_orig, SEGMENT_ORIGINS)) + [n_orig]
        self.segments = [
            _Segment(lo, hi, _first_bushes(g, p.demand, self.cost, lo, hi))
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        self.sync()

    def sync(self) -> None:
        """Bush flows summed into ``flow`` and spread onto the network's links."""
        self.flow[:] = 0.0
        for seg in self.segments:
            b = seg.bushes
            sum_bush_flows(b.link_start, b.link_count, b.links, b.flows, self.flow)
        self.link_flow[:] = 0.0
        spread_flows(self.flow, *self.members, self.link_flow)

    def see_others(self, shared_preload: np.ndarray, total: np.ndarray) -> None:
        """The other classes' PCU (and the shared preload) as this class's preload; costs."""
        np.add(shared_preload, total - self.link_flow, out=self.preload)
        np.maximum(self.preload, 0.0, out=self.preload)  # rounding
        chain_costs(self.flow, *self.members, *self.args, self.cost, self.deriv)

    def gap_and_grow(self) -> float:
        """Shortest paths (its SPTT in PCU·s/h) and bushes grown, as in Algorithm B."""
        g, p, sptt = self.g, self.p, 0.0
        n, m = g.indptr.size - 1, g.head.size
        for i, (lo, hi, b) in enumerate(self.segments):
            search = (
                *self.graph, g.rev_indptr, g.rev_edge, self.cost, g.no_through,
                g.origin_nodes[lo:hi], g.dest_nodes, p.demand[lo:hi],
            )  # fmt: skip
            here, mine = self.need[lo:hi], self.excess[lo:hi]
            part, _ = gap_and_grow(
                *search, *b, _all(hi - lo), -np.inf, SHIFT_REL_TOL, here, mine
            )  # fmt: skip
            sptt += part
            over = np.flatnonzero(here[:, 0])
            while over.size:
                b = _enlarge(b, over, here, n, m)
                gap_and_grow(*search, *b, over, -np.inf, SHIFT_REL_TOL, here, mine)
                over = over[here[over, 0] > 0]
            self.segments[i] = _Segment(lo, hi, b)
        return sptt

    def sweeps(self, count: int) -> None:
        """``count`` equilibration sweeps over this class's bushes (as in Algorithm B)."""
        s = (self.segments, self.graph, self.g, self.origin_demand, self.flow, self.cost,
             self.deriv, self.members, self.args, self.worst, 1)  # fmt: skip
        _sweep(*s)
        for _ in range(max(count, 1) - 1):
            excess = self.worst * self.origin_demand
            _sweep(*s, excess > ACTIVE_SHARE * excess.mean())
        self.link_flow[:] = 0.0
        spread_flows(self.flow, *self.members, self.link_flow)


def solve_algorithm_b_classes(
    problems: ClassProblems, monitor: Monitor, *, inner_sweeps: int | None = None
) -> np.ndarray:
    """Algorithm B with one set of bushes per class (origins × classes) until ``monitor``
    stops it; returns the PCU flows per class, shape ``(n_classes, m)``.

    Each iteration: every class's shortest paths at the current PCU totals (the gap over
    classes) and its bushes grown; then class after class, its bushes equilibrated with
    the other classes' PCU held as a preload (block coordinate descent on the objective
    of :mod:`.classes`: each block is a one-class problem with a preload).
    """
    inner_sweeps = INNER_SWEEPS if inner_sweeps is None else inner_sweeps
    shared = problems.shared
    base = shared.preload
    states = [_ClassBushes(p, base) for p in problems.classes]
    fixed = [np.where(p.closed, 0.0, p.fixed) for p in problems.classes]
    time = np.empty(shared.head.size)
    k = 0
    previous_gap = np.inf
    while True:
        total = np.sum([s.link_flow for s in states], axis=0)
        sptt = 0.0
        for s in states:
            s.see_others(base, total)
            sptt += s.gap_and_grow()
        costs_into(total, *shared.vdf_args, time)
        tstt = sum(
            float((s.link_flow[s.link_flow > 0] * (time + f)[s.link_flow > 0]).sum())
            for s, f in zip(states, fixed, strict=True)
        )
        objective = beckmann(total, *shared.vdf_args) + sum(
            float((f * s.link_flow).sum()) for s, f in zip(states, fixed, strict=True)
        )
        if monitor.record(k, total, time, sptt, direction="bush", tstt=tstt, objective=objective):
            return np.array([s.link_flow for s in states])
        gap = monitor.rows[-1]["relative_gap"]
        if gap > 0.5 * previous_gap:
            inner_sweeps = min(2 * inner_sweeps, MAX_INNER_SWEEPS)
        elif gap < 0.05 * previous_gap:
            inner_sweeps = max(inner_sweeps // 2, INNER_SWEEPS)
        previous_gap = gap
        k += 1
        for s in states:
            total = np.sum([t.link_flow for t in states], axis=0)
            s.see_others(base, total)
            s.sweeps(inner_sweeps)
