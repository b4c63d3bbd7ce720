"""How long JAX spends compiling, so that a run can report compilation apart from simulation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax

#: The prefix of JAX's monitoring events for tracing, lowering and backend compilation.
_COMPILE_EVENTS = "/jax/core/compile/"


@contextlib.contextmanager
def compile_clock() -> Iterator[list[float]]:
    """Yields a one-element list holding the seconds that JAX spends tracing, lowering and compiling
    inside the block (summed from its monitoring events), updated as the block runs.

    Example:
        >>> import jax.numpy as jnp
        >>> with compile_clock() as seconds:
        ...     _ = jax.jit(lambda x: x + 1)(jnp.ones(3))
        >>> seconds[0] > 0
        True
    """
    total = [0.0]

    def listener(event: str, seconds: float, **_) -> None:
        if event.startswith(_COMPILE_EVENTS):
            total[0] += seconds

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield total
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
