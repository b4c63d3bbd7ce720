"""The qntk command line: JSON output, TOML configuration, and one-line errors."""

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import qntk, qntk_process

SMALL = ["--qubits", "2", "--layers", "4", "--samples", "8", "--no-theory"]


@pytest.fixture
def qntk_here():
    """``qntk(*args)`` in this process as ``(exit status, stdout, stderr)``."""

    def run(*args: str) -> tuple[int, str, str]:
        out = qntk(*args)
        return out.returncode, out.stdout, out.stderr

    return run


def test_kernel_json_has_the_documented_keys():
    out = qntk("kernel", *SMALL, "--circuits", "2", "--target", "-1", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in ("K_mean", "K_std", "K_sem", "mu_mean", "mu_std", "mu_sem", "lambda_mean", "zeta_mean", "n_samples"):
        assert key in result
    assert result["n_samples"] == 16
    assert result["config"]["model"]["target"] == -1.0
    assert result["K_mean"] > 0
    assert 0 <= result["compile_time_s"] <= result["time_s"] <= result["wall_time_s"]


def test_toml_config_and_flag_override(tmp_path):
    cfg = tmp_path / "model.toml"
    cfg.write_text('samples = 6\nseed = 3\n[model]\nansatz = "hea"\nqubits = 2\nlayers = 1\nobservable = "ZI"\n')
    out = qntk("kernel", "--config", str(cfg), "--observable", "XX", "--no-theory", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["config"]["model"]["ansatz"] == "hea"
    assert result["config"]["model"]["observable"] == "XX"
    assert result["n_samples"] == 6 and result["seed"] == 3


@pytest.mark.parametrize(
    "args, words",
    [
        (["kernel", "--ansatz", "foo"], "unknown ansatz"),
        (["kernel", "--observable", "0.5*XQ"], "malformed"),
        (["kernel", "--layers", "0"], "n_layers"),
        (["kernel", "--qubits", "2", "--observable", "xxz:K=2"], "unknown parameter"),
        (["kernel", "--qubits", "2", "--observable", "XXX"], "acts on 3 qubits"),
        (["kernel", "--ansatz", "hea", "--circuits", "3"], "not random"),
        (["kernel", "--config", "missing.toml"], "does not exist"),
        (["bench", "--workload", "nope"], "unknown workload"),
        (["diagnose", "--split", "odd"], "split"),
        (["diagnose", "--n-train", "20"], "no test point"),
        (["kernel", "--qubits", "2", "--observable", "II"], "multiple of the identity"),
        (["kernel", "--observable", "heisenberg"], "unknown observable 'heisenberg': choose one of xxz"),
        (["kernel", "--seed", "99999999999999999999999"], "at most 2^63 - 1"),
        (["kernel", "--seed", "-1"], "seed must be an integer >= 0"),
        (["kernel", "--config", "."], "is a directory"),
        (["kernel", "--samples", "abc"], "Invalid value for '--samples'"),
        (["kernel", "--bogus", "1"], "No such option: --bogus"),
        (["kernl"], "Did you mean 'kernel'?"),
        (["train", "--eta"], "requires an argument"),
    ],
)
def test_bad_input_is_one_line_and_nonzero_exit(args, words, qntk_here):
    code, stdout, stderr = qntk_here(*args)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qntk: error:") and words in lines[0]
    assert "Traceback" not in stderr and stdout == ""


def test_bad_input_in_a_fresh_process_is_one_line():
    out = qntk_process("kernel", "--observable", "heisenberg")
    assert out.returncode == 2 and out.stdout == "" and out.stderr.startswith("qntk: error: unknown observable")
    assert len(out.stderr.strip().splitlines()) == 1


def test_same_seed_same_numbers():
    a = json.loads(qntk("kernel", *SMALL, "--seed", "5", "--json").stdout)
    b = json.loads(qntk("kernel", *SMALL, "--seed", "5", "--json").stdout)
    c = json.loads(qntk("kernel", *SMALL, "--seed", "6", "--json").stdout)
    assert a["K_mean"] == b["K_mean"] and a["mu_mean"] == b["mu_mean"]
    assert a["K_mean"] != c["K_mean"]


def test_out_file_records_config_seed_and_versions(tmp_path):
    path = tmp_path / "k.json"
    out = qntk_process("kernel", *SMALL, "--out", str(path))
    assert out.returncode == 0, out.stderr
    saved = json.loads(path.read_text())
    assert saved["seed"] == 0 and "jax" in saved["versions"] and saved["config"]["samples"] == 8


def test_help_for_every_command(qntk_here):
    for cmd in ([], ["kernel"], ["train"], ["predict"], ["bench"], ["reproduce"], ["diagnose"]):
        code, stdout, _ = qntk_here(*cmd, "--help")
        assert code == 0 and "Usage" in stdout


def test_train_writes_netcdf_and_json_summary(tmp_path):
    import xarray as xr

    path = tmp_path / "run.nc"
    out = qntk("train", "--qubits", "2", "--layers", "8", "--target", "-3", "--eta", "0.01", "--steps", "20",
               "--samples", "3", "--json", "--out", str(path))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["rows"][0]["step"] == 0 and summary["rows"][-1]["step"] == 20
    assert summary["final_loss_mean"] < summary["rows"][0]["loss_mean"]
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds.eps.shape == (21, 1, 3, 1)
    # the quadratic loss carries the theory of the mean residual, from the same Haar averages as predict
    th = summary["theory"]
    assert th["eps_mean"] == pytest.approx(3.0) and th["decay_rate"] == pytest.approx(0.01 * th["K_mean"])
    first, last = summary["rows"][0], summary["rows"][-1]
    assert first["eps_theory"] == pytest.approx(3.0) and first["eps_eq10"] == pytest.approx(3.0)
    assert last["eps_eq10"] == pytest.approx(3.0 * np.exp(-20 * th["decay_rate"]))
    assert 0 < last["eps_theory"] < first["eps_theory"] and last["eps_sem"] > 0
    # the time waited, and what it went to
    t = summary["times"]
    assert min(t.values()) >= 0 and t["theory_s"] + t["compile_s"] + t["simulation_s"] <= t["wall_s"]


def test_train_supervised_data_sets():
    out = qntk("train", "--qubits", "2", "--layers", "6", "--data", "orthogonal:m=4,seed=1", "--eta", "0.01",
               "--steps", "5", "--samples", "2", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["config"]["loss"] == "supervised" and summary["config"]["model"]["data"] == "orthogonal:m=4,seed=1"
    assert "theory" not in summary
    first = summary["rows"][0]  # the frozen-QNTK prediction (003) starts at the run's own mean residuals
    assert first["eps_frozen_rms"] == pytest.approx(first["eps_rms"], rel=1e-12)
    # 002's checks on input states: the spectrum of M(theta(t)) and, for a +-1 measurement, the sublinear bound
    assert summary["spectrum_drift"] < 1e-12 and "sublinear_bound" not in summary  # XXZ is not of Pauli type
    out = qntk("train", "--ansatz", "periodic", "--qubits", "3", "--layers", "6", "--observable", "pauli:label=ZII",
               "--data", "orthogonal:m=4", "--eta", "0.01", "--steps", "10", "--samples", "2", "--json")
    bound = json.loads(out.stdout)["sublinear_bound"]
    assert bound["holds"] and bound["c0"] > 0 and bound["c1"] > 0
    out = qntk("train", "--ansatz", "reuploading", "--qubits", "2", "--layers", "2", "--data", "tfim:points=5",
               "--eta", "0.05", "--steps", "3", "--samples", "2", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"][-1]["eps_frozen_rms"] > 0
    for args, message in [(("--data", "tfim:points=5"), "encoding ansatz"), (("--data", "moons"), "unknown data set"),
                          (("--data", "orthogonal:m=3"), "even"), (("--qubits", "2", "--data", "orthogonal:m=8"), "exceeds")]:
        bad = qntk("train", "--steps", "2", *args)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_predict_json_and_kernel_theory_block():
    out = qntk("predict", "--qubits", "2", "--layers", "8", "--target", "-2", "--eta", "1e-3", "--sigma", "1e-3",
               "--precision", "0.01", "--json")
    assert out.returncode == 0, out.stderr
    p = json.loads(out.stdout)
    for key in ("K_mean", "K_std", "mu_mean", "mu_std", "decay_rate", "L_star", "concentration", "noise_plateau_eps2",
                "steps_to_precision"):
        assert key in p
    k = json.loads(qntk("kernel", *SMALL[:-1], "--json").stdout)
    assert set(("K_mean", "K_std", "mu_mean", "mu_std")) <= set(k["theory"])
    assert qntk("predict", "--sigma", "0.1").returncode == 2


@pytest.mark.parametrize(("target", "regime", "R"), [(-3.0, "frozen-kernel", 0.0), (-6.0, "critical", 0.0),
                                                     (-8.0, "frozen-error", 2.0), (5.0, "frozen-error", -1.0)])
def test_predict_regime_and_late_time_keys(target, regime, R):
    """XXZ, n = 2, J = 2: spectrum [-6, 4] (open chain, as 004's figures)."""
    out = qntk("predict", "--qubits", "2", "--layers", "8", "--target", str(target), "--json")
    assert out.returncode == 0, out.stderr
    assert "Infinity" not in out.stdout and "NaN" not in out.stdout  # standard JSON
    p = json.loads(out.stdout)
    assert (p["regime"], p["O_min"], p["O_max"], p["R"]) == (regime, pytest.approx(-6.0), pytest.approx(4.0), pytest.approx(R))
    for key in ("K_inf", "lambda_inf", "zeta_inf", "late_time_state"):
        assert key in p
    if regime != "frozen-kernel":
        assert p["K_inf"] == 0.0 and p["lambda_inf"] != 0.0


def test_predict_recommends_a_target_below_the_ground_state():
    """004's speed-up by a target below O_min (Fig. 7), capped below the late-time stability limit."""
    out = qntk("predict", "--qubits", "2", "--layers", "8", "--target", "-6", "--eta", "0.01", "--recommend-target", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)["recommended_target"]
    assert r["O_min"] == pytest.approx(-6.0) and r["target"] == pytest.approx(r["O_min"] - r["R"])
    assert 0 < r["R"] < r["R_max"] == pytest.approx(2 / (0.01 * r["h_top"]))
    assert r["speedup_linear"] > 1 and r["speedup_critical"] > 1
    bad = qntk("predict", "--qubits", "2", "--layers", "8", "--recommend-target")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--eta" in bad.stderr


@pytest.mark.parametrize(("target", "regime"), [(-3.0, "frozen-kernel"), (-6.0, "critical"), (-8.0, "frozen-error")])
def test_train_predicted_and_measured_regimes_agree(target, regime):
    """004's three regimes on an RPA with n = 2, L = 16: predicted from the spectrum, measured on the run."""
    out = qntk("train", "--qubits", "2", "--layers", "16", "--target", str(target), "--eta", "0.01", "--steps", "600",
               "--samples", "8", "--json")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["regime_predicted"] == regime
    assert s["regime_measured"] == regime and s["regime_measurement"]["resolved"]
    assert all("eps_lv" in r and "K_lv" in r for r in s["rows"])
    if regime == "critical":  # K ~ 1/t: the LV line of C = 0 from K(0) = K-bar tracks the simulated kernel
        assert s["rows"][-1]["K_lv"] == pytest.approx(s["rows"][-1]["K_mean"], rel=0.25)


def test_diagnose_runs_the_builtin_example_with_the_documented_keys():
    out = qntk("diagnose", "--json", "--samples", "20")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    for key in ("lambda_min", "lambda_max", "condition_number", "eta_crit", "tau", "r2_train", "r2_test"):
        assert isinstance(r[key], float), key
    assert r["config"]["model"]["ansatz"] == "reuploading" and r["n_train"] == r["n_test"] == 10
    for key in ("K_spread_lazy", "K_trial_change_lazy", "dqntk_change_lazy", "lazy", "verdict"):
        assert key in r["laziness"]
    assert r["eta_crit"] == pytest.approx(2 / r["lambda_max"]) and r["r2_test"] > 0.9


def test_model_file_for_kernel_train_and_diagnose():
    """--model FILE.py works wherever a built-in model does, with the native HEA's numbers (the Qiskit file here; the
    PennyLane one takes the same path, tests/models/test_interop.py)."""
    pytest.importorskip("qiskit")
    path = str(Path(__file__).parent / "models" / "model_files" / "hea_qiskit.py")
    runs = {cmd: qntk(cmd, "--model", path, "--target", "0.2", "--samples", "6", "--json", *extra)
            for cmd, extra in (("kernel", ("--no-theory",)), ("train", ("--steps", "8", "--no-theory")),
                               ("diagnose", ("--steps", "3", "--shots", "1000", "--no-theory")))}
    native = qntk("kernel", "--ansatz", "hea", "--qubits", "3", "--layers", "2", "--observable", "ZZI + 0.5*IIX",
                  "--target", "0.2", "--samples", "6", "--json", "--no-theory")
    for out in (*runs.values(), native):
        assert out.returncode == 0, out.stderr
    k, ref = json.loads(runs["kernel"].stdout), json.loads(native.stdout)
    assert k["config"]["model"]["ansatz"] == "file" and k["K_mean"] == pytest.approx(ref["K_mean"], abs=1e-12)
    d = json.loads(runs["diagnose"].stdout)
    assert d["task"] == "optimization" and d["shot_noise"]["shots"] == 1000
    assert 0 < d["shot_noise"]["rms_floor"] <= d["shot_noise"]["rms_floor_upper"]
    bad = qntk("kernel", "--model", path, "--qubits", "2")
    assert bad.returncode == 2 and "drop --ansatz" in bad.stderr


def test_unwritable_outputs_are_refused_before_any_work(tmp_path, qntk_here):
    """--out onto a directory, under a file, or (reproduce) onto a file; --html and --checkpoint likewise: one line,
    exit 2, and nothing written."""
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep")
    cases = [(("kernel", "--out", str(tmp_path)), "is a directory"),
             (("kernel", "--out", str(a_file / "k.json")), "is a file"),
             (("train", "--checkpoint", str(tmp_path)), "is a directory"),
             (("diagnose", "--html", str(tmp_path)), "is a directory"),
             (("reproduce", "000-fig1", "--quick", "--out", str(a_file)), "is a file")]
    for args, words in cases:
        code, _, stderr = qntk_here(*args)
        lines = stderr.strip().splitlines()
        assert code == 2 and len(lines) == 1 and words in lines[0], (args, stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"] and a_file.read_text() == "keep"


def test_runs_too_large_for_the_machine_are_refused_with_the_estimate(qntk_here):
    """Memory is estimated from the model before anything is allocated: dense Haar gates of a large RPA, a huge
    number of samples, a long large training; the refusal gives the estimate and what to do."""
    for args, words in ((("kernel", "--qubits", "16", "--layers", "2", "--no-theory"), "dense 65536 x 65536"),
                        (("kernel", "--samples", "10000000000"), "use fewer samples"),
                        (("train", "--samples", "100000", "--steps", "100000"), "use fewer steps")):
        code, _, stderr = qntk_here(*args)
        lines = stderr.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "GiB, more than 80% of this machine's" in lines[0], stderr
        assert words in lines[0]


def test_the_theory_at_many_qubits_comes_from_pauli_sums_or_says_why_not():
    """Above 10 qubits the Haar averages are taken from Pauli sums (a local HEA at 11 qubits: K beside the
    simulation, mu_std left out with a note); a model without Pauli generators gets one warning before the work
    and the simulation still runs, while predict, which is only theory, refuses in one line."""
    out = qntk("kernel", "--ansatz", "hea", "--qubits", "11", "--layers", "1", "--samples", "2", "--json")
    assert out.returncode == 0, out.stderr
    k = json.loads(out.stdout)
    assert k["warnings"] == [] and k["theory"]["K_mean"] > 0 and k["theory"]["mu_std"] is None
    assert "Pauli sums" in k["theory"]["note"]
    bad = qntk("predict", "--ansatz", "periodic", "--qubits", "11", "--layers", "1", "--observable", "pauli:label=Z" + "I" * 10)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Pauli-string generators" in bad.stderr


def test_a_long_build_is_announced_in_one_line(monkeypatch):
    """Dense ansatze whose QR decompositions take long say so, with the estimate, before the wait."""
    import warnings

    from qntk.models import ansatze
    from qntk.models._spec import QntkWarning

    monkeypatch.setattr(ansatze, "DENSE_SECONDS_PER_D3", 1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ansatze.Ansatz("rpa", 3, 4)
    assert [w.category for w in caught] == [QntkWarning] and "min per circuit" in str(caught[0].message)


@pytest.mark.parametrize("terminal", [True, False])
def test_tables_never_cut_a_number_at_80_columns(terminal, qntk_here, monkeypatch):
    """On an 80-column terminal the training and reproduction tables fit and no cell is cut (no ellipsis);
    piped, they print at their natural width in plain ASCII."""
    from rich.cells import cell_len
    monkeypatch.setenv("COLUMNS", "80")
    if terminal:
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.delenv("FORCE_COLOR", raising=False)
    for args in (("train", "--steps", "20", "--samples", "4"),
                 ("reproduce", "000-fig1", "--quick", "--out", str(Path(__import__("tempfile").mkdtemp())))):
        code, stdout, _ = qntk_here(*args)
        text = __import__("re").sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stdout)
        assert code == 0 and "…" not in text, text
        rows = [line for line in text.splitlines() if line.startswith(("│", "|"))]
        if terminal:  # widths on screen (K̄ is two characters in one cell)
            assert rows and all(cell_len(line) <= 80 for line in rows), text
        else:
            assert rows and "+--" in text
