"""The theory of one :class:`~qntk.models.Model`: the same object the simulator takes, the same names.

:func:`predict` gives the Haar ensemble averages at initialization (:mod:`qntk.theory.haar`, exact in
d, in the "chain" model: independent Haar gates between consecutive rotations, which is what the
random Pauli ansatz is; 001's independent-layer model gets E[K] right but not Var K, see
docs/theory-haar.md) and, with a learning rate, the frozen-kernel dynamics, precision, concentration
and noise of :mod:`qntk.theory.lazy`. :func:`mean_residual` gives the mean residual of a training run
at given steps. Keys follow ``qntk kernel --json`` and ``qntk train --json`` (docs/glossary.md). Every
number comes from the model alone, never from a simulated trajectory; the generator scale is the
model's own.

For ansatze that are not 2-designs (shallow hea, hva, reuploading) the numbers are what a deep random
circuit with the same generators would give; ``assumptions`` says so, and whether ``eta`` is below the
critical learning rate that the frozen-kernel dynamics need; ``assumption_holds`` is true when both hold.

Example:
    >>> from qntk.models import Model
    >>> p = predict(Model("rpa", 2, 16, "xxz:J=2", target=-3.0), eta=1e-3, mu_std=False)
    >>> round(p["K_mean"], 3), p["concentration"]["dK_over_K_verdict"]
    (23.893, 'marginal')
"""

from __future__ import annotations

import math

import numpy as np

from ..models import Model
from ..models._spec import check_non_negative, check_positive
from ..models.circuits import generator_matrices
from ..models.pauli import PauliString
from . import haar, lazy, lv, restricted_haar, supervised

LATE_TIME_MAX_QUBITS = 10
"""Largest ``n`` for which :func:`late_time` evaluates the restricted-Haar averages (``O(d^3)`` traces)."""


def unavailable(model: Model) -> str | None:
    """Why :func:`predict`, :func:`mean_residual` and :func:`late_time` cannot give the theory of ``model``
    (one sentence), or ``None``; the commands with a theory column check it before any work."""
    if model.evaluation != "layered":
        return ("the theory needs the layers' generators, and this model file's circuit has no layered form "
                "(it is evaluated as the framework's function): use rotations about Pauli strings")
    if model.n_qubits > haar.DENSE_MAX_QUBITS:
        pauli = hasattr(model.operator, "labels") and model.ansatz_spec.pauli_generators
        if not pauli or model.dataset is not None:
            return (f"above {haar.DENSE_MAX_QUBITS} qubits the exact Haar theory is taken from Pauli sums (no d x d "
                    f"matrix), which needs a Pauli-sum observable, Pauli-string generators and no data set; this model "
                    f"on {model.n_qubits} qubits has " + ("a data set" if pauli else "other operators"))
    return None


def _large(model: Model) -> bool:
    """Whether the theory of ``model`` is taken from Pauli sums (above :data:`qntk.theory.haar.DENSE_MAX_QUBITS`)."""
    return model.n_qubits > haar.DENSE_MAX_QUBITS


def _observable(model: Model):
    """``O`` for the Haar averages: its ``d x d`` matrix, or the Pauli-sum observable itself at many qubits."""
    return model.operator if _large(model) else model.operator.matrix()


def _generators(model: Model) -> list:
    """The generator of every parametrized layer in circuit order (data-encoding layers carry none): ``d x d``
    matrices, or Pauli labels at many qubits."""
    reason = unavailable(model)
    if reason is not None:
        raise ValueError(reason + ".")
    circuit = model.circuit(seed=0)
    trainable = np.asarray(circuit.param_index) >= 0
    if _large(model):
        layers = zip(np.asarray(circuit.gen_x), np.asarray(circuit.gen_z))
        return [PauliString(int(x), int(z), model.n_qubits).label for (x, z), t in zip(layers, trainable) if t]
    return [g for g, t in zip(generator_matrices(circuit), trainable) if t]


def _chain_K(model: Model) -> tuple[np.ndarray, list[np.ndarray], float, float, float]:
    """``(O, generators, s, K̄, Var K)`` of the model, the Haar chain model's ``Var K`` clipped at 0."""
    o, gens, s = _observable(model), _generators(model), model.generator_scale
    return o, gens, s, haar.mean_K(o, gens, None, s), max(haar.var_K(o, gens, None, s, model="chain"), 0.0)


def _check_run(eta, sigma, precision) -> None:
    if eta is not None:
        check_positive("eta", eta)
    if sigma is not None:
        check_non_negative("sigma", sigma)
    if eta is None and (sigma is not None or precision is not None):
        raise ValueError("sigma and precision predictions need the learning rate: pass eta.")


