"""Circuits from PennyLane and Qiskit, converted to qntk's layered form (the ``"file"`` ansatz, ``--model FILE.py``).

A model file is a Python file that defines either

* ``qnode``: a PennyLane QNode (JAX interface) whose first argument is the trainable parameter vector and which
  returns one expectation value of a Pauli sum, and ``n_params``, the length of that vector; or
* ``circuit``: a Qiskit ``QuantumCircuit`` whose ``Parameter`` objects are the trainable angles (in the order of
  ``circuit.parameters``), and ``observable``, a ``SparsePauliOp``.

For a supervised model (``--data``) the circuit also encodes a data point's features ``x``: the file defines
``n_features`` and ``qnode(theta, x)`` takes them as its second argument (PennyLane), or ``features``, the
circuit's Parameters that hold them, such as a ``ParameterVector`` (Qiskit). A rotation by ``a x_f`` becomes a
layer that encodes feature ``f`` with scale ``a``; any other use of the features makes the circuit a function
(below).

The circuit is converted to ``U = W_L exp(-i theta_L G_L / 2) ... W_1 exp(-i theta_1 G_1 / 2) W_in`` (the
frameworks' own convention, ``RY(t) = exp(-i t Y / 2)``, so ``s = 1/2``): every rotation about a Pauli string
(``RX``, ``RY``, ``RZ``, ``IsingXX/YY/ZZ`` or ``RXX/RYY/RZZ``, ``PauliRot``, ``MultiRZ``, and the phase gate,
an ``RZ`` up to a global phase) whose angle is one trainable parameter becomes a layer, and the fixed gates
between rotations are multiplied into the dense ``W_l``. The conversion is then checked: the converted circuit
must give the framework's own expectation value at random angles (to ``1e-9``), or it is refused. Qubit ``q``
of qntk is PennyLane's ``q``-th wire of the device and Qiskit's qubit ``q`` (Qiskit's little-endian labels
are reversed).

A circuit with other parametrized gates (a parameter scaled or shared inside an expression, ``Rot``, ``U3``,
controlled rotations) has no layered form. It is then evaluated as a function of its parameters, differentiated
by JAX (:class:`FunctionCircuit`, ``path = "function"``): a PennyLane QNode as it is; a Qiskit circuit transpiled
into ``rx``, ``ry``, ``rz`` and ``cx``, whose angles must be affine in the Parameters, simulated densely. The
kernel quantities and training work on that path, the Haar theory (which needs the layers' generators) does not.
:class:`Imported` records which path was taken.

Example:
    >>> import qiskit
    >>> from qiskit.circuit import Parameter
    >>> from qiskit.quantum_info import SparsePauliOp
    >>> qc = qiskit.QuantumCircuit(2)
    >>> a, b = Parameter("a"), Parameter("b")
    >>> _ = qc.ry(a, 0); _ = qc.cx(0, 1); _ = qc.rz(b, 1)
    >>> imp = from_qiskit(qc, SparsePauliOp.from_list([("ZI", 1.0)]))  # Z on qubit 1
    >>> imp.n_qubits, imp.circuit.n_params, imp.observable
    (2, 2, '1.0*IZ')
"""

from __future__ import annotations

import functools
import os
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from . import circuits as _c
from . import observables
from ._spec import check_int

#: Agreement required between the converted circuit and the framework's own expectation value.
CHECK_ATOL = 1e-9

_EXTRAS = {"pennylane": "pip install pennylane", "qiskit": "pip install qiskit"}


@dataclass(frozen=True, eq=False)
class FunctionCircuit:
    """A circuit without layered form, evaluated by differentiating a function of its parameters: ``fn(theta)``
    (``fn(theta, x)`` with ``n_features`` data features ``x``) is ``<O>`` (a PennyLane QNode, JAX interface, or a
    Qiskit circuit simulated densely), its gradient and second derivatives come from JAX through it. A static
    pytree node (compiled once per function); :mod:`qntk.kernels` accepts it wherever it takes a circuit without
    input states. ``n_layers`` counts its parameters."""

    fn: Callable
    n_qubits: int
    n_params: int
    scale: float = 0.5
    n_features: int = 0

    @property
    def dim(self) -> int:
        return 2**self.n_qubits

    @property
    def n_layers(self) -> int:
        return self.n_params


