"""Tests for qntk.models.circuits, qntk.models.ansatze and the engine's unitary.

Every circuit is checked against the independent dense reference of ``tests/dense_reference.py`` (numpy
Kronecker products and ``scipy.linalg.expm``):

    U = W_L exp(-i s phi_L G_L) ... W_1 exp(-i s phi_1 G_1) W_in,

with Pauli labels big-endian (character q is the q-th Kronecker factor, i.e. bit n-1-q of an index).
"""

import re
from functools import reduce

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from dense_reference import (
    HADAMARD,
    PAULIS,
    X,
    Z,
    brickwork_unitary,
    dense_product,
    embed,
    gate_sequence,
    pauli_matrix,
    random_hermitian,
    random_unitary,
    reference_angles,
    reference_unitary,
    signed_perm_matrix,
)

import qntk  # noqa: F401  (enables x64)
from qntk._sim import engine
from qntk.models import ansatze, circuits, observables

EXACT = 1e-12  # float64 round-off on products of <= 12 unitaries with O(1) entries
SCALES = [0.5, 1.0, -1.0]
# Random ansatze are drawn only with (n, L) in {(2, 5), (3, 4)}: ansatze.haar_unitaries compiles once per
# (count, dim), about 2 s each on CPU, so reusing shapes keeps the suite fast.

_unitary = jax.jit(engine.unitary)  # eager scans recompile on every call; jit caches per circuit structure


def engine_unitary(c: circuits.Circuit, phi) -> np.ndarray:
    return np.asarray(_unitary(c, jnp.asarray(phi, dtype=jnp.float64)))


def assert_unitary(u: np.ndarray) -> None:
    np.testing.assert_allclose(u.conj().T @ u, np.eye(u.shape[0]), rtol=0, atol=EXACT)


# --- permutation gates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, ops",
    [
        (2, [("cnot", 0, 1)]),
        (2, [("cnot", 1, 0)]),
        (2, [("cz", 0, 1)]),
        (2, [("swap", 0, 1)]),
        (3, [("cnot", 0, 2), ("cnot", 1, 2)]),
        (3, [("swap", 0, 2), ("cz", 0, 1)]),
        (3, [("cnot", 0, 1), ("swap", 1, 2), ("cz", 0, 2), ("cnot", 2, 0), ("CNOT", 1, 0)]),
    ],
)
def test_permutation_gate_equals_dense_product(n, ops):
    """permutation_gate(ops) is the product of dense CNOT/CZ/SWAP matrices, ops[0] acting first."""
    perm, phase = circuits.permutation_gate(n, ops)
    ops_lower = [(name.lower(), a, b) for name, a, b in ops]
    np.testing.assert_allclose(signed_perm_matrix(perm, phase), gate_sequence(n, ops_lower), rtol=0, atol=EXACT)


def test_permutation_gate_order_matters():
    """Reversing non-commuting ops changes the gate, so the order test above can fail."""
    ops = [("cnot", 0, 1), ("swap", 1, 2), ("cz", 0, 2)]
    forward = signed_perm_matrix(*circuits.permutation_gate(3, ops))
    backward = gate_sequence(3, ops[::-1])
    assert np.max(np.abs(forward - backward)) > 0.5


def test_permutation_gate_docstring_convention():
    """CNOT(control 0, target 1) on 2 qubits maps |10> -> |11> (qubit 0 = most significant bit)."""
    perm, phase = circuits.permutation_gate(2, [("cnot", 0, 1)])
    psi = np.zeros(4, complex)
    psi[0b10] = 1.0
    out = phase * psi[perm]
    np.testing.assert_array_equal(np.abs(out), np.eye(4)[0b11])


