"""Tests for qntk.kernels: eps, gradient, K, mu, lambda, zeta, C, Hessians and kernel matrices.

Every number is checked against the independent dense reference of ``tests/dense_reference.py`` (numpy
Kronecker products and ``scipy.linalg.expm``; nothing from qntk's engine):

    U = W_L exp(-i s phi_L G_L) ... W_1 exp(-i s phi_1 G_1) W_in,   eps = <psi_0| U^dag O U |psi_0> - O_0,

whose first and second derivatives are exact (the rotation of layer l is replaced by
``(-i s G_l) exp(-i s phi_l G_l)``), and against central finite differences and the parameter-shift rule.
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np
import pytest
from dense_reference import (
    observable_matrix,
    param_map,
    random_states,
    random_unitary,
    reference_angles,
    reference_expval_phi,
    reference_residual,
)

import qntk  # noqa: F401  (enables x64)
from qntk import kernels
from qntk.models import ansatze, circuits, observables

EXACT = 1e-11  # float64 round-off, relative to the size of the compared quantity (<= 12 layers, |O| <= 10)
FD = 1e-7  # central finite differences with step FD_STEP: truncation ~ FD_STEP^2, round-off ~ 1e-16 / FD_STEP
FD_STEP = 1e-5
PSD = 1e-12  # eigenvalues of a PSD kernel matrix may dip to -PSD * max eigenvalue by round-off


def assert_close(actual, desired, tol, what=""):
    """|actual - desired| <= tol * max(1, max |desired|), elementwise."""
    desired = np.asarray(desired)
    scale = max(1.0, float(np.max(np.abs(desired)))) if desired.size else 1.0
    np.testing.assert_allclose(np.asarray(actual), desired, rtol=0, atol=tol * scale, err_msg=what)


# --- cases ---------------------------------------------------------------------------------------
# Random ansatze use only (n, L) in {(2, 5), (3, 4)}: ansatze.haar_unitaries compiles once per
# (count, dim), about 2 s each on CPU.


def _shared_circuit(scale: float = -1.0):
    rng = np.random.default_rng(77)
    gates = np.stack([random_unitary(rng, 4) for _ in range(4)])
    return circuits.from_paulis(["XY", "ZZ", "YX", "XI"], gates, scale=scale, param_index=[0, 1, 0, 2])


def _perm_circuit():
    """Signed-permutation gates that are not involutions (W != W^dagger), so the adjoint sweep's W^dagger
    is exercised (a 2-qubit CNOT wall is its own inverse)."""
    ops = [[("cnot", 0, 1), ("cnot", 1, 0)], [("cnot", 1, 0), ("cz", 0, 1), ("cnot", 0, 1)], [("swap", 0, 1)]]
    pairs = [circuits.permutation_gate(2, ops[l % 3]) for l in range(5)]
    gates = (np.stack([p for p, _ in pairs]), np.stack([f for _, f in pairs]))
    w_in = random_unitary(np.random.default_rng(8), 4)
    return circuits.from_paulis(["XY", "ZI", "YY", "IX", "ZX"], gates, scale=1.0, w_in=w_in)


def _local_circuit():
    """Local gates (tensor operations) with generators on one to three qubits, CZ, SWAP and a reversed CNOT,
    repeating with a period of three layers, and one parameter shared by two layers."""
    ops = [[("cnot", 0, 2), ("cz", 1, 2)], [], [("swap", 0, 1), ("cnot", 2, 1)]]
    return circuits.from_paulis(["XYI", "IIZ", "YXZ"] * 2, circuits.local_gates(3, ops * 2), scale=0.5,
                                param_index=[0, 1, 2, 3, 1, 4])


CASES = {
    # name: (circuit builder, observable builder, target, number of features)
    "rpa": (lambda: ansatze.rpa(2, 5, seed=3), lambda: observables.xxz(2), -1.0, 0),
    "rpa-3q": (lambda: ansatze.rpa(3, 4, seed=2), lambda: observables.random_pauli_mixture(3, 5, seed=1), 0.5, 0),
    "rpa-local": (lambda: ansatze.rpa_local(3, 4, seed=2, depth=2), lambda: observables.xxz(3), -1.0, 0),
    "hea": (lambda: ansatze.hea(2, 2), lambda: observables.pauli_sum("0.7*ZI - 0.4*XY + 0.2*YY"), 0.1, 0),
    "reuploading": (
        lambda: ansatze.reuploading(2, 2, n_features=2, frequency="high"),
        lambda: observables.pauli_sum("ZZ + 0.5*XI"),
        0.2,
        2,
    ),
    "shared": (_shared_circuit, lambda: observables.haar_projector(2, seed=4), 0.3, 0),
    "perm": (_perm_circuit, lambda: observables.pauli_sum("XZ - 0.6*YI + 0.3*ZZ"), 0.0, 0),
    "periodic": (lambda: ansatze.periodic(2, 5, seed=1), lambda: observables.xxz(2), -2.0, 0),
    "hva": (lambda: ansatze.hva(2, 2), lambda: observables.tfim(2), -1.5, 0),
    "local": (_local_circuit, lambda: observables.pauli_sum("XZY - 0.6*ZIZ + 0.3*IYI"), 0.4, 0),
}
PAULI_CASES = ["rpa", "rpa-local", "hea", "reuploading", "perm"]  # one Pauli layer per parameter: the theta-level shift rule is exact
# Second-order tests (each case costs ~1.5 s of compilation): Pauli and diagonal generators, dense, perm and
# brickwork gates, 2 and 3 qubits, shared parameters, features and W_in are all represented.
SECOND_ORDER_CASES = ["rpa", "rpa-3q", "rpa-local", "reuploading", "shared", "periodic", "local"]


class Fns(NamedTuple):
    """Jitted kernel functions of one case (an eager call recompiles its scans every time, ~0.5 s)."""

    eps: Callable
    grad: Callable
    kernel: Callable
    hess: Callable


@functools.cache
def _built(name: str):
    build_c, build_o, target, _ = CASES[name]
    c, o = build_c(), build_o()
    fns = Fns(
        eps=jax.jit(kernels.residual_fn(c, o, target)),
        grad=jax.jit(kernels.grad_fn(c, o, target)),
        kernel=jax.jit(kernels.qntk_fn(c, o, target)),
        hess=jax.jit(kernels.hessian_fn(c, o, target)),
    )
    return c, o, target, fns


def setup_case(name: str, seed: int = 0):
    """(circuit, observable, target, theta, features or None, jitted functions) of a case."""
    c, o, target, fns = _built(name)
    rng = np.random.default_rng(1000 + seed)
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    x = rng.uniform(-1, 1, CASES[name][3]) if CASES[name][3] else None
    return c, o, target, theta, x, fns


def fd_jacobian(f, theta, step=FD_STEP):
    """Central differences of f (array-valued) with respect to theta, shape f.shape + (P,)."""
    cols = []
    for p in range(theta.size):
        e = np.zeros_like(theta)
        e[p] = step
        cols.append((np.asarray(f(theta + e)) - np.asarray(f(theta - e))) / (2 * step))
    return np.stack(cols, axis=-1)


# --- gradient: adjoint vs reference vs finite differences vs parameter shift --------------------


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_matches_reference_and_finite_differences(name):
    """grad_fn's eps and gradient equal the exact dense reference and central finite differences."""
    c, o, target, theta, x, fns = setup_case(name)
    eps, g = fns.grad(theta, None, x)
    eps_ref, g_ref, _ = reference_residual(c, o, theta, target, features=x)
    assert g.shape == (c.n_params,)
    assert_close(eps, eps_ref, EXACT, "eps")
    assert_close(g, g_ref, EXACT, "grad vs reference")
    eps_fn = fns.eps
    assert_close(eps_fn(theta, None, x), eps_ref, EXACT, "residual_fn")
    assert_close(g, fd_jacobian(lambda t: eps_fn(t, None, x), theta), FD, "grad vs finite differences")


