"""Tests for qntk.theory.restricted_haar: the late-time restricted Haar ensemble (004 eq. (17), Thm 3).

* exact identities: the sub-space Weingarten average, the closed form of ``E[K_inf]``, independence
  of the basis completion;
* Monte Carlo: circuits drawn from the ensemble by :func:`restricted_haar.sample_circuit`, evaluated by
  :mod:`qntk.kernels` (autodiff), within ``N_SE`` standard errors;
* 004's asymptotic eqs. (35)-(37) as the ``L, d -> infinity`` limit, and the finite-``d`` terms that
  matter at small ``d``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qntk import kernels
from qntk.models import circuits, observables
from qntk.theory import restricted_haar as rh
from qntk.theory.weingarten import DAGGER, OpPoly, trace

N_SE = 4.0


def _haar(rng, d):
    z = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _hermitian(rng, d):
    h = rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))
    return (h + h.conj().T) / 2


def test_subspace_average_is_the_unitary_group_of_the_subspace(rng):
    """``E_W tr(X W Y W^dag Z W V W^dag)`` over ``U(d - 1)`` embedded as ``Q W Q``: engine vs Monte Carlo
    is not needed, the degree-1 identity ``E tr(X QWQ Y QW^dagQ) = tr(QXQ) tr(QYQ) / (d - 1)`` is exact."""
    d = 5
    x, y = _hermitian(rng, d), _hermitian(rng, d)
    q = np.eye(d)
    q[0, 0] = 0.0
    poly = trace(OpPoly(("X", "Q", "W", "Q", "Y", "Q", "W" + DAGGER, "Q")), d).haar_unitary("W", dim=d - 1)
    value = poly.evaluate({"X": x, "Y": y, "Q": q})
    expected = np.trace(q @ x @ q) * np.trace(q @ y @ q) / (d - 1)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    # a degree-2 average against samples of diag(1, V)
    poly2 = (trace(OpPoly(("X", "Q", "W", "Q", "Y", "Q", "W" + DAGGER, "Q")), d) ** 2).haar_unitary("W", dim=d - 1)
    exact = poly2.evaluate({"X": x, "Y": y, "Q": q}).real
    vals = []
    for _ in range(20_000):
        u = rh.restricted_unitary(d, rng)
        w = q @ u @ q
        vals.append(np.trace(x @ w @ y @ w.conj().T).real ** 2)
    vals = np.array(vals)
    assert abs(vals.mean() - exact) < N_SE * vals.std() / np.sqrt(len(vals))


def test_restricted_unitary_fixes_the_first_basis_vector(rng):
    u = rh.restricted_unitary(6, rng)
    np.testing.assert_allclose(u.conj().T @ u, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(u[:, 0], np.eye(6)[0], atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_mean_K_inf_closed_form(rng, n):
    """``E[K_inf] = L s^2 2 d Var_psi0(O) / (d^2 - 1)`` for a Pauli generator, any ``O`` and ``psi_0``."""
    d, L, s = 2**n, 7, 0.5
    o = _hermitian(rng, d)
    psi = _haar(rng, d)[:, 0]
    var = (np.vdot(psi, o @ o @ psi) - np.vdot(psi, o @ psi) ** 2).real
    got = rh.late_time(o, psi, L, s, target=0.1)
    np.testing.assert_allclose(got["K_inf"], L * s**2 * 2 * d * var / (d**2 - 1), rtol=1e-10)
    np.testing.assert_allclose(got["eps"], np.vdot(psi, o @ psi).real - 0.1, rtol=1e-12)


def test_averages_do_not_depend_on_the_basis_completion(rng):
    d = 4
    o = _hermitian(rng, d)
    psi = _haar(rng, d)[:, 0]
    a = rh.late_time(o, psi, 5, 0.5, target=0.2)
    # rotate O and psi together: the averages see only O relative to psi
    u = _haar(rng, d)
    b = rh.late_time(u @ o @ u.conj().T, u @ psi * np.exp(0.7j), 5, 0.5, target=0.2)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-9)


@pytest.mark.parametrize(("n", "L", "N"), [(2, 3, 3000), (3, 5, 1500)])
def test_exact_averages_match_sampled_circuits(n, L, N):
    """K and mu of circuits drawn from the restricted ensemble (autodiff on the real circuit)."""
    d, fid, target = 2**n, 0.6, 0.3
    rng = np.random.default_rng(11)
    phi = _haar(rng, d)[:, 0]
    perp = _haar(rng, d)[:, 0]
    perp -= np.vdot(phi, perp) * phi
    psi0 = np.sqrt(fid) * phi + np.sqrt(1 - fid) * perp / np.linalg.norm(perp)
    obs = observables.projector(phi)
    draws = [rh.sample_circuit(n, L, psi0, seed=i) for i in range(N)]
    circuit = circuits.stack([c for c, _, _ in draws])
    theta = jnp.array([t for _, t, _ in draws])
    state = jnp.array([s for _, _, s in draws])
    k = jax.jit(jax.vmap(lambda c, t, s: kernels.qntk_fn(c, obs, target)(t, s)))(circuit, theta, state)
    np.testing.assert_allclose(np.asarray(k.eps), fid - target, atol=1e-10)  # every draw converged
    exact = rh.late_time(obs.matrix(), psi0, L, 0.5, target=target)
    for field, key in (("K", "K_inf"), ("mu", "mu_inf")):
        v = np.asarray(getattr(k, field))
        sem = v.std(ddof=1) / np.sqrt(N)
        assert abs(v.mean() - exact[key]) < N_SE * sem, (field, v.mean(), sem, exact[key])


def test_projector_matches_the_general_average():
    """Theorem 3's polynomial interpolation in F agrees with late_time at the fidelity itself."""
    got = rh.projector_late_time(3, 20, 0.35)
    o = np.diag(np.eye(8)[0])
    psi = np.sqrt(0.35) * np.eye(8)[0] + np.sqrt(0.65) * np.eye(8)[5]
    direct = rh.late_time(o, psi, 20, 0.5, target=0.35)
    for key in ("K_inf", "mu_inf", "lambda_inf"):
        np.testing.assert_allclose(got[key], direct[key], rtol=1e-9)


