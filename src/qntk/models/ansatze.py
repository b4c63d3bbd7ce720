"""Built-in ansatze, each returning a validated :class:`~qntk.models.circuits.Circuit`.

* :func:`rpa`: random Pauli ansatz, 000 eq. (20) and 004 eqs. (26)-(27);
* :func:`rpa_local`: the same with each Haar ``W_l`` replaced by a random local circuit (an approximate
  2-design, for many qubits);
* :func:`hea`: hardware-efficient ansatz (RY, RZ on every qubit, then a CNOT brick wall), 004
  "Experimental results";
* :func:`periodic`: periodic ansatz of 002 Def. 2.1 with the diagonal generator of 002 App. D.1;
* :func:`hva`: Hamiltonian variational ansatz for the transverse-field Ising model (003);
* :func:`reuploading`: data re-uploading model with low- or high-frequency encodings (003).

Random ansatze take an integer ``seed``; the same seed gives the same circuit. :class:`Ansatz`
bundles a builder with its arguments so that ensembles of random circuits can be drawn.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import circuits as _c
from . import interop
from ._spec import QntkWarning, check_bool, check_choice, check_int, check_memory, check_real, check_scale
from .pauli import PauliString

PAULI_GROUPS = ("xyz", "full")
FREQUENCIES = ("low", "high")
"""Encodings of :func:`reuploading` and :func:`qntk.models.states.encoded_states`: ``a_q = 1`` or ``2^q``."""


@partial(jax.jit, static_argnums=(1, 2))
def haar_unitaries(key: jax.Array, count: int, dim: int) -> jax.Array:
    """``count`` Haar-random ``dim x dim`` unitaries (QR of a complex Ginibre matrix, phases fixed).

    Example:
        >>> u = haar_unitaries(jax.random.key(0), 3, 4)
        >>> u.shape, bool(jnp.allclose(u[0].conj().T @ u[0], jnp.eye(4)))
        ((3, 4, 4), True)
    """
    re, im = jax.random.normal(key, (2, count, dim, dim), dtype=jnp.float64)
    q, r = jnp.linalg.qr((re + 1j * im) / np.sqrt(2.0))
    d = jnp.diagonal(r, axis1=-2, axis2=-1)
    return q * (d / jnp.abs(d))[..., None, :]


def _rng_keys(seed: int, count: int = 2):
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    return jax.random.split(jax.random.key(int(seed)), count)


def random_pauli_labels(n_qubits: int, count: int, rng: np.random.Generator, group: str = "xyz") -> list[str]:
    """Uniform Pauli labels: from ``{X,Y,Z}^n`` (``group="xyz"``, 004 eq. (27)) or from the Pauli group
    minus the identity (``group="full"``, 000 eq. (20))."""
    if group == "xyz":
        codes = rng.integers(1, 4, size=(count, n_qubits))
    elif group == "full":
        flat = rng.integers(1, 4**n_qubits, size=count)
        codes = np.stack([(flat // 4 ** (n_qubits - 1 - q)) % 4 for q in range(n_qubits)], axis=1)
    else:
        check_choice("paulis", group, PAULI_GROUPS)
    return ["".join("IXYZ"[c] for c in row) for row in codes]


def rpa(n_qubits: int, n_layers: int, *, seed: int = 0, scale: float = 0.5, paulis: str = "xyz") -> _c.Circuit:
    """Random Pauli ansatz: ``prod_l W_l exp(-i s theta_l P_l)`` with ``W_l`` Haar and ``P_l`` uniform.

    004 eqs. (26)-(27) (``P_l`` from ``{X,Y,Z}^n``, ``s = 1/2``); 000 eq. (20) draws ``P_l`` from the
    whole Pauli group (``paulis="full"``) with ``s = -1``. Both are fixed per circuit.

    Example:
        >>> c = rpa(3, 10, seed=1)
        >>> (c.n_params, c.gate_kind, c.w.shape)
        (10, 'dense', (10, 8, 8))
    """
    n = _c._check_qubits(n_qubits)
    L = _c._check_layers(n_layers)
    k_pauli, k_haar = _rng_keys(seed)
    labels = random_pauli_labels(n, L, np.random.default_rng(np.asarray(jax.random.key_data(k_pauli))), paulis)
    return _c.from_paulis(labels, haar_unitaries(k_haar, L, 2**n), scale=scale, check=False)


def rpa_local(n_qubits: int, n_layers: int, *, seed: int = 0, scale: float = 0.5, paulis: str = "xyz",
              depth: int | None = None) -> _c.Circuit:
    """Random Pauli ansatz with local random ``W_l``: an approximate 2-design in place of 004's Haar gates.

    ``prod_l W_l exp(-i s theta_l P_l)`` with ``P_l`` and ``s`` as in :func:`rpa` (004 eqs. (26)-(27); the same
    seed draws the same ``P_l``), but each ``W_l`` is ``depth`` rounds of independent Haar-random single-qubit
    unitaries on every qubit, each round followed by a CZ on every bond of the open chain
    (:class:`~qntk.models.circuits.BrickworkGates`). Such local random circuits approach the second moments of
    the Haar measure as the depth grows, in a depth of order ``n`` (a round spreads an operator by one qubit
    each way, so its light cone needs about ``n`` rounds to cover the chain; the distance then falls
    geometrically with each round): they are approximate 2-designs, not Haar. The default ``depth = 2 n`` is
    measured (``docs/rpa_local.md``): there the mean of ``K`` is within 2% of the Haar average at ``n = 4, 6``,
    ``L = 8``, and within 6% at ``n = 4, 6, 8``, ``L = 2``, where the layers next to the ends weigh most
    (``depth = n``: 6.5%, 13%, 34% off at ``n = 4, 6, 8``, ``L = 2``). Nothing of size ``d x d`` is built: the gates take
    ``64 L depth n`` bytes, so 20 qubits fit. ``docs/rpa_local.md`` has the measured distances of ``K`` and
    ``eps`` from the Haar averages of :mod:`qntk.theory.haar` and from :func:`rpa`; the time per layer grows
    as ``depth n d``.

    Args:
        n_qubits, n_layers, seed, scale, paulis: as in :func:`rpa`.
        depth: rounds per ``W_l``; ``None`` for ``2 n``.

    Example:
        >>> c = rpa_local(3, 10, seed=1, depth=2)
        >>> (c.n_params, c.gate_kind, c.w_qubit.shape)
        (10, 'brickwork', (10, 2, 3, 2, 2))
    """
    n = _c._check_qubits(n_qubits)
    L = _c._check_layers(n_layers)
    rounds = _depth_option(depth, n)
    check_memory(3 * 64 * L * rounds * n, f"the {L} x {rounds} rounds of single-qubit gates of an rpa-local circuit",
                 "use fewer layers or a smaller depth")
    k_pauli, k_gates = _rng_keys(seed)
    labels = random_pauli_labels(n, L, np.random.default_rng(np.asarray(jax.random.key_data(k_pauli))), paulis)
    unitaries = haar_unitaries(k_gates, L * rounds * n, 2).reshape(L, rounds, n, 2, 2)
    return _c.from_paulis(labels, _c.BrickworkGates(unitaries), scale=scale)


def _depth_option(value, n_qubits):
    """``depth`` of :func:`rpa_local`: a positive integer, or ``None`` for ``2 n``."""
    return 2 * n_qubits if value is None else check_int("depth", value, 1)


def _brick_wall(n_qubits: int) -> list[tuple[str, int, int]]:
    even = [("cnot", q, q + 1) for q in range(0, n_qubits - 1, 2)]
    odd = [("cnot", q, q + 1) for q in range(1, n_qubits - 1, 2)]
    return even + odd


def _single_qubit_label(n_qubits: int, qubit: int, letter: str) -> str:
    return "".join(letter if q == qubit else "I" for q in range(n_qubits))


def hea(n_qubits: int, n_layers: int, *, scale: float = 0.5) -> _c.Circuit:
    """Hardware-efficient ansatz: per block, ``RY`` then ``RZ`` on every qubit, then CNOTs on
    neighbouring pairs in a brick wall (first even, then odd bonds); 004 "Experimental results".

    ``n_layers`` counts blocks, so the circuit has ``L = 2 n n_layers`` parameters. With ``s = 1/2``
    the rotations are the usual ``RY(theta) = exp(-i theta Y / 2)``.

    Example:
        >>> c = hea(3, 2)
        >>> (c.n_params, c.gate_kind, len(c.program))
        (12, 'local', 6)
    """
    n = _c._check_qubits(n_qubits)
    blocks = _c._check_layers(n_layers)
    labels = [_single_qubit_label(n, q, a) for a in "YZ" for q in range(n)] * blocks
    per_block = [()] * (2 * n - 1) + [_brick_wall(n)]
    return _c.from_paulis(labels, _c.local_gates(n, per_block * blocks), scale=scale)


def periodic_generator(dim: int) -> np.ndarray:
    """002 App. D.1: diagonal ``H`` with ``d/2`` entries ``+sqrt(d - 1/d)`` and ``d/2`` entries
    ``-sqrt(d - 1/d)``, so that ``tr H = 0`` and ``tr(H^2) / (d^2 - 1) = 1``."""
    v = np.sqrt(dim - 1.0 / dim)
    return np.concatenate([np.full(dim // 2, v), np.full(dim - dim // 2, -v)])


def periodic(n_qubits: int, n_layers: int, *, seed: int = 0, scale: float = 1.0, generator=None) -> _c.Circuit:
    """Periodic ansatz ``U_p exp(-i theta_p H) ... U_1 exp(-i theta_1 H) U_0`` of 002 Def. 2.1.

    ``U_l`` are i.i.d. Haar; ``H`` is the diagonal of 002 App. D.1 unless ``generator`` (a real
    diagonal, shape ``(d,)``) is given. 002 uses ``s = 1``.

    Example:
        >>> c = periodic(2, 6, seed=3)
        >>> (c.generator_kind, c.n_params, c.w_in.shape)
        ('diagonal', 6, (4, 4))
    """
    n = _c._check_qubits(n_qubits)
    L = _c._check_layers(n_layers)
    d = 2**n
    h = periodic_generator(d) if generator is None else _generator_option(generator, n)
    k_w, k_in = _rng_keys(seed)
    return _c.from_diagonal(
        np.tile(h, (L, 1)), haar_unitaries(k_w, L, d), scale=scale, w_in=haar_unitaries(k_in, 1, d)[0], check=False
    )


def _pauli_sum_matrix(n_qubits: int, labels: list[str]) -> np.ndarray:
    return sum(PauliString.from_label(lab).matrix() for lab in labels)


def _bond_labels(n_qubits: int, letter: str, periodic_bc: bool) -> list[str]:
    bonds = [(q, q + 1) for q in range(n_qubits - 1)]
    if periodic_bc and n_qubits > 2:
        bonds.append((n_qubits - 1, 0))
    return ["".join(letter if q in b else "I" for q in range(n_qubits)) for b in bonds]


def hva(n_qubits: int, n_layers: int, *, scale: float = 1.0, periodic_bc: bool = True) -> _c.Circuit:
    """Hamiltonian variational ansatz for the transverse-field Ising model (003).

    Each block applies ``exp(-i s beta sum_i Z_i Z_{i+1})`` then ``exp(-i s gamma sum_i X_i)``, starting
    from ``|+>^n`` (the ground state of ``-sum X_i``); ``L = 2 n_layers`` parameters.

    Example:
        >>> c = hva(3, 2)
        >>> (c.n_params, c.generator_kind)
        (4, 'diagonal')
    """
    n = _c._check_qubits(n_qubits)
    if n < 2:
        raise ValueError("the HVA needs n_qubits >= 2 (it has ZZ couplings).")
    blocks = _c._check_layers(n_layers)
    h_zz = _pauli_sum_matrix(n, _bond_labels(n, "Z", periodic_bc))
    h_x = _pauli_sum_matrix(n, [_single_qubit_label(n, q, "X") for q in range(n)])
    hadamard = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    h_all = hadamard
    for _ in range(n - 1):
        h_all = np.kron(h_all, hadamard)
    return _c.from_hermitian(np.stack([h_zz, h_x] * blocks), scale=scale, w_in=h_all)


#: Trainable blocks of :func:`reuploading`.
BLOCKS = ("ryrz", "hea", "hva")


def reuploading(
    n_qubits: int, n_layers: int, *, n_features: int = 1, frequency: str = "low", encoding_scale: float = 1.0,
    block: str = "ryrz", scale: float = 0.5,
) -> _c.Circuit:
    """Data re-uploading model (003): each block encodes the features, then trains a block.

    The encoding of a block is ``RX(a_q x_{q mod F})`` on every qubit ``q``, with ``a_q = c`` (``frequency="low"``)
    or ``a_q = c 2^q`` (``"high"``, exponentially many frequencies) and ``c = encoding_scale``. The trainable
    part (``block``):

    * ``"ryrz"``: ``RY``, ``RZ`` on every qubit and a CNOT brick wall (``2 n`` parameters per block);
    * ``"hea"``: 003's hardware-efficient block, ``RX``, ``RZ``, ``RX`` on every qubit and a CNOT ring
      ``CNOT(q, q + 1 mod n)`` (``3 n`` parameters per block);
    * ``"hva"``: 003's Hamiltonian-variational block, ``exp(-i s beta sum_<q q'> Z_q Z_q')`` on the ring bonds
      then ``exp(-i s gamma sum_q X_q)`` (2 parameters per block, shared by the gates of each sum).

    Example:
        >>> c = reuploading(2, 3, frequency="high")
        >>> (c.n_params, c.n_features, c.n_layers)
        (12, 1, 18)
    """
    n = _c._check_qubits(n_qubits)
    blocks = _c._check_layers(n_layers)
    check_choice("frequency", frequency, FREQUENCIES)
    check_int("n_features", n_features, 1)
    check_choice("block", block, BLOCKS)
    if block == "hva" and n < 2:
        raise ValueError("block='hva' needs n_qubits >= 2 (it has ZZ couplings).")
    encoding_scale = check_real("encoding_scale", encoding_scale)
    labels, pidx, fidx, fscale, gates = [], [], [], [], []
    ring = [("cnot", q, (q + 1) % n) for q in range(n if n > 2 else n - 1)]
    wall = _brick_wall(n) if block == "ryrz" else ring
    p = 0

    def layer(label, param):
        labels.append(label)
        pidx.append(param)
        fidx.append(-1)
        fscale.append(0.0)
        gates.append(())

    for _ in range(blocks):
        for q in range(n):
            labels.append(_single_qubit_label(n, q, "X"))
            pidx.append(-1)
            fidx.append(q % n_features)
            fscale.append(encoding_scale * (1.0 if frequency == "low" else 2.0**q))
            gates.append(())
        if block == "hva":
            for label in (_bond_labels(n, "Z", True) if n > 1 else []):
                layer(label, p)
            for q in range(n):
                layer(_single_qubit_label(n, q, "X"), p + 1)
            p += 2
            continue
        for a in ("YZ" if block == "ryrz" else "XZX"):
            for q in range(n):
                layer(_single_qubit_label(n, q, a), p)
                p += 1
        gates[-1] = wall
    return _c.from_paulis(
        labels, _c.local_gates(n, gates), scale=scale, param_index=pidx, feature_index=fidx, feature_scale=fscale
    )


def from_file(n_qubits: int, n_layers: int, *, path: str, scale: float = 0.5) -> _c.Circuit:
    """The circuit of a PennyLane or Qiskit model file, converted to the layered form (:mod:`.interop`); ``n_qubits``
    and ``n_layers`` must be those of the conversion (:meth:`qntk.models.Model.from_file` sets them)."""
    circuit = interop.load(path).circuit
    if (circuit.n_qubits, circuit.n_layers) != (n_qubits, n_layers):
        raise ValueError(f"model file {path!r} converts to n_qubits={circuit.n_qubits}, n_layers={circuit.n_layers}, "
                         f"not {n_qubits}, {n_layers}: build the model with Model.from_file (qntk --model).")
    if scale != 0.5:
        raise ValueError("a model file's rotations are exp(-i theta P / 2): its scale is 1/2.")
    return circuit


def _path_option(value, n_qubits):
    if not isinstance(value, str) or not Path(value).is_file():
        raise ValueError(f"path={value!r} is not a model file.")
    return value


def circuit_seeds(seed: int, n_circuits: int) -> list[int]:
    """Seeds of the ``n_circuits`` random circuits of a run, deterministic in the master ``seed``."""
    return [int(s) for s in np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_circuits)]


@dataclass(frozen=True)
class _Kind:
    """What qntk knows of a built-in ansatz without building it.

    Attributes:
        builder: the circuit builder ``builder(n_qubits, n_layers, **options)``.
        random: circuits are drawn with a seed (an ensemble of circuits).
        design: deep circuits approach a unitary 2-design, so that the Haar theory applies.
        exact_design: the 2-design is exact (Haar gates); ``False`` for an approximate one, whose distance from
            the Haar averages is measured, not zero.
        min_qubits: fewest qubits the ansatz is defined on.
        options: option name -> check ``(value, n_qubits) -> value`` (what the builder would reject).
        n_features: ``(n_qubits, options) -> `` number of data features the circuit encodes.
        required: options without a default.
        dense: ``n_layers ->`` number of dense ``d x d`` matrices the circuit stores (Haar gates, generators'
            eigenvectors), for the memory estimate made before building it.
        pauli: every generator is a Pauli string (a model file's layered form always is).
    """

    builder: Callable[..., _c.Circuit]
    random: bool
    design: bool
    min_qubits: int
    options: dict[str, Callable[[Any, int], Any]]
    n_features: Callable[[int, dict], int] = lambda n_qubits, options: 0
    required: tuple[str, ...] = ()
    dense: Callable[[int], int] = lambda n_layers: 0
    pauli: bool = True
    exact_design: bool = True


def _scale_option(value, n_qubits):
    return check_scale(value)


def _generator_option(value, n_qubits):
    h = np.asarray(value, dtype=float)
    if h.shape != (2**n_qubits,) or not np.all(np.isfinite(h)):
        raise ValueError(f"generator must be the finite real diagonal of H, shape ({2**n_qubits},), got shape {h.shape}.")
    return h


#: Seconds per ``d^3`` of one dense ``d x d`` QR decomposition or eigendecomposition (measured on two cores,
#: d = 2048-4096), for the time estimate of ansatze with dense matrices.
DENSE_SECONDS_PER_D3 = 1e-9

KINDS: dict[str, _Kind] = {
    "rpa": _Kind(rpa, True, True, 1, {"scale": _scale_option,
                                      "paulis": lambda v, n: check_choice("paulis", v, PAULI_GROUPS)},
                 dense=lambda layers: layers),
    # design: deep circuits approach a 2-design (the local gates' moments converge to Haar's with the depth, and
    # the rotations about full-weight Pauli strings mix too); docs/rpa_local.md measures how close K comes
    "rpa-local": _Kind(rpa_local, True, True, 1, {"scale": _scale_option,
                                                  "paulis": lambda v, n: check_choice("paulis", v, PAULI_GROUPS),
                                                  "depth": _depth_option}, exact_design=False),
    "hea": _Kind(hea, False, False, 1, {"scale": _scale_option}),
    "periodic": _Kind(periodic, True, True, 1, {"scale": _scale_option, "generator": _generator_option},
                      dense=lambda layers: layers + 1, pauli=False),
    "hva": _Kind(hva, False, False, 2, {"scale": _scale_option,
                                        "periodic_bc": lambda v, n: check_bool("periodic_bc", v)},
                 dense=lambda blocks: 2 * blocks + 1, pauli=False),
    "reuploading": _Kind(reuploading, False, False, 1, {
        "scale": _scale_option,
        "n_features": lambda v, n: check_int("n_features", v, 1),
        "frequency": lambda v, n: check_choice("frequency", v, FREQUENCIES),
        "encoding_scale": lambda v, n: check_real("encoding_scale", v),
        "block": lambda v, n: check_choice("block", v, BLOCKS),
    }, n_features=lambda n, options: min(options.get("n_features", 1), n)),
    "file": _Kind(from_file, False, False, 1, {"path": _path_option}, required=("path",),
                  n_features=lambda n, options: interop.load(options["path"]).circuit.n_features),
}
"""The built-in ansatze by name; adding one means adding its builder and its entry here."""
ANSATZE = tuple(KINDS)


def default_scale(name: str) -> float:
    """The generator scale ``s`` that the ansatz ``name`` uses when none is given."""
    return float(inspect.signature(KINDS[name].builder).parameters["scale"].default)


def n_features(name: str, n_qubits: int, options: dict) -> int:
    """How many data features the ansatz ``name`` encodes (0 for a circuit without data encoding)."""
    return KINDS[name].n_features(n_qubits, options)


@dataclass(frozen=True)
class Ansatz:
    """A named ansatz with its arguments, from which circuits (or ensembles of them) are drawn.

    Validated when built, without building a circuit (no array work, no compilation).

    Example:
        >>> a = Ansatz("rpa", 2, 8)
        >>> a.circuit(seed=1).n_params, a.is_random
        (8, True)
    """

    name: str
    n_qubits: int
    n_layers: int
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in KINDS:
            raise ValueError(f"unknown ansatz {self.name!r}: choose one of {', '.join(ANSATZE)}.")
        kind = KINDS[self.name]
        n = _c._check_qubits(self.n_qubits)
        if n < kind.min_qubits:
            raise ValueError(f"the {self.name!r} ansatz needs n_qubits >= {kind.min_qubits}, got {n}.")
        _c._check_layers(self.n_layers)
        if not isinstance(self.options, dict):
            raise ValueError(f"options must be a table of ansatz options, got {self.options!r}.")
        missing = [k for k in kind.required if k not in self.options]
        if missing:
            raise ValueError(f"the {self.name!r} ansatz needs the option(s) {', '.join(missing)}"
                             + (" (use --model FILE.py or Model.from_file)." if self.name == "file" else "."))
        for key, value in self.options.items():
            if key not in kind.options:
                raise ValueError(f"ansatz {self.name!r} got an unknown option {key!r}: valid options are "
                                 f"{', '.join(kind.options)}.")
            kind.options[key](value, n)
        dense = kind.dense(self.n_layers)
        if dense:  # building them takes about three copies (Gaussian draws, QR or eigendecomposition, the result)
            what = (f"the {self.name!r} ansatz at n_qubits={n}, n_layers={self.n_layers} ({dense} dense {2**n} x {2**n} "
                    "complex matrices)")
            advice = "use fewer qubits or layers, or a local-gate ansatz (hea, reuploading)"
            check_memory(3 * dense * 16 * 4**n, what, advice)
            seconds = dense * DENSE_SECONDS_PER_D3 * 8**n
            if seconds > 30:
                warnings.warn(f"building {what} takes roughly {seconds / 60:.2g} min per circuit (a QR decomposition or "
                              f"eigendecomposition each, ~d^3 operations): {advice} for a faster run.", QntkWarning,
                              stacklevel=2)

    @property
    def is_random(self) -> bool:
        """Whether circuits are drawn at random (a seed gives each its own)."""
        return KINDS[self.name].random

    @property
    def pauli_generators(self) -> bool:
        """Whether every generator of its circuits is a Pauli string (known without building one)."""
        return KINDS[self.name].pauli

    @property
    def is_design(self) -> bool:
        """Whether deep circuits of this ansatz are 2-designs, so that the Haar theory applies."""
        return KINDS[self.name].design

    @property
    def is_approximate_design(self) -> bool:
        """Whether this ansatz's circuits are only an approximate 2-design (``rpa-local``): the Haar averages are
        their limit, at a measured distance (``docs/rpa_local.md``)."""
        return KINDS[self.name].design and not KINDS[self.name].exact_design

    def circuit(self, seed: int = 0) -> _c.Circuit:
        """The circuit drawn with ``seed`` (the same for every seed if the ansatz is not random)."""
        kwargs = dict(self.options)
        if self.is_random:
            kwargs["seed"] = seed
        return KINDS[self.name].builder(self.n_qubits, self.n_layers, **kwargs)
