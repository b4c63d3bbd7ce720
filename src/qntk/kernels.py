"""Exact kernel quantities of a layered QNN, as pure jit-able functions.

For the residual ``eps(theta) = <psi_0| U^dagger O U |psi_0> - O_0`` (000 eq. (2)):

* gradient ``g_l = d eps / d theta_l``, by the adjoint method (no finite differences);
* QNTK ``K = sum_l g_l^2`` (000 eq. (6), 004 eq. (5));
* dQNTK ``mu = sum_{l1 l2} d^2 eps / d theta_l1 d theta_l2  g_l1 g_l2`` (000 eq. (14)), computed as the
  second directional derivative of ``eps`` along ``g`` (two nested forward-mode passes);
* relative dQNTK ``lambda = mu / K`` (004 eq. (9)), dynamical index ``zeta = eps mu / K^2``
  (004 eq. (13)), and ``C = K - 2 lambda eps`` (004 eq. (11));
* the Hessian of the loss ``L = eps^2 / 2``, ``M = g g^T + eps d^2 eps`` (004 eq. (19));
* the QNTK matrix over data points and outputs (000 eqs. (3), (17)) and the measurement-dependent
  kernel ``K(M)`` of 002 Lemma 3.1.

Factories follow neural-tangents: ``qntk_fn(circuit, observable, target) -> kernel_fn(theta, ...)``.
Every returned function acts on one angle vector; ``jax.vmap`` it over ensembles of angles, input
states or (stacked) circuits.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from qntk.models import ansatze, observables
    >>> circuit = ansatze.rpa(2, 16, seed=0)
    >>> kernel_fn = qntk_fn(circuit, observables.xxz(2, J=2.0), target=-6.0)
    >>> thetas = jax.random.uniform(jax.random.key(0), (5, 16), maxval=2 * jnp.pi)
    >>> k = jax.jit(jax.vmap(kernel_fn))(thetas)
    >>> k.K.shape, k.grad.shape, bool(jnp.all(k.K >= 0))
    ((5,), (5, 16), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._sim import engine
from .models import Model
from .models.circuits import Circuit, brickwork_matrix, generator_matrices, permutation_gate
from .models.interop import FunctionCircuit


class Kernel(NamedTuple):
    """Kernel quantities at one angle vector (fields carry leading batch axes under ``vmap``).

    Field names follow docs/glossary.md; ``lambda_`` is ``lambda`` (a Python keyword). The names of
    qntk 0.1 (``qntk``, ``dqntk``, ``rel_dqntk``, ``dyn_index``, ``conserved``) remain as read-only
    aliases for one release.
    """

    eps: jax.Array  #: residual eps = <O> - O_0
    grad: jax.Array  #: d eps / d theta, shape (P,)
    K: jax.Array  #: the QNTK
    mu: jax.Array  #: the dQNTK
    lambda_: jax.Array  #: lambda = mu / K
    zeta: jax.Array  #: zeta = eps mu / K^2
    C: jax.Array  #: C = K - 2 lambda eps

    qntk = property(lambda self: self.K, doc="Alias of ``K`` (qntk 0.1).")
    dqntk = property(lambda self: self.mu, doc="Alias of ``mu`` (qntk 0.1).")
    rel_dqntk = property(lambda self: self.lambda_, doc="Alias of ``lambda_`` (qntk 0.1).")
    dyn_index = property(lambda self: self.zeta, doc="Alias of ``zeta`` (qntk 0.1).")
    conserved = property(lambda self: self.C, doc="Alias of ``C`` (qntk 0.1).")


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check_theta(circuit: Circuit, theta) -> None:
    """Raises ``ValueError`` for angles of the wrong shape or with NaN/inf entries (when concrete)."""
    if not _is_concrete(theta):
        return
    arr = np.asarray(theta)
    if arr.ndim < 1 or arr.shape[-1] != circuit.n_params:
        raise ValueError(
            f"theta must have shape (..., {circuit.n_params}) for a circuit with {circuit.n_params} parameters,"
            f" got {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("theta contains NaN or infinite angles: pass finite angles.")


def check_state(circuit: Circuit, state) -> None:
    """Raises ``ValueError`` for input states of the wrong dimension or norm (when concrete)."""
    if state is None or not _is_concrete(state):
        return
    arr = np.asarray(state)
    if arr.shape[-1] != circuit.dim:
        raise ValueError(f"state must have {circuit.dim} amplitudes for {circuit.n_qubits} qubits, got shape {arr.shape}.")
    norms = np.linalg.norm(arr, axis=-1)
    if not np.allclose(norms, 1.0, atol=1e-8):
        raise ValueError("state is not normalized: divide it by its norm.")


def _check_observable(circuit: Circuit, observable) -> None:
    if observable.n_qubits != circuit.n_qubits:
        raise ValueError(
            f"the observable acts on {observable.n_qubits} qubits but the circuit has {circuit.n_qubits}."
        )


def _theta_grad(circuit: Circuit, grad_phi: jax.Array) -> jax.Array:
    """Chain rule from layer angles to parameters: sums the layers that share a parameter."""
    pidx = circuit.param_index
    contrib = jnp.where(pidx >= 0, grad_phi, 0.0)
    return jnp.zeros(circuit.n_params, grad_phi.dtype).at[jnp.maximum(pidx, 0)].add(contrib)


def _angles(circuit: Circuit, theta, state, features) -> jax.Array:
    """Validated layer angles of one evaluation."""
    check_theta(circuit, theta)
    check_state(circuit, state)
    return engine.layer_angles(circuit, theta, features)


def _function_args(circuit: FunctionCircuit, state, features) -> tuple:
    """The data arguments of a model file's function: ``(x,)`` for a circuit that encodes features, else ``()``."""
    if state is not None:
        raise ValueError("a circuit without layered form (a model file's function) takes no input states.")
    if circuit.n_features and features is None:
        raise ValueError("this model file's function encodes data: pass the features x of the data point.")
    if not circuit.n_features and features is not None:
        raise ValueError("this model file's function encodes no data: define n_features (PennyLane) or features "
                         "(Qiskit) in the file to take features x.")
    return (jnp.asarray(features),) if circuit.n_features else ()


