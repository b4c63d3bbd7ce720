"""002's deviations from the NTK (qntk.theory.convergence) against direct computation and simulation."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from qntk import kernels, train
from qntk.models import Model, ansatze, observables, states
from qntk.theory import convergence


def _random_hermitian(d, rng):
    a = rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))
    return (a + a.conj().T) / 2


def test_k_asym_is_minus_the_trace_of_two_commutators():
    """002 eq. (7) for pure states, against the dense commutators; symmetric PSD."""
    rng = np.random.default_rng(1)
    m = _random_hermitian(8, rng)
    v = rng.standard_normal((3, 8)) + 1j * rng.standard_normal((3, 8))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    rhos = [np.outer(x, x.conj()) for x in v]
    comm = [m @ r - r @ m for r in rhos]
    dense = np.array([[-np.trace(a @ b).real for b in comm] for a in comm])
    k = convergence.k_asym(m, v)
    np.testing.assert_allclose(k, dense, atol=1e-12)
    assert np.linalg.eigvalsh(k).min() > -1e-12


@pytest.mark.parametrize("gamma", [1.0, 2.5])
def test_one_sample_k_asym_is_two_gamma_squared_minus_yhat_squared(gamma):
    """002 Cor. 4.3: for M^2 = gamma^2 I, k = 2 (gamma^2 - yhat^2)."""
    m0 = convergence.initial_measurement(3, gamma, seed=4)
    np.testing.assert_allclose(m0 @ m0, gamma**2 * np.eye(8), atol=1e-12)
    v = states.orthogonal_states(3, 1, seed=2)
    yhat = np.real(v[0].conj() @ m0 @ v[0])
    assert convergence.k_asym(m0, v)[0, 0] == pytest.approx(2 * (gamma**2 - yhat**2), rel=1e-12)


def test_asymptotic_dynamics_follows_its_residual_law_and_keeps_the_spectrum():
    """One sample: yhat(tau) solves dyhat/dtau = -2 (gamma^2 - yhat^2)(yhat - y) (002 Cor. 4.3), here integrated
    separately as a scalar ODE; four samples: dr/dtau = -K_asym r at tau = 0 (finite differences), and the
    spectrum of M(tau) is conserved."""
    gamma, y = 2.0, 1.0
    m0 = convergence.initial_measurement(3, gamma, seed=0)
    v = states.orthogonal_states(3, 1, seed=1)
    tau = np.linspace(0.0, 0.5, 11)
    sol = convergence.asymptotic_dynamics(m0, v, np.array([y]), tau)
    y0 = np.real(v[0].conj() @ m0 @ v[0])
    scalar = solve_ivp(lambda _, x: -2 * (gamma**2 - x**2) * (x - y), (0, 0.5), [y0], t_eval=tau, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sol.residuals[:, 0] + y, scalar.y[0], atol=1e-8)
    assert sol.spectrum_drift < 1e-9 and sol.loss[-1] < 1e-2 * sol.loss[0]

    data = states.orthogonal_classification(3, 4, seed=5)
    h = 1e-4
    short = convergence.asymptotic_dynamics(m0, data.states, data.labels, np.array([0.0, h, 2 * h]))
    slope = (-3 * short.residuals[0] + 4 * short.residuals[1] - short.residuals[2]) / (2 * h)
    expected = -convergence.k_asym(m0, data.states) @ short.residuals[0]
    np.testing.assert_allclose(slope, expected, rtol=1e-5, atol=1e-6)
    assert short.spectrum_drift < 1e-9
    with pytest.raises(ValueError, match="starting at 0"):
        convergence.asymptotic_dynamics(m0, data.states, data.labels, np.array([0.5, 1.0]))


def test_k_pert_shrinks_as_the_number_of_parameters_grows():
    """002 Lemma 4.1: a periodic circuit's kernel over p s^2 tr(H^2)/(d^2 - 1) is K_asym(M) + K_pert with K_pert
    -> 0 as p grows; measured ||K_pert|| / ||K_asym|| ~ p^-1/2 (fitted exponent within 0.15 of -1/2)."""
    data = states.orthogonal_classification(3, 4, seed=0)
    obs = observables.pauli_measurement("ZII")
    ps, ratios = (16, 64, 256), []
    for p in ps:
        r = []
        for seed in range(6):
            circuit = ansatze.periodic(3, p, seed=seed)
            theta = np.random.default_rng(seed).uniform(0, 2 * np.pi, p)
            k = kernels.measurement_kernel(circuit, obs, theta, data.states)
            ka, kp = convergence.kernel_decomposition(k, kernels.measurement_operator(circuit, obs, theta), data.states,
                                                      circuit)
            r.append(np.linalg.norm(kp) / np.linalg.norm(ka))
        ratios.append(np.mean(r))
    slope = np.polyfit(np.log(ps), np.log(ratios), 1)[0]
    assert ratios[0] > ratios[1] > ratios[2] and abs(slope + 0.5) < 0.15, (ratios, slope)


def test_model_level_calls_agree_with_the_pieces():
    model = Model("periodic", 3, 12, "pauli:label=ZII,gamma=2", data="orthogonal:m=4,seed=3")
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 12)
    out = convergence.at_initialization(model, theta, seed=1)
    np.testing.assert_allclose(out["K_asym"], convergence.k_asym(out["M"], model.dataset.states), atol=1e-12)
    np.testing.assert_allclose(out["K"], (out["K_asym"] + out["K_pert"]) * convergence.time_scale(model.circuit(seed=1), 1.0),
                               atol=1e-10)
    sol = convergence.asymptotic_from(model, theta, 0.01, [0, 10, 20], seed=1)
    r0 = np.real(np.einsum("ja,ab,jb->j", model.dataset.states.conj(), out["M"], model.dataset.states)) - model.dataset.labels
    np.testing.assert_allclose(sol.residuals[0], r0, atol=1e-12)
    assert sol.tau[1] == pytest.approx(10 * convergence.time_scale(model.circuit(seed=1), 0.01))
    with pytest.raises(ValueError, match="input states"):
        convergence.at_initialization(Model("periodic", 3, 4, "ZII"), np.zeros(4))


def test_pauli_type_and_sublinear_rate():
    assert convergence.is_pauli_type(observables.pauli_measurement("ZI").matrix())
    assert convergence.is_pauli_type(np.diag([1.0, 0.0, -1.0, 0.0]))  # the remark after 002 Thm 3.2's proof
    assert not convergence.is_pauli_type(observables.pauli_measurement("ZI", gamma=2.0).matrix())
    assert not convergence.is_pauli_type(np.diag([1.0, 1.0, 0.0, 0.0]))
    # Pauli generators have ||G||_op = 1: c1 = 12 sqrt(m) eta s^2 p
    circuit = ansatze.rpa(2, 8, seed=0)
    assert convergence.sublinear_rate(circuit, 0.01, 4) == pytest.approx(12 * 2 * 0.01 * 0.25 * 8)


def test_sublinear_bound_verdicts():
    """Every loss above its bound holds; an exponentially decaying loss (kernel regression) falls below any
    sublinear bound eventually."""
    t = np.arange(200)[:, None]
    slow = 1.0 / (1.0 + 0.01 * t) ** 2 * np.array([[1.0, 2.0]])
    ok = convergence.sublinear_bound(slow, c1=0.02)
    assert ok["holds"] and ok["min_ratio"] >= 1.0 and ok["c0"] == pytest.approx(1 / np.sqrt(1.5))
    fast = np.exp(-0.1 * t)
    bad = convergence.sublinear_bound(fast, c1=0.02)
    assert not bad["holds"] and bad["min_ratio"] < 1e-3


def test_a_supervised_run_reports_the_conserved_spectrum_and_the_sublinear_bound():
    """002 Thm 3.2 on a simulated run (periodic ansatz, Pauli measurement, 4 orthogonal states, labels +-1), with
    qntk's normalization; the gamma-scaled measurement is not of Pauli type and gets no bound."""
    model = Model("periodic", 3, 10, "pauli:label=ZII", data="orthogonal:m=4,seed=1")
    s = train.summarize(train.run(train.TrainConfig(model, eta=0.02, steps=60, samples=2, loss="supervised"),
                                  progress=False))
    assert s["spectrum_drift"] < 1e-12
    b = s["sublinear_bound"]
    assert b["holds"] and b["min_ratio"] >= 1.0
    assert b["c1"] == pytest.approx(convergence.sublinear_rate(model.circuit(seed=0), 0.02, 4))
    assert s["rows"][-1]["loss_mean"] >= s["rows"][-1]["loss_bound"]
    # the asymptotic dynamics starts at each run's own M(theta(0)): the same loss at step 0
    assert s["rows"][0]["loss_asymptotic"] == pytest.approx(s["rows"][0]["loss_mean"], rel=1e-10)
    assert 0 < s["asymptotic_distance"] < 1
    scaled = Model("periodic", 3, 10, "pauli:label=ZII,gamma=3", data="orthogonal:m=4,seed=1")
    s = train.summarize(train.run(train.TrainConfig(scaled, eta=0.002, steps=10, samples=2, loss="supervised"),
                                  progress=False))
    assert s["spectrum_drift"] < 1e-12 and "sublinear_bound" not in s
    assert "eigenvalues in {-1, 0, +1}" in s["unitarity_note"]
