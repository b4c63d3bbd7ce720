"""State-vector engine: a scan over layers, with adjoint (reverse, O(d) memory) gradients.

Every function here acts on ONE state and ONE angle vector; ensembles are obtained with
``jax.vmap`` (over angles, input states, and stacked circuits). The layer data is scanned over, so
compile time does not depend on the depth L. A local circuit (``gate_kind == "local"``) of fewer than
:data:`FUSE_MIN_QUBITS` qubits switches, at each layer, over the layers of its repeating block (static gates,
:mod:`qntk._sim.local`); a larger one is scanned over its repeating blocks instead: each step applies the block's fused segments (:func:`qntk._sim.local.fuse`,
a ``4 x 4`` matrix per pair of neighbouring qubits), so compile time grows with the block, not with the
depth, and a block costs about ``n`` passes over the state instead of one per gate. Each segment's result
is materialized (an optimization barrier): left to itself, XLA fuses chains of elementwise gates into
expressions that re-read earlier states, several times slower. Random local gates (``gate_kind ==
"brickwork"``) are layer data like dense gates, applied as tensor operations.

Conventions: layer ``l`` maps ``psi -> W_l exp(-i s phi_l G_l) psi``; see :mod:`qntk.models.circuits`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from ..models.circuits import Circuit
from ..models.pauli import pauli_phases_jax
from . import local


def layer_angles(circuit: Circuit, theta: jax.Array, features: jax.Array | None = None) -> jax.Array:
    """Angles ``phi_l = theta_{p(l)} + a_l x_{f(l)}`` of every layer, shape ``(L,)``."""
    theta = jnp.asarray(theta)
    pidx = circuit.param_index
    phi = jnp.where(pidx >= 0, theta[jnp.maximum(pidx, 0)], 0.0)
    if circuit.n_features:
        if features is None:
            raise ValueError("this circuit encodes data: pass the features x of the data point.")
        features = jnp.asarray(features)
        fidx = circuit.feature_index
        phi = phi + jnp.where(fidx >= 0, circuit.feature_scale * features[jnp.maximum(fidx, 0)], 0.0)
    return phi


def _layers(circuit: Circuit, phi: jax.Array) -> dict:
    """Per-layer arrays to scan over; for a local circuit, whose structure is static (``circuit.program``), the
    angles of each block, shape ``(L / P, P)``."""
    if _fused(circuit):
        return {"phi": phi.reshape(-1, len(circuit.program))}
    if circuit.program:
        return {"phi": phi, "j": jnp.arange(phi.shape[0]) % len(circuit.program)}
    names = ("gen_x", "gen_z", "gen_ny", "gen_diag", "w", "w_perm", "w_phase", "w_qubit")
    return {"phi": phi} | {name: getattr(circuit, name) for name in names if getattr(circuit, name) is not None}


FUSE_MIN_QUBITS = 10
"""Fewest qubits at which a local circuit runs fused (:func:`qntk._sim.local.fuse`). Below, the state is small and
the per-layer switch is faster: 003's re-uploading model at 6 qubits over 20 data points and 10 angle vectors
(``qntk bench --workload tfim-kernel``) took 322 ms per step fused against 38.7 ms layer by layer, while the HEA
at 12 qubits runs twice as fast fused."""


def _fused(circuit: Circuit) -> bool:
    return bool(circuit.program) and circuit.n_qubits >= FUSE_MIN_QUBITS


def _forward_layer(circuit: Circuit, psi: jax.Array, layer: dict) -> jax.Array:
    """``W_l exp(-i s phi_l G_l) psi`` (for a fused local circuit, the whole block)."""
    if _fused(circuit):
        for segment in local.fuse(circuit.program, circuit.n_qubits):
            psi = lax.optimization_barrier(_segment(circuit, segment, layer["phi"], psi))
        return psi

    def step(psi, layer, j=0):
        return _gate(circuit, layer, _rotate(circuit, layer, psi, j=j), j)

    return _by_place(circuit, step, psi, layer)


def _backward_layer(circuit: Circuit, both: jax.Array, layer: dict):
    """One layer (for a fused local circuit, one block) of the adjoint sweep: ``(both, g)`` (see
    :func:`expval_and_grad`)."""
    if _fused(circuit):
        return _backward_block(circuit, both, layer["phi"])

    def step(both, layer, j=0):
        return _backward_rotation(circuit, layer, _gate_adjoint(circuit, layer, both, j), j)

    return _by_place(circuit, step, both, layer)


def _by_place(circuit: Circuit, step, carry, layer: dict):
    """``step(carry, layer, j)``; for an unfused local circuit ``j`` is the layer's place in its block, static in each
    branch of a switch over the block's layers."""
    if not circuit.program:
        return step(carry, layer)
    branches = [functools.partial(step, j=j) for j in range(len(circuit.program))]
    return lax.switch(layer["j"], branches, carry, layer)


