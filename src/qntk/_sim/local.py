"""Static local operations on a state vector, as tensor operations (no table of size ``d`` per gate).

A gate on qubits ``a < b`` views the state ``psi`` of shape ``(d, ...)`` as a tensor of low rank,
``(2^a, 2, 2^(b-a-1), 2, 2^(n-b-1), ...)``, with one axis of size 2 per qubit it acts on (qubit ``q`` is
bit ``n - 1 - q`` of the basis index, as in :class:`qntk.models.pauli.PauliString`); trailing axes
(extra columns) are carried along. Every argument that describes a gate is a Python int or string,
so each function traces to a few reshapes, flips, slices and multiplications that XLA fuses into
one pass over the state. The view has low rank (one axis of size 2 per acted-on qubit, not per qubit:
the latter makes XLA's compile time explode at a dozen qubits). A permutation gate reads one entry per
output entry (slices, never a select, which reads both branches: fused over a chain of gates, such
reads multiply).

Random local circuits (:func:`apply_brickwork`) are the exception: their single-qubit unitaries are data
(one ``(depth, n, 2, 2)`` array per layer, scanned over), applied by an einsum over the axis of a few
adjacent qubits; only the qubits each acts on are static.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax


def _view(psi: jnp.ndarray, n_qubits: int, qubits: tuple[int, ...]) -> tuple[jnp.ndarray, tuple[int, ...]]:
    """``psi`` reshaped with one axis of size 2 for each of the (sorted, distinct) ``qubits``; the axes."""
    shape, axes, start = [], [], 0
    for q in qubits:
        shape += [2**(q - start), 2]
        axes.append(len(shape) - 1)
        start = q + 1
    shape.append(2**(n_qubits - start))
    return psi.reshape(tuple(shape) + psi.shape[1:]), tuple(axes)


def _along(values, axes: tuple[int, ...], ndim: int) -> np.ndarray:
    """``values`` (one axis of size 2 per entry of ``axes``) shaped to broadcast against a tensor of ``ndim`` axes."""
    shape = [1] * ndim
    for axis in axes:
        shape[axis] = 2
    return np.asarray(values).reshape(shape)


def _qubits(mask: int, n_qubits: int) -> tuple[int, ...]:
    return tuple(q for q in range(n_qubits) if mask >> (n_qubits - 1 - q) & 1)


def apply_pauli(psi: jnp.ndarray, n_qubits: int, x: int, z: int) -> jnp.ndarray:
    """``P psi`` for the Pauli string with masks ``x``, ``z`` (a Y where both bits are set):
    ``(P psi)[k] = i^{n_y} (-1)^{|(k ^ x) & z|} psi[k ^ x]``, i.e. the Z signs, then the X flips."""
    support = _qubits(x | z, n_qubits)
    t, axes = _view(psi, n_qubits, support)
    for q, axis in zip(support, axes):
        if z >> (n_qubits - 1 - q) & 1:
            t = t * _along([1.0, -1.0], (axis,), t.ndim)
    flips = tuple(axis for q, axis in zip(support, axes) if x >> (n_qubits - 1 - q) & 1)
    if flips:
        t = jnp.flip(t, axis=flips)
    n_y = bin(x & z).count("1")
    if n_y % 4:
        t = t * (1j ** (n_y % 4))
    return t.reshape(psi.shape)


def apply_gates(psi: jnp.ndarray, n_qubits: int, ops: tuple, adjoint: bool = False) -> jnp.ndarray:
    """The two-qubit gates ``ops`` (``("cnot", control, target)``, ``("cz", a, b)``, ``("swap", a, b)``) applied
    in order, or their adjoint (the reverse order: each of these gates is its own inverse)."""
    for name, a, b in (reversed(ops) if adjoint else ops):
        t, (axis_lo, axis_hi) = _view(psi, n_qubits, tuple(sorted((a, b))))
        axis_a, axis_b = (axis_lo, axis_hi) if a < b else (axis_hi, axis_lo)
        if name == "cnot":  # slices, not a select: a select would read both branches at every entry
            control_0, control_1 = jnp.split(t, 2, axis=axis_a)
            t = jnp.concatenate([control_0, jnp.flip(control_1, axis=axis_b)], axis=axis_a)
        elif name == "cz":  # the sign table is symmetric in the two qubits
            t = t * _along([[1.0, 1.0], [1.0, -1.0]], (axis_lo, axis_hi), t.ndim)
        else:
            t = jnp.swapaxes(t, axis_lo, axis_hi)
        psi = t.reshape(psi.shape)
    return psi


QUBIT_GROUP = 3
"""Adjacent qubits whose single-qubit gates :func:`apply_qubit_unitaries` applies in one pass over the state (their
``8 x 8`` Kronecker product): at 20 qubits, where each pass is bound by memory, about 1.5x faster than one pass per
qubit; 4 (``16 x 16``) is slower again."""


def apply_qubit_unitaries(psi: jnp.ndarray, n_qubits: int, u: jnp.ndarray, adjoint: bool = False) -> jnp.ndarray:
    """``(u[0] (x) ... (x) u[n-1]) psi`` for ``u`` of shape ``(n, 2, 2)`` (data, not static), or its adjoint: one
    contraction per group of :data:`QUBIT_GROUP` adjacent qubits, over their axis of the state."""
    for q in range(0, n_qubits, QUBIT_GROUP):
        k = min(QUBIT_GROUP, n_qubits - q)
        m = u[q]
        for j in range(1, k):
            m = jnp.kron(m, u[q + j])  # qubit q is the most significant of the group
        if adjoint:
            m = jnp.conj(m).T
        t = psi.reshape((2**q, 2**k, 2 ** (n_qubits - k - q)) + psi.shape[1:])
        psi = jnp.einsum("ij,ajb...->aib...", m, t).reshape(psi.shape)
    return psi


def apply_cz_chain(psi: jnp.ndarray, n_qubits: int) -> jnp.ndarray:
    """A CZ on every bond ``(q, q + 1)`` of the open chain (its own inverse): the sign
    ``(-1)^{popcount(k & (k >> 1))}`` of basis state ``k``, computed from the index (no table of size ``d``)."""
    k = lax.iota(jnp.int32, 2**n_qubits)
    parity = lax.population_count(k & (k >> 1)) & 1
    sign = (1 - 2 * parity).astype(jnp.float64)
    return sign.reshape(sign.shape + (1,) * (psi.ndim - 1)) * psi


def apply_brickwork(psi: jnp.ndarray, n_qubits: int, rounds: jnp.ndarray, adjoint: bool = False) -> jnp.ndarray:
    """A random local circuit ``W`` (:class:`qntk.models.circuits.BrickworkGates`), or ``W^dagger``.

    ``rounds`` has shape ``(depth, n, 2, 2)``: round ``r`` applies ``rounds[r, q]`` to every qubit ``q``, then
    :func:`apply_cz_chain`. The rounds are scanned over, so compile time does not grow with the depth;
    the adjoint runs them in reverse, each as the CZs then the adjoint single-qubit gates.
    """

    def forward(psi, u):
        return apply_cz_chain(apply_qubit_unitaries(psi, n_qubits, u), n_qubits), None

    def backward(psi, u):
        return apply_qubit_unitaries(apply_cz_chain(psi, n_qubits), n_qubits, u, adjoint=True), None

    psi, _ = lax.scan(backward if adjoint else forward, psi, rounds, reverse=adjoint)
    return psi
