"""Gradient-descent simulator on ensembles of initializations and random circuits.

Losses (``loss=``):

* ``"quadratic"``: ``L = eps^2 / 2`` with ``eps = <O> - O_0`` (000 eq. (2)); update
  ``theta <- theta - eta eps g`` (000 eq. (4));
* ``"supervised"``: ``L = sum_a eps_a^2 / 2`` over a data set (000 eq. (3)); update
  ``theta <- theta - eta sum_a eps_a g_a``;
* ``"linear"``: ``L = <O>`` (004 eqs. (22)-(25)); update ``theta <- theta - eta g``.

Noise: Gaussian angle noise ``theta <- theta + N(0, sigma^2)`` per parameter and step (001 eq. (28));
finite-shot noise, where the measured residuals and gradients carry independent Gaussian errors of
variance ``Var(O)/shots`` and ``2 s^2 Var(O)/shots`` (two-term parameter shift), ``Var(O)`` taken
exactly at the current angles.

Every run records eps(t), the QNTK K(t) (the matrix over data points for the supervised loss),
the loss, on request mu(t) (single-output losses), and snapshots of theta(t), in an xarray Dataset
with dims ``step, circuit, sample, data, param``; its attributes hold the config, the seed, the
package versions and the seconds spent on theory, compilation, simulation and the checks after it (``times``). For the quadratic loss the run also carries the theory of the mean residual,
``eps_theory`` and ``eps_eq10`` over ``step`` (:func:`qntk.theory.mean_residual`, computed from the
model alone before the simulation starts), the columns that ``qntk train`` prints. Runs are
deterministic for a seed, show a progress bar, and checkpoint (every :data:`CHECKPOINT_SECONDS` and on
Ctrl-C) so that an interrupted run resumes where it stopped (:func:`run` with ``checkpoint=``).

Example:
    >>> from qntk.models import Model
    >>> cfg = TrainConfig(Model("rpa", 2, 16, "xxz:J=2", target=-3.0), eta=0.05, steps=20, samples=4)
    >>> ds = run(cfg, progress=False)
    >>> ds.eps.dims, ds.eps.shape
    (('step', 'circuit', 'sample', 'data'), (21, 1, 4, 1))
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from . import kernels
from ._provenance import save_netcdf as save  # noqa: F401  (qntk.train.save, the public name)
from ._provenance import versions, write_atomic
from ._sim.clock import compile_clock
from .models import Model
from .models._spec import (check_bool, check_choice, check_int, check_memory, check_non_negative, check_positive,
                           check_seed)
from .models.ansatze import circuit_seeds
from .theory import convergence, diagnostics, lazy, mean_residual, several_data, unavailable
from .theory.lv import measure_regime

LOSSES = ("quadratic", "supervised", "linear")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (validated when built).

    Attributes:
        model: the QNN model (its ``target`` is ``O_0`` of the quadratic loss, its ``data`` the data
            set of the supervised loss).
        eta: learning rate.
        steps: gradient-descent steps.
        samples: initializations per circuit (angles uniform in ``[0, 2 pi)``).
        circuits: random circuits drawn from the ansatz.
        seed: master seed of circuits, initial angles and noise.
        loss: one of :data:`LOSSES`; by default ``"supervised"`` for a model with data, else ``"quadratic"``.
        sigma: standard deviation of the Gaussian angle noise per step (001 eq. (28)).
        shots: measurements per expectation value (``None``: exact expectation values).
        record_mu: also record mu(t) (single-output losses; about doubles the cost).
        snapshot_every: steps between recorded theta snapshots (and chunks of compiled steps).
        theory: put the theory of the mean residual beside the simulation (quadratic loss;
            :func:`qntk.theory.mean_residual`, from the model alone).
    """

    model: Model
    eta: float = 1e-3
    steps: int = 100
    samples: int = 100
    circuits: int = 1
    seed: int = 0
    loss: str | None = None
    sigma: float = 0.0
    shots: int | None = None
    record_mu: bool = False
    snapshot_every: int = 100
    theory: bool = True

    def __post_init__(self):
        if not isinstance(self.model, Model):
            raise ValueError(f"model must be a qntk.models.Model, got {type(self.model).__name__}.")
        if self.loss is None:
            object.__setattr__(self, "loss", "quadratic" if self.model.data is None else "supervised")
        check_choice("loss", self.loss, LOSSES)
        check_positive("eta", self.eta)
        for name in ("steps", "samples", "circuits", "snapshot_every"):
            check_int(name, getattr(self, name), 1)
        check_seed("seed", self.seed)
        check_non_negative("sigma", self.sigma)
        if self.shots is not None:
            check_int("shots", self.shots, 1)
            if self.model.evaluation != "layered":
                raise ValueError("shot noise needs the layered form (the variance of O at each layer's state): this "
                                 "model file's circuit is evaluated as the framework's function.")
        check_bool("record_mu", self.record_mu)
        check_bool("theory", self.theory)
        if (self.loss == "supervised") != (self.model.data is not None):
            raise ValueError("the supervised loss needs a model with a data set (data=...), and only it takes one.")
        if self.record_mu and self.loss == "supervised":
            raise ValueError("record_mu is defined for single-output losses: use loss='quadratic' or 'linear'.")
        if self.circuits > 1 and not self.model.is_random:
            raise ValueError(f"circuits={self.circuits} but the {self.model.ansatz!r} ansatz is not random: use circuits=1.")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        out["model"] = self.model.to_dict()
        return out


