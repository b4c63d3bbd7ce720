"""The restricted Haar ensemble of late-time training (004 eq. (17), Theorem 3), exact in ``d`` and ``L``.

At late time the circuit maps its input to one converged state ``|psi_0>``; 004 models it as a Haar
unitary restricted to do so, ``U = diag(1, V)`` in a basis whose first vector is the converged state,
``V`` Haar on the other ``d - 1`` dimensions. qntk applies this to the same chain of Haar pieces as the
initialization theory (:mod:`qntk.theory.haar`, ``model="chain"``): the state just after every
rotation is a Haar state, the circuit between two rotations is an independent Haar unitary, and the
rest of the circuit after a rotation is a unitary conditioned to carry that rotation's state to
``|psi_0>``. In the frame where that state is ``e_0``,

.. math::  A = R^\\dagger \\tilde O R ,\\qquad R = E + Q W Q ,

with ``E = |e_0><e_0|``, ``Q = 1 - E``, ``W`` Haar on the range of ``Q``, ``O~`` the observable in a basis
whose first vector is ``|psi_0>``, and the generators ``G_l`` Haar conjugates of ``G`` (independent
for the two layers of a pair). Then ``g_l = i s <e_0|[G_l, A]|e_0>``, the Hessian terms are those of
:mod:`qntk.theory.haar` with ``A``, and the residual ``eps = <psi_0|O|psi_0> - O_0`` is fixed.

Exact averages (Weingarten sums over ``U(d - 1)`` for ``W`` and ``U(d)`` for the generators):

* ``E[K_inf] = L s^2 E[g^2]``, which is ``L s^2 2 d Var_psi0(O) / (d^2 - 1)`` for a Pauli ``G``;
* ``E[mu_inf] = L s^4 E[H_ll g_l^2] + L (L - 1) s^4 E[H_l1l2 g_l1 g_l2]``;
* ``lambda_inf = E[mu_inf] / E[K_inf]`` and ``zeta_inf = eps E[mu_inf] / E[K_inf]^2``, the ratios of
  averages that 004 uses.

Public names: :func:`late_time`, :func:`projector_late_time`, :func:`projector`, :func:`is_projector`, :func:`edge_late_time`, :func:`asymptotic_projector`,
:func:`frame`, :func:`restricted_unitary`, :func:`sample_circuit`.
"""

from __future__ import annotations

import functools
import math

import jax
import numpy as np

from ..models.ansatze import haar_unitaries
from ..models._spec import check_choice, check_int, check_non_negative, check_real, check_scale
from ..models.circuits import Circuit, from_paulis
from ..models.pauli import PauliString
from . import haar
from .weingarten import DAGGER, OpPoly, TracePoly, comm, trace

_E, _Q, _T, _G = OpPoly("E"), OpPoly("Q"), OpPoly("T"), OpPoly("G")
_R = _E + OpPoly(("Q", "W", "Q"))
_RD = _E + OpPoly(("Q", "W" + DAGGER, "Q"))
_A = _RD * _T * _R  # the observable seen from a rotation, conditioned on the converged state
_G1 = OpPoly(("Y1", "G", "Y1" + DAGGER))
_G2 = OpPoly(("Y2", "G", "Y2" + DAGGER))


def _ev(op: OpPoly, d: int) -> TracePoly:
    return trace(_E * op, d)


@functools.lru_cache(maxsize=None)
def _moment(name: str, d: int) -> TracePoly:
    """``E[g^2]``, ``E[H_ll g^2]`` or ``E[H_l1l2 g_l1 g_l2]`` (``s = 1``) as a trace polynomial in
    ``E, Q, T, G``; cached per dimension (a fraction of a second each)."""
    g1 = _ev(comm(_G1, _A), d) * 1j
    g2 = _ev(comm(_G2, _A), d) * 1j
    poly = {
        "g2": lambda: g1 * g1,
        "hg2": lambda: _ev(comm(_G1, comm(_G1, _A)), d) * -1 * g1 * g1,
        "hgg": lambda: _ev(comm(_G1, comm(_G2, _A)), d) * -1 * g1 * g2,
    }[name]()
    poly = poly.haar_unitary("W", dim=d - 1)
    for name_y in ("Y1", "Y2"):
        if name_y in poly.letters():
            poly = poly.haar_unitary(name_y)
    return poly


