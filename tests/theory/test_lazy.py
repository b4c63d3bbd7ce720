"""Lazy-training theory (000, 001) against QNN simulations and its own defining identities."""

import numpy as np
import pytest

from qntk import train
from qntk.config import ModelConfig
from qntk.theory import lazy

N_SE = 4.0  # agreement within this many standard errors computed from the sample


@pytest.fixture(scope="module")
def noisy_run():
    """200 noisy trainings of a 2-qubit RPA converged to a target inside the spectrum."""
    eta, sigma = 0.01, 1e-3
    cfg = train.TrainConfig(
        ModelConfig("rpa", 2, 16, "xxz:J=2", target=-3.0), eta=eta, steps=600, samples=200, sigma=sigma, snapshot_every=600
    )
    ds = train.run(cfg, progress=False)
    return eta, sigma, ds.eps.isel(data=0, circuit=0).values, ds.K.isel(data=0, data_b=0, circuit=0).values


def test_noise_plateau_matches_simulation(noisy_run):
    """001 eq. (31): late-time mean eps^2 = sigma^2 / (eta (2 - eta K)), per sample with its late K."""
    eta, sigma, eps, k = noisy_run
    late = slice(400, None)
    ratio = (eps[late] ** 2).mean(axis=0) / lazy.noise_plateau_eps2(eta, k[late].mean(axis=0), sigma)
    sem = ratio.std(ddof=1) / np.sqrt(ratio.size)
    assert abs(ratio.mean() - 1.0) < N_SE * sem, (ratio.mean(), sem)


def test_final_mean_abs_eps_matches_simulation(noisy_run):
    """001 eq. (69): mean |eps| = sqrt(2/pi) sigma / sqrt(2 eta - eta^2 K) at late times."""
    eta, sigma, eps, k = noisy_run
    mean_abs, sd_abs = lazy.noise_final_abs_eps(eta, k[-1], sigma)
    ratio = np.abs(eps[-1]) / mean_abs
    sem = ratio.std(ddof=1) / np.sqrt(ratio.size)
    assert abs(ratio.mean() - 1.0) < N_SE * sem
    # The spread of |eps| over samples: its ratio to the predicted sd, estimated from the sample.
    z = eps[-1] / np.sqrt(lazy.noise_plateau_eps2(eta, k[-1], sigma))
    assert np.std(np.abs(z), ddof=1) == pytest.approx(np.sqrt(1 - 2 / np.pi), rel=0.2)


def test_noisy_eps2_limits_and_noise_time_identity():
    eps0, eta, k, sigma = 2.0, 0.01, 30.0, 1e-3
    assert lazy.noisy_eps2(eps0, eta, k, sigma, 0) == pytest.approx(eps0**2)
    assert lazy.noisy_eps2(eps0, eta, k, sigma, 10_000) == pytest.approx(lazy.noise_plateau_eps2(eta, k, sigma))
    t_noise, eps_at = lazy.noise_time(eps0, eta, k, sigma)
    a = 1 - eta * k
    lhs = a**t_noise * eps0
    rhs = sigma * np.sqrt((1 - a ** (2 * t_noise)) / (eta * (2 - eta * k)))
    assert lhs == pytest.approx(rhs, rel=1e-12)  # 001 eq. (67) holds at T_noise
    assert eps_at == pytest.approx(2 * lhs, rel=1e-12)
    # 1 < eta K < 2: the decaying part alternates in sign; eq. (67) holds for its magnitude.
    k_big = 150.0
    t_noise, _ = lazy.noise_time(eps0, eta, k_big, sigma)
    a = abs(1 - eta * k_big)
    assert a**t_noise * eps0 == pytest.approx(sigma * np.sqrt((1 - a ** (2 * t_noise)) / (eta * (2 - eta * k_big))), rel=1e-12)


