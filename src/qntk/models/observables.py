"""Observables: the Hermitian operator ``O`` measured at the end of a quantum neural network.

Two representations share one interface (:class:`Observable`):

* :class:`PauliSum`, ``O = sum_t c_t P_t`` with real ``c_t`` and Pauli strings ``P_t``. The terms are
  grouped by their X mask ``x_g`` (see :mod:`qntk.models.pauli`), so that

  .. math::  (O\\psi)_k = \\sum_g D_{gk}\\, \\psi_{k \\oplus x_g},
             \\qquad D_{gk} = \\sum_{t:\\, x_t = x_g} c_t\\, \\mathrm{phase}_t(k),

  and applying ``O`` costs ``O(G d)`` for ``G`` distinct X masks, never building the ``d x d`` matrix.
* :class:`DenseObservable`, any Hermitian ``d x d`` matrix (e.g. a projector ``|Phi><Phi|``).

Both are immutable JAX pytrees whose only static data is the number of qubits: coefficients, Pauli
masks and matrices are array leaves. They pass through ``jax.jit`` and ``jax.vmap`` as ordinary
arguments, and a jitted function compiles once per *shape* (qubits, terms, X-mask groups), not once
per coefficient or label, so sweeps over observables (e.g. ``xxz(n, J)`` over ``J``) share one
compilation; stacked observables of one shape can be vmapped over. The builders cover the seed
papers' observables: the XXZ chain (004 eq. (29)), random Pauli mixtures (004 eq. (28), with 000's
numerics below eq. (20)), Haar-random projectors (004 Fig. 9) and gamma-scaled Pauli measurements
(002 Cor. 4.3); :func:`parse_observable` reads the CLI's string form.
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
import numpy as np
import scipy.sparse.linalg as spla

from qntk.models.pauli import PauliString, parse_pauli_sum
from qntk.models._spec import check_int, check_real, parse_bool, parse_named

Array = jax.Array
PauliDict = dict[tuple[int, int], complex]
"""A Pauli sum with complex coefficients, keyed by the ``(x, z)`` masks of its strings."""

DENSE_MAX_QUBITS = 12
"""Up to this many qubits spectra and traces use dense ``numpy.linalg.eigvalsh``."""
HERMITIAN_RTOL = 1e-10
"""A matrix is Hermitian when ``||O - O^dagger||_F <= HERMITIAN_RTOL * ||O||_F``."""


class Observable(abc.ABC):
    """Interface shared by :class:`PauliSum` and :class:`DenseObservable`.

    Attributes:
        n_qubits: number of qubits ``n``.
    """

    n_qubits: int

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: build a new observable instead.")

    def _set_fields(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def dim(self) -> int:
        """Hilbert-space dimension ``d = 2**n_qubits``."""
        return 2**self.n_qubits

    @abc.abstractmethod
    def apply(self, psi: Array) -> Array:
        """``O psi`` for ``psi`` of shape ``(..., d)``; traceable (jit/vmap/grad)."""

    @abc.abstractmethod
    def matrix(self) -> np.ndarray:
        """Dense ``(d, d)`` complex matrix (not traceable; for small ``d`` and cross-checks)."""

    @abc.abstractmethod
    def _scaled(self, gamma: float) -> Observable:
        """``gamma * O`` as the same type."""

    def _check_state(self, psi: Array) -> Array:
        psi = jnp.asarray(psi)
        if psi.shape[-1:] != (self.dim,):
            raise ValueError(
                f"psi has shape {psi.shape} but the observable acts on {self.n_qubits} qubits:"
                f" pass a state of shape (..., {self.dim})."
            )
        return psi

    def expval(self, psi: Array) -> Array:
        """Real expectation ``<psi|O|psi>`` for ``psi`` of shape ``(..., d)``; returns shape ``(...)``."""
        psi = self._check_state(psi)
        return jnp.real(jnp.sum(jnp.conj(psi) * self.apply(psi), axis=-1))

    def spectrum_extremes(self) -> tuple[float, float]:
        """Exact ``(O_min, O_max)``: dense ``eigvalsh`` for ``n_qubits <= DENSE_MAX_QUBITS``, else Lanczos.

        The Lanczos path (:func:`_eigsh_extremes`) runs ARPACK on the matrix-free :meth:`apply` with
        ``tol=0``, i.e. converged to machine precision.
        """
        if self.n_qubits <= DENSE_MAX_QUBITS:
            eigs = np.linalg.eigvalsh(self.matrix())
            return float(eigs[0]), float(eigs[-1])
        return _eigsh_extremes(self)

    def trace_power(self, k: int) -> float:
        """Exact ``tr(O^k)`` for an integer ``k >= 0`` (``k = 0`` gives ``d``).

        Raises:
            ValueError: if ``k`` is not an integer ``>= 0``.
        """
        k = check_int("k", k, 0)
        return float(self.dim) if k == 0 else self._trace_power(k)

    def _trace_power(self, k: int) -> float:
        if k <= 2:  # O(d^2): tr O and ||O||_F^2
            m = self.matrix()
            return float(np.real(np.trace(m))) if k == 1 else float(np.real(np.vdot(m, m)))
        return float(np.sum(np.linalg.eigvalsh(self.matrix()) ** k))

    def is_identity_multiple(self) -> bool:
        """Whether ``O = c 1``: then ``<O>`` is the same in every state and no circuit can be trained on it."""
        mean, square = self.trace_power(1) / self.dim, self.trace_power(2) / self.dim
        return square - mean**2 <= 1e-12 * max(square, np.finfo(float).tiny)

    def __mul__(self, gamma: Any) -> Observable:
        if not isinstance(gamma, numbers.Real):
            return NotImplemented
        return self._scaled(check_real("gamma", gamma))

    __rmul__ = __mul__


@jax.tree_util.register_pytree_node_class
class PauliSum(Observable):
    """``O = sum_t c_t P_t`` with real coefficients, applied in ``O(G d)`` by grouping X masks.

    Duplicate labels are merged (their coefficients added) and labels are stored upper case in
    first-appearance order; zero coefficients are kept.

    As a pytree only ``n_qubits`` is static; the terms and their grouping are array leaves, so
    observables with the same numbers of qubits, terms ``T`` and X-mask groups ``G`` share one
    compiled program, and such observables can be stacked (``jax.tree.map(jnp.stack, ...)``) and
    vmapped over. Inside a traced function use :meth:`apply`/:meth:`expval` (or the array
    attributes); the Python views :attr:`coefs`/:attr:`labels`, :meth:`matrix`, spectra and traces
    need a concrete observable.

    Args:
        coefs: real coefficients ``c_t``.
        labels: Pauli labels ``P_t`` such as ``"XZI"``, all of the same length (big-endian, see
            :mod:`qntk.models.pauli`).

    Attributes:
        coef_array: float64 array ``(T,)`` of the merged coefficients (pytree leaf).
        term_x_masks, term_z_masks: int32 arrays ``(T,)``, the X and Z masks of the merged terms
            (pytree leaves; see :class:`qntk.models.pauli.PauliString`).
        x_masks: int32 array ``(G,)`` of the distinct X masks (pytree leaf).
        diags: complex128 array ``(G, d)``, ``diags[g, k] = sum_{t in g} c_t phase_t(k)`` (pytree leaf).

    Raises:
        ValueError: if the terms are empty, the lengths differ, a label is malformed or a
            coefficient is not a finite real number.

    Example:
        >>> obs = PauliSum([0.5, 1.0, 0.25], ["XI", "ZZ", "XI"])
        >>> obs
        PauliSum(0.75*XI + 1.0*ZZ; n_qubits=2, n_terms=2)
        >>> obs.coef_array.shape, obs.x_masks.shape, obs.diags.shape
        ((2,), (2,), (2, 4))
        >>> jax.tree.structure(obs) == jax.tree.structure(PauliSum([3.0, -1.0], ["YZ", "IZ"]))
        True
    """

    coef_array: Array
    term_x_masks: Array
    term_z_masks: Array
    x_masks: Array
    diags: Array

    def __init__(self, coefs: Sequence[float], labels: Sequence[str]) -> None:
        if isinstance(labels, str) or not len(labels) or len(coefs) != len(labels):
            raise ValueError(
                f"coefs and labels must be non-empty sequences of the same length (got {len(coefs)}"
                f" coefficients and labels={labels!r}): pass one real coefficient per Pauli label."
            )
        merged: dict[str, float] = {}
        for t, (c, label) in enumerate(zip(coefs, labels)):
            label = PauliString.from_label(label).label
            merged[label] = merged.get(label, 0.0) + check_real(f"coefs[{t}]", c)
        if len({len(label) for label in merged}) != 1:
            raise ValueError(
                f"labels mix Pauli strings of lengths {sorted({len(label) for label in merged})}:"
                " every label needs one letter per qubit."
            )
        coefs, labels = tuple(merged.values()), tuple(merged)
        paulis = [PauliString.from_label(label) for label in labels]
        x_masks, diags = _group_by_x(coefs, labels)
        leaves = (np.array(coefs, dtype=np.float64), np.array([p.x for p in paulis], dtype=np.int32),
                  np.array([p.z for p in paulis], dtype=np.int32), x_masks, diags)
        self._set_leaves(len(labels[0]), tuple(map(_frozen, leaves)))

    _LEAVES = ("coef_array", "term_x_masks", "term_z_masks", "x_masks", "diags")

    def _set_leaves(self, n_qubits: int, leaves: Sequence[Any]) -> None:
        self._set_fields(n_qubits=n_qubits, **dict(zip(self._LEAVES, leaves, strict=True)))

    def tree_flatten(self) -> tuple[tuple[Array, Array, Array, Array, Array], int]:
        """Leaves ``(coef_array, term_x_masks, term_z_masks, x_masks, diags)``; aux ``n_qubits``."""
        return tuple(getattr(self, name) for name in self._LEAVES), self.n_qubits

    @classmethod
    def tree_unflatten(cls, aux: int, leaves: Sequence[Any]) -> PauliSum:
        # No checks or conversions: JAX rebuilds pytrees with tracers, batched or placeholder leaves.
        obs = object.__new__(cls)
        obs._set_leaves(aux, leaves)
        return obs

    def _terms(self) -> tuple[tuple[float, ...], tuple[str, ...]]:
        """The concrete ``(coefs, labels)``, read once from the leaves and cached.

        Raises:
            TypeError: inside ``jit``/``vmap``/``grad`` (traced leaves), or for a stack of observables.
        """
        cached = self.__dict__.get("_terms_cache")
        if cached is not None:
            return cached
        leaves = (self.coef_array, self.term_x_masks, self.term_z_masks)
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            raise TypeError(
                "the coefficients and labels of a PauliSum are not available while it is traced (inside"
                " jax.jit, jax.vmap or jax.grad): use apply/expval there, or the array attributes"
                " coef_array, term_x_masks and term_z_masks."
            )
        c, x, z = (np.asarray(leaf) for leaf in leaves)
        if c.ndim != 1 or x.shape != c.shape or z.shape != c.shape:
            raise TypeError(
                f"this PauliSum holds arrays of shape {c.shape}, a stack of observables rather than one:"
                " index its leaves (jax.tree.map(lambda a: a[i], obs)) to get a single observable."
            )
        terms = (
            tuple(float(v) for v in c),
            tuple(PauliString(int(xi), int(zi), self.n_qubits).label for xi, zi in zip(x, z)),
        )
        object.__setattr__(self, "_terms_cache", terms)
        return terms

    @property
    def coefs(self) -> tuple[float, ...]:
        """The merged coefficients as Python floats (concrete observables only)."""
        return self._terms()[0]

    @property
    def labels(self) -> tuple[str, ...]:
        """The merged Pauli labels, upper case, in first-appearance order (concrete observables only)."""
        return self._terms()[1]

    @property
    def n_terms(self) -> int:
        """Number of merged terms ``T`` (available while traced: it is a shape)."""
        return int(np.shape(self.coef_array)[-1])

    def apply(self, psi: Array) -> Array:
        """``O psi = sum_g diags[g] * psi[k ^ x_g]`` for ``psi`` of shape ``(..., d)``.

        A scan over the ``G`` groups: ``O(G d)`` time and ``O(d)`` extra memory per state.
        """
        psi = self._check_state(psi)
        k = jnp.arange(self.dim, dtype=jnp.int32)

        def add_group(acc: Array, group: tuple[Array, Array]) -> tuple[Array, None]:
            x, diag = group
            return acc + diag * psi[..., jnp.bitwise_xor(k, x)], None

        zero = jnp.zeros(psi.shape, jnp.result_type(psi, self.diags))
        return lax.scan(add_group, zero, (self.x_masks, self.diags))[0]

    def matrix(self) -> np.ndarray:
        """Dense ``(d, d)`` matrix, built from the (concrete) terms."""
        x_masks, diags = _group_by_x(self.coefs, self.labels)
        m = np.zeros((self.dim, self.dim), dtype=np.complex128)
        k = np.arange(self.dim)
        for x, diag in zip(x_masks, diags):
            m[k, k ^ x] = diag
        return m

    def _scaled(self, gamma: float) -> PauliSum:
        return PauliSum([gamma * c for c in self.coefs], self.labels)

    def _trace_power(self, k: int) -> float:
        """``tr O = d c_I`` and ``tr O^2 = d sum_t c_t^2`` exactly; higher powers from the spectrum
        (``n_qubits <= DENSE_MAX_QUBITS``) or from Pauli algebra (:func:`_pauli_trace_power`)."""
        if k == 1:
            return self.dim * dict(zip(self.labels, self.coefs)).get("I" * self.n_qubits, 0.0)
        if k == 2:
            return self.dim * math.fsum(c * c for c in self.coefs)
        if self.n_qubits <= DENSE_MAX_QUBITS:
            return super()._trace_power(k)
        return _pauli_trace_power(self, k)

    def __repr__(self) -> str:
        try:
            coefs, labels = self._terms()
        except TypeError:  # traced or stacked: describe the shapes only
            return (
                f"PauliSum(<{'traced' if isinstance(self.coef_array, jax.core.Tracer) else 'stacked'}"
                f" coef_array {np.shape(self.coef_array)}>; n_qubits={self.n_qubits}, n_terms={self.n_terms})"
            )
        more = " + ..." if len(coefs) > 4 else ""
        return (
            f"PauliSum({_format_terms(coefs[:4], labels[:4])}{more};"
            f" n_qubits={self.n_qubits}, n_terms={len(coefs)})"
        )

    def __str__(self) -> str:
        """The full expression, readable back by :func:`pauli_sum`."""
        return _format_terms(self.coefs, self.labels)


@jax.tree_util.register_pytree_node_class
class DenseObservable(Observable):
    """Any Hermitian ``d x d`` matrix, ``d = 2**n``, applied as a dense matrix-vector product.

    The matrix is stored as its Hermitian part ``(O + O^dagger)/2`` (removing rounding asymmetry).

    Args:
        matrix: square array-like of shape ``(d, d)`` with ``d`` a power of two ``>= 2``.

    Attributes:
        data: complex128 array ``(d, d)`` (pytree leaf).

    Raises:
        ValueError: if ``matrix`` is not square, its size is not a power of two, it has non-finite
            entries, or it is not Hermitian within ``HERMITIAN_RTOL``.

    Example:
        >>> obs = DenseObservable([[1.0, 0.5j], [-0.5j, -1.0]])
        >>> [round(e, 6) for e in obs.spectrum_extremes()]
        [-1.118034, 1.118034]
    """

    data: Array

    def __init__(self, matrix: Any) -> None:
        m = np.asarray(matrix, dtype=np.complex128)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"matrix must be square with shape (d, d), got shape {m.shape}.")
        n_qubits = _n_qubits_of_dim("matrix", m.shape[0])
        if not np.all(np.isfinite(m)):
            raise ValueError("matrix has non-finite entries (nan or inf): pass a finite Hermitian matrix.")
        asym = np.linalg.norm(m - m.conj().T)
        if asym > HERMITIAN_RTOL * np.linalg.norm(m):
            raise ValueError(
                f"matrix is not Hermitian (||O - O^dagger|| = {asym:.3g} exceeds {HERMITIAN_RTOL:g} ||O||):"
                " pass its Hermitian part (O + O^dagger)/2, or check the construction of O."
            )
        self._set_fields(n_qubits=n_qubits, data=_frozen((m + m.conj().T) / 2))

    def tree_flatten(self) -> tuple[tuple[Array], int]:
        return (self.data,), self.n_qubits

    @classmethod
    def tree_unflatten(cls, aux: int, leaves: Sequence[Any]) -> DenseObservable:
        obs = object.__new__(cls)
        obs._set_fields(n_qubits=aux, data=leaves[0])
        return obs

    def apply(self, psi: Array) -> Array:
        """``O psi`` for ``psi`` of shape ``(..., d)``, in ``O(d^2)``."""
        return self._check_state(psi) @ self.data.T

    def matrix(self) -> np.ndarray:
        return np.array(self.data)

    def _scaled(self, gamma: float) -> DenseObservable:
        return DenseObservable(gamma * self.matrix())

    def __repr__(self) -> str:
        return f"DenseObservable(n_qubits={self.n_qubits})"


# --------------------------------------------------------------------------------------------
# Builders


def pauli_sum(expr: str) -> PauliSum:
    """Pauli sum from an expression such as ``"0.5*XXI - 1.0*ZII + 0.3*III"``; duplicates are merged.

    Args:
        expr: terms ``<coef>*<PAULIS>`` joined by ``+``/``-`` (a missing coefficient means 1).

    Returns:
        The :class:`PauliSum`.

    Raises:
        ValueError: if the expression is empty or malformed or mixes string lengths.

    Example:
        >>> pauli_sum("0.5*XX - ZZ + 0.5*XX")
        PauliSum(1.0*XX - 1.0*ZZ; n_qubits=2, n_terms=2)
    """
    return PauliSum(*parse_pauli_sum(expr))


def xxz(n_qubits: int, J: float = 2.0, periodic: bool = False) -> PauliSum:
    """XXZ chain with a uniform longitudinal field, 004 eq. (29).

    .. math::  O = -\\sum_i \\left[X_i X_{i+1} + Y_i Y_{i+1} + J (Z_i Z_{i+1} + Z_i)\\right].

    The field ``-J Z_i`` acts on all ``n`` qubits. By default the chain is open (bonds ``i = 1..n-1``),
    the chain of 004's figures: its ground energy is 004's critical point, ``O_min = -22`` at
    ``n = 6, J = 2`` (004 Fig. 7) and ``-12`` at ``n = 2, J = 4`` (Fig. 8); the periodic chain gives
    ``-24`` at ``n = 6`` (``docs/conventions.md``). With ``periodic=True`` the bonds run over
    ``i = 1..n`` with ``n + 1 -> 1``; for ``n = 2`` the closing bond would repeat the single bond
    ``(1, 2)``, so it is dropped. The seed's figures use ``J = 2``.

    Args:
        n_qubits: chain length ``n >= 2``.
        J: anisotropy (also the field strength).
        periodic: close the chain.

    Returns:
        The :class:`PauliSum` with ``3 n_bonds + n`` terms.

    Raises:
        ValueError: if ``n_qubits < 2``, ``J`` is not finite or ``periodic`` is not a bool.

    Example:
        >>> obs = xxz(2, J=2.0)
        >>> [round(e, 6) for e in obs.spectrum_extremes()]
        [-6.0, 4.0]
    """
    J = check_real("J", J)
    return _chain(n_qubits, periodic, bond={"X": -1.0, "Y": -1.0, "Z": -J}, site={"Z": -J})


def tfim(n_qubits: int, h: float = 1.0, J: float = 1.0, periodic: bool = True) -> PauliSum:
    """Transverse-field Ising chain ``O = -J sum_i Z_i Z_{i+1} - h sum_i X_i``.

    Bonds follow :func:`xxz` (periodic closes the chain for ``n > 2``; for ``n = 2`` it is open).

    Args:
        n_qubits: chain length ``n >= 2``.
        h: transverse field.
        J: Ising coupling.
        periodic: close the chain.

    Returns:
        The :class:`PauliSum`.

    Raises:
        ValueError: if ``n_qubits < 2``, ``h`` or ``J`` is not finite or ``periodic`` is not a bool.

    Example:
        >>> round(tfim(2, h=1.0).spectrum_extremes()[0], 6)  # -sqrt(5)
        -2.236068
    """
    J, h = check_real("J", J), check_real("h", h)
    return _chain(n_qubits, periodic, bond={"Z": -J}, site={"X": -h})


def random_pauli_mixture(
    n_qubits: int, n_terms: int = 10, *, seed: int = 0, include_identity: bool = False
) -> PauliSum:
    """Random Pauli mixture ``O = sum_j c_j P_j``, 004 eq. (28) with 000's numerics (below eq. (20)).

    ``c_j`` is uniform in ``(0, 1)`` and ``P_j`` uniform over ``{I, X, Y, Z}^n`` (the Pauli group up
    to phases, which the positive ``c_j`` replace), excluding ``I^n`` unless ``include_identity``.
    Repeated strings are merged (their coefficients add). Sampling uses
    ``numpy.random.default_rng(seed)``: the same seed gives the same observable.

    Args:
        n_qubits: number of qubits ``n >= 1``.
        n_terms: number of sampled terms (000 uses 10).
        seed: non-negative integer seed.
        include_identity: allow ``I^n`` among the ``P_j``.

    Returns:
        The :class:`PauliSum` (at most ``n_terms`` terms after merging).

    Raises:
        ValueError: if an argument is not a valid integer.

    Example:
        >>> obs = random_pauli_mixture(3, n_terms=4, seed=1)
        >>> obs.n_qubits, len(obs.coefs) <= 4, all(0 < c < 1 for c in obs.coefs)
        (3, True, True)
    """
    n = check_int("n_qubits", n_qubits, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    coefs = rng.uniform(0.0, 1.0, size=check_int("n_terms", n_terms, 1))
    letters = rng.integers(0, 4, size=(coefs.size, n))
    while not include_identity and (identity := ~letters.any(axis=1)).any():
        letters[identity] = rng.integers(0, 4, size=(int(identity.sum()), n))
    return PauliSum(coefs, ["".join("IXYZ"[a] for a in row) for row in letters])


def projector(state: Any) -> DenseObservable:
    """Projector ``|Phi><Phi|`` onto the normalised ``state`` (004 Fig. 9 uses a Haar-random one).

    Args:
        state: 1-D array-like of length ``2**n``, non-zero (it is normalised here).

    Returns:
        The :class:`DenseObservable` with eigenvalues ``{0, 1}``.

    Raises:
        ValueError: if ``state`` is not 1-D, its length is not a power of two or it is zero.

    Example:
        >>> projector([1.0, 1.0]).matrix().real
        array([[0.5, 0.5],
               [0.5, 0.5]])
    """
    phi = np.asarray(state, dtype=np.complex128)
    if phi.ndim != 1:
        raise ValueError(f"state must be a 1-D vector of length 2**n_qubits, got shape {phi.shape}.")
    _n_qubits_of_dim("state", phi.size)
    norm = np.linalg.norm(phi)
    if not (np.isfinite(norm) and norm > 0):
        raise ValueError(f"state has norm {norm}: pass a non-zero, finite state vector.")
    phi = phi / norm
    return DenseObservable(np.outer(phi, phi.conj()))


def haar_projector(n_qubits: int, seed: int = 0) -> DenseObservable:
    """Projector ``|Phi><Phi|`` onto a Haar-random state (normalised complex Gaussian vector).

    Args:
        n_qubits: number of qubits ``n >= 1``.
        seed: non-negative integer seed for ``numpy.random.default_rng``.

    Returns:
        The :class:`DenseObservable`.

    Raises:
        ValueError: if ``n_qubits`` or ``seed`` is not a valid integer.

    Example:
        >>> obs = haar_projector(2, seed=3)
        >>> round(obs.trace_power(1), 12), round(obs.trace_power(3), 12)
        (1.0, 1.0)
    """
    rng = np.random.default_rng(check_int("seed", seed, 0))
    d = 2 ** check_int("n_qubits", n_qubits, 1)
    return projector(rng.standard_normal(d) + 1j * rng.standard_normal(d))


def pauli_measurement(label: str, gamma: float = 1.0) -> PauliSum:
    """Gamma-scaled Pauli measurement ``gamma * P`` of 002 Cor. 4.3 (eigenvalues ``+-gamma``).

    Args:
        label: Pauli label such as ``"ZII"``.
        gamma: finite real scaling factor (002 takes ``gamma > 1``).

    Returns:
        The one-term :class:`PauliSum`.

    Raises:
        ValueError: if ``label`` is malformed or ``gamma`` is not finite.

    Example:
        >>> pauli_measurement("ZI", gamma=2.0).spectrum_extremes()
        (-2.0, 2.0)
    """
    return PauliSum([check_real("gamma", gamma)], [label])


def hermitian(matrix: Any) -> DenseObservable:
    """Observable from a Hermitian ``d x d`` matrix; see :class:`DenseObservable` for the checks.

    Example:
        >>> hermitian([[0.0, 1.0], [1.0, 0.0]]).trace_power(2)
        2.0
    """
    return DenseObservable(matrix)


def _projector_spec(n_qubits: int, state: str = "haar", seed: int | None = None) -> DenseObservable:
    if state == "haar":
        return haar_projector(n_qubits, 0 if seed is None else seed)
    if state == "zero" and seed is None:
        return projector(np.eye(1, 2 ** check_int("n_qubits", n_qubits, 1))[0])
    raise ValueError(
        f"projector state {state!r}{'' if seed is None else ' with a seed'} is not valid: use 'projector:zero'"
        " (|0...0>) or 'projector:seed=<int>' (Haar-random state)."
    )


def _pauli_spec(n_qubits: int, label: str | None = None, gamma: float = 1.0) -> PauliSum:
    if label is None:
        raise ValueError("observable 'pauli' needs a Pauli label: write e.g. 'pauli:ZII,gamma=2'.")
    return pauli_measurement(label, gamma)


# name -> (builder(n_qubits, **keywords), {parameter: (keyword, parser)}, positional parameter)
_NAMED: dict[str, tuple[Callable[..., Observable], dict[str, tuple[str, Callable[[str], Any]]], str | None]] = {
    "xxz": (xxz, {"J": ("J", float), "periodic": ("periodic", parse_bool)}, None),
    "tfim": (tfim, {"h": ("h", float), "J": ("J", float), "periodic": ("periodic", parse_bool)}, None),
    "random": (
        random_pauli_mixture,
        {"terms": ("n_terms", int), "seed": ("seed", int), "identity": ("include_identity", parse_bool)},
        None,
    ),
    "projector": (_projector_spec, {"state": ("state", str), "seed": ("seed", int)}, "state"),
    "pauli": (_pauli_spec, {"label": ("label", str), "gamma": ("gamma", float)}, "label"),
}
OBSERVABLES: tuple[str, ...] = tuple(_NAMED)
"""Names accepted by :func:`parse_observable`."""


def parse_observable(spec: str, n_qubits: int) -> Observable:
    """Observable from the CLI's string form.

    Named forms ``name[:params]`` (names are lower case; parameters are ``key=value`` joined by
    commas): ``"xxz"``, ``"xxz:J=2,periodic=false"``, ``"tfim:h=1.5,J=1"``,
    ``"random:terms=10,seed=3,identity=false"``, ``"projector"`` / ``"projector:seed=3"``
    (Haar-random state), ``"projector:zero"`` (``|0...0>``), ``"pauli:ZII,gamma=2"`` (also
    ``"pauli:label=ZII,gamma=2"``). Anything else is read as a Pauli-sum expression such as
    ``"0.5*XXI - 1.0*ZII"`` (so ``"XXZ"`` is a Pauli string while ``"xxz"`` is the model).

    Args:
        spec: the string form.
        n_qubits: number of qubits the observable must act on.

    Returns:
        The :class:`Observable`.

    Raises:
        ValueError: for unknown names or parameters (listing the valid ones), malformed values or
            expressions, or an observable whose size differs from ``n_qubits``.

    Example:
        >>> parse_observable("pauli:ZII,gamma=2", 3)
        PauliSum(2.0*ZII; n_qubits=3, n_terms=1)
    """
    n = check_int("n_qubits", n_qubits, 1)
    named = parse_named(spec, _NAMED, "observable", "xxz:J=2,periodic=false",
                        " or a Pauli-sum expression such as '0.5*XXI - 1.0*ZII'")
    word = spec.strip() if isinstance(spec, str) else ""
    if named is None and word.isidentifier() and not set(word) <= set("IXYZ"):
        raise ValueError(f"unknown observable {word!r}: choose one of {', '.join(_NAMED)} (e.g. 'xxz:J=2'), or write a "
                         "Pauli sum such as '0.5*XXI - 1.0*ZII' (upper-case letters I, X, Y, Z).")
    obs = pauli_sum(spec) if named is None else named[0](n, **named[1])
    if obs.n_qubits != n:
        raise ValueError(
            f"observable {spec!r} acts on {obs.n_qubits} qubits but n_qubits is {n}:"
            " write one Pauli letter per qubit."
        )
    return obs


# --------------------------------------------------------------------------------------------
# Internals


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only NumPy leaf: building an observable moves nothing to the device and compiles nothing;
    JAX takes the arrays when a (jitted) function first uses them."""
    out = np.array(array)
    out.flags.writeable = False
    return out


