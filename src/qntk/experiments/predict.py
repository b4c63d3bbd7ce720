"""Theory-only predictions for a model (the ``qntk predict`` job and the ``theory`` block of ``qntk kernel``).

Haar ensemble averages at initialization come from :mod:`qntk.theory.haar` (exact in d, Weingarten
calculus) in the "chain" model: independent Haar gates between consecutive rotations, which is what
the random Pauli ansatz is (001's independent-layer model gets E[K] right but not Var K; see
docs/theory-haar.md). Frozen-kernel dynamics, precision, concentration and noise come from
:mod:`qntk.theory.lazy`. For ansatze that are not 2-designs (shallow hea, hva, reuploading) the
numbers are what a deep random circuit with the same generators would give; the output says so.

Example:
    >>> from qntk.config import ModelConfig
    >>> p = predict(ModelConfig("rpa", 2, 16, "xxz:J=2", target=-3.0), eta=1e-3, mu_std=False)
    >>> round(p["K_mean"], 3), p["concentration"]["dK_over_K_verdict"]
    (23.893, 'marginal')
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..config import ModelConfig
from ..theory import haar, lazy

_RANDOM_DESIGN = {"rpa", "periodic"}


def _generators(model: ModelConfig) -> tuple[list[np.ndarray], float]:
    """The generator of every parametrized layer in circuit order, and the generator scale."""
    circuit = model.ansatz_obj().circuit(seed=0)
    gens = [kernels.generator_matrix(circuit, layer) for layer in range(circuit.n_layers)
            if int(circuit.param_index[layer]) >= 0]  # data-encoding layers carry no parameter
    return gens, circuit.scale


def predict(
    model: ModelConfig,
    eta: float | None = None,
    sigma: float | None = None,
    precision: float | None = None,
    mu_std: bool = True,
) -> dict:
    """Theory for ``model``: K̄, Delta K, E[mu], Delta mu, E[eps], and with ``eta`` the decay rate,
    ``L*``, the concentration conditions, the noise plateau (with ``sigma``) and the steps to a
    relative precision (with ``precision``).

    Keys follow ``qntk kernel --json``: ``K_mean, K_std, mu_mean, mu_std, lambda_ratio`` (004 eq. (40)),
    ``zeta_ratio`` (004 eq. (39)), ``eps_mean, eps_std, eps_rms`` and ``gamma, L_star, concentration, noise_plateau_eps2, steps_to_precision``.

    Raises:
        ValueError: for a non-positive ``eta``, a negative ``sigma`` or ``precision`` outside (0, 1).
    """
    if eta is not None and not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a positive learning rate, got {eta!r}.")
    if sigma is not None and not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}.")
    if eta is None and (sigma is not None or precision is not None):
        raise ValueError("sigma and precision predictions need the learning rate: pass eta.")
    o = model.observable_obj().matrix()
    gens, scale = _generators(model)
    n_params = len(gens)
    kinds = len(haar.group_by_spectrum(gens)[0])
    k_mean = haar.mean_qntk(o, gens, None, scale)
    k_var = haar.var_qntk(o, gens, None, scale, model="chain")
    mu_mean = haar.mean_dqntk(o, gens, None, scale)
    # E[mu^2] is built for one kind of generator; with several kinds (hva) it is not given.
    mu_sq = haar.mean_dqntk_sq(o, gens, None, scale) if mu_std and kinds == 1 else None
    out = {
        "K_mean": k_mean,
        "K_std": math.sqrt(max(k_var, 0.0)),
        "mu_mean": mu_mean,
        "mu_std": None if mu_sq is None else math.sqrt(max(mu_sq - mu_mean**2, 0.0)),
        "lambda_ratio": mu_mean / k_mean,
        "zeta_ratio": haar.mean_eps_dqntk(o, gens, None, scale, model.target) / k_mean**2,
        "eps_mean": haar.mean_eps(o, model.target),
        "eps_std": math.sqrt(max(haar.mean_eps_sq(o, model.target) - haar.mean_eps(o, model.target) ** 2, 0.0)),
        "eps_rms": math.sqrt(haar.mean_eps_sq(o, model.target)),
        "n_params": n_params,
        "ensemble": "Haar chain model (independent Haar gates between rotations), exact in d",
        "assumption_holds": model.ansatz in _RANDOM_DESIGN,
    }
    if kinds > 1 and mu_std:
        out["note"] = f"{kinds} kinds of layer generator: mu_std (E[mu^2]) is computed for one kind only and is not given"
    if eta is not None:
        out["gamma"] = float(lazy.decay_rate(eta, k_mean))
        out["L_star"] = float(lazy.overparametrization_threshold(eta, k_mean / n_params))
        mu_scale = out["mu_std"] if out["mu_std"] is not None else abs(mu_mean)
        out["concentration"] = lazy.concentration(mu_scale, k_mean, out["K_std"], eta, out["eps_rms"])
        if sigma is not None:
            out["noise_plateau_eps2"] = float(lazy.noise_plateau_eps2(eta, k_mean, sigma))
        if precision is not None:
            out["steps_to_precision"] = float(lazy.steps_to_precision(precision, eta, k_mean))
    return out


def residual_theory(model: ModelConfig, eta: float, steps) -> dict:
    """The mean residual of gradient descent on the quadratic loss at ``steps``, from theory only.

    Returns ``eps_eq10``, 000 eq. (10) ``E[eps(0)] exp(-eta K̄ t)`` with the exact Haar ``K̄``, and
    ``eps_ensemble``, the same decay averaged over the Haar law of ``(eps(0), K)``
    (:func:`qntk.theory.lazy.ensemble_residual`), as lists over ``steps``; and the moments used:
    ``K_mean``, ``K_std``, ``eps_mean``, ``cov_eps_K``, ``gamma``.
    """
    o = model.observable_obj().matrix()
    gens, scale = _generators(model)
    k_mean = haar.mean_qntk(o, gens, None, scale)
    k_var = max(haar.var_qntk(o, gens, None, scale, model="chain"), 0.0)
    eps_mean = haar.mean_eps(o, model.target)
    cov = haar.mean_eps_qntk(o, gens, None, scale, model.target) - eps_mean * k_mean
    t = np.asarray(steps, dtype=float)
    return {
        "K_mean": k_mean,
        "K_std": math.sqrt(k_var),
        "eps_mean": eps_mean,
        "cov_eps_K": cov,
        "gamma": float(lazy.decay_rate(eta, k_mean)),
        "eps_eq10": lazy.frozen_residual_exp(eps_mean, eta, k_mean, t).tolist(),
        "eps_ensemble": lazy.ensemble_residual(eta, t, eps_mean, k_mean, k_var, cov).tolist(),
    }
