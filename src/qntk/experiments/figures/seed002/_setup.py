"""The model, training runs and asymptotic dynamics shared by the reproductions of 002 Figs. 1-6.

002 App. D.1: the periodic ansatz of Def. 2.1 (i.i.d. Haar ``U_l``) with the diagonal generator ``H`` of
App. D.1 (``tr(H^2) / (d^2 - 1) = 1``), ``m`` orthogonal pure states labelled +1 and -1 (half each), the
measurement ``gamma Z_1`` (a Pauli measurement scaled by ``gamma``, Cor. 4.3), and plain gradient descent at
002's learning rate ``lr / p`` on ``L = (1/2m) sum_j r_j^2``. ``qntk train`` minimizes ``sum_j r_j^2 / 2``, so
its ``eta`` is ``lr / (p m)``; every loss shown is 002's. Each initialization has its own Haar ``U_l`` and
angles (the "random initialization" of the periodic ansatz in 002 Thm 4.2). The asymptotic dynamics of
002 eq. (119) starts from each run's own ``M(theta(0))`` and is read at ``tau = time_scale * step``
(:func:`qntk.theory.convergence.time_scale`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np

from .... import kernels, train
from ....models import Model, states
from ....theory import convergence
from ..._table import Z, bound_row
from .. import _plot
from .._checks import integer, integers, positive, validate


def model(n_qubits: int, n_params: int, gamma: float, m: int, data_seed: int) -> Model:
    """Periodic ansatz with ``p = n_params`` layers, measurement ``gamma Z_1``, ``m`` orthogonal states."""
    return Model("periodic", n_qubits, n_params, f"pauli:label=Z{'I' * (n_qubits - 1)},gamma={gamma:g}",
                 data=f"orthogonal:m={m},seed={data_seed}")


def note(n_qubits: tuple[int, ...] | int, gamma, m: int, lr: float) -> str:
    """The one-line statement of the setup for tables."""
    return (f"002 App. D.1: periodic ansatz (Haar U_l, diagonal H with tr(H^2)/(d^2 - 1) = 1), n = {n_qubits}, "
            f"measurement gamma Z_1 with gamma = {gamma}, m = {m} orthogonal pure states labelled +-1, "
            f"gradient descent at 002's learning rate {lr:g}/p on L = (1/2m) sum r^2")


@dataclass
class Runs:
    """Finite-``p`` training runs of one setting (``runs`` initializations, each with its own circuit)."""

    model: Model
    loss: np.ndarray  # (steps + 1, runs), 002's L = (1/2m) sum r^2
    residuals: np.ndarray  # (steps + 1, runs, m), r = yhat - y
    kernel: np.ndarray  # (steps + 1, runs, m, m), qntk's K
    tau_per_step: float  # asymptotic time per step
    eta: float  # qntk's learning rate
    measurements: list  # M(theta) at every snapshot: [snapshot][run]
    snapshot_steps: np.ndarray
    spectrum_drift: float
    c1: float | None  # 002 Thm 3.2 rate in qntk's normalization (None: not of Pauli type)


def train_runs(n_qubits: int, n_params: int, gamma: float, m: int, lr: float, steps: int, runs: int, seed: int,
               progress: bool, snapshot_every: int | None = None) -> Runs:
    """``runs`` gradient-descent runs of ``steps`` steps (:func:`qntk.train.run`, one circuit per run), with
    ``M(theta)`` at the snapshots (every ``snapshot_every`` steps; only the ends by default)."""
    mdl = model(n_qubits, n_params, gamma, m, seed)
    eta = lr / (n_params * m)
    cfg = train.TrainConfig(mdl, eta=eta, steps=steps, samples=1, circuits=runs, seed=seed, loss="supervised",
                            snapshot_every=snapshot_every or steps, theory=False)
    ds = train.run(cfg, progress=progress)
    circuits = [mdl.circuit(seed=int(s)) for s in ds.circuit_seed.values]
    thetas = ds.theta.values[:, :, 0]  # (snapshot, run, p)
    measurements = [[kernels.measurement_operator(c, mdl.operator, th) for c, th in zip(circuits, snap)]
                    for snap in thetas]
    return Runs(model=mdl, loss=ds.loss.values[:, :, 0] / m, residuals=ds.eps.values[:, :, 0],
                kernel=ds.K.values[:, :, 0], tau_per_step=convergence.time_scale(circuits[0], eta), eta=eta,
                measurements=measurements, snapshot_steps=ds.snapshot_step.values,
                spectrum_drift=json.loads(ds.attrs["unitarity"])["spectrum_drift"],
                c1=convergence.sublinear_rate(circuits[0], eta, m)
                if convergence.is_pauli_type(mdl.operator.matrix()) else None)


def asymptotic(runs: Runs, steps: np.ndarray) -> list[convergence.Asymptotic]:
    """The asymptotic dynamics (002 eq. (119)) from each run's ``M(theta(0))``, at the given ``steps``."""
    data = runs.model.dataset
    tau = runs.tau_per_step * np.asarray(steps, dtype=float)
    return [convergence.asymptotic_dynamics(m0, data.states, data.labels, tau) for m0 in runs.measurements[0]]


