"""Benchmarks of the engine, with every ratio taken against a reference measured in the same run.

Workloads:

* ``rpa-train``: one ensemble training step (eps, gradient, K and the update for ``batch`` angle
  vectors) of the random Pauli ansatz with the XXZ observable (J = 2), 004's setting: the very
  function that ``qntk train`` compiles and runs (:func:`qntk.train.compiled_steps`). Reported: the
  compile time, the step time (best of ``repeats``, the usual estimator when other work shares the
  machine), the time of mu on top of the step (``qntk train --record-mu``) and the machine floor (the
  layer matrix products of the step, timed as a loop of the same complex128 products on this machine).
* ``hea-train``: the same step for the hardware-efficient ansatz (about ``n_layers`` layers, ``2 n`` per
  block; local gates applied as tensor operations) with the TFIM observable, up to 20 qubits.
* ``compile``: compile time of the ``rpa-train`` step for several depths (it must stay flat: the
  layers are scanned over and the gates are arguments, not constants).

With ``reference`` on, the peers a user would pick instead run the same step in the same run
(``references``: name, step and compile time, speed-up, largest difference of the values): for the
RPA, the circuit built the way 004's authors built it in TensorCircuit-ng (``exp1`` + ``any`` per
layer, ``vmap(value_and_grad)``); for the HEA, PennyLane's ``default.qubit`` (JAX, ``jit(vmap(
value_and_grad))``) and ``lightning.qubit`` (adjoint gradients). A peer that is not installed is
listed as skipped, with the ``pip install`` to run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import time
from collections.abc import Callable
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .. import train
from .._provenance import versions
from ..models import ansatze, observables
from ..models._spec import check_int
from ..models.pauli import PauliString
from ._bench_reference import pennylane_hea_step, tensorcircuit_rpa_step

WORKLOADS = ("rpa-train", "compile", "hea-train")


@dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings (``n_layers`` is the depth L; ``compile_layers`` the depths of ``compile``)."""

    workload: str = "rpa-train"
    n_qubits: int = 6
    n_layers: int = 192
    batch: int = 10
    repeats: int = 5
    seed: int = 0
    reference: bool = True
    compile_layers: tuple[int, ...] = (64, 256, 1024)

    def __post_init__(self):
        if self.workload not in WORKLOADS:
            raise ValueError(f"unknown workload {self.workload!r}: choose one of {', '.join(WORKLOADS)}.")
        for name in ("n_qubits", "n_layers", "batch", "repeats"):
            check_int(name, getattr(self, name), 1)
        if self.n_qubits < 2:
            raise ValueError("n_qubits must be >= 2 (the XXZ observable has couplings).")


def _train_step(circuit, observable, thetas, record_mu: bool = False):
    """The training step that ``qntk train`` compiles and runs (:func:`qntk.train.compiled_steps`): one
    step of the quadratic loss for a batch of angle vectors, recording eps and K (and mu), compiled
    here once; returns ``(compiled, args, compile_time_s)``."""
    step = train.compiled_steps("quadratic", None, record_mu)
    args = (circuit, observable, (None, None, jnp.zeros(1)), thetas, jax.random.key(0), 0, 1e-3, 0.0)
    with _cold_compilation():
        t = time.perf_counter()
        compiled = step.lower(*args, n=1).compile()
        return compiled, args, time.perf_counter() - t


@contextmanager
def _cold_compilation():
    """Compile times are the times of a compilation: JAX's in-memory caches are cleared and its
    persistent cache (which the CLI turns on) is off, so an earlier compilation of the same program
    in this process or in an earlier run cannot be timed instead."""
    jax.clear_caches()
    enabled = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        yield
    finally:
        jax.config.update("jax_enable_compilation_cache", enabled)


