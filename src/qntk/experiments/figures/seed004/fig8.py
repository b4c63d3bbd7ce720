"""004 Fig. 8: total error eps(t) of a 2-qubit HEA on a noisy device (simulated: a depolarizing model of
IBM Kolkata with finite shots), XXZ J = 4, O_0 in {-10, -12, -14}.

What is computed: quadratic-loss gradient descent (004 eqs. (1)-(2)) of the hardware-efficient ansatz
(004 "Experimental results": per layer RY and RZ on each qubit, then a CNOT brick wall; ``n = 2``,
``D = 4`` layers, ``L = 16`` parameters, ``qntk`` ansatz ``hea`` with ``n_layers = D``) on the open XXZ
chain with ``J = 4`` (004 eq. (29); ``O_min = -12``, ``O_max = 6``), ``runs`` runs per target, initial
angles uniform in ``[0, 2 pi)`` and, as 004 says ("maintain consistency across all experiments"), by default
one initial angle vector shared by every run and target (``inits``), so that the runs differ in the device
noise only. The IBM Kolkata device is replaced by a simulated one (004 does not give its learning rate
or shot count; eta = 0.005 and 1000 shots here):

* noise: a global depolarizing channel of strength ``p`` after each of the ``D`` layers. It commutes with
  the unitaries, so the output is exactly ``f rho + (1 - f) I / d`` with ``f = (1 - p)^D``, and the device
  measures ``<O>_f = f <O> + (1 - f) tr(O) / d`` (``tr O = 0`` for XXZ) and, by the parameter-shift rule on
  the same noisy circuits, the gradient ``f grad <O>``;
* ``p`` from 004's device medians (:func:`layer_fidelity`): per layer ``n - 1`` CNOTs of average gate error
  ``r_cx = 9.546e-3`` (two-qubit depolarizing fidelity ``1 - 4 r_cx / 3``) and two SX gates per RY on each
  qubit (``r_sx = 2.374e-4``, fidelity ``1 - 2 r_sx``; RZ is virtual), and the readout error ``r_ro = 1.110e-2``
  as a symmetric bit flip, which multiplies a Pauli of weight ``w`` by ``(1 - 2 r_ro)^w``, folded into ``f``
  with the ``|coef|``-weighted mean weight of ``O``'s terms (10/7 for XXZ, J = 4). This gives ``f = 0.913``
  (``p = 0.0225`` per layer). T1, T2 and coherent errors are not modelled;
* shots: every measured value and parameter-shift derivative carries Gaussian noise of variance
  ``Var_f(O) / shots`` and ``2 s^2 Var_f(O) / shots`` (as :mod:`qntk.train`), with ``Var_f`` the exact
  variance of ``O`` in the noisy state at the current angles.

Theory (004 Theorem 1 on the noisy spectrum, :func:`qntk.theory.lv.predict_regime`): the device's ``<O>_f``
ranges over ``f [O_min, O_max] + (1 - f) tr(O) / d``, so the critical target moves from ``O_min = -12`` to
``f O_min = -10.96``: ``O_0 = -10`` stays frozen kernel, ``O_0 = -12`` (critical without noise) becomes frozen
error with ``R = f O_min - O_0 = 1.04``, ``O_0 = -14`` stays frozen error with ``R = 3.04``. Rows, per target:

* frozen error: the late measured error (mean over the last ``window`` of the steps of each run, mean
  over runs) against ``R`` (004 eq. (16) with the noisy ``O_min``), and the SD of the measured error in that
  window against the shot noise at the predicted late state, ``sqrt(Var_f(O) / shots)`` with
  ``Var_f = f O_min^2 + (1 - f) tr(O^2) / d - (f O_min)^2`` in the ground state (``tr O = 0``);
* frozen kernel: the late measured ``<O>_f`` against ``O_0`` (eps -> 0, 004 eq. (14)).

The noiseless prediction of each target is in its note. The figure plots the measured error, mean +- SD
over runs shaded as 004 does, the noisy model without shots (dashed, 004's "noisy theory model") and the
noiseless model (dotted).

Paper size (12 runs x 3 targets x 400 steps, each also without shots and without noise): 10 s on the 2 shared
cores at load 5, compilation included; QUICK about 5 s.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from .... import kernels
from ...._sim import engine
from ....models import Model
from ....models._spec import check_real
from ....theory import lv
from ..._table import Result, record, row, std_row
from .. import _plot
from .._checks import integer, non_negative, positive, sequence_of, validate

NAME = "004-fig8"
TITLE = ("004 Fig. 8: HEA n = 2, D = 4 (L = 16), XXZ J = 4 on a simulated noisy device (global depolarizing "
         "from IBM Kolkata's medians + shots, in place of the device)")


def _error_rate(name: str, value) -> float:
    """An error rate in [0, 1/2)."""
    value = non_negative(name, value)
    if not value < 0.5:
        raise ValueError(f"{name} must be an error rate in [0, 0.5), got {value!r}.")
    return value


def _targets(name: str, values) -> tuple[float, ...]:
    out = sequence_of(check_real)(name, values)
    if len(set(out)) < 2:
        raise ValueError(f"{name} must list at least two distinct targets O_0 (the transition lies between "
                         f"them), got {values!r}.")
    return out


def _fraction(name: str, value) -> float:
    value = positive(name, value)
    if value > 1:
        raise ValueError(f"{name} must be a fraction in (0, 1], got {value!r}.")
    return value


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 004 Fig. 8; the defaults are the figure's (004 gives n, D, J, the targets, 12 runs and the
    device's error rates; eta, steps and shots are chosen). Fields other than these are shared
    (:data:`~qntk.experiments.figures._checks.SHARED`; ``n_layers`` counts HEA layers ``D``).

    Attributes:
        J: XXZ anisotropy (004 eq. (29)).
        targets: the targets ``O_0``.
        runs: runs per target (004: 12 experiments).
        inits: distinct initial angle vectors, cycled over the runs (1: one shared by all, as 004).
        shots: measurements per expectation value and per parameter-shift term.
        cnot_error, sx_error, readout_error: the device's median error rates (004 "Experimental results").
        window: the late fraction of the steps averaged for the rows.
    """

    n_qubits: int = 2
    n_layers: int = 4
    J: float = 4.0
    targets: tuple[float, ...] = (-10.0, -12.0, -14.0)
    eta: float = 0.005
    steps: int = 400
    runs: int = 12
    inits: int = 1
    shots: int = 1000
    cnot_error: float = 9.546e-3
    sx_error: float = 2.374e-4
    readout_error: float = 1.110e-2
    window: float = 0.2
    seed: int = 0

    def __post_init__(self):
        validate(self, J=positive, targets=_targets, runs=integer(2), inits=integer(1), shots=integer(1),
                 cnot_error=_error_rate, sx_error=_error_rate, readout_error=_error_rate, window=_fraction)