@pytest.mark.parametrize("name", PAULI_CASES)
def test_gradient_matches_parameter_shift(name):
    """For Pauli generators, d eps/d theta_p = s [eps(theta + pi/(4s) e_p) - eps(theta - pi/(4s) e_p)]."""
    c, o, target, theta, x, fns = setup_case(name)
    _, g = fns.grad(theta, None, x)
    eps_fn = fns.eps
    s = c.scale
    shift = np.pi / (4 * s)
    ps = []
    for p in range(c.n_params):
        e = np.zeros(c.n_params)
        e[p] = shift
        ps.append(s * (eps_fn(theta + e, None, x) - eps_fn(theta - e, None, x)))
    assert_close(g, ps, EXACT)


@pytest.mark.parametrize("scale", [0.5, 1.0, -1.0, 0.3])
def test_parameter_shift_rule_scale_dependence(scale):
    """The shift rule with shift pi/(4s) and prefactor s is exact for every scale s (checked on the dense
    reference against finite differences and grad_fn); the textbook s = 1/2 rule is wrong for s != 1/2."""
    rng = np.random.default_rng(5)
    labels = ["XY", "ZI", "YZ", "XX"]
    gates = np.stack([random_unitary(rng, 4) for _ in labels])
    c = circuits.from_paulis(labels, gates, scale=scale)
    o = observables.pauli_sum("ZZ - 0.3*XI")
    obs_m = observable_matrix(o)
    theta = rng.uniform(0, 2 * np.pi, len(labels))

    def f(t):
        return reference_expval_phi(c, obs_m, t)

    def shifted(shift, pref):
        out = []
        for p in range(theta.size):
            e = np.zeros_like(theta)
            e[p] = shift
            out.append(pref * (f(theta + e) - f(theta - e)))
        return np.array(out)

    rule = shifted(np.pi / (4 * scale), scale)
    assert_close(rule, fd_jacobian(f, theta), FD, "shift rule vs finite differences")
    assert_close(kernels.grad_fn(c, o)(theta)[1], rule, EXACT, "grad_fn vs shift rule")
    textbook = shifted(np.pi / 2, 0.5)
    if scale == 0.5:
        assert_close(textbook, rule, EXACT)
    else:
        assert np.max(np.abs(textbook - rule)) > 1e-3


