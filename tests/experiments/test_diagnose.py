"""The qntk diagnose job (qntk.experiments.diagnose): its keys, its initializations (those of qntk.train), the
dQNTK laziness check against the single-output identity and against training, the --train comparison, and the
shot-noise floor against training with shots."""

import dataclasses
from pathlib import Path

import jax
import numpy as np
import pytest

from qntk import kernels, train
from qntk.experiments import diagnose as dg
from qntk.models import Model

SUPERVISED = Model("reuploading", 2, 2, "ZI", data="tfim:points=6,h_min=-2,h_max=2",
                   options={"encoding_scale": 0.5})
FILES = Path(__file__).parents[1] / "models" / "model_files"
SMALL = dict(samples=8, trial_samples=4, trial_steps=3, steps=20)


def test_supervised_report_has_the_documented_keys_and_the_train_runs_initializations():
    out = dg.run(dg.DiagnoseConfig(SUPERVISED, **SMALL))
    for key in ("lambda_min", "lambda_max", "condition_number", "eta_crit", "tau", "r2_train", "r2_test", "laziness"):
        assert key in out
    assert out["steps_to_precision"] == pytest.approx(out["tau"] * np.log(1e3))
    for key in ("K_spread", "K_trial_change", "dqntk_change", "lazy", "verdict"):
        assert key in out["laziness"]
    assert out["train_indices"] == [0, 2, 4] and out["test_indices"] == [1, 3, 5]
    assert out["eta_crit"] == pytest.approx(2 / out["lambda_max"]) and out["eta"] == pytest.approx(out["eta_crit"] / 2)
    ds = train.run(train.TrainConfig(dataclasses.replace(SUPERVISED, data=SUPERVISED.dataset.subset([0, 2, 4])),
                                     eta=0.1, steps=1, samples=8, theory=False), progress=False)
    f0 = ds.eps.values[0, 0].mean(axis=0) + SUPERVISED.dataset.labels[[0, 2, 4]]
    np.testing.assert_allclose(out["prediction"]["f0_train"], f0, atol=1e-12)
    k0 = ds.K.values[0, 0].mean(axis=0)
    np.testing.assert_allclose(out["lambda_max"], np.linalg.eigvalsh(k0)[-1], rtol=1e-12)


def test_random_split_and_bad_settings():
    out = dg.run(dg.DiagnoseConfig(SUPERVISED, split="random", n_train=4, **SMALL))
    assert len(out["train_indices"]) == 4 and sorted(out["train_indices"] + out["test_indices"]) == list(range(6))
    for kwargs, words in ((dict(n_train=6), "no test point"), (dict(split="odd"), "split"), (dict(above=0.5), "above"),
                          (dict(samples=1), "samples"), (dict(precision=1.5), "precision")):
        with pytest.raises(ValueError, match=words):
            dg.DiagnoseConfig(SUPERVISED, **kwargs)
    with pytest.raises(ValueError, match="n_train"):
        dg.DiagnoseConfig(Model("hea", 2, 2, "ZI"), n_train=2)


def test_optimization_model_and_the_dqntk_change_of_one_output():
    """Without data the kernel is the number K (lambda_min = lambda_max = its mean over the initializations), with
    the model's theory beside it. For one output and eta K = 1 (one step removes the residual) the first-order
    kernel change is -2 lambda eps(0) = -2 mu eps(0) / K (004 eq. (11)), from kernels.qntk_fn."""
    m = Model("hea", 2, 3, "ZZ", target=0.3)
    thetas = train.initial_thetas(0, 1, 6, m.circuit().n_params)[0]
    k = [kernels.qntk_fn(m)(th) for th in thetas]
    out = dg.run(dg.DiagnoseConfig(m, samples=6, trial_samples=2, trial_steps=1, steps=1))
    assert out["task"] == "optimization" and out["r2_test"] is None
    assert out["lambda_min"] == out["lambda_max"] == pytest.approx(np.mean([float(x.K) for x in k]), rel=1e-12)
    assert out["theory"]["regime"] == "frozen-kernel"
    fn = jax.jit(dg._init_fn(m, m.circuit(), np.array([0])), static_argnums=(1, 2))
    for th, x in zip(thetas, k):
        dk = fn(th, None, None, np.array([0.3]), 1.0 / float(x.K), 1)[2]
        assert float(dk[0, 0]) == pytest.approx(-2.0 * float(x.lambda_ * x.eps), rel=1e-9)


def test_shot_noise_floor_matches_training_with_shots():
    """An optimization model close to lazy (n = 4, L = 64, Pauli ZZII, so Var(O) at the target is 1 - O_0^2): the
    predicted mean eps^2 floor for 100 shots, from the initialization alone, against qntk train with the same
    shots, seed and eta, averaged over the second half of 400 steps (decay time ~30 steps); within 4 standard
    errors over the 32 runs.
    A model evaluated as a function has no shot noise."""
    model = Model("rpa", 4, 64, "ZZII", target=0.2)
    out = dg.run(dg.DiagnoseConfig(model, samples=32, seed=3, eta=0.01, shots=100, trial_samples=2, trial_steps=1,
                                   steps=400, theory=False))
    noise = out["shot_noise"]
    assert noise["variance_O"] == pytest.approx(1 - 0.2**2, abs=1e-3) and noise["settling_fraction"] == 1.0
    assert noise["mse_floor"] <= noise["mse_floor_upper"] * (1 + 1e-9) and not noise["precision_reachable"]
    ds = train.run(train.TrainConfig(model, eta=0.01, steps=400, samples=32, seed=3, shots=100, theory=False,
                                     snapshot_every=400), progress=False)
    late = (ds.eps.values[200:, 0, :, 0] ** 2).mean(axis=0)  # per run
    sem = late.std(ddof=1) / np.sqrt(late.size)
    assert abs(late.mean() - noise["mse_floor"]) <= 4 * sem, (late.mean(), sem, noise["mse_floor"])
    pytest.importorskip("pennylane")
    with pytest.raises(ValueError, match="layered form"):
        dg.DiagnoseConfig(Model.from_file(FILES / "rot_pennylane.py"), shots=100)


def test_dqntk_change_predicts_the_kernel_change_of_a_short_training():
    """The first-order kernel change along the frozen-QNTK displacement agrees with the change of K measured by
    qntk.train over a few small steps (second-order terms are O(eta t) smaller)."""
    cfg = dg.DiagnoseConfig(SUPERVISED, samples=4, eta=2e-3, steps=5, trial_samples=4, trial_steps=5)
    out = dg.run(cfg)
    lz = out["laziness"]
    assert lz["dqntk_change"] == pytest.approx(lz["K_trial_change"], rel=0.05)


def test_training_comparison_and_the_divergence_check():
    out = dg.run(dg.DiagnoseConfig(SUPERVISED, train=True, **SMALL))
    t = out["training"]
    assert len(t["abs_diff_train"]) == 21 and t["abs_diff_train"][0] == pytest.approx(0.0, abs=1e-12)
    assert t["snapshot_step"][0] == 0 and t["abs_diff_test"][0] == pytest.approx(0.0, abs=1e-12)
    assert t["divergence"]["eta"] == pytest.approx(1.5 * out["eta_crit"])
    d = t["divergence"]
    assert d["diverges"] and d["top_mode_above"] > dg.TOP_MODE_LEFT > d["top_mode_at_eta"], d
