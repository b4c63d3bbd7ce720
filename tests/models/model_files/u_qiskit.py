"""A Qiskit circuit with gates qntk's layered form lacks (U, a controlled rotation, a controlled phase, a scaled
and shifted angle, a parameter shared between gates): qntk transpiles it into rotations and differentiates it."""

import qiskit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
circuit = qiskit.QuantumCircuit(2)
circuit.u(a, b, 0.4, 0)
circuit.crx(c, 0, 1)
circuit.ry(2 * a + 0.3, 1)
circuit.cp(b - c, 1, 0)
circuit.h(1)
observable = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)])
