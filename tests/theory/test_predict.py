"""The model-level theory (qntk.theory.predict, mean_residual): keys, lazy-theory composition, and
agreement with simulation."""

import numpy as np
import pytest

from qntk import theory
from qntk.experiments import kernel_stats
from qntk.models import Model
from qntk.theory import _predict, haar, lazy

MODEL = Model("rpa", 2, 16, "xxz:J=2", target=-3.0)


def test_prediction_matches_ensemble_simulation():
    """K̄, Delta K, E[mu] and E[eps mu] (zeta_ratio K̄^2) of the chain model against 60 RPA circuits x
    40 angle vectors."""
    p = theory.predict(MODEL, mu_std=False)
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
    model = Model("hva", 3, 2, "tfim:h=1", target=-3.0)
    p = theory.predict(model)
    gens, scale = _predict._generators(model), model.generator_scale
    o = model.operator.matrix()
    assert p["K_mean"] == pytest.approx(sum(haar.mean_K(o, g, 1, scale) for g in gens))
    assert p["K_std"] ** 2 == pytest.approx(haar.var_K(o, gens, None, scale, model="chain"))
    assert p["mu_mean"] == pytest.approx(haar.mean_mu(o, gens, None, scale))
    assert p["mu_std"] is None and "kinds of layer generator" in p["note"]


def test_learning_rate_outputs_compose_lazy_theory():
    eta, sigma = 1e-3, 1e-3
    p = theory.predict(MODEL, eta=eta, sigma=sigma, precision=1e-2, mu_std=False)
    assert p["decay_rate"] == pytest.approx(eta * p["K_mean"])
    assert p["L_star"] == pytest.approx(16 / (eta * p["K_mean"]))
    assert p["noise_plateau_eps2"] == pytest.approx(lazy.noise_plateau_eps2(eta, p["K_mean"], sigma))
    assert p["steps_to_precision"] == pytest.approx(np.log(100) / -np.log(1 - eta * p["K_mean"]))
    assert p["concentration"]["dK_over_K"] == pytest.approx(p["K_std"] / p["K_mean"])
    assert p["eps_mean"] == pytest.approx(0.0 + 3.0)  # tr(XXZ) = 0, so E[eps] = -O_0


def test_bad_arguments():
    with pytest.raises(ValueError, match="eta"):
        theory.predict(MODEL, eta=-1.0)
    with pytest.raises(ValueError, match="pass eta"):
        theory.predict(MODEL, sigma=0.1)


def test_scale_comes_from_the_model():
    """K scales with s^2: the model's own scale (or the ansatz's convention), never a default."""
    base = theory.predict(MODEL, mu_std=False)["K_mean"]
    assert MODEL.generator_scale == 0.5
    assert theory.predict(Model("rpa", 2, 16, "xxz:J=2", target=-3.0, scale=-1.0), mu_std=False)["K_mean"] == pytest.approx(4 * base)
    assert Model("periodic", 2, 4, "ZI").generator_scale == 1.0


def test_mean_residual_is_the_train_theory_column():
    """train.run returns the theory columns that qntk train prints, computed from the model alone."""
    from qntk import train

    cfg = train.TrainConfig(MODEL, eta=0.02, steps=10, samples=3)
    ds = train.run(cfg, progress=False)
    r = theory.mean_residual(MODEL, 0.02, np.arange(11))
    np.testing.assert_array_equal(ds.eps_theory.values, r["eps_ensemble"])
    np.testing.assert_array_equal(ds.eps_eq10.values, r["eps_eq10"])
    summary = train.summarize(ds)
    assert summary["theory"]["decay_rate"] == pytest.approx(0.02 * r["K_mean"])
    assert summary["rows"][-1]["eps_theory"] == pytest.approx(float(r["eps_ensemble"][-1]))
    assert "eps_theory" not in train.run(train.TrainConfig(MODEL, eta=0.02, steps=2, samples=2, theory=False), progress=False)


def test_model_with_data_gives_the_mean_kernel_matrix():
    """With input states as data, predict adds the mean QNTK matrix (000 eq. (17)); for orthogonal
    inputs its lowest eigenvalue is 000 eq. (21) (times s^2), whatever the labels."""
    from qntk.theory import supervised

    model = Model("rpa", 3, 16, "0.5*ZII + XXI", data="orthogonal:m=4,seed=0", scale=-1.0)
    p = theory.predict(model, mu_std=False)
    assert np.shape(p["K_matrix_mean"]) == (4, 4)
    lowest = supervised.lowest_eigenvalue_orthogonal(4, model.operator, 16, -1.0)
    assert lowest > 0.1 and p["K_matrix_eigenvalues"][0] == pytest.approx(lowest, rel=1e-12)
    with pytest.raises(ValueError, match="classical features"):
        theory.predict(Model("reuploading", 2, 2, "ZI", data="tfim:points=4"), mu_std=False)


def test_learning_rate_above_critical_is_a_warning_with_both_numbers():
    model = Model("rpa", 2, 8, "xxz:J=2", target=-3.0)
    ok, bad = theory.predict(model, eta=1e-3), theory.predict(model, eta=10.0)
    assert ok["warnings"] == [] and ok["eta_crit"] == pytest.approx(2 / ok["K_mean"], rel=1e-12)
    assert len(bad["warnings"]) == 1 and f"{2 / bad['K_mean']:.4g}" in bad["warnings"][0]
    assert ok["assumption_holds"] and ok["assumptions"] == {"two_design": True, "eta_below_critical": True}
    assert not bad["assumption_holds"] and bad["assumptions"]["eta_below_critical"] is False
    shallow = theory.predict(Model("hea", 2, 1, "ZI"), eta=1e-3, mu_std=False)
    assert not shallow["assumption_holds"] and shallow["assumptions"]["two_design"] is False


def test_an_approximate_design_is_flagged_as_such():
    """rpa-local's local random gates approach Haar's averages but do not equal them: the theory says so."""
    exact = theory.predict(Model("rpa", 3, 4, "xxz:J=2"), mu_std=False)
    local = theory.predict(Model("rpa-local", 3, 4, "xxz:J=2"), mu_std=False)
    assert exact["approximate_design"] is False and "approximate" not in exact["ensemble"]
    assert local["approximate_design"] is True and "approximate 2-design" in local["ensemble"]
    assert local["K_mean"] == pytest.approx(exact["K_mean"], rel=1e-12)  # the same Haar limit
