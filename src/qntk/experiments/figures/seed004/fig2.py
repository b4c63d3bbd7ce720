"""004 Fig. 2: the dynamical transition, eps(t) and K(t) for O_0 above, at and below O_min (RPA, open XXZ, J = 2).

What the figure shows: gradient descent on the quadratic loss ``(<O> - O_0)^2 / 2`` (004 eqs. (1)-(2)) from
``samples`` random initial angles of one random circuit, for three targets: ``O_0 = O_min + offset``
(frozen kernel: ``K -> C``, ``eps ~ exp(-eta C t)``, 004 eq. (14)), ``O_0 = O_min`` (critical point:
``K = 2 lambda eps = 1 / (eta t + c)``, 004 eq. (15)) and ``O_0 = O_min - offset`` (frozen error:
``eps -> R = O_min - O_0``, ``K = 2 lambda (eps - R) ~ exp(-2 eta lambda R t)``, 004 eq. (16)). Top row
``eps(t)``, bottom row ``K(t)``: every sample in gray, the ensemble mean in blue, the theory dashed in red;
the frozen-error panel has the residual ``eps - R`` as an inset.

Model: :mod:`qntk.experiments.figures.seed004._setup` (004 eqs. (26)-(27), (29)): the random Pauli ansatz
with ``exp(-i theta P / 2)`` and Haar ``W`` on the open XXZ chain with ``J = 2``, whose ``O_min`` is
computed by exact diagonalization (-22 at n = 6, -30 at n = 8; never typed in). The same circuit and the
same initial angles are used for the three targets.

Theory (from the model and, where a formula needs one, the Haar ensemble at ``t = 0``; never from the
simulated trajectory):

* the regime: :func:`qntk.theory.lv.predict_regime` (004 Theorem 1, ``O_0`` against the exact spectrum),
  against :func:`qntk.theory.lv.measure_regime` of the mean trajectory (recorded in ``Result.config``,
  ``regimes``, not a table row: a name is not a number);
* the Lotka-Volterra line of :func:`qntk.theory.mean_residual` (``eps_lv``, ``K_lv``): the discrete LV map
  (004 eqs. (7)-(8), (10)) on the late-time line of the predicted regime, started at the exact Haar mean
  ``K̄`` (004 Lemma 4 / Supplementary Note 11, exact in d): frozen kernel ``C = K̄``, ``lambda = 0``
  (eq. (14) with the Haar ``K̄``, which 004 says roughly agrees in its Fig. 2a); critical ``C = 0``; frozen
  error ``C = -2 lambda_inf R``, with the restricted-Haar ``lambda_inf`` at the ground state (004 eq. (17),
  :func:`qntk.theory.restricted_haar.edge_late_time`, exact in d and L). 004 fits the one offset of the
  closed forms (``B1``, ``B2`` of eqs. (33)-(34)) to each curve; here it is fixed by starting at ``K̄``,
  so the rows at given times test the offset too (their notes say so);
* rates and exponents, which do not depend on that offset: the frozen-kernel decay rate of ``eps`` is
  ``eta C = eta K̄`` (eq. (14)); the critical ``K(t)`` and ``eps(t)`` decay as ``t^-1`` (eq. (15)); the
  frozen-error ``K`` decays at ``2 eta lambda_inf R`` (eq. (16)) and ``eps -> R = O_min - O_0``.
  Simulated rates and exponents are least-squares slopes of each sample's ``log K`` or ``log |eps|`` over
  a late window (the frozen-kernel one chosen on the theory line, from ``e^-1`` to ``e^-20`` of
  ``eps(0)``), averaged over samples with their standard error.

Learning rate: 004 does not state it. ``eta = 1e-3`` keeps ``eta K̄ < 0.1`` at n = 6 and 8 (the first-order
update of 004 eq. (7) is accurate and the LV map stable) while the frozen-kernel error decays by ``e^-1``
in tens of steps and the critical ``K`` reaches its ``1/(eta t)`` law after ``~ 1/(eta K̄)`` steps.

Size: 004's Fig. 2 is n = 8, L = 768 with targets ``O_min + 20, O_min, O_min - 20`` (= -10, -30, -50,
the targets of 004's data repository, github.com/bzGit06/QNN-dynamics, data/training/RPA/Heisenberg/n8);
004 states neither samples nor steps nor ``eta``. At n = 8 drawing the circuit (768 Haar ``256 x 256``
unitaries, done three times per target) took 335 s and the exact Haar ``K̄`` 207 s on 2 cores shared by
about 8 processes, and one step costs about 64 times an n = 6 step (``L d^2``): 16 samples x 2000 steps
would take about 2-3 hours on 2 unloaded cores (extrapolated from n = 6). The default is therefore n = 6, L = 192 (004's own size for its
Figs. 3 and 7) with ``offset = 4`` (targets -18, -22, -26, in 004's n = 6 data); the paper size is
``qntk reproduce 004-fig2 --set n_qubits=8 --set n_layers=768 --set offset=20``. The default takes about
5 minutes on 2 unloaded cores (extrapolated from 8 samples x 1000 steps).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ....theory import lv, mean_residual
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, positive, validate
from . import _setup

NAME = "004-fig2"
TITLE = "004 Fig. 2: eps(t), K(t) for O_0 above, at and below O_min, RPA on the open XXZ chain, J = 2"

#: The three regimes in the order of the figure's columns (004 Fig. 2 a, b, c).
COLUMNS = ("frozen-kernel", "critical", "frozen-error")


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 004 Fig. 2; ``n_qubits``, ``n_layers``, ``eta``, ``steps`` and ``seed`` are shared fields.

    Not the paper size: 004's n = 8, L = 768 would take about 2-3 hours on 2 cores (module docstring), so
    the defaults are n = 6, L = 192 (004's Figs. 3 and 7), ``offset = 4``, ``eta = 1e-3``, 16 samples,
    2000 steps (about 5 minutes); 004's size is ``--set n_qubits=8 --set n_layers=768 --set offset=20``.

    Attributes:
        offset: ``|O_0 - O_min|`` of the frozen-kernel (``O_min + offset``) and frozen-error
            (``O_min - offset``) targets; 20 in 004's data at n = 8, 4 here at n = 6 (-18 and -26).
        samples: initial angle vectors of the one circuit (the same for the three targets).
    """

    n_qubits: int = 6
    n_layers: int = 192
    offset: float = 4.0
    eta: float = 1e-3
    steps: int = 2000
    samples: int = 16
    seed: int = 0

    def __post_init__(self):
        validate(self, offset=positive, samples=integer(2))


