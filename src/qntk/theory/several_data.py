"""Late-time dynamics of a QNN trained on several data: the seven classes of the 004 transition with ``N > 1``.

The several-data extension of 004 (Zhang, Liu, Jiang, Zhuang, npj Quantum Inf. 11, 132 (2025),
arXiv:2410.01955, "quantum-data-driven dynamical transition"). The derivation below is qntk's own (the
paper's text was not available here beyond its abstract and figure captions); where it names a class,
the name is the paper's.

**Dynamical equations.** ``N`` orthonormal input states ``|psi_a>`` with targets ``y_a``, outputs
``f_a = <psi_a|U^dag O U|psi_a>``, errors ``eps_a = f_a - y_a``, loss ``sum_a eps_a^2 / 2``, update
``theta <- theta - eta sum_a eps_a g_a`` with ``g_a = d f_a / d theta``. With the kernel matrix
``K_ab = g_a . g_b`` and the dQNTK tensor ``mu_abc = g_c^T (d^2 f_a) g_b``, to first order in ``eta``

.. math::  \\Delta\\varepsilon_a = -\\eta \\sum_b K_{ab}\\varepsilon_b , \\qquad
           \\Delta K_{ab} = -\\eta \\sum_c (\\mu_{abc} + \\mu_{bac})\\, \\varepsilon_c ,

which is 004 eqs. (7)-(8) (``N = 1``: ``Delta K = -2 eta mu eps``) for every pair of data (:func:`rhs`).

**Fixed points.** A fixed point has ``K eps = 0``. The outputs a circuit can reach from orthonormal
inputs are the diagonals of the compressions ``V^dag O V`` (``V`` an isometry); by the Schur-Horn theorem
(the diagonals of a Hermitian matrix with spectrum ``lambda`` fill the permutohedron of ``lambda``) and
projection onto ``N`` coordinates, they fill the polytope ``A``, the convex hull of the vectors of ``N``
distinct eigenvalues, which is (:func:`constraints`)

.. math::  \\sum_{k \\le |S|} \\lambda^\\uparrow_k \\;\\le\\; \\sum_{a \\in S} f_a \\;\\le\\;
           \\sum_{k \\le |S|} \\lambda^\\downarrow_k \\qquad \\text{for every non-empty } S \\subseteq \\{1..N\\}

(``N = 1``: ``O_min <= f <= O_max`` of 004; ``N = 2``: also ``lambda_1 + lambda_2 <= f_1 + f_2``). The loss is
the squared distance to ``y`` in output space, so a controllable deep circuit converges to the Euclidean
projection ``f* = P_A(y)`` (:func:`project`) and the late-time errors are ``R = f* - y`` (KKT:
``R = sum_k nu_k w_k``, ``nu_k >= 0`` on the active faces ``w_k . f = b_k``).

**Linearization and the per-datum laws.** Near ``f*`` split data space into the normals ``n_k`` of the
active faces and their complement ``T``. On ``T`` the map ``theta -> f`` is regular, ``K`` tends to a
positive matrix there, and the errors decay exponentially (eigenvalues ``-eta kappa`` of the reduced
linearization ``M``). Along an active normal the output is quadratic in the angles, ``n . (f - f*) = u >= 0``,
``n^T K n = 2 lambda_n u``, and ``du/dt = -2 eta lambda_n u (u + nu |w|)``: the 004 LV equation (004 eq. (10))
with ``C = -2 lambda_n nu |w|``: eigenvalue ``-2 eta lambda_n nu |w| < 0`` when ``nu > 0`` (frozen error along
``n``) and ``0`` when ``nu = 0`` (``y`` on the face: critical, ``u ~ 1 / (2 eta lambda_n t)``, 004 eq. (15)).
So, per datum ``a`` (:func:`predict_phase`):

* ``frozen-error``: ``R_a != 0`` (``y`` outside ``A`` and datum ``a`` on the normal of the face it projects to);
* ``critical``: ``R_a = 0`` and ``a`` in the support of an active face (``y`` on the boundary there):
  ``eps_a ~ 1/t``;
* ``frozen-kernel``: ``R_a = 0`` and ``a`` in no active face: exponential decay until the error is slaved to
  a critical direction through ``K_{a n} ~ sqrt(u)``, where ``eps_a ~ u^{3/2} ~ t^{-3/2}`` (derived here,
  seen in simulation): still faster than any critical datum.

``det M = 0`` (a zero mode) exactly when some datum is critical: the polynomial classes; otherwise
``M`` is a stable node (``det M > 0``, ``tr M < 0`` for ``N = 2``) and the convergence is exponential.
The kernel matrix itself keeps ``dim span{n_k}`` vanishing eigenvalues (``J^T n_k -> 0``; ``1/t`` along a
critical normal, exponential along a frozen-error one) and freezes on ``T``
(:attr:`PhasePrediction.n_zero_modes`).

**Seven classes.** A phase is the set of per-datum laws present, a non-empty subset of the three 004
regimes: ``2^3 - 1 = 7`` (:data:`PHASES`). ``N = 2`` reaches six (the paper's frozen-kernel, frozen-error,
mixed-frozen; critical, critical-frozen-kernel, critical-frozen-error); the seventh,
``critical-mixed-frozen`` (one datum of each law), needs ``N >= 3``. The exponential classes fill regions
of the ``(y_1, y_2)`` plane, the polynomial ones its boundary lines (the faces of ``A`` and the edges of
the normal cones at its vertices).

**Measurement** (:func:`measure_phase`): per datum, the power-law exponent ``p = d log|eps_a| / d log t``
over the late window: ``p -> 0`` (frozen error), ``-1`` (critical), ``-3/2`` or ``-inf`` (frozen kernel);
split at :data:`P_SPLITS`; and the number of decaying kernel eigenvalues.

Everything is NumPy float64; the time ``t`` counts gradient-descent steps.

Example:
    >>> spectrum = [-1.5, -0.5, 0.5, 1.5]
    >>> predict_phase(spectrum, [-2.0, 0.3]).phase, predict_phase(spectrum, [-1.0, -1.0]).phase
    ('mixed-frozen', 'critical')
    >>> p = predict_phase(spectrum, [-1.2, -1.2])   # each inside [-1.5, 1.5], jointly outside
    >>> p.types, [round(float(r), 3) for r in p.R]
    (('frozen-error', 'frozen-error'), [0.2, 0.2])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..models import Model
from ..models._spec import check_non_negative, check_positive, check_real
from ..models.observables import Observable
from .lv import REGIMES, _log_abs, _robust_slope

#: The per-datum late-time laws (the 004 regimes, :data:`qntk.theory.lv.REGIMES`).
TYPES = REGIMES

#: The seven classes: the non-empty sets of per-datum laws, named (the paper's names for the six of
#: ``N = 2``; ``critical-mixed-frozen``, which needs three data, is qntk's name).
PHASES: dict[frozenset, str] = {
    frozenset({"frozen-kernel"}): "frozen-kernel",
    frozenset({"frozen-error"}): "frozen-error",
    frozenset({"frozen-kernel", "frozen-error"}): "mixed-frozen",
    frozenset({"critical"}): "critical",
    frozenset({"critical", "frozen-kernel"}): "critical-frozen-kernel",
    frozenset({"critical", "frozen-error"}): "critical-frozen-error",
    frozenset({"critical", "frozen-kernel", "frozen-error"}): "critical-mixed-frozen",
}
PHASE_NAMES = tuple(PHASES.values())
#: The classes of exponential convergence (no critical datum) and of polynomial convergence.
EXPONENTIAL = PHASE_NAMES[:3]
POLYNOMIAL = PHASE_NAMES[3:]
#: Fewest data that reach each class (one datum per law present).
MIN_DATA = {name: len(types) for types, name in PHASES.items()}

#: Splits of the measured exponent ``p = d log|eps_a| / d log t``: ``p > -1/2`` frozen error (``p -> 0``),
#: ``-5/4 <= p <= -1/2`` critical (``p -> -1``), ``p < -5/4`` frozen kernel (``-3/2`` when slaved to a
#: critical direction, ``-inf`` for a pure exponential): each split halfway between neighbouring laws.
P_SPLITS = (-1.25, -0.5)

#: :func:`measure_phase` calls a datum converged (frozen kernel, decayed exponentially to rounding level)
#: when its late ``|eps_a|`` is below this times its initial ``|eps_a|`` (and 1).
CONVERGED_RTOL = 1e-11

#: Largest number of data :func:`project` handles (it enumerates active sets of the ``2 (2^N - 1)`` faces).
MAX_DATA = 4


# ----------------------------------------------------------------------------------------------
# the dynamical equations


def rhs(eps: ArrayLike, K: ArrayLike, mu: ArrayLike, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """First-order change per step of the errors and of the kernel matrix with ``N`` data (004 eqs. (7)-(8)
    for every pair of data):

    .. math::  \\Delta\\varepsilon_a = -\\eta \\sum_b K_{ab}\\varepsilon_b , \\qquad
               \\Delta K_{ab} = -\\eta \\sum_c (\\mu_{abc} + \\mu_{bac})\\, \\varepsilon_c .

    Args:
        eps: errors ``eps_a``, shape ``(N,)``.
        K: kernel matrix ``K_ab = g_a . g_b``, shape ``(N, N)``.
        mu: dQNTK tensor ``mu_abc = g_c^T (d^2 f_a) g_b`` (:func:`dqntk`), shape ``(N, N, N)``.
        eta: learning rate, ``> 0``.

    Returns:
        ``(d_eps, d_K)`` of shapes ``(N,)`` and ``(N, N)``.

    Raises:
        ValueError: for shapes that do not match or a non-positive ``eta``.

    Example:
        >>> d_eps, d_K = rhs([1.0], [[3.0]], [[[1.0]]], 0.1)   # N = 1: (-eta eps K, -2 eta mu eps)
        >>> float(d_eps[0]), float(d_K[0, 0])
        (-0.30000000000000004, -0.2)
    """
    eta = check_positive("eta", eta)
    eps, K, mu = (np.asarray(v, dtype=np.float64) for v in (eps, K, mu))
    n = eps.shape[0] if eps.ndim == 1 else -1
    if eps.ndim != 1 or K.shape != (n, n) or mu.shape != (n, n, n):
        raise ValueError(f"need eps (N,), K (N, N), mu (N, N, N); got {eps.shape}, {K.shape}, {mu.shape}.")
    d_mu = np.einsum("abc,c->ab", mu, eps)
    return -eta * K @ eps, -eta * (d_mu + d_mu.T)


def dqntk(grads: ArrayLike, hessians: ArrayLike) -> np.ndarray:
    """The dQNTK tensor ``mu_abc = g_c^T H_a g_b`` from the gradients ``g_a`` ``(N, P)`` and the Hessians
    ``H_a = d^2 f_a`` ``(N, P, P)`` of the outputs (``N = 1``: ``mu = g^T H g`` of 004 eq. (8)).

    Example:
        >>> float(dqntk([[1.0, 0.0]], [[[2.0, 0.0], [0.0, 0.0]]])[0, 0, 0])
        2.0
    """
    g, h = np.asarray(grads, dtype=np.float64), np.asarray(hessians, dtype=np.float64)
    return np.einsum("cp,apq,bq->abc", g, h, g)


# ----------------------------------------------------------------------------------------------
# the achievable region


def _spectrum(source: Any) -> np.ndarray:
    """Ascending eigenvalues of a Model's observable, an Observable, a Hermitian matrix or a 1-D spectrum."""
    if isinstance(source, Model):
        source = source.operator
    if isinstance(source, Observable):
        source = source.matrix()
    arr = np.asarray(source)
    if arr.ndim == 2:
        if arr.shape[0] != arr.shape[1] or not np.allclose(arr, arr.conj().T, atol=1e-10 * max(1.0, np.abs(arr).max())):
            raise ValueError(f"observable matrix must be square and Hermitian, got shape {arr.shape}.")
        return np.linalg.eigvalsh(arr)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.iscomplexobj(arr):
        raise ValueError("pass a Model, an Observable, a Hermitian matrix or a 1-D array of real eigenvalues.")
    return np.sort(arr.astype(np.float64))


