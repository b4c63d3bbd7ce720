"""Tests for qntk.models.observables: exact identities against dense numpy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from dense_reference import pauli_matrix, random_state

import qntk  # noqa: F401  (enables x64)
from qntk.models.observables import (
    OBSERVABLES,
    DenseObservable,
    PauliSum,
    _eigsh_extremes,
    pauli_dict,
    pauli_product,
    _pauli_trace_power,
    haar_projector,
    hermitian,
    parse_observable,
    pauli_measurement,
    pauli_sum,
    projector,
    random_pauli_mixture,
    tfim,
    xxz,
)
from qntk.models.pauli import PauliString

ATOL = 1e-12  # float64 round-off on O(1)-normed quantities
RTOL = 1e-12


def random_sum(rng: np.random.Generator, n: int, n_terms: int) -> PauliSum:
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(n_terms)]
    return PauliSum(rng.normal(size=n_terms), labels)


def chain_reference(n: int, bonds: list[tuple[int, int]], bond: dict[str, float], site: dict[str, float]) -> np.ndarray:
    def op(letters: dict[int, str]) -> np.ndarray:
        return pauli_matrix("".join(letters.get(q, "I") for q in range(n)))

    m = sum(c * op({i: p, j: p}) for i, j in bonds for p, c in bond.items())
    return m + sum(c * op({i: p}) for i in range(n) for p, c in site.items())


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


# --- Pauli strings and PauliSum apply -----------------------------------------------------


@pytest.mark.parametrize("label", ["X", "Y", "Z", "XY", "YI", "IYZ", "ZXYI", "YYY"])
def test_pauli_string_matrix_is_big_endian_kron(label):
    np.testing.assert_array_equal(PauliString.from_label(label).matrix(), pauli_matrix(label))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_pauli_sum_apply_and_expval_match_dense(rng, n):
    obs = random_sum(rng, n, n_terms=3 * n)
    m = sum(c * pauli_matrix(lab) for c, lab in zip(obs.coefs, obs.labels))
    np.testing.assert_allclose(obs.matrix(), m, atol=ATOL)
    psi = random_state(rng, 2**n)
    np.testing.assert_allclose(obs.apply(psi), m @ psi, atol=ATOL)
    np.testing.assert_allclose(obs.expval(psi), np.vdot(psi, m @ psi).real, atol=ATOL)
    assert obs.x_masks.dtype == jnp.int32 and obs.diags.shape == (len(set(obs.x_masks.tolist())), 2**n)


def test_duplicate_labels_are_merged_and_str_round_trips():
    obs = pauli_sum("0.5*XXI - 1.0*ZII + 0.3*III + 0.25*xxi")
    assert obs.labels == ("XXI", "ZII", "III") and obs.coefs == (0.75, -1.0, 0.3)
    again = pauli_sum(str(obs))
    assert (again.coefs, again.labels) == (obs.coefs, obs.labels)
    assert "n_terms=3" in repr(obs)


# --- model Hamiltonians -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "periodic", "bonds"),
    [
        (2, False, [(0, 1)]),
        (2, True, [(0, 1)]),
        (3, False, [(0, 1), (1, 2)]),
        (4, True, [(0, 1), (1, 2), (2, 3), (3, 0)]),
    ],
)
def test_xxz_matches_kron_reference(n, periodic, bonds):
    J = 2.0
    obs = xxz(n, J=J, periodic=periodic)
    ref = chain_reference(n, bonds, {"X": -1.0, "Y": -1.0, "Z": -J}, {"Z": -J})
    np.testing.assert_allclose(obs.matrix(), ref, atol=ATOL)
    eigs = np.linalg.eigvalsh(ref)
    np.testing.assert_allclose(obs.spectrum_extremes(), (eigs[0], eigs[-1]), atol=ATOL)


def test_xxz_two_qubit_ground_energy():
    # |00>: -J - 2J = -6 at J = 2; the single-excitation triplet gives 2 + 2 = 4 at the top.
    np.testing.assert_allclose(xxz(2, J=2.0).spectrum_extremes(), (-6.0, 4.0), atol=ATOL)


@pytest.mark.parametrize(("n", "periodic"), [(2, True), (3, True), (4, False)])
def test_tfim_matches_kron_reference(n, periodic):
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic and n > 2 else [])
    ref = chain_reference(n, bonds, {"Z": -0.7}, {"X": -1.3})
    np.testing.assert_allclose(tfim(n, h=1.3, J=0.7, periodic=periodic).matrix(), ref, atol=ATOL)


def test_random_pauli_mixture_is_reproducible_and_follows_000():
    a, b = random_pauli_mixture(4, seed=3), random_pauli_mixture(4, seed=3)
    assert (a.coefs, a.labels) == (b.coefs, b.labels)
    assert (a.coefs, a.labels) != (random_pauli_mixture(4, seed=4).coefs, random_pauli_mixture(4, seed=4).labels)
    many = random_pauli_mixture(1, n_terms=200, seed=0)
    assert "I" not in many.labels and set(many.labels) == {"X", "Y", "Z"}
    assert "I" in random_pauli_mixture(1, n_terms=200, seed=0, include_identity=True).labels
    single = random_pauli_mixture(6, n_terms=10, seed=1)
    assert len(single.coefs) == 10 and all(0.0 < c < 1.0 for c in single.coefs)


def test_projectors():
    obs = haar_projector(3, seed=5)
    eigs = np.linalg.eigvalsh(obs.matrix())
    np.testing.assert_allclose(eigs, [0.0] * 7 + [1.0], atol=ATOL)
    assert haar_projector(3, seed=5).matrix().tolist() == obs.matrix().tolist()
    zero = parse_observable("projector:zero", 2).matrix()
    np.testing.assert_array_equal(zero, np.diag([1.0, 0, 0, 0]))
    np.testing.assert_allclose(projector([0, 3j]).matrix(), np.diag([0.0, 1.0]), atol=ATOL)


def test_gamma_scaling():
    m0 = pauli_measurement("ZIX", gamma=4.0)
    assert isinstance(m0, PauliSum) and m0.spectrum_extremes() == (-4.0, 4.0)
    scaled = 2.0 * xxz(3)
    assert isinstance(scaled, PauliSum)
    np.testing.assert_allclose(scaled.matrix(), 2.0 * xxz(3).matrix(), atol=ATOL)
    dense = hermitian(xxz(2).matrix()) * 0.5
    assert isinstance(dense, DenseObservable)
    np.testing.assert_allclose(dense.matrix(), 0.5 * xxz(2).matrix(), atol=ATOL)


# --- traces and spectra ---------------------------------------------------------------------


def trace_cases() -> list:
    rng = np.random.default_rng(7)
    return [
        xxz(4),
        tfim(3, h=0.4),
        pauli_sum("0.5*XXI - 1.0*ZII + 0.3*III + 0.2*YZY"),
        random_sum(rng, 3, 6),
        haar_projector(2, seed=1),
        hermitian(xxz(3).matrix() + 0.7 * np.eye(8)),
    ]


@pytest.mark.parametrize("obs", trace_cases(), ids=repr)
@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_trace_power_matches_dense(obs, k):
    m = obs.matrix()
    expected = np.trace(np.linalg.matrix_power(m, k)).real
    np.testing.assert_allclose(obs.trace_power(k), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("obs", [c for c in trace_cases() if isinstance(c, PauliSum)], ids=repr)
def test_pauli_algebra_trace_power_matches_dense(obs, k):
    expected = np.trace(np.linalg.matrix_power(obs.matrix(), k)).real
    np.testing.assert_allclose(_pauli_trace_power(obs, k), expected, rtol=RTOL, atol=1e-10)


def test_pauli_product_matches_matrix_product(rng):
    a, b = random_sum(rng, 3, 5), random_sum(rng, 3, 4)
    product = pauli_product(pauli_dict(a), pauli_dict(b))
    m = sum(c * PauliString(x, z, 3).matrix() for (x, z), c in product.items())
    np.testing.assert_allclose(m, a.matrix() @ b.matrix(), atol=ATOL)


def test_trace_power_rejects_negative_k():
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        xxz(2).trace_power(-1)


@pytest.mark.parametrize(
    "obs", [xxz(4), tfim(4, h=0.3), random_pauli_mixture(4, seed=2), haar_projector(3, seed=0)], ids=repr
)
def test_sparse_spectrum_extremes_match_dense(obs):
    eigs = np.linalg.eigvalsh(obs.matrix())
    np.testing.assert_allclose(_eigsh_extremes(obs), (eigs[0], eigs[-1]), atol=1e-10)


# --- JAX transformations --------------------------------------------------------------------


@pytest.mark.parametrize("obs", [xxz(3), haar_projector(3, seed=2)], ids=repr)
def test_jit_and_vmap_take_observables_as_arguments(rng, obs):
    psis = random_state(rng, 8, batch=(5,))
    expected = np.einsum("bi,ij,bj->b", psis.conj(), obs.matrix(), psis).real
    jitted = jax.jit(lambda o, psi: o.expval(psi))
    np.testing.assert_allclose([jitted(obs, psi) for psi in psis], expected, atol=ATOL)
    batched = jax.jit(jax.vmap(lambda o, psi: o.expval(psi), in_axes=(None, 0)))
    np.testing.assert_allclose(batched(obs, psis), expected, atol=ATOL)
    np.testing.assert_allclose(obs.expval(psis), expected, atol=ATOL)
    leaves, treedef = jax.tree_util.tree_flatten(obs)
    assert all(isinstance(leaf, (np.ndarray, jax.Array)) for leaf in leaves)  # NumPy until a jitted function takes them
    assert repr(jax.tree_util.tree_unflatten(treedef, leaves)) == repr(obs)


def test_observables_are_immutable():
    with pytest.raises(AttributeError, match="immutable"):
        xxz(2).coefs = (1.0,)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "word"),
    [
        ([[0.0, 1.0], [0.0, 0.0]], "Hermitian"),
        (np.eye(3), "power of two"),
        (np.ones((2, 4)), "square"),
        ([[np.nan, 0], [0, 1]], "non-finite"),
    ],
)
def test_dense_validation(matrix, word):
    with pytest.raises(ValueError, match=word):
        hermitian(matrix)


def test_non_hermitian_message_says_how_to_fix():
    with pytest.raises(ValueError, match=r"\(O \+ O\^dagger\)/2"):
        DenseObservable([[1.0, 2.0], [0.0, 1.0]])


@pytest.mark.parametrize(
    ("expr", "word"),
    [("0.5*XQ", "malformed"), ("XX + ZZZ", "lengths"), ("", "empty"), ("0.5**XX", "malformed")],
)
def test_malformed_expressions(expr, word):
    with pytest.raises(ValueError, match=word):
        pauli_sum(expr)


@pytest.mark.parametrize(
    ("spec", "n", "word"),
    [
        ("foo:bar=1", 3, "xxz, tfim, random, projector, pauli"),
        ("xxz:K=2", 3, "valid parameters are J, periodic"),
        ("xxz:J=abc", 3, "malformed"),
        ("xxz:periodic=maybe", 3, "true or false"),
        ("xxz", 1, "n_qubits must be >= 2 for a spin chain"),
        ("0.5*XX - ZZ", 3, "2 qubits but n_qubits is 3"),
        ("pauli:ZI", 3, "2 qubits but n_qubits is 3"),
        ("pauli:gamma=2", 2, "needs a Pauli label"),
        ("projector:plus", 2, "projector:zero"),
        ("random:terms=0", 2, "n_terms"),
    ],
)
def test_parse_observable_errors(spec, n, word):
    with pytest.raises(ValueError, match=word):
        parse_observable(spec, n)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"coefs": [1.0], "labels": ["XQ"]}, "malformed"),
        ({"coefs": [1j], "labels": ["X"]}, r"coefs\[0\]"),
        ({"coefs": [], "labels": []}, "non-empty"),
    ],
)
def test_pauli_sum_constructor_validation(kwargs, word):
    with pytest.raises(ValueError, match=word):
        PauliSum(**kwargs)


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda: projector(np.zeros(4)), "non-zero"),
        (lambda: projector(np.ones((2, 2))), "1-D"),
        (lambda: projector(np.ones(3)), "power of two"),
        (lambda: xxz(3, J=float("nan")), "J must be a finite"),
        (lambda: tfim(3, periodic="yes"), "periodic"),
        (lambda: random_pauli_mixture(3, seed=-1), "seed"),
        (lambda: xxz(3).apply(jnp.ones(4)), r"shape \(\.\.\., 8\)"),
    ],
)
def test_builder_validation(call, word):
    with pytest.raises(ValueError, match=word):
        call()


@pytest.mark.parametrize(
    ("spec", "reference"),
    [
        ("xxz", xxz(3)),
        ("xxz:J=2,periodic=false", xxz(3, J=2.0, periodic=False)),
        ("tfim:h=1.5", tfim(3, h=1.5)),
        ("random:terms=10,seed=3", random_pauli_mixture(3, 10, seed=3)),
        ("projector:seed=3", haar_projector(3, seed=3)),
        ("projector", haar_projector(3)),
        ("pauli:ZII,gamma=2", pauli_measurement("ZII", 2.0)),
        ("pauli:label=ZII,gamma=2", pauli_measurement("ZII", 2.0)),
        ("0.5*XXI - 1.0*ZII + 0.3*III", pauli_sum("0.5*XXI - 1.0*ZII + 0.3*III")),
        ("XXZ", pauli_sum("XXZ")),
    ],
)
def test_parse_observable_named_forms(spec, reference):
    obs = parse_observable(spec, 3)
    assert type(obs) is type(reference)
    np.testing.assert_array_equal(obs.matrix(), reference.matrix())


def test_observable_names():
    assert OBSERVABLES == ("xxz", "tfim", "random", "projector", "pauli")
