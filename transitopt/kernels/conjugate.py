"""Conjugate and bi-conjugate Frank-Wolfe targets in one pass over the links.

Mitradjieva & Lindberg (2013), eq. 8 and 11-13: the same sums as the numpy expressions
they replace (in a different order of summation), without temporary arrays.
"""

from __future__ import annotations

from ._config import njit


@njit
def cfw_weight(x, y, s1, hess, a_max):
    """The weight ``a`` of :func:`cfw_target` (``out - x`` conjugate to ``s1 - x`` w.r.t.
    ``diag(hess)``, clipped to ``[0, a_max]``)."""
    num = 0.0
    den = 0.0
    for i in range(x.size):
        hd = hess[i] * (s1[i] - x[i])
        num += hd * (y[i] - x[i])
        den += hd * (y[i] - s1[i])
    a = num / den if den != 0.0 else 0.0
    return min(max(a, 0.0), a_max)


@njit
def cfw_target(x, y, s1, hess, a_max, out):
    """``out = a s1 + (1 - a) y``, ``a`` making ``out - x`` conjugate to ``s1 - x`` w.r.t.
    ``diag(hess)``, clipped to ``[0, a_max]``."""
    a = cfw_weight(x, y, s1, hess, a_max)
    for i in range(x.size):
        out[i] = a * s1[i] + (1.0 - a) * y[i]


@njit
def bfw_weights(x, y, s1, s2, tau, hess):
    """The weights ``(b0, b1, b2)`` of :func:`bfw_target`."""
    mu_den = 0.0
    mu_num = 0.0
    nu_den = 0.0
    nu_num = 0.0
    for i in range(x.size):
        h = hess[i]
        dy = y[i] - x[i]
        hx = h * (tau * s1[i] + (1.0 - tau) * s2[i] - x[i])
        mu_den += hx * (s2[i] - s1[i])
        mu_num += hx * dy
        hz = h * (s1[i] - x[i])
        nu_den += hz * (s1[i] - x[i])
        nu_num += hz * dy
    mu = -mu_num / mu_den if mu_den != 0.0 else 0.0
    mu = max(mu, 0.0)
    nu = -nu_num / nu_den + mu * tau / (1.0 - tau) if nu_den != 0.0 else 0.0
    nu = max(nu, 0.0)
    b0 = 1.0 / (1.0 + mu + nu)
    return b0, nu * b0, mu * b0


@njit
def bfw_target(x, y, s1, s2, tau, hess, out):
    """``out = b0 y + b1 s1 + b2 s2``, conjugate to the last two directions (``tau``: the
    previous step)."""
    b0, b1, b2 = bfw_weights(x, y, s1, s2, tau, hess)
    for i in range(x.size):
        out[i] = b0 * y[i] + b1 * s1[i] + b2 * s2[i]
