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

from ..models import ansatze

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


def _tensorcircuit_rpa_energy(
    paulis: list[str],
    unitaries: np.ndarray,
    obs_terms: list[tuple[float, str]],
    scale: float = 0.5,
) -> Callable:
    """The RPA energy ``theta -> <O>`` written in TensorCircuit the way 004's authors wrote it.

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

    Raises:
        ImportError: if TensorCircuit-ng is not installed.
        ValueError: if the labels, unitaries or observable do not fit together.
    """
    try:
        import tensorcircuit as tc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_MISSING_TC) from exc
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

    return energy


def tensorcircuit_rpa_step(paulis, unitaries, obs_terms, scale: float = 0.5) -> Callable:
    """The TensorCircuit reference for one batched RPA energy-and-gradient step
    (:func:`_tensorcircuit_rpa_energy`; same arguments): a jitted ``step(thetas)`` taking ``thetas`` of shape
    ``(B, L)`` and returning ``(values, grads)`` of shapes ``(B,)`` and ``(B, L)``. The first call compiles."""
    import jax

    return jax.jit(jax.vmap(jax.value_and_grad(_tensorcircuit_rpa_energy(paulis, unitaries, obs_terms, scale))))


def tensorcircuit_rpa_hessian(paulis, unitaries, obs_terms, scale: float = 0.5) -> Callable:
    """The TensorCircuit reference for the energy, gradient and Hessian of a batch of angle vectors
    (``jax.hessian`` of :func:`_tensorcircuit_rpa_energy`; same arguments): a jitted ``fn(thetas)`` returning
    ``(values, grads, hessians)`` of shapes ``(B,)``, ``(B, L)`` and ``(B, L, L)``."""
    import jax

    energy = _tensorcircuit_rpa_energy(paulis, unitaries, obs_terms, scale)
    return jax.jit(jax.vmap(lambda theta: (energy(theta), jax.grad(energy)(theta), jax.hessian(energy)(theta))))


def _pennylane():
    try:
        import pennylane as qml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the PennyLane reference needs PennyLane: pip install 'qntk[bench]'") from exc
    return qml


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
    qml = _pennylane()
    import jax

    wires = list(range(n_qubits))
    hamiltonian = qml.Hamiltonian([float(c) for c, _ in obs_terms], [
        qml.pauli.string_to_pauli_word(_check_label(label, n_qubits, "observable label"), wire_map={q: q for q in wires})
        for _, label in obs_terms])
    lightning = device == "lightning.qubit"

    @qml.qnode(qml.device(device, wires=n_qubits), interface="jax", diff_method="adjoint" if lightning else "backprop")
    def energy(theta):
        for b in range(blocks):
            for q in wires:
                qml.RY(theta[2 * n_qubits * b + q], wires=q)
            for q in wires:
                qml.RZ(theta[2 * n_qubits * b + n_qubits + q], wires=q)
            for a, c in _hea_bonds(n_qubits):
                qml.CNOT(wires=[a, c])
        return qml.expval(hamiltonian)

    if not lightning:
        return jax.jit(jax.vmap(jax.value_and_grad(energy)))
    return _one_at_a_time(jax.value_and_grad(energy))


def _hea_bonds(n_qubits: int) -> list[tuple[int, int]]:
    """The CNOTs of a block of :func:`qntk.models.ansatze.hea` (its brick wall): even bonds, then odd."""
    return [(a, b) for _, a, b in ansatze._brick_wall(n_qubits)]


def _one_at_a_time(fn: Callable) -> Callable:
    """``fn`` over a batch, one call per entry, its outputs stacked (for peers that do not batch)."""
    import jax
    import jax.numpy as jnp

    return lambda batch: jax.tree.map(lambda *xs: jnp.stack(xs), *[fn(entry) for entry in batch])


