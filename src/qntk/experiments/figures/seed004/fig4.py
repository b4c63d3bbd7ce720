"""004 Fig. 4: the late-time loss-Hessian gap versus the target O_0 (n = 2, L = 64, XXZ with J = 2).

Model: :mod:`qntk.experiments.figures.seed004._setup` (004's random Pauli ansatz on the open XXZ chain,
``O_min = -6``, ``O_max = 4`` at ``n = 2``, ``J = 2``). For every ``O_0`` of a sweep across
``[O_min, O_max]`` and beyond, ``circuits`` random circuits (one initialization each) are trained with
the quadratic loss for ``steps`` steps; the loss Hessian ``M = g g^T + eps Hess eps`` (004 eq. (19)) at
the final angles gives the simulated spectrum. Its **gap** is the smallest non-zero eigenvalue (above
:data:`qntk.theory.hessian.NONZERO_RTOL` of the largest), the slowest mode of the imaginary-time
dynamics of 004 eq. (20); 004 does not define "spectrum gap" further (docs/conventions.md).

Theory (:mod:`qntk.theory.hessian`, from the model alone):

* ``O_min < O_0 < O_max`` (frozen kernel): ``M -> g g^T``, rank one, ``gap = E[K_inf]``, the
  restricted-Haar QNTK (004 eq. (17)) at the state where imaginary-time flow from a Haar initial state
  reaches ``<O> = O_0`` (:func:`qntk.theory.hessian.bulk_K`); this is also the orange line of 004 Fig. 4;
* ``O_0`` outside (frozen error): ``M -> R Hess<O>`` at the ground (top) state, sampled on
  ``theory_circuits`` circuits of the restricted Haar ensemble (:func:`qntk.theory.hessian.edge_spectra`),
  linear in ``|R|``; the gap closes linearly at ``O_min`` and ``O_max`` from both sides.

Rows: the mean gap at every simulated ``O_0`` away from the two critical points, and the top eigenvalue
at the inset's targets; ``sem`` combines the simulation's standard error over circuits and the theory's
Monte Carlo standard error. The inset shows the 10 largest eigenvalues at three ``O_0``.

Paper size: 004 gives ``n``, ``L``, ``J`` but not the learning rate, steps, sweep or number of
circuits; qntk takes ``eta = 2e-3``, 1000 steps, 32 circuits per ``O_0`` and 15 targets from -9 to 7
(16 runs with the inset's ``O_min``): about 15 minutes on 2 cores (extrapolated from 4 targets + inset, 16 circuits, 600 steps: 112 s at load ~7). Measured there
(theory vs simulation +- sem): gap 36.4 vs 36.8 +- 1.6 at O_0 = -8, 122.4 vs 118.6 +- 9.9 at -3, 112.5 vs
108.5 +- 13.6 at 0, 13.4 vs 13.4 +- 0.6 at 6; largest eigenvalue 105.9 vs 105.8 +- 3.1 at -8.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ....models._spec import check_real
from ....theory import hessian
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, validate
from . import _setup

NAME = "004-fig4"
TITLE = "004 Fig. 4: late-time loss-Hessian gap vs O_0, n = 2, L = 64, XXZ J = 2"


def _reals(minimum: int):
    """A tuple of at least ``minimum`` finite reals."""

    def check(name, values):
        if not isinstance(values, (list, tuple)) or len(values) < minimum:
            raise ValueError(f"{name} must be a list of at least {minimum} real numbers, got {values!r}.")
        return tuple(check_real(f"{name}[{i}]", v) for i, v in enumerate(values))

    return check


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 004 Fig. 4; the defaults are the seed's size where 004 gives it (``n``, ``L``), qntk's
    choice otherwise. ``n_qubits``, ``n_layers``, ``eta``, ``steps``, ``seed`` are shared fields.

    Attributes:
        targets: the simulated ``O_0`` (at least 3).
        inset_targets: the three ``O_0`` of the inset spectra (simulated too).
        circuits: random circuits per ``O_0``, one initialization each (the simulation's samples).
        theory_circuits: restricted-Haar circuits of the frozen-error theory, per edge.
        theory_states: Haar initial states of the frozen-kernel theory.
    """

    n_qubits: int = 2
    n_layers: int = 64
    eta: float = 2e-3
    steps: int = 1000
    targets: tuple[float, ...] = (-9.0, -8.0, -7.0, -5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0)
    inset_targets: tuple[float, ...] = (-8.0, -6.0, -3.0)
    circuits: int = 32
    theory_circuits: int = 64
    theory_states: int = 20000
    seed: int = 0

    def __post_init__(self):
        validate(self, targets=_reals(3), inset_targets=_reals(3), circuits=integer(2), theory_circuits=integer(2),
                 theory_states=integer(2))
        if len(self.inset_targets) != 3:
            raise ValueError(f"inset_targets must be three values, got {self.inset_targets!r}.")