def _n_qubits_of_dim(name: str, d: int) -> int:
    if d < 2 or d & (d - 1):
        raise ValueError(f"{name} has dimension {d}, not a power of two >= 2: an n-qubit object has size 2**n.")
    return d.bit_length() - 1


def _format_terms(coefs: Sequence[float], labels: Sequence[str]) -> str:
    return " + ".join(f"{c!r}*{label}" for c, label in zip(coefs, labels)).replace("+ -", "- ")


def _chain(n_qubits: int, periodic: bool, bond: dict[str, float], site: dict[str, float]) -> PauliSum:
    """``sum_bonds sum_P bond[P] P_i P_j + sum_i sum_P site[P] P_i`` on a chain of ``n_qubits``."""
    if isinstance(n_qubits, (int, np.integer)) and not isinstance(n_qubits, bool) and n_qubits == 1:
        raise ValueError("n_qubits must be >= 2 for a spin chain (xxz, tfim have couplings between neighbours), got 1: "
                         "use more qubits or a one-qubit observable such as 'Z'.")
    n = check_int("n_qubits", n_qubits, 2)
    if not isinstance(periodic, (bool, np.bool_)):
        raise ValueError(f"periodic must be True or False, got {periodic!r}.")
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic and n > 2 else [])
    terms = [(c, _label(n, {i: p, j: p})) for i, j in bonds for p, c in bond.items()]
    terms += [(c, _label(n, {i: p})) for i in range(n) for p, c in site.items()]
    return PauliSum(*zip(*terms))


