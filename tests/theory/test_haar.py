"""Tests for qntk.theory.weingarten (the Weingarten engine) and qntk.theory.haar (the exact Haar QNTK
statistics).

Three kinds of checks:

* exact identities at float64 tolerance (``EXACT``): known Weingarten values, ``Gram Wg = 1``, the
  cycle-trace rule against dense Kronecker products, the dense twirl, closed forms, the seed formulas
  that are exact (001 eq. (22), 004 eq. (38));
* Monte Carlo with sampled Haar unitaries and states (QR of Ginibre matrices, built here, not taken
  from qntk), within ``N_SE`` standard errors computed from the sample;
* the real random Pauli ansatz through :mod:`qntk.kernels` (end to end).
"""

import functools
import itertools
import math

import jax
import numpy as np
import pytest

import qntk  # noqa: F401  (enables x64)
from qntk import kernels
from qntk.models import ansatze, circuits, observables
from qntk.models.pauli import PauliString
from qntk.theory import _cache, haar, weingarten
from qntk.theory.weingarten import DAGGER, OpPoly, trace

EXACT = 1e-10  # float64 round-off of sums over (k!)^2 Weingarten terms, relative to the compared size
N_SE = 4.0  # Monte Carlo tolerance in standard errors of the sample mean / variance
MC_SAMPLES = 20_000


# --- helpers -----------------------------------------------------------------------------------


def assert_close(actual, desired, tol=EXACT, what=""):
    scale = max(1.0, float(np.max(np.abs(desired))))
    np.testing.assert_allclose(actual, desired, rtol=0, atol=tol * scale, err_msg=what)


def haar_unitaries(rng, n, d):
    """``n`` Haar unitaries: QR of complex Ginibre matrices with the phases of R's diagonal removed."""
    z = (rng.standard_normal((n, d, d)) + 1j * rng.standard_normal((n, d, d))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    ph = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (ph / np.abs(ph))[:, None, :]


def haar_states(rng, n, d):
    z = rng.standard_normal((n, d)) + 1j * rng.standard_normal((n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def expval(psi, m):
    """``<psi_n| m_n |psi_n>`` for a batch of states and (a batch of, or one) matrices."""
    return np.einsum("ni,n...ij,nj->n", psi.conj(), m if m.ndim == 3 else m[None], psi)


def dag(m):
    return np.conj(np.swapaxes(m, -1, -2))


def assert_mc_mean(samples, exact, what=""):
    """``|mean - exact| <= N_SE * std / sqrt(n)`` (real and imaginary parts separately)."""
    samples = np.asarray(samples)
    for part in (np.real, np.imag):
        x = part(samples)
        se = x.std(ddof=1) / np.sqrt(x.size)
        err = abs(x.mean() - part(exact))
        assert err <= N_SE * se + 1e-12, f"{what}: MC {x.mean():.6g} +- {se:.2g}, exact {part(exact):.6g}"


def assert_mc_var(samples, exact, what=""):
    """Sample variance vs ``exact``, with the standard error ``sqrt((m4 - var^2) / n)``."""
    x = np.asarray(samples)
    c = x - x.mean()
    var = np.mean(c**2)
    se = np.sqrt((np.mean(c**4) - var**2) / x.size)
    assert abs(var - exact) <= N_SE * se, f"{what}: MC var {var:.6g} +- {se:.2g}, exact {exact:.6g}"


def random_matrices(rng, k, d):
    return [rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d)) for _ in range(k)]


def random_hermitian(rng, d):
    m = rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))
    return (m + m.conj().T) / 2


def kron_all(ms):
    return functools.reduce(np.kron, ms)


# --- Weingarten matrix -------------------------------------------------------------------------


def gram_matrix(perms, d):
    """``d^{#cycles(s^-1 t)}``, vectorized here independently of the engine's group tables."""
    p = np.array(perms)
    inv = np.argsort(p, axis=1)
    comp = np.take_along_axis(np.repeat(inv[:, None, :], len(p), 1), np.repeat(p[None], len(p), 0), axis=2)
    start = np.broadcast_to(np.arange(p.shape[1]), comp.shape)
    cur, low = start.copy(), start.copy()
    for _ in range(p.shape[1]):
        cur = np.take_along_axis(comp, cur, axis=2)
        low = np.minimum(low, cur)
    n_cycles = (low == start).sum(axis=2)
    return float(d) ** n_cycles


@pytest.mark.parametrize("d", [2, 3, 5, 16])
def test_weingarten_k2_known_values(d):
    perms, wg = weingarten.weingarten_matrix(2, d)
    assert perms == ((0, 1), (1, 0))
    assert_close(wg, [[1 / (d**2 - 1), -1 / (d * (d**2 - 1))], [-1 / (d * (d**2 - 1)), 1 / (d**2 - 1)]])


@pytest.mark.parametrize("d", [3, 4, 7])
def test_weingarten_k3_known_values(d):
    """Collins (2003): Wg(e) = (d^2-2)/D, Wg(2-cycle) = -1/((d^2-1)(d^2-4)), Wg(3-cycle) = 2/D,
    with D = d (d^2 - 1)(d^2 - 4)."""
    perms, wg = weingarten.weingarten_matrix(3, d)
    den = d * (d**2 - 1) * (d**2 - 4)
    by_type = {3: (d**2 - 2) / den, 2: -1 / ((d**2 - 1) * (d**2 - 4)), 1: 2 / den}
    expected = [by_type[len(weingarten.cycles(p))] for p in perms]
    assert_close(wg[0], expected)


