"""003's diagnostics (qntk.theory.diagnostics): the frozen-QNTK prediction formula against gradient descent on
the linearized model (exact) and on the QNN itself (first order in eta), the spectrum's critical learning rate
and training time, and the laziness verdicts."""

import math

import numpy as np
import pytest

from qntk import kernels, train
from qntk.models import Model
from qntk.theory import diagnostics

TOL = 1e-10


def _kernels(rng, m_train=5, m_test=3, p=8):
    jac = rng.normal(size=(m_train + m_test, p))
    k = jac @ jac.T
    return k[:m_train, :m_train], k[m_train:, :m_train], jac


def test_prediction_formula_is_gradient_descent_on_the_linearized_model():
    """f(t) from the closed form equals t explicit steps of theta <- theta - eta J^T (f - y) on f = f0 + J theta."""
    rng = np.random.default_rng(0)
    k_tr, k_te, jac = _kernels(rng)
    y, f0 = rng.normal(size=5), rng.normal(size=8)
    eta = 0.9 / np.linalg.eigvalsh(k_tr)[-1]
    predict_fn = diagnostics.gradient_descent_mse(k_tr, y, eta)
    theta = np.zeros(jac.shape[1])
    for t in range(40):
        f = f0 + jac @ theta
        f_tr, f_te = predict_fn(t, f0[:5], f0[5:], k_te)
        np.testing.assert_allclose(np.concatenate([f_tr, f_te]), f, atol=TOL)
        theta -= eta * jac[:5].T @ (f[:5] - y)
    f_tr, f_te = predict_fn(math.inf, f0[:5], f0[5:], k_te)  # kernel regression at t -> infinity
    np.testing.assert_allclose(f_tr, y, atol=TOL)
    np.testing.assert_allclose(f_te, f0[5:] + k_te @ np.linalg.solve(k_tr, y - f0[:5]), atol=TOL)
    many = predict_fn(np.arange(40), f0[:5], f0[5:], k_te)
    np.testing.assert_allclose(many[1][7], predict_fn(7, f0[:5], f0[5:], k_te)[1], atol=TOL)


def test_untrained_directions_are_left_as_they_are():
    """A rank-deficient kernel (more data than parameters): the residual outside its range never moves and the
    test predictions stay finite at t -> infinity (the pseudo-inverse)."""
    rng = np.random.default_rng(1)
    k_tr, k_te, _ = _kernels(rng, m_train=6, m_test=2, p=3)
    y, f0 = rng.normal(size=6), rng.normal(size=8)
    predict_fn = diagnostics.gradient_descent_mse(k_tr, y, 0.5 / np.linalg.eigvalsh(k_tr)[-1])
    f_tr, f_te = predict_fn(math.inf, f0[:6], f0[6:], k_te)
    lam, v = np.linalg.eigh(k_tr)
    null = v[:, lam < 1e-8 * lam[-1]]
    assert null.shape[1] == 3
    np.testing.assert_allclose(null.T @ (f_tr - y), null.T @ (f0[:6] - y), atol=1e-9)
    assert np.all(np.isfinite(f_te))
    s = diagnostics.spectrum(k_tr)
    assert s["rank"] == 3 and s["condition_number"] == math.inf and s["tau"] == math.inf


def test_eta_crit_separates_convergence_from_divergence():
    """Linear dynamics converge just below eta_crit = 2 / lambda_max and diverge just above it."""
    rng = np.random.default_rng(2)
    k_tr, _, _ = _kernels(rng)
    y, f0 = rng.normal(size=5), rng.normal(size=5)
    crit = diagnostics.spectrum(k_tr)["eta_crit"]
    late = {f: np.abs(diagnostics.gradient_descent_mse(k_tr, y, f * crit)(4000, f0)[0] - y).max() for f in (0.99, 1.01)}
    assert late[0.99] < 1e-6 and late[1.01] > 1e3


def test_tau_at_one_over_lambda_max_is_the_condition_number():
    """003's Result 2: at eta = 1/lambda_max the slowest mode decays in ~kappa steps (exactly -1/log(1 - 1/kappa))."""
    k = np.diag([100.0, 10.0, 1.0])
    s = diagnostics.spectrum(k)
    assert s["eta"] == pytest.approx(0.01) and s["condition_number"] == pytest.approx(100.0)
    assert s["tau"] == pytest.approx(-1.0 / math.log(1 - 0.01), rel=1e-12)
    assert abs(s["tau"] - s["condition_number"]) < 1.0
    assert diagnostics.decay_time(0.01, 100.0) == 0.0 and diagnostics.decay_time(0.03, 100.0) == math.inf


def test_frozen_residuals_iterate_the_mean_kernel():
    rng = np.random.default_rng(3)
    k_tr, _, _ = _kernels(rng)
    eps0 = rng.normal(size=5)
    eta = 0.5 / np.linalg.eigvalsh(k_tr)[-1]
    out = diagnostics.frozen_residuals(k_tr, eps0, eta, 10)
    eps = eps0.copy()
    for t in range(11):
        np.testing.assert_allclose(out[t], eps, atol=TOL)
        eps = eps - eta * k_tr @ eps


