"""004 Fig. 3: the Lotka-Volterra picture, (a) the bifurcation of 004 eq. (12), (b) trajectories in the
(2 lambda eps, K) plane against the lines K - 2 lambda eps = C (004 eq. (11)), (c) lambda(t) and zeta(t).

What the figure shows: (a) the right-hand side ``dK/dt = eta (C - K) K`` of 004 eq. (12) against ``K`` for
``C > 0``, ``= 0``, ``< 0`` (pure theory, :func:`qntk.theory.lv.rhs` with ``2 lambda eps = K - C``); (b) the
ensemble-mean trajectory ``(2 lambda_late eps(t), K(t))`` of gradient descent for ``O_0 = O_min + offset``,
``O_min``, ``O_min - offset`` (004's blue, red, green), ``lambda_late`` each sample's median of
``lambda = mu / K`` over the last half of the steps, and dashed the LV line ``K = C + 2 lambda eps`` of the
predicted regime; (c) ``lambda(t) = mu(t) / K(t)`` (ensemble median) and, inset, the dynamical index
``zeta(t) = eps mu / K^2`` (004 eq. (13)), which tends to 0, 1/2 and ``+inf`` (004 Theorem 1).

Model: :mod:`qntk.experiments.figures.seed004._setup`, the random Pauli ansatz (``exp(-i theta P / 2)``, Haar
``W``), ``n = 6``, ``L = 192``, the open XXZ chain with ``J = 2`` (``O_min = -22``, by exact diagonalization),
one circuit and the same initial angles for every target; ``mu`` is recorded at every step.

Theory rows (from the model and the Haar ensemble at ``t = 0`` only; never from the trajectory compared):

* conservation of ``C = K - 2 lambda eps`` (004 eq. (11)): the slope ``Delta K / (2 lambda_late Delta eps)``
  of each sample's trajectory in the (2 lambda eps, K) plane between two steps, against 1 (the straight
  lines of 004 Fig. 3b); the steps are where the frozen-kernel ``eps`` still decays on the theory line,
  else ``T/4`` and ``T``;
* the late-time ``C`` against the line of the predicted regime: ``C = K̄`` (exact Haar, frozen kernel,
  004 eq. (14)) and ``C = -2 lambda_inf R`` (frozen error, eq. (16)), ``lambda_inf`` of the restricted Haar
  ensemble at the ground state (004 eq. (17), :func:`qntk.theory.late_time`, exact in d and L);
* ``zeta(T)`` at the critical point against the LV value 1/2 (004 Theorem 1, eq. (15)) and against the
  restricted-Haar ``zeta_inf`` (which includes the finite-``L`` shift, cf. 004's ``1/2 + d/L`` for a
  projector); in the frozen-error regime the growth rate of ``zeta ~ exp(2 eta lambda R t)`` against
  ``2 eta lambda_inf R`` (zeta -> +inf); in the frozen-kernel regime ``zeta -> 0`` (a zero theory value is
  no row: the measured ``zeta(T)`` is recorded in ``Result.config``);
* ``lambda_late`` against the restricted-Haar ``lambda_inf`` (critical and frozen error; none is defined for
  the frozen kernel of a non-projector observable);
* ``lambda(0) = E[mu] / E[K]`` at initialization against the exact Haar average (004 eq. (40) at finite
  d and L), the start of panel (c) and a check of the measured ``mu``.

Paper size: n = 6, L = 192 (004's caption); targets ``-18, -22, -26`` (``offset = 4``; 004's data repository
holds n = 6, L = 192 runs from -18 to -30, github.com/bzGit06/QNN-dynamics); ``eta``, steps and samples
are not stated by 004 (the same ``eta = 1e-3`` as 004-fig2; see :class:`Config`). Run time of the default
(16 samples x 2000 steps per target, ``mu`` recorded): about 5-10 minutes on 2 unloaded cores, extrapolated
from 8 samples x 1000 steps (70-115 s per target on 2 cores shared by 7-10 processes), plus about 20 s for
the restricted-Haar averages at d = 64.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ....theory import haar, lv, mean_residual
from ..._table import Result, record, row
from .. import _plot
from . import _setup, fig2
from .fig2 import (
    COLUMNS,
    FLOOR,
    decay_window,
    log_abs,
    mean_sem,
    measured_regime,
    slopes,
    targets,
    window,
)

NAME = "004-fig3"
TITLE = "004 Fig. 3: LV bifurcation, (2 lambda eps, K) trajectories, lambda(t) and zeta(t), RPA n = 6, L = 192, XXZ J = 2"

#: The conserved quantities of panel (a), in units of the kernel scale: ``C > 0``, ``= 0``, ``< 0``.
PANEL_A_C = (1.0, 0.0, -1.0)


class Config(fig2.Config):
    """Settings of 004 Fig. 3; ``n_qubits``, ``n_layers``, ``eta``, ``steps`` and ``seed`` are shared fields.

    The defaults are 004's n = 6, L = 192; 004 states neither ``eta`` nor the steps nor the samples:
    ``eta = 1e-3`` (as 004-fig2), ``steps = 2000`` (the critical ``K`` reaches ``~ 1/(eta t)`` and the
    frozen-error ``zeta`` grows by many decades), ``samples = 16``: about 5-10 minutes on 2 cores.

    Attributes:
        offset: ``|O_0 - O_min|`` of the frozen-kernel and frozen-error targets (4: -18 and -26 at n = 6).
        samples: initial angle vectors of the one circuit (the same for the three targets).
    """


QUICK = Config(n_qubits=3, n_layers=24, offset=3.0, eta=5e-3, steps=60, samples=4)


def bifurcation(K: np.ndarray, C: float, eta: float = 1.0) -> np.ndarray:
    """The right-hand side ``dK/dt`` of 004 eq. (12) at ``K``, from the LV equations 004 eq. (10) on the line
    ``2 lambda eps = K - C`` (:func:`qntk.theory.lv.rhs` with ``lambda = 1``): ``eta (C - K) K``."""
    K = np.asarray(K, float)
    return lv.rhs((K - C) / 2.0, K, 1.0, eta)[1]


def _late_lambda(lam: np.ndarray, late: np.ndarray) -> np.ndarray:
    """Each sample's median of ``lambda`` over the steps ``late``."""
    return np.median(lam[late], axis=0)


