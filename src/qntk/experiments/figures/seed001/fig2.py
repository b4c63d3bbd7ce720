"""001 Fig. 2: residual error eps(t) with and without Gaussian angle noise (n = 2, L = 64, eta = sigma = 1e-3).

The noisy run adds ``N(0, sigma^2)`` to every angle after every step (001 eq. (28)); the noiseless
run starts from the same circuit and angles. Theory: 001 eq. (30) (= eq. (65)),
``mean eps^2(t) = (1 - eta K)^(2t) (eps(0)^2 - P) + P`` with the plateau ``P = sigma^2 / (eta (2 - eta K))``
(eq. (31)), and the noiseless decay ``eps(t) = (1 - eta K)^t eps(0)`` (001 eq. (19)), each evaluated per
sample with its own ``eps(0)`` and ``K(0)`` (the frozen kernel these equations assume, known before any
step), then averaged over samples. No theory value uses the simulated trajectory beyond t = 0.

Which K: at n = 2 the QNTK is not frozen (d = 4 is far from the wide limit; the run reports
``median |K(T)/K(0) - 1|``), so eq. (30) with ``K(0)`` falls behind the simulation at intermediate t,
and the rows say so. The curves labelled "with the run's own K" evaluate eq. (30) with each sample's K
averaged over steps ``[0, t)``: a check that the form of eq. (30) holds once ``K(t)`` is known, not a
prediction (001 App. E takes "the K value ... from the value of the last step" for the same reason);
the rows quote it in their notes only. The plateau, eq. (31), hardly depends on K when ``eta K << 1``.

Model: see :mod:`qntk.experiments.figures.seed001._setup` (000's random Pauli ansatz and 10-term random Pauli
mixture, observable seed 2, ``O_0 = -1``, in place of 001's randomized hardware-efficient ansatz).

Paper size: 1000 initializations (001 does not say how many; 1000 gives a 1% standard error on the
plateau) of 500 steps (about 10 ``T_noise``, 001 eq. (68)); about 35 s on 2 cores, most of it compiling.
``QUICK`` (L = 8, where K(0) ≈ 9) takes eta = sigma = 0.01 and 80 steps, so that its second half is on
the plateau as well.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ....theory import lazy
from ..._table import Result, paired_row, record
from .. import _plot
from .._checks import integer, validate
from . import _setup

NAME = "001-fig2"
TITLE = "001 Fig. 2: noisy vs noiseless eps(t), n = 2, L = 64, eta = 1e-3, sigma = 1e-3"


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 001 Fig. 2; the defaults are the seed's size. The fields other than ``samples`` are
    shared (:data:`~qntk.experiments.figures._checks.SHARED`).

    Attributes:
        samples: initial angle vectors of the one circuit (the same for the noisy and noiseless runs).
    """

    n_qubits: int = 2
    n_layers: int = 64
    eta: float = 1e-3
    sigma: float = 1e-3
    steps: int = 500
    samples: int = 1000
    observable_seed: int = 2
    seed: int = 0

    def __post_init__(self):
        validate(self, samples=integer(2))


QUICK = Config(n_layers=8, eta=1e-2, sigma=1e-2, steps=80, samples=12)


def _running_mean(k: np.ndarray) -> np.ndarray:
    """Per-sample mean of ``k[0:t]`` for every t (``k[0]`` at t = 0), shape ``(steps + 1, samples)``."""
    csum = np.cumsum(k, axis=0)
    out = np.empty_like(k)
    out[0] = k[0]
    out[1:] = csum[:-1] / np.arange(1, k.shape[0])[:, None]
    return out