def test_shared_parameter_gradient_sums_layer_shifts():
    """With param_index=[0,1,0,2] the gradient of theta_0 is the sum of the layer-wise shift rules of layers
    0 and 2; the naive theta-level two-term rule is then not exact (two frequencies), but it is for theta_1, theta_2."""
    c, o, target, theta, _, fns = setup_case("shared")
    _, g = fns.grad(theta)
    obs_m, s = observable_matrix(o), c.scale
    phi = reference_angles(c, theta)
    layer_shift = []
    for l in range(c.n_layers):
        e = np.zeros(c.n_layers)
        e[l] = np.pi / (4 * s)
        layer_shift.append(s * (reference_expval_phi(c, obs_m, phi + e) - reference_expval_phi(c, obs_m, phi - e)))
    assert_close(g, param_map(c).T @ np.array(layer_shift), EXACT)
    eps_fn = fns.eps
    naive = []
    for p in range(c.n_params):
        e = np.zeros(c.n_params)
        e[p] = np.pi / (4 * s)
        naive.append(s * (eps_fn(theta + e) - eps_fn(theta - e)))
    assert_close(naive[1:], g[1:], EXACT)
    assert abs(naive[0] - g[0]) > 1e-3


# --- K, mu and the derived quantities --------------------------------------------------------------