def frame(observable, state) -> np.ndarray:
    """``O~ = B^dagger O B`` for a unitary ``B`` whose first column is the normalized ``state``: the
    observable in a basis whose first vector is the converged state (the averages do not depend on the
    other columns, which the restricted Haar ``V`` averages over)."""
    o = haar._matrix("observable", observable)
    psi = np.asarray(state, dtype=np.complex128).reshape(-1)
    if psi.shape != (o.shape[0],) or not np.all(np.isfinite(psi)) or np.linalg.norm(psi) == 0:
        raise ValueError(f"state must be a finite non-zero vector of length d = {o.shape[0]}, got shape {psi.shape}.")
    basis = _completion(psi)
    return basis.conj().T @ o @ basis


def _completion(v: np.ndarray) -> np.ndarray:
    """A unitary whose first column is the normalized ``v`` (QR of ``[v, 1]``, phase fixed)."""
    v = v / np.linalg.norm(v)
    basis = np.linalg.qr(np.column_stack([v, np.eye(len(v), dtype=np.complex128)]))[0][:, : len(v)]
    basis[:, 0] *= np.vdot(basis[:, 0], v) / abs(np.vdot(basis[:, 0], v))
    return basis


def late_time(observable, state, n_layers: int, scale: float, target: float = 0.0, generator=None) -> dict[str, float]:
    """Exact restricted-Haar averages at the converged state ``state``, any ``O``, ``d``, ``L``.

    Args:
        observable: ``O`` (matrix or :mod:`qntk.models.observables` observable).
        state: the converged output state ``|psi_0>`` (length-``d`` vector).
        n_layers: ``L``.
        scale: generator scale ``s`` (``0.5`` in 004).
        target: ``O_0``; the residual is ``eps = <psi_0|O|psi_0> - O_0``.
        generator: one generator for every layer (matrix or Pauli label); ``None`` for a Pauli string.

    Returns:
        ``{"eps", "K_inf", "mu_inf", "lambda_inf", "zeta_inf"}`` (``lambda_inf``, ``zeta_inf`` are NaN
        when ``E[K_inf] = 0``, at an eigenstate: see :func:`projector_late_time` for the limit).
    """
    o_t = frame(observable, state)
    d = o_t.shape[0]
    layers = haar._Layers(o_t, generator, check_int("n_layers", n_layers, 1))
    if len(layers.gens) > 1:  # pragma: no cover - _Layers with one generator has one kind
        raise ValueError("late_time takes one generator for every layer.")
    s = check_scale(scale)
    e = np.zeros((d, d))
    e[0, 0] = 1.0
    mats = {"E": e, "Q": np.eye(d) - e, "T": o_t, "G": layers.gens[0]}

    def value(name: str) -> float:
        return float(_moment(name, d).evaluate(mats).real)

    L = layers.n_layers
    k = L * s**2 * value("g2")
    mu = L * s**4 * value("hg2") + L * (L - 1) * s**4 * value("hgg")
    eps = float(o_t[0, 0].real) - check_real("target", target)
    if abs(k) <= 1e-13 * L * s**2 * np.linalg.norm(o_t) ** 2 / d:  # an eigenstate: K, mu = 0
        return {"eps": eps, "K_inf": k, "mu_inf": mu, "lambda_inf": math.nan, "zeta_inf": math.nan}
    return {"eps": eps, "K_inf": k, "mu_inf": mu, "lambda_inf": mu / k, "zeta_inf": eps * mu / k**2}


_NODES = np.array([0.2, 0.4, 0.6, 0.8])


def _path(o: np.ndarray, a: np.ndarray, b: np.ndarray, n_layers: int, scale: float, generator=None):
    """``E[K_inf]`` and ``E[mu_inf]`` along ``psi(x) = sqrt(x) a + sqrt(1 - x) b`` (``a``, ``b`` orthonormal
    eigenvectors of ``O``, or any pair for a projector onto ``a``) as polynomials in ``x``: every average
    is a polynomial of degree <= 3 in ``psi psi^dagger`` whose cross terms pair up, so four nodes give
    it exactly (the tests check a fifth)."""
    ks, mus = [], []
    for x in _NODES:
        r = late_time(o, np.sqrt(x) * a + np.sqrt(1.0 - x) * b, n_layers, scale, generator=generator)
        ks.append(r["K_inf"])
        mus.append(r["mu_inf"])
    fit = np.polynomial.Polynomial.fit
    return fit(_NODES, ks, 3).convert(), fit(_NODES, mus, 3).convert()