QUICK = Config(targets=(-10.0, -14.0), steps=120, runs=4, eta=0.01)


def layer_fidelity(model: Model, cnot_error: float, sx_error: float, readout_error: float) -> tuple[float, float]:
    """``(f, p)``: the depolarizing fidelity ``f`` of the whole noisy HEA circuit and readout, and the strength
    ``p = 1 - f^(1/D)`` of the equivalent global depolarizing channel per layer (module docstring).

    ``f = [(1 - 4 r_cx / 3)^(n - 1) (1 - 2 r_sx)^(2 n)]^D (1 - 2 r_ro)^w`` with ``w`` the ``|coef|``-weighted
    mean Pauli weight of ``O`` (``n`` for an observable given as a matrix).

    Example:
        >>> f, p = layer_fidelity(Model("hea", 2, 4, "xxz:J=4"), 9.546e-3, 2.374e-4, 1.110e-2)
        >>> round(f, 4), round(p, 4)
        (0.9131, 0.0225)
    """
    n, D = model.n_qubits, model.n_layers
    per_layer = (1 - 4 * cnot_error / 3) ** (n - 1) * (1 - 2 * sx_error) ** (2 * n)
    obs = model.operator
    if hasattr(obs, "labels"):
        c = np.abs(np.asarray(obs.coefs))
        w = float(np.sum(c * [sum(a != "I" for a in lab) for lab in obs.labels]) / np.sum(c))
    else:
        w = float(n)
    f = per_layer**D * (1 - 2 * readout_error) ** w
    return float(f), float(1 - f ** (1 / D))


