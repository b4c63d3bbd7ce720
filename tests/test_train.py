"""The training simulator: frozen-kernel dynamics, determinism, checkpoint/resume, NetCDF output."""

import json

import numpy as np
import pytest
import xarray as xr

from qntk import train
from qntk.models import Model
from qntk.models import states

MODEL = Model("rpa", 2, 16, "xxz:J=2", target=-3.0)


def small(**kw):
    base = dict(model=MODEL, eta=0.02, steps=30, samples=3, snapshot_every=10)
    base.update(kw)
    return train.TrainConfig(**base)


def test_first_order_step_matches_qntk():
    """eps(t+1) - eps(t) = -eta K eps + O(eta^2) (000 eq. (5)): the remainder shrinks as eta^2."""
    residuals = []
    for eta in (1e-3, 1e-4):
        ds = train.run(small(eta=eta, steps=1), progress=False)
        eps, k = ds.eps.isel(data=0).values, ds.K.isel(data=0, data_b=0).values
        residuals.append(np.max(np.abs(eps[1] - eps[0] * (1 - eta * k[0]))))
    assert residuals[0] / residuals[1] == pytest.approx(100.0, rel=0.05)


def test_mu_is_the_second_order_term():
    """eps(t+1) - eps(t) = -eta K eps + eta^2 eps^2 mu / 2 + O(eta^3) (000 eq. (13))."""
    eta = 1e-3
    ds = train.run(small(eta=eta, steps=1, record_mu=True), progress=False)
    eps, k, mu = ds.eps.isel(data=0).values, ds.K.isel(data=0, data_b=0).values, ds.mu.values
    second = eps[0] * (1 - eta * k[0]) + 0.5 * eta**2 * eps[0] ** 2 * mu[0]
    first = eps[0] * (1 - eta * k[0])
    assert np.max(np.abs(eps[1] - second)) < 0.05 * np.max(np.abs(eps[1] - first))


def test_deterministic_and_noise_changes_the_run():
    a = train.run(small(sigma=1e-2, shots=50), progress=False)
    b = train.run(small(sigma=1e-2, shots=50), progress=False)
    c = train.run(small(sigma=1e-2, shots=50, seed=1), progress=False)
    clean = train.run(small(), progress=False)
    np.testing.assert_array_equal(a.eps.values, b.eps.values)
    assert not np.allclose(a.eps.values, c.eps.values)
    assert not np.allclose(a.eps.values[-1], clean.eps.values[-1])
    np.testing.assert_array_equal(a.eps.values[0], clean.eps.values[0])