@pytest.mark.parametrize("name", SECOND_ORDER_CASES)
def test_qntk_and_dqntk_match_reference_and_finite_differences(name):
    """K = sum g^2 >= 0 and mu = g^T H g equal the reference; mu also equals a finite difference of the
    gradient along itself, g . (grad(theta + h g) - grad(theta - h g)) / 2h, and g^T H g with hessian_fn."""
    c, o, target, theta, x, fns = setup_case(name)
    k = fns.kernel(theta, None, x)
    eps_ref, g_ref, h_ref = reference_residual(c, o, theta, target, features=x)
    assert float(k.qntk) >= 0.0
    assert_close(k.eps, eps_ref, EXACT, "eps")
    assert_close(k.grad, g_ref, EXACT, "grad")
    assert_close(k.qntk, np.sum(g_ref**2), EXACT, "K")
    mu_ref = g_ref @ h_ref @ g_ref
    assert_close(k.dqntk, mu_ref, EXACT, "mu vs reference")
    g = np.asarray(k.grad)
    grad = lambda t: fns.grad(t, None, x)[1]  # noqa: E731
    h = FD_STEP / np.linalg.norm(g)  # displacement FD_STEP along the unit vector g/|g|
    mu_fd = g @ (np.asarray(grad(theta + h * g)) - np.asarray(grad(theta - h * g))) / (2 * h)
    assert_close(k.dqntk, mu_fd, FD, "mu vs finite differences")
    hess = fns.hess(theta, None, x)
    assert_close(k.dqntk, g @ np.asarray(hess) @ g, EXACT, "mu vs g^T H g")


@pytest.mark.parametrize("name", ["rpa", "periodic", "shared", "reuploading"])
def test_lambda_zeta_conserved_identities(name):
    """lambda = mu/K, zeta = eps mu/K^2, C = K - 2 lambda eps = (1 - 2 zeta) K, from reference eps, K, mu."""
    c, o, target, theta, x, fns = setup_case(name, seed=1)
    k = fns.kernel(theta, None, x)
    eps, g, h = reference_residual(c, o, theta, target, features=x)
    K, mu = np.sum(g**2), g @ h @ g
    lam, zeta = mu / K, eps * mu / K**2
    assert_close(k.rel_dqntk, lam, EXACT, "lambda")
    assert_close(k.dyn_index, zeta, EXACT, "zeta")
    assert_close(k.conserved, K - 2 * lam * eps, EXACT, "C")
    assert_close(k.conserved, (1 - 2 * zeta) * K, EXACT, "C = (1 - 2 zeta) K")
    assert abs(eps) > 1e-3 and abs(mu) > 1e-6  # the identities are not trivially 0 = 0


def test_dqntk_false_skips_mu():
    """qntk_fn(..., dqntk=False) returns the same eps, grad, K and NaN for mu, lambda, zeta, C."""
    c, o, target, theta, _, fns = setup_case("rpa")
    full = fns.kernel(theta)
    cheap = jax.jit(kernels.qntk_fn(c, o, target, dqntk=False))(theta)
    for field in ("eps", "grad", "qntk"):
        np.testing.assert_array_equal(getattr(cheap, field), getattr(full, field))
    for field in ("dqntk", "rel_dqntk", "dyn_index", "conserved"):
        assert np.isnan(getattr(cheap, field))


# --- Hessians ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECOND_ORDER_CASES)
def test_hessian_matches_reference_and_finite_differences(name):
    """hessian_fn equals the exact reference and finite differences of the gradient, and is symmetric
    (the finite-difference Jacobian of the adjoint gradient is symmetric too: its cross-derivatives agree)."""
    c, o, target, theta, x, fns = setup_case(name)
    hess = np.asarray(fns.hess(theta, None, x))
    _, _, h_ref = reference_residual(c, o, theta, target, features=x)
    assert hess.shape == (c.n_params, c.n_params)
    np.testing.assert_array_equal(hess, hess.T)
    assert_close(hess, h_ref, EXACT, "Hessian vs reference")
    fd = fd_jacobian(lambda t: fns.grad(t, None, x)[1], theta)
    assert_close(hess, fd, FD, "Hessian vs finite differences")
    assert_close(fd, fd.T, FD, "finite-difference Jacobian of the gradient is symmetric")


