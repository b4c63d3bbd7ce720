"""Exact finite-``d`` Haar averages of the QNTK statistics at initialization.

The averages are taken by the Weingarten engine of :mod:`qntk.theory.weingarten` (permutations,
Weingarten matrices, trace polynomials); the slowest symbolic ones are kept on disk by
:mod:`qntk.theory._cache`.

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

Every function takes the generator scale ``s`` explicitly (no default): ``0.5`` for
``exp(-i theta G/2)``, ``-1`` for 000/001's ``exp(+i theta G)``.

Public functions: :func:`mean_K`, :func:`var_K`, :func:`gradient_moments`, :func:`mean_mu`,
:func:`mean_mu_sq`, :func:`mean_eps_mu`, :func:`lambda_ratio`, :func:`zeta_ratio`,
:func:`mean_eps_K`, :func:`mean_eps`, :func:`mean_eps_sq`; :func:`group_by_spectrum`;
:data:`MODELS`.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np

from ..models._spec import check_choice, check_int, check_real, check_scale
from ..models.observables import pauli_dict, pauli_product
from ..models.pauli import PauliString
from ._cache import cached
from .weingarten import DAGGER, OpPoly, TracePoly, comm, trace

HERMITIAN_RTOL = 1e-10
"""A matrix is Hermitian when ``||M - M^dagger||_F <= HERMITIAN_RTOL * ||M||_F``."""
MODELS = ("independent", "chain")


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


DENSE_MAX_QUBITS = 10
"""Up to this many qubits the averages are evaluated on ``d x d`` matrices; above, on Pauli sums (traces of
products of Pauli strings, no matrix of size ``d``): the observable must then be a Pauli sum and every
generator a Pauli string."""


class _PauliOperator:
    """A Hermitian operator as a Pauli sum ``{(x, z): c}`` (:data:`qntk.models.observables.PauliDict`)."""

    def __init__(self, terms: dict, n_qubits: int):
        self.terms, self.n_qubits, self.dim = dict(terms), n_qubits, 2**n_qubits

    def is_pauli_string(self) -> bool:
        if len(self.terms) != 1:
            return False
        ((mask, coef),) = self.terms.items()
        return mask != (0, 0) and abs(coef - 1.0) < 1e-12

    def trace_powers(self) -> tuple[float, float]:
        """``tr O`` and ``tr O^2``."""
        return self.dim * self.terms.get((0, 0), 0.0).real, self.dim * sum(abs(c) ** 2 for c in self.terms.values())


def _operand(name: str, x, d: int | None = None):
    """``x`` as a ``d x d`` matrix (:func:`_matrix`), or above :data:`DENSE_MAX_QUBITS` qubits as a
    :class:`_PauliOperator` (a Pauli label or a Pauli-sum observable)."""
    n = len(x.strip()) if isinstance(x, str) else getattr(x, "n_qubits", None)
    if n is None or n <= DENSE_MAX_QUBITS:
        return _matrix(name, x, d)
    if isinstance(x, str):
        p = PauliString.from_label(x)
        op = _PauliOperator({(p.x, p.z): 1.0}, n)
    elif hasattr(x, "labels") and hasattr(x, "coefs"):
        op = _PauliOperator(pauli_dict(x), n)
    else:
        raise ValueError(f"{name} acts on {n} qubits: above {DENSE_MAX_QUBITS} the Haar averages are taken from Pauli "
                         "sums, so give a Pauli-sum observable and Pauli-string generators.")
    if d is not None and op.dim != d:
        raise ValueError(f"{name} is {op.dim} x {op.dim} but the observable is {d} x {d}: use one dimension.")
    return op


def _dim(op) -> int:
    return op.dim if isinstance(op, _PauliOperator) else op.shape[0]


def _evaluate(poly: TracePoly, operators: dict) -> complex:
    """``poly`` with the named operators substituted: matrices, or Pauli sums (no matrix of size ``d``)."""
    if not isinstance(operators["O"], _PauliOperator):
        return poly.evaluate(operators)
    terms = {name: op.terms for name, op in operators.items()}
    dim = operators["O"].dim

    @functools.lru_cache(maxsize=None)
    def product(word: tuple[str, ...]) -> dict:
        if len(word) == 1:
            return terms[word[0].removesuffix(DAGGER)]  # Hermitian operators
        return pauli_product(product(word[: len(word) // 2]), product(word[len(word) // 2:]))

    def trace(word) -> complex:  # tr(A B) = d sum_P a_P b_P, as tr(P Q) = d delta_PQ for Pauli strings
        word = tuple(word)
        if len(word) == 1:
            return dim * product(word).get((0, 0), 0.0)
        a, b = product(word[: len(word) // 2]), product(word[len(word) // 2:])
        return dim * sum(c * b.get(p, 0.0) for p, c in a.items())

    return poly.evaluate_traces(trace)


def _matrix(name: str, x, d: int | None = None) -> np.ndarray:
    if hasattr(x, "matrix") and callable(x.matrix):
        x = x.matrix()
    if isinstance(x, str):
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


def _default_generator(d: int):
    if d % 2:
        raise ValueError(f"d = {d} is odd: pass the generator matrix explicitly.")
    n = d.bit_length() - 1
    if n > DENSE_MAX_QUBITS:
        return _PauliOperator({(0, 1 << (n - 1)): 1.0}, n)  # Z on qubit 0
    return np.kron(np.diag([1.0, -1.0]), np.eye(d // 2))


def _operands(observable, generator):
    o = _operand("observable", observable)
    d = _dim(o)
    return o, _default_generator(d) if generator is None else _operand("generator", generator, d), d


def _is_sequence(generator) -> bool:
    """A sequence of per-layer generators (labels, observables or matrices), not one generator."""
    if generator is None or isinstance(generator, str) or hasattr(generator, "matrix"):
        return False
    if isinstance(generator, np.ndarray):
        return generator.ndim == 3
    return isinstance(generator, Sequence) and len(generator) > 0 and (
        isinstance(generator[0], str) or hasattr(generator[0], "matrix") or np.ndim(generator[0]) == 2)


def group_by_spectrum(generators: Sequence) -> tuple[list, list[int]]:
    """The distinct kinds of generator (Haar averages see only the spectrum of each ``G``), each the
    first of its kind, and the kind of every generator. Above :data:`DENSE_MAX_QUBITS` qubits the generators
    are Pauli strings (labels), all of one kind (eigenvalues +-1, each ``d/2`` times)."""
    generators = [_operand(f"generator[{i}]", g) if isinstance(g, str) else g for i, g in enumerate(generators)]
    if any(isinstance(g, _PauliOperator) for g in generators):
        if not all(isinstance(g, _PauliOperator) and g.is_pauli_string() for g in generators):
            raise ValueError(f"above {DENSE_MAX_QUBITS} qubits every generator must be a Pauli string.")
        return generators[:1], [0] * len(generators)
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
        self.o = _operand("observable", observable)
        self.d = d = _dim(self.o)
        if _is_sequence(generator):
            mats = [_operand(f"generator[{i}]", g, d) for i, g in enumerate(generator)]
            if n_layers is not None and check_int("n_layers", n_layers, 1) != len(mats):
                raise ValueError(f"n_layers = {n_layers} but {len(mats)} per-layer generators were given: pass n_layers=None.")
            self.gens, types = group_by_spectrum(mats)
        else:
            self.gens = [_default_generator(d) if generator is None else _operand("generator", generator, d)]
            types = [0] * check_int("n_layers", 1 if n_layers is None else n_layers, 1)
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


def _value(name: str, o, g, d: int, h=None) -> float:
    val = _evaluate(_moment(name, d), {"O": o, "G": g, "H": g if h is None else h})
    scale = max(1.0, abs(val))
    if abs(val.imag) > 1e-8 * scale:  # pragma: no cover - would be an engine bug
        raise RuntimeError(f"the average {name} came out complex ({val}); please report this.")
    return val.real


def gradient_moments(observable, generator, scale: float) -> dict[str, float]:
    """Exact moments of one layer's gradient ``g = i s <psi|[G, A]|psi>`` and of a correlated pair.

    Returns ``{"g2": E[g^2], "g4": E[g^4], "g2g2": E[g_l1^2 g_l2^2] (chain model, l1 != l2)}``.

    Args:
        observable, generator, scale: as in :func:`mean_K` (one generator).

    Example:
        >>> from qntk.models import observables
        >>> m = gradient_moments(observables.xxz(2), "XY", scale=0.5)
        >>> sorted(m), m["g4"] > m["g2"] ** 2
        (['g2', 'g2g2', 'g4'], True)
    """
    o, g, d = _operands(observable, generator)
    s = check_scale(scale)
    return {
        "g2": s**2 * _value("g2", o, g, d),
        "g4": s**4 * _value("g4", o, g, d),
        "g2g2": s**4 * _value("g2g2", o, g, d),
    }


def mean_K(observable, generator, n_layers: int | None, scale: float) -> float:
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
        generator: ``G``, a Hermitian ``(d, d)`` matrix or Pauli label; ``None`` for ``Z (x) 1`` (any
            Pauli string gives the same averages). Or a sequence of per-layer generators in circuit order
            (e.g. a Hamiltonian variational ansatz alternating two kinds of layer): every sum over
            layers and ordered pairs of layers then uses each layer's own ``G``.
        n_layers: ``L`` (``None`` for 1); with per-layer generators, ``None`` or their number.
        scale: ``s`` in ``exp(-i s theta G)``, a finite non-zero real, required (no default): ``0.5``
            for ``exp(-i theta G/2)``, ``-1`` for 000/001's ``exp(+i theta G)``.

    Returns:
        ``E[K]``.

    Raises:
        ValueError: for a non-Hermitian or mis-shaped matrix, ``L < 1`` or a zero or non-finite ``s``.

    Example:
        >>> from qntk.models import observables
        >>> obs = observables.xxz(3)
        >>> k = mean_K(obs, "XYZ", n_layers=20, scale=-1.0)
        >>> d, t1, t2 = 8, obs.trace_power(1), obs.trace_power(2)
        >>> bool(np.isclose(k, 20 * (d * t2 - t1**2) * 2 / (d + 1) / (d**2 - 1)))  # 001 eq. (22)
        True
    """
    return float(check_scale(scale) ** 2 * _Layers(observable, generator, n_layers).single("g2"))


