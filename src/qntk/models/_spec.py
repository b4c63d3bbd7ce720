"""The one set of argument checks of qntk (models, theory, experiments and the command line use these), and the ``name[:key=value,...]`` string form of
observables and data sets on the command line."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping
from typing import Any

#: name -> (builder, {parameter: (keyword, parser)}, positional parameter or None)
Table = Mapping[str, tuple[Callable[..., Any], Mapping[str, tuple[str, Callable[[str], Any]]], "str | None"]]


def check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


#: Largest master seed: seeds reach JAX's random keys as 64-bit integers.
MAX_SEED = 2**63 - 1


def check_seed(name: str, value: Any) -> int:
    """A master seed: an integer in ``[0, 2^63 - 1]``."""
    if check_int(name, value, 0) > MAX_SEED:
        raise ValueError(f"{name} must be at most 2^63 - 1 = {MAX_SEED}, got {value}: pick a smaller seed.")
    return int(value)


#: Fraction of the machine's memory a run may plan to use; above it the run is refused before it allocates.
MEMORY_FRACTION = 0.8


def physical_memory() -> int:
    """Bytes of memory of this machine (``QNTK_MEMORY_BYTES`` overrides it, e.g. for a shared machine)."""
    if os.environ.get("QNTK_MEMORY_BYTES"):
        return int(os.environ["QNTK_MEMORY_BYTES"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class QntkWarning(UserWarning):
    """A warning for the user (a long wait, a setting outside a theory's assumptions); the command line prints it as
    one line."""


def check_memory(nbytes: float, what: str, advice: str) -> None:
    """Refuses, before allocating, a run whose estimated memory ``nbytes`` exceeds :data:`MEMORY_FRACTION` of the
    machine's."""
    total = physical_memory()
    if nbytes > MEMORY_FRACTION * total:
        raise ValueError(f"{what} needs about {nbytes / 2**30:.3g} GiB, more than {MEMORY_FRACTION:.0%} of this "
                         f"machine's {total / 2**30:.3g} GiB: {advice}.")


def check_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """A finite real ``> 0`` (a learning rate, a noise strength of a sweep)."""
    if not check_real(name, value) > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def check_non_negative(name: str, value: Any) -> float:
    """A finite real ``>= 0`` (a noise strength that may be off)."""
    if not check_real(name, value) >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
    return float(value)


def check_scale(value: Any) -> float:
    """The generator scale ``s`` of ``exp(-i s theta G)``: a finite non-zero real (one rule for circuits,
    models and theory)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value == 0:
        raise ValueError(
            f"scale must be a finite non-zero number (0.5 for exp(-i theta G/2), -1 for exp(+i theta G)), got {value!r}."
        )
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}.")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: use one of {', '.join(map(repr, choices))}.")
    return value


def parse_bool(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise ValueError("expected true or false")


def parse_named(
    spec: str, table: Table, what: str, example: str, alternative: str = ""
) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """``(builder, keywords)`` for a named form ``name[:params]``, or ``None`` when ``spec`` has no colon
    and is not a name in ``table`` (the caller may read it another way).

    Raises:
        ValueError: for an unknown name before a colon, an unknown parameter or a malformed value,
            naming the valid choices (and the ``alternative`` reading, if any) and an ``example``.
    """
    if not isinstance(spec, str):
        raise ValueError(f"{what} spec must be a string, got {type(spec).__name__}.")
    name, colon, args = spec.strip().partition(":")
    if name not in table:
        if colon:
            raise ValueError(f"unknown {what} {name!r} in {spec!r}: use one of {', '.join(table)}{alternative}.")
        return None
    builder, params, positional = table[name]
    keywords: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in args.split(","))):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq and positional is not None:
            key, value = positional, item
        if key not in params:
            raise ValueError(
                f"unknown parameter {key!r} for {what} {name!r}: valid parameters are {', '.join(params)},"
                f" written as key=value (e.g. {example!r})."
            )
        keyword, parse = params[key]
        try:
            keywords[keyword] = parse(value)
        except ValueError as err:
            raise ValueError(f"parameter {key}={value!r} of {what} {name!r} is malformed: {err}.") from None
    return builder, keywords
