"""A PennyLane circuit with gates qntk's layered form lacks (Rot, a controlled rotation, a doubled angle): qntk
differentiates the QNode itself."""

import pennylane as qml

n_params = 4
dev = qml.device("default.qubit", wires=2)


@qml.qnode(dev, interface="jax")
def qnode(theta):
    qml.Rot(theta[0], theta[1], theta[2], wires=0)
    qml.CRX(theta[3], wires=[0, 1])
    qml.RY(2 * theta[1], wires=1)
    qml.CNOT(wires=[1, 0])
    return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1) + 0.3 * qml.PauliX(1))
