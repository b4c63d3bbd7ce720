"""Generalized Lotka-Volterra (LV) model of late-time QNN training with a quadratic loss (004).

At late time, with the relative dQNTK ``lam = mu / K`` constant (004 eq. (9)), the error
``eps = <O> - O_0`` and the QNTK ``K`` follow, to first order in the learning rate ``eta``,

.. math::  \\partial_t \\varepsilon = -\\eta \\varepsilon K , \\qquad
           \\partial_t K = -2 \\eta \\lambda \\varepsilon K            \\qquad \\text{(004 eq. (10))}

with the conserved ``C = K - 2 lam eps = (1 - 2 zeta) K`` (004 eqs. (11), (13)). Its sign picks the
late-time regime (004 Theorem 1): ``C > 0`` frozen kernel (``K -> C``, ``eps ~ exp(-eta C t)``,
eq. (14)), ``C = 0`` critical point (``K = 2 lam eps = 1 / (eta t + c)``, eq. (15)), ``C < 0`` frozen
error (``eps -> R = -C / (2 lam)``, ``K = 2 lam (eps - R) ~ exp(-2 eta lam R t)``, eq. (16)).

* :func:`solve`: the exact solution of eq. (10) (004 eqs. (33), (34) in a form stable for every ``C``);
  :func:`iterate`: the discrete map of 004 eqs. (7)-(8) that gradient descent follows;
* :func:`conserved`, :func:`dynamical_index`, :func:`rhs`, :func:`canonical`, :func:`hamiltonian`
  (004 eqs. (30)-(32));
* :func:`predict_regime`: the regime from ``O_0`` and the spectrum of ``O`` alone (004 Theorem 1);
  :func:`measure_regime`: the regime of a simulated trajectory; :func:`fit_offset`: the one constant
  004 fits (``B1`` or ``B2``).

Everything is NumPy float64. Here ``lam`` is the glossary's ``lambda_``; the time ``t`` counts
gradient-descent steps.

Example:
    >>> eps, K = solve(1.0, 3.0, 1.0, 0.1, np.arange(50))   # C = 3 - 2 * 1 * 1 = 1 > 0
    >>> eps.shape, K.shape
    ((50,), (50,))
    >>> bool(np.allclose(conserved(eps, K, 1.0), 1.0)), round(float(K[-1]), 4)
    (True, 1.005)
    >>> predict_regime(-22.0, -22.0, 14.38).regime
    'critical'
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..models._spec import (
    check_choice,
    check_int,
    check_non_negative,
    check_positive,
    check_real,
)

#: The three late-time regimes of 004 Theorem 1, from ``C > 0`` to ``C < 0``.
REGIMES = ("frozen-kernel", "critical", "frozen-error")

#: ``rtol`` that :func:`measure_regime` passes to :func:`regime_from_C` with ``C / K = 1 - 2 zeta``:
#: the splits ``C / K = +-1/2`` (``zeta = 1/4`` and ``3/4``) lie halfway between the critical value
#: ``C / K = 0`` and the frozen-kernel fixed point ``C / K = 1`` (and frozen error has ``C / K -> -oo``).
C_OVER_K_SPLIT = 0.5

#: :func:`measure_regime` calls its window ``resolved`` when ``K`` or ``|eps|`` changes by more than
#: this in log over the window (5 %); below it nothing decays measurably and the regime is a guess.
RESOLVED_MIN_LOG_CHANGE = 0.05

#: Theil-Sen slopes use at most this many (evenly spaced) points of the window: ``n (n - 1) / 2`` pairs.
_MAX_FIT_POINTS = 200


# ----------------------------------------------------------------------------------------------
# argument checks


def _array(name: str, value: ArrayLike) -> np.ndarray:
    """``value`` as a float64 array of finite numbers, or a ValueError naming ``name``."""
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {value!r}.") from None
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}.")
    return out


def _non_negative_array(name: str, value: ArrayLike) -> np.ndarray:
    out = _array(name, value)
    if np.any(out < 0):
        raise ValueError(f"{name} must be >= 0 (the QNTK is a sum of squares; time starts at 0), got {value!r}.")
    return out


def _broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must have broadcastable shapes, got {shapes}.") from None


def _series(name: str, value: ArrayLike, n: int | None = None) -> np.ndarray:
    """A 1-D float64 array (of length ``n`` when given)."""
    out = _array(name, value)
    if out.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array over steps, got shape {out.shape}.")
    if n is not None and out.size != n:
        raise ValueError(f"{name} has {out.size} points but t has {n}: pass arrays of the same length.")
    return out


# ----------------------------------------------------------------------------------------------
# the LV equations


def conserved(eps: ArrayLike, K: ArrayLike, lam: ArrayLike) -> np.ndarray:
    """The conserved quantity ``C = K - 2 lam eps`` of eq. (10) (004 eq. (11)).

    Example:
        >>> float(conserved(1.0, 3.0, 1.0))
        1.0
    """
    return np.asarray(K, dtype=np.float64) - 2.0 * np.asarray(lam, dtype=np.float64) * np.asarray(eps, dtype=np.float64)


def dynamical_index(eps: ArrayLike, K: ArrayLike, mu: ArrayLike) -> np.ndarray:
    """The dynamical index ``zeta = eps mu / K^2`` (004 eq. (13)).

    With ``mu = lam K``, ``zeta = lam eps / K`` and ``C = (1 - 2 zeta) K`` (004 Theorem 1): ``zeta < 1/2``,
    ``= 1/2``, ``> 1/2`` is ``C > 0``, ``= 0``, ``< 0``.

    Example:
        >>> float(dynamical_index(1.0, 4.0, 8.0))   # mu = 2 K: lam = 2, C = 4 - 4 = 0
        0.5
    """
    K = np.asarray(K, dtype=np.float64)
    return np.asarray(eps, dtype=np.float64) * np.asarray(mu, dtype=np.float64) / K**2


def rhs(eps: ArrayLike, K: ArrayLike, lam: ArrayLike, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """The right-hand side ``(d eps/dt, dK/dt) = (-eta eps K, -2 eta lam eps K)`` of 004 eq. (10).

    Raises:
        ValueError: if ``eta`` is not a positive number.

    Example:
        >>> [float(v) for v in rhs(1.0, 3.0, 1.0, 0.1)]
        [-0.30000000000000004, -0.6000000000000001]
    """
    eta = check_positive("eta", eta)
    eps, K, lam = (np.asarray(v, dtype=np.float64) for v in (eps, K, lam))
    d_eps = -eta * eps * K
    return d_eps, 2.0 * lam * d_eps


def _phi_neg(a: np.ndarray) -> np.ndarray:
    """``phi(-a) = (1 - exp(-a)) / a`` for ``a >= 0`` (``phi(0) = 1``): in (0, 1], no overflow."""
    safe = np.where(a > 0, a, 1.0)
    return np.where(a > 0, -np.expm1(-safe) / safe, 1.0)


def solve(eps0: ArrayLike, K0: ArrayLike, lam: ArrayLike, eta: float, t: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The exact solution ``(eps(t), K(t))`` of the LV equations 004 eq. (10) from ``(eps0, K0)`` at ``t = 0``.

    With ``C = K0 - 2 lam eps0`` (004 eq. (11)), ``dK/dt = eta (C - K) K`` (004 eq. (12)) is logistic, and
    ``1/K`` solves a linear equation. With ``x = -eta C t`` and ``phi(x) = expm1(x) / x``:

    .. math::  K(t) = \\frac{K_0}{D(t)}, \\quad \\varepsilon(t) = \\frac{\\varepsilon_0 e^{x}}{D(t)}, \\quad
               D(t) = e^{x} + K_0 \\eta t \\, \\phi(x) ,

    which is 004 eq. (33) with ``B1 = K0 / (lam eps0)`` for ``C != 0``, 004 eq. (34) with ``B2 = K0 / 2`` for
    ``C = 0``, and ``K = K0``, ``eps = eps0 exp(-eta K0 t)`` for ``lam = 0``, all continuous through
    ``C = 0``. For ``C < 0`` (``x > 0``) it is evaluated as ``K = K0 e^{-x} / E``, ``eps = eps0 / E`` with
    ``E = e^{-x} D = 1 + K0 eta t phi(-x)``, so nothing overflows at any ``t``; for ``C >= 0`` with
    ``lam eps0 >= 0`` the equal form ``D = 1 + 2 lam eps0 eta t phi(x)`` is used, so that every denominator is
    a sum of non-negative terms (no cancellation) and ``lam = 0`` gives ``K = K0`` exactly.

    Args:
        eps0: initial error ``eps(0)``, any shape (the batch).
        K0: initial QNTK ``K(0) >= 0``, broadcastable with ``eps0``.
        lam: relative dQNTK ``lam = mu / K``, broadcastable with ``eps0``.
        eta: learning rate, ``> 0``.
        t: times ``>= 0`` (steps; the solution depends on ``eta t`` only), any shape.

    Returns:
        ``(eps, K)``, each of shape ``batch + t.shape`` (time last, like :func:`iterate`).

    Raises:
        ValueError: for a non-positive ``eta``, a negative ``K0`` or ``t``, non-finite values or
            shapes that do not broadcast.

    Example:
        >>> eps, K = solve([1.0, 2.0, 3.0], 4.0, 1.0, 0.01, np.arange(11))  # C = 2, 0, -2
        >>> eps.shape
        (3, 11)
    """
    eta = check_positive("eta", eta)
    eps0, K0, lam = _broadcast(eps0=_array("eps0", eps0), K0=_non_negative_array("K0", K0), lam=_array("lam", lam))
    t = _non_negative_array("t", t)
    expand = (...,) + (None,) * t.ndim
    eps0, K0, lam = eps0[expand], K0[expand], lam[expand]
    x = -eta * (K0 - 2.0 * lam * eps0) * t
    a = np.abs(x)
    decay = np.exp(-a)  # e^{-|x|}, underflows harmlessly to 0
    grow = K0 * (eta * t) * _phi_neg(a)  # K0 eta t phi(-|x|) >= 0, bounded by K0 / |C|
    kernel_side = x <= 0  # C >= 0: denominators D; C < 0: E = e^{-x} D
    # For C >= 0, D = 1 + 2 lam eps0 eta t phi(-|x|) as well: use whichever form adds non-negative terms.
    d_kernel = np.where(lam * eps0 >= 0, 1.0 + 2.0 * lam * eps0 * (eta * t) * _phi_neg(a), decay + grow)
    den = np.where(kernel_side, d_kernel, 1.0 + grow)
    with np.errstate(divide="ignore", invalid="ignore"):
        # den == 0 only when decay underflowed and grow == 0, i.e. K0 == 0: then K = 0 and eps = eps0.
        K = np.where(den > 0, K0 * np.where(kernel_side, 1.0, decay) / den, K0)
        eps = np.where(den > 0, eps0 * np.where(kernel_side, decay, 1.0) / den, eps0)
    return eps, K


