"""Volume-delay functions: link cost, its derivative and the Beckmann integral.

Every function works per link on flat arrays (veh/h, seconds):

* ``kind[a] == VDF_BPR``: ``t = t0 * (1 + alpha * (v / c) ** beta)`` (Bureau of Public Roads);
* ``kind[a] == VDF_CONICAL``: ``t = t0 * (2 + sqrt(alpha**2 (1 - v/c)**2 + b**2) - alpha (1 - v/c) - b)``
  with ``b = (2 alpha - 1) / (2 alpha - 2)`` (Spiess 1990, Transportation Science 24(2); the
  ``beta`` array is ignored; ``alpha > 1``).

``v`` is the assigned flow plus a fixed ``preload`` (buses in PCU); the generalised cost
adds a flow-independent ``fixed`` term (toll and distance, in seconds). A link with
``fixed == inf`` is closed: its cost is ``inf`` and its integral and derivative count
only if it carries flow (it never does: shortest paths avoid it). ``t0 == 0`` gives a
zero-delay link whatever its capacity; ``c == 0`` with ``t0 > 0`` must be closed by the
caller (the solver does this) since ``v / c`` is undefined.

Beckmann objective: ``sum_a integral_0^{x_a} t_a(w + preload_a) dw + fixed_a * x_a``.
"""

from __future__ import annotations

import math

import numpy as np

from ._config import njit

VDF_BPR = 0
VDF_CONICAL = 1


@njit
def _bpr_time(v, t0, cap, alpha, beta):
    if t0 == 0.0:
        return 0.0
    if v <= 0.0:
        return t0 * (1.0 + alpha * (0.0 if beta > 0.0 else 1.0))
    return t0 * (1.0 + alpha * (v / cap) ** beta)


@njit
def _bpr_derivative(v, t0, cap, alpha, beta):
    if t0 == 0.0 or alpha == 0.0 or beta == 0.0:
        return 0.0
    if v <= 0.0:
        return t0 * alpha / cap if beta == 1.0 else 0.0
    return t0 * alpha * beta / cap * (v / cap) ** (beta - 1.0)


@njit
def _bpr_integral(v, t0, cap, alpha, beta):
    """integral_0^v of the BPR time."""
    if t0 == 0.0 or v <= 0.0:
        return 0.0
    return t0 * (v + alpha * cap / (beta + 1.0) * (v / cap) ** (beta + 1.0))


@njit
def _conical_time(v, t0, cap, alpha):
    if t0 == 0.0:
        return 0.0
    b = (2.0 * alpha - 1.0) / (2.0 * alpha - 2.0)
    u = alpha * (1.0 - v / cap)
    return t0 * (2.0 + math.sqrt(u * u + b * b) - u - b)


@njit
def _conical_derivative(v, t0, cap, alpha):
    if t0 == 0.0:
        return 0.0
    b = (2.0 * alpha - 1.0) / (2.0 * alpha - 2.0)
    u = alpha * (1.0 - v / cap)
    # d/dv of sqrt(u^2 + b^2) - u with du/dv = -alpha / cap
    return t0 * (alpha / cap) * (1.0 - u / math.sqrt(u * u + b * b))


@njit
def _conical_antiderivative(v, t0, cap, alpha):
    b = (2.0 * alpha - 1.0) / (2.0 * alpha - 2.0)
    u = alpha * (1.0 - v / cap)
    r = math.sqrt(u * u + b * b)
    # integral of sqrt(u^2+b^2) dv = -(cap/alpha) * (u r / 2 + b^2/2 asinh(u / b)) (+ const);
    # integral of -u dv = cap/(2 alpha) u^2. asinh avoids the cancellation of ln(u + r) for u << 0.
    s = -(cap / alpha) * (0.5 * u * r + 0.5 * b * b * math.asinh(u / b))
    return t0 * ((2.0 - b) * v + s + cap / (2.0 * alpha) * u * u)


@njit
def _conical_integral(v, t0, cap, alpha):
    if t0 == 0.0 or v <= 0.0:
        return 0.0
    return _conical_antiderivative(v, t0, cap, alpha) - _conical_antiderivative(0.0, t0, cap, alpha)


@njit
def link_time(v, t0, cap, alpha, beta, kind):
    """Travel time (s) of one link at total volume ``v`` (veh/h)."""
    if kind == VDF_CONICAL:
        return _conical_time(v, t0, cap, alpha)
    return _bpr_time(v, t0, cap, alpha, beta)


@njit
def link_derivative(v, t0, cap, alpha, beta, kind):
    """d time / d volume (s per veh/h) of one link at total volume ``v``."""
    if kind == VDF_CONICAL:
        return _conical_derivative(v, t0, cap, alpha)
    return _bpr_derivative(v, t0, cap, alpha, beta)


