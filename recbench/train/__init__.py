"""Host-owned, jit-compiled training loops. Importing this package imports jax."""
