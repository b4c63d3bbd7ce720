"""Exact finite-``d`` Haar averages by Weingarten calculus, and the QNTK statistics they give.

Engine
------
Permutations ``pi`` of ``{0, ..., k-1}`` are tuples with ``pi[a]`` the image of ``a``; they act on
``(C^d)^{(x) k}`` by moving tensor factor ``a`` to position ``pi[a]``,

.. math::  P_\\pi\\, |i_0 \\dots i_{k-1}\\rangle = |i_{\\pi^{-1}(0)} \\dots i_{\\pi^{-1}(k-1)}\\rangle ,
           \\qquad P_\\pi P_\\tau = P_{\\pi\\tau} .

*Cycle-trace rule* (:func:`cycle_trace`): ``tr(P_pi (X_0 (x) ... (x) X_{k-1}))`` is the product over
the cycles of ``pi`` of ``tr(X_a X_{pi^-1(a)} X_{pi^-2(a)} ...)``: a factor is followed by its
*preimage*. Only ``d x d`` matrices are ever multiplied.

*Weingarten* (:func:`weingarten_matrix`): the Gram matrix ``Gram[s, t] = tr(P_s^dagger P_t) =
d^{#cycles(s^-1 t)}`` is inverted (pseudo-inverted for ``d < k``), ``Wg[s, t] = Wg(s^-1 t)``, and the
``k``-fold twirl is the Hilbert-Schmidt projection onto ``span{P_t}``,

.. math::  \\mathbb E_U\\, U^{\\otimes k} X U^{\\dagger\\otimes k}
           = \\sum_{\\sigma,\\tau} \\mathrm{Wg}(\\sigma^{-1}\\tau)\\,
             \\mathrm{tr}(P_\\sigma^\\dagger X)\\, P_\\tau ,

so that (:func:`haar_moment`)

.. math::  \\mathbb E_U\\, \\mathrm{tr}\\big(P_\\pi (U A_0 U^\\dagger \\otimes \\dots)(B_0 \\otimes \\dots)\\big)
           = \\sum_{\\sigma,\\tau} \\mathrm{tr}(P_{\\sigma^{-1}} A^{\\otimes})\\,
             \\mathrm{Wg}(\\sigma^{-1}\\tau)\\, \\mathrm{tr}(P_{\\pi\\tau} B^{\\otimes}) .

Haar-random states use ``E[|psi><psi|^{(x) k}] = sum_sigma P_sigma / (d (d+1) ... (d+k-1))``
(:func:`haar_state_moment`).

For nested averages over several independent Haar objects, :class:`TracePoly` holds a linear
combination of products of traces of *words* (products of named matrices) and averages one unitary or
one state at a time by re-wiring the words (the same Weingarten sum, written on indices); at the end
the words are evaluated with ``d x d`` matrices. The derivation and index placement are in
``docs/theory-haar.md``.

Quantities
----------
In qntk's convention ``U = W_L exp(-i s theta_L G_L) ... W_1 exp(-i s theta_1 G_1)``, the gradient is

.. math::  g_l = \\partial_{\\theta_l}\\varepsilon = i s\\, \\langle\\psi_l| [G_l, A_l] |\\psi_l\\rangle ,

with ``|psi_l>`` the state just after the rotation of layer ``l`` and ``A_l`` the observable in the
Heisenberg picture of the rest of the circuit (``W_l`` included), and for ``l1 < l2``

.. math::  \\partial_{\\theta_{l_1}}\\partial_{\\theta_{l_2}}\\varepsilon
           = -s^2 \\langle\\psi_{l_1}| [G_{l_1}, [G'_{l_2}, A_{l_1}]] |\\psi_{l_1}\\rangle ,
           \\qquad G'_{l_2} = B^\\dagger G_{l_2} B ,

``B`` being the circuit between the two rotations (rotation ``l2`` included). Two ensembles:

* ``model="independent"`` (001 eq. (21)): for every layer ``psi_l`` is a Haar state and ``A_l`` a Haar
  conjugate of ``O``, independently of each other and of the other layers;
* ``model="chain"``: the circuit is a product of independent Haar pieces between consecutive
  rotations (the random Pauli ansatz with Haar ``W_l``, except that its first layer acts on ``|0>``).
  For a pair ``l1 < l2``, ``psi_{l1}``, ``A_{l1}`` and ``G'_{l2}`` are then independent (Haar state,
  Haar conjugates of ``O`` and ``G``). Pairs of layers are correlated, which adds an ``L (L - 1)``
  covariance to ``Var K``.

Every quantity that needs several layers at once (``mu``, ``mu^2``) uses the chain model's law.

Public functions: :func:`weingarten_matrix`, :func:`cycle_trace`, :func:`haar_moment`,
:func:`haar_state_moment`, :class:`TracePoly` / :class:`OpPoly`; :func:`mean_qntk`, :func:`var_qntk`,
:func:`gradient_moments`, :func:`mean_dqntk`, :func:`mean_dqntk_sq`, :func:`mean_eps_dqntk`,
:func:`lambda_ratio`, :func:`zeta_ratio`, :func:`mean_eps_qntk`, :func:`mean_eps`, :func:`mean_eps_sq`;
:func:`group_by_spectrum`.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import numbers
import os
import pickle
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .._provenance import write_atomic

Perm = tuple[int, ...]
Word = tuple[str, ...]
Monomial = tuple[Word, ...]

DAGGER = "\N{DAGGER}"
"""Suffix of the adjoint of a named matrix in a word: ``"V"`` and ``"V\N{DAGGER}"``."""
MAX_K = 6
"""Largest moment order for which :func:`weingarten_matrix` builds the ``k! x k!`` matrices."""
HERMITIAN_RTOL = 1e-10
"""A matrix is Hermitian when ``||M - M^dagger||_F <= HERMITIAN_RTOL * ||M||_F``."""
MODELS = ("independent", "chain")


# --- permutations ------------------------------------------------------------------------------


def compose(p: Perm, q: Perm) -> Perm:
    """``(p q)(a) = p(q(a))``: apply ``q`` first."""
    return tuple(p[a] for a in q)


def inverse(p: Perm) -> Perm:
    """The inverse permutation."""
    inv = [0] * len(p)
    for a, b in enumerate(p):
        inv[b] = a
    return tuple(inv)


def cycles(p: Perm) -> list[tuple[int, ...]]:
    """Cycles of ``p``, each listed as ``(a, p^-1(a), p^-2(a), ...)`` (the order of :func:`cycle_trace`)."""
    inv = inverse(p)
    seen = [False] * len(p)
    out = []
    for start in range(len(p)):
        if seen[start]:
            continue
        cyc, a = [], start
        while not seen[a]:
            seen[a] = True
            cyc.append(a)
            a = inv[a]
        out.append(tuple(cyc))
    return out


def _check_perm(perm, k: int) -> Perm:
    p = tuple(int(a) for a in perm)
    if sorted(p) != list(range(k)):
        raise ValueError(
            f"perm={perm!r} is not a permutation of 0..{k - 1}: pass a tuple with each of 0..{k - 1} once."
        )
    return p


class _Group:
    """``S_k``: its elements (identity first), an index, and the table ``idx(s^-1 t)``."""

    def __init__(self, k: int):
        self.k = k
        self.perms: tuple[Perm, ...] = tuple(itertools.permutations(range(k)))
        self.index = {p: i for i, p in enumerate(self.perms)}
        inv = [inverse(p) for p in self.perms]
        self.table = np.array([[self.index[compose(si, t)] for t in self.perms] for si in inv], dtype=np.int32)
        self.n_cycles = np.array([len(cycles(p)) for p in self.perms], dtype=np.int64)


@functools.lru_cache(maxsize=None)
def _group(k: int) -> _Group:
    return _Group(k)


# --- Weingarten --------------------------------------------------------------------------------


def _check_k(k) -> int:
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise ValueError(f"k must be an integer in 1..{MAX_K} (the moment order), got {k!r}.")
    return int(k)


def _check_dim(d) -> int:
    if not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 1:
        raise ValueError(f"the dimension d must be a positive integer, got {d!r}.")
    return int(d)


@functools.lru_cache(maxsize=None)
def _weingarten(k: int, d: int) -> np.ndarray:
    grp = _group(k)
    gram = float(d) ** grp.n_cycles[grp.table]
    if d >= k:
        wg = np.linalg.inv(gram)
    else:
        wg = np.linalg.pinv(gram, rtol=1e-10, hermitian=True)
    wg = 0.5 * (wg + wg.T)
    wg.setflags(write=False)
    return wg


def weingarten_matrix(k: int, d: int) -> tuple[tuple[Perm, ...], np.ndarray]:
    """All permutations of ``S_k`` and the ``k! x k!`` Weingarten matrix ``Wg[s, t] = Wg(s^-1 t, d)``.

    ``Wg`` is the inverse of the Gram matrix ``Gram[s, t] = d^{#cycles(s^-1 t)}`` of the permutation
    operators (its Moore-Penrose pseudo-inverse when ``d < k``, where the ``P_s`` are linearly
    dependent; the twirl formula stays exact). This generalizes the 2-design integrals of 001 App. A
    (eq. (38)) and the ``k``-design averages behind 001 eqs. (49), (51). Cached per ``(k, d)``.

    Args:
        k: moment order, ``1 <= k <= 6``.
        d: dimension ``d >= 1``.

    Returns:
        ``(perms, Wg)``: the tuple of permutations (identity first) and the read-only matrix.

    Raises:
        ValueError: if ``k`` or ``d`` is out of range.

    Example:
        >>> perms, wg = weingarten_matrix(2, 4)
        >>> perms, wg.shape
        (((0, 1), (1, 0)), (2, 2))
        >>> bool(np.isclose(wg[0, 0], 1 / 15)), bool(np.isclose(wg[0, 1], -1 / 60))
        (True, True)
    """
    k, d = _check_k(k), _check_dim(d)
    return _group(k).perms, _weingarten(k, d)


def permutation_operator(perm: Sequence[int], d: int) -> np.ndarray:
    """Dense ``d^k x d^k`` operator ``P_pi`` (moves tensor factor ``a`` to position ``pi[a]``); small d only.

    Example:
        >>> swap = permutation_operator((1, 0), 2)
        >>> swap.shape, bool(np.allclose(swap @ swap, np.eye(4)))
        ((4, 4), True)
    """
    k = len(perm)
    p = _check_perm(perm, k)
    d = _check_dim(d)
    m = np.zeros((d**k, d**k))
    for i in itertools.product(range(d), repeat=k):
        j = [0] * k
        for a in range(k):
            j[p[a]] = i[a]
        m[np.ravel_multi_index(j, (d,) * k), np.ravel_multi_index(i, (d,) * k)] = 1.0
    return m


def cycle_trace(ops: Sequence[np.ndarray], perm: Sequence[int]) -> complex:
    """``tr(P_pi (X_0 (x) ... (x) X_{k-1}))`` from ``d x d`` matrices only.

    .. math::  \\mathrm{tr}\\big(P_\\pi\\, X_0 \\otimes \\dots \\otimes X_{k-1}\\big)
               = \\prod_{\\text{cycles } c \\text{ of } \\pi}
                 \\mathrm{tr}\\big(X_{a} X_{\\pi^{-1}(a)} X_{\\pi^{-2}(a)} \\cdots\\big),\\quad a \\in c .

    Example:
        >>> x, y = np.diag([1.0, 2.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> complex(cycle_trace([x, y], (1, 0)))  # tr(x y)
        0j
        >>> complex(cycle_trace([x, x], (0, 1)))  # tr(x)^2
        (9+0j)
    """
    p = _check_perm(perm, len(ops))
    out = 1.0 + 0j
    for cyc in cycles(p):
        m = ops[cyc[0]]
        for a in cyc[1:]:
            m = m @ ops[a]
        out *= np.trace(m)
    return out


def _as_square_list(name: str, ops) -> list[np.ndarray]:
    mats = [np.asarray(m, dtype=np.complex128) for m in ops]
    if not mats:
        raise ValueError(f"{name} is empty: pass k >= 1 square matrices.")
    d = mats[0].shape[0] if mats[0].ndim == 2 else -1
    if any(m.shape != (d, d) for m in mats):
        raise ValueError(f"{name} must hold square matrices of one shape (d, d), got {[m.shape for m in mats]}.")
    return mats


def haar_moment(a_ops: Sequence[np.ndarray], b_ops: Sequence[np.ndarray], perm: Sequence[int] | None = None) -> complex:
    """``E_U tr(P_pi (U A_0 U^dag (x) ... (x) U A_{k-1} U^dag)(B_0 (x) ... (x) B_{k-1}))`` exactly.

    .. math::  \\sum_{\\sigma,\\tau \\in S_k} \\mathrm{tr}(P_{\\sigma^{-1}} A^{\\otimes})\\,
               \\mathrm{Wg}(\\sigma^{-1}\\tau, d)\\, \\mathrm{tr}(P_{\\pi\\tau} B^{\\otimes}),

    each trace by :func:`cycle_trace`. Any product of traces of words with ``k`` conjugations
    ``U A_a U^dagger`` has this form (pad with ``B = 1``); e.g. ``E tr(G U O U^dag G U O U^dag)`` is
    ``haar_moment([O, O], [G, G], (1, 0))``. This is the primitive behind the 2-design formulas of
    001 eqs. (20)-(22) and 000 eq. (9), for any ``k <= 6``.

    Args:
        a_ops: ``k`` matrices ``A_a``, shape ``(d, d)``.
        b_ops: ``k`` matrices ``B_a``, shape ``(d, d)``.
        perm: ``pi`` (identity by default).

    Returns:
        The exact average (complex).

    Raises:
        ValueError: for mismatched lengths or shapes, ``k > 6`` or a non-permutation.

    Example:
        >>> z = np.diag([1.0, -1.0])
        >>> round(haar_moment([z, z], [z, z], (1, 0)).real, 12)  # E tr(Z U Z U^dag Z U Z U^dag) = -2/3 at d = 2
        -0.666666666667
    """
    a, b = _as_square_list("a_ops", a_ops), _as_square_list("b_ops", b_ops)
    if len(a) != len(b) or a[0].shape != b[0].shape:
        raise ValueError(f"a_ops and b_ops must hold the same number of (d, d) matrices, got {len(a)} and {len(b)}.")
    k, d = _check_k(len(a)), a[0].shape[0]
    pi = tuple(range(k)) if perm is None else _check_perm(perm, k)
    perms, wg = weingarten_matrix(k, d)
    av = np.array([cycle_trace(a, inverse(s)) for s in perms])
    bv = np.array([cycle_trace(b, compose(pi, t)) for t in perms])
    return complex(av @ wg @ bv)


def haar_state_moment(c_ops: Sequence[np.ndarray]) -> complex:
    """``E_psi prod_a <psi|C_a|psi>`` over Haar-random pure states, exactly.

    .. math::  \\mathbb E_\\psi \\prod_{a=0}^{k-1} \\langle\\psi|C_a|\\psi\\rangle
               = \\frac{\\sum_{\\sigma \\in S_k} \\mathrm{tr}(P_\\sigma\\, C_0 \\otimes \\dots \\otimes C_{k-1})}
                      {d (d+1) \\cdots (d+k-1)} ,

    from ``E |psi><psi|^{(x) k} = Pi_sym / dim(Sym^k)``. Used for ``E[eps]``, ``E[eps^2]`` and every
    state average below (000/001 assume this through the 2-design of ``V_{-,l}``, 001 eq. (21)).

    Args:
        c_ops: ``k <= 6`` matrices ``C_a``, shape ``(d, d)``.

    Returns:
        The exact average (complex).

    Example:
        >>> z = np.diag([1.0, -1.0, 1.0, -1.0])
        >>> round(haar_state_moment([z, z]).real, 12)  # (tr^2 Z + tr Z^2) / (d (d + 1)) = 4 / 20
        0.2
    """
    c = _as_square_list("c_ops", c_ops)
    k, d = _check_k(len(c)), c[0].shape[0]
    total = sum(cycle_trace(c, s) for s in _group(k).perms)
    return complex(total / math.prod(range(d, d + k)))


# --- trace polynomials -------------------------------------------------------------------------


def adjoint_letter(letter: str) -> str:
    """``"V" <-> "V\N{DAGGER}"``."""
    return letter[: -len(DAGGER)] if letter.endswith(DAGGER) else letter + DAGGER


def _word(text: str | Iterable[str]) -> Word:
    return tuple(text.split()) if isinstance(text, str) else tuple(text)


@functools.lru_cache(maxsize=1 << 20)
def _canonical(word: Word) -> Word:
    """The lexicographically smallest cyclic rotation (traces are cyclic)."""
    n = len(word)
    return min((word[i:] + word[:i] for i in range(n)), default=word)


class OpPoly:
    """A linear combination of words (operator products), ``sum_w c_w w``.

    Build from a space-separated string: ``OpPoly("G V O V\N{DAGGER}")`` is ``G V O V^dagger``;
    ``+``, ``-``, ``*`` (product or scalar) and :func:`comm` combine them.

    Example:
        >>> c = comm(OpPoly("G"), OpPoly("A"))
        >>> sorted(c.terms.items())
        [(('A', 'G'), (-1+0j)), (('G', 'A'), (1+0j))]
    """

    def __init__(self, word: str | Iterable[str] | None = None, coef: complex = 1.0):
        self.terms: dict[Word, complex] = {} if word is None else {_word(word): complex(coef)}

    @classmethod
    def _from(cls, terms: Mapping[Word, complex]) -> OpPoly:
        out = cls()
        out.terms = {w: c for w, c in terms.items() if c != 0}
        return out

    def __add__(self, other: OpPoly) -> OpPoly:
        terms = dict(self.terms)
        for w, c in other.terms.items():
            terms[w] = terms.get(w, 0) + c
        return OpPoly._from(terms)

    def __neg__(self) -> OpPoly:
        return OpPoly._from({w: -c for w, c in self.terms.items()})

    def __sub__(self, other: OpPoly) -> OpPoly:
        return self + (-other)

    def __mul__(self, other) -> OpPoly:
        if isinstance(other, numbers.Number):
            return OpPoly._from({w: c * other for w, c in self.terms.items()})
        terms: dict[Word, complex] = {}
        for w1, c1 in self.terms.items():
            for w2, c2 in other.terms.items():
                terms[w1 + w2] = terms.get(w1 + w2, 0) + c1 * c2
        return OpPoly._from(terms)

    def __rmul__(self, other) -> OpPoly:
        return self * other


def comm(a: OpPoly, b: OpPoly) -> OpPoly:
    """The commutator ``[a, b] = a b - b a``."""
    return a * b - b * a


class TracePoly:
    """``sum_m c_m prod_{w in m} tr(w)``: a polynomial in traces of words, at a fixed dimension ``d``.

    Empty traces ``tr(1) = d`` are folded into the coefficients. :meth:`haar_unitary` and
    :meth:`haar_state` average over one named Haar unitary / Haar state projector exactly, returning a
    new :class:`TracePoly`; :meth:`evaluate` substitutes ``d x d`` matrices for the remaining names.

    Example (``E_V tr(G V O V^dag) = tr(G) tr(O) / d``):
        >>> t = trace(OpPoly("G V O V\N{DAGGER}"), 4).haar_unitary("V")
        >>> t.terms
        {(('G',), ('O',)): (0.25+0j)}
        >>> z = np.diag([1.0, 1.0, -1.0, 1.0])
        >>> t.evaluate({"G": z, "O": z}).real
        1.0
    """

    def __init__(self, dim: int, terms: Mapping[Monomial, complex] | None = None):
        self.dim = _check_dim(dim)
        self.terms: dict[Monomial, complex] = {m: c for m, c in (terms or {}).items() if c != 0}

    def _add_term(self, terms: dict, words: Iterable[Word], coef: complex) -> None:
        kept = []
        for w in words:
            if w:
                kept.append(_canonical(w))
            else:
                coef *= self.dim
        key = tuple(sorted(kept))
        terms[key] = terms.get(key, 0) + coef

    def __add__(self, other: TracePoly) -> TracePoly:
        self._check_same_dim(other)
        terms = dict(self.terms)
        for m, c in other.terms.items():
            terms[m] = terms.get(m, 0) + c
        return TracePoly(self.dim, terms)

    def __sub__(self, other: TracePoly) -> TracePoly:
        return self + other * -1.0

    def __mul__(self, other) -> TracePoly:
        if isinstance(other, numbers.Number):
            return TracePoly(self.dim, {m: c * other for m, c in self.terms.items()})
        self._check_same_dim(other)
        terms: dict[Monomial, complex] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                self._add_term(terms, m1 + m2, c1 * c2)
        return TracePoly(self.dim, terms)

    __rmul__ = __mul__

    def __pow__(self, n: int) -> TracePoly:
        out = TracePoly(self.dim, {(): 1.0})
        for _ in range(n):
            out = out * self
        return out

    def _check_same_dim(self, other: TracePoly) -> None:
        if self.dim != other.dim:
            raise ValueError(f"cannot combine trace polynomials of dimensions {self.dim} and {other.dim}.")

    def haar_unitary(self, name: str, *, fast: bool = True) -> TracePoly:
        """Exact average over a Haar-random unitary ``name`` (its adjoint is ``name + DAGGER``).

        Each monomial is re-wired by the Weingarten sum (``docs/theory-haar.md``): a monomial with
        ``k`` letters ``V`` and ``k`` letters ``V^dagger`` (after cancelling adjacent ``V V^dagger``)
        gives ``(k!)^2`` products of traces; unequal counts give zero. ``fast=True`` uses the factorized
        sum when every word is made of blocks ``V X V^dagger``; ``fast=False`` forces the plain sum
        (for cross-checks).
        """
        dag = adjoint_letter(name)
        terms: dict[Monomial, complex] = {}
        for mono, coef in self.terms.items():
            words = [_cancel_pairs(w, name, dag) for w in mono]
            for new_words, weight in _unitary_rewire(words, name, dag, self.dim, fast):
                self._add_term(terms, new_words, coef * weight)
        return TracePoly(self.dim, terms)

    def haar_state(self, name: str) -> TracePoly:
        """Exact average over a Haar-random state whose projector ``|psi><psi|`` is the letter ``name``."""
        terms: dict[Monomial, complex] = {}
        for mono, coef in self.terms.items():
            words = [_collapse_projector(w, name) for w in mono]
            for new_words, weight in _state_rewire(words, name, self.dim):
                self._add_term(terms, new_words, coef * weight)
        return TracePoly(self.dim, terms)

    def letters(self) -> set[str]:
        """The names left in the polynomial."""
        return {x for m in self.terms for w in m for x in w}

    def evaluate(self, matrices: Mapping[str, np.ndarray]) -> complex:
        """The value with ``d x d`` matrices substituted (``name + DAGGER`` defaults to the adjoint).

        Raises:
            ValueError: if a name has no matrix or a matrix has the wrong shape.
        """
        mats = {n: np.asarray(m, dtype=np.complex128) for n, m in matrices.items()}
        for n in self.letters():
            if n not in mats:
                base = adjoint_letter(n)
                if base not in mats:
                    raise ValueError(f"no matrix for {n!r}: pass matrices for {sorted(self.letters())}.")
                mats[n] = mats[base].conj().T
            if mats[n].shape != (self.dim, self.dim):
                raise ValueError(f"the matrix for {n!r} has shape {mats[n].shape}, expected ({self.dim}, {self.dim}).")
        cache: dict[Word, complex] = {}

        def tr(w: Word) -> complex:
            if w not in cache:
                m = mats[w[0]]
                for x in w[1:]:
                    m = m @ mats[x]
                cache[w] = np.trace(m)
            return cache[w]

        return complex(sum(c * math.prod(tr(w) for w in m) for m, c in self.terms.items()))


def trace(op: OpPoly, dim: int) -> TracePoly:
    """``tr(op)`` as a :class:`TracePoly` at dimension ``dim``."""
    out = TracePoly(dim)
    for w, c in op.terms.items():
        out._add_term(out.terms, [w], c)
    return TracePoly(dim, out.terms)


def _cancel_pairs(word: Word, v: str, vd: str) -> Word:
    """Removes cyclically adjacent ``v vd`` and ``vd v`` (``V V^dagger = 1``)."""
    pair = {(v, vd), (vd, v)}
    stack: list[str] = []
    for x in word:
        if stack and (stack[-1], x) in pair:
            stack.pop()
        else:
            stack.append(x)
    while len(stack) >= 2 and (stack[-1], stack[0]) in pair:
        stack.pop()
        stack.pop(0)
    return tuple(stack)


def _collapse_projector(word: Word, p: str) -> Word:
    """``P P = P`` cyclically."""
    out = [x for i, x in enumerate(word) if not (x == p and i > 0 and word[i - 1] == p)]
    while len(out) >= 2 and out[0] == p and out[-1] == p:
        out.pop()
    return tuple(out)


def _segments(words: Sequence[Word], special: set[str]):
    """Cuts the words at the special letters.

    Returns ``(passive, occ, seg, nxt)``: the words without special letters, the special letter of
    every occurrence (global order), the letters following each occurrence up to the next special
    letter of its word, and the global index of that next occurrence.
    """
    passive, occ, seg, nxt = [], [], [], []
    for w in words:
        pos = [i for i, x in enumerate(w) if x in special]
        if not pos:
            passive.append(w)
            continue
        base = len(occ)
        for j, p in enumerate(pos):
            q = pos[(j + 1) % len(pos)]
            occ.append(w[p])
            seg.append(w[p + 1 : q] if q > p else w[p + 1 :] + w[:q])
            nxt.append(base + (j + 1) % len(pos))
    return passive, occ, seg, nxt


def _follow(succ: Sequence[int], seg: Sequence[Word]) -> list[Word]:
    """The words read along the cycles of the successor map of the segments."""
    seen = [False] * len(succ)
    out = []
    for start in range(len(succ)):
        if seen[start]:
            continue
        letters: list[str] = []
        x = start
        while not seen[x]:
            seen[x] = True
            letters.extend(seg[x])
            x = succ[x]
        out.append(tuple(letters))
    return out


def _unitary_rewire(words: Sequence[Word], v: str, vd: str, d: int, factorize: bool = True):
    """Yields ``(words, weight)`` of ``E_V prod tr(words)``.

    With ``V_a`` (left index ``i_a``, right ``j_a``) and ``V^dagger_b`` (left ``p_b``, right ``q_b``),
    ``E[...] = sum_{s,t} Wg(s^-1 t) prod_a delta(i_a, q_{s(a)}) delta(j_a, p_{t(a)})``: the segment that
    ends before ``V_a`` continues with the segment after ``V^dagger_{s(a)}``, and the segment that ends
    before ``V^dagger_b`` continues with the segment after ``V_{t^-1(b)}``.
    """
    passive, occ, seg, nxt = _segments(words, {v, vd})
    u_idx = [i for i, x in enumerate(occ) if x == v]
    ud_idx = [i for i, x in enumerate(occ) if x == vd]
    k = len(u_idx)
    if k != len(ud_idx):
        return
    if k == 0:
        yield list(passive), 1.0
        return
    if k > MAX_K:
        raise ValueError(f"a monomial has {k} > {MAX_K} copies of {v!r}: the average needs k <= {MAX_K}.")
    grp = _group(k)
    slot = {g: a for a, g in enumerate(u_idx)}
    slot_d = {g: b for b, g in enumerate(ud_idx)}
    if factorize and all(occ[x] != occ[nxt[x]] for x in range(len(occ))):
        yield from _factorized_rewire(passive, occ, seg, nxt, grp, d, v)
        return
    wg = _weingarten(k, d)[0]  # Wg(pi) = Wg[e, pi]
    for si, s in enumerate(grp.perms):
        for ti, t in enumerate(grp.perms):
            w = wg[grp.table[si, ti]]
            if w == 0:
                continue
            t_inv = inverse(t)
            succ = []
            for x in range(len(occ)):
                y = nxt[x]
                succ.append(ud_idx[s[slot[y]]] if occ[y] == v else u_idx[t_inv[slot_d[y]]])
            yield list(passive) + _follow(succ, seg), w


def _factorized_rewire(passive, occ, seg, nxt, grp, d, v):
    """Fast path when every segment runs from ``V`` to ``V^dagger`` ("inside") or from ``V^dagger`` to
    ``V`` ("outside"), as for words built of blocks ``V X V^dagger``: the outside words are re-wired by
    ``s`` alone, the inside words by ``t`` alone, and ``sum_{s,t} Wg(s^-1 t) out(s) in(t)`` is a
    matrix product over the distinct outside and inside monomials (``2 k!`` re-wirings, not ``(k!)^2``).
    """
    kinds = tuple(x == v for x in occ)
    out_member, out_monos = _read(kinds, tuple(nxt), "out", tuple(seg))
    in_member, in_monos = _read(kinds, tuple(nxt), "in", tuple(seg))
    n_perm = len(grp.perms)
    s_out = np.zeros((n_perm, len(out_monos)))
    s_out[np.arange(n_perm), out_member] = 1.0
    s_in = np.zeros((n_perm, len(in_monos)))
    s_in[np.arange(n_perm), in_member] = 1.0
    coef = s_out.T @ _weingarten(grp.k, d) @ s_in
    for i, om in enumerate(out_monos):
        for j, im in enumerate(in_monos):
            if coef[i, j] != 0:
                yield list(passive) + list(om) + list(im), coef[i, j]


@functools.lru_cache(maxsize=None)
def _cycle_table(kinds: tuple[bool, ...], nxt: tuple[int, ...], mode: str) -> tuple:
    """For every permutation (group order), the cycles of the successor map of the segments.

    ``kinds[x]``: occurrence ``x`` is ``V`` (or ``P``). Modes: ``"state"`` (all ``P``: the segment ending
    before ``P_a`` continues after ``P_{s(a)}``), ``"out"`` (segments after ``V^dagger``, re-wired by
    ``s``) and ``"in"`` (segments after ``V``, re-wired by ``t``). Depends only on the skeleton, so it
    is shared by every monomial of the same shape.
    """
    u_idx = [x for x, is_v in enumerate(kinds) if is_v]
    ud_idx = [x for x, is_v in enumerate(kinds) if not is_v]
    slot = {g: a for a, g in enumerate(u_idx)}
    slot_d = {g: b for b, g in enumerate(ud_idx)}
    if mode == "state":
        members, k = list(range(len(kinds))), len(kinds)
    elif mode == "out":
        members, k = ud_idx, len(u_idx)
    else:
        members, k = u_idx, len(u_idx)
    table = []
    for p in _group(k).perms:
        if mode == "state":
            succ = {x: p[nxt[x]] for x in members}
        elif mode == "out":
            succ = {x: ud_idx[p[slot[nxt[x]]]] for x in members}
        else:
            p_inv = inverse(p)
            succ = {x: u_idx[p_inv[slot_d[nxt[x]]]] for x in members}
        seen, cyc_list = set(), []
        for start in members:
            if start in seen:
                continue
            cyc, x = [], start
            while x not in seen:
                seen.add(x)
                cyc.append(x)
                x = succ[x]
            cyc_list.append(tuple(cyc))
        table.append(tuple(cyc_list))
    return tuple(table)


@functools.lru_cache(maxsize=1 << 16)
def _read(kinds: tuple[bool, ...], nxt: tuple[int, ...], mode: str, seg: tuple[Word, ...]):
    """``(member, monomials)``: the class of each permutation and the distinct monomials they give."""
    keys: dict[Monomial, int] = {}
    member = np.empty(len(_cycle_table(kinds, nxt, mode)), dtype=np.int64)
    for i, cyc_list in enumerate(_cycle_table(kinds, nxt, mode)):
        words = [tuple(itertools.chain.from_iterable(seg[x] for x in cyc)) for cyc in cyc_list]
        key = tuple(sorted(_canonical(w) for w in words))
        member[i] = keys.setdefault(key, len(keys))
    return member, list(keys)


def _state_rewire(words: Sequence[Word], p: str, d: int):
    """Yields ``(words, weight)`` of ``E_psi prod tr(words)`` with ``p = |psi><psi|``: the segment that
    ends before ``P_a`` continues with the segment after ``P_{s(a)}``, weight ``1 / (d ... (d+k-1))``."""
    passive, occ, seg, nxt = _segments(words, {p})
    k = len(occ)
    if k == 0:
        yield list(passive), 1.0
        return
    if k > MAX_K:
        raise ValueError(f"a monomial has {k} > {MAX_K} copies of {p!r}: the average needs k <= {MAX_K}.")
    weight = 1.0 / math.prod(range(d, d + k))
    member, monos = _read((True,) * k, tuple(nxt), "state", tuple(seg))
    counts = np.bincount(member, minlength=len(monos))
    for mono, count in zip(monos, counts):
        yield list(passive) + list(mono), weight * count


# --- the QNTK model ----------------------------------------------------------------------------

_P, _G, _O = OpPoly("P"), OpPoly("G"), OpPoly("O")
_A = OpPoly(("V", "O", "V" + DAGGER))  # Haar conjugate of O
_GY = OpPoly(("Y", "H", "Y" + DAGGER))  # Haar conjugate of the later layer's generator H (chain model)


def _ev(op: OpPoly, d: int) -> TracePoly:
    """``<psi|op|psi> = tr(P op)``."""
    return trace(_P * op, d)


def _integrand(name: str, d: int) -> TracePoly:
    """The trace polynomial in ``P`` (state), ``V`` (``A = V O V^dagger``) and ``Y`` (``G' = Y H Y^dagger``)
    whose average :func:`_moment` takes (scale ``s = 1``).

    ``g = i <[G, A]>`` is the gradient of one layer divided by ``s``; ``gy = i <[G', A]>`` that of a later
    layer, with generator ``H``, seen from an earlier one (chain model); ``h_ll``, ``h_12`` are Hessian
    terms and ``<A>`` is the output ``<O>``, which is ``<psi_l|A_l|psi_l>`` in the frame of any layer.
    """
    g = _ev(comm(_G, _A), d) * 1j
    gy = _ev(comm(_GY, _A), d) * 1j
    h_ll = _ev(comm(_G, comm(_G, _A)), d) * -1  # H_ll / s^2 = -<[G,[G,A]]>
    h_12 = _ev(comm(_G, comm(_GY, _A)), d) * -1  # H_l1l2 / s^2, l1 < l2
    polys = {
        "g2": lambda: g**2,
        "og2": lambda: _ev(_A, d) * g**2,  # <O> g_l^2
        "g4": lambda: g**4,
        "g2g2": lambda: g**2 * gy**2,
        "hg2": lambda: h_ll * g**2,  # H_ll g_l^2
        "hgg": lambda: h_12 * g * gy,  # H_l1l2 g_l1 g_l2
        "ohg2": lambda: _ev(_A, d) * h_ll * g**2,  # <O> H_ll g_l^2
        "ohgg": lambda: _ev(_A, d) * h_12 * g * gy,  # <O> H_l1l2 g_l1 g_l2
    }
    return polys[name]()


@functools.lru_cache(maxsize=None)
def _moment(name: str, d: int) -> TracePoly:
    """The Haar average of :func:`_integrand` over the state, then ``Y``, then ``V``; cached per dimension."""
    poly = _integrand(name, d).haar_state("P")
    if "Y" in poly.letters():
        poly = poly.haar_unitary("Y")
    return poly.haar_unitary("V")


def _matrix(name: str, x, d: int | None = None) -> np.ndarray:
    if hasattr(x, "matrix") and callable(x.matrix):
        x = x.matrix()
    if isinstance(x, str):
        from ..models.pauli import PauliString

        x = PauliString.from_label(x).matrix()
    m = np.asarray(x, dtype=np.complex128)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise ValueError(f"{name} must be a square (d, d) matrix with d >= 2, got shape {m.shape}.")
    if d is not None and m.shape[0] != d:
        raise ValueError(f"{name} is {m.shape[0]} x {m.shape[0]} but the observable is {d} x {d}: use one dimension.")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} has NaN or infinite entries.")
    if np.linalg.norm(m - m.conj().T) > HERMITIAN_RTOL * max(np.linalg.norm(m), 1e-300):
        raise ValueError(f"{name} is not Hermitian: pass (M + M^dagger) / 2 if that is what you mean.")
    return m


def _default_generator(d: int) -> np.ndarray:
    if d % 2:
        raise ValueError(f"d = {d} is odd: pass the generator matrix explicitly.")
    return np.kron(np.diag([1.0, -1.0]), np.eye(d // 2))


def _operands(observable, generator) -> tuple[np.ndarray, np.ndarray, int]:
    o = _matrix("observable", observable)
    d = o.shape[0]
    return o, _default_generator(d) if generator is None else _matrix("generator", generator, d), d


def _is_sequence(generator) -> bool:
    """A sequence of per-layer generators (labels, observables or matrices), not one generator."""
    if generator is None or isinstance(generator, str) or hasattr(generator, "matrix"):
        return False
    if isinstance(generator, np.ndarray):
        return generator.ndim == 3
    return isinstance(generator, Sequence) and len(generator) > 0 and (
        isinstance(generator[0], str) or hasattr(generator[0], "matrix") or np.ndim(generator[0]) == 2)


def group_by_spectrum(generators: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """The distinct kinds of generator (Haar averages see only the spectrum of each ``G``), each the
    first of its kind, and the kind of every generator."""
    keys: dict[tuple, int] = {}
    kinds, types = [], []
    for g in generators:
        key = tuple(np.round(np.linalg.eigvalsh(g), 12))
        if key not in keys:
            keys[key] = len(kinds)
            kinds.append(g)
        types.append(keys[key])
    return kinds, types


class _Layers:
    """The observable and the layers' generators grouped by spectrum (Haar averages see only the
    spectrum of each ``G``): ``gens[t]``, ``counts[t]`` layers of type ``t`` and ``pairs[t1, t2]``
    pairs of layers ``l1 < l2`` with types ``t1, t2``."""

    def __init__(self, observable, generator, n_layers):
        self.o = _matrix("observable", observable)
        self.d = d = self.o.shape[0]
        if _is_sequence(generator):
            mats = [_matrix(f"generator[{i}]", g, d) for i, g in enumerate(generator)]
            if n_layers is not None and _check_layers(n_layers) != len(mats):
                raise ValueError(f"n_layers = {n_layers} but {len(mats)} per-layer generators were given: pass n_layers=None.")
            self.gens, types = group_by_spectrum(mats)
        else:
            self.gens = [_default_generator(d) if generator is None else _matrix("generator", generator, d)]
            types = [0] * _check_layers(1 if n_layers is None else n_layers)
        n_types = len(self.gens)
        onehot = np.eye(n_types)[types]  # (L, T)
        self.n_layers = len(types)
        self.counts = onehot.sum(axis=0)
        before = np.cumsum(onehot, axis=0) - onehot  # layers of each type before l
        self.pairs = before.T @ onehot  # pairs[t1, t2] = #{l1 < l2: type t1 at l1, type t2 at l2}

    def value(self, name: str, t1: int, t2: int | None = None) -> float:
        return _value(name, self.o, self.gens[t1], self.d, self.gens[t1 if t2 is None else t2])

    def single(self, name: str) -> float:
        """``sum_l f(G_l)``."""
        return sum(c * self.value(name, t) for t, c in enumerate(self.counts) if c)

    def ordered_pairs(self, fn) -> float:
        """``sum_{l1 != l2} fn(t_l1, t_l2)`` with the earlier layer first: twice the ``l1 < l2`` sum."""
        return 2 * sum(n * fn(t1, t2) for (t1, t2), n in np.ndenumerate(self.pairs) if n)


def _check_layers(n_layers) -> int:
    if not isinstance(n_layers, numbers.Integral) or isinstance(n_layers, bool) or n_layers < 1:
        raise ValueError(f"n_layers must be a positive integer, got {n_layers!r}.")
    return int(n_layers)


def _check_scale(scale) -> float:
    if not isinstance(scale, numbers.Real) or not np.isfinite(scale):
        raise ValueError(f"scale must be a finite real number (s in exp(-i s theta G)), got {scale!r}.")
    return float(scale)


def _check_real(name: str, value) -> float:
    if not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")
    return float(value)


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"model={model!r} is unknown: use one of {', '.join(MODELS)}.")
    return model


def _value(name: str, o: np.ndarray, g: np.ndarray, d: int, h: np.ndarray | None = None) -> float:
    val = _moment(name, d).evaluate({"O": o, "G": g, "H": g if h is None else h})
    scale = max(1.0, abs(val))
    if abs(val.imag) > 1e-8 * scale:  # pragma: no cover - would be an engine bug
        raise RuntimeError(f"the average {name} came out complex ({val}); please report this.")
    return val.real


def gradient_moments(observable, generator=None, scale: float = 0.5) -> dict[str, float]:
    """Exact moments of one layer's gradient ``g = i s <psi|[G, A]|psi>`` and of a correlated pair.

    Returns ``{"g2": E[g^2], "g4": E[g^4], "g2g2": E[g_l1^2 g_l2^2] (chain model, l1 != l2)}``.

    Example:
        >>> from qntk.models import observables
        >>> m = gradient_moments(observables.xxz(2), "XY", scale=0.5)
        >>> sorted(m), m["g4"] > m["g2"] ** 2
        (['g2', 'g2g2', 'g4'], True)
    """
    o, g, d = _operands(observable, generator)
    s = _check_scale(scale)
    return {
        "g2": s**2 * _value("g2", o, g, d),
        "g4": s**4 * _value("g4", o, g, d),
        "g2g2": s**4 * _value("g2g2", o, g, d),
    }


def mean_qntk(observable, generator=None, n_layers: int | None = None, scale: float = 0.5) -> float:
    """Exact Haar average ``E[K]`` of the QNTK at initialization, any ``O`` and ``G``, any ``d``.

    With ``g_l = i s <psi_l|[G, A_l]|psi_l>``, a Haar state and a Haar conjugate ``A_l = V O V^dagger``,
    ``E[K] = L E[g^2]`` and

    .. math::  \\mathbb E[g^2] = \\frac{2 s^2}{d (d + 1)} \\Big[\\mathrm{tr}(G^2)\\mathrm{tr}(O^2)/d
               - \\frac{\\mathrm{tr}^2 G\\, \\mathrm{tr}(O^2) + \\mathrm{tr}(G^2) \\mathrm{tr}^2 O}{d^2 - 1}
               + \\frac{\\mathrm{tr}(G^2)\\mathrm{tr}(O^2) + \\mathrm{tr}^2 G\\, \\mathrm{tr}^2 O}{d (d^2 - 1)}\\Big] ,

    computed here by the Weingarten engine (the closed form is the test). For a Pauli ``G`` it is
    001 eq. (22) times ``s^2`` exactly, ``L s^2 (d tr O^2 - tr^2 O) 2 / ((d + 1)(d^2 - 1))``, and
    004 eq. (38) for ``s = 1/2`` and traceless ``O``. It is the same in both models (one layer at a
    time).

    Args:
        observable: ``O``, a Hermitian ``(d, d)`` matrix or a :mod:`qntk.models.observables` observable.
        generator: ``G``, a Hermitian ``(d, d)`` matrix or Pauli label; default ``Z (x) 1`` (any Pauli
            string gives the same averages). Or a sequence of per-layer generators in circuit order
            (e.g. a Hamiltonian variational ansatz alternating two kinds of layer): every sum over
            layers and ordered pairs of layers then uses each layer's own ``G``.
        n_layers: ``L`` (default 1); with per-layer generators, ``None`` or their number.
        scale: ``s`` in ``exp(-i s theta G)``.

    Returns:
        ``E[K]``.

    Raises:
        ValueError: for a non-Hermitian or mis-shaped matrix, ``L < 1`` or a non-finite ``s``.

    Example:
        >>> from qntk.models import observables
        >>> obs = observables.xxz(3)
        >>> k = mean_qntk(obs, "XYZ", n_layers=20, scale=-1.0)
        >>> d, t1, t2 = 8, obs.trace_power(1), obs.trace_power(2)
        >>> bool(np.isclose(k, 20 * (d * t2 - t1**2) * 2 / (d + 1) / (d**2 - 1)))  # 001 eq. (22)
        True
    """
    return float(_check_scale(scale) ** 2 * _Layers(observable, generator, n_layers).single("g2"))


def var_qntk(observable, generator=None, n_layers: int | None = None, scale: float = 0.5, *, model: str = "independent") -> float:
    """Exact Haar variance ``Var K`` at initialization.

    * ``model="independent"`` (001 eq. (21)): the layers are independent, ``Var K = L (E[g^4] - E[g^2]^2)``;
    * ``model="chain"``: adds the covariance of pairs, ``L (L - 1) (E[g_l1^2 g_l2^2] - E[g^2]^2)``.

    ``E[g^4]`` is a degree-4 average over the state and over ``V`` (``S_4`` Weingarten); the pair term
    also averages the conjugated generator ``G' = Y G Y^dagger`` of the later layer. 000 eq. (12) /
    001 eq. (23) give the large-``d`` value ``L (8 tr^2 O^2 + 12 tr O^4) / d^4`` for ``s = +-1``;
    004 eq. (44) adds an ``L^2`` term, which the chain model reproduces (``docs/theory-haar.md``).

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_qntk`.
        model: ``"independent"`` or ``"chain"``.

    Returns:
        ``Var K``.

    Example:
        >>> from qntk.models import observables
        >>> v1 = var_qntk(observables.xxz(2), "XY", 10, 0.5)
        >>> v2 = var_qntk(observables.xxz(2), "XY", 10, 0.5, model="chain")
        >>> bool(v1 > 0), bool(v2 > v1)
        (True, True)
    """
    layers, s = _Layers(observable, generator, n_layers), _check_scale(scale)
    g2 = [layers.value("g2", t) for t in range(len(layers.gens))]
    var = layers.single("g4") - sum(c * x**2 for c, x in zip(layers.counts, g2))
    if _check_model(model) == "chain":
        var += layers.ordered_pairs(lambda t1, t2: layers.value("g2g2", t1, t2) - g2[t1] * g2[t2])
    return float(s**4 * var)


def mean_dqntk(observable, generator=None, n_layers: int | None = None, scale: float = 0.5) -> float:
    """Exact Haar average ``E[mu]`` of the dQNTK ``mu = sum_{l1 l2} d^2 eps / d theta_l1 d theta_l2 g_l1 g_l2``.

    .. math::  \\mathbb E[\\mu] = L\\, s^4\\, \\mathbb E\\big[\\langle[G,[G,A]]\\rangle \\langle[G,A]\\rangle^2\\big]
               + L (L - 1)\\, s^4\\, \\mathbb E\\big[\\langle[G,[G',A]]\\rangle \\langle[G,A]\\rangle
               \\langle[G',A]\\rangle\\big] ,

    the diagonal terms with the independent model's ``(psi, A)``, the ordered pairs ``l1 != l2`` with
    the chain model's ``(psi, A, G')``, all independent Haar (a degree-3 state average and degree-3
    Weingarten sums). The diagonal terms vanish identically, and ``E[mu]`` is proportional to
    ``tr(O_bar^3)`` (``O_bar = O - tr(O)/d``), leading ``2 s^4 L (L - 1) tr(O_bar^3) / d^3`` for a Pauli
    ``G``. 000 (below eq. (14)) and 001 eq. (50) state ``E[mu] = 0``, which holds only when
    ``tr(O_bar^3) = 0`` (e.g. a Pauli string); ``E[mu] / E[K] -> (L - 1) tr(O^3) / (4 d tr O^2)`` for
    ``s = 1/2``, 004 eq. (40) (``docs/theory-haar.md`` has the numbers).

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_qntk`.

    Returns:
        ``E[mu]``.

    Example:
        >>> from qntk.models import observables
        >>> round(mean_dqntk(observables.pauli_measurement("XZ"), "YY", 10), 12)
        0.0
    """
    layers = _Layers(observable, generator, n_layers)
    return float(_check_scale(scale) ** 4 * (layers.single("hg2") + layers.ordered_pairs(lambda a, b: layers.value("hgg", a, b))))


def mean_eps_qntk(observable, generator=None, n_layers: int | None = None, scale: float = 0.5, target: float = 0.0) -> float:
    """Exact Haar average ``E[eps K]``: ``s^2 sum_l E[<A> <i[G_l, A]>^2] - O_0 E[K]`` (degree-3 averages).

    With :func:`mean_eps`, :func:`mean_qntk` it gives ``Cov(eps, K)``: the residual and the kernel of a
    random circuit are correlated unless ``tr(O_bar^3) = 0``, which biases the ensemble-averaged decay
    of :func:`qntk.theory.lazy.ensemble_residual`.

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_qntk`.
        target: ``O_0``.
    """
    layers = _Layers(observable, generator, n_layers)
    s2 = _check_scale(scale) ** 2
    return float(s2 * layers.single("og2") - _check_real("target", target) * mean_qntk(observable, generator, n_layers, scale))


def mean_eps_dqntk(observable, generator=None, n_layers: int | None = None, scale: float = 0.5, target: float = 0.0) -> float:
    """Exact Haar average ``E[eps mu]`` (chain model), the numerator of 004's dynamical index.

    .. math::  \\mathbb E[\\varepsilon\\mu] = L\\, s^4\\, \\mathbb E\\big[\\langle A\\rangle \\langle[G,[G,A]]\\rangle
               \\langle[G,A]\\rangle^2\\big] + L (L - 1)\\, s^4\\, \\mathbb E\\big[\\langle A\\rangle
               \\langle[G,[G',A]]\\rangle \\langle[G,A]\\rangle \\langle[G',A]\\rangle\\big] - O_0\\, \\mathbb E[\\mu] ,

    with ``eps = <O> - O_0`` and ``<O> = <psi_l|A_l|psi_l>`` written in the frame of the earlier layer
    (degree-4 state and Weingarten averages). 004 Lemma 4 / eq. (39) gives the leading order of
    ``zeta_0 = E[eps mu] / E[K]^2`` for a traceless ``O``; see :func:`zeta_ratio`.

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_qntk`.
        target: ``O_0``.

    Returns:
        ``E[eps mu]``.
    """
    layers, s = _Layers(observable, generator, n_layers), _check_scale(scale)
    o_mu = s**4 * (layers.single("ohg2") + layers.ordered_pairs(lambda a, b: layers.value("ohgg", a, b)))
    return float(o_mu - _check_real("target", target) * mean_dqntk(observable, generator, n_layers, scale))


def lambda_ratio(observable, generator=None, n_layers: int | None = None, scale: float = 0.5) -> float:
    """``lambda_0 = E[mu] / E[K]`` at initialization, exact in ``d`` (004 Lemma 4, eq. (40)).

    004 defines the ensemble value as the ratio of averages (004 sec. "Unitary ensemble theory");
    its leading order ``L tr(O^3) / (4 d tr O^2)`` (``s = 1/2``, traceless ``O``) is this ratio's
    ``L, d >> 1`` limit (``docs/theory-haar.md``).
    """
    return mean_dqntk(observable, generator, n_layers, scale) / mean_qntk(observable, generator, n_layers, scale)


def zeta_ratio(observable, generator=None, n_layers: int | None = None, scale: float = 0.5, target: float = 0.0) -> float:
    """``zeta_0 = E[eps mu] / E[K]^2`` at initialization, exact in ``d`` (004 Lemma 4, eq. (39)).

    Example:
        >>> from qntk.models import observables
        >>> z = zeta_ratio(observables.xxz(2), None, 8, 0.5, target=-3.0)
        >>> bool(np.isfinite(z))
        True
    """
    k = mean_qntk(observable, generator, n_layers, scale)
    return mean_eps_dqntk(observable, generator, n_layers, scale, target) / k**2


def _mu_sq_patterns() -> dict[tuple[int, int, int, int], tuple[int, int]]:
    """Index patterns ``(a, b, c, e)`` of ``mu^2 = sum H_ab g_a g_b H_ce g_c g_e`` up to the symmetries
    ``a <-> b``, ``c <-> e``, ``(a, b) <-> (c, e)``: ``{representative: (m, multiplicity)}`` with
    layers relabelled ``0 < 1 < ... < m - 1`` in circuit order (14 classes, 75 patterns)."""
    out: dict[tuple[int, int, int, int], tuple[int, int]] = {}
    for m in range(1, 5):
        for f in itertools.product(range(m), repeat=4):
            if len(set(f)) != m:
                continue
            a, b, c, e = f
            pairs = [((a, b), (c, e)), ((c, e), (a, b))]
            key = min(p + q for x, y in pairs for p in (x, x[::-1]) for q in (y, y[::-1]))
            out[key] = (m, out.get(key, (m, 0))[1] + 1)
    return out


def _cache_dir() -> Path:
    """Where symbolic averages are kept between runs: ``$QNTK_CACHE_DIR`` or ``~/.cache/qntk``, in a
    folder named after a hash of this module's source, so that a code change never reads stale results."""
    root = Path(os.environ.get("QNTK_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qntk")
    return root / "haar" / hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def _mu_sq_term(pattern: tuple[int, int, int, int], d: int) -> TracePoly:
    """:func:`_mu_sq_term_symbolic`, kept on disk (seconds to tens of seconds each to derive)."""
    path = _cache_dir() / f"mu_sq-{''.join(map(str, pattern))}-d{d}.pkl"
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    poly = _mu_sq_term_symbolic(pattern, d)
    try:
        write_atomic(path, pickle.dumps(poly))
    except OSError:
        pass  # a read-only or missing cache only costs time
    return poly


def _mu_sq_term_symbolic(pattern: tuple[int, int, int, int], d: int) -> TracePoly:
    """``E[<[G_a,[G_b,A]]> <[G_a,A]> <[G_b,A]> <[G_c,[G_e,A]]> <[G_c,A]> <[G_e,A]>]`` (``s = 1``, outer
    commutator on the earlier layer) under the chain model.

    In the frame of the earliest layer, ``psi``, ``A`` and the generators of the later layers are
    independent Haar (conjugates); one of them may be held fixed by the global unitary invariance.
    With one layer ``G`` is fixed and ``A = V O V^dagger`` averaged; with ``m >= 2`` layers ``A = O`` is
    fixed and every ``G_j = Y_j G Y_j^dagger`` averaged (each has degree <= 6 then).
    """
    m = max(pattern) + 1
    if m == 1:
        gens, a_op, names = [_G], _A, ["V"]
    else:
        gens = [OpPoly((f"Y{j}", "G", f"Y{j}" + DAGGER)) for j in range(m)]
        a_op, names = _O, [f"Y{j}" for j in range(m)]

    def h(j, k):
        return _ev(comm(gens[min(j, k)], comm(gens[max(j, k)], a_op)), d)

    def g(j):
        return _ev(comm(gens[j], a_op), d)

    a, b, c, e = pattern
    poly = (h(a, b) * g(a) * g(b) * h(c, e) * g(c) * g(e)).haar_state("P")
    for name in names:
        poly = poly.haar_unitary(name)
    return poly


def mean_dqntk_sq(observable, generator=None, n_layers: int | None = None, scale: float = 0.5) -> float:
    """Exact ``E[mu^2]`` under the chain model; ``Delta mu = sqrt(E[mu^2])`` of 000 eq. (15), 001 eq. (51).

    .. math::  \\mathbb E[\\mu^2] = \\sum_{m=1}^{4} \\binom{L}{m}
               \\sum_{(a,b,c,e) \\twoheadrightarrow \\{1..m\\}}
               \\mathbb E\\big[H_{ab} g_a g_b H_{ce} g_c g_e\\big] ,

    a sum over the ways four layer indices can fall on ``m`` distinct layers (in circuit order) of
    degree-6 averages over the state, the observable and the generators of the later layers, each an
    independent Haar object (the chain model's law of up to four layers; the RPA for layers >= 2).
    The symbolic averages do not depend on the matrices and are cached per ``d``; the first call at a
    given ``d`` takes of the order of 30 s.

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_qntk`.

    Returns:
        ``E[mu^2]``; ``Var mu = E[mu^2] - E[mu]^2`` with :func:`mean_dqntk`.

    Example (about 30 s on first use at a new ``d``, hence skipped in the doctests):
        >>> from qntk.models import observables
        >>> round(mean_dqntk_sq(observables.xxz(3), None, 20, 0.5), 1)  # doctest: +SKIP
        27531.3
    """
    layers, s = _Layers(observable, generator, n_layers), _check_scale(scale)
    if len(layers.gens) > 1:
        raise ValueError(f"mean_dqntk_sq takes one kind of generator for every layer; got {len(layers.gens)} kinds "
                         "(by spectrum): pass a single generator.")
    o, g, d, L = layers.o, layers.gens[0], layers.d, layers.n_layers
    total = 0.0
    for pattern, (m, mult) in _mu_sq_patterns().items():
        if m <= L:
            val = _mu_sq_term(pattern, d).evaluate({"O": o, "G": g})
            total += math.comb(L, m) * mult * val.real
    return s**8 * total


def mean_eps(observable, target: float = 0.0) -> float:
    """``E[eps] = tr(O) / d - O_0`` for a Haar-random output state (000 eq. (2)).

    Example:
        >>> mean_eps(np.diag([1.0, 0.0, 0.0, 0.0]), target=1.0)
        -0.75
    """
    o = _matrix("observable", observable)
    return float(np.trace(o).real / o.shape[0] - _check_real("target", target))


def mean_eps_sq(observable, target: float = 0.0) -> float:
    """``E[eps^2] = (tr^2 O + tr O^2) / (d (d + 1)) - 2 O_0 tr(O) / d + O_0^2`` for a Haar output state.

    Example:
        >>> round(mean_eps_sq(np.diag([1.0, 0.0, 0.0, 0.0]), target=1.0), 12)  # 2/20 - 2/4 + 1
        0.6
    """
    o = _matrix("observable", observable)
    d, o0 = o.shape[0], _check_real("target", target)
    t1, t2 = np.trace(o).real, np.trace(o @ o).real
    return float((t1**2 + t2) / (d * (d + 1)) - 2 * o0 * t1 / d + o0**2)