@pytest.mark.parametrize("k,d", [(1, 1), (2, 2), (3, 3), (4, 4), (4, 9), (5, 5), (6, 6)])
def test_weingarten_inverts_gram(k, d):
    perms, wg = weingarten.weingarten_matrix(k, d)
    assert len(perms) == math.factorial(k) and wg.shape == (len(perms),) * 2
    gram = gram_matrix(perms, d)
    assert_close(gram @ wg, np.eye(len(perms)), 1e-8)


@pytest.mark.parametrize("k,d", [(2, 1), (3, 2), (4, 2), (4, 3), (6, 2)])
def test_weingarten_pseudo_inverse_below_k(k, d):
    """For d < k the P_sigma are dependent: Wg is the Moore-Penrose inverse, Gram Wg Gram = Gram."""
    perms, wg = weingarten.weingarten_matrix(k, d)
    gram = gram_matrix(perms, d)
    assert_close(gram @ wg @ gram, gram, 1e-8)
    assert np.linalg.matrix_rank(gram) < len(perms)


def test_weingarten_rejects_bad_arguments():
    with pytest.raises(ValueError, match="k must be"):
        weingarten.weingarten_matrix(7, 4)
    with pytest.raises(ValueError, match="dimension"):
        weingarten.weingarten_matrix(2, 0)


# --- cycle-trace rule and the twirl ------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_cycle_trace_matches_dense_kron(rng, k, d):
    ops = random_matrices(rng, k, d)
    dense = kron_all(ops)
    for perm in itertools.permutations(range(k)):
        want = np.trace(weingarten.permutation_operator(perm, d) @ dense)
        assert_close(weingarten.cycle_trace(ops, perm), want, what=f"perm {perm}")


def test_permutation_operator_is_a_representation():
    d = 2
    for p, q in itertools.product(itertools.permutations(range(3)), repeat=2):
        lhs = weingarten.permutation_operator(p, d) @ weingarten.permutation_operator(q, d)
        assert_close(lhs, weingarten.permutation_operator(weingarten.compose(p, q), d))
    # P_pi moves factor a to position pi[a]: (x (x) y (x) z) -> (z (x) x (x) y) for pi = (1, 2, 0)
    x, y, z = np.eye(2)[0], np.eye(2)[1], np.array([1.0, 2.0])
    assert_close(weingarten.permutation_operator((1, 2, 0), d) @ kron_all([x, y, z]), kron_all([z, x, y]))


def dense_twirl(x, k, d):
    """``E U^{(x)k} X U^{dag (x)k} = sum Wg(s^-1 t) tr(P_s^dag X) P_t`` with dense operators."""
    perms, wg = weingarten.weingarten_matrix(k, d)
    ps = [weingarten.permutation_operator(p, d) for p in perms]
    coef = wg @ np.array([np.trace(p.T @ x) for p in ps])
    return sum(c * p for c, p in zip(coef, ps))


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_haar_moment_matches_dense_twirl(rng, k, d):
    """The d x d cycle-trace evaluation equals the dense d^k twirl, which is the projection onto the
    commutant (it commutes with V^{(x)k} for a random V and fixes the P_sigma)."""
    a, b = random_matrices(rng, k, d), random_matrices(rng, k, d)
    tw = dense_twirl(kron_all(a), k, d)
    v = kron_all([haar_unitaries(rng, 1, d)[0]] * k)
    assert_close(v @ tw @ dag(v), tw)
    for perm in itertools.permutations(range(k)):
        p = weingarten.permutation_operator(perm, d)
        assert_close(dense_twirl(p, k, d), p)
        want = np.trace(p @ tw @ kron_all(b))
        assert_close(weingarten.haar_moment(a, b, perm), want, what=f"perm {perm}")


def test_haar_moment_known_integrals(rng):
    """E tr(A U B U^dag) = tr A tr B / d and the standard 2-design formula for tr(A U B U^dag C U D U^dag)."""
    d = 5
    a, b, c, e = random_matrices(rng, 4, d)
    assert_close(weingarten.haar_moment([b], [a]), np.trace(a) * np.trace(b) / d)
    t = np.trace
    want = (t(a) * t(c) * t(b @ e) + t(a @ c) * t(b) * t(e)) / (d**2 - 1) - (
        t(a @ c) * t(b @ e) + t(a) * t(c) * t(b) * t(e)
    ) / (d * (d**2 - 1))
    # tr(A U B U^dag C U E U^dag) = tr(P_pi (U B U^dag (x) U E U^dag)(C (x) A)) with pi the swap
    assert_close(weingarten.haar_moment([b, e], [c, a], (1, 0)), want)


