"""The model and training runs shared by the reproductions of 001 Figs. 2-4 (and the model of 000 Figs. 1-3).

001 App. E trains "the randomized version of the hardware-efficient variational ansatz" of its
ref. [29] (000), "using the same setup of the ansatz U(theta), the operator O and the input state"
as there. qntk does not have that ansatz; it uses the random Pauli ansatz of 000 eq. (20) instead:
``U = prod_l W_l exp(+i theta_l P_l)`` (``scale = -1``, 001's sign convention), ``P_l`` uniform over
the Pauli group minus the identity, ``W_l`` Haar, one circuit fixed per run, input ``|0...0>``, and
000's observable ``O = sum_{j=1}^{10} c_j P_j`` (``c_j`` uniform in (0, 1)), with the target
``O_0 = -1`` so that ``eps(0) = <O> - O_0 ≈ 1`` (Haar mean of ``<O>`` is ``tr O / d = 0``).
"""

from __future__ import annotations

import numpy as np

from .... import train
from ....models import Model

TARGET = -1.0


def model(n_qubits: int, n_layers: int, observable_seed: int) -> Model:
    """The rpa model over the full Pauli group, ``s = -1``, with 000's 10-term random Pauli mixture."""
    return Model("rpa", n_qubits, n_layers, f"random:terms=10,seed={observable_seed}", target=TARGET,
                 scale=-1.0, options={"paulis": "full"})


def note(m: Model, circuits: str | None = None) -> str:
    """The one-line statement of the model for tables: for a 000 figure (``circuits`` says how the
    circuits and angles were drawn) the ansatz is 000's own; for a 001 figure it stands in for 001's."""
    base = (f"rpa over the full Pauli group with exp(+i theta P) (s = -1), Haar W, n = {m.n_qubits}, L = {m.n_layers}; "
            f"O = 000's 10-term random Pauli mixture ({m.observable}), O_0 = {m.target:g}")
    if circuits is not None:
        return f"000 eq. (20): {base}; {circuits}"
    return f"{base}; one fixed circuit, in place of 001's randomized hardware-efficient ansatz, which qntk does not have"


def run(m: Model, eta: float, sigma: float, steps: int, samples: int, seed: int,
        progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Noisy gradient descent (001 eq. (28)); returns ``eps`` and ``K``, each of shape ``(steps + 1, samples)``.

    The same ``seed`` gives the same circuit and initial angles for every ``eta`` and ``sigma``. The
    figures compare with their own theory, so the run does not add :func:`qntk.theory.mean_residual`.
    """
    cfg = train.TrainConfig(m, eta=eta, steps=steps, samples=samples, sigma=sigma, seed=seed, snapshot_every=steps,
                            theory=False)
    ds = train.run(cfg, progress=progress)
    return ds.eps.values[:, 0, :, 0], ds.K.values[:, 0, :, 0, 0]


def sweep(config, points: list[tuple[float, float]], progress: bool) -> tuple[Model, np.ndarray, np.ndarray]:
    """The model of a 001 figure's ``config`` and one :func:`run` of it per ``(eta, sigma)`` in ``points``.

    ``config`` has the fields ``n_qubits``, ``n_layers``, ``observable_seed``, ``steps``, ``samples`` and
    ``seed``; every point uses the same seed, so the same circuit, initial angles and normalized noise draws.

    Returns:
        The model, and ``eps`` and ``K``, each of shape ``(point, steps + 1, samples)``.
    """
    m = model(config.n_qubits, config.n_layers, config.observable_seed)
    runs = [run(m, eta, sigma, config.steps, config.samples, config.seed, progress) for eta, sigma in points]
    return m, np.stack([eps for eps, _ in runs]), np.stack([k for _, k in runs])
