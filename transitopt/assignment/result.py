"""The immutable result of a road equilibrium assignment."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..network.compiled import Network
from ._aon import KeptTrees


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    """Car link flows at (approximate) user equilibrium, with the convergence history.

    Attributes
    ----------
    network : Network
        The network assigned on (per-link arrays below are in its CSR order).
    flow : (m,) float64
        Assigned flow per link, PCU/h (veh/h of the one car class; with vehicle classes,
        the sum of ``pce * class_flow``).
    preload : (m,) float64
        Fixed flow per link (buses), PCU/h.
    time_s : (m,) float64
        Link travel time at ``flow + preload``, s (``inf`` on closed links).
    cost_s : (m,) float64
        Generalised cost (time + toll and distance terms), s.
    closed : (m,) bool
        Links that carry no cars (no ``MODE_CAR``, zero capacity, or closed by the caller).
    history : DataFrame
        One row per iteration: ``iteration, relative_gap, average_excess_cost_s,
        objective, tstt, sptt, step, direction, time_s``.
    algorithm : str
    target_gap : float
    converged : bool
        Whether ``relative_gap <= target_gap``.
    stop_reason : str
        ``"gap"``, ``"max_iter"``, ``"time_limit"`` or ``"cancelled"``.
    unassigned : DataFrame
        ``origin, destination, trips`` between zones that no car path connects.
    setup_s : float
        Seconds spent checking the inputs and building the problem before iterating
        (``history["time_s"]`` counts from the end of the set-up).
    class_flow : dict of str to (m,) float64
        Vehicles/h per link of each vehicle class (empty for a one-class run).
    class_cost_s : dict of str to (m,) float64
        Generalised cost per link of each vehicle class, s (``inf`` where closed to it);
        with classes, ``cost_s`` is the link time.
    class_pce : dict of str to (m,) float64
        PCE per link of each vehicle class (PCU per vehicle; the class's one value on
        every link unless it has a PCE by road type); ``flow`` is the sum of
        ``class_pce * class_flow``.
    zone_cost_s : DataFrame or None
        With ``keep_zone_costs`` (one class, link-based algorithms): the shortest costs
        (s) between origin zones (index) and destination zones (columns) of the last
        all-or-nothing search, which runs on ``cost_s`` at the final ``flow``; NaN where
        a pair has no demand (its search need not settle it). ``None`` otherwise.
    kept_trees : KeptTrees or None
        With ``keep_trees`` (one class, link-based algorithms, a large core graph): the
        trees of that last search (:class:`._aon.KeptTrees`), to start the next
        equilibrium at these costs without a search; ``None`` otherwise.
    started_from_trees : bool
        Whether the run started from ``start_trees`` (else from an all-or-nothing
        loading at zero flow).
    """

    network: Network = field(repr=False)
    flow: np.ndarray = field(repr=False)
    preload: np.ndarray = field(repr=False)
    time_s: np.ndarray = field(repr=False)
    cost_s: np.ndarray = field(repr=False)
    closed: np.ndarray = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    algorithm: str
    target_gap: float
    converged: bool
    stop_reason: str
    unassigned: pd.DataFrame = field(repr=False)
    setup_s: float = 0.0
    class_flow: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    class_cost_s: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    class_pce: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    zone_cost_s: pd.DataFrame | None = field(default=None, repr=False)
    kept_trees: KeptTrees | None = field(default=None, repr=False)
    started_from_trees: bool = False

    def __post_init__(self) -> None:
        for name in ("flow", "preload", "time_s", "cost_s", "closed"):
            getattr(self, name).flags.writeable = False
        for values in (
            *self.class_flow.values(),
            *self.class_cost_s.values(),
            *self.class_pce.values(),
        ):
            values.flags.writeable = False

    @property
    def relative_gap(self) -> float:
        """Relative gap ``(TSTT - SPTT) / TSTT`` of ``flow``."""
        return float(self.history["relative_gap"].iloc[-1])

    @property
    def iterations(self) -> int:
        """Iterations run (all-or-nothing searches after the initial one)."""
        return int(self.history["iteration"].iloc[-1])

    @property
    def objective(self) -> float:
        """Beckmann objective of ``flow`` (veh·s/h)."""
        return float(self.history["objective"].iloc[-1])

    @property
    def tstt(self) -> float:
        """Total system travel cost of the cars, ``sum flow * cost_s`` (veh·s/h)."""
        return float(self.history["tstt"].iloc[-1])

    @property
    def elapsed_s(self) -> float:
        """Wall time of the run (s), excluding problem set-up."""
        return float(self.history["time_s"].iloc[-1])

    def link_table(self) -> pd.DataFrame:
        """One row per link: ``edge, from_node, to_node, flow, preload, time_s, cost_s, voc,
        way, name, highway, length_m, lanes, capacity_vph, free_flow_time_s``.

        ``from_node``/``to_node`` are source node ids; ``way``, ``name`` and ``highway``
        the OSM way id, street name and road class (see
        :meth:`~transitopt.network.Network.street_table`; empty for TNTP networks);
        ``voc`` is (flow + preload) / capacity.
        """
        net = self.network
        with np.errstate(divide="ignore", invalid="ignore"):
            voc = (self.flow + self.preload) / net.capacity_vph
        streets = net.street_table()
        return pd.DataFrame(
            {
                "edge": np.arange(net.n_edges),
                "from_node": net.node_id[net.tail],
                "to_node": net.node_id[net.head],
                "flow": self.flow,
                "preload": self.preload,
                "time_s": self.time_s,
                "cost_s": self.cost_s,
                "voc": voc,
                "way": streets["way"].to_numpy(object),
                "name": streets["name"].to_numpy(object),
                "highway": streets["highway"].to_numpy(object),
                "length_m": net.length_m,
                "lanes": net.lanes,
                "capacity_vph": net.capacity_vph,
                "free_flow_time_s": net.free_flow_time_s,
            }
        )

    def plot_convergence(self, path: str | None = None, *, ax=None):
        """Relative gap per iteration and over time (log scale); saved to ``path`` (PNG) when given.

        Returns the matplotlib ``Axes``.
        """
        import matplotlib

        if ax is None and path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8))
        gap = self.history["relative_gap"].clip(lower=1e-16)
        ax.semilogy(self.history["time_s"], gap, marker=".", label=self.algorithm)
        ax.axhline(
            self.target_gap, color="grey", linestyle=":", label=f"target {self.target_gap:g}"
        )
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("relative gap (TSTT - SPTT) / TSTT")
        ax.set_title(f"{self.iterations} iterations, gap {self.relative_gap:.2e}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        if path is not None:
            from .._io import atomic_path

            with atomic_path(path) as tmp:
                ax.figure.savefig(tmp, dpi=110, bbox_inches="tight")
        return ax

    def summary(self) -> str:
        """One line: algorithm, iterations, gap, TSTT and seconds."""
        state = "converged" if self.converged else f"stopped ({self.stop_reason})"
        text = (
            f"{self.algorithm}: {state} after {self.iterations} iterations, relative gap {self.relative_gap:.3g}, "
            f"TSTT {self.tstt / 3600.0:.6g} veh·h/h, {self.elapsed_s:.2f} s"
        )
        if len(self.unassigned):
            text += f", {self.unassigned['trips'].sum():.6g} trips unassignable"
        return text

    def __repr__(self) -> str:
        return f"<AssignmentResult {self.summary()}>"
