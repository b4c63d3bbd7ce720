"""A QNN model: the one object that the simulator (:mod:`qntk.kernels`, :mod:`qntk.train`) and the
theory (:func:`qntk.theory.predict`) both take.

A :class:`Model` names an ansatz with its size and options, an observable, the target ``O_0`` of the
loss, the generator scale ``s`` and, for a supervised model, a data set. It is immutable and
validated when built, with plain checks only: building one draws no circuit and compiles nothing.
The circuit, the observable operator and the data set are built on first use.

Example:
    >>> m = Model(ansatz="hea", n_qubits=2, n_layers=3, observable="ZI", target=0.5)
    >>> m.circuit().n_params, m.operator.n_qubits, m.generator_scale
    (12, 2, 0.5)
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

from . import ansatze, circuits, interop, observables, states
from ._spec import check_real, check_scale


@dataclass(frozen=True)
class Model:
    """A QNN model: ansatz, size, observable, target ``O_0``, generator scale ``s`` and data.

    Attributes:
        ansatz: a name of :data:`qntk.models.ansatze.ANSATZE`.
        n_qubits: number of qubits ``n``.
        n_layers: depth: parametrized layers ``L`` (rpa, periodic) or blocks (hea, hva, reuploading).
        observable: the observable in the string form of :func:`qntk.models.observables.parse_observable`.
        target: the target ``O_0`` of the loss (``eps = <O> - O_0``).
        scale: the generator scale ``s`` in ``exp(-i s theta G)``; ``None`` keeps the ansatz's own
            convention (1/2 for rpa, hea and reuploading; 1 for periodic and hva).
        options: extra keyword arguments of the ansatz builder (e.g. ``{"paulis": "full"}``).
        data: the data set of a supervised model: the string form of
            :func:`qntk.models.states.parse_dataset`, a :class:`~qntk.models.states.Dataset`, or ``None``.

    Raises:
        ValueError: naming the argument, for anything the builders would reject.
    """

    ansatz: str = "rpa"
    n_qubits: int = 4
    n_layers: int = 40
    observable: str = "xxz:J=2"
    target: float = 0.0
    scale: float | None = None
    options: dict = field(default_factory=dict)
    data: str | states.Dataset | None = field(default=None, compare=False)

    def __post_init__(self):
        check_real("target", self.target)
        if self.scale is not None:
            check_scale(self.scale)
        if not isinstance(self.options, dict) or "scale" in self.options:
            raise ValueError("options must be a table of ansatz options other than scale (set scale itself).")
        self.ansatz_spec  # noqa: B018  (validates the ansatz)
        if self.operator.is_identity_multiple():  # also validates the observable (Pauli sums cost O(terms d))
            raise ValueError(f"observable {self.observable!r} is a multiple of the identity: <O> is the same for every "
                             "circuit, so there is nothing to train (K = 0); measure an observable with a non-identity "
                             "Pauli term.")
        if isinstance(self.data, str):
            self.dataset  # noqa: B018
        elif self.data is not None and not isinstance(self.data, states.Dataset):
            raise ValueError(f"data must be a data-set string such as 'orthogonal:m=4' or a Dataset, got {self.data!r}.")
        self._check_data()

    @functools.cached_property
    def ansatz_spec(self) -> ansatze.Ansatz:
        """The ansatz with its size and options (scale included), validated."""
        opts = dict(self.options)
        if self.scale is not None:
            opts["scale"] = float(self.scale)
        return ansatze.Ansatz(self.ansatz, self.n_qubits, self.n_layers, opts)

    @functools.cached_property
    def operator(self) -> observables.Observable:
        """The observable ``O`` as an operator."""
        return observables.parse_observable(self.observable, self.n_qubits)

    @functools.cached_property
    def dataset(self) -> states.Dataset | None:
        """The data set, or ``None`` for a single-output model."""
        if self.data is None or isinstance(self.data, states.Dataset):
            return self.data
        return states.parse_dataset(self.data, self.n_qubits)

    @property
    def is_random(self) -> bool:
        """Whether circuits are drawn at random from the ansatz."""
        return self.ansatz_spec.is_random

    @property
    def generator_scale(self) -> float:
        """The generator scale ``s`` in use: the model's own, or the ansatz's convention."""
        if self.scale is not None:
            return float(self.scale)
        return ansatze.default_scale(self.ansatz)

    @property
    def evaluation(self) -> str:
        """How the simulator evaluates the model: ``"layered"`` (qntk's engine) or ``"function"`` (a model file's
        PennyLane function without layered form, differentiated by JAX; :mod:`qntk.models.interop`)."""
        if self.ansatz != "file":
            return "layered"
        return "function" if isinstance(self.circuit(), interop.FunctionCircuit) else "layered"

    def circuit(self, seed: int = 0) -> circuits.Circuit:
        """The circuit drawn with ``seed`` (every seed gives the same one if the ansatz is not random)."""
        return self.ansatz_spec.circuit(seed)

    @classmethod
    def from_file(cls, path, target: float = 0.0, data=None, observable: str | None = None) -> Model:
        """The model of a PennyLane or Qiskit model file (:mod:`qntk.models.interop`): ansatz ``"file"``, its qubits,
        layers and observable (unless ``observable`` is given), and ``target`` / ``data`` as for any model."""
        imported = interop.load(path)
        return cls("file", imported.n_qubits, imported.circuit.n_layers, observable or imported.observable,
                   target=target, options={"path": imported.source}, data=data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (a data set object is recorded by its name and size)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if isinstance(self.data, states.Dataset):
            out["data"] = {"name": self.data.name, "n_samples": len(self.data)}
        return out

    def _check_data(self) -> None:
        data = self.dataset
        if data is None:
            return
        if data.states is not None and data.states.shape[1] != 2**self.n_qubits:
            raise ValueError(f"the data set's input states have dimension {data.states.shape[1]} but the model has "
                             f"{self.n_qubits} qubits (d = {2 ** self.n_qubits}): build the data for {self.n_qubits} qubits.")
        if data.features is not None:
            encoded = ansatze.n_features(self.ansatz, self.n_qubits, self.options)
            if self.ansatz == "file" and encoded != data.features.shape[1]:
                raise ValueError(f"the data set has {data.features.shape[1]} feature(s) but the model file's circuit "
                                 f"takes {encoded} (n_features in a PennyLane file, features in a Qiskit one).")
            if encoded < data.features.shape[1]:
                raise ValueError(f"the data set has {data.features.shape[1]} feature(s) but the {self.ansatz!r} ansatz "
                                 f"encodes {encoded}: use an encoding ansatz such as 'reuploading'.")


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(Model))
SHORT_NAMES = {"qubits": "n_qubits", "layers": "n_layers"}
"""The command line's spellings of two fields (``--qubits``, ``--layers``), accepted in TOML files and
``qntk reproduce --set`` too."""
