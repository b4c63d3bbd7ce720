"""A supervised PennyLane model: qntk's built-in `reuploading` (2 qubits, 2 blocks, block "hea", encoding scale
0.5, low frequency), read out by Z on qubit 0. `n_features` tells qntk that the QNode takes a data point's
features as its second argument; qntk converts its RX(0.5 x) rotations to layers that encode the feature.

    qntk diagnose --model reuploading_pennylane.py --data tfim:points=10,h_min=-2,h_max=2
"""

import pennylane as qml

n_params = 12
n_features = 1
dev = qml.device("default.qubit", wires=2)


@qml.qnode(dev, interface="jax")
def qnode(theta, x):
    p = 0
    for _ in range(2):
        for q in range(2):  # the encoding RX(0.5 x)
            qml.RX(0.5 * x[0], wires=q)
        for gate in (qml.RX, qml.RZ, qml.RX):  # the trainable block
            for q in range(2):
                gate(theta[p], wires=q)
                p += 1
        qml.CNOT(wires=[0, 1])
    return qml.expval(qml.PauliZ(0))
