"""qntk bench: it times the training step that qntk train runs, and its ratios say what PRODUCT.md
promises (compile time flat in L, faster than the TensorCircuit-ng construction of 004's authors)."""

import importlib.util
import threading
import uuid

import pytest

from qntk import train
from qntk.experiments import bench


def test_reports_times_and_floor():
    out = bench.run(bench.BenchConfig(n_qubits=2, n_layers=4, batch=2, repeats=1, reference=False))
    for key in ("compile_time_s", "step_time_s", "mu_time_s", "floor_time_s", "floor_fraction", "versions"):
        assert key in out
    assert out["step_time_s"] > 0 and out["floor_fraction"] > 0


def test_times_the_step_that_train_runs(monkeypatch):
    """The benchmarked function is train.compiled_steps, with and without mu (qntk train --record-mu)."""
    calls = []
    real = train.compiled_steps

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(train, "compiled_steps", spy)
    bench.run(bench.BenchConfig(n_qubits=2, n_layers=4, batch=2, repeats=1, reference=False))
    assert calls == [("quadratic", None, False), ("quadratic", None, True)]


def test_compile_time_and_gradient_memory_are_flat_in_depth():
    """The layers are scanned over and the gates are arguments: 32 times the depth, about the same compile
    time (measured 0.46-0.54 s for L = 64..1024 at n = 6). The adjoint gradient keeps no state per layer: the
    temporaries grow by a few numbers per layer and angle vector (the gradient and its records), far less than
    the state that backpropagation stores per layer."""
    scaling = bench.run(bench.BenchConfig(workload="compile", n_qubits=5, batch=4, compile_layers=(8, 256)))
    assert [r["n_layers"] for r in scaling["rows"]] == [8, 256]
    assert scaling["compile_max_over_min"] < 2.5
    assert scaling["state_bytes"] == 16 * 32 * 4
    assert 0 <= scaling["temp_bytes_per_layer"] < scaling["state_bytes"] / 4, scaling


