"""Multi-class equilibrium with a PCE per link (road type): diagonalisation.

With class ``c``'s PCE ``p_c,a`` varying by link, link ``a``'s time is
``t_a(preload_a + sum_c p_c,a x_c,a)`` (``x`` in vehicles/h) and class ``c`` pays
``t_a + fixed_c,a`` per vehicle. ``d t_a / d x_c',a = t'_a p_c',a`` is the same for every
class ``c`` but not for every ``c'``: the Jacobian is asymmetric where the PCE ratios of
two classes differ from link to link, and no objective has these costs as its gradient
(:mod:`.classes`). The equilibrium (each class's used paths have equal and minimal cost)
is the solution of a variational inequality; it exists (continuous costs, compact
feasible set) and is found here by *diagonalisation* (Florian 1977; Sheffi 1985, §10.3):

* every outer iteration takes the classes in turn (Gauss-Seidel); class ``c`` is solved
  with the other classes' PCU held fixed, ``B_a = preload_a + sum_{c' != c} p_c',a x_c',a``.
  That sub-problem is symmetric: in vehicles of class ``c`` the link time
  ``t_a(B_a + p_c,a x)`` is the same volume-delay function with capacity ``cap_a / p_c,a``
  and preload ``B_a / p_c,a`` (BPR and conical depend on volume / capacity only), so the
  single-class solvers (:func:`.solve_link_based`, warm-started from the class's flows,
  or :func:`.solve_algorithm_b`) solve it as they are;
* each sub-problem is solved to a relative gap of :data:`INNER_GAP_SHARE` times the
  current outer gap (not below a tenth of the target), at most :data:`INNER_MAX_ITER`
  iterations;
* after each outer iteration, the gap of the whole is measured at the true costs: every
  class's all-or-nothing at ``t(total PCU) + fixed_c``. The relative gap is in vehicle
  costs, ``(sum_c cost_c . x_c - sum_c SPTT_c) / sum_c cost_c . x_c``: it is 0 exactly
  at an equilibrium. There is no objective (``history.objective`` is NaN).

A fixed point of the outer loop leaves every class at its equilibrium given the others,
which is the multi-class equilibrium. Diagonalisation converges when the asymmetry is
mild (the own-class effect ``t'_a p_c,a`` dominates the cross effects); MKJI's PCE ratios
between road types (motorcycles 0.25 against 0.35, heavy vehicles 1.2 against 1.3) are
far inside that. An outer loop that stalls stops at ``max_iter`` with a
:class:`~transitopt._errors.ConvergenceWarning` like any other run.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..kernels.vdf import costs_into
from ._hierarchy import aon_loader
from ._monitor import Monitor
from .bush import solve_algorithm_b
from .classes import ClassProblems
from .frank_wolfe import solve_link_based

#: a class's sub-problem is solved to this share of the current outer relative gap
INNER_GAP_SHARE = 0.1
#: iteration limit of one sub-problem
INNER_MAX_ITER = 500


def solve_diagonalised(problems: ClassProblems, algorithm: str, monitor: Monitor) -> np.ndarray:
    """Solve the classes of ``problems`` (``link_pce`` set, demand in vehicles/h) by
    diagonalisation until ``monitor`` stops it; returns the vehicle flows per class,
    shape ``(n_classes, m)`` (veh/h)."""
    if problems.link_pce is None:
        raise ValueError("solve_diagonalised needs problems.link_pce (a PCE per link)")
    pce = problems.link_pce
    shared = problems.shared
    base = shared.preload
    args = shared.vdf_args
    n_classes, m = pce.shape
    aons = [aon_loader(p) for p in problems.classes]
    fixed = [np.where(p.closed, 0.0, p.fixed) for p in problems.classes]
    time = np.empty(m)
    cost = np.empty(m)
    x = np.zeros((n_classes, m))
    costs_into(np.zeros(m), *args, time)
    for c, p in enumerate(problems.classes):
        np.add(time, p.fixed, out=cost)
        x[c], _ = aons[c](cost)
    k = 0
    inner_total = 0
    while True:
        pcu = (pce * x).sum(axis=0)
        costs_into(pcu, *args, time)
        sptt = 0.0
        tstt = 0.0
        for c, p in enumerate(problems.classes):
            np.add(time, p.fixed, out=cost)
            _, part = aons[c](cost)
            sptt += part
            used = x[c] > 0.0
            tstt += float((x[c][used] * (time[used] + fixed[c][used])).sum())  # no BLAS
        stop = monitor.record(
            k, pcu, time, sptt, direction="diagonal", tstt=tstt, objective=float("nan")
        )
        # the sub-problems' iterations so far, summed over the classes (history column)
        monitor.rows[-1]["inner_iterations"] = inner_total
        if stop:
            return x
        outer_gap = monitor.rows[-1]["relative_gap"]
        inner_gap = max(INNER_GAP_SHARE * outer_gap, 0.1 * monitor.gap)
        k += 1
        for c, p in enumerate(problems.classes):
            others = base + (pce * x).sum(axis=0) - pce[c] * x[c]
            sub = replace(
                p,
                preload=np.maximum(others, 0.0) / pce[c],
                cap=p.cap / pce[c],
            )
            inner = Monitor(sub, gap=inner_gap, max_iter=INNER_MAX_ITER, time_limit_s=None)
            if algorithm == "algb":
                x[c] = solve_algorithm_b(sub, inner)
            else:
                x[c] = solve_link_based(sub, algorithm, inner, initial=x[c])
            inner_total += len(inner.rows)
            x[c][p.closed] = 0.0
