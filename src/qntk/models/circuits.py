"""Layered parametrized circuits U(theta) = prod_l W_l exp(-i s phi_l G_l) (000 eq. (1), 002 eq. (1)).

A :class:`Circuit` holds one layer per generator. Layer ``l`` applies the rotation
``exp(-i s phi_l G_l)`` and then the fixed gate ``W_l``; the product runs right to left, so layer 1
acts first on the input state (after an optional fixed input unitary ``W_in``, the ``U_0`` of 002
eq. (1)). Each layer angle is

.. math::  \\phi_l = \\theta_{p(l)} + a_l x_{f(l)},

with ``p(l)`` the trainable parameter driving layer ``l`` (or none) and ``f(l)`` the data feature it
encodes (or none), so that data re-uploading models and shared parameters use the same engine.

Generators come in two kinds, chosen for speed:

* ``"pauli"``: Pauli strings (``G^2 = 1``), stored as bit masks and applied as signed permutations;
* ``"diagonal"``: real diagonal matrices. A circuit with general Hermitian generators
  ``G_l = V_l D_l V_l^dagger`` is rewritten into this form by folding ``V_l`` into the neighbouring
  fixed gates (:func:`from_hermitian`), so that every layer still costs one matrix product.

Fixed gates are ``"dense"`` d x d unitaries, ``"perm"`` signed permutations (CNOT, CZ, SWAP, X, Z
products, applied in O(d) from a ``(L, d)`` table), ``"local"`` lists of two-qubit gates (CNOT, CZ,
SWAP) applied as tensor operations on the state, ``"brickwork"`` random local circuits (rounds of
single-qubit unitaries, each followed by a CZ on every bond of the open chain; :class:`BrickworkGates`),
or ``"none"``.

Local circuits (Pauli generators and ``"local"`` gates, :class:`LocalGates`) are the fast path for
hardware-efficient circuits at many qubits: their structure (each layer's Pauli string and gate list)
is static, so every gate is a reshape-level operation on the state with nothing of size ``d`` stored
per layer. The structure must repeat with some period (a *block* of layers, :attr:`Circuit.program`):
the engine compiles one branch per layer of the block, so compile time grows with the block's length
and not with the depth.

All arrays are pytree leaves (stacked along a leading axis for ensembles of random circuits, see
:func:`stack`); sizes and kinds are static, so a jitted function compiles once per shape and never
per depth (the layers are scanned over, not unrolled).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._spec import check_scale
from .pauli import PauliString

GENERATOR_KINDS = ("pauli", "diagonal")
GATE_KINDS = ("dense", "perm", "local", "brickwork", "none")
LOCAL_MAX_SUPPORT = 4
"""Largest number of qubits a generator of a local circuit acts on (each one is an axis of the tensor view of
the state, and XLA compiles views of high rank slowly); circuits with larger generators keep their local gates
as signed-permutation tables."""
TWO_QUBIT_GATES = ("cnot", "cz", "swap")


@dataclass(frozen=True)
class Circuit:
    """A layered parametrized circuit (see the module docstring).

    Build one with :func:`from_paulis`, :func:`from_hermitian`, :func:`from_diagonal` or an ansatz of
    :mod:`qntk.models.ansatze`; the constructors validate every argument.

    Attributes:
        gen_x, gen_z, gen_ny: ``(L,)`` masks of the Pauli generators (``"pauli"`` kind).
        gen_diag: ``(L, d)`` eigenvalues of the diagonal generators (``"diagonal"`` kind).
        w: ``(L, d, d)`` dense fixed gates (``"dense"`` kind).
        w_perm, w_phase: ``(L, d)`` signed permutations, ``(W psi)[k] = w_phase[k] psi[w_perm[k]]``.
        w_qubit: ``(L, depth, n, 2, 2)`` single-qubit unitaries of ``"brickwork"`` gates: ``w_qubit[l, r, q]``
            acts on qubit ``q`` in round ``r`` of ``W_l`` (:class:`BrickworkGates`).
        w_in: ``(d, d)`` fixed unitary applied to the input state first, or ``None``.
        param_index: ``(L,)`` parameter driving each layer, ``-1`` for none.
        feature_index, feature_scale: ``(L,)`` data feature encoded by each layer (``-1`` for none)
            and its scale ``a_l``.
        n_qubits, n_params, n_features: sizes.
        scale: the generator scale ``s``.
        generator_kind, gate_kind: see :data:`GENERATOR_KINDS`, :data:`GATE_KINDS`.
        program: for ``"local"`` gates, the static structure of one block of layers: per layer
            ``(x, z, ops)``, the Pauli masks of its generator and its gate list; the circuit's
            layers repeat it ``n_layers / len(program)`` times. ``None`` otherwise.
    """

    gen_x: jax.Array | None
    gen_z: jax.Array | None
    gen_ny: jax.Array | None
    gen_diag: jax.Array | None
    w: jax.Array | None
    w_perm: jax.Array | None
    w_phase: jax.Array | None
    w_qubit: jax.Array | None
    w_in: jax.Array | None
    param_index: jax.Array
    feature_index: jax.Array
    feature_scale: jax.Array
    n_qubits: int
    n_params: int
    n_features: int
    scale: float
    generator_kind: str
    gate_kind: str
    program: tuple | None = None

    @property
    def dim(self) -> int:
        return 2**self.n_qubits

    @property
    def n_layers(self) -> int:
        return self.param_index.shape[-1]

    @property
    def ensemble_shape(self) -> tuple[int, ...]:
        """Leading axes of a stacked ensemble of circuits (``()`` for a single circuit)."""
        return self.param_index.shape[:-1]

    def replace(self, **changes) -> Circuit:
        return dataclasses.replace(self, **changes)


_META = ["n_qubits", "n_params", "n_features", "scale", "generator_kind", "gate_kind", "program"]
_DATA = [f.name for f in dataclasses.fields(Circuit) if f.name not in _META]
jax.tree_util.register_dataclass(Circuit, data_fields=_DATA, meta_fields=_META)


def stack(circuits: Sequence[Circuit]) -> Circuit:
    """Stacks circuits of identical structure into an ensemble along a new leading axis."""
    if not circuits:
        raise ValueError("circuits is empty: pass at least one circuit to stack.")
    return jax.tree.map(_stack_leaves, *circuits)


def _stack_leaves(*xs):
    if any(isinstance(x, jax.core.Tracer) for x in xs):
        return jnp.stack(xs)
    # host-side stacking: one transfer instead of thousands of small device operations
    return jnp.asarray(np.stack([np.asarray(x) for x in xs]))


def index(circuit: Circuit, i: int) -> Circuit:
    """Member ``i`` of a stacked ensemble."""
    return jax.tree.map(lambda x: x[i], circuit)


def generator_matrices(circuit: Circuit) -> list[np.ndarray]:
    """Dense ``G_l`` of every layer, in circuit order (small d only; the theory needs the generators'
    spectra). The layer arrays are read from the device once."""
    if circuit.generator_kind == "diagonal":
        return [np.diag(g).astype(complex) for g in np.asarray(circuit.gen_diag)]
    return [PauliString(int(x), int(z), circuit.n_qubits).matrix()
            for x, z in zip(np.asarray(circuit.gen_x), np.asarray(circuit.gen_z))]


# --------------------------------------------------------------------------------------------------
# Validation helpers


#: Largest state-vector simulation qntk accepts.
MAX_QUBITS = 24


def _check_qubits(n_qubits: int) -> int:
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, (int, np.integer)) or n_qubits < 1:
        raise ValueError(f"n_qubits must be a positive integer, got {n_qubits!r}.")
    n = int(n_qubits)
    if n > MAX_QUBITS:
        raise ValueError(f"n_qubits={n} is too large for a state-vector simulation: use <= {MAX_QUBITS}.")
    return n


def _check_layers(n_layers: int) -> int:
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)) or n_layers < 1:
        raise ValueError(f"n_layers must be a positive integer (L >= 1), got {n_layers!r}.")
    return int(n_layers)


def check_unitary(u: np.ndarray, name: str, dim: int, atol: float = 1e-8) -> np.ndarray:
    """Validates a stack ``(..., d, d)`` of unitaries and returns it as complex128."""
    u = np.asarray(u, dtype=complex)
    if u.shape[-2:] != (dim, dim):
        raise ValueError(f"{name} must have trailing shape ({dim}, {dim}) for {int(np.log2(dim))} qubits, got {u.shape}.")
    if not np.all(np.isfinite(u)):
        raise ValueError(f"{name} contains NaN or infinite entries.")
    err = np.max(np.abs(np.conj(np.swapaxes(u, -1, -2)) @ u - np.eye(dim)))
    if err > atol:
        raise ValueError(f"{name} is not unitary (max |W^dagger W - 1| = {err:.2e}); pass unitary matrices.")
    return u


def _layer_maps(n_layers: int, param_index, feature_index, feature_scale):
    pidx = np.arange(n_layers) if param_index is None else np.asarray(param_index, dtype=np.int32)
    fidx = -np.ones(n_layers, np.int32) if feature_index is None else np.asarray(feature_index, dtype=np.int32)
    fscale = np.ones(n_layers) if feature_scale is None else np.asarray(feature_scale, dtype=float)
    for name, arr in (("param_index", pidx), ("feature_index", fidx), ("feature_scale", fscale)):
        if arr.shape != (n_layers,):
            raise ValueError(f"{name} must have shape ({n_layers},), one entry per layer, got {arr.shape}.")
    if np.any(pidx < -1) or np.any(fidx < -1):
        raise ValueError("param_index and feature_index entries must be >= 0, or -1 for 'none'.")
    n_params = int(pidx.max()) + 1 if np.any(pidx >= 0) else 0
    used = set(pidx[pidx >= 0].tolist())
    if used != set(range(n_params)):
        raise ValueError(f"param_index must use every parameter 0..{n_params - 1} at least once.")
    if n_params == 0:
        raise ValueError("the circuit has no trainable parameter: at least one layer needs param_index >= 0.")
    n_features = int(fidx.max()) + 1 if np.any(fidx >= 0) else 0
    return (
        jnp.asarray(pidx, jnp.int32),
        jnp.asarray(fidx, jnp.int32),
        jnp.asarray(fscale, jnp.float64),
        n_params,
        n_features,
    )


def _gates(n_layers: int, dim: int, gates, check: bool = True):
    """Normalizes the fixed gates argument into (kind, w, w_perm, w_phase)."""
    if gates is None:
        return "none", None, None, None
    if isinstance(gates, tuple) and len(gates) == 2:
        perm, phase = (np.asarray(g) for g in gates)
        if perm.shape != (n_layers, dim) or phase.shape != (n_layers, dim):
            raise ValueError(f"signed-permutation gates need perm and phase of shape ({n_layers}, {dim}).")
        if any(sorted(p) != list(range(dim)) for p in perm):
            raise ValueError("each row of the gate permutation must be a permutation of 0..d-1.")
        if not np.allclose(np.abs(phase), 1.0):
            raise ValueError("gate phases of a signed permutation must have modulus 1.")
        return "perm", None, jnp.asarray(perm, jnp.int32), jnp.asarray(phase, jnp.complex128)
    w = np.asarray(gates)
    if w.ndim != 3 or w.shape[0] != n_layers:
        raise ValueError(f"gates must be an array of shape ({n_layers}, {dim}, {dim}): one fixed unitary per layer.")
    if check:
        w = check_unitary(w, "gates", dim)
    return "dense", jnp.asarray(w, jnp.complex128), None, None


def from_paulis(paulis: Sequence[str], gates=None, *, scale: float = 0.5, **layout) -> Circuit:
    """A circuit with Pauli-string generators ``G_l = paulis[l]``.

    Args:
        paulis: one label per layer, e.g. ``["XYZ", "ZZX"]`` (character q acts on qubit q).
        gates: fixed gates ``W_l``: ``None``, an ``(L, d, d)`` array of unitaries, a pair
            ``(perm, phase)`` of ``(L, d)`` arrays for signed permutations, :class:`LocalGates`
            (:func:`local_gates`; the fast path at many qubits) or :class:`BrickworkGates`
            (:func:`brickwork_gates`; random local circuits, nothing of size ``d`` stored).
        scale: generator scale ``s`` in ``exp(-i s theta G)``.
        layout: keywords shared by every constructor: ``w_in`` (an optional fixed unitary applied
            to the input state first); ``param_index``, ``feature_index``, ``feature_scale`` (the
            angle map of the module docstring; by default layer ``l`` is driven by parameter ``l``
            and encodes no data); ``check`` (verify that dense gates are unitary, O(L d^3); builders
            that sample Haar gates themselves pass ``False``).

    Example:
        >>> c = from_paulis(["XY", "ZZ", "YX"])
        >>> (c.n_qubits, c.n_layers, c.n_params, c.generator_kind, c.gate_kind)
        (2, 3, 3, 'pauli', 'none')
    """
    if isinstance(paulis, str) or len(paulis) == 0:
        raise ValueError("paulis must be a non-empty list of Pauli labels, one per layer (L >= 1).")
    strings = [PauliString.from_label(p) for p in paulis]
    n = _check_qubits(strings[0].n_qubits)
    if any(p.n_qubits != n for p in strings):
        raise ValueError("all Pauli generators must act on the same number of qubits.")
    if any(p.x == 0 and p.z == 0 for p in strings):
        raise ValueError("a generator is the identity, which only adds a global phase: drop that layer.")
    generators = {
        "gen_x": jnp.asarray([p.x for p in strings], jnp.int32),
        "gen_z": jnp.asarray([p.z for p in strings], jnp.int32),
        "gen_ny": jnp.asarray([p.n_y for p in strings], jnp.int32),
    }
    return _assemble("pauli", generators, len(strings), n, gates, scale, **layout)


def _assemble(generator_kind, generators, n_layers, n_qubits, gates, scale, *, w_in=None, param_index=None,
              feature_index=None, feature_scale=None, check: bool = True) -> Circuit:
    """Validates the parts common to every generator kind and builds the :class:`Circuit`."""
    dim = 2**n_qubits
    program = None
    if isinstance(gates, LocalGates):
        if len(gates.ops) != n_layers:
            raise ValueError(f"local gates give {len(gates.ops)} gate lists for {n_layers} layers: give one per layer.")
        if generator_kind == "pauli" and max(_support(generators)) <= LOCAL_MAX_SUPPORT:
            program = _program(generators, gates.ops)
        else:  # the fast path needs static, local Pauli generators; the same gates as tables otherwise
            gates = gates.signed_permutations(n_qubits)
    w_qubit = None
    if isinstance(gates, BrickworkGates):
        layers, _, qubits = gates.unitaries.shape[:3]
        if (layers, qubits) != (n_layers, n_qubits):
            raise ValueError(f"brickwork gates are for {layers} layers of {qubits} qubits, the circuit has {n_layers} "
                             f"layers of {n_qubits} qubits: give one set of rounds per layer, one gate per qubit.")
        kind, w, w_perm, w_phase, w_qubit = "brickwork", None, None, None, gates.unitaries
    elif program:
        kind, w, w_perm, w_phase = "local", None, None, None
    else:
        kind, w, w_perm, w_phase = _gates(n_layers, dim, gates, check)
    pidx, fidx, fscale, n_params, n_features = _layer_maps(n_layers, param_index, feature_index, feature_scale)
    fields = dict.fromkeys(("gen_x", "gen_z", "gen_ny", "gen_diag"))
    fields.update(generators)
    return Circuit(
        **fields,
        w=w,
        w_perm=w_perm,
        w_phase=w_phase,
        w_qubit=w_qubit,
        w_in=None if w_in is None else jnp.asarray(check_unitary(w_in, "w_in", dim)),
        param_index=pidx,
        feature_index=fidx,
        feature_scale=fscale,
        n_qubits=n_qubits,
        n_params=n_params,
        n_features=n_features,
        scale=check_scale(scale),
        generator_kind=generator_kind,
        gate_kind=kind,
        program=program,
    )


def _support(generators: dict) -> list[int]:
    """The number of qubits each Pauli generator acts on."""
    return [bin(int(x) | int(z)).count("1") for x, z in zip(np.asarray(generators["gen_x"]), np.asarray(generators["gen_z"]))]


def _program(generators: dict, ops: tuple) -> tuple:
    """One period of the static structure ``(x, z, ops)`` of the layers: the shortest block whose repetition is
    the circuit (the whole circuit when nothing repeats)."""
    keys = [(int(x), int(z), o) for x, z, o in zip(np.asarray(generators["gen_x"]), np.asarray(generators["gen_z"]), ops)]
    n = len(keys)
    period = next(p for p in range(1, n + 1) if n % p == 0 and all(keys[i] == keys[i % p] for i in range(n)))
    return tuple(keys[:period])


def from_diagonal(diagonals, gates=None, *, scale: float = 1.0, **layout) -> Circuit:
    """A circuit whose generators are real diagonal matrices ``diag(diagonals[l])``, shape ``(L, d)``;
    ``gates``, ``scale`` and ``layout`` as in :func:`from_paulis`.

    Example:
        >>> import numpy as np
        >>> c = from_diagonal(np.tile([1.0, -1.0, 1.0, -1.0], (5, 1)), np.tile(np.eye(4), (5, 1, 1)))
        >>> (c.n_qubits, c.n_layers, c.gate_kind)
        (2, 5, 'dense')
    """
    diag = np.asarray(diagonals)
    if np.iscomplexobj(diag):
        if np.max(np.abs(diag.imag)) > 1e-12:
            raise ValueError("diagonal generators must be real (Hermitian generators have real eigenvalues).")
        diag = diag.real
    if diag.ndim != 2 or diag.shape[0] < 1:
        raise ValueError("diagonals must have shape (L, d) with L >= 1: one diagonal per layer.")
    L, d = diag.shape
    n = int(np.log2(d))
    if 2**n != d:
        raise ValueError(f"the generator dimension {d} is not a power of two.")
    _check_qubits(n)
    if not np.all(np.isfinite(diag)):
        raise ValueError("diagonals contain NaN or infinite entries.")
    return _assemble("diagonal", {"gen_diag": jnp.asarray(diag, jnp.float64)}, L, n, gates, scale, **layout)


def from_hermitian(generators, gates=None, *, scale: float = 1.0, w_in=None, **angle_map) -> Circuit:
    """A circuit with general Hermitian generators ``G_l``, shape ``(L, d, d)``; ``gates``, ``scale``,
    ``w_in`` and the angle map (``param_index``, ``feature_index``, ``feature_scale``) as in
    :func:`from_paulis`.

    Each ``G_l = V_l D_l V_l^dagger`` is diagonalized once and the basis changes are folded into the
    fixed gates: ``W_l V_l exp(-i s phi D_l) V_l^dagger`` becomes a diagonal layer between the dense
    gates ``V_{l+1}^dagger W_l V_l`` (and ``W_in' = V_1^dagger W_in``, ``W_L' = W_L V_L``). The circuit
    is the same unitary; every layer costs one d x d matrix product.

    Raises:
        ValueError: if a generator is not Hermitian or shapes disagree.
    """
    g = np.asarray(generators, dtype=complex)
    if g.ndim != 3 or g.shape[1] != g.shape[2] or g.shape[0] < 1:
        raise ValueError("generators must have shape (L, d, d) with L >= 1.")
    L, d, _ = g.shape
    err = np.max(np.abs(g - np.conj(np.swapaxes(g, 1, 2))))
    if err > 1e-10 * max(1.0, np.max(np.abs(g))):
        raise ValueError(f"generators are not Hermitian (max |G - G^dagger| = {err:.2e}); pass (G + G^dagger)/2.")
    evals, vecs = np.linalg.eigh(g)
    if isinstance(gates, LocalGates):
        gates = gates.signed_permutations(int(np.log2(d)))
    elif isinstance(gates, BrickworkGates):
        gates = gates.matrices()
    kind, w, w_perm, w_phase = _gates(L, d, gates)
    if kind == "none":
        fixed = np.tile(np.eye(d, dtype=complex), (L, 1, 1))
    elif kind == "perm":
        fixed = np.zeros((L, d, d), complex)
        rows = np.arange(d)
        for i in range(L):
            fixed[i, rows, np.asarray(w_perm[i])] = np.asarray(w_phase[i])
    else:
        fixed = np.asarray(w)
    merged = np.empty_like(fixed)
    for i in range(L):
        nxt = np.conj(vecs[i + 1]).T if i + 1 < L else np.eye(d)
        merged[i] = nxt @ fixed[i] @ vecs[i]
    w_in0 = np.eye(d) if w_in is None else check_unitary(w_in, "w_in", d)
    return from_diagonal(evals, merged, scale=scale, w_in=np.conj(vecs[0]).T @ w_in0, check=False, **angle_map)


def permutation_gate(n_qubits: int, ops: Sequence[tuple[str, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """A product of CNOT / CZ / SWAP gates as a signed permutation ``(perm, phase)`` of the basis.

    ``ops`` is applied in order, e.g. ``[("cnot", 0, 1), ("cnot", 2, 3)]`` (control, target).
    ``(W psi)[k] = phase[k] psi[perm[k]]``.

    Example:
        >>> perm, phase = permutation_gate(2, [("cnot", 0, 1)])
        >>> perm.tolist(), phase.real.tolist()
        ([0, 1, 3, 2], [1.0, 1.0, 1.0, 1.0])
    """
    d = 2**n_qubits
    # Track W as a map on basis states: W|j> = sign[j] |dest[j]>.
    dest = np.arange(d)
    sign = np.ones(d, dtype=complex)
    for name, a, b in (_check_gate(op, n_qubits) for op in ops):
        ba, bb = 1 << (n_qubits - 1 - a), 1 << (n_qubits - 1 - b)
        if name == "cnot":
            dest = np.where(dest & ba, dest ^ bb, dest)
        elif name == "cz":
            sign = sign * np.where(((dest & ba) != 0) & ((dest & bb) != 0), -1.0, 1.0)
        else:  # swap
            bits_a, bits_b = (dest & ba) != 0, (dest & bb) != 0
            dest = dest & ~(ba | bb) | np.where(bits_b, ba, 0) | np.where(bits_a, bb, 0)
    perm = np.empty(d, dtype=np.int64)
    phase = np.empty(d, dtype=complex)
    perm[dest] = np.arange(d)
    phase[dest] = sign
    return perm, phase


def _check_gate(op, n_qubits: int) -> tuple[str, int, int]:
    """``(name, a, b)`` of a two-qubit gate such as ``("cnot", 0, 1)``, validated."""
    try:
        name, a, b = str(op[0]).lower(), int(op[1]), int(op[2])
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"gate {op!r} is not (name, qubit, qubit), e.g. ('cnot', 0, 1).") from None
    if name not in TWO_QUBIT_GATES:
        raise ValueError(f"unknown gate {name!r} in a gate list: use {', '.join(TWO_QUBIT_GATES)}.")
    if a == b or not (0 <= a < n_qubits and 0 <= b < n_qubits):
        raise ValueError(f"gate {op!r} needs two distinct qubits in 0..{n_qubits - 1}.")
    return name, a, b


@dataclass(frozen=True)
class LocalGates:
    """Fixed gates as a list of two-qubit gates per layer (``ops[l]``, applied in order after the rotation of
    layer ``l``; empty for none), built by :func:`local_gates`."""

    ops: tuple[tuple[tuple[str, int, int], ...], ...]

    def signed_permutations(self, n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
        """The same gates as ``(perm, phase)`` tables, shape ``(L, d)`` each (:func:`permutation_gate`)."""
        tables = {o: permutation_gate(n_qubits, o) for o in set(self.ops)}
        return np.stack([tables[o][0] for o in self.ops]), np.stack([tables[o][1] for o in self.ops])


def local_gates(n_qubits: int, ops_per_layer: Sequence[Sequence[tuple[str, int, int]]]) -> LocalGates:
    """Validated :class:`LocalGates`: one list of ``("cnot" | "cz" | "swap", a, b)`` per layer.

    Example:
        >>> local_gates(2, [[], [("cnot", 0, 1)]]).ops
        ((), (('cnot', 0, 1),))
    """
    n = _check_qubits(n_qubits)
    return LocalGates(tuple(tuple(_check_gate(op, n) for op in ops) for ops in ops_per_layer))


@dataclass(frozen=True)
class BrickworkGates:
    """Fixed gates that are random local circuits, built by :func:`brickwork_gates`.

    ``W_l = prod_{r = depth-1}^{0} CZ_chain (u_{l,r,0} (x) ... (x) u_{l,r,n-1})``: round ``r`` applies the
    single-qubit unitary ``unitaries[l, r, q]`` to every qubit ``q``, then a CZ on every bond ``(q, q + 1)`` of
    the open chain (the CZs commute: one brick wall, even and odd bonds). With Haar single-qubit gates this is
    the standard local random circuit whose moments approach those of the Haar measure with the depth (an
    approximate unitary 2-design, not an exact one). The engine applies it as tensor operations on the state
    (:func:`qntk._sim.local.apply_brickwork`): memory ``O(L depth n)``, nothing of size ``d``.

    Attributes:
        unitaries: ``(L, depth, n, 2, 2)`` complex array.
    """

    unitaries: jax.Array

    @property
    def depth(self) -> int:
        return self.unitaries.shape[1]

    def matrices(self) -> np.ndarray:
        """The dense ``W_l``, shape ``(L, d, d)`` (small ``d`` only: tests, dense routes)."""
        return np.stack([brickwork_matrix(u) for u in np.asarray(self.unitaries)])


def brickwork_gates(n_qubits: int, unitaries) -> BrickworkGates:
    """Validated :class:`BrickworkGates` from single-qubit unitaries of shape ``(L, depth, n, 2, 2)``.

    Raises:
        ValueError: for a wrong shape, non-finite entries or a matrix that is not unitary.

    Example:
        >>> g = brickwork_gates(3, np.tile(np.eye(2), (4, 2, 3, 1, 1)))
        >>> g.unitaries.shape, g.depth
        ((4, 2, 3, 2, 2), 2)
    """
    n = _check_qubits(n_qubits)
    u = np.asarray(unitaries)
    if u.ndim != 5 or u.shape[2:] != (n, 2, 2) or u.shape[0] < 1 or u.shape[1] < 1:
        raise ValueError(f"brickwork unitaries must have shape (L, depth, {n}, 2, 2) with L, depth >= 1: one 2 x 2 "
                         f"unitary per layer, round and qubit; got {u.shape}.")
    check_unitary(u, "brickwork unitaries", 2)
    return BrickworkGates(jnp.asarray(u, jnp.complex128))


def cz_chain_signs(n_qubits: int) -> np.ndarray:
    """The diagonal of the product of CZ on every bond ``(q, q + 1)``: ``(-1)^{popcount(k & (k >> 1))}``
    (qubit ``q`` is bit ``n - 1 - q``, so the bonds are the pairs of adjacent bits)."""
    k = np.arange(2**_check_qubits(n_qubits))
    pairs = k & (k >> 1)
    parity = np.zeros_like(k)
    while np.any(pairs):
        parity ^= pairs & 1
        pairs = pairs >> 1
    return 1.0 - 2.0 * parity


def brickwork_matrix(unitaries) -> np.ndarray:
    """Dense ``W`` of one layer's brickwork gates, ``unitaries`` of shape ``(depth, n, 2, 2)`` (small ``d``)."""
    u = np.asarray(unitaries, dtype=complex)
    n = u.shape[1]
    signs = cz_chain_signs(n)
    w = np.eye(2**n, dtype=complex)
    for rnd in u:
        kron = rnd[0]
        for q in range(1, n):
            kron = np.kron(kron, rnd[q])  # qubit 0 is the leftmost (most significant) factor
        w = signs[:, None] * (kron @ w)
    return w