@pytest.mark.parametrize("name", ["periodic", "hea"])
def test_loss_hessian(name):
    """loss_hessian_fn gives M = g g^T + eps d^2 eps and its real eigenvalues in ascending order."""
    c, o, target, theta, x, _ = setup_case(name)
    m, evals = jax.jit(kernels.loss_hessian_fn(c, o, target))(theta, None, x)
    eps, g, h = reference_residual(c, o, theta, target, features=x)
    m_ref = np.outer(g, g) + eps * h
    assert_close(m, m_ref, EXACT, "M")
    evals = np.asarray(evals)
    assert np.isrealobj(evals) and evals.shape == (c.n_params,)
    assert np.all(np.diff(evals) >= 0)
    assert_close(evals, np.linalg.eigvalsh(m_ref), EXACT, "eigenvalues")
    assert evals[0] < 0 < evals[-1]  # an indefinite M at a random point: eps H contributes


# --- kernel matrices -------------------------------------------------------------------------------


def assert_symmetric_psd(k):
    k = np.asarray(k)
    assert_close(k, k.T, EXACT, "symmetric")
    ev = np.linalg.eigvalsh((k + k.T) / 2)
    assert ev[0] >= -PSD * max(ev[-1], 1.0)


@pytest.mark.parametrize("name", ["rpa", "periodic"])
def test_qntk_matrix_with_states(name, rng):
    """qntk_matrix_fn(c, [O1, O2])(theta, states) is symmetric PSD and equals J J^T, with J from finite
    differences and from the reference, rows ordered data-major (i * A + a)."""
    c, _, _, theta, _, _ = setup_case(name)
    outs = [observables.xxz(2), observables.pauli_sum("ZI - 0.5*XY")]
    states = random_states(rng, 3, c.dim)
    km = np.asarray(kernels.qntk_matrix_fn(c, outs)(theta, states=states))
    m, a = states.shape[0], len(outs)
    assert km.shape == (m * a, m * a)
    assert_symmetric_psd(km)
    eps_fns = [jax.jit(kernels.residual_fn(c, o)) for o in outs]
    j_fd = np.stack([fd_jacobian(lambda t: eps_fns[b](t, states[i]), theta) for i in range(m) for b in range(a)])
    j_ref = np.stack([reference_residual(c, outs[b], theta, state=states[i])[1] for i in range(m) for b in range(a)])
    assert_close(j_fd, j_ref, FD, "finite-difference J vs reference J")
    assert_close(km, j_fd @ j_fd.T, FD, "K vs J J^T (finite differences)")
    assert_close(km, j_ref @ j_ref.T, EXACT, "K vs J J^T (reference)")


def test_qntk_matrix_with_features_reuploading(rng):
    """The features= path (states=None) of a re-uploading model equals J J^T from the reference."""
    c = ansatze.reuploading(2, 2, n_features=2, frequency="high")
    outs = [observables.pauli_sum("ZZ + 0.5*XI"), observables.pauli_sum("YI - 0.2*IX")]
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    feats = rng.uniform(-1, 1, (3, 2))
    km = np.asarray(kernels.qntk_matrix_fn(c, outs)(theta, features=feats))
    assert_symmetric_psd(km)
    j_ref = np.stack([reference_residual(c, o, theta, features=f)[1] for f in feats for o in outs])
    assert_close(km, j_ref @ j_ref.T, EXACT)
    assert np.max(np.abs(km[0::2, 0::2] - km[1::2, 1::2])) > 1e-3  # the two outputs differ: ordering matters


