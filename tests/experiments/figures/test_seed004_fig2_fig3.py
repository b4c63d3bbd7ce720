"""004 Figs. 2 and 3: the three regimes of the dynamical transition and the Lotka-Volterra picture."""

import dataclasses

import numpy as np
import pytest

from qntk.experiments.figures.seed004 import _setup, fig2, fig3
from qntk.theory import lv, mean_residual


def _o_min(config) -> float:
    return float(np.linalg.eigvalsh(_setup.model(config.n_qubits, config.n_layers, 0.0).operator.matrix())[0])


def test_slopes_and_window_helpers():
    x = np.arange(10.0)
    y = np.stack([2.0 * x + 1.0, -0.5 * x, np.r_[x[:-1], np.nan], np.r_[0.0, 1.0, np.full(8, np.nan)]], axis=1)
    np.testing.assert_allclose(fig2.slopes(x, y)[:3], [2.0, -0.5, 1.0], atol=1e-12)  # NaN points are skipped
    assert np.isnan(fig2.slopes(x, y)[3])  # fewer than 3 points
    # points under the round-off floor are left out of a decay fit
    decay = np.exp(-x)[:, None] * np.r_[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1e-9, 1e-9, 1e-9, 1e-9][:, None]
    assert np.isnan(fig2.log_abs(decay, decay[0])[-1, 0]) and np.isfinite(fig2.log_abs(decay)[-1, 0])
    assert list(fig2.window(10)) == [5, 6, 7, 8, 9, 10] and list(fig2.window(3)) == [1, 2, 3]
    assert fig2.mean_sem(np.array([1.0, 3.0])) == (2.0, 1.0) == fig2.mean_sem(np.array([1.0, np.nan, 3.0]))


@pytest.mark.parametrize("name", ["004-fig2", "004-fig3"])
def test_targets_straddle_the_exact_ground_energy(name, quick_result):
    result = quick_result(name)
    module = fig2 if name == "004-fig2" else fig3
    o_min = _o_min(module.QUICK)
    np.testing.assert_allclose(result.data.target.values, [o_min + module.QUICK.offset, o_min, o_min - module.QUICK.offset],
                               atol=1e-9)
    assert list(result.data.regime.values) == list(fig2.COLUMNS)
    predicted = [r["predicted"] for r in result.config["regimes"].values()]
    assert predicted == list(fig2.COLUMNS)  # 004 Theorem 1: O_0 above, at, below O_min


def test_fig2_variational_bounds_and_frozen_error_limit(quick_result):
    """<O> >= O_min for every state: eps >= O_min - O_0, i.e. eps >= 0 at the critical point and eps >= R
    in the frozen-error regime, at every step and sample."""
    d = quick_result("004-fig2").data
    R = float(d.R.sel(regime="frozen-error"))
    assert R == pytest.approx(fig2.QUICK.offset)
    assert np.all(d.eps.sel(regime="critical").values >= -1e-9)
    assert np.all(d.eps.sel(regime="frozen-error").values >= R - 1e-9)
    # training lowers the loss in every sample (eta K < 2: gradient descent is stable)
    eps = np.abs(d.eps.values)
    assert np.all(eps[:, -1] < eps[:, 0])


def test_fig2_theory_is_computed_from_the_model_alone(quick_result):
    """The LV lines equal qntk.theory.mean_residual of the model (no trajectory enters), and the row
    theories are the closed forms of 004 eqs. (14)-(16)."""
    result = quick_result("004-fig2")
    q = fig2.QUICK
    t = np.arange(q.steps + 1)
    for regime, target in zip(fig2.COLUMNS, result.data.target.values):
        th = mean_residual(_setup.model(q.n_qubits, q.n_layers, float(target)), q.eta, t)
        np.testing.assert_allclose(result.data.eps_lv.sel(regime=regime).values, th["eps_lv"], rtol=1e-12)
        np.testing.assert_allclose(result.data.K_lv.sel(regime=regime).values, th["K_lv"], rtol=1e-12)
    rows = {r["quantity"]: r for r in result.rows}
    exps = [r for q_, r in rows.items() if "exponent of K(t)" in q_]
    assert len(exps) == 1 and exps[0]["theory"] == -1.0
    lim = [r for q_, r in rows.items() if "-> R = O_min - O_0" in q_]
    assert len(lim) == 1 and lim[0]["theory"] == pytest.approx(q.offset)
    fe = result.config["theory"]["frozen-error"]
    rate = [r for q_, r in rows.items() if "K decay rate" in q_]
    assert len(rate) == 1 and rate[0]["theory"] == pytest.approx(2 * fe["lambda_inf"] * fe["R"])


