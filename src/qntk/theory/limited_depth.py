"""The reachable minimum ``O_min(L)`` of a limited-depth QNN and the late-time regime against it (004 Fig. 6).

004 ("Dynamics of limited-depth QNN", Fig. 6) finds that the dynamical transition of 004 Theorem 1
persists in a shallow circuit (random Pauli ansatz with ``D = L = n``), with the critical target moved from
the ground-state energy ``O_min`` to the circuit's reachable minimum ``O_min(L)``, which "depends on L and
has sample fluctuations": gradient descent ends in different local minima for different circuits and
initializations. 004 reads ``O_min(L)`` off its training runs; here it is estimated from the model alone,
on circuits and initial angles independent of any training run:

* :func:`reachable_minimum` minimizes ``<O>`` (the linear loss, 004 eq. (21)) from ``circuits x inits``
  random starts, first by plain gradient descent with a step that cannot overshoot (it follows the gradient
  flow into the start's own basin, as training does), then to a stationary point by L-BFGS
  (``scipy.optimize``), all starts in one stacked problem, and returns the minima with their spread
  (:class:`ReachableMinimum`);
* :meth:`ReachableMinimum.late_value` is the late-time ``<O>`` that quadratic-loss gradient descent reaches
  from each start: with ``<O>(0) > O_0`` it descends ``<O>`` along the same path as the linear loss
  (the update ``-eta eps grad<O>`` is the gradient of ``<O>`` times ``eta eps > 0``), so it stops at
  ``O_0`` if its local minimum lies below ``O_0`` (frozen kernel) and at the local minimum otherwise
  (frozen error, ``R = O_min(L) - O_0``, 004 eq. (16));
* :meth:`ReachableMinimum.regime` classifies a target against the spread (:class:`LimitedDepthRegime`).

Classification: with ``q_lo``, ``q_hi`` the quantiles ``(1 -+ band) / 2`` of the minima (``band = 0.95``:
the central 95 %), ``O_0 < q_lo`` is ``"frozen-error"`` (nearly every start freezes, 004 eq. (16) with
``R = O_min(L) - O_0`` per start), ``O_0 > q_hi`` is ``"frozen-kernel"`` (nearly every start reaches
``O_0``, 004 eq. (14); assumes ``O_0`` below the reachable maximum, which is not estimated), and in between
``"critical"`` in the sense of "critical within the spread": a fraction ``fraction_frozen`` of the starts
freezes and the others reach the target, so the ensemble mixes the two branches of 004 Theorem 1 around the
sample-dependent critical points ``O_0 = O_min(L)``.

L-BFGS alone can leave the basin that gradient flow from the same start stays in (its line search takes
long steps), which biases the minima low; the descent first makes the estimate the end point of the
gradient flow, the path that quadratic-loss training follows. With independent starts only the
distribution of the minima matters; 004 Fig. 6's runs are compared with it in
:mod:`qntk.experiments.figures.seed004.fig6`.

Example:
    >>> from qntk.models import Model
    >>> est = reachable_minimum(Model("rpa", 2, 2, "xxz:J=2"), circuits=3, inits=2, seed=0, descent_steps=100)
    >>> est.values.shape, est.o_min, bool(est.mean >= est.o_min - 1e-9)
    ((3, 2), -6.0, True)
    >>> est.regime(-50.0).regime
    'frozen-error'
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from .. import kernels
from ..models import Model
from ..models._spec import check_int, check_real
from ..models.ansatze import circuit_seeds

#: Default central fraction of the minima whose range is "critical within the spread".
BAND = 0.95

#: A start counts as converged when its gradient norm ``|grad <O>|`` is below this (times ``max(1, |O_min|)``).
GRAD_TOL = 1e-6

#: Offset that makes the estimate's circuit seeds and initial angles independent of a training run with
#: the same master seed (:func:`qntk.models.ansatze.circuit_seeds` of ``seed + SEED_OFFSET``).
SEED_OFFSET = 7919


@dataclass(frozen=True)
class LimitedDepthRegime:
    """The late-time regime of a target ``O_0`` against the spread of ``O_min(L)`` (module docstring).

    Attributes:
        regime: ``"frozen-kernel"``, ``"critical"`` (within the spread) or ``"frozen-error"``.
        target: ``O_0``.
        fraction_frozen: fraction of the starts that freeze (local minimum above ``O_0`` and ``<O>(0) > O_0``).
        R_mean, R_sd: mean and standard deviation over the starts of the late error
            ``R = late <O> - O_0`` (0 for a start that reaches the target).
        late_mean, late_sd: mean and standard deviation over the starts of the late ``<O>``.
        band: ``(q_lo, q_hi)``, the quantiles of ``O_min(L)`` that bound the critical band.
    """

    regime: str
    target: float
    fraction_frozen: float
    R_mean: float
    R_sd: float
    late_mean: float
    late_sd: float
    band: tuple[float, float]


@dataclass(frozen=True)
class ReachableMinimum:
    """Minima of ``<O>`` from independent random starts of a limited-depth circuit (:func:`reachable_minimum`).

    Attributes:
        values: minimized ``<O>``, shape ``(circuits, inits)``.
        initial: ``<O>`` at the starting angles, same shape.
        grad_norm: ``|grad <O>|`` at the minima, same shape.
        o_min, o_max: exact extreme eigenvalues of ``O`` (the deep-circuit critical points, 004 Theorem 1).
        circuit_seeds: the seeds of the circuits (independent of a run with the same master seed).
    """

    values: np.ndarray
    initial: np.ndarray
    grad_norm: np.ndarray
    o_min: float
    o_max: float
    circuit_seeds: tuple[int, ...]

    @property
    def mean(self) -> float:
        """Mean ``O_min(L)`` over circuits and initializations."""
        return float(self.values.mean())

    @property
    def sd(self) -> float:
        """Standard deviation of ``O_min(L)`` over circuits and initializations (the spread)."""
        return float(self.values.std(ddof=1)) if self.values.size > 1 else 0.0

    @property
    def lowest(self) -> float:
        """The lowest minimum found (an upper bound on the circuit family's global ``O_min(L)``)."""
        return float(self.values.min())

    @property
    def converged(self) -> bool:
        """Whether every start ended at a stationary point (:data:`GRAD_TOL`)."""
        return bool(np.all(self.grad_norm < GRAD_TOL * max(1.0, abs(self.o_min))))

    def sem(self, per_start: np.ndarray | None = None) -> float:
        """Standard error of the mean of ``per_start`` (default: the minima) over the estimate's random
        circuits: the standard deviation of the per-circuit means over ``sqrt(circuits)`` (starts on one
        circuit are correlated); with one circuit, over ``sqrt(inits)``."""
        x = self.values if per_start is None else np.asarray(per_start, float)
        groups = x.mean(axis=1) if x.shape[0] > 1 else x[0]
        return float(groups.std(ddof=1) / math.sqrt(groups.size)) if groups.size > 1 else math.nan

    def quantiles(self, band: float = BAND) -> tuple[float, float]:
        """``(q_lo, q_hi)``: the quantiles ``(1 -+ band) / 2`` of the minima."""
        band = check_real("band", band)
        if not 0 < band < 1:
            raise ValueError(f"band must be in (0, 1) (a central fraction of the minima), got {band!r}.")
        lo, hi = np.quantile(self.values, [(1 - band) / 2, (1 + band) / 2])
        return float(lo), float(hi)

    def frozen(self, target: float) -> np.ndarray:
        """Per start: whether quadratic-loss descent towards ``target`` freezes above it (module docstring)."""
        target = check_real("target", target)
        return (self.values > target) & (self.initial > target)

    def late_value(self, target: float) -> np.ndarray:
        """Per start, the late-time ``<O>`` of quadratic-loss gradient descent towards ``O_0 = target``:
        the local minimum where it freezes (004 eq. (16)), else ``O_0`` (004 eqs. (14)-(15)). A start with
        ``<O>(0) <= O_0`` is taken to reach ``O_0`` by ascent (the reachable maximum is not estimated)."""
        return np.where(self.frozen(target), self.values, float(target))

    def regime(self, target: float, band: float = BAND) -> LimitedDepthRegime:
        """The regime of ``target`` against the spread of ``O_min(L)`` (module docstring), with the predicted
        late error and frozen fraction."""
        lo, hi = self.quantiles(band)
        target = check_real("target", target)
        late = self.late_value(target)
        name = "frozen-error" if target < lo else "frozen-kernel" if target > hi else "critical"
        sd = (lambda x: float(x.std(ddof=1)) if x.size > 1 else 0.0)
        return LimitedDepthRegime(name, target, float(self.frozen(target).mean()), float((late - target).mean()),
                                  sd(late - target), float(late.mean()), sd(late), (lo, hi))


@jax.jit
def _value_and_grad(circuits, observable, thetas):
    """``(<O>, grad)`` of every start: circuits stacked ``(S,)``, angles ``(S, L)`` (one vmap: it compiles
    about twice as fast as a vmap over circuits of a vmap over angles)."""
    return jax.vmap(lambda circuit, theta: kernels.grad_fn(circuit, observable)(theta))(circuits, thetas)


def reachable_minimum(model: Model, *, circuits: int = 32, inits: int = 8, seed: int = 0,
                      descent_steps: int = 1000, max_iter: int = 20000) -> ReachableMinimum:
    """Estimates the reachable minimum ``O_min(L)`` of ``model``'s circuits and its spread (module docstring).

    Draws ``circuits`` random circuits of the ansatz (one for a non-random ansatz) with the seeds
    :func:`~qntk.models.ansatze.circuit_seeds` of ``seed + SEED_OFFSET`` and ``inits`` initial angle vectors
    per circuit, uniform in ``[0, 2 pi)``, and minimizes ``<O>`` from each: ``descent_steps`` steps of gradient
    descent with ``eta = 1 / (4 s^2 L ||O||)`` (every Hessian element of ``<O>`` is at most ``4 s^2 ||O||`` in size,
    so ``eta`` times the largest Hessian eigenvalue is at most 1: no step overshoots its basin), then L-BFGS to a
    gradient of :data:`GRAD_TOL` (one stacked problem: the objective is the sum of the starts' ``<O>``, whose
    gradient is separable).

    Args:
        model: the QNN model (its ``target`` is not used).
        circuits: random circuits, ``>= 1`` (must be 1 for a non-random ansatz).
        inits: starts per circuit, ``>= 1``.
        seed: master seed (the estimate's circuits and angles differ from a training run's with this seed).
        descent_steps: gradient-descent steps before L-BFGS (0: L-BFGS alone).
        max_iter: L-BFGS iteration limit.

    Returns:
        a :class:`ReachableMinimum` (check ``converged``).

    Raises:
        TypeError: for a ``model`` that is not a :class:`~qntk.models.Model`.
        ValueError: for non-integer counts, or ``circuits > 1`` with a non-random ansatz.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a qntk.models.Model, got {type(model).__name__}.")
    circuits, inits = check_int("circuits", circuits, 1), check_int("inits", inits, 1)
    seed, max_iter = check_int("seed", seed, 0), check_int("max_iter", max_iter, 1)
    descent_steps = check_int("descent_steps", descent_steps, 0)
    if circuits > 1 and not model.is_random:
        raise ValueError(f"circuits={circuits} but the {model.ansatz!r} ansatz is not random: use circuits=1.")
    seeds = circuit_seeds(seed + SEED_OFFSET, circuits)
    built = [model.circuit(seed=s) for s in seeds]
    per_start = [c for c in built for _ in range(inits)]  # start i on circuit i // inits
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *per_start)
    n_params = built[0].n_params
    rng = np.random.default_rng(seed + SEED_OFFSET)
    theta0 = rng.uniform(0.0, 2 * np.pi, size=(circuits * inits, n_params))
    fn = functools.partial(_value_and_grad, observable=model.operator)

    def objective(flat):
        values, grads = fn(stacked, thetas=jnp.asarray(flat.reshape(theta0.shape)))
        return float(jnp.sum(values)), np.asarray(grads, dtype=np.float64).ravel()

    initial = np.asarray(fn(stacked, thetas=jnp.asarray(theta0))[0])
    o_min, o_max = model.operator.spectrum_extremes()
    tol = GRAD_TOL * max(1.0, abs(o_min))
    eta = 1.0 / (4 * built[0].scale**2 * n_params * max(abs(o_min), abs(o_max)))
    theta = jnp.asarray(theta0)
    for _ in range(descent_steps):
        theta = theta - eta * fn(stacked, thetas=theta)[1]
    res = minimize(objective, np.asarray(theta).ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "maxfun": 2 * max_iter, "ftol": 0.0, "gtol": tol / 10})
    values, grads = fn(stacked, thetas=jnp.asarray(res.x.reshape(theta0.shape)))
    shape = (circuits, inits)
    return ReachableMinimum(np.asarray(values).reshape(shape), initial.reshape(shape),
                            np.linalg.norm(np.asarray(grads), axis=-1).reshape(shape), float(o_min), float(o_max),
                            tuple(seeds))
