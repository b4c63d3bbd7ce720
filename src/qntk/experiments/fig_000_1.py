"""000 Fig. 1: mean QNTK K̄ and its relative spread Delta K / K̄ versus depth L, 4 qubits, L up to 40.

Model (000 eq. (20)): ``U = prod_l W_l exp(+i theta_l P_l)`` (``s = -1``), ``P_l`` uniform over the
Pauli group minus the identity, ``W_l`` Haar, 000's observable ``O = sum_{j=1}^{10} c_j P_j``, angles
uniform in ``[0, 2 pi)``. 000 samples 1000 angle vectors of one circuit per L; qntk draws 50 circuits x
20 angle vectors (1000 samples per L), because the theory is an average over circuits too and its
standard error must include the circuit-to-circuit spread (cluster-robust, see docs/conventions.md).

Theory: the exact finite-d Haar averages of :mod:`qntk.theory.haar` (E[K]: 001 eq. (22); Var K: the
chain model of independent Haar gates between rotations, which the random Pauli ansatz realizes),
beside 000's large-d forms eq. (9) ``K̄ ≈ L tr(O^2)/d^2`` and eq. (12). The first rotation acts on
``|0...0>`` rather than on a Haar state, a small correction the rows' notes quantify.
"""

from __future__ import annotations

import time

import numpy as np

from ..theory import haar
from . import _seed001, kernel_stats
from .reproduce import Z, Result, row

NAME = "000-fig1"
TITLE = "000 Fig. 1: K̄ and Delta K / K̄ vs depth L, n = 4, 1000 samples per L"
OBSERVABLE_SEED = 0
PAPER = dict(qubits=4, layers=[4, 8, 16, 24, 32, 40], circuits=50, samples=20)
QUICK = dict(qubits=2, layers=[4, 8], circuits=4, samples=5)
N_BOOT = 200


def _cluster_bootstrap_sem(k: np.ndarray, rng: np.random.Generator) -> float:
    """Standard error of ``std(K) / mean(K)`` by resampling whole circuits (rows of ``k``)."""
    idx = rng.integers(0, k.shape[0], size=(N_BOOT, k.shape[0]))
    stats = [np.std(k[i].ravel(), ddof=1) / np.mean(k[i]) for i in idx]
    return float(np.std(stats, ddof=1))


def run(quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """K statistics per depth from :mod:`kernel_stats`, against the exact Haar averages."""
    import xarray as xr

    size = QUICK if quick else PAPER
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    rows, cols = [], {k: [] for k in ("K_mean", "K_sem", "dK_over_K", "dK_over_K_sem", "theory_K", "theory_dK_over_K",
                                      "eq9_K", "eq12_dK_over_K")}
    for layers in size["layers"]:
        model = _seed001.model(size["qubits"], layers, OBSERVABLE_SEED)
        cfg = kernel_stats.KernelStatsConfig(model, samples=size["samples"], circuits=size["circuits"], seed=seed + layers)
        k = kernel_stats.run(cfg, progress=progress)["K"]
        o = model.observable_obj().matrix()
        d = o.shape[0]
        k_th = haar.mean_qntk(o, None, layers, -1.0)
        dk_th = np.sqrt(haar.var_qntk(o, None, layers, -1.0, model="chain")) / k_th
        tr2, tr4 = np.trace(o @ o).real, np.trace(np.linalg.matrix_power(o, 4)).real
        eq9 = layers * tr2 / d**2
        eq12 = np.sqrt(layers) / d**2 * np.sqrt(8 * tr2**2 + 12 * tr4) / eq9
        mean, _, sem = kernel_stats.mean_std_sem(k)
        ratio = float(np.std(k.ravel(), ddof=1) / np.mean(k))
        ratio_sem = _cluster_bootstrap_sem(k, rng)
        for name, value in zip(cols, (mean, sem, ratio, ratio_sem, k_th, dk_th, eq9, eq12)):
            cols[name].append(value)
        rows.append(row(f"K̄, L = {layers}", k_th, mean, sem,
                        f"exact Haar E[K] (001 eq. (22)); 000 eq. (9) gives {eq9:.4g}"))
        rows.append(row(f"Delta K / K̄, L = {layers}", dk_th, ratio, ratio_sem,
                        f"exact Haar chain model; 000 eq. (12)/(9) gives {eq12:.4g}; sem by circuit bootstrap"))
    data = xr.Dataset({name: ("layers", np.asarray(v, float)) for name, v in cols.items()},
                      coords={"layers": np.asarray(size["layers"])})
    model_note = _seed001.note(model, f"{size['circuits']} circuits x {size['samples']} angle vectors per L")
    config = dict(title=TITLE, figure=NAME, quick=quick, seed=seed, model_note=model_note, model=model.to_dict(), time_s=time.perf_counter() - start,
                  **{k: v for k, v in size.items()})
    return Result(NAME, data, rows, config)


def plot(result: Result):
    """Delta K / K̄ vs L (main panel) and K̄ vs L (inset), simulation with Z-sem bars, theory lines."""
    from matplotlib.figure import Figure

    d = result.data
    L = d.layers.values
    fig = Figure(figsize=(5.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(L, d.dK_over_K, yerr=Z * d.dK_over_K_sem.values, fmt="ko", ms=4, capsize=2, label=f"simulation +- {Z:g} sem")
    ax.plot(L, d.theory_dK_over_K, color="tab:red", label="exact Haar (chain model)")
    ax.plot(L, d.eq12_dK_over_K, "k--", lw=1, label="000 eqs. (12)/(9)")
    ax.set(xlabel="L", ylabel="Delta K / K̄", title=f"{NAME}: n={result.config['qubits']}")
    ax.legend(fontsize=8, loc="upper right")
    inset = ax.inset_axes([0.2, 0.45, 0.35, 0.35])
    inset.errorbar(L, d.K_mean, yerr=Z * d.K_sem.values, fmt="o", color="tab:green", ms=3, capsize=2)
    inset.plot(L, d.theory_K, color="tab:red", lw=1)
    inset.plot(L, d.eq9_K, "k--", lw=1)
    inset.set_title("K̄ vs L", fontsize=8)
    inset.tick_params(labelsize=7)
    return fig
