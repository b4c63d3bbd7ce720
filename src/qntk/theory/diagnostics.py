"""QNTK diagnostics from the kernel at initialization (003, slides "Main formula for QNTK diagnostics",
"Training dynamics", "Inference"; Scala, Zoufal, Gerace, Tacchino, 2025).

Loss and update are those of :mod:`qntk.train`: ``L = sum_a (f(x_a) - y_a)^2 / 2`` over the training set
(000 eq. (3)) and ``theta <- theta - eta dL/dtheta``. Linearized around the initial angles (the frozen
QNTK ``K_ab = sum_l df(x_a)/dtheta_l df(x_b)/dtheta_l``), the training residuals obey
``eps(t + 1) = (1 - eta K) eps(t)``, so that with ``K = sum_i lambda_i v_i v_i^T``

.. math::  f_{train}(t) = y + (1 - \\eta K)^t (f_0 - y),
           \\qquad f_{test}(t) = f_{0, test} - K_{test, train} K^{-1} [1 - (1 - \\eta K)^t] (f_0 - y),

the frozen-QNTK prediction formula of 003 (a linear model whose embedding kernel is the QNTK; at
``t -> infinity`` the train points are fitted exactly and the test points get kernel regression). From
the spectrum:

* the critical learning rate ``eta_crit = 2 / lambda_max``: above it the mode ``v_max`` grows as
  ``|1 - eta lambda_max|^t`` (003's "Result 1", stated there with ``e^{-eta lambda t} ~ 1 - eta lambda t``
  as ``eta < 1 / lambda_max``, the rate below which no mode oscillates; here the divergence threshold of the
  discrete update, in the convention of ``qntk train``);
* the characteristic training time ``tau = -1 / log(1 - eta lambda_min)`` (``~ 1 / (eta lambda_min)``)
  in steps, the e-folding time of the slowest mode; at ``eta = eta_crit / 2 = 1 / lambda_max`` it is
  ``~ kappa = lambda_max / lambda_min`` (003's "Result 2": ``tau ∝ kappa``).

Eigenvalues below ``rcond * lambda_max`` count as zero: such directions of the residual are not trained
(the kernel has no component there) and are left out of ``K^{-1}``, as in a pseudo-inverse.

Example:
    >>> import numpy as np
    >>> k = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> s = spectrum(k)
    >>> round(s["eta_crit"], 6) == round(2 / s["lambda_max"], 6), s["condition_number"] > 1
    (True, True)
    >>> predict_fn = gradient_descent_mse(k, np.array([1.0, -1.0]), eta=0.5)
    >>> bool(np.allclose(predict_fn(10_000, np.zeros(2))[0], [1.0, -1.0]))
    True
"""

from __future__ import annotations

import math

import numpy as np

from ..models._spec import check_int, check_positive

#: Relative eigenvalue cut-off below which a kernel direction counts as untrained.
RCOND = 1e-10


def _symmetric(k, name: str) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or not np.all(np.isfinite(k)):
        raise ValueError(f"{name} must be a finite square matrix, got shape {k.shape}.")
    return 0.5 * (k + k.T)


def spectrum(k_train_train, eta: float | None = None, rcond: float = RCOND) -> dict:
    """Eigenvalues of the training QNTK matrix and what 003 reads from them.

    Args:
        k_train_train: ``(m, m)`` QNTK matrix over the training points (symmetric PSD).
        eta: learning rate for ``tau``; default ``eta_crit / 2 = 1 / lambda_max``.
        rcond: eigenvalues below ``rcond * lambda_max`` count as zero.

    Returns:
        ``{"eigenvalues", "lambda_min", "lambda_max", "condition_number", "rank", "eta_crit", "eta", "tau"}``;
        ``lambda_min`` is the smallest eigenvalue (``condition_number`` and ``tau`` are ``inf`` when it is
        below the cut-off, a direction the training never reduces).
    """
    k = _symmetric(k_train_train, "k_train_train")
    eigs = np.linalg.eigvalsh(k)
    lam_max = float(eigs[-1])
    if lam_max <= 0:
        raise ValueError("k_train_train has no positive eigenvalue: the model's outputs do not depend on its angles.")
    lam_min = float(eigs[0])
    eta = 1.0 / lam_max if eta is None else check_positive("eta", eta)
    trained = lam_min > rcond * lam_max
    return {
        "eigenvalues": eigs.tolist(),
        "lambda_min": lam_min,
        "lambda_max": lam_max,
        "condition_number": lam_max / lam_min if trained else math.inf,
        "rank": int(np.sum(eigs > rcond * lam_max)),
        "eta_crit": 2.0 / lam_max,
        "eta": eta,
        "tau": decay_time(eta, lam_min) if trained else math.inf,
    }


