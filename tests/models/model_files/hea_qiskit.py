"""qntk's built-in HEA (n = 3, 2 blocks) written in Qiskit, with the observable ZZI + 0.5 IIX (qntk's qubit order)."""

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

N_QUBITS, BLOCKS = 3, 2
theta = ParameterVector("theta", 2 * N_QUBITS * BLOCKS)
circuit = QuantumCircuit(N_QUBITS)
p = 0
for _ in range(BLOCKS):
    for gate in (circuit.ry, circuit.rz):
        for q in range(N_QUBITS):
            gate(theta[p], q)
            p += 1
    for q in list(range(0, N_QUBITS - 1, 2)) + list(range(1, N_QUBITS - 1, 2)):
        circuit.cx(q, q + 1)
# Qiskit labels are little-endian: "IZZ" is Z on qubits 0 and 1
observable = SparsePauliOp.from_list([("IZZ", 1.0), ("XII", 0.5)])