def residual_fn(circuit: Circuit, observable, target: float = 0.0):
    """``eps_fn(theta, state=None, features=None) -> eps`` (000 eq. (2))."""
    _check_observable(circuit, observable)
    if isinstance(circuit, FunctionCircuit):  # the framework's function: <O> is what it returns

        def function_eps(theta, state=None, features=None):
            args = _function_args(circuit, state, features)
            check_theta(circuit, theta)
            return circuit.fn(theta, *args) - target

        return function_eps

    def eps_fn(theta, state=None, features=None):
        return engine.expval(circuit, observable, _angles(circuit, theta, state, features), state) - target

    return eps_fn


def grad_fn(circuit: Circuit, observable, target: float = 0.0):
    """``fn(theta, state=None, features=None) -> (eps, d eps / d theta)`` by the adjoint method (by JAX's reverse
    mode through the framework's function for a :class:`~qntk.models.interop.FunctionCircuit`)."""
    _check_observable(circuit, observable)
    if isinstance(circuit, FunctionCircuit):
        value_and_grad = jax.value_and_grad(residual_fn(circuit, observable, target))
        return lambda theta, state=None, features=None: value_and_grad(theta, state, features)

    def fn(theta, state=None, features=None):
        phi = _angles(circuit, theta, state, features)
        value, g_phi = engine.expval_and_grad(circuit, observable, phi, state)
        return value - target, _theta_grad(circuit, g_phi)

    return fn


def variance_fn(circuit: Circuit, observable):
    """``fn(theta, state=None, features=None) -> Var(O) = <O^2> - <O>^2`` in the output state (the variance of one
    measurement; the shot noise of :mod:`qntk.train` and of :func:`qntk.theory.diagnostics.shot_noise_floor`)."""
    _check_observable(circuit, observable)
    if isinstance(circuit, FunctionCircuit):
        raise ValueError("shot noise needs the layered form (the variance of O in the output state): this model is "
                         "evaluated as a function.")

    def fn(theta, state=None, features=None):
        psi = engine.evolve(circuit, _angles(circuit, theta, state, features), state)
        o_psi = observable.apply(psi)
        mean = jnp.real(jnp.vdot(psi, o_psi))
        return jnp.maximum(jnp.real(jnp.vdot(o_psi, o_psi)) - mean**2, 0.0)

    return fn


