"""000 Fig. 3 at quick size: kernel matrices, their lowest eigenvalues and the exact mean matrix."""

import itertools

import numpy as np
import pytest

from qntk.experiments import reproduce
from qntk.models import observables, pauli, states
from qntk.theory import supervised


def test_quick_run_kernels_are_psd_and_consistent():
    mod = reproduce.get("000-fig3")
    d = mod.run(quick=True, seed=0, progress=False).data
    for m in d.n_data.values:
        k = d.K.sel(n_data=m).values[:, :m, :m]
        np.testing.assert_allclose(k, np.swapaxes(k, 1, 2), atol=1e-10)
        lowest = np.linalg.eigvalsh(k)[:, 0]
        assert lowest.min() > -1e-10
        np.testing.assert_allclose(d.lowest.sel(n_data=m), lowest, rtol=1e-12)
        assert d.lowest_of_mean_K.sel(n_data=m) >= d.lowest_mean.sel(n_data=m)  # concavity of lambda_min
        assert d.exact.sel(n_data=m) == pytest.approx(float(d.eq21.sel(n_data=m)), rel=1e-10)


def test_full_pauli_first_layer_equals_haar_for_any_orthonormal_inputs():
    """Averaged over the 4^n - 1 non-identity Pauli strings, layer 1 acting on the inputs gives the Haar
    term, so 000 eq. (21) is exact for the random Pauli ansatz over the full Pauli group."""
    obs = observables.random_pauli_mixture(2, seed=1, include_identity=True)
    gens = [pauli.PauliString.from_label("".join(p)).matrix() for p in itertools.product("IXYZ", repeat=2)][1:]
    for kind in ("haar", "basis"):
        x = states.orthogonal_states(2, 3, seed=4, kind=kind)
        exact = supervised.mean_kernel_matrix(x, [obs], 8, -1.0, first_layer_generators=gens)
        np.testing.assert_allclose(exact, supervised.mean_kernel_matrix(x, [obs], 8, -1.0), atol=1e-12)
        assert np.linalg.eigvalsh(exact)[0] == pytest.approx(supervised.lowest_eigenvalue_orthogonal(3, obs, 8, -1.0))
