"""004 Fig. 6: the dynamical transition in a limited-depth QNN (RPA with D = L = n = 6, open XXZ chain, J = 2).

What is computed: quadratic-loss gradient descent (004 eqs. (1)-(2)) of the random Pauli ansatz (004 eqs.
(26)-(27), ``D = L = n``) on the open XXZ chain (004 eq. (29)) for targets ``O_0`` around the reachable
minimum ``O_min(L)`` of the shallow circuit, recording eps(t) and K(t) of every run (thin lines) and
their ensemble mean (thick), as in 004 Fig. 2. At ``L = n`` the circuit cannot reach the ground state
(``O_min = -22`` at ``n = 6``), and its reachable minimum differs between circuits and initializations
(004: "The critical point O_min(L) for such QNNs depends on L and has sample fluctuations").

Theory (from the model alone, :mod:`qntk.theory.limited_depth`): ``O_min(L)`` is estimated by minimizing
``<O>`` (gradient descent into each start's basin, then L-BFGS) from ``estimate_circuits x estimate_inits``
random starts on circuits and angles independent of the training runs; a run towards ``O_0`` then ends at ``max(O_min(L), O_0)`` of its own
start (frozen error, 004 eq. (16), with ``R = O_min(L) - O_0``, or frozen kernel / critical, 004 eqs.
(14)-(15)). Rows, per target:

* ``late <O>``: the mean of that prediction over the independent starts against the runs' final ``<O>``
  (for the target below the spread this is ``O_min(L)`` itself: the frozen error converges to it); ``sem``
  combines the standard errors of both means, each over its random circuits (per-circuit means);
* ``fraction of runs ...``: the predicted fraction of starts in the majority branch (frozen error when
  ``O_min(L) > O_0`` for most starts, else reaching ``O_0``) against the fraction of runs whose own
  late-time trajectory :func:`qntk.theory.lv.measure_regime` classifies so (frozen error vs. frozen
  kernel or critical); binomial standard errors (rule of succession, so never 0) of both fractions;
* for a target below the whole spread, ``SD of O_min(L)``: the spread of the independent minima against
  the SD of the runs' final ``<O>`` (delta-method standard errors of both SDs).

Each target's predicted regime (:meth:`~qntk.theory.limited_depth.ReachableMinimum.regime`: below the
central 95 % of the minima frozen error, above it frozen kernel, within it "critical within the spread")
is in the notes, with the measured one (the majority of the runs' regimes; "critical" when neither
branch holds 95 % of the runs).

004 does not state its targets, learning rate or ensemble size for Fig. 6: the defaults are three targets
on either side and in the middle of the measured spread of ``O_min(L)`` (about ``-3.6 +- 0.65``), eta = 0.01
(``eta K(0) ~ 0.03``), 2000 steps (frozen-kernel errors below 1e-2; frozen-error K below 1e-6), 16
circuits x 8 initializations per target. Paper size: half of it (8 circuits) took 9.5 minutes on the
2 shared cores at load 8 (the process got under half a core); the paper size extrapolates to about 15-19
minutes there, about 8 minutes on 2 free cores. QUICK (n = L = 3): about 13 s at load 5, mostly compiling.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ....models._spec import check_real
from ....theory import limited_depth, lv
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, positive, sequence_of, validate
from . import _setup

NAME = "004-fig6"
TITLE = "004 Fig. 6: limited-depth RPA (D = L = n = 6), XXZ J = 2: transition at the reachable O_min(L)"


def _targets(name: str, values) -> tuple[float, ...]:
    """At least two distinct real targets (the figure is the transition between them)."""
    out = sequence_of(check_real)(name, values)
    if len(set(out)) < 2:
        raise ValueError(f"{name} must list at least two distinct targets O_0 (the transition lies between "
                         f"them), got {values!r}.")
    return out


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 004 Fig. 6; the defaults are the figure's size (004 gives n, L and J; the rest is chosen,
    see the module docstring). Fields other than these are shared
    (:data:`~qntk.experiments.figures._checks.SHARED`).

    Attributes:
        J: XXZ anisotropy (004 eq. (29)).
        targets: the targets ``O_0``.
        circuits: random circuits per target (the same circuits for every target).
        samples: initializations per circuit.
        estimate_circuits, estimate_inits: random circuits and starts per circuit of the independent
            estimate of ``O_min(L)`` (:func:`qntk.theory.limited_depth.reachable_minimum`).
    """

    n_qubits: int = 6
    n_layers: int = 6
    J: float = 2.0
    targets: tuple[float, ...] = (-2.0, -3.5, -8.0)
    eta: float = 0.01
    steps: int = 2000
    circuits: int = 16
    samples: int = 8
    estimate_circuits: int = 32
    estimate_inits: int = 8
    seed: int = 0

    def __post_init__(self):
        validate(self, J=positive, targets=_targets, circuits=integer(2), samples=integer(1),
                 estimate_circuits=integer(2), estimate_inits=integer(1))


