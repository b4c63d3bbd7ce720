"""004-data at quick size: the phase diagram of two data, its prediction from the model alone and its measurement."""

import dataclasses

import numpy as np
import pytest

from qntk.experiments.figures.seed004 import several_data as fig
from qntk.models import Model
from qntk.theory import several_data as sd


def test_points_and_map_are_the_theory_of_the_spectrum_alone():
    lam = np.linalg.eigvalsh(Model("rpa", 2, 4, fig.observable(2)).operator.matrix())
    assert np.allclose(lam, [-1.5, -0.5, 0.5, 1.5])
    ys = fig.targets(lam, 0.5, len(fig.POINTS))
    aimed = [name for name, _ in fig.POINTS]
    assert [sd.predict_phase(lam, y).phase for y in ys] == aimed  # the points land in the classes they aim at
    assert set(aimed) == set(sd.PHASE_NAMES) - {"critical-mixed-frozen"}
    y1, y2, codes = fig.phase_map(lam, 21, 1.0)
    i, j = 7, 13
    assert sd.PHASE_NAMES[codes[i, j]] == sd.predict_phase(lam, [y1[j], y2[i]]).phase


def test_quick_run_measures_the_predicted_classes(quick_result):
    r = quick_result(fig.NAME)
    d = r.data
    lam = d.spectrum.values
    for y, pred, meas, f_star in zip(d.targets.values, d.predicted.values, d.measured.values, d.f_star.values):
        p = sd.predict_phase(lam, y)
        assert sd.PHASE_NAMES[int(pred)] == p.phase and np.allclose(f_star, p.f_star)
        assert meas == pred
    assert r.config["phase_agreement"] == f"{fig.QUICK.points}/{fig.QUICK.points}"
    assert np.array_equal(d.zero_modes_predicted.values, d.zero_modes_measured.values)
    polynomial = [sd.PHASE_NAMES[int(k)] in sd.POLYNOMIAL for k in d.predicted.values]
    exponents = [row for row in r.rows if row["quantity"].startswith("d log kappa")]
    assert len(exponents) == sum(polynomial) > 0 and all(row["theory"] == -1.0 for row in exponents)
    # rows: theory is the projection f*, simulation the late outputs eps(T) + y averaged over samples
    outputs = d.eps_final.values + d.targets.values[:, None, :]
    theory = [row["theory"] for row in r.rows if row["quantity"].startswith("late <O>")]
    assert np.allclose(theory, [v for f in d.f_star.values for v in f if v != 0.0])
    assert r.rows[0]["simulation"] == pytest.approx(outputs[0, :, 0].mean(), rel=1e-12)


def test_config_checks_the_number_of_points():
    with pytest.raises(ValueError, match="^points"):
        dataclasses.replace(fig.QUICK, points=len(fig.POINTS) + 1)
    with pytest.raises(ValueError, match="^n_qubits"):
        dataclasses.replace(fig.QUICK, n_qubits=1)
