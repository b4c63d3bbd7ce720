"""004 Figs. 4 and 7 at quick size: what each figure composes from qntk.theory.hessian and linear_loss."""

import numpy as np
import pytest

from qntk.experiments.figures.seed004 import fig4, fig7
from qntk.theory import hessian, linear_loss


def test_fig4_gap_is_the_smallest_nonzero_loss_hessian_eigenvalue_and_closes_at_the_critical_points(quick_result):
    r = quick_result("004-fig4")
    d = r.data
    np.testing.assert_array_equal(d.gap.values, hessian.gap(d.eigenvalues.values))
    o_min, o_max = r.config["O_min"], r.config["O_max"]
    assert (o_min, o_max) == (-6.0, 4.0)
    # the theory line: rank one (= K_inf) in the bulk, 0 at both critical points, linear in |R| outside
    line = d.theory_gap_line.sel(grid=[o_min, o_max]).values
    assert np.all(line == 0.0)
    bulk = (d.grid > o_min) & (d.grid < o_max)
    np.testing.assert_array_equal(d.theory_gap_line.values[bulk], d.theory_K_inf_line.values[bulk])
    below = d.grid.values < o_min
    ratio = d.theory_gap_line.values[below] / (o_min - d.grid.values[below])
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    # the frozen-kernel sample converged to rank one
    assert np.all(d.nonzero_count.sel(target=-3.0).values == 1)
    assert r.rows[0]["quantity"] == "gap at O_0 = -8"


def test_fig7_rows_use_the_restricted_haar_lambda_and_R(quick_result):
    r = quick_result("004-fig7")
    cfg = fig7.QUICK
    lam = r.config["lambda_inf"]
    model = fig7._setup.model(cfg.n_qubits, cfg.n_layers, 0.0)
    assert lam == pytest.approx(linear_loss.late_time(model, cfg.eta)["lambda_inf"], rel=1e-12)
    rows = {row["quantity"]: row for row in r.rows}
    assert rows["K decay rate, linear loss, eq. (25) 2 eta lambda"]["theory"] == pytest.approx(2 * cfg.eta * lam)
    assert rows["K decay rate, O_0 = -8, eq. (16) 2 eta lambda R"]["theory"] == pytest.approx(2 * cfg.eta * lam * 2.0)
    assert r.config["recommended_R"] <= linear_loss.STABILITY_MARGIN * r.config["R_max"] + 1e-12
    assert list(r.data.loss.values) == ["linear", "-6", "-8", "recommended"]
    # every run starts from the same angles: the same residual at t = 0
    res0 = r.data.residual.isel(step=0).values
    np.testing.assert_allclose(res0, np.broadcast_to(res0[0], res0.shape), rtol=1e-12)


@pytest.mark.parametrize("module", [fig4, fig7])
def test_paper_size_configs_are_004s(module):
    c = module.Config()
    if module is fig4:
        assert (c.n_qubits, c.n_layers) == (2, 64) and min(c.targets) < -6 < 4 < max(c.targets)
    else:
        assert (c.n_qubits, c.n_layers, c.targets) == (6, 192, (-22.0, -26.0, -30.0))
    with pytest.raises(ValueError, match="^inset_targets"):
        fig4.Config(inset_targets=(-8.0, -6.0, -3.0, 0.0))
