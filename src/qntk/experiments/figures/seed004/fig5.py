"""004 Fig. 5: late-time sample fluctuations SD/mean of λ_inf and ζ_inf versus L (n = 5, projector, O_0 = 1).

Model: 004's random Pauli ansatz (004 eqs. (26)-(27), ``s = 1/2``) preparing a fixed Haar-random state,
``O = |Phi><Phi|`` (``projector:seed=<state_seed>``), quadratic loss with ``O_0 = 1`` (the critical point of
state preparation, 004 Theorem 1). Each instance is a new circuit and initialization trained ``steps``
steps; at the final angles ``λ = mu / K`` (004 eq. (9)) and ``ζ = eps mu / K^2`` (004 eq. (13)) are
evaluated exactly (:func:`qntk.kernels.qntk_fn`); both are ratios in which ``kappa = 1 - F -> 0``
cancels. The figure plots ``SD / |mean|`` over instances, per depth ``L``.

Theory: qntk has no closed form of the restricted-Haar variance of ``λ`` or ``ζ`` (004 derives the means
only, Theorem 3 and Supplementary Note 12). The theory column is therefore the model-only restricted-Haar
sampler (:func:`qntk.theory.restricted_haar.sample_circuit`, 004 eq. (17)): ``draws`` random Pauli
ansatz circuits whose output is ``sqrt(1 - kappa) |Phi> + sqrt(kappa) |chi>`` (``chi`` a Haar state
orthogonal to ``Phi``, ``kappa`` = ``sampler_kappa``) and is Haar otherwise, with no training. It is a Monte
Carlo estimate: each row's ``sem`` combines the standard errors of both (delta method over independent
instances and draws), so the interval tests their difference. The power-law rows fit
``log(SD/mean) = a + b log L`` by least squares to each set of points (004 fits the training points, red
dashed in 004 Fig. 5; the exponent is fitted, not predicted).

The learning rate at depth ``L`` is ``eta max(layers) / L`` (the same ``eta K̄``, ``K̄ ∝ L``, 004 eq. (35)).
Late gradient descent leaves the residual error along the softest directions of the state-space metric
rather than a random one (:mod:`qntk.experiments.figures.seed004.fig9`), so the trained spread need not
equal the sampler's; the rows say by how much.

Paper size: 004 gives neither the depths nor the sample counts. The defaults start at ``L = 64``: below
``2(d - 1) = 62`` parameters the circuit cannot reach every state (004's limited-depth regime) and training
stops short of ``F = 1`` (measured at ``L = 32``: trained ``λ̄ = -0.02``, SD/mean ``1.1 +- 0.3``, against the
sampler's ``-0.72`` and ``0.15``). With 8 circuits x 4 initializations trained 400 steps and 128 sampler
draws per depth, ``L = 64..512`` takes about 2.5 minutes on 2 cores (measured: 137 s).

Measured at the default size: SD/mean of λ_inf trained vs sampler 0.39 vs 0.11 (``L = 64``), 0.17 vs
0.086 (128), 0.11 vs 0.078 (256), 0.071 vs 0.058 (512); of ζ_inf 0.50 vs 0.12, 0.065 vs 0.075, 0.029 vs
0.040, 0.014 vs 0.021. Both decay with ``L`` as 004 reports; the trained spread decays faster (fitted
exponents -0.81 +- 0.10 and -1.67 +- 0.09 against the sampler's -0.31 and -0.85) and is within 3 sem of
the sampler's at ``L = 256`` and for λ at 512, although the trained means stay off the restricted-Haar
ones (``λ̄ = -2.65`` against -4.44, ``ζ̄ = 0.526`` against 0.557 at ``L = 512``;
:mod:`~qntk.experiments.figures.seed004.fig9`).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np

from .... import kernels
from ....models import circuits as circuits_mod
from ....theory import restricted_haar as rh
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, integers, positive, validate
from . import _setup
from .fig9 import clustered_sem, train_late

NAME = "004-fig5"
TITLE = "004 Fig. 5: late-time SD/mean of λ_inf and ζ_inf vs L, n = 5, projector, O_0 = 1"


def _small(name: str, value) -> float:
    value = positive(name, value)
    if value >= 0.1:
        raise ValueError(f"{name} must be a small positive distance 1 - F below 0.1, got {value}.")
    return value


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 004 Fig. 5 (module docstring for the sizes). ``n_qubits``, ``eta`` (here at the largest
    depth) and ``steps`` are shared fields (:data:`~qntk.experiments.figures._checks.SHARED`).

    Attributes:
        layers: the depths ``L`` (one point each; two or more for the power-law fits).
        circuits: random circuits trained per depth.
        samples: initializations per circuit.
        draws: restricted-Haar sampler circuits per depth.
        sampler_kappa: ``1 - F`` of the sampler's output state.
        state_seed: seed of the Haar-random ``|Phi>``.
        seed: master seed (depth number ``k`` trains with ``seed + k``; sampler draw ``j`` at depth ``L`` uses
            seed ``seed + 100003 L + j``).
    """

    n_qubits: int = 5
    layers: tuple[int, ...] = (64, 128, 256, 512)
    eta: float = 0.05
    steps: int = 400
    circuits: int = 8
    samples: int = 4
    draws: int = 128
    sampler_kappa: float = 1e-4
    state_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        validate(self, layers=integers(1), circuits=integer(1), samples=integer(1), draws=integer(3), sampler_kappa=_small,
                 state_seed=integer(0))
        if self.circuits * self.samples < 3:
            raise ValueError(f"circuits x samples must be at least 3 for a standard error, got "
                             f"{self.circuits} x {self.samples}.")


