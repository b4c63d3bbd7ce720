"""qntk's built-in HEA (n = 3, 2 blocks) written in PennyLane: RY, RZ on every qubit, then a CNOT brick wall."""

import pennylane as qml

N_QUBITS, BLOCKS = 3, 2
n_params = 2 * N_QUBITS * BLOCKS
dev = qml.device("default.qubit", wires=N_QUBITS)


@qml.qnode(dev, interface="jax")
def qnode(theta):
    p = 0
    for _ in range(BLOCKS):
        for rotation in (qml.RY, qml.RZ):
            for q in range(N_QUBITS):
                rotation(theta[p], wires=q)
                p += 1
        for q in list(range(0, N_QUBITS - 1, 2)) + list(range(1, N_QUBITS - 1, 2)):
            qml.CNOT(wires=[q, q + 1])
    return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1) + 0.5 * qml.PauliX(2))
