"""The reachable minimum O_min(L) of limited-depth circuits (qntk.theory.limited_depth, 004 Fig. 6): the L-BFGS
estimate against exact bounds, against independent gradient-descent runs, and the regime classification."""

import math

import numpy as np
import pytest

from qntk import train
from qntk.models import Model
from qntk.models.ansatze import circuit_seeds
from qntk.theory import limited_depth as ld

Z = 3.0  # Monte Carlo tolerance in standard errors
ATOL_MIN = 1e-8  # a converged minimum against an exact eigenvalue


def _synthetic(values, initial=None):
    values = np.asarray(values, float).reshape(2, -1)
    initial = np.full_like(values, 10.0) if initial is None else np.asarray(initial, float).reshape(values.shape)
    return ld.ReachableMinimum(values, initial, np.zeros_like(values), -10.0, 10.0, (1, 2))


def test_deep_enough_hea_reaches_the_ground_state():
    """n = 2 HEA with D = 4 (L = 16 >= the 6 real dimensions of the state manifold): O_min(L) = O_min = -12."""
    est = ld.reachable_minimum(Model("hea", 2, 4, "xxz:J=4"), circuits=1, inits=6, seed=3)
    assert est.converged and est.o_min == pytest.approx(-12.0, abs=1e-12)
    assert est.lowest == pytest.approx(-12.0, abs=ATOL_MIN)


def test_shallow_rpa_minima_are_variational_stationary_points_above_O_min():
    """At L = n the minima lie above the ground-state energy (variational bound), below their starts, with a
    spread over circuits and initializations (004 Fig. 6); the circuits differ from a run's with the same seed."""
    model = Model("rpa", 4, 4, "xxz:J=2")
    est = ld.reachable_minimum(model, circuits=6, inits=3, seed=1, descent_steps=200)
    assert est.values.shape == est.initial.shape == (6, 3) and est.converged
    assert np.all(est.values >= est.o_min - ATOL_MIN) and np.all(est.values <= est.initial + 1e-12)
    assert est.mean > est.o_min + 1.0 and est.sd > 0 and est.sem() > 0
    assert est.o_min == pytest.approx(model.operator.spectrum_extremes()[0])
    assert not set(est.circuit_seeds) & set(circuit_seeds(1, 64))


def test_estimate_agrees_with_independent_linear_loss_gradient_descent():
    """The L-BFGS minima (one set of circuits and starts) and the late <O> of linear-loss gradient descent
    (004 eq. (21); other circuits and starts) sample the same distribution of O_min(L): means within Z
    standard errors (each over its circuits)."""
    model = Model("rpa", 3, 3, "xxz:J=2", target=0.0)
    est = ld.reachable_minimum(model, circuits=16, inits=4, seed=0, descent_steps=300)
    ds = train.run(train.TrainConfig(model, eta=0.1, steps=300, samples=4, circuits=16, seed=11, loss="linear",
                                     snapshot_every=300, theory=False), progress=False)
    late = ds.eps.values[-1, ..., 0]  # (circuit, sample); eps = <O> for the linear loss
    assert np.abs(ds.K.values[-1]).max() < 1e-4  # converged (K = |grad|^2)
    sem_sim = late.mean(axis=1).std(ddof=1) / math.sqrt(late.shape[0])
    assert abs(late.mean() - est.mean) <= Z * math.hypot(sem_sim, est.sem())
    assert np.all(late >= est.o_min - ATOL_MIN)


def test_late_value_and_regime_against_the_spread():
    est = _synthetic([-5.0, -4.0, -3.0, -2.0, -6.0, -1.0])
    below = est.regime(-8.0)
    assert below.regime == "frozen-error" and below.fraction_frozen == 1.0
    assert below.R_mean == pytest.approx(est.mean + 8.0) and below.late_mean == pytest.approx(est.mean)
    assert below.late_sd == pytest.approx(est.sd)
    above = est.regime(0.0)
    assert above.regime == "frozen-kernel" and above.fraction_frozen == 0.0 and above.R_mean == 0.0
    mid = est.regime(-3.5)
    assert mid.regime == "critical" and mid.fraction_frozen == pytest.approx(3 / 6)
    np.testing.assert_allclose(est.late_value(-3.5), np.maximum(est.values, -3.5))
    assert mid.band == est.quantiles(ld.BAND)


def test_start_below_the_target_reaches_it():
    est = _synthetic([-5.0, -4.0, -3.0, -2.0], initial=[0.0, 0.0, -6.0, 0.0])
    assert est.frozen(-5.5).tolist() == [[True, True], [False, True]]
    assert est.late_value(-5.5)[1, 0] == -5.5


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="circuits=2.*not random"):
        ld.reachable_minimum(Model("hea", 2, 1, "xxz:J=4"), circuits=2)
    with pytest.raises(ValueError, match="inits"):
        ld.reachable_minimum(Model("rpa", 2, 1, "xxz:J=2"), inits=0)
    with pytest.raises(TypeError, match="model"):
        ld.reachable_minimum("rpa")
    with pytest.raises(ValueError, match="band"):
        _synthetic([1.0, 2.0]).quantiles(1.0)