def _line_window(regime: str, eta: float, k_bar: float, steps: int) -> tuple[int, int]:
    """The two steps between which the line of 004 eq. (11) is tested: where the frozen-kernel ``eps`` still
    decays (:func:`~.fig2.decay_window`, from the theory line), else the last three quarters of the run."""
    if regime == "frozen-kernel":
        w = decay_window(eta, k_bar, steps)
        return int(w[0]), int(w[-1])
    return max(1, steps // 4), steps


def _rows(regime: str, label: str, eta: float, eps, K, lam, zeta, th: dict) -> tuple[list[dict], dict]:
    """The rows of one target and the measured late-time numbers (JSON-ready)."""
    steps = eps.shape[0] - 1
    late = window(steps)
    t0 = int(late[0])
    lam_late = _late_lambda(lam, late)
    C = K - 2.0 * lam_late * eps  # (step, sample), 004 eq. (11) with each sample's late lambda
    measured = {"lambda_late_mean": float(lam_late.mean()), "zeta_T_median": float(np.median(zeta[steps])),
                "C_T_mean": float(C[steps].mean()), "C_over_K_T_median": float(np.median(C[steps] / K[steps]))}
    lam_inf, R = th["lambda_inf"], th["R"]
    rh = "restricted Haar at the ground state (004 eq. (17)), exact in d and L"
    rows = []
    # 004 eq. (11): the trajectory is the straight line K = C + 2 lambda eps, of slope 1 in the (2 lambda eps, K) plane
    ta, tb = _line_window(regime, eta, th["K_inf"], steps)
    slope = (K[ta] - K[tb]) / (2.0 * lam_late * (eps[ta] - eps[tb]))
    rows.append(row(f"{label}: slope dK / d(2 lambda eps) over t = {ta}..{tb}, 004 eq. (11)", 1.0, *mean_sem(slope),
                    f"per sample, with its median lambda over t = {t0}..{steps}; 1 if C = K - 2 lambda eps is "
                    "conserved with a constant lambda"))
    if regime == "frozen-kernel":
        rows.append(row(f"{label}: C(T), frozen kernel, 004 eq. (14)", th["K_inf"], *mean_sem(C[steps]),
                        "theory C = K_inf = exact Haar K̄ (the kernel frozen from the start)"))
    elif regime == "critical":
        rows.append(row(f"{label}: zeta(T) = eps mu / K^2, LV critical point, 004 Theorem 1", 0.5,
                        *mean_sem(zeta[steps]), "C = (1 - 2 zeta) K = 0 (004 eqs. (13), (15))"))
        if th["zeta_inf"] is not None and math.isfinite(th["zeta_inf"]):
            rows.append(row(f"{label}: zeta(T) vs restricted Haar zeta_inf", th["zeta_inf"], *mean_sem(zeta[steps]),
                            f"{rh}; the limit along the next eigenstate"))
    else:
        if lam_inf is not None:
            rows.append(row(f"{label}: C(T) = -2 lambda_inf R, frozen error, 004 eqs. (11), (16)", -2.0 * lam_inf * R,
                            *mean_sem(C[steps]), f"{rh}; R = O_min - O_0 = {R:g}"))
            above = K[late] > FLOOR * K[0]  # where K is not at its round-off floor
            rate = slopes(late.astype(float), np.where(above, log_abs(zeta[late]), np.nan))
            rows.append(row(f"{label}: growth rate of zeta over t = {t0}..{steps} (zeta -> +inf), 004 eq. (16)",
                            2.0 * eta * lam_inf * R, *mean_sem(rate), f"theory 2 eta lambda_inf R; {rh}"))
    if regime != "frozen-kernel" and lam_inf is not None:
        rows.append(row(f"{label}: lambda = mu/K, median over t = {t0}..{steps}, vs lambda_inf", lam_inf,
                        *mean_sem(lam_late), rh))
    return rows, measured


def _initial_lambda_row(m, mu0: np.ndarray, k0: np.ndarray) -> dict:
    """``lambda(0) = mean(mu) / mean(K)`` over the initial angles (the same for every target) against the exact
    Haar ``E[mu] / E[K]`` (004 eq. (40) at finite d and L), ``sem`` by the delta method."""
    o, L, s = m.operator, m.n_layers, m.generator_scale
    theory = haar.mean_mu(o, None, L, s) / haar.mean_K(o, None, L, s)
    ratio = float(mu0.mean() / k0.mean())
    sem = float(np.std(mu0 - ratio * k0, ddof=1) / math.sqrt(mu0.size) / k0.mean())
    return row("lambda(0) = E[mu] / E[K] at initialization, 004 eq. (40)", theory, ratio, sem,
               "exact Haar averages (chain model, exact in d and L); one circuit, its initial angles; checks the "
               "measured mu against a theory that holds, beside the late-time rows")


def run(config: Config, progress: bool = True) -> Result:
    """Trains the three targets with ``mu`` recorded; compares with 004 eqs. (11)-(16) and the restricted Haar
    ensemble."""
    import xarray as xr

    start = time.perf_counter()
    n, layers, eta, steps = config.n_qubits, config.n_layers, config.eta, config.steps
    o_min, o_max = _setup.model(n, layers, 0.0).operator.spectrum_extremes()
    goals = targets(o_min, config.offset)
    t_all = np.arange(steps + 1)
    series = {k: [] for k in ("eps", "K", "mu", "lambda_", "zeta")}
    lines, rows, regimes, theory = [], [], {}, {}
    for regime, target in zip(COLUMNS, goals):
        m = _setup.model(n, layers, target)
        th = mean_residual(m, eta, [0])
        ds = _setup.run(m, eta, steps, config.samples, config.seed, progress, record_mu=True)
        eps, K, mu = ds.eps.values[:, 0, :, 0], ds.K.values[:, 0, :, 0, 0], ds.mu.values[:, 0]
        lam, zeta = mu / K, lv.dynamical_index(eps, K, mu)
        r, measured = _rows(th["regime"], f"O_0 = {target:g}", eta, eps, K, lam, zeta, th)
        rows += r
        regimes[regime] = {"target": target, "predicted": th["regime"], "measured": measured_regime(eps, K, mu),
                           **measured}
        theory[regime] = {k: th[k] for k in ("regime", "R", "K_inf", "lambda_inf", "zeta_inf", "lv_C")}
        lines.append(th["lv_C"])
        for k, v in zip(series, (eps, K, mu, lam, zeta)):
            series[k].append(v)
    rows.append(_initial_lambda_row(_setup.model(n, layers, goals[1]), series["mu"][0][0], series["K"][0][0]))
    k_grid = np.linspace(-0.5, 1.5, 201)
    data = xr.Dataset(
        {
            **{k: (("regime", "step", "sample"), np.stack(v)) for k, v in series.items()},
            "lambda_late": (("regime", "sample"), np.stack([_late_lambda(lam, window(steps)) for lam in series["lambda_"]])),
            "C_line": ("regime", np.asarray(lines, float)),
            "target": ("regime", np.asarray(goals)),
            "rhs": (("C", "K_grid"), np.stack([bifurcation(k_grid, c) for c in PANEL_A_C])),
        },
        coords={"regime": list(COLUMNS), "step": t_all, "C": list(PANEL_A_C), "K_grid": k_grid},
    )
    m = _setup.model(n, layers, goals[1])
    measured = {"O_min": o_min, "O_max": o_max, "targets": list(goals), "regimes": regimes, "theory": theory,
                "regimes_agree": all(r["predicted"] == r["measured"]["regime"] for r in regimes.values())}
    note = _setup.note(m, f"O_0 = {', '.join(f'{g:g}' for g in goals)} (O_min = {o_min:g} by exact diagonalization); "
                          f"eta = {eta:g}, {config.samples} initial angle vectors of one circuit, mu recorded")
    return Result(NAME, data, rows, record(NAME, TITLE, config, m, note, start, **measured))


_COLORS = {"frozen-kernel": "tab:blue", "critical": "tab:red", "frozen-error": "tab:green"}


def plot(result: Result):
    """(a) ``dK/dt`` of 004 eq. (12) vs ``K``; (b) mean ``(2 lambda_late eps, K)`` with the LV lines (dashed);
    (c) median ``lambda(t)``, inset median ``zeta(t)``."""
    from matplotlib.figure import Figure

    d = result.data
    c = result.config["config"]
    fig = Figure(figsize=(14.0, 4.6), layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    k_grid = d.K_grid.values
    for C, color in zip(PANEL_A_C, ("tab:blue", "tab:red", "tab:green")):
        ax_a.plot(k_grid, d.rhs.sel(C=C).values, color=color, label=f"C {'>' if C > 0 else '=' if C == 0 else '<'} 0")
    ax_a.axvspan(k_grid[0], 0.0, color="0.85", label="K < 0 (nonphysical)")
    ax_a.axhline(0.0, color="k", lw=0.5)
    ax_a.set(xlabel=r"$K / |C|$", ylabel=r"$(dK/dt) / (\eta |C|^2)$", title="a: eq. (12)")
    ax_a.legend(fontsize=7)
    step = d.step.values
    for regime in COLUMNS:
        sel = d.sel(regime=regime)
        color, label = _COLORS[regime], f"O_0 = {float(sel.target):g} ({regime})"
        x = (2.0 * sel.lambda_late.values * sel.eps.values).mean(axis=1)
        y = sel.K.values.mean(axis=1)
        ok = (x > 0) & (y > 0)
        ax_b.plot(x[ok], y[ok], color=color, lw=2, label=label)
        if ok.any():
            xs = np.geomspace(x[ok].min(), x[ok].max(), 100)
            line = float(sel.C_line) + xs
            ax_b.plot(xs[line > 0], line[line > 0], "--", color=color, lw=1)
        ax_c.plot(step, np.median(sel.lambda_.values, axis=1), color=color, label=label)
    ax_b.set(xscale="log", yscale="log", xlabel=r"$2 \lambda_{late} \varepsilon$", ylabel="$K$",
             title="b: trajectories, dashed K = C + 2 lambda eps (eq. (11))")
    ax_b.title.set_fontsize(9)
    ax_b.legend(fontsize=7)
    ax_c.set(xlabel="step $t$", ylabel=r"$\lambda(t) = \mu/K$ (median)", title="c: lambda(t); inset zeta(t)")
    ax_c.legend(fontsize=7, loc="lower right")
    inset = ax_c.inset_axes([0.5, 0.5, 0.45, 0.4])
    for regime in COLUMNS:
        z = np.median(d.zeta.sel(regime=regime).values, axis=1)
        pos = z > 0
        inset.semilogy(step[pos], z[pos], color=_COLORS[regime], lw=1)
    inset.axhline(0.5, color="k", ls=":", lw=0.8)
    inset.set_title("zeta(t) (median)", fontsize=7)
    inset.tick_params(labelsize=6)
    fig.suptitle(f"{_plot.title(NAME)}: RPA n={c['n_qubits']}, L={c['n_layers']}, open XXZ J=2, eta={c['eta']:g}, "
                 f"{c['samples']} samples", fontsize=10)
    return fig