def run(config: Config, progress: bool = True) -> Result:
    """Trains the noisy and the noiseless ensembles and compares them with 001 eqs. (19), (30), (31)."""
    import xarray as xr

    steps, eta, sigma = config.steps, config.eta, config.sigma
    start = time.perf_counter()
    model, (eps_n, eps_0), (k_n, k_0) = _setup.sweep(config, [(eta, sigma), (eta, 0.0)], progress)
    t = np.arange(steps + 1)[:, None]
    th_n = lazy.noisy_eps2(eps_n[0], eta, k_n[0], sigma, t)
    th_0 = lazy.frozen_residual(eps_0[0], eta, k_0[0], t) ** 2
    own_n = lazy.noisy_eps2(eps_n[0], eta, _running_mean(k_n), sigma, t)
    own_0 = lazy.frozen_residual(eps_0[0], eta, _running_mean(k_0), t) ** 2
    late = slice(steps // 2, None)
    plateau_i = lazy.noise_plateau_eps2(eta, k_n[0], sigma)
    t_noise = float(np.median(lazy.noise_time(eps_n[0], eta, k_n[0], sigma)[0]))
    decay = 1.0 / (eta * k_n[0].mean())
    k_change = float(np.median(np.abs(k_0[-1] / k_0[0] - 1.0)))
    frozen = k_change < 0.05
    k_note = (f"per-sample K(0); K frozen (median |K(T)/K(0) - 1| = {k_change:.2g})" if frozen else
              f"per-sample K(0); K not frozen at n = {config.n_qubits} (median |K(T)/K(0) - 1| = {k_change:.2g}), "
              "which eq. (19)/(30) assume")

    # The decaying part of eq. (30) left at the start of the late window, against the plateau it sits on.
    transient = float(np.mean(th_n[steps // 2] - plateau_i) / plateau_i.mean())
    plateau_note = f"per-sample K(0); the decaying part of eq. (30) at t = {steps // 2} is {transient:.2g} x the plateau"
    if transient > 1:
        plateau_note += " (the run is too short for the plateau: the late mean is mostly the decay of eps(0))"
    rows = [paired_row(f"late mean eps^2 (t >= {steps // 2}), eq. (31)", plateau_i, (eps_n[late] ** 2).mean(axis=0),
                       plateau_note)]
    times = sorted({min(steps, max(1, round(x))) for x in (decay, t_noise, 3 * t_noise)})
    for tt in times:
        r = paired_row(f"mean eps^2(t = {tt}), noisy, eq. (30)", th_n[tt], eps_n[tt] ** 2, k_note)
        rows.append(r | {"note": r["note"] + f"; with the run's own K over [0, t) (not a prediction): {own_n[tt].mean():.4g}"})
    tt = times[0]
    r = paired_row(f"mean eps^2(t = {tt}), noiseless, eq. (19)", th_0[tt], eps_0[tt] ** 2, k_note)
    rows.append(r | {"note": r["note"] + f"; with the run's own K over [0, t) (not a prediction): {own_0[tt].mean():.4g}"})

    data = xr.Dataset(
        {
            "eps_noisy": (("step", "sample"), eps_n),
            "eps_noiseless": (("step", "sample"), eps_0),
            "K_noisy": (("step", "sample"), k_n),
            "K_noiseless": (("step", "sample"), k_0),
            "rms_eps_noisy": ("step", np.sqrt((eps_n**2).mean(axis=1))),
            "rms_eps_noiseless": ("step", np.sqrt((eps_0**2).mean(axis=1))),
            "theory_rms_eps_noisy": ("step", np.sqrt(th_n.mean(axis=1))),
            "theory_rms_eps_noiseless": ("step", np.sqrt(th_0.mean(axis=1))),
            "own_K_rms_eps_noisy": ("step", np.sqrt(own_n.mean(axis=1))),
            "own_K_rms_eps_noiseless": ("step", np.sqrt(own_0.mean(axis=1))),
            "theory_plateau_rms_eps": ((), float(np.sqrt(plateau_i.mean()))),
            "t_noise": ((), t_noise),
        },
        coords={"step": np.arange(steps + 1)},
    )
    measured = {"K0_mean": float(k_n[0].mean()), "K_late_mean": float(k_n[late].mean()),
                "eps0_mean": float(eps_n[0].mean()), "eps0_rms": float(np.sqrt((eps_n[0] ** 2).mean())),
                "t_noise_median": t_noise, "K_change_median": k_change, "K_frozen": frozen}
    return Result(NAME, data, rows, record(NAME, TITLE, config, model, _setup.note(model), start, **measured))


def plot(result: Result):
    """RMS eps(t) of the noisy (red) and noiseless (blue) ensembles, with 001 eqs. (19), (30), (31)."""
    d = result.data
    fig, ax = _plot.axes(width=6.4)
    step = d.step.values
    ax.semilogy(step, np.abs(d.eps_noisy.values[:, 0]), color="tab:red", lw=0.6, alpha=0.35, label="noisy, one sample")
    ax.semilogy(step, np.abs(d.eps_noiseless.values[:, 0]), color="tab:blue", lw=0.6, alpha=0.35,
                label="noiseless, one sample")
    ax.semilogy(step, d.rms_eps_noisy, color="tab:red", lw=2, label="noisy, RMS over samples")
    ax.semilogy(step, d.rms_eps_noiseless, color="tab:blue", lw=2, label="noiseless, RMS over samples")
    ax.semilogy(step, d.theory_rms_eps_noisy, "k--", lw=1, label="eq. (30), K(0)")
    ax.semilogy(step, d.theory_rms_eps_noiseless, "k:", lw=1, label="eq. (19), K(0)")
    ax.semilogy(step, d.own_K_rms_eps_noisy, color="tab:orange", ls="--", lw=0.8,
                label="eq. (30) with the run's own K (not a prediction)")
    ax.axhline(float(d.theory_plateau_rms_eps), color="gray", lw=0.8, label="plateau, eq. (31)")
    if float(d.t_noise) <= step[-1]:
        ax.axvline(float(d.t_noise), color="gray", ls="-.", lw=0.8, label="T_noise, eq. (68)")
    c = result.config["config"]
    _plot.decorate(ax, "step $t$", r"$|\varepsilon(t)|$", f"{_plot.title(NAME)}: n={c['n_qubits']}, L={c['n_layers']}, eta={c['eta']:g}, "
                   f"sigma={c['sigma']:g}, {c['samples']} samples", title_size=9, legend_size=7)
    return fig
