"""Checks of the figures' ``Config`` fields, built on the argument checks of :mod:`qntk.models._spec`.

Each check takes the field's name and value and returns the value normalized (a Python ``int`` or
``float``, a tuple for a list), or raises one ``ValueError`` naming the field.

Example:
    >>> integers(1)("layers", [4, 8])
    (4, 8)
    >>> positive("eta", 0.0)
    Traceback (most recent call last):
    ...
    ValueError: eta must be a positive number, got 0.0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...models._spec import check_int, check_real

Check = Callable[[str, Any], Any]


def integer(minimum: int) -> Check:
    """An integer ``>= minimum``."""
    return lambda name, value: check_int(name, value, minimum)


def positive(name: str, value: Any) -> float:
    """A finite real ``> 0``."""
    if not check_real(name, value) > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def non_negative(name: str, value: Any) -> float:
    """A finite real ``>= 0``."""
    if not check_real(name, value) >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
    return float(value)


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


def validate(config: Any, **checks: Check) -> None:
    """Checks the fields of a frozen ``config`` and stores their normalized values."""
    for name, check in checks.items():
        object.__setattr__(config, name, check(name, getattr(config, name)))
