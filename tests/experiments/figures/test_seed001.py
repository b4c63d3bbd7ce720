"""001 Figs. 2-4 at quick size: what each figure composes from qntk.theory.lazy."""

import numpy as np
import pytest

from qntk.experiments.figures.seed001 import fig4
from qntk.theory import lazy


def test_fig4_columns_are_001_eqs_31_63_64_at_each_runs_K0(quick_result):
    d = quick_result("001-fig4").data
    cfg = fig4.QUICK
    for eta in cfg.etas:
        point = d.sel(eta=eta)
        var_t = lazy.noisy_eps_variance(point.eps_initial.values, eta, point.K_initial.values, cfg.sigma, cfg.steps)
        assert float(point.theory_std_eps_finite_t) == pytest.approx(np.sqrt(var_t), rel=1e-12)
        plateau = lazy.noise_plateau_eps2(eta, point.K_initial.values, cfg.sigma)
        assert float(point.theory_std_eps) == pytest.approx(np.sqrt(plateau.mean()), rel=1e-12)


def test_fig2_and_fig3_record_their_settings(quick_result):
    for name in ("001-fig2", "001-fig3"):
        record = quick_result(name).config
        assert record["paper_size"] is False and record["config"]["observable_seed"] in (2, 9)
        assert record["model"]["n_qubits"] == record["config"]["n_qubits"]
