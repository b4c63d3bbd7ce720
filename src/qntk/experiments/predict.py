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


def _generators(model: ModelConfig) -> tuple[list[np.ndarray], list[int], float]:
    """Distinct layer generators (by spectrum: Haar averages see only the spectrum) and their counts."""
    circuit = model.ansatz_obj().circuit(seed=0)
    spectra: dict[tuple, list] = {}
    for layer in range(circuit.n_layers):
        if int(circuit.param_index[layer]) < 0:
            continue  # data-encoding layers carry no parameter
        g = kernels.generator_matrix(circuit, layer)
        key = tuple(np.round(np.linalg.eigvalsh(g), 12))
        spectra.setdefault(key, [g, 0])[1] += 1
    mats, counts = zip(*spectra.values())
    return list(mats), list(counts), circuit.scale


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

    Keys follow ``qntk kernel --json``: ``K_mean, K_std, mu_mean, mu_std, lambda_ratio, eps_mean,
    eps_rms`` and ``gamma, L_star, concentration, noise_plateau_eps2, steps_to_precision``.

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
    gens, counts, scale = _generators(model)
    n_params = sum(counts)
    k_mean = sum(c * haar.mean_qntk(o, g, 1, scale) for g, c in zip(gens, counts))
    # The chain-model variance and mu moments take one generator; with several generator types
    # (hva) the first type stands for all layers.
    g0 = gens[0]
    k_var = haar.var_qntk(o, g0, n_params, scale, model="chain")
    mu_mean = haar.mean_dqntk(o, g0, n_params, scale)
    out = {
        "K_mean": float(k_mean),
        "K_std": float(math.sqrt(max(k_var, 0.0))),
        "mu_mean": float(mu_mean),
        "mu_std": float(math.sqrt(max(haar.mean_dqntk_sq(o, g0, n_params, scale) - mu_mean**2, 0.0))) if mu_std else None,
        "lambda_ratio": float(mu_mean / k_mean),
        "eps_mean": float(haar.mean_eps(o, model.target)),
        "eps_rms": float(math.sqrt(haar.mean_eps_sq(o, model.target))),
        "n_params": n_params,
        "ensemble": "Haar chain model (independent Haar gates between rotations), exact in d",
        "assumption_holds": model.ansatz in _RANDOM_DESIGN,
    }
    if len(gens) > 1:
        out["note"] = "several generator types: Delta K and mu use the first type for every layer"
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