QUICK = Config(n_layers=8, eta=0.02, steps=100, targets=(-8.0, -6.0, -3.0), inset_targets=(-8.0, -6.0, -3.0), circuits=4,
               theory_circuits=2, theory_states=500)

#: the number of largest eigenvalues in the inset (004 Fig. 4 inset).
TOP = 10


def _theory(model, config: Config):
    """``(gap(O_0), K_inf(O_0), spectrum(O_0))`` functions and Monte Carlo sems, from the model alone."""
    o = model.operator.matrix()
    o_min, o_max = model.operator.spectrum_extremes()
    unit = {}  # M at |R| = 1, per edge, sampled on first use (M is linear in R)

    def unit_spectra(edge: str) -> np.ndarray:
        if edge not in unit:
            m = dataclasses.replace(model, target=o_min - 1.0 if edge == "min" else o_max + 1.0)
            unit[edge] = hessian.edge_spectra(m, config.theory_circuits, config.seed + (edge == "max"), edge=edge)
        return unit[edge]

    gen = hessian.restricted_haar_generator(model)

    def at(o0: float, states: int):
        if o_min < o0 < o_max:
            k = hessian.bulk_K(o, model.n_layers, model.generator_scale, o0, states, config.seed, gen)
            spec = np.zeros(min(TOP, model.n_layers))
            spec[0] = k["K_inf"]
            return k["K_inf"], k["K_inf_sem"], k["K_inf"], k["K_inf_sem"], k["K_inf"], spec
        if o0 == o_min or o0 == o_max:
            return 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(min(TOP, model.n_layers))
        edge = "min" if o0 < o_min else "max"
        r = abs((o_min if edge == "min" else o_max) - o0)
        ev = r * unit_spectra(edge)
        g = hessian.gap(ev)
        n = len(g)
        return (float(g.mean()), float(g.std(ddof=1) / math.sqrt(n)), float(ev[:, -1].mean()),
                float(ev[:, -1].std(ddof=1) / math.sqrt(n)), 0.0, ev[:, ::-1][:, :TOP].mean(axis=0))

    return at, o_min, o_max


