"""002 Fig. 5 (App. D.2): the relative change of K_asym(t) along the asymptotic dynamics, for varying d, gamma, m.

The asymptotic dynamics of 002 eq. (119) from ``M(0)`` of eq. (120), on ``m`` orthogonal pure states labelled
+-1, averaged over 100 initializations (002: "Each of the data point is averaged over 100 random initialization
of M(0)"), read to ``tau = 20 / gamma^2`` (converged). ``||K_asym(tau) - K_asym(0)||_F / ||K_asym(0)||_F``
is shown in three panels, each varying one of d, gamma, m around ``d = 32, gamma = 2, m = 4`` (002 gives no
base point; these are qntk's choice).

The table checks 002's reading, "K_asym(t) changes significantly (>= 5%) for each of the hyperparameters": the
final relative change of every setting is a lower bound row against 0.05, and the spectrum of ``M`` is conserved
along every solution. Paper size: about 5 minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..._table import Result, bound_row, record
from .. import _plot
from .._checks import integer, integers, positive, sequence_of, validate
from . import _setup

NAME = "002-fig5"
TITLE = "002 Fig. 5: relative change of K_asym(t) in the asymptotic dynamics, varying d, gamma and m"

#: 002's "changes significantly".
SIGNIFICANT = 0.05


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 002 Fig. 5: the base point ``(n_qubits, gamma, m)`` and the values each panel varies.

    Attributes:
        n_qubits, gamma, m: the base point (d = 2^n_qubits).
        qubits, gammas, ms: the values of the d, gamma and m panels.
        runs: initializations per setting.
        points: times read on each solution.
        horizon: ``gamma^2 tau`` at the end.
        seed: master seed.
    """

    n_qubits: int = 5
    gamma: float = 2.0
    m: int = 4
    qubits: tuple[int, ...] = (4, 5, 6)
    gammas: tuple[float, ...] = (1.5, 2.0, 4.0)
    ms: tuple[int, ...] = (2, 4, 8)
    runs: int = 100
    points: int = 40
    horizon: float = 20.0
    seed: int = 0

    def __post_init__(self):
        validate(self, gamma=positive, m=integer(2), qubits=integers(2), gammas=sequence_of(positive),
                 ms=integers(2), runs=integer(2), points=integer(2), horizon=positive)

    def settings(self) -> list[tuple[int, float, int]]:
        """``(n_qubits, gamma, m)`` of every curve, each once (the base point is on every panel)."""
        every = ([(n, self.gamma, self.m) for n in self.qubits] + [(self.n_qubits, g, self.m) for g in self.gammas]
                 + [(self.n_qubits, self.gamma, m) for m in self.ms])
        return list(dict.fromkeys(every))


QUICK = Config(n_qubits=3, qubits=(3, 4), gammas=(2.0, 4.0), ms=(2, 4), runs=4, points=10)


def run(config: Config, progress: bool = True) -> Result:
    """Integrates every setting's initializations and averages the relative change of K_asym."""
    from rich.progress import Progress

    start = time.perf_counter()
    settings = config.settings()
    frac = np.linspace(0.0, 1.0, config.points + 1) ** 2  # denser early, where K_asym moves
    change, drift = np.empty((len(settings), config.runs, frac.size)), 0.0
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("asymptotic dynamics", total=len(settings) * config.runs)
        for i, (n, gamma, m) in enumerate(settings):
            for r in range(config.runs):
                sol = _setup.asymptotic_run(n, gamma, m, frac * config.horizon / gamma**2, config.seed + 1000 * r + m)
                change[i, r], drift = sol.k_asym_relative_change, max(drift, sol.spectrum_drift)
                bar.advance(task)
    rows = []
    for i, (n, gamma, m) in enumerate(settings):
        final = change[i, :, -1]
        rows.append(bound_row(f"d = {2**n}, gamma = {gamma:g}, m = {m}: mean relative change of K_asym to the end",
                              SIGNIFICANT, float(final.mean()),
                              f"002: 'changes significantly (>= 5%)'; over {config.runs} initializations, "
                              f"smallest {final.min():.3g}"))
    rows.append(bound_row("largest deviation of the spectrum of M(tau) from M(0) over every solution", 1e-6, drift,
                          "eq. (119) conserves it; the integrator's tolerance is rtol = 1e-8", lower=False))
    import xarray as xr

    data = xr.Dataset(
        {"relative_change": (("setting", "run", "time_fraction"), change),
         "n_qubits": ("setting", [s[0] for s in settings]), "gamma": ("setting", [s[1] for s in settings]),
         "m": ("setting", [s[2] for s in settings])},
        coords={"time_fraction": frac},
    )
    mdl = _setup.model(config.n_qubits, 1, config.gamma, config.m, config.seed)
    note = (f"asymptotic dynamics (002 eq. (119)) from M(0) of eq. (120), m orthogonal pure states labelled +-1, to "
            f"tau = {config.horizon:g}/gamma^2; no circuit")
    return Result(NAME, data, rows, record(NAME, TITLE, config, mdl, note, start))


def plot(result: Result):
    """Three panels (d, gamma, m varied): the mean relative change of K_asym against gamma^2 tau, with 002's 5%."""
    from matplotlib.figure import Figure

    d, c = result.data, result.config["config"]
    fig = Figure(figsize=(12.0, 4.0), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    base = {"n_qubits": d.n_qubits.values == c["n_qubits"], "gamma": d.gamma.values == c["gamma"], "m": d.m.values == c["m"]}
    members = {"d": base["gamma"] & base["m"], "gamma": base["n_qubits"] & base["m"], "m": base["n_qubits"] & base["gamma"]}
    for ax, panel in zip(axes, ("d", "gamma", "m")):
        for j, i in enumerate(np.flatnonzero(members[panel])):
            mean = d.relative_change.isel(setting=i).mean("run")
            label = {"d": f"d = {2 ** int(d.n_qubits[i])}", "gamma": f"gamma = {float(d.gamma[i]):g}",
                     "m": f"m = {int(d.m[i])}"}[panel]
            ax.plot(d.time_fraction * c["horizon"], mean, color=f"C{j}", label=label)
        ax.axhline(SIGNIFICANT, color="gray", ls=":", lw=1, label="5%")
        ylabel = r"$\|K_{asym}(\tau) - K_{asym}(0)\|_F / \|K_{asym}(0)\|_F$" if panel == "d" else ""
        _plot.decorate(ax, r"$\gamma^2 \tau$", ylabel, f"varying {panel}")
    fig.suptitle(f"{_plot.title(NAME)}: base d = {2 ** c['n_qubits']}, gamma = {c['gamma']:g}, m = {c['m']}, "
                 f"{c['runs']} initializations", fontsize=10)
    return fig
