"""The late-time loss Hessian (004 eqs. (18)-(20), Fig. 4): autodiff vs finite differences, the imaginary-time
converged state, the restricted-Haar K_inf, the edge spectra, and the gap of trained circuits vs theory."""

import dataclasses
import math

import jax
import numpy as np
import pytest

from qntk import kernels
from qntk.experiments.figures.seed004 import _setup
from qntk.models import Model, observables
from qntk.theory import hessian, restricted_haar

FD_STEP = 1e-4
FD_RTOL = 1e-6  # central second differences: error ~ h^2 |d^4 eps| ~ 1e-8 relative to the largest entry
EXACT = 1e-10
K_SIGMA = 4.0  # Monte Carlo agreement within this many standard errors


def _model(L=4, target=-3.0):
    return Model("rpa", 2, L, "xxz:J=2", target=target)


def test_loss_spectra_is_gg_plus_eps_hessian_by_finite_differences(rng):
    m = _model()
    circuit, obs = m.circuit(seed=3), m.operator
    theta = rng.uniform(0, 2 * np.pi, m.n_layers)
    eps_fn = jax.jit(kernels.residual_fn(circuit, obs, m.target))
    P = len(theta)
    h = np.zeros((P, P))
    eye = np.eye(P) * FD_STEP
    for i in range(P):
        for j in range(P):
            h[i, j] = float(eps_fn(theta + eye[i] + eye[j]) - eps_fn(theta + eye[i] - eye[j])
                            - eps_fn(theta - eye[i] + eye[j]) + eps_fn(theta - eye[i] - eye[j])) / (4 * FD_STEP**2)
    g = np.array([float(eps_fn(theta + eye[i]) - eps_fn(theta - eye[i])) / (2 * FD_STEP) for i in range(P)])
    m_fd = np.outer(g, g) + float(eps_fn(theta)) * h
    ev = hessian.loss_spectra(circuit, obs, m.target, theta[None])[0]
    scale = np.abs(ev).max()
    np.testing.assert_allclose(ev, np.linalg.eigvalsh(m_fd), atol=FD_RTOL * scale * 10)
    assert np.all(np.diff(ev) >= 0)


