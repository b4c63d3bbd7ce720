"""State-vector engine: a scan over layers, with adjoint (reverse, O(d) memory) gradients.

Every function here acts on ONE state and ONE angle vector; ensembles are obtained with
``jax.vmap`` (over angles, input states, and stacked circuits). The layer data is scanned over, so
compile time does not depend on the depth L. The layers of a local circuit (``gate_kind == "local"``)
are the branches of a switch, one per layer of its repeating block, each with its static gates
(:mod:`qntk._sim.local`): compile time grows with the block, not with the depth. Random local gates
(``gate_kind == "brickwork"``) are layer data like dense gates, applied as tensor operations. (Unrolling a
block's layers into one step instead lets XLA fuse them into expressions that re-read earlier layers,
several times slower.)

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
    """Per-layer arrays to scan over. A local circuit's structure is static (``circuit.program``): only its
    angles and each layer's place ``j`` in its block (the branch to take) are scanned over."""
    if circuit.program:
        return {"phi": phi, "j": jnp.arange(phi.shape[0]) % len(circuit.program)}
    names = ("gen_x", "gen_z", "gen_ny", "gen_diag", "w", "w_perm", "w_phase", "w_qubit")
    return {"phi": phi} | {name: getattr(circuit, name) for name in names if getattr(circuit, name) is not None}


def _forward_layer(circuit: Circuit, psi: jax.Array, layer: dict) -> jax.Array:
    """``W_l exp(-i s phi_l G_l) psi``."""

    def step(psi, layer, j=0):
        return _gate(circuit, layer, _rotate(circuit, layer, psi, j=j), j)

    return _by_place(circuit, step, psi, layer)


def _backward_layer(circuit: Circuit, both: jax.Array, layer: dict):
    """One layer of the adjoint sweep: ``(both, g)`` (see :func:`expval_and_grad`)."""

    def step(both, layer, j=0):
        both = _gate_adjoint(circuit, layer, both, j)
        gen_both = _gen(circuit, layer, both, j)
        g = 2.0 * circuit.scale * jnp.imag(jnp.vdot(both[:, 1], gen_both[:, 0]))
        return _rotate(circuit, layer, both, inverse=True, gen_psi=gen_both, j=j), g

    return _by_place(circuit, step, both, layer)


def _by_place(circuit: Circuit, step, carry, layer: dict):
    """``step(carry, layer, j)``; for a local circuit ``j`` is the layer's place in its block, static in each branch
    of a switch over the block's layers."""
    if not circuit.program:
        return step(carry, layer)
    branches = [functools.partial(step, j=j) for j in range(len(circuit.program))]
    return lax.switch(layer["j"], branches, carry, layer)


def _gen(circuit: Circuit, layer: dict, psi: jax.Array, j: int = 0) -> jax.Array:
    """``G_l psi`` (layer ``j`` of its block); ``psi`` may carry extra trailing columns."""
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
    """``W_l psi`` (layer ``j`` of its block); ``psi`` may carry extra trailing columns."""
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
    """``W_l^dagger psi`` (layer ``j`` of its block); ``psi`` may carry extra trailing columns."""
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
    return value, grad


def unitary(circuit: Circuit, phi: jax.Array) -> jax.Array:
    """Dense ``U(phi) W_in`` (d x d), for tests and small-d analysis."""
    eye = jnp.eye(circuit.dim, dtype=jnp.complex128)
    return jax.vmap(lambda col: evolve(circuit, phi, col), in_axes=1, out_axes=1)(eye)
