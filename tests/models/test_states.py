"""Tests for qntk.models.states: exact identities at float64 tolerance and independent references."""

import dense_reference
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from dense_reference import embed

import qntk  # noqa: F401  (enables x64)
from qntk._sim import engine
from qntk.models import circuits
from qntk.models.states import (
    Dataset,
    as_state,
    basis_state,
    encoded_states,
    feature_cross_section,
    haar_states,
    orthogonal_classification,
    orthogonal_states,
    tfim_ground_state,
    tfim_magnetization,
    zero_state,
)

ATOL = 1e-12  # float64 round-off on O(1)-normed quantities
ED_ATOL = 1e-10  # two exact diagonalizations of the same 64 x 64 Hamiltonian
LARGE_H_ATOL = 1e-3  # m_x(h=50) = 1 - O((J/h)^2) = 1 - O(1e-4)

X, Z = dense_reference.X.real, dense_reference.Z.real  # real: the reference TFIM eigenvectors stay real


def _gram(states):
    return states.conj() @ states.T


# --------------------------------------------------------------------------------------------------
# Single states


def test_zero_and_basis_states():
    np.testing.assert_array_equal(zero_state(3), np.eye(8)[0])
    assert zero_state(3).dtype == np.complex128
    # big-endian: |q0 q1> = |1 0> is index 2
    np.testing.assert_array_equal(basis_state(2, 2), np.kron([0, 1], [1, 0]))


def test_as_state_normalizes():
    psi = as_state([3.0, 4.0j], n_qubits=1)
    assert psi.dtype == np.complex128
    np.testing.assert_allclose(psi, [0.6, 0.8j], atol=ATOL)
    assert abs(np.linalg.norm(as_state(np.arange(1.0, 9.0))) - 1.0) < ATOL


@pytest.mark.parametrize(
    "vector, n_qubits, match",
    [
        ([1.0, 0.0, 0.0], None, "power of two"),
        ([1.0], None, "power of two"),
        ([[1.0, 0.0]], None, "1-D"),
        ([1.0, 0.0, 0.0, 0.0], 3, "n_qubits=3 needs length 8"),
        ([0.0, 0.0], None, "zero"),
        ([np.nan, 1.0], None, "NaN"),
    ],
)
def test_as_state_rejects(vector, n_qubits, match):
    with pytest.raises(ValueError, match=match):
        as_state(vector, n_qubits)


def test_basis_state_rejects_bad_index():
    with pytest.raises(ValueError, match="index=4 is out of range"):
        basis_state(2, 4)
    with pytest.raises(ValueError, match="n_qubits must be a positive integer"):
        zero_state(0)


# --------------------------------------------------------------------------------------------------
# Random states


def test_haar_states_norms_and_reproducibility():
    phi = haar_states(3, 6, seed=5)
    assert phi.shape == (6, 8) and phi.dtype == np.complex128
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), 1.0, atol=ATOL)
    np.testing.assert_array_equal(phi, haar_states(3, 6, seed=5))
    assert not np.allclose(phi, haar_states(3, 6, seed=6))


@pytest.mark.parametrize("kind", ["haar", "basis"])
def test_orthogonal_states(kind):
    phi = orthogonal_states(3, 5, seed=2, kind=kind)
    assert phi.shape == (5, 8)
    np.testing.assert_allclose(_gram(phi), np.eye(5), atol=ATOL)
    np.testing.assert_array_equal(phi, orthogonal_states(3, 5, seed=2, kind=kind))
    assert not np.allclose(phi, orthogonal_states(3, 5, seed=3, kind=kind))


