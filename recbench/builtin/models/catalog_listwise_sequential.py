"""Model specs of the listwise and sequential families. No jax at import: builders import their modules lazily."""

from __future__ import annotations

from collections.abc import Iterator

from recbench.types import ModelSpec


def specs() -> Iterator[ModelSpec]:
    yield from ()
