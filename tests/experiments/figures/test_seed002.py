"""002 Figs. 1-6 at quick size: what each figure composes from qntk.theory.convergence, and that its checks hold."""

import numpy as np
import pytest

from qntk.experiments import _table
from qntk.experiments.figures.seed002 import _setup, fig1, fig2, fig3, fig4, fig5, fig6
from qntk.theory import convergence


def _rows(result, words):
    return [r for r in result.rows if words in r["quantity"]]


def test_fig1_bound_and_unitarity_hold_on_every_run(quick_result):
    """Thm 3.2's bound of every run is respected at every step, and the spectrum of M(theta(t)) is conserved; the
    bound column is 1/(c0 + c1 t)^2 of the mean loss in 002's normalization."""
    result = quick_result("002-fig1")
    for r in _rows(result, "Thm 3.2") + _rows(result, "spectrum"):
        assert r["within_ci"], r
    d = result.data
    loss = d.loss.isel(n_qubits=0, p=0).values
    model = _setup.model(3, fig1.QUICK.params[0], 1.0, 4, fig1.QUICK.seed)
    c1 = convergence.sublinear_rate(model.circuit(seed=0), fig1.QUICK.lr / (fig1.QUICK.params[0] * 4), 4)
    c0 = 1 / np.sqrt(4 * loss[0].mean())
    t = d.step.values
    np.testing.assert_allclose(d.bound_of_mean.isel(n_qubits=0, p=0), 1 / (c0 + c1 * t) ** 2 / 4, rtol=1e-10)
    assert np.all(d.loss_asymptotic.values > 0) and len(fig1.plot(result).axes) == 2


def test_fig2_rate_law_slope_is_two_tau_prime(quick_result):
    result = quick_result("002-fig2")
    model = _setup.model(3, fig2.QUICK.params, 2.0, 1, fig2.QUICK.seed)
    tau = convergence.time_scale(model.circuit(seed=0), fig2.QUICK.lr / fig2.QUICK.params)
    slope = _rows(result, "slope of -d ln L/dt")[0]
    assert slope["theory"] == pytest.approx(2 * tau) and float(result.data.theory_slope) == pytest.approx(2 * tau)
    assert all(r["within_ci"] for r in _rows(result, "spectrum"))


def test_fig3_reads_the_asymptotic_dynamics_at_its_end(quick_result):
    """Each point is lambda_min(K_asym) where the asymptotic loss has converged (below 1e-10)."""
    result = quick_result("002-fig3")
    d = result.data
    assert float(d.loss_end.max()) < 1e-10
    lam, loss = fig3.lambda_at_minimum(3, 2.0, 2, fig3.QUICK.horizon, fig3.QUICK.seed)
    assert float(d.lambda_min.sel(n_qubits=3, gamma=2.0, m=2).isel(run=0)) == pytest.approx(lam, rel=1e-12)
    # the one-sample-like limit m/d -> 0: lambda_min approaches Thm 4.4's 2 (gamma^2 - 1) from below
    assert np.all(d.lambda_min.values <= 2 * (d.gamma.values[None, :, None, None] ** 2 - 1) * 1.001)


def test_fig5_and_fig6_see_k_asym_move(quick_result):
    for name in ("002-fig5", "002-fig6"):
        result = quick_result(name)
        assert all(r["within_ci"] for r in result.rows if _table.is_bound(r)), result.rows
    d = quick_result("002-fig6").data
    np.testing.assert_allclose(d.lambda_min.isel(snapshot_step=0), d.lambda_min_asymptotic.isel(snapshot_step=0),
                               rtol=1e-10)  # the asymptotic dynamics starts at each run's own M(theta(0))


def test_configs_reject_bad_fields():
    with pytest.raises(ValueError, match="params"):
        fig1.Config(params=(0,))
    with pytest.raises(ValueError, match="gammas"):
        fig2.Config(gammas=())
    with pytest.raises(ValueError, match="runs"):
        fig5.Config(runs=1)
    with pytest.raises(ValueError, match="snapshot_every"):
        fig6.Config(snapshot_every=0)


@pytest.mark.slow
@pytest.mark.parametrize("module", [fig1, fig2, fig3, fig4, fig5, fig6])
def test_paper_size_bounds_hold_and_fits_agree(module):
    """At paper size every inequality row holds (Thm 3.2's bound, unitarity, K_asym moving by more than 5%, the
    distance to the asymptotic dynamics shrinking with p) and every row outside its CI says why."""
    result = module.run(module.Config(), progress=False)
    for r in result.rows:
        assert r["within_ci"] or (not _table.is_bound(r) and "outside the CI because" in r["note"]), r