def var_K(observable, generator, n_layers: int | None, scale: float, *, model: str = "independent") -> float:
    """Exact Haar variance ``Var K`` at initialization.

    * ``model="independent"`` (001 eq. (21)): the layers are independent, ``Var K = L (E[g^4] - E[g^2]^2)``;
    * ``model="chain"``: adds the covariance of pairs, ``L (L - 1) (E[g_l1^2 g_l2^2] - E[g^2]^2)``.

    ``E[g^4]`` is a degree-4 average over the state and over ``V`` (``S_4`` Weingarten); the pair term
    also averages the conjugated generator ``G' = Y G Y^dagger`` of the later layer. 000 eq. (12) /
    001 eq. (23) give the large-``d`` value ``L (8 tr^2 O^2 + 12 tr O^4) / d^4`` for ``s = +-1``;
    004 eq. (44) adds an ``L^2`` term, which the chain model reproduces (``docs/theory-haar.md``).

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_K`.
        model: ``"independent"`` or ``"chain"``.

    Returns:
        ``Var K``.

    Example:
        >>> from qntk.models import observables
        >>> v1 = var_K(observables.xxz(2), "XY", 10, 0.5)
        >>> v2 = var_K(observables.xxz(2), "XY", 10, 0.5, model="chain")
        >>> bool(v1 > 0), bool(v2 > v1)
        (True, True)
    """
    layers, s = _Layers(observable, generator, n_layers), check_scale(scale)
    g2 = [layers.value("g2", t) for t in range(len(layers.gens))]
    var = layers.single("g4") - sum(c * x**2 for c, x in zip(layers.counts, g2))
    if check_choice("model", model, MODELS) == "chain":
        var += layers.ordered_pairs(lambda t1, t2: layers.value("g2g2", t1, t2) - g2[t1] * g2[t2])
    return float(s**4 * var)