def test_gap_and_rank_count_eigenvalues_above_the_relative_threshold():
    ev = np.array([[-1e-9, 0.0, 1e-7, 0.3, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(hessian.gap(ev), [0.3, 0.0, 5.0])
    np.testing.assert_array_equal(hessian.rank(ev), [2, 0, 1])


def test_converged_state_is_on_the_imaginary_time_flow_with_mean_O_0(rng):
    o = observables.xxz(2, J=2.0).matrix()
    vals, vecs = np.linalg.eigh(o)
    psi0 = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi0 /= np.linalg.norm(psi0)
    for target in (-5.0, -1.0, 3.5):
        psi = hessian.converged_state(o, psi0, target)
        assert abs(np.linalg.norm(psi) - 1) < EXACT
        assert abs(np.real(psi.conj() @ o @ psi) - target) < EXACT
        c0, c = vecs.conj().T @ psi0, vecs.conj().T @ psi
        # c_k = c0_k exp(-tau E_k) / norm: equal phases, and log(|c_k| / |c0_k|) linear in E_k
        np.testing.assert_allclose(np.angle(c / c0), 0.0, atol=1e-8)
        logr = np.log(np.abs(c) / np.abs(c0))
        fit = np.polyfit(vals, logr, 1, full=True)
        assert np.max(np.abs(np.polyval(fit[0], vals) - logr)) < 1e-8
    with pytest.raises(ValueError, match="target"):
        hessian.converged_state(o, psi0, -6.0)


def test_kappa_is_2d_s2_over_d2_minus_1_and_K_inf_is_kappa_L_var(rng):
    o = observables.xxz(2, J=2.0).matrix()
    assert hessian.kappa(o, 16, 0.5) == pytest.approx(2 * 4 * 0.25 / 15, rel=EXACT)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi /= np.linalg.norm(psi)
    var = np.real(psi.conj() @ o @ o @ psi) - np.real(psi.conj() @ o @ psi) ** 2
    assert restricted_haar.late_time(o, psi, 16, 0.5)["K_inf"] == pytest.approx(hessian.kappa(o, 16, 0.5) * 16 * var, rel=1e-9)


@pytest.mark.slow
def test_bulk_K_agrees_with_K_of_restricted_haar_circuits_at_the_converged_states():
    """Monte Carlo over circuits of the restricted ensemble (004 eq. (17)) at the imaginary-time states of
    Haar initial states: the mean K = |g|^2 matches bulk_K within K_SIGMA standard errors."""
    o_obs = observables.xxz(2, J=2.0)
    o = o_obs.matrix()
    L, target, n = 16, -2.0, 40
    rng = np.random.default_rng(7)
    ks = []
    for i in range(n):
        psi0 = rng.normal(size=4) + 1j * rng.normal(size=4)
        state = hessian.converged_state(o, psi0, target)
        circuit, theta, psi_in = restricted_haar.sample_circuit(2, L, state, seed=100 + i)
        ev = hessian.loss_spectra(circuit, o_obs, target, theta[None], psi_in)[0]  # eps = 0: M = g g^T
        assert hessian.rank(ev) == 1
        ks.append(float(ev[-1]))
    th = hessian.bulk_K(o, L, 0.5, target, samples=20000, seed=1)
    sem = math.hypot(np.std(ks, ddof=1) / math.sqrt(n), th["K_inf_sem"])
    assert abs(np.mean(ks) - th["K_inf"]) < K_SIGMA * sem


def test_edge_spectra_have_rank_2_d_minus_1_scale_with_R_and_are_positive():
    m = _model(L=10, target=-8.0)
    ev = hessian.edge_spectra(m, circuits=2, seed=2)
    assert ev.shape == (2, 10)
    assert np.all(hessian.rank(ev) == 2 * (4 - 1))
    assert np.all(ev > -1e-9 * np.abs(ev).max())
    ev1 = hessian.edge_spectra(dataclasses.replace(m, target=-7.0), circuits=2, seed=2)
    np.testing.assert_allclose(ev, 2.0 * ev1, atol=1e-9 * np.abs(ev).max())
    top = hessian.edge_spectra(dataclasses.replace(m, target=6.0), circuits=1, seed=2)
    assert np.all(hessian.rank(top) == 6) and np.all(top > -1e-9 * np.abs(top).max())


def test_late_time_spectrum_regimes():
    crit = hessian.late_time_spectrum(_model(target=-6.0))
    assert crit["regime"] == "critical" and crit["gap"] == 0.0 and crit["rank"] == 0
    bulk = hessian.late_time_spectrum(_model(target=-2.0), samples=2000)
    assert bulk["rank"] == 1 and bulk["gap"] == bulk["top"] == bulk["spectrum"][0] > 0
    assert np.all(bulk["spectrum"][1:] == 0)


@pytest.mark.slow
@pytest.mark.parametrize("target", [-2.0, -7.5])
def test_gap_of_trained_circuits_matches_the_late_time_theory(target):
    """Train n = 2, L = 32 circuits to late time with the quadratic loss; the Hessian gap at the final angles
    agrees with the model-level prediction (frozen kernel: E[K_inf] at the imaginary-time state; frozen
    error: R Hess<O> on restricted-Haar circuits) within K_SIGMA combined standard errors."""
    L, n = 32, 24
    m = _setup.model(2, L, target)
    ds = _setup.run(m, 5e-3, 600, 1, 0, False, circuits=n)
    ev = np.array([hessian.loss_spectra(m.circuit(seed=int(s)), m.operator, target, ds.theta.values[-1, c])[0]
                   for c, s in enumerate(ds.circuit_seed.values)])
    gaps = hessian.gap(ev)
    th = hessian.late_time_spectrum(m, circuits=32, samples=20000, seed=3)
    assert np.median(hessian.rank(ev)) == th["rank"]
    sem = math.hypot(gaps.std(ddof=1) / math.sqrt(n), th["gap_sem"])
    assert abs(gaps.mean() - th["gap"]) < K_SIGMA * sem, (gaps.mean(), th["gap"], sem)