QUICK = Config(n_qubits=3, n_layers=3, targets=(-1.0, -20.0), eta=0.02, steps=150, circuits=3, samples=2,
               estimate_circuits=4, estimate_inits=3)

#: Relative size (to its initial value) below which ``|eps|`` or ``K`` of a run counts as decayed to the
#: float64 floor.
FLOOR = 1e-12

#: A target's measured regime is a branch when at least this fraction of its runs is in it, else "critical".
MAJORITY = 0.95


def _laplace_sem(k: int, n: int) -> float:
    """Standard error of a binomial fraction ``k / n`` with the rule of succession ``(k + 1) / (n + 2)``."""
    p = (k + 1) / (n + 2)
    return math.sqrt(p * (1 - p) / n)


def _cluster_sem(x: np.ndarray) -> float:
    """Standard error of the mean of ``x`` (circuit, sample) from the per-circuit means."""
    g = x.mean(axis=1)
    return float(g.std(ddof=1) / math.sqrt(g.size))


def _sd_sem(x: np.ndarray) -> float:
    """Delta-method standard error of the sample SD of ``x`` (no normality assumed)."""
    x = np.ravel(x)
    s = x.std(ddof=1)
    return float(np.std((x - x.mean()) ** 2, ddof=1) / (2 * s * math.sqrt(x.size)))


def _measure(t: np.ndarray, eps: np.ndarray, K: np.ndarray) -> str:
    """The regime of one run (:func:`qntk.theory.lv.measure_regime`, late half), read before it reaches the
    float64 floor: steps after ``|eps|`` or ``K`` first falls below :data:`FLOOR` times its initial value
    are dropped (there both are rounding noise and nothing decays)."""
    spent = (np.abs(eps) < FLOOR * abs(eps[0])) | (K < FLOOR * K[0])
    end = int(np.argmax(spent)) if spent.any() else t.size
    end = max(end, 6)
    return lv.measure_regime(t[:end], eps[:end], K[:end]).regime