def iterate(eps0: ArrayLike, K0: ArrayLike, lam: ArrayLike, eta: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The discrete-time map of 004 eqs. (7)-(8) at first order in ``eta`` with constant ``lam``:

    .. math::  \\varepsilon_{t+1} = \\varepsilon_t - \\eta \\varepsilon_t K_t , \\qquad
               K_{t+1} = K_t - 2 \\eta \\lambda \\varepsilon_t K_t ,

    the late-time dynamics of gradient descent with learning rate ``eta``; :func:`solve` is its
    ``eta -> 0`` limit at fixed ``eta t``. The map conserves ``C = K - 2 lam eps`` exactly (not only to
    ``O(eta^2)``): ``K_{t+1} - 2 lam eps_{t+1} = K_t - 2 lam eps_t``, so ``K`` follows the discrete logistic
    map ``K_{t+1} = K_t (1 + eta (C - K_t))``, which converges only for ``0 < eta C < 2`` (and ``eta K`` not too
    large); a diverging run gives a RuntimeWarning and inf/NaN.

    Args:
        eps0, K0, lam: initial error, initial QNTK (``>= 0``) and relative dQNTK, broadcastable (the batch).
        eta: learning rate, ``> 0``.
        steps: number of steps, ``>= 0``.

    Returns:
        ``(eps, K)``, each of shape ``batch + (steps + 1,)``, index ``t`` holding the value after ``t`` steps.

    Example:
        >>> eps, K = iterate(1.0, 3.0, 1.0, 0.1, 2)
        >>> [round(float(v), 4) for v in eps], [round(float(v), 4) for v in K]
        ([1.0, 0.7, 0.532], [3.0, 2.4, 2.064])
    """
    eta = check_positive("eta", eta)
    steps = check_int("steps", steps, 0)
    eps0, K0, lam = _broadcast(eps0=_array("eps0", eps0), K0=_non_negative_array("K0", K0), lam=_array("lam", lam))
    eps = np.empty(eps0.shape + (steps + 1,))
    K = np.empty_like(eps)
    e, k = eps0.copy(), K0.copy()
    eps[..., 0], K[..., 0] = e, k
    two_lam = 2.0 * lam
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, steps + 1):
            d_eps = eta * e * k
            e, k = e - d_eps, k - two_lam * d_eps
            eps[..., step], K[..., step] = e, k
    if not (np.all(np.isfinite(eps)) and np.all(np.isfinite(K))):
        warnings.warn(
            "iterate: the map diverged (inf/NaN); it converges for 0 < eta C < 2 with moderate eta K: lower eta.",
            RuntimeWarning,
            stacklevel=2,
        )
    return eps, K


# ----------------------------------------------------------------------------------------------
# Hamiltonian form, 004 eqs. (30)-(32)


def canonical(eps: ArrayLike, K: ArrayLike, lam: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Canonical coordinates ``(Q, P) = (log(2 lam eps), log K)`` (004 eq. (30)).

    Raises:
        ValueError: unless ``2 lam eps > 0`` and ``K > 0`` (the logs are real there only).

    Example:
        >>> [round(float(v), 4) for v in canonical(0.5, 1.0, 1.0)]
        [0.0, 0.0]
    """
    eps, K, lam = (_array(n, v) for n, v in (("eps", eps), ("K", K), ("lam", lam)))
    scaled = 2.0 * lam * eps
    if np.any(scaled <= 0) or np.any(K <= 0):
        raise ValueError("canonical coordinates need 2 lam eps > 0 and K > 0 (004 eq. (30) takes their logs).")
    return np.log(scaled), np.log(K)


def hamiltonian(Q: ArrayLike, P: ArrayLike, eta: float) -> np.ndarray:
    """``H(Q, P) = eta (e^Q - e^P) = eta (2 lam eps - K) = -eta C`` (004 eq. (31)).

    Hamilton's equations ``dQ/dt = dH/dP = -eta K``, ``dP/dt = -dH/dQ = -2 eta lam eps`` (004 eq. (32)) are
    eq. (10) divided by ``eps`` and ``K``.

    Example:
        >>> float(hamiltonian(0.0, 0.0, 0.1))
        0.0
    """
    eta = check_positive("eta", eta)
    return eta * (np.exp(np.asarray(Q, dtype=np.float64)) - np.exp(np.asarray(P, dtype=np.float64)))


# ----------------------------------------------------------------------------------------------
# regimes


def regime_from_C(C: ArrayLike, K: ArrayLike, rtol: float) -> str | np.ndarray:
    """The regime of a conserved ``C`` against the kernel scale ``K`` (004 Theorem 1):
    ``"frozen-kernel"`` when ``C > rtol K``, ``"frozen-error"`` when ``C < -rtol K``, else ``"critical"``.

    Args:
        C: conserved quantity (004 eq. (11)).
        K: QNTK at which ``C`` is judged, broadcastable with ``C``.
        rtol: half-width of the critical band relative to ``K``, ``>= 0`` (e.g. ``C_OVER_K_SPLIT``).

    Returns:
        a name from :data:`REGIMES` for scalar inputs, else an array of names of the broadcast shape.

    Example:
        >>> regime_from_C(0.9, 1.0, 0.5), regime_from_C(-1e-3, 1.0, 1e-2)
        ('frozen-kernel', 'critical')
    """
    rtol = check_non_negative("rtol", rtol)
    C, K = _broadcast(C=_array("C", C), K=_array("K", K))
    out = np.where(C > rtol * K, REGIMES[0], np.where(C < -rtol * K, REGIMES[2], REGIMES[1]))
    return str(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class RegimePrediction:
    """The late-time regime predicted from ``O_0`` and the spectrum of ``O`` (004 Theorem 1).

    Attributes:
        regime: a name from :data:`REGIMES`.
        target: ``O_0``.
        o_min, o_max: the extreme eigenvalues of ``O``.
        R: late-time error ``lim eps = lim <O> - O_0``: 0 for frozen kernel and critical,
            ``O_min - O_0 > 0`` below the spectrum, ``O_max - O_0 < 0`` above it.
        boundary: ``"O_min"`` or ``"O_max"``, the nearer edge of the spectrum.
    """

    regime: str
    target: float
    o_min: float
    o_max: float
    R: float
    boundary: str

    def __post_init__(self) -> None:
        check_choice("regime", self.regime, REGIMES)
        check_choice("boundary", self.boundary, ("O_min", "O_max"))

    def late_time(self, eta: float, K_inf: float = 0.0, lam: float | None = None) -> dict:
        """The late-time laws of this regime (004 eqs. (14)-(16)).

        Args:
            eta: learning rate, ``> 0``.
            K_inf: late-time QNTK ``C`` (needed, ``> 0``, for frozen kernel; 0 otherwise).
            lam: late-time relative dQNTK (needed for frozen error, with ``lam R > 0``).

        Returns:
            a dict with keys

            * ``law``: ``"exponential"`` or ``"power"``;
            * ``decaying``: what decays by that law: ``"eps"`` (frozen kernel), ``"K and eps"``
              (critical), ``"K and eps - R"`` (frozen error, where ``K = 2 lam (eps - R)``);
            * ``rate``: decay rate per step of the exponential, ``eta K_inf`` (eq. (14)) or
              ``2 eta lam R`` (eq. (16)); NaN for the power law;
            * ``power``: exponent ``p`` of ``K ~ t^p`` at criticality, ``-1`` (eq. (15):
              ``K = 2 lam eps = 1 / (eta t + c)``, ``c`` fitted, see :func:`fit_offset`); NaN otherwise;
            * ``K_limit``, ``eps_limit``: the late-time limits of ``K`` and ``eps``;
            * ``equation``: the seed equation.

        Raises:
            ValueError: for a non-positive ``eta``, ``K_inf <= 0`` in frozen kernel, ``lam`` missing or
                ``lam R <= 0`` in frozen error.
        """
        eta = check_positive("eta", eta)
        if self.regime == "frozen-kernel":
            K_inf = check_positive("K_inf (the frozen QNTK C)", K_inf)
            return {"law": "exponential", "decaying": "eps", "rate": eta * K_inf, "power": math.nan,
                    "K_limit": K_inf, "eps_limit": 0.0, "equation": "004 eq. (14)"}
        if self.regime == "critical":
            return {"law": "power", "decaying": "K and eps", "rate": math.nan, "power": -1.0,
                    "K_limit": 0.0, "eps_limit": 0.0, "equation": "004 eq. (15)"}
        if lam is None or not check_real("lam", lam) * self.R > 0:
            raise ValueError(
                f"frozen error needs lam with lam R > 0 (C = -2 lam R < 0) and R = {self.R!r}, got lam={lam!r}: "
                "pass the late-time relative dQNTK mu / K."
            )
        return {"law": "exponential", "decaying": "K and eps - R", "rate": 2.0 * eta * lam * self.R,
                "power": math.nan, "K_limit": 0.0, "eps_limit": self.R, "equation": "004 eq. (16)"}


def predict_regime(target: float, o_min: float, o_max: float, *, atol: float | None = None) -> RegimePrediction:
    """The late-time regime from the target ``O_0`` and the spectrum ``[O_min, O_max]`` of ``O`` (004 Theorem 1
    and the text after it; the ``O_max`` side is the mirror image).

    ``O_min < O_0 < O_max``: frozen kernel (``eps -> 0`` exponentially); ``|O_0 - O_min| <= atol`` or
    ``|O_0 - O_max| <= atol``: critical (power law); outside: frozen error (``eps -> R != 0``). This uses
    only the model, never a trajectory.

    Args:
        target: ``O_0``.
        o_min, o_max: extreme eigenvalues of ``O`` (``Observable.spectrum_extremes()``), ``o_min <= o_max``.
        atol: half-width of the critical band, ``>= 0``; default ``1e-9 max(1, |O_min|, |O_max|)``.

    Raises:
        ValueError: for non-finite numbers, ``o_min > o_max`` or a negative ``atol``.

    Example:
        >>> p = predict_regime(-25.0, -22.0, 14.38)
        >>> p.regime, p.R, p.boundary
        ('frozen-error', 3.0, 'O_min')
        >>> p.late_time(0.01, lam=2.0)["rate"]
        0.12
    """
    target, o_min, o_max = (check_real(n, v) for n, v in (("target", target), ("o_min", o_min), ("o_max", o_max)))
    if o_min > o_max:
        raise ValueError(f"o_min must be <= o_max, got o_min={o_min!r} > o_max={o_max!r}: swap them.")
    atol = 1e-9 * max(1.0, abs(o_min), abs(o_max)) if atol is None else check_non_negative("atol", atol)
    boundary = "O_min" if abs(target - o_min) <= abs(target - o_max) else "O_max"
    if abs(target - o_min) <= atol or abs(target - o_max) <= atol:
        regime, R = "critical", 0.0
    elif o_min < target < o_max:
        regime, R = "frozen-kernel", 0.0
    else:
        regime, R = "frozen-error", (o_min if target < o_min else o_max) - target
    return RegimePrediction(regime, target, o_min, o_max, R, boundary)


@dataclass(frozen=True)
class RegimeMeasurement:
    """The regime of a simulated trajectory, with the late-time numbers it was read from (NaN where not
    available). Rates are per unit of ``t``; see :func:`measure_regime`.

    Attributes:
        regime: a name from :data:`REGIMES` (from ``zeta`` when ``mu`` was given, else ``fit_regime``).
        zeta: median dynamical index ``eps mu / K^2`` over the window (NaN without ``mu`` or if ``K = 0``
            throughout the window, where ``regime`` comes from the fits).
        C_over_K: ``1 - 2 zeta`` (NaN without ``mu``).
        eps_rate: exponential decay rate of ``|eps|``, ``-d log|eps| / dt``.
        K_rate: exponential decay rate of ``K``, ``-d log K / dt``.
        K_power: power-law exponent of ``K``, ``d log K / d log t`` (-1 at criticality).
        eps_power: power-law exponent of ``|eps|``, ``d log|eps| / d log t``.
        zeta_fit: ``K_rate / (2 eps_rate)``, which is ``zeta`` for the LV equations (no ``mu`` needed).
        fit_regime: the regime from the fitted rates alone.
        resolved: whether ``K`` or ``|eps|`` changes measurably over the window (see
            :data:`RESOLVED_MIN_LOG_CHANGE`); if not, ``fit_regime`` is a guess.
        method: ``"zeta"`` or ``"fits"``, what ``regime`` came from.
    """

    regime: str
    zeta: float
    C_over_K: float
    eps_rate: float
    K_rate: float
    K_power: float
    eps_power: float
    zeta_fit: float
    fit_regime: str
    resolved: bool
    method: str

    def __post_init__(self) -> None:
        check_choice("regime", self.regime, REGIMES)
        check_choice("fit_regime", self.fit_regime, REGIMES)
        check_choice("method", self.method, ("zeta", "fits"))


def _robust_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Theil-Sen slope (median of pairwise slopes) of the finite points; NaN for fewer than 3."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return math.nan
    if x.size > _MAX_FIT_POINTS:
        keep = np.unique(np.linspace(0, x.size - 1, _MAX_FIT_POINTS).round().astype(int))
        x, y = x[keep], y[keep]
    i, j = np.triu_indices(x.size, 1)
    dx = x[j] - x[i]
    distinct = dx != 0
    if not np.any(distinct):
        return math.nan
    return float(np.median((y[j] - y[i])[distinct] / dx[distinct]))


def _log_abs(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.abs(values))  # zeros -> -inf, dropped by the fits


def _rate(t: np.ndarray, values: np.ndarray) -> float:
    """``-d log|values| / dt``; ``inf`` when the values are all exactly 0 (fully decayed)."""
    if np.all(values == 0):
        return math.inf
    return -_robust_slope(t, _log_abs(values))


def _fit_regime(eps_rate: float, K_rate: float) -> str:
    """Regime from ``2 zeta = K_rate / eps_rate`` against ``1/2 +- C_OVER_K_SPLIT / 2``, without dividing."""
    lo, hi = 1.0 - C_OVER_K_SPLIT, 1.0 + C_OVER_K_SPLIT  # 2 zeta < lo: frozen kernel; > hi: frozen error
    if eps_rate > 0 and K_rate < lo * eps_rate:
        return "frozen-kernel"
    if K_rate > 0 and K_rate > hi * eps_rate:
        return "frozen-error"
    return "critical"


def measure_regime(
    t: ArrayLike, eps: ArrayLike, K: ArrayLike, mu: ArrayLike | None = None, *, window: float = 0.5
) -> RegimeMeasurement:
    """The late-time regime of a simulated trajectory (one run or an ensemble mean), from the last
    ``window`` fraction of its steps.

    Fits (always): ``eps_rate = -d log|eps|/dt``, ``K_rate = -d log K/dt`` and the power-law exponents
    ``K_power = d log K / d log t``, ``eps_power = d log|eps| / d log t`` (``t > 0`` only), each the
    Theil-Sen slope (median of pairwise slopes): it equals the least-squares slope on an exact law and
    ignores the few points where a noisy ``eps`` or an ensemble mean crosses zero (``log|eps|`` dives
    there; exact zeros are dropped). The laws (004 eqs. (14)-(16)): frozen kernel has ``K`` nearly
    constant and ``|eps|`` decaying exponentially (``K_rate << eps_rate``); frozen error has ``K``
    decaying exponentially and ``eps`` tending to ``R != 0`` (``eps_rate << K_rate``); at criticality
    ``K = 2 lam eps`` both decay alike, as ``t^-1`` (``K_rate = eps_rate``, ``K_power -> -1``).

    Classification. For the LV equations (004 eq. (10)) ``K_rate / eps_rate = 2 lam eps / K = 2 zeta``
    exactly, so one scale-free number separates the regimes, with or without ``mu``:

    * the fitted rates decide when the window is ``resolved``: they measure the laws themselves, while
      ``zeta`` equals ``K_rate / (2 eps_rate)`` only where ``lam`` is constant (at ``n = 4`` an RPA at
      its critical point has ``K ~ 1/t`` but ``zeta ~ 0.7`` after 1000 steps, as ``lam`` still drifts);
    * with ``mu`` and an unresolved window: ``zeta`` is the median of ``eps mu / K^2`` over the window
      (robust to noise and to ``eps`` crossing zero) and the regime is :func:`regime_from_C` of
      ``C / K = 1 - 2 zeta`` with
      ``rtol = C_OVER_K_SPLIT = 1/2``: frozen kernel for ``zeta < 1/4``, frozen error for ``zeta > 3/4``,
      critical between (the splits lie halfway between the critical ``C / K = 0`` and the frozen-kernel
      fixed point ``C / K = 1``; frozen error runs to ``C / K -> -oo``);
    * without ``mu``: the same splits on ``zeta_fit = K_rate / (2 eps_rate)`` (evaluated without
      dividing, so a frozen error with ``eps_rate ~ 0`` of either sign is still frozen error).

    ``K_power`` is reported, not used: it is -1 only once ``eta K t >> 1`` (``K = 1 / (eta t + c)``).
    ``resolved`` is False when neither ``K`` nor ``|eps|`` changes by ``RESOLVED_MIN_LOG_CHANGE`` in log
    over the window (nothing has happened yet: use more steps).

    Args:
        t: steps (absolute, from the start of training: the power laws refer to it), 1-D, increasing.
        eps: error ``<O> - O_0`` at ``t``, same length.
        K: QNTK at ``t``, same length (non-positive values are dropped from the log fits).
        mu: dQNTK at ``t``, same length, or None.
        window: fraction of the steps, at the end, that is read; in (0, 1], at least 3 points.

    Raises:
        ValueError: for arrays that are not 1-D, differ in length or are not finite, ``t`` not
            increasing, or ``window`` outside (0, 1] or holding fewer than 3 points.

    Example:
        >>> eps, K = iterate(8.0, 10.0, 1.0, 0.01, 2000)    # C = -6: frozen error, R = 3
        >>> m = measure_regime(np.arange(2001), eps, K)
        >>> m.regime, round(m.K_rate, 3)
        ('frozen-error', 0.062)
    """
    t = _series("t", t)
    eps, K = _series("eps", eps, t.size), _series("K", K, t.size)
    mu = None if mu is None else _series("mu", mu, t.size)
    window = check_real("window", window)
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1] (the late fraction of the steps to read), got {window!r}.")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing.")
    n = math.ceil(window * t.size - 1e-9)
    if n < 3:
        raise ValueError(f"the window holds {n} points; need at least 3: pass more steps or a larger window.")
    t, eps, K = t[-n:], eps[-n:], K[-n:]
    with np.errstate(invalid="ignore", divide="ignore"):
        log_K = np.where(K > 0, np.log(np.where(K > 0, K, 1.0)), np.nan)
    eps_rate = _rate(t, eps)
    K_rate = math.inf if np.all(K == 0) else -_robust_slope(t, log_K)
    positive = t > 0
    log_t = np.log(np.where(positive, t, 1.0))[positive]
    K_power = _robust_slope(log_t, log_K[positive])
    eps_power = _robust_slope(log_t, _log_abs(eps[positive]))
    with np.errstate(invalid="ignore", divide="ignore"):
        zeta_fit = float(np.float64(K_rate) / (2.0 * np.float64(eps_rate)))
    fit_regime = _fit_regime(eps_rate, K_rate)
    span = t[-1] - t[0]
    changes = [abs(r) * span for r in (eps_rate, K_rate) if not math.isnan(r)]
    resolved = bool(changes and max(changes) > RESOLVED_MIN_LOG_CHANGE)
    zeta = C_over_K = math.nan
    regime, method = fit_regime, "fits"
    if mu is not None and np.any(K != 0):  # zeta needs K != 0; else the fits decide
        with np.errstate(invalid="ignore", divide="ignore"):
            zeta = float(np.median(dynamical_index(eps, K, mu[-n:])[K != 0]))
        C_over_K = 1.0 - 2.0 * zeta
        if not resolved:
            regime, method = regime_from_C(C_over_K, 1.0, C_OVER_K_SPLIT), "zeta"
    return RegimeMeasurement(regime, zeta, C_over_K, eps_rate, K_rate, K_power, eps_power, zeta_fit, fit_regime,
                             resolved, method)


