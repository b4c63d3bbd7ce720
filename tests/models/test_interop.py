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
from qntk.models import Model, ansatze, interop, observables

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


def test_pennylane_without_layered_form_is_differentiated_directly_and_matches_finite_differences():
    """Rot, CRX and a doubled angle: the QNode itself, differentiated by JAX; K = |grad|^2 and mu = g^T H g against
    central finite differences of the QNode, and training runs on it (no Haar theory: it needs layers)."""
    from qntk import train

    model = Model.from_file(FILES / "rot_pennylane.py", target=0.1)
    assert model.evaluation == "function" and model.n_layers == 4 and model.observable == "1.0*ZZ + 0.3*IX"
    qnode = jax.jit(model.circuit().fn)
    f = lambda x: float(qnode(jnp.asarray(x)))  # noqa: E731
    kernel_fn = jax.jit(kernels.qntk_fn(model))
    h = 1e-4
    for theta in np.random.default_rng(2).uniform(0, 2 * np.pi, (2, 4)):
        k = kernel_fn(jnp.asarray(theta))
        e = np.eye(4) * h
        grad = np.array([(f(theta + e[i]) - f(theta - e[i])) / (2 * h) for i in range(4)])
        hess = np.array([[(f(theta + e[i] + e[j]) - f(theta + e[i] - e[j]) - f(theta - e[i] + e[j]) + f(theta - e[i] - e[j]))
                          / (4 * h * h) for j in range(4)] for i in range(4)])
        assert float(k.eps) == pytest.approx(f(theta) - 0.1, abs=EXACT)
        assert float(k.K) == pytest.approx(grad @ grad, rel=1e-6)
        assert float(k.mu) == pytest.approx(grad @ hess @ grad, rel=1e-4, abs=1e-6)
    ds = train.run(train.TrainConfig(model, eta=0.1, steps=5, samples=3), progress=False)
    assert "eps_theory" not in ds and ds.loss.values[-1].mean() < ds.loss.values[0].mean()
    with pytest.raises(ValueError, match="layered form"):
        train.TrainConfig(model, shots=100)


@pytest.mark.parametrize("kind", ["crx", "scaled"])
def test_qiskit_gates_without_layered_form_are_named(kind):
    import qiskit
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp

    qc = qiskit.QuantumCircuit(2)
    a = Parameter("a")
    qc.crx(a, 0, 1) if kind == "crx" else qc.rx(2 * a, 0)
    with pytest.raises(ValueError, match="crx" if kind == "crx" else "rx"):
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
