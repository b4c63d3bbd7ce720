"""000's large-d closed forms, eqs. (9) and (12), against the exact finite-d Haar averages."""

import numpy as np
import pytest
from scipy import stats

from qntk.models import observables
from qntk.theory import haar, large_d

QUBITS = range(2, 9)  # d = 4 ... 256


def test_eq9_is_half_the_exact_large_d_mean():
    """For a traceless O and a Pauli generator the exact mean (001 eq. (22)) over eq. (9) is exactly
    2 d^3 / ((d + 1)(d^2 - 1)), which tends to 2: eq. (9) is the large-d form up to the seed's factor 2
    (docs/conventions.md)."""
    ratios = []
    for n in QUBITS:
        o, d = observables.xxz(n), 2**n
        ratio = haar.mean_K(o, None, 10, 1.0) / large_d.mean_K(o, 10)
        assert ratio == pytest.approx(2 * d**3 / ((d + 1) * (d**2 - 1)), rel=1e-12)
        ratios.append(ratio)
    assert np.all(np.diff(ratios) > 0) and ratios[-1] == pytest.approx(2.0, abs=0.01)
    # linear in L, the same for s = +1 and -1 (K scales as s^2)
    o = observables.random_pauli_mixture(3, seed=2)
    assert large_d.mean_K(o, 40) == pytest.approx(4 * large_d.mean_K(o.matrix(), 10), rel=1e-12)
    assert haar.mean_K(o, None, 10, -1.0) == pytest.approx(haar.mean_K(o, None, 10, 1.0), rel=1e-12)


def test_eq12_is_the_large_d_limit_of_the_independent_layer_variance():
    """Var K of 001's independent-layer model over (eq. (12))^2 -> 1 as d grows, with a 1/d correction:
    the slope of log(1 - ratio) against log d is -1."""
    d, gap = [], []
    for n in QUBITS:
        o = observables.xxz(n)
        ratio = haar.var_K(o, None, 10, 1.0, model="independent") / large_d.std_K(o, 10) ** 2
        d.append(2**n)
        gap.append(1 - ratio)
    gap = np.asarray(gap)
    assert np.all(gap > 0) and np.all(np.diff(gap) < 0) and gap[-1] < 0.02
    slope = stats.linregress(np.log(d[2:]), np.log(gap[2:])).slope
    assert slope == pytest.approx(-1.0, abs=0.1)


def test_std_scales_as_sqrt_layers_and_checks_arguments():
    o = observables.xxz(3)
    assert large_d.std_K(o, 40) == pytest.approx(2 * large_d.std_K(o, 10), rel=1e-12)
    with pytest.raises(ValueError, match="n_layers"):
        large_d.mean_K(o, 0)
    with pytest.raises(ValueError, match="Hermitian"):
        large_d.std_K(np.array([[0.0, 1.0], [0.0, 0.0]]), 4)