def decay_time(eta: float, lam: float) -> float:
    """Steps for a mode of eigenvalue ``lam`` to decay by ``e`` under ``(1 - eta lam)^t``:
    ``-1 / log|1 - eta lam|`` (``inf`` when it does not decay, 0 when one step removes it)."""
    factor = abs(1.0 - eta * lam)
    if factor >= 1.0:
        return math.inf
    return 0.0 if factor == 0.0 else -1.0 / math.log(factor)


def gradient_descent_mse(k_train_train, y_train, eta: float, rcond: float = RCOND):
    """The frozen-QNTK prediction formula (module docstring) as a function of the step ``t``.

    Args:
        k_train_train: ``(m, m)`` QNTK over the training points.
        y_train: ``(m,)`` labels.
        eta: learning rate (``L = sum (f - y)^2 / 2``, as :mod:`qntk.train`).
        rcond: relative eigenvalue cut-off of the pseudo-inverse.

    Returns:
        ``predict_fn(t, f_train_0, f_test_0=None, k_test_train=None) -> (f_train_t, f_test_t)``;
        ``t`` is a step count or an array of them (a leading axis in the outputs) or ``math.inf``;
        ``f_test_t`` is ``None`` without test inputs.
    """
    k = _symmetric(k_train_train, "k_train_train")
    y = np.asarray(y_train, dtype=float)
    if y.shape != (k.shape[0],):
        raise ValueError(f"y_train must have shape ({k.shape[0]},), got {y.shape}.")
    eta = check_positive("eta", eta)
    lam, v = np.linalg.eigh(k)
    keep = lam > rcond * max(lam[-1], 0.0)

    def decay(t):
        """``(1 - eta lambda_i)^t`` per mode (1 for untrained modes), shape ``t.shape + (m,)``."""
        t = np.asarray(t, dtype=float)[..., None]
        with np.errstate(over="ignore", invalid="ignore"):
            d = np.where(np.isinf(t), 0.0, np.power(1.0 - eta * lam, np.where(np.isinf(t), 0.0, t)))
        return np.where(keep, d, 1.0)

    def predict_fn(t, f_train_0, f_test_0=None, k_test_train=None):
        r0 = v.T @ (np.asarray(f_train_0, dtype=float) - y)  # residual in the eigenbasis
        d = decay(t)
        f_train = y + (d * r0) @ v.T
        if f_test_0 is None:
            return f_train, None
        kx = np.asarray(k_test_train, dtype=float) @ v  # (m_test, m)
        coeff = np.where(keep, (1.0 - d) / np.where(keep, lam, 1.0), 0.0) * r0
        return f_train, np.asarray(f_test_0, dtype=float) - coeff @ kx.T

    return predict_fn


def frozen_residuals(k_mean, eps0_mean, eta: float, steps: int) -> np.ndarray:
    """``E[eps(t)] = (1 - eta K̄)^t E[eps(0)]`` for ``t = 0..steps``, shape ``(steps + 1, m)``: the frozen-QNTK
    decay of the training residuals (000 eq. (10) for a data set) at the mean kernel of the initialization."""
    eps0 = np.asarray(eps0_mean, dtype=float)
    predict_fn = gradient_descent_mse(k_mean, np.zeros_like(eps0), eta, rcond=0.0)
    return predict_fn(np.arange(check_int("steps", steps, 0) + 1), eps0)[0]