QUICK = Config(n_qubits=2, layers=(8, 16), steps=40, circuits=2, samples=2, draws=3)

_CHUNK = 16  # sampler circuits evaluated per compiled call (memory: CHUNK L d^2 complex numbers)


@jax.jit
def _kernels(circuit, observable, target, thetas, inputs):
    """eps, K, mu of stacked circuits at angles ``(N, L)`` and input states ``(N, d)``."""
    k = jax.vmap(lambda c, t, s: kernels.qntk_fn(c, observable, target)(t, state=s))(circuit, thetas, inputs)
    return k.eps, k.K, k.mu


def cv(x) -> tuple[float, float]:
    """``SD / |mean|`` of the samples ``x`` and its delta-method standard error (no normality assumed;
    cluster-robust over the rows of a ``(circuits, samples)`` array, :func:`~.fig9.clustered_sem`)."""
    x = np.asarray(x, float)
    m, s = x.mean(), x.std(ddof=1)
    influence = ((x - m) ** 2 - s**2) / (2 * s * abs(m)) - s * np.sign(m) * (x - m) / m**2
    return float(s / abs(m)), clustered_sem(influence.reshape(x.shape[0], -1))


def power_law(layers, values, sems) -> tuple[float, float]:
    """Least-squares slope ``b`` of ``log values = a + b log L`` and its standard error from the points' sems."""
    x = np.log(np.asarray(layers, float))
    y, sy = np.log(np.asarray(values, float)), np.asarray(sems, float) / np.asarray(values, float)
    w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    return float(w @ y), float(np.sqrt(np.sum(w**2 * sy**2)))


def sample_restricted(model, draws: int, kappa: float, seed: int) -> dict[str, np.ndarray]:
    """eps, K, mu of ``draws`` restricted-Haar circuits (:func:`~qntk.theory.restricted_haar.sample_circuit`)
    whose outputs lie at ``1 - F = kappa`` from ``|Phi>``, each in a fresh Haar direction."""
    n, L = model.n_qubits, model.n_layers
    o = model.operator.matrix()
    phi = np.linalg.eigh(o)[1][:, -1]
    d = phi.size
    rng = np.random.default_rng(seed)
    out = {"eps": [], "K": [], "mu": []}
    for lo in range(0, draws, _CHUNK):
        batch = []
        for j in range(lo, min(lo + _CHUNK, draws)):
            chi = rng.standard_normal(d) + 1j * rng.standard_normal(d)
            chi -= np.vdot(phi, chi) * phi
            state = np.sqrt(1 - kappa) * phi + np.sqrt(kappa) * chi / np.linalg.norm(chi)
            batch.append(rh.sample_circuit(n, L, state, seed + j, scale=0.5))
        stacked = circuits_mod.stack([b[0] for b in batch])
        thetas, inputs = np.stack([b[1] for b in batch]), np.stack([b[2] for b in batch])
        for name, v in zip(out, _kernels(stacked, model.operator, float(model.target), thetas, inputs)):
            out[name].append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in out.items()}


def _per_sample(eps, k, mu) -> dict[str, np.ndarray]:
    return {"lambda": mu / k, "zeta": eps * mu / k**2}


