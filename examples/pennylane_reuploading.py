"""A PennyLane circuit of one's own, diagnosed by qntk before training:

    qntk diagnose --model examples/pennylane_reuploading.py --data tfim:h_min=-5,h_max=4.5 --train

4 qubits, 8 data re-uploading blocks (RX(0.3 x) on every qubit, then RY and RZ on every qubit and a CNOT brick
wall), read out by Z on qubit 0: 64 trainable angles. qntk converts it to its layered form (the RX(0.3 x)
rotations encode the feature), so its own engine runs it; it is the model of `qntk diagnose`'s built-in example.
"""

import pennylane as qml

n_qubits, blocks = 4, 8
n_params = 2 * n_qubits * blocks
n_features = 1
dev = qml.device("default.qubit", wires=n_qubits)


@qml.qnode(dev, interface="jax")
def qnode(theta, x):
    p = 0
    for _ in range(blocks):
        for q in range(n_qubits):
            qml.RX(0.3 * x[0], wires=q)
        for gate in (qml.RY, qml.RZ):
            for q in range(n_qubits):
                gate(theta[p], wires=q)
                p += 1
        for a in (0, 2, 1):
            qml.CNOT(wires=[a, a + 1])
    return qml.expval(qml.PauliZ(0))