def run(config: Config, progress: bool = True) -> Result:
    """Trains every target, takes the loss-Hessian spectrum at the final angles, and compares with theory."""
    import xarray as xr

    start = time.perf_counter()
    targets = sorted(set(config.targets) | set(config.inset_targets))
    model0 = _setup.model(config.n_qubits, config.n_layers, targets[0])
    at, o_min, o_max = _theory(model0, config)
    P = model0.circuit(seed=0).n_params
    sim_ev = np.empty((len(targets), config.circuits, P))
    eps_final = np.empty((len(targets), config.circuits))
    built = {}
    for i, o0 in enumerate(targets):
        m = _setup.model(config.n_qubits, config.n_layers, o0)
        ds = _setup.run(m, config.eta, config.steps, 1, config.seed, progress, circuits=config.circuits)
        theta = ds.theta.values[-1]  # (circuit, sample, param)
        for c, cseed in enumerate(ds.circuit_seed.values):
            if int(cseed) not in built:  # the circuits do not depend on O_0: build each once
                built[int(cseed)] = m.circuit(seed=int(cseed))
            sim_ev[i, c] = hessian.loss_spectra(built[int(cseed)], m.operator, o0, theta[c])[0]
        eps_final[i] = ds.eps.values[-1, :, 0, 0]
    sim_gap = hessian.gap(sim_ev)
    sim_rank = hessian.rank(sim_ev)
    th = [at(o0, config.theory_states) for o0 in targets]
    rows = []
    n = config.circuits
    for i, o0 in enumerate(targets):
        g_th, g_sem, top_th, top_sem, _, _ = th[i]
        if g_th == 0.0:
            continue
        regime = "frozen kernel: gap = E[K_inf]" if o_min < o0 < o_max else "frozen error: R Hess<O> at the edge state"
        sem = math.hypot(sim_gap[i].std(ddof=1) / math.sqrt(n), g_sem)
        rows.append(row(f"gap at O_0 = {o0:g}", g_th, sim_gap[i].mean(), sem,
                        f"{regime}; median rank {int(np.median(sim_rank[i]))}; sem: simulation and theory Monte Carlo"))
        if o0 in config.inset_targets and not o_min < o0 < o_max:
            top = sim_ev[i, :, -1]
            rows.append(row(f"largest eigenvalue at O_0 = {o0:g}", top_th, top.mean(),
                            math.hypot(top.std(ddof=1) / math.sqrt(n), top_sem), regime))
    lo = targets[0] - 1.0 if targets[0] < o_min else o_min  # beyond an edge only where the sweep goes
    hi = targets[-1] + 1.0 if targets[-1] > o_max else o_max
    grid = np.unique(np.r_[np.linspace(lo, hi, 81), o_min, o_max])
    line = [at(float(x), max(config.theory_states // 10, 100)) for x in grid]
    data = xr.Dataset(
        {
            "eigenvalues": (("target", "circuit", "index"), sim_ev),
            "gap": (("target", "circuit"), sim_gap),
            "nonzero_count": (("target", "circuit"), sim_rank),
            "eps_final": (("target", "circuit"), eps_final),
            "theory_gap": ("target", np.array([t[0] for t in th])),
            "theory_gap_sem": ("target", np.array([t[1] for t in th])),
            "theory_top_spectrum": (("target", "top"), np.array([t[5] for t in th])),
            "theory_gap_line": ("grid", np.array([t[0] for t in line])),
            "theory_K_inf_line": ("grid", np.array([t[4] for t in line])),
        },
        coords={"target": np.array(targets), "grid": grid, "top": np.arange(min(TOP, P))},
    )
    measured = {"O_min": o_min, "O_max": o_max, "max_abs_residual_bulk": float(np.max(np.abs(
        eps_final[[o_min < t < o_max for t in targets]]), initial=0.0))}
    return Result(NAME, data, rows, record(NAME, TITLE, config, model0, _setup.note(
        model0, f"O_0 swept over {targets[0]:g}..{targets[-1]:g}; eta = {config.eta:g}, {config.steps} steps"), start, **measured))


def plot(result: Result):
    """The gap vs ``O_0`` (simulation dots, theory black, ``E[K_inf]`` orange, critical points red) and the
    inset of the 10 largest eigenvalues at three targets."""
    d = result.data
    cfg = result.config
    fig, ax = _plot.axes(width=6.4)
    ax.plot(d.grid, d.theory_gap_line, "k-", lw=1.2, label="theory: late-time gap (qntk.theory.hessian)")
    ax.plot(d.grid, d.theory_K_inf_line, color="tab:orange", lw=1, ls="--", label="restricted-Haar E[K_inf]")
    n = d.gap.shape[1]
    _plot.errorbar(ax, d.target, d.gap.mean("circuit"), d.gap.std("circuit", ddof=1) / np.sqrt(n), "simulation")
    ax.plot([cfg["O_min"], cfg["O_max"]], [0, 0], "r^", ms=8, label="O_min, O_max")
    inset = ax.inset_axes([0.62, 0.58, 0.36, 0.38])
    colors = ("tab:green", "tab:red", "tab:blue")
    for c, o0 in zip(colors, cfg["config"]["inset_targets"]):
        spec = np.sort(d.eigenvalues.sel(target=o0).values, axis=-1)[:, ::-1][:, :d.top.size].mean(axis=0)
        inset.plot(d.top + 1, spec, "o", color=c, ms=3, label=f"O_0 = {o0:g}")
        inset.plot(d.top + 1, d.theory_top_spectrum.sel(target=o0), "-", color=c, lw=0.8)
    inset.set_yscale("symlog", linthresh=1e-2)
    inset.set_xlabel("index", fontsize=7)
    inset.tick_params(labelsize=6)
    inset.legend(fontsize=6)
    c = cfg["config"]
    _plot.decorate(ax, "target $O_0$", "Hessian gap (smallest non-zero eigenvalue)",
                   f"{_plot.title(NAME)}: n={c['n_qubits']}, L={c['n_layers']}, eta={c['eta']:g}, {c['steps']} steps, "
                   f"{c['circuits']} circuits", title_size=9, legend_size=7, loc="upper left")
    return fig