@pytest.mark.parametrize(
    "k,d,perm", [(1, 2, (0,)), (2, 2, (1, 0)), (2, 3, (0, 1)), (3, 2, (1, 2, 0)), (3, 3, (0, 2, 1)), (3, 3, (2, 0, 1))]
)
def test_haar_moment_monte_carlo(rng, k, d, perm):
    a, b = random_matrices(rng, k, d), random_matrices(rng, k, d)
    u = haar_unitaries(rng, MC_SAMPLES, d)
    conj = [u @ m @ dag(u) for m in a]
    # tr(P_pi X_0 (x) ... ) with X_a = U A_a U^dag B_a, per sample via the cycle rule on d x d matrices
    samples = np.ones(MC_SAMPLES, complex)
    for cyc in weingarten.cycles(perm):
        m = conj[cyc[0]] @ b[cyc[0]]
        for i in cyc[1:]:
            m = m @ conj[i] @ b[i]
        samples *= np.trace(m, axis1=1, axis2=2)
    assert_mc_mean(samples, weingarten.haar_moment(a, b, perm), f"k={k} d={d} perm={perm}")


@pytest.mark.parametrize("k,d", [(1, 3), (2, 2), (2, 4), (3, 3), (4, 2)])
def test_haar_state_moment_monte_carlo(rng, k, d):
    c = [random_hermitian(rng, d) for _ in range(k)]
    psi = haar_states(rng, MC_SAMPLES, d)
    samples = np.prod([expval(psi, m) for m in c], axis=0)
    assert_mc_mean(samples, weingarten.haar_state_moment(c), f"k={k} d={d}")


# --- trace polynomials -------------------------------------------------------------------------


def test_trace_poly_matches_haar_moment(rng):
    """Symbolic re-wiring and the numeric cycle-trace formula agree on several words."""
    d = 4
    o, g, h = random_matrices(rng, 3, d)
    mats = {"O": o, "G": g, "H": h}
    a = OpPoly(("V", "O", "V" + DAGGER))
    cases = [
        (trace(OpPoly("G") * a * OpPoly("H") * a, d), weingarten.haar_moment([o, o], [h, g], (1, 0))),
        (trace(OpPoly("G") * a, d) * trace(OpPoly("H") * a, d), weingarten.haar_moment([o, o], [g, h])),
        (trace(OpPoly("G") * a * a * OpPoly("H") * a, d), weingarten.haar_moment([o, o, o], [np.eye(d), h, g], (2, 0, 1))),
    ]
    for i, (poly, want) in enumerate(cases):
        assert_close(poly.haar_unitary("V").evaluate(mats), want, what=f"case {i}")


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_state_average_equals_unitary_average(rng, k):
    """E over a Haar state (S_k sum) = E over V of the same words with |psi><psi| = V |0><0| V^dag."""
    d = 3
    cs = [random_matrices(rng, 1, d)[0] for _ in range(k)]
    mats = {f"C{i}": c for i, c in enumerate(cs)} | {"Z0": np.diag([1.0, 0.0, 0.0])}
    poly_p = functools.reduce(lambda x, y: x * y, [trace(OpPoly(("P", f"C{i}")), d) for i in range(k)])
    poly_v = functools.reduce(
        lambda x, y: x * y, [trace(OpPoly(("V", "Z0", "V" + DAGGER, f"C{i}")), d) for i in range(k)]
    )
    by_state = poly_p.haar_state("P").evaluate(mats)
    by_unitary = poly_v.haar_unitary("V").evaluate(mats)
    assert_close(by_state, by_unitary)
    assert_close(by_state, weingarten.haar_state_moment(cs))


@pytest.mark.parametrize("name", ["g4", "g2g2", "hgg"])
def test_factorized_average_equals_plain_sum(rng, name):
    """The factorized Weingarten sum (outside words by s, inside words by t) equals the plain
    (k!)^2 sum, monomial by monomial, on the polynomials behind Var K and E mu."""
    d = 3
    o, g = random_hermitian(rng, d), random_hermitian(rng, d)
    a, gy, p = OpPoly(("V", "O", "V" + DAGGER)), OpPoly(("Y", "G", "Y" + DAGGER)), OpPoly("P")

    def ev(x):
        return trace(p * x, d)

    c = OpPoly("G") * a - a * OpPoly("G")
    cy = gy * a - a * gy
    h = ev(OpPoly("G") * cy - cy * OpPoly("G"))
    poly = {"g4": ev(c) ** 4, "g2g2": ev(c) ** 2 * ev(cy) ** 2, "hgg": h * ev(c) * ev(cy)}[name]
    poly = poly.haar_state("P")
    if name != "g4":
        poly = poly.haar_unitary("Y")
    fast, plain = poly.haar_unitary("V"), poly.haar_unitary("V", fast=False)
    mats = {"O": o, "G": g, "H": g}
    assert_close(fast.evaluate(mats), plain.evaluate(mats))
    assert_close(fast.evaluate(mats), haar._moment(name, d).evaluate(mats))  # (i)^4 = 1 in g4, g2g2


def test_trace_poly_unbalanced_average_is_zero():
    d = 3
    poly = trace(OpPoly(("V", "O")), d)
    assert poly.haar_unitary("V").terms == {}
    with pytest.raises(ValueError, match="no matrix"):
        trace(OpPoly(("O", "G")), d).evaluate({"O": np.eye(d)})


