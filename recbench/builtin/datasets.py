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


def _public(loader_name: str):  # noqa: ANN202
    def load(ctx: DatasetContext):  # noqa: ANN202
        from recbench.builtin import public_formats

        return getattr(public_formats, loader_name)(ctx)

    return load


def _movielens(name: str):  # noqa: ANN202
    def load(ctx: DatasetContext):  # noqa: ANN202
        from recbench.builtin.movielens_family import RELEASES, load_movielens

        return load_movielens(RELEASES[name], ctx)

    return load


_MOVIELENS = {
    "ml-1m": "MovieLens 1M: 1,000,209 ratings of 3,706 movies by 6,040 users, with genres and demographics",
    "ml-10m": "MovieLens 10M: 10,000,054 ratings (half stars) of 10,677 movies by 69,878 users",
    "ml-20m": "MovieLens 20M: 20,000,263 ratings of 26,744 movies by 138,493 users",
    "ml-25m": "MovieLens 25M: 25,000,095 ratings of 59,047 movies by 162,541 users",
    "ml-32m": "MovieLens 32M: 32,000,204 ratings by 200,948 users (place files by hand: checksum not pinned)",
}


def _user_file(ctx: DatasetContext):  # noqa: ANN202
    from recbench.builtin.user_files import load_user_file

    return load_user_file(ctx)


@hookimpl
def recbench_datasets() -> Iterator[DatasetSpec]:
    yield DatasetSpec(
        name="file",
        version="1",
        description="your own CSV, TSV, Parquet or RecBole .inter file (params: path, user, item, rating, timestamp)",
        load=_user_file,
        feedback="implicit",
    )
    for name, description in _MOVIELENS.items():
        yield DatasetSpec(
            name=name, version="1", description=description, load=_movielens(name), feedback="explicit",
            citation="F. M. Harper and J. A. Konstan. The MovieLens Datasets: History and Context. ACM TiiS 5(4), 2015.",
            license="GroupLens research terms: no redistribution, no commercial use",
        )
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
    yield DatasetSpec(
        name="ml-latest-small",
        version="1",
        description="MovieLens latest-small (2018-09-26): 100,836 ratings 0.5-5 of 9,724 movies by 610 users",
        load=_public("load_ml_latest_small"),
        feedback="explicit",
        citation="F. M. Harper and J. A. Konstan. The MovieLens Datasets: History and Context. ACM TiiS 5(4), 2015.",
        license="GroupLens research terms; redistribution allowed under the same terms; no commercial use",
    )
    yield DatasetSpec(
        name="lastfm-hetrec2011",
        version="1",
        description="HetRec 2011 Last.fm: 92,834 user-artist play counts of 1,892 users (weight = plays)",
        load=_public("load_lastfm_hetrec"),
        feedback="implicit",
        citation="I. Cantador, P. Brusilovsky and T. Kuflik. HetRec 2011 workshop datasets. RecSys 2011.",
        license="GroupLens HetRec 2011 terms (research use); check before redistribution",
    )
    yield DatasetSpec(
        name="amazon-video-sasrec",
        version="1",
        description="Amazon Video Games sequences as released with SASRec: 287,107 events, 31,013 users",
        load=_public("load_amazon_video_sasrec"),
        feedback="implicit",
        citation="W.-C. Kang and J. McAuley. Self-Attentive Sequential Recommendation. ICDM 2018.",
        license="Amazon review data (McAuley et al.), research use",
    )
    yield DatasetSpec(
        name="ml-1m-afcfm",
        version="1",
        description="all 1,000,209 ML-1M user-movie pairs (implicit) with AFCFM's leave-latest-one-out split",
        load=_public("load_ml1m_afcfm"),
        feedback="implicit",
        default_protocol="fixed",
        citation="Harper & Konstan 2015 (MovieLens 1M); split as released in TianyitheDeveloper/AFCFM",
        license="GroupLens research terms: no redistribution, no commercial use",
    )
    yield DatasetSpec(
        name="gowalla-lightgcn",
        version="1",
        description="Gowalla check-ins as split by NGCF/LightGCN: 810,128 train + 217,242 test pairs",
        load=_public("load_gowalla_lightgcn"),
        feedback="implicit",
        default_protocol="fixed",
        citation="Cho et al. KDD 2011 (SNAP); X. He et al. LightGCN. SIGIR 2020.",
        license="SNAP Gowalla data; research use",
    )
    yield DatasetSpec(
        name="yelp2018-lightgcn",
        version="1",
        description="Yelp2018 as split by NGCF/LightGCN: 1,237,259 train + 324,147 test pairs "
                    "(place files by hand: checked by published counts, not sha-pinned)",
        load=_public("load_yelp2018_lightgcn"),
        feedback="implicit",
        default_protocol="fixed",
        citation="X. Wang et al. Neural Graph Collaborative Filtering. SIGIR 2019; X. He et al. LightGCN. SIGIR 2020.",
        license="Yelp Open Dataset terms (Yelp challenge 2018 edition); research use",
    )
    yield DatasetSpec(
        name="amazon-book-lightgcn",
        version="1",
        description="Amazon-book as split by NGCF/LightGCN: 2,380,730 train + 603,378 test pairs "
                    "(place files by hand: checked by published counts, not sha-pinned)",
        load=_public("load_amazon_book_lightgcn"),
        feedback="implicit",
        default_protocol="fixed",
        citation="X. Wang et al. NGCF. SIGIR 2019; X. He et al. LightGCN. SIGIR 2020; Amazon review data (McAuley et al.).",
        license="Amazon review data (McAuley et al.), research use",
    )
    yield DatasetSpec(
        name="deepcf-lastfm",
        version="1",
        description="Last.fm in NCF format (DeepCF release): 69,149 pairs, 1,741 users, 99 published negatives each",
        load=_public("load_deepcf_lastfm"),
        feedback="implicit",
        default_protocol="fixed",
        citation="Z.-H. Deng et al. DeepCF: A Unified Framework of Representation Learning and Matching "
                 "Function Learning in Recommender System. AAAI 2019.",
        license="Last.fm / HetRec 2011 terms (research use)",
    )
    yield DatasetSpec(
        name="deepcf-amusic",
        version="1",
        description="Amazon Digital Music in NCF format (DeepCF release): 46,087 ratings, 99 published negatives each",
        load=_public("load_deepcf_amusic"),
        feedback="explicit",
        default_protocol="fixed",
        citation="Deng et al., AAAI 2019; Amazon review data by McAuley et al.",
        license="Amazon review data (McAuley et al.), research use",
    )
    yield DatasetSpec(
        name="ml-1m-diffrec",
        version="1",
        description="ML-1M clean split of DiffRec: 571,531 pairs, 5,949 users, 2,810 items, temporal train/valid/test",
        load=_public("load_ml1m_diffrec"),
        feedback="implicit",
        default_protocol="fixed",
        citation="W. Wang et al. Diffusion Recommender Model. SIGIR 2023; Harper & Konstan 2015.",
        license="GroupLens research terms: no redistribution, no commercial use",
    )