def run(config: Config, progress: bool = True) -> Result:
    """Estimates ``O_min(L)`` from independent starts, trains every target and compares (module docstring)."""
    import xarray as xr

    start = time.perf_counter()
    base = _setup.model(config.n_qubits, config.n_layers, config.targets[0], J=config.J)
    est = limited_depth.reachable_minimum(base, circuits=config.estimate_circuits, inits=config.estimate_inits,
                                          seed=config.seed)
    n_runs = config.circuits * config.samples
    eps, K, late, measured, rows, predicted = [], [], [], [], [], []
    for target in config.targets:
        m = _setup.model(config.n_qubits, config.n_layers, target, J=config.J)
        ds = _setup.run(m, config.eta, config.steps, config.samples, config.seed, progress, circuits=config.circuits)
        e = ds.eps.values[..., 0]  # (step, circuit, sample)
        k = ds.K.values[..., 0, 0]
        o_late = e[-1] + target  # (circuit, sample)
        t = ds.step.values
        regimes = [_measure(t, e[:, c, s], k[:, c, s]) for c in range(config.circuits) for s in range(config.samples)]
        n_frozen = sum(r == "frozen-error" for r in regimes)
        th = est.regime(target)
        predicted.append(th)
        f_meas = n_frozen / n_runs
        meas = ("frozen-error" if f_meas >= MAJORITY else "frozen-kernel" if f_meas <= 1 - MAJORITY
                else "critical")
        measured.append({"target": target, "regime": meas, "fraction_frozen": f_meas,
                         "regimes": {r: regimes.count(r) for r in lv.REGIMES}})
        where = (f"predicted {th.regime} (O_0 vs the central 95% [{th.band[0]:.3g}, {th.band[1]:.3g}] of "
                 f"O_min(L)), measured {meas}")
        late_th = est.late_value(target)
        rows.append(row(f"late <O>, O_0 = {target:g}", th.late_mean, o_late.mean(),
                        math.hypot(_cluster_sem(o_late), est.sem(late_th)),
                        f"theory: max(O_min(L), O_0) over {est.values.size} independent minimized starts (004 eqs. "
                        f"(14)-(16)); {where}; sem of both means"))
        majority_frozen = th.fraction_frozen >= 0.5
        p_th = th.fraction_frozen if majority_frozen else 1 - th.fraction_frozen
        k_sim = n_frozen if majority_frozen else n_runs - n_frozen
        k_th = round(p_th * est.values.size)
        label = "frozen error" if majority_frozen else "reaching O_0 (frozen kernel or critical)"
        rows.append(row(f"fraction of runs {label}, O_0 = {target:g}", p_th, k_sim / n_runs,
                        math.hypot(_laplace_sem(k_sim, n_runs), _laplace_sem(k_th, est.values.size)),
                        f"theory: fraction of independent starts with O_min(L) {'>' if majority_frozen else '<='} "
                        f"O_0; simulation: per-run lv.measure_regime; binomial sem"))
        if th.regime == "frozen-error":
            rows.append(row(f"SD of O_min(L) (late <O>, O_0 = {target:g})", est.sd, o_late.std(ddof=1),
                            math.hypot(_sd_sem(o_late), _sd_sem(est.values)),
                            "spread over circuits and initializations; theory from the independent starts, "
                            "delta-method sem of both SDs"))
        eps.append(e.reshape(e.shape[0], n_runs))
        K.append(k.reshape(k.shape[0], n_runs))
        late.append(o_late.ravel())

    targets = np.asarray(config.targets, float)
    data = xr.Dataset(
        {
            "eps": (("target", "step", "run"), np.stack(eps)),
            "K": (("target", "step", "run"), np.stack(K)),
            "late_O": (("target", "run"), np.stack(late)),
            "o_min_L": (("estimate_circuit", "estimate_init"), est.values),
            "o_initial": (("estimate_circuit", "estimate_init"), est.initial),
            "theory_late_O": ("target", np.array([p.late_mean for p in predicted])),
            "theory_R": ("target", np.array([p.R_mean for p in predicted])),
            "theory_fraction_frozen": ("target", np.array([p.fraction_frozen for p in predicted])),
            "measured_fraction_frozen": ("target", np.array([m["fraction_frozen"] for m in measured])),
            "o_min": ((), est.o_min),
        },
        coords={"target": targets, "step": np.arange(config.steps + 1)},
    )
    info = {"O_min": est.o_min, "O_min_L_mean": est.mean, "O_min_L_sd": est.sd, "O_min_L_lowest": est.lowest,
            "O_min_L_band": list(est.quantiles()), "estimate_converged": est.converged,
            "predicted_regimes": {f"{p.target:g}": p.regime for p in predicted},
            "measured_regimes": {f"{m['target']:g}": m for m in measured}}
    note = _setup.note(base, f"targets {', '.join(f'{t:g}' for t in config.targets)}, eta = {config.eta:g}, "
                             f"{config.circuits} circuits x {config.samples} initializations")
    return Result(NAME, data, rows, record(NAME, TITLE, config, base, note, start, **info))


def plot(result: Result):
    """|eps(t)| and K(t) per target (thin: runs; thick: mean), with the predicted late error R (dashed)."""
    from matplotlib.figure import Figure

    d = result.data
    fig = Figure(figsize=(6.4, 7.0), layout="constrained")
    ax_e, ax_k = fig.subplots(2, 1, sharex=True)
    step = d.step.values
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown"]
    for i, target in enumerate(d.target.values):
        c = colors[i % len(colors)]
        e, k = np.abs(d.eps.values[i]), d.K.values[i]
        for j in range(min(e.shape[1], 16)):
            ax_e.semilogy(step, e[:, j], color=c, lw=0.4, alpha=0.3)
            ax_k.semilogy(step, k[:, j], color=c, lw=0.4, alpha=0.3)
        ax_e.semilogy(step, np.abs(d.eps.values[i].mean(axis=1)), color=c, lw=2,
                      label=f"O_0 = {target:g}, |mean eps|")
        ax_k.semilogy(step, k.mean(axis=1), color=c, lw=2, label=f"O_0 = {target:g}, mean K")
        if float(d.theory_R[i]) > 0:
            ax_e.axhline(float(d.theory_R[i]), color=c, ls="--", lw=1,
                         label=f"predicted R = O_min(L) - O_0 = {float(d.theory_R[i]):.3g}")
    c = result.config
    cfg = c["config"]
    _plot.decorate(ax_e, "", r"$|\varepsilon(t)|$", f"{_plot.title(NAME)}: rpa n={cfg['n_qubits']}, L={cfg['n_layers']}, "
                   f"O_min(L) = {c['O_min_L_mean']:.3g} +- {c['O_min_L_sd']:.2g} (O_min = {c['O_min']:.3g})",
                   title_size=9, legend_size=7)
    _plot.decorate(ax_k, "step $t$", "$K(t)$", "", legend_size=7)
    return fig
