"""Properties that hold for every input (Hypothesis draws the inputs): circuits are unitary, kernels are positive
semi-definite, residuals stay in the observable's range, Pauli expressions read back as written; and the command
line and the TOML loader answer any malformed input with one line and exit status 2, never a traceback."""

import string
import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cli_runner import qntk

from qntk import config, kernels
from qntk._sim import engine
from qntk.models import Model, observables, states

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LABELS = st.integers(1, 3).flatmap(lambda n: st.lists(st.text("IXYZ", min_size=n, max_size=n), min_size=1, max_size=4))
COEFS = st.floats(-5, 5, allow_nan=False).filter(lambda c: abs(c) > 1e-6)


@FAST
@given(LABELS, st.data())
def test_pauli_expressions_read_back_as_written(labels, data):
    coefs = data.draw(st.lists(COEFS, min_size=len(labels), max_size=len(labels)))
    expr = " ".join(f"{'-' if c < 0 else '+'} {abs(c)!r}*{lab}" for c, lab in zip(coefs, labels)).lstrip("+ ")
    obs = observables.pauli_sum(expr)
    again = observables.pauli_sum(str(obs))
    assert np.allclose(again.matrix(), obs.matrix(), rtol=0, atol=1e-12)
    assert np.allclose(obs.matrix(), obs.matrix().conj().T)


def _observables(n: int):
    return st.sampled_from(["xxz:J=2", "tfim:h=0.7", "Z" + "I" * (n - 1), f"0.5*X{'I' * (n - 1)} - 1.5*ZZ{'I' * (n - 2)}"])


MODELS = st.integers(2, 3).flatmap(lambda n: st.tuples(
    st.sampled_from(["rpa", "hea", "periodic", "hva"]), st.just(n), st.integers(1, 3), _observables(n),
    st.integers(0, 2**31)))


def _model(spec):
    ansatz, n, layers, obs, seed = spec
    return Model(ansatz, n, layers, obs), seed


@jax.jit
def _evaluate(circuit, observable, theta, inputs):
    """Output states of the inputs, eps and K at the zero state, and the kernel matrix over the inputs."""
    phi = engine.layer_angles(circuit, theta)
    out = jax.vmap(lambda s: engine.evolve(circuit, phi, s))(inputs)
    k = kernels.qntk_fn(circuit, observable, 0.0, mu=False)(theta)
    return out, k.eps, k.K, kernels.qntk_matrix_fn(circuit, [observable])(theta, inputs)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MODELS)
def test_circuits_are_unitary_kernels_are_psd_and_residuals_stay_in_range(spec):
    model, seed = _model(spec)
    circuit = model.circuit(seed=seed % 1000)
    theta = jnp.asarray(np.random.default_rng(seed).uniform(0, 2 * np.pi, circuit.n_params))
    inputs = jnp.asarray(states.orthogonal_states(model.n_qubits, 3, seed=seed % 1000))
    out, eps, k, matrix = (np.asarray(x) for x in _evaluate(circuit, model.operator, theta, inputs))
    assert np.allclose(out.conj() @ out.T, np.eye(3), atol=1e-12)  # unitary: inner products are kept
    o_min, o_max = model.operator.spectrum_extremes()
    assert o_min - 1e-12 <= float(eps) <= o_max + 1e-12 and float(k) >= 0.0
    assert np.allclose(matrix, matrix.T, atol=1e-12) and np.linalg.eigvalsh(matrix)[0] >= -1e-10


def _run_cli(*args: str) -> tuple[int, str, str]:
    out = qntk(*args)
    return out.returncode, out.stdout, out.stderr


JUNK = st.text(string.ascii_letters + string.digits + " -+*:=,.[]()'\"\\/_%$!", max_size=12)
NUMERIC_OPTIONS = ["--qubits", "--layers", "--samples", "--circuits", "--seed", "--target", "--scale"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["kernel", "train", "predict", "diagnose"]), st.sampled_from(NUMERIC_OPTIONS + ["--observable",
       "--ansatz", "--data", "--eta"]), JUNK)
def test_malformed_options_are_one_line_and_exit_2(command, option, value):
    """Any value for any option, with a run setting that is always invalid (so that nothing runs): one line on
    stderr, exit status 2, nothing on stdout."""
    stop = {"kernel": ("--samples", "0"), "train": ("--steps", "0"), "predict": ("--eta", "-1"),
            "diagnose": ("--samples", "1")}[command]
    if option == stop[0]:
        option = "--seed"
    code, stdout, stderr = _run_cli(command, option, value, *stop)
    lines = stderr.strip().splitlines()
    assert code == 2 and stdout == "" and len(lines) == 1 and lines[0].startswith("qntk: error:"), (stderr, stdout)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_the_toml_loader_reads_or_refuses_in_one_message(tmp_path_factory, text):
    """Any text: the flat settings (a [model] table merged in), or a ValueError that names the file."""
    path = tmp_path_factory.mktemp("toml") / "c.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        expected = tomllib.loads(path.read_text(encoding="utf-8", errors="surrogatepass"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        expected = None
    if expected is None or not isinstance(expected.get("model", {}), dict):
        with pytest.raises(ValueError, match=r"config file|\[model\] entry"):
            config.load_toml(path)
    else:
        model = expected.pop("model", {})
        assert config.load_toml(path) == {**expected, **model}


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(["samples", "seed", "qubits", "layers", "observable", "target", "ansatz",
                                        "unknown_key"]),
                       st.integers(-5, 5) | st.floats(allow_nan=True) | JUNK | st.booleans(), min_size=1, max_size=3))
def test_malformed_config_files_are_one_line_and_exit_2(tmp_path_factory, values):
    """A TOML file of wrong keys, types or values, with samples = 0 so that nothing runs."""
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    body = {**values, "samples": 0}
    lines = []
    for key, value in body.items():
        if isinstance(value, str):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, float) and not np.isfinite(value):
            value = "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
        lines.append(f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n")
    code, stdout, stderr = _run_cli("kernel", "--config", str(path))
    assert code == 2 and stdout == "" and len(stderr.strip().splitlines()) == 1, stderr
