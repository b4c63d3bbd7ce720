"""002 Fig. 1: sublinear convergence of QNN training with a Pauli measurement (d = 32, 64; p = 10-80).

Setup of 002 App. D.1 (:mod:`._setup`): periodic ansatz, measurement ``Z_1`` (eigenvalues +-1), four orthogonal
pure states labelled +-1, gradient descent at 002's learning rate ``1e-3 / p``, 10 initializations per point.

Checked on every run (the table):

* 002 Thm 3.2: ``L(t) >= 1 / (c0 + c1 t)^2`` with ``c0 = L(0)^(-1/2)`` and ``c1 = 12 eta sum_l ||H^(l)||^2``
  (:func:`qntk.theory.convergence.sublinear_bound`), at every recorded step of every run;
* unitarity: the spectrum of ``M(theta(t))`` stays that of ``M_0`` (002 Sec. 3), to float64 rounding;
* 002 Lemma 4.1: the kernel of each run at initialization, over ``p tr(H^2) / (d^2 - 1)``, is
  ``K_asym(M(0)) + K_pert`` (:func:`qntk.theory.convergence.kernel_decomposition`); the relative norm of
  ``K_pert`` is fitted by a power of ``p`` (``p^(-1/2)`` for a sum of ``p`` independent Haar terms);
* 002 Thm 4.2: finite-``p`` training approaches the asymptotic dynamics of 002 eq. (119) started from the same
  ``M(0)`` as ``p`` grows; the largest distance between the loss curves (relative to ``L(0)``) is fitted by a
  power ``p^b`` of ``p``, and the row holds when ``b`` is negative by more than ``Z`` bootstrap standard errors
  (the distance shrinks by the factor ``2^b < 1`` when ``p`` doubles).

Sizes: 002 trains for "the maximum number of epochs ... 10000"; qntk's paper size does too (about 25 minutes
on two cores, dominated by d = 64, p = 80).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ....theory import convergence
from ..._table import Result, bound_row, record, row
from . import _setup

NAME = "002-fig1"
TITLE = "002 Fig. 1: sublinear convergence with a Pauli measurement, d = 32, 64, m = 4, p = 10-80, 10 initializations"


@dataclasses.dataclass(frozen=True)
class Config(_setup.SweepConfig):
    """Settings of 002 Fig. 1 (the defaults are the paper's; fields: :class:`._setup.SweepConfig`)."""


QUICK = Config(qubits=(3,), params=(4, 16), steps=60, runs=3, points=10)


def run(config: Config, progress: bool = True) -> Result:
    """Trains every (d, p) point and compares with Thm 3.2's bound and with the asymptotic dynamics."""
    start = time.perf_counter()
    sw = _setup.sweep(config, progress)
    rows, bound_ratio, bound_mean = [], {}, {}
    for (n, p), r in sw.runs.items():
        b = convergence.sublinear_bound(r.loss * config.m, r.c1)
        bound_ratio[n, p], bound_mean[n, p] = b["min_ratio"], np.asarray(b["bound_mean"]) / config.m
        rows.append(bound_row(f"d = {2**n}, p = {p}: smallest L(t) / bound(t) over every step of every run, Thm 3.2",
                              1.0, b["min_ratio"], f"c1 = {b['c1']:.3g} (qntk's loss, docs/conventions.md); "
                              f"mean L(T) = {r.loss[-1].mean():.3g}"))
    pert = {}  # ||K_pert(0)|| / ||K_asym(0)|| of every run (Lemma 4.1)
    for (n, p), r in sw.runs.items():
        circuit, data = r.model.circuit(seed=0), r.model.dataset
        pert[n, p] = np.array([np.linalg.norm(kp) / np.linalg.norm(ka) for ka, kp in
                               (convergence.kernel_decomposition(r.kernel[0, i], m0, data.states, circuit)
                                for i, m0 in enumerate(r.measurements[0]))])
    if len(config.params) > 1:
        for n in config.qubits:
            b, sem = _setup.power_fit(config.params, np.array([pert[n, p] for p in config.params]))
            rows.append(row(f"d = {2**n}: exponent of ||K_pert(0)|| / ||K_asym(0)|| ~ p^b (Lemma 4.1)", -0.5, b, sem,
                            "Delta(0) is a sum of p independent Haar terms: p^(-1/2); ratios "
                            + ", ".join(f"{pert[n, p].mean():.3g}" for p in config.params)))
    rows += _setup.sweep_rows(config, sw)
    data = _setup.sweep_data(config, sw, per_run={"k_pert_over_k_asym": pert}, per_step={"bound_of_mean": bound_mean},
                             per_point={"min_loss_over_bound": bound_ratio})
    q, ps = list(config.qubits), list(config.params)
    first = sw.runs[q[0], ps[0]]
    return Result(NAME, data, rows, record(NAME, TITLE, config, first.model,
                                           _setup.note(config.qubits, config.gamma, config.m, config.lr), start))


def plot(result: Result):
    """Per d: mean L(t) with a band of half an SD (002's error bars), the asymptotic dynamics (dashed) and
    Thm 3.2's bound of the mean loss (dotted), log y; last panel: the distance to the asymptotic dynamics vs p."""
    return _setup.plot_sweep(result, NAME, log_bound=True)