def directional_second_derivative(eps_fn, theta, direction, *args):
    """``v^T (d^2 eps) v`` along ``v = direction``, by two nested forward-mode passes (no Hessian)."""

    def first(t):
        return jax.jvp(lambda th: eps_fn(th, *args), (theta + t * direction,), (direction,))[1]

    return jax.jvp(first, (0.0,), (1.0,))[1]


def qntk_fn(circuit: Circuit | Model, observable=None, target: float | None = None, *, mu: bool = True,
            seed: int = 0, dqntk: bool | None = None):
    """``kernel_fn(theta, state=None, features=None) -> Kernel`` with eps, grad, K, mu, lambda, zeta, C.

    ``qntk_fn(model)`` takes the :class:`~qntk.models.Model` that :func:`qntk.theory.predict` takes
    (its circuit drawn with ``seed``, its observable and target), so that the empirical kernel and its
    theory are computed from one object.

    Args:
        circuit: the layered circuit, or a model.
        observable: a :mod:`qntk.models.observables` observable on the same qubits (not with a model).
        target: the target value ``O_0`` (default 0; not with a model).
        mu: compute ``mu`` (and lambda, zeta, C); otherwise those fields are NaN and the cost is
            one gradient.
        seed: the circuit drawn from a model's ansatz.
        dqntk: alias of ``mu`` (qntk 0.1).

    Example:
        >>> from qntk.models import Model
        >>> k = qntk_fn(Model("rpa", 2, 8, "xxz:J=2", target=-3.0), seed=1)(jnp.zeros(8))
        >>> bool(k.K >= 0), k.grad.shape
        (True, (8,))
    """
    if isinstance(circuit, Model):
        if observable is not None or target is not None:
            raise ValueError("a Model carries its observable and target: pass qntk_fn(model) alone.")
        circuit, observable, target = circuit.circuit(seed), circuit.operator, circuit.target
    target = 0.0 if target is None else target
    mu = mu if dqntk is None else dqntk
    eps_fn = residual_fn(circuit, observable, target)
    eps_grad = grad_fn(circuit, observable, target)

    def kernel_fn(theta, state=None, features=None) -> Kernel:
        eps, g = eps_grad(theta, state, features)
        k = jnp.sum(g**2)
        if mu:
            m = directional_second_derivative(eps_fn, theta, g, state, features)
        else:
            m = jnp.full_like(k, jnp.nan)
        lam = m / k
        return Kernel(eps, g, k, m, lam, eps * m / k**2, k - 2.0 * lam * eps)

    return kernel_fn


def hessian_fn(circuit: Circuit, observable, target: float = 0.0):
    """``fn(theta, state=None, features=None) -> d^2 eps / d theta^2``, shape ``(P, P)``.

    Forward-mode Jacobian of the adjoint gradient: cost about ``P`` gradients, memory ``O(P^2 + d)``.
    """
    eps_grad = grad_fn(circuit, observable, target)

    def fn(theta, state=None, features=None):
        h = jax.jacfwd(lambda th: eps_grad(th, state, features)[1])(theta)
        return 0.5 * (h + h.T)

    return fn


def loss_hessian_fn(circuit: Circuit, observable, target: float = 0.0):
    """``fn(theta, state=None, features=None) -> (M, eigenvalues)`` for the loss ``eps^2 / 2``.

    ``M = g g^T + eps d^2 eps`` (004 eq. (19)); eigenvalues in ascending order.
    """
    eps_grad = grad_fn(circuit, observable, target)
    hess = hessian_fn(circuit, observable, target)

    def fn(theta, state=None, features=None):
        eps, g = eps_grad(theta, state, features)
        m = jnp.outer(g, g) + eps * hess(theta, state, features)
        return m, jnp.linalg.eigvalsh(m)

    return fn


def _as_outputs(observables) -> tuple:
    return tuple(observables) if isinstance(observables, Sequence) else (observables,)


def jacobian_fn(circuit: Circuit, observables):
    """``fn(theta, states=None, features=None) -> J`` with ``J[(i, a), l] = d <O_a>(x_i) / d theta_l``.

    Rows are ordered data-major (``i * n_outputs + a``); ``states`` has shape ``(m, d)`` and/or
    ``features`` shape ``(m, F)``.
    """
    outputs = _as_outputs(observables)
    grads = [grad_fn(circuit, o) for o in outputs]

    def fn(theta, states=None, features=None):
        if states is None and features is None:
            raise ValueError("pass the data set: states of shape (m, d) and/or features of shape (m, F).")
        jac = jnp.stack([per_data(lambda s, f, g=g: g(theta, s, f)[1], states, features) for g in grads], axis=1)
        return jac.reshape(-1, circuit.n_params)  # (m A, P), data-major

    return fn


