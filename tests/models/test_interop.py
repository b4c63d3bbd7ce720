"""PennyLane and Qiskit circuits converted to qntk's layered form (qntk.models.interop): the built-in HEA written in
each framework gives the native K, mu and eps to float64 tolerance; gates without layered form, missing extras
and malformed files are refused with one clear message."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qntk import kernels
from qntk.models import Model, ansatze, interop, observables, states

FILES = Path(__file__).parent / "model_files"
EXACT = 1e-12
pytest.importorskip("pennylane")
pytest.importorskip("qiskit")


@pytest.mark.parametrize("name", ["hea_pennylane.py", "hea_qiskit.py"])
def test_builtin_hea_written_in_a_framework_has_the_native_kernel(name):
    model = Model.from_file(FILES / name, target=0.2)
    assert (model.ansatz, model.n_qubits, model.n_layers) == ("file", 3, 12)
    assert model.observable == "1.0*ZZI + 0.5*IIX"
    native = kernels.qntk_fn(ansatze.hea(3, 2), observables.parse_observable("ZZI + 0.5*IIX", 3), 0.2)
    converted = kernels.qntk_fn(model)
    for theta in np.random.default_rng(1).uniform(0, 2 * np.pi, (4, 12)):
        a, b = converted(jnp.asarray(theta)), native(jnp.asarray(theta))
        for field in ("eps", "K", "mu"):
            assert float(getattr(a, field)) == pytest.approx(float(getattr(b, field)), abs=EXACT)


def test_qubit_order_and_fixed_gates_against_the_frameworks():
    """A lone Z on one qubit, fixed gates before the first rotation (W_in) and between rotations, a constant angle."""
    import pennylane as qml
    import qiskit
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp

    qc = qiskit.QuantumCircuit(3)
    a, b = Parameter("a"), Parameter("b")
    qc.h(2)
    qc.ry(a, 0)
    qc.rx(0.3, 1)
    qc.cx(0, 2)
    qc.rzz(b, 1, 2)
    imp = interop.from_qiskit(qc, SparsePauliOp.from_list([("ZII", 1.0)]))
    assert imp.observable == "1.0*IIZ" and imp.circuit.w_in is not None and imp.circuit.n_layers == 2

    dev = qml.device("default.qubit", wires=["a", "b"])

    @qml.qnode(dev, interface="jax")
    def qnode(theta):
        qml.Hadamard("b")
        qml.RX(theta[1], "a")
        qml.IsingZZ(theta[0], ["a", "b"])
        return qml.expval(qml.PauliY("b"))

    imp = interop.from_pennylane(qnode, 2)
    assert imp.observable == "1.0*IY" and [int(p) for p in imp.circuit.param_index] == [1, 0]

    @qml.qnode(dev, interface="jax")
    def with_matrix_gate(theta):  # a fixed gate given by its matrix (one parameter with 16 entries)
        qml.RY(theta[0], "a")
        qml.QubitUnitary(np.kron(np.eye(2), [[0, 1], [1, 0]]), wires=["a", "b"])
        qml.RZ(theta[1], "b")
        return qml.expval(qml.PauliZ("a") @ qml.PauliX("b"))

    imp = interop.from_pennylane(with_matrix_gate, 2)
    assert imp.path == "layered" and imp.circuit.n_layers == 2


def _finite_difference_check(model, n_params, seed):
    """eps, K = |grad|^2 and mu = g^T H g of the function path against central finite differences of its function."""
    fn = jax.jit(model.circuit().fn)
    f = lambda x: float(fn(jnp.asarray(x)))  # noqa: E731
    kernel_fn = jax.jit(kernels.qntk_fn(model))
    h, e = 1e-4, np.eye(n_params) * 1e-4
    for theta in np.random.default_rng(seed).uniform(0, 2 * np.pi, (2, n_params)):
        k = kernel_fn(jnp.asarray(theta))
        grad = np.array([(f(theta + e[i]) - f(theta - e[i])) / (2 * h) for i in range(n_params)])
        hess = np.array([[(f(theta + e[i] + e[j]) - f(theta + e[i] - e[j]) - f(theta - e[i] + e[j])
                           + f(theta - e[i] - e[j])) / (4 * h * h) for j in range(n_params)] for i in range(n_params)])
        assert float(k.eps) == pytest.approx(f(theta) - model.target, abs=EXACT)
        assert float(k.K) == pytest.approx(grad @ grad, rel=1e-6)
        assert float(k.mu) == pytest.approx(grad @ hess @ grad, rel=1e-4, abs=1e-6)


def test_pennylane_without_layered_form_is_differentiated_directly_and_matches_finite_differences():
    """Rot, CRX and a doubled angle: the QNode itself, differentiated by JAX; K = |grad|^2 and mu = g^T H g against
    central finite differences of the QNode, and training runs on it (no Haar theory: it needs layers)."""
    from qntk import train

    model = Model.from_file(FILES / "rot_pennylane.py", target=0.1)
    assert model.evaluation == "function" and model.n_layers == 4 and model.observable == "1.0*ZZ + 0.3*IX"
    _finite_difference_check(model, 4, seed=2)
    ds = train.run(train.TrainConfig(model, eta=0.1, steps=5, samples=3), progress=False)
    assert "eps_theory" not in ds and ds.loss.values[-1].mean() < ds.loss.values[0].mean()
    with pytest.raises(ValueError, match="layered form"):
        train.TrainConfig(model, shots=100)


def test_qiskit_without_layered_form_is_transpiled_into_rotations_and_matches_finite_differences():
    """U, CRX, a controlled phase, a scaled and shifted angle and a parameter shared between gates: the circuit
    transpiled into rx, ry, rz and cx with affine angles, differentiated by JAX; its value is Qiskit's own at
    random angles, and K and mu match finite differences."""
    import qiskit
    from qiskit.quantum_info import SparsePauliOp, Statevector

    model = Model.from_file(FILES / "u_qiskit.py", target=-0.2)
    assert model.evaluation == "function" and model.n_layers == 3
    names = interop.load(FILES / "u_qiskit.py")
    assert names.framework == "qiskit" and names.path == "function"
    spec = __import__("runpy").run_path(str(FILES / "u_qiskit.py"))
    qc, obs = spec["circuit"], spec["observable"]
    fn = jax.jit(model.circuit().fn)
    for theta in np.random.default_rng(3).uniform(0, 2 * np.pi, (3, 3)):
        bound = qc.assign_parameters(dict(zip(qc.parameters, theta)))
        assert float(fn(jnp.asarray(theta))) == pytest.approx(
            float(np.real(Statevector(bound).expectation_value(obs))), abs=EXACT)
    _finite_difference_check(model, 3, seed=4)
    assert isinstance(qc, qiskit.QuantumCircuit) and isinstance(obs, SparsePauliOp)


@pytest.mark.parametrize("name", ["reuploading_pennylane.py", "reuploading_qiskit.py"])
def test_supervised_model_file_has_the_native_reuploading_kernel_and_diagnosis(name):
    """A model file that encodes data features (qnode(theta, x) with n_features; Qiskit Parameters named as
    features) is converted to the layered form, its encoding rotations as layers that encode the feature with
    their scale: it is the built-in re-uploading model, the same residual and gradient at every data point to
    float64 tolerance, and so the same initialization of a diagnosis (outputs and QNTK matrices) from the same seed."""
    from qntk.experiments import diagnose

    data = "tfim:points=6,h_min=-2,h_max=2"
    native = Model("reuploading", 2, 2, "ZI", data=data, options={"encoding_scale": 0.5, "block": "hea"})
    model = Model.from_file(FILES / name, data=data)
    assert model.evaluation == "layered" and model.circuit().n_features == 1
    assert np.allclose(sorted(set(np.asarray(model.circuit().feature_scale).tolist())), [0.0, 0.5])
    a, b = kernels.grad_fn(native.circuit(), native.operator), kernels.grad_fn(model.circuit(), model.operator)
    theta = jnp.asarray(np.random.default_rng(5).uniform(0, 2 * np.pi, 12))
    for x in model.dataset.features:
        (va, ga), (vb, gb) = a(theta, None, jnp.asarray(x)), b(theta, None, jnp.asarray(x))
        assert float(va) == pytest.approx(float(vb), abs=EXACT) and np.allclose(ga, gb, rtol=0, atol=EXACT)
    ours, theirs = (diagnose.initial_kernels(diagnose.DiagnoseConfig(m, samples=3)) for m in (model, native))
    for key in ("f0", "K"):
        assert np.allclose(ours[key], theirs[key], rtol=0, atol=1e-11), key
    with pytest.raises(ValueError, match="encodes data"):
        kernels.residual_fn(model.circuit(), model.operator)(theta)
    two = states.Dataset(features=np.zeros((4, 2)), labels=np.zeros(4), name="two features")
    with pytest.raises(ValueError, match="takes 1"):
        Model.from_file(FILES / name, data=two)


def test_the_shipped_pennylane_example_is_the_built_in_diagnose_model():
    """examples/pennylane_reuploading.py (a 64-parameter re-uploading QNode) converts to the layered form and is the
    model of qntk diagnose's built-in example: the same outputs and gradients at every data point."""
    from qntk.experiments import diagnose

    native = diagnose.EXAMPLE
    model = Model.from_file(Path(__file__).parents[2] / "examples" / "pennylane_reuploading.py", data=native.data)
    assert model.evaluation == "layered" and model.circuit().n_params == 64
    a, b = kernels.grad_fn(native.circuit(), native.operator), kernels.grad_fn(model.circuit(), model.operator)
    theta = jnp.asarray(np.random.default_rng(2).uniform(0, 2 * np.pi, 64))
    for x in model.dataset.features[::4]:
        (va, ga), (vb, gb) = a(theta, None, jnp.asarray(x)), b(theta, None, jnp.asarray(x))
        assert float(va) == pytest.approx(float(vb), abs=EXACT) and np.allclose(ga, gb, rtol=0, atol=EXACT)