def _label(n_qubits: int, letters: dict[int, str]) -> str:
    return "".join(letters.get(q, "I") for q in range(n_qubits))


def _group_by_x(coefs: Sequence[float], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct X masks ``(G,)`` int32 and ``diags[g] = sum_{t: x_t = x_g} c_t phases_t`` ``(G, d)``."""
    groups: dict[int, np.ndarray] = {}
    for c, label in zip(coefs, labels):
        p = PauliString.from_label(label)
        groups[p.x] = groups.get(p.x, 0.0) + c * p.phases()
    return np.array(list(groups), dtype=np.int32), np.stack(list(groups.values())).astype(np.complex128)


_apply_jit = jax.jit(lambda obs, psi: obs.apply(psi))
_apply_real_jit = jax.jit(lambda obs, v: jnp.real(obs.apply(v.astype(jnp.complex128))))


def _eigsh_extremes(obs: Observable) -> tuple[float, float]:
    """``(O_min, O_max)`` by ARPACK Lanczos on the matrix-free :meth:`Observable.apply` (``tol=0``).

    A Pauli sum with an even number of ``Y`` in every term is a real symmetric matrix: its Lanczos runs in real
    arithmetic, about twice as fast (at 18 qubits, 131 products of 22 ms each instead of 100 ms per end).
    The start vector is fixed, so the result is deterministic.
    """
    real = isinstance(obs, PauliSum) and all(label.count("Y") % 2 == 0 for label in obs.labels)
    apply, dtype = (_apply_real_jit, np.float64) if real else (_apply_jit, np.complex128)
    op = spla.LinearOperator((obs.dim, obs.dim), matvec=lambda v: np.asarray(apply(obs, jnp.asarray(v.ravel()))),
                             dtype=dtype)
    v0 = np.random.default_rng(0).standard_normal(obs.dim).astype(dtype)
    lo, hi = (spla.eigsh(op, k=1, which=which, tol=0, v0=v0, return_eigenvectors=False)[0] for which in ("SA", "LA"))
    return float(np.real(lo)), float(np.real(hi))


def pauli_dict(obs: PauliSum) -> PauliDict:
    """The terms of a Pauli sum keyed by the ``(x, z)`` masks of their strings."""
    return {(p.x, p.z): complex(c) for c, p in zip(obs.coefs, map(PauliString.from_label, obs.labels))}


def pauli_product(a: PauliDict, b: PauliDict) -> PauliDict:
    """Exact product ``A B`` of two Pauli sums, merged by string.

    With ``P(x, z) = i^{|x & z|} X^x Z^z`` and ``Z^{z_1} X^{x_2} = (-1)^{|z_1 & x_2|} X^{x_2} Z^{z_1}``,

    .. math::  P(x_1, z_1) P(x_2, z_2) = i^{|x_1 z_1| + |x_2 z_2| - |x z| + 2 |z_1 x_2|} P(x, z),
               \\qquad x = x_1 \\oplus x_2,\\ z = z_1 \\oplus z_2.
    """
    out: PauliDict = {}
    for (x1, z1), c1 in a.items():
        for (x2, z2), c2 in b.items():
            x, z = x1 ^ x2, z1 ^ z2
            e = (x1 & z1).bit_count() + (x2 & z2).bit_count() - (x & z).bit_count() + 2 * (z1 & x2).bit_count()
            out[x, z] = out.get((x, z), 0.0) + c1 * c2 * (1, 1j, -1, -1j)[e % 4]
    return out


def _pauli_trace_power(obs: PauliSum, k: int) -> float:
    """``tr(O^k) = d sum_P a_P b_P`` for ``A = O^{ceil(k/2)}``, ``B = O^{floor(k/2)}`` (``tr(P Q) = d delta_PQ``)."""
    terms = pauli_dict(obs)
    b: PauliDict = {(0, 0): 1.0}
    for _ in range(k // 2):
        b = pauli_product(b, terms)
    a = pauli_product(b, terms) if k % 2 else b
    return float(obs.dim * sum(c * b.get(p, 0.0) for p, c in a.items()).real)
