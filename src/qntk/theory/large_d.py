"""Large-d closed forms quoted from the seeds, 000 eqs. (9), (12): the mean QNTK and its spread.

They are the seed's leading-order forms, kept as printed, for comparison with the exact finite-d
averages of :mod:`qntk.theory.haar`, which are the ones to predict with. Both are in the seed's
convention ``exp(+i theta X)``, i.e. a generator scale ``s = +-1`` (K scales as ``s^2``: for another
scale multiply ``K̄`` and ``Delta K`` by ``s^2``), with ``d = 2^n`` (000's ``D``), and count ``L``
parametrized layers.

* 000 eq. (9), ``K̄ ≈ L tr(O^2) / d^2``, is half the exact large-d limit ``2 L tr(O^2) / d^2`` of
  001 eq. (22) (:func:`qntk.theory.haar.mean_K`; docs/conventions.md).
* 000 eq. (12), ``Delta K ≈ sqrt(L) / d^2 sqrt(8 tr^2 O^2 + 12 tr O^4)``, is the exact large-d limit of
  the independent-layer ``Var K`` (:func:`qntk.theory.haar.var_K`, ``model="independent"``) for a
  traceless ``O`` (docs/theory-haar.md).

Example:
    >>> from qntk.models import observables
    >>> o = observables.random_pauli_mixture(4, seed=0)  # 000 Fig. 1: n = 4, L = 40
    >>> round(mean_K(o, 40), 2), round(std_K(o, 40) / mean_K(o, 40), 2)
    (10.97, 0.49)
"""

from __future__ import annotations

import numpy as np

from ..models._spec import check_int
from .haar import _matrix


def _traces(observable) -> tuple[float, float, int]:
    """``tr O^2``, ``tr O^4`` and ``d`` of a Hermitian matrix or a :mod:`qntk.models.observables` observable."""
    o = _matrix("observable", observable)
    return np.trace(o @ o).real, np.trace(np.linalg.matrix_power(o, 4)).real, o.shape[0]


def mean_K(observable, n_layers: int) -> float:
    """000 eq. (9): the mean QNTK of a deep 2-design circuit at large ``d``, ``K̄ ≈ L tr(O^2) / d^2``.

    Half the exact large-d value (001 eq. (22) gives ``2 L tr(O^2) / d^2``); ``s = +-1``.

    Args:
        observable: ``O``, a Hermitian ``(d, d)`` matrix or a :mod:`qntk.models.observables` observable.
        n_layers: ``L``, the number of parametrized layers.

    Returns:
        ``L tr(O^2) / d^2``.

    Raises:
        ValueError: for a non-Hermitian or mis-shaped ``O`` or ``L < 1``.
    """
    layers = check_int("n_layers", n_layers, 1)
    tr2, _, d = _traces(observable)
    return float(layers * tr2 / d**2)


def std_K(observable, n_layers: int) -> float:
    """000 eq. (12): the spread of the QNTK at large ``d``,
    ``Delta K ≈ sqrt(L) / d^2 sqrt(8 tr^2 O^2 + 12 tr O^4)``, so that ``Delta K / K̄ ~ 1/sqrt(L)``.

    The large-d limit of the independent-layer ``Var K`` for a traceless ``O`` (a Pauli mixture
    without identity); ``s = +-1``.

    Args:
        observable: ``O``, a Hermitian ``(d, d)`` matrix or a :mod:`qntk.models.observables` observable.
        n_layers: ``L``, the number of parametrized layers.

    Returns:
        ``Delta K``.

    Raises:
        ValueError: for a non-Hermitian or mis-shaped ``O`` or ``L < 1``.
    """
    layers = check_int("n_layers", n_layers, 1)
    tr2, tr4, d = _traces(observable)
    return float(np.sqrt(layers) / d**2 * np.sqrt(8 * tr2**2 + 12 * tr4))
