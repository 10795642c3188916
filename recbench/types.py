"""Frozen spec dataclasses returned by the registration hooks, and the contexts the host passes in.

Nothing here imports jax: listing plugins must stay instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from recbench.data.interactions import Interactions
    from recbench.data.split import Split

Feedback = Literal["implicit", "explicit"]
MetricKind = Literal["ranking", "rating", "beyond-accuracy"]

#: Training families the host can own the loop of (see DESIGN.md). A model declares one.
FAMILIES: tuple[str, ...] = ("rating", "pointwise", "pairwise", "listwise", "sequential", "closed_form")
#: Families whose host loop exists in this version.
IMPLEMENTED_FAMILIES: tuple[str, ...] = FAMILIES


@dataclass(frozen=True, slots=True)
class DatasetContext:
    """What a dataset loader gets from the host.

    Attributes:
        data_dir: the user's data directory (``RECBENCH_DATA_DIR``), searched first; None if unset.
        cache_dir: where downloads go (``RECBENCH_CACHE_DIR``, default ``~/.cache/recbench``).
        allow_download: False when ``RECBENCH_OFFLINE=1``.
        params: dataset parameters from the run configuration (e.g. synthetic sizes).
    """

    data_dir: Path | None
    cache_dir: Path
    allow_download: bool
    params: Mapping[str, Any] = field(default_factory=dict)


class DatasetLoader(Protocol):
    def __call__(self, ctx: DatasetContext, /) -> Interactions: ...


class Splitter(Protocol):
    def __call__(self, data: Interactions, params: Mapping[str, Any], seed: int, /) -> Split: ...


@dataclass(frozen=True, slots=True)
class ModelContext:
    """What a model builder gets from the host.

    Attributes:
        n_users: size of the user vocabulary (indices 0..n_users-1).
        n_items: size of the item vocabulary.
        config: the model's default config merged with the run's overrides.
        seed: the run's initialisation seed (spawned from the run seed, never global state).
        user_features: the dataset's side features of users, ``name -> array`` with first axis
            ``n_users`` (e.g. ml-100k's ``age``, ``gender``, ``occupation``); empty if it has none.
        item_features: the same for items (first axis ``n_items``, e.g. multi-hot ``genres``).
            Features describe every user/item of the vocabulary, including those held out of
            training (cold start); they never carry interactions.
    """

    n_users: int
    n_items: int
    config: Mapping[str, Any]
    seed: int
    user_features: Mapping[str, Any] = field(default_factory=dict)
    item_features: Mapping[str, Any] = field(default_factory=dict)


class ModelBuilder(Protocol):
    def __call__(self, ctx: ModelContext, /) -> Any: ...


class MetricFn(Protocol):
    """A pure, jittable metric: per-user values from the ranked relevance of one user batch.

    ``inputs`` is a :class:`recbench.evaluate.ranking.RankedBatch`; ``k`` is a static cutoff.
    Returns a float array of shape ``(B,)``.
    """

    def __call__(self, inputs: Any, k: int, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A dataset plugin.

    Attributes:
        name: lowercase unique name, e.g. ``ml-100k``.
        version: bump when the loader's output changes.
        description: one line for ``recbench list``.
        load: returns :class:`recbench.data.Interactions`.
        feedback: ``implicit`` or ``explicit`` (ratings).
        default_protocol: name of the splitter used when the run names none.
        citation: how to cite the data.
        license: the data's terms, in a few words.
    """

    name: str
    version: str
    description: str
    load: DatasetLoader
    feedback: Feedback = "implicit"
    default_protocol: str = "random_holdout"
    citation: str = ""
    license: str = ""


@dataclass(frozen=True, slots=True)
class SplitterSpec:
    """A split protocol plugin. ``split(data, params, seed)`` returns a :class:`recbench.data.Split`."""

    name: str
    version: str
    description: str
    split: Splitter
    default_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model plugin.

    Attributes:
        name: lowercase unique name, e.g. ``mf_bpr``.
        version: bump when the model's behaviour changes.
        family: which host training loop trains it (one of :data:`FAMILIES`).
        description: one line for ``recbench list``.
        build: returns the model (a Flax NNX module implementing the family's protocol).
        default_config: model hyperparameters (dimension, regularisation, loss, ...).
        default_training: host training settings this model prefers (epochs, batch size, optimizer, ...).
        paper: the citation of the model's paper.
    """

    name: str
    version: str
    family: str
    description: str
    build: ModelBuilder
    default_config: Mapping[str, Any] = field(default_factory=dict)
    default_training: Mapping[str, Any] = field(default_factory=dict)
    paper: str = ""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric plugin. Used as ``NAME@K`` when ``needs_cutoff``.

    Attributes:
        name: lowercase unique name without the cutoff, e.g. ``ndcg``.
        version: bump when the definition changes (records with other versions are not compared).
        description: one line; the pinned formula lives in docs/metrics.md.
        fn: a pure jittable :class:`MetricFn`.
        kind: ``ranking``, ``rating`` or ``beyond-accuracy``.
        higher_is_better: direction for ranking models on a leaderboard.
        needs_cutoff: whether the metric takes ``@k``.
        uses: extra inputs the evaluator must compute: ``"graded"`` (gains from the held-out
            ratings and the ideal gains), ``"ranks"`` (every item's rank, for AUC).
        aggregate: for a global metric (coverage, Gini, GAUC): ``aggregate(inputs, k) -> float`` on
            the host, where ``inputs`` is a :class:`recbench.evaluate.ranking.GlobalInputs`; its per-user
            ``fn`` output is kept only as an input to the aggregate.
    """

    name: str
    version: str
    description: str
    fn: MetricFn
    kind: MetricKind = "ranking"
    higher_is_better: bool = True
    needs_cutoff: bool = True
    uses: tuple[str, ...] = ()
    aggregate: Callable[..., float] | None = None


SpecT = TypeVar("SpecT", DatasetSpec, SplitterSpec, ModelSpec, MetricSpec)


@dataclass(frozen=True, slots=True)
class Registered(Generic[SpecT]):
    """A spec together with who provided it."""

    spec: SpecT
    plugin: str
    distribution: str
    dist_version: str

    @property
    def name(self) -> str:
        return self.spec.name


Callback = Callable[..., None]
