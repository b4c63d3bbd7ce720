"""Input states and data sets for supervised quantum neural networks, computed here (never downloaded).

A supervised QNN maps a data point to an input state ``|phi_a>`` and predicts ``<O>`` in
``U(theta)|phi_a>``. The QNTK of such a model depends on the data only through the *feature
cross-section* (000 eqs. (17)-(19))

.. math::  \\sigma_{ab} = |\\mathrm{Tr}\\, S_{ab}|^2 = |\\langle\\phi_a|\\phi_b\\rangle|^2,
           \\qquad S_{ab} = |\\phi_a\\rangle\\langle\\phi_b|,

so this module provides the states of the seed experiments and the tools to inspect them:

* single states: :func:`zero_state`, :func:`basis_state`, :func:`as_state` (validate and normalize);
* random states: :func:`haar_states` and :func:`orthogonal_states` (000 Fig. 3 and 002 App. D.1 use
  mutually orthogonal inputs, ``sigma_ab = delta_ab``);
* :func:`feature_cross_section` (000 eq. (19));
* :func:`encoded_states`: product-state angle encoding, the encoding block of
  :func:`qntk.models.ansatze.reuploading` (003);
* :class:`Dataset` and the two seed data sets, :func:`orthogonal_classification` (002 App. D.1) and
  :func:`tfim_magnetization` (003: magnetization of the transverse-field Ising chain, labels from
  exact diagonalization), and :func:`parse_dataset`, their command-line form (``qntk train --data``).

Conventions: states are ``numpy`` complex128 arrays, a batch of ``m`` states has shape ``(m, d)``
with ``d = 2**n_qubits``, and qubit 0 is the most significant bit of a basis index (big-endian, as in
:mod:`qntk.models.pauli`). Random functions take an integer ``seed >= 0``; the same seed gives the
same output.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from . import observables as _obs
from .ansatze import FREQUENCIES, haar_unitaries
from ._spec import check_int, check_real, parse_bool, parse_named
from .circuits import _check_qubits

NORM_ATOL = 1e-10
"""A state counts as normalized when ``| ||psi|| - 1 | <= NORM_ATOL``."""
TFIM_MAX_SPINS = 12
"""Largest chain :func:`tfim_magnetization` diagonalizes densely (parity sector of size ``2**11``)."""
DEGENERACY_ATOL = 1e-9
"""Relative gap below which a ground state counts as degenerate (see :func:`tfim_ground_state`)."""
ORTHOGONAL_KINDS = ("haar", "basis")
"""Kinds of :func:`orthogonal_states`."""
MAGNETIZATIONS = ("x", "z")
"""Magnetizations of :func:`tfim_magnetization`: transverse ``m_x`` or the order parameter ``m_z``."""


# --------------------------------------------------------------------------------------------------
# Single states


def zero_state(n_qubits: int) -> np.ndarray:
    """The computational basis state ``|0...0>``, complex128 of shape ``(2**n_qubits,)``.

    Example:
        >>> zero_state(2)
        array([1.+0.j, 0.+0.j, 0.+0.j, 0.+0.j])
    """
    return basis_state(n_qubits, 0)


def basis_state(n_qubits: int, index: int) -> np.ndarray:
    """The computational basis state ``|index>`` (qubit 0 is the most significant bit).

    Args:
        n_qubits: number of qubits ``n >= 1``.
        index: basis index in ``0 .. 2**n - 1``; e.g. ``index=1`` is ``|0...01>``.

    Returns:
        complex128 array of shape ``(2**n_qubits,)``.

    Raises:
        ValueError: if ``n_qubits`` or ``index`` is out of range.

    Example:
        >>> basis_state(2, 2).real  # |10>
        array([0., 0., 1., 0.])
    """
    d = 2 ** _check_qubits(n_qubits)
    index = check_int("index", index, 0)
    if index >= d:
        raise ValueError(f"index={index} is out of range for {n_qubits} qubits: use 0 <= index < {d}.")
    psi = np.zeros(d, dtype=np.complex128)
    psi[index] = 1.0
    return psi


def as_state(vector: Any, n_qubits: int | None = None) -> np.ndarray:
    """Validates a state vector and returns it **normalized**, ``psi / ||psi||``, as complex128.

    Args:
        vector: 1-D array-like of length ``2**n``, finite and non-zero (any norm; it is normalized).
        n_qubits: if given, the length must be ``2**n_qubits``.

    Returns:
        complex128 array of shape ``(d,)`` with unit norm.

    Raises:
        ValueError: if ``vector`` is not 1-D, its length is not a power of two >= 2 (or disagrees with
            ``n_qubits``), or it contains NaN/inf entries or is zero.

    Example:
        >>> as_state([1.0, 1.0j]) * np.sqrt(2)
        array([1.+0.j, 0.+1.j])
    """
    psi = np.array(vector, dtype=np.complex128)
    if psi.ndim != 1:
        raise ValueError(f"vector must be a 1-D state vector of length 2**n_qubits, got shape {psi.shape}.")
    n = _n_qubits_of_dim("vector", psi.size)
    if n_qubits is not None and n != _check_qubits(n_qubits):
        raise ValueError(
            f"vector has length {psi.size} but n_qubits={n_qubits} needs length {2**n_qubits}:"
            " pass a vector of length 2**n_qubits."
        )
    if not np.all(np.isfinite(psi)):
        raise ValueError("vector contains NaN or infinite entries: pass a finite state vector.")
    norm = np.linalg.norm(psi)
    if norm == 0.0:
        raise ValueError("vector is zero and cannot be normalized: pass a non-zero state vector.")
    return psi / norm


# --------------------------------------------------------------------------------------------------
# Random states


def haar_states(n_qubits: int, count: int, seed: int) -> np.ndarray:
    """``count`` independent Haar-random pure states.

    A complex Gaussian vector ``g`` with i.i.d. ``N(0, 1) + i N(0, 1)`` entries is unitarily
    invariant, so ``g / ||g||`` is Haar-distributed on the unit sphere of ``C^d``. The states are
    independent, hence *not* orthogonal (``E |<phi_a|phi_b>|^2 = 1/d``); see :func:`orthogonal_states`.

    Args:
        n_qubits: number of qubits ``n >= 1``.
        count: number of states ``m >= 1``.
        seed: integer ``>= 0`` for ``numpy.random.default_rng``.

    Returns:
        complex128 array of shape ``(count, 2**n_qubits)``, rows of unit norm.

    Example:
        >>> phi = haar_states(3, 5, seed=0)
        >>> phi.shape, bool(np.allclose(np.linalg.norm(phi, axis=1), 1.0))
        ((5, 8), True)
    """
    d = 2 ** _check_qubits(n_qubits)
    count = check_int("count", count, 1)
    rng = _rng(seed, stream=0)
    g = rng.standard_normal((count, d)) + 1j * rng.standard_normal((count, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def orthogonal_states(n_qubits: int, count: int, seed: int, kind: str = "haar") -> np.ndarray:
    """``count`` mutually orthogonal pure states, ``<phi_a|phi_b> = delta_ab`` (so ``sigma = 1``).

    * ``kind="haar"``: the first ``count`` columns ``U|a>`` of one Haar-random unitary ``U``
      (:func:`qntk.models.ansatze.haar_unitaries` with key ``jax.random.key(seed)``): a uniformly random
      orthonormal set, as in 002 App. D.1 ("randomly sampled m orthogonal pure states") and the
      orthogonal inputs of 000 Fig. 3.
    * ``kind="basis"``: ``count`` distinct computational basis states ``|j_a>``, the ``j_a`` drawn
      uniformly without replacement (in random order).

    Args:
        n_qubits: number of qubits ``n >= 1``.
        count: number of states, ``1 <= count <= d`` (at most ``d`` orthogonal vectors exist in ``C^d``).
        seed: integer ``>= 0``.
        kind: ``"haar"`` or ``"basis"``.

    Returns:
        complex128 array of shape ``(count, 2**n_qubits)`` with orthonormal rows.

    Raises:
        ValueError: if ``count > 2**n_qubits`` or ``kind`` is unknown.

    Example:
        >>> phi = orthogonal_states(3, 3, seed=1)
        >>> phi.shape, bool(np.allclose(phi.conj() @ phi.T, np.eye(3)))
        ((3, 8), True)
    """
    n = _check_qubits(n_qubits)
    d = 2**n
    count = check_int("count", count, 1)
    seed = check_int("seed", seed, 0)
    if kind not in ORTHOGONAL_KINDS:
        raise ValueError(f"kind={kind!r} is unknown: use 'haar' (Haar-random orthonormal set) or 'basis'.")
    if count > d:
        raise ValueError(
            f"count={count} exceeds the dimension d={d} of {n} qubits: at most d states can be mutually"
            " orthogonal, so pass count <= 2**n_qubits or more qubits."
        )
    if kind == "basis":
        idx = _rng(seed, stream=1).choice(d, size=count, replace=False)
        return np.eye(d, dtype=np.complex128)[idx]
    u = np.asarray(haar_unitaries(jax.random.key(seed), 1, d)[0])
    return np.ascontiguousarray(u[:, :count].T)


def feature_cross_section(states: Any, other: Any | None = None) -> np.ndarray:
    """Feature cross-section ``sigma_ab = |<phi_a|phi_b>|^2`` of 000 eq. (19).

    With the feature S-matrix ``S_ab = |phi_a><phi_b|`` (000 eq. (18)), ``Tr S_ab = <phi_b|phi_a>``
    and

    .. math::  \\sigma_{ab} = |\\mathrm{Tr}\\, S_{ab}|^2 = |\\langle\\phi_a|\\phi_b\\rangle|^2 .

    The frozen average QNTK is ``K_ab ~ 2 L Tr(O^2) sigma_ab / D^2`` (000 eq. (17)). ``sigma`` is
    symmetric, has unit diagonal, entries in ``[0, 1]``, and is the identity for orthogonal states.

    Args:
        states: ``(m, d)`` normalized states (rows).
        other: optional ``(m', d)`` normalized states (e.g. test points); default ``states``.

    Returns:
        float64 array of shape ``(m, m')``.

    Raises:
        ValueError: if the states are not 2-D, have a non-power-of-two or different length, are not
            finite or not normalized.

    Example:
        >>> sigma = feature_cross_section(haar_states(2, 4, seed=0))
        >>> sigma.shape, bool(np.allclose(np.diag(sigma), 1.0)), bool(np.allclose(sigma, sigma.T))
        ((4, 4), True, True)
    """
    a = _check_states(states, "states")
    b = a if other is None else _check_states(other, "other")
    if b.shape[1] != a.shape[1]:
        raise ValueError(f"other has dimension {b.shape[1]} but states has {a.shape[1]}: pass states of the same size.")
    return np.abs(a.conj() @ b.T) ** 2


# --------------------------------------------------------------------------------------------------
# Data encoding


def encoded_states(features: Any, n_qubits: int, frequency: str = "low") -> np.ndarray:
    """Angle-encoded product states ``|phi(x)> = prod_q RX(a_q x_{q mod F}) |0...0>``.

    With ``RX(t) = exp(-i t X / 2)`` each qubit is independent,

    .. math::  |\\phi(x)\\rangle = \\bigotimes_{q=0}^{n-1}
               \\left(\\cos\\tfrac{a_q x_{q \\bmod F}}{2}\\,|0\\rangle
               - i \\sin\\tfrac{a_q x_{q \\bmod F}}{2}\\,|1\\rangle\\right),

    with ``a_q = 1`` (``frequency="low"``) or ``a_q = 2**q`` (``"high"``), the Kronecker product taken
    with qubit 0 as the most significant bit. This is the encoding block of
    :func:`qntk.models.ansatze.reuploading` (003) applied once to ``|0...0>``; its cross-section is
    ``sigma_ab = prod_q cos^2(a_q (x_a - x_b)_{q mod F} / 2)``.

    Args:
        features: ``(m, F)`` finite real features, ``1 <= F <= n_qubits`` (use ``x[:, None]`` for
            one feature).
        n_qubits: number of qubits ``n >= 1``.
        frequency: ``"low"`` or ``"high"``.

    Returns:
        complex128 array of shape ``(m, 2**n_qubits)``, rows of unit norm.

    Raises:
        ValueError: if ``features`` is not 2-D, contains NaN/inf, has more columns than qubits, or
            ``frequency`` is unknown.

    Example:
        >>> phi = encoded_states(np.array([[0.0], [np.pi]]), 2)
        >>> phi.shape, bool(np.allclose(phi[1], [0, 0, 0, -1]))  # (-i|1>) (x) (-i|1>) = -|11>
        ((2, 4), True)
    """
    n = _check_qubits(n_qubits)
    x = _check_features(features)
    if x.shape[1] > n:
        raise ValueError(
            f"features has {x.shape[1]} columns but only {n} qubits encode them (qubit q encodes"
            f" feature q mod F): pass at most n_qubits={n} features or more qubits."
        )
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency={frequency!r} is unknown: use 'low' (a_q = 1) or 'high' (a_q = 2**q).")
    scales = np.ones(n) if frequency == "low" else 2.0 ** np.arange(n)
    angles = scales * x[:, np.arange(n) % x.shape[1]]  # (m, n)
    singles = np.stack([np.cos(angles / 2), -1j * np.sin(angles / 2)], axis=-1)  # (m, n, 2)
    psi = np.ones((x.shape[0], 1), dtype=np.complex128)
    for q in range(n):  # qubit 0 first: most significant bit
        psi = (psi[:, :, None] * singles[:, q, None, :]).reshape(x.shape[0], -1)
    return psi


# --------------------------------------------------------------------------------------------------
# Data sets


@dataclass(frozen=True, eq=False, kw_only=True)
class Dataset:
    """An immutable supervised data set ``{(phi_a or x_a, y_a)}_{a=1}^m``, validated when built.

    At least one of ``states`` and ``features`` is given. Arrays are copied and made read-only.

    Attributes:
        states: ``(m, d)`` normalized complex128 input states, or ``None``.
        features: ``(m, F)`` float64 classical features (to be encoded by the model), or ``None``.
        labels: ``(m,)`` finite float64 labels ``y_a``.
        name: a short name.
        meta: a dict describing how the data were made (definitions, parameters, seeds).

    Raises:
        ValueError: if neither ``states`` nor ``features`` is given, shapes disagree on ``m``,
            ``labels`` is not a finite 1-D array, or the states are not normalized.

    Example:
        >>> data = Dataset(states=orthogonal_states(3, 4, seed=0), labels=[1.0, -1.0, 1.0, -1.0])
        >>> len(data), data.n_qubits, data.states.shape, data.labels.shape
        (4, 3, (4, 8), (4,))
        >>> train, test = data.split(3, seed=0)
        >>> len(train), len(test)
        (3, 1)
    """

    states: np.ndarray | None = None
    features: np.ndarray | None = None
    labels: np.ndarray
    name: str = "dataset"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        y = np.array(self.labels, dtype=np.float64)
        if y.ndim != 1 or y.size == 0:
            raise ValueError(f"labels must be a non-empty 1-D array of shape (m,), got shape {y.shape}.")
        if not np.all(np.isfinite(y)):
            raise ValueError("labels contain NaN or infinite values: pass finite labels.")
        if self.states is None and self.features is None:
            raise ValueError("a Dataset needs inputs: pass states (m, d), features (m, F), or both.")
        states = None if self.states is None else _check_states(self.states, "states").copy()
        features = None if self.features is None else _check_features(self.features).copy()
        for arr_name, arr in (("states", states), ("features", features)):
            if arr is not None and arr.shape[0] != y.size:
                raise ValueError(
                    f"{arr_name} has {arr.shape[0]} rows but labels has {y.size} entries: pass one label per sample."
                )
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}.")
        if not isinstance(self.meta, dict):
            raise ValueError(f"meta must be a dict, got {type(self.meta).__name__}.")
        for arr in (y, states, features):
            if arr is not None:
                arr.flags.writeable = False
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "meta", dict(self.meta))

    def __len__(self) -> int:
        return int(self.labels.size)

    @property
    def n_samples(self) -> int:
        """Number of samples ``m``."""
        return len(self)

    @property
    def n_qubits(self) -> int | None:
        """Qubits of the input states, or ``None`` without states."""
        return None if self.states is None else self.states.shape[1].bit_length() - 1

    @property
    def n_features(self) -> int | None:
        """Number of classical features ``F``, or ``None`` without features."""
        return None if self.features is None else self.features.shape[1]

    def subset(self, indices: Any) -> Dataset:
        """The samples at ``indices`` (in that order); ``meta`` gains ``"indices"``."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0 or np.any(idx < 0) or np.any(idx >= len(self)):
            raise ValueError(f"indices must be a non-empty list of sample indices in 0..{len(self) - 1}.")
        return Dataset(
            states=None if self.states is None else self.states[idx],
            features=None if self.features is None else self.features[idx],
            labels=self.labels[idx],
            name=self.name,
            meta={**self.meta, "indices": tuple(idx.tolist())},
        )

    def split(self, n_train: int, seed: int) -> tuple[Dataset, Dataset]:
        """Random train/test split: ``n_train`` samples drawn without replacement, the rest for testing.

        Each part keeps the original order of its samples; ``meta["indices"]`` records which ones.

        Args:
            n_train: training-set size, ``1 <= n_train <= m - 1``.
            seed: integer ``>= 0``; the same seed gives the same split.

        Returns:
            ``(train, test)`` datasets of sizes ``n_train`` and ``m - n_train``.
        """
        m = len(self)
        n_train = check_int("n_train", n_train, 1)
        if n_train >= m:
            raise ValueError(
                f"n_train={n_train} leaves no test samples out of m={m}: pass 1 <= n_train <= {m - 1}."
            )
        perm = _rng(seed, stream=2).permutation(m)
        train_idx, test_idx = np.sort(perm[:n_train]), np.sort(perm[n_train:])
        train, test = self.subset(train_idx), self.subset(test_idx)
        return (
            dataclasses.replace(train, meta={**train.meta, "split": "train", "split_seed": seed}),
            dataclasses.replace(test, meta={**test.meta, "split": "test", "split_seed": seed}),
        )


def orthogonal_classification(n_qubits: int, m: int, seed: int, kind: str = "haar") -> Dataset:
    """Binary classification of ``m`` orthogonal pure states, 002 App. D.1 (also 002 Fig. 1, Thm. 4.4).

    The states are :func:`orthogonal_states` ``(n_qubits, m, seed, kind)``; the labels are ``m/2``
    times ``+1`` and ``m/2`` times ``-1`` in a uniformly random order ("randomly assigned half of the
    samples with label +1 and the other half label -1"); one sample (002 Cor. 4.3, Fig. 2) is labelled
    +1 or -1 with equal probability.

    Args:
        n_qubits: number of qubits ``n >= 1``.
        m: number of samples, 1 or even, ``m <= 2**n_qubits``.
        seed: integer ``>= 0`` (states and labels use independent streams).
        kind: ``"haar"`` or ``"basis"`` (see :func:`orthogonal_states`).

    Returns:
        A :class:`Dataset` with ``states`` ``(m, d)``, ``features=None`` and labels ``(m,)`` in ``{+1, -1}``.

    Raises:
        ValueError: if ``m`` is odd (other than 1) or larger than ``2**n_qubits``.

    Example:
        >>> data = orthogonal_classification(3, 4, seed=0)
        >>> data.states.shape, sorted(data.labels.tolist())
        ((4, 8), [-1.0, -1.0, 1.0, 1.0])
    """
    m = check_int("m", m, 1)
    if m % 2 and m > 1:
        raise ValueError(f"m={m} is odd: half of the samples are labelled +1 and half -1, so pass an even m (or m=1).")
    states = orthogonal_states(n_qubits, m, seed, kind)
    rng = _rng(seed, stream=3)
    labels = rng.choice([1.0, -1.0], 1) if m == 1 else rng.permutation(np.repeat([1.0, -1.0], m // 2))
    return Dataset(
        states=states,
        labels=labels,
        name="orthogonal_classification",
        meta={"n_qubits": n_qubits, "m": m, "seed": seed, "kind": kind, "source": "002 App. D.1"},
    )


_MAGNETIZATION_DEFINITIONS = {
    "x": "m_x(h) = (1/N) sum_i <X_i> in the ground state of H(h) (transverse magnetization)",
    "z": "m_z(h) = sqrt((1/N^2) sum_ij <Z_i Z_j>) in the ground state of H(h) (Ising order parameter)",
}
_GROUND_STATE_DEFINITION = (
    "ground state of H(h) = -J sum_i Z_i Z_{i+1} - h sum_i X_i restricted to the sector of the parity"
    " P = prod_i X_i with eigenvalue sign(h)^N (+1 at h = 0), by dense numpy.linalg.eigh; unique for"
    " h != 0 and equal to the symmetric (GHZ-like) limit h -> 0+ at h = 0"
)


def tfim_ground_state(n_spins: int, h: float, J: float = 1.0, periodic: bool = True) -> tuple[float, np.ndarray]:
    """Ground energy and ground state of the transverse-field Ising chain, by exact diagonalization.

    ``H(h) = -J sum_i Z_i Z_{i+1} - h sum_i X_i`` is :func:`qntk.models.observables.tfim`. It commutes
    with the parity ``P = prod_i X_i``. For ``h > 0`` the off-diagonal part ``-h sum X_i`` is
    non-positive and connects all basis states, so (Perron-Frobenius) the ground state is unique, has
    positive amplitudes and lies in the ``P = +1`` sector; ``Z^{(x)N}`` maps ``H(h)`` to ``H(-h)``, so for
    ``h < 0`` it lies in the ``P = (-1)^N`` sector. At ``h = 0`` (and ``J > 0``) the ground space
    ``{|0...0>, |1...1>}`` is degenerate; the ``P = +1`` sector picks ``(|0...0> + |1...1>)/sqrt(2)``, the
    limit ``h -> 0+``. Diagonalizing ``H`` in that sector (basis ``(|j> + s|j xor 1...1>)/sqrt(2)``, block
    ``H_s = H[J, J] + s H[J, J xor 1...1]`` over ``j < d/2``) with ``numpy.linalg.eigh`` gives a ground
    state that is well defined even where the two lowest levels of the full chain are exponentially
    close (small ``h``).

    Args:
        n_spins: chain length ``2 <= N <= 12``.
        h: finite transverse field.
        J: finite Ising coupling (``J > 0`` is the ferromagnet of 003).
        periodic: close the chain (for ``N = 2`` the chain is open, as in ``tfim``).

    Returns:
        ``(energy, state)`` with ``state`` complex128 of shape ``(2**N,)``, normalized.

    Raises:
        ValueError: for bad arguments, or if the ground state is degenerate even within the sector
            (e.g. ``J = h = 0``, or a frustrated antiferromagnet at ``h = 0``).

    Example:
        >>> energy, psi = tfim_ground_state(2, h=1.0)  # open 2-spin chain: E0 = -sqrt(J^2 + 4 h^2)
        >>> round(energy, 12), psi.shape
        (-2.2360679775, (4,))
    """
    n = _check_spins(n_spins)
    h = check_real("h", h)
    J = check_real("J", J)
    if not isinstance(periodic, (bool, np.bool_)):
        raise ValueError(f"periodic must be True or False, got {periodic!r}.")
    d = 2**n
    ham = _obs.tfim(n, h=h, J=J, periodic=bool(periodic)).matrix().real  # X and Z are real
    sign = 1.0 if h >= 0 or n % 2 == 0 else -1.0
    rows = np.arange(d // 2)
    flipped = rows ^ (d - 1)
    block = ham[np.ix_(rows, rows)] + sign * ham[np.ix_(rows, flipped)]
    evals, evecs = np.linalg.eigh(block)
    scale = max(1.0, abs(h), abs(J)) * n
    if evals.size > 1 and evals[1] - evals[0] <= DEGENERACY_ATOL * scale:
        raise ValueError(
            f"the ground state of the TFIM with n_spins={n}, h={h}, J={J} is degenerate even in its parity"
            " sector, so the magnetization is ill-defined: use J > 0 or h != 0."
        )
    psi = np.zeros(d, dtype=np.complex128)
    psi[rows] = evecs[:, 0] / np.sqrt(2.0)
    psi[flipped] = sign * evecs[:, 0] / np.sqrt(2.0)
    return float(evals[0]), psi


def tfim_magnetization(
    n_spins: int = 6,
    n_points: int = 20,
    h_range: tuple[float, float] = (0.0, 2.0),
    J: float = 1.0,
    periodic: bool = True,
    seed: int | None = None,
    order: str = "x",
) -> Dataset:
    """Regression data set of 003: ground-state magnetization of the transverse-field Ising chain vs ``h``.

    Features are field strengths ``x = h`` and labels ``y(h)`` a ground-state magnetization of

    .. math::  H(h) = -J \\sum_i Z_i Z_{i+1} - h \\sum_i X_i

    (:func:`qntk.models.observables.tfim`), computed by exact diagonalization
    (:func:`tfim_ground_state`). 003 ("magnetization of the 1D transverse field Ising model as a
    function of the field strength, N = 6") does not say which magnetization; on a finite chain
    ``<Z_i> = 0`` in the (parity-symmetric) ground state, so two degeneracy-safe definitions are offered:

    * ``order="x"`` (default), the transverse magnetization

      .. math::  m_x(h) = \\frac{1}{N} \\sum_i \\langle X_i \\rangle = -\\frac{1}{N} \\frac{dE_0}{dh},

      smooth and non-decreasing in ``h`` (``E_0`` is concave), ``0`` at ``h = 0`` and ``-> 1`` as
      ``h -> infinity`` (for ``J > 0``, ``m_x ~ 1 - J^2/(8 h^2)`` at large ``h``); odd in ``h``;
    * ``order="z"``, the Ising order parameter

      .. math::  m_z(h) = \\sqrt{\\frac{1}{N^2} \\sum_{ij} \\langle Z_i Z_j \\rangle},

      ``1`` at ``h = 0`` (for ``J > 0``), decreasing towards ``1/sqrt(N)`` as ``h -> infinity``.

    ``meta`` records the definition used (``"definition"``, ``"ground_state"``) and all parameters.

    Args:
        n_spins: chain length ``2 <= N <= 12``.
        n_points: number of samples ``m >= 1``.
        h_range: ``(h_min, h_max)`` finite with ``h_min < h_max``.
        J: finite Ising coupling.
        periodic: close the chain.
        seed: ``None`` for the uniform grid ``linspace(h_min, h_max, m)``; an integer ``>= 0`` draws
            ``h`` uniformly in ``[h_min, h_max)`` (returned sorted).
        order: ``"x"`` or ``"z"``.

    Returns:
        A :class:`Dataset` with ``features`` ``(m, 1)`` (the ``h`` values), labels ``(m,)`` and
        ``states=None``.

    Raises:
        ValueError: for ``n_spins`` outside ``2..12``, a bad ``h_range``, ``n_points`` or ``order``.

    Example:
        >>> data = tfim_magnetization(n_spins=4, n_points=3, h_range=(0.0, 1.0))
        >>> data.features.shape, data.labels.shape, data.meta["order"]
        ((3, 1), (3,), 'x')
        >>> bool(abs(data.labels[0]) < 1e-12), bool(np.all(np.diff(data.labels) > 0))
        (True, True)
    """
    n = _check_spins(n_spins)
    m = check_int("n_points", n_points, 1)
    if order not in MAGNETIZATIONS:
        raise ValueError(f"order={order!r} is unknown: use 'x' (transverse m_x) or 'z' (order parameter m_z).")
    try:
        h_min, h_max = h_range
    except (TypeError, ValueError):
        raise ValueError(f"h_range must be a pair (h_min, h_max), got {h_range!r}.") from None
    h_min, h_max = check_real("h_range[0]", h_min), check_real("h_range[1]", h_max)
    if not h_min < h_max:
        raise ValueError(f"h_range=({h_min}, {h_max}) is empty: pass h_min < h_max.")
    if seed is None:
        hs = np.linspace(h_min, h_max, m)
    else:
        hs = np.sort(_rng(seed, stream=4).uniform(h_min, h_max, size=m))
    labels = np.array([_magnetization(tfim_ground_state(n, h, J, periodic)[1], n, order) for h in hs])
    return Dataset(
        features=hs[:, None],
        labels=labels,
        name="tfim_magnetization",
        meta={
            "definition": _MAGNETIZATION_DEFINITIONS[order],
            "ground_state": _GROUND_STATE_DEFINITION,
            "order": order,
            "n_spins": n,
            "J": float(J),
            "periodic": bool(periodic),
            "h_range": (h_min, h_max),
            "seed": seed,
            "source": "003 (TFIM magnetization regression, N = 6)",
        },
    )


def _orthogonal_spec(n_qubits: int, m: int | None = None, seed: int = 0, kind: str = "haar") -> Dataset:
    return orthogonal_classification(n_qubits, min(4, 2**n_qubits) if m is None else m, seed, kind)


def _tfim_spec(n_qubits: int, h_min: float = 0.0, h_max: float = 2.0, **keywords) -> Dataset:
    return tfim_magnetization(h_range=(h_min, h_max), **keywords)


# name -> (builder(n_qubits, **keywords), {parameter: (keyword, parser)}, positional parameter)
_DATASETS = {
    "orthogonal": (_orthogonal_spec, {"m": ("m", int), "seed": ("seed", int), "kind": ("kind", str)}, None),
    "tfim": (
        _tfim_spec,
        {"spins": ("n_spins", int), "points": ("n_points", int), "h_min": ("h_min", float), "h_max": ("h_max", float),
         "J": ("J", float), "periodic": ("periodic", parse_bool), "seed": ("seed", int), "order": ("order", str)},
        None,
    ),
}
DATASETS: tuple[str, ...] = tuple(_DATASETS)
"""Names accepted by :func:`parse_dataset`."""


def parse_dataset(spec: str, n_qubits: int) -> Dataset:
    """A seed data set from the CLI's string form ``name[:key=value,...]``.

    * ``"orthogonal:m=4,seed=0,kind=haar"``: :func:`orthogonal_classification` on ``n_qubits`` (input
      states; ``m`` defaults to ``min(4, d)``);
    * ``"tfim:spins=6,points=20,h_min=0,h_max=2,J=1,periodic=true,seed=0,order=x"``:
      :func:`tfim_magnetization` (features ``x = h``, for a model that encodes them, e.g. ``reuploading``).

    Raises:
        ValueError: for an unknown name or parameter, or a malformed value.

    Example:
        >>> data = parse_dataset("orthogonal:m=2,seed=1", 2)
        >>> data.name, data.states.shape
        ('orthogonal_classification', (2, 4))
    """
    n = check_int("n_qubits", n_qubits, 1)
    named = parse_named(spec, _DATASETS, "data set", "orthogonal:m=4,seed=0")
    if named is None:
        raise ValueError(f"unknown data set {spec!r}: use one of {', '.join(DATASETS)} (e.g. 'orthogonal:m=4,seed=0').")
    return named[0](n, **named[1])


def _magnetization(psi: np.ndarray, n: int, order: str) -> float:
    """``m_x = (1/N) sum_i <X_i>`` or ``m_z = sqrt(<(sum_i Z_i / N)^2>)`` of a normalized state."""
    k = np.arange(psi.size)
    if order == "x":
        return float(sum(np.vdot(psi, psi[k ^ (1 << b)]).real for b in range(n)) / n)
    spins = n - 2 * np.array([bin(j).count("1") for j in k])  # sum_i Z_i on |k>
    return float(np.sqrt(np.sum(np.abs(psi) ** 2 * (spins / n) ** 2)))


# --------------------------------------------------------------------------------------------------
# Validation helpers


def _check_spins(n_spins: Any) -> int:
    n = check_int("n_spins", n_spins, 2)
    if n > TFIM_MAX_SPINS:
        raise ValueError(
            f"n_spins={n} is too large for dense exact diagonalization: use 2 <= n_spins <= {TFIM_MAX_SPINS}."
        )
    return n


def _rng(seed: Any, stream: int) -> np.random.Generator:
    """An independent numpy generator per (seed, stream), so that e.g. states and labels do not share draws."""
    return np.random.default_rng([check_int("seed", seed, 0), stream])


def _n_qubits_of_dim(name: str, d: int) -> int:
    if d < 2 or d & (d - 1):
        raise ValueError(f"{name} has length {d}, not a power of two >= 2: an n-qubit state has length 2**n.")
    return _check_qubits(d.bit_length() - 1)


def _check_states(states: Any, name: str) -> np.ndarray:
    """A ``(m, d)`` complex128 batch of finite, normalized states."""
    arr = np.asarray(states, dtype=np.complex128)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (m, d) with m >= 1 (one state per row), got {arr.shape}.")
    _n_qubits_of_dim(name, arr.shape[1])
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries: pass finite state vectors.")
    err = np.max(np.abs(np.linalg.norm(arr, axis=1) - 1.0))
    if err > NORM_ATOL:
        raise ValueError(
            f"{name} are not normalized (max | ||phi|| - 1 | = {err:.2e}): normalize them, e.g. with as_state."
        )
    return arr


def _check_features(features: Any) -> np.ndarray:
    """A ``(m, F)`` float64 array of finite features."""
    try:
        x = np.array(features)
    except (TypeError, ValueError):
        x = None
    if x is None or x.dtype.kind not in "biuf":
        raise ValueError("features must be a real numeric array of shape (m, F): pass real numbers.")
    x = x.astype(np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"features must have shape (m, F) with m, F >= 1, got {x.shape}: pass x[:, None] for one feature."
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("features contain NaN or infinite values: pass finite features.")
    return x