def test_orthogonal_states_full_basis():
    phi = orthogonal_states(3, 8, seed=0, kind="haar")  # count = d: a full unitary
    np.testing.assert_allclose(phi.conj().T @ phi, np.eye(8), atol=ATOL)
    idx = np.argmax(np.abs(orthogonal_states(3, 8, seed=0, kind="basis")), axis=1)
    assert sorted(idx.tolist()) == list(range(8))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_qubits=2, count=5, seed=0), "count=5 exceeds the dimension d=4"),
        (dict(n_qubits=2, count=5, seed=0, kind="basis"), "count=5 exceeds"),
        (dict(n_qubits=2, count=2, seed=0, kind="gauss"), "kind='gauss' is unknown"),
        (dict(n_qubits=2, count=0, seed=0), "count must be an integer >= 1"),
        (dict(n_qubits=2, count=2, seed=-1), "seed must be an integer >= 0"),
        (dict(n_qubits=2, count=2, seed=1.5), "seed must be an integer"),
    ],
)
def test_orthogonal_states_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        orthogonal_states(**kwargs)


# --------------------------------------------------------------------------------------------------
# Feature cross-section


@pytest.mark.parametrize("kind", ["haar", "basis"])
def test_cross_section_identity_for_orthogonal_states(kind):
    sigma = feature_cross_section(orthogonal_states(3, 7, seed=1, kind=kind))
    np.testing.assert_allclose(sigma, np.eye(7), atol=ATOL)


def test_cross_section_general_states():
    phi = haar_states(3, 6, seed=0)
    sigma = feature_cross_section(phi)
    np.testing.assert_allclose(np.diag(sigma), 1.0, atol=ATOL)
    np.testing.assert_allclose(sigma, sigma.T, atol=ATOL)
    assert np.all(sigma >= 0) and np.all(sigma <= 1 + ATOL)
    # sigma_ab = |Tr S_ab|^2 with S_ab = |phi_a><phi_b| (000 eqs. (18)-(19))
    a, b = 1, 4
    np.testing.assert_allclose(sigma[a, b], abs(np.trace(np.outer(phi[a], phi[b].conj()))) ** 2, atol=ATOL)
    # train/test block
    other = haar_states(3, 2, seed=9)
    np.testing.assert_allclose(feature_cross_section(phi, other), np.abs(phi.conj() @ other.T) ** 2, atol=ATOL)


def test_cross_section_rejects():
    with pytest.raises(ValueError, match="not normalized"):
        feature_cross_section(2.0 * haar_states(2, 3, seed=0))
    with pytest.raises(ValueError, match="shape \\(m, d\\)"):
        feature_cross_section(zero_state(2))
    with pytest.raises(ValueError, match="other has dimension 8"):
        feature_cross_section(haar_states(2, 3, seed=0), haar_states(3, 1, seed=0))


# --------------------------------------------------------------------------------------------------
# Encoded states


def _circuit_encoding(x, n_qubits, frequency):
    """The encoding layers as a circuit: RX(a_q x_{q mod F}) layers plus one trainable Z layer at angle 0."""
    F = x.shape[1]
    labels = ["".join("X" if p == q else "I" for p in range(n_qubits)) for q in range(n_qubits)]
    scales = [1.0 if frequency == "low" else 2.0**q for q in range(n_qubits)]
    c = circuits.from_paulis(
        labels + ["Z" * n_qubits],
        scale=0.5,
        param_index=[-1] * n_qubits + [0],
        feature_index=[q % F for q in range(n_qubits)] + [-1],
        feature_scale=scales + [0.0],
    )
    theta = jnp.zeros(1)
    run = jax.vmap(lambda xi: engine.evolve(c, engine.layer_angles(c, theta, xi)))
    return np.asarray(run(jnp.asarray(x)))


@pytest.mark.parametrize("frequency", ["low", "high"])
@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_encoded_states_match_circuit(frequency, n_features, rng):
    x = rng.uniform(-np.pi, np.pi, size=(5, n_features))
    phi = encoded_states(x, 3, frequency)
    assert phi.shape == (5, 8) and phi.dtype == np.complex128
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), 1.0, atol=ATOL)
    np.testing.assert_allclose(phi, _circuit_encoding(x, 3, frequency), atol=ATOL)


def test_encoded_states_cross_section_closed_form(rng):
    x = rng.uniform(0, 2 * np.pi, size=(4, 1))
    sigma = feature_cross_section(encoded_states(x, 3, "high"))
    diff = x[:, 0][:, None] - x[:, 0][None, :]
    expected = np.prod([np.cos(2.0**q * diff / 2) ** 2 for q in range(3)], axis=0)
    np.testing.assert_allclose(sigma, expected, atol=ATOL)
    np.testing.assert_allclose(np.diag(sigma), 1.0, atol=ATOL)
    np.testing.assert_allclose(sigma, sigma.T, atol=ATOL)