@pytest.mark.parametrize(
    "ops, match",
    [([("toffoli", 0, 1)], "unknown gate"), ([("cnot", 1, 1)], "distinct qubits"), ([("cz", 0, 3)], "distinct qubits")],
)
def test_permutation_gate_rejects_bad_ops(ops, match):
    """Unknown gate names and invalid qubit pairs raise a ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        circuits.permutation_gate(3, ops)


# --- engine unitary vs dense reference ---------------------------------------------------------


ANSATZ_CASES = {
    "rpa-3q": lambda: ansatze.rpa(3, 4, seed=1),
    "rpa-full-s-1": lambda: ansatze.rpa(2, 5, seed=2, scale=-1.0, paulis="full"),
    "rpa-local-3q": lambda: ansatze.rpa_local(3, 4, seed=1, depth=2),
    "rpa-local-full-s-1": lambda: ansatze.rpa_local(2, 5, seed=2, scale=-1.0, paulis="full"),
    "rpa-local-5q": lambda: ansatze.rpa_local(5, 2, seed=3, depth=3),  # qubits in groups of 3 and 2 (local.QUBIT_GROUP)
    "hea-3q": lambda: ansatze.hea(3, 2),
    "hea-1q": lambda: ansatze.hea(1, 3),
    "periodic-2q": lambda: ansatze.periodic(2, 5, seed=3),
    "periodic-3q": lambda: ansatze.periodic(3, 4, seed=1),
    "hva-3q": lambda: ansatze.hva(3, 2),
    "hva-2q-open": lambda: ansatze.hva(2, 3, periodic_bc=False),
    "reuploading-high": lambda: ansatze.reuploading(2, 2, n_features=2, frequency="high"),
    "reuploading-low": lambda: ansatze.reuploading(3, 1),
}


@pytest.mark.parametrize("name", list(ANSATZ_CASES))
def test_ansatz_unitary_is_unitary_and_matches_reference(name, rng):
    """engine.unitary of every built-in ansatz is unitary and equals the dense product of its fields."""
    c = ANSATZ_CASES[name]()
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    x = rng.uniform(-1, 1, c.n_features) if c.n_features else None
    phi = reference_angles(c, theta, x)
    np.testing.assert_allclose(np.asarray(engine.layer_angles(c, jnp.asarray(theta), x)), phi, rtol=0, atol=EXACT)
    u = engine_unitary(c, phi)
    assert_unitary(u)
    np.testing.assert_allclose(u, reference_unitary(c, phi), rtol=0, atol=EXACT)


def _brick_wall_ops(n: int):
    return [("cnot", q, q + 1) for q in range(0, n - 1, 2)] + [("cnot", q, q + 1) for q in range(1, n - 1, 2)]


def _rot(n: int, q: int, letter: str, angle: float, s: float) -> np.ndarray:
    return scipy.linalg.expm(-1j * s * angle * embed(n, {q: PAULIS[letter]}))


@pytest.mark.parametrize("n, blocks, s", [(1, 2, 0.5), (2, 2, 0.5), (3, 1, 1.0)])
def test_hea_matches_textbook_construction(n, blocks, s, rng):
    """hea = per block RY on every qubit, RZ on every qubit, then a CNOT brick wall (even, odd bonds)."""
    c = ansatze.hea(n, blocks, scale=s)
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    u, p = np.eye(2**n, dtype=complex), 0
    for _ in range(blocks):
        for letter in "YZ":
            for q in range(n):
                u = _rot(n, q, letter, theta[p], s) @ u
                p += 1
        u = gate_sequence(n, _brick_wall_ops(n)) @ u
    assert c.n_params == p == 2 * n * blocks
    np.testing.assert_allclose(engine_unitary(c, theta), u, rtol=0, atol=EXACT)


@pytest.mark.parametrize("n, blocks, periodic_bc", [(2, 2, True), (3, 2, True), (3, 1, False)])
def test_hva_matches_textbook_construction(n, blocks, periodic_bc, rng):
    """hva = H^n|0>, then per block exp(-i s beta sum ZZ) and exp(-i s gamma sum X) (folded generators)."""
    s = 1.0
    c = ansatze.hva(n, blocks, scale=s, periodic_bc=periodic_bc)
    bonds = [(q, q + 1) for q in range(n - 1)] + ([(n - 1, 0)] if periodic_bc and n > 2 else [])
    h_zz = sum(embed(n, {a: Z, b: Z}) for a, b in bonds)
    h_x = sum(embed(n, {q: X}) for q in range(n))
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    u = reduce(np.kron, [HADAMARD] * n)
    for b in range(blocks):
        u = scipy.linalg.expm(-1j * s * theta[2 * b] * h_zz) @ u
        u = scipy.linalg.expm(-1j * s * theta[2 * b + 1] * h_x) @ u
    np.testing.assert_allclose(engine_unitary(c, theta), u, rtol=0, atol=EXACT)


@pytest.mark.parametrize("n, blocks, n_features, frequency, enc",
                         [(2, 2, 2, "high", 1.0), (3, 1, 1, "low", 1.0), (2, 1, 1, "high", 1.0), (2, 2, 1, "low", 0.3)])
def test_reuploading_matches_textbook_construction(n, blocks, n_features, frequency, enc, rng):
    """reuploading = per block RX(a_q x_{q mod F}) on every qubit (a_q = c or c 2^q, c the encoding scale), then
    a HEA block (RY, RZ, CNOT wall)."""
    s = 0.5
    c = ansatze.reuploading(n, blocks, n_features=n_features, frequency=frequency, encoding_scale=enc, scale=s)
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    x = rng.uniform(-1, 1, n_features)
    u, p = np.eye(2**n, dtype=complex), 0
    for _ in range(blocks):
        for q in range(n):
            a = enc * (1.0 if frequency == "low" else 2.0**q)
            u = _rot(n, q, "X", a * x[q % n_features], s) @ u
        for letter in "YZ":
            for q in range(n):
                u = _rot(n, q, letter, theta[p], s) @ u
                p += 1
        u = gate_sequence(n, _brick_wall_ops(n)) @ u
    assert (c.n_params, c.n_features) == (p, n_features)
    phi = np.asarray(engine.layer_angles(c, jnp.asarray(theta), jnp.asarray(x)))
    np.testing.assert_allclose(engine_unitary(c, phi), u, rtol=0, atol=EXACT)


@pytest.mark.parametrize("n, block", [(3, "hea"), (2, "hea"), (3, "hva"), (2, "hva")])
def test_reuploading_blocks_of_003_match_textbook_construction(n, block, rng):
    """block="hea": RX, RZ, RX on every qubit then CNOT(q, q+1 mod n); block="hva": exp(-i s beta sum ZZ) on the
    ring bonds then exp(-i s gamma sum X), one parameter per sum."""
    s, blocks = 0.5, 2
    c = ansatze.reuploading(n, blocks, block=block, encoding_scale=0.7, scale=s)
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    x = rng.uniform(-1, 1, 1)
    u, p = np.eye(2**n, dtype=complex), 0
    bonds = [(q, (q + 1) % n) for q in range(n if n > 2 else 1)]
    for _ in range(blocks):
        for q in range(n):
            u = _rot(n, q, "X", 0.7 * x[0], s) @ u
        if block == "hea":
            for letter in "XZX":
                for q in range(n):
                    u = _rot(n, q, letter, theta[p], s) @ u
                    p += 1
            u = gate_sequence(n, [("cnot", a, b) for a, b in bonds]) @ u
        else:
            for a, b in bonds:
                zz = pauli_matrix("".join("Z" if q in (a, b) else "I" for q in range(n)))
                u = (np.cos(s * theta[p]) * np.eye(2**n) - 1j * np.sin(s * theta[p]) * zz) @ u
            for q in range(n):
                u = _rot(n, q, "X", theta[p + 1], s) @ u
            p += 2
    assert c.n_params == p
    phi = np.asarray(engine.layer_angles(c, jnp.asarray(theta), jnp.asarray(x)))
    np.testing.assert_allclose(engine_unitary(c, phi), u, rtol=0, atol=EXACT)


def _random_labels(rng, n, count):
    labels = []
    while len(labels) < count:
        lab = "".join(rng.choice(list("IXYZ"), size=n))
        if set(lab) != {"I"}:
            labels.append(lab)
    return labels


def _gates_for(kind: str, rng, n: int, L: int):
    """(gates argument, dense list of W_l) for a gate kind."""
    d = 2**n
    if kind == "dense":
        w = np.stack([random_unitary(rng, d) for _ in range(L)])
        return w, list(w)
    if kind == "perm":
        pool = [("cnot", 0, 1), ("cz", 0, n - 1), ("swap", 0, n - 1), ("cnot", n - 1, 0)]
        ops_per_layer = [[pool[(l + j) % len(pool)] for j in range(1 + l % 3)] for l in range(L)]
        pairs = [circuits.permutation_gate(n, ops) for ops in ops_per_layer]
        gates = (np.stack([p for p, _ in pairs]), np.stack([f for _, f in pairs]))
        return gates, [gate_sequence(n, ops) for ops in ops_per_layer]
    if kind == "local":
        pool = [("cnot", 0, 1), ("cz", 0, n - 1), ("swap", 0, n - 1), ("cnot", n - 1, 0)]
        ops_per_layer = [[pool[(l + j) % len(pool)] for j in range(l % 3)] for l in range(L)]
        return circuits.local_gates(n, ops_per_layer), [gate_sequence(n, ops) for ops in ops_per_layer]
    if kind == "brickwork":  # two rounds of random single-qubit gates and CZ walls per layer
        u = np.stack([random_unitary(rng, 2) for _ in range(L * 2 * n)]).reshape(L, 2, n, 2, 2)
        return circuits.brickwork_gates(n, u), [brickwork_unitary(n, rounds) for rounds in u]
    return None, [np.eye(d, dtype=complex)] * L


# Every (gate kind, scale) on 2 qubits, W_in on for s != 0.5; every gate kind on 3 qubits. (Each case is
# one compilation of the engine: scale and kinds are static.)
FROM_PAULIS_CASES = [(2, 5, kind, s, s != 0.5) for kind in circuits.GATE_KINDS for s in SCALES] + [
    (3, 4, kind, 1.0, True) for kind in circuits.GATE_KINDS
]


@pytest.mark.parametrize("n, L, gate_kind, scale, with_w_in", FROM_PAULIS_CASES)
def test_from_paulis_unitary_matches_reference(n, L, gate_kind, scale, with_w_in, rng):
    """from_paulis: engine unitary == dense product from the chosen labels and gates (and W_in)."""
    labels = _random_labels(rng, n, L)
    gates, dense = _gates_for(gate_kind, rng, n, L)
    phi = rng.uniform(-np.pi, np.pi, L)
    w_in = random_unitary(rng, 2**n) if with_w_in else None
    c = circuits.from_paulis(labels, gates, scale=scale, w_in=w_in)
    assert (c.n_qubits, c.n_layers, c.n_params, c.generator_kind, c.gate_kind) == (n, L, L, "pauli", gate_kind)
    u = engine_unitary(c, phi)
    assert_unitary(u)
    ref = dense_product([pauli_matrix(lab) for lab in labels], dense, phi, scale, w_in)
    np.testing.assert_allclose(u, ref, rtol=0, atol=EXACT)


def test_local_circuit_scans_one_block_and_stores_nothing_of_size_d():
    """A hardware-efficient circuit is local: its structure is one block of static layers (2 n of them for
    the HEA), repeated; no array of the circuit grows with d, so 20 qubits fit."""
    c = ansatze.hea(20, 3)
    assert c.gate_kind == "local" and len(c.program) == 40 and c.n_layers == 120
    assert max(np.size(leaf) for leaf in jax.tree.leaves(c)) == c.n_layers
    assert ansatze.reuploading(3, 2, block="hva").gate_kind == "local"


def test_local_gates_fall_back_to_tables_for_wide_generators():
    """A generator on more than LOCAL_MAX_SUPPORT qubits keeps the gates as signed-permutation tables."""
    n = circuits.LOCAL_MAX_SUPPORT + 1
    c = circuits.from_paulis(["X" * n, "Z" + "I" * (n - 1)], circuits.local_gates(n, [[("cnot", 0, 1)], []]))
    assert c.gate_kind == "perm" and c.program is None
    np.testing.assert_allclose(np.asarray(c.w_perm[0]), circuits.permutation_gate(n, [("cnot", 0, 1)])[0])


def test_rpa_local_stores_no_d_sized_array_and_draws_the_paulis_of_rpa():
    """rpa-local at 20 qubits stores O(L depth n) numbers (no d x d gate), depth 2 n by default; with one seed it
    draws the Pauli generators of rpa (only the W_l differ)."""
    c = ansatze.rpa_local(20, 3, seed=5)
    assert c.gate_kind == "brickwork" and c.w_qubit.shape == (3, 40, 20, 2, 2) and c.w is None
    assert max(np.size(leaf) for leaf in jax.tree.leaves(c)) == 3 * 40 * 20 * 4
    small, dense = ansatze.rpa_local(3, 4, seed=1, depth=2), ansatze.rpa(3, 4, seed=1)
    for field in ("gen_x", "gen_z", "gen_ny"):
        np.testing.assert_array_equal(np.asarray(getattr(small, field)), np.asarray(getattr(dense, field)))


def test_brickwork_rounds_are_not_interchangeable(rng):
    """Positive control of the reference comparison: W depends on the order of the rounds and on which qubit
    gets which single-qubit gate."""
    u = np.stack([random_unitary(rng, 2) for _ in range(6)]).reshape(2, 3, 2, 2)
    w = circuits.brickwork_matrix(u)
    np.testing.assert_allclose(w, brickwork_unitary(3, u), rtol=0, atol=EXACT)
    assert np.max(np.abs(w - brickwork_unitary(3, u[::-1]))) > 0.1
    assert np.max(np.abs(w - brickwork_unitary(3, u[:, ::-1]))) > 0.1


def test_brickwork_compiles_the_same_program_at_any_depth_and_length():
    """The layers and the rounds of a brickwork circuit are scanned over: the compiled gradient program of rpa-local
    is the same, up to array sizes, at L and 4 L layers and at depth 1 and 4 (compile time flat in both)."""
    obs = observables.xxz(4)

    def program(L, depth):
        c = ansatze.rpa_local(4, L, seed=0, depth=depth)
        text = jax.jit(engine.expval_and_grad).lower(c, obs, jnp.zeros(L)).as_text()
        return sorted(re.findall(r"= ([a-z_]+\.[a-z_]+)", text))  # the operations, without their shapes

    assert program(6, 2) == program(24, 2) == program(6, 8)


@pytest.mark.parametrize(("ops", "match"), [([[("cnot", 0, 5)]], "distinct qubits"), ([[("iswap", 0, 1)]], "unknown gate"),
                                            ([[("cnot", 0)]], "not \\(name, qubit, qubit\\)")])
def test_local_gates_reject_bad_ops(ops, match):
    with pytest.raises(ValueError, match=match):
        circuits.local_gates(3, ops)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("gate_kind", ["dense", "perm", "brickwork", "none"])
def test_from_diagonal_unitary_matches_reference(gate_kind, scale, rng):
    """from_diagonal: engine unitary == dense product with diag(D_l) generators."""
    n, L = 2, 5
    diags = rng.normal(size=(L, 2**n))
    gates, dense = _gates_for(gate_kind, rng, n, L)
    w_in = random_unitary(rng, 2**n)
    c = circuits.from_diagonal(diags, gates, scale=scale, w_in=w_in)
    phi = rng.uniform(-np.pi, np.pi, L)
    u = engine_unitary(c, phi)
    assert_unitary(u)
    ref = dense_product([np.diag(d) for d in diags], dense, phi, scale, w_in)
    np.testing.assert_allclose(u, ref, rtol=0, atol=EXACT)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("gate_kind", ["dense", "perm", "brickwork", "none"])
@pytest.mark.parametrize("with_w_in", [True, False])
def test_from_hermitian_unitary_matches_reference(gate_kind, scale, with_w_in, rng):
    """from_hermitian folds V_l into the gates; the unitary equals the product with the original G_l, W_l, W_in."""
    n, L = 2, 4
    d = 2**n
    gens = np.stack([random_hermitian(rng, d) for _ in range(L)])
    gates, dense = _gates_for(gate_kind, rng, n, L)
    w_in = random_unitary(rng, d) if with_w_in else None
    c = circuits.from_hermitian(gens, gates, scale=scale, w_in=w_in)
    assert (c.generator_kind, c.gate_kind) == ("diagonal", "dense")
    phi = rng.uniform(-np.pi, np.pi, L)
    u = engine_unitary(c, phi)
    assert_unitary(u)
    np.testing.assert_allclose(u, dense_product(list(gens), dense, phi, scale, w_in), rtol=0, atol=EXACT)


def test_evolve_applies_unitary_to_input_state(rng):
    """engine.evolve(c, phi, state) == U W_in |state> for an arbitrary normalized input state."""
    c = ansatze.periodic(2, 5, seed=5)
    phi = rng.uniform(0, 2 * np.pi, 5)
    psi = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    psi /= np.linalg.norm(psi)
    out = np.asarray(engine.evolve(c, jnp.asarray(phi), jnp.asarray(psi)))
    np.testing.assert_allclose(out, reference_unitary(c, phi) @ psi, rtol=0, atol=EXACT)


def test_shared_parameters_and_features_map_to_layer_angles(rng):
    """phi_l = theta_{p(l)} + a_l x_{f(l)}: shared parameters and encoded features land on the right layers."""
    c = circuits.from_paulis(
        ["XY", "ZZ", "YX", "XI"],
        param_index=[0, 1, 0, -1],
        feature_index=[-1, 0, 1, 1],
        feature_scale=[0.0, 2.0, -1.0, 3.0],
    )
    assert (c.n_params, c.n_features) == (2, 2)
    theta, x = np.array([0.3, -0.7]), np.array([0.11, 0.5])
    expected = [0.3, -0.7 + 2.0 * 0.11, 0.3 - 0.5, 3.0 * 0.5]
    phi = engine.layer_angles(c, jnp.asarray(theta), jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(phi), expected, rtol=0, atol=EXACT)
    with pytest.raises(ValueError, match="features"):
        engine.layer_angles(c, jnp.asarray(theta))


# --- seeds, stacking -----------------------------------------------------------------------------


def _leaves_equal(a: circuits.Circuit, b: circuits.Circuit) -> bool:
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    return ta == tb and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


@pytest.mark.parametrize("builder", [lambda s: ansatze.rpa(3, 4, seed=s), lambda s: ansatze.periodic(2, 5, seed=s)])
def test_same_seed_same_circuit_different_seed_different(builder):
    """A random ansatz is a deterministic function of its seed, and different seeds give different circuits."""
    assert _leaves_equal(builder(7), builder(7))
    assert not _leaves_equal(builder(7), builder(8))


def test_ansatz_object_draws_seeded_circuits():
    """Ansatz('rpa').circuit(seed) reproduces rpa(seed); non-random ansatze ignore the seed."""
    a = ansatze.Ansatz("rpa", 2, 5)
    assert a.is_random and _leaves_equal(a.circuit(seed=3), ansatze.rpa(2, 5, seed=3))
    h = ansatze.Ansatz("hea", 2, 2)
    assert not h.is_random and _leaves_equal(h.circuit(seed=1), h.circuit(seed=2))


def test_stack_and_index_round_trip():
    """stack() adds a leading ensemble axis and index() recovers each member exactly."""
    members = [ansatze.rpa(2, 5, seed=s) for s in (1, 2, 3)]
    ens = circuits.stack(members)
    assert ens.ensemble_shape == (3,) and ens.n_layers == 5 and ens.w.shape == (3, 5, 4, 4)
    for i, m in enumerate(members):
        assert _leaves_equal(circuits.index(ens, i), m)
    with pytest.raises(ValueError, match="empty"):
        circuits.stack([])


# --- bad input -----------------------------------------------------------------------------------


def _bad_inputs():
    eye4 = np.tile(np.eye(4, dtype=complex), (2, 1, 1))
    not_herm = np.stack([np.array([[0, 1], [0, 0]], complex)] * 2)
    return {
        "non-hermitian generator": (lambda: circuits.from_hermitian(not_herm), "Hermitian"),
        "generator shape": (lambda: circuits.from_hermitian(np.zeros((2, 2, 3))), "shape"),
        "gates wrong L": (lambda: circuits.from_paulis(["XY", "ZZ"], eye4[:1]), "shape"),
        "gates wrong d": (lambda: circuits.from_paulis(["XY", "ZZ"], np.tile(np.eye(2), (2, 1, 1))), "shape"),
        "perm gates wrong shape": (
            lambda: circuits.from_paulis(["XY", "ZZ"], (np.zeros((2, 3)), np.ones((2, 3)))),
            "shape",
        ),
        "perm not a permutation": (
            lambda: circuits.from_paulis(["XY", "ZZ"], (np.zeros((2, 4), int), np.ones((2, 4)))),
            "permutation",
        ),
        "non-unitary gates": (lambda: circuits.from_paulis(["XY", "ZZ"], 2 * eye4), "not unitary"),
        "non-unitary w_in": (lambda: circuits.from_diagonal(np.ones((2, 4)), w_in=2 * np.eye(4)), "not unitary"),
        "L = 0 rpa": (lambda: ansatze.rpa(2, 0), "n_layers"),
        "L = 0 from_paulis": (lambda: circuits.from_paulis([]), "non-empty"),
        "L = 0 from_diagonal": (lambda: circuits.from_diagonal(np.zeros((0, 4))), "L >= 1"),
        "unknown ansatz": (lambda: ansatze.Ansatz("foo", 2, 3), "unknown ansatz"),
        "unknown ansatz option": (lambda: ansatze.Ansatz("hea", 2, 3, {"colour": 1}), "unknown option"),
        "malformed label": (lambda: circuits.from_paulis(["XQ", "ZZ"]), "malformed"),
        "mixed label lengths": (lambda: circuits.from_paulis(["XY", "ZZZ"]), "same number of qubits"),
        "identity generator": (lambda: circuits.from_paulis(["XY", "II"]), "identity"),
        "scale = 0": (lambda: circuits.from_paulis(["XY"], scale=0.0), "scale"),
        "scale = 0 ansatz": (lambda: ansatze.rpa(2, 5, scale=0), "scale"),
        "nan scale": (lambda: circuits.from_paulis(["XY"], scale=float("nan")), "scale"),
        "complex diagonal": (lambda: circuits.from_diagonal(np.ones((2, 4)) * 1j), "real"),
        "diagonal dim": (lambda: circuits.from_diagonal(np.ones((2, 3))), "power of two"),
        "param_index shape": (lambda: circuits.from_paulis(["XY", "ZZ"], param_index=[0]), "param_index"),
        "param_index gap": (lambda: circuits.from_paulis(["XY", "ZZ"], param_index=[0, 2]), "every parameter"),
        "no trainable layer": (lambda: circuits.from_paulis(["XY", "ZZ"], param_index=[-1, -1]), "no trainable"),
        "bad seed": (lambda: ansatze.rpa(2, 3, seed=1.5), "seed"),
        "bad paulis group": (lambda: ansatze.rpa(2, 3, paulis="abc"), "paulis"),
        "rpa-local depth 0": (lambda: ansatze.rpa_local(2, 3, depth=0), "depth must be an integer >= 1"),
        "rpa-local depth option": (lambda: ansatze.Ansatz("rpa-local", 2, 3, {"depth": 1.5}), "depth"),
        "brickwork shape": (lambda: circuits.brickwork_gates(3, np.ones((2, 1, 2, 2, 2))), "shape \\(L, depth, 3, 2, 2\\)"),
        "brickwork not unitary": (lambda: circuits.brickwork_gates(2, 2 * np.tile(np.eye(2), (1, 1, 2, 1, 1))), "not unitary"),
        "brickwork layers": (lambda: circuits.from_paulis(["XY", "ZZ"], circuits.brickwork_gates(2, np.tile(np.eye(2), (3, 1, 2, 1, 1)))),
                             "one set of rounds per layer"),
        "bad frequency": (lambda: ansatze.reuploading(2, 1, frequency="mid"), "frequency"),
        "hva one qubit": (lambda: ansatze.hva(1, 2), "n_qubits >= 2"),
        "periodic generator shape": (lambda: ansatze.periodic(2, 2, generator=np.ones(3)), "generator"),
        "zero qubits": (lambda: ansatze.hea(0, 2), "n_qubits"),
    }


BAD = _bad_inputs()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_helpful_value_error(case):
    """Each malformed argument raises ValueError whose message names the problem."""
    build, match = BAD[case]
    with pytest.raises(ValueError, match=match):
        build()