QUICK = Config(n_qubits=3, n_layers=24, offset=3.0, eta=5e-3, steps=60, samples=4)


# ----------------------------------------------------------------------------------------------
# shared with 004 Fig. 3


def targets(o_min: float, offset: float) -> tuple[float, float, float]:
    """``O_0`` of the three columns: ``O_min + offset``, ``O_min``, ``O_min - offset`` (order of :data:`COLUMNS`)."""
    return o_min + offset, o_min, o_min - offset


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each column of ``y`` (shape ``(points, samples)``) against ``x``, over the column's
    finite points (NaN marks a point to skip); NaN for a column with fewer than 3 of them."""
    x = np.asarray(x, float)[:, None]
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    n = ok.sum(axis=0)
    safe = np.where(ok, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = (x * ok).sum(axis=0) / n
        ym = safe.sum(axis=0) / n
        xc = np.where(ok, x - xm, 0.0)
        out = (xc * (safe - ym)).sum(axis=0) / (xc**2).sum(axis=0)
    return np.where(n >= 3, out, np.nan)


def mean_sem(values: np.ndarray) -> tuple[float, float]:
    """Mean over samples (the last axis; NaN samples, e.g. a slope with too few points, left out) and its
    standard error ``std / sqrt(N)``."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


def window(steps: int, fraction: float = 0.5) -> np.ndarray:
    """The late steps ``[steps - fraction * steps, steps]`` (at least 3)."""
    lo = min(steps - 2, round((1.0 - fraction) * steps))
    return np.arange(max(lo, 1), steps + 1)