def asymptotic_run(n_qubits: int, gamma: float, m: int, tau: np.ndarray, seed: int) -> convergence.Asymptotic:
    """One run of the asymptotic dynamics alone (002 Figs. 3, 5): ``m`` orthogonal states labelled +-1 and ``M(0)``
    of eq. (120), both from ``seed``, read at the times ``tau`` (tolerances rtol = 1e-8, atol = 1e-10)."""
    data = states.orthogonal_classification(n_qubits, m, seed=seed)
    m0 = convergence.initial_measurement(n_qubits, gamma, seed=seed)
    return convergence.asymptotic_dynamics(m0, data.states, data.labels, tau, rtol=1e-8, atol=1e-10)


def grid(steps: int, points: int) -> np.ndarray:
    """About ``points`` steps from 0 to ``steps``, evenly spaced, both ends included."""
    return np.unique(np.linspace(0, steps, points + 1).round().astype(int))


def distance(runs: Runs, sols: list[convergence.Asymptotic], steps: np.ndarray) -> np.ndarray:
    """Per run, the largest ``|L_p(t) - L_asym(t)| / L_p(0)`` over ``steps``: how far finite-``p`` training is
    from the asymptotic dynamics started at the same ``M(0)``."""
    m = runs.residuals.shape[-1]
    return np.array([np.max(np.abs(runs.loss[steps, i] - sol.loss / m)) / runs.loss[0, i]
                     for i, sol in enumerate(sols)])