# --- the gradient and Hessian formulas against qntk's circuit engine ----------------------------


def rotation(g, angle, s):
    w, v = np.linalg.eigh(g)
    return v @ np.diag(np.exp(-1j * s * angle * w)) @ v.conj().T


@pytest.mark.parametrize("scale", [0.5, -1.0])
def test_gradient_and_hessian_formulas_match_kernels(scale):
    """g_l = i s <psi_l|[G_l, A_l]|psi_l> and, for l1 < l2,
    d^2 eps = -s^2 <psi_l1|[G_l1, [B^dag G_l2 B, A_l1]]|psi_l1>, in qntk's convention."""
    n, L = 2, 5
    circ = ansatze.rpa(n, L, seed=3, scale=scale)
    obs = observables.xxz(n)
    o = obs.matrix()
    theta = np.asarray(jax.random.uniform(jax.random.key(1), (L,), maxval=2 * np.pi))
    _, grad = jax.jit(kernels.grad_fn(circ, obs))(theta)
    hess = np.asarray(jax.jit(kernels.hessian_fn(circ, obs))(theta))
    gens = circuits.generator_matrices(circ)
    steps = [np.asarray(circ.w[l]) @ rotation(gens[l], theta[l], scale) for l in range(L)]
    d = 2**n

    def prod(ls):  # steps applied in order ls[0] first
        return functools.reduce(lambda acc, l: steps[l] @ acc, ls, np.eye(d, dtype=complex))

    psi0 = np.eye(d)[0]
    for l in range(L):
        psi = rotation(gens[l], theta[l], scale) @ prod(range(l)) @ psi0
        post = prod(range(l + 1, L)) @ np.asarray(circ.w[l])
        a = post.conj().T @ o @ post
        want = 1j * scale * psi.conj() @ (gens[l] @ a - a @ gens[l]) @ psi
        assert_close(grad[l], want.real, 1e-10, f"g_{l}")
    for l1, l2 in itertools.combinations(range(L), 2):
        psi = rotation(gens[l1], theta[l1], scale) @ prod(range(l1)) @ psi0
        b = rotation(gens[l2], theta[l2], scale) @ prod(range(l1 + 1, l2)) @ np.asarray(circ.w[l1])
        post = prod(range(l1 + 1, L)) @ np.asarray(circ.w[l1])
        a = post.conj().T @ o @ post
        gp = b.conj().T @ gens[l2] @ b
        inner = gp @ a - a @ gp
        want = -(scale**2) * psi.conj() @ (gens[l1] @ inner - inner @ gens[l1]) @ psi
        assert_close(hess[l1, l2], want.real, 1e-9, f"H_{l1}{l2}")


# --- exact statistics: closed forms and seed formulas ------------------------------------------


def traces(o):
    return [np.trace(np.linalg.matrix_power(o, k)).real for k in range(5)]


def g2_closed_form(o, g, s):
    """E[g^2] from E_psi <C>^2 = tr(C^2)/(d(d+1)) (tr C = 0) and the 2-design formulas."""
    d = o.shape[0]
    _, o1, o2, *_ = traces(o)
    _, g1, g2, *_ = traces(g)
    tr_gagb = (g1**2 * o2 + g2 * o1**2) / (d**2 - 1) - (g2 * o2 + g1**2 * o1**2) / (d * (d**2 - 1))
    return 2 * s**2 * (g2 * o2 / d - tr_gagb) / (d * (d + 1))


@pytest.mark.parametrize("d", [2, 3, 4, 8])
def test_mean_qntk_closed_form_any_generator(rng, d):
    o, g = random_hermitian(rng, d) + 0.3 * np.eye(d), random_hermitian(rng, d) + 0.7 * np.eye(d)
    for L, s in [(1, 1.0), (7, 0.5), (3, -1.3)]:
        assert_close(haar.mean_K(o, g, L, s), L * g2_closed_form(o, g, s))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_mean_qntk_equals_001_eq22_for_pauli_generators(n):
    """001 eq. (22) times s^2, exact at every d and with a trace: L (d tr O^2 - tr^2 O) 2/((d+1)(d^2-1))."""
    d = 2**n
    label = "XYZZ"[:n]
    cases = (observables.xxz(n), observables.tfim(n).matrix() + 1.5 * np.eye(d), observables.haar_projector(n, seed=2))
    for obs in cases:
        o = obs.matrix() if hasattr(obs, "matrix") else obs
        _, t1, t2, *_ = traces(o)
        for s in (1.0, -1.0, 0.5):
            eq22 = 20 * s**2 * (d * t2 - t1**2) * 2 / (d + 1) / (d**2 - 1)
            assert_close(haar.mean_K(o, label, 20, s), eq22)


def test_mean_qntk_equals_004_eq38_for_traceless():
    """004 eq. (38): L d tr(O^2) / (2 (d-1)(d+1)^2) for s = 1/2 and tr O = 0 (exact, not only leading)."""
    for n in (2, 3, 5):
        d, obs = 2**n, observables.xxz(n)
        want = 12 * d * obs.trace_power(2) / (2 * (d - 1) * (d + 1) ** 2)
        assert_close(haar.mean_K(obs, None, 12, 0.5), want)