def decay_window(eta: float, k_bar: float, steps: int) -> np.ndarray:
    """The steps where the frozen-kernel theory line ``exp(-eta K̄ t)`` lies between ``e^-1`` and ``e^-20``
    (the decay is under way and far from round-off); the last half of the steps if that holds fewer than 3."""
    decay = eta * k_bar * np.arange(steps + 1)
    fit = np.flatnonzero((decay >= 1.0) & (decay <= 20.0))
    return fit if fit.size >= 3 else window(steps)


#: Points of a decay fit below this fraction of the sample's starting value are left out (round-off floor).
FLOOR = 1e-11


def log_abs(values: np.ndarray, floor_of: np.ndarray | None = None) -> np.ndarray:
    """``log |values|``, NaN (left out of :func:`slopes`) at zeros and, with ``floor_of`` (one value per sample),
    below ``FLOOR * |floor_of|``, where round-off flattens a decay."""
    a = np.abs(np.asarray(values, float))
    low = 0.0 if floor_of is None else FLOOR * np.abs(np.asarray(floor_of, float))
    with np.errstate(divide="ignore"):
        return np.where(a > low, np.log(np.where(a > 0, a, 1.0)), np.nan)


def measured_regime(eps: np.ndarray, K: np.ndarray, mu: np.ndarray | None = None) -> dict:
    """:func:`qntk.theory.lv.measure_regime` of the mean trajectory (``eps``, ``K`` of shape ``(step, sample)``)
    over the last half of the steps, as a JSON-ready dict."""
    t = np.arange(eps.shape[0])
    m = lv.measure_regime(t, eps.mean(axis=1), K.mean(axis=1), None if mu is None else mu.mean(axis=1))
    return {k: (v if isinstance(v, (str, bool)) else float(v)) for k, v in dataclasses.asdict(m).items()}


# ----------------------------------------------------------------------------------------------