@pytest.mark.parametrize(
    "build", [lambda: ansatze.periodic(2, 5, seed=2), lambda: ansatze.rpa(2, 5, seed=4), lambda: _shared_circuit(-1.0),
              lambda: ansatze.rpa_local(2, 5, seed=4)]
)
def test_measurement_kernel_equals_qntk_matrix(build, rng):
    """002 Lemma 3.1: K(M) from the Heisenberg-picture measurement equals qntk_matrix_fn for one output."""
    c = build()
    o = observables.xxz(2)
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    states = random_states(rng, 4, c.dim)
    km = kernels.measurement_kernel(c, o, theta, states)
    ref = np.asarray(kernels.qntk_matrix_fn(c, o)(theta, states=states))
    assert km.shape == (4, 4)
    assert_close(km, ref, EXACT)


# --- batching, jit, ensembles, recompilation -----------------------------------------------------


def _assert_kernels_equal(a, b, tol=EXACT):
    for field in kernels.Kernel._fields:
        assert_close(getattr(a, field), getattr(b, field), tol, field)


def test_vmap_over_angles_and_states_equals_loop(rng):
    """jax.vmap(kernel_fn) over angles, and over input states, equals a Python loop."""
    c, o, target, _, _, fns = setup_case("rpa")
    kernel_fn = fns.kernel  # jitted: the loop then costs one compile, not one per call
    thetas = rng.uniform(0, 2 * np.pi, (4, c.n_params))
    batched = jax.jit(jax.vmap(kernels.qntk_fn(c, o, target)))(thetas)
    loop = [kernel_fn(t) for t in thetas]
    _assert_kernels_equal(batched, jax.tree.map(lambda *xs: np.stack(xs), *loop))
    states = random_states(rng, 3, c.dim)
    batched = jax.jit(jax.vmap(kernels.qntk_fn(c, o, target), in_axes=(None, 0)))(thetas[0], states)
    loop = [kernel_fn(thetas[0], s) for s in states]
    _assert_kernels_equal(batched, jax.tree.map(lambda *xs: np.stack(xs), *loop))


def test_jit_with_circuit_and_observable_arguments_equals_eager(rng):
    """A jitted function taking the circuit and observable as arguments equals the eager result."""
    c, o, _, _, _, _ = setup_case("hea")
    thetas = rng.uniform(0, 2 * np.pi, (3, c.n_params))
    jitted = jax.jit(lambda cc, oo, th: jax.vmap(kernels.qntk_fn(cc, oo, 1.0))(th))(c, o, thetas)
    eager = jax.vmap(kernels.qntk_fn(c, o, 1.0))(thetas)
    _assert_kernels_equal(jitted, eager)


@pytest.mark.parametrize("builder", [ansatze.rpa, ansatze.rpa_local])
def test_vmap_over_stacked_ensemble_equals_per_circuit(builder, rng):
    """vmap over circuits.stack([rpa(seed=1), rpa(seed=2)]) equals evaluating each circuit separately (dense and
    brickwork gates)."""
    members = [builder(2, 5, seed=1), builder(2, 5, seed=2)]
    o = observables.xxz(2)
    thetas = rng.uniform(0, 2 * np.pi, (2, 5))
    one = jax.jit(lambda cc, th: kernels.qntk_fn(cc, o, 1.0)(th))
    batched = jax.jit(jax.vmap(one))(circuits.stack(members), thetas)
    for i, c in enumerate(members):
        single = one(c, thetas[i])
        _assert_kernels_equal(jax.tree.map(lambda x: x[i], batched), single)
    assert abs(float(batched.qntk[0] - batched.qntk[1])) > 1e-6


