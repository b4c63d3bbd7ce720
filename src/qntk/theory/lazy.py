"""Lazy-training (frozen-QNTK) theory of 000 and 001: dynamics, precision, concentration, noise.

All functions are closed forms in the kernel quantities; they take the QNTK ``K`` (empirical or the
Haar mean of :mod:`qntk.theory.haar`) and do not care which convention produced it. NumPy in,
NumPy out (they also trace under JAX).

Example:
    >>> round(float(frozen_residual(1.0, eta=0.01, K=10.0, t=10)), 6)
    0.348678
    >>> round(float(noise_plateau_eps2(eta=0.01, K=10.0, sigma=1e-3)), 8)
    5.263e-05
"""

from __future__ import annotations

import numpy as np

#: A concentration ratio below this is reported as "satisfied", below 1 as "marginal".
CONCENTRATION_OK = 0.1


def frozen_residual(eps0, eta, K, t):
    """``eps(t) = (1 - eta K)^t eps(0)`` for a frozen QNTK (000 eq. (7), 001 eq. (19))."""
    return (1.0 - eta * np.asarray(K)) ** np.asarray(t) * eps0


def frozen_residual_exp(eps0, eta, K, t):
    """``eps(t) = exp(-gamma t) eps(0)`` with ``gamma = eta K`` (000 eqs. (10)-(11)), the small-eta form."""
    return np.exp(-decay_rate(eta, K) * np.asarray(t)) * eps0


def ensemble_residual(eta, t, eps_mean, K_mean, K_var, cov_eps_K=0.0):
    """Ensemble mean of the frozen-QNTK residual ``E[eps(0) exp(-eta K t)]`` when ``K`` varies across the
    ensemble: 000 eq. (10) averaged over the law of ``(eps(0), K)`` instead of evaluated at ``K̄``.

    ``K`` follows the Gamma law with the given mean and variance (``K`` is a sum of squared
    gradients), and ``eps(0)`` its linear regression on ``K``, ``E[eps(0) | K] = E eps + c (K - K̄) / Var K``
    with ``c = Cov(eps(0), K)``. With ``x = eta t``, ``theta = Var K / K̄``, ``k = K̄^2 / Var K``:

    .. math::  \\mathbb E[\\varepsilon(0) e^{-x K}] = (1 + x\\theta)^{-k}
               \\Big(\\mathbb E\\varepsilon(0) - \\frac{c\\, x}{1 + x\\theta}\\Big) ,

    which is ``E eps(0) exp(-eta K̄ t)`` (000 eq. (10)) when ``Var K -> 0``. The spread makes the mean
    decay slower than ``exp(-gamma t)`` once ``eta t Delta K`` is of order one: small-``K`` members
    dominate the late-time mean. Haar values of the moments: :func:`qntk.theory.haar.mean_K`,
    ``var_K``, ``mean_eps``, ``mean_eps_K``.

    Example:
        >>> round(float(ensemble_residual(0.01, 10, 1.0, 10.0, 1e-12)), 6) == round(float(np.exp(-1.0)), 6)
        True
    """
    x = eta * np.asarray(t, dtype=float)
    k_mean, k_var = np.asarray(K_mean, float), np.asarray(K_var, float)
    if np.any(k_var < 0) or np.any(k_mean <= 0):
        raise ValueError(f"need K_mean > 0 and K_var >= 0, got {K_mean!r}, {K_var!r}.")
    theta = k_var / k_mean
    safe = np.where(k_var > 0, k_var, 1.0)
    laplace = np.where(k_var > 0, np.exp(-(k_mean**2 / safe) * np.log1p(x * safe / k_mean)), np.exp(-x * k_mean))
    return laplace * (eps_mean - cov_eps_K * x / (1.0 + x * theta))


def decay_rate(eta, K):
    """``gamma = eta K`` (000 eq. (11))."""
    return eta * np.asarray(K)


