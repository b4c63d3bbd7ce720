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

import functools
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from jax import lax

from ..models.circuits import permutation_gate


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


# --------------------------------------------------------------------------------------------------
# Gate fusion: a block of layers as few passes over the state


FUSE_WIDTH = 2
"""Qubits of a fused window: the rotations and gates of a block that act inside ``FUSE_WIDTH`` neighbouring qubits
become one ``2^w x 2^w`` matrix applied in one pass over the state (``4 x 4``: the arithmetic of a pass stays
below its memory traffic)."""

_PAULI_1Q = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
             "Z": np.diag([1.0, -1.0])}


@dataclass(frozen=True)
class Segment:
    """One pass of a fused block (:func:`fuse`).

    ``kind`` is ``"matrix"`` (the rotations ``layers`` and gates of ``items``, in order, inside the window of
    ``width`` qubits from ``lo``, applied as one matrix), ``"rotation"`` (the rotation of layer ``layers[0]``
    alone: its generator does not fit a window) or ``"gates"`` (the fixed two-qubit gates ``items``).
    ``items`` are ``("rot", j)`` (the rotation of layer ``j`` of the block) and ``(name, a, b)`` gates.
    """

    kind: str
    items: tuple
    lo: int = 0
    width: int = 0

    @property
    def layers(self) -> tuple[int, ...]:
        return tuple(item[1] for item in self.items if item[0] == "rot")


@functools.cache
def fuse(program: tuple, n_qubits: int) -> tuple[Segment, ...]:
    """The block ``program`` (per layer ``(x, z, ops)``: the rotation about the Pauli string with masks ``x``, ``z``,
    then the gates ``ops``) as segments, each one pass over the state.

    Each rotation or gate joins the earliest segment it may: one at or after the last segment that shares a qubit
    with it (it commutes with the segments in between, which share none), whose window it keeps within
    :data:`FUSE_WIDTH` neighbouring qubits. A rotation or gate wider than that is a segment of its own. A
    hardware-efficient block on ``n`` qubits (``2 n`` rotations and ``n - 1`` CNOTs) becomes about ``n`` passes.
    """
    items = []
    for j, (x, z, ops) in enumerate(program):
        items.append((("rot", j), _qubits(x | z, n_qubits)))
        items += [(op, tuple(sorted(op[1:]))) for op in ops]
    open_: list[tuple[list, set, bool]] = []  # (items, qubits, fusable)
    for item, qubits in items:
        touching = [i for i, (_, q, _) in enumerate(open_) if q & set(qubits)]
        start = touching[-1] if touching else 0
        fits = max(qubits) - min(qubits) < FUSE_WIDTH
        target = next((i for i in range(start, len(open_)) if fits and open_[i][2]
                       and _span(open_[i][1] | set(qubits)) <= FUSE_WIDTH), None)
        if target is None:
            open_.append(([item], set(qubits), fits))
        else:
            open_[target][0].append(item)
            open_[target][1].update(qubits)
    return tuple(_segment(seg_items, qubits, fusable) for seg_items, qubits, fusable in open_)


def _span(qubits: set) -> int:
    return max(qubits) - min(qubits) + 1


def _segment(items: list, qubits: set, fusable: bool) -> Segment:
    if not any(item[0] == "rot" for item in items):
        return Segment("gates", tuple(items))
    if not fusable:
        return Segment("rotation", tuple(items))
    return Segment("matrix", tuple(items), min(qubits), _span(qubits))


def segment_matrix(segment: Segment, program: tuple, n_qubits: int, scale: float, angles: jnp.ndarray) -> jnp.ndarray:
    """The ``2^w x 2^w`` matrix of a ``"matrix"`` segment at the ``angles`` of its layers (``segment.layers``):
    the product of its rotations ``exp(-i s phi G) = cos(s phi) - i sin(s phi) G`` and gates, later ones on the
    left; qubit ``lo`` is the most significant bit of the window."""
    dim = 2**segment.width
    m = jnp.eye(dim, dtype=jnp.complex128)
    k = 0
    for item in segment.items:
        if item[0] == "rot":
            x, z, _ = program[item[1]]
            g = _window_pauli(x, z, n_qubits, segment.lo, segment.width)
            m = (jnp.cos(scale * angles[k]) * np.eye(dim) - 1j * jnp.sin(scale * angles[k]) * g) @ m
            k += 1
        else:
            m = _window_gate(item, segment.lo, segment.width) @ m
    return m


def _window_pauli(x: int, z: int, n_qubits: int, lo: int, width: int) -> np.ndarray:
    letters = ["IXZY"[(x >> (n_qubits - 1 - q) & 1) + 2 * (z >> (n_qubits - 1 - q) & 1)] for q in range(lo, lo + width)]
    return functools.reduce(np.kron, (_PAULI_1Q[c] for c in letters)).astype(complex)


def _window_gate(op: tuple, lo: int, width: int) -> np.ndarray:
    """A two-qubit gate ``(name, a, b)`` as a ``2^w x 2^w`` matrix on the window (a column per basis state)."""
    name, a, b = op
    perm, phase = permutation_gate(width, [(name, a - lo, b - lo)])
    out = np.zeros((2**width, 2**width), complex)
    out[np.arange(2**width), perm] = phase
    return out


def apply_matrix(psi: jnp.ndarray, n_qubits: int, lo: int, width: int, m: jnp.ndarray) -> jnp.ndarray:
    """``M psi`` for a ``2^w x 2^w`` matrix ``M`` on the ``w = width`` qubits from ``lo``; ``psi`` may carry extra
    trailing columns. Written entrywise (each output slice a sum of ``2^w`` scaled input slices), which XLA fuses
    into one pass; as a batched matrix product it transposes the state first (5x slower at 12 qubits, B = 10)."""
    dim = 2**width
    t = psi.reshape((2**lo, dim, 2 ** (n_qubits - lo - width)) + psi.shape[1:])
    parts = [t[:, j] for j in range(dim)]
    return jnp.stack([sum(m[i, j] * parts[j] for j in range(dim)) for i in range(dim)], axis=1).reshape(psi.shape)


def environment(bra: jnp.ndarray, ket: jnp.ndarray, n_qubits: int, lo: int, width: int) -> jnp.ndarray:
    """``E[i, j] = sum_r conj(bra[r, i]) ket[r, j]`` over the other qubits ``r`` (window index ``i``, ``j``), so that
    ``<bra| M |ket> = sum_ij M[i, j] E[i, j]`` for any ``M`` on the window."""
    shape = (2**lo, 2**width, 2 ** (n_qubits - lo - width))
    return jnp.einsum("aib,ajb->ij", jnp.conj(bra.reshape(shape)), ket.reshape(shape))


# --------------------------------------------------------------------------------------------------
# Random local gates (brickwork)


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
