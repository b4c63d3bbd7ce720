"""The several-data extension of 004: achievable region, projection, the seven classes, their measurement."""

import itertools

import numpy as np
import pytest

from qntk.theory import lv
from qntk.theory import several_data as sd

SPECTRUM = np.array([-1.5, -0.5, 0.5, 1.5])  # O = Z_1 + Z_2 / 2 on two qubits
#: Feasibility tolerance of the region tests (float64 sums of a few eigenvalues).
ATOL = 1e-9

#: One target per class, derived by hand from the faces of the hexagon lambda_1 <= f_a <= lambda_4,
#: lambda_1 + lambda_2 <= f_1 + f_2 <= lambda_3 + lambda_4 (and for N = 3 the faces of sums of three).
CASES = [
    ((0.0, 0.2), "frozen-kernel"),  # inside
    ((-1.2, -1.2), "frozen-error"),  # each in [lambda_1, lambda_4], jointly below lambda_1 + lambda_2
    ((-2.0, 0.3), "mixed-frozen"),  # projects into the edge f_1 = lambda_1
    ((-1.0, -1.0), "critical"),  # on the face f_1 + f_2 = lambda_1 + lambda_2
    ((-1.5, -0.5), "critical"),  # a vertex
    ((-1.5, 0.3), "critical-frozen-kernel"),  # on the edge f_1 = lambda_1
    ((-2.0, -0.5), "critical-frozen-error"),  # on an edge of the normal cone of the vertex (lambda_1, lambda_2)
    ((-2.0, 1.5, 0.2), "critical-mixed-frozen"),  # one datum of each law: N = 3
    ((-2.0, -0.5, 0.2), "frozen-error"),
    ((-1.5, 0.3, 0.2), "critical-frozen-kernel"),
]


def _random_spectrum(rng, d):
    return np.sort(rng.normal(size=d))


@pytest.mark.parametrize("d, n_data", [(4, 2), (5, 2), (5, 3), (4, 3)])
def test_faces_describe_the_convex_hull_of_eigenvalue_tuples(rng, d, n_data):
    """Schur-Horn, projected: the 2 (2^N - 1) inequalities cut out exactly conv{(lambda_i1, .., lambda_iN)}."""
    from scipy.spatial import Delaunay

    lam = _random_spectrum(rng, d)
    hull = Delaunay(sd.vertices(lam, n_data))
    pts = rng.uniform(lam[0] - 0.5, lam[-1] + 0.5, size=(2000, n_data))
    W, b = sd.constraints(lam, n_data)
    slack = (pts @ W.T - b).min(axis=1)
    clear = np.abs(slack) > 1e-6  # away from the boundary, where the two tests may round differently
    assert np.array_equal(sd.achievable(pts, lam)[clear], (hull.find_simplex(pts) >= 0)[clear])
    assert 0.05 < np.mean(slack > 0) < 0.95  # both sides sampled


def test_compressions_of_O_fill_the_region_and_only_it(rng):
    """Diagonals of V^dag O V for random isometries V lie in the region; the vertices are attained by
    eigenvectors."""
    d, n_data = 6, 3
    h = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    O = h + h.conj().T
    lam, vecs = np.linalg.eigh(O)
    for _ in range(200):
        q, _ = np.linalg.qr(rng.normal(size=(d, n_data)) + 1j * rng.normal(size=(d, n_data)))
        assert sd.achievable(np.real(np.diag(q.conj().T @ O @ q)), O)
    v = vecs[:, [4, 0, 2]]
    assert np.allclose(np.real(np.diag(v.conj().T @ O @ v)), lam[[4, 0, 2]])
    assert sd.achievable(lam[[4, 0, 2]], O) and not sd.achievable(lam[[0, 0, 2]] - 1e-6, O)


@pytest.mark.parametrize("n_data", [1, 2, 3])
def test_projection_satisfies_the_variational_inequality(rng, n_data):
    """f* = P_A(y) iff f* in A and (y - f*) . (v - f*) <= 0 for every vertex v of A; and R = nu W (KKT)."""
    lam = _random_spectrum(rng, 5)
    verts = sd.vertices(lam, n_data)
    y = rng.uniform(lam[0] - 2, lam[-1] + 2, size=(300, n_data))
    f, nu = sd.project(y, lam)
    W, _ = sd.constraints(lam, n_data)
    assert np.all(sd.achievable(f, lam))
    assert np.max(np.einsum("pn,pvn->pv", y - f, verts[None] - f[:, None])) <= 1e-9
    assert np.allclose(f - y, nu @ W, atol=1e-12) and np.all(nu >= 0)
    inside = sd.achievable(y, lam)
    assert np.allclose(f[inside], y[inside])