def pennylane_reuploading_kernel(n_qubits: int, blocks: int, encoding_scale: float, features, device: str) -> Callable:
    """PennyLane reference for the QNTK matrix over a data set of qntk's re-uploading model with 003's
    hardware-efficient block (:func:`qntk.models.ansatze.reuploading` with ``block="hea"``, ``frequency="low"``),
    read out by ``Z`` on qubit 0: per block ``RX(c x)`` on every wire, then ``RX``, ``RZ``, ``RX`` on every wire
    (parameters in that order) and the CNOT ring ``(q, q + 1 mod n)``.

    ``device`` as in :func:`pennylane_hea_step`. Returns ``fn(thetas)`` for ``thetas`` of shape ``(B, 3 n blocks)``,
    returning the outputs ``(B, m)`` at the ``m`` features (shape ``(m, 1)``) and the kernels ``K = J J^T``,
    ``(B, m, m)``.
    """
    qml = _pennylane()
    import jax
    import jax.numpy as jnp

    wires = list(range(n_qubits))
    ring = [(q, (q + 1) % n_qubits) for q in range(n_qubits if n_qubits > 2 else n_qubits - 1)]
    lightning = device == "lightning.qubit"
    xs = jnp.asarray(features, jnp.float64)[:, 0]

    @qml.qnode(qml.device(device, wires=n_qubits), interface="jax", diff_method="adjoint" if lightning else "backprop")
    def output(theta, x):
        p = 0
        for _ in range(blocks):
            for q in wires:
                qml.RX(encoding_scale * x, wires=q)
            for gate in (qml.RX, qml.RZ, qml.RX):
                for q in wires:
                    gate(theta[p], wires=q)
                    p += 1
            for a, b in ring:
                qml.CNOT(wires=[a, b])
        return qml.expval(qml.PauliZ(0))

    value_and_grad = jax.value_and_grad(output)

    def kernel(values, jac):
        return values, jac @ jac.T

    if not lightning:
        per_point = jax.vmap(value_and_grad, in_axes=(None, 0))
        return jax.jit(jax.vmap(lambda theta: kernel(*per_point(theta, xs))))
    return _one_at_a_time(lambda theta: kernel(*_one_at_a_time(lambda x: value_and_grad(theta, x))(xs)))


def qiskit_hea_step(n_qubits: int, blocks: int, obs_terms: list[tuple[float, str]]) -> Callable:
    """Qiskit reference for one batched value-and-gradient step of qntk's hardware-efficient ansatz (the circuit
    of :func:`pennylane_hea_step`): the values from :class:`qiskit.primitives.StatevectorEstimator`, the gradients
    from qiskit-algorithms' ``ReverseEstimatorGradient`` (exact reverse-mode gradients, the fastest of its estimator
    gradients on a state-vector simulator). Qiskit's Pauli labels are little-endian, so qntk's labels are reversed.

    Returns:
        ``step(thetas)`` for ``thetas`` of shape ``(B, 2 n blocks)``, returning ``(values, grads)`` (NumPy).

    Raises:
        ImportError: if Qiskit or qiskit-algorithms is not installed.
    """
    try:
        from qiskit import QuantumCircuit
        from qiskit.circuit import ParameterVector
        from qiskit.primitives import StatevectorEstimator
        from qiskit.quantum_info import SparsePauliOp
        from qiskit_algorithms.gradients import ReverseEstimatorGradient
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the Qiskit reference needs Qiskit and qiskit-algorithms: pip install 'qntk[bench]'") from exc

    theta = ParameterVector("theta", 2 * n_qubits * blocks)
    circuit = QuantumCircuit(n_qubits)
    for b in range(blocks):
        for q in range(n_qubits):
            circuit.ry(theta[2 * n_qubits * b + q], q)
        for q in range(n_qubits):
            circuit.rz(theta[2 * n_qubits * b + n_qubits + q], q)
        for a, c in _hea_bonds(n_qubits):
            circuit.cx(a, c)
    observable = SparsePauliOp.from_list([(_check_label(label, n_qubits, "observable label")[::-1], float(coef))
                                          for coef, label in obs_terms])
    estimator, gradient = StatevectorEstimator(), ReverseEstimatorGradient()

    def step(thetas):
        thetas = np.asarray(thetas, dtype=float)
        values = estimator.run([(circuit, observable, thetas)]).result()[0].data.evs
        grads = gradient.run([circuit] * len(thetas), [observable] * len(thetas), thetas).result().gradients
        return np.asarray(values), np.asarray(grads)

    return step