jax.tree_util.register_static(FunctionCircuit)


@dataclass(frozen=True, eq=False)
class Imported:
    """A circuit converted from another framework.

    Attributes:
        circuit: the layered circuit (``s = 1/2``), or a :class:`FunctionCircuit`.
        observable: the observable as a qntk Pauli-sum string (character ``q`` acts on qubit ``q``).
        n_qubits: number of qubits.
        framework: ``"pennylane"`` or ``"qiskit"``.
        path: how qntk evaluates it: ``"layered"`` (converted, qntk's engine) or ``"function"`` (the framework's
            function, differentiated by JAX).
        source: the model file, if any.
    """

    circuit: _c.Circuit | FunctionCircuit
    observable: str
    n_qubits: int
    framework: str
    path: str = "layered"
    source: str | None = None


def _require(name: str):
    try:
        if name == "pennylane":
            import pennylane as module
        else:
            import qiskit as module
    except ImportError:
        raise ValueError(f"this model needs {name}, which is not installed: run `{_EXTRAS[name]}`.") from None
    return module


def load(path: str | os.PathLike) -> Imported:
    """Runs the model file ``path`` and converts what it defines (module docstring).

    Raises:
        ValueError: for a missing file, a file that defines neither ``qnode`` and ``n_params`` nor ``circuit`` and
            ``observable``, an error raised while running it, a missing extra, or a circuit without layered form.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {str(path)!r} does not exist.")
    return _load(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime: int) -> Imported:
    try:
        names = runpy.run_path(path)
    except ModuleNotFoundError as err:
        if err.name in _EXTRAS:  # the file imports a framework that is not installed
            _require(err.name)
        raise ValueError(f"running model file {path!r} failed: ModuleNotFoundError: {err}") from None
    except Exception as err:  # the user's code: any error is reported as one line
        raise ValueError(f"running model file {path!r} failed: {type(err).__name__}: {err}") from None
    if "qnode" in names:
        if "n_params" not in names:
            raise ValueError(f"model file {path!r} defines qnode but not n_params (the length of its first argument).")
        imported = from_pennylane(names["qnode"], names["n_params"], names.get("n_features", 0))
    elif "circuit" in names:
        if "observable" not in names:
            raise ValueError(f"model file {path!r} defines circuit but not observable (a qiskit SparsePauliOp).")
        imported = from_qiskit(names["circuit"], names["observable"], names.get("features"))
    else:
        raise ValueError(f"model file {path!r} must define qnode and n_params (PennyLane) or circuit and observable "
                         "(Qiskit).")
    return Imported(imported.circuit, imported.observable, imported.n_qubits, imported.framework, imported.path, path)


# ------------------------------------------------------------------------------------------------------------
# PennyLane

#: PennyLane rotations ``exp(-i theta P / 2)`` by name -> the Pauli letters on the op's wires (``None``: PauliRot's word).
_PL_ROTATIONS = {"RX": "X", "RY": "Y", "RZ": "Z", "IsingXX": "XX", "IsingYY": "YY", "IsingZZ": "ZZ",
                 "PhaseShift": "Z", "PauliRot": None, "MultiRZ": "Z*"}


def from_pennylane(qnode, n_params: int, n_features: int = 0) -> Imported:
    """The layered form of a PennyLane QNode ``qnode(theta) -> expval(H)`` with ``theta`` of length ``n_params``;
    with ``n_features > 0``, a QNode ``qnode(theta, x)`` of a data point's features ``x`` (length ``n_features``),
    whose encoding rotations by ``a x_f`` become layers that encode feature ``f`` with scale ``a``. A circuit
    whose angles are anything else is evaluated as a function (``path = "function"``).

    Raises:
        ValueError: if the QNode does not return one expectation value of a Pauli sum.
    """
    qml = _require("pennylane")
    n_params = check_int("n_params", n_params, 1)
    n_features = check_int("n_features", n_features, 0)
    rng = np.random.default_rng(7)
    probe = jnp.asarray(rng.uniform(0, 2 * np.pi, n_params))
    data = (jnp.asarray(rng.uniform(-1, 1, n_features)),) if n_features else ()
    try:
        tape = qml.workflow.construct_tape(qnode)(probe, *data)
    except Exception as err:
        args = f"a parameter vector of length {n_params}" + (f" and {n_features} features" if n_features else "")
        raise ValueError(f"the qnode could not be run with {args}: {type(err).__name__}: {err}") from None
    wires = list(qnode.device.wires) if qnode.device.wires is not None else sorted(tape.wires.tolist())
    n = len(wires)
    if len(tape.measurements) != 1 or type(tape.measurements[0]).__name__ != "ExpectationMP":
        raise ValueError("the qnode must return exactly one expectation value, qml.expval(H).")
    observable = _pl_observable(qml, tape.measurements[0].obs, wires)
    function = Imported(FunctionCircuit(qnode, n, n_params, n_features=n_features), observable, n, "pennylane",
                        "function")
    jac = jax.jacfwd(lambda th, *x: _pl_params(qml, qnode, th, *x), argnums=tuple(range(1 + len(data))))(probe, *data)
    jac = [np.asarray(j).reshape(-1, size) for j, size in zip(jac, (n_params, n_features))]
    jac_x = jac[1] if data else np.zeros((jac[0].shape[0], 0))
    values = np.asarray(_pl_params(qml, qnode, probe, *data))
    layers, pending, w_in, row = [], np.eye(2**n, dtype=complex), None, 0
    for op in tape.operations:
        k = sum(int(np.size(p)) for p in op.parameters)  # a matrix parameter (QubitUnitary) counts its entries
        rows, rows_x, vals = jac[0][row:row + k], jac_x[row:row + k], values[row:row + k]
        row += k
        if k == 0 or not (np.any(rows) or np.any(rows_x)):  # a fixed gate
            pending = np.asarray(qml.matrix(op, wire_order=wires), dtype=complex) @ pending
            continue
        p = _single_parameter(rows, vals, probe) if not np.any(rows_x) else None
        f = _single_feature(rows_x, vals, data[0]) if data and not np.any(rows) else None
        if op.name not in _PL_ROTATIONS or (p is None and f is None):  # no layered form: differentiate the QNode
            return function
        w_in, layers = _close_layer(layers, pending, w_in)
        letters = _PL_ROTATIONS[op.name]
        if letters is None:
            letters = op.hyperparameters["pauli_word"]
        elif letters == "Z*":
            letters = "Z" * len(op.wires)
        layers.append((_label(n, [wires.index(w) for w in op.wires], letters), (p, -1, 0.0) if f is None else (-1, *f)))
        pending = np.eye(2**n, dtype=complex)
    imported = _assemble(n, layers, pending, w_in, observable, "pennylane")
    # checked at a second data point too: an encoding angle must be linear in the feature, not only at the probe
    for x in [data[0], jnp.asarray(rng.uniform(-1, 1, n_features))] if data else [None]:
        _check(imported, float(qnode(probe, x) if data else qnode(probe)), _layered_value(imported, probe, x))
    return imported


def _pl_params(qml, qnode, theta, *data):
    tape = qml.workflow.construct_tape(qnode)(theta, *data)
    flat = [jnp.asarray(p, dtype=jnp.float64).reshape(-1) for op in tape.operations for p in op.parameters]
    return jnp.concatenate(flat) if flat else jnp.zeros(0)


def _pl_observable(qml, obs, wires) -> str:
    try:
        sentence = qml.pauli.pauli_sentence(obs)
    except Exception:
        raise ValueError(f"the measured observable {obs} is not a Pauli sum: qntk needs expval of a Pauli sum.") from None
    terms = []
    for word, coeff in sentence.items():
        letters = ["I"] * len(wires)
        for w, letter in word.items():
            letters[wires.index(w)] = letter
        terms.append((complex(coeff), "".join(letters)))
    return _pauli_sum(terms)


# ------------------------------------------------------------------------------------------------------------
# Qiskit

_QK_ROTATIONS = {"rx": "X", "ry": "Y", "rz": "Z", "rxx": "XX", "ryy": "YY", "rzz": "ZZ", "p": "Z"}


def from_qiskit(circuit, observable, features=None) -> Imported:
    """The layered form of a Qiskit ``QuantumCircuit`` (its ``Parameter`` objects, in the order of
    ``circuit.parameters``, are the trainable angles) measured with a ``SparsePauliOp``; without one, the circuit as
    a JAX function of its parameters (``path = "function"``). ``features``, a sequence of the circuit's Parameters
    (such as a ``ParameterVector``), are a data point's features instead of trainable angles: the circuit is then
    the function ``fn(theta, x)``.

    Every parametrized gate is a rotation ``exp(-i a P / 2)`` about a Pauli string (``rx`` ... ``rzz``, ``p``) or is
    transpiled into ``rx``, ``ry``, ``rz`` and ``cx``; each angle ``a`` must be affine in the Parameters,
    ``a = c . theta + b``. If every angle is one Parameter (``c`` a unit vector, ``b = 0``) the rotations are
    qntk's layers; otherwise the layers are driven by ``phi = C theta + b`` and JAX differentiates through that map.

    Raises:
        ValueError: for something else than a circuit and a ``SparsePauliOp`` of its size, measurements or resets in
            the circuit, a gate that cannot be transpiled into rotations, or an angle that is not affine.
    """
    qiskit = _require("qiskit")
    from qiskit.quantum_info import Operator, SparsePauliOp, Statevector

    if not isinstance(circuit, qiskit.QuantumCircuit):
        raise ValueError(f"circuit must be a qiskit QuantumCircuit, got {type(circuit).__name__}.")
    if not isinstance(observable, SparsePauliOp) or observable.num_qubits != circuit.num_qubits:
        raise ValueError(f"observable must be a SparsePauliOp on the circuit's {circuit.num_qubits} qubits.")
    data = [] if features is None else list(features)
    if any(x not in circuit.parameters for x in data):
        raise ValueError("features must be Parameters of the circuit (the data encoding), such as a ParameterVector.")
    n, params = circuit.num_qubits, [p for p in circuit.parameters if p not in data]
    if not params:
        raise ValueError("the circuit has no Parameter: the trainable angles must be qiskit Parameters.")

    def matrix(op, qubits):
        sub = qiskit.QuantumCircuit(n)
        sub.append(op, qubits)
        return np.asarray(Operator(sub).reverse_qargs().data)

    layers, pending, w_in = [], np.eye(2**n, dtype=complex), None
    for inst in circuit.data:
        op, qubits = inst.operation, [circuit.find_bit(q).index for q in inst.qubits]
        if op.name in ("measure", "reset"):
            raise ValueError(f"the circuit has a {op.name}: give the unitary part only (qntk measures the observable).")
        if op.name == "barrier":
            continue
        for gate, on in _qk_elementary(qiskit, op, qubits):
            if not any(_free(p) for p in gate.params):
                pending = matrix(gate, on) @ pending
                continue
            w_in, layers = _close_layer(layers, pending, w_in)
            layers.append((_label(n, on, _QK_ROTATIONS[gate.name]), _affine(gate.params[0], params + data, op)))
            pending = np.eye(2**n, dtype=complex)
    terms = [(complex(c), label[::-1]) for label, c in observable.to_list()]
    probe = np.random.default_rng(7).uniform(0, 2 * np.pi, len(params) + len(data))
    reference = float(np.real(Statevector(circuit.assign_parameters(dict(zip(params + data, probe))))
                              .expectation_value(observable)))
    if not layers:
        raise ValueError("the circuit has no trainable rotation.")
    rows = np.stack([row for _, (row, _), *_ in layers])
    offsets = np.array([b for _, (_, b), *_ in layers])
    p = len(params)
    single = np.count_nonzero(rows, axis=1) == 1
    trainable = single & (rows[:, :p].max(axis=1, initial=0) == 1)
    encoding = single & ~np.any(rows[:, :p], axis=1)
    if np.all((trainable | encoding) & (offsets == 0)):  # every angle a parameter or a scaled feature: layered
        drives = [(int(np.argmax(row[:p])), -1, 0.0) if t else (-1, int(np.argmax(row[p:] != 0)), float(row[p:].sum()))
                  for row, t in zip(rows, trainable)]
        imported = _assemble(n, [(lab, drive, *w) for (lab, _, *w), drive in zip(layers, drives)], pending, w_in,
                             _pauli_sum(terms), "qiskit")
        _check(imported, reference, _layered_value(imported, probe[:p], probe[p:] if data else None))
        return imported
    # layer l is driven by angle l; the parameters reach the angles through phi = rows @ theta + offsets
    by_angle = _assemble(n, [(lab, (i, -1, 0.0), *w) for i, (lab, _, *w) in enumerate(layers)], pending, w_in,
                         _pauli_sum(terms), "qiskit")
    fn = functools.partial(_affine_expval, _Dense.of(by_angle), jnp.asarray(rows[:, :p]), jnp.asarray(offsets),
                           jnp.asarray(rows[:, p:]))
    imported = Imported(FunctionCircuit(fn, n, p, n_features=len(data)), by_angle.observable, n, "qiskit", "function")
    _check(imported, reference, float(fn(jnp.asarray(probe[:p]), *([jnp.asarray(probe[p:])] if data else []))))
    return imported


def _free(value) -> bool:
    return bool(getattr(value, "parameters", None))


def _qk_elementary(qiskit, op, qubits):
    """``(gate, qubits)`` pairs: ``op`` itself if it is fixed or a rotation of one angle, else its transpilation
    into ``rx``, ``ry``, ``rz`` and ``cx``."""
    if not any(_free(p) for p in op.params) or (op.name in _QK_ROTATIONS and len(op.params) == 1):
        yield op, qubits
        return
    sub = qiskit.QuantumCircuit(max(qubits) + 1)
    sub.append(op, qubits)
    try:
        basic = qiskit.transpile(sub, basis_gates=["rx", "ry", "rz", "cx"], optimization_level=0)
    except Exception as err:
        raise ValueError(f"gate {op.name} on qubits {qubits} could not be written as rotations rx, ry, rz and cx: "
                         f"{type(err).__name__}: {err}") from None
    for inst in basic.data:
        yield inst.operation, [basic.find_bit(q).index for q in inst.qubits]


def _affine(angle, params: list, op) -> tuple[np.ndarray, float]:
    """``(c, b)`` with ``angle = c . theta + b``."""
    row = np.zeros(len(params))
    for p in angle.parameters:
        slope = angle.gradient(p)
        if _free(slope):
            raise ValueError(f"gate {op.name}({', '.join(map(str, op.params))}) has the angle {angle}, which is not "
                             "affine in the Parameters (c . theta + b): qntk cannot differentiate it.")
        row[params.index(p)] = float(slope)
    return row, float(angle.bind({p: 0.0 for p in angle.parameters}))


# ------------------------------------------------------------------------------------------------------------
# shared


def _single_parameter(rows: np.ndarray, values: np.ndarray, theta) -> int | None:
    """The parameter ``p`` if the op's one angle is exactly ``theta[p]``, else ``None``."""
    if rows.shape[0] != 1:
        return None
    nz = np.flatnonzero(np.abs(rows[0]) > 1e-12)
    if nz.size != 1 or abs(rows[0, nz[0]] - 1.0) > 1e-12 or abs(values[0] - float(theta[nz[0]])) > 1e-12:
        return None
    return int(nz[0])