@pytest.mark.parametrize(
    "features, kwargs, match",
    [
        ([[np.nan]], {}, "NaN"),
        ([0.1, 0.2], {}, "shape \\(m, F\\)"),
        (np.zeros((2, 3)), dict(n_qubits=2), "features has 3 columns but only 2 qubits"),
        ([[0.1]], dict(frequency="mid"), "frequency='mid' is unknown"),
        ([[0.1 + 1j]], {}, "real"),
    ],
)
def test_encoded_states_rejects(features, kwargs, match):
    kwargs = {"n_qubits": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        encoded_states(features, **kwargs)


# --------------------------------------------------------------------------------------------------
# Dataset


def test_dataset_is_validated_and_immutable():
    data = Dataset(features=[[0.0], [1.0]], labels=[1, 2], name="toy", meta={"k": 1})
    assert len(data) == 2 and data.n_features == 1 and data.n_qubits is None
    assert data.labels.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        data.labels[0] = 5.0
    with pytest.raises(AttributeError):
        data.name = "other"
    with pytest.raises(ValueError, match="features has 2 rows but labels has 3"):
        Dataset(features=[[0.0], [1.0]], labels=[1, 2, 3])
    with pytest.raises(ValueError, match="labels contain NaN"):
        Dataset(features=[[0.0], [1.0]], labels=[1, np.nan])
    with pytest.raises(ValueError, match="NaN"):
        Dataset(features=[[0.0], [np.nan]], labels=[1, 2])
    with pytest.raises(ValueError, match="needs inputs"):
        Dataset(labels=[1.0])
    with pytest.raises(ValueError, match="not normalized"):
        Dataset(states=[[1.0, 1.0]], labels=[1.0])


def test_dataset_split():
    data = tfim_magnetization(n_spins=3, n_points=10)
    train, test = data.split(7, seed=3)
    assert (len(train), len(test)) == (7, 3)
    idx = sorted(train.meta["indices"] + test.meta["indices"])
    assert idx == list(range(10))
    np.testing.assert_array_equal(train.features[:, 0], data.features[list(train.meta["indices"]), 0])
    np.testing.assert_array_equal(test.labels, data.labels[list(test.meta["indices"])])
    again, _ = data.split(7, seed=3)
    assert again.meta["indices"] == train.meta["indices"]
    assert data.split(7, seed=4)[0].meta["indices"] != train.meta["indices"]
    with pytest.raises(ValueError, match="n_train=10 leaves no test samples"):
        data.split(10, seed=0)


# --------------------------------------------------------------------------------------------------
# Orthogonal classification (002 App. D.1)


@pytest.mark.parametrize("kind", ["haar", "basis"])
def test_orthogonal_classification(kind):
    data = orthogonal_classification(3, 6, seed=1, kind=kind)
    assert data.states.shape == (6, 8) and data.features is None
    np.testing.assert_allclose(_gram(data.states), np.eye(6), atol=ATOL)
    assert sorted(data.labels.tolist()) == [-1.0] * 3 + [1.0] * 3
    again = orthogonal_classification(3, 6, seed=1, kind=kind)
    np.testing.assert_array_equal(again.states, data.states)
    np.testing.assert_array_equal(again.labels, data.labels)


def test_orthogonal_classification_labels_are_random():
    orders = {tuple(orthogonal_classification(3, 8, seed=s).labels.tolist()) for s in range(6)}
    assert len(orders) > 1


@pytest.mark.parametrize(
    "m, match", [(5, "m=5 is odd"), (10, "count=10 exceeds the dimension d=8"), (0, "m must be an integer >= 1")]
)
def test_orthogonal_classification_rejects(m, match):
    with pytest.raises(ValueError, match=match):
        orthogonal_classification(3, m, seed=0)


# --------------------------------------------------------------------------------------------------
# TFIM magnetization (003)


def _tfim_kron(n, h, J, periodic):
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic and n > 2 else [])
    ham = -J * sum(embed(n, {i: Z, j: Z}) for i, j in bonds)
    return ham - h * sum(embed(n, {i: X}) for i in range(n))


