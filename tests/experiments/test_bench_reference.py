"""The TensorCircuit reference RPA agrees with an independent dense numpy computation."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from dense_reference import dense_expval, pauli_matrix, pauli_sum_matrix, random_unitary

import qntk  # noqa: F401  (turns on float64 in JAX)
from qntk.experiments._bench_reference import tensorcircuit_rpa_step

# Checked without importing: importing TensorCircuit switches JAX to float32 until its dtype is set,
# which would leak into the collection of other test modules.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorcircuit") is None, reason="TensorCircuit-ng is not installed"
)

def _xxz(n: int, J: float = 2.0) -> list[tuple[float, str]]:
    terms = []
    for i in range(n - 1):
        for letter, coef in (("X", 1.0), ("Y", 1.0), ("Z", J)):
            label = ["I"] * n
            label[i] = label[i + 1] = letter
            terms.append((coef, "".join(label)))
    # a one-site field and a constant, to exercise those paths too
    terms.append((0.3, "Z" + "I" * (n - 1)))
    terms.append((-0.7, "I" * n))
    return terms


def _energy(theta, paulis, unitaries, obs, scale):
    psi0 = np.eye(unitaries.shape[1], dtype=complex)[0]
    coefs, labels = zip(*obs)
    o = pauli_sum_matrix(coefs, labels)
    return dense_expval([pauli_matrix(p) for p in paulis], unitaries, theta, scale, o, psi0)


def _fd_grad(theta, *args, h=1e-6):
    g = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        g[k] = (_energy(theta + e, *args) - _energy(theta - e, *args)) / (2 * h)
    return g


def _problem(n, n_layers, seed):
    rng = np.random.default_rng(seed)
    paulis = ["".join(rng.choice(list("XYZ"), size=n)) for _ in range(n_layers)]
    unitaries = np.stack([random_unitary(rng, 2**n) for _ in range(n_layers)])
    return rng, paulis, unitaries, _xxz(n)


@pytest.mark.parametrize("scale", [0.5, 0.3])
@pytest.mark.parametrize("n", [2, 3])
def test_matches_dense_reference(n, scale):
    n_layers, batch = 5, 3
    rng, paulis, unitaries, obs = _problem(n, n_layers, seed=100 + n)
    thetas = rng.uniform(0.0, 2.0 * np.pi, size=(batch, n_layers))

    step = tensorcircuit_rpa_step(paulis, unitaries, obs, scale=scale)
    values, grads = step(thetas)
    values, grads = np.asarray(values), np.asarray(grads)
    assert values.shape == (batch,) and grads.shape == (batch, n_layers)
    assert values.dtype == np.float64 and grads.dtype == np.float64

    args = (paulis, unitaries, obs, scale)
    for b in range(batch):
        np.testing.assert_allclose(values[b], _energy(thetas[b], *args), rtol=0, atol=1e-12)
        np.testing.assert_allclose(grads[b], _fd_grad(thetas[b], *args), rtol=0, atol=1e-7)


def test_qubit_order_is_big_endian():
    # W = kron(X, I) must act as X on qubit 0, the qubit that label character 0 and
    # expectation_ps(z=[0]) refer to: |00> -> |10>, so <Z_0> = -1 and <Z_1> = +1 (reversed
    # ordering would give +1 - 10 = -9 instead of -1 + 10 = 9). theta = 0 makes the rotation trivial.
    w = pauli_matrix("XI")
    step = tensorcircuit_rpa_step(["ZY"], w[None], [(1.0, "ZI"), (10.0, "IZ")])
    values, grads = step(np.zeros((1, 1)))
    np.testing.assert_allclose(np.asarray(values), [9.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(grads), [[0.0]], rtol=0, atol=1e-12)


def test_rejects_mismatched_inputs():
    rng, paulis, unitaries, obs = _problem(2, 3, seed=0)
    with pytest.raises(ValueError, match="shape"):
        tensorcircuit_rpa_step(paulis, unitaries[:2], obs)
    with pytest.raises(ValueError, match="malformed"):
        tensorcircuit_rpa_step(paulis[:2] + ["XQ"], unitaries, obs)
    with pytest.raises(ValueError, match="malformed"):
        tensorcircuit_rpa_step(paulis, unitaries, [(1.0, "XXX")])


def test_missing_tensorcircuit_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorcircuit", None)
    with pytest.raises(ImportError, match=r"pip install 'qntk\[bench\]'"):
        tensorcircuit_rpa_step(["XX"], np.eye(4)[None], [(1.0, "ZZ")])
