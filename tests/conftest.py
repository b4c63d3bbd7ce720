"""Shared test settings: float64 everywhere, seeds from fixtures."""

import jax
import numpy as np
import pytest

import qntk  # noqa: F401  (turns on float64 in JAX)


@pytest.fixture(autouse=True)
def _float64():
    """Some optional packages (TensorCircuit) switch JAX back to float32 when imported; undo that."""
    jax.config.update("jax_enable_x64", True)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