@njit
def link_time_and_derivative(v, t0, cap, alpha, beta, kind):
    """``(link_time, link_derivative)`` of one link at volume ``v`` (s, s per veh/h), with one
    power for both (BPR; ``beta == 4`` by multiplication): for solvers that need both often."""
    if kind == VDF_CONICAL:
        return _conical_time(v, t0, cap, alpha), _conical_derivative(v, t0, cap, alpha)
    if t0 == 0.0 or v <= 0.0:
        return _bpr_time(v, t0, cap, alpha, beta), _bpr_derivative(v, t0, cap, alpha, beta)
    r = v / cap
    if beta == 4.0:
        power = r * r * r
    else:
        power = r ** (beta - 1.0)
    k = t0 * alpha * power  # t0 alpha r^(beta - 1)
    return t0 + k * r, k * beta / cap


@njit
def link_integral(v, t0, cap, alpha, beta, kind):
    """integral_0^v time(w) dw of one link."""
    if kind == VDF_CONICAL:
        return _conical_integral(v, t0, cap, alpha)
    return _bpr_integral(v, t0, cap, alpha, beta)


@njit
def costs_into(flow, preload, fixed, t0, cap, alpha, beta, kind, out):
    """Generalised cost per link, ``time(flow + preload) + fixed`` (s), written into ``out``."""
    for a in range(flow.size):
        if fixed[a] == np.inf:
            out[a] = np.inf
        else:
            out[a] = (
                link_time(flow[a] + preload[a], t0[a], cap[a], alpha[a], beta[a], kind[a])
                + fixed[a]
            )


@njit
def derivatives_into(flow, preload, fixed, t0, cap, alpha, beta, kind, out):
    """d cost / d flow per link at ``flow + preload``, written into ``out`` (0 on closed links)."""
    for a in range(flow.size):
        if fixed[a] == np.inf:
            out[a] = 0.0
        else:
            out[a] = link_derivative(
                flow[a] + preload[a], t0[a], cap[a], alpha[a], beta[a], kind[a]
            )


@njit
def beckmann(flow, preload, fixed, t0, cap, alpha, beta, kind):
    """Beckmann objective ``sum integral_{p}^{p+x} time + fixed * x`` (veh·s/h)."""
    total = 0.0
    for a in range(flow.size):
        x = flow[a]
        if x == 0.0:
            continue
        p = preload[a]
        value = link_integral(x + p, t0[a], cap[a], alpha[a], beta[a], kind[a])
        if p > 0.0:
            value -= link_integral(p, t0[a], cap[a], alpha[a], beta[a], kind[a])
        total += value + fixed[a] * x
    return total


@njit
def line_derivative(lam, flow, direction, preload, fixed, t0, cap, alpha, beta, kind):
    """Derivative of the Beckmann objective along ``flow + lam * direction``, and its second derivative."""
    first = 0.0
    second = 0.0
    for a in range(flow.size):
        d = direction[a]
        if d == 0.0:
            continue
        v = flow[a] + lam * d + preload[a]
        first += (link_time(v, t0[a], cap[a], alpha[a], beta[a], kind[a]) + fixed[a]) * d
        second += link_derivative(v, t0[a], cap[a], alpha[a], beta[a], kind[a]) * d * d
    return first, second


@njit
def line_search_offset(
    flow, direction, offset, preload, fixed, t0, cap, alpha, beta, kind, lam_max, tol, max_iter
):
    """As :func:`line_search` for an objective whose directional derivative has an
    extra constant term ``offset`` (the class-specific fixed costs of a multi-class
    assignment, ``sum_c fixed_c . d_c``)."""
    g0, h0 = line_derivative(0.0, flow, direction, preload, fixed, t0, cap, alpha, beta, kind)
    g0 += offset
    if not g0 < 0.0:
        return 0.0, g0
    g1, h1 = line_derivative(lam_max, flow, direction, preload, fixed, t0, cap, alpha, beta, kind)
    g1 += offset
    if g1 <= 0.0:
        return lam_max, g0
    lo = 0.0
    hi = lam_max
    lam = lam_max * 0.5
    if h0 > 0.0:
        lam = -g0 / h0
        if not (lo < lam < hi):
            lam = 0.5 * (lo + hi)
    scale = abs(g0)
    for _ in range(max_iter):
        g, h = line_derivative(lam, flow, direction, preload, fixed, t0, cap, alpha, beta, kind)
        g += offset
        if g > 0.0:
            hi = lam
        else:
            lo = lam
        if abs(g) <= tol * scale or hi - lo <= 1e-15 * lam_max:
            break
        step = lam - g / h if h > 0.0 else -1.0
        lam = step if lo < step < hi else 0.5 * (lo + hi)
    return lam, g0


@njit
def line_search(
    flow, direction, preload, fixed, t0, cap, alpha, beta, kind, lam_max, tol, max_iter
):
    """Step ``lam`` in ``[0, lam_max]`` minimising the Beckmann objective along ``direction``.

    Safeguarded Newton on the (monotone) directional derivative, falling back to
    bisection whenever Newton leaves the bracket. Returns ``(lam, derivative at 0)``;
    ``lam == 0`` when the direction does not descend.
    """
    return line_search_offset(
        flow, direction, 0.0, preload, fixed, t0, cap, alpha, beta, kind, lam_max, tol, max_iter
    )