def test_pauli_sum_path_equals_the_matrices(monkeypatch):
    """Above DENSE_MAX_QUBITS the averages are evaluated on Pauli sums (no d x d matrix): forced at n = 3, every
    quantity equals the matrix evaluation at float64 round-off (a Pauli mixture with an identity term and odd
    traces, per-layer Pauli generators)."""
    o = observables.pauli_sum("0.7*XYZ - 0.4*ZZI + 0.3*IXX + 0.5*ZIZ + 0.2*III + 0.6*YYI")
    gens = ["XYZ", "ZII", "IYX", "XXI", "ZII"]
    quantities = {
        "mean_K": lambda: haar.mean_K(o, gens, None, 0.5),
        "var_K": lambda: haar.var_K(o, gens, None, 0.5, model="chain"),
        "mean_mu": lambda: haar.mean_mu(o, gens, None, 0.5),
        "mean_eps_K": lambda: haar.mean_eps_K(o, gens, None, 0.5, 0.3),
        "mean_eps_mu": lambda: haar.mean_eps_mu(o, gens, None, 0.5, 0.3),
        "mean_eps_sq": lambda: haar.mean_eps_sq(o, 0.3),
    }
    dense = {name: f() for name, f in quantities.items()}
    assert dense["mean_mu"] != 0.0  # tr(O_bar^3) != 0: the degree-3 averages are exercised
    monkeypatch.setattr(haar, "DENSE_MAX_QUBITS", 1)
    for name, f in quantities.items():
        assert_close(f(), dense[name], what=name)


@pytest.mark.parametrize("n", [12, 20])
def test_many_qubits_from_pauli_sums_equal_001_eq22(n):
    """At 12 and 20 qubits (no d x d matrix could be built at 20) E[K] is 001 eq. (22) exactly, with the traces of
    the XXZ chain from its Pauli terms."""
    d, obs = 2**n, observables.xxz(n)
    t1, t2 = obs.trace_power(1), obs.trace_power(2)
    eq22 = 7 * 0.25 * (d * t2 - t1**2) * 2 / (d + 1) / (d**2 - 1)
    assert_close(haar.mean_K(obs, "X" + "I" * (n - 1), 7, 0.5), eq22)


def test_statistics_depend_only_on_traceless_part(rng):
    d = 8
    o, g = random_hermitian(rng, d), PauliString.from_label("XZY").matrix()
    shifted = o + 2.5 * np.eye(d)
    for f in (haar.mean_K, haar.var_K, haar.mean_mu):
        assert_close(f(shifted, g, 5, 0.5), f(o, g, 5, 0.5), what=f.__name__)
    assert_close(haar.var_K(shifted, g, 5, 0.5, model="chain"), haar.var_K(o, g, 5, 0.5, model="chain"))


def test_mean_dqntk_vanishes_only_with_odd_traces(rng):
    """E[mu] is proportional to tr(O_bar^3) (O_bar the traceless part): zero for a Pauli string, not
    for the XXZ chain (000/001's E[mu] = 0 does not hold in general)."""
    n, d = 3, 8
    assert abs(haar.mean_mu(observables.pauli_measurement("XZI"), "YYZ", 10, 0.5)) < EXACT
    xxz = observables.xxz(n)
    assert xxz.trace_power(3) != 0 and haar.mean_mu(xxz, "YYZ", 10, 0.5) < -0.1
    o1, o2 = random_hermitian(rng, d), random_hermitian(rng, d)

    def t3(o):
        ob = o - np.trace(o).real / d * np.eye(d)
        return np.trace(ob @ ob @ ob).real

    assert_close(haar.mean_mu(o1, "YYZ", 6, 0.5) / t3(o1), haar.mean_mu(o2, "YYZ", 6, 0.5) / t3(o2))
    assert_close(haar.mean_mu(o1, "YYZ", 1, 0.5), 0.0)  # diagonal terms: tr([G,C] C^2) = 0 identically


def test_mean_eps_and_eps_sq(rng):
    d = 8
    o = random_hermitian(rng, d) + np.eye(d)
    psi = haar_states(rng, MC_SAMPLES, d)
    eps = expval(psi, o).real - 0.3
    assert_close(haar.mean_eps(o, 0.3), np.trace(o).real / d - 0.3)
    assert_mc_mean(eps, haar.mean_eps(o, 0.3), "E eps")
    assert_mc_mean(eps**2, haar.mean_eps_sq(o, 0.3), "E eps^2")
    assert_close(haar.mean_eps_sq(o, 0.3) + 2 * 0.3 * haar.mean_eps(o, 0.3) + 0.09, weingarten.haar_state_moment([o, o]).real)


# --- Monte Carlo of the two models -------------------------------------------------------------


def observable_cases(n):
    d = 2**n
    return {
        "xxz": observables.xxz(n).matrix(),
        "tfim+1": observables.tfim(n).matrix() + 1.5 * np.eye(d),
        "projector": observables.haar_projector(n, seed=5).matrix(),
    }


GENERATORS = {2: "XY", 3: "ZXY", 4: "YXZZ"}


