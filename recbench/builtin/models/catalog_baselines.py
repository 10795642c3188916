"""Closed-form baselines (no jax at import; builders import their modules lazily)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recbench.types import ModelContext, ModelSpec


def _build(name: str):  # noqa: ANN202
    def build(ctx: ModelContext) -> Any:
        from recbench.builtin.models import neighbourhood as nb

        if name == "random":
            return nb.RandomScores(ctx.n_items, seed=ctx.seed)
        cls = {"itemknn": nb.ItemKNN, "userknn": nb.UserKNN, "ease": nb.EASE}[name]
        return cls(ctx.n_users, ctx.n_items, **ctx.config)

    return build


def specs() -> Iterator[ModelSpec]:
    yield ModelSpec(name="random", version="1", family="closed_form", build=_build("random"),
                    description="uniform random scores: the floor", paper="baseline")
    yield ModelSpec(name="itemknn", version="1", family="closed_form", build=_build("itemknn"),
                    default_config={"neighbours": 100, "shrink": 10.0},
                    description="item-item CF: cosine with shrinkage, top-k neighbours per item",
                    paper="B. Sarwar et al. Item-based Collaborative Filtering Recommendation Algorithms. WWW 2001.")
    yield ModelSpec(name="userknn", version="1", family="closed_form", build=_build("userknn"),
                    default_config={"neighbours": 50, "shrink": 10.0},
                    description="user-user CF: cosine with shrinkage, top-k neighbours per user",
                    paper="J. Herlocker et al. An Algorithmic Framework for Performing Collaborative Filtering. SIGIR 1999.")
    yield ModelSpec(name="ease", version="1", family="closed_form", build=_build("ease"),
                    default_config={"l2": 500.0},
                    description="EASE: closed-form shallow autoencoder with a zero diagonal",
                    paper="H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019.")
