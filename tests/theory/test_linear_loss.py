"""Linear-loss dynamics (004 eqs. (21)-(25)) and the quadratic-loss speed-up: exact identities of the maps,
one-step agreement with gradient descent, the rate ratio R, and the stability limit of recommend_target."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qntk import kernels
from qntk.experiments.figures.seed004 import _setup
from qntk.models import Model
from qntk.theory import linear_loss, restricted_haar

EXACT = 1e-12
K_SIGMA = 4.0


def test_solve_is_eq_25_on_the_late_time_line_and_the_eta_to_0_limit_of_iterate():
    t = np.arange(0, 501, 50)
    eps, K = linear_loss.solve(0.5, 2.0, 2.0, 1e-3, t)  # eps0 = K0 / (2 lam): on the line
    np.testing.assert_allclose(2 * 2.0 * eps, K, rtol=EXACT)
    np.testing.assert_allclose(K, 2.0 * np.exp(-2 * 1e-3 * 2.0 * t), rtol=EXACT)
    for eta in (1e-3, 1e-4):
        e_it, k_it = linear_loss.iterate(1.0, 3.0, 1.5, eta, round(0.5 / eta))
        e_ex, k_ex = linear_loss.solve(1.0, 3.0, 1.5, eta, 0.5 / eta)
        assert abs(e_it[-1] - e_ex) < 10 * eta and abs(k_it[-1] - k_ex) < 10 * eta
    e0, _ = linear_loss.solve(1.0, 3.0, 0.0, 0.1, np.array([0.0, 2.0]))  # lam = 0: eps falls linearly
    np.testing.assert_allclose(e0, [1.0, 1.0 - 0.6], rtol=EXACT)


def test_iterate_conserves_eps_minus_K_over_2_lambda_exactly():
    eps, K = linear_loss.iterate([1.0, 2.0], [3.0, 0.5], 0.7, 0.01, 200)
    c = eps - K / (2 * 0.7)
    np.testing.assert_allclose(c, c[:, :1] * np.ones_like(c), rtol=1e-12)
    np.testing.assert_allclose(K[:, 1:] / K[:, :-1], 1 - 2 * 0.01 * 0.7, rtol=1e-12)


def test_rates_and_mode_rate():
    assert linear_loss.rate(1e-3, 16.0) == pytest.approx(0.032)
    assert linear_loss.quadratic_rate(1e-3, 16.0, 4.0) == pytest.approx(0.128)
    assert linear_loss.mode_rate(0.1, 1.0, 1.0, 5.0) == pytest.approx(-math.log(0.9))
    assert linear_loss.mode_rate(0.1, 3.0, 1.0, 5.0) == pytest.approx(-math.log(0.7))  # |1 - 1.5| = 0.5 < 0.7
    assert linear_loss.mode_rate(0.1, 5.0, 1.0, 5.0) == 0.0  # eta R h_top = 2.5 > 2: unstable


def test_one_linear_loss_update_changes_O_and_K_as_eqs_22_23():
    """theta <- theta - eta g (qntk's linear-loss update): delta<O> = -eta K and delta K = -2 eta mu up to
    O(eta^2) (004 eqs. (22), (23)), checked by the relative error shrinking ~ eta."""
    k_fn = jax.jit(kernels.qntk_fn(Model("rpa", 2, 6, "xxz:J=2", target=0.0), seed=4))
    theta = jnp.asarray(np.random.default_rng(5).uniform(0, 2 * np.pi, 6))
    k0 = k_fn(theta)
    errs = []
    for eta in (1e-3, 1e-4):
        k1 = k_fn(theta - eta * k0.grad)
        d_o, d_k = float(k1.eps - k0.eps), float(k1.K - k0.K)
        errs.append((abs(d_o / (-eta * float(k0.K)) - 1), abs(d_k / (-2 * eta * float(k0.mu)) - 1)))
    assert errs[1][0] < 0.2 * errs[0][0] and errs[1][1] < 0.2 * errs[0][1] and max(errs[1]) < 1e-2


@pytest.mark.slow
def test_one_step_of_linear_gradient_descent_is_eqs_22_23():
    """delta<O> = -eta K + O(eta^2) and delta K = -2 eta mu + O(eta^2) on recorded trajectories (004 eqs. (22),
    (23)): at eta = 1e-5 the relative error is O(eta |mu| / K) ~ 1e-3."""
    m = _setup.model(2, 8, 0.0)
    eta = 1e-5
    ds = _setup.run(m, eta, 3, 4, 1, False, loss="linear", record_mu=True)
    value, K, mu = ds.eps.values[:, 0, :, 0], ds.K.values[:, 0, :, 0, 0], ds.mu.values[:, 0, :]
    np.testing.assert_allclose(np.diff(value, axis=0) / eta, -K[:-1], rtol=1e-3)
    np.testing.assert_allclose(np.diff(K, axis=0) / eta, -2 * mu[:-1], rtol=2e-2, atol=1e-3 * np.abs(mu).max())


def test_late_time_is_the_restricted_haar_ground_state_lambda():
    m = Model("rpa", 2, 16, "xxz:J=2", target=3.0)
    lt = linear_loss.late_time(m, 1e-3)
    ref = restricted_haar.edge_late_time(m.operator.matrix(), 16, 0.5, -6.0, "min")
    assert lt["O_min"] == -6.0 and lt["lambda_inf"] == pytest.approx(ref["lambda_inf"], rel=EXACT) and lt["lambda_inf"] > 0
    assert lt["rate"] == pytest.approx(2e-3 * ref["lambda_inf"], rel=EXACT)


def _local_rates(logk, t):
    w = max(1, t // 10)
    return (logk[t - w] - logk[t + w]) / (2 * w)


@pytest.mark.slow
def test_quadratic_loss_below_O_min_is_the_linear_loss_R_plus_residual_times_faster():
    """Same circuit and initial angles: at the step where each run first has <O> - O_min = delta, the local
    decay rate of K of the quadratic loss at O_0 = O_min - R is (R + delta) times the linear loss's."""
    eta, delta, R = 2e-3, 0.05, 3.0
    lin = _setup.run(_setup.model(2, 16, -6.0), eta, 1500, 8, 2, False, loss="linear")
    quad = _setup.run(_setup.model(2, 16, -6.0 - R), eta, 1500, 8, 2, False)
    res_l = lin.eps.values[:, 0, :, 0] + 6.0
    res_q = quad.eps.values[:, 0, :, 0] - R
    ratios = []
    for s in range(8):
        tl, tq = np.flatnonzero(res_l[:, s] <= delta), np.flatnonzero(res_q[:, s] <= delta)
        if tl.size and tq.size and tl[0] + tl[0] // 10 < 1500:
            ratios.append(_local_rates(np.log(quad.K.values[:, 0, s, 0, 0]), tq[0])
                          / _local_rates(np.log(lin.K.values[:, 0, s, 0, 0]), tl[0]))
    assert len(ratios) >= 4
    sem = np.std(ratios, ddof=1) / math.sqrt(len(ratios))
    assert abs(np.mean(ratios) - (R + delta)) < K_SIGMA * sem + 0.05 * R, (np.mean(ratios), sem)


@pytest.mark.slow
def test_recommend_target_is_below_the_stability_limit_which_training_respects():
    """The recommended O_0 converges to the ground state; a target beyond the stability limit
    ``eta R h_top < 2`` of the late-time Hessian does not settle there."""
    m = Model("rpa", 2, 8, "xxz:J=2", target=0.0)
    eta = 0.02
    rec = linear_loss.recommend_target(m, eta, circuits=8, seed=1, precision=1e-3)
    assert rec["target"] == pytest.approx(rec["O_min"] - rec["R"]) and 0 < rec["R"] <= rec["R_max"]
    assert rec["R"] == pytest.approx(min(2 / (eta * (rec["h_gap"] + rec["h_top"])), linear_loss.STABILITY_MARGIN * rec["R_max"]))
    assert rec["speedup_linear"] > 1 and rec["speedup_critical"] > 1
    good = _setup.run(_setup.model(2, 8, rec["target"]), eta, 400, 8, 3, False)
    bad = _setup.run(_setup.model(2, 8, rec["O_min"] - 2.0 * rec["R_max"]), eta, 400, 8, 3, False)
    res_good = good.eps.values[-1, 0, :, 0] + rec["target"] - rec["O_min"]
    res_bad = bad.eps.values[-1, 0, :, 0] + rec["O_min"] - 2.0 * rec["R_max"] - rec["O_min"]
    assert np.median(res_good) < 1e-2 < np.median(res_bad)