def _data_arrays(config: TrainConfig):
    """States, features and labels of the loss: one pseudo data point for single-output losses."""
    d = config.model.dataset
    if d is None:
        target = config.model.target if config.loss == "quadratic" else 0.0
        return None, None, jnp.asarray([target])
    states = None if d.states is None else jnp.asarray(d.states)
    features = None if d.features is None else jnp.asarray(d.features)
    return states, features, jnp.asarray(d.labels)


@functools.lru_cache(maxsize=None)
def compiled_steps(loss: str, shots: int | None = None, record_mu: bool = False):
    """The jitted training step of :func:`run`: advances all samples of one circuit by ``n`` steps (static).

    ``fn(circuit, observable, data, thetas, key, start, eta, sigma, n) -> (thetas, records)`` with
    ``data = (states, features, labels)``; the records of each step (eps, K, the loss and, with
    ``record_mu``, mu) are taken before its update. ``qntk bench`` times this same function.

    Only what changes the program's structure is static; the learning rate and the noise level are
    arguments, so sweeps over ``eta`` and ``sigma`` (and every circuit of a run) share one compilation.
    """
    linear = loss == "linear"

    def one_step(circuit, observable, data, theta, key, eta, sigma):
        states, features, labels = data
        grad = kernels.grad_fn(circuit, observable)
        values, jac = kernels.per_data(lambda s, f: grad(theta, s, f), states, features)
        eps = values - labels
        kmat = jac @ jac.T
        k_noise, k_theta = jax.random.split(key)
        if shots is not None:
            variance = kernels.variance_fn(circuit, observable)
            var = kernels.per_data(lambda s, f: variance(theta, s, f), states, features)
            k1, k2 = jax.random.split(k_noise)
            eps_hat = eps + jnp.sqrt(var / shots) * jax.random.normal(k1, eps.shape)
            jac_hat = jac + jnp.sqrt(2 * circuit.scale**2 * var[:, None] / shots) * jax.random.normal(k2, jac.shape)
        else:
            eps_hat, jac_hat = eps, jac
        update = jac_hat[0] if linear else jac_hat.T @ eps_hat
        new_theta = theta - eta * update + sigma * jax.random.normal(k_theta, theta.shape)
        loss = values[0] if linear else 0.5 * jnp.sum(eps**2)
        out = {"eps": eps, "K": kmat, "loss": loss}
        if record_mu:
            eps_fn = kernels.residual_fn(circuit, observable)
            out["mu"] = kernels.directional_second_derivative(eps_fn, theta, jac[0], states, features)
        return new_theta, out

    def chunk(circuit, observable, data, thetas, key, start, eta, sigma, n):
        def body(thetas, t):
            keys = jax.random.split(jax.random.fold_in(key, t), thetas.shape[0])
            return jax.vmap(lambda th, k: one_step(circuit, observable, data, th, k, eta, sigma))(thetas, keys)

        return jax.lax.scan(body, thetas, start + jnp.arange(n))

    return jax.jit(chunk, static_argnames=("n",))