def constraints(spectrum: ArrayLike, n_data: int) -> tuple[np.ndarray, np.ndarray]:
    """The faces ``W f >= b`` of the outputs reachable from ``n_data`` orthonormal inputs (Schur-Horn).

    For every non-empty ``S`` of the data: ``sum_S f >= (sum of the |S| smallest eigenvalues)`` and
    ``-sum_S f >= -(sum of the |S| largest)``; rows ordered by ``S`` (lower face, then upper).

    Returns:
        ``W`` of shape ``(2 (2^N - 1), N)`` with entries in ``{0, 1, -1}``, and ``b``.

    Raises:
        ValueError: unless ``1 <= n_data <= len(spectrum)``.

    Example:
        >>> W, b = constraints([-1.5, -0.5, 0.5, 1.5], 2)
        >>> W[4].tolist(), float(b[4])     # f_1 + f_2 >= lambda_1 + lambda_2
        ([1.0, 1.0], -2.0)
    """
    lam = _spectrum(spectrum)
    if not isinstance(n_data, (int, np.integer)) or not 1 <= n_data <= lam.size:
        raise ValueError(f"n_data must be an integer in [1, {lam.size}] (orthonormal inputs in d = {lam.size}), "
                         f"got {n_data!r}.")
    low, high = np.cumsum(lam), np.cumsum(lam[::-1])
    rows, b = [], []
    for size in range(1, n_data + 1):
        for subset in itertools.combinations(range(n_data), size):
            w = np.zeros(n_data)
            w[list(subset)] = 1.0
            rows += [w, -w]
            b += [low[size - 1], -high[size - 1]]
    return np.array(rows), np.array(b)


