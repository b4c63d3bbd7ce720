"""Reference implementation of the random Pauli ansatz in TensorCircuit, for benchmarks only.

qntk times itself against the way the RPA is usually written with TensorCircuit and JAX: one
``Circuit`` per call, each layer an ``exp1`` rotation about the full ``n``-qubit Pauli string
followed by an ``any`` gate carrying the fixed Haar unitary, the energy as a sum of
``expectation_ps`` terms, and ``jax.jit(jax.vmap(jax.value_and_grad(energy)))`` over a batch of
angle vectors. The ``W_l`` and the Pauli matrices are closed over as constants, so the traced
program, and with it the compile time, grows with the number of layers ``L``.

TensorCircuit-ng is an optional dependency (``pip install 'qntk[bench]'``); it is imported only
when :func:`tensorcircuit_rpa_step` is called.

Conventions shared with :mod:`qntk.models.pauli`: character ``q`` of a Pauli label acts on qubit
``q``, and TensorCircuit's qubit 0 is the most significant bit of a state-vector index
(big-endian), so a ``d x d`` matrix built as ``kron(A_0, A_1, ..., A_{n-1})`` acts as ``A_q`` on
qubit ``q`` when handed to ``Circuit.any(0, ..., n - 1, unitary=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import numpy as np

_PAULI_1Q = {
    "I": np.eye(2, dtype=np.complex128),
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}

_MISSING_TC = "the reference benchmark needs TensorCircuit-ng: pip install 'qntk[bench]'"


def _check_label(label: str, n_qubits: int, what: str) -> str:
    label = label.strip().upper()
    if len(label) != n_qubits or any(c not in "IXYZ" for c in label):
        raise ValueError(
            f"{what} {label!r} is malformed: it needs exactly {n_qubits} letters from I, X, Y, Z "
            "(character q acts on qubit q)."
        )
    return label


def _pauli_matrix(label: str) -> np.ndarray:
    """Dense matrix of a Pauli label, character ``q`` on qubit ``q`` (big-endian kron order)."""
    return reduce(np.kron, (_PAULI_1Q[c] for c in label))


def tensorcircuit_rpa_step(
    paulis: list[str],
    unitaries: np.ndarray,
    obs_terms: list[tuple[float, str]],
    scale: float = 0.5,
) -> Callable:
    """Builds the TensorCircuit reference for one batched RPA energy-and-gradient step.

    The circuit is ``U(theta) = W_L V_L(theta_L) ... W_1 V_1(theta_1)`` acting on ``|0...0>``,
    with ``V_l(theta) = exp(-i * scale * theta * P_l)`` and ``W_l = unitaries[l]`` applied after
    the rotation of layer ``l``. The energy is ``Re <psi| sum_t coef_t P(label_t) |psi>``.

    Calling this sets TensorCircuit's global backend to ``"jax"`` and its global dtype to
    ``"complex128"`` (which also turns on ``jax_enable_x64``, as importing qntk already does); it
    leaves them so and changes no other global state.

    Args:
        paulis: ``L`` Pauli labels such as ``"XYZ"``, one per layer, each of length ``n``.
        unitaries: the fixed unitaries ``W_l``, shape ``(L, d, d)`` with ``d = 2**n``.
        obs_terms: the observable as ``(coef, label)`` pairs; all-identity labels add ``coef``.
        scale: the rotation is ``exp(-i * scale * theta * P)``; ``0.5`` (the paper's half angle)
            uses ``exp1(..., half=True)`` exactly as the authors do, any other value passes
            ``scale * theta`` to ``exp1(..., half=False)``.

    Returns:
        A jitted function ``step(thetas)`` taking ``thetas`` of shape ``(B, L)`` (float64) and
        returning ``(values, grads)`` of shapes ``(B,)`` and ``(B, L)``. The first call compiles.

    Raises:
        ImportError: if TensorCircuit-ng is not installed.
        ValueError: if the labels, unitaries or observable do not fit together.
    """
    try:
        import tensorcircuit as tc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_MISSING_TC) from exc
    import jax
    import jax.numpy as jnp

    if len(paulis) == 0:
        raise ValueError("paulis is empty: the RPA needs at least one layer.")
    n = len(paulis[0].strip())
    if n == 0:
        raise ValueError("the first Pauli label is empty: it needs one letter per qubit.")
    labels = [_check_label(p, n, "Pauli label") for p in paulis]
    n_layers = len(labels)
    d = 2**n
    unitaries = np.asarray(unitaries, dtype=np.complex128)
    if unitaries.shape != (n_layers, d, d):
        raise ValueError(
            f"unitaries has shape {unitaries.shape}, expected ({n_layers}, {d}, {d}) for "
            f"{n_layers} layers on {n} qubits."
        )
    if not np.isfinite(scale):
        raise ValueError(f"scale must be a finite number, got {scale!r}.")
    if len(obs_terms) == 0:
        raise ValueError("obs_terms is empty: the observable needs at least one (coef, label) term.")

    # The observable as expectation_ps position lists; identity terms are constants.
    terms: list[tuple[float, dict[str, list[int]]]] = []
    constant = 0.0
    for coef, label in obs_terms:
        label = _check_label(label, n, "observable label")
        coef = float(coef)
        positions = {k: [q for q, c in enumerate(label) if c == k.upper()] for k in "xyz"}
        if not any(positions.values()):
            constant += coef
        else:
            terms.append((coef, positions))

    tc.set_backend("jax")
    tc.set_dtype("complex128")

    pauli_mats = [_pauli_matrix(p) for p in labels]
    w_mats = [unitaries[l] for l in range(n_layers)]
    qubits = tuple(range(n))
    half = scale == 0.5

    def energy(theta):
        c = tc.Circuit(n)
        for l in range(n_layers):
            angle = theta[l] if half else scale * theta[l]
            c.exp1(*qubits, unitary=pauli_mats[l], theta=angle, half=half)
            c.any(*qubits, unitary=w_mats[l])
        e = constant
        for coef, pos in terms:
            e = e + coef * c.expectation_ps(**pos)
        return jnp.real(e)

    return jax.jit(jax.vmap(jax.value_and_grad(energy)))


def pennylane_hea_step(n_qubits: int, blocks: int, obs_terms: list[tuple[float, str]], device: str) -> Callable:
    """PennyLane reference for one batched value-and-gradient step of qntk's hardware-efficient ansatz.

    The circuit is :func:`qntk.models.ansatze.hea`: per block ``RY`` then ``RZ`` on every wire (parameters in
    that order), then CNOTs on the even and then the odd bonds; wire ``q`` is qntk's qubit ``q`` (both
    big-endian). ``device`` is ``"default.qubit"`` (JAX interface, backpropagation, ``jax.jit(jax.vmap(
    jax.value_and_grad))``, the fastest way to run it on that device) or ``"lightning.qubit"`` (adjoint
    gradients, one angle vector at a time: lightning does not batch under ``vmap``).

    Returns:
        ``step(thetas)`` for ``thetas`` of shape ``(B, 2 n blocks)``, returning ``(values, grads)``.

    Raises:
        ImportError: if PennyLane (or, for ``lightning.qubit``, its lightning plugin) is not installed.
    """
    try:
        import pennylane as qml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the PennyLane reference needs PennyLane: pip install 'qntk[pennylane]'") from exc
    import jax
    import jax.numpy as jnp

    wires = list(range(n_qubits))
    coefs = [float(c) for c, _ in obs_terms]
    ops = [qml.pauli.string_to_pauli_word(_check_label(label, n_qubits, "observable label"),
                                          wire_map={q: q for q in wires}) for _, label in obs_terms]
    hamiltonian = qml.Hamiltonian(coefs, ops)
    bonds = [(q, q + 1) for q in range(0, n_qubits - 1, 2)] + [(q, q + 1) for q in range(1, n_qubits - 1, 2)]
    lightning = device == "lightning.qubit"
    dev = qml.device(device, wires=n_qubits)

    @qml.qnode(dev, interface="jax", diff_method="adjoint" if lightning else "backprop")
    def energy(theta):
        for b in range(blocks):
            for q in wires:
                qml.RY(theta[2 * n_qubits * b + q], wires=q)
            for q in wires:
                qml.RZ(theta[2 * n_qubits * b + n_qubits + q], wires=q)
            for a, c in bonds:
                qml.CNOT(wires=[a, c])
        return qml.expval(hamiltonian)

    if not lightning:
        return jax.jit(jax.vmap(jax.value_and_grad(energy)))
    one = jax.value_and_grad(energy)

    def step(thetas):
        pairs = [one(theta) for theta in thetas]
        return jnp.stack([v for v, _ in pairs]), jnp.stack([g for _, g in pairs])

    return step