@pytest.mark.parametrize("periodic", [True, False])
def test_tfim_ground_state_against_kron_hamiltonian(periodic):
    n, h, J = 6, 0.7, 1.3
    ham = _tfim_kron(n, h, J, periodic)
    evals, evecs = np.linalg.eigh(ham)
    assert evals[1] - evals[0] > 1e-3  # unique ground state: the reference is unambiguous
    g = evecs[:, 0]
    energy, psi = tfim_ground_state(n, h, J, periodic)
    assert abs(energy - evals[0]) < ED_ATOL
    assert abs(abs(np.vdot(g, psi)) - 1.0) < ED_ATOL
    m_x = np.mean([g @ embed(n, {i: X}) @ g for i in range(n)])
    m_z = np.sqrt(sum(g @ embed(n, {i: Z}) @ embed(n, {j: Z}) @ g for i in range(n) for j in range(n)) / n**2)
    for order, ref in (("x", m_x), ("z", m_z)):
        data = tfim_magnetization(n_spins=n, n_points=2, h_range=(h, 2 * h), J=J, periodic=periodic, order=order)
        assert abs(data.labels[0] - ref) < ED_ATOL


def test_tfim_negative_field_is_odd():
    m_pos = tfim_magnetization(n_spins=5, n_points=2, h_range=(0.4, 0.9)).labels
    m_neg = tfim_magnetization(n_spins=5, n_points=2, h_range=(-0.9, -0.4)).labels
    np.testing.assert_allclose(m_neg[::-1], -m_pos, atol=ED_ATOL)


def test_tfim_magnetization_limits_and_monotonicity():
    data = tfim_magnetization()  # N = 6, h in [0, 2], 20 points
    assert data.features.shape == (20, 1) and data.labels.shape == (20,) and data.states is None
    np.testing.assert_allclose(data.features[:, 0], np.linspace(0.0, 2.0, 20))
    assert abs(data.labels[0]) < ATOL  # m_x(h = 0) = 0
    assert np.all(np.diff(data.labels) > 0)  # m_x = -dE0/dh / N, E0 concave
    assert "m_x" in data.meta["definition"] and data.meta["order"] == "x"
    big = tfim_magnetization(n_points=2, h_range=(49.0, 50.0))
    assert abs(big.labels[-1] - 1.0) < LARGE_H_ATOL
    z = tfim_magnetization(order="z")
    assert abs(z.labels[0] - 1.0) < ATOL  # GHZ-like ground state at h = 0
    assert np.all(np.diff(z.labels) < 0)
    assert "Z_i Z_j" in z.meta["definition"]


def test_tfim_magnetization_random_fields():
    data = tfim_magnetization(n_spins=4, n_points=6, seed=2)
    h = data.features[:, 0]
    assert np.all((h >= 0.0) & (h < 2.0)) and np.all(np.diff(h) > 0)
    np.testing.assert_array_equal(h, tfim_magnetization(n_spins=4, n_points=6, seed=2).features[:, 0])
    grid = tfim_magnetization(n_spins=4, n_points=2, h_range=(h[2], h[3])).labels
    np.testing.assert_allclose(data.labels[2:4], grid, atol=ATOL)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_spins=1), "n_spins must be an integer >= 2"),
        (dict(n_spins=13), "n_spins=13 is too large"),
        (dict(h_range=(1.0, 1.0)), "h_min < h_max"),
        (dict(h_range=(0.0, np.nan)), "h_range\\[1\\] must be a finite real"),
        (dict(h_range=3.0), "pair"),
        (dict(order="y"), "order='y' is unknown"),
        (dict(n_points=0), "n_points must be an integer >= 1"),
        (dict(J=0.0, n_spins=2, n_points=2), "degenerate"),
    ],
)
def test_tfim_magnetization_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tfim_magnetization(**kwargs)
