"""Mean QNTK matrix of a supervised model and its spectrum (000 eqs. (17)-(21)), exact in d.

Model (001 eq. (21)): for every layer the circuit before the generator, ``V_-``, and the one after,
``V_+``, are independent unitary 2-designs, and the data enter as input states ``|x_a>`` mapped by
the same ``V_-``. With ``C = i[G, V_+^dagger O V_+]`` and second-moment Weingarten integrals,

.. math::
    \\bar K_{(a,i),(b,j)} = \\frac{2 L s^2 \\,(d\\,\\sigma_{ab} - 1)\\,
        (d\\,\\mathrm{tr}(O_i O_j) - \\mathrm{tr}\\,O_i\\,\\mathrm{tr}\\,O_j)}{(d^2 - 1)^2}
    \\cdot \\frac{\\mathrm{tr}(G^2)}{d},

with the feature cross-section ``sigma_ab = |<x_a|x_b>|^2`` (000 eq. (19)) and a traceless generator
``G`` (Pauli strings have ``tr G^2 = d``). To leading order in ``1/d`` this is 000 eq. (17),
``2 L tr(O_i O_j) sigma_ab / d^2``; for one output and one data point it is 001 eq. (22). For ``m``
orthogonal inputs (``sigma = 1``) and one output the matrix is ``c (d 1 - J)``: eigenvalue ``c d``
``(m - 1)`` times and the lowest, ``c (d - m)``, on the uniform vector, i.e. 000 eq. (21),
``2 L (d - m) (d tr O^2 - tr^2 O) / (d^2 - 1)^2`` (``s^2 = 1``).

Example:
    >>> import numpy as np
    >>> z = np.diag([1.0, -1.0, 1.0, -1.0])
    >>> k = mean_kernel_matrix(np.eye(4)[:2], [z], n_layers=10, scale=1.0)
    >>> np.round(k, 4)
    array([[ 4.2667, -1.4222],
           [-1.4222,  4.2667]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _as_matrix(obs) -> np.ndarray:
    return np.asarray(obs.matrix() if hasattr(obs, "matrix") else obs, dtype=complex)


def mean_kernel_matrix(
    states, observables: Sequence, n_layers: int, scale: float, generator_sq_trace=None, first_layer_generators=None
) -> np.ndarray:
    """``K̄`` over data points ``a`` (rows of ``states``, shape ``(m, d)``) and outputs ``i``.

    Args:
        states: input states ``|x_a>``, shape ``(m, d)``.
        observables: the outputs ``O_i`` (observables or Hermitian matrices).
        n_layers: number of parametrized layers ``L``.
        scale: generator scale ``s``.
        generator_sq_trace: ``tr(G^2)`` of the (traceless) generators; ``d`` (Pauli strings) by default.
        first_layer_generators: in a layered circuit the first rotation acts on the input states
            themselves, not on Haar-rotated ones. Pass the equally likely generators of layer 1 (e.g.
            all of ``{X,Y,Z}^n`` for the random Pauli ansatz) to treat it exactly:
            ``E[g_a g_b] = -s^2 beta_ij tr(X_a X_b)`` with ``X_a = [|x_a><x_a|, G]`` and
            ``beta_ij = (tr(O_i O_j) - tr O_i tr O_j / d) / (d^2 - 1)``, averaged over ``G``. ``None``
            treats layer 1 like the others (001's model).

    Returns:
        ``(m A, m A)`` matrix, rows ordered data-major (``a * A + i``) like
        :func:`qntk.kernels.qntk_matrix_fn`.
    """
    states = np.atleast_2d(np.asarray(states, dtype=complex))
    mats = [_as_matrix(o) for o in observables]
    d = states.shape[1]
    sigma = np.abs(states.conj() @ states.T) ** 2
    tr = np.array([np.trace(m).real for m in mats])
    tr2 = np.array([[np.trace(a @ b).real for b in mats] for a in mats])
    out_part = d * tr2 - np.outer(tr, tr)
    g2 = d if generator_sq_trace is None else generator_sq_trace
    coef = 2.0 * scale**2 / (d**2 - 1) ** 2 * (g2 / d)
    per_layer = coef * np.kron(d * sigma - 1.0, out_part)
    if first_layer_generators is None:
        return n_layers * per_layer
    beta = (tr2 - np.outer(tr, tr) / d) / (d**2 - 1)
    rhos = [np.outer(x, x.conj()) for x in states]
    first = np.zeros((len(rhos), len(rhos)))
    for g in first_layer_generators:
        g = np.asarray(g, dtype=complex)
        xs = [r @ g - g @ r for r in rhos]
        first += np.array([[np.trace(xa @ xb).real for xb in xs] for xa in xs])
    first *= -(scale**2) / len(first_layer_generators)
    return (n_layers - 1) * per_layer + np.kron(first, beta)


def lowest_eigenvalue_orthogonal(n_data: int, observable, n_layers: int, scale: float) -> float:
    """Lowest eigenvalue of ``K̄`` for ``m`` orthogonal inputs and one output (000 eq. (21) times ``s^2``).

    Raises:
        ValueError: if ``m`` exceeds ``d`` (no more than ``d`` orthogonal states exist).
    """
    o = _as_matrix(observable)
    d = o.shape[0]
    if not 1 <= n_data <= d:
        raise ValueError(f"n_data must be between 1 and d = {d} for orthogonal inputs, got {n_data}.")
    return 2.0 * n_layers * scale**2 * (d - n_data) * (d * np.trace(o @ o).real - np.trace(o).real ** 2) / (d**2 - 1) ** 2