def _rows(regime: str, label: str, eta: float, eps: np.ndarray, K: np.ndarray, th: dict) -> list[dict]:
    """The table rows of one target (``eps``, ``K`` of shape ``(step, sample)``, ``th`` from mean_residual)."""
    steps = eps.shape[0] - 1
    late = window(steps)
    t_late = late.astype(float)
    eps_lv, k_lv = th["eps_lv"], th["K_lv"]
    offset_note = ("LV line started at the Haar K̄ from the model (004 fits this offset, B1/B2 of eqs. (33)-(34), "
                   "to each curve; not fitted here)")
    rows = []
    if regime == "frozen-kernel":
        k_bar = th["K_inf"]
        fit = decay_window(eta, k_bar, steps)
        rate = -slopes(fit.astype(float), log_abs(eps[fit], eps[0])) / eta
        rows.append(row(f"{label}: eps decay rate / eta over t = {fit[0]}..{fit[-1]}, 004 eq. (14)", k_bar,
                        *mean_sem(rate), "theory C = K_inf = exact Haar K̄ (004 sec. 'Haar ensemble results'); "
                        f"per-sample slope of log|eps|; for reference the simulated K over the window averages "
                        f"{K[fit].mean():.4g} (eq. (14) with the measured kernel)"))
        rows.append(row(f"{label}: K(t = {steps}), frozen at C, 004 eq. (14)", k_lv[steps], *mean_sem(K[steps]),
                        "theory the Haar K̄ (004: Haar predictions 'roughly agree' in the frozen-kernel regime); "
                        f"the kernel moves from K(0) (mean {K[0].mean():.4g}) to its frozen value in the first steps"))
        t_eps = int(fit[0])
        rows.append(row(f"{label}: eps(t = {t_eps}), 004 eq. (14)", eps_lv[t_eps], *mean_sem(eps[t_eps]),
                        f"eps(0) exp(-eta K̄ t) with the Haar E[eps(0)]; {offset_note}"))
    elif regime == "critical":
        p_k = slopes(np.log(t_late), log_abs(K[late]))
        p_e = slopes(np.log(t_late), log_abs(eps[late]))
        rows.append(row(f"{label}: exponent of K(t) ~ t^p over t = {late[0]}..{steps}, 004 eq. (15)", -1.0,
                        *mean_sem(p_k), "per-sample least-squares slope of log K vs log t; K = 1/(eta t + c) "
                        f"has local exponent -eta t/(eta t + c), c = 1/K̄ gives {_local_power(k_lv, late):.3f}"))
        rows.append(row(f"{label}: exponent of eps(t) ~ t^p over t = {late[0]}..{steps}, 004 eq. (15)", -1.0,
                        *mean_sem(p_e), "per-sample least-squares slope of log|eps| vs log t"))
        for t in (late[0], steps):
            rows.append(row(f"{label}: K(t = {t}) = 1/(eta t + c), 004 eq. (15)", k_lv[t], *mean_sem(K[t]),
                            offset_note))
        rows.append(row(f"{label}: eps(t = {steps}) = K / (2 lambda_inf), 004 eq. (15)", eps_lv[steps],
                        *mean_sem(eps[steps]), f"restricted-Haar lambda_inf = {th['lambda_inf']:.4g} "
                        f"(004 eq. (17), ground state); {offset_note}"))
    else:
        R = th["R"]
        rows.append(row(f"{label}: eps(t = {steps}) -> R = O_min - O_0, 004 eq. (16)", R, *mean_sem(eps[steps]),
                        f"residual eps - R = {float(eps[steps].mean() - R):.3g} still decaying at t = {steps}"))
        rate = -slopes(t_late, log_abs(K[late], K[0])) / eta
        rows.append(row(f"{label}: K decay rate / eta over t = {late[0]}..{steps}, 004 eq. (16)",
                        2.0 * th["lambda_inf"] * R, *mean_sem(rate),
                        f"theory 2 lambda_inf R, restricted-Haar lambda_inf = {th['lambda_inf']:.4g} (004 eq. (17), "
                        "ground state, exact in d and L); per-sample slope of log K"))
        t1 = max(1, int(late[0]) // 4)
        rows.append(row(f"{label}: K(t = {t1}), 004 eqs. (16), (33)", k_lv[t1], *mean_sem(K[t1]), offset_note))
    return rows


def _local_power(k_lv: np.ndarray, late: np.ndarray) -> float:
    """The least-squares exponent of the theory line ``K_lv`` over ``late`` (what a finite window reads)."""
    return float(slopes(np.log(late.astype(float)), np.log(k_lv[late])[:, None])[0])


def run(config: Config, progress: bool = True) -> Result:
    """Trains the three targets from the same circuit and angles; compares with 004 eqs. (14)-(16)."""
    import xarray as xr

    start = time.perf_counter()
    n, layers, eta, steps = config.n_qubits, config.n_layers, config.eta, config.steps
    o_min, o_max = _setup.model(n, layers, 0.0).operator.spectrum_extremes()
    goals = targets(o_min, config.offset)
    t_all = np.arange(steps + 1)
    eps_all, k_all, th_eps, th_k, rows, regimes, theory = [], [], [], [], [], {}, {}
    for regime, target in zip(COLUMNS, goals):
        m = _setup.model(n, layers, target)
        th = mean_residual(m, eta, t_all)
        ds = _setup.run(m, eta, steps, config.samples, config.seed, progress)
        eps, K = ds.eps.values[:, 0, :, 0], ds.K.values[:, 0, :, 0, 0]
        label = f"O_0 = {target:g}"
        rows += _rows(th["regime"], label, eta, eps, K, th)
        regimes[regime] = {"target": target, "predicted": th["regime"], "measured": measured_regime(eps, K)}
        theory[regime] = {k: th[k] for k in ("regime", "R", "K_inf", "lambda_inf", "zeta_inf", "lv_C", "K_mean",
                                             "K_std", "eps_mean")}
        eps_all.append(eps)
        k_all.append(K)
        th_eps.append(th["eps_lv"])
        th_k.append(th["K_lv"])
    data = xr.Dataset(
        {
            "eps": (("regime", "step", "sample"), np.stack(eps_all)),
            "K": (("regime", "step", "sample"), np.stack(k_all)),
            "eps_lv": (("regime", "step"), np.stack(th_eps)),
            "K_lv": (("regime", "step"), np.stack(th_k)),
            "target": ("regime", np.asarray(goals)),
            "R": ("regime", np.asarray([theory[r]["R"] for r in COLUMNS], float)),
            "O_min": ((), o_min),
            "O_max": ((), o_max),
        },
        coords={"regime": list(COLUMNS), "step": t_all},
    )
    m = _setup.model(n, layers, goals[1])
    measured = {"O_min": o_min, "O_max": o_max, "targets": list(goals), "regimes": regimes, "theory": theory,
                "regimes_agree": all(r["predicted"] == r["measured"]["regime"] for r in regimes.values())}
    note = _setup.note(m, f"O_0 = {', '.join(f'{g:g}' for g in goals)} (O_min = {o_min:g} by exact diagonalization); "
                          f"eta = {eta:g}, {config.samples} initial angle vectors of one circuit, the same for every O_0")
    return Result(NAME, data, rows, record(NAME, TITLE, config, m, note, start, **measured))


def plot(result: Result):
    """Two rows (``eps``, ``K``) by three columns (frozen kernel, critical, frozen error): samples gray, mean
    blue, the LV line of the predicted regime red dashed; the frozen-error ``eps`` panel has ``eps - R`` inset."""
    from matplotlib.figure import Figure

    d = result.data
    c = result.config["config"]
    fig = Figure(figsize=(13.0, 7.0), layout="constrained")
    axes = fig.subplots(2, 3)
    step = d.step.values
    pos = step > 0
    for j, regime in enumerate(COLUMNS):
        sel = d.sel(regime=regime)
        target, R = float(sel.target), float(sel.R)
        for i, (name, lv_name) in enumerate((("eps", "eps_lv"), ("K", "K_lv"))):
            ax = axes[i, j]
            values = sel[name].values
            log_y = not (name == "eps" and regime == "frozen-error")
            shown = np.where(values > 0, values, np.nan) if log_y else values  # a run at exactly 0 leaves the log axis
            ax.plot(step[pos], shown[pos], color="0.7", lw=0.6)
            ax.plot(step[pos], values[pos].mean(axis=1), color="tab:blue", lw=2, label="ensemble mean")
            ax.plot(step[pos], sel[lv_name].values[pos], "--", color="tab:red", lw=1.5, label="LV theory")
            if regime == "critical":
                ax.set_xscale("log")
            if log_y:
                ax.set_yscale("log")
                # the axis spans the simulation; a theory line that falls faster leaves it at the bottom
                ax.set_ylim(bottom=np.nanmin(shown[pos]) / 10)
            ax.set(xlabel="step $t$", ylabel=f"{name}(t)", title=f"{'abc'[j]}{i + 1}: {regime}, O_0 = {target:g}")
            ax.legend(fontsize=7, loc="lower left" if (regime == "frozen-error" and name == "eps") else "best")
        if regime == "frozen-error":
            inset = axes[0, j].inset_axes([0.45, 0.4, 0.5, 0.5])
            inset.semilogy(step, np.abs(sel.eps.values - R), color="0.7", lw=0.5)
            inset.semilogy(step, np.abs(sel.eps.values.mean(axis=1) - R), color="tab:blue", lw=1.5)
            inset.semilogy(step, np.abs(sel.eps_lv.values - R), "--", color="tab:red", lw=1)
            inset.set_ylim(bottom=np.abs(sel.eps.values - R).min() / 10)
            inset.set_title("eps - R", fontsize=7)
            inset.tick_params(labelsize=6)
    fig.suptitle(f"{_plot.title(NAME)}: RPA n={c['n_qubits']}, L={c['n_layers']}, open XXZ J=2, eta={c['eta']:g}, "
                 f"{c['samples']} samples", fontsize=10)
    return fig