def _along(k_poly, mu_poly, x: float, eps: float, deps: float) -> dict[str, float]:
    """The averages at ``x`` (``eps`` the residual there, ``deps = d eps / dx`` along the path); at an
    end point ``x = 1`` (or ``0``), an eigenstate, ``K`` and ``mu`` are 0 and ``lambda_inf`` and ``zeta_inf`` are
    their limits along the path: with ``x`` moved by ``h`` into ``(0, 1)``, ``K ~ K' h``,
    ``mu ~ mu' h`` and ``eps ~ eps + deps h``."""
    k, mu = float(k_poly(x)), float(mu_poly(x))
    if 0.0 < x < 1.0:
        return {"eps": eps, "K_inf": k, "mu_inf": mu, "lambda_inf": mu / k, "zeta_inf": eps * mu / k**2}
    dk, dmu = float(k_poly.deriv()(x)), float(mu_poly.deriv()(x))
    h = 1.0 if x == 0.0 else -1.0  # the direction into (0, 1)
    zeta = deps * dmu / dk**2 if eps == 0.0 else math.copysign(math.inf, eps * dmu * h)
    return {"eps": eps, "K_inf": 0.0, "mu_inf": 0.0, "lambda_inf": dmu / dk, "zeta_inf": zeta}  # an eigenstate


def projector_late_time(n_qubits: int, n_layers: int, target: float, scale: float = 0.5) -> dict[str, float]:
    """004 Theorem 3 exactly: the state-preparation task ``O = |Phi><Phi|`` at late time, any ``d``, ``L``.

    The converged fidelity is ``F = O_0`` clipped to ``[0, 1]`` (beyond the spectrum the output reaches
    the nearest eigenstate and the error freezes at ``eps = F - O_0``: 004's ``R = min(1 - O_0, 0)``
    for ``O_0 > 1``). At ``F = 1`` (or ``0``) ``K_inf``, ``mu_inf`` and the moving part of ``eps``
    vanish together; ``lambda_inf`` and ``zeta_inf`` are their limits along ``F = 1 - kappa``,
    ``kappa -> 0`` (004's ``kappa = o(1)``), taken exactly.

    Args:
        n_qubits: ``n`` (``d = 2^n``).
        n_layers: ``L``.
        target: ``O_0``.
        scale: generator scale ``s``.

    Returns:
        ``{"fidelity", "eps", "K_inf", "mu_inf", "lambda_inf", "zeta_inf"}``.
    """
    d = 2 ** check_int("n_qubits", n_qubits, 1)
    return projector(np.diag(np.eye(d)[0]), n_layers, scale, target)


def is_projector(observable) -> bool:
    """Whether ``observable`` is a rank-one projector ``|Phi><Phi|`` (eigenvalues ``0, ..., 0, 1``)."""
    vals = np.linalg.eigvalsh(haar._matrix("observable", observable))
    return bool(np.allclose(vals, np.r_[np.zeros(len(vals) - 1), 1.0], atol=1e-10))


def projector(observable, n_layers: int, scale: float, target: float, generator=None) -> dict[str, float]:
    """:func:`projector_late_time` for a given projector ``|Phi><Phi|`` (matrix or observable) and generator.

    Raises:
        ValueError: if ``observable`` is not a rank-one projector.
    """
    o = haar._matrix("observable", observable)
    if not is_projector(o):
        raise ValueError("observable is not a rank-one projector |Phi><Phi|: use late_time or edge_late_time.")
    vecs = np.linalg.eigh(o)[1]
    o0 = check_real("target", target)
    f = min(max(o0, 0.0), 1.0)
    k_poly, mu_poly = _path(o, vecs[:, -1], vecs[:, 0], n_layers, scale, generator)
    return {"fidelity": f, **_along(k_poly, mu_poly, f, f - o0, 1.0)}


def edge_late_time(observable, n_layers: int, scale: float, target: float, edge: str = "min", generator=None
                   ) -> dict[str, float]:
    """Restricted-Haar averages when training converges to the ground state (``edge="min"``) or the top
    state (``"max"``): the critical point and the frozen-error regime of 004 Theorem 1.

    ``K_inf = mu_inf = 0`` at the eigenstate; ``lambda_inf`` and ``zeta_inf`` are their limits as the
    output approaches it along the next eigenstate, the slowest mode of the imaginary-time picture of
    late training (004 eq. (20)): ``psi = sqrt(1 - kappa) e_0 + sqrt(kappa) e_1``, ``kappa -> 0``. With
    a degenerate edge or next level the eigenvectors of ``numpy.linalg.eigh`` are taken.

    Args:
        observable, n_layers, scale, target, generator: as in :func:`late_time`.
        edge: ``"min"`` or ``"max"``.

    Returns:
        ``{"eps", "K_inf", "mu_inf", "lambda_inf", "zeta_inf", "edge_energy", "gap"}``.
    """
    o = haar._matrix("observable", observable)
    vals, vecs = np.linalg.eigh(o)
    i, j = (0, 1) if check_choice("edge", edge, ("min", "max")) == "min" else (-1, -2)
    k_poly, mu_poly = _path(o, vecs[:, i], vecs[:, j], n_layers, scale, generator)
    eps = float(vals[i]) - check_real("target", target)
    return {**_along(k_poly, mu_poly, 1.0, eps, float(vals[i] - vals[j])), "edge_energy": float(vals[i]), "gap": float(abs(vals[j] - vals[i]))}