def predict(model: Model, eta: float | None = None, sigma: float | None = None, precision: float | None = None,
            mu_std: bool = True) -> dict:
    """Theory for ``model``: K̄, Delta K, E[mu], Delta mu, E[eps], and with ``eta`` the decay rate,
    ``L_star``, the concentration conditions, the noise plateau (with ``sigma``) and the steps to a
    relative precision (with ``precision``).

    Keys: ``K_mean, K_std, mu_mean, mu_std, lambda_ratio`` (004 eq. (40)), ``zeta_ratio`` (004 eq. (39)),
    ``eps_mean, eps_std, eps_rms, n_params, ensemble``, ``approximate_design`` (the ansatz is only an approximate
    2-design, ``rpa-local``: the Haar averages are a limit, not its own), ``assumptions`` (``two_design``: the ansatz is a
    2-design, so the Haar averages are its own; with ``eta``, ``eta_below_critical``: ``eta < eta_crit``,
    so the lazy dynamics converge) and ``assumption_holds`` (all of them hold); the late-time regime and
    restricted-Haar averages of :func:`late_time` (``regime, O_min, O_max, R, K_inf, lambda_inf,
    zeta_inf, late_time_state``) for a model without data; for a model with input
    states as data the mean kernel matrix over them, ``K_matrix_mean`` and ``K_matrix_eigenvalues``
    (ascending; :func:`qntk.theory.supervised.mean_kernel_matrix`); and with ``eta``
    ``eta_crit`` (``2 / K̄``), ``warnings`` (``eta`` at or above ``eta_crit``: the lazy theory does not apply),
    ``decay_rate, L_star, concentration``, ``noise_plateau_eps2``, ``steps_to_precision``.

    Args:
        model: the model.
        eta: learning rate.
        sigma: Gaussian angle noise per step (001 eq. (28)).
        precision: target relative error ``eps(T) / eps(0)``.
        mu_std: compute ``E[mu^2]`` (about 30 s the first time at a new dimension; cached on disk).

    Raises:
        ValueError: for a non-positive ``eta``, a negative ``sigma`` or ``precision`` outside (0, 1).
    """
    _check_run(eta, sigma, precision)
    o, gens, s, k_mean, k_var = _chain_K(model)
    k_std = math.sqrt(k_var)
    kinds = len(haar.group_by_spectrum(gens)[0])
    mu_mean = haar.mean_mu(o, gens, None, s)
    # E[mu^2] is built for one kind of generator; with several kinds (hva) it is not given.
    mu_sq = haar.mean_mu_sq(o, gens, None, s) if mu_std and kinds == 1 and not _large(model) else None
    eps_mean, eps_sq = haar.mean_eps(o, model.target), haar.mean_eps_sq(o, model.target)
    out = {
        "K_mean": k_mean,
        "K_std": k_std,
        "mu_mean": mu_mean,
        "mu_std": None if mu_sq is None else math.sqrt(max(mu_sq - mu_mean**2, 0.0)),
        "lambda_ratio": mu_mean / k_mean,
        "zeta_ratio": haar.mean_eps_mu(o, gens, None, s, model.target) / k_mean**2,
        "eps_mean": eps_mean,
        "eps_std": math.sqrt(max(eps_sq - eps_mean**2, 0.0)),
        "eps_rms": math.sqrt(eps_sq),
        "n_params": len(gens),
        "ensemble": "Haar chain model (independent Haar gates between rotations), exact in d",
        "assumptions": {"two_design": model.ansatz_spec.is_design},
        "approximate_design": model.ansatz_spec.is_approximate_design,
    }
    if out["approximate_design"]:
        out["ensemble"] += (f"; {model.ansatz_spec.name}'s random local gates are an approximate 2-design, so these "
                            "are the limit its averages approach, at a measured distance (docs/rpa_local.md)")
    if model.dataset is None:
        out.update(_late_time(model, o, gens, s))
    else:
        out.update(_kernel_matrix(model, o, gens, s))
    if _large(model) and mu_std:
        out["note"] = (f"above {haar.DENSE_MAX_QUBITS} qubits mu_std (E[mu^2], degree-6 averages) is not computed; the "
                       "other averages are exact, from Pauli sums")
    if kinds > 1 and mu_std:
        out["note"] = f"{kinds} kinds of layer generator: mu_std (E[mu^2]) is computed for one kind only and is not given"
    if eta is not None:
        out["eta_crit"] = 2.0 / k_mean
        warning = lazy.learning_rate_warning(eta, k_mean, "Haar mean K")
        out["warnings"] = [] if warning is None else [warning]
        out["assumptions"]["eta_below_critical"] = warning is None
        out["decay_rate"] = float(lazy.decay_rate(eta, k_mean))
        out["L_star"] = float(lazy.overparametrization_threshold(eta, k_mean / len(gens)))
        mu_scale = out["mu_std"] if out["mu_std"] is not None else abs(mu_mean)
        out["concentration"] = lazy.concentration(mu_scale, k_mean, k_std, eta, out["eps_rms"])
        if sigma is not None:
            out["noise_plateau_eps2"] = float(lazy.noise_plateau_eps2(eta, k_mean, sigma))
        if precision is not None:
            out["steps_to_precision"] = float(lazy.steps_to_precision(precision, eta, k_mean))
    out["assumption_holds"] = all(out["assumptions"].values())
    return out