def test_ensemble_residual_matches_random_circuits():
    """000 eq. (10) averaged over the Haar law of (eps(0), K), against 200 RPA circuits x 20 angle
    vectors at n = 2, L = 64, where Delta K / K̄ = 0.48. Measured (x = eta t): 0.5378 +- 0.0083 vs 0.5518
    (x = 0.005), 0.1257 +- 0.0032 vs 0.1326 (0.02), 0.01976 +- 0.00102 vs 0.01879 (0.05); eq. (10) at
    K̄ gives 0.0037 at x = 0.05. At x = 0.1 (eta t Delta K = 5.4) the two-moment Gamma law
    underestimates the lower tail of K: 0.0024 vs 0.0039 +- 0.0004."""
    from qntk.experiments import kernel_stats
    from qntk.models import Model
    from qntk.theory import haar

    # 000 Fig. 2's model (qntk.experiments.figures.seed001._setup.model(2, 64, 0))
    model = Model("rpa", 2, 64, "random:terms=10,seed=0", target=-1.0, scale=-1.0, options={"paulis": "full"})
    o = model.operator.matrix()
    raw = kernel_stats.run(kernel_stats.KernelStatsConfig(model, samples=20, circuits=200, seed=1), progress=False)
    k_mean, k_var = haar.mean_K(o, None, 64, -1.0), haar.var_K(o, None, 64, -1.0, model="chain")
    eps_mean = haar.mean_eps(o, model.target)
    cov = haar.mean_eps_K(o, None, 64, -1.0, model.target) - eps_mean * k_mean
    for x in (0.005, 0.02, 0.05):
        sim, _, sem = kernel_stats.mean_std_sem(raw["eps"] * np.exp(-x * raw["K"]))
        assert abs(sim - lazy.ensemble_residual(x, 1, eps_mean, k_mean, k_var, cov)) <= N_SE * sem, x
    assert sim - eps_mean * np.exp(-x * k_mean) > 10 * sem  # K̄ alone misses the late-time mean
    assert lazy.ensemble_residual(0.01, 10, 1.0, 10.0, 0.0) == pytest.approx(np.exp(-1.0))
    with pytest.raises(ValueError, match="K_var"):
        lazy.ensemble_residual(0.01, 10, 1.0, 10.0, -1.0)


def test_frozen_forms_and_precision():
    eta, k = 1e-3, 50.0
    t = lazy.steps_to_precision(1e-3, eta, k)
    assert lazy.frozen_residual(1.0, eta, k, t) == pytest.approx(1e-3, rel=1e-12)
    assert lazy.frozen_residual_exp(1.0, eta, k, 100) == pytest.approx(np.exp(-eta * k * 100))
    assert lazy.overparametrization_threshold(eta, 2.5) == pytest.approx(400.0)
    with pytest.raises(ValueError, match="eps_r"):
        lazy.steps_to_precision(2.0, eta, k)
    with pytest.raises(ValueError, match="does not converge"):
        lazy.steps_to_precision(0.1, 1.0, k)


def test_concentration_verdicts():
    out = lazy.concentration(mu_std=10.0, K_mean=100.0, K_std=5.0, eta=1e-3, eps0=2.0)
    assert out["dK_over_K"] == pytest.approx(0.05) and out["dK_over_K_verdict"] == "satisfied"
    assert out["second_order"] == pytest.approx(1e-4)
    assert lazy.concentration(1.0, 1.0, 0.5, 1.0, 1.0)["dK_over_K_verdict"] == "marginal"
    assert lazy.concentration(1.0, 1.0, 2.0, 1.0, 1.0)["dK_over_K_verdict"] == "violated"


def test_noisy_eps_variance_matches_the_linear_recursion(rng):
    """001 eqs. (63)-(64): the ensemble variance of eps(t) is the expected sample variance of members
    following eps(t + 1) = (1 - eta K_i) eps(t) + N(0, sigma^2 K_i) (001 eq. (62)), simulated directly:
    R noise replicas of the same N members, mean of their sample variances within N_SE standard errors."""
    n_members, replicas, eta, sigma = 12, 4000, 0.01, 0.005
    k = rng.uniform(20.0, 60.0, n_members)
    eps0 = rng.normal(1.0, 0.3, n_members)
    eps = np.tile(eps0, (replicas, 1))
    for t in range(1, 41):
        eps = (1 - eta * k) * eps + rng.normal(0.0, sigma * np.sqrt(k), eps.shape)
        if t in (5, 40):
            var = np.var(eps, axis=1, ddof=1)  # one sample variance per replica
            sem = var.std(ddof=1) / np.sqrt(replicas)
            assert abs(var.mean() - lazy.noisy_eps_variance(eps0, eta, k, sigma, t)) <= N_SE * sem, t
    # exact limits: no noise at t = 0; the plateau of eq. (31) when the decaying part is gone
    assert lazy.noisy_eps_variance(eps0, eta, k, sigma, 0) == pytest.approx(np.var(eps0, ddof=1), rel=1e-12)
    plateau = np.mean(lazy.noise_plateau_eps2(eta, k, sigma))
    assert lazy.noisy_eps_variance(eps0, eta, k, sigma, 5000) == pytest.approx(plateau, rel=1e-12)
    # members on the last axis, any leading shape
    stacked = lazy.noisy_eps_variance(np.stack([eps0, eps0]), eta, np.stack([k, 2 * k]), sigma, 7)
    assert stacked.shape == (2,) and stacked[0] == pytest.approx(lazy.noisy_eps_variance(eps0, eta, k, sigma, 7))