def _best_time(fn, *args, repeats: int) -> float:
    """The shortest of ``repeats`` timed calls: other work on the machine can only add time, so the
    minimum is the estimate least disturbed by it (as :mod:`timeit` advises)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return min(times)


def _matmul_floor(gates: jax.Array, batch: int, sweeps: int, repeats: int) -> tuple[float, float]:
    """Time of ``sweeps`` passes of the complex128 products ``W_l @ X`` over the circuit's own gates
    (``X`` of shape ``(d, batch)``), and the rate in flop/s. Reading each ``W_l`` from memory is part
    of the floor, as it is part of any step."""
    dim = gates.shape[-1]
    x = jnp.eye(dim, batch, dtype=gates.dtype)

    @jax.jit
    def loop(w, x):
        sweep = lambda v: jax.lax.scan(lambda v, wl: (wl @ v, None), v, w)[0]
        return jax.lax.fori_loop(0, sweeps, lambda i, v: sweep(v), x)

    jax.block_until_ready(loop(gates, x))
    t = _best_time(loop, gates, x, repeats=repeats)
    return t, 8.0 * dim * dim * batch * gates.shape[0] * sweeps / t


def _circuit(config: BenchConfig):
    if config.workload == "hea-train":
        return ansatze.hea(config.n_qubits, _hea_blocks(config))
    return ansatze.rpa(config.n_qubits, config.n_layers, seed=config.seed)


def _hea_blocks(config: BenchConfig) -> int:
    """Blocks of the HEA with about ``n_layers`` layers (``2 n`` rotations per block)."""
    return max(1, config.n_layers // (2 * config.n_qubits))


def _observable(config: BenchConfig):
    """The RPA's XXZ (J = 2, 004's setting); the TFIM for the HEA (003's data set)."""
    return observables.tfim(config.n_qubits) if config.workload == "hea-train" else observables.xxz(config.n_qubits, J=2.0)


def _train(config: BenchConfig) -> dict:
    circuit = _circuit(config)
    observable = _observable(config)
    thetas = jax.random.uniform(jax.random.key(config.seed), (config.batch, circuit.n_params), maxval=2 * jnp.pi)
    step, args, compile_s = _train_step(circuit, observable, thetas)
    step_s = _best_time(step, *args, repeats=config.repeats)
    with_mu, args_mu, _ = _train_step(circuit, observable, thetas, record_mu=True)
    kernel_s = _best_time(with_mu, *args_mu, repeats=config.repeats)
    out = {
        "workload": config.workload,
        "n_qubits": config.n_qubits,
        "n_layers": circuit.n_layers,
        "params": circuit.n_params,
        "batch": config.batch,
        "compile_time_s": compile_s,
        "step_time_s": step_s,
        "kernel_time_s": kernel_s,
        "mu_time_s": kernel_s - step_s,
        "mu_over_step": (kernel_s - step_s) / step_s,
    }
    if circuit.gate_kind == "dense":
        # Minimum for an exact gradient: one product per layer forward, one backward.
        floor_s, rate = _matmul_floor(circuit.w, config.batch, 2, config.repeats)
        out.update(floor_time_s=floor_s, matmul_gflops=rate / 1e9, floor_fraction=floor_s / step_s)
    if config.reference:
        records = step(*args)[1]
        ours = (records["eps"][0, :, 0], records["K"][0, :, 0, 0])
        out["references"] = [_reference(name, build, thetas, config.repeats, step_s, ours)
                             for name, build in _references(config, circuit, observable)]
        timed = [r["speedup"] for r in out["references"] if "speedup" in r]
        if timed:
            out["speedup_over_fastest"] = min(timed)
    return out


def _references(config: BenchConfig, circuit, observable) -> list[tuple[str, Callable]]:
    """``(name, build)`` of the peers of a workload; ``build()`` returns their batched value-and-gradient step."""
    terms = list(zip(observable.coefs, observable.labels))
    if config.workload == "hea-train":
        blocks = _hea_blocks(config)
        return [(f"pennylane-{kind}", functools.partial(pennylane_hea_step, config.n_qubits, blocks, terms, f"{kind}.qubit"))
                for kind in ("default", "lightning")]
    labels = [PauliString(int(x), int(z), circuit.n_qubits).label for x, z in zip(circuit.gen_x, circuit.gen_z)]
    return [("tensorcircuit", functools.partial(tensorcircuit_rpa_step, labels, np.asarray(circuit.w), terms, circuit.scale))]


def _reference(name: str, build: Callable, thetas, repeats: int, step_s: float, ours: tuple) -> dict:
    """One peer's step timed like ours: ``name``, ``step_time_s``, ``compile_time_s`` (its first call, cold),
    ``speedup`` (its time over ours) and ``max_abs_diff`` of ``<O>`` against our eps (target 0) and of
    ``sum g^2`` against our K; or ``name`` and ``skipped`` with the reason."""
    try:
        ref = build()
    except ImportError as err:
        return {"name": name, "skipped": str(err)}
    finally:
        jax.config.update("jax_enable_x64", True)  # TensorCircuit may switch JAX to float32 on import
    with _cold_compilation():
        t = time.perf_counter()
        values, grads = jax.block_until_ready(ref(thetas))
        compile_s = time.perf_counter() - t
    ref_s = _best_time(ref, thetas, repeats=repeats)
    eps, k = ours
    err = float(max(jnp.max(jnp.abs(values - eps)), jnp.max(jnp.abs(jnp.sum(grads**2, axis=-1) - k))))
    return {"name": name, "step_time_s": ref_s, "compile_time_s": compile_s - ref_s, "speedup": ref_s / step_s,
            "max_abs_diff": err}


def _compile_scaling(config: BenchConfig) -> dict:
    observable = _observable(config)
    rows = []
    for layers in config.compile_layers:
        circuit = ansatze.rpa(config.n_qubits, layers, seed=config.seed)
        thetas = jnp.zeros((config.batch, layers))
        _, _, compile_s = _train_step(circuit, observable, thetas)
        rows.append({"n_layers": layers, "compile_time_s": compile_s})
    times = [r["compile_time_s"] for r in rows]
    return {
        "workload": "compile",
        "n_qubits": config.n_qubits,
        "batch": config.batch,
        "rows": rows,
        "compile_time_s": float(np.median(times)),
        "compile_max_over_min": max(times) / min(times),
    }


#: The workloads of ``docs/benchmarks.md`` (``qntk bench --report``), with their references where those finish in
#: minutes on two cores: the TensorCircuit-ng construction compiles in a time that grows with L (about 2 min at
#: L = 192), so the n = 8, L = 768 row runs without it.
REPORT = (
    BenchConfig("rpa-train", 4, 64, 10),
    BenchConfig("rpa-train", 4, 64, 100),
    BenchConfig("rpa-train", 6, 192, 10),
    BenchConfig("rpa-train", 8, 768, 10, reference=False),
    BenchConfig("hea-train", 12, 96, 10),
    BenchConfig("hea-train", 16, 64, 10),
    BenchConfig("hea-train", 20, 80, 1),
    BenchConfig("compile", 6, batch=10, compile_layers=(64, 256, 1024)),
)


def report(configs=REPORT, on_result: Callable[[dict], None] | None = None) -> str:
    """Runs ``configs`` and returns the Markdown of ``docs/benchmarks.md``: the machine, the versions, and one
    row per workload and peer (qntk's step and compile time, its fraction of the matmul floor where it has one,
    the peer's times, the speed-up and the largest difference of the values)."""
    results = []
    for config in configs:
        results.append(run(config))
        if on_result:
            on_result(results[-1])
    lines = ["# qntk benchmarks", "", "Generated by `qntk bench --report docs/benchmarks.md`; every ratio is against a "
             "peer measured in the same run (best of the repeats). Machine: " + _machine() + ".", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted({**results[0]["versions"], **_peer_versions()}.items()))
             + ".", "",
             "| workload | n | L | params | B | qntk step (ms) | qntk compile (s) | floor fraction | peer | peer step (ms) "
             "| peer compile (s) | speed-up | max abs diff |", "|" + "---|" * 13]
    for r in results:
        if r["workload"] == "compile":
            times = ", ".join(f"L = {row['n_layers']}: {row['compile_time_s']:.2f} s" for row in r["rows"])
            lines.append(f"| compile | {r['n_qubits']} | | | {r['batch']} | | {times} (max/min {r['compile_max_over_min']:.2f}) "
                         "| | | | | | |")
            continue
        ours = (f"| {r['workload']} | {r['n_qubits']} | {r['n_layers']} | {r['params']} | {r['batch']} | "
                f"{1e3 * r['step_time_s']:.3g} | {r['compile_time_s']:.3g} | "
                + (f"{r['floor_fraction']:.2f}" if "floor_fraction" in r else "") + " | ")
        peers = r.get("references") or [{"name": "(none run)"}]
        for ref in peers:
            if "step_time_s" in ref:
                lines.append(ours + f"{ref['name']} | {1e3 * ref['step_time_s']:.3g} | {ref['compile_time_s']:.3g} | "
                             f"{ref['speedup']:.3g} | {ref['max_abs_diff']:.1e} |")
            else:
                lines.append(ours + f"{ref['name']} {ref.get('skipped', '')} | | | | |")
    return "\n".join(lines) + "\n"


def _peer_versions() -> dict[str, str]:
    out = {}
    for name in ("tensorcircuit-ng", "pennylane", "pennylane-lightning"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    return f"{model or platform.machine()}, {os.cpu_count()} cores, JAX device {jax.devices()[0]}"


def run(config: BenchConfig) -> dict:
    """Runs one workload; returns a JSON-ready dict with the config, the device and versions."""
    out = _compile_scaling(config) if config.workload == "compile" else _train(config)
    out.update(
        device=str(jax.devices()[0]),
        platform=jax.default_backend(),
        versions=versions(),
        seed=config.seed,
    )
    return out
