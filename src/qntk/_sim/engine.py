"""State-vector engine: a scan over layers, with adjoint (reverse, O(d) memory) gradients.

Every function here acts on ONE state and ONE angle vector; ensembles are obtained with
``jax.vmap`` (over angles, input states, and stacked circuits). The layer data is scanned over, so
compile time does not depend on the depth L.

Conventions: layer ``l`` maps ``psi -> W_l exp(-i s phi_l G_l) psi``; see :mod:`qntk.models.circuits`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..models.circuits import Circuit
from ..models.pauli import pauli_phases_jax


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
    """Per-layer arrays to scan over."""
    xs = {"phi": phi}
    for name in ("gen_x", "gen_z", "gen_ny", "gen_diag", "w", "w_perm", "w_phase"):
        value = getattr(circuit, name)
        if value is not None:
            xs[name] = value
    return xs


def _gen(circuit: Circuit, layer: dict, psi: jax.Array) -> jax.Array:
    """``G_l psi``; ``psi`` may carry extra trailing columns."""
    if circuit.generator_kind == "diagonal":
        return _bcast(layer["gen_diag"], psi) * psi
    k = jnp.arange(psi.shape[0], dtype=jnp.int32)
    phases = pauli_phases_jax(k, layer["gen_x"], layer["gen_z"], layer["gen_ny"])
    return _bcast(phases, psi) * psi[jnp.bitwise_xor(k, layer["gen_x"])]


def _rotate(circuit: Circuit, layer: dict, psi: jax.Array, inverse: bool = False, gen_psi=None) -> jax.Array:
    """``exp(-i s phi G) psi``, or its inverse; ``psi`` may carry extra trailing columns.

    ``gen_psi``, if given, is ``G psi`` already computed (Pauli generators only).
    """
    angle = circuit.scale * layer["phi"]
    if inverse:
        angle = -angle
    if circuit.generator_kind == "diagonal":
        return _bcast(jnp.exp(-1j * angle * layer["gen_diag"]), psi) * psi
    if gen_psi is None:
        gen_psi = _gen(circuit, layer, psi)
    return jnp.cos(angle) * psi - 1j * jnp.sin(angle) * gen_psi


def _gate(circuit: Circuit, layer: dict, psi: jax.Array) -> jax.Array:
    """``W_l psi``; ``psi`` may carry extra trailing columns."""
    if circuit.gate_kind == "dense":
        return layer["w"] @ psi
    if circuit.gate_kind == "perm":
        return _bcast(layer["w_phase"], psi) * psi[layer["w_perm"]]
    return psi


def _gate_adjoint(circuit: Circuit, layer: dict, psi: jax.Array) -> jax.Array:
    """``W_l^dagger psi``; ``psi`` may carry extra trailing columns."""
    if circuit.gate_kind == "dense":
        return jnp.conj(layer["w"]).T @ psi
    if circuit.gate_kind == "perm":
        return jnp.zeros_like(psi).at[layer["w_perm"]].set(_bcast(jnp.conj(layer["w_phase"]), psi) * psi)
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

    def step(psi, layer):
        return _gate(circuit, layer, _rotate(circuit, layer, psi)), None

    psi, _ = lax.scan(step, prepare(circuit, state), _layers(circuit, phi))
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

    def forward(psi, layer):
        return _gate(circuit, layer, _rotate(circuit, layer, psi)), None

    psi, _ = lax.scan(forward, prepare(circuit, state), xs)
    chi = observable.apply(psi)
    value = jnp.real(jnp.vdot(psi, chi))

    def backward(carry, layer):
        both = _gate_adjoint(circuit, layer, carry)  # columns [b_l, a_l]
        gen_both = _gen(circuit, layer, both)
        g = 2.0 * circuit.scale * jnp.imag(jnp.vdot(both[:, 1], gen_both[:, 0]))
        return _rotate(circuit, layer, both, inverse=True, gen_psi=gen_both), g

    _, grad = lax.scan(backward, jnp.stack([psi, chi], axis=-1), xs, reverse=True)
    return value, grad


def unitary(circuit: Circuit, phi: jax.Array) -> jax.Array:
    """Dense ``U(phi) W_in`` (d x d), for tests and small-d analysis."""
    eye = jnp.eye(circuit.dim, dtype=jnp.complex128)
    return jax.vmap(lambda col: evolve(circuit, phi, col), in_axes=1, out_axes=1)(eye)
