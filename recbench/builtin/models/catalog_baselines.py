"""Closed-form baselines (no jax at import; builders import their modules lazily)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recbench.builtin.models.lazy import lazy_builder
from recbench.types import ModelContext, ModelSpec

_NB = "recbench.builtin.models.neighbourhood"


def _build_random(ctx: ModelContext) -> Any:
    from recbench.builtin.models.neighbourhood import RandomScores

    return RandomScores(ctx.n_items, seed=ctx.seed)


def specs() -> Iterator[ModelSpec]:
    yield ModelSpec(name="random", version="1", family="closed_form", build=_build_random,
                    description="uniform random scores: the floor", paper="baseline")
    yield ModelSpec(name="itemknn", version="1", family="closed_form", build=lazy_builder(f"{_NB}:ItemKNN", seeded=False),
                    default_config={"neighbours": 100, "shrink": 10.0},
                    description="item-item CF: cosine with shrinkage, top-k neighbours per item",
                    paper="B. Sarwar et al. Item-based Collaborative Filtering Recommendation Algorithms. WWW 2001.")
    yield ModelSpec(name="userknn", version="1", family="closed_form", build=lazy_builder(f"{_NB}:UserKNN", seeded=False),
                    default_config={"neighbours": 50, "shrink": 10.0},
                    description="user-user CF: cosine with shrinkage, top-k neighbours per user",
                    paper="J. Herlocker et al. An Algorithmic Framework for Performing Collaborative Filtering. SIGIR 1999.")
    yield ModelSpec(name="ease", version="1", family="closed_form", build=lazy_builder(f"{_NB}:EASE", seeded=False),
                    default_config={"l2": 500.0},
                    description="EASE: closed-form shallow autoencoder with a zero diagonal",
                    paper="H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019.")
