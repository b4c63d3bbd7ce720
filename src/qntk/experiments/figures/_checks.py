"""Checks of the figures' ``Config`` fields, built on the argument checks of :mod:`qntk.models._spec`.

Each check takes the field's name and value and returns the value normalized (a Python ``int`` or
``float``, a tuple for a list), or raises one ``ValueError`` naming the field. The fields that several
figures share have one meaning and one check, in :data:`SHARED`; a ``Config`` passes :func:`validate`
the checks of its other fields.

Example:
    >>> integers(1)("layers", [4, 8])
    (4, 8)
    >>> positive("eta", 0.0)
    Traceback (most recent call last):
    ...
    ValueError: eta must be a positive number, got 0.0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ...models._spec import check_int, check_non_negative, check_positive

Check = Callable[[str, Any], Any]


def integer(minimum: int) -> Check:
    """An integer ``>= minimum``."""
    return lambda name, value: check_int(name, value, minimum)


positive = check_positive
"""A finite real ``> 0``."""
non_negative = check_non_negative
"""A finite real ``>= 0``."""


def sequence_of(check: Check) -> Check:
    """A non-empty list or tuple, each element passing ``check`` (named ``name[i]``); returns a tuple."""

    def check_all(name: str, values: Any) -> tuple:
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{name} must be a non-empty list of values, got {values!r}.")
        return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(values))

    return check_all


def integers(minimum: int) -> Check:
    """A non-empty tuple of integers ``>= minimum``."""
    return sequence_of(integer(minimum))


#: The fields that several figures share, each with the same meaning in every figure, and their checks:
#:
#: * ``n_qubits``: number of qubits ``n``;
#: * ``n_layers``: depth ``L``;
#: * ``eta``: learning rate;
#: * ``sigma``: standard deviation of the angle noise per parameter and step (001 eq. (28));
#: * ``steps``: gradient-descent steps;
#: * ``observable_seed``: seed of 000's 10-term random Pauli mixture ``O``;
#: * ``n_boot``: bootstrap resamples for a standard error;
#: * ``seed``: master seed of the figure's circuits, angles and noise (its ``Config`` says how it is split).
SHARED: dict[str, Check] = {
    "n_qubits": integer(1), "n_layers": integer(1), "eta": positive, "sigma": positive, "steps": integer(1),
    "observable_seed": integer(0), "n_boot": integer(2), "seed": integer(0),
}


def validate(config: Any, **checks: Check) -> None:
    """Checks every field of a frozen dataclass ``config``, in order, and stores its normalized value: by
    its check in ``checks``, else by the shared one of :data:`SHARED`.

    Raises:
        ValueError: from the first field that fails its check, naming it.
        TypeError: for a field with no check, or a check of no field (a defect of the ``Config``).
    """
    names = [f.name for f in dataclasses.fields(config)]
    unchecked = [n for n in names if n not in checks and n not in SHARED]
    if unchecked or not set(checks) <= set(names):
        raise TypeError(f"{type(config).__name__}: fields without a check {unchecked}, checks without a field "
                        f"{sorted(set(checks) - set(names))}.")
    for name in names:
        check = checks.get(name, SHARED.get(name))
        object.__setattr__(config, name, check(name, getattr(config, name)))