def run(config: TrainConfig, progress: bool = True, checkpoint: str | Path | None = None):
    """Runs the ensemble; returns an ``xarray.Dataset`` (see the module docstring).

    Args:
        config: the run settings.
        progress: show a progress bar on stderr.
        checkpoint: a file to save the state to, at a chunk's end at most every :data:`CHECKPOINT_SECONDS` and
            when the run is interrupted (Ctrl-C); if it holds a checkpoint of the same config, the run resumes from
            it (``ds.attrs["resumed_from_step"]``). It is removed when the run ends.
    """
    import xarray as xr
    from rich.console import Console
    from rich.progress import Progress

    start = time.perf_counter()
    model = config.model
    seeds = circuit_seeds(config.seed, config.circuits)
    circuits = [model.circuit(seed=s) for s in seeds]  # built once: an RPA's Haar gates cost O(L d^3)
    n_params = circuits[0].n_params
    m = 1 if model.dataset is None else len(model.dataset)
    runs, snapshots = config.circuits * config.samples, len(range(0, config.steps, config.snapshot_every)) + 2
    # every step records eps, K, the loss (and mu) of every run; the snapshots hold the angles (and the
    # Dataset built at the end copies it all once more)
    check_memory(2 * 8 * runs * ((config.steps + 2) * (m + m * m + 2) + snapshots * n_params),
                 f"{config.steps} steps x {runs} runs ({n_params} parameters, {m} output(s))",
                 "use fewer steps, samples or circuits")
    # from the model alone, before any simulation (and so before any error in the theory costs a run)
    theory, theory_start = None, time.perf_counter()
    wanted = config.theory and config.loss == "quadratic" and model.evaluation == "layered"
    missing = unavailable(model) if wanted else None  # why a model too large for it has no theory columns
    if wanted and missing is None:
        status = ("theory: exact Haar averages and the late-time regime (the first time at this size takes up to a "
                  "minute, then they are cached on disk)")
        with Console(stderr=True).status(status) if progress else contextlib.nullcontext():
            theory = mean_residual(model, config.eta, np.arange(config.steps + 1))
    theory_s = time.perf_counter() - theory_start
    warnings = []
    if missing is not None:
        warnings.append(f"{missing}: the theory columns are left out")
    if theory is not None:
        warning = lazy.learning_rate_warning(config.eta, theory["K_mean"], "Haar mean K")
        if warning is not None:  # the theory columns would show a decay that cannot happen
            warnings.append(warning + "; the theory columns are left out")
            theory = None
    phase = _predicted_phase(config)
    observable = model.operator
    data = _data_arrays(config)
    chunk_fn = functools.partial(compiled_steps(config.loss, config.shots, config.record_mu), eta=config.eta, sigma=config.sigma)
    k_noise = jax.random.split(jax.random.key(config.seed))[1]
    state = _load_checkpoint(checkpoint, config)
    resumed_from = None if state is None else state["done"]
    if state is None:
        thetas = initial_thetas(config.seed, config.circuits, config.samples, n_params)
        state = {"done": 0, "thetas": thetas, "records": {}, "snapshots": [thetas.copy()], "snapshot_steps": [0]}
    bounds = list(range(0, config.steps, config.snapshot_every)) + [config.steps]
    saved = {"step": state["done"], "time": time.monotonic()}

    def checkpoint_now(force: bool = False) -> None:
        """Checkpoints at most every CHECKPOINT_SECONDS (and when interrupted), so that saving costs little."""
        if checkpoint is None or state["done"] == saved["step"]:
            return
        if force or time.monotonic() - saved["time"] >= CHECKPOINT_SECONDS:
            _save_checkpoint(checkpoint, config, state)
            saved.update(step=state["done"], time=time.monotonic())

    simulation_start = time.perf_counter()
    with Progress(transient=True, disable=not progress) as bar, compile_clock() as compile_s:
        task = bar.add_task("training", total=config.steps, completed=state["done"])
        try:
            _train_chunks(bounds, state, circuits, chunk_fn, observable, data, k_noise, checkpoint_now,
                          lambda hi: bar.update(task, completed=hi))
        except KeyboardInterrupt:
            checkpoint_now(force=True)
            raise
        # The quantities at the final angles: recorded before any update, so noise does not enter them.
        finals = [
            jax.tree.map(np.asarray, chunk_fn(circuit, observable, data, jnp.asarray(state["thetas"][i]),
                                              k_noise, config.steps, n=1)[1])
            for i, circuit in enumerate(circuits)
        ]
    simulation_s = time.perf_counter() - simulation_start
    records = {
        name: np.concatenate([state["records"][name], np.stack([f[name] for f in finals], axis=1)])
        for name in state["records"]
    }
    ds = _to_dataset(xr, config, records, state, seeds, theory)
    ds.attrs["warnings"] = json.dumps(warnings + _run_warnings(config, records))
    if resumed_from is not None:
        ds.attrs["resumed_from_step"] = resumed_from
    if config.theory and config.loss == "supervised":  # 003: the frozen QNTK at the run's own initialization
        frozen = diagnostics.frozen_residuals(records["K"][0].mean(axis=(0, 1)), records["eps"][0].mean(axis=(0, 1)),
                                              config.eta, config.steps)
        ds["eps_frozen"] = (("step", "data"), frozen)
        ds.eps_frozen.attrs["description"] = (
            "frozen-QNTK prediction of the mean training residuals, (1 - eta K̄)^t E[eps(0)] with the mean kernel "
            "matrix and residuals of the run's initialization (t = 0 only; qntk.theory.diagnostics)")
    if phase is not None:
        ds.attrs["phase"] = json.dumps(phase, sort_keys=True)
    checks_start = time.perf_counter()
    if config.loss == "supervised" and model.dataset.states is not None and model.evaluation == "layered":
        info, asymptotic = _unitarity(config, circuits, ds.theta.values)
        ds.attrs["unitarity"] = json.dumps(info, sort_keys=True)
        if asymptotic is not None:
            ds["loss_asymptotic"] = (("step", "circuit", "sample"), asymptotic)
            ds.loss_asymptotic.attrs["description"] = (
                "the loss of the asymptotic dynamics of M (You et al., ICML 2023, eq. (119); qntk.theory.convergence) "
                "from each run's own M(theta(0)), the p -> infinity limit of the periodic ansatz, at tau = "
                f"{info['tau_per_step']:.6g} per step")
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    ds.attrs["times"] = json.dumps({"theory_s": theory_s, "compile_s": compile_s[0],
                                    "simulation_s": simulation_s - compile_s[0],
                                    "checks_s": time.perf_counter() - checks_start, "wall_s": time.perf_counter() - start})
    return ds


