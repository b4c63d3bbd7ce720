"""The loss Hessian at late time and its gap (004 eqs. (18)-(20), Fig. 4).

Near the end of training, gradient descent on the quadratic loss ``L = eps^2 / 2`` is linear in the
distance to the converged angles ``theta*`` (004 eq. (18)), ``delta theta = -eta M (theta - theta*)``,
with the loss Hessian

.. math::  M_{l_1 l_2} = \\partial_{l_1}\\varepsilon\\, \\partial_{l_2}\\varepsilon
                      + \\varepsilon\\, \\partial_{l_1}\\partial_{l_2}\\varepsilon     \\qquad \\text{(004 eq. (19))}

(:func:`qntk.kernels.loss_hessian_fn`). 004 eq. (20) reads this as an imaginary-time Schrodinger
equation with the "Hamiltonian" ``H_inf ~ M``: the zero modes of ``M`` do not move, and the slowest mode
that does decays at the smallest non-zero eigenvalue of ``M``. qntk calls that eigenvalue the **gap**
(:func:`gap`, with :data:`NONZERO_RTOL` saying what "non-zero" is); ``top`` is the largest eigenvalue.
Both vanish linearly at ``O_0 = O_min`` and ``O_max``, the two definitions agree in the frozen-kernel
bulk, and the gap is the one that sets the late-time convergence; 004 does not say which it plots.

At late time (004 Theorem 1, :func:`qntk.theory.lv.predict_regime`):

* frozen kernel, ``O_min < O_0 < O_max``: ``eps -> 0`` and ``M -> g g^T``, rank one, with its one
  non-zero eigenvalue ``K`` (004 text after eq. (20)): the gap is the late-time QNTK. In the restricted
  Haar ensemble (004 eq. (17), :mod:`qntk.theory.restricted_haar`) at the converged state
  ``psi*``, ``E[K_inf | psi*] = kappa L Var_psi*(O)`` exactly (``kappa = 2 d s^2 / (d^2 - 1)`` for a
  Pauli generator; qntk takes ``kappa`` from :func:`qntk.theory.restricted_haar.late_time`). Which
  ``psi*`` training reaches is the imaginary-time picture of eq. (20) once more: with the circuit's
  state-space metric isotropic (a deep circuit), gradient flow moves the output along
  ``psi(tau) ~ exp(-tau O) psi(0)`` and stops where ``<O> = O_0`` (:func:`converged_state`); ``psi(0)``
  is a Haar state. The prediction ``E[K_inf]`` averages ``kappa L Var_psi*(O)`` over Haar ``psi(0)``
  (Monte Carlo over the initial state only; no circuit, no trajectory).
* frozen error (``O_0 < O_min`` or ``> O_max``) and the critical point: ``psi*`` is the ground (top)
  state, ``g -> 0``, ``eps -> R`` and ``M -> R Hess <O>(theta*)``, of rank ``2 (d - 1)`` for a deep
  circuit and a non-degenerate edge (the real tangent space of the state manifold). Its spectrum is
  sampled on circuits drawn from the restricted Haar ensemble conditioned on the edge state
  (:func:`qntk.theory.restricted_haar.sample_circuit`); the gap grows as ``|R|`` from 0 at the critical
  point.

Public names: :data:`NONZERO_RTOL`, :func:`gap`, :func:`rank`, :func:`loss_spectra`,
:func:`converged_state`, :func:`kappa`, :func:`bulk_K`, :func:`edge_spectra`, :func:`late_time_spectrum`.

Example:
    >>> float(gap(np.array([0.0, 1e-12, 0.5, 2.0])))
    0.5
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import kernels
from ..models import Model
from ..models._spec import check_choice, check_int, check_real
from ..models.circuits import Circuit
from . import haar, lv, restricted_haar
from ._predict import _generators

#: An eigenvalue of ``M`` counts as non-zero when it exceeds this fraction of the largest ``|eigenvalue|``
#: (the zero modes of the converged circuit are ``~1e-15`` relative; a trained circuit's, the residual
#: ``|eps| Hess eps`` of the frozen kernel or the distance to the edge state in frozen error, lie below it
#: once ``|eps| <~ 1e-5``).
NONZERO_RTOL = 1e-4


def rank(eigenvalues, rtol: float = NONZERO_RTOL) -> np.ndarray:
    """The number of non-zero eigenvalues (``> rtol max |eigenvalue|``) along the last axis."""
    ev = np.asarray(eigenvalues, dtype=float)
    scale = np.max(np.abs(ev), axis=-1, keepdims=True)
    return np.sum(ev > rtol * scale, axis=-1) * (scale[..., 0] > 0)


def gap(eigenvalues, rtol: float = NONZERO_RTOL) -> np.ndarray:
    """The smallest non-zero eigenvalue (``> rtol max |eigenvalue|``) along the last axis; 0 if there is none
    (``M = 0``, the critical point)."""
    ev = np.asarray(eigenvalues, dtype=float)
    scale = np.max(np.abs(ev), axis=-1, keepdims=True)
    nonzero = (ev > rtol * scale) & (scale > 0)
    return np.where(nonzero.any(axis=-1), np.min(np.where(nonzero, ev, np.inf), axis=-1), 0.0)


@jax.jit
def _spectra(circuit, observable, thetas, state, target):
    def one(theta):
        return kernels.loss_hessian_fn(circuit, observable, target)(theta, state)[1]

    return jax.vmap(one)(thetas)


def loss_spectra(circuit: Circuit, observable, target: float, thetas, state=None) -> np.ndarray:
    """The eigenvalues (ascending) of the loss Hessian ``M`` (004 eq. (19)) at each angle vector.

    One compilation per shape (the circuit, observable, angles, state and target are all arguments of
    one jitted function).

    Args:
        circuit: the circuit.
        observable: a :mod:`qntk.models.observables` observable.
        target: ``O_0``.
        thetas: angles, shape ``(S, P)``.
        state: input state (default ``|0...0>``).

    Returns:
        shape ``(S, P)``.
    """
    thetas = jnp.atleast_2d(jnp.asarray(thetas, dtype=jnp.float64))
    kernels.check_theta(circuit, thetas)
    st = jnp.zeros(circuit.dim, jnp.complex128).at[0].set(1.0) if state is None else jnp.asarray(state, jnp.complex128)
    kernels.check_state(circuit, st)
    return np.asarray(_spectra(circuit, observable, thetas, st, jnp.float64(target)))


def _flow_weights(energies: np.ndarray, weights: np.ndarray, target: float) -> np.ndarray:
    """Eigenbasis weights of ``exp(-tau O) psi(0)`` normalized, with ``tau`` such that ``<O> = target``
    (bisection on ``tau``: ``<O>`` falls monotonically, ``d<O>/dtau = -2 Var``); ``weights`` ``(S, d)``."""
    e = energies - energies.mean()
    span = max(float(np.ptp(e)), 1e-300)
    w = np.asarray(weights, dtype=float)

    def mean_at(tau):
        logw = np.log(np.maximum(w, 1e-300)) - 2.0 * tau[:, None] * e[None, :]
        p = np.exp(logw - logw.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return p, p @ e

    t0 = target - energies.mean()
    lo, hi = np.full(len(w), -800.0 / span), np.full(len(w), 800.0 / span)
    for _ in range(120):
        mid = 0.5 * (lo + hi)
        above = mean_at(mid)[1] > t0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return mean_at(0.5 * (lo + hi))[0]


def converged_state(observable, state, target: float) -> np.ndarray:
    """The state where imaginary-time flow from ``state`` reaches ``<O> = O_0`` (004 eq. (20)).

    ``psi(tau) = exp(-tau O) psi(0) / ||.||`` for the ``tau`` with ``<psi(tau)|O|psi(tau)> = O_0``, the
    output of gradient flow on the quadratic loss when the circuit's metric on state space is isotropic.
    ``O_0`` must lie strictly inside the range of ``<O>`` on the flow (for ``O_0`` beyond the spectrum
    the flow tends to the edge eigenstate, :func:`edge_spectra`).

    Raises:
        ValueError: if ``O_0`` is not strictly between ``O_min`` and ``O_max``.
    """
    o = haar._matrix("observable", observable)
    vals, vecs = np.linalg.eigh(o)
    o0 = check_real("target", target)
    if not vals[0] < o0 < vals[-1]:
        raise ValueError(f"target must lie strictly inside the spectrum [{vals[0]:g}, {vals[-1]:g}] of O, got {o0!r}.")
    c = vecs.conj().T @ (np.asarray(state, dtype=complex) / np.linalg.norm(state))
    p = _flow_weights(vals, np.abs(c[None]) ** 2, o0)[0]
    amp = np.where(np.abs(c) > 0, c / np.maximum(np.abs(c), 1e-300), 1.0) * np.sqrt(p)
    return vecs @ amp


def kappa(observable, n_layers: int, scale: float, generator=None) -> float:
    """``kappa`` of ``E[K_inf | psi] = kappa L Var_psi(O)`` in the restricted Haar ensemble (exact; from
    :func:`qntk.theory.restricted_haar.late_time` at one state, since the average depends on ``psi`` only
    through ``Var_psi(O)``). ``2 d s^2 / (d^2 - 1)`` for a Pauli generator."""
    o = haar._matrix("observable", observable)
    g = None if generator is None else np.asarray(generator)
    key = (o.tobytes(), o.shape, check_int("n_layers", n_layers, 1), float(scale), None if g is None else (g.tobytes(), g.shape))
    if key not in _KAPPA:
        _KAPPA[key] = _kappa(o, key[2], float(scale), g)
    return _KAPPA[key]


_KAPPA: dict = {}


def _kappa(o: np.ndarray, L: int, scale: float, generator) -> float:
    vecs = np.linalg.eigh(o)[1]
    psi = (vecs[:, 0] + vecs[:, -1]) / math.sqrt(2.0)
    var = float(np.real(psi.conj() @ o @ o @ psi) - np.real(psi.conj() @ o @ psi) ** 2)
    return restricted_haar.late_time(o, psi, L, scale, generator=generator)["K_inf"] / (L * var)


def bulk_K(observable, n_layers: int, scale: float, target: float, samples: int = 20000, seed: int = 0,
           generator=None) -> dict[str, float]:
    """``E[K_inf]`` at ``O_min < O_0 < O_max`` (frozen kernel), the late-time gap there.

    ``kappa L Var_psi*(O)`` (:func:`kappa`) averaged over ``psi* =`` :func:`converged_state` of ``samples``
    Haar initial states (whose eigenbasis weights are uniform on the simplex).

    Returns:
        ``{"K_inf", "K_inf_sem", "K_inf_std"}``: the Monte Carlo mean, its standard error and the
        standard deviation over initial states of ``E[K_inf | psi*]``.
    """
    o = haar._matrix("observable", observable)
    vals = np.linalg.eigvalsh(o)
    o0 = check_real("target", target)
    if not vals[0] < o0 < vals[-1]:
        raise ValueError(f"target must lie strictly inside the spectrum [{vals[0]:g}, {vals[-1]:g}] (frozen kernel), got {o0!r}.")
    n = check_int("samples", samples, 2)
    w0 = np.random.default_rng(check_int("seed", seed, 0)).dirichlet(np.ones(len(vals)), size=n)
    p = _flow_weights(vals, w0, o0)
    var = p @ vals**2 - (p @ vals) ** 2
    k = kappa(o, n_layers, scale, generator) * check_int("n_layers", n_layers, 1) * var
    return {"K_inf": float(k.mean()), "K_inf_sem": float(k.std(ddof=1) / math.sqrt(n)), "K_inf_std": float(k.std(ddof=1))}


def edge_spectra(model: Model, circuits: int = 32, seed: int = 0, edge: str | None = None) -> np.ndarray:
    """Spectra of ``M`` on ``circuits`` random Pauli ansatz circuits drawn from the restricted Haar ensemble
    at the ground (``edge="min"``) or top (``"max"``) state of ``model``'s observable, with ``eps = R =
    O_edge - O_0`` and ``g = 0``: ``M = R Hess<O>`` (frozen error; ``M = 0`` at the critical point).

    ``edge`` defaults to the side of ``O_0`` (:func:`qntk.theory.lv.predict_regime`). Returns the
    ascending eigenvalues, shape ``(circuits, L)``.
    """
    o = model.operator.matrix()
    vals, vecs = np.linalg.eigh(o)
    if edge is None:
        edge = "min" if lv.predict_regime(model.target, vals[0], vals[-1]).boundary == "O_min" else "max"
    state = vecs[:, 0] if check_choice("edge", edge, ("min", "max")) == "min" else vecs[:, -1]
    rng = np.random.default_rng(check_int("seed", seed, 0))
    out = []
    for _ in range(check_int("circuits", circuits, 1)):
        circuit, theta, psi_in = restricted_haar.sample_circuit(model.n_qubits, model.n_layers, state,
                                                                int(rng.integers(2**31)), model.generator_scale)
        out.append(loss_spectra(circuit, model.operator, model.target, theta[None], psi_in)[0])
    return np.array(out)


def late_time_spectrum(model: Model, circuits: int = 32, samples: int = 20000, seed: int = 0, top: int = 10
                       ) -> dict:
    """The model-level late-time prediction of the loss-Hessian gap of ``model`` (no training trajectory).

    Frozen kernel: ``gap = top = E[K_inf]`` from :func:`bulk_K` (``samples`` initial states), the spectrum
    ``(E[K_inf], 0, ...)``. Frozen error: the mean gap, top eigenvalue and top-``top`` spectrum over
    :func:`edge_spectra` (``circuits`` restricted-Haar circuits). Critical point: all 0.

    Returns:
        ``{"regime", "R", "gap", "gap_sem", "top", "top_sem", "spectrum" (the ``top`` largest mean
        eigenvalues, descending), "rank" (of ``M``: 1, ``2 (d - 1)`` or 0), "method"}``.
    """
    o_min, o_max = model.operator.spectrum_extremes()
    reg = lv.predict_regime(model.target, o_min, o_max)
    L = model.n_layers
    base = {"regime": reg.regime, "R": reg.R}
    if reg.regime == "critical":
        return {**base, "gap": 0.0, "gap_sem": 0.0, "top": 0.0, "top_sem": 0.0, "spectrum": np.zeros(min(top, L)),
                "rank": 0, "method": "critical point: eps, g -> 0, M -> 0"}
    if reg.regime == "frozen-kernel":
        gen = restricted_haar_generator(model)
        k = bulk_K(model.operator.matrix(), L, model.generator_scale, model.target, samples, seed, gen)
        spec = np.zeros(min(top, L))
        spec[0] = k["K_inf"]
        return {**base, "gap": k["K_inf"], "gap_sem": k["K_inf_sem"], "top": k["K_inf"], "top_sem": k["K_inf_sem"],
                "spectrum": spec, "rank": 1,
                "method": f"restricted Haar E[K_inf] at the imaginary-time converged state, {samples} Haar initial states"}
    ev = edge_spectra(model, circuits, seed)
    gaps, tops = gap(ev), ev[:, -1]
    n = len(ev)
    return {**base, "gap": float(gaps.mean()), "gap_sem": float(gaps.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
            "top": float(tops.mean()), "top_sem": float(tops.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
            "spectrum": ev[:, ::-1][:, :top].mean(axis=0), "rank": int(np.median(rank(ev))),
            "method": f"R Hess<O> on {n} restricted-Haar circuits at the edge state"}


def restricted_haar_generator(model: Model):
    """The one generator kind of ``model``'s trainable layers, for :func:`kappa` and
    :func:`qntk.theory.restricted_haar.late_time`: ``None`` (a Pauli string, their default) for the random
    Pauli ansatz, else the matrix of the one kind.

    Raises:
        ValueError: for a model with several kinds of generator spectrum.
    """
    if model.ansatz == "rpa":
        return None
    kinds = haar.group_by_spectrum(_generators(model))[0]
    if len(kinds) > 1:
        raise ValueError(f"the late-time Hessian theory takes one kind of layer generator; this model has {len(kinds)}.")
    return kinds[0]
