"""The one-pass conjugate Frank-Wolfe targets against the numpy formulas (Mitradjieva &
Lindberg 2013, eq. 8 and 11-13)."""

from __future__ import annotations

import numpy as np
import pytest

from transitopt.kernels.conjugate import bfw_target, cfw_target


def _cfw_reference(x, y, s1, hess, a_max):
    d1 = s1 - x
    den = np.dot(hess * d1, y - s1)
    a = np.dot(hess * d1, y - x) / den if den != 0.0 else 0.0
    a = min(max(a, 0.0), a_max)
    return a * s1 + (1.0 - a) * y


def _bfw_reference(x, y, s1, s2, tau, hess):
    xbar = tau * s1 + (1.0 - tau) * s2 - x
    mu_den = np.dot(hess * xbar, s2 - s1)
    mu = max(-np.dot(hess * xbar, y - x) / mu_den if mu_den != 0.0 else 0.0, 0.0)
    z = s1 - x
    nu_den = np.dot(hess * z, z)
    nu = -np.dot(hess * z, y - x) / nu_den + mu * tau / (1.0 - tau) if nu_den != 0.0 else 0.0
    nu = max(nu, 0.0)
    b0 = 1.0 / (1.0 + mu + nu)
    return b0 * y + (nu * b0) * s1 + (mu * b0) * s2


@pytest.mark.parametrize("seed", range(5))
def test_targets_match_the_numpy_formulas(seed):
    rng = np.random.default_rng(seed)
    x, y, s1, s2 = (rng.uniform(0, 100, 500) for _ in range(4))
    hess = rng.uniform(0, 1, 500)
    tau = float(rng.uniform(0.05, 0.95))
    out = np.empty(500)
    cfw_target(x, y, s1, hess, 1.0 - 1e-6, out)
    np.testing.assert_allclose(out, _cfw_reference(x, y, s1, hess, 1.0 - 1e-6), rtol=1e-10)
    bfw_target(x, y, s1, s2, tau, hess, out)
    np.testing.assert_allclose(out, _bfw_reference(x, y, s1, s2, tau, hess), rtol=1e-10)
    # no curvature: the plain direction
    bfw_target(x, y, s1, s2, tau, np.zeros(500), out)
    np.testing.assert_array_equal(out, y)