def _backward_rotation(circuit: Circuit, layer: dict, both: jax.Array, j: int = 0):
    """The rotation's part of the adjoint sweep: its angle's derivative ``2 s Im <a|G|b'>`` (``both = [b', a]``, the
    states after it) and ``both`` before it."""
    gen_both = _gen(circuit, layer, both, j)
    g = 2.0 * circuit.scale * jnp.imag(jnp.vdot(both[:, 1], gen_both[:, 0]))
    return _rotate(circuit, layer, both, inverse=True, gen_psi=gen_both, j=j), g


def _segment(circuit: Circuit, segment: local.Segment, phi: jax.Array, psi: jax.Array, adjoint: bool = False):
    """A segment of a local block (:func:`qntk._sim.local.fuse`) applied to ``psi``, or its inverse; ``phi`` are the
    block's angles. ``psi`` may carry extra trailing columns."""
    n = circuit.n_qubits
    if segment.kind == "gates":
        return local.apply_gates(psi, n, segment.items, adjoint=adjoint)
    if segment.kind == "rotation":
        (j,) = segment.layers
        return _rotate(circuit, {"phi": phi[j]}, psi, inverse=adjoint, j=j)
    m = _segment_matrix(circuit, segment, phi[jnp.asarray(segment.layers)])
    return local.apply_matrix(psi, n, segment.lo, segment.width, jnp.conj(m).T if adjoint else m)


def _segment_matrix(circuit: Circuit, segment: local.Segment, angles: jax.Array) -> jax.Array:
    return local.segment_matrix(segment, circuit.program, circuit.n_qubits, circuit.scale, angles)


def _backward_block(circuit: Circuit, both: jax.Array, phi: jax.Array):
    """The adjoint sweep through one block of a local circuit, segment by segment from the last. For a matrix
    segment ``M(phi)`` with ``b`` the state before it and ``a`` the adjoint state after it,
    ``d<O>/d phi_j = 2 Re <a| dM/d phi_j |b> = 2 Re sum_ik (dM/d phi_j)_ik E_ik`` (:func:`qntk._sim.local.environment`)."""
    n = circuit.n_qubits
    grad = jnp.zeros(phi.shape, jnp.float64)
    for segment in reversed(local.fuse(circuit.program, n)):
        before = lax.optimization_barrier(_segment(circuit, segment, phi, both, adjoint=True))
        if segment.kind == "matrix":
            layers = jnp.asarray(segment.layers)
            env = local.environment(both[:, 1], before[:, 0], n, segment.lo, segment.width)
            dm = jax.jacfwd(functools.partial(_segment_matrix, circuit, segment))(phi[layers])
            grad = grad.at[layers].add(2.0 * jnp.real(jnp.einsum("ik,ikj->j", env, dm)))
        elif segment.kind == "rotation":
            (j,) = segment.layers
            before, g = _backward_rotation(circuit, {"phi": phi[j]}, both, j)
            grad = grad.at[j].add(g)
        both = before
    return both, grad


def _gen(circuit: Circuit, layer: dict, psi: jax.Array, j: int = 0) -> jax.Array:
    """``G_l psi`` (for a local circuit, layer ``j`` of its block); ``psi`` may carry extra trailing columns."""
    if circuit.program:
        x, z, _ = circuit.program[j]
        return local.apply_pauli(psi, circuit.n_qubits, x, z)
    if circuit.generator_kind == "diagonal":
        return _bcast(layer["gen_diag"], psi) * psi
    k = jnp.arange(psi.shape[0], dtype=jnp.int32)
    phases = pauli_phases_jax(k, layer["gen_x"], layer["gen_z"], layer["gen_ny"])
    return _bcast(phases, psi) * psi[jnp.bitwise_xor(k, layer["gen_x"])]


def _rotate(circuit: Circuit, layer: dict, psi: jax.Array, inverse: bool = False, gen_psi=None, j: int = 0) -> jax.Array:
    """``exp(-i s phi G) psi``, or its inverse; ``psi`` may carry extra trailing columns.

    ``gen_psi``, if given, is ``G psi`` already computed (Pauli generators only).
    """
    angle = circuit.scale * layer["phi"]
    if inverse:
        angle = -angle
    if circuit.generator_kind == "diagonal":
        return _bcast(jnp.exp(-1j * angle * layer["gen_diag"]), psi) * psi
    if gen_psi is None:
        gen_psi = _gen(circuit, layer, psi, j)
    return jnp.cos(angle) * psi - 1j * jnp.sin(angle) * gen_psi