def test_asymptotic_forms_are_the_large_d_L_limit():
    """004 eqs. (35)-(37): the exact values approach them as d and L grow (the relative error of
    lambda_inf at F = 1/2 and of zeta_inf at the critical point O_0 = 1 shrinks like 1/d)."""
    errs_lam, errs_zeta = [], []
    for n in (2, 3, 4, 5, 6):
        d = 2**n
        L = 8 * d
        exact_half = rh.projector_late_time(n, L, 0.5)
        asym_half = rh.asymptotic_projector(n, L, 0.5)
        np.testing.assert_allclose(exact_half["K_inf"], asym_half["K_inf"] * d**2 / (d**2 - 1), rtol=1e-9)
        errs_lam.append(abs(exact_half["lambda_inf"] / asym_half["lambda_inf"] - 1))
        exact_crit = rh.projector_late_time(n, L, 1.0)
        asym_crit = rh.asymptotic_projector(n, L, 1.0)
        errs_zeta.append(abs(exact_crit["zeta_inf"] / asym_crit["zeta_inf"] - 1))
    assert np.all(np.diff(errs_lam) < 0) and errs_lam[-1] < 0.05
    assert np.all(np.diff(errs_zeta) < 0) and errs_zeta[-1] < 0.01
    # finite d matters at small d: at n = 2 eq. (37) misses lambda_inf(F = 1/2) by more than half
    assert errs_lam[0] > 0.5


def test_regimes_of_theorem_3():
    """zeta_inf = 0 inside the spectrum, ~1/2 (+ d/L) at O_0 = 1, +infinity beyond (004 Lemma 2)."""
    assert rh.projector_late_time(3, 512, 0.5)["zeta_inf"] == 0.0
    crit = rh.projector_late_time(3, 512, 1.0)["zeta_inf"]
    assert abs(crit - 0.5) < 2 * 8 / 512
    assert rh.projector_late_time(3, 512, 1.3)["zeta_inf"] == np.inf
    beyond = rh.projector_late_time(3, 512, 1.3)
    assert beyond["K_inf"] == pytest.approx(0.0, abs=1e-12) and beyond["eps"] == pytest.approx(-0.3)


