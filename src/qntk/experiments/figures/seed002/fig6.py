"""002 Fig. 6 (App. D.2): lambda_min(K_asym(t)) during the training of QNNs, m = 4, gamma = 2, varying d.

Setup of 002 App. D.1 (:mod:`._setup`): finite-``p`` gradient descent (periodic ansatz, measurement ``2 Z_1``,
four orthogonal states labelled +-1, 002's learning rate ``1e-3 / p``), with ``M(theta(t))`` read every
``snapshot_every`` steps and ``K_asym(M)`` of 002 eq. (7) computed from it. 002 gives neither ``p`` nor the
number of steps for this figure; qntk uses ``p = 80`` (Fig. 1's largest) and 3000 steps (the loss falls by
about 6 e-folds), 5 initializations per d.

The table compares each run with the asymptotic dynamics of 002 eq. (119) from its own ``M(theta(0))`` (a
prediction from the initialization alone): ``lambda_min(K_asym)`` at the end of training, and checks 002's
reading that ``K_asym`` is not frozen (its smallest eigenvalue moves by more than 5% during training) and the
spectrum of ``M(theta(t))``. Paper size: about 6 minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ....theory import convergence
from ..._table import Result, bound_row, paired_row, record
from .. import _plot
from .._checks import integer, integers, positive, validate
from . import _setup

NAME = "002-fig6"
TITLE = "002 Fig. 6: lambda_min(K_asym(t)) during training, m = 4, gamma = 2, varying d"


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 002 Fig. 6 (``params``, ``steps``, ``runs`` are qntk's choices).

    Attributes:
        qubits: ``n`` of each curve (``d = 2^n``).
        params: parameters ``p``.
        m, gamma, lr: as in Fig. 1.
        steps: gradient-descent steps.
        runs: initializations per d.
        snapshot_every: steps between readings of ``M(theta(t))``.
        seed: master seed.
    """

    qubits: tuple[int, ...] = (4, 5, 6)
    params: int = 80
    m: int = 4
    gamma: float = 2.0
    lr: float = 1e-3
    steps: int = 3000
    runs: int = 5
    snapshot_every: int = 100
    seed: int = 0

    def __post_init__(self):
        validate(self, qubits=integers(2), params=integer(1), m=integer(2), gamma=positive, lr=positive,
                 runs=integer(2), snapshot_every=integer(1))


QUICK = Config(qubits=(3,), params=16, lr=0.02, steps=60, runs=3, snapshot_every=10)


def run(config: Config, progress: bool = True) -> Result:
    """Trains every d, reads K_asym along training and along the asymptotic dynamics from the same M(0)."""
    start = time.perf_counter()
    rows, sim, asym, snaps = [], [], [], None
    for n in config.qubits:
        r = _setup.train_runs(n, config.params, config.gamma, config.m, config.lr, config.steps, config.runs,
                              config.seed, progress, snapshot_every=config.snapshot_every)
        snaps = r.snapshot_steps
        states = r.model.dataset.states
        lam = np.array([[np.linalg.eigvalsh(convergence.k_asym(x, states))[0] for x in snap] for snap in r.measurements])
        lam_asym = np.stack([s.k_asym_eigenvalues[:, 0] for s in _setup.asymptotic(r, snaps)], axis=1)
        sim.append(lam)
        asym.append(lam_asym)
        r_ = paired_row(f"d = {2**n}: lambda_min(K_asym) at the end of training, asymptotic dynamics from each run's M(0)",
                        lam_asym[-1], lam[-1], f"p = {config.params}; at t = 0 both are {lam[0].mean():.4g} on average")
        if not r_["within_ci"]:
            r_["note"] += (f"; outside the CI because p is finite: the asymptotic dynamics is the p -> infinity limit "
                           f"(Thm 4.2), and p = {config.params} is far below d^2 = {4**n}")
        rows.append(r_)
        moved = np.abs(lam[-1] / lam[0] - 1.0)
        rows.append(bound_row(f"d = {2**n}: mean |lambda_min(T) / lambda_min(0) - 1| during training", 0.05,
                              float(moved.mean()), "002: K_asym is not frozen; smallest over the runs "
                              f"{moved.min():.3g}"))
        rows.append(bound_row(f"d = {2**n}: largest deviation of the spectrum of M(theta(t)) from M_0's", 1e-10,
                              r.spectrum_drift, "unitarity (Sec. 3)", lower=False))
    import xarray as xr

    data = xr.Dataset(
        {"lambda_min": (("n_qubits", "snapshot_step", "run"), np.stack(sim)),
         "lambda_min_asymptotic": (("n_qubits", "snapshot_step", "run"), np.stack(asym))},
        coords={"n_qubits": list(config.qubits), "snapshot_step": snaps},
    )
    mdl = _setup.model(config.qubits[0], config.params, config.gamma, config.m, config.seed)
    return Result(NAME, data, rows, record(NAME, TITLE, config, mdl,
                                           _setup.note(config.qubits, config.gamma, config.m, config.lr), start))


def plot(result: Result):
    """lambda_min(K_asym(t)) during training per d (mean, band of one SD), with the asymptotic dynamics dashed."""
    d, c = result.data, result.config["config"]
    fig, ax = _plot.axes()
    for i, n in enumerate(d.n_qubits.values):
        lam = d.lambda_min.sel(n_qubits=n)
        mean, sd = lam.mean("run"), lam.std("run", ddof=1)
        ax.plot(d.snapshot_step, mean, color=f"C{i}", label=f"d = {2 ** int(n)}, p = {c['params']}")
        ax.fill_between(d.snapshot_step, mean - sd, mean + sd, color=f"C{i}", alpha=0.2, lw=0)
        ax.plot(d.snapshot_step, d.lambda_min_asymptotic.sel(n_qubits=n).mean("run"), "--", color=f"C{i}", lw=1)
    ax.plot([], [], "k--", lw=1, label="asymptotic dynamics, eq. (119)")
    _plot.decorate(ax, "step $t$", r"$\lambda_{min}(K_{asym}(M(\theta(t))))$",
                   f"{_plot.title(NAME)}: m = {c['m']}, gamma = {c['gamma']:g}, lr = {c['lr']:g}/p, {c['runs']} runs",
                   title_size=9)
    return fig