def shot_noise_floor(k_train_train, variance, shots: int, eta: float, scale: float, residual=None,
                     rcond: float = RCOND) -> np.ndarray:
    """Stationary covariance ``C`` of the training residuals around their frozen-QNTK limit under finite-shot
    noise (the noise model of :mod:`qntk.train`): each step measures ``eps_a + nu_a`` and each gradient entry
    ``J_al + xi_al``, independent Gaussians of variances ``s_a = Var_a(O) / shots`` and
    ``g_a = 2 scale^2 Var_a(O) / shots`` (two-term parameter shift).

    Linearized, ``eps(t + 1) = A eps(t) - eta (K nu + J Xi^T (eps + nu))`` with ``A = 1 - eta K``; the noise has
    covariance ``eta^2 [K diag(s) K + c K]`` with ``c = sum_a g_a E[(eps_a + nu_a)^2]``, so ``C = X_0 + c X_1``
    where ``X_0``, ``X_1`` solve ``X = A X A + Q`` for ``Q = eta^2 K diag(s) K`` and ``eta^2 K`` (elementwise
    ``Q_ij / (1 - a_i a_j)`` in the eigenbasis of ``K``; untrained directions get no noise), and
    ``c = sum_a g_a (X0_aa + r_a^2 + s_a) / (1 - sum_a g_a X1_aa)``. For one output this is
    ``eps^2 = eta s (K + g) / (2 - eta K - eta g)`` (first order: ``eta K Var(O) / (shots (2 - eta K))``).
    The second-order drift ``eta^2 eps^2 xi^T H xi / 2`` from the curvature is left out (it is
    ``O(eta / shots^2)``).

    Args:
        k_train_train: ``(m, m)`` QNTK over the training points.
        variance: ``(m,)`` ``Var(O)`` at each training point near the end of training.
        shots: measurements per expectation value.
        eta: learning rate (``L = sum (f - y)^2 / 2``).
        scale: generator scale ``s`` of the circuit (``exp(-i s theta G)``).
        residual: ``(m,)`` the noiseless limit of the residuals (zero where the data are fitted).
        rcond: relative eigenvalue cut-off.

    Returns:
        ``C``, ``(m, m)``; ``inf`` everywhere if ``eta`` is not below ``eta_crit`` or the noise feeds itself.
    """
    k = _symmetric(k_train_train, "k_train_train")
    m = k.shape[0]
    var = np.broadcast_to(np.asarray(variance, dtype=float), (m,))
    check_int("shots", shots, 1)
    eta = check_positive("eta", eta)
    r = np.zeros(m) if residual is None else np.asarray(residual, dtype=float)
    s, g = var / shots, 2.0 * scale**2 * var / shots
    lam, v = np.linalg.eigh(k)
    keep = lam > rcond * max(lam[-1], 0.0)
    a = 1.0 - eta * lam
    if np.any(keep & (np.abs(a) >= 1.0)):
        return np.full((m, m), math.inf)
    pair = np.outer(keep, keep)
    denominator = np.where(pair, 1.0 - np.outer(a, a), 1.0)
    ks = (v.T @ (k * s) @ k @ v) * eta**2  # K diag(s) K in the eigenbasis
    x0 = v @ np.where(pair, ks / denominator, 0.0) @ v.T
    x1 = v @ np.diag(np.where(keep, eta**2 * lam / np.where(keep, 1.0 - a**2, 1.0), 0.0)) @ v.T
    feedback = 1.0 - float(g @ np.diag(x1))
    if feedback <= 0.0:
        return np.full((m, m), math.inf)
    c = float(g @ (np.diag(x0) + r**2 + s)) / feedback
    return x0 + c * x1


def r2(y, f) -> float:
    """Coefficient of determination ``1 - sum (y - f)^2 / sum (y - mean y)^2`` (NaN for constant ``y``)."""
    y, f = np.asarray(y, float), np.asarray(f, float)
    ss = float(np.sum((y - y.mean()) ** 2))
    return math.nan if ss == 0 else 1.0 - float(np.sum((y - f) ** 2)) / ss


def mse(y, f) -> float:
    """Mean squared error ``mean (f - y)^2``."""
    return float(np.mean((np.asarray(f, float) - np.asarray(y, float)) ** 2))


def relative_change(k_new, k_old) -> np.ndarray:
    """``||K_new - K_old||_F / ||K_old||_F`` over the last two axes (one value per leading index)."""
    k_new, k_old = np.asarray(k_new, float), np.asarray(k_old, float)
    if k_old.ndim == 0 or k_old.ndim == 1:
        return np.abs(k_new - k_old) / np.abs(k_old)
    return np.linalg.norm(k_new - k_old, axis=(-2, -1)) / np.linalg.norm(k_old, axis=(-2, -1))


#: The three laziness checks, with what each measures (the keys of :func:`laziness`). ``dqntk_change`` is the
#: derivative of ``K`` along the frozen-QNTK displacement of the angles, ``-J^T K^-1 [1 - (1 - eta K)^T] eps(0)``
#: by the horizon ``T``; for one output it is ``2 |lambda eps(0)| / K = 2 |zeta(0)|`` (004 eq. (11)).
LAZINESS_CHECKS = {
    "K_spread": "spread over initializations, ||std K|| / ||mean K||",
    "K_trial_change": "change over a short trial training, ||K(T) - K(0)|| / ||K(0)||",
    "dqntk_change": "change over the whole training predicted by the dQNTK to first order",
}


def laziness(values: dict, tolerance: float) -> dict:
    """Verdicts of the laziness check: each measured relative change (``values``, keys of
    :data:`LAZINESS_CHECKS`, ``None`` for one not measured) against ``tolerance``.

    Returns:
        the values, ``"<key>_lazy"`` (``value <= tolerance``) for each, ``"lazy"`` (all measured ones
        lazy), ``"tolerance"`` and a one-line ``"verdict"``.
    """
    tolerance = check_positive("tolerance", tolerance)
    out = {"tolerance": tolerance}
    failed = []
    for key in LAZINESS_CHECKS:
        value = values.get(key)
        out[key] = value
        ok = None if value is None else bool(value <= tolerance)
        out[f"{key}_lazy"] = ok
        if ok is False:
            failed.append(f"{key} = {value:.3g}")
    out["lazy"] = not failed
    out["verdict"] = (f"lazy: every check within {tolerance:g}; the frozen-QNTK predictions apply" if not failed else
                      f"not lazy ({', '.join(failed)} > {tolerance:g}): the kernel moves during training, so the "
                      "frozen-QNTK predictions are estimates, not laws")
    return out