def power_fit(x, y_runs: np.ndarray, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """Exponent ``b`` of ``mean_runs(y) ~ x^b`` (least squares in log-log) and its bootstrap standard error
    over the runs (``y_runs``: shape ``(len(x), runs)``, the runs resampled together)."""
    lx, y = np.log(np.asarray(x, float)), np.asarray(y_runs, float)
    rng = np.random.default_rng(seed)
    slope = np.polyfit(lx, np.log(y.mean(axis=1)), 1)[0]
    boot = [np.polyfit(lx, np.log(y[:, rng.integers(0, y.shape[1], y.shape[1])].mean(axis=1)), 1)[0]
            for _ in range(n_boot)]
    return float(slope), float(np.std(boot, ddof=1))


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Settings of a sweep over d and p (002 Figs. 1 and 4; their defaults are Fig. 1's, the paper's).

    Attributes:
        qubits: ``n`` of each panel (``d = 2^n``).
        params: the numbers of parameters ``p`` (layers of the periodic ansatz).
        m: training states.
        gamma: scaling of the Pauli measurement.
        lr: 002's learning rate times ``p`` (its ``eta = lr / p`` on ``(1/2m) sum r^2``).
        steps: gradient-descent steps.
        runs: initializations (each with its own Haar ``U_l``) per point.
        points: steps on which the asymptotic dynamics is compared.
        seed: master seed of data, circuits and angles.
    """

    qubits: tuple[int, ...] = (5, 6)
    params: tuple[int, ...] = (10, 20, 40, 80)
    m: int = 4
    gamma: float = 1.0
    lr: float = 1e-3
    steps: int = 10000
    runs: int = 10
    points: int = 100
    seed: int = 0

    def __post_init__(self):
        validate(self, qubits=integers(2), params=integers(1), m=integer(2), gamma=positive, lr=positive,
                 runs=integer(2), points=integer(2))


@dataclass
class Sweep:
    """Finite-``p`` runs over qubit numbers and parameter counts, with the asymptotic dynamics beside them."""

    runs: dict  # (n_qubits, p) -> Runs
    asym: dict  # (n_qubits, p) -> list of Asymptotic, on ``steps``
    distance: dict  # (n_qubits, p) -> per-run distance (:func:`distance`)
    steps: np.ndarray  # the comparison grid


def sweep(config, progress: bool) -> Sweep:
    """The runs of 002 Figs. 1 and 4: for every ``n`` in ``config.qubits`` and ``p`` in ``config.params``,
    ``config.runs`` runs at ``config.gamma`` and ``config.lr`` on ``config.m`` states (the same data seed for
    every ``p``), and the asymptotic dynamics from each run's ``M(0)`` on ``config.points`` steps."""
    steps = grid(config.steps, config.points)
    out = Sweep({}, {}, {}, steps)
    for n in config.qubits:
        for p in config.params:
            r = train_runs(n, p, config.gamma, config.m, config.lr, config.steps, config.runs, config.seed, progress)
            out.runs[n, p], out.asym[n, p] = r, asymptotic(r, steps)
            out.distance[n, p] = distance(r, out.asym[n, p], steps)
    return out


def sweep_rows(config: SweepConfig, sw: Sweep) -> list[dict]:
    """Per d: the largest deviation of the spectrum of ``M(theta(t))`` over every run and p (unitarity), and
    the distance to the asymptotic dynamics fitted by ``p^b``: the row holds when ``b + Z sem < 0`` (the distance
    shrinks by ``2^b`` when p doubles; 002 Thm 4.2)."""
    rows = []
    for n in config.qubits:
        drift = max(sw.runs[n, p].spectrum_drift for p in config.params)
        rows.append(bound_row(f"d = {2**n}: largest deviation of the spectrum of M(theta(t)) from M_0's", 1e-10, drift,
                              "unitarity (Sec. 3): tr(M^k) is conserved", lower=False))
        if len(config.params) > 1:
            dist = np.array([sw.distance[n, p] for p in config.params])
            b, sem = power_fit(config.params, dist)
            rows.append(bound_row(f"d = {2**n}: factor on the distance to the asymptotic dynamics when p doubles, "
                                  f"2^(b + {Z:g} sem) for a fitted p^b", 1.0, 2.0 ** (b + Z * sem),
                                  f"b = {b:.3g} +- {sem:.2g} (bootstrap over runs); distances "
                                  + ", ".join(f"{x:.3g}" for x in dist.mean(axis=1))
                                  + " for p = " + ", ".join(map(str, config.params)) + "; Thm 4.2: it vanishes as p grows",
                                  lower=False))
    return rows


def sweep_data(config: SweepConfig, sw: Sweep, *, per_run: dict | None = None, per_step: dict | None = None,
               per_point: dict | None = None):
    """The sweep's Dataset over ``(n_qubits, p)``: losses, asymptotic losses, distances and spectrum drifts, and
    the figure's own variables, each a dict ``(n, p) -> value``: one value per run (``per_run``), per step
    (``per_step``) or one (``per_point``)."""
    import xarray as xr

    q, ps = list(config.qubits), list(config.params)

    def grid_of(values: dict):
        return [[values[n, p] for p in ps] for n in q]

    variables = {
        "loss": (("n_qubits", "p", "step", "run"), grid_of({k: r.loss for k, r in sw.runs.items()})),
        "loss_asymptotic": (("n_qubits", "p", "step_asym", "run"),
                            grid_of({k: np.stack([s.loss / config.m for s in a], axis=1) for k, a in sw.asym.items()})),
        "distance": (("n_qubits", "p", "run"), grid_of(sw.distance)),
        "spectrum_drift": (("n_qubits", "p"), grid_of({k: r.spectrum_drift for k, r in sw.runs.items()})),
    }
    for extra, dims in ((per_run, ("run",)), (per_step, ("step",)), (per_point, ())):
        variables.update({name: (("n_qubits", "p") + dims, grid_of(values)) for name, values in (extra or {}).items()})
    return xr.Dataset(variables, coords={"n_qubits": q, "p": ps, "step": np.arange(config.steps + 1),
                                         "step_asym": sw.steps})


def plot_sweep(result, name: str, log_bound: bool):
    """Figs. 1 and 4: per d, the mean loss per p (band: half an SD, as 002's error bars), the asymptotic
    dynamics from the same M(0) (dashed) and, with ``log_bound``, Thm 3.2's bound of the mean loss (dotted);
    the last panel is the distance to the asymptotic dynamics against p, log-log, with Z-sem bars."""
    from matplotlib.figure import Figure

    d, c = result.data, result.config["config"]
    qubits, params = d.n_qubits.values, d.p.values
    fig = Figure(figsize=(4.2 * (len(qubits) + 1), 4.2), layout="constrained")
    axes = fig.subplots(1, len(qubits) + 1)
    colors = [f"C{i}" for i in range(len(params))]
    for ax, n in zip(axes, qubits):
        for color, p in zip(colors, params):
            loss = d.loss.sel(n_qubits=n, p=p).values
            mean, half_sd = loss.mean(axis=1), loss.std(axis=1, ddof=1) / 2
            ax.plot(d.step, mean, color=color, lw=1.5, label=f"p = {p}")
            ax.fill_between(d.step, np.maximum(mean - half_sd, mean * 1e-3), mean + half_sd, color=color, alpha=0.2, lw=0)
            ax.plot(d.step_asym, d.loss_asymptotic.sel(n_qubits=n, p=p).mean(axis=-1), "--", color=color, lw=1)
            if log_bound:
                ax.plot(d.step, d.bound_of_mean.sel(n_qubits=n, p=p), ":", color=color, lw=1)
        ax.plot([], [], "k--", lw=1, label="asymptotic dynamics, eq. (119)")
        if log_bound:
            ax.plot([], [], "k:", lw=1, label="bound of Thm 3.2")
        _plot.decorate(ax, "step $t$", r"loss $L = \frac{1}{2m}\sum_j r_j^2$", f"d = {2**int(n)}", log="y")
    last = axes[-1]
    for i, n in enumerate(qubits):
        dist = d.distance.sel(n_qubits=n).values
        _plot.errorbar(last, params, dist.mean(axis=1), dist.std(axis=1, ddof=1) / np.sqrt(dist.shape[1]),
                       f"d = {2**int(n)}", fmt="o-", color=f"C{i}")
    _plot.decorate(last, "parameters $p$", r"$\max_t |L_p(t) - L_{asym}(t)| / L(0)$", "distance to eq. (119)", log=True)
    last.set_xticks(params, [str(p) for p in params], minor=False)
    last.set_xticks([], minor=True)
    fig.suptitle(f"{_plot.title(name)}: gamma = {c['gamma']:g}, m = {c['m']}, lr = {c['lr']:g}/p, "
                 f"{c['runs']} initializations", fontsize=10)
    return fig