def per_data(fn, states=None, features=None):
    """``fn(state, features)`` at every data point, with a leading data axis; without data (``states`` and
    ``features`` both ``None``) ``fn(None, None)`` as one point."""
    if states is None and features is None:
        return jax.tree.map(lambda x: x[None], fn(None, None))
    ax = (None if states is None else 0, None if features is None else 0)
    return jax.vmap(fn, in_axes=ax)(states, features)


def qntk_matrix_fn(circuit: Circuit, observables):
    """``fn(theta, states=None, features=None) -> K`` with ``K_{(i,a),(j,b)} = sum_l J_{(i,a) l} J_{(j,b) l}``
    (000 eqs. (3), (17)); shape ``(m A, m A)``, symmetric positive semi-definite."""
    jac = jacobian_fn(circuit, observables)

    def fn(theta, states=None, features=None):
        j = jac(theta, states, features)
        return j @ j.T

    return fn


def measurement_operator(circuit: Circuit, observable, theta) -> np.ndarray:
    """The parametrized measurement ``M(theta) = U(theta)^dagger O U(theta)`` of 002 Lemma 3.1, a dense
    ``d x d`` matrix (``O(L d^3)``: small d): ``<O>`` on an input state ``rho`` is ``tr(rho M)``."""
    check_theta(circuit, theta)
    u = np.asarray(engine.unitary(circuit, engine.layer_angles(circuit, jnp.asarray(theta))))
    return u.conj().T @ observable.matrix() @ u


def measurement_kernel(circuit: Circuit, observable, theta, states) -> np.ndarray:
    """``K(M)`` of 002 Lemma 3.1, eq. (4), evaluated from the Heisenberg-picture measurement.

    ``K_ij = s^2 sum_p c_ip c_jp`` with ``c_ip = sum_{l: p(l)=p} tr(i[M, rho_i] H_l)``,
    ``M = U^dagger O U`` and ``H_l = U_{<l}^dagger G_l U_{<l}`` (002 uses ``s = 1``). It equals
    :func:`qntk_matrix_fn` for one output; this dense O(L d^3) route is the independent check of
    002's formula (use small d).
    """
    phi = np.asarray(engine.layer_angles(circuit, jnp.asarray(theta)))
    d = circuit.dim
    meas = measurement_operator(circuit, observable, theta)
    rhos = [np.outer(s, np.conj(s)) for s in np.asarray(states)]
    comms = [1j * (meas @ r - r @ meas) for r in rhos]
    prefix = np.eye(d, dtype=complex) if circuit.w_in is None else np.asarray(circuit.w_in)
    coeff = np.zeros((len(rhos), circuit.n_params))
    param_index = np.asarray(circuit.param_index)
    for l, g in enumerate(generator_matrices(circuit)):
        h = prefix.conj().T @ g @ prefix
        p = int(param_index[l])
        if p >= 0:
            coeff[:, p] += [np.real(np.trace(c @ h)) for c in comms]
        step = _dense_layer(circuit, l, phi[l], g)
        prefix = step @ prefix
    coeff *= circuit.scale
    return coeff @ coeff.T


def _dense_layer(circuit: Circuit, layer: int, phi: float, g: np.ndarray) -> np.ndarray:
    evals, vecs = np.linalg.eigh(g)
    rot = vecs @ np.diag(np.exp(-1j * circuit.scale * phi * evals)) @ vecs.conj().T
    if circuit.gate_kind == "dense":
        return np.asarray(circuit.w[layer]) @ rot
    if circuit.gate_kind == "brickwork":
        return brickwork_matrix(circuit.w_qubit[layer]) @ rot
    if circuit.gate_kind == "perm":
        perm, phase = np.asarray(circuit.w_perm[layer]), np.asarray(circuit.w_phase[layer])
    elif circuit.gate_kind == "local":
        perm, phase = permutation_gate(circuit.n_qubits, circuit.program[layer % len(circuit.program)][2])
    else:
        return rot
    w = np.zeros_like(rot)
    w[np.arange(circuit.dim), perm] = phase
    return w @ rot
