"""000 Fig. 3: lowest eigenvalue of the supervised QNTK matrix versus the training set size |A|, n = 4, L = 64.

Model (000 eq. (20), as in 000 Fig. 1): ``U = prod_l W_l exp(+i theta_l P_l)`` (``s = -1``), ``P_l``
uniform over the Pauli group minus the identity, ``W_l`` Haar, 000's observable
``O = sum_{j=1}^{10} c_j P_j`` (``observable_seed`` as in Fig. 1), angles uniform in ``[0, 2 pi)``. The
inputs are ``|A|`` mutually orthogonal Haar-random states (``sigma_ab = delta_ab``, 000 eq. (19)). For
each ``|A|`` in 2..10, each of 50 instances draws its own circuit, angles and input set; its kernel
matrix ``K_ab`` (000 eq. (17), :func:`qntk.kernels.qntk_matrix_fn`) gives one lowest eigenvalue.

Theory: 000 eq. (21), ``2 L (d - |A|) (d tr O^2 - tr^2 O) / (d^2 - 1)^2``, the lowest eigenvalue of the
mean matrix ``E[K] = c (d 1 - J)`` (:mod:`qntk.theory.supervised`), beside the exact mean matrix with
the first rotation acting on the inputs themselves (``first_layer_generators`` = all ``4^n - 1``
Pauli strings). Both coincide for every orthonormal input set: averaged over the non-identity Pauli
strings, ``tr([rho_a, P][rho_b, P])`` equals its Haar average, so eq. (21) is exact in d here.

000 plots "the value of the smallest eigenvalue" from 50 instances, read here as the mean of the
per-instance lowest eigenvalues. That is not the lowest eigenvalue of the mean: ``lambda_min`` is
concave, so ``E[lambda_min(K)] <= lambda_min(E[K])``, and with ``Delta K / K̄ ~ 1/sqrt(L)`` (000 eq.
(12)) the per-instance ``||K - E[K]||_2`` exceeds the eigenvalue gap ``c |A|`` of ``E[K]``, so the bias
is about 30% at L = 64. The table therefore has two rows per ``|A|``: the like-for-like
``lambda_min`` of the sample-mean matrix (standard error by bootstrap over instances) against the
exact ``E[K]``, and 000's mean of ``lambda_min`` against eq. (21), whose note gives the Jensen gap
``lambda_min(mean K) - mean lambda_min(K)`` measured on the same instances.
000 does not say how it drew the circuits; qntk draws a new circuit per instance, since eq. (21)
averages over circuits too.
"""

from __future__ import annotations

import dataclasses
import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np

from .... import kernels
from ....models import circuits, pauli, states
from ....models.ansatze import circuit_seeds
from ....theory import supervised
from ... import kernel_stats
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, integers, validate
from ..seed001 import _setup

