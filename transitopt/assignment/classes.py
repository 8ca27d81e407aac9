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
multi-class ``rgap``: class costs weighted by PCU flows).

PCE by road type (``link_pce``: one value per link, e.g. MKJI 1997's emp of motorcycles
on divided and undivided urban roads). Then ``d t_a / d x_c',a = t'_a pce_c',a`` differs
between the classes from link to link: the Jacobian of the class costs is asymmetric and
no objective like ``Z`` exists (the equilibrium is a variational inequality). Such runs
are solved by diagonalisation (:mod:`.diagonalisation`); a ``link_pce`` that is the same
on every link is the scalar case above.
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
    link_pce
        PCE per link (PCU per vehicle, > 0 on the links open to the class), replacing
        ``pce`` in the link volumes (by road type: :func:`transitopt.network.pce.link_pce`);
        ``pce`` stays the class's representative value (reports).
    """

    name: str
    demand: ODMatrix
    pce: float = 1.0
    toll_factor: float | None = None
    distance_factor: float | None = None
    closed: np.ndarray | None = None
    link_pce: np.ndarray | None = None

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
    #: PCE per class and link, shape ``(n_classes, m)``, where some class's PCE varies
    #: by link (then ``classes[c].demand`` is in vehicles/h); ``None``: one PCE per class
    link_pce: np.ndarray | None = None

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
    link_pce, scalar_pce = _link_pce(classes, m)
    problems: list[Problem] = []
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
        scale = 1.0 if link_pce is not None else scalar_pce[len(problems)]
        problems.append(replace(p, demand=p.demand * scale))
    closed_all = np.logical_and.reduce([p.closed for p in problems])
    cap = np.min([p.cap for p in problems], axis=0)  # inf only where closed to all
    fixed = np.where(closed_all, np.inf, 0.0)
    shared = replace(problems[0], fixed=fixed, cap=cap, closed=closed_all)
    return ClassProblems(
        names=names,
        pce=np.array(scalar_pce),
        classes=tuple(problems),
        shared=shared,
        link_pce=link_pce,
    )


def _link_pce(classes: Sequence[VehicleClass], m: int) -> tuple[np.ndarray | None, list[float]]:
    """PCE per class and link where some class's ``link_pce`` varies by link, else ``None``;
    and one PCE per class (a ``link_pce`` constant over the links is that class's PCE)."""
    rows = []
    scalars = []
    varies = False
    for c in classes:
        if c.link_pce is None:
            rows.append(np.full(m, float(c.pce)))
            scalars.append(float(c.pce))
            continue
        row = np.asarray(c.link_pce, dtype=np.float64)
        if row.shape != (m,):
            raise ValueError(
                f"vehicle class {c.name!r}: link_pce has shape {row.shape}, expected ({m},)"
            )
        bad = ~(np.isfinite(row) & (row > 0.0))
        if bad.any():
            e = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"vehicle class {c.name!r}: link_pce of link {e} is {float(row[e])!r}; expected a "
                f"finite number > 0 on every link ({int(bad.sum())} such links)"
            )
        varies |= bool(np.ptp(row) > 0.0) if m else False
        rows.append(row)
        scalars.append(float(row[0]) if m and np.ptp(row) == 0.0 else float(c.pce))
    return (np.array(rows) if varies else None), scalars
