"""004 Figs. 5 and 9: late-time restricted-Haar averages and fluctuations, Haar averages at initialization."""

import dataclasses

import numpy as np
import pytest

from qntk.experiments.figures.seed004 import _setup, fig5, fig9
from qntk.theory import haar
from qntk.theory import restricted_haar as rh

SPEC = "projector:seed=0"


def test_fig9_rows_cover_every_panel_of_the_quick_config(quick_result):
    cfg = fig9.QUICK
    names = [r["quantity"] for r in quick_result("004-fig9").rows]
    counts = {p: sum(n.startswith(f"({p})") for n in names) for p in "abcdefg"}
    assert counts == {"a": len(cfg.targets), "b": len(cfg.layers), "c": len(cfg.layers), "d": len(cfg.qubits) + 2,
                      "e": len(cfg.haar_layers), "f": len(cfg.haar_layers), "g": len(cfg.haar_layers)}


def test_fig9_theory_columns_are_the_exact_ensemble_averages(quick_result):
    """Each theory column is the restricted-Haar (top) or Haar (bottom) average of the model alone."""
    d, cfg = quick_result("004-fig9").data, fig9.QUICK
    for target, k_th in zip(cfg.targets, d.a_K_theory.values):
        o = _setup.model(cfg.n_qubits, cfg.n_layers, target, observable=SPEC).operator.matrix()
        assert k_th == pytest.approx(rh.projector(o, cfg.n_layers, 0.5, target)["K_inf"], rel=1e-12)
    L = cfg.haar_layers[0]
    o = _setup.model(cfg.haar_qubits, L, 0.0).operator.matrix()
    assert float(d.init_theory_lambda[0]) == pytest.approx(haar.lambda_ratio(o, None, L, 0.5), rel=1e-12)
    assert float(d.init_theory_sd_over_K[0]) == pytest.approx(
        np.sqrt(haar.var_K(o, None, L, 0.5, model="chain")) / haar.mean_K(o, None, L, 0.5), rel=1e-12)


def test_fig9_lambda_beyond_the_spectrum_equals_that_at_one(quick_result):
    """004 eq. (37) depends on O_0 + R = 1 only for O_0 >= 1, and so does the exact average: (c) at
    O_0 = 5 and (d) at O_0 = 1 share their theory at the same n and L; eq. (37) differs from it at small d."""
    d, cfg = quick_result("004-fig9").data, fig9.QUICK
    c = float(d.bc_lambda_error_theory.sel(layers=cfg.n_layers))
    assert c == pytest.approx(float(d.d_lambda_theory.sel(qubits=cfg.n_qubits)), rel=1e-9)
    assert abs(c - float(d.d_lambda_eq37.sel(qubits=cfg.n_qubits))) > 1e-3 * abs(c)
    assert np.isinf(d.b_grid_zeta_theory.sel(target_grid=1.25)) and float(d.b_grid_zeta_theory.sel(target_grid=1.0)) > 0
    assert float(d.finite_d_lambda_eq37) == -0.25 and abs(float(d.finite_d_lambda_exact) + 0.25) > 0.05


def test_late_ratios_divide_out_each_instances_kappa():
    """With K = c kappa_i and mu = m kappa_i (eps = -kappa_i at O_0 = 1) the ratios are those of the
    kappa -> 0 limit whatever the spread of kappa_i: lambda = m / c, zeta = -m / c^2 (004 eqs. (9), (13))."""
    rng = np.random.default_rng(0)
    kappa = 10.0 ** rng.uniform(-6, -2, size=(2, 3, 4))
    run = {"eps": -kappa, "K": 8.0 * kappa, "mu": -36.0 * kappa}
    out = fig9.late_ratios(run, 1.0)
    assert out["K"][0] == pytest.approx(8.0) and out["lambda"][0] == pytest.approx(-4.5)
    assert out["zeta"][0] == pytest.approx(36.0 / 64.0) and out["lambda"][1] == pytest.approx(0.0, abs=1e-12)