def test_recompilation_guard(rng):
    """The jitted kernel compiles once per circuit shape: new seeds of the same depth reuse it, a new depth
    compiles again."""
    traces = []

    def f(cc, oo, th):
        traces.append(cc.n_layers)  # runs only while tracing
        return jax.vmap(kernels.qntk_fn(cc, oo, 1.0))(th)

    jf = jax.jit(f)
    o = observables.xxz(2)
    th5 = rng.uniform(0, 2 * np.pi, (2, 5))
    first = jf(ansatze.rpa(2, 5, seed=1), o, th5)
    second = jf(ansatze.rpa(2, 5, seed=2), o, th5)
    assert traces == [5]
    assert not np.allclose(first.qntk, second.qntk)
    jf(ansatze.hea(2, 1), o, rng.uniform(0, 2 * np.pi, (2, 4)))
    assert traces == [5, 4]


@pytest.mark.parametrize("builder", [lambda s: ansatze.rpa(2, 5, seed=s), lambda s: ansatze.periodic(2, 5, seed=s)])
def test_same_seed_same_kernel(builder):
    """The same seed gives bit-identical kernel numbers; a different seed gives different ones."""
    o = observables.xxz(2)
    theta = np.linspace(0.1, 2.0, 5)
    kernel = jax.jit(lambda cc, th: kernels.qntk_fn(cc, o, 0.5)(th))
    a, b, other = (kernel(builder(s), theta) for s in (11, 11, 12))
    for field in kernels.Kernel._fields:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert abs(float(a.qntk - other.qntk)) > 1e-8


def test_numpy_angles_and_features_inside_jit(rng):
    """NumPy theta and features closed over inside jax.jit are accepted (engine.layer_angles converts them)
    and give the eager result."""
    c, o, target, theta, x, _ = setup_case("reuploading")
    eager = kernels.grad_fn(c, o, target)(theta, None, x)
    closed = jax.jit(lambda: kernels.grad_fn(c, o, target)(theta, None, x))()
    for a, b in zip(closed, eager):
        assert_close(a, b, EXACT)


# --- bad input -------------------------------------------------------------------------------------


def _bad_kernel_inputs():
    c = ansatze.hea(2, 1)  # 4 parameters; built at collection, so no Haar sampling here
    o = observables.xxz(2)
    good = np.linspace(0.0, 1.0, 4)
    return {
        "nan angles": (lambda: kernels.qntk_fn(c, o)(np.array([0.1, np.nan, 0.2, 0.3])), "NaN"),
        "inf angles": (lambda: kernels.grad_fn(c, o)(np.array([0.1, np.inf, 0.2, 0.3])), "NaN or infinite"),
        "wrong theta length": (lambda: kernels.qntk_fn(c, o)(np.zeros(5)), "shape"),
        "scalar theta": (lambda: kernels.qntk_fn(c, o)(np.float64(0.3)), "shape"),
        "observable qubits": (lambda: kernels.qntk_fn(c, observables.xxz(3)), "qubits"),
        "observable qubits hessian": (lambda: kernels.hessian_fn(c, observables.pauli_sum("ZZZ")), "qubits"),
        "unnormalized state": (lambda: kernels.qntk_fn(c, o)(good, np.array([1.0, 1.0, 0.0, 0.0])), "normalized"),
        "state dimension": (lambda: kernels.grad_fn(c, o)(good, np.array([1.0, 0.0])), "amplitudes"),
        "missing features": (
            lambda: kernels.qntk_fn(ansatze.reuploading(2, 1), o)(np.zeros(4)),
            "features",
        ),
        "no data for the matrix": (lambda: kernels.qntk_matrix_fn(c, [o])(good), "data set"),
        "measurement kernel theta": (lambda: kernels.measurement_kernel(c, o, np.zeros(3), np.eye(4)[:1]), "shape"),
    }


BAD = _bad_kernel_inputs()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_kernel_input_raises_helpful_value_error(case):
    """Bad angles, states, observables and data raise ValueError whose message names the problem."""
    call, match = BAD[case]
    with pytest.raises(ValueError, match=match):
        call()