@pytest.mark.parametrize("encoding", ["square", "mixed"])
def test_pennylane_encoding_that_is_not_a_scaled_feature_is_a_function(encoding):
    """Only rotations by a theta entry or by a x_f become layers: an angle x^2 (linear at no second point) or
    theta + x keeps the QNode on the function path, with the same values."""
    import pennylane as qml

    @qml.qnode(qml.device("default.qubit", wires=1), interface="jax")
    def qnode(theta, x):
        qml.RX(x[0] ** 2 if encoding == "square" else theta[0] + x[0], wires=0)
        qml.RY(theta[1], wires=0)
        return qml.expval(qml.PauliZ(0))

    imported = interop.from_pennylane(qnode, 2, 1)
    assert imported.path == "function"
    theta, x = jnp.asarray([0.3, 1.1]), jnp.asarray([0.7])
    assert float(imported.circuit.fn(theta, x)) == pytest.approx(float(qnode(theta, x)), abs=EXACT)


def test_qiskit_angle_not_affine_is_named():
    import qiskit
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp

    qc = qiskit.QuantumCircuit(2)
    a = Parameter("a")
    qc.rx(a.sin(), 0)
    with pytest.raises(ValueError, match=r"rx\(sin\(a\)\).*not affine"):
        interop.from_qiskit(qc, SparsePauliOp.from_list([("ZZ", 1.0)]))


def test_bad_model_files_and_missing_extras(tmp_path, monkeypatch):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="must define qnode and n_params"):
        interop.load(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ValueError, match="RuntimeError: boom"):
        interop.load(broken)
    with pytest.raises(ValueError, match="does not exist"):
        interop.load(tmp_path / "missing.py")
    monkeypatch.setitem(sys.modules, "qiskit", None)
    with pytest.raises(ValueError, match="pip install qiskit"):
        interop.from_qiskit(object(), object())
    needs_qiskit = tmp_path / "needs_qiskit.py"
    needs_qiskit.write_text("import qiskit\n")
    with pytest.raises(ValueError, match="needs qiskit, which is not installed: run `pip install qiskit`"):
        interop.load(needs_qiskit)
