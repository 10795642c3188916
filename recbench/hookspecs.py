"""The plugin contract: hook specifications of the ``recbench`` project.

A plugin is any module or object with functions decorated by :data:`recbench.hookimpl` and named like
the specs below. Third-party packages expose it through the entry-point group ``recbench``::

    [project.entry-points.recbench]
    my-plugin = "my_package.plugin"

A registered name is lowercase (letters, digits, ``_``, ``-``, ``.``; no ``@``), unique across all
installed plugins, and a model's ``family``, a metric's ``kind`` and a dataset's ``feedback`` are
one of the values their spec lists. A spec that breaks a rule, a hook that raises and a module that
fails to import are reported (naming the plugin and its distribution) and skipped; the rest still
works, and ``recbench plugins`` shows what was skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("recbench")


@hookspec
def recbench_datasets() -> Iterable[Any]:
    """Yield :class:`recbench.types.DatasetSpec` objects.

    Example::

        import numpy as np
        import recbench
        from recbench.data import Interactions

        def load_tiny(ctx):
            users = np.array([0, 0, 1, 2], dtype=np.int32)
            items = np.array([0, 1, 1, 2], dtype=np.int32)
            return Interactions.from_indices(users, items, name="tiny")

        @recbench.hookimpl
        def recbench_datasets():
            yield recbench.DatasetSpec(name="tiny", version="1", description="four interactions",
                                       load=load_tiny)
    """


@hookspec
def recbench_splitters() -> Iterable[Any]:
    """Yield :class:`recbench.types.SplitterSpec` objects.

    Example::

        import numpy as np
        import recbench
        from recbench.data.split import TEST, TRAIN, split_from_assignment

        def odd_users(data, params, seed):
            part = np.where(data.user_idx % 2 == 1, TEST, TRAIN)   # odd users' rows go to test
            return split_from_assignment(data, part, protocol="odd_users", protocol_version="1",
                                         params=params, seed=seed)

        @recbench.hookimpl
        def recbench_splitters():
            yield recbench.SplitterSpec(name="odd_users", version="1",
                                        description="odd users' rows are test", split=odd_users)
    """


@hookspec
def recbench_models() -> Iterable[Any]:
    """Yield :class:`recbench.types.ModelSpec` objects. Import jax/flax inside ``build``.

    Example::

        import recbench

        def build(ctx):
            from my_package.model import DotProduct   # flax.nnx module, imported lazily
            return DotProduct(ctx.n_users, ctx.n_items, dim=ctx.config["dim"], seed=ctx.seed)

        @recbench.hookimpl
        def recbench_models():
            yield recbench.ModelSpec(name="dot", version="1", family="pairwise",
                                     description="dot product trained with BPR", build=build,
                                     default_config={"dim": 32})
    """


@hookspec
def recbench_metrics() -> Iterable[Any]:
    """Yield :class:`recbench.types.MetricSpec` objects. ``fn(batch, k)`` must be jittable.

    Example::

        import recbench

        def top1(batch, k):
            return batch.relevance_BxK[:, 0]

        @recbench.hookimpl
        def recbench_metrics():
            yield recbench.MetricSpec(name="top1", version="1", description="first item relevant",
                                      fn=top1, needs_cutoff=False)
    """


@hookspec
def recbench_run_finished(record: Any) -> None:
    """Called once per finished run with its frozen :class:`recbench.results.RunRecord`.

    For trackers and uploaders. It cannot change results; an exception here is reported and ignored.

    Example::

        import recbench

        @recbench.hookimpl
        def recbench_run_finished(record):
            print(record.model["name"], record.status, record.metrics)
    """
