"""Settings of the command line: flags over a TOML file over the defaults, split into the
:class:`~qntk.models.Model` and the run settings.

A TOML file holds the same keys as the CLI flags, either at the top level or in a ``[model]``
table (with run settings such as ``samples`` beside it)::

    ansatz = "rpa"
    qubits = 4          # or n_qubits, the name of the Model field
    layers = 40         # or n_layers
    observable = "xxz:J=2"
    target = -6.0
    scale = 0.5
    samples = 1000
    seed = 1

Example:
    >>> model, run = split_model(merge({"n_qubits": 4, "samples": 10}, {"qubits": 2}, {"samples": None}))
    >>> model.n_qubits, run
    (2, {'samples': 10})
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .models import MODEL_FIELDS, SHORT_NAMES, Model

ModelConfig = Model
"""Alias of :class:`qntk.models.Model` (qntk 0.1), for one release."""


def _field_names(values: dict[str, Any]) -> dict[str, Any]:
    return {SHORT_NAMES.get(k, k): v for k, v in values.items()}


def load_toml(path: str | Path) -> dict[str, Any]:
    """Reads a TOML configuration into one flat dict (a ``[model]`` table is merged in).

    Raises:
        ValueError: if the file is missing or is not valid TOML.
    """
    data = read_toml(path)
    model = data.pop("model", {})
    if not isinstance(model, dict):
        raise ValueError("the [model] entry of the config file must be a table.")
    return {**data, **model}


def read_toml(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML file as they are.

    Raises:
        ValueError: if the file is missing, is a directory, cannot be read or is not valid TOML.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"config file {str(path)!r} is a directory: pass the TOML file itself.")
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist.")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"config file {str(path)!r} is not valid TOML: {err}.") from None
    except OSError as err:
        raise ValueError(f"config file {str(path)!r} cannot be read: {err.strerror}.") from None
    return data


def merge(defaults: dict[str, Any], file_values: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """Flags given on the command line win over the file, which wins over the defaults; keys are the
    Model's field names (the flag spellings ``qubits``, ``layers`` are accepted).

    Raises:
        ValueError: for keys in the file that no setting uses.
    """
    defaults, file_values, flags = _field_names(defaults), _field_names(file_values), _field_names(flags)
    unknown = set(file_values) - set(defaults)
    if unknown:
        valid = sorted({next((f for f, n in SHORT_NAMES.items() if n == k), k) for k in defaults})
        raise ValueError(f"unknown config keys {sorted(unknown)}: valid keys are {valid}.")
    merged = {**defaults, **file_values}
    merged.update({k: v for k, v in flags.items() if v is not None})
    return merged


def split_model(values: dict[str, Any]) -> tuple[Model, dict[str, Any]]:
    """Splits merged settings into the :class:`~qntk.models.Model` and the remaining run settings."""
    model = Model(**{k: values[k] for k in MODEL_FIELDS if k in values})
    return model, {k: v for k, v in values.items() if k not in MODEL_FIELDS}
