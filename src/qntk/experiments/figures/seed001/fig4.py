"""001 Fig. 4: standard deviation of the final residual error against the learning rate (sigma = 0.005).

For each eta, an ensemble of noisy gradient-descent runs of t = 100 steps (001 eq. (28)) with
K ≈ 35 and eps(0) ≈ 1 as in 001's caption; the simulation is the standard deviation of eps at the
last step over the ensemble, the theory the square root of the plateau, 001 eq. (31) (= eq. (66)),
``sigma_eps = sqrt(sigma^2 / (eta (2 - eta K)))``, averaged over samples as
``sqrt(mean_i P(K_i))`` with each sample's K_i(0), known before any step (001 App. E takes K from
the last step; the notes quote it).

001 notes that at small eta ``T_noise`` (001 eq. (68)) may exceed the 100 steps, so the final eps
still carries part of ``(1 - eta K)^t eps(0)`` and its noise part has not reached the plateau. The
finite-time form of 001 eqs. (63)-(64) over the ensemble,
``Var eps(t) = Var_i[(1 - eta K_i)^t eps_i(0)] + mean_i[P_i (1 - (1 - eta K_i)^(2t))]`` with each
sample's run-averaged K (:func:`qntk.theory.lazy.noisy_eps_variance`), is recorded and plotted beside
it and quoted in the notes, with the same K_i(0).

Model: see :mod:`qntk.experiments.figures.seed001._setup` (observable seed 9, n = 4, L = 64: K(0) ≈ 35,
eps(0) ≈ 1). 001 does not give n for this figure; qntk uses the 4 qubits of Fig. 3.

Paper size: 1000 initializations per eta (001 does not say how many; 2.3% standard error on each
standard deviation) and six learning rates from 5e-4 to 2e-2 (``eta K < 2`` for every sample); about
85 s on 2 cores. As in Fig. 3 the runs share the circuit, initial angles and noise draws.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ....theory import lazy
from ..._table import Result, record, std_row
from .. import _plot
from .._checks import integer, positive, sequence_of, validate
from . import _setup

NAME = "001-fig4"
TITLE = "001 Fig. 4: std of the final eps vs learning rate eta, sigma = 0.005, K ≈ 35, eps(0) ≈ 1, t = 100"


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 001 Fig. 4; the defaults are the seed's size (``n_qubits`` is qntk's choice, 001 gives none).
    ``n_qubits``, ``n_layers``, ``sigma``, ``steps`` and ``observable_seed`` are shared fields
    (:data:`~qntk.experiments.figures._checks.SHARED`).

    Attributes:
        etas: the learning rates ``eta`` (one point of the figure each; ``eta K < 2`` for convergence).
        samples: initial angle vectors of the one circuit per eta.
        seed: master seed of the circuit, angles and noise (the same for every eta).
    """

    n_qubits: int = 4
    n_layers: int = 64
    sigma: float = 0.005
    etas: tuple[float, ...] = (5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2)
    steps: int = 100
    samples: int = 1000
    observable_seed: int = 9
    seed: int = 0

    def __post_init__(self):
        validate(self, etas=sequence_of(positive), samples=integer(2))


QUICK = Config(n_qubits=2, n_layers=8, etas=(2e-2,), steps=20, samples=8)


def run(config: Config, progress: bool = True) -> Result:
    """One noisy ensemble per eta; compares the final std of eps with sqrt of 001 eq. (31), and records
    the finite-time ensemble variance of 001 eqs. (63)-(64) (:func:`qntk.theory.lazy.noisy_eps_variance`)."""
    import xarray as xr

    steps, sigma = config.steps, config.sigma
    start = time.perf_counter()
    model, eps_all, k_all = _setup.sweep(config, [(eta, sigma) for eta in config.etas], progress)
    rows, cols = [], {k: [] for k in ("eps_final", "K_final", "eps_initial", "K_initial")}
    finite_t, t_noise = [], []
    for eta, eps, k in zip(config.etas, eps_all, k_all):
        for name, v in zip(cols, (eps[-1], k[-1], eps[0], k[0])):
            cols[name].append(v)
        finite_t.append(np.sqrt(lazy.noisy_eps_variance(eps[0], eta, k[0], sigma, steps)))
        t_noise.append(float(np.median(lazy.noise_time(eps[0], eta, k[0], sigma)[0])))
        r = std_row(f"std eps(t = {steps}), eta = {eta:g}, sqrt eq. (31)", lazy.noise_plateau_eps2(eta, k[0], sigma),
                    eps[-1], f"per-sample K(0) (mean {k[0].mean():.3g}; last step {k[-1].mean():.3g}); median T_noise = {t_noise[-1]:.3g} steps; "
                    f"finite-t eqs. (63)-(64): {finite_t[-1]:.4g}")
        if not r["within_ci"] and abs(finite_t[-1] - r["simulation"]) < abs(r["theory"] - r["simulation"]):
            r["note"] += (f"; outside the CI because t = {steps} is too short for the plateau (eta K t = "
                          f"{eta * k[0].mean() * steps:.2g}): 001 App. E says the same, the finite-t form is closer")
        rows.append(r)
    etas = np.asarray(config.etas)
    data = xr.Dataset(
        {
            **{name: (("eta", "sample"), np.stack(v)) for name, v in cols.items()},
            "std_eps": ("eta", [r["simulation"] for r in rows]),
            "sem_std_eps": ("eta", [r["sem"] for r in rows]),
            "theory_std_eps": ("eta", [r["theory"] for r in rows]),
            "theory_std_eps_finite_t": ("eta", finite_t),
            "t_noise": ("eta", t_noise),
        },
        coords={"eta": etas},
    )
    measured = {"K0_mean": float(np.mean(cols["K_initial"])), "K_final_mean": float(np.mean(cols["K_final"])),
                "eps0_mean": float(np.mean(cols["eps_initial"]))}
    return Result(NAME, data, rows, record(NAME, TITLE, config, model, _setup.note(model), start, **measured))


def plot(result: Result):
    """Std of the final eps (dots, Z-sem bars) vs eta with sqrt of 001 eq. (31) (red) and the finite-t form."""
    d = result.data
    eta = d.eta.values
    fig, ax = _plot.axes()
    ax.plot(eta, d.theory_std_eps, color="tab:red", label="sqrt of eq. (31), t -> infinity")
    ax.plot(eta, d.theory_std_eps_finite_t, color="tab:red", ls="--", lw=1, label="eqs. (63)-(64) at t = T")
    _plot.errorbar(ax, eta, d.std_eps, d.sem_std_eps, "simulation, std")
    c = result.config["config"]
    _plot.decorate(ax, r"learning rate $\eta$", r"$\sigma_\varepsilon$ = std $\varepsilon(T)$", f"{_plot.title(NAME)}: n={c['n_qubits']}, L={c['n_layers']}, "
                   f"sigma={c['sigma']:g}, T={c['steps']}, {c['samples']} samples", log=True, title_size=9)
    return fig