def _one_step(circuit, observable, theta, key, target, eta, f, shift, var_floor, inv_shots):
    """One gradient-descent step of one run on the noisy device; the records are taken before the update."""
    value, grad = kernels.grad_fn(circuit, observable)(theta)
    o_psi = observable.apply(engine.evolve(circuit, engine.layer_angles(circuit, theta)))
    v = f * value + shift  # <O>_f
    g = f * grad
    var = jnp.maximum(f * jnp.real(jnp.vdot(o_psi, o_psi)) + var_floor - v**2, 0.0)  # Var_f(O)
    k1, k2 = jax.random.split(key)
    eps = v - target
    eps_hat = eps + jnp.sqrt(var * inv_shots) * jax.random.normal(k1, ())
    g_hat = g + jnp.sqrt(2 * circuit.scale**2 * var * inv_shots) * jax.random.normal(k2, g.shape)
    return theta - eta * eps_hat * g_hat, {"eps_hat": eps_hat, "eps": eps, "O": value, "K_f": g @ g, "K": grad @ grad}


@functools.partial(jax.jit, static_argnames=("steps",))
def _trainer(circuit, observable, thetas, key, target, eta, f, shift, var_floor, inv_shots, steps):
    """Records ``(step, run)`` of ``steps`` steps of gradient descent on the noisy device for a batch of runs
    (``steps + 1`` records: the last is the final state). Only ``steps`` is static: the noise, the target
    and the shot count are arguments, so every run of a figure shares one compilation."""

    def body(thetas, t):
        keys = jax.random.split(jax.random.fold_in(key, t), thetas.shape[0])
        return jax.vmap(lambda th, k: _one_step(circuit, observable, th, k, target, eta, f, shift, var_floor,
                                                inv_shots))(thetas, keys)

    return jax.lax.scan(body, thetas, jnp.arange(steps + 1))[1]


def _train(model: Model, thetas: np.ndarray, seed: int, eta: float, steps: int, f: float, shots: int | None) -> dict:
    """Records ``(step, run)`` of gradient descent on the device of fidelity ``f`` (``shots=None``: exact)."""
    obs = model.operator
    d = obs.dim
    rec = _trainer(model.circuit(), obs, jnp.asarray(thetas), jax.random.key(seed), model.target, eta, f,
                   (1 - f) * obs.trace_power(1) / d, (1 - f) * obs.trace_power(2) / d,
                   0.0 if shots is None else 1.0 / shots, steps=steps)
    return {k: np.asarray(v) for k, v in rec.items()}


