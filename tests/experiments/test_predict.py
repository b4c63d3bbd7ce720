"""Theory-only predictions: keys, lazy-theory composition, and agreement with simulation."""

import numpy as np
import pytest

from qntk.config import ModelConfig
from qntk.experiments import kernel_stats, predict
from qntk.theory import haar, lazy

MODEL = ModelConfig("rpa", 2, 16, "xxz:J=2", target=-3.0)


def test_prediction_matches_ensemble_simulation():
    """K̄, Delta K, E[mu] and E[eps mu] (zeta_ratio K̄^2) of the chain model against 60 RPA circuits x
    40 angle vectors."""
    p = predict.predict(MODEL, mu_std=False)
    raw = kernel_stats.run(kernel_stats.KernelStatsConfig(MODEL, samples=40, circuits=60, seed=3), progress=False)
    sim = kernel_stats.summarize(raw)
    assert abs(sim["K_mean"] - p["K_mean"]) < 4 * sim["K_sem"]
    assert abs(sim["mu_mean"] - p["mu_mean"]) < 4 * sim["mu_sem"]
    assert sim["K_std"] == pytest.approx(p["K_std"], rel=0.15)
    eps_mu, _, eps_mu_sem = kernel_stats.mean_std_sem(raw["eps"] * raw["mu"])
    assert abs(eps_mu - p["zeta_ratio"] * p["K_mean"] ** 2) < 4 * eps_mu_sem
    assert p["lambda_ratio"] == pytest.approx(p["mu_mean"] / p["K_mean"])


def test_several_kinds_of_generator_use_each_layers_own():
    """hva alternates ZZ-sum and X-sum layers: the sums over layers use each layer's own generator
    (checked against a chain circuit in tests/theory); E[mu^2] is withheld."""
    model = ModelConfig("hva", 3, 2, "tfim:h=1", target=-3.0)
    p = predict.predict(model)
    gens, scale = predict._generators(model)
    o = model.observable_obj().matrix()
    assert p["K_mean"] == pytest.approx(sum(haar.mean_qntk(o, g, 1, scale) for g in gens))
    assert p["K_std"] ** 2 == pytest.approx(haar.var_qntk(o, gens, None, scale, model="chain"))
    assert p["mu_mean"] == pytest.approx(haar.mean_dqntk(o, gens, None, scale))
    assert p["mu_std"] is None and "kinds of layer generator" in p["note"]


def test_learning_rate_outputs_compose_lazy_theory():
    eta, sigma = 1e-3, 1e-3
    p = predict.predict(MODEL, eta=eta, sigma=sigma, precision=1e-2, mu_std=False)
    assert p["gamma"] == pytest.approx(eta * p["K_mean"])
    assert p["L_star"] == pytest.approx(16 / (eta * p["K_mean"]))
    assert p["noise_plateau_eps2"] == pytest.approx(lazy.noise_plateau_eps2(eta, p["K_mean"], sigma))
    assert p["steps_to_precision"] == pytest.approx(np.log(100) / -np.log(1 - eta * p["K_mean"]))
    assert p["concentration"]["dK_over_K"] == pytest.approx(p["K_std"] / p["K_mean"])
    assert p["eps_mean"] == pytest.approx(0.0 + 3.0)  # tr(XXZ) = 0, so E[eps] = -O_0


def test_bad_arguments():
    with pytest.raises(ValueError, match="eta"):
        predict.predict(MODEL, eta=-1.0)
    with pytest.raises(ValueError, match="pass eta"):
        predict.predict(MODEL, sigma=0.1)
