"""Mean supervised QNTK matrix (000 eqs. (17)-(21)) against the random Pauli ansatz and identities."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qntk import kernels
from qntk.models import ansatze, observables, pauli
from qntk.theory import supervised

N_SE = 4.0


def test_mean_kernel_matrix_matches_rpa_simulation():
    """300 random Pauli ansatze x 20 angle vectors on 3 orthogonal inputs, observable with a trace.

    The exact first-layer treatment agrees element-wise within N_SE standard errors (the first
    rotation acts on the inputs, not on Haar-rotated states)."""
    n, L = 2, 12
    obs = observables.pauli_sum("0.5*ZZ + 0.7*XI + 0.4*II")
    states = np.eye(2**n)[[0, 1, 3]].astype(complex)
    fn = jax.jit(lambda c, o, th: jax.vmap(lambda t: kernels.qntk_matrix_fn(c, o)(t, states=jnp.asarray(states)))(th))
    per_circuit = np.array(
        [
            np.asarray(fn(ansatze.rpa(n, L, seed=i), obs, jax.random.uniform(jax.random.key(i), (20, L), maxval=2 * np.pi))).mean(0)
            for i in range(300)
        ]
    )
    mean, sem = per_circuit.mean(0), per_circuit.std(0, ddof=1) / np.sqrt(len(per_circuit))
    gens = [pauli.PauliString.from_label("".join(p)).matrix() for p in itertools.product("XYZ", repeat=n)]
    theory = supervised.mean_kernel_matrix(states, [obs], L, 0.5, first_layer_generators=gens)
    assert np.all(np.abs(mean - theory) < N_SE * sem), (mean - theory) / sem


def test_lowest_eigenvalue_and_leading_order():
    """000 eq. (21) is the lowest eigenvalue for orthogonal inputs; 000 eq. (17) is the large-d limit."""
    obs = observables.random_pauli_mixture(3, seed=2, include_identity=True)
    d, L = 8, 64
    for m in (2, 5, 8):
        k = supervised.mean_kernel_matrix(np.eye(d)[:m], [obs], L, 1.0)
        assert np.linalg.eigvalsh(k)[0] == pytest.approx(supervised.lowest_eigenvalue_orthogonal(m, obs, L, 1.0), rel=1e-12)
    big = observables.pauli_sum("ZIIIIIII")  # d = 256, traceless
    k = supervised.mean_kernel_matrix(np.eye(256)[:1], [big], 10, 1.0)
    assert k[0, 0] == pytest.approx(2 * 10 * 256 / 256**2, rel=0.01)


def test_multi_output_ordering_matches_kernels():
    obs = [observables.pauli_sum("ZI"), observables.pauli_sum("XX + 0.5*II")]
    states = np.eye(4)[:2]
    k = supervised.mean_kernel_matrix(states, obs, 5, 0.5)
    assert k.shape == (4, 4) and np.allclose(k, k.T)
    single = supervised.mean_kernel_matrix(states, obs[:1], 5, 0.5)
    np.testing.assert_allclose(k[::2, ::2], single)
    with pytest.raises(ValueError, match="n_data"):
        supervised.lowest_eigenvalue_orthogonal(5, obs[0], 5, 1.0)