def asymptotic_projector(n_qubits: int, n_layers: int, target: float) -> dict[str, float]:
    """004 eqs. (35)-(37), the ``L, d >> 1`` forms of Theorem 3 (``s = 1/2``); ``F = O_0 + R``.

    Eq. (36) is ``0/0`` at ``O_0 = 1``; its value there is the limit ``1/2 + d/L`` that 004 quotes
    (Fig. 9b). Below ``O_0 = 1`` it is ``R = 0`` times a finite factor (infinite at ``O_0 = 0``): 0.
    """
    d = 2 ** check_int("n_qubits", n_qubits, 1)
    L = check_int("n_layers", n_layers, 1)
    o0 = check_non_negative("target", target)
    r = min(1.0 - o0, 0.0)
    f = o0 + r
    k = L / (2 * d) * f * (1 - f)
    lam = L / (4 * d) * (1 - 2 * f) - f / 2
    if f < 1.0:
        zeta = 0.0  # R = 0 inside the spectrum: eq. (36) vanishes (it reads 0 * inf at O_0 = 0)
    elif r == 0.0:
        zeta = 0.5 + d / L
    else:
        zeta = float("inf")
    return {"K_inf": k, "lambda_inf": lam, "zeta_inf": zeta}


def restricted_unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    """A sample of 004 eq. (17): ``diag(1, V)`` with ``V`` Haar on ``U(d - 1)``."""
    u = np.eye(check_int("d", d, 2), dtype=np.complex128)
    u[1:, 1:] = _haar(d - 1, rng, 1)[0]
    return u


def _haar(d: int, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` Haar unitaries of dimension ``d`` (:func:`qntk.models.ansatze.haar_unitaries`)."""
    return np.array(haar_unitaries(jax.random.key(int(rng.integers(2**62))), count, d))


def sample_circuit(n_qubits: int, n_layers: int, state, seed: int, scale: float = 0.5
                   ) -> tuple[Circuit, np.ndarray, np.ndarray]:
    """A random Pauli ansatz circuit (004 eqs. (26)-(27)) drawn from the restricted ensemble.

    ``W_1 .. W_{L-1}`` are Haar, the Pauli labels uniform over ``{X, Y, Z}^n``, the angles uniform, the
    input a Haar state; the last gate is ``W_L = B_0 diag(1, V) B^dagger``, which carries the state
    before it to ``state`` and is Haar otherwise (``B``, ``B_0`` unitaries with first columns those two
    states, ``V`` from :func:`restricted_unitary`). Evaluate the circuit with
    :func:`qntk.kernels.qntk_fn` at ``(theta, input_state)`` to sample ``K``, ``mu`` at late time.

    Returns:
        ``(circuit, theta, input_state)``.
    """
    n = check_int("n_qubits", n_qubits, 1)
    L = check_int("n_layers", n_layers, 1)
    d = 2**n
    rng = np.random.default_rng(check_int("seed", seed, 0))
    target_state = np.asarray(state, dtype=np.complex128).reshape(-1)
    if target_state.shape != (d,):
        raise ValueError(f"state must have length 2^n_qubits = {d}, got shape {target_state.shape}.")
    target_state = target_state / np.linalg.norm(target_state)
    labels = ["".join(rng.choice(list("XYZ"), size=n)) for _ in range(L)]
    theta = rng.uniform(0.0, 2 * np.pi, size=L)
    gates = _haar(d, rng, L + 1)
    gates, psi_in = gates[:L], gates[L][:, 0]
    psi = psi_in
    s = check_scale(scale)
    for l in range(L - 1):
        g = PauliString.from_label(labels[l]).matrix()
        psi = gates[l] @ (np.cos(s * theta[l]) * psi - 1j * np.sin(s * theta[l]) * (g @ psi))
    g = PauliString.from_label(labels[-1]).matrix()
    psi = np.cos(s * theta[-1]) * psi - 1j * np.sin(s * theta[-1]) * (g @ psi)

    gates[-1] = _completion(target_state) @ restricted_unitary(d, rng) @ _completion(psi).conj().T
    return from_paulis(labels, gates, scale=s), theta, psi_in
