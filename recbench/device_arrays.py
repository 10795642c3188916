"""Host arrays onto the device without a compile per shape."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def device_array(a: np.ndarray) -> jax.Array:
    """``a`` on the default device, in its (canonical) dtype.

    Passing the dtype matters: jax 0.10's ``jnp.asarray(np_array)`` without one compiles a staging
    function for every new shape (~13 ms each, ``jit(stage)`` under ``jax_log_compiles``), most of a
    small data set's one-off setup. Code that knows its dtypes may pass them to ``jnp.asarray``
    itself, as the training families do.
    """
    return jnp.asarray(a, jax.dtypes.canonicalize_dtype(np.asarray(a).dtype))
