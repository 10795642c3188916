"""Built-in dataset plugins. Loaders live in sibling modules; nothing heavy is imported here."""

from __future__ import annotations

from collections.abc import Iterator

from recbench import hookimpl
from recbench.types import DatasetContext, DatasetSpec


def _synthetic(ctx: DatasetContext):  # noqa: ANN202 - returns Interactions
    from recbench.builtin.synthetic import synthetic_interactions

    return synthetic_interactions(ctx.params)


def _ml100k(ctx: DatasetContext):  # noqa: ANN202
    from recbench.builtin.movielens import load_ml100k

    return load_ml100k(ctx)


@hookimpl
def recbench_datasets() -> Iterator[DatasetSpec]:
    yield DatasetSpec(
        name="synthetic",
        version="1",
        description="latent-factor implicit feedback with power-law popularity; offline, seeded, sized by params",
        load=_synthetic,
        feedback="implicit",
        license="generated; no terms",
    )
    yield DatasetSpec(
        name="ml-100k",
        version="1",
        description="MovieLens 100K: 100,000 ratings 1-5 of 1,682 movies by 943 users, with genres and demographics",
        load=_ml100k,
        feedback="explicit",
        citation="F. M. Harper and J. A. Konstan. The MovieLens Datasets: History and Context. ACM TiiS 5(4), 2015.",
        license="GroupLens research terms: no redistribution, no commercial use",
    )