def run(config: Config, progress: bool = True) -> Result:
    """Trains ``instances`` circuits per depth to late time and samples the restricted-Haar ensemble."""
    import xarray as xr

    start = time.perf_counter()
    spec = f"projector:seed={config.state_seed}"
    l_max = max(config.layers)
    cols = {f"{src}_{q}{s}": [] for src in ("train", "sampler", "train_mid") for q in ("lambda", "zeta")
            for s in ("", "_sem")}
    means = {f"{src}_{q}_mean": [] for src in ("train", "sampler") for q in ("lambda", "zeta")}
    rows = []
    for k, L in enumerate(config.layers):
        m = _setup.model(config.n_qubits, L, 1.0, observable=spec)
        res = train_late(m, config.eta * l_max / L, config.steps, config.circuits, config.samples, config.seed + k,
                         progress)
        samp = sample_restricted(m, config.draws, config.sampler_kappa, config.seed + 100003 * L)
        sets = {"train": _per_sample(*(res[q][-1] for q in ("eps", "K", "mu"))),
                "train_mid": _per_sample(*(res[q][0] for q in ("eps", "K", "mu"))),
                "sampler": {q: v[:, None] for q, v in _per_sample(samp["eps"], samp["K"], samp["mu"]).items()}}
        for src, per in sets.items():
            for q, x in per.items():
                value, sem = cv(x)
                cols[f"{src}_{q}"].append(value)
                cols[f"{src}_{q}_sem"].append(sem)
                if f"{src}_{q}_mean" in means:
                    means[f"{src}_{q}_mean"].append(float(np.mean(x)))
        for q, label in (("lambda", "λ_inf"), ("zeta", "ζ_inf")):
            sem = np.hypot(cols[f"train_{q}_sem"][-1], cols[f"sampler_{q}_sem"][-1])
            rows.append(row(f"SD/mean of {label}, L = {L}", cols[f"sampler_{q}"][-1], cols[f"train_{q}"][-1], sem,
                            f"theory: restricted-Haar sampler ({config.draws} draws, model only, Monte Carlo; sem "
                            f"combines both); simulation: {config.circuits} x {config.samples} trained instances at step {config.steps} "
                            f"(at step {res['step'][0]}: {cols[f'train_mid_{q}'][-1]:.3g}); median 1 - F = "
                            f"{np.median(-res['eps'][-1]):.2g}; means: trained "
                            f"{means[f'train_{q}_mean'][-1]:.4g}, sampler {means[f'sampler_{q}_mean'][-1]:.4g}"))
    fits = {}
    if len(config.layers) >= 2:
        for q, label in (("lambda", "λ_inf"), ("zeta", "ζ_inf")):
            b_t, s_t = power_law(config.layers, cols[f"train_{q}"], cols[f"train_{q}_sem"])
            b_s, s_s = power_law(config.layers, cols[f"sampler_{q}"], cols[f"sampler_{q}_sem"])
            fits[q] = (b_t, b_s)
            rows.append(row(f"power-law exponent of SD/mean of {label} vs L", b_s, b_t, np.hypot(s_t, s_s),
                            "fitted by least squares in log-log to the trained points (as 004 fits them) and to the "
                            "sampler's points (the theory column); not a prediction of 004"))
    data = xr.Dataset({name: ("layers", np.asarray(v, float)) for name, v in (cols | means).items()},
                      coords={"layers": np.asarray(config.layers)})
    for q, (b_t, b_s) in fits.items():
        data[f"fit_train_{q}"], data[f"fit_sampler_{q}"] = b_t, b_s
    model = _setup.model(config.n_qubits, l_max, 1.0, observable=spec)
    note = _setup.note(model, f"O_0 = 1; L = {', '.join(map(str, config.layers))}; {config.circuits} x {config.samples} trained "
                              f"instances x {config.steps} steps, eta = {config.eta:g} at L = {l_max} (x {l_max}/L); "
                              f"{config.draws} restricted-Haar sampler draws at 1 - F = {config.sampler_kappa:g}")
    return Result(NAME, data, rows, record(NAME, TITLE, config, model, note, start))


def plot(result: Result):
    """SD/mean of λ_inf (a) and ζ_inf (b) vs L, log-log: trained instances (``Z``-sem bars), the
    restricted-Haar sampler, and the power-law fit to the trained points (red dashed, as in 004)."""
    from matplotlib.figure import Figure

    d = result.data
    L = d.layers.values
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    for ax, q, label, panel in zip(fig.subplots(1, 2), ("lambda", "zeta"), ("λ_inf", "ζ_inf"), "ab"):
        _plot.errorbar(ax, L, d[f"train_{q}"], d[f"train_{q}_sem"], "trained", fmt="o", color="tab:blue")
        _plot.errorbar(ax, L * 1.04, d[f"sampler_{q}"], d[f"sampler_{q}_sem"], "restricted-Haar sampler", fmt="s",
                       color="tab:red", ms=3)
        if f"fit_train_{q}" in d:
            b = float(d[f"fit_train_{q}"])
            a = np.mean(np.log(d[f"train_{q}"].values) - b * np.log(L))
            ax.plot(L, np.exp(a) * L**b, "r--", lw=1, label=f"power-law fit, slope {b:.2f}")
        _plot.decorate(ax, "depth $L$", f"SD/mean of {label}", f"({panel}) {_plot.title(NAME)}: n = {result.config['config']['n_qubits']}",
                       log=True, legend_size=7)
    return fig