def fit_offset(t: ArrayLike, K: ArrayLike, eta: float, C: float) -> float:
    """The one constant that 004 fits to the late-time trajectory: ``B1`` of 004 eq. (33) for ``C != 0``,
    ``B2`` of 004 eq. (34) for ``C == 0``.

    004 fits this constant because eq. (10) does not hold at early times; ``C`` and ``eta`` must come from
    elsewhere (the theory, or the fitted ``lam`` and the model), and nothing else may come from the
    trajectory. Where the theory is an exact LV solution from ``(eps0, K0)`` at ``t = 0``,
    ``B1 = K0 / (lam eps0)`` and ``B2 = K0 / 2`` (see :func:`solve`). Least squares on the relative
    residuals ``1 - K_i / K(t_i)``, which are linear in ``b = 2 / B1`` (``1/K = (1 - b e^{-eta C t}) / C``)
    and in ``c = 1 / (2 B2)`` (``1/K = eta t + c``), so the fit is closed-form. A frozen-kernel window where
    ``K`` has already reached ``C`` determines ``B1`` poorly (``1 - K/C`` is at rounding level there).

    Args:
        t: steps of the window (absolute time of eqs. (33)-(34)), 1-D.
        K: QNTK at ``t``, ``> 0``, same length (e.g. an ensemble mean).
        eta: learning rate, ``> 0``.
        C: conserved quantity of the theory (004 eq. (11)); ``0`` selects eq. (34).

    Returns:
        ``B1`` (``inf`` if the data show no transient) or ``B2``.

    Raises:
        ValueError: for arrays of different lengths, non-positive ``K``, non-positive ``eta``.

    Example:
        >>> tt = np.arange(100, 200)
        >>> round(fit_offset(tt, solve(1.0, 3.0, 1.0, 0.01, tt)[1], 0.01, 1.0), 9)   # K0 / (lam eps0)
        3.0
    """
    t = _series("t", t)
    K = _series("K", K, t.size)
    eta, C = check_positive("eta", eta), check_real("C", C)
    if t.size == 0:
        raise ValueError("t is empty: pass the window of the trajectory to fit.")
    if np.any(K <= 0):
        raise ValueError("K must be > 0 in the fitted window (004 eqs. (33)-(34) are laws for a positive QNTK).")
    if C == 0.0:
        c = float(np.sum(K * (1.0 - K * eta * t)) / np.sum(K**2))
        return 1.0 / (2.0 * c)
    a = np.sign(C) * np.exp(np.log(K) - eta * C * t - math.log(abs(C)))  # K e^{-eta C t} / C
    b = float(-np.sum(a * (1.0 - K / C)) / np.sum(a**2))
    return math.inf if b == 0 else 2.0 / b
