"""qntk: quantum neural tangent kernel theory and simulation of quantum neural networks.

Importing qntk turns on 64-bit floats in JAX: every kernel quantity is computed in float64 /
complex128.
"""

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
