"""Independent dense numpy reference of qntk's circuits, observables and derivatives, shared by the tests.

Everything here is plain numpy / scipy: Pauli matrices are Kronecker products of 2 x 2 matrices, gates are
dense matrices and rotations are ``scipy.linalg.expm``. Nothing calls qntk's engine or its own matrix
builders (``PauliString.matrix()``, ``Observable.matrix()``, ...), so comparing against this module is an
independent check; a circuit or observable is only read through its public fields and arrays.

Conventions (those documented by qntk):

* Pauli labels are big-endian: character ``q`` of a label is the ``q``-th Kronecker factor, i.e. it acts on
  bit ``n - 1 - q`` of a basis index (qubit 0 is the most significant bit).
* A circuit of ``L`` layers with generators ``G_l``, gates ``W_l``, scale ``s`` and input unitary ``W_in``
  is the dense product

      U(phi) = W_L exp(-i s phi_L G_L) ... W_1 exp(-i s phi_1 G_1) W_in,

  with layer angles ``phi_l = theta_{p(l)} + a_l x_{f(l)}`` (``p(l) = -1`` / ``f(l) = -1``: no parameter /
  no feature on layer ``l``).
* ``<O>(phi) = <psi_0| U(phi)^dag O U(phi) |psi_0>``; its first and second derivatives are exact: the
  rotation of layer ``l`` is replaced by ``(-i s G_l) exp(-i s phi_l G_l)`` (and by its square on the
  diagonal of the Hessian).

This file is imported by name (``import dense_reference``) from tests in ``tests/`` and its subfolders:
pytest's default ``prepend`` import mode puts ``tests/`` on ``sys.path`` when it loads ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import reduce

import numpy as np
import scipy.linalg

# --- one-qubit matrices --------------------------------------------------------------------------

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1.0])
P0 = np.diag([1.0 + 0j, 0.0])  # |0><0|
P1 = np.diag([0.0 + 0j, 1.0])  # |1><1|
HADAMARD = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
PAULIS = {"I": I2, "X": X, "Y": Y, "Z": Z}


# --- Pauli strings and observables ---------------------------------------------------------------


def pauli_matrix(label: str) -> np.ndarray:
    """Dense matrix of a Pauli label such as ``"XYZ"``: character q is the q-th (leftmost = most
    significant) Kronecker factor."""
    return reduce(np.kron, [PAULIS[c] for c in label])


def pauli_label(x: int, z: int, n_qubits: int) -> str:
    """The label of the Pauli string with X mask ``x`` and Z mask ``z`` (qubit q is bit ``n - 1 - q``;
    X and Z on the same qubit make a Y)."""
    letters = []
    for q in range(n_qubits):
        bit = 1 << (n_qubits - 1 - q)
        letters.append({(0, 0): "I", (1, 0): "X", (0, 1): "Z", (1, 1): "Y"}[(int(x & bit != 0), int(z & bit != 0))])
    return "".join(letters)


def pauli_sum_matrix(coefs: Iterable[float], labels: Iterable[str]) -> np.ndarray:
    """``sum_t c_t P_t`` as a dense matrix."""
    return sum(c * pauli_matrix(lab) for c, lab in zip(coefs, labels))


def observable_matrix(obs) -> np.ndarray:
    """Dense matrix of a qntk observable, rebuilt from its fields: a Pauli sum (``coefs``, ``labels``) from
    Kronecker products, a dense observable (``data``) as its stored Hermitian matrix."""
    if hasattr(obs, "labels") and hasattr(obs, "coefs"):
        return pauli_sum_matrix(obs.coefs, obs.labels)
    if hasattr(obs, "data"):
        return np.asarray(obs.data)
    raise TypeError(f"no dense reference for an observable of type {type(obs).__name__}")


# --- gates -----------------------------------------------------------------------------------------


def embed(n_qubits: int, ops: Mapping[int, np.ndarray]) -> np.ndarray:
    """Tensor product with ``ops[q]`` on qubit q and the identity elsewhere (qubit 0 most significant).

    The identity takes the dtype of the given factors, so real factors give a real matrix."""
    eye = np.eye(2, dtype=np.result_type(*ops.values()) if ops else complex)
    return reduce(np.kron, [ops.get(q, eye) for q in range(n_qubits)])


def cnot(n_qubits: int, control: int, target: int) -> np.ndarray:
    """CNOT on ``n_qubits`` qubits: X on ``target`` when ``control`` is 1."""
    return embed(n_qubits, {control: P0}) + embed(n_qubits, {control: P1, target: X})


def cz(n_qubits: int, a: int, b: int) -> np.ndarray:
    """Controlled-Z between qubits ``a`` and ``b``."""
    return embed(n_qubits, {a: P0}) + embed(n_qubits, {a: P1, b: Z})


def swap(n_qubits: int, a: int, b: int) -> np.ndarray:
    """SWAP of qubits ``a`` and ``b``: ``(I I + X X + Y Y + Z Z) / 2``."""
    return sum(embed(n_qubits, {a: p, b: p}) for p in (I2, X, Y, Z)) / 2


TWO_QUBIT_GATES = {"cnot": cnot, "cz": cz, "swap": swap}


def gate_sequence(n_qubits: int, ops: Sequence[tuple[str, int, int]]) -> np.ndarray:
    """Product of named two-qubit gates ``(name, a, b)`` (cnot, cz, swap), ``ops[0]`` acting first
    (rightmost)."""
    u = np.eye(2**n_qubits, dtype=complex)
    for name, a, b in ops:
        u = TWO_QUBIT_GATES[name](n_qubits, a, b) @ u
    return u


def brickwork_unitary(n_qubits: int, rounds) -> np.ndarray:
    """``prod_r CZ_chain (u_{r,0} (x) ... (x) u_{r,n-1})`` for ``rounds`` of shape ``(depth, n, 2, 2)``, round 0
    acting first; ``CZ_chain`` is the product of the CZ gates on every bond ``(q, q + 1)``."""
    wall = gate_sequence(n_qubits, [("cz", q, q + 1) for q in range(n_qubits - 1)])
    u = np.eye(2**n_qubits, dtype=complex)
    for r in rounds:
        u = wall @ reduce(np.kron, list(r)) @ u
    return u


def signed_perm_matrix(perm, phase) -> np.ndarray:
    """Dense matrix of the signed permutation ``(W psi)[k] = phase[k] psi[perm[k]]``."""
    perm, phase = np.asarray(perm), np.asarray(phase)
    w = np.zeros((perm.size, perm.size), dtype=complex)
    w[np.arange(perm.size), perm] = phase
    return w


# --- random matrices and states -------------------------------------------------------------------


def random_unitary(rng: np.random.Generator, d: int) -> np.ndarray:
    """Haar-random ``d x d`` unitary: QR of a complex Gaussian matrix with the phases of R's diagonal fixed."""
    z = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