def test_fig2_lv_line_solves_the_lotka_volterra_map(quick_result):
    """On the frozen-error and critical lines, K - 2 lambda_inf (eps - R) is conserved (004 eq. (11))."""
    result = quick_result("004-fig2")
    for regime in ("critical", "frozen-error"):
        th = result.config["theory"][regime]
        sel = result.data.sel(regime=regime)
        C = sel.K_lv.values - 2 * th["lambda_inf"] * sel.eps_lv.values
        np.testing.assert_allclose(C, th["lv_C"], atol=1e-9 * max(1.0, float(sel.K_lv.values[0])))


def test_fig2_plot_has_six_panels(quick_result):
    fig = fig2.plot(quick_result("004-fig2"))
    assert len([a for a in fig.axes if a.get_title()]) >= 6


def test_fig3_bifurcation_is_the_logistic_rhs():
    K = np.linspace(-1.0, 2.0, 31)
    for C in (1.0, 0.0, -1.0):
        np.testing.assert_allclose(fig3.bifurcation(K, C, eta=0.1), 0.1 * (C - K) * K, atol=1e-15)
    # fixed points K = 0 and K = C; the stable one is K = C for C > 0, K = 0 for C <= 0 (004 Fig. 3a)
    slope = lambda C, K0: (fig3.bifurcation(K0 + 1e-6, C) - fig3.bifurcation(K0 - 1e-6, C)) / 2e-6
    assert slope(1.0, 1.0) < 0 < slope(1.0, 0.0)
    assert slope(-1.0, 0.0) < 0 < slope(-1.0, -1.0)


def test_fig3_quick_records_lambda_and_zeta(quick_result):
    result = quick_result("004-fig3")
    d = result.data
    np.testing.assert_allclose(d.lambda_.values, d.mu.values / d.K.values, rtol=1e-12)
    np.testing.assert_allclose(d.zeta.values * d.K.values**2, d.eps.values * d.mu.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.rhs.sel(C=0.0).values, -d.K_grid.values**2, atol=1e-15)
    rows = [r["quantity"] for r in result.rows]
    assert any("zeta(T) = eps mu / K^2, LV critical point" in q for q in rows)
    assert sum("slope dK / d(2 lambda eps)" in q for q in rows) == 3
    fig = fig3.plot(result)
    assert len(fig.axes) >= 3


def test_fig3_frozen_error_zeta_grows_and_critical_zeta_is_order_one(quick_result):
    """zeta -> +inf below O_min (K -> 0 while eps -> R > 0) and stays O(1) at O_min (004 Fig. 3c inset)."""
    d = quick_result("004-fig3").data
    z_fe = np.median(d.zeta.sel(regime="frozen-error").values, axis=1)
    assert z_fe[-1] > 10 * abs(z_fe[0])
    # the conserved C of the frozen-error line is negative (004 eq. (16)): C / K = 1 - 2 zeta < 0 at late time
    assert np.median(1 - 2 * d.zeta.sel(regime="frozen-error").values[-1]) < 0
    z_cr = np.median(d.zeta.sel(regime="critical").values[-1])
    assert 0.1 < z_cr < 10 and z_cr < z_fe[-1] / 10


@pytest.mark.slow
@pytest.mark.parametrize("module", [fig2, fig3])
def test_paper_size_regimes_are_measured_as_predicted(module):
    """At the default size the late-time regime of the mean trajectory is 004 Theorem 1's."""
    result = module.run(module.Config(), progress=False)
    assert result.config["regimes_agree"], result.config["regimes"]
    rows = {r["quantity"]: r for r in result.rows}
    exponent = [r for q, r in rows.items() if "exponent of K(t)" in q]
    if exponent:
        assert exponent[0]["simulation"] == pytest.approx(-1.0, abs=0.15)


def test_configs_reject_bad_fields():
    for module in (fig2, fig3):
        with pytest.raises(ValueError, match="^offset"):
            dataclasses.replace(module.QUICK, offset=0.0)
        with pytest.raises(ValueError, match="^samples"):
            dataclasses.replace(module.QUICK, samples=1)
    assert lv.REGIMES == fig2.COLUMNS