def _kernel_matrix(model: Model, o: np.ndarray, gens: list[np.ndarray], s: float) -> dict:
    """The mean QNTK matrix over the model's input states and its spectrum (000 eqs. (17)-(21), exact in
    d in 001's model: every layer between independent 2-designs)."""
    data = model.dataset
    if data.states is None:
        raise ValueError(f"the theory of a model whose data are classical features ({data.name}) is not "
                         "available: use a data set of input states, such as 'orthogonal:m=4'.")
    g2 = {float(np.trace(g @ g).real) for g in gens}
    if len(g2) > 1:
        raise ValueError("the mean kernel matrix needs one tr(G^2) for every layer; this ansatz has several.")
    k = supervised.mean_kernel_matrix(data.states, [o], len(gens), s, generator_sq_trace=g2.pop())
    return {"K_matrix_mean": k.tolist(), "K_matrix_eigenvalues": np.linalg.eigvalsh(k).tolist()}


def mean_residual(model: Model, eta: float, steps) -> dict:
    """The mean residual of gradient descent on the quadratic loss at ``steps``, from the model alone.

    Returns ``eps_eq10``, 000 eq. (10) ``E[eps(0)] exp(-eta K̄ t)`` with the exact Haar ``K̄``, and
    ``eps_ensemble``, the same decay averaged over the Haar law of ``(eps(0), K)``
    (:func:`qntk.theory.lazy.ensemble_residual`), as arrays over ``steps``; ``eps_lv`` and ``K_lv``,
    the Lotka-Volterra prediction of :func:`_lv_line`; and the moments used: ``K_mean``, ``K_std``,
    ``eps_mean``, ``cov_eps_K``, ``decay_rate``, the regime keys of :func:`late_time` and ``lv_C``,
    the conserved ``C`` of the Lotka-Volterra line.

    Example:
        >>> from qntk.models import Model
        >>> r = mean_residual(Model("rpa", 2, 16, "xxz:J=2", target=-3.0), 1e-3, [0, 100])
        >>> r["eps_eq10"].shape, float(r["eps_eq10"][0]) == r["eps_mean"]
        ((2,), True)
    """
    _check_run(eta, None, None)
    o, gens, s, k_mean, k_var = _chain_K(model)
    eps_mean = haar.mean_eps(o, model.target)
    cov = haar.mean_eps_K(o, gens, None, s, model.target) - eps_mean * k_mean
    t = np.asarray(steps, dtype=float)
    late = _late_time(model, o, gens, s)
    eps_lv, k_lv, c_lv = _lv_line(late, eps_mean, k_mean, eta, int(t.max()) if t.size else 0)
    idx = t.astype(int)
    return {
        **{k: late[k] for k in ("regime", "O_min", "O_max", "R", "K_inf", "lambda_inf", "zeta_inf")},
        "lv_C": c_lv,
        "eps_lv": eps_lv[idx],
        "K_lv": k_lv[idx],
        "K_mean": k_mean,
        "K_std": math.sqrt(k_var),
        "eps_mean": eps_mean,
        "cov_eps_K": cov,
        "decay_rate": float(lazy.decay_rate(eta, k_mean)),
        "eps_eq10": lazy.frozen_residual_exp(eps_mean, eta, k_mean, t),
        "eps_ensemble": lazy.ensemble_residual(eta, t, eps_mean, k_mean, k_var, cov),
    }