def _single_feature(rows: np.ndarray, values: np.ndarray, x) -> tuple[int, float] | None:
    """``(f, a)`` if the op's one angle is exactly ``a x[f]``, else ``None``."""
    if rows.shape[0] != 1:
        return None
    nz = np.flatnonzero(np.abs(rows[0]) > 1e-12)
    if nz.size != 1 or abs(values[0] - rows[0, nz[0]] * float(x[nz[0]])) > 1e-12:
        return None
    return int(nz[0]), float(rows[0, nz[0]])


def _label(n: int, qubits: list[int], letters: str) -> str:
    out = ["I"] * n
    for q, letter in zip(qubits, letters):
        out[q] = letter
    return "".join(out)


def _close_layer(layers: list, pending: np.ndarray, w_in):
    """The fixed gates gathered since the last rotation become that layer's ``W`` (or ``W_in`` before the first)."""
    if not layers:
        return pending, layers
    label, p = layers[-1][:2]
    layers[-1] = (label, p, pending)
    return w_in, layers


def _assemble(n: int, layers: list, pending: np.ndarray, w_in, observable: str, framework: str) -> Imported:
    """The layered circuit of ``layers``, each ``(label, (p, f, a), W)``: the rotation about ``label`` by
    ``theta_p + a x_f`` (``-1``: no parameter or no feature), then the fixed gate ``W``."""
    if not layers:
        raise ValueError("the circuit has no trainable rotation.")
    label, drive = layers[-1][:2]
    layers[-1] = (label, drive, pending)
    gates = np.stack([w for _, _, w in layers])
    identity = np.eye(2**n)
    drives = np.array([drive for _, drive, _ in layers], dtype=float).reshape(-1, 3)
    circuit = _c.from_paulis([lab for lab, _, _ in layers], gates, scale=0.5,
                             w_in=None if w_in is None or np.allclose(w_in, identity) else w_in,
                             param_index=drives[:, 0].astype(int), feature_index=drives[:, 1].astype(int),
                             feature_scale=drives[:, 2])
    return Imported(circuit, observable, n, framework)