def test_prediction_matches_training_of_a_qnn_to_second_order_in_the_displacement():
    """One initialization of a re-uploading QNN trained by qntk.train: its outputs differ from its frozen-QNTK
    prediction by the curvature term, second order in the displacement eta t (the error quadruples when t
    doubles at small eta t); at t = 0 both are the initial outputs."""
    m = Model("reuploading", 2, 2, "ZI", data="tfim:points=4,h_min=-1,h_max=1")
    data, circuit = m.dataset, m.circuit()
    theta0 = train.initial_thetas(0, 1, 1, circuit.n_params)[0, 0]
    grad = kernels.grad_fn(circuit, m.operator)
    out = [grad(theta0, None, x) for x in data.features]
    f0, jac = np.array([float(o[0]) for o in out]), np.stack([np.asarray(o[1]) for o in out])
    eta = 2e-3
    predict_fn = diagnostics.gradient_descent_mse(jac @ jac.T, data.labels, eta)
    ds = train.run(train.TrainConfig(m, eta=eta, steps=8, samples=1, theory=False), progress=False)
    trained = ds.eps.values[:, 0, 0] + data.labels
    np.testing.assert_allclose(trained[0], f0, atol=TOL)
    errors = [np.abs(trained[t] - predict_fn(t, f0)[0]).max() for t in (4, 8)]
    assert 3.0 < errors[1] / errors[0] < 5.0, errors


def test_laziness_verdicts():
    out = diagnostics.laziness({"K_spread": 0.05, "K_trial_change": None, "dqntk_change": 0.2}, 0.1)
    assert out["K_spread_lazy"] is True and out["K_trial_change_lazy"] is None and out["dqntk_change_lazy"] is False
    assert out["lazy"] is False and "dqntk_change = 0.2" in out["verdict"]
    assert diagnostics.laziness({"K_spread": 0.05}, 0.1)["lazy"] is True
    with pytest.raises(ValueError, match="tolerance"):
        diagnostics.laziness({}, 0.0)


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.array([[1.0, np.nan], [np.nan, 1.0]])])
def test_bad_kernels_are_refused(bad):
    with pytest.raises(ValueError, match="k_train_train"):
        diagnostics.spectrum(bad)


def test_shot_noise_floor_is_the_stationary_covariance_of_the_noisy_linearized_model():
    """Gradient descent on f = f0 + J theta with the shot noise of qntk train (residuals and every gradient entry
    measured with Gaussian errors of variance Var/S and 2 s^2 Var/S) settles with the covariance the closed form
    gives, entry by entry within 4 standard errors over independent replicas, also around a residual the model
    cannot fit (J of rank 2 on 3 points); one output gives the scalar formula; eta above eta_crit has no floor."""
    rng = np.random.default_rng(0)
    m, p, shots, scale = 3, 10, 50, 0.5
    jac = 0.8 * rng.normal(size=(m, 2)) @ rng.normal(size=(2, p))
    k = jac @ jac.T
    untrained = np.linalg.eigh(k)[1][:, 0]  # the left null vector of J: the noiseless limit keeps this residual
    limit = 0.3 * untrained
    var = np.array([3.0, 1.0, 2.0])
    eta = 1.0 / np.linalg.eigvalsh(k)[-1]
    c = diagnostics.shot_noise_floor(k, var, shots, eta, scale, limit)
    replicas, burn, steps = 1000, 300, 1500
    eps = limit + (jac @ rng.normal(size=(p, replicas))).T  # trainable start plus the untrainable residual
    sum_ab = np.zeros((replicas, m, m))
    sd_eps, sd_jac = np.sqrt(var / shots), np.sqrt(2 * scale**2 * var / shots)
    for t in range(steps):
        measured = eps + sd_eps * rng.normal(size=(replicas, m))
        jac_hat = jac + sd_jac[:, None] * rng.normal(size=(replicas, m, p))
        eps = eps - eta * np.einsum("ap,rbp,rb->ra", jac, jac_hat, measured)
        if t >= burn:
            sum_ab += np.einsum("ra,rb->rab", eps - limit, eps - limit)
    per_replica = sum_ab / (steps - burn)
    mean, sem = per_replica.mean(axis=0), per_replica.std(axis=0, ddof=1) / np.sqrt(replicas)
    assert np.all(np.abs(mean - c) <= 4 * sem), (mean, c, sem)
    s, g, kk = 1.0 / shots, 2 * scale**2 / shots, 2.0
    one = diagnostics.shot_noise_floor([[kk]], [1.0], shots, 0.1, scale)[0, 0]
    assert one == pytest.approx(0.1 * s * (kk + g) / (2 - 0.1 * kk - 0.1 * g), rel=1e-12)
    assert np.all(np.isinf(diagnostics.shot_noise_floor([[kk]], [1.0], shots, 1.01, scale)))
