"""QNTK diagnostics of a model before training (the ``qntk diagnose`` job; 003).

From ``samples`` initializations (angles uniform in ``[0, 2 pi)``, those of :func:`qntk.train.run` with the
same seed) it computes, for a supervised model, the QNTK matrix over the training and test points, its
mean and spread, the spectrum of the mean training kernel (``lambda_min``, ``lambda_max``, ``kappa``,
``eta_crit``, ``tau``), and the frozen-QNTK predictions of :mod:`qntk.theory.diagnostics`: the mean
predictions on the training points at the horizon ``steps`` and on the test points at ``t -> infinity``,
with their MSE and R² against the labels. For a model without data (optimization of ``<O>`` towards the
target ``O_0``) the same report is that of the single residual (``K`` a number), with the lazy and
late-time theory of :func:`qntk.theory.predict`.

The laziness check (:func:`qntk.theory.diagnostics.laziness`) measures three relative changes of the
kernel: its spread over initializations, its change over a short trial training, and the first-order
change over the whole training predicted by the dQNTK. With ``train=True`` the model is trained at ``eta``
from the same initializations and the trained mean predictions are compared with the frozen-QNTK ones
over time (003 "Results II-III"), and a second training at ``above * eta_crit`` tests whether training
above the critical learning rate fails to converge, as predicted.

Example:
    >>> from qntk.models import Model
    >>> m = Model("reuploading", 2, 2, "ZI", data="tfim:points=6,h_min=-2,h_max=2")
    >>> out = run(DiagnoseConfig(m, samples=8, trial_samples=4, trial_steps=2, steps=10))
    >>> out["n_train"], out["n_test"], out["eta_crit"] == 2 / out["lambda_max"]
    (3, 3, True)
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .. import kernels, train
from .._provenance import versions
from ..models import Model, states
from ..models._spec import check_bool, check_choice, check_int, check_positive, check_seed
from ..models.ansatze import circuit_seeds
from ..theory import diagnostics
from ..theory import predict as _predict
from ..theory import unavailable

SPLITS = ("interleaved", "random")

#: Training above ``eta_crit`` has failed when its residual along the top kernel mode keeps more than this fraction.
TOP_MODE_LEFT = 0.5

#: The built-in example of ``qntk diagnose`` (003's TFIM regression, N = 6 spins, 20 fields in [-5, 5) with step
#: 0.5): low-frequency re-uploading on 4 qubits, 8 blocks (64 parameters), read out by Z on the first qubit. The
#: encoding scale 0.3 keeps the rotation angles ``0.3 h`` within +-1.5 rad, under half a period, so that the
#: kernel is smooth across the data range (with scale 1 the angles wrap around and no model generalizes).
EXAMPLE = Model("reuploading", 4, 8, "ZIII", data="tfim:spins=6,points=20,h_min=-5,h_max=4.5",
                options={"frequency": "low", "encoding_scale": 0.3})


@dataclass(frozen=True)
class DiagnoseConfig:
    """Settings of a diagnosis (validated when built).

    Attributes:
        model: the model; with a data set it is diagnosed as a supervised model, else as the optimization
            of ``<O>`` towards ``model.target``.
        n_train: training points (the rest are test points); default half of the data set.
        split: ``"interleaved"`` (every other point, in the data set's order, starting with the first, is a
            training point: test points lie between training points) or ``"random"`` (seeded by ``seed``).
        samples: initializations averaged over (at least 2, for the spread).
        seed: master seed of the initializations (the same as ``qntk train --seed``).
        eta: learning rate; default ``fraction * eta_crit``.
        fraction: ``eta / eta_crit`` when ``eta`` is not given (``1/2`` gives ``eta = 1 / lambda_max``,
            003's learning rate, and ``tau ~ kappa``).
        steps: the horizon: train-set predictions and ``r2_train`` are given at this step, and
            ``train=True`` trains for this many steps.
        trial_steps, trial_samples: the short trial training of the laziness check.
        tolerance: a relative change of the kernel above it makes a laziness check fail.
        train: also train the model and compare (module docstring).
        above: multiple of ``eta_crit`` of the divergence check of ``train=True``.
        precision: the relative error of ``steps_to_precision``, the steps until the slowest mode has decayed to it.
        shots: measurements per expectation value of the training; adds the shot-noise floor of the training
            residuals (:func:`qntk.theory.diagnostics.shot_noise_floor`; layered circuits only).
        theory: for an optimization model, add the Haar theory of :func:`qntk.theory.predict` (the first time at a
            size it takes up to a minute; cached).
    """

    model: Model
    n_train: int | None = None
    split: str = "interleaved"
    samples: int = 100
    seed: int = 0
    eta: float | None = None
    fraction: float = 0.5
    steps: int = 300
    trial_steps: int = 20
    trial_samples: int = 16
    tolerance: float = 0.1
    train: bool = False
    above: float = 1.5
    precision: float = 1e-3
    shots: int | None = None
    theory: bool = True

    def __post_init__(self):
        if not isinstance(self.model, Model):
            raise ValueError(f"model must be a qntk.models.Model, got {type(self.model).__name__}.")
        check_choice("split", self.split, SPLITS)
        check_int("samples", self.samples, 2)
        for name in ("steps", "trial_steps", "trial_samples"):
            check_int(name, getattr(self, name), 1)
        check_seed("seed", self.seed)
        if self.eta is not None:
            check_positive("eta", self.eta)
        check_positive("fraction", self.fraction)
        check_positive("tolerance", self.tolerance)
        if not 0 < check_positive("precision", self.precision) < 1:
            raise ValueError(f"precision={self.precision} must lie in (0, 1): it is the relative error to reach.")
        check_bool("train", self.train)
        check_bool("theory", self.theory)
        if self.shots is not None:
            check_int("shots", self.shots, 1)
            if self.model.evaluation != "layered":
                raise ValueError("shots needs the layered form (the variance of O in the output state): this model "
                                 "is evaluated as a function, so drop --shots.")
        if check_positive("above", self.above) <= 1.0:
            raise ValueError(f"above={self.above} must exceed 1: it is the multiple of eta_crit that should diverge.")
        data = self.model.dataset
        if data is None:
            if self.n_train is not None:
                raise ValueError("n_train needs a model with a data set (--data).")
        else:
            check_int("n_train", len(data) // 2 if self.n_train is None else self.n_train, 1)
            if (self.n_train or len(data) // 2) >= len(data) or len(data) < 2:
                raise ValueError(f"n_train={self.n_train} leaves no test point out of {len(data)}: pass "
                                 f"1 <= n_train <= {len(data) - 1} (a data set of at least 2 points).")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        out["model"] = self.model.to_dict()
        return out


def split(data: states.Dataset, n_train: int | None, how: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of the data set (see :class:`DiagnoseConfig`)."""
    m = len(data)
    n_train = m // 2 if n_train is None else n_train
    if how == "random":
        tr, te = data.split(n_train, seed)
        return np.asarray(tr.meta["indices"]), np.asarray(te.meta["indices"])
    order = np.concatenate([np.arange(0, m, 2), np.arange(1, m, 2)])
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def _init_fn(model: Model, circuit, train_idx: np.ndarray):
    """``fn(theta, states, features, labels, eta, horizon) -> (f, J, dK_train)`` at one initialization: the
    outputs ``f`` and Jacobian ``J`` at every point, and the derivative of the training kernel along the
    frozen-QNTK displacement of the angles by the horizon, ``-J^T K^-1 [1 - (1 - eta K)^T] eps(0)`` (a mode with
    ``|1 - eta lambda| >= 1`` at this initialization counts as converged: its full displacement ``-J^T K^-1``)."""
    grad = kernels.grad_fn(circuit, model.operator)

    def outputs(theta, states, features):
        return kernels.per_data(lambda s, f: grad(theta, s, f), states, features)

    def fn(theta, states, features, labels, eta, horizon):
        f, jac = outputs(theta, states, features)
        sub = (None if states is None else states[train_idx], None if features is None else features[train_idx])

        def k_train(th):
            j = outputs(th, *sub)[1]
            return j @ j.T

        jt = jac[train_idx]
        lam, v = jnp.linalg.eigh(jt @ jt.T)
        keep = lam > diagnostics.RCOND * lam[-1]
        factor = 1.0 - eta * lam  # a mode this initialization would not converge in is taken to its fixed point
        decayed = jnp.where(jnp.abs(factor) < 1.0, 1.0 - jnp.sign(factor) ** horizon * jnp.abs(factor) ** horizon, 1.0)
        weight = jnp.where(keep, decayed / jnp.where(keep, lam, 1.0), 0.0)
        r0 = v.T @ (f[train_idx] - labels[train_idx])
        step = -jt.T @ (v @ (weight * r0))
        return f, jac, jax.jvp(k_train, (theta,), (step,))[1]

    return fn


def initial_kernels(config: DiagnoseConfig) -> dict:
    """The initialization of a diagnosis: ``f0`` ``(samples, m)`` outputs and ``K`` ``(samples, m, m)`` QNTK matrices
    at every point, the ``labels``, the ``train`` / ``test`` indices, the ``circuit`` and the per-initialization
    ``dqntk(eta, horizon) -> (samples, m_train, m_train)`` kernel derivatives (:func:`_init_fn`)."""
    model, data = config.model, config.model.dataset
    circuit = model.circuit(seed=circuit_seeds(config.seed, 1)[0])
    if data is None:
        states_, features, labels = None, None, np.asarray([model.target])
        tr, te = np.array([0]), np.array([], dtype=int)
    else:
        states_, features, labels = data.states, data.features, np.asarray(data.labels, float)
        tr, te = split(data, config.n_train, config.split, config.seed)
    thetas = jnp.asarray(train.initial_thetas(config.seed, 1, config.samples, circuit.n_params)[0])
    args = (None if states_ is None else jnp.asarray(states_), None if features is None else jnp.asarray(features),
            jnp.asarray(labels))
    batched = jax.jit(jax.vmap(_init_fn(model, circuit, tr), in_axes=(0, None, None, None, None, None)))
    # the dQNTK displacement needs eta, whose default needs eta_crit: a first pass at eta = 0 (no displacement)
    f0, jac, _ = batched(thetas, *args, 0.0, 0)
    jac, f0 = np.asarray(jac), np.asarray(f0)
    second_moment = None
    if config.shots is not None:  # <O^2> at every point, for the shot-noise floor
        variance = kernels.variance_fn(circuit, model.operator)
        per_init = jax.jit(jax.vmap(lambda th: kernels.per_data(lambda st, x: variance(th, st, x), *args[:2])))
        second_moment = np.asarray(per_init(thetas)) + f0**2
    return {"f0": f0, "K": np.einsum("sap,sbp->sab", jac, jac), "labels": labels, "train": tr, "test": te,
            "circuit": circuit, "second_moment": second_moment,
            "dqntk": lambda eta, horizon: np.asarray(batched(thetas, *args, eta, horizon)[2])}


def run(config: DiagnoseConfig, progress: bool = False, init: dict | None = None) -> dict:
    """The diagnosis (module docstring) as a JSON-ready dict (``init``: :func:`initial_kernels` of ``config``, if
    the caller has it already)."""
    start = time.perf_counter()
    model, data = config.model, config.model.dataset
    init = initial_kernels(config) if init is None else init
    f0, k_all, labels, tr, te, circuit = (init[k] for k in ("f0", "K", "labels", "train", "test", "circuit"))
    k_tr = k_all[:, tr][:, :, tr]
    k_mean = k_tr.mean(axis=0)
    spec = diagnostics.spectrum(k_mean)
    eta = config.eta if config.eta is not None else config.fraction * spec["eta_crit"]
    spec = diagnostics.spectrum(k_mean, eta)
    dk = init["dqntk"](eta, config.steps)

    # the frozen-QNTK predictions, from the mean kernel and mean outputs of the initialization
    y_tr, y_te = labels[tr], labels[te]
    f0_mean = f0.mean(axis=0)
    predict_fn = diagnostics.gradient_descent_mse(k_mean, y_tr, eta)
    k_te_tr = k_all[:, te][:, :, tr].mean(axis=0)
    f_tr_h, f_te_h = predict_fn(config.steps, f0_mean[tr], f0_mean[te], k_te_tr)
    f_tr_inf, f_te_inf = predict_fn(math.inf, f0_mean[tr], f0_mean[te], k_te_tr)

    lazy = diagnostics.laziness({
        "K_spread": float(np.linalg.norm(k_tr.std(axis=0, ddof=1)) / np.linalg.norm(k_mean)),
        "K_trial_change": _trial_change(config, model, data, tr, eta),
        "dqntk_change": float(np.mean(diagnostics.relative_change(k_tr + dk, k_tr))),
    }, config.tolerance)
    out = {
        "task": "optimization" if data is None else "supervised",
        "evaluation": model.evaluation,
        "loss_normalization": "L = sum over training points of (f(x) - y)^2 / 2 (000 eq. (3)); theta <- theta - eta "
                              "dL/dtheta, as qntk train; eta_crit = 2 / lambda_max in that convention",
        **{k: spec[k] for k in ("lambda_min", "lambda_max", "condition_number", "rank", "eta_crit", "eta", "tau")},
        "spectrum": spec["eigenvalues"],
        "precision": config.precision,
        "steps_to_precision": spec["tau"] * math.log(1.0 / config.precision),
        "laziness": lazy,
        "n_params": int(circuit.n_params),
        "n_train": int(tr.size),
        "n_test": int(te.size),
    }
    if data is None:
        layered = model.evaluation == "layered" and unavailable(model) is None
        out["theory"] = _predict(model, eta=eta, precision=config.precision) if layered and config.theory else None
        out["prediction"] = {"eps_0": float(f0_mean[0] - labels[0]), "eps_horizon": float(f_tr_h[0] - labels[0])}
        out.update(r2_train=None, r2_test=None)
    else:
        x = data.features[:, 0] if data.features is not None else np.arange(len(data), dtype=float)
        out["prediction"] = {
            "x_train": x[tr].tolist(), "y_train": y_tr.tolist(), "f0_train": f0_mean[tr].tolist(),
            "f_train": f_tr_h.tolist(), "x_test": x[te].tolist(), "y_test": y_te.tolist(),
            "f0_test": f0_mean[te].tolist(), "f_test": f_te_inf.tolist(), "f_test_horizon": f_te_h.tolist(),
        }
        out.update(r2_train=diagnostics.r2(y_tr, f_tr_h), r2_test=diagnostics.r2(y_te, f_te_inf),
                   mse_train=diagnostics.mse(y_tr, f_tr_h), mse_test=diagnostics.mse(y_te, f_te_inf),
                   train_indices=tr.tolist(), test_indices=te.tolist())
    if config.shots is not None:
        out["shot_noise"] = _shot_noise(config, init["second_moment"][:, tr], k_tr, f_tr_inf, y_tr, eta,
                                        circuit.scale, float(np.sqrt(np.mean((f0_mean[tr] - y_tr) ** 2))))
    if config.train:
        v_max = np.linalg.eigh(k_mean)[1][:, -1]
        out["training"] = _compare_training(config, circuit, data, tr, te, eta, spec["eta_crit"], v_max, predict_fn,
                                            f0_mean, k_te_tr, progress)
    out.update(config=config.to_dict(), seed=config.seed, versions=versions(), time_s=time.perf_counter() - start)
    return out


def quantities(r: dict) -> list[tuple[str, str]]:
    """``(key, meaning)`` of the headline numbers of a :func:`run` result, for tables and reports."""
    rows = [("lambda_min", "smallest eigenvalue of the mean training QNTK"),
            ("lambda_max", "largest eigenvalue"),
            ("condition_number", "kappa = lambda_max / lambda_min (training time ~ kappa at eta = 1/lambda_max)"),
            ("eta_crit", "2 / lambda_max: training at a larger eta does not converge"),
            ("eta", "the learning rate of the predictions"),
            ("tau", "steps for the slowest mode to decay by e at eta"),
            ("steps_to_precision", f"steps for the slowest mode to decay to {r['precision']:g} of its start")]
    if r["task"] == "supervised":
        rows += [("r2_train", f"R² of the frozen-QNTK predictions on the training points at step {r['config']['steps']}"),
                 ("r2_test", "R² of the frozen-QNTK predictions on the test points after training (t -> infinity)"),
                 ("mse_test", "their mean squared error")]
    return rows


def shot_noise_rows(r: dict) -> list[tuple[str, object]]:
    """``(label, value)`` rows of the shot-noise floor of a :func:`run` result (empty without ``shots``)."""
    sn = r.get("shot_noise")
    if not sn:
        return []
    what = "eps" if r["task"] == "optimization" else "training residual"
    return [(f"rms {what} floor at {sn['shots']} shots (Var(O) from the initial states)", sn["rms_floor"]),
            ("the same with the largest Var(O) the spectrum of O allows", sn["rms_floor_upper"]),
            (f"rms {what} at initialization", sn["rms_initial"]),
            (f"precision {r['precision']:g} reachable above the floor", "yes" if sn["precision_reachable"] else "no"),
            ("Var(O) at the end of training, estimated", sn["variance_O"]),
            ("initializations whose own kernel settles at eta", sn["settling_fraction"])]


def _shot_noise(config: DiagnoseConfig, second_moment, k_tr, f_inf, y, eta: float, scale: float,
                rms_0: float) -> dict:
    """The shot-noise floor of the training residuals: the stationary spread of :func:`qntk.theory.diagnostics.
    shot_noise_floor` per initialization (its kernel, and ``Var(O) = <O^2> - f_inf^2`` at each training point with
    ``<O^2>`` of the initial state), averaged over the initializations whose own kernel settles at ``eta``
    (``settling_fraction`` of them; the others have ``eta lambda_max >= 2``); and its upper bound from the largest
    variance an observable of spectrum ``[O_min, O_max]`` can have at mean ``f_inf``, ``(O_max - f) (f - O_min)``
    (Bhatia-Davis)."""
    o_min, o_max = config.model.operator.spectrum_extremes()
    variance = np.maximum(second_moment - f_inf**2, 0.0)
    bound = np.maximum((o_max - f_inf) * (f_inf - o_min), 0.0)

    def floors(var_of_init) -> np.ndarray:
        return np.array([np.trace(diagnostics.shot_noise_floor(k, v, config.shots, eta, scale, f_inf - y))
                         for k, v in zip(k_tr, var_of_init)]) / len(y)

    estimate, upper = floors(variance), floors(np.broadcast_to(bound, variance.shape))
    settles = np.isfinite(estimate)
    mse = float(estimate[settles].mean()) if settles.any() else math.inf
    mse_upper = float(upper[settles].mean()) if settles.any() else math.inf
    rms = math.sqrt(mse)
    return {
        "shots": config.shots,
        "variance_O": float(variance.mean()),
        "variance_O_bound": float(bound.mean()),
        "settling_fraction": float(settles.mean()),
        "mse_floor": mse,
        "rms_floor": rms,
        "mse_floor_upper": mse_upper,
        "rms_floor_upper": math.sqrt(mse_upper),
        "rms_initial": rms_0,
        "precision_reachable": bool(rms <= config.precision * rms_0),
        "model": "measured residuals and gradient entries carry Gaussian errors of variance Var(O)/shots and "
                 "2 s^2 Var(O)/shots (qntk train --shots); the linearized residuals settle around the frozen-QNTK "
                 "limit with this mean squared spread (Var(O) estimated from <O^2> at initialization; the upper "
                 "value takes the largest variance the observable's spectrum allows; averaged over the "
                 "initializations that settle at eta)",
    }


def _train_model(model: Model, data, tr: np.ndarray) -> Model:
    return model if data is None else dataclasses.replace(model, data=data.subset(tr))


def _trial_change(config: DiagnoseConfig, model: Model, data, tr: np.ndarray, eta: float) -> float:
    """Mean relative change of the training kernel over ``trial_steps`` steps of gradient descent at ``eta``."""
    cfg = train.TrainConfig(_train_model(model, data, tr), eta=eta, steps=config.trial_steps,
                            samples=config.trial_samples, seed=config.seed, theory=False,
                            snapshot_every=config.trial_steps)
    k = train.run(cfg, progress=False).K.values
    return float(np.mean(diagnostics.relative_change(k[-1], k[0])))


def _compare_training(config, circuit, data, tr, te, eta, eta_crit, v_max, predict_fn, f0_mean, k_te_tr,
                      progress) -> dict:
    """Trains at ``eta`` from the diagnosis's initializations; the mean predictions over time against the
    frozen-QNTK ones (003 "Results II-III"); then trains at ``above * eta_crit`` (the divergence check)."""
    model, steps = config.model, config.steps
    every = max(1, steps // 20)
    m_train = _train_model(model, data, tr)
    ds = train.run(train.TrainConfig(m_train, eta=eta, steps=steps, samples=config.samples, seed=config.seed,
                                     theory=False, snapshot_every=every), progress=progress)
    labels = np.asarray([model.target]) if data is None else np.asarray(data.labels, float)
    f_train = ds.eps.values.reshape(steps + 1, -1, tr.size).mean(axis=1) + labels[tr]  # (step, train point)
    t = np.arange(steps + 1)
    pred_train, _ = predict_fn(t, f0_mean[tr])
    out = {"eta": eta, "steps": steps, "step": t.tolist(),
           "abs_diff_train": np.abs(f_train - pred_train).mean(axis=1).tolist(),
           "loss_train": ds.loss.values.reshape(steps + 1, -1).mean(axis=1).tolist()}
    if data is not None:
        snaps = ds.snapshot_step.values
        thetas = ds.theta.values[:, 0]  # (snapshot, sample, param)
        evaluate = _outputs_fn(circuit, model.operator, data, te)
        f_test = np.stack([np.asarray(evaluate(jnp.asarray(th))).mean(axis=0) for th in thetas])
        _, pred_test = predict_fn(snaps, f0_mean[tr], f0_mean[te], k_te_tr)
        y_tr, y_te = labels[tr], labels[te]
        out.update(snapshot_step=snaps.tolist(), abs_diff_test=np.abs(f_test - pred_test).mean(axis=1).tolist(),
                   f_train_trained=f_train[-1].tolist(), f_test_trained=f_test[-1].tolist(),
                   r2_train_trained=diagnostics.r2(y_tr, f_train[-1]), r2_test_trained=diagnostics.r2(y_te, f_test[-1]),
                   mse_train_trained=diagnostics.mse(y_tr, f_train[-1]), mse_test_trained=diagnostics.mse(y_te, f_test[-1]))
    above_eta = config.above * eta_crit
    n_above = min(steps, 100)
    above = train.run(train.TrainConfig(m_train, eta=above_eta, steps=n_above, samples=config.trial_samples,
                                        seed=config.seed, theory=False, snapshot_every=n_above), progress=False)
    out["divergence"] = {
        "eta": above_eta, "steps": n_above,
        "predicted": f"the top mode of the kernel grows as |1 - eta lambda_max|^t = {above_eta * 2 / eta_crit - 1:.3g}^t",
        "top_mode_at_eta": _top_mode_decay(ds.eps.values, v_max),
        "top_mode_above": _top_mode_decay(above.eps.values, v_max),
        "loss_late_above": float(above.loss.values[n_above // 2:].mean()),
        "loss_final_at_eta": out["loss_train"][-1],
        "criterion": f"the training residual along the top eigenvector of the mean kernel, |v_max . eps|, averaged over "
                     f"the second half of the run at {config.above:g} eta_crit, stays above {TOP_MODE_LEFT:g} of its initial "
                     "value (a QNN's outputs are bounded, so it cannot grow without limit)",
    }
    out["divergence"]["diverges"] = bool(out["divergence"]["top_mode_above"] > TOP_MODE_LEFT)
    return out


def largest_convergent_eta(config: DiagnoseConfig, eta_crit: float, v_max: np.ndarray, iterations: int = 5,
                           steps: int = 60, bracket: tuple[float, float] = (0.5, 2.5)) -> tuple[float, float]:
    """The largest learning rate at which training converges, measured by bisection on ``eta / eta_crit``.

    A run of ``steps`` steps (``trial_samples`` initializations, on the training points) converges when the residual
    along the top kernel mode ``v_max`` keeps at most :data:`TOP_MODE_LEFT` of its initial size over the second
    half of the run (the criterion of the divergence check). Returns the bracket ``(lo, hi)`` of ``eta / eta_crit``
    after ``iterations`` halvings (``lo`` converges, ``hi`` does not; the starting ``bracket`` is moved by factors
    of 2 until it holds such a pair).
    """
    model, data = config.model, config.model.dataset
    tr = split(data, config.n_train, config.split, config.seed)[0] if data is not None else np.array([0])
    m_train = _train_model(model, data, tr)

    def converges(factor: float) -> bool:
        ds = train.run(train.TrainConfig(m_train, eta=factor * eta_crit, steps=steps, samples=config.trial_samples,
                                         seed=config.seed, theory=False, snapshot_every=steps), progress=False)
        return _top_mode_decay(ds.eps.values, v_max) <= TOP_MODE_LEFT

    lo, hi = bracket
    for _ in range(4):  # widen the bracket until lo converges and hi does not
        if not converges(lo):
            lo, hi = lo / 2, lo
        elif converges(hi):
            lo, hi = hi, 2 * hi
        else:
            break
    else:
        raise ValueError(f"no convergent learning rate found between {lo:g} and {hi:g} eta_crit.")
    for _ in range(check_int("iterations", iterations, 1)):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if converges(mid) else (lo, mid)
    return lo, hi


def _top_mode_decay(eps: np.ndarray, v_max: np.ndarray) -> float:
    """Mean over runs of ``|v_max . eps(t)|`` over the second half of the steps, over its mean at ``t = 0``."""
    r = np.abs(eps.reshape(eps.shape[0], -1, eps.shape[-1]) @ v_max)  # (step, run)
    return float(r[eps.shape[0] // 2:].mean() / r[0].mean())


def _outputs_fn(circuit, observable, data, idx: np.ndarray):
    """``fn(thetas) -> (samples, len(idx))`` the outputs at the points ``idx``."""
    fn = kernels.residual_fn(circuit, observable)
    s = None if data.states is None else jnp.asarray(data.states[idx])
    x = None if data.features is None else jnp.asarray(data.features[idx])
    return jax.jit(jax.vmap(lambda th: kernels.per_data(lambda si, xi: fn(th, si, xi), s, x)))