def test_compile_times_are_cold_even_when_the_persistent_cache_is_warm(tmp_path):
    """The CLI keeps compiled programs on disk; a timed compilation must not read them (JAX decides once per process
    whether to use that cache, so switching it off alone is not enough)."""
    import jax
    from jax.experimental.compilation_cache.compilation_cache import reset_cache

    hits, here = [], threading.get_ident()  # this thread's reads of the persistent cache (other tests may leave threads)
    jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if (
        event == "/jax/compilation_cache/cache_hits" and threading.get_ident() == here) else None)
    before = (jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs)
    token = uuid.uuid4().int % 10**6 / 10**6  # a program of this test only: no earlier run's entry can match it
    step = jax.jit(lambda x: jax.numpy.cos(x) @ x.T + token)
    x = jax.numpy.ones((3, 3))
    try:
        jax.config.update("jax_compilation_cache_dir", str(tmp_path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        reset_cache()
        step.lower(x).compile()  # written to the cache
        jax.clear_caches()
        warm = len(hits)  # (counted from here: only the differences below are asserted)
        step.lower(x).compile()
        assert len(hits) == warm + 1  # read back: the cache is warm
        bench._compile(step, x)
        bench._compile(step, x)  # (JAX's options differ with the cache off: a first cold compilation misses anyway)
        assert len(hits) == warm + 1  # not read: cold compilations
        jax.clear_caches()
        step.lower(x).compile()
        assert len(hits) == warm + 2  # and the cache is in use again afterwards
    finally:
        jax.config.update("jax_compilation_cache_dir", before[0])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", before[1])
        reset_cache()


@pytest.mark.skipif(importlib.util.find_spec("tensorcircuit") is None, reason="needs qntk[bench]")
def test_faster_than_the_tensorcircuit_construction():
    """Side by side in one run, at a depth small enough for the reference to compile in seconds: at n = 6,
    L = 8 qntk's step was measured 40x faster on an idle machine, with the same numbers. The ratio is
    smaller at this depth than at the benchmark sizes (the reference's cost per layer is the larger one),
    and the other test worker shares the machine, so the bound here is loose; the benchmark itself is
    the slow test below."""
    out = bench.run(bench.BenchConfig(n_qubits=6, n_layers=8, batch=10, repeats=5))
    (ref,) = out["references"]
    assert ref["name"] == "tensorcircuit" and ref["max_abs_diff"] < 1e-10
    assert ref["speedup"] > 5.0 and out["speedup_over_fastest"] == ref["speedup"], out


def test_hea_against_pennylane_default_and_lightning():
    """The HEA step beside PennyLane's default.qubit (jit + vmap) and lightning.qubit (adjoint), in one run: the
    same values and kernels to float64 round-off, and every reference entry carries the keys scripts read."""
    out = bench.run(bench.BenchConfig(workload="hea-train", n_qubits=4, n_layers=16, batch=4, repeats=1))
    assert out["params"] == 16
    assert [r["name"] for r in out["references"]] == ["pennylane-default", "pennylane-lightning", "qiskit"]
    for ref in out["references"]:
        assert {"name", "step_time_s", "compile_time_s", "speedup", "max_abs_diff"} <= set(ref), ref
        assert ref["max_abs_diff"] < 1e-10 and ref["speedup"] > 0, ref
    assert out["speedup_over_fastest"] == min(r["speedup"] for r in out["references"])
    assert out["references"][0]["peak_memory_bytes"] > 0  # an XLA-compiled peer has a memory analysis
    assert out["peak_memory_bytes"] > 0 and 0 < out["pass_floor_fraction"]
    profile = out["profile"]  # 2 blocks of 2 fused pairs and 1 odd-bond CNOT
    assert (profile["matrix_segments"], profile["gates_segments"], profile["rotation_segments"]) == (4, 2, 0)
    assert profile["value_time_s"] > 0 and profile["gradient_time_s"] > 0  # timings: no order asserted at this size


@pytest.mark.skipif(importlib.util.find_spec("tensorcircuit") is None, reason="needs qntk[bench]")
def test_mu_and_loss_hessian_against_the_tensorcircuit_hessian():
    """rpa-hessian: qntk's loss Hessian g g^T + eps d^2 eps (004 eq. (19)) and mu = g^T d^2 eps g equal those built
    from jax.hessian of the TensorCircuit construction, at float64 round-off."""
    out = bench.run(bench.BenchConfig(workload="rpa-hessian", n_qubits=3, n_layers=6, batch=3, repeats=1))
    (ref,) = out["references"]
    assert out["params"] == 6 and ref["name"] == "tensorcircuit" and ref["max_abs_diff"] < 1e-10, ref


def test_tfim_kernel_matrix_against_pennylane():
    """tfim-kernel: the QNTK matrix over 003's 20 TFIM fields of the re-uploading model with 003's HEA block equals
    PennyLane's J J^T (default.qubit and lightning.qubit) at float64 round-off."""
    out = bench.run(bench.BenchConfig(workload="tfim-kernel", n_qubits=2, n_layers=12, batch=2, repeats=1))
    assert out["params"] == 12 and out["n_layers"] == 2 * (2 + 6)
    assert [r["name"] for r in out["references"]] == ["pennylane-default", "pennylane-lightning"]
    assert all(r["max_abs_diff"] < 1e-10 for r in out["references"]), out["references"]


def test_report_is_a_markdown_table_of_every_workload():
    """qntk bench --report: the machine, the versions and one row per workload and peer, from one run."""
    text = bench.report((bench.BenchConfig("hea-train", 3, 6, 2, repeats=1, reference=False),
                         bench.BenchConfig("compile", 2, batch=2, compile_layers=(4, 8))))
    lines = text.splitlines()
    assert lines[0] == "# qntk benchmarks" and "cores" in text and "jax " in text
    rows = [line for line in lines if line.startswith("| hea-train") or line.startswith("| compile")]
    assert len(rows) == 2 and "(none run)" in rows[0] and "L = 4:" in rows[1]
    assert all(row.count("|") == 16 for row in rows)
    profile = lines[lines.index(bench.PROFILE) + 4]  # the HEA's profile: its segments and passes
    assert profile.startswith("| 3 | 2 |") and profile.count("|") == 12, profile
    targets = lines[lines.index("## Targets") + 2:lines.index(bench.PROFILE) - 1]
    assert [t.split(" (")[0].split(":")[0] for t in targets] == ["- Compile time flat in L", "- Gradient memory flat in L"]


def test_targets_say_met_or_what_limits_them():
    """Each target is judged from the run's own numbers; an unmet RPA speed-up names the peer's distance from the floor."""
    rpa = {"workload": "rpa-train", "n_qubits": 6, "batch": 10, "floor_fraction": 0.4, "step_time_s": 0.01,
           "floor_time_s": 0.004, "references": [
        {"name": "tensorcircuit", "speedup": 12.0, "step_time_s": 0.1, "floor_multiple": 20.0}]}
    hea = {"workload": "hea-train", "n_qubits": 12, "batch": 10, "references": [
        {"name": "pennylane-default", "speedup": 6.0, "step_time_s": 0.06},
        {"name": "pennylane-lightning", "speedup": 4.0, "step_time_s": 0.04}, {"name": "qiskit", "skipped": "no"}]}
    rpa_line, floor_line, hea_line = bench._targets([rpa, hea])
    assert "12x, not met: the peer itself takes only 20 times the matmul floor" in rpa_line
    assert "0.40 of it, not met: the 6 ms beyond the products" in floor_line
    assert "4x over pennylane-lightning, not met: the profile" in hea_line
    rpa["references"][0]["speedup"] = 31.0
    assert bench._targets([rpa])[0].endswith("31x, met.")
