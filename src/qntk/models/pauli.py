"""Pauli strings as signed permutations of the computational basis.

Qubit ``q`` of an ``n``-qubit string is character ``q`` of the label and bit ``n - 1 - q`` of a basis
index (big-endian: ``"XI"`` acts as ``X`` on the most significant bit). A Pauli string ``P`` maps a
basis state to another basis state times a phase,

.. math::  P |j\\rangle = i^{n_Y} (-1)^{|j \\wedge z|} |j \\oplus x\\rangle,

where ``x`` marks the qubits carrying ``X`` or ``Y``, ``z`` those carrying ``Z`` or ``Y`` and ``n_Y``
counts the ``Y``. Applying ``P`` to a state vector is therefore a gather and a sign, ``O(d)``, and
never needs the ``d x d`` matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jax.numpy as jnp
from jax import lax
import numpy as np

PAULI_LETTERS = "IXYZ"


@dataclass(frozen=True)
class PauliString:
    """One Pauli string in mask form.

    Attributes:
        x: bit mask of the qubits carrying X or Y.
        z: bit mask of the qubits carrying Z or Y.
        n_qubits: number of qubits.
    """

    x: int
    z: int
    n_qubits: int

    @classmethod
    def from_label(cls, label: str) -> PauliString:
        """Builds a string from a label such as ``"XYZI"`` (character ``q`` acts on qubit ``q``)."""
        label = label.strip().upper()
        if not label or any(c not in PAULI_LETTERS for c in label):
            raise ValueError(
                f"Pauli label {label!r} is malformed: use only the letters I, X, Y, Z, one per qubit."
            )
        n = len(label)
        x = z = 0
        for q, c in enumerate(label):
            bit = 1 << (n - 1 - q)
            if c in "XY":
                x |= bit
            if c in "ZY":
                z |= bit
        return cls(x, z, n)

    @property
    def label(self) -> str:
        chars = []
        for q in range(self.n_qubits):
            bit = 1 << (self.n_qubits - 1 - q)
            chars.append("IZXY"[(bool(self.x & bit) << 1) | bool(self.z & bit)])
        return "".join(chars)

    @property
    def n_y(self) -> int:
        return bin(self.x & self.z).count("1")

    def phases(self) -> np.ndarray:
        """Phases ``c_k`` with ``(P psi)[k] = c_k psi[k ^ x]``, shape ``(d,)``, complex."""
        k = np.arange(2**self.n_qubits)
        parity = _popcount_parity(np.bitwise_and(k ^ self.x, self.z))
        return (1j**self.n_y) * (1.0 - 2.0 * parity)

    def matrix(self) -> np.ndarray:
        """Dense ``d x d`` matrix (for tests and small-d cross-checks only)."""
        d = 2**self.n_qubits
        m = np.zeros((d, d), dtype=complex)
        k = np.arange(d)
        m[k, k ^ self.x] = self.phases()
        return m


def _popcount_parity(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    parity = np.zeros_like(a)
    while np.any(a):
        parity ^= a & 1
        a = a >> 1
    return parity


_I_POWERS = np.array([1, 1j, -1, -1j])


def pauli_phases_jax(k: jnp.ndarray, x, z, n_y) -> jnp.ndarray:
    """Traceable :meth:`PauliString.phases` for masks held in arrays (e.g. scanned over layers)."""
    parity = jnp.bitwise_and(lax.population_count(jnp.bitwise_and(jnp.bitwise_xor(k, x), z)), 1)
    return jnp.asarray(_I_POWERS)[n_y % 4] * (1.0 - 2.0 * parity)


def apply_pauli(psi: jnp.ndarray, x, z, n_y) -> jnp.ndarray:
    """``P psi`` for a state ``psi`` of shape ``(d,)`` and a string given by its masks."""
    k = jnp.arange(psi.shape[-1], dtype=jnp.int32)
    return pauli_phases_jax(k, x, z, n_y) * psi[jnp.bitwise_xor(k, x)]


_TERM = re.compile(
    r"""\s*(?P<sign>[+-])?\s*(?:(?P<coef>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*\*?\s*)?(?P<label>[IXYZixyz]+)\s*"""
)


def parse_pauli_sum(expr: str) -> tuple[list[float], list[str]]:
    """Parses ``"0.5*XXI - 1.0*ZII + 0.3*III"`` into coefficients and labels.

    Raises:
        ValueError: if the expression is empty, malformed or mixes string lengths.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError("observable expression is empty: write it as e.g. '0.5*XXI - 1.0*ZII'.")
    coefs, labels = [], []
    pos, text = 0, expr.strip()
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos or (m.group("sign") is None and coefs):
            raise ValueError(
                f"observable expression {expr!r} is malformed near {text[pos:pos + 12]!r}: write terms as"
                " '<coef>*<PAULIS>' joined by + or -, e.g. '0.5*XXI - 1.0*ZII + 0.3*III'."
            )
        sign = -1.0 if m.group("sign") == "-" else 1.0
        coef = float(m.group("coef")) if m.group("coef") else 1.0
        coefs.append(sign * coef)
        labels.append(m.group("label").upper())
        pos = m.end()
    if len({len(lab) for lab in labels}) != 1:
        raise ValueError(
            f"observable expression {expr!r} mixes Pauli strings of different lengths {sorted({len(l) for l in labels})}:"
            " every string needs one letter per qubit."
        )
    return coefs, labels