def _pauli_sum(terms: list[tuple[complex, str]]) -> str:
    parts = []
    for coeff, label in terms:
        if abs(coeff.imag) > 1e-12 * max(1.0, abs(coeff)):
            raise ValueError(f"the observable has a complex coefficient {coeff} on {label}: it must be Hermitian.")
        parts.append(f"{coeff.real!r}*{label}")
    return " + ".join(parts).replace("+ -", "- ")


@dataclass(frozen=True)
class _Dense:
    """A layered circuit as dense matrices, evaluated at layer angles ``phi`` in JAX (small d), independently of
    qntk's engine: it checks conversions, and it is the function of a circuit whose angles are affine in the
    parameters."""

    psi0: jax.Array
    generators: jax.Array
    gates: jax.Array
    observable: jax.Array
    scale: float

    @classmethod
    def of(cls, imported: Imported) -> _Dense:
        c = imported.circuit
        psi0 = np.eye(c.dim, dtype=complex)[:, 0] if c.w_in is None else np.asarray(c.w_in)[:, 0]
        o = observables.parse_observable(imported.observable, imported.n_qubits).matrix()
        return cls(jnp.asarray(psi0), jnp.asarray(np.stack(_c.generator_matrices(c))), jnp.asarray(c.w),
                   jnp.asarray(o), c.scale)

    def __call__(self, phi) -> jax.Array:
        def layer(psi, xs):
            g, w, angle = xs
            a = self.scale * angle
            return w @ (jnp.cos(a) * psi - 1j * jnp.sin(a) * (g @ psi)), None

        psi, _ = jax.lax.scan(layer, self.psi0, (self.generators, self.gates, jnp.asarray(phi)))
        return jnp.real(jnp.vdot(psi, self.observable @ psi))