def learning_rate_warning(eta: float, K: float, source: str) -> str | None:
    """A warning when ``eta`` is at or above the critical learning rate ``2 / K`` (``K`` from ``source``): there
    ``|1 - eta K| >= 1`` and the frozen-kernel residual ``(1 - eta K)^t eps(0)`` of 000 eq. (10) does not decay,
    so the lazy theory (a decay at rate ``eta K``) does not apply."""
    if eta * K < 2.0:
        return None
    return (f"eta = {eta:g} is at or above the critical learning rate 2/K = {2.0 / K:.4g} ({source} {K:.4g}): "
            f"gradient descent does not converge (|1 - eta K| = {abs(1.0 - eta * K):.3g} >= 1) and the lazy "
            f"theory does not apply; use eta < {2.0 / K:.4g} (eta ~ 1/K = {1.0 / K:.4g} is the fastest)")


def overparametrization_threshold(eta, K_per_layer):
    """``L*`` at which ``gamma = eta K = 1`` when ``K = L k`` grows linearly in the depth (000 eq. (11)
    and the text after it: a QNN is over-parametrized when ``gamma = O(1)``)."""
    return 1.0 / (eta * np.asarray(K_per_layer))


def steps_to_precision(eps_r, eta, K):
    """Steps ``T`` for the relative error ``eps(T)/eps(0) = eps_r``: ``T = log(1/eps_r) / (-log(1 - eta K))``
    (001 eq. (26); its small-``eta K`` form ``log(1/eps_r) / (eta K)`` is 001 eq. (27) with eq. (22)).

    Raises:
        ValueError: if ``eps_r`` is not in (0, 1) or ``eta K`` not in (0, 2) (the iteration does not
            converge there).
    """
    eps_r = np.asarray(eps_r, dtype=float)
    rate = decay_rate(eta, K)
    if np.any((eps_r <= 0) | (eps_r >= 1)):
        raise ValueError(f"precision eps_r must be in (0, 1), got {eps_r}.")
    if np.any((rate <= 0) | (rate >= 2)):
        raise ValueError(f"eta K = {rate} is outside (0, 2): gradient descent does not converge; lower eta.")
    return np.log(1.0 / eps_r) / -np.log(np.abs(1.0 - rate))


def concentration(mu_std, K_mean, K_std, eta, eps0) -> dict:
    """The concentration conditions of 000 eq. (16) and 001 eqs. (52)-(53), as numbers with verdicts.

    * ``dK_over_K = Delta K / K̄ << 1`` (the kernel is frozen at its mean);
    * ``second_order = eta |eps(0)| Delta mu / (2 K̄) << 1`` (the second-order term
      ``eta^2 eps^2 mu / 2`` of 000 eq. (13) is small against the first ``eta K eps``).
    """
    ratios = {
        "dK_over_K": float(np.asarray(K_std) / np.asarray(K_mean)),
        "second_order": float(eta * np.abs(eps0) * np.asarray(mu_std) / (2.0 * np.asarray(K_mean))),
    }
    out = dict(ratios)
    for name, value in ratios.items():
        out[f"{name}_verdict"] = "satisfied" if value < CONCENTRATION_OK else ("marginal" if value < 1 else "violated")
    return out


# ----------------------------------------------------------------------------------------------
# Gaussian angle noise, 001 sec. 4 and App. D


def noise_plateau_eps2(eta, K, sigma):
    """Late-time mean ``eps^2 = sigma^2 / (eta (2 - eta K))`` (001 eqs. (31), (66))."""
    return sigma**2 / (eta * (2.0 - eta * np.asarray(K)))


def noisy_eps2(eps0, eta, K, sigma, t):
    """Mean ``eps^2(t)`` under angle noise ``N(0, sigma^2)`` per parameter and step (001 eqs. (30), (65))."""
    a2t = (1.0 - eta * np.asarray(K)) ** (2 * np.asarray(t))
    plateau = noise_plateau_eps2(eta, K, sigma)
    return a2t * (np.asarray(eps0) ** 2 - plateau) + plateau


