"""The model and training runs shared by the reproductions of 004's figures.

004 trains the random Pauli ansatz (004 eqs. (26)-(27): ``U = prod_l W_l exp(-i theta_l P_l / 2)``,
``P_l`` uniform over ``{X, Y, Z}^n``, ``W_l`` Haar, ``D = L`` layers) on the XXZ Hamiltonian of the
open chain (004 eq. (29); ``xxz:J=..`` in qntk, docs/conventions.md), input ``|0...0>``, quadratic loss
``(<O> - O_0)^2 / 2`` (004 eqs. (1)-(2)).
"""

from __future__ import annotations

from .... import train
from ....models import Model


def model(n_qubits: int, n_layers: int, target: float, J: float = 2.0, observable: str | None = None) -> Model:
    """004's random Pauli ansatz (``s = 1/2``) on ``observable`` (default: the open XXZ chain with ``J``)."""
    return Model("rpa", n_qubits, n_layers, observable or f"xxz:J={J:g}", target=float(target))


def note(m: Model, extra: str = "") -> str:
    """The one-line statement of the model for tables."""
    base = (f"004 eqs. (26)-(27): rpa over {{X,Y,Z}}^n with exp(-i theta P / 2), Haar W, n = {m.n_qubits}, "
            f"L = {m.n_layers}; O = {m.observable}, input |0...0>")
    return f"{base}; {extra}" if extra else base


def run(m: Model, eta: float, steps: int, samples: int, seed: int, progress: bool, *, record_mu: bool = False,
        loss: str = "quadratic", circuits: int = 1, shots: int | None = None, snapshot_every: int | None = None):
    """One training run of ``m`` (:func:`qntk.train.run`) without the mean-residual theory (the figures
    compute their own, from the model alone); returns the run's ``xarray.Dataset``."""
    cfg = train.TrainConfig(m, eta=eta, steps=steps, samples=samples, circuits=circuits, seed=seed, loss=loss,
                            shots=shots, record_mu=record_mu, snapshot_every=snapshot_every or steps, theory=False)
    return train.run(cfg, progress=progress)
