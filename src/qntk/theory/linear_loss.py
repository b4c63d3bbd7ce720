"""Late-time training with the linear loss ``L = <O>``, and the quadratic loss that beats it (004 eqs. (21)-(25)).

Gradient descent on ``L = <O>`` (004 eq. (21); ``qntk train --loss linear``: ``theta <- theta - eta g``,
``g = d<O>/d theta``) with the residual ``eps = <O> - O_min`` obeys, to first order in ``eta``,

.. math::  \\delta\\varepsilon = -\\eta K , \\qquad \\delta K = -2\\eta\\mu      \\qquad \\text{(004 eqs. (22), (23))}

(``K = |g|^2``, ``mu = g^T Hess<O> g``, the same as for the quadratic loss). With ``lambda = mu / K``
constant at late time (004 eq. (24)) ``K`` decays on its own and drags ``eps`` along:

.. math::  2\\lambda\\varepsilon(t) = K(t) \\propto e^{-2\\eta\\lambda t}          \\qquad \\text{(004 eq. (25))}

on the late-time line ``eps = K / (2 lambda)``. Near the ground state ``Hess<O> >= 0``, so ``mu, lambda > 0``
(the sign is that of the frozen-error regime of the quadratic loss, where ``eps -> R = O_min - O_0 > 0``
and ``K = 2 lambda (eps - R) ~ exp(-2 eta lambda R t)``, 004 eq. (16)). The quadratic loss near the ground
state takes the steps of the linear loss multiplied by ``eps ~ R``: its late-time rate is ``R`` times the
linear one (004 "Speeding up the convergence"), until ``eta R`` exceeds the stability limit of the
late-time Hessian ``M = R Hess<O>`` (004 eq. (19), :mod:`qntk.theory.hessian`): ``eta R h_top < 2``.

* :func:`solve`, :func:`iterate`: eq. (24) exactly, and the discrete map of eqs. (22)-(23);
* :func:`rate`, :func:`quadratic_rate`: eqs. (25), (16);
* :func:`late_time`: ``lambda_inf`` at the ground state from the restricted Haar ensemble
  (:func:`qntk.theory.restricted_haar.edge_late_time`) and the rates, from the model alone;
* :func:`recommend_target`: the ``O_0`` that reaches the ground state fastest, and its predicted speed-up.

Example:
    >>> eps, K = solve(2.0, 4.0, 1.0, 0.01, np.array([0, 100]))
    >>> [round(float(v), 4) for v in K], bool(np.allclose(eps, K / 2))
    ([4.0, 0.5413], True)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import ArrayLike

from ..models import Model
from ..models._spec import check_choice, check_int, check_positive, check_real
from . import hessian, restricted_haar
from ._predict import _generators

#: :func:`recommend_target` keeps ``R`` below this fraction of the stability limit ``2 / (eta h_top)``: ``h_top``
#: varies from circuit to circuit and between the ground-state angles one circuit reaches (about 11 % standard
#: deviation at n = 2, L = 64; :mod:`qntk.theory.hessian`), and 0.75 leaves two standard deviations.
STABILITY_MARGIN = 0.75


def rate(eta: float, lam: float) -> float:
    """The linear loss's late-time decay rate of ``K`` and ``eps`` per step, ``2 eta lambda`` (004 eq. (25))."""
    return 2.0 * check_positive("eta", eta) * check_real("lam", lam)


def quadratic_rate(eta: float, lam: float, R: float) -> float:
    """The frozen-error decay rate of ``K`` and ``eps - R`` per step, ``2 eta lambda R`` (004 eq. (16))."""
    return rate(eta, lam) * check_real("R", R)


