"""Deviations of QNN training from kernel regression (002: You, Chakrabarti, Chen, Wu, ICML 2023).

The residuals ``r_j = <O>_j - y_j`` of a QNN on input states ``rho_j`` obey ``dr/dt = -eta K(M) r``
(002 Lemma 3.1, eqs. (3)-(4)), with a kernel that depends on the parametrized measurement
``M(theta) = U^dagger O U`` (:func:`qntk.kernels.measurement_operator`). Unitarity fixes the spectrum of
``M(theta(t))`` along training (:func:`spectrum_drift` measures it); with a measurement whose eigenvalues
lie in {-1, 0, +1} and labels +-1 the loss can only fall sublinearly (002 Thm 3.2,
:func:`sublinear_bound`); as the number of parameters ``p`` of the periodic ansatz grows, training
follows the asymptotic dynamics of ``M`` alone (002 eq. (10), App. D eq. (119),
:func:`asymptotic_dynamics`), governed by the time-dependent ``K_asym(M)`` (002 eq. (7), :func:`k_asym`);
:func:`kernel_decomposition` splits a circuit's kernel into ``K_asym + K_pert`` (002 Lemma 4.1).
:func:`at_initialization` and :func:`asymptotic_from` take a :class:`~qntk.models.Model` and an angle vector.

Normalization. 002 writes ``L = (1/2m) sum_j r_j^2`` and the gradient flow ``dtheta/dt = -eta_002 grad L``;
``qntk train`` uses ``L = sum_j r_j^2 / 2`` and steps ``theta <- theta - eta sum_j r_j g_j``, so
``eta = eta_002 / m`` and one step is one unit of time. Everything here is in qntk's normalization
(docs/conventions.md, "002"). The generator of a layer is ``s G_l`` (``exp(-i s theta G_l)``): 002's
``H^(l)`` with its trace removed (a multiple of the identity changes nothing, 002 Sec. 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..models import Model
from ..models.circuits import Circuit, generator_matrices

#: Largest number of qubits for which runs report the spectrum of the dense ``M(theta)``.
DENSE_MAX_QUBITS = 10

#: Tolerance on the eigenvalues of a measurement of "Pauli type" (eigenvalues in {-1, 0, +1}).
_PAULI_TOL = 1e-9


def _traceless(g: np.ndarray) -> np.ndarray:
    return g - np.trace(g) / g.shape[0] * np.eye(g.shape[0])


def spectrum_drift(measurements, reference: np.ndarray) -> float:
    """Largest deviation of the spectrum of any ``M`` in ``measurements`` (Hermitian ``d x d``) from that of
    ``reference`` (002 Sec. 3: ``tr(M^k)`` is conserved, so the spectrum is; float64 rounding expected)."""
    ref = np.linalg.eigvalsh(reference)
    return max((float(np.max(np.abs(np.linalg.eigvalsh(m) - ref))) for m in measurements), default=0.0)


def is_pauli_type(observable_matrix: np.ndarray) -> bool:
    """Whether every eigenvalue is -1, 0 or +1 with both signs present (002 Thm 3.2 and the remark after its
    proof: ``M_0 = Pi_+ - Pi_-``)."""
    ev = np.linalg.eigvalsh(observable_matrix)
    allowed = np.min(np.abs(ev[:, None] - np.array([-1.0, 0.0, 1.0])[None, :]), axis=1) < _PAULI_TOL
    return bool(np.all(allowed) and ev.min() < -0.5 and ev.max() > 0.5)


def sublinear_rate(circuit: Circuit, eta: float, m: int) -> float:
    """``c1`` of 002 Thm 3.2 (eq. (5)) in qntk's normalization: ``12 sqrt(m) eta s^2 sum_l ||G_l - tr(G_l)/d||_op^2``.

    002's ``c1 = 12 eta_002 sum_l ||H^(l)||_op^2`` bounds ``L_002^(-1/2)``; with ``L = m L_002`` and
    ``eta = eta_002 / m`` the bound ``L(t) >= 1 / (c0 + c1 t)^2`` keeps its form with ``c0 = L(0)^(-1/2)``
    and this ``c1`` (the proof's 16 sqrt(2) is rounded up to 24 there, so the bound is not tight).
    """
    trainable = np.asarray(circuit.param_index) >= 0
    norms = [np.max(np.abs(np.linalg.eigvalsh(_traceless(g)))) for g, t in zip(generator_matrices(circuit), trainable) if t]
    return float(12.0 * np.sqrt(m) * eta * circuit.scale**2 * np.sum(np.square(norms)))


def sublinear_bound(loss: np.ndarray, c1: float) -> dict:
    """The verdict of 002 Thm 3.2 on recorded losses ``loss`` (shape ``(steps, runs)``, step ``t`` on axis 0,
    qntk's normalization): each run's bound ``1 / (c0 + c1 t)^2`` with its own ``c0 = L(0)^(-1/2)``.

    Returns ``c0`` (of the ensemble-mean loss), ``c1``, ``holds`` (every recorded loss of every run is at or
    above its bound), ``min_ratio`` (the smallest ``L / bound`` after step 0, where it is 1 by construction;
    >= 1 when it holds) and ``bound_mean``
    (the bound of the mean loss at every step, for a plot).
    """
    loss = np.asarray(loss, dtype=float)
    t = np.arange(loss.shape[0])[:, None]
    c0 = 1.0 / np.sqrt(loss[0])
    ratio = loss * (c0 + c1 * t) ** 2
    c0_mean = 1.0 / np.sqrt(loss[0].mean())
    return {"c0": float(c0_mean), "c1": float(c1), "holds": bool(np.all(ratio >= 1.0 - 1e-12)),
            "min_ratio": float(ratio[1:].min() if len(ratio) > 1 else 1.0), "bound_mean": (1.0 / (c0_mean + c1 * t[:, 0]) ** 2).tolist()}


def k_asym(measurement: np.ndarray, states: np.ndarray) -> np.ndarray:
    """``K_asym(M)_ij = tr(i[M, rho_i] i[M, rho_j])`` of 002 eq. (7) for pure input states (rows of ``states``).

    With ``a_i = M v_i``: ``-tr([M, rho_i][M, rho_j]) = 2 Re[(a_i^dag a_j)(v_j^dag v_i) - (v_i^dag a_j)(v_j^dag a_i)]``.
    For one state and ``M^2 = gamma^2 I`` it is ``2 (gamma^2 - yhat^2)`` (002 Cor. 4.3).
    """
    v = np.asarray(states)
    a = v @ np.asarray(measurement).T  # rows a_i = M v_i
    aa, vv, va = a.conj() @ a.T, v.conj() @ v.T, v.conj() @ a.T  # [i, j] = a_i^dag a_j, v_i^dag v_j, v_i^dag a_j
    return 2.0 * np.real(aa * vv.T - va * va.T)


def time_scale(circuit: Circuit, eta: float) -> float:
    """Asymptotic time per training step, ``eta p s^2 tr(H_0^2) / (d^2 - 1)`` with ``H_0`` the traceless
    generator: the Haar average of a circuit's kernel is ``p s^2 tr(H_0^2) / (d^2 - 1)`` times ``K_asym``, so
    ``dr/dt = -eta K r`` becomes ``dr/dtau = -K_asym r`` (002 Lemma 4.1 chooses ``eta_002`` to make it 1).
    Needs one generator spectrum for every layer (the periodic ansatz)."""
    trainable = np.asarray(circuit.param_index) >= 0
    sq = {round(float(np.real(np.trace(_traceless(g) @ _traceless(g)))), 9)
          for g, t in zip(generator_matrices(circuit), trainable) if t}
    if len(sq) != 1:
        raise ValueError("the asymptotic time scale needs one tr(H^2) for every trainable layer (the periodic ansatz).")
    d = circuit.dim
    return float(eta * circuit.n_params * circuit.scale**2 * sq.pop() / (d * d - 1))


def kernel_decomposition(kernel: np.ndarray, measurement: np.ndarray, states: np.ndarray,
                         circuit: Circuit) -> tuple[np.ndarray, np.ndarray]:
    """``(K_asym, K_pert)`` of 002 Lemma 4.1 (eqs. (6)-(8)): a circuit's kernel matrix ``kernel`` (qntk's ``K``,
    :func:`qntk.kernels.qntk_matrix_fn`) over ``p s^2 tr(H_0^2) / (d^2 - 1)`` is ``K_asym(M) + K_pert``;
    ``K_pert`` vanishes as ``p`` grows."""
    ka = k_asym(measurement, states)
    return ka, np.asarray(kernel) / time_scale(circuit, 1.0) - ka


@dataclass(frozen=True)
class Asymptotic:
    """A solution of the asymptotic dynamics on the times ``tau`` (see :func:`asymptotic_dynamics`)."""

    tau: np.ndarray
    residuals: np.ndarray  # (times, m): r_j = tr(rho_j M) - y_j
    loss: np.ndarray  # (times,): sum_j r_j^2 / 2
    k_asym_eigenvalues: np.ndarray  # (times, m), ascending
    k_asym_relative_change: np.ndarray  # (times,): ||K_asym(tau) - K_asym(0)||_F / ||K_asym(0)||_F
    spectrum_drift: float  # largest deviation of the spectrum of M(tau) from M(0) over the solution
    n_evaluations: int


def asymptotic_dynamics(m0: np.ndarray, states: np.ndarray, labels: np.ndarray, tau: np.ndarray,
                        rtol: float = 1e-10, atol: float = 1e-12) -> Asymptotic:
    """Integrates ``dM/dtau = -sum_j r_j [M, [M, rho_j]]`` with ``r_j = tr(rho_j M) - y_j`` (002 eq. (10), App. D
    eq. (119) in the time ``tau`` of Lemma 4.1: then ``dr/dtau = -K_asym(M) r``) from ``M(0) = m0``, with SciPy's
    adaptive DOP853 (8th-order Runge-Kutta with error control, ``rtol``, ``atol``), and reports the solution at
    the times ``tau`` (ascending, from 0). A finite-``p`` run of ``qntk train`` is compared at
    ``tau = time_scale(circuit, eta) * step`` from its own ``M(theta(0))``.

    Example (one sample, gamma = 2: the rate is 2 (gamma^2 - yhat^2), 002 Cor. 4.3):
        >>> v = np.array([[1.0, 0.0]], dtype=complex)
        >>> x = 2.0 * np.array([[0.6, 0.8], [0.8, -0.6]], dtype=complex)
        >>> sol = asymptotic_dynamics(x, v, np.array([1.0]), np.linspace(0.0, 1.0, 3))
        >>> bool(sol.loss[-1] < 1e-3 * sol.loss[0]), sol.spectrum_drift < 1e-9
        (True, True)
    """
    from scipy.integrate import solve_ivp

    v, y = np.asarray(states, dtype=complex), np.asarray(labels, dtype=float)
    m0 = np.asarray(m0, dtype=complex)
    d = m0.shape[0]
    rhos = np.einsum("ja,jb->jab", v, v.conj())

    def rhs(_, flat):
        mm = flat.reshape(d, d)
        r = np.real(np.einsum("ja,ab,jb->j", v.conj(), mm, v)) - y
        x = np.einsum("j,jab->ab", r, rhos)  # sum_j r_j rho_j
        c = mm @ x - x @ mm
        return -(mm @ c - c @ mm).ravel()

    tau = np.asarray(tau, dtype=float)
    if tau.ndim != 1 or tau.size < 2 or tau[0] != 0.0 or np.any(np.diff(tau) <= 0):
        raise ValueError("tau must be increasing times starting at 0, such as np.linspace(0.0, 5.0, 51).")
    sol = solve_ivp(rhs, (0.0, float(tau[-1])), m0.ravel(), method="DOP853", t_eval=tau, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"the asymptotic dynamics did not integrate: {sol.message}")
    ms = sol.y.T.reshape(-1, d, d)
    ms = 0.5 * (ms + ms.conj().transpose(0, 2, 1))  # Hermitian part (the flow keeps it; rounding does not)
    res = np.real(np.einsum("ja,tab,jb->tj", v.conj(), ms, v)) - y
    ks = np.array([k_asym(mm, v) for mm in ms])
    k0 = np.linalg.norm(ks[0])
    return Asymptotic(
        tau=tau, residuals=res, loss=0.5 * np.sum(res**2, axis=1),
        k_asym_eigenvalues=np.linalg.eigvalsh(ks),
        k_asym_relative_change=np.linalg.norm(ks - ks[0], axis=(1, 2)) / (k0 if k0 > 0 else 1.0),
        spectrum_drift=spectrum_drift(ms, m0), n_evaluations=int(sol.nfev),
    )


def initial_measurement(n_qubits: int, gamma: float, seed: int) -> np.ndarray:
    """``M(0) = gamma U diag(+1, ..., +1, -1, ..., -1) U^dagger`` with ``U`` Haar random (002 App. D eq. (120)),
    the initial measurement of the asymptotic-dynamics experiments of 002 Figs. 3, 5."""
    from scipy.stats import unitary_group

    d = 2**n_qubits
    u = unitary_group.rvs(d, random_state=np.random.default_rng(seed))
    return gamma * (u * np.repeat([1.0, -1.0], d // 2)) @ u.conj().T


def at_initialization(model: Model, theta, seed: int = 0) -> dict:
    """002's objects for one angle vector ``theta`` of ``model`` (a model with input states as data, whose
    circuit is drawn with ``seed``): the measurement ``M`` (:func:`qntk.kernels.measurement_operator`), the
    kernel ``K`` of Lemma 3.1 (eq. (4), qntk's scale), and its split ``K_asym``, ``K_pert`` of Lemma 4.1
    (:func:`kernel_decomposition`; needs one generator spectrum for every layer)."""
    data = _input_states(model)
    circuit = model.circuit(seed=seed)
    m = kernels.measurement_operator(circuit, model.operator, theta)
    k = kernels.measurement_kernel(circuit, model.operator, theta, data.states)
    k_a, k_p = kernel_decomposition(k, m, data.states, circuit)
    return {"M": m, "K": k, "K_asym": k_a, "K_pert": k_p}


def asymptotic_from(model: Model, theta, eta: float, steps, seed: int = 0) -> Asymptotic:
    """The asymptotic dynamics (:func:`asymptotic_dynamics`) from ``M(theta)`` of ``model`` (circuit ``seed``),
    read at the training ``steps`` of gradient descent at ``eta`` (``tau = time_scale * step``): what training
    of the same model from ``theta`` approaches as ``p`` grows (002 Thm 4.2)."""
    data = _input_states(model)
    circuit = model.circuit(seed=seed)
    m = kernels.measurement_operator(circuit, model.operator, theta)
    return asymptotic_dynamics(m, data.states, data.labels, time_scale(circuit, eta) * np.asarray(steps, dtype=float))


def _input_states(model: Model):
    if model.dataset is None or model.dataset.states is None:
        raise ValueError("002's analysis needs a model whose data are input states, such as data='orthogonal:m=4'.")
    return model.dataset