def test_bad_state_is_a_clear_error():
    with pytest.raises(ValueError, match="state must"):
        rh.late_time(np.eye(4), np.zeros(4), 3, 0.5)
    with pytest.raises(ValueError, match="state must"):
        rh.sample_circuit(2, 3, np.ones(3), seed=0)


def test_edge_limit_along_the_next_eigenstate(rng):
    """At the ground state K = mu = 0; the limits of lambda and zeta along the approach direction agree
    with late_time evaluated close to the edge (the interpolation is exact: a fifth node agrees too)."""
    from qntk.models import observables as obs_mod

    o = obs_mod.xxz(3, 2.0).matrix()
    vals, vecs = np.linalg.eigh(o)
    edge = rh.edge_late_time(o, 12, 0.5, target=vals[0] - 1.0)
    assert edge["eps"] == pytest.approx(1.0) and edge["K_inf"] == pytest.approx(0.0, abs=1e-10)
    kappa = 1e-6
    near = rh.late_time(o, np.sqrt(1 - kappa) * vecs[:, 0] + np.sqrt(kappa) * vecs[:, 1], 12, 0.5,
                        target=vals[0] - 1.0)
    np.testing.assert_allclose(near["lambda_inf"], edge["lambda_inf"], rtol=1e-4)
    assert np.sign(near["zeta_inf"]) == np.sign(edge["zeta_inf"]) and abs(near["zeta_inf"]) > 1e4
    k_poly, mu_poly = rh._path(o, vecs[:, 0], vecs[:, 1], 12, 0.5)
    x = 0.33
    fifth = rh.late_time(o, np.sqrt(x) * vecs[:, 0] + np.sqrt(1 - x) * vecs[:, 1], 12, 0.5)
    np.testing.assert_allclose([k_poly(x), mu_poly(x)], [fifth["K_inf"], fifth["mu_inf"]], rtol=1e-9)
    crit = rh.edge_late_time(o, 12, 0.5, target=vals[0])
    near_c = rh.late_time(o, np.sqrt(1 - kappa) * vecs[:, 0] + np.sqrt(kappa) * vecs[:, 1], 12, 0.5, target=vals[0])
    np.testing.assert_allclose(near_c["zeta_inf"], crit["zeta_inf"], rtol=1e-4)


@pytest.mark.slow
def test_frozen_error_rate_approaches_the_restricted_haar_lv_rate_as_L_over_d_grows():
    """004 eq. (16) with the exact restricted-Haar lambda_inf: the fitted late-time decay rate of K of
    trained RPA circuits (XXZ, n = 2, R = 2) approaches 2 eta lambda_inf R as L / d grows (0.10, 0.48,
    0.80, 0.945 of it at L / d = 2, 8, 32, 128; docs/conventions.md)."""
    from qntk import train
    from qntk.models import Model
    from qntk.theory import late_time

    ratios = []
    for L, eta in ((8, 1e-3), (32, 5e-4), (512, 2.5e-5)):
        m = Model("rpa", 2, L, "xxz:J=2", target=-8.0)
        lt = late_time(m)
        ds = train.run(train.TrainConfig(m, eta=eta, steps=1500, samples=8, circuits=2, seed=1, theory=False,
                                         snapshot_every=1500), progress=False)
        K = ds.K.values[750:, :, :, 0, 0].reshape(751, -1)
        t = np.arange(750, 1501)
        rate = np.mean([-np.polyfit(t, np.log(K[:, i]), 1)[0] for i in range(K.shape[1])])
        ratios.append(rate / (2 * eta * lt["lambda_inf"] * lt["R"]))
    assert ratios[0] < ratios[1] < ratios[2] and ratios[0] < 0.3 and 0.9 < ratios[2] < 1.0, ratios