def solve(eps0: ArrayLike, K0: ArrayLike, lam: float, eta: float, t: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The exact solution of 004 eq. (24) from ``(eps0, K0)``:
    ``K = K0 e^{-2 eta lam t}``, ``eps = eps0 - K0 (1 - e^{-2 eta lam t}) / (2 lam)`` (``eps0 - eta K0 t`` at
    ``lam = 0``); on the late-time line ``eps0 = K0 / (2 lam)`` this is eq. (25).

    Returns:
        ``(eps, K)`` of shape ``broadcast(eps0, K0) + t.shape``.
    """
    eta, lam = check_positive("eta", eta), check_real("lam", lam)
    t = np.asarray(t, dtype=float)
    eps0, K0 = np.broadcast_arrays(np.asarray(eps0, float), np.asarray(K0, float))
    ex = (...,) + (None,) * t.ndim
    x = 2.0 * eta * lam * t
    K = K0[ex] * np.exp(-x)
    drop = K0[ex] * eta * t * (-np.expm1(-x) / np.where(x != 0, x, 1.0) if lam != 0 else 1.0)
    return eps0[ex] - drop, K


def iterate(eps0: ArrayLike, K0: ArrayLike, lam: float, eta: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The discrete map of 004 eqs. (22)-(23) with ``mu = lam K``: ``eps_{t+1} = eps_t - eta K_t``,
    ``K_{t+1} = (1 - 2 eta lam) K_t``; shape ``batch + (steps + 1,)``."""
    eta, lam = check_positive("eta", eta), check_real("lam", lam)
    t = np.arange(check_int("steps", steps, 0) + 1)
    eps0, K0 = np.broadcast_arrays(np.asarray(eps0, float), np.asarray(K0, float))
    q = 1.0 - 2.0 * eta * lam
    K = K0[..., None] * q**t
    cum = np.concatenate([np.zeros(K.shape[:-1] + (1,)), np.cumsum(K[..., :-1], axis=-1)], axis=-1)
    return eps0[..., None] - eta * cum, K


def _ground(model: Model) -> dict:
    gen = hessian.restricted_haar_generator(model)
    L = model.n_layers if gen is None else len(_generators(model))
    return restricted_haar.edge_late_time(model.operator.matrix(), L, model.generator_scale,
                                          model.operator.spectrum_extremes()[0], "min",
                                          generator=gen)


def late_time(model: Model, eta: float) -> dict:
    """The linear loss's late-time theory of ``model`` (its target is ignored), from the model alone.

    ``lambda_inf``: the restricted-Haar relative dQNTK at the ground state, approached along the next
    eigenstate (:func:`qntk.theory.restricted_haar.edge_late_time`); ``rate = 2 eta lambda_inf`` (004
    eq. (25)); ``O_min``, ``gap`` (the spectral gap of ``O`` above it).
    """
    r = _ground(model)
    return {"O_min": r["edge_energy"], "gap": r["gap"], "lambda_inf": r["lambda_inf"],
            "rate": rate(eta, r["lambda_inf"])}


def ground_hessian(model: Model, circuits: int = 32, seed: int = 0) -> dict:
    """The spectrum of ``Hess<O>`` at the ground state over restricted-Haar circuits (the late-time loss
    Hessian of the linear loss, and ``M / R`` of the quadratic loss in frozen error; :mod:`qntk.theory.hessian`).

    Returns:
        ``{"h_gap", "h_gap_sem", "h_top", "h_top_sem"}``: mean smallest non-zero and largest eigenvalue.
    """
    o_min = model.operator.spectrum_extremes()[0]
    unit = dataclasses.replace(model, target=o_min - 1.0)
    ev = hessian.edge_spectra(unit, circuits, seed, edge="min")
    g, top = hessian.gap(ev), ev[:, -1]
    n = len(ev)
    return {"h_gap": float(g.mean()), "h_gap_sem": float(g.std(ddof=1) / math.sqrt(n)),
            "h_top": float(top.mean()), "h_top_sem": float(top.std(ddof=1) / math.sqrt(n))}


def mode_rate(eta: float, R: float, h_gap: float, h_top: float) -> float:
    """The asymptotic rate per step of the slowest linear mode of gradient descent near the ground state
    (004 eq. (18) with ``M = R Hess<O>``; ``R = 1`` is the linear loss): ``-log max(|1 - eta R h_gap|,
    |1 - eta R h_top|)`` for the residual amplitude (``K`` and ``eps`` decay at twice it); 0 when unstable."""
    q = max(abs(1.0 - eta * R * h_gap), abs(1.0 - eta * R * h_top))
    return -math.log(q) if 0 < q < 1 else (math.inf if q == 0 else 0.0)


def recommend_target(model: Model, eta: float, criterion: str = "modes", circuits: int = 32, seed: int = 0,
                     precision: float = 1e-3) -> dict:
    """The target ``O_0 = O_min - R`` that reaches the ground state fastest with the quadratic loss at
    learning rate ``eta``, from the model alone.

    Criterion ``"modes"``: the late-time linearized gradient descent (004 eq. (18)) with the loss Hessian
    ``M = R Hess<O>`` (004 eq. (19)), whose non-zero eigenvalues lie between ``R h_gap`` and ``R h_top``
    (mean restricted-Haar values, :func:`ground_hessian`): the slowest mode's rate :func:`mode_rate` is
    largest at ``R = 2 / (eta (h_gap + h_top))``. Criterion ``"lv"``: 004's rate ``2 eta lambda_inf R``
    (eq. (16)) grows with ``R`` without bound. Either is capped at :data:`STABILITY_MARGIN` times the
    stability limit ``R_max = 2 / (eta h_top)`` (``eta R h_top < 2``). The predicted speed-up over the
    linear loss at the same ``eta`` is the ratio of the rates, ``R`` in the LV picture (and in the modes
    picture while ``eta R h_top <= 1``).

    Returns:
        ``{"target", "R", "criterion", "O_min", "lambda_inf", "h_gap", "h_top", "R_max" (2 / (eta h_top)),
        "rate" (of K at R*), "rate_linear", "speedup_linear" (rate ratio), "steps_critical",
        "steps_target", "speedup_critical"}``; the last three are the steps to bring ``eps - R`` to
        ``precision`` from the Haar mean ``E[<O>] - O_min`` at the start: at the critical target along
        004 eq. (15), ``eps = 1 / (2 lam eta t)`` (``lam = h_gap`` for ``"modes"``, ``lambda_inf`` for
        ``"lv"``), and at ``R*`` exponentially at ``rate``.
    """
    eta = check_positive("eta", eta)
    check_choice("criterion", criterion, ("modes", "lv"))
    precision = check_positive("precision", precision)
    h = ground_hessian(model, circuits, seed)
    lt = late_time(model, eta)
    r_max = 2.0 / (eta * h["h_top"])
    if criterion == "modes":
        R = min(2.0 / (eta * (h["h_gap"] + h["h_top"])), STABILITY_MARGIN * r_max)
        rate_R, rate_1 = 2.0 * mode_rate(eta, R, h["h_gap"], h["h_top"]), 2.0 * mode_rate(eta, 1.0, h["h_gap"], h["h_top"])
    else:
        R = STABILITY_MARGIN * r_max
        rate_R, rate_1 = quadratic_rate(eta, lt["lambda_inf"], R), lt["rate"]
    o = model.operator.matrix()
    start = float(np.trace(o).real / o.shape[0]) - lt["O_min"]  # Haar mean <O> - O_min
    # eq. (15): eps = K / (2 lam) = 1 / (2 lam eta t), with the same lam as the rates (h_gap for "modes": the
    # slowest mode dominates the critical decay too; lambda_inf for "lv")
    lam_crit = h["h_gap"] if criterion == "modes" else lt["lambda_inf"]
    steps_crit = 1.0 / (2.0 * lam_crit * eta * precision)
    steps_R = math.log(max(start, precision) / precision) / rate_R if rate_R > 0 else math.inf
    return {"target": lt["O_min"] - R, "R": R, "criterion": criterion, "O_min": lt["O_min"],
            "lambda_inf": lt["lambda_inf"], **h, "R_max": r_max, "rate": rate_R, "rate_linear": rate_1,
            "speedup_linear": rate_R / rate_1 if rate_1 > 0 else math.inf, "steps_critical": steps_crit,
            "steps_target": steps_R, "speedup_critical": steps_crit / steps_R}


def fit_rate(t: ArrayLike, values: ArrayLike) -> float:
    """``-d log|values| / dt`` by least squares over ``t`` (the simulation side's late-time rate)."""
    t, v = np.asarray(t, float), np.log(np.abs(np.asarray(values, float)))
    return float(-np.polyfit(t, v, 1)[0])
