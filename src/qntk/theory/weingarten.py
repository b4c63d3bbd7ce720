"""The Weingarten engine: exact finite-``d`` Haar averages over the unitary group and Haar-random states.

Generic: nothing here knows about the QNTK; :mod:`qntk.theory.haar` builds the QNTK statistics on it.

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

Public names: permutations :func:`compose`, :func:`inverse`, :func:`cycles`; :func:`weingarten_matrix`,
:func:`permutation_operator`, :func:`cycle_trace`, :func:`haar_moment`, :func:`haar_state_moment`;
trace polynomials :class:`OpPoly`, :func:`comm`, :class:`TracePoly`, :func:`trace`,
:func:`adjoint_letter`, :data:`DAGGER`, :data:`MAX_K`.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..models._spec import check_int

Perm = tuple[int, ...]
Word = tuple[str, ...]
Monomial = tuple[Word, ...]

DAGGER = "\N{DAGGER}"
"""Suffix of the adjoint of a named matrix in a word: ``"V"`` and ``"V\N{DAGGER}"``."""
MAX_K = 6
"""Largest moment order for which :func:`weingarten_matrix` builds the ``k! x k!`` matrices."""


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
    return check_int("the dimension d", d, 1)


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
    state average of :mod:`qntk.theory.haar` (000/001 assume this through the 2-design of
    ``V_{-,l}``, 001 eq. (21)).

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

    def haar_unitary(self, name: str, *, fast: bool = True, dim: int | None = None) -> TracePoly:
        """Exact average over a Haar-random unitary ``name`` (its adjoint is ``name + DAGGER``).

        Each monomial is re-wired by the Weingarten sum (``docs/theory-haar.md``): a monomial with
        ``k`` letters ``V`` and ``k`` letters ``V^dagger`` (after cancelling adjacent ``V V^dagger``)
        gives ``(k!)^2`` products of traces; unequal counts give zero. ``fast=True`` uses the factorized
        sum when every word is made of blocks ``V X V^dagger``; ``fast=False`` forces the plain sum
        (for cross-checks).

        ``dim`` averages over the unitary group of a ``dim``-dimensional subspace instead (default: the
        whole space): ``name`` is then ``Q V Q`` with ``Q`` the subspace's projector, and every
        occurrence must be written between two ``Q`` letters, so that each re-wired segment carries
        ``Q`` and no trace is left empty (``tr(Q) = dim``, not ``d``).
        """
        dag = adjoint_letter(name)
        k_dim = self.dim if dim is None else check_int("dim", dim, 1)
        terms: dict[Monomial, complex] = {}
        for mono, coef in self.terms.items():
            words = [_cancel_pairs(w, name, dag) for w in mono]
            for new_words, weight in _unitary_rewire(words, name, dag, k_dim, fast):
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

        return self.evaluate_traces(tr)

    def evaluate_traces(self, trace: Callable[[Word], complex]) -> complex:
        """The value with ``trace(word)`` for every trace left (e.g. from Pauli sums, without matrices)."""
        return complex(sum(c * math.prod(trace(w) for w in m) for m, c in self.terms.items()))


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

