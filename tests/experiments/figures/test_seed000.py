"""000 Figs. 1-3 at quick size: what each figure composes from qntk.theory, and 000 Fig. 3's kernels."""

import itertools
import json

import numpy as np
import pytest

from qntk.experiments.figures.seed000 import fig1, fig2
from qntk.experiments.figures.seed001 import _setup
from qntk.models import observables, pauli, states
from qntk.theory import haar, large_d, mean_residual, supervised


def test_fig1_theory_columns_are_the_haar_averages_and_000_eqs_9_12(quick_result):
    d = quick_result("000-fig1").data
    cfg = fig1.QUICK
    for layers in cfg.layers:
        o = _setup.model(cfg.n_qubits, layers, cfg.observable_seed).operator.matrix()
        point = d.sel(layers=layers)
        assert float(point.theory_K) == pytest.approx(haar.mean_K(o, None, layers, -1.0), rel=1e-12)
        assert float(point.eq9_K) == pytest.approx(large_d.mean_K(o, layers), rel=1e-12)
        assert float(point.eq12_dK_over_K) == pytest.approx(large_d.std_K(o, layers) / large_d.mean_K(o, layers),
                                                            rel=1e-12)


def test_fig2_theory_is_computed_from_the_model(quick_result):
    result = quick_result("000-fig2")
    cfg = fig2.QUICK
    model = _setup.model(cfg.n_qubits, cfg.n_layers, cfg.observable_seed)
    theory = mean_residual(model, cfg.eta, np.arange(cfg.steps + 1))
    np.testing.assert_allclose(result.data.theory_eq10, theory["eps_eq10"], rtol=1e-12)
    np.testing.assert_allclose(result.data.theory_ensemble, theory["eps_ensemble"], rtol=1e-12)
    assert result.config["K_mean_theory"] == pytest.approx(theory["K_mean"], rel=1e-12)
    assert json.loads(json.dumps(result.config))["config"]["circuits"] == cfg.circuits


def test_fig3_quick_run_kernels_are_psd_and_consistent(quick_result):
    d = quick_result("000-fig3").data
    for m in d.n_data.values:
        k = d.K.sel(n_data=m).values[:, :m, :m]
        np.testing.assert_allclose(k, np.swapaxes(k, 1, 2), atol=1e-10)
        lowest = np.linalg.eigvalsh(k)[:, 0]
        assert lowest.min() > -1e-10
        np.testing.assert_allclose(d.lowest.sel(n_data=m), lowest, rtol=1e-12)
        assert d.lowest_of_mean_K.sel(n_data=m) >= d.lowest_mean.sel(n_data=m)  # concavity of lambda_min
        assert d.exact.sel(n_data=m) == pytest.approx(float(d.eq21.sel(n_data=m)), rel=1e-10)


def test_fig3_config_keeps_the_training_set_below_the_dimension():
    from qntk.experiments.figures.seed000 import fig3

    with pytest.raises(ValueError, match="n_data must stay below d = 2\\^n_qubits = 4"):
        fig3.Config(n_qubits=2, n_data=(2, 4))


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
