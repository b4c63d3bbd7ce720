"""004 Fig. 6 (limited-depth transition at the reachable O_min(L)) and Fig. 8 (HEA on a simulated noisy
device): their rows against the theory, the figures' own properties at QUICK size, and the noisy trainer."""

import dataclasses
import math

import jax.numpy as jnp
import numpy as np
import pytest

from qntk import kernels
from qntk.experiments.figures.seed004 import fig6, fig8
from qntk.models import Model

RTOL_EXACT = 1e-12


# ------------------------------------------------------------------------------------------------ Fig. 6


def test_fig6_quick_regimes_and_rows(quick_result):
    """The target above every reachable minimum is reached (frozen kernel), the one below the ground state
    freezes at O_min(L) > O_min (frozen error) in every run, as the independent estimate predicts; the late
    <O> of the runs lies within the confidence interval of the estimate (the SD and fraction rows need more
    than QUICK's 6 runs: the paper-size test checks them)."""
    r = quick_result("004-fig6")
    c = r.config
    hi, lo = (f"{t:g}" for t in fig6.QUICK.targets)
    assert c["predicted_regimes"] == {hi: "frozen-kernel", lo: "frozen-error"}
    assert c["measured_regimes"][hi]["regime"] == "frozen-kernel"
    assert c["measured_regimes"][lo]["regime"] == "frozen-error"
    assert c["estimate_converged"] and c["O_min_L_mean"] > c["O_min"] + 1.0  # L = n cannot reach O_min
    late = r.data.late_O.values
    assert np.all(late[1] >= c["O_min"] - 1e-9) and np.all(late[1] > fig6.QUICK.targets[1])
    np.testing.assert_allclose(late[0], fig6.QUICK.targets[0], atol=1e-2)
    K = r.data.K.values
    assert np.all(K[1, -1] < 1e-3 * K[1, 0])  # frozen error: the QNTK decays (004 eq. (16))
    assert np.all(K[0, -1] > 0.05 * K[0, 0])  # frozen kernel: it does not
    means = [row for row in r.rows if row["quantity"].startswith("late <O>")]
    assert len(means) == 2 and all(row["within_ci"] for row in means), means
    assert any(row["quantity"].startswith("SD of O_min(L)") for row in r.rows)


def test_fig6_plot_has_both_panels(quick_result):
    fig = fig6.plot(quick_result("004-fig6"))
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"


def test_fig6_measure_drops_the_float_floor():
    """A run whose K has decayed to rounding noise is read before the floor (else nothing decays: 'critical')."""
    t = np.arange(400.0)
    K = np.maximum(3.0 * np.exp(-0.2 * t), 1e-28)
    eps = 2.0 + 1e-3 * np.exp(-0.2 * t)
    assert fig6._measure(t, eps, K) == "frozen-error"


def test_fig6_targets_need_two():
    with pytest.raises(ValueError, match="^targets must list at least two"):
        fig6.Config(targets=(-3.0, -3.0))


@pytest.mark.slow
def test_fig6_paper_size_rows_within_ci():
    r = fig6.run(fig6.Config(), progress=False)
    assert all(row["within_ci"] for row in r.rows), [row for row in r.rows if not row["within_ci"]]
    assert r.config["predicted_regimes"] == {"-2": "frozen-kernel", "-3.5": "critical", "-8": "frozen-error"}


# ------------------------------------------------------------------------------------------------ Fig. 8


def test_layer_fidelity_maps_the_device_errors():
    m = Model("hea", 2, 4, "xxz:J=4")
    assert fig8.layer_fidelity(m, 0.0, 0.0, 0.0) == (1.0, 0.0)
    f, p = fig8.layer_fidelity(m, 0.0, 0.0, 0.01)  # readout only: (1 - 2 r)^w, w = 20/14 for XXZ J = 4
    assert f == pytest.approx(0.98 ** (20 / 14), rel=RTOL_EXACT) and (1 - p) ** 4 == pytest.approx(f)
    f, _ = fig8.layer_fidelity(m, 0.03, 0.0, 0.0)  # one CNOT per layer at n = 2
    assert f == pytest.approx((1 - 0.04) ** 4, rel=RTOL_EXACT)