def vertices(spectrum: ArrayLike, n_data: int) -> np.ndarray:
    """The vectors of ``n_data`` eigenvalues at distinct positions (with repeats for a degenerate spectrum),
    whose convex hull is the achievable region: shape ``(d! / (d - N)!, N)``, unique rows."""
    lam = _spectrum(spectrum)
    constraints(lam, n_data)  # validates n_data
    return np.unique(np.array(list(itertools.permutations(lam, n_data))), axis=0)


def _default_atol(lam: np.ndarray) -> float:
    return 1e-9 * max(1.0, float(np.abs(lam).max()))


def project(targets: ArrayLike, spectrum: ArrayLike, *, atol: float | None = None):
    """Euclidean projection ``f* = P_A(y)`` of targets onto the achievable region, with its KKT multipliers.

    Exact active-set enumeration: for each set of at most ``N`` linearly independent faces, the projection
    onto their intersection, kept where it is feasible and its multipliers are ``>= -atol`` (the unique
    projection, since ``A`` is convex). Vectorized over any leading shape of ``targets``.

    Args:
        targets: ``y``, shape ``(..., N)`` with ``1 <= N <= MAX_DATA``.
        spectrum: eigenvalues (or a Model, Observable or Hermitian matrix).
        atol: tolerance of feasibility and of the multipliers; default ``1e-9 max(1, |lambda|_max)``.

    Returns:
        ``(f_star, nu)``: ``f*`` of the shape of ``targets`` and ``nu`` of shape ``(..., 2 (2^N - 1))``,
        with ``f* - y = nu @ W`` (:func:`constraints`).

    Example:
        >>> f, nu = project([-1.2, -1.2], [-1.5, -0.5, 0.5, 1.5])
        >>> f.round(6).tolist(), int((nu > 0).sum())
        ([-1.0, -1.0], 1)
    """
    lam = _spectrum(spectrum)
    y = np.asarray(targets, dtype=np.float64)
    if y.ndim == 0 or not np.all(np.isfinite(y)):
        raise ValueError(f"targets must be a finite array of shape (..., N), got {targets!r}.")
    n = y.shape[-1]
    if n > MAX_DATA:
        raise ValueError(f"project handles at most {MAX_DATA} data (it enumerates active faces), got N = {n}.")
    W, b = constraints(lam, n)
    atol = _default_atol(lam) if atol is None else check_non_negative("atol", atol)
    flat = y.reshape(-1, n)
    f_star = np.full_like(flat, np.nan)
    nu = np.zeros((flat.shape[0], W.shape[0]))
    todo = np.ones(flat.shape[0], dtype=bool)
    for size in range(n + 1):
        for active in itertools.combinations(range(W.shape[0]), size):
            if not np.any(todo):
                break
            Wa = W[list(active)]
            if size and np.linalg.matrix_rank(Wa) < size:
                continue
            yy = flat[todo]
            if size:
                mult = np.linalg.solve(Wa @ Wa.T, (b[list(active)][None, :] - yy @ Wa.T).T).T  # (m, size)
                f = yy + mult @ Wa
            else:
                mult, f = np.zeros((yy.shape[0], 0)), yy
            ok = np.all(f @ W.T >= b - atol, axis=1) & np.all(mult >= -atol, axis=1)
            idx = np.flatnonzero(todo)[ok]
            f_star[idx] = f[ok]
            nu[np.ix_(idx, list(active))] = np.maximum(mult[ok], 0.0)
            todo[idx] = False
    return f_star.reshape(y.shape), nu.reshape(y.shape[:-1] + (W.shape[0],))


