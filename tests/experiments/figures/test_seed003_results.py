"""003-results: the rank-correlation and pairing helpers, and the largest convergent learning rate against
eta_crit = 2 / lambda_max on a small model (the claim behind 003's "maximum learning rate ~ 1 / lambda_max")."""

import math

import numpy as np
import pytest

from qntk.experiments import diagnose
from qntk.experiments.figures.seed003 import results
from qntk.models import Model


def test_spearman_ranks_infinite_training_times_last_and_skips_nan():
    assert results._spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert results._spearman([1, 2, 3], [math.inf, 5, 1]) == pytest.approx(-1.0)
    assert results._spearman([1, 2, 3, 4], [4, math.nan, 2, 1]) == pytest.approx(-1.0)
    assert results._spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(math.sqrt(3) / 2)  # ties share a rank
    assert math.isnan(results._spearman([1, 2], [3, 3]))


def test_pairs_compare_like_with_like():
    fams = list(results.FAMILIES)
    assert results._pairs(fams, "high", "low", "frequency") == [(1, 0), (3, 2)]
    assert results._pairs(fams, "hea", "hva", "block") == [(0, 2), (1, 3)]


def test_bad_configs():
    for kwargs, words in ((dict(blocks=(4, 2)), "increasing"), (dict(families=("mid-hea",)), "model family"),
                          (dict(blocks=(1,)), "increasing")):
        with pytest.raises(ValueError, match=words):
            results.Config(**kwargs)


def test_largest_convergent_eta_brackets_eta_crit():
    """The measured threshold is of the order of 2 / lambda_max of the mean kernel; it lies above it when the kernel
    spreads over initializations (runs whose own lambda_max is smaller still converge), here by up to 75%."""
    m = Model("reuploading", 2, 2, "ZI", data="tfim:points=6,h_min=-2,h_max=2",
              options={"encoding_scale": 0.5, "block": "hea"})
    cfg = diagnose.DiagnoseConfig(m, samples=8, trial_samples=6)
    init = diagnose.initial_kernels(cfg)
    k = init["K"][:, init["train"]][:, :, init["train"]].mean(axis=0)
    lam, v = np.linalg.eigh(k)
    lo, hi = diagnose.largest_convergent_eta(cfg, 2 / lam[-1], v[:, -1], iterations=3, steps=40)
    assert hi - lo == pytest.approx(0.25) and 0.75 <= lo and hi <= 1.75, (lo, hi)
