"""Benchmarks of the engine, with every ratio taken against a reference measured in the same run.

Workloads:

* ``rpa-train``: one ensemble training step (eps, gradient, K and the update for ``batch`` angle
  vectors) of the random Pauli ansatz with the XXZ observable (J = 2), 004's setting: the very
  function that ``qntk train`` compiles and runs (:func:`qntk.train.compiled_steps`). Reported: the
  compile time, the step time (best of ``repeats``, the usual estimator when other work shares the
  machine), the time of mu on top of the step (``qntk train --record-mu``) and the machine floor (the
  layer matrix products of the step, timed as a loop of the same complex128 products on this machine).
* ``rpa-hessian``: mu and the loss Hessian (with its spectrum) of the same model, for ``batch`` angle vectors
  (what ``qntk diagnose`` computes).
* ``hea-train``: the same step for the hardware-efficient ansatz (about ``n_layers`` layers, ``2 n`` per
  block; local gates applied as tensor operations) with the TFIM observable, up to 20 qubits; its floor is the
  state passes of a gate-by-gate simulator (:func:`_pass_floor`).
* ``tfim-kernel``: the supervised training step of 003's re-uploading model with its hardware-efficient block
  (about ``n_layers`` parameters, ``3 n`` per block) on 003's TFIM data set (20 fields): the QNTK matrix
  ``K = J J^T`` over the data set and the outputs, for ``batch`` angle vectors.
* ``compile``: compile time and memory of the ``rpa-train`` step for several depths (both must stay flat: the
  layers are scanned over, the gates are arguments, not constants, and the adjoint gradient keeps no state per
  layer).

Every workload reports XLA's peak memory of its compiled step (``peak_memory_bytes``).

With ``reference`` on, the peers a user would pick instead run the same step in the same run
(``references``: name, step and compile time, speed-up, largest difference of the values): for the
RPA, the circuit built the way 004's authors built it in TensorCircuit-ng (``exp1`` + ``any`` per
layer, ``vmap(value_and_grad)``, or ``jax.hessian`` for ``rpa-hessian``); for the HEA, PennyLane's
``default.qubit`` (JAX, ``jit(vmap(value_and_grad))``), ``lightning.qubit`` (adjoint gradients) and Qiskit
(``StatevectorEstimator`` values, qiskit-algorithms' reverse-mode estimator gradients); for ``tfim-kernel``, the
two PennyLane devices. A peer that is not installed is listed as skipped, with the ``pip install`` to run.
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
from jax.experimental.compilation_cache.compilation_cache import reset_cache

from .. import kernels, train
from .._provenance import versions
from .._sim import local
from ..models import ansatze, observables, states
from ..models._spec import check_int
from ..models.pauli import PauliString
from ._bench_reference import (pennylane_hea_step, pennylane_reuploading_kernel, qiskit_hea_step,
                               tensorcircuit_rpa_hessian, tensorcircuit_rpa_step)

WORKLOADS = ("rpa-train", "rpa-hessian", "hea-train", "tfim-kernel", "compile")


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


def _train_step(circuit, observable, thetas, data=None, record_mu: bool = False):
    """The training step that ``qntk train`` compiles and runs (:func:`qntk.train.compiled_steps`): one
    step of the quadratic loss for a batch of angle vectors, recording eps and K (and mu), on the data set
    ``data = (features, labels)`` (default: no data, target 0), compiled here once; returns
    ``(compiled, args, compile_time_s)``."""
    features, labels = data if data is not None else (None, jnp.zeros(1))
    args = (circuit, observable, (None, features, labels), thetas, jax.random.key(0), 0, 1e-3, 0.0)
    compiled, compile_s = _compile(train.compiled_steps("quadratic", None, record_mu), *args, n=1)
    return compiled, args, compile_s


def _compile(fn, *args, **static) -> tuple:
    """``fn`` (jitted) compiled cold for ``args``, and the time that took."""
    with _cold_compilation():
        t = time.perf_counter()
        compiled = fn.lower(*args, **static).compile()
        return compiled, time.perf_counter() - t


def _peak_memory(compiled) -> int | None:
    """XLA's peak memory of a compiled program (arguments, outputs and temporaries), in bytes, where the backend
    reports it."""
    analysis = compiled.memory_analysis()
    return None if analysis is None else int(analysis.peak_memory_in_bytes)


@contextmanager
def _cold_compilation():
    """Compile times are the times of a compilation: JAX's in-memory caches are cleared and its
    persistent cache (which the CLI turns on) is off, so an earlier compilation of the same program
    in this process or in an earlier run cannot be timed instead. JAX decides whether to use its persistent
    cache once per process, so turning it off takes a reset of that decision too (and so does turning it back)."""
    jax.clear_caches()
    enabled = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    reset_cache()
    try:
        yield
    finally:
        jax.config.update("jax_enable_compilation_cache", enabled)
        reset_cache()


def _best_time(fn, *args, repeats: int, budget_s: float = 60.0) -> float:
    """The shortest of ``repeats`` timed calls: other work on the machine can only add time, so the
    minimum is the estimate least disturbed by it (as :mod:`timeit` advises). Calls stop early once they
    have taken ``budget_s`` in all (a slow peer is timed fewer times)."""
    times = []
    while len(times) < repeats and sum(times) < budget_s:
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


#: Applications of each gate in an exact gradient by the adjoint method: once forward, and to the two states of
#: the un-computing backward sweep (:func:`qntk._sim.engine.expval_and_grad`).
ADJOINT_PASSES = 3


def _pass_floor(circuit, states: int, repeats: int) -> tuple[float, float]:
    """For a circuit of local gates: the time of the state passes of an exact gradient of ``states`` state vectors
    when every gate (rotation or two-qubit gate) reads and writes the whole state once and is applied
    :data:`ADJOINT_PASSES` times (a gate-by-gate simulator's floor, memory-bound at many qubits), from the timed
    pass ``psi -> c psi`` over an array of the same size; and that pass's bandwidth in bytes/s."""
    gates = circuit.n_layers + sum(len(ops) for _, _, ops in circuit.program) * circuit.n_layers // len(circuit.program)
    passes = ADJOINT_PASSES * gates
    x = jnp.ones((circuit.dim, states), jnp.complex128)

    @jax.jit
    def loop(x):
        return jax.lax.fori_loop(0, passes, lambda i, v: v * jnp.exp(0.1j * i), x)

    jax.block_until_ready(loop(x))
    t = _best_time(loop, x, repeats=repeats)
    return t, 2 * x.nbytes * passes / t


def _profile(circuit, observable, thetas, repeats: int) -> dict:
    """Where the step of a local circuit goes: ``<O>`` alone (the forward passes) and with its adjoint gradient, the
    number of fused segments of each kind (:func:`qntk._sim.local.fuse`, one pass each), and the time of one
    ``4 x 4`` matrix segment, one CNOT segment and one plain pass ``psi -> c psi`` over the same states."""
    value = jax.jit(jax.vmap(kernels.residual_fn(circuit, observable)))
    gradient = jax.jit(jax.vmap(kernels.grad_fn(circuit, observable)))
    segments = local.fuse(circuit.program, circuit.n_qubits)
    blocks = circuit.n_layers // len(circuit.program)
    n, lo = circuit.n_qubits, circuit.n_qubits // 2 - 1
    m = jnp.asarray(np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)) + 1j)[0])
    per_segment = {
        "matrix": lambda psi: local.apply_matrix(psi, n, lo, 2, m),
        "gates": lambda psi: local.apply_gates(psi, n, (("cnot", lo, lo + 1),)),
        "plain": lambda psi: psi * jnp.exp(0.1j),
    }
    states = jnp.ones((thetas.shape[0], circuit.dim), jnp.complex128)
    out = {"value_time_s": _warm_time(value, thetas, repeats=repeats),
           "gradient_time_s": _warm_time(gradient, thetas, repeats=repeats)}
    for kind in ("matrix", "gates", "rotation"):
        out[f"{kind}_segments"] = blocks * sum(s.kind == kind for s in segments)
    for name, fn in per_segment.items():
        out[f"{name}_pass_s"] = _warm_time(jax.jit(jax.vmap(functools.partial(_passes, fn))), states, repeats=repeats) / 16
    return out


