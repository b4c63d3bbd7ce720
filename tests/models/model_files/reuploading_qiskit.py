"""A supervised Qiskit model: the circuit of reuploading_pennylane.py. `features` names the Parameters that hold a
data point's features; the other Parameters are trained. Qubit 0 is the first character of a qntk label and the
last of a Qiskit one, so Z on qubit 0 is the SparsePauliOp "IZ".

    qntk diagnose --model reuploading_qiskit.py --data tfim:points=10,h_min=-2,h_max=2
"""

import qiskit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

theta = ParameterVector("t", 12)
features = ParameterVector("x", 1)
circuit = qiskit.QuantumCircuit(2)
p = 0
for _ in range(2):
    for q in range(2):
        circuit.rx(0.5 * features[0], q)
    for gate in (circuit.rx, circuit.rz, circuit.rx):
        for q in range(2):
            gate(theta[p], q)
            p += 1
    circuit.cx(0, 1)
observable = SparsePauliOp.from_list([("IZ", 1.0)])