def test_one_datum_is_004_theorem_1(rng):
    """N = 1: the classes are 004's three regimes with R = lim eps (004 Theorem 1, qntk.theory.lv)."""
    lam = _random_spectrum(rng, 4)
    for y in (lam[0] - 0.7, lam[0], 0.5 * (lam[0] + lam[-1]), lam[-1], lam[-1] + 0.3):
        p, ref = sd.predict_phase(lam, [y]), lv.predict_regime(y, lam[0], lam[-1])
        assert p.phase == ref.regime and p.R[0] == pytest.approx(ref.R, abs=1e-12)


def test_degenerate_spectrum_makes_the_data_independent(rng):
    """With every level doubly degenerate (O = ZZ), the region of two data is the square [O_min, O_max]^2
    and each datum follows 004 alone."""
    lam = np.array([-1.0, -1.0, 1.0, 1.0])
    grid = np.array(list(itertools.product([-1.6, -1.0, -0.2, 0.4, 1.0, 1.3], repeat=2)))
    types, _, R = sd.classify(grid, lam)
    for y, ty, r in zip(grid, types, R):
        for a in range(2):
            ref = lv.predict_regime(y[a], -1.0, 1.0)
            assert sd.TYPES[ty[a]] == ref.regime and r[a] == pytest.approx(ref.R, abs=1e-12)


@pytest.mark.parametrize("targets, phase", CASES)
def test_predicted_class_of_hand_derived_targets(targets, phase):
    p = sd.predict_phase(SPECTRUM, targets)
    assert p.phase == phase
    assert p.law == ("polynomial" if phase in sd.POLYNOMIAL else "exponential")
    assert p.distance == pytest.approx(np.linalg.norm(np.subtract(p.f_star, targets)), abs=1e-12)


def test_seven_classes_and_which_needs_three_data():
    assert len(sd.PHASE_NAMES) == 7 and len(set(sd.PHASE_NAMES)) == 7
    assert [nm for nm, k in sd.MIN_DATA.items() if k == 3] == ["critical-mixed-frozen"]
    axis = np.linspace(-2.6, 2.6, 105)  # step 0.05: hits the faces, the vertices and the cone edges
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    types, _, _ = sd.classify(grid, SPECTRUM)
    found = {sd.phase_name(sd.TYPES[k] for k in t) for t in types}
    assert found == set(sd.PHASE_NAMES) - {"critical-mixed-frozen"}
    assert sd.predict_phase(SPECTRUM, [-2.0, 1.5, 0.2]).types == ("frozen-error", "critical", "frozen-kernel")


def test_linearization_has_a_zero_mode_exactly_in_the_polynomial_classes(rng):
    for targets, phase in CASES:
        p = sd.predict_phase(SPECTRUM, targets)
        n = len(targets)
        a = rng.normal(size=(n, n))
        M = p.linearization(0.1, a @ a.T + n * np.eye(n), np.ones(len(p.active)))
        ev = np.linalg.eigvalsh(0.5 * (M + M.T))
        assert np.all(ev <= 1e-12)
        assert (np.min(np.abs(ev)) < 1e-12) == (phase in sd.POLYNOMIAL)
        if n == 2 and phase in sd.EXPONENTIAL:
            assert np.linalg.det(M) > 0 and np.trace(M) < 0


def test_model_input_states_must_be_orthonormal():
    from qntk.models import Model
    from qntk.models.states import Dataset, basis_state

    obs = "1*ZI + 0.5*IZ"
    good = Model("rpa", 2, 4, obs, data=Dataset(states=[basis_state(2, 0), basis_state(2, 1)], labels=[-2.0, 0.3]))
    assert sd.predict_phase(good).phase == "mixed-frozen"
    bad = Model("rpa", 2, 4, obs, data=Dataset(states=[basis_state(2, 0), np.array([1, 1, 0, 0]) / np.sqrt(2)], labels=[0.0, 0.0]))
    with pytest.raises(ValueError, match="orthonormal"):
        sd.predict_phase(bad)
    with pytest.raises(ValueError, match="targets"):
        sd.predict_phase(SPECTRUM)


# ------------------------------------------------------------------------------------------------
# the dynamical equations against one gradient-descent step


def test_first_order_equations_match_a_gradient_step():
    """rhs() is the O(eta) change of eps_a and K_ab under theta <- theta - eta sum_a eps_a g_a: the
    residual shrinks as eta^2 (ratio ~4 when eta halves). Hessians by central differences of the adjoint
    gradient (error ~1e-10, far below the eta^2 residuals ~1e-6)."""
    import jax
    import jax.numpy as jnp

    from qntk import kernels
    from qntk.models import Model
    from qntk.models.states import basis_state

    m = Model("rpa", 2, 3, "1*ZI + 0.5*IZ")
    circuit, obs = m.circuit(seed=3), m.operator
    states = jnp.asarray(np.stack([basis_state(2, i) for i in range(2)]))
    y = np.array([0.4, -0.3])
    grad = jax.jit(jax.vmap(kernels.grad_fn(circuit, obs), in_axes=(None, 0)))

    def quantities(theta):
        f, g = (np.asarray(v) for v in grad(jnp.asarray(theta), states))
        return f - y, g @ g.T, g

    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, circuit.n_params)
    eps, K, g = quantities(theta)
    h = 1e-5
    cols = [(quantities(theta + h * e)[2] - quantities(theta - h * e)[2]) / (2 * h) for e in np.eye(theta.size)]
    hessians = np.stack(cols, axis=-1)  # (N, P, P)
    mu = sd.dqntk(g, hessians)
    residuals = []
    for eta in (1e-3, 5e-4):
        d_eps, d_K = sd.rhs(eps, K, mu, eta)
        eps1, K1, _ = quantities(theta - eta * (g.T @ eps))
        assert np.allclose(eps1 - eps, d_eps, rtol=1e-2, atol=1e-9)
        residuals.append(np.linalg.norm(K1 - K - d_K) + np.linalg.norm(eps1 - eps - d_eps))
    assert 3.0 < residuals[0] / residuals[1] < 5.0


