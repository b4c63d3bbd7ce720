"""The generalized Lotka-Volterra model of 004 (qntk.theory.lv): exact solution against an ODE solver and
004's closed forms, the discrete map, the Hamiltonian form, and regime prediction and measurement."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from qntk.theory import lv

RTOL_ODE = 1e-10  # solve vs a high-order ODE solver
RTOL_EXACT = 1e-12  # identities that hold up to rounding

# (eps0, K0, lam) for each sign of C = K0 - 2 lam eps0, on both sides of the spectrum, and lam = 0.
CASES = {
    "C>0": (1.0, 3.0, 1.0),
    "C=0": (1.5, 3.0, 1.0),
    "C<0": (2.5, 3.0, 1.0),
    "C<0, O_max side": (-2.5, 3.0, -1.0),
    "lam=0": (1.0, 3.0, 0.0),
}


def _ivp(eps0, K0, lam, eta, t):
    def f(_, y):
        return [-eta * y[0] * y[1], -2.0 * eta * lam * y[0] * y[1]]

    sol = solve_ivp(f, (0.0, t[-1]), [eps0, K0], method="DOP853", t_eval=t, rtol=1e-13, atol=1e-300)
    assert sol.success
    return sol.y


@pytest.mark.parametrize("case", CASES)
def test_solve_matches_ode_solver(case):
    """004 eq. (10) integrated by DOP853 agrees with the closed form to 1e-10."""
    eps0, K0, lam = CASES[case]
    eta, t = 0.05, np.linspace(0.0, 100.0, 41)  # eta |C| t up to 10
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    ref_eps, ref_K = _ivp(eps0, K0, lam, eta, t)
    np.testing.assert_allclose(eps, ref_eps, rtol=RTOL_ODE, atol=0)
    np.testing.assert_allclose(K, ref_K, rtol=RTOL_ODE, atol=0)


def test_solve_conserves_C_and_broadcasts():
    """C = K - 2 lam eps (004 eq. (11)) is constant along solve, for a batch of initial values of every sign."""
    rng = np.random.default_rng(0)
    eps0, K0, lam = rng.normal(size=(4, 3)), rng.uniform(0.5, 5.0, size=(4, 3)), rng.normal(size=3)
    t = np.linspace(0.0, 400.0, 9)
    eps, K = lv.solve(eps0, K0, lam, 0.02, t)
    assert eps.shape == K.shape == (4, 3, 9)
    C0 = lv.conserved(eps0, K0, lam)[..., None]
    np.testing.assert_allclose(lv.conserved(eps, K, lam[:, None]), np.broadcast_to(C0, K.shape),
                               rtol=0, atol=RTOL_EXACT * 10 * np.abs(C0).max())


def test_C_from_dynamical_index():
    """C = (1 - 2 zeta) K with mu = lam K (004 Theorem 1)."""
    eps, K, lam = np.array([0.3, -1.2, 2.0]), np.array([1.0, 2.5, 0.7]), np.array([0.8, 0.4, -1.5])
    zeta = lv.dynamical_index(eps, K, lam * K)
    np.testing.assert_allclose(lv.conserved(eps, K, lam), (1.0 - 2.0 * zeta) * K, rtol=RTOL_EXACT)


@pytest.mark.parametrize("case", CASES)
def test_iterate_conserves_C(case):
    """The first-order map of 004 eqs. (7)-(8) conserves C exactly, which is stronger than O(eta^2) per step."""
    eps0, K0, lam = CASES[case]
    eta = 0.01
    eps, K = lv.iterate(eps0, K0, lam, eta, 3000)
    C = lv.conserved(eps, K, lam)
    assert np.max(np.abs(np.diff(C))) <= eta**2 * K0**2  # the O(eta^2) bound the continuum limit needs
    np.testing.assert_allclose(C, C[0], rtol=0, atol=RTOL_EXACT * K0)


def test_iterate_steps_and_batch():
    """One step by hand, and a batch of initial values runs as one array with time last."""
    eps, K = lv.iterate([1.0, 2.0], 3.0, 0.5, 0.1, 1)
    assert eps.shape == K.shape == (2, 2)
    np.testing.assert_allclose(eps[:, 1], [1.0 - 0.1 * 1.0 * 3.0, 2.0 - 0.1 * 2.0 * 3.0], rtol=RTOL_EXACT)
    np.testing.assert_allclose(K[:, 1], [3.0 - 2 * 0.1 * 0.5 * 1.0 * 3.0, 3.0 - 2 * 0.1 * 0.5 * 2.0 * 3.0],
                               rtol=RTOL_EXACT)


def test_iterate_warns_when_diverging():
    with pytest.warns(RuntimeWarning, match="diverged"):
        lv.iterate(1.0, 1.0, -10.0, 0.5, 50)  # eta C = 10.5 > 2


@pytest.mark.parametrize("case", ["C>0", "C=0", "C<0"])
def test_iterate_tends_to_solve(case):
    """At fixed eta t the discrete map approaches solve with an error of first order in eta."""
    eps0, K0, lam = CASES[case]
    tau = 2.0
    errors = []
    for eta in (1e-2, 1e-3, 1e-4):
        steps = round(tau / eta)
        eps, K = lv.iterate(eps0, K0, lam, eta, steps)
        ref_eps, ref_K = lv.solve(eps0, K0, lam, eta, np.arange(steps + 1))
        errors.append(max(np.max(np.abs(eps - ref_eps)) / abs(eps0), np.max(np.abs(K - ref_K)) / K0))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 8) & (ratios < 12)), errors
    assert errors[-1] < 1e-3


@pytest.mark.parametrize("case", ["C>0", "C<0", "C<0, O_max side"])
def test_eq33_closed_form(case):
    """004 eq. (33) with B1 = K0 / (lam eps0)."""
    eps0, K0, lam = CASES[case]
    eta, t = 0.05, np.linspace(0.0, 200.0, 51)
    C, B1 = lv.conserved(eps0, K0, lam), K0 / (lam * eps0)
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    np.testing.assert_allclose(lam * eps, C / (-2.0 + B1 * np.exp(eta * C * t)), rtol=RTOL_EXACT)
    np.testing.assert_allclose(K, C / (1.0 - 2.0 / B1 * np.exp(-eta * C * t)), rtol=RTOL_EXACT)


def test_eq34_and_eq15_closed_form():
    """004 eq. (34) with B2 = K0 / 2, i.e. eq. (15) K = 2 lam eps = 1 / (eta t + c) with c = 1 / K0."""
    eps0, K0, lam = CASES["C=0"]
    eta, t = 0.05, np.linspace(0.0, 1e5, 51)
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    B2 = K0 / 2.0
    np.testing.assert_allclose(K, 2.0 / (2.0 * eta * t + 1.0 / B2), rtol=RTOL_EXACT)
    np.testing.assert_allclose(2.0 * lam * eps, K, rtol=RTOL_EXACT)
    np.testing.assert_allclose(K, 1.0 / (eta * t + 1.0 / K0), rtol=RTOL_EXACT)
    late = t > 0.5 * t[-1]
    slope = np.polyfit(np.log(t[late]), np.log(K[late]), 1)[0]
    assert abs(slope + 1.0) < 1e-3  # power law with exponent -1 once eta K0 t >> 1


def test_eq33_continuous_through_C_zero():
    """solve is continuous in C at C = 0 (no 0/0): C = +-1e-12 agree with C = 0 to rounding."""
    eta, t = 0.05, np.linspace(0.0, 1e4, 11)
    K0, lam = 3.0, 1.0
    eps0 = (K0 - np.array([1e-12, 0.0, -1e-12])) / (2 * lam)
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    np.testing.assert_allclose(K[0], K[1], rtol=1e-9)
    np.testing.assert_allclose(K[2], K[1], rtol=1e-9)
    np.testing.assert_allclose(eps[0], eps[1], rtol=1e-9)


def test_eq14_frozen_kernel_late_time():
    """004 eq. (14): K -> C and eps ~ exp(-eta C t)."""
    eps0, K0, lam = CASES["C>0"]
    eta, C = 0.05, lv.conserved(*CASES["C>0"])
    t = np.linspace(1000.0, 2000.0, 21)  # eta C t = 50 to 100
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    slope = np.polyfit(t, np.log(eps), 1)[0]
    np.testing.assert_allclose(-slope, eta * C, rtol=1e-6)
    np.testing.assert_allclose(K, C, rtol=1e-6)
    prediction = lv.predict_regime(0.0, -1.0, 1.0).late_time(eta, K_inf=C)
    np.testing.assert_allclose(-slope, prediction["rate"], rtol=1e-6)


@pytest.mark.parametrize("case", ["C<0", "C<0, O_max side"])
def test_eq16_frozen_error_late_time(case):
    """004 eq. (16): eps -> R = -C / (2 lam), and K = 2 lam (eps - R) ~ exp(-2 eta lam R t)."""
    eps0, K0, lam = CASES[case]
    eta, C = 0.05, lv.conserved(eps0, K0, lam)
    R = -C / (2.0 * lam)
    t = np.linspace(400.0, 800.0, 21)
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    slope = np.polyfit(t, np.log(K), 1)[0]
    np.testing.assert_allclose(-slope, 2.0 * eta * lam * R, rtol=1e-6)
    np.testing.assert_allclose(eps, R, rtol=1e-6)
    t_mid = np.linspace(0.0, 100.0, 11)  # before eps - R is below rounding
    eps_mid, K_mid = lv.solve(eps0, K0, lam, eta, t_mid)
    np.testing.assert_allclose(K_mid, 2.0 * lam * (eps_mid - R), rtol=1e-9)
    # The same numbers from the spectrum: a target R below O_min (or -R above O_max).
    prediction = lv.predict_regime(-1.0 - R if R > 0 else 1.0 - R, -1.0, 1.0)
    assert prediction.regime == "frozen-error" and prediction.R == pytest.approx(R)
    np.testing.assert_allclose(-slope, prediction.late_time(eta, lam=lam)["rate"], rtol=1e-6)


@pytest.mark.parametrize("C", [5.0, 1e-300, 0.0, -5.0])
def test_solve_stable_at_large_times(C):
    """No overflow, NaN or division by zero at eta |C| t = 1e4 (and far beyond), for every sign of C."""
    K0, lam, eta = 10.0, 1.0, 0.1
    eps0 = (K0 - C) / (2.0 * lam)
    t = np.array([0.0, 1.0, 1e4 / (eta * max(abs(C), 1.0)), 1e30])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        eps, K = lv.solve(eps0, K0, lam, eta, t)
    assert np.all(np.isfinite(eps)) and np.all(np.isfinite(K)) and np.all(K >= 0)
    assert K[-1] == pytest.approx(max(C, 0.0), abs=1e-12)
    assert eps[-1] == pytest.approx(max(-C, 0.0) / (2.0 * lam), abs=1e-12)


def test_solve_edge_initial_values():
    """lam = 0 is exactly a frozen kernel; K0 = 0 stays put (both eps and K are fixed points)."""
    t = np.array([0.0, 10.0, 1e6])
    eps, K = lv.solve(2.0, 3.0, 0.0, 0.1, t)
    np.testing.assert_array_equal(K, 3.0)
    np.testing.assert_allclose(eps, 2.0 * np.exp(-0.3 * t), rtol=RTOL_EXACT)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        eps, K = lv.solve([2.0, -2.0], 0.0, 1.0, 0.1, t)
    np.testing.assert_array_equal(K, 0.0)
    np.testing.assert_array_equal(eps, [[2.0] * 3, [-2.0] * 3])


@pytest.mark.parametrize("eps, K, lam", [(0.7, 2.3, 0.4), (-0.7, 0.2, -3.0)])
def test_hamilton_equations_reproduce_lv(eps, K, lam):
    """004 eq. (32) with H of eq. (31), by central differences: dQ/dt = dH/dP, dP/dt = -dH/dQ equal
    eq. (10) divided by eps and K; and H = -eta C."""
    eta, h = 0.05, 1e-6
    Q, P = lv.canonical(eps, K, lam)
    dH_dP = (lv.hamiltonian(Q, P + h, eta) - lv.hamiltonian(Q, P - h, eta)) / (2 * h)
    dH_dQ = (lv.hamiltonian(Q + h, P, eta) - lv.hamiltonian(Q - h, P, eta)) / (2 * h)
    d_eps, d_K = lv.rhs(eps, K, lam, eta)
    np.testing.assert_allclose(dH_dP, d_eps / eps, rtol=1e-8)
    np.testing.assert_allclose(-dH_dQ, d_K / K, rtol=1e-8)
    np.testing.assert_allclose(lv.hamiltonian(Q, P, eta), -eta * lv.conserved(eps, K, lam), rtol=RTOL_EXACT)


@pytest.mark.parametrize("eps, K, lam", [(0.5, 1.0, -1.0), (0.0, 1.0, 1.0), (0.5, 0.0, 1.0)])
def test_canonical_needs_positive_logs(eps, K, lam):
    with pytest.raises(ValueError, match="2 lam eps > 0 and K > 0"):
        lv.canonical(eps, K, lam)


# ----------------------------------------------------------------------------------------------
# regimes


@pytest.fixture(scope="module")
def xxz_spectrum():
    from qntk.models import observables

    o_min, o_max = observables.xxz(6, J=2.0, periodic=False).spectrum_extremes()
    assert o_min == pytest.approx(-22.0) and o_max == pytest.approx(14.3837, abs=1e-4)
    return o_min, o_max


@pytest.mark.parametrize(
    "offset, edge, regime, boundary",
    [
        (5.0, "min", "frozen-kernel", "O_min"),
        (0.0, "min", "critical", "O_min"),
        (1e-10, "min", "critical", "O_min"),  # inside the default atol band (2.2e-8)
        (-1e-10, "min", "critical", "O_min"),
        (-1e-6, "min", "frozen-error", "O_min"),
        (-3.0, "min", "frozen-error", "O_min"),
        (-5.0, "max", "frozen-kernel", "O_max"),
        (0.0, "max", "critical", "O_max"),
        (2.0, "max", "frozen-error", "O_max"),
    ],
)
def test_predict_regime_xxz(xxz_spectrum, offset, edge, regime, boundary):
    """004 Theorem 1 on the XXZ chain (n = 6, J = 2): O_0 against [O_min, O_max], both edges."""
    o_min, o_max = xxz_spectrum
    target = (o_min if edge == "min" else o_max) + offset
    p = lv.predict_regime(target, o_min, o_max)
    assert (p.regime, p.boundary) == (regime, boundary)
    expected_R = {"frozen-error": (o_min if edge == "min" else o_max) - target}.get(regime, 0.0)
    assert p.R == pytest.approx(expected_R, rel=1e-12, abs=0)
    assert (p.R > 0) == (regime == "frozen-error" and edge == "min")


def test_predict_regime_atol_band(xxz_spectrum):
    o_min, o_max = xxz_spectrum
    assert lv.predict_regime(o_min + 0.4, o_min, o_max, atol=0.5).regime == "critical"
    assert lv.predict_regime(o_min - 0.4, o_min, o_max, atol=0.5).R == 0.0
    assert lv.predict_regime(o_min + 0.6, o_min, o_max, atol=0.5).regime == "frozen-kernel"
    assert lv.predict_regime(o_max - 0.4, o_min, o_max, atol=0.5).regime == "critical"
    assert lv.predict_regime(o_max + 0.6, o_min, o_max, atol=0.5).regime == "frozen-error"
    assert lv.predict_regime(o_min + 1e-6, o_min, o_max, atol=0.0).regime == "frozen-kernel"


def test_late_time_laws():
    eta = 0.01
    fk = lv.predict_regime(0.0, -1.0, 1.0).late_time(eta, K_inf=4.0)
    assert (fk["law"], fk["rate"], fk["K_limit"], fk["eps_limit"]) == ("exponential", eta * 4.0, 4.0, 0.0)
    crit = lv.predict_regime(-1.0, -1.0, 1.0).late_time(eta)
    assert (crit["law"], crit["power"], crit["K_limit"]) == ("power", -1.0, 0.0) and math.isnan(crit["rate"])
    fe = lv.predict_regime(3.0, -1.0, 1.0).late_time(eta, lam=-0.5)  # R = -2 above O_max
    assert (fe["rate"], fe["eps_limit"], fe["K_limit"]) == (pytest.approx(2 * eta * 0.5 * 2.0), -2.0, 0.0)
    with pytest.raises(ValueError, match="lam R > 0"):
        lv.predict_regime(3.0, -1.0, 1.0).late_time(eta, lam=0.5)
    with pytest.raises(ValueError, match="K_inf"):
        lv.predict_regime(0.0, -1.0, 1.0).late_time(eta)


def test_regime_from_C():
    assert lv.regime_from_C(0.2, 1.0, 0.1) == "frozen-kernel"
    assert lv.regime_from_C(-0.2, 1.0, 0.1) == "frozen-error"
    assert lv.regime_from_C(0.05, 1.0, 0.1) == "critical"
    out = lv.regime_from_C([2.0, 0.0, -2.0], [1.0, 1.0, 1.0], 0.5)
    assert list(out) == list(lv.REGIMES)


# (eps0, K0, lam) with C = 8, 0, -6, below the spectrum's top (lam > 0) and mirrored at O_max (eps, lam < 0)
MEASURE = {
    ("frozen-kernel", "O_min"): (1.0, 10.0, 1.0),
    ("critical", "O_min"): (5.0, 10.0, 1.0),
    ("frozen-error", "O_min"): (8.0, 10.0, 1.0),
    ("frozen-kernel", "O_max"): (-1.0, 10.0, -1.0),
    ("critical", "O_max"): (-5.0, 10.0, -1.0),
    ("frozen-error", "O_max"): (-8.0, 10.0, -1.0),
}
ETA_M, STEPS_M = 0.01, 2000


@pytest.fixture(scope="module")
def trajectories():
    """Gradient-descent-like runs of every regime from the discrete map, in one batch."""
    init = np.array(list(MEASURE.values()))
    eps, K = lv.iterate(init[:, 0], init[:, 1], init[:, 2], ETA_M, STEPS_M)
    return {key: (eps[i], K[i], init[i, 2]) for i, key in enumerate(MEASURE)}


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("with_mu", [False, True])
@pytest.mark.parametrize("key", MEASURE)
def test_measure_regime_recovers_each_regime(trajectories, key, with_mu, noise):
    regime, _ = key
    eps, K, lam = trajectories[key]
    rng = np.random.default_rng(7)
    if noise:
        eps = eps * (1.0 + noise * rng.standard_normal(eps.size))
        K = K * (1.0 + noise * rng.standard_normal(K.size))
    mu = lam * K * (1.0 + noise * rng.standard_normal(K.size)) if with_mu else None
    m = lv.measure_regime(np.arange(STEPS_M + 1), eps, K, mu)
    assert m.regime == regime and m.fit_regime == regime and m.resolved
    assert m.method == "fits"  # resolved windows: the fitted laws decide; zeta is reported beside them
    assert math.isnan(m.zeta) != with_mu
    C = lv.conserved(*MEASURE[key])
    if regime == "frozen-kernel":
        assert m.eps_rate == pytest.approx(ETA_M * C, rel=2 * ETA_M * C)  # eq. (14), discrete: -log(1 - eta C)
        assert abs(m.K_rate) < 1e-3 * m.eps_rate
    elif regime == "critical":
        assert m.K_power == pytest.approx(-1.0, abs=0.02)  # eq. (15)
        assert m.zeta_fit == pytest.approx(0.5, abs=0.02)
        if with_mu:
            assert m.zeta == pytest.approx(0.5, abs=0.02)
    else:
        assert m.K_rate == pytest.approx(ETA_M * abs(C), rel=2 * ETA_M * abs(C))  # eq. (16): 2 eta lam R = eta |C|
        assert abs(m.eps_rate) < 1e-3 * m.K_rate


@pytest.mark.parametrize(
    "eps0, zeta_lo, zeta_hi, regime",
    [
        (50.0, 0.08, 0.12, "frozen-kernel"),  # C = +1, K within 25 % of C
        (50.0, 0.35, 0.45, "critical"),  # C = +1 but K = 2 lam eps >> C still: the critical crossover
        (51.0, 0.55, 0.65, "critical"),  # C = -1, K still >> |C|
        (51.0, 0.9, 1.2, "frozen-error"),
    ],
)
def test_measure_regime_splits_at_zeta_quarter_and_three_quarters(eps0, zeta_lo, zeta_hi, regime):
    """Windows of an LV trajectory picked by their zeta: the fits (K_rate / eps_rate = 2 zeta) and zeta
    itself put the splits at zeta = 1/4 and 3/4 (C / K = +-1/2)."""
    K0, lam, eta = 101.0, 1.0, 0.01
    t = np.linspace(0.0, 1000.0, 20001)
    eps, K = lv.solve(eps0, K0, lam, eta, t)
    zeta = lam * eps / K
    sel = (zeta > zeta_lo) & (zeta < zeta_hi)
    assert sel.sum() > 20
    for mu in (None, lam * K[sel]):
        m = lv.measure_regime(t[sel], eps[sel], K[sel], mu, window=1.0)
        assert (m.regime, m.fit_regime) == (regime, regime)
        assert zeta_lo < m.zeta_fit < zeta_hi
        if mu is not None:
            assert zeta_lo < m.zeta < zeta_hi and m.C_over_K == pytest.approx(1.0 - 2.0 * m.zeta)


def test_measure_regime_eps_crossing_zero():
    """|eps| through zero: a sign flip every step (eta K > 1 in the discrete map), and an ensemble mean that
    crosses zero once inside the window; both are frozen kernels."""
    eps, K = lv.iterate(0.1, 10.0, 1.0, 0.15, 300)  # C = 9.8, 1 - eta C = -0.47
    assert np.all(eps[1:] * eps[:-1] < 0)
    m = lv.measure_regime(np.arange(301), eps, K, window=0.8)
    assert m.regime == "frozen-kernel" and m.eps_rate == pytest.approx(-np.log(0.47), rel=1e-6)
    t = np.arange(201.0)
    eps = np.exp(-0.2 * t) - np.exp(-19.2 - 0.04 * t)  # crosses zero at t = 120; rate 0.04 after
    assert np.any(np.diff(np.sign(eps[100:])))
    K = np.full_like(t, 10.0)
    for mu in (None, 1.0 * K):
        m = lv.measure_regime(t, eps, K, mu)
        assert m.regime == "frozen-kernel" and m.eps_rate == pytest.approx(0.04, rel=0.1)


def test_measure_regime_unresolved_and_vanished():
    """Nothing decays: not resolved. K exactly 0 (underflowed frozen error): zeta is unavailable, the fits decide."""
    t = np.arange(100.0)
    m = lv.measure_regime(t, np.full_like(t, 0.3), np.full_like(t, 2.0))
    assert not m.resolved and m.eps_rate == 0.0 and m.K_rate == 0.0
    m = lv.measure_regime(t, np.full_like(t, 0.3), np.zeros_like(t), np.zeros_like(t))
    assert (m.regime, m.method, m.K_rate, m.resolved) == ("frozen-error", "fits", math.inf, True)
    assert math.isnan(m.zeta)


def test_measure_regime_window():
    """Only the late part is read: a trajectory that is frozen-error early and frozen-kernel late."""
    t = np.arange(400.0)
    K = np.where(t < 200, 10.0 * np.exp(-0.05 * t), 10.0 * np.exp(-10.0))
    eps = np.where(t < 200, 3.0, 3.0 * np.exp(-0.05 * (t - 200)))
    assert lv.measure_regime(t, eps, K, window=0.4).regime == "frozen-kernel"
    assert lv.measure_regime(t[:200], eps[:200], K[:200], window=0.5).regime == "frozen-error"


@pytest.mark.parametrize("case", ["C>0", "C<0", "C<0, O_max side"])
def test_fit_offset_B1(case):
    """B1 of 004 eq. (33) from a window of the exact solution is K0 / (lam eps0)."""
    eps0, K0, lam = CASES[case]
    eta = 0.05
    C = lv.conserved(eps0, K0, lam)
    t = np.linspace(10.0, 60.0, 51) / abs(C)
    _, K = lv.solve(eps0, K0, lam, eta, t)
    assert lv.fit_offset(t, K, eta, C) == pytest.approx(K0 / (lam * eps0), rel=1e-9)
    noisy = K * (1.0 + 0.01 * np.random.default_rng(3).standard_normal(K.size))
    assert lv.fit_offset(t, noisy, eta, C) == pytest.approx(K0 / (lam * eps0), rel=0.05)


def test_fit_offset_B2():
    """B2 of 004 eq. (34) from a late window of the critical solution is K0 / 2."""
    eps0, K0, lam = CASES["C=0"]
    eta, t = 0.05, np.linspace(1.0, 20.0, 40)
    _, K = lv.solve(eps0, K0, lam, eta, t)
    assert lv.fit_offset(t, K, eta, 0.0) == pytest.approx(K0 / 2.0, rel=1e-9)
    noisy = K * (1.0 + 0.01 * np.random.default_rng(4).standard_normal(K.size))
    assert lv.fit_offset(t, noisy, eta, 0.0) == pytest.approx(K0 / 2.0, rel=0.05)


# ----------------------------------------------------------------------------------------------
# argument errors


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: lv.solve(1.0, 3.0, 1.0, -0.1, [0.0, 1.0]), "eta must be a positive number"),
        (lambda: lv.iterate(1.0, 3.0, 1.0, 0.0, 10), "eta must be a positive number"),
        (lambda: lv.rhs(1.0, 3.0, 1.0, -1.0), "eta must be a positive number"),
        (lambda: lv.hamiltonian(0.0, 0.0, -1.0), "eta must be a positive number"),
        (lambda: lv.solve(1.0, -3.0, 1.0, 0.1, [0.0]), "K0 must be >= 0"),
        (lambda: lv.solve(1.0, 3.0, 1.0, 0.1, [-1.0]), "t must be >= 0"),
        (lambda: lv.solve([1.0, 2.0], [3.0, 4.0, 5.0], 1.0, 0.1, [0.0]), "broadcastable"),
        (lambda: lv.solve(np.nan, 3.0, 1.0, 0.1, [0.0]), "eps0 must be finite"),
        (lambda: lv.iterate(1.0, 3.0, 1.0, 0.1, -1), "steps must be an integer >= 0"),
        (lambda: lv.measure_regime(np.arange(10), np.ones(10), np.ones(9)), "K has 9 points but t has 10"),
        (lambda: lv.measure_regime(np.arange(10), np.ones(10), np.ones(10), np.ones(8)), "mu has 8 points"),
        (lambda: lv.measure_regime(np.arange(10), np.ones(10), np.ones(10), window=0.0), r"window must be in \(0, 1\]"),
        (lambda: lv.measure_regime(np.arange(10), np.ones(10), np.ones(10), window=1.5), r"window must be in \(0, 1\]"),
        (lambda: lv.measure_regime(np.arange(10), np.ones(10), np.ones(10), window=0.1), "at least 3"),
        (lambda: lv.measure_regime(np.arange(10)[::-1], np.ones(10), np.ones(10)), "increasing"),
        (lambda: lv.fit_offset(np.arange(5), np.ones(4), 0.1, 1.0), "K has 4 points but t has 5"),
        (lambda: lv.fit_offset(np.arange(5), np.zeros(5), 0.1, 1.0), "K must be > 0"),
        (lambda: lv.regime_from_C(1.0, 1.0, -0.1), "rtol must be a number >= 0"),
        (lambda: lv.predict_regime(0.0, 1.0, -1.0), "o_min must be <= o_max"),
        (lambda: lv.predict_regime(0.0, -1.0, 1.0, atol=-1.0), "atol must be a number >= 0"),
        (lambda: lv.RegimePrediction("frozen", 0.0, -1.0, 1.0, 0.0, "O_min"), "unknown regime 'frozen'"),
        (lambda: lv.RegimePrediction("critical", 0.0, -1.0, 1.0, 0.0, "top"), "unknown boundary"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