def sample_gradients(rng, o, g, count, d):
    """``g / s = i <psi|[G, V O V^dag]|psi> = -2 Im <psi|G V O V^dag|psi>`` for Haar psi and V."""
    v = haar_unitaries(rng, count, d)
    psi = haar_states(rng, count, d)
    x = np.einsum("nji,nj->ni", v.conj(), psi)  # V^dag psi
    y = np.einsum("nji,nj->ni", v.conj(), psi @ g.T)  # V^dag G psi
    return -2 * np.imag(np.einsum("ni,ij,nj->n", y.conj(), o, x))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_mean_and_var_qntk_monte_carlo_independent(rng, n):
    d, L = 2**n, 3
    g = PauliString.from_label(GENERATORS[n]).matrix()
    for name, o in observable_cases(n).items():
        grads = sample_gradients(rng, o, g, L * MC_SAMPLES, d)
        for s in (0.5, -1.0):
            k = ((s * grads) ** 2).reshape(MC_SAMPLES, L).sum(axis=1)
            assert_mc_mean(k, haar.mean_K(o, g, L, s), f"E K {name} d={d} s={s}")
            assert_mc_var(k, haar.var_K(o, g, L, s), f"Var K {name} d={d} s={s}")


@pytest.mark.parametrize("n", [2, 3])
def test_chain_model_pair_moments_monte_carlo(rng, n):
    """Pair law of the chain model: psi, A = V O V^dag, G' = Y G Y^dag independent Haar.
    Checks E[g_l1^2 g_l2^2] (Var K, chain) and E[H_l1l2 g_l1 g_l2] (E[mu])."""
    d, s = 2**n, 0.5
    g = PauliString.from_label(GENERATORS[n]).matrix()
    for name, o in observable_cases(n).items():
        v, y = haar_unitaries(rng, MC_SAMPLES, d), haar_unitaries(rng, MC_SAMPLES, d)
        psi = haar_states(rng, MC_SAMPLES, d)
        a, gp = v @ o @ dag(v), y @ g @ dag(y)
        c1, c2 = g @ a - a @ g, gp @ a - a @ gp
        g1, g2 = (1j * s * expval(psi, c1)).real, (1j * s * expval(psi, c2)).real
        h12 = (-(s**2) * expval(psi, g @ c2 - c2 @ g)).real
        m = haar.gradient_moments(o, g, s)
        assert_mc_mean(g1**2 * g2**2, m["g2g2"], f"E g1^2 g2^2 {name} d={d}")
        assert_mc_mean(h12 * g1 * g2, haar.mean_mu(o, g, 2, s) / 2, f"E H12 g1 g2 {name} d={d}")
        # E[eps mu] = E[(<A> - O_0) mu]: the pair term, and the diagonal term H_11 g_1^2
        out = expval(psi, a).real
        h11 = (-(s**2) * expval(psi, g @ c1 - c1 @ g)).real
        target = 0.7
        pair = haar.mean_eps_mu(o, g, 2, s, target) - 2 * haar.mean_eps_mu(o, g, 1, s, target)
        assert_mc_mean((out - target) * h12 * g1 * g2, pair / 2, f"E eps H12 g1 g2 {name} d={d}")
        assert_mc_mean((out - target) * h11 * g1**2, haar.mean_eps_mu(o, g, 1, s, target), f"E eps H11 g1^2 {name} d={d}")
        assert_mc_mean((out - target) * g1**2, haar.mean_eps_K(o, g, 1, s, target), f"E eps g^2 {name} d={d}")


@pytest.mark.parametrize("pattern", [(0, 0, 0, 0), (0, 1, 0, 1), (0, 0, 1, 2)])
def test_mu_sq_terms_monte_carlo(rng, pattern):
    """Degree-6 terms of E[mu^2]: E[H_ab g_a g_b H_ce g_c g_e] for one, two and three layers, against
    direct sampling of the chain model in the earliest layer's frame (psi, A and the later layers'
    generators independent Haar; the first layer's generator fixed)."""
    d, s, n_samples = 4, 1.0, MC_SAMPLES
    o = observables.xxz(2).matrix()
    g = PauliString.from_label("XY").matrix()
    m = max(pattern) + 1
    v = haar_unitaries(rng, n_samples, d)
    a = v @ o @ dag(v)
    psi = haar_states(rng, n_samples, d)
    later = [haar_unitaries(rng, n_samples, d) for _ in range(m - 1)]
    gens = [np.broadcast_to(g, a.shape)] + [y @ g @ dag(y) for y in later]

    def c(x, y):
        return x @ y - y @ x

    def grad(j):
        return (1j * s * expval(psi, c(gens[j], a))).real

    def hess(j, k):
        j, k = min(j, k), max(j, k)
        return (-(s**2) * expval(psi, c(gens[j], c(gens[k], a)))).real

    i, j, k, l = pattern
    samples = hess(i, j) * grad(i) * grad(j) * hess(k, l) * grad(k) * grad(l)
    exact = haar._mu_sq_term(pattern, d).evaluate({"O": o, "G": g}).real
    assert_mc_mean(samples, exact, f"pattern {pattern}")