def achievable(outputs: ArrayLike, spectrum: ArrayLike, *, atol: float | None = None) -> np.ndarray | bool:
    """Whether outputs ``f`` (shape ``(..., N)``) lie in the achievable region (within ``atol``)."""
    lam = _spectrum(spectrum)
    f = np.asarray(outputs, dtype=np.float64)
    W, b = constraints(lam, f.shape[-1])
    atol = _default_atol(lam) if atol is None else atol
    out = np.all(f @ W.T >= b - atol, axis=-1)
    return bool(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------------
# prediction


def phase_name(types) -> str:
    """The class of a tuple of per-datum laws (:data:`PHASES`).

    Example:
        >>> phase_name(("critical", "frozen-kernel", "frozen-error"))
        'critical-mixed-frozen'
    """
    key = frozenset(types)
    if key not in PHASES:
        raise ValueError(f"per-datum laws must be a non-empty set drawn from {TYPES}, got {tuple(types)!r}.")
    return PHASES[key]


def classify(targets: ArrayLike, spectrum: ArrayLike, *, atol: float | None = None):
    """Per-datum laws of targets of any leading shape (vectorized :func:`predict_phase`).

    Returns:
        ``(types, f_star, R)``: ``types`` an integer array ``(..., N)`` indexing :data:`TYPES`
        (0 frozen kernel, 1 critical, 2 frozen error), ``f*`` and ``R = f* - y``.
    """
    lam = _spectrum(spectrum)
    atol = _default_atol(lam) if atol is None else check_non_negative("atol", atol)
    y = np.asarray(targets, dtype=np.float64)
    f_star, _ = project(y, lam, atol=atol)
    W, b = constraints(lam, y.shape[-1])
    R = f_star - y
    active = np.abs(f_star @ W.T - b) <= atol  # (..., faces)
    touches = (active.astype(float) @ np.abs(W)) > 0  # datum in the support of an active face
    types = np.where(np.abs(R) > atol, 2, np.where(touches, 1, 0))
    return types, f_star, R


@dataclass(frozen=True)
class PhasePrediction:
    """The late-time class predicted from the spectrum of ``O`` and the targets alone.

    Attributes:
        phase: a name from :data:`PHASE_NAMES`.
        types: per-datum law, a name from :data:`TYPES` for each datum.
        targets: ``y``.
        f_star: late-time outputs, the projection of ``y`` onto the achievable region.
        R: late-time errors ``f* - y`` (0 for frozen-kernel and critical data).
        distance: ``|R|``, the distance of ``y`` to the achievable region.
        law: ``"exponential"`` or ``"polynomial"`` (some datum critical: ``det M = 0``).
        active: the active faces, each ``(data, side)`` with ``data`` a tuple of 0-based indices and ``side``
            ``"lower"`` (``sum f >= sum of smallest eigenvalues``) or ``"upper"``.
        nu: KKT multipliers of the active faces (``R = sum nu w``; ``0`` on a face that holds ``y``).
        spectrum: ascending eigenvalues of ``O``.
        n_zero_modes: number of eigenvalues of the kernel matrix that vanish at late time, the dimension of
            the span of the active normals (``J^T n = 0`` there); the others freeze at positive values.
    """

    phase: str
    types: tuple[str, ...]
    targets: tuple[float, ...]
    f_star: tuple[float, ...]
    R: tuple[float, ...]
    distance: float
    law: str
    active: tuple[tuple[tuple[int, ...], str], ...]
    nu: tuple[float, ...]
    spectrum: tuple[float, ...]
    n_zero_modes: int

    def linearization(self, eta: float, K: ArrayLike, lam: ArrayLike) -> np.ndarray:
        """The reduced linearization ``M`` (``N x N``, in data space) of the late-time error dynamics at
        the fixed point:

        .. math::  M = -\\eta\\, P_T K P_T - 2\\eta \\sum_k \\lambda_k \\nu_k |w_k|\\, n_k n_k^T ,

        ``P_T`` the projector on the complement of the active normals ``n_k = w_k / |w_k|`` and ``lambda_k``
        the relative dQNTK along ``n_k`` (``n^T K n = 2 lambda_k n . (f - f*)``). Its zero modes are the
        faces with ``nu_k = 0`` (critical); ``det M = 0`` iff the law is polynomial. The signs come from the
        model alone; the values need the late kernel ``K`` and ``lam`` (e.g. measured).

        Args:
            eta: learning rate.
            K: late-time kernel matrix ``(N, N)`` (only its block on ``T`` enters).
            lam: one ``lambda_k > 0`` per active face (in the order of :attr:`active`).
        """
        eta = check_positive("eta", eta)
        n = len(self.targets)
        K = np.asarray(K, dtype=np.float64)
        lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
        if K.shape != (n, n) or lam.shape != (len(self.active),):
            raise ValueError(f"need K of shape ({n}, {n}) and one lam per active face ({len(self.active)}).")
        normals = []
        for data, side in self.active:
            w = np.zeros(n)
            w[list(data)] = 1.0 if side == "lower" else -1.0
            normals.append(w)
        M = np.zeros((n, n))
        P = np.eye(n)
        if normals:
            Nm = np.array(normals).T
            P = np.eye(n) - Nm @ np.linalg.pinv(Nm)
        M -= eta * P @ K @ P
        for w, l, v in zip(normals, lam, self.nu):
            norm = np.linalg.norm(w)
            M -= 2.0 * eta * l * v * norm * np.outer(w, w) / norm**2
        return M


def predict_phase(observable: Any, targets: ArrayLike | None = None, *, atol: float | None = None) -> PhasePrediction:
    """The late-time class of training on orthonormal inputs with targets ``y``, from the model alone.

    Args:
        observable: a :class:`~qntk.models.Model` (its observable; its data set's labels are the default
            targets, and its input states must be orthonormal), an Observable, a Hermitian matrix, or the
            eigenvalues of ``O``.
        targets: ``y``, shape ``(N,)``, ``1 <= N <= min(d, MAX_DATA)``.
        atol: tolerance of "on the boundary" and of ``R_a = 0``; default ``1e-9 max(1, |lambda|_max)``.

    Raises:
        ValueError: without targets, for too many data, or a Model whose input states are not orthonormal.

    Example:
        >>> p = predict_phase([-1.5, -0.5, 0.5, 1.5], [-2.0, -0.5])
        >>> p.phase, p.law, p.types
        ('critical-frozen-error', 'polynomial', ('frozen-error', 'critical'))
    """
    if isinstance(observable, Model) and observable.dataset is not None:
        data = observable.dataset
        if data.states is None:
            raise ValueError("predict_phase needs input states (the theory is for orthonormal input states).")
        gram = data.states.conj() @ data.states.T
        if not np.allclose(gram, np.eye(len(data)), atol=1e-9):
            raise ValueError("the model's input states are not orthonormal: the achievable region of "
                             "predict_phase (Schur-Horn) holds for orthonormal inputs only.")
        if targets is None:
            targets = data.labels
    if targets is None:
        raise ValueError("pass the targets y (or a Model with a data set).")
    lam = _spectrum(observable)
    y = np.asarray(targets, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"targets must be 1-D (one per datum), got shape {y.shape}.")
    atol = _default_atol(lam) if atol is None else check_non_negative("atol", atol)
    types, f_star, R = classify(y, lam, atol=atol)
    _, nu = project(y, lam, atol=atol)
    W, b = constraints(lam, y.size)
    active_idx = np.flatnonzero(np.abs(f_star @ W.T - b) <= atol)
    active = tuple((tuple(int(i) for i in np.flatnonzero(W[k])), "lower" if W[k].max() > 0 else "upper")
                   for k in active_idx)
    names = tuple(TYPES[int(k)] for k in types)
    phase = phase_name(names)
    zero_modes = int(np.linalg.matrix_rank(W[active_idx])) if active_idx.size else 0
    return PhasePrediction(phase, names, tuple(map(float, y)), tuple(map(float, f_star)), tuple(map(float, R)),
                           float(np.linalg.norm(R)), "polynomial" if phase in POLYNOMIAL else "exponential",
                           active, tuple(float(nu[k]) for k in active_idx), tuple(map(float, lam)), zero_modes)


# ----------------------------------------------------------------------------------------------
# measurement


@dataclass(frozen=True)
class PhaseMeasurement:
    """The class of a simulated trajectory, from the late window.

    Attributes:
        phase: a name from :data:`PHASE_NAMES`.
        types: per-datum law, from :data:`TYPES`.
        power: per-datum exponent ``d log|eps_a| / d log t`` over the window (``-inf`` when converged to
            rounding level).
        eps_late: per-datum late error (median over samples at the last step): ``R`` of frozen-error data.
        K_eigenvalues: ascending eigenvalues of the late kernel matrix (median over samples; NaN without ``K``).
        K_power: exponent ``d log kappa_k / d log t`` of each (ascending) kernel eigenvalue over the window
            (NaN without ``K``; ``-inf`` for one that fell to rounding level).
        n_zero_modes: number of kernel eigenvalues that decay (``K_power < -1/2``: the vanishing ones go as
            ``1/t`` or exponentially, the frozen ones are flat); -1 without ``K``.
        law: ``"exponential"`` or ``"polynomial"``.
    """

    phase: str
    types: tuple[str, ...]
    power: tuple[float, ...]
    eps_late: tuple[float, ...]
    K_eigenvalues: tuple[float, ...]
    K_power: tuple[float, ...]
    n_zero_modes: int
    law: str


def power_exponent(t: ArrayLike, values: ArrayLike) -> float:
    """``d log|values| / d log t``: the Theil-Sen slope (median of pairwise slopes, :mod:`qntk.theory.lv`) of
    ``log|values|`` against ``log t``; zeros are dropped; NaN for fewer than 3 usable points.

    Example:
        >>> t = np.arange(100.0, 200.0)
        >>> round(power_exponent(t, 3.0 / t), 12)
        -1.0
    """
    t, x = np.asarray(t, dtype=np.float64), np.abs(np.asarray(values, dtype=np.float64))
    if t.shape != x.shape or t.ndim != 1 or np.any(t <= 0):
        raise ValueError("t and values must be 1-D arrays of one length, with t > 0.")
    return _robust_slope(np.log(t), _log_abs(x))  # zeros -> -inf, dropped by the fit


def measure_phase(t: ArrayLike, eps: ArrayLike, K: ArrayLike | None = None, *, window: float = 0.5) -> PhaseMeasurement:
    """The late-time class of a simulated run from its errors ``eps_a(t)`` (and kernel, reported).

    Per datum, ``|eps_a|`` (the median over samples when ``eps`` has a sample axis) is fitted over the last
    ``window`` fraction of the steps by ``p = d log|eps_a| / d log t`` (Theil-Sen, :mod:`qntk.theory.lv`):
    frozen error ``p > -1/2`` (``eps_a -> R_a``), critical ``-5/4 <= p <= -1/2`` (``eps_a ~ 1/t``, 004
    eq. (15)), frozen kernel ``p < -5/4`` (exponential, or the slaved ``t^{-3/2}`` tail next to a critical
    direction); a datum whose ``|eps_a|`` fell below ``CONVERGED_RTOL`` of its start is frozen kernel. The
    theory is not used.

    Args:
        t: steps, 1-D, increasing, with ``t > 0`` in the window.
        eps: errors, shape ``(T, N)`` or ``(T, samples, N)``.
        K: kernel matrices, ``(T, N, N)`` or ``(T, samples, N, N)``, or None.
        window: late fraction of the steps that is read, in (0, 1], at least 3 points.

    Raises:
        ValueError: for shapes that do not match ``t``, a window of fewer than 3 points or ``t`` not increasing.

    Example:
        >>> t = np.arange(1, 2001)
        >>> eps = np.stack([0.5 + np.exp(-0.01 * t), 1 / (0.01 * t + 1), np.exp(-0.02 * t)], axis=1)
        >>> measure_phase(t, eps).phase
        'critical-mixed-frozen'
    """
    t = np.asarray(t, dtype=np.float64)
    e = np.asarray(eps, dtype=np.float64)
    if t.ndim != 1 or e.ndim not in (2, 3) or e.shape[0] != t.size:
        raise ValueError(f"need t (T,) and eps (T, N) or (T, samples, N); got {t.shape} and {e.shape}.")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing.")
    window = check_real("window", window)
    n_win = math.ceil(window * t.size - 1e-9)
    if not 0 < window <= 1 or n_win < 3:
        raise ValueError(f"window must be in (0, 1] and hold at least 3 points, got {window!r} ({n_win} points).")
    abs_eps = np.median(np.abs(e), axis=1) if e.ndim == 3 else np.abs(e)
    late_eps = np.median(e[-1], axis=0) if e.ndim == 3 else e[-1]
    tw, xw = t[-n_win:], abs_eps[-n_win:]
    if np.any(tw <= 0):
        raise ValueError("the window must have t > 0 (the exponent is d log|eps| / d log t).")
    types, powers = [], []
    for a in range(abs_eps.shape[1]):
        x = xw[:, a]
        if x[-1] <= CONVERGED_RTOL * max(1.0, abs_eps[0, a]):
            types.append("frozen-kernel")
            powers.append(-math.inf)
            continue
        p = power_exponent(tw, x)
        powers.append(p)
        types.append("frozen-error" if p > P_SPLITS[1] else "critical" if p >= P_SPLITS[0] else "frozen-kernel")
    n = abs_eps.shape[1]
    if K is None:
        k_eig, k_power, zero_modes = (math.nan,) * n, (math.nan,) * n, -1
    else:
        k = np.asarray(K, dtype=np.float64)
        if k.shape != e.shape + (n,):
            raise ValueError(f"K must have shape {e.shape + (n,)} (eps's shape and one more data axis), got {k.shape}.")
        ev = np.linalg.eigvalsh(k)  # (T, [samples,] N), ascending
        ev = np.median(ev, axis=1) if k.ndim == 4 else ev
        k_eig = tuple(map(float, ev[-1]))
        scale = max(float(ev[0].max()), np.finfo(float).tiny)
        k_power = []
        for j in range(n):
            x = ev[-n_win:, j]
            if x[-1] <= CONVERGED_RTOL * scale:
                k_power.append(-math.inf)
                continue
            k_power.append(power_exponent(tw, np.maximum(x, 0.0)))
        k_power = tuple(map(float, k_power))
        zero_modes = int(sum(p < P_SPLITS[1] for p in k_power))
    phase = phase_name(types)
    return PhaseMeasurement(phase, tuple(types), tuple(map(float, powers)), tuple(map(float, late_eps)), k_eig,
                            k_power, zero_modes, "polynomial" if phase in POLYNOMIAL else "exponential")
