"""001 Fig. 4: standard deviation of the final residual error against the learning rate (sigma = 0.005).

For each eta, an ensemble of noisy gradient-descent runs of t = 100 steps (001 eq. (28)) with
K ≈ 35 and eps(0) ≈ 1 as in 001's caption; the simulation is the standard deviation of eps at the
last step over the ensemble, the theory the square root of the plateau, 001 eq. (31) (= eq. (66)),
``sigma_eps = sqrt(sigma^2 / (eta (2 - eta K)))``, averaged over samples as
``sqrt(mean_i P(K_i))`` with K_i from the last step (001 App. E).

001 notes that at small eta ``T_noise`` (001 eq. (68)) may exceed the 100 steps, so the final eps
still carries part of ``(1 - eta K)^t eps(0)`` and its noise part has not reached the plateau. The
finite-time form of 001 eqs. (63)-(64) over the ensemble,
``Var eps(t) = Var_i[(1 - eta K_i)^t eps_i(0)] + mean_i[P_i (1 - (1 - eta K_i)^(2t))]`` with each
sample's run-averaged K, is recorded and plotted beside it and quoted in the notes.

Model: see :mod:`qntk.experiments._seed001` (observable seed 9, n = 4, L = 64: K(0) ≈ 35,
eps(0) ≈ 1). 001 does not give n for this figure; qntk uses the 4 qubits of Fig. 3.

Paper size: 1000 initializations per eta (001 does not say how many; 2.3% standard error on each
standard deviation) and six learning rates from 5e-4 to 2e-2 (``eta K < 2`` for every sample); about
85 s on 2 cores. As in Fig. 3 the runs share the circuit, initial angles and noise draws.
"""

from __future__ import annotations

import time

import numpy as np

from ..theory import lazy
from . import _seed001
from .reproduce import Z, Result, std_row

NAME = "001-fig4"
TITLE = "001 Fig. 4: std of the final eps vs learning rate eta, sigma = 0.005, K ≈ 35, eps(0) ≈ 1, t = 100"
SIGMA, OBSERVABLE_SEED = 0.005, 9
PAPER = dict(qubits=4, layers=64, steps=100, samples=1000, etas=[5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2])
QUICK = dict(qubits=2, layers=8, steps=20, samples=8, etas=[2e-2])


def run(quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """One noisy ensemble per eta; compares the final std of eps with sqrt of 001 eq. (31)."""
    import xarray as xr

    size = QUICK if quick else PAPER
    steps = size["steps"]
    model = _seed001.model(size["qubits"], size["layers"], OBSERVABLE_SEED)
    start = time.perf_counter()
    rows, cols = [], {k: [] for k in ("eps_final", "K_final", "eps_initial", "K_initial", "K_run_mean")}
    finite_t, t_noise = [], []
    for eta in size["etas"]:
        eps, k = _seed001.run(model, eta, SIGMA, steps, size["samples"], seed, progress)
        k_run = k[:-1].mean(axis=0)
        for name, v in zip(cols, (eps[-1], k[-1], eps[0], k[0], k_run)):
            cols[name].append(v)
        a = 1.0 - eta * k_run
        var_t = np.var(a**steps * eps[0], ddof=1) + np.mean(lazy.noise_plateau_eps2(eta, k_run, SIGMA) * (1 - a ** (2 * steps)))
        finite_t.append(np.sqrt(var_t))
        t_noise.append(float(np.median(lazy.noise_time(eps[0], eta, k[0], SIGMA)[0])))
        r = std_row(f"std eps(t = {steps}), eta = {eta:g}, sqrt eq. (31)", lazy.noise_plateau_eps2(eta, k[-1], SIGMA),
                    eps[-1], f"K from the last step (mean {k[-1].mean():.3g}); median T_noise = {t_noise[-1]:.3g} steps; "
                    f"finite-t eqs. (63)-(64): {finite_t[-1]:.4g}")
        if not r["within_ci"] and abs(finite_t[-1] - r["simulation"]) < abs(r["theory"] - r["simulation"]):
            r["note"] += (f"; outside the CI because t = {steps} is too short for the plateau (eta K t = "
                          f"{eta * k_run.mean() * steps:.2g}): 001 App. E says the same, the finite-t form is closer")
        rows.append(r)
    etas = np.asarray(size["etas"])
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
    config = dict(title=TITLE, figure=NAME, quick=quick, seed=seed, sigma=SIGMA, **size, model=model.to_dict(),
                  model_note=_seed001.note(model), K0_mean=float(np.mean(cols["K_initial"])),
                  K_final_mean=float(np.mean(cols["K_final"])), eps0_mean=float(np.mean(cols["eps_initial"])),
                  time_s=time.perf_counter() - start)
    return Result(NAME, data, rows, config)


def plot(result: Result):
    """Std of the final eps (dots, Z-sem bars) vs eta with sqrt of 001 eq. (31) (red) and the finite-t form."""
    from matplotlib.figure import Figure

    d = result.data
    eta = d.eta.values
    fig = Figure(figsize=(5.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(eta, d.theory_std_eps, color="tab:red", label="sqrt of 001 eq. (31), t -> infinity")
    ax.plot(eta, d.theory_std_eps_finite_t, color="tab:red", ls="--", lw=1, label="001 eqs. (63)-(64) at t = T")
    ax.errorbar(eta, d.std_eps, yerr=Z * d.sem_std_eps.values, fmt="ko", ms=4, capsize=2,
                label=f"simulation, std +- {Z:g} sem")
    ax.set_xscale("log")
    ax.set_yscale("log")
    c = result.config
    ax.set(xlabel="learning rate eta", ylabel="sigma_eps = std eps(T)",
           title=f"{NAME}: n={c['qubits']}, L={c['layers']}, sigma={c['sigma']:g}, T={c['steps']}, {c['samples']} samples")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    return fig