def test_noisy_trainer_takes_the_noisy_gradient_step():
    """Without shots, step 1 of the trainer is theta - eta eps_f f grad<O>, with eps_f = f <O> - O_0 (tr O = 0).
    (QUICK's batch and steps, so that the QUICK run's compilation serves.)"""
    m = Model("hea", 2, 4, "xxz:J=4", target=-12.0)
    f, eta = 0.9, 0.01
    theta0 = np.random.default_rng(0).uniform(0, 2 * np.pi, (fig8.QUICK.runs, 16))
    rec = fig8._train(m, theta0, 0, eta, fig8.QUICK.steps, f, None)
    value, grad = kernels.grad_fn(m.circuit(), m.operator)(jnp.asarray(theta0[0]))
    assert rec["eps"][0, 0] == pytest.approx(f * float(value) + 12.0, rel=RTOL_EXACT)
    assert rec["K_f"][0, 0] == pytest.approx(f**2 * float(grad @ grad), rel=RTOL_EXACT)
    theta1 = theta0[0] - eta * (f * float(value) + 12.0) * f * np.asarray(grad)
    v1 = kernels.residual_fn(m.circuit(), m.operator)(jnp.asarray(theta1))
    assert rec["eps"][1, 0] == pytest.approx(f * float(v1) + 12.0, rel=RTOL_EXACT)


def test_noise_moves_the_critical_target(quick_result):
    """Under the depolarizing model the device's <O> spans f [O_min, O_max]: O_0 = -12 is critical without
    noise and frozen error with R = 12 (1 - f) with it; the QUICK run's rows hold."""
    r = quick_result("004-fig8")
    f = r.config["fidelity"]
    assert f == pytest.approx(fig8.layer_fidelity(Model("hea", 2, 4, "xxz:J=4"), fig8.QUICK.cnot_error,
                                                  fig8.QUICK.sx_error, fig8.QUICK.readout_error)[0])
    assert 0.85 < f < 0.95
    from qntk.theory import lv

    assert lv.predict_regime(-12.0, -12.0, 6.0).regime == "critical"
    noisy = lv.predict_regime(-12.0, -12.0 * f, 6.0 * f)
    assert noisy.regime == "frozen-error" and noisy.R == pytest.approx(12 * (1 - f), rel=RTOL_EXACT)
    reg = r.config["regimes"]
    assert reg["-10"]["predicted_noisy"] == reg["-10"]["measured"] == "frozen-kernel"
    assert reg["-14"]["predicted_noisy"] == reg["-14"]["measured"] == "frozen-error"
    assert reg["-14"]["R_noisy"] == pytest.approx(14 - 12 * f, rel=RTOL_EXACT)
    assert all(row["within_ci"] for row in r.rows), [row for row in r.rows if not row["within_ci"]]
    # the device's late error sits at R, the noiseless model's at O_min - O_0 = 2
    assert r.data.eps_noiseless.values[1, -1] == pytest.approx(2.0, abs=1e-3)
    late = r.data.eps_hat.values[1, -20:]
    assert abs(late.mean() - (14 - 12 * f)) < 3 * late.std(ddof=1) / math.sqrt(late.size) + 1e-2


def test_fig8_plot_shades_the_spread(quick_result):
    fig = fig8.plot(quick_result("004-fig8"))
    assert len(fig.axes) == 1 and len(fig.axes[0].collections) == len(fig8.QUICK.targets)


def test_fig8_config_checks():
    with pytest.raises(ValueError, match="^readout_error must be an error rate"):
        fig8.Config(readout_error=0.6)
    with pytest.raises(ValueError, match="^window must be a fraction"):
        fig8.Config(window=2.0)
    assert dataclasses.replace(fig8.Config(), inits=12).inits == 12


@pytest.mark.slow
def test_fig8_paper_size_rows_within_ci():
    r = fig8.run(fig8.Config(), progress=False)
    assert all(row["within_ci"] for row in r.rows), [row for row in r.rows if not row["within_ci"]]
    reg = r.config["regimes"]
    assert reg["-12"]["predicted_noiseless"] == "critical" and reg["-12"]["predicted_noisy"] == "frozen-error"
    assert reg["-12"]["measured"] == "frozen-error"
