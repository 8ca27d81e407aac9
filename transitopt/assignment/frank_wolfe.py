"""Link-based equilibrium algorithms: MSA, Frank-Wolfe, conjugate and bi-conjugate Frank-Wolfe.

Each iteration ``k`` computes link costs at the current flows ``x_k``, an all-or-nothing
assignment ``y_k`` on them (which also certifies the gap of ``x_k``), a target point
``s_k`` and a step ``x_{k+1} = x_k + lam * (s_k - x_k)``:

* ``msa``: ``s_k = y_k``, ``lam = 1 / (k + 1)``;
* ``fw``: ``s_k = y_k``, ``lam`` minimises the Beckmann objective on the segment;
* ``cfw``: ``s_k = a s_{k-1} + (1 - a) y_k`` with ``a`` making the direction conjugate to
  the previous one w.r.t. the Hessian ``diag(c'(x_k))`` (Mitradjieva & Lindberg 2013, eq. 8);
* ``bfw``: ``s_k = b0 y_k + b1 s_{k-1} + b2 s_{k-2}``, conjugate to the two previous
  directions (Mitradjieva & Lindberg 2013, eq. 11-13).

Several vehicle classes (:func:`solve_link_based_classes`): the state is one PCU flow
vector per class; each class loads all-or-nothing on its own permitted links (one core
graph per distinct set of permissions) under ``time(total PCU) + its fixed cost``. The
Hessian of the objective (:mod:`.classes`) is ``t'_a`` times a matrix of ones per link,
so conjugacy depends on the class totals only: the conjugate weights are computed on
the totals and applied to every class alike, and the line search runs on the totals
with the classes' fixed costs as a constant term of the directional derivative.

Safeguards of the conjugate methods: a conjugate target is used only when it descends
(``c(x_k) . (s_k - x_k) < 0``) and its exact line search gives a positive step;
otherwise the iteration falls back to the plain Frank-Wolfe direction, which always
descends while the gap is positive, so no iteration ends with a zero step. After a
step of 1 (``x`` lands on the target) the conjugate history restarts (FW, then CFW).
"""

from __future__ import annotations

import numpy as np

from ..kernels.conjugate import bfw_target, bfw_weights, cfw_target, cfw_weight
from ..kernels.vdf import beckmann, costs_into, derivatives_into, line_search, line_search_offset
from ._hierarchy import AONLoader, aon_loader
from ._monitor import Monitor
from ._problem import Problem
from .classes import ClassProblems

#: largest weight on the previous target in the conjugate combination (keeps y_k in play)
CONJUGATE_MAX = 1.0 - 1e-6
#: relative tolerance of the line search on the directional derivative
LINE_SEARCH_TOL = 1e-13
LINE_SEARCH_MAX_ITER = 60


def solve_link_based(
    problem: Problem,
    algorithm: str,
    monitor: Monitor,
    *,
    initial: np.ndarray | None = None,
    aon: AONLoader | None = None,
) -> np.ndarray:
    """Run ``msa``, ``fw``, ``cfw`` or ``bfw`` until ``monitor`` stops it; returns the car flows.

    ``aon``: the all-or-nothing loader (default :func:`aon_loader` of ``problem``). The
    run ends right after a loading at the flows it returns (the one that certifies their
    gap), so the loader's last searches are at the final link costs."""
    if algorithm not in ("msa", "fw", "cfw", "bfw"):
        raise ValueError(f"unknown link-based algorithm {algorithm!r}")
    args = problem.vdf_args
    m = problem.head.size
    cost = np.empty(m)
    hess = np.empty(m)
    if aon is None:
        aon = aon_loader(problem)
    if initial is None:
        costs_into(np.zeros(m), *args, cost)
        x, _ = aon(cost)
    else:
        x = np.array(initial, dtype=np.float64)
    s1 = s2 = None  # previous targets
    tau = 1.0  # previous step
    restart = True
    k = 0
    step = np.nan
    direction = "aon"
    while True:
        costs_into(x, *args, cost)
        y, sptt = aon(cost)
        if monitor.record(k, x, cost, sptt, step=step, direction=direction):
            return x
        k += 1
        if algorithm == "msa":
            step = 1.0 / (k + 1)
            x += step * (y - x)
            direction = "fw"
            continue
        target = None
        if algorithm in ("cfw", "bfw") and not restart and tau < 1.0:
            derivatives_into(x, *args, hess)
            target = np.empty(m)
            if algorithm == "bfw" and s2 is not None:
                bfw_target(x, y, s1, s2, tau, hess, target)
                direction = "bfw"
            else:
                cfw_target(x, y, s1, hess, CONJUGATE_MAX, target)
                direction = "cfw"
            step, slope = line_search(
                x, target - x, *args, 1.0, LINE_SEARCH_TOL, LINE_SEARCH_MAX_ITER
            )
            if not (step > 0.0 and slope < 0.0):
                target = None  # not a descent direction: fall back to Frank-Wolfe
        if target is None:
            target, direction = y, "fw"
            step, _ = line_search(x, y - x, *args, 1.0, LINE_SEARCH_TOL, LINE_SEARCH_MAX_ITER)
            s2 = None  # the conjugate history restarts from this FW direction
        restart = step >= 1.0
        x += step * (target - x)
        np.maximum(x, 0.0, out=x)  # rounding must not leave tiny negative flows
        if direction == "fw":
            s1, s2 = target.copy(), None
        else:
            s1, s2 = target.copy(), s1
        tau = step