# ------------------------------------------------------------------------------------------------
# measurement on synthetic trajectories


def _law(kind, steps=4000, eta=0.01, with_K=False):
    """eps(t) (and K(t)) of one datum from 004's LV map (qntk.theory.lv.iterate): C > 0, C = 0 or C < 0."""
    K0 = {"frozen-kernel": 3.0, "critical": 2.0, "frozen-error": 1.0}[kind]
    eps, K = lv.iterate(1.0, K0, 1.0, eta, steps)  # eps0 = lam = 1: C = K0 - 2
    return (eps, K) if with_K else eps


@pytest.mark.parametrize("types", [t for k in (1, 2, 3) for t in itertools.combinations(sd.TYPES, k)])
def test_measure_phase_reads_the_laws_of_lv_trajectories(types):
    """Independent LV data (a diagonal kernel): each datum's law, and one vanishing kernel eigenvalue per
    critical or frozen-error datum."""
    eps, K = (np.stack(v, axis=1) for v in zip(*(_law(k, with_K=True) for k in types)))
    t = np.arange(eps.shape[0])
    m = sd.measure_phase(t[1:], eps[1:], np.einsum("ta,ab->tab", K[1:], np.eye(len(types))))
    assert m.types == types and m.phase == sd.phase_name(types)
    assert m.n_zero_modes == sum(k != "frozen-kernel" for k in types)
    if "critical" in types:
        assert min(abs(p + 1) for p in m.K_power) < 0.05  # K = 1 / (eta t + c) at criticality (004 eq. (15))


def test_measure_phase_takes_samples_and_checks_shapes():
    eps = np.stack([_law("critical"), _law("frozen-error")], axis=1)
    t = np.arange(1, eps.shape[0])
    noisy = eps[1:, None, :] * np.array([[0.9], [1.0], [1.1]])  # (T, samples, N)
    K = np.broadcast_to(np.eye(2), (t.size, 3, 2, 2))
    m = sd.measure_phase(t, noisy, K)
    assert m.phase == "critical-frozen-error" and m.K_eigenvalues == (1.0, 1.0) and m.n_zero_modes == 0
    assert sd.measure_phase(t, eps[1:]).n_zero_modes == -1
    with pytest.raises(ValueError, match="K must have shape"):
        sd.measure_phase(t, noisy, K[:, 0])
    assert m.eps_late[1] == pytest.approx(eps[-1, 1])
    with pytest.raises(ValueError, match="need t"):
        sd.measure_phase(t, eps)
    with pytest.raises(ValueError, match="window"):
        sd.measure_phase(t, eps[1:], window=0.0)


# ------------------------------------------------------------------------------------------------
# against simulation


SIMULATED = [(y, ph) for y, ph in CASES]


@pytest.mark.slow
def test_predicted_class_is_the_simulated_class():
    """RPA (n = 2, L = 16, eta = 0.1, 3000 steps, 6 samples) on the inputs |00>, |01> (, |10>): every case of
    CASES, N = 2 and N = 3, is measured in its predicted class, and frozen errors reach R."""
    from qntk import train
    from qntk.models import Model
    from qntk.models.states import Dataset, basis_state

    for y, phase in SIMULATED:
        data = Dataset(states=np.stack([basis_state(2, i) for i in range(len(y))]), labels=list(y))
        m = Model("rpa", 2, 16, "1*ZI + 0.5*IZ", data=data)
        p = sd.predict_phase(m)
        ds = train.run(train.TrainConfig(m, eta=0.1, steps=3000, samples=6, seed=0, snapshot_every=3000),
                       progress=False)
        eps = ds.eps.values[:, 0]
        mm = sd.measure_phase(np.arange(1, eps.shape[0]), eps[1:], ds.K.values[1:, 0])
        assert p.phase == phase and mm.phase == phase, (y, mm)
        assert p.n_zero_modes == mm.n_zero_modes, (y, mm)
        for a, kind in enumerate(p.types):
            tol = 1e-6 if kind == "frozen-error" and "critical" not in p.types else 2e-2
            assert mm.eps_late[a] == pytest.approx(p.R[a], abs=tol)