def random_hermitian(rng: np.random.Generator, d: int) -> np.ndarray:
    """Random ``d x d`` Hermitian matrix ``(A + A^dag) / 2`` with complex Gaussian ``A``."""
    a = rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))
    return (a + a.conj().T) / 2


def random_state(rng: np.random.Generator, d: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """Haar-random normalized states of dimension ``d``, shape ``batch + (d,)``."""
    psi = rng.standard_normal(batch + (d,)) + 1j * rng.standard_normal(batch + (d,))
    return psi / np.linalg.norm(psi, axis=-1, keepdims=True)


def random_states(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """``m`` Haar-random normalized states of dimension ``d``, shape ``(m, d)``."""
    return random_state(rng, d, (m,))


# --- a qntk Circuit, read through its fields -------------------------------------------------------


def reference_generators(c) -> list[np.ndarray]:
    """Dense generators G_l of a circuit: Pauli strings rebuilt from the X/Z masks, or diag(D_l)."""
    if c.generator_kind == "pauli":
        labels = [pauli_label(int(x), int(z), c.n_qubits) for x, z in zip(c.gen_x, c.gen_z)]
        return [pauli_matrix(lab) for lab in labels]
    return [np.diag(np.asarray(g)).astype(complex) for g in c.gen_diag]


def reference_gates(c) -> list[np.ndarray]:
    """Dense gates W_l of a circuit (dense, signed permutations, local gate lists, or identities)."""
    if c.gate_kind == "dense":
        return list(np.asarray(c.w))
    if c.gate_kind == "perm":
        return [signed_perm_matrix(p, f) for p, f in zip(c.w_perm, c.w_phase)]
    if c.gate_kind == "local":  # one block's gate lists, repeated
        block = [gate_sequence(c.n_qubits, ops) for *_, ops in c.program]
        return [block[l % len(block)] for l in range(c.n_layers)]
    if c.gate_kind == "brickwork":
        return [brickwork_unitary(c.n_qubits, rounds) for rounds in np.asarray(c.w_qubit)]
    return [np.eye(c.dim, dtype=complex)] * c.n_layers


def reference_angles(c, theta, features=None) -> np.ndarray:
    """Layer angles ``phi_l = theta_{p(l)} + a_l x_{f(l)}`` (absent parameter or feature: 0)."""
    pidx, fidx = np.asarray(c.param_index), np.asarray(c.feature_index)
    theta = np.asarray(theta)
    phi = np.where(pidx >= 0, theta[np.maximum(pidx, 0)], 0.0)
    if features is not None:
        x = np.asarray(features)
        phi = phi + np.where(fidx >= 0, np.asarray(c.feature_scale) * x[np.maximum(fidx, 0)], 0.0)
    return phi


def param_map(c) -> np.ndarray:
    """P[l, p] = 1 if layer l is driven by parameter p (d theta-derivatives = P^T d phi-derivatives)."""
    pidx = np.asarray(c.param_index)
    return (pidx[:, None] == np.arange(c.n_params)[None, :]).astype(float)


def initial_state(c, state=None) -> np.ndarray:
    """``W_in |psi_0>``, with ``|psi_0> = |0...0>`` when ``state`` is None (no ``W_in``: identity)."""
    psi0 = np.eye(c.dim, dtype=complex)[0] if state is None else np.asarray(state, complex)
    if c.w_in is not None:
        psi0 = np.asarray(c.w_in) @ psi0
    return psi0


# --- dense products, expectation values and exact derivatives ---------------------------------------


def dense_product(gens, gates, phi, scale, w_in=None) -> np.ndarray:
    """``W_L exp(-i s phi_L G_L) ... W_1 exp(-i s phi_1 G_1) W_in`` (no ``W_in``: identity)."""
    d = gens[0].shape[0]
    u = np.eye(d, dtype=complex) if w_in is None else np.asarray(w_in, dtype=complex)
    for g, w, p in zip(gens, gates, phi):
        u = w @ scipy.linalg.expm(-1j * scale * p * g) @ u
    return u


def reference_unitary(c, phi) -> np.ndarray:
    """Dense ``U(phi)`` of a circuit, ``W_in`` included."""
    w_in = None if c.w_in is None else np.asarray(c.w_in)
    return dense_product(reference_generators(c), reference_gates(c), phi, c.scale, w_in)


def dense_derivatives(gens, gates, phi, scale, obs_m, psi0, order=2):
    """Exact ``(<O>, d<O>/dphi, d^2<O>/dphi^2)`` of ``|psi> = W_L exp(-i s phi_L G_L) ... |psi0>``.

    The derivatives substitute ``(-i s G_l) exp(-i s phi_l G_l)`` for the rotation of layer l (its square
    on the diagonal of the Hessian). ``order=0`` returns ``(<O>, None, None)``."""
    rot = [scipy.linalg.expm(-1j * scale * p * g) for g, p in zip(gens, phi)]
    d1 = [(-1j * scale * g) @ r for g, r in zip(gens, rot)]
    d2 = [(-1j * scale * g) @ (-1j * scale * g) @ r for g, r in zip(gens, rot)]

    def run(sub):
        v = psi0
        for l in range(len(gens)):
            v = gates[l] @ (sub.get(l, rot[l]) @ v)
        return v

    v = run({})
    value = float(np.real(v.conj() @ obs_m @ v))
    if order == 0:
        return value, None, None
    L = len(gens)
    va = [run({a: d1[a]}) for a in range(L)]
    grad = np.array([2 * np.real(v.conj() @ obs_m @ va[a]) for a in range(L)])
    hess = np.zeros((L, L))
    for a in range(L):
        for b in range(L):
            vab = run({a: d2[a]}) if a == b else run({a: d1[a], b: d1[b]})
            hess[a, b] = 2 * np.real(va[b].conj() @ obs_m @ va[a] + v.conj() @ obs_m @ vab)
    return value, grad, hess


def dense_expval(gens, gates, phi, scale, obs_m, psi0) -> float:
    """``<psi0| U^dag O U |psi0>`` with ``U = W_L exp(-i s phi_L G_L) ... W_1 exp(-i s phi_1 G_1)``."""
    return dense_derivatives(gens, gates, phi, scale, obs_m, psi0, order=0)[0]


def reference_derivatives_phi(c, obs_m, phi, state=None, order=2):
    """Exact ``<O>``, ``d<O>/dphi``, ``d^2<O>/dphi^2`` of a circuit as functions of its layer angles."""
    return dense_derivatives(
        reference_generators(c), reference_gates(c), phi, c.scale, obs_m, initial_state(c, state), order
    )


def reference_expval_phi(c, obs_m, phi, state=None) -> float:
    """``<psi_0| U(phi)^dag O U(phi) |psi_0>`` of a circuit as a function of the layer angles."""
    return reference_derivatives_phi(c, obs_m, phi, state, order=0)[0]


def reference_residual(c, obs, theta, target=0.0, state=None, features=None):
    """``(eps, d eps/d theta, d^2 eps/d theta^2)`` with ``eps = <O> - target``, from the dense reference."""
    phi = reference_angles(c, theta, features)
    value, g_phi, h_phi = reference_derivatives_phi(c, observable_matrix(obs), phi, state)
    p = param_map(c)
    return value - target, p.T @ g_phi, p.T @ h_phi @ p