def _dot_generals(jaxpr, found=None):
    """``(dimension_numbers, operand shapes)`` of every dot_general, inside scans and other sub-programs too."""
    found = [] if found is None else found
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            found.append((eqn.params["dimension_numbers"], [v.aval.shape for v in eqn.invars]))
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                if hasattr(sub, "eqns"):
                    _dot_generals(sub, found)
                elif hasattr(sub, "jaxpr"):
                    _dot_generals(sub.jaxpr if hasattr(sub.jaxpr, "eqns") else sub.jaxpr.jaxpr, found)
    return found


def test_a_shared_gate_is_one_matrix_product_over_the_ensemble():
    """Laid out for an accelerator: under vmap over B angle vectors, each layer's Haar gate W_l (d x d) multiplies
    all B states at once (one (d x d) @ (B x d) product, no batch dimension on W_l), forward and in the adjoint
    sweep; and the result lives on JAX's default device (a GPU when JAX sees one)."""
    c, o = ansatze.rpa(3, 4, seed=0), observables.xxz(3)
    f = jax.vmap(lambda th: kernels.grad_fn(c, o)(th, None, None))
    thetas = np.zeros((5, c.n_params))
    gate_products = [(dims, shapes) for dims, shapes in _dot_generals(jax.make_jaxpr(f)(thetas).jaxpr) if shapes[0] == (8, 8)]
    assert [shapes[1] for _, shapes in gate_products] == [(5, 8), (5, 8, 2)]
    assert all(dims[1] == ((), ()) for dims, _ in gate_products)  # no batch dimensions: one product
    values, _ = jax.jit(f)(thetas)
    assert values.devices() == {jax.devices()[0]}


def test_a_hardware_efficient_block_is_about_n_passes():
    """Fusion: the rotations and CNOT of each even bond of an HEA block are one 4 x 4 matrix, the odd-bond CNOTs
    one pass each: 2 n + (n - 1) gates in n - 1 passes at n = 6."""
    from qntk._sim import local

    segments = local.fuse(ansatze.hea(6, 1).program, 6)
    assert [s.kind for s in segments] == ["matrix"] * 3 + ["gates"] * 2
    assert [(s.lo, s.width, len(s.layers)) for s in segments[:3]] == [(0, 2, 4), (2, 2, 4), (4, 2, 4)]


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_fused_random_local_blocks_equal_the_dense_reference(seed, fused, monkeypatch):
    """Fused (forced at this size) and layer by layer: random local blocks at n = 4 (generators on one to three qubits, near or far apart; CNOT, CZ and SWAP on any
    pairs), repeated twice: the fused engine's <O>, adjoint gradient and Hessian equal the dense product of the
    layers, whatever segments the fusion forms (moved rotations, wide generators alone, gates alone)."""
    from qntk._sim import engine

    monkeypatch.setattr(engine, "FUSE_MIN_QUBITS", 1 if fused else 99)
    rng = np.random.default_rng(seed)
    n, period = 4, 5
    labels, ops = [], []
    for _ in range(period):
        label = ["I"] * n
        for q in rng.choice(n, size=rng.integers(1, 4), replace=False):
            label[q] = "XYZ"[rng.integers(3)]
        labels.append("".join(label))
        ops.append([(["cnot", "cz", "swap"][rng.integers(3)], *map(int, rng.choice(n, 2, replace=False)))
                    for _ in range(rng.integers(0, 3))])
    c = circuits.from_paulis(labels * 2, circuits.local_gates(n, ops * 2), scale=0.5)
    assert c.gate_kind == "local" and len(c.program) == period
    o = observables.pauli_sum("XZIY - 0.7*ZZII + 0.4*IIXI")
    theta = rng.uniform(0, 2 * np.pi, c.n_params)
    eps, g = kernels.grad_fn(c, o)(theta)
    eps_ref, g_ref, h_ref = reference_residual(c, o, theta)
    assert_close(eps, eps_ref, EXACT, "eps")
    assert_close(g, g_ref, EXACT, "grad")
    assert_close(kernels.hessian_fn(c, o)(theta), h_ref, EXACT, "Hessian")