def _passes(fn, psi, count: int = 16):
    """``fn`` applied ``count`` times, each result materialized (one pass over the state each)."""
    for _ in range(count):
        psi = jax.lax.optimization_barrier(fn(psi))
    return psi


def _warm_time(fn, *args, repeats: int) -> float:
    """:func:`_best_time` after one call that compiles."""
    jax.block_until_ready(fn(*args))
    return _best_time(fn, *args, repeats=repeats)


def _circuit(config: BenchConfig):
    if config.workload == "hea-train":
        return ansatze.hea(config.n_qubits, _blocks(config))
    if config.workload == "tfim-kernel":
        return ansatze.reuploading(config.n_qubits, _blocks(config), block="hea", encoding_scale=TFIM_ENCODING_SCALE)
    return ansatze.rpa(config.n_qubits, config.n_layers, seed=config.seed)


def _blocks(config: BenchConfig) -> int:
    """Blocks of the HEA (``2 n`` rotations each) or of the re-uploading model (``3 n`` trained rotations each)
    with about ``n_layers`` parameters."""
    per_block = (3 if config.workload == "tfim-kernel" else 2) * config.n_qubits
    return max(1, config.n_layers // per_block)


def _observable(config: BenchConfig):
    """The RPA's XXZ (J = 2, 004's setting); the TFIM for the HEA; ``Z`` on qubit 0 for 003's re-uploading model."""
    if config.workload == "hea-train":
        return observables.tfim(config.n_qubits)
    if config.workload == "tfim-kernel":
        return observables.pauli_sum("Z" + "I" * (config.n_qubits - 1))
    return observables.xxz(config.n_qubits, J=2.0)


#: 003's data set for ``tfim-kernel``: the magnetization of the N = 6 transverse-field Ising chain at 20 fields in
#: [-5, 5), encoded by ``RX(c h)`` with ``c = 0.3`` (``qntk reproduce 003-results``).
TFIM_POINTS, TFIM_ENCODING_SCALE = 20, 0.3


def _tfim_data():
    return states.tfim_magnetization(n_spins=6, n_points=TFIM_POINTS, h_range=(-5.0, 5.0 - 10.0 / TFIM_POINTS))


def _timings(config: BenchConfig, circuit, compiled, args, compile_s: float) -> dict:
    """What every workload reports of its compiled step: sizes, compile and step time, peak memory."""
    return {
        "workload": config.workload,
        "n_qubits": config.n_qubits,
        "n_layers": circuit.n_layers,
        "params": circuit.n_params,
        "batch": config.batch,
        "compile_time_s": compile_s,
        "step_time_s": _best_time(compiled, *args, repeats=config.repeats),
        "peak_memory_bytes": _peak_memory(compiled),
    }


def _train(config: BenchConfig) -> dict:
    circuit = _circuit(config)
    observable = _observable(config)
    thetas = jax.random.uniform(jax.random.key(config.seed), (config.batch, circuit.n_params), maxval=2 * jnp.pi)
    data = None
    if config.workload == "tfim-kernel":
        dataset = _tfim_data()
        data = (jnp.asarray(dataset.features), jnp.asarray(dataset.labels))
    step, args, compile_s = _train_step(circuit, observable, thetas, data)
    out = _timings(config, circuit, step, args, compile_s)
    step_s = out["step_time_s"]
    if config.workload != "tfim-kernel":
        with_mu, args_mu, _ = _train_step(circuit, observable, thetas, record_mu=True)
        kernel_s = _best_time(with_mu, *args_mu, repeats=config.repeats)
        out.update(kernel_time_s=kernel_s, mu_time_s=kernel_s - step_s, mu_over_step=(kernel_s - step_s) / step_s)
    if circuit.gate_kind == "dense":
        # Minimum for an exact gradient: one product per layer forward, one backward.
        floor_s, rate = _matmul_floor(circuit.w, config.batch, 2, config.repeats)
        out.update(floor_time_s=floor_s, matmul_gflops=rate / 1e9, floor_fraction=floor_s / step_s)
    elif circuit.gate_kind == "local":
        states_per_step = config.batch * (1 if data is None else len(data[1]))
        floor_s, bandwidth = _pass_floor(circuit, states_per_step, config.repeats)
        out.update(pass_floor_time_s=floor_s, pass_gb_per_s=bandwidth / 1e9, pass_floor_fraction=floor_s / step_s)
        if config.workload == "hea-train":
            out["profile"] = _profile(circuit, observable, thetas, config.repeats)
    if config.reference:
        records = step(*args)[1]
        ours = (records["eps"][0], records["K"][0])
        if config.workload == "tfim-kernel":
            def convert(values, kmat):  # the outputs at the data points and K
                return values - data[1], kmat
        else:
            def convert(values, grads):  # one "data point", target 0: eps = <O> and K = |grad|^2
                return values[:, None], jnp.sum(grads**2, axis=-1)[:, None, None]
        _add_references(out, config, _references(config, circuit, observable, data), thetas, ours, convert)
        for ref in out["references"]:
            if "floor_time_s" in out and "step_time_s" in ref:  # the largest speed-up any step at the floor could have
                ref["floor_multiple"] = ref["step_time_s"] / out["floor_time_s"]
    return out


def _hessian(config: BenchConfig) -> dict:
    """``rpa-hessian``: mu and the loss Hessian ``M = g g^T + eps d^2 eps`` (004 eq. (19)) with its spectrum, for a
    batch of angle vectors (what ``qntk diagnose`` computes)."""
    circuit = _circuit(config)
    observable = _observable(config)
    thetas = jax.random.uniform(jax.random.key(config.seed), (config.batch, circuit.n_params), maxval=2 * jnp.pi)

    @jax.jit
    def hessians(circuit, observable, thetas):
        loss_hessian, kernel = kernels.loss_hessian_fn(circuit, observable), kernels.qntk_fn(circuit, observable)
        return jax.vmap(lambda theta: (loss_hessian(theta), kernel(theta).mu))(thetas)

    args = (circuit, observable, thetas)
    compiled, compile_s = _compile(hessians, *args)
    out = _timings(config, circuit, compiled, args, compile_s)
    if config.reference:
        (m, _), mu = compiled(*args)

        def convert(values, grads, hess):
            m = jnp.einsum("bi,bj->bij", grads, grads) + values[:, None, None] * hess
            return m, jnp.einsum("bi,bij,bj->b", grads, hess, grads)

        _add_references(out, config, _references(config, circuit, observable), thetas, (m, mu), convert)
    return out


def _add_references(out: dict, config: BenchConfig, peers, thetas, ours: tuple, convert: Callable) -> None:
    out["references"] = [_reference(name, build, thetas, config.repeats, out["step_time_s"], ours, convert)
                         for name, build in peers]
    timed = [r["speedup"] for r in out["references"] if "speedup" in r]
    if timed:
        out["speedup_over_fastest"] = min(timed)


def _references(config: BenchConfig, circuit, observable, data=None) -> list[tuple[str, Callable]]:
    """``(name, build)`` of the peers of a workload; ``build()`` returns their batched step."""
    terms = list(zip(observable.coefs, observable.labels))
    blocks = _blocks(config)
    if config.workload == "hea-train":
        pennylane = [(f"pennylane-{kind}", functools.partial(pennylane_hea_step, config.n_qubits, blocks, terms,
                                                             f"{kind}.qubit")) for kind in ("default", "lightning")]
        return pennylane + [("qiskit", functools.partial(qiskit_hea_step, config.n_qubits, blocks, terms))]
    if config.workload == "tfim-kernel":
        return [(f"pennylane-{kind}", functools.partial(pennylane_reuploading_kernel, config.n_qubits, blocks,
                                                        TFIM_ENCODING_SCALE, data[0], f"{kind}.qubit"))
                for kind in ("default", "lightning")]
    labels = [PauliString(int(x), int(z), circuit.n_qubits).label for x, z in zip(circuit.gen_x, circuit.gen_z)]
    build = tensorcircuit_rpa_hessian if config.workload == "rpa-hessian" else tensorcircuit_rpa_step
    return [("tensorcircuit", functools.partial(build, labels, np.asarray(circuit.w), terms, circuit.scale))]


def _reference(name: str, build: Callable, thetas, repeats: int, step_s: float, ours: tuple, convert: Callable) -> dict:
    """One peer's step timed like ours: ``name``, ``step_time_s``, ``compile_time_s`` (its first call, cold),
    ``speedup`` (its time over ours), ``max_abs_diff`` (its outputs, ``convert``-ed to ours, against ours) and,
    for a peer compiled by XLA, ``peak_memory_bytes``; or ``name`` and ``skipped`` with the reason."""
    try:
        ref = build()
    except ImportError as err:
        return {"name": name, "skipped": str(err)}
    finally:
        jax.config.update("jax_enable_x64", True)  # TensorCircuit may switch JAX to float32 on import
    with _cold_compilation():
        t = time.perf_counter()
        outputs = jax.block_until_ready(ref(thetas))
        compile_s = time.perf_counter() - t
    ref_s = _best_time(ref, thetas, repeats=repeats)
    err = max(float(jnp.max(jnp.abs(jnp.asarray(theirs) - mine))) for theirs, mine in zip(convert(*outputs), ours))
    # the first call less one step; floored at 0, for a peer without compilation whose calls vary more than that
    out = {"name": name, "step_time_s": ref_s, "compile_time_s": max(compile_s - ref_s, 0.0), "speedup": ref_s / step_s,
           "max_abs_diff": err}
    if hasattr(ref, "lower"):
        out["peak_memory_bytes"] = _peak_memory(ref.lower(thetas).compile())
    return out


def _compile_scaling(config: BenchConfig) -> dict:
    """Compile time and memory of the ``rpa-train`` step against L. The memory that grows with L is the gates
    (arguments, ``L d^2``) and the gradient and records (``L B``): the adjoint sweep keeps no state per layer, so the
    temporaries grow by far less than one state, ``d B`` complex numbers, per layer."""
    observable = _observable(config)
    rows = []
    for layers in config.compile_layers:
        circuit = ansatze.rpa(config.n_qubits, layers, seed=config.seed)
        thetas = jnp.zeros((config.batch, layers))
        compiled, _, compile_s = _train_step(circuit, observable, thetas)
        temp = compiled.memory_analysis().temp_size_in_bytes
        rows.append({"n_layers": layers, "compile_time_s": compile_s, "temp_bytes": int(temp)})
    times = [r["compile_time_s"] for r in rows]
    first, last = rows[0], rows[-1]
    return {
        "workload": "compile",
        "n_qubits": config.n_qubits,
        "batch": config.batch,
        "rows": rows,
        "compile_time_s": float(np.median(times)),
        "compile_max_over_min": max(times) / min(times),
        "temp_bytes_per_layer": (last["temp_bytes"] - first["temp_bytes"]) / max(1, last["n_layers"] - first["n_layers"]),
        "state_bytes": 16 * 2**config.n_qubits * config.batch,
    }


#: The workloads of ``docs/benchmarks.md`` (``qntk bench --report``), with their references where those finish in
#: minutes on two cores: the TensorCircuit-ng construction compiles in a time that grows with L (about 2 min at
#: L = 192), so the n = 8, L = 768 row runs without it; PennyLane's default.qubit compiles 003's re-uploading
#: kernel in a time that grows faster than its depth (99 s at 5 blocks, 35 min at 16), so ``tfim-kernel`` has 8.
REPORT = (
    BenchConfig("rpa-train", 4, 64, 10),
    BenchConfig("rpa-train", 4, 64, 100),
    BenchConfig("rpa-train", 6, 192, 10),
    BenchConfig("rpa-train", 8, 768, 10, reference=False),
    BenchConfig("rpa-hessian", 6, 64, 10),
    BenchConfig("hea-train", 12, 96, 10),
    BenchConfig("hea-train", 16, 64, 10),
    BenchConfig("hea-train", 20, 80, 1),
    BenchConfig("tfim-kernel", 6, 144, 10),
    BenchConfig("compile", 6, batch=10, compile_layers=(64, 256, 1024)),
)


def report(configs=REPORT, on_result: Callable[[dict], None] | None = None) -> str:
    """Runs ``configs`` and returns the Markdown of ``docs/benchmarks.md``: the machine, the versions, and one
    row per workload and peer (qntk's step and compile time, peak memory, its fraction of the floor where it has
    one, the peer's times, the speed-up and the largest difference of the values)."""
    results = []
    for config in configs:
        results.append(run(config))
        if on_result:
            on_result(results[-1])
    columns = ("workload", "n", "L", "params", "B", "qntk step (ms)", "qntk compile (s)", "qntk memory (MB)",
               "floor fraction", "peer", "peer step (ms)", "peer compile (s)", "peer memory (MB)", "speed-up",
               "max abs diff")
    lines = ["# qntk benchmarks", "", "Generated by `qntk bench --report docs/benchmarks.md`; every ratio is against a "
             "peer measured in the same run (best of the repeats). Machine: " + _machine() + ".", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted({**results[0]["versions"], **_peer_versions()}.items()))
             + ".", "", FLOORS, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in results:
        if r["workload"] == "compile":
            times = ", ".join(f"L = {row['n_layers']}: {row['compile_time_s']:.2f} s, {row['temp_bytes'] / 1e6:.3g} MB"
                              for row in r["rows"])
            lines.append(f"| compile | {r['n_qubits']} | | | {r['batch']} | | {times} (time max/min "
                         f"{r['compile_max_over_min']:.2f}) | temporaries grow {r['temp_bytes_per_layer']:.0f} B per layer "
                         f"(one state is {r['state_bytes']} B) |" + " |" * (len(columns) - 8))
            continue
        ours = (f"| {r['workload']} | {r['n_qubits']} | {r['n_layers']} | {r['params']} | {r['batch']} | "
                f"{1e3 * r['step_time_s']:.3g} | {r['compile_time_s']:.3g} | {_megabytes(r.get('peak_memory_bytes'))} | "
                f"{_floor(r)} | ")
        for ref in r.get("references") or [{"name": "(none run)"}]:
            if "step_time_s" in ref:
                lines.append(ours + f"{ref['name']} | {1e3 * ref['step_time_s']:.3g} | {ref['compile_time_s']:.3g} | "
                             f"{_megabytes(ref.get('peak_memory_bytes'))} | {ref['speedup']:.3g} | "
                             f"{ref['max_abs_diff']:.1e} |")
            else:
                lines.append(ours + f"{ref['name']} {ref.get('skipped', '')} |" + " |" * 5)
    lines += ["", "## Targets", ""] + _targets(results)
    profiles = [r for r in results if "profile" in r]
    if profiles:
        lines += ["", PROFILE, "", "| n | B | step (ms) | <O> alone (ms) | <O> and gradient (ms) | 4 x 4 segments | CNOT "
                  "segments | 4 x 4 pass (ms) | CNOT pass (ms) | plain pass (ms) | fastest peer (ms) |", "|" + "---|" * 11]
        for r in profiles:
            p = r["profile"]
            peers = [ref["step_time_s"] for ref in r.get("references", []) if "step_time_s" in ref]
            lines.append(f"| {r['n_qubits']} | {r['batch']} | {1e3 * r['step_time_s']:.3g} | {1e3 * p['value_time_s']:.3g} | "
                         f"{1e3 * p['gradient_time_s']:.3g} | {p['matrix_segments']} | {p['gates_segments']} | "
                         f"{1e3 * p['matrix_pass_s']:.3g} | {1e3 * p['gates_pass_s']:.3g} | {1e3 * p['plain_pass_s']:.3g} | "
                         + (f"{1e3 * min(peers):.3g}" if peers else "") + " |")
    return "\n".join(lines) + "\n"


#: The targets of the benchmarks: speed-up over TensorCircuit-ng on the RPA, over the fastest PennyLane device on the
#: HEA, fraction of the floor from 6 qubits up, compile time (max over min) across depths.
RPA_SPEEDUP, HEA_SPEEDUP, FLOOR_FRACTION, COMPILE_SPREAD = 30.0, 5.0, 0.5, 1.5


def _targets(results: list[dict]) -> list[str]:
    """One Markdown item per target and measured row: met, or not and what limits it, from the numbers of the run."""
    def peers(r, prefix):
        return [ref for ref in r.get("references", []) if ref["name"].startswith(prefix) and "speedup" in ref]

    lines = []
    for r in results:
        size = f"{r['workload']} n = {r['n_qubits']}, B = {r['batch']}"
        for ref in peers(r, "tensorcircuit"):
            met = ref["speedup"] >= RPA_SPEEDUP
            why = "" if met or "floor_multiple" not in ref else (
                f": the peer itself takes only {ref['floor_multiple']:.3g} times the matmul floor, so no step could be "
                f"{RPA_SPEEDUP:.0f}x faster than it here (qntk is at {r['floor_fraction']:.2f} of the floor)")
            lines.append(f"- {RPA_SPEEDUP:.0f}x over TensorCircuit-ng, {size}: {ref['speedup']:.3g}x, "
                         f"{'met' if met else 'not met'}{why}.")
        pennylane = peers(r, "pennylane")
        if r["workload"] == "hea-train" and pennylane:
            fastest = min(pennylane, key=lambda ref: ref["step_time_s"])
            met = fastest["speedup"] >= HEA_SPEEDUP
            lines.append(f"- {HEA_SPEEDUP:.0f}x over the fastest PennyLane device, {size}: {fastest['speedup']:.3g}x over "
                         f"{fastest['name']}, " + ("met." if met else "not met: the profile below says what limits it."))
        if r["workload"] == "rpa-train" and r["n_qubits"] >= 6 and "floor_fraction" in r:
            met = r["floor_fraction"] >= FLOOR_FRACTION
            why = "" if met else (
                f": the {1e3 * (r['step_time_s'] - r['floor_time_s']):.3g} ms beyond the products are the layers' Pauli "
                "rotations, the gradient's inner products and the loop, O(d B) work each, which shrink less with d than "
                "the products' O(d^2 B)")
            lines.append(f"- Within {1 / FLOOR_FRACTION:.0f}x of the floor, {size}: {r['floor_fraction']:.2f} of it, "
                         f"{'met' if met else 'not met'}{why}.")
        if r["workload"] == "compile":
            flat = r["compile_max_over_min"] <= COMPILE_SPREAD
            layers = ", ".join(str(row["n_layers"]) for row in r["rows"])
            lines.append(f"- Compile time flat in L (L = {layers}): max/min {r['compile_max_over_min']:.2f}, "
                         f"{'met' if flat else 'not met'}.")
            flat = r["temp_bytes_per_layer"] < r["state_bytes"]
            lines.append(f"- Gradient memory flat in L: the temporaries grow {r['temp_bytes_per_layer']:.0f} B per layer "
                         f"against one state of {r['state_bytes']} B, {'met' if flat else 'not met'}.")
    return lines


PROFILE = ("Profile of the HEA step (local gates, fused: the rotations and CNOT of each even bond of a block are one "
           "4 x 4 matrix, each odd-bond CNOT one pass; the adjoint gradient applies every segment three times, to "
           "the state and to the two states of its backward sweep). The step is the segments' passes over the "
           "state: a 4 x 4 pass does 4 complex multiply-adds per amplitude, in XLA's generated CPU loops, and costs "
           "several plain passes at many qubits. Beating a gate-by-gate simulator with hand-vectorized kernels "
           "(lightning.qubit) by 5x at 20 qubits needs faster passes than XLA's CPU loops give, or fewer of them "
           "(wider fused windows cost more arithmetic per pass).")


FLOORS = ("Floors: for dense Haar gates (RPA), the time of the step's own complex128 matrix products "
          "(`W_l @ X`, one per layer forward and one backward) timed alone (\"matmul\"); for local gates (HEA, "
          "re-uploading), the time of the state passes of a gate-by-gate simulator's exact gradient, each gate "
          "reading and writing the state three times (forward, and the two states of the adjoint sweep), from a "
          "timed pass over an array of the same size (\"passes\"). Memory is XLA's peak (arguments, outputs and "
          "temporaries) of the compiled step; peers that XLA does not compile have none.")


def _megabytes(nbytes: int | None) -> str:
    return "" if nbytes is None else f"{nbytes / 1e6:.3g}"


def _floor(result: dict) -> str:
    if "floor_fraction" in result:
        return f"{result['floor_fraction']:.2f} (matmul)"
    if "pass_floor_fraction" in result:
        return f"{result['pass_floor_fraction']:.2f} (passes)"
    return ""


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
    out = {"compile": _compile_scaling, "rpa-hessian": _hessian}.get(config.workload, _train)(config)
    out.update(
        device=str(jax.devices()[0]),
        platform=jax.default_backend(),
        versions=versions(),
        seed=config.seed,
    )
    return out