def test_per_layer_generators_against_a_chain_circuit(rng):
    """Per-layer generators (two kinds, alternating, one not a Pauli string): E K, Var K (chain), E mu
    and E[eps mu] against circuits that realize the chain model exactly: a Haar input state and an
    independent Haar W_l after every rotation, K and mu from qntk.kernels."""
    n, L, s, target, count = 2, 4, 0.5, 0.3, 6000
    d = 2**n
    zz = PauliString.from_label("ZZ").matrix()
    xsum = PauliString.from_label("XI").matrix() + PauliString.from_label("IX").matrix()
    gens = [zz, xsum] * (L // 2)
    o = observables.xxz(n).matrix() + 0.4 * np.eye(d)
    circs = circuits.stack([circuits.from_hermitian(gens, haar_unitaries(rng, L, d), scale=s) for _ in range(count)])
    states = haar_states(rng, count, d)
    theta = rng.uniform(0, 2 * np.pi, (count, L))
    obs = observables.hermitian(o)

    @jax.jit
    @jax.vmap
    def stats(circ, th, psi):
        k = kernels.qntk_fn(circ, obs, target)(th, psi)
        return k.qntk, k.dqntk, k.eps

    k, mu, eps = map(np.asarray, stats(circs, theta, states))
    assert_mc_mean(k, haar.mean_K(o, gens, None, s), "E K")
    assert_mc_var(k, haar.var_K(o, gens, None, s, model="chain"), "Var K")
    assert_mc_mean(mu, haar.mean_mu(o, gens, None, s), "E mu")
    assert_mc_mean(eps * mu, haar.mean_eps_mu(o, gens, None, s, target), "E eps mu")
    assert_mc_mean(eps * k, haar.mean_eps_K(o, gens, None, s, target), "E eps K")
    # a single kind of layer is the scalar form
    assert_close(haar.var_K(o, [zz] * 3, None, s, model="chain"), haar.var_K(o, zz, 3, s, model="chain"))
    with pytest.raises(ValueError, match="per-layer generators"):
        haar.mean_K(o, gens, L + 1, s)
    with pytest.raises(ValueError, match="one kind of generator"):
        haar.mean_mu_sq(o, gens, None, s)


# --- end to end: the random Pauli ansatz -------------------------------------------------------


@jax.jit
def _rpa_batch(circuit, observable, thetas):
    k = jax.vmap(kernels.qntk_fn(circuit, observable, 0.0))(thetas)
    return k.qntk, k.dqntk, k.eps


def cluster_stats(x):
    """Grand mean and cluster-robust standard error over circuits (rows)."""
    return x.mean(), x.mean(axis=1).std(ddof=1) / np.sqrt(x.shape[0])


def test_rpa_end_to_end():
    """K and mu of qntk.kernels on rpa(3, 20) (Haar W_l, s = 1/2), 40 circuits x 50 angle vectors.

    Measured (seeds below): E K = 33.13 +- 0.38 vs 33.86 exact; Var K = 381.6 +- 13.9 vs 385.8 (chain
    model) and 132.4 (independent model, 18 standard errors away); E mu = -86.5 +- 2.7 vs -91.5; E[eps mu] = -92.7 +- 8.7 vs -85.7.
    The RPA's first layer acts on |0>, not on a Haar state: E[g_1^2] is larger by the factor
    (1 - 3^-n)(d + 1)/d = 1.083, i.e. +0.4 % on E K at L = 20, below the errors here.
    """
    n, L, n_circ, n_theta = 3, 20, 40, 50
    obs = observables.xxz(n)
    ks, mus, epss = [], [], []
    for c in range(n_circ):
        circ = ansatze.rpa(n, L, seed=1000 + c)
        th = jax.random.uniform(jax.random.key(c), (n_theta, L), maxval=2 * np.pi)
        k, mu, eps = _rpa_batch(circ, obs, th)
        ks.append(np.asarray(k))
        mus.append(np.asarray(mu))
        epss.append(np.asarray(eps))
    k, mu, eps = np.array(ks), np.array(mus), np.array(epss)
    mean_k, se_k = cluster_stats(k)
    assert abs(mean_k - haar.mean_K(obs, None, L, 0.5)) <= N_SE * se_k
    mean_mu, se_mu = cluster_stats(mu)
    assert abs(mean_mu - haar.mean_mu(obs, None, L, 0.5)) <= N_SE * se_mu
    mean_emu, se_emu = cluster_stats(eps * mu)
    assert abs(mean_emu - haar.mean_eps_mu(obs, None, L, 0.5)) <= N_SE * se_emu
    var_k, se_var = cluster_stats((k - mean_k) ** 2)
    assert abs(var_k - haar.var_K(obs, None, L, 0.5, model="chain")) <= N_SE * se_var
    # the independent-layer model of 001 eq. (21) misses the pair covariance of a real circuit
    assert abs(var_k - haar.var_K(obs, None, L, 0.5, model="independent")) > N_SE * se_var


@pytest.mark.slow
def test_rpa_end_to_end_dqntk_second_moment():
    """E[mu^2] (001 eq. (51)'s Delta mu^2) on rpa(3, 20), 10^4 circuits x 1 angle vector.

    Measured: 28297 +- 794 vs 27531 exact (chain model); E mu = -90.3 +- 1.4 vs -91.5.
    """
    n, L, chunk, n_chunks = 3, 20, 250, 40
    obs = observables.xxz(n)

    def one(circuit, theta):
        return kernels.qntk_fn(circuit, obs, 0.0)(theta).dqntk

    batch = jax.jit(jax.vmap(one))
    mus = []
    for c in range(n_chunks):
        circs = circuits.stack([ansatze.rpa(n, L, seed=5 * 10**6 + c * chunk + i) for i in range(chunk)])
        th = jax.random.uniform(jax.random.key(c), (chunk, L), maxval=2 * np.pi)
        mus.append(np.asarray(batch(circs, th)))
    mu = np.concatenate(mus)
    assert_mc_mean(mu, haar.mean_mu(obs, None, L, 0.5), "E mu")
    assert_mc_mean(mu**2, haar.mean_mu_sq(obs, None, L, 0.5), "E mu^2")


# --- validation --------------------------------------------------------------------------------


def test_quantities_reject_bad_arguments():
    o = observables.xxz(2).matrix()
    with pytest.raises(ValueError, match="Hermitian"):
        haar.mean_K(o + 1j * np.triu(np.ones((4, 4)), 1), None, 3, 0.5)
    with pytest.raises(ValueError, match="square"):
        haar.mean_K(np.ones((4, 3)), None, 3, 0.5)
    with pytest.raises(ValueError, match="one dimension"):
        haar.mean_K(o, "XYZ", 3, 0.5)
    with pytest.raises(ValueError, match="n_layers"):
        haar.mean_K(o, None, 0, 0.5)
    with pytest.raises(ValueError, match="scale"):
        haar.var_K(o, None, 2, float("nan"))
    with pytest.raises(ValueError, match="model"):
        haar.var_K(o, None, 2, 0.5, model="global")
    with pytest.raises(ValueError, match="not a permutation"):
        weingarten.haar_moment([o], [o], (1,))
    with pytest.raises(ValueError, match="same number"):
        weingarten.haar_moment([o, o], [o])
    with pytest.raises(ValueError, match="target"):
        haar.mean_eps(o, target=float("inf"))


def test_scale_is_required_finite_and_non_zero():
    """No default scale, and the circuits' rule: a finite non-zero real."""
    o = observables.xxz(2).matrix()
    for f in (haar.mean_K, haar.var_K, haar.mean_mu, haar.mean_mu_sq, haar.lambda_ratio, haar.zeta_ratio,
              haar.mean_eps_K, haar.mean_eps_mu):
        with pytest.raises(TypeError):
            f(o, None, 2)
        for bad in (0, 0.0, float("nan"), float("inf"), True, "0.5"):
            with pytest.raises(ValueError, match="scale must be a finite non-zero number"):
                f(o, None, 2, bad)
    with pytest.raises(TypeError):
        haar.gradient_moments(o, None)
    with pytest.raises(ValueError, match="non-zero"):
        haar.gradient_moments(o, None, 0.0)
    assert haar.mean_K(o, None, None, 0.5) == haar.mean_K(o, None, 1, 0.5)  # None: the defaults


# --- the on-disk cache --------------------------------------------------------------------------


def test_cache_computes_once_and_survives_a_read_only_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("QNTK_CACHE_DIR", str(tmp_path / "cache"))
    folder = _cache.cache_dir()
    assert folder.parent == tmp_path / "cache" / "haar"
    calls = []

    def compute():
        calls.append(1)
        return {"value": len(calls)}

    assert _cache.cached("entry", compute) == {"value": 1}
    assert (folder / "entry.pkl").is_file()
    assert _cache.cached("entry", compute) == {"value": 1} and len(calls) == 1  # loaded, not recomputed
    (folder / "entry.pkl").write_bytes(b"not a pickle")
    assert _cache.cached("entry", compute) == {"value": 2}  # a corrupt entry is recomputed
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("QNTK_CACHE_DIR", str(blocker))  # not a directory: nothing can be stored
    assert _cache.cached("entry", compute) == {"value": 3}
    with pytest.raises(ValueError, match="plain file name"):
        _cache.cached("../escape", compute)


def test_processes_that_need_one_entry_at_once_compute_it_once(tmp_path):
    """Two processes ask for the same missing entry at the same time: one computes it (1 s), the other waits on
    the lock and reads it."""
    import os
    import subprocess
    import sys

    log = tmp_path / "computed"
    code = ("import time; from qntk.theory import _cache\n"
            f"def compute():\n    open({str(log)!r}, 'a').write('x'); time.sleep(1.0); return 42\n"
            "print(_cache.cached('shared-entry', compute))")
    env = {**os.environ, "QNTK_CACHE_DIR": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == ["42", "42"] and log.read_text() == "x"


def test_cache_dir_is_keyed_by_the_engine_and_haar_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("QNTK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = _cache.cache_dir()
    assert folder.parent == tmp_path / "qntk" / "haar"
    assert set(_cache.SOURCES) == {"weingarten.py", "haar.py"}
    _cache._source_key.cache_clear()
    monkeypatch.setattr(_cache, "SOURCES", ("weingarten.py",))
    try:
        assert _cache.cache_dir() != folder  # another source set, another key
    finally:
        _cache._source_key.cache_clear()