NAME = "000-fig3"
TITLE = "000 Fig. 3: lowest QNTK eigenvalue vs training set size |A|, n = 4, L = 64, 50 instances"


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 000 Fig. 3; the defaults are the seed's size. ``n_qubits``, ``n_layers``,
    ``observable_seed`` and ``n_boot`` (here resampling whole instances) are shared fields
    (:data:`~qntk.experiments.figures._checks.SHARED`).

    Attributes:
        n_data: the training set sizes ``|A|`` (one point of the figure each), each below ``d = 2^n``.
        instances: instances per ``|A|``, each a new circuit, angles and input set.
        seed: master seed (size ``|A|`` uses ``seed + |A|`` for its circuits, inputs and angles).
    """

    n_qubits: int = 4
    n_layers: int = 64
    n_data: tuple[int, ...] = tuple(range(2, 11))
    instances: int = 50
    observable_seed: int = 0
    n_boot: int = 200
    seed: int = 0

    def __post_init__(self):
        validate(self, n_data=integers(1), instances=integer(2))
        if max(self.n_data) >= 2**self.n_qubits:
            raise ValueError(f"n_data must stay below d = 2^n_qubits = {2**self.n_qubits} (eq. (21) vanishes at |A| = d), "
                             f"got {max(self.n_data)}.")


QUICK = Config(n_qubits=2, n_layers=4, n_data=(2, 3), instances=4)


@jax.jit
def _kernel_matrices(circuit, observable, thetas, inputs):
    """``K`` of each instance: stacked circuits, angles ``(N, L)``, inputs ``(N, m, d)`` -> ``(N, m, m)``."""
    return jax.vmap(lambda c, t, x: kernels.qntk_matrix_fn(c, observable)(t, states=x))(circuit, thetas, inputs)


def _bootstrap_sems(k: np.ndarray, lowest: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, float]:
    """Standard errors of ``lambda_min(mean K)`` and of the Jensen gap ``lambda_min(mean K) - mean lambda_min(K)``,
    resampling whole instances (``k`` has shape ``(N, m, m)``, ``lowest`` shape ``(N,)``)."""
    idx = rng.integers(0, k.shape[0], size=(n_boot, k.shape[0]))
    low = np.array([np.linalg.eigvalsh(k[i].mean(axis=0))[0] for i in idx])
    return float(np.std(low, ddof=1)), float(np.std(low - lowest[idx].mean(axis=1), ddof=1))


def run(config: Config, progress: bool = True) -> Result:
    """Per ``|A|``, the lowest eigenvalue of each instance's kernel matrix and of their mean, against 000 eq. (21)."""
    import xarray as xr
    from rich.progress import Progress

    n, layers, n_inst, sizes, seed = config.n_qubits, config.n_layers, config.instances, config.n_data, config.seed
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    model = _setup.model(n, layers, config.observable_seed)
    ansatz, observable = model.ansatz_spec, model.operator
    o = observable.matrix()
    d = o.shape[0]
    scale = float(model.scale)
    paulis = [pauli.PauliString.from_label("".join(p)).matrix() for p in itertools.product("IXYZ", repeat=n)][1:]
    m_max = max(sizes)
    k_all = np.full((len(sizes), n_inst, m_max, m_max), np.nan)
    cols = {k: [] for k in ("lowest_mean", "lowest_sem", "lowest_of_mean_K", "lowest_of_mean_K_sem", "jensen_gap",
                            "jensen_gap_sem", "eq21", "exact")}
    rows, lowest_all = [], []
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("000 Fig. 3 kernel matrices", total=len(sizes))
        for s, m in enumerate(sizes):
            seeds = circuit_seeds(seed + m, 2 * n_inst)  # circuits, then input sets
            circuit = circuits.stack([ansatz.circuit(seed=cs) for cs in seeds[:n_inst]])
            # m_max states per instance, so that one shape compiles: the kernel of the first m is the m x m block
            inputs = np.stack([states.orthogonal_states(n, m_max, seed=xs) for xs in seeds[n_inst:]])
            thetas = jax.random.uniform(jax.random.key(seed + m), (n_inst, layers), maxval=2 * jnp.pi)
            k = np.asarray(_kernel_matrices(circuit, observable, thetas, jnp.asarray(inputs)))[:, :m, :m]
            k_all[s, :, :m, :m] = k
            lowest = np.linalg.eigvalsh(k)[:, 0]
            mean, _, sem = kernel_stats.mean_std_sem(lowest[:, None])
            low_of_mean = float(np.linalg.eigvalsh(k.mean(axis=0))[0])
            low_sem, gap_sem = _bootstrap_sems(k, lowest, rng, config.n_boot)
            gap = low_of_mean - mean
            eq21 = supervised.lowest_eigenvalue_orthogonal(m, o, layers, scale)
            # the same for every orthonormal input set (module docstring), so computed on one
            k_exact = supervised.mean_kernel_matrix(inputs[0, :m], [o], layers, scale, first_layer_generators=paulis)
            exact = float(np.linalg.eigvalsh(k_exact)[0])
            spread = float(np.mean(np.linalg.norm(k - k_exact, ord=2, axis=(1, 2))))
            for name, value in zip(cols, (mean, sem, low_of_mean, low_sem, gap, gap_sem, eq21, exact)):
                cols[name].append(value)
            lowest_all.append(lowest)
            rows.append(row(f"lambda_min(mean K), |A| = {m}", exact, low_of_mean, low_sem,
                            f"exact E[K] with the first rotation on the inputs (= 000 eq. (21)); {n_inst} instances, "
                            "each a new circuit, angles and input set; sem by instance bootstrap"))
            rows.append(row(f"mean lambda_min(K), |A| = {m}", eq21, mean, sem,
                            f"000 eq. (21), as plotted in 000; E[lambda_min(K)] <= lambda_min(E[K]) biases this mean "
                            f"low: the per-instance fluctuation ||K - E[K]||_2 = {spread:.3g} (mean) exceeds the "
                            f"eigenvalue gap c |A| = {eq21 * m / (d - m):.3g} of E[K]; Jensen gap lambda_min(mean K) - mean lambda_min(K) = "
                            f"{gap:.3g} +- {gap_sem:.2g} ({gap / eq21:.1%} of eq. (21))"))
            bar.advance(task)
    data = xr.Dataset({name: ("n_data", np.asarray(v, float)) for name, v in cols.items()},
                      coords={"n_data": np.asarray(sizes), "instance": np.arange(n_inst)})
    data["lowest"] = (("n_data", "instance"), np.asarray(lowest_all))
    data["K"] = (("n_data", "instance", "a", "b"), k_all)
    model_note = _setup.note(model, f"{n_inst} instances per |A|, each with its own circuit, angles and orthonormal "
                                    "Haar-random inputs")
    return Result(NAME, data, rows, record(NAME, TITLE, config, model, model_note, start))


def plot(result: Result):
    """Lowest eigenvalue vs ``|A|``: per-instance values (faint), their mean and ``lambda_min(mean K)`` with
    ``Z``-sem bars, 000 eq. (21) (orange solid) and the exact mean matrix (dashed)."""
    d = result.data
    m = d.n_data.values
    fig, ax = _plot.axes()
    ax.plot(np.repeat(m, d.sizes["instance"]), d.lowest.values.ravel(), ".", color="0.6", ms=3, alpha=0.4,
            label="per instance")
    _plot.errorbar(ax, m - 0.08, d.lowest_mean, d.lowest_sem, "mean lambda_min(K)")
    _plot.errorbar(ax, m + 0.08, d.lowest_of_mean_K, d.lowest_of_mean_K_sem, "lambda_min(mean K)", fmt="s",
                   color="tab:green")
    ax.plot(m, d.eq21, color="tab:orange", label="eq. (21)")
    ax.plot(m, d.exact, "k--", lw=1, label="exact E[K] (first layer on inputs)")
    cfg = result.config["config"]
    _plot.decorate(ax, "|A|", "lowest kernel eigenvalue",
                   f"{_plot.title(NAME)}: n={cfg['n_qubits']}, L={cfg['n_layers']}, {cfg['instances']} instances")
    return fig