def initial_thetas(seed: int, circuits: int, samples: int, n_params: int) -> np.ndarray:
    """The initial angles of a run with master ``seed``: ``(circuits, samples, n_params)``, uniform in
    ``[0, 2 pi)``, the same for every loss (so that other jobs can evaluate a run's initialization)."""
    k_init = jax.random.split(jax.random.key(seed))[0]
    return np.stack([np.asarray(jax.random.uniform(jax.random.fold_in(k_init, i), (samples, n_params), maxval=2 * np.pi))
                     for i in range(circuits)])


def _unitarity(config: TrainConfig, circuits, thetas: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """002's checks of a supervised run on input states: the largest deviation of the spectrum of
    ``M(theta(t))`` from that of the observable over the snapshots of every run (unitarity conserves it);
    with ``config.theory``, for a measurement of Pauli type with labels +-1 the rate ``c1`` of the sublinear
    bound (Thm 3.2), and where every trainable layer has one generator spectrum (the periodic ansatz) and ``d`` is at most
    ``2^ASYMPTOTIC_MAX_QUBITS`` the loss of the asymptotic dynamics from each run's ``M(theta(0))`` at every
    step (shape ``(steps + 1, circuit, sample)``, else None)."""
    model = config.model
    out: dict = {"spectrum_drift": None, "sublinear_c1": None}
    o = model.operator.matrix() if model.n_qubits <= convergence.DENSE_MAX_QUBITS else None
    if o is None:
        out["note"] = (f"M(theta) is a dense d x d matrix: spectrum_drift and the sublinear bound are computed up to "
                       f"{convergence.DENSE_MAX_QUBITS} qubits")
        return out, None

    def measurements(snapshot):
        return [[kernels.measurement_operator(circuit, model.operator, theta) for theta in runs]
                for circuit, runs in zip(circuits, snapshot)]

    first = measurements(thetas[0])  # kept: the asymptotic dynamics starts there; later ones are read once
    later = (x for snapshot in thetas[1:] for c in measurements(snapshot) for x in c)
    out["spectrum_drift"] = convergence.spectrum_drift(itertools.chain((x for c in first for x in c), later), o)
    asymptotic, data = None, model.dataset
    if not config.theory:
        return out, None
    try:
        out["tau_per_step"] = convergence.time_scale(circuits[0], config.eta)
    except ValueError:
        pass
    else:
        if model.n_qubits <= ASYMPTOTIC_MAX_QUBITS:
            tau = out["tau_per_step"] * np.arange(config.steps + 1)
            asymptotic = np.array([[convergence.asymptotic_dynamics(m0, data.states, data.labels, tau).loss
                                    for m0 in runs] for runs in first]).transpose(2, 0, 1)
    labels = data.labels
    if convergence.is_pauli_type(o) and np.all(np.abs(np.abs(labels) - 1.0) < 1e-12):
        out["sublinear_c1"] = convergence.sublinear_rate(circuits[0], config.eta, len(labels))
    else:
        out["note"] = ("the sublinear bound of You et al. (ICML 2023) Thm 3.2 needs a measurement with eigenvalues in "
                       "{-1, 0, +1} and labels +-1")
    return out, asymptotic


def _run_warnings(config: TrainConfig, records: dict) -> list[str]:
    """What the recorded run says went wrong: runs whose own initial kernel makes ``eta`` supercritical
    (``eta lambda_max(K(0)) >= 2``), non-finite values (with the first step), a mean loss that grew."""
    out = []
    if config.loss != "linear":
        top = np.linalg.eigvalsh(records["K"][0])[..., -1]  # (circuit, sample)
        above = float(np.mean(config.eta * top >= 2.0))
        if above > 0:
            out.append(f"eta = {config.eta:g} is at or above 2/lambda_max(K(0)) for {above:.0%} of the runs (their own "
                       f"initial kernels; median 2/lambda_max = {np.median(2.0 / top):.4g}): those runs do not "
                       "converge as the lazy theory assumes")
    bad = ~np.isfinite(records["eps"]).reshape(records["eps"].shape[0], -1).all(axis=1)
    if bad.any():
        out.append(f"non-finite residuals from step {int(np.argmax(bad))} on: the run diverged (lower eta); the "
                   "steps before it are kept")
    loss = records["loss"].mean(axis=(1, 2))
    if config.loss != "linear" and np.isfinite(loss[-1]) and loss[-1] > loss[0]:
        out.append(f"the mean loss grew from {loss[0]:.4g} to {loss[-1]:.4g} over the run: training did not converge "
                   "(eta too large, or noise above the signal)")
    return out


def _predicted_phase(config: TrainConfig) -> dict | None:
    """The late-time class of a supervised run on orthonormal input states, from the model alone
    (:func:`qntk.theory.several_data.predict_phase`); ``None`` where that theory does not apply (no
    theory asked, encoded features, more than ``MAX_DATA`` data, input states not orthonormal)."""
    data = config.model.dataset
    if not config.theory or config.loss != "supervised" or data.states is None or len(data) > several_data.MAX_DATA:
        return None
    try:
        p = several_data.predict_phase(config.model)
    except ValueError:  # the input states are not orthonormal
        return None
    return {"phase": p.phase, "types": list(p.types), "f_star": list(p.f_star), "R": list(p.R)}


def _train_chunks(bounds, state, circuits, chunk_fn, observable, data, k_noise, checkpoint_now, advance) -> None:
    """Runs the chunks of steps between ``bounds`` not yet in ``state``, updating it in place; ``checkpoint_now()``
    after each chunk (it decides whether to write), ``advance(step)`` for the progress bar."""
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi <= state["done"]:
            continue
        new_thetas, outs = [], []
        for i, circuit in enumerate(circuits):
            key = jax.random.fold_in(k_noise, i)
            th, out = chunk_fn(circuit, observable, data, jnp.asarray(state["thetas"][i]), key, lo, n=hi - lo)
            new_thetas.append(np.asarray(th))
            outs.append(jax.tree.map(np.asarray, out))
        for name in outs[0]:
            block = np.stack([o[name] for o in outs], axis=1)  # (steps, circuit, sample, ...)
            state["records"][name] = np.concatenate([state["records"][name], block]) if name in state["records"] else block
        state["thetas"] = np.stack(new_thetas)
        state["snapshots"].append(state["thetas"].copy())
        state["snapshot_steps"].append(hi)
        state["done"] = hi
        checkpoint_now()
        advance(hi)


def _to_dataset(xr, config: TrainConfig, records: dict, state: dict, seeds: list[int], theory: dict | None):
    dims = ("step", "circuit", "sample")
    variables = {
        "eps": (dims + ("data",), records["eps"]),
        "K": (dims + ("data", "data_b"), records["K"]),
        "loss": (dims, records["loss"]),
        "theta": (("snapshot", "circuit", "sample", "param"), np.stack(state["snapshots"])),
    }
    if "mu" in records:
        variables["mu"] = (dims, records["mu"])
    if theory is not None:
        variables["eps_theory"] = ("step", theory.pop("eps_ensemble"))
        variables["eps_eq10"] = ("step", theory.pop("eps_eq10"))
        variables["eps_lv"] = ("step", theory.pop("eps_lv"))
        variables["K_lv"] = ("step", theory.pop("K_lv"))
    ds = xr.Dataset(
        variables,
        coords={
            "step": np.arange(config.steps + 1),
            "snapshot_step": ("snapshot", np.asarray(state["snapshot_steps"])),
            "circuit_seed": ("circuit", np.asarray(seeds)),
        },
    )
    ds.attrs.update(
        config=json.dumps(config.to_dict(), sort_keys=True),
        seed=config.seed,
        versions=json.dumps(versions(), sort_keys=True),
        description="qntk gradient-descent run: eps(t), K(t), loss(t) and theta snapshots",
    )
    if theory is not None:
        ds.attrs["theory"] = json.dumps(theory, sort_keys=True)
        ds.eps_theory.attrs["description"] = "000 eq. (10) averaged over the Haar law of (eps(0), K), from the model alone"
        ds.eps_eq10.attrs["description"] = "000 eq. (10) at the exact Haar mean K, from the model alone"
        for name in ("eps_lv", "K_lv"):
            ds[name].attrs["description"] = ("004's Lotka-Volterra map on the late-time line of the predicted regime, "
                                             "from the model alone (qntk.theory.mean_residual)")
    return ds


def summarize(ds, n_rows: int = 6) -> dict:
    """A JSON-ready summary: ensemble means of eps (with its standard error), |eps|, K (trace over data)
    and the loss at a few steps, and where the run has it the theory beside them (``eps_theory``,
    ``eps_eq10``, ``eps_lv``, ``K_lv`` per row, the moments under ``theory``) with the late-time regime
    predicted from the model (``regime_predicted``) and measured on the ensemble-mean trajectory
    (``regime_measured``, :func:`qntk.theory.lv.measure_regime`; its numbers under ``regime_measurement``);
    for a supervised run on orthonormal input states the several-data class predicted from the model
    (``phase_predicted``, ``phase_prediction``) and measured on the run (``phase_measured``,
    ``phase_measurement``; :mod:`qntk.theory.several_data`); for a supervised run the ensemble-mean
    residual of each datum against its frozen-QNTK prediction (003), each as the rms over the data
    (``eps_rms``, ``eps_frozen_rms``); for a supervised run on input states 002's checks: ``spectrum_drift``
    (the largest deviation of the spectrum of ``M(theta(t))`` from the observable's over the snapshots) and,
    for a measurement of Pauli type, ``sublinear_bound`` (``c0, c1, holds, min_ratio``:
    :func:`qntk.theory.convergence.sublinear_bound` on every run's loss); with the asymptotic dynamics
    (the periodic ansatz) ``loss_asymptotic`` per row and ``asymptotic_distance``, the mean over runs of
    ``max_t |L(t) - L_asym(t)| / L(0)``."""
    steps = np.unique(np.linspace(0, ds.sizes["step"] - 1, n_rows).round().astype(int))
    eps = ds.eps.values
    k_trace = np.trace(ds.K.values, axis1=-2, axis2=-1)
    rows = [
        {
            "step": int(t),
            "eps_mean": float(eps[t].mean()),
            "eps_sem": float(eps[t].std(ddof=1) / np.sqrt(eps[t].size)) if eps[t].size > 1 else None,
            "abs_eps_mean": float(np.abs(eps[t]).mean()),
            "K_mean": float(k_trace[t].mean()),
            "loss_mean": float(ds.loss.values[t].mean()),
        }
        for t in steps
    ]
    theory = {}
    if "eps_frozen" in ds:  # per datum, the ensemble mean against its prediction; rms over the data
        for r in rows:
            r["eps_rms"] = _rms(eps[r["step"]].reshape(-1, eps.shape[-1]).mean(axis=0))
            r["eps_frozen_rms"] = _rms(ds.eps_frozen.values[r["step"]])
    if "eps_theory" in ds:
        for r in rows:
            r.update({name: float(ds[name][r["step"]]) for name in ("eps_theory", "eps_eq10", "eps_lv", "K_lv")})
        th = json.loads(ds.attrs["theory"])
        try:
            mu = ds.mu.values.mean(axis=(1, 2)) if "mu" in ds else None
            measured = dataclasses.asdict(measure_regime(ds.step.values, eps.mean(axis=(1, 2, 3)),
                                                         k_trace.mean(axis=(1, 2)), mu))
        except ValueError as err:  # a run too short to read a late-time window from
            measured = {"regime": None, "resolved": False, "note": str(err)}
        theory = {"theory": th, "regime_predicted": th["regime"], "regime_measured": measured["regime"],
                  "regime_measurement": measured}
    if "phase" in ds.attrs:  # several data (qntk.theory.several_data): class predicted and measured
        n_data = ds.sizes["data"]
        measured = several_data.measure_phase(ds.step.values, eps.reshape(eps.shape[0], -1, n_data),
                                              ds.K.values.reshape(eps.shape[0], -1, n_data, n_data))
        predicted = json.loads(ds.attrs["phase"])
        theory = {"phase_predicted": predicted["phase"], "phase_measured": measured.phase,
                  "phase_prediction": predicted, "phase_measurement": dataclasses.asdict(measured)}
    if "unitarity" in ds.attrs:  # 002: the spectrum of M(theta(t)) and the sublinear bound
        u = json.loads(ds.attrs["unitarity"])
        theory["spectrum_drift"] = u["spectrum_drift"]
        if u["sublinear_c1"] is not None:
            bound = convergence.sublinear_bound(ds.loss.values.reshape(ds.sizes["step"], -1), u["sublinear_c1"])
            theory["sublinear_bound"] = {k: v for k, v in bound.items() if k != "bound_mean"}
            for r in rows:
                r["loss_bound"] = bound["bound_mean"][r["step"]]
        if "note" in u:
            theory["unitarity_note"] = u["note"]
    if "loss_asymptotic" in ds:  # 002 eq. (119) from each run's M(theta(0))
        asym = ds.loss_asymptotic.values
        for r in rows:
            r["loss_asymptotic"] = float(asym[r["step"]].mean())
        loss = ds.loss.values
        theory["asymptotic_distance"] = float(np.mean(np.max(np.abs(loss - asym), axis=0) / loss[0]))
    return {
        "rows": rows,
        "final_loss_mean": rows[-1]["loss_mean"],
        "final_abs_eps_mean": rows[-1]["abs_eps_mean"],
        "n_samples": int(ds.sizes["circuit"] * ds.sizes["sample"]),
        "config": json.loads(ds.attrs["config"]),
        "seed": int(ds.attrs["seed"]),
        "versions": json.loads(ds.attrs["versions"]),
        "warnings": json.loads(ds.attrs.get("warnings", "[]")),
        **({"times": json.loads(ds.attrs["times"])} if "times" in ds.attrs else {}),
        **theory,
    }


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _config_key(config: TrainConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True)


#: Largest number of qubits for which a supervised run on input states carries the asymptotic dynamics of
#: 002 (one ODE of a dense d x d matrix per run).
ASYMPTOTIC_MAX_QUBITS = 7

#: Least seconds between two checkpoints of a run (saving costs a copy of every record so far).
CHECKPOINT_SECONDS = 30.0


def _save_checkpoint(path, config: TrainConfig, state: dict) -> None:
    import io

    buf = io.BytesIO()
    arrays = {f"rec_{k}": v for k, v in state["records"].items()}
    np.savez(
        buf,
        config=np.asarray(_config_key(config)),
        done=state["done"],
        thetas=state["thetas"],
        snapshots=np.stack(state["snapshots"]),
        snapshot_steps=np.asarray(state["snapshot_steps"]),
        **arrays,
    )
    write_atomic(path, buf.getvalue())


def _load_checkpoint(path, config: TrainConfig):
    """The state saved in ``path`` (a NumPy ``.npz`` archive, read without pickle), or ``None`` if there is none."""
    if path is None or not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            key = str(f["config"])
            state = {
                "done": int(f["done"]),
                "thetas": f["thetas"],
                "snapshots": list(f["snapshots"]),
                "snapshot_steps": [int(s) for s in f["snapshot_steps"]],
                "records": {k[4:]: f[k] for k in f.files if k.startswith("rec_")},
            }
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"checkpoint {str(path)!r} is corrupt or not a qntk checkpoint ({type(err).__name__}): remove it "
                         "to start the run again, or pass another --checkpoint path.") from None
    if key != _config_key(config):
        raise ValueError(f"checkpoint {str(path)!r} belongs to a different configuration: remove it or pass another path.")
    return state
