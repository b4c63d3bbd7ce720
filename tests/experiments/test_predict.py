"""Theory-only predictions: keys, lazy-theory composition, and agreement with simulation."""

import numpy as np
import pytest

from qntk.config import ModelConfig
from qntk.experiments import kernel_stats, predict
from qntk.theory import lazy

MODEL = ModelConfig("rpa", 2, 16, "xxz:J=2", target=-3.0)


def test_prediction_matches_ensemble_simulation():
    """K̄, Delta K and E[mu] of the chain model against 60 RPA circuits x 40 angle vectors."""
    p = predict.predict(MODEL, mu_std=False)
    sim = kernel_stats.summarize(kernel_stats.run(kernel_stats.KernelStatsConfig(MODEL, samples=40, circuits=60, seed=3), progress=False))
    assert abs(sim["K_mean"] - p["K_mean"]) < 4 * sim["K_sem"]
    assert abs(sim["mu_mean"] - p["mu_mean"]) < 4 * sim["mu_sem"]
    assert sim["K_std"] == pytest.approx(p["K_std"], rel=0.15)


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