def late_time(model: Model) -> dict:
    """The late-time regime of gradient descent on the quadratic loss and its restricted-Haar averages.

    * ``regime``: ``frozen-kernel``, ``critical`` or ``frozen-error`` from ``O_0`` against the exact
      ``O_min``, ``O_max`` of the observable (004 Theorem 1; :func:`qntk.theory.lv.predict_regime`),
      with ``R`` the frozen late-time residual;
    * ``K_inf``, ``lambda_inf`` (``E[mu]/E[K]``), ``zeta_inf`` (``eps E[mu]/E[K]^2``): the restricted
      Haar ensemble (004 eq. (17)) at the converged state, exact in ``d`` and ``L``
      (:mod:`qntk.theory.restricted_haar`): at the edge eigenstate for the critical and frozen-error
      regimes, approached along the next eigenstate; for a projector observable at the converged
      fidelity ``O_0`` (004 Theorem 3). For any other observable in the frozen-kernel regime the
      converged state is not fixed by ``O_0``: ``K_inf`` is then the Haar ``K̄`` (the kernel stays
      frozen, 004 sec. "Unitary ensemble theory"), ``zeta_inf = 0`` and ``lambda_inf`` is ``None``.

    ``late_time_state`` says which state was used. Above :data:`LATE_TIME_MAX_QUBITS` qubits the
    averages are ``None``.
    """
    return _late_time(model, _observable(model), _generators(model), model.generator_scale)


def _late_time(model: Model, o: np.ndarray, gens: list[np.ndarray], s: float) -> dict:
    """:func:`late_time` with the observable matrix, the generators and the scale already built."""
    o_min, o_max = model.operator.spectrum_extremes()
    regime = lv.predict_regime(model.target, o_min, o_max)
    out = {"regime": regime.regime, "O_min": o_min, "O_max": o_max, "R": regime.R,
           "K_inf": None, "lambda_inf": None, "zeta_inf": None}
    kinds = haar.group_by_spectrum(gens)[0]
    if model.n_qubits > LATE_TIME_MAX_QUBITS or len(kinds) > 1:
        why = (f"more than {LATE_TIME_MAX_QUBITS} qubits" if len(kinds) == 1
               else f"{len(kinds)} kinds of layer generator")
        return {**out, "late_time_state": f"not computed ({why})"}
    L, g = len(gens), kinds[0]
    if regime.regime != "frozen-kernel":
        edge = "min" if regime.boundary == "O_min" else "max"
        r = restricted_haar.edge_late_time(o, L, s, model.target, edge, generator=g)
        state = f"the {'ground' if edge == 'min' else 'top'} state of O, approached along the next eigenstate"
    elif restricted_haar.is_projector(o):
        r = restricted_haar.projector(o, L, s, model.target, generator=g)
        state = "a state of fidelity O_0 with the projector's state (004 Theorem 3)"
    else:
        r = {"K_inf": haar.mean_K(o, gens, None, s), "lambda_inf": None, "zeta_inf": 0.0}
        state = "not fixed by O_0: K_inf is the Haar K-bar (frozen kernel)"
    return {**out, "K_inf": r["K_inf"], "lambda_inf": r["lambda_inf"], "zeta_inf": r["zeta_inf"], "late_time_state": state}


def _lv_line(late: dict, eps0: float, k0: float, eta: float, steps: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(eps_lv, K_lv, C)`` over ``0..steps``: the discrete Lotka-Volterra map (004 eqs. (7)-(8)) on the
    late-time line of the predicted regime, from the model alone.

    The line is 004 eq. (11) with the regime's fixed point: ``C = K_inf`` with ``lambda = 0`` in the
    frozen-kernel regime (the kernel frozen, ``eps = E[eps(0)] exp(-eta K_inf t)``, eq. (14)); ``C = 0``
    at the critical point and ``C = -2 lambda_inf R`` in the frozen-error regime, with the restricted
    Haar ``lambda_inf``. The run starts on the line at the Haar ``K(0) = K̄`` (so ``eps(0)`` lies on the
    line, ``R + K̄ / (2 lambda_inf)``, not at ``E[eps(0)]``): 004 fits this offset (``B1``, ``B2`` of
    eqs. (33)-(34)) to each trajectory, which a prediction from the model alone cannot.
    """
    lam = late["lambda_inf"]
    if late["regime"] == "frozen-kernel" or lam is None or not np.isfinite(lam) or lam * late["R"] < 0:
        c = late["K_inf"] if late["K_inf"] is not None else k0
        eps_lv, k_lv = lv.iterate(eps0, c, 0.0, eta, steps)
        return eps_lv, k_lv, float(c)
    c = -2.0 * lam * late["R"]
    eps_lv, k_lv = lv.iterate(late["R"] + k0 / (2.0 * lam), k0, lam, eta, steps)
    return eps_lv, k_lv, float(c)