def noisy_eps_variance(eps0, eta, K, sigma, t):
    """Variance of eps(t) over an ensemble of noisy runs at finite ``t`` (001 eqs. (63)-(64)).

    Member ``i`` (its own ``eps_i(0)`` and frozen ``K_i``) follows the linear recursion of 001 eq. (62),
    ``eps(t + 1) = (1 - eta K_i) eps(t) + N(0, sigma^2 K_i)``, so that ``eps_i(t)`` is the decaying part
    ``(1 - eta K_i)^t eps_i(0)`` plus Gaussian noise of variance ``P_i (1 - (1 - eta K_i)^(2t))``
    (eq. (64)), ``P_i`` the plateau of eq. (31). Over the members:

    .. math::  \\mathrm{Var}\\,\\varepsilon(t) = \\mathrm{Var}_i\\big[(1 - \\eta K_i)^t \\varepsilon_i(0)\\big]
               + \\mathrm{mean}_i\\big[P_i \\big(1 - (1 - \\eta K_i)^{2t}\\big)\\big] ,

    with the unbiased (``ddof = 1``) variance over the members, so that it is exactly the expected sample
    variance of the simulated ``eps_i(t)`` given the members. As ``t -> oo`` it tends to ``mean_i P_i``
    (eq. (31)), which alone misses the decaying part while ``eta K t`` is small (001 App. E).

    Args:
        eps0: ``eps_i(0)``, shape ``(..., N)`` with ``N >= 2`` members on the last axis.
        eta: learning rate.
        K: ``K_i``, the same shape (or broadcastable).
        sigma: standard deviation of the angle noise per parameter and step (001 eq. (28)).
        t: step.

    Returns:
        ``Var eps(t)``, shape ``(...)``.

    Example:
        >>> eps0, k = np.array([1.0, 1.2, 0.8]), np.array([30.0, 35.0, 40.0])
        >>> bool(np.isclose(noisy_eps_variance(eps0, 0.01, k, 0.005, 0), np.var(eps0, ddof=1)))
        True
        >>> round(float(noisy_eps_variance(eps0, 0.01, k, 0.005, 10_000)), 8)  # mean_i P_i, eq. (31)
        0.00151608
    """
    a = 1.0 - eta * np.asarray(K)
    decaying = np.var(a**t * np.asarray(eps0), ddof=1, axis=-1)
    return decaying + np.mean(noise_plateau_eps2(eta, K, sigma) * (1 - a ** (2 * t)), axis=-1)


def noise_time(eps0, eta, K, sigma):
    """``T_noise``, when the noise part of eps equals the decaying part (001 eqs. (67)-(68)), and
    ``eps(T_noise) = 2 sigma |eps(0)| / sqrt(eps(0)^2 (2 eta - eta^2 K) + sigma^2)``.

    001 eq. (68) prints ``2 sigma^2`` in the second expression; solving eq. (67) gives ``2 sigma``
    (see docs/conventions.md). For ``1 < eta K < 2`` the decaying part alternates in sign; eq. (67)
    holds for its magnitude, so the logarithm is taken of ``|1 - eta K|`` (eq. (68) as printed
    assumes ``eta K < 1``).
    """
    k = np.asarray(K)
    denom = np.sqrt(np.asarray(eps0) ** 2 * (2 * eta - eta**2 * k) + sigma**2)
    t_noise = np.log(sigma / denom) / np.log(np.abs(1.0 - eta * k))
    return t_noise, 2.0 * sigma * np.abs(eps0) / denom


def noise_final_abs_eps(eta, K, sigma):
    """Late-time mean ``|eps| = sqrt(2/pi) sigma / sqrt(2 eta - eta^2 K)`` (001 eq. (69)) and the
    standard deviation of ``|eps|``, ``sqrt(1 - 2/pi) sigma / sqrt(2 eta - eta^2 K)`` (the late-time
    eps is Gaussian with mean 0, 001 eq. (64))."""
    sd = np.sqrt(noise_plateau_eps2(eta, K, sigma))
    return np.sqrt(2.0 / np.pi) * sd, np.sqrt(1.0 - 2.0 / np.pi) * sd