def mean_mu(observable, generator, n_layers: int | None, scale: float) -> float:
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
        observable, generator, n_layers, scale: as in :func:`mean_K`.

    Returns:
        ``E[mu]``.

    Example:
        >>> from qntk.models import observables
        >>> round(mean_mu(observables.pauli_measurement("XZ"), "YY", 10, 0.5), 12)
        0.0
    """
    layers = _Layers(observable, generator, n_layers)
    return float(check_scale(scale) ** 4 * (layers.single("hg2") + layers.ordered_pairs(lambda a, b: layers.value("hgg", a, b))))


def mean_eps_K(observable, generator, n_layers: int | None, scale: float, target: float = 0.0) -> float:
    """Exact Haar average ``E[eps K]``: ``s^2 sum_l E[<A> <i[G_l, A]>^2] - O_0 E[K]`` (degree-3 averages).

    With :func:`mean_eps`, :func:`mean_K` it gives ``Cov(eps, K)``: the residual and the kernel of a
    random circuit are correlated unless ``tr(O_bar^3) = 0``, which biases the ensemble-averaged decay
    of :func:`qntk.theory.lazy.ensemble_residual`.

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_K`.
        target: ``O_0``.
    """
    layers = _Layers(observable, generator, n_layers)
    s2 = check_scale(scale) ** 2
    return float(s2 * layers.single("og2") - check_real("target", target) * mean_K(observable, generator, n_layers, scale))


def mean_eps_mu(observable, generator, n_layers: int | None, scale: float, target: float = 0.0) -> float:
    """Exact Haar average ``E[eps mu]`` (chain model), the numerator of 004's dynamical index.

    .. math::  \\mathbb E[\\varepsilon\\mu] = L\\, s^4\\, \\mathbb E\\big[\\langle A\\rangle \\langle[G,[G,A]]\\rangle
               \\langle[G,A]\\rangle^2\\big] + L (L - 1)\\, s^4\\, \\mathbb E\\big[\\langle A\\rangle
               \\langle[G,[G',A]]\\rangle \\langle[G,A]\\rangle \\langle[G',A]\\rangle\\big] - O_0\\, \\mathbb E[\\mu] ,

    with ``eps = <O> - O_0`` and ``<O> = <psi_l|A_l|psi_l>`` written in the frame of the earlier layer
    (degree-4 state and Weingarten averages). 004 Lemma 4 / eq. (39) gives the leading order of
    ``zeta_0 = E[eps mu] / E[K]^2`` for a traceless ``O``; see :func:`zeta_ratio`.

    Args:
        observable, generator, n_layers, scale: as in :func:`mean_K`.
        target: ``O_0``.

    Returns:
        ``E[eps mu]``.
    """
    layers, s = _Layers(observable, generator, n_layers), check_scale(scale)
    o_mu = s**4 * (layers.single("ohg2") + layers.ordered_pairs(lambda a, b: layers.value("ohgg", a, b)))
    return float(o_mu - check_real("target", target) * mean_mu(observable, generator, n_layers, scale))


def lambda_ratio(observable, generator, n_layers: int | None, scale: float) -> float:
    """``lambda_0 = E[mu] / E[K]`` at initialization, exact in ``d`` (004 Lemma 4, eq. (40)).

    004 defines the ensemble value as the ratio of averages (004 sec. "Unitary ensemble theory");
    its leading order ``L tr(O^3) / (4 d tr O^2)`` (``s = 1/2``, traceless ``O``) is this ratio's
    ``L, d >> 1`` limit (``docs/theory-haar.md``).
    """
    return mean_mu(observable, generator, n_layers, scale) / mean_K(observable, generator, n_layers, scale)


def zeta_ratio(observable, generator, n_layers: int | None, scale: float, target: float = 0.0) -> float:
    """``zeta_0 = E[eps mu] / E[K]^2`` at initialization, exact in ``d`` (004 Lemma 4, eq. (39)).

    Example:
        >>> from qntk.models import observables
        >>> z = zeta_ratio(observables.xxz(2), None, 8, 0.5, target=-3.0)
        >>> bool(np.isfinite(z))
        True
    """
    k = mean_K(observable, generator, n_layers, scale)
    return mean_eps_mu(observable, generator, n_layers, scale, target) / k**2


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


@functools.lru_cache(maxsize=None)
def _mu_sq_term(pattern: tuple[int, int, int, int], d: int) -> TracePoly:
    """:func:`_mu_sq_term_symbolic`, kept on disk by :func:`qntk.theory._cache.cached` (seconds to tens
    of seconds each to derive)."""
    return cached(f"mu_sq-{''.join(map(str, pattern))}-d{d}", lambda: _mu_sq_term_symbolic(pattern, d))


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


def mean_mu_sq(observable, generator, n_layers: int | None, scale: float) -> float:
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
        observable, generator, n_layers, scale: as in :func:`mean_K`.

    Returns:
        ``E[mu^2]``; ``Var mu = E[mu^2] - E[mu]^2`` with :func:`mean_mu`.

    Example (about 30 s on first use at a new ``d``, hence skipped in the doctests):
        >>> from qntk.models import observables
        >>> round(mean_mu_sq(observables.xxz(3), None, 20, 0.5), 1)  # doctest: +SKIP
        27531.3
    """
    layers, s = _Layers(observable, generator, n_layers), check_scale(scale)
    if len(layers.gens) > 1:
        raise ValueError(f"mean_mu_sq takes one kind of generator for every layer; got {len(layers.gens)} kinds "
                         "(by spectrum): pass a single generator.")
    o, g, d, L = layers.o, layers.gens[0], layers.d, layers.n_layers
    total = 0.0
    for pattern, (m, mult) in _mu_sq_patterns().items():
        if m <= L:
            val = _evaluate(_mu_sq_term(pattern, d), {"O": o, "G": g})
            total += math.comb(L, m) * mult * val.real
    return s**8 * total


def mean_eps(observable, target: float = 0.0) -> float:
    """``E[eps] = tr(O) / d - O_0`` for a Haar-random output state (000 eq. (2)).

    Example:
        >>> mean_eps(np.diag([1.0, 0.0, 0.0, 0.0]), target=1.0)
        -0.75
    """
    o = _operand("observable", observable)
    return float(_trace_powers(o)[0] / _dim(o) - check_real("target", target))


def mean_eps_sq(observable, target: float = 0.0) -> float:
    """``E[eps^2] = (tr^2 O + tr O^2) / (d (d + 1)) - 2 O_0 tr(O) / d + O_0^2`` for a Haar output state.

    Example:
        >>> round(mean_eps_sq(np.diag([1.0, 0.0, 0.0, 0.0]), target=1.0), 12)  # 2/20 - 2/4 + 1
        0.6
    """
    o = _operand("observable", observable)
    d, o0 = _dim(o), check_real("target", target)
    t1, t2 = _trace_powers(o)
    return float((t1**2 + t2) / (d * (d + 1)) - 2 * o0 * t1 / d + o0**2)


def _trace_powers(o) -> tuple[float, float]:
    """``tr O`` and ``tr O^2`` of a matrix or a Pauli sum."""
    if isinstance(o, _PauliOperator):
        return o.trace_powers()
    return float(np.trace(o).real), float(np.trace(o @ o).real)


# The names of qntk 0.1, kept for one release (docs/glossary.md).
mean_qntk, var_qntk, mean_dqntk, mean_dqntk_sq = mean_K, var_K, mean_mu, mean_mu_sq
mean_eps_qntk, mean_eps_dqntk = mean_eps_K, mean_eps_mu
