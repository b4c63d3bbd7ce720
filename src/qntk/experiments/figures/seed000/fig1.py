"""000 Fig. 1: mean QNTK K̄ and its relative spread Delta K / K̄ versus depth L, 4 qubits, L up to 40.

Model (000 eq. (20)): ``U = prod_l W_l exp(+i theta_l P_l)`` (``s = -1``), ``P_l`` uniform over the
Pauli group minus the identity, ``W_l`` Haar, 000's observable ``O = sum_{j=1}^{10} c_j P_j``, angles
uniform in ``[0, 2 pi)``. 000 samples 1000 angle vectors of one circuit per L; qntk draws 50 circuits x
20 angle vectors (1000 samples per L), because the theory is an average over circuits too and its
standard error must include the circuit-to-circuit spread (cluster-robust, see docs/conventions.md).

Theory: the exact finite-d Haar averages of :mod:`qntk.theory.haar` (E[K]: 001 eq. (22); Var K: the
chain model of independent Haar gates between rotations, which the random Pauli ansatz realizes),
beside 000's large-d forms eq. (9) ``K̄ ≈ L tr(O^2)/d^2`` and eq. (12) (:mod:`qntk.theory.large_d`).
The first rotation acts on ``|0...0>`` rather than on a Haar state, a small correction the rows'
notes quantify.

Example (a smaller figure: 5 qubits)::

    result = run(Config(n_qubits=5))     # qntk reproduce 000-fig1 --set n_qubits=5
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ....theory import haar, large_d
from ... import kernel_stats
from ..._table import Result, record, row
from ...papers import cite
from .. import _plot
from .._checks import integer, integers, validate
from ..seed001 import _setup

NAME = "000-fig1"
TITLE = "000 Fig. 1: K̄ and Delta K / K̄ vs depth L, n = 4, 1000 samples per L"


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 000 Fig. 1; the defaults are the seed's size. ``n_qubits``, ``observable_seed`` and
    ``n_boot`` (here resampling whole circuits) are shared fields (:data:`~qntk.experiments.figures._checks.SHARED`).

    Attributes:
        layers: the depths ``L`` (one point of the figure each).
        circuits: random circuits per depth.
        samples: angle vectors per circuit.
        seed: master seed (depth ``L`` uses ``seed + L`` for its circuits and angles).
    """

    n_qubits: int = 4
    layers: tuple[int, ...] = (4, 8, 16, 24, 32, 40)
    circuits: int = 50
    samples: int = 20
    observable_seed: int = 0
    n_boot: int = 200
    seed: int = 0

    def __post_init__(self):
        validate(self, layers=integers(1), circuits=integer(2), samples=integer(1))


QUICK = Config(n_qubits=2, layers=(4, 8), circuits=4, samples=5)


def _cluster_bootstrap_sem(k: np.ndarray, rng: np.random.Generator, n_boot: int) -> float:
    """Standard error of ``std(K) / mean(K)`` by resampling whole circuits (rows of ``k``)."""
    idx = rng.integers(0, k.shape[0], size=(n_boot, k.shape[0]))
    stats = [np.std(k[i].ravel(), ddof=1) / np.mean(k[i]) for i in idx]
    return float(np.std(stats, ddof=1))


def run(config: Config, progress: bool = True) -> Result:
    """K statistics per depth from :mod:`qntk.experiments.kernel_stats`, against the exact Haar averages."""
    import xarray as xr

    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    rows, cols = [], {k: [] for k in ("K_mean", "K_sem", "dK_over_K", "dK_over_K_sem", "theory_K", "theory_dK_over_K",
                                      "eq9_K", "eq12_dK_over_K")}
    for layers in config.layers:
        model = _setup.model(config.n_qubits, layers, config.observable_seed)
        cfg = kernel_stats.KernelStatsConfig(model, samples=config.samples, circuits=config.circuits,
                                             seed=config.seed + layers)
        k = kernel_stats.run(cfg, progress=progress)["K"]
        o = model.operator.matrix()
        k_th = haar.mean_K(o, None, layers, -1.0)
        dk_th = np.sqrt(haar.var_K(o, None, layers, -1.0, model="chain")) / k_th
        eq9 = large_d.mean_K(o, layers)
        eq12 = large_d.std_K(o, layers) / eq9
        mean, _, sem = kernel_stats.mean_std_sem(k)
        ratio = float(np.std(k.ravel(), ddof=1) / np.mean(k))
        ratio_sem = _cluster_bootstrap_sem(k, rng, config.n_boot)
        for name, value in zip(cols, (mean, sem, ratio, ratio_sem, k_th, dk_th, eq9, eq12)):
            cols[name].append(value)
        rows.append(row(f"K̄, L = {layers}", k_th, mean, sem,
                        f"exact Haar E[K] (001 eq. (22)); 000 eq. (9) gives {eq9:.4g}"))
        rows.append(row(f"Delta K / K̄, L = {layers}", dk_th, ratio, ratio_sem,
                        f"exact Haar chain model; 000 eq. (12)/(9) gives {eq12:.4g}; sem by circuit bootstrap"))
    data = xr.Dataset({name: ("layers", np.asarray(v, float)) for name, v in cols.items()},
                      coords={"layers": np.asarray(config.layers)})
    model_note = _setup.note(model, f"{config.circuits} circuits x {config.samples} angle vectors per L")
    return Result(NAME, data, rows, record(NAME, TITLE, config, model, model_note, start))


def plot(result: Result):
    """Two panels against the depth L (log-log): Delta K / K̄ (left) and K̄ (right), simulation with Z-sem bars,
    the exact Haar theory and 000's large-d formulas."""
    from matplotlib.figure import Figure

    d = result.data
    L = d.layers.values
    fig = Figure(figsize=(9.0, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    _plot.errorbar(left, L, d.dK_over_K, d.dK_over_K_sem, "simulation")
    left.plot(L, d.theory_dK_over_K, color="tab:red", label="exact Haar average (chain model)")
    left.plot(L, d.eq12_dK_over_K, "k--", lw=1, label="large-d formula, eqs. (12)/(9)")
    _plot.decorate(left, "depth $L$", r"relative QNTK fluctuation $\Delta K / \bar K$", "QNTK fluctuation", log=True)
    _plot.errorbar(right, L, d.K_mean, d.K_sem, "simulation")
    right.plot(L, d.theory_K, color="tab:red", label="exact Haar average, " + cite("001", "eq. (22)"))
    right.plot(L, d.eq9_K, "k--", lw=1, label="large-d formula, eq. (9)")
    _plot.decorate(right, "depth $L$", r"mean QNTK $\bar K$", "mean QNTK", log=True)
    c = result.config["config"]
    fig.suptitle(f"{_plot.title(NAME)}: random Pauli ansatz, n = {c['n_qubits']}, "
                 f"{c['samples']} samples x {c['circuits']} circuits per L", fontsize=10)
    return fig