def _layered_value(imported: Imported, theta, x=None) -> float:
    """``<O>`` of a converted layered circuit at parameters ``theta`` (and features ``x``), evaluated densely."""
    c = imported.circuit
    pidx, fidx = np.asarray(c.param_index), np.asarray(c.feature_index)
    phi = np.where(pidx >= 0, np.asarray(theta)[np.maximum(pidx, 0)], 0.0)
    if x is not None:
        phi = phi + np.where(fidx >= 0, np.asarray(c.feature_scale) * np.asarray(x)[np.maximum(fidx, 0)], 0.0)
    return float(_Dense.of(imported)(phi))


def _affine_expval(dense: _Dense, rows, offsets, feature_rows, theta, x=None):
    """``<O>`` at layer angles ``phi = rows @ theta + feature_rows @ x + offsets``."""
    return dense(rows @ theta + offsets + (0.0 if x is None else feature_rows @ x))


def _check(imported: Imported, reference: float, value) -> None:
    """Refuses a conversion whose expectation ``value`` differs from the framework's ``reference``."""
    value = float(value)
    if abs(value - reference) > CHECK_ATOL:
        raise ValueError(f"the converted {imported.framework} circuit gives <O> = {value:.12g} where {imported.framework} "
                         f"gives {reference:.12g}: the conversion is wrong for this circuit (please report it).")