def _gate(circuit: Circuit, layer: dict, psi: jax.Array, j: int = 0) -> jax.Array:
    """``W_l psi`` (layer ``j`` of its block, for a local circuit); ``psi`` may carry extra trailing columns."""
    if circuit.program:
        return local.apply_gates(psi, circuit.n_qubits, circuit.program[j][2])
    if circuit.gate_kind == "dense":
        return layer["w"] @ psi
    if circuit.gate_kind == "perm":
        return _bcast(layer["w_phase"], psi) * psi[layer["w_perm"]]
    if circuit.gate_kind == "brickwork":
        return local.apply_brickwork(psi, circuit.n_qubits, layer["w_qubit"])
    return psi


def _gate_adjoint(circuit: Circuit, layer: dict, psi: jax.Array, j: int = 0) -> jax.Array:
    """``W_l^dagger psi`` (layer ``j`` of its block, for a local circuit); ``psi`` may carry extra trailing columns."""
    if circuit.program:
        return local.apply_gates(psi, circuit.n_qubits, circuit.program[j][2], adjoint=True)
    if circuit.gate_kind == "dense":
        return jnp.conj(layer["w"]).T @ psi
    if circuit.gate_kind == "perm":
        return jnp.zeros_like(psi).at[layer["w_perm"]].set(_bcast(jnp.conj(layer["w_phase"]), psi) * psi)
    if circuit.gate_kind == "brickwork":
        return local.apply_brickwork(psi, circuit.n_qubits, layer["w_qubit"], adjoint=True)
    return psi


def _bcast(v: jax.Array, psi: jax.Array) -> jax.Array:
    return v.reshape(v.shape + (1,) * (psi.ndim - 1))


def prepare(circuit: Circuit, state: jax.Array | None) -> jax.Array:
    """The input state after ``W_in`` (``|0...0>`` when ``state`` is None)."""
    if state is None:
        state = jnp.zeros(circuit.dim, jnp.complex128).at[0].set(1.0)
    state = jnp.asarray(state, jnp.complex128)
    return state if circuit.w_in is None else circuit.w_in @ state


def evolve(circuit: Circuit, phi: jax.Array, state: jax.Array | None = None) -> jax.Array:
    """Output state ``U(phi) W_in |state>``."""

    psi, _ = lax.scan(lambda psi, layer: (_forward_layer(circuit, psi, layer), None), prepare(circuit, state), _layers(circuit, phi))
    return psi


def expval(circuit: Circuit, observable, phi: jax.Array, state: jax.Array | None = None) -> jax.Array:
    """``<O>`` in the output state."""
    return observable.expval(evolve(circuit, phi, state))


def expval_and_grad(circuit: Circuit, observable, phi: jax.Array, state: jax.Array | None = None):
    """``<O>`` and its gradient with respect to the layer angles ``phi``, by the adjoint method.

    With ``b_l = exp(-i s phi_l G_l) psi_{l-1}`` and ``a_l = W_l^dagger U_{>l}^dagger O psi_L``,

    .. math::  \\partial_{\\phi_l} \\langle O \\rangle = 2 s \\, \\mathrm{Im} \\langle a_l | G_l | b_l \\rangle.

    The backward sweep un-computes the states layer by layer instead of storing them: memory
    O(d), cost three matrix products per layer (one forward, one stacked backward). The result is
    an ordinary JAX function, so forward-mode derivatives of the gradient (Hessians) work.
    """
    xs = _layers(circuit, phi)
    psi, _ = lax.scan(lambda psi, layer: (_forward_layer(circuit, psi, layer), None), prepare(circuit, state), xs)
    chi = observable.apply(psi)
    value = jnp.real(jnp.vdot(psi, chi))
    _, grad = lax.scan(lambda both, layer: _backward_layer(circuit, both, layer), jnp.stack([psi, chi], axis=-1), xs,
                       reverse=True)
    return value, grad.reshape(phi.shape)


def unitary(circuit: Circuit, phi: jax.Array) -> jax.Array:
    """Dense ``U(phi) W_in`` (d x d), for tests and small-d analysis."""
    eye = jnp.eye(circuit.dim, dtype=jnp.complex128)
    return jax.vmap(lambda col: evolve(circuit, phi, col), in_axes=1, out_axes=1)(eye)
