"""Vehicle classes of a multi-class road equilibrium.

Each class has its own demand (vehicles/h), passenger-car equivalent ``pce``, generalised
cost weights (``toll_factor``: seconds per toll unit, i.e. ``3600 / value of time`` in
toll units per hour, times any class-specific toll multiplier; ``distance_factor``:
seconds per metre) and links closed to it (``closed``; e.g. motorcycles on toll roads).

The equilibrium is in PCU on shared links: every link's time is its volume-delay function
of ``preload + sum_c pce_c x_c``; class ``c`` pays ``time + fixed_c`` (seconds per
vehicle) and uses only its own permitted links. With a scalar ``pce_c`` per class this is
the minimum of

    Z = sum_a integral_0^{v_a} t_a(w + preload_a) dw + sum_c sum_a fixed_c,a pce_c x_c,a,
    v_a = sum_c pce_c x_c,a,

whose gradient in class ``c``'s PCU flow ``y_c = pce_c x_c`` is ``t_a + fixed_c,a``: the
solvers iterate on PCU flows per class (as AequilibraE does), and the relative gap is
``sum_c (cost_c . y_c) - sum_c pce_c SPTT_c`` over ``sum_c cost_c . y_c`` (AequilibraE's
multi-class ``rgap``: class costs weighted by PCU flows). A PCE that varied by link would
make the link-cost Jacobian asymmetric (no such objective exists), so ``pce`` is one
number per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..demand.od import ODMatrix
from ..network.compiled import Network
from ._problem import Problem, build_problem


@dataclass(frozen=True, eq=False)
class VehicleClass:
    """One vehicle class of a multi-class assignment (see the module docstring).

    Parameters
    ----------
    name
        Unique name (the key of ``result.class_flow``).
    demand
        Trips of this class per analysis period, vehicles/h.
    pce
        Passenger-car equivalent (PCU per vehicle), > 0.
    toll_factor, distance_factor
        Seconds per toll unit and per metre; ``None``: the TNTP network's weights, else 0
        (:func:`.fixed_cost_s`).
    closed
        Links closed to this class (bool per link), on top of those closed to cars.
    """

    name: str
    demand: ODMatrix
    pce: float = 1.0
    toll_factor: float | None = None
    distance_factor: float | None = None
    closed: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not np.ndim(self.pce) == 0:
            raise ValueError(
                f"vehicle class {self.name!r}: pce must be one number per class, got an array "
                f"of shape {np.shape(self.pce)} (see transitopt.assignment.classes)"
            )
        if not (np.isfinite(self.pce) and self.pce > 0.0):
            raise ValueError(f"vehicle class {self.name!r}: pce must be > 0, got {self.pce!r}")


@dataclass(frozen=True, eq=False)
class ClassProblems:
    """The per-class problems (demand in PCU/h) and the arrays they share.

    ``shared`` is a :class:`Problem` whose ``vdf_args`` give link *times* (``fixed`` is 0
    on links open to some class, ``inf`` on links closed to all); ``classes[c]`` has
    class ``c``'s own ``fixed`` (``inf`` on its closed links), closed links and demand
    multiplied by its ``pce``.
    """

    names: tuple[str, ...]
    pce: np.ndarray
    classes: tuple[Problem, ...]
    shared: Problem

    @property
    def total_demand(self) -> float:
        """Assignable PCU/h over all classes."""
        return float(sum(p.total_demand for p in self.classes))


def build_class_problems(
    network: Network,
    classes: Sequence[VehicleClass],
    *,
    vdf: str = "bpr",
    preload: np.ndarray | None = None,
    closed: np.ndarray | None = None,
) -> ClassProblems:
    """Validate every class's inputs and build the :class:`ClassProblems`."""
    if not classes:
        raise ValueError("classes is empty; give at least one VehicleClass")
    names = tuple(c.name for c in classes)
    if len(set(names)) != len(names):
        raise ValueError(f"vehicle class names must be unique, got {list(names)}")
    m = network.n_edges
    problems = []
    for c in classes:
        shut = None if closed is None else np.asarray(closed, dtype=np.bool_)
        if c.closed is not None:
            own = np.asarray(c.closed, dtype=np.bool_)
            if own.shape != (m,):
                raise ValueError(
                    f"vehicle class {c.name!r}: closed has shape {own.shape}, expected ({m},)"
                )
            shut = own if shut is None else (shut | own)
        p = build_problem(
            network,
            c.demand,
            vdf=vdf,
            preload=preload,
            closed=shut,
            toll_factor=c.toll_factor,
            distance_factor=c.distance_factor,
        )
        problems.append(replace(p, demand=p.demand * float(c.pce)))
    closed_all = np.logical_and.reduce([p.closed for p in problems])
    cap = np.min([p.cap for p in problems], axis=0)  # inf only where closed to all
    fixed = np.where(closed_all, np.inf, 0.0)
    shared = replace(problems[0], fixed=fixed, cap=cap, closed=closed_all)
    return ClassProblems(
        names=names,
        pce=np.array([float(c.pce) for c in classes]),
        classes=tuple(problems),
        shared=shared,
    )