def solve_link_based_classes(
    problems: ClassProblems, algorithm: str, monitor: Monitor
) -> np.ndarray:
    """Multi-class ``msa``/``fw``/``cfw``/``bfw`` until ``monitor`` stops it; returns the
    PCU flows per class, shape ``(n_classes, m)``."""
    if algorithm not in ("msa", "fw", "cfw", "bfw"):
        raise ValueError(f"unknown link-based algorithm {algorithm!r}")
    args = problems.shared.vdf_args
    m = problems.shared.head.size
    n_classes = len(problems.classes)
    aons = [aon_loader(p) for p in problems.classes]
    fixed = [np.where(p.closed, 0.0, p.fixed) for p in problems.classes]  # finite part
    time = np.empty(m)
    cost = np.empty((n_classes, m))
    hess = np.empty(m)
    y = np.empty((n_classes, m))

    def load(x_total: np.ndarray) -> float:
        """Class costs at ``x_total`` into ``cost``, all-or-nothing into ``y``; the SPTT."""
        costs_into(x_total, *args, time)
        sptt = 0.0
        for c, p in enumerate(problems.classes):
            np.add(time, p.fixed, out=cost[c])
            y[c], part = aons[c](cost[c])
            sptt += part
        return sptt

    def fixed_dot(d: np.ndarray) -> float:
        # not np.dot: its BLAS threads busy-wait after a call (see _monitor.Monitor.record)
        return float(sum((fixed[c] * d[c]).sum() for c in range(n_classes)))

    load(np.zeros(m))
    x = y.copy()
    s1: np.ndarray = y  # previous targets, per class (s1 unused until set)
    s2: np.ndarray | None = None
    tau = 1.0
    restart = True
    k = 0
    step = np.nan
    direction = "aon"
    while True:
        total = x.sum(axis=0)
        sptt = load(total)
        used = x > 0.0
        tstt = float((x[used] * cost[used]).sum())
        objective = beckmann(total, *args) + fixed_dot(x)
        if monitor.record(
            k, total, time, sptt, step=step, direction=direction, tstt=tstt, objective=objective
        ):
            return x
        k += 1
        if algorithm == "msa":
            step = 1.0 / (k + 1)
            x += step * (y - x)
            direction = "fw"
            continue
        target = None
        y_total = y.sum(axis=0)
        if algorithm in ("cfw", "bfw") and not restart and tau < 1.0:
            derivatives_into(total, *args, hess)
            if algorithm == "bfw" and s2 is not None:
                b0, b1, b2 = bfw_weights(total, y_total, s1.sum(axis=0), s2.sum(axis=0), tau, hess)
                target = b0 * y + b1 * s1 + b2 * s2
                direction = "bfw"
            else:
                a = cfw_weight(total, y_total, s1.sum(axis=0), hess, CONJUGATE_MAX)
                target = a * s1 + (1.0 - a) * y
                direction = "cfw"
            d = target - x
            step, slope = line_search_offset(
                total, d.sum(axis=0), fixed_dot(d), *args, 1.0, LINE_SEARCH_TOL,
                LINE_SEARCH_MAX_ITER,
            )  # fmt: skip
            if not (step > 0.0 and slope < 0.0):
                target = None
        if target is None:
            target, direction = y.copy(), "fw"
            d = y - x
            step, _ = line_search_offset(
                total, d.sum(axis=0), fixed_dot(d), *args, 1.0, LINE_SEARCH_TOL,
                LINE_SEARCH_MAX_ITER,
            )  # fmt: skip
            s2 = None
        restart = step >= 1.0
        x += step * (target - x)
        np.maximum(x, 0.0, out=x)
        if direction == "fw":
            s1, s2 = target, None
        else:
            s1, s2 = target, s1
        tau = step