def test_ratio_standard_error_matches_its_spread_over_repetitions():
    rng = np.random.default_rng(1)
    draws = [fig9.ratio(x := rng.normal(2.0, 1.0, 400), 1.0 + 0.5 * x + rng.normal(0, 0.3, 400)) for _ in range(300)]
    values, sems = np.array(draws).T
    assert np.std(values) == pytest.approx(np.mean(sems), rel=0.1)


def test_cv_and_power_law_estimators():
    rng = np.random.default_rng(2)
    x = rng.normal(5.0, 1.0, 20000)
    value, sem = fig5.cv(x)
    # normal samples: Var(SD/mean) ~ c^2 (1/2 + c^2) / N with c = 0.2
    assert value == pytest.approx(0.2, abs=3 * sem) and sem == pytest.approx(0.2 * np.sqrt(0.54 / 20000), rel=0.05)
    L = np.array([32, 64, 128, 256])
    b, s = fig5.power_law(L, 3.0 * L**-0.5, 0.01 * np.ones(4))
    assert b == pytest.approx(-0.5, abs=1e-12) and s > 0


def test_fig9_lemma4_agrees_with_the_exact_haar_average_at_large_d():
    """004 eq. (40) is the d, L >> 1 form of the exact lambda_0 (XXZ, n = 6, L = 128): within a few 1/d."""
    o = _setup.model(6, 128, 0.0).operator.matrix()
    exact = haar.lambda_ratio(o, None, 128, 0.5)
    assert fig9._lemma4(o, 128, 0.0)["lambda"] == pytest.approx(exact, rel=0.1)


def test_fig5_rows_and_sampler_columns(quick_result):
    r, cfg = quick_result("004-fig5"), fig5.QUICK
    assert len(r.rows) == 2 * len(cfg.layers) + 2
    d = r.data
    assert np.all(d.sampler_lambda_mean < 0) and np.all(d.sampler_lambda > 0) and np.all(d.train_zeta > 0)
    assert float(d.fit_train_lambda) == pytest.approx(r.rows[-2]["simulation"])


def test_fig5_sampler_mean_is_the_restricted_haar_average():
    """The theory column's sampler (model only) reproduces the exact restricted-Haar lambda_inf at
    1 - F = kappa, within 3 standard errors: it samples the ensemble of 004 eq. (17)."""
    m = _setup.model(2, 16, 1.0, observable=SPEC)
    s = fig5.sample_restricted(m, 48, 1e-4, seed=5)
    value, sem = fig9.ratio(s["mu"], s["K"])
    exact = rh.projector(m.operator.matrix(), 16, 0.5, 1.0)["lambda_inf"]
    assert abs(value - exact) <= 3 * sem


@pytest.mark.parametrize("module", [fig5, fig9])
def test_configs_reject_sizes_without_an_error_bar(module):
    with pytest.raises(ValueError, match="circuits x samples"):
        dataclasses.replace(module.QUICK, circuits=1, samples=2)


@pytest.mark.slow
def test_fig9_paper_size_haar_rows_within_ci():
    """At the default size the bottom panels (Haar at initialization) agree with the exact Haar averages;
    the top rows measure how far late-time training is from the restricted-Haar ensemble (not asserted)."""
    r = fig9.run(fig9.Config(), progress=False)
    bottom = [row for row in r.rows if row["quantity"][:3] in ("(e)", "(f)", "(g)")]
    assert all(row["within_ci"] for row in bottom), [row for row in bottom if not row["within_ci"]]
    a = [row for row in r.rows if row["quantity"].startswith("(a)")]
    assert all(row["rel_err"] < 0.2 for row in a), a
    exact, eq37 = [row for row in r.rows if "O_0 = 0.5, n = 2" in row["quantity"]]
    assert exact["within_ci"] and not eq37["within_ci"], (exact, eq37)
