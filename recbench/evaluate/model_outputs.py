"""What the evaluators accept from a model: a real array of the contract's shape, nothing else.

A model's ``score(users_B)`` must give ``[B, n_items]`` scores, and ``predict(users_B, items_B)``
``[B]`` ratings. Anything else (a transposed or one-row array, a vector, booleans, complex numbers, a
Python list) is refused while the evaluation traces, in one line naming the model: otherwise broadcasting
and casts turn it into an "ok" run with wrong metrics.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from recbench.errors import TrainingError


def real_output(model: Any, call: str, value: Any, shape: tuple[int, ...], contract: str) -> jax.Array:
    """``value``, what ``model.<call>`` returned, as float32 if it is a real array of ``shape``.

    Raises:
        TrainingError: it is not an array, has another shape, or holds booleans or complex numbers.
    """
    where = f"{type(model).__name__}.{call} must return {contract}"
    if not isinstance(value, jax.Array | np.ndarray):
        raise TrainingError(f"{where}, got a {type(value).__name__}", hint="return a jax array (jnp)")
    if tuple(value.shape) != tuple(shape):
        raise TrainingError(f"{where} = {list(shape)}, got shape {list(value.shape)}",
                            hint="one row per user of the batch, one column per item of the catalogue")
    dtype = jnp.dtype(value.dtype)
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise TrainingError(f"{where} as real numbers, got {dtype.name}",
                            hint="return float scores (booleans tie everything; complex parts would be dropped)")
    return jnp.asarray(value).astype(jnp.float32)
