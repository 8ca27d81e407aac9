"""Volume-delay kernels against closed forms, finite differences and scipy quadrature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from transitopt.kernels.vdf import (
    VDF_BPR,
    VDF_CONICAL,
    beckmann,
    costs_into,
    derivatives_into,
    line_search,
    link_derivative,
    link_integral,
    link_time,
    link_time_and_derivative,
)

RNG = np.random.default_rng(3)
CASES = [(VDF_BPR, a, b) for a, b in [(0.15, 4.0), (0.5, 1.0), (1.0, 2.5), (0.15, 0.0)]]
CASES += [(VDF_CONICAL, a, 0.0) for a in (1.5, 4.0, 8.0)]


@pytest.mark.parametrize(("kind", "alpha", "beta"), CASES)
def test_time_derivative_integral_agree(kind, alpha, beta):
    t0, cap = 42.0, 1800.0
    for v in [0.0, 1.0, 900.0, 1800.0, 3600.0, 9000.0]:
        # derivative: central differences; their rounding error is ~1e-16 * t / h, hence the abs term
        h = max(1e-4 * v, 1e-3)
        fd = (
            link_time(v + h, t0, cap, alpha, beta, kind)
            - link_time(v - h, t0, cap, alpha, beta, kind)
        ) / (2 * h)
        if v > 0:
            assert link_derivative(v, t0, cap, alpha, beta, kind) == pytest.approx(
                fd, rel=1e-6, abs=1e-10
            )
        # integral: scipy adaptive quadrature of the time function
        ref, _ = integrate.quad(
            lambda w: link_time(w, t0, cap, alpha, beta, kind), 0.0, v, epsabs=1e-10, epsrel=1e-12
        )
        assert link_integral(v, t0, cap, alpha, beta, kind) == pytest.approx(
            ref, rel=1e-9, abs=1e-9
        )


@pytest.mark.parametrize(("kind", "alpha", "beta"), CASES + [(VDF_BPR, 0.0, 4.0)])
def test_time_and_derivative_match_the_separate_kernels(kind, alpha, beta):
    # one power for both (x**4 by multiplication): equal up to a few ulp of rounding
    for t0 in (0.0, 42.0):
        for v in [-5.0, 0.0, 1.0, 900.0, 1800.0, 3600.0, 9000.0]:
            time, slope = link_time_and_derivative(v, t0, 1800.0, alpha, beta, kind)
            assert time == pytest.approx(link_time(v, t0, 1800.0, alpha, beta, kind), rel=1e-14)
            expected = link_derivative(v, t0, 1800.0, alpha, beta, kind)
            assert slope == pytest.approx(expected, rel=1e-14, abs=1e-300)


def test_bpr_closed_form():
    # t = t0 (1 + alpha (v/c)^beta): at v = c the delay factor is 1 + alpha (FHWA 1964)
    assert link_time(1800.0, 60.0, 1800.0, 0.15, 4.0, VDF_BPR) == pytest.approx(60.0 * 1.15)
    assert link_time(3600.0, 60.0, 1800.0, 0.15, 4.0, VDF_BPR) == pytest.approx(
        60.0 * (1 + 0.15 * 16)
    )
    # zero free-flow time stays zero whatever the flow (TNTP connectors)
    assert link_time(1e6, 0.0, 1.0, 0.15, 4.0, VDF_BPR) == 0.0


@pytest.mark.parametrize("alpha", [1.5, 4.0, 10.0])
def test_conical_properties(alpha):
    # Spiess (1990): f(0) = 1, f(1) = 2, f'(1) = alpha, and f stays finite far above capacity
    t0, cap = 10.0, 1000.0
    assert link_time(0.0, t0, cap, alpha, 0.0, VDF_CONICAL) == pytest.approx(t0, rel=1e-12)
    assert link_time(cap, t0, cap, alpha, 0.0, VDF_CONICAL) == pytest.approx(2 * t0, rel=1e-12)
    assert link_derivative(cap, t0, cap, alpha, 0.0, VDF_CONICAL) * cap / t0 == pytest.approx(
        alpha, rel=1e-12
    )
    far = link_integral(50 * cap, t0, cap, alpha, 0.0, VDF_CONICAL)
    ref, _ = integrate.quad(
        lambda w: link_time(w, t0, cap, alpha, 0.0, VDF_CONICAL), 0, 50 * cap, limit=200
    )
    assert far == pytest.approx(ref, rel=1e-9)


def _arrays(m, kind=VDF_BPR):
    t0 = RNG.uniform(1, 100, m)
    cap = RNG.uniform(500, 5000, m)
    alpha = RNG.uniform(0.1, 1.0, m) if kind == VDF_BPR else RNG.uniform(1.5, 6, m)
    beta = RNG.uniform(1, 5, m)
    return t0, cap, alpha, beta, np.full(m, kind, dtype=np.int64)


def test_array_kernels_with_preload_and_fixed_cost():
    m = 50
    t0, cap, alpha, beta, kind = _arrays(m)
    flow = RNG.uniform(0, 4000, m)
    preload = RNG.uniform(0, 300, m)
    fixed = RNG.uniform(0, 20, m)
    fixed[3] = np.inf  # a closed link
    flow[3] = 0.0
    cost = np.empty(m)
    deriv = np.empty(m)
    costs_into(flow, preload, fixed, t0, cap, alpha, beta, kind, cost)
    derivatives_into(flow, preload, fixed, t0, cap, alpha, beta, kind, deriv)
    ref = t0 * (1 + alpha * ((flow + preload) / cap) ** beta) + fixed
    ok = np.isfinite(fixed)
    np.testing.assert_allclose(cost[ok], ref[ok], rtol=1e-13)
    assert cost[3] == np.inf and deriv[3] == 0.0
    # Beckmann with preload: integral from the preload to preload + flow, plus fixed * flow
    z = beckmann(flow, preload, fixed, t0, cap, alpha, beta, kind)
    ref_z = 0.0
    for a in np.flatnonzero(ok):

        def time(w, a=a):
            return t0[a] * (1 + alpha[a] * (w / cap[a]) ** beta[a])

        val, _ = integrate.quad(time, preload[a], preload[a] + flow[a])
        ref_z += val + fixed[a] * flow[a]
    assert z == pytest.approx(ref_z, rel=1e-10)


def test_line_search_matches_scipy_minimize_scalar():
    m = 200
    t0, cap, alpha, beta, kind = _arrays(m)
    flow = RNG.uniform(0, 3000, m)
    target = RNG.uniform(0, 3000, m)
    direction = target - flow
    zeros = np.zeros(m)

    def objective(lam):
        return beckmann(flow + lam * direction, zeros, zeros, t0, cap, alpha, beta, kind)

    lam, slope = line_search(
        flow, direction, zeros, zeros, t0, cap, alpha, beta, kind, 1.0, 1e-13, 60
    )
    ref = optimize.minimize_scalar(
        objective, bounds=(0, 1), method="bounded", options={"xatol": 1e-12}
    )
    assert slope < 0
    if 0 < ref.x < 1 - 1e-9:
        assert lam == pytest.approx(ref.x, abs=1e-7)
    assert objective(lam) <= ref.fun * (1 + 1e-12)
    # an ascent direction gives a zero step, never a negative one
    lam_up, slope_up = line_search(
        flow,
        -direction * 0 + (flow * 0.1),
        zeros,
        zeros,
        t0,
        cap,
        alpha,
        beta,
        kind,
        1.0,
        1e-13,
        60,
    )
    assert lam_up == 0.0 and slope_up > 0
