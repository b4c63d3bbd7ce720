"""Model configuration shared by the CLI commands and TOML files, validated when built.

A TOML file holds the same keys as the CLI flags, either at the top level or in a ``[model]``
table (with run settings such as ``samples`` beside it)::

    ansatz = "rpa"
    qubits = 4
    layers = 40
    observable = "xxz:J=2"
    target = -6.0
    scale = 0.5
    samples = 1000
    seed = 1

Example:
    >>> cfg = ModelConfig(ansatz="hea", qubits=2, layers=3, observable="ZI", target=0.5)
    >>> cfg.ansatz_obj().circuit().n_params, cfg.observable_obj().n_qubits
    (12, 2)
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import ansatze, observables


@dataclass(frozen=True)
class ModelConfig:
    """A QNN model: ansatz, size, observable, target ``O_0`` and generator scale ``s``.

    ``scale=None`` keeps the ansatz's own convention (1/2 for rpa, hea and reuploading; 1 for
    periodic and hva). ``options`` are extra keyword arguments of the ansatz builder (e.g.
    ``{"paulis": "full"}`` for the rpa over the whole Pauli group).
    """

    ansatz: str = "rpa"
    qubits: int = 4
    layers: int = 40
    observable: str = "xxz:J=2"
    target: float = 0.0
    scale: float | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.target, (int, float)) or not math.isfinite(self.target):
            raise ValueError(f"target must be a finite number (the O_0 of the loss), got {self.target!r}.")
        self.ansatz_obj()
        self.observable_obj()

    def ansatz_obj(self) -> ansatze.Ansatz:
        opts = dict(self.options)
        if self.scale is not None:
            opts["scale"] = float(self.scale)
        return ansatze.Ansatz(self.ansatz, self.qubits, self.layers, opts)

    def observable_obj(self) -> observables.Observable:
        return observables.parse_observable(self.observable, self.qubits)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


MODEL_KEYS = tuple(f.name for f in dataclasses.fields(ModelConfig))


def load_toml(path: str | Path) -> dict[str, Any]:
    """Reads a TOML configuration into one flat dict (a ``[model]`` table is merged in).

    Raises:
        ValueError: if the file is missing or is not valid TOML.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist.")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config file {str(path)!r} is not valid TOML: {err}.") from None
    model = data.pop("model", {})
    if not isinstance(model, dict):
        raise ValueError("the [model] entry of the config file must be a table.")
    return {**data, **model}


def merge(defaults: dict[str, Any], file_values: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """Flags given on the command line win over the file, which wins over the defaults.

    Raises:
        ValueError: for keys in the file that no setting uses.
    """
    unknown = set(file_values) - set(defaults)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}: valid keys are {sorted(defaults)}.")
    merged = {**defaults, **file_values}
    merged.update({k: v for k, v in flags.items() if v is not None})
    return merged


def split_model(values: dict[str, Any]) -> tuple[ModelConfig, dict[str, Any]]:
    """Splits merged settings into the :class:`ModelConfig` and the remaining run settings."""
    model = ModelConfig(**{k: values[k] for k in MODEL_KEYS if k in values})
    return model, {k: v for k, v in values.items() if k not in MODEL_KEYS}
