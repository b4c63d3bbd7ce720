"""Ensemble statistics of the kernel quantities at initialization (the ``qntk kernel`` job).

For ``n_circuits`` random circuits drawn from the ansatz and ``samples`` angle vectors per circuit,
uniform in ``[0, 2 pi)`` (000 Fig. 1), it computes eps, K, mu, lambda = mu/K and zeta = eps mu/K^2
exactly and reports their mean, standard deviation and standard error.

Standard errors account for the correlation between samples of the same circuit: with more than
one circuit the standard error of a grand mean is the standard deviation of the per-circuit means
over ``sqrt(n_circuits)`` (a cluster-robust estimate, since samples of one circuit share its
gates); with one circuit the ensemble is that circuit's angle ensemble and the i.i.d. formula
``std / sqrt(samples)`` applies.

Example:
    >>> from qntk.models import Model
    >>> cfg = KernelStatsConfig(Model("rpa", 2, 8, "xxz:J=2", target=-6.0), samples=16, circuits=2)
    >>> out = summarize(run(cfg, progress=False))
    >>> out["n_samples"], out["K_mean"] > 0
    (32, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .. import kernels
from .._provenance import versions
from .._sim.clock import compile_clock
from ..models import Model
from ..models._spec import check_int, check_memory, check_seed
from ..models.ansatze import circuit_seeds

QUANTITIES = ("eps", "K", "mu", "lambda", "zeta")


@dataclass(frozen=True)
class KernelStatsConfig:
    """Settings of an ensemble-statistics run.

    Attributes:
        model: the QNN model.
        samples: angle vectors per circuit.
        circuits: random circuits drawn from the ansatz (1 for a fixed circuit).
        seed: master seed; circuit ``i`` and its angles are derived from it deterministically.
        chunk: angle vectors evaluated per compiled call (memory bound, not a result setting).
    """

    model: Model
    samples: int = 1000
    circuits: int = 1
    seed: int = 0
    chunk: int = 256

    def __post_init__(self):
        for name in ("samples", "circuits", "chunk"):
            check_int(name, getattr(self, name), 1)
        check_seed("seed", self.seed)
        if self.samples * self.circuits < 2:
            raise ValueError("need at least 2 samples in total (samples x circuits) to estimate a spread.")
        if self.circuits > 1 and not self.model.is_random:
            raise ValueError(
                f"circuits={self.circuits} but the {self.model.ansatz!r} ansatz is not random: use circuits=1."
            )

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "samples": self.samples, "circuits": self.circuits, "seed": self.seed}


@jax.jit
def batch(circuit, observable, target, thetas):
    """``(eps, K, mu)`` of one circuit at the angle vectors ``thetas`` (shape ``(S, L)``), compiled once per shape."""
    k = jax.vmap(kernels.qntk_fn(circuit, observable, target))(thetas)
    return k.eps, k.K, k.mu


def run(config: KernelStatsConfig, progress: bool = True) -> dict:
    """Samples the ensemble; returns arrays of shape ``(circuits, samples)`` per quantity.

    The compiled kernel takes the circuit and observable as arguments, so it compiles once for the
    whole run (every circuit and chunk has the same shapes).
    """
    from rich.progress import Progress

    model = config.model
    seeds = circuit_seeds(config.seed, config.circuits)
    n_chunks = -(-config.samples // config.chunk)
    chunk = min(config.chunk, config.samples)
    start = time.perf_counter()
    first = model.circuit(seed=seeds[0])
    # the angle vectors of a circuit and the five results of every sample
    check_memory(8 * (n_chunks * chunk * first.n_params + 5 * config.circuits * config.samples),
                 f"{config.samples} samples x {config.circuits} circuit(s) of {first.n_params} parameters",
                 "use fewer samples (the standard errors fall as 1/sqrt(samples))")
    out = {q: np.empty((config.circuits, config.samples)) for q in ("eps", "K", "mu")}
    with Progress(transient=True, disable=not progress) as bar, compile_clock() as compile_s:
        task = bar.add_task("kernel statistics", total=config.circuits * n_chunks)
        for i, cseed in enumerate(seeds):
            circuit = first if i == 0 else model.circuit(seed=cseed)
            key = jax.random.fold_in(jax.random.key(config.seed), i)
            thetas = jax.random.uniform(key, (n_chunks * chunk, circuit.n_params), maxval=2 * jnp.pi)
            for c in range(n_chunks):
                lo, hi = c * chunk, min((c + 1) * chunk, config.samples)
                eps, k, mu = batch(circuit, model.operator, model.target, thetas[c * chunk : (c + 1) * chunk])
                for name, arr in (("eps", eps), ("K", k), ("mu", mu)):
                    out[name][i, lo:hi] = np.asarray(arr)[: hi - lo]
                bar.advance(task)
    out["lambda"] = out["mu"] / out["K"]
    out["zeta"] = out["eps"] * out["mu"] / out["K"] ** 2
    out["time_s"] = time.perf_counter() - start
    out["compile_time_s"] = compile_s[0]
    out["config"] = config.to_dict()
    out["circuit_seeds"] = seeds
    return out


def mean_std_sem(values: np.ndarray) -> tuple[float, float, float]:
    """Mean, standard deviation and (cluster-robust) standard error of a ``(circuits, samples)`` array."""
    flat = values.ravel()
    mean, std = float(np.mean(flat)), float(np.std(flat, ddof=1))
    n_circuits = values.shape[0]
    if n_circuits > 1:
        sem = float(np.std(values.mean(axis=1), ddof=1) / np.sqrt(n_circuits))
    else:
        sem = std / np.sqrt(flat.size)
    return mean, std, sem


def summarize(result: dict) -> dict:
    """Summary statistics with the keys of ``qntk kernel --json``.

    ``lambda_mean`` and ``zeta_mean`` average the per-sample ratios; ``lambda_ratio`` =
    ``mu_mean / K_mean`` and ``zeta_ratio`` = ``mean(eps mu) / K_mean^2`` are the ratios of ensemble
    averages that 004 uses (004 "Unitary ensemble theory").
    """
    summary: dict = {}
    for q in QUANTITIES:
        summary[f"{q}_mean"], summary[f"{q}_std"], summary[f"{q}_sem"] = mean_std_sem(result[q])
    summary["lambda_ratio"] = summary["mu_mean"] / summary["K_mean"]
    summary["zeta_ratio"] = float(np.mean(result["eps"] * result["mu"])) / summary["K_mean"] ** 2
    summary["dK_over_K"] = summary["K_std"] / summary["K_mean"]
    n_circuits, samples = result["K"].shape
    summary.update(
        n_samples=n_circuits * samples,
        n_circuits=n_circuits,
        samples_per_circuit=samples,
        time_s=result["time_s"],
        compile_time_s=result["compile_time_s"],
        config=result["config"],
        seed=result["config"]["seed"],
        circuit_seeds=result["circuit_seeds"],
        versions=versions(),
    )
    return summary