def run(config: Config, progress: bool = True) -> Result:
    """Trains every target on the noisy device, the noisy model and the noiseless model (module docstring)."""
    import xarray as xr

    start = time.perf_counter()
    base = Model("hea", config.n_qubits, config.n_layers, f"xxz:J={config.J:g}", target=config.targets[0])
    obs = base.operator
    d = obs.dim
    o_min, o_max = obs.spectrum_extremes()
    tr1, tr2 = obs.trace_power(1) / d, obs.trace_power(2) / d
    f, p = layer_fidelity(base, config.cnot_error, config.sx_error, config.readout_error)
    n_params = base.circuit().n_params
    rng = np.random.default_rng(config.seed)
    inits = rng.uniform(0.0, 2 * np.pi, size=(config.inits, n_params))
    thetas = inits[np.arange(config.runs) % config.inits]
    late = slice(config.steps + 1 - max(3, math.ceil(config.window * (config.steps + 1))), None)
    t = np.arange(config.steps + 1)
    rows, arrays, regimes = [], {k: [] for k in ("eps_hat", "eps", "K_f", "eps_model", "eps_noiseless")}, {}
    for i, target in enumerate(config.targets):
        m = dataclasses.replace(base, target=float(target))
        dev = _train(m, thetas, config.seed + 1 + i, config.eta, config.steps, f, config.shots)
        noisy = _train(m, thetas, 0, config.eta, config.steps, f, None)
        clean = _train(m, thetas, 0, config.eta, config.steps, 1.0, None)
        pred = lv.predict_regime(target, f * o_min + (1 - f) * tr1, f * o_max + (1 - f) * tr1)
        pred0 = lv.predict_regime(target, o_min, o_max)
        # the regime of the exact device values (the shot-free noisy model): with shots the late window is at
        # the shot-noise floor, where no decay law is visible
        meas = lv.measure_regime(t, noisy["eps"].mean(axis=1), noisy["K_f"].mean(axis=1), window=0.5)
        regimes[f"{target:g}"] = {"predicted_noisy": pred.regime, "predicted_noiseless": pred0.regime,
                                  "measured": meas.regime, "R_noisy": pred.R, "R_noiseless": pred0.R}
        where = (f"predicted {pred.regime} with noise (f = {f:.4g}: critical target f O_min = {f * o_min:.4g}), "
                 f"{pred0.regime} without (O_min = {o_min:g}); measured {meas.regime} (noisy model without shots)")
        per_run = dev["eps_hat"][late].mean(axis=0)
        if pred.regime == "frozen-error":
            rows.append(row(f"late measured error, O_0 = {target:g}", pred.R, per_run.mean(),
                            per_run.std(ddof=1) / math.sqrt(per_run.size),
                            f"004 eq. (16) with the noisy spectrum: R = f O_min - O_0 (noiseless R = {pred0.R:g}); "
                            f"{where}"))
            var_gs = f * o_min**2 + (1 - f) * tr2 - (f * o_min + (1 - f) * tr1) ** 2
            window_vals = dev["eps_hat"][late].ravel()
            rows.append(std_row(f"SD of the measured error (shots), O_0 = {target:g}",
                                np.full(window_vals.size, var_gs / config.shots), window_vals - pred.R,
                                f"shot noise sqrt(Var_f(O) / shots) in the noisy ground state, {config.shots} shots; "
                                "late-window values of every run pooled"))
        else:
            o_late = per_run + target
            rows.append(row(f"late measured <O>_f, O_0 = {target:g}", target, o_late.mean(),
                            o_late.std(ddof=1) / math.sqrt(o_late.size),
                            f"004 eq. (14): the target is reached (eps -> 0); {where}"))
        arrays["eps_hat"].append(dev["eps_hat"])
        arrays["eps"].append(dev["eps"])
        arrays["K_f"].append(dev["K_f"])
        arrays["eps_model"].append(noisy["eps"].mean(axis=1))  # the runs' mean (one run when inits = 1)
        arrays["eps_noiseless"].append(clean["eps"].mean(axis=1))

    data = xr.Dataset(
        {
            **{k: (("target", "step", "run"), np.stack(arrays[k])) for k in ("eps_hat", "eps", "K_f")},
            "eps_model": (("target", "step"), np.stack(arrays["eps_model"])),
            "eps_noiseless": (("target", "step"), np.stack(arrays["eps_noiseless"])),
            "theory_R_noisy": ("target", np.array([regimes[f"{x:g}"]["R_noisy"] for x in config.targets])),
            "fidelity": ((), f),
        },
        coords={"target": np.asarray(config.targets, float), "step": t},
    )
    note = (f"004 'Experimental results': hea n = {config.n_qubits}, D = {config.n_layers} (L = {n_params}), "
            f"O = xxz:J={config.J:g} (O_min = {o_min:g}); simulated device: global depolarizing p = {p:.4g} per "
            f"layer (f = {f:.4g}) from the IBM Kolkata medians, {config.shots} shots; eta = {config.eta:g}, "
            f"{config.runs} runs, {config.inits} initial angle vector(s)")
    return Result(NAME, data, rows, record(NAME, TITLE, config, base, note, start, fidelity=f, p_layer=p,
                                           O_min=o_min, O_max=o_max, regimes=regimes))


def plot(result: Result):
    """Measured error per target: mean +- SD over runs (shaded), the noisy model (dashed), noiseless (dotted)."""
    d = result.data
    fig, ax = _plot.axes(width=6.4)
    step = d.step.values
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange"]
    for i, target in enumerate(d.target.values):
        c = colors[i % len(colors)]
        e = d.eps_hat.values[i]
        mean, sd = e.mean(axis=1), e.std(axis=1, ddof=1)
        ax.plot(step, mean, color=c, lw=1.5, label=f"O_0 = {target:g}, device mean +- SD")
        ax.fill_between(step, mean - sd, mean + sd, color=c, alpha=0.25, lw=0)
        ax.plot(step, d.eps_model.values[i], color=c, ls="--", lw=1)
        ax.plot(step, d.eps_noiseless.values[i], color=c, ls=":", lw=1)
        if float(d.theory_R_noisy[i]) != 0:
            ax.axhline(float(d.theory_R_noisy[i]), color=c, lw=0.6, alpha=0.6)
    ax.axhline(0.0, color="k", lw=0.5)
    ax.plot([], [], "k--", lw=1, label="noisy model, no shots")
    ax.plot([], [], "k:", lw=1, label="noiseless model")
    c = result.config
    _plot.decorate(ax, "step $t$", r"total error $\varepsilon(t)$", f"{_plot.title(NAME)}: hea n=2, D=4, XXZ J=4, f = {c['fidelity']:.3f} "
                   f"(critical target f O_min = {c['fidelity'] * c['O_min']:.3g})", title_size=9, legend_size=7)
    return fig