def test_checkpoint_resume_gives_the_same_run(tmp_path, monkeypatch):
    """Checkpoints are written by time (here after every chunk), and once more when the run is interrupted; the
    resumed run is the uninterrupted one, bit for bit, and says where it resumed."""
    cfg = small(sigma=1e-3)
    path = tmp_path / "ckpt.npz"
    saves = []
    original = train._save_checkpoint

    def interrupted(p, c, state):
        original(p, c, state)
        saves.append(state["done"])
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train, "CHECKPOINT_SECONDS", 0.0)
    monkeypatch.setattr(train, "_save_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.run(cfg, progress=False, checkpoint=path)
    monkeypatch.setattr(train, "_save_checkpoint", original)
    assert path.is_file() and saves == [10, 20, 20]  # the interrupt came during the second save: saved again
    resumed = train.run(cfg, progress=False, checkpoint=path)
    straight = train.run(cfg, progress=False)
    np.testing.assert_array_equal(resumed.eps.values, straight.eps.values)
    np.testing.assert_array_equal(resumed.theta.values, straight.theta.values)
    assert resumed.attrs["resumed_from_step"] == 20 and "resumed_from_step" not in straight.attrs
    assert not path.exists()


def test_an_interrupt_saves_the_steps_done_and_checkpoints_are_rare(tmp_path, monkeypatch):
    """With the default interval no chunk is saved during a short run, but Ctrl-C writes the steps done so far; a
    corrupt checkpoint is one clear error (no pickle)."""
    cfg = small()
    path = tmp_path / "ckpt.npz"
    saves, chunks = [], []
    monkeypatch.setattr(train, "_save_checkpoint", lambda p, c, state: saves.append(state["done"]))
    original = train._train_chunks

    def stop_after_two(bounds, state, *args):
        advance = args[-1]

        def advance_then_stop(hi):
            advance(hi)
            chunks.append(hi)
            if len(chunks) == 2:
                raise KeyboardInterrupt

        original(bounds, state, *args[:-1], advance_then_stop)

    monkeypatch.setattr(train, "_train_chunks", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        train.run(cfg, progress=False, checkpoint=path)
    assert saves == [20]
    path.write_bytes(b"not an archive")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="corrupt or not a qntk checkpoint"):
        train.run(cfg, progress=False, checkpoint=path)
    with pytest.raises(ValueError, match="different configuration"):
        train._save_checkpoint(path, cfg, {"done": 0, "thetas": np.zeros(1), "snapshots": [np.zeros(1)],
                                           "snapshot_steps": [0], "records": {}})
        train.run(small(eta=0.5), progress=False, checkpoint=path)


def test_netcdf_round_trip_keeps_config_seed_versions(tmp_path):
    ds = train.run(small(), progress=False)
    path = train.save(ds, tmp_path / "run.nc")
    back = xr.open_dataset(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.eps.values, ds.eps.values)
    assert json.loads(back.attrs["config"])["eta"] == 0.02 and back.attrs["seed"] == 0
    assert "jax" in json.loads(back.attrs["versions"])
    back.close()


def test_supervised_and_linear_losses():
    data = states.orthogonal_classification(2, 2, seed=0)
    ds = train.run(small(model=Model("rpa", 2, 16, "ZI", data=data)), progress=False)
    assert ds.eps.shape == (31, 1, 3, 2) and ds.K.shape == (31, 1, 3, 2, 2)
    kmat = ds.K.values[0, 0, 0]
    assert np.allclose(kmat, kmat.T) and np.linalg.eigvalsh(kmat).min() > -1e-12
    assert np.all(ds.loss.values[-1] < ds.loss.values[0])
    lin = train.run(small(loss="linear"), progress=False)
    assert np.all(lin.loss.values[-1] < lin.loss.values[0])


@pytest.mark.parametrize(
    "kw, words",
    [({"eta": 0.0}, "eta"), ({"steps": 0}, "steps"), ({"loss": "hinge"}, "unknown loss"), ({"sigma": -1.0}, "sigma"),
     ({"shots": 0}, "shots"), ({"loss": "supervised"}, "data set"), ({"circuits": 0}, "circuits")],
)
def test_bad_config(kw, words):
    with pytest.raises(ValueError, match=words):
        small(**kw)


@pytest.mark.parametrize(("labels", "phase"), [((-2.0, 0.3), "mixed-frozen"), ((-0.15, 0.3), "frozen-kernel")])
def test_supervised_run_on_orthonormal_states_reports_the_several_data_class(labels, phase):
    """Two basis states, O = Z_1 + Z_2 / 2 (spectrum -1.5, -0.5, 0.5, 1.5): the class predicted from the
    model alone (qntk.theory.several_data) is the one measured on the run, in the summary."""
    from qntk.models.states import Dataset

    data = Dataset(states=np.stack([states.basis_state(2, 0), states.basis_state(2, 1)]), labels=labels, name="basis")
    model = Model("rpa", 2, 16, "1.0*ZI + 0.5*IZ", data=data)
    s = train.summarize(train.run(train.TrainConfig(model, eta=0.1, steps=1000, samples=4), progress=False))
    assert s["phase_predicted"] == phase and s["phase_measured"] == phase
    assert json.loads(json.dumps(s))["phase_prediction"]["types"] == list(s["phase_measurement"]["types"])


def test_supercritical_learning_rate_is_flagged_and_the_theory_left_out():
    """eta above 2/K̄ (and above 2/lambda_max of the runs' own K(0)): the run keeps every step, the lazy theory
    columns are left out, and the warnings say why; non-finite values and a growing loss are flagged with the step."""
    ds = train.run(small(eta=10.0, steps=10), progress=False)
    summary = train.summarize(ds)
    assert "eps_theory" not in ds and ds.sizes["step"] == 11
    assert any("critical learning rate 2/K" in w and "theory columns are left out" in w for w in summary["warnings"])
    assert any("2/lambda_max(K(0)) for 100% of the runs" in w for w in summary["warnings"])
    assert train.summarize(train.run(small(), progress=False))["warnings"] == []
    records = {"K": np.ones((4, 1, 2, 1, 1)), "eps": np.zeros((4, 1, 2, 1)), "loss": np.array([1.0, 2.0, 3.0, 4.0])[:, None, None]
               * np.ones((1, 1, 2))}
    records["eps"][2:, 0, 1] = np.nan
    found = train._run_warnings(small(eta=0.1), records)
    assert any("non-finite residuals from step 2" in w for w in found) and any("grew from 1 to 4" in w for w in found)


def test_a_run_too_short_to_read_the_regime_still_reports():
    summary = train.summarize(train.run(small(steps=3, snapshot_every=3), progress=False))
    assert summary["regime_measured"] is None and "need at least 3" in summary["regime_measurement"]["note"]
