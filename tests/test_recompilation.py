"""Sweeps over observables and targets must not recompile.

How compilations are counted (:func:`count_compilations`): every XLA compilation of a jitted
function runs inside ``jax._src.dispatch.log_elapsed_time(..., event=BACKEND_COMPILE_EVENT)``, which
reports the event ``"/jax/core/compile/backend_compile_duration"`` with ``fun_name="jit(<name>)"``
to the listeners registered by ``jax.monitoring.register_event_duration_secs_listener``. Counting
those events for our function's name counts executables built for it, not traces (a retrace whose
lowering hits JAX's caches does not count) and not cache look-ups on the fast path; a hit of the
persistent compilation cache, if one is configured, still goes through the same call and counts as
one compilation, so the count does not depend on the cache settings. The event is public
(``jax.monitoring``) and the same one ``jax.log_compiles`` uses for its "Finished XLA compilation"
log lines. As a cross-check the tests also assert the jit's dispatch-cache size
(``jitted._cache_size()``, a private JAX helper, used only when present) and count Python traces.

With static observable data (the old ``PauliSum`` pytree held its coefficients and labels as aux
data) the sweeps over ``J`` and over labels compile once per value: those tests then see 4 and 2
compilations. :func:`test_counter_sees_recompilations` is the positive control that the counter
does count a second compilation when the shapes change.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qntk import kernels
from qntk.models import ansatze, observables

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
ATOL = 1e-10


@contextlib.contextmanager
def count_compilations(name: str):
    """Yields a list that collects one entry per XLA compilation of the jitted function ``name``."""
    compiled: list[str] = []

    def listener(event: str, duration_secs: float, **kwargs) -> None:
        fun_name = str(kwargs.get("fun_name", ""))
        if event == BACKEND_COMPILE_EVENT and fun_name in (name, f"jit({name})", f"jit_{name}"):
            compiled.append(fun_name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield compiled
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def cache_size(jitted) -> int | None:
    size = getattr(jitted, "_cache_size", None)
    return None if size is None else size()


def jitted_kernel_sweep():
    """A fresh ``jit`` of ``vmap(qntk_fn(circuit, obs, target))(thetas)`` and its trace counter.

    A new function object per test, so no test reuses another's compilation.
    """
    traces = []

    def kernel_sweep(circuit, obs, target, thetas):
        traces.append(1)
        return jax.vmap(kernels.qntk_fn(circuit, obs, target))(thetas)

    return jax.jit(kernel_sweep), traces


@pytest.fixture(scope="module")
def circuit():
    return ansatze.rpa(3, 6, seed=0)


@pytest.fixture(scope="module")
def thetas(circuit):
    return jax.random.uniform(jax.random.key(0), (3, circuit.n_params), maxval=2 * np.pi)


def assert_kernels_close(got, circuit, obs, target, thetas, *, all_fields=True):
    """``got`` equals a fresh, non-jitted (eager) evaluation: every field of ``vmap(qntk_fn(...))``,
    or only ``eps`` from ``residual_fn`` (cheaper: eager evaluation of the whole kernel takes seconds)."""
    if not all_fields:
        want_eps = jax.vmap(kernels.residual_fn(circuit, obs, target))(thetas)
        np.testing.assert_allclose(got.eps, want_eps, atol=ATOL, rtol=1e-9, err_msg="eps")
        return
    want = jax.vmap(kernels.qntk_fn(circuit, obs, target))(thetas)
    for field, value in want._asdict().items():
        np.testing.assert_allclose(getattr(got, field), value, atol=ATOL, rtol=1e-9, err_msg=field)


def run_sweep(circuit, thetas, cases):
    """Evaluates the jitted kernel for every ``(obs, target)``; returns (outputs, compilations, traces, cache size)."""
    sweep, traces = jitted_kernel_sweep()
    with count_compilations("kernel_sweep") as compiled:
        outs = [jax.block_until_ready(sweep(circuit, obs, target, thetas)) for obs, target in cases]
    return outs, len(compiled), len(traces), cache_size(sweep)


def test_sweep_over_xxz_coupling_compiles_once(circuit, thetas):
    js = [0.5, 1.0, 2.0, 3.5]
    cases = [(observables.xxz(3, J), -1.0) for J in js]
    outs, n_compiled, n_traces, n_cached = run_sweep(circuit, thetas, cases)
    assert (n_compiled, n_traces) == (1, 1)
    assert n_cached in (None, 1)
    assert len({jax.tree.structure(obs) for obs, _ in cases}) == 1
    for i, (out, (obs, target)) in enumerate(zip(outs, cases)):
        assert_kernels_close(out, circuit, obs, target, thetas, all_fields=i in (0, len(cases) - 1))
    # The coupling does change the numbers (the sweep is not a constant).
    assert len({round(float(out.eps[0]), 8) for out in outs}) == len(js)


def test_sweep_over_targets_compiles_once(circuit, thetas):
    obs = observables.xxz(3, 2.0)
    targets = [-6.0, -2.5, 0.0, 1.25]
    outs, n_compiled, n_traces, n_cached = run_sweep(circuit, thetas, [(obs, t) for t in targets])
    assert (n_compiled, n_traces) == (1, 1)
    assert n_cached in (None, 1)
    for i, (out, target) in enumerate(zip(outs, targets)):
        assert_kernels_close(out, circuit, obs, target, thetas, all_fields=i in (0, len(targets) - 1))
        # eps = <O> - O_0: the target shifts eps; the derivatives do not depend on it.
        np.testing.assert_allclose(out.eps - outs[0].eps, targets[0] - target, atol=ATOL)
        for field in ("grad", "K", "mu", "lambda_"):
            np.testing.assert_allclose(getattr(out, field), getattr(outs[0], field), atol=ATOL, err_msg=field)


def test_different_pauli_sums_of_one_shape_compile_once(circuit, thetas):
    # Both: 3 terms in 2 X-mask groups (one X-carrying string, two diagonal ones), on 3 qubits.
    a = observables.pauli_sum("0.5*XXI - ZII + 0.3*IIZ")
    b = observables.pauli_sum("1.5*IYY + 0.2*ZZZ - 0.7*IZI")
    assert a.labels != b.labels and a.coefs != b.coefs
    assert a.diags.shape == b.diags.shape == (2, 8)
    outs, n_compiled, n_traces, n_cached = run_sweep(circuit, thetas, [(a, 0.1), (b, 0.1)])
    assert (n_compiled, n_traces) == (1, 1)
    assert n_cached in (None, 1)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    assert_kernels_close(outs[0], circuit, a, 0.1, thetas)
    assert_kernels_close(outs[1], circuit, b, 0.1, thetas)


def test_counter_sees_recompilations():
    """Positive control: a new shape (12 vs 9 terms) compiles again, and the counter sees it."""
    traces = []

    def expval_sweep(obs, psi):
        traces.append(1)
        return obs.expval(psi)

    f = jax.jit(expval_sweep)
    psi = jnp.full(8, 1 / np.sqrt(8), dtype=jnp.complex128)
    with count_compilations("expval_sweep") as compiled:
        for obs in (observables.xxz(3, 1.0), observables.tfim(3), observables.xxz(3, 2.0), observables.tfim(3, h=0.3)):
            np.testing.assert_allclose(f(obs, psi), np.real(psi.conj() @ obs.matrix() @ psi), atol=ATOL)
    assert len(compiled) == len(traces) == 2
    assert cache_size(f) in (None, 2)


# --- the pytree itself ------------------------------------------------------------------------


def test_pauli_sum_pytree_holds_only_n_qubits_as_static_data():
    a, b = observables.xxz(3, 1.0, periodic=True), observables.random_pauli_mixture(3, n_terms=4, seed=5)
    leaves, treedef = jax.tree_util.tree_flatten(a)
    assert [leaf.shape for leaf in leaves] == [(12,), (12,), (12,), (a.x_masks.shape[0],), (a.x_masks.shape[0], 8)]
    assert [leaf.dtype for leaf in leaves] == [jnp.float64, jnp.int32, jnp.int32, jnp.int32, jnp.complex128]
    # Shapes live in the leaves, so even observables with other term counts share the treedef.
    assert treedef == jax.tree.structure(b) == jax.tree.structure(observables.pauli_measurement("ZII", 2.0))
    assert treedef != jax.tree.structure(observables.xxz(4))


def test_tree_map_to_numpy_round_trips():
    obs = observables.xxz(3, 1.7)
    as_numpy = jax.tree.map(np.asarray, obs)
    assert all(isinstance(leaf, np.ndarray) for leaf in jax.tree.leaves(as_numpy))
    assert (as_numpy.coefs, as_numpy.labels) == (obs.coefs, obs.labels)
    assert repr(as_numpy) == repr(obs) and str(as_numpy) == str(obs)
    np.testing.assert_array_equal(as_numpy.matrix(), obs.matrix())
    assert as_numpy.trace_power(3) == pytest.approx(obs.trace_power(3), abs=1e-9)
    back = jax.tree.map(jnp.asarray, as_numpy)
    assert (back.coefs, back.labels) == (obs.coefs, obs.labels)
    psi = jnp.asarray(np.random.default_rng(0).normal(size=8) + 0j)
    np.testing.assert_allclose(back.apply(psi), obs.apply(psi), atol=ATOL)


def test_vmap_over_stacked_observables():
    js = [0.5, 1.0, 2.0]
    obs_list = [observables.xxz(3, J) for J in js]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *obs_list)
    psi = jnp.asarray(np.random.default_rng(1).normal(size=8) + 1j * np.random.default_rng(2).normal(size=8))
    psi = psi / jnp.linalg.norm(psi)
    got = jax.jit(jax.vmap(lambda o: o.expval(psi)))(stacked)
    np.testing.assert_allclose(got, [np.real(psi.conj() @ o.matrix() @ psi) for o in obs_list], atol=ATOL)
    with pytest.raises(TypeError, match="stack of observables"):
        stacked.coefs
    assert "stacked" in repr(stacked)
    one = jax.tree.map(lambda x: x[1], stacked)
    assert (one.coefs, one.labels) == (obs_list[1].coefs, obs_list[1].labels)


def test_python_views_are_refused_while_traced():
    obs = observables.xxz(3, 2.0, periodic=True)
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda o: o.coefs)(obs)
    seen = []
    jax.jit(lambda o: seen.append(repr(o)) or o.coef_array.sum())(obs)
    assert seen == ["PauliSum(<traced coef_array (12,)>; n_qubits=3, n_terms=12)"]


def test_dense_observable_treedef_depends_only_on_n_qubits():
    a, b = observables.haar_projector(3, seed=0), observables.haar_projector(3, seed=1)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    def dense_expval(o, psi):
        return o.expval(psi)

    f = jax.jit(dense_expval)
    psi = jnp.full(8, 1 / np.sqrt(8), dtype=jnp.complex128)
    with count_compilations("dense_expval") as compiled:
        for o in (a, b):
            np.testing.assert_allclose(f(o, psi), np.real(psi.conj() @ o.matrix() @ psi), atol=ATOL)
    assert len(compiled) == 1
