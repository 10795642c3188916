"""Accuracy versus throughput: the Pareto front, and a plot of it (matplotlib, an optional extra).

A model is on the front when no other model is at least as accurate *and* at least as fast, and
strictly better in one of the two. The front is a pure function (no matplotlib); only
:func:`write_plot` needs ``pip install 'recbench[plot]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recbench.errors import ConfigError
from recbench.results.leaderboard import Board

#: ``--plot-x`` choices: the throughput column each one reads.
THROUGHPUT_AXES = {"train": "train ex/s", "eval": "eval users/s"}
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
INSTALL_HINT = "pip install 'recbench[plot]' (or pip install matplotlib)"


def pareto_front(speed: Sequence[float], accuracy: Sequence[float], higher_is_better: bool = True) -> list[int]:
    """Indices of the non-dominated points, fastest first.

    Args:
        speed: throughput per point (higher is better).
        accuracy: the metric per point.
        higher_is_better: whether a higher ``accuracy`` is better.

    Returns:
        The indices on the front, sorted by decreasing speed (so increasing accuracy). Points with a
        non-finite coordinate are never on it; exact duplicates are all kept.
    """
    x = np.asarray(speed, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64) * (1.0 if higher_is_better else -1.0)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    # Fastest first; among equally fast, most accurate first. A point is on the front when it is
    # more accurate than every faster point, or ties the best accuracy seen at exactly its speed.
    order = finite[np.lexsort((-y[finite], -x[finite]))]
    front: list[int] = []
    best_y = -np.inf
    for i in order:  # one pass over models (tens), not over data
        if y[i] > best_y or (front and x[i] == x[front[-1]] and y[i] == y[front[-1]]):
            front.append(int(i))
            best_y = max(best_y, y[i])
    return front


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("--plot needs matplotlib, which is not installed", hint=INSTALL_HINT) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plot(groups: Sequence[Board], path: str | Path, axis: str = "train") -> Path:
    """Draw each board's models as main metric versus throughput (log scale), front marked.

    Args:
        groups: the leaderboard's boards; one panel each.
        path: the output file; its suffix (.png, .svg or .pdf) picks the format.
        axis: ``train`` (train examples/s) or ``eval`` (eval users/s).

    Raises:
        ConfigError: unknown suffix or axis, no board with a main metric, or matplotlib missing.
    """
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ConfigError(f"--plot {path}: the file must end in {', '.join(PLOT_SUFFIXES)}")
    if axis not in THROUGHPUT_AXES:
        raise ConfigError(f"--plot-x {axis!r}: choose one of {', '.join(THROUGHPUT_AXES)}")
    panels = [b for b in groups if b.main_metric]
    if not panels:
        raise ConfigError("--plot: no leaderboard with an accuracy metric to plot")
    plt = _pyplot()
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 5 * len(panels)), squeeze=False)
    column = THROUGHPUT_AXES[axis]
    for ax, board in zip(axes[:, 0], panels, strict=True):
        _panel(ax, board, column)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, metadata={"Software": None} if path.suffix.lower() == ".png" else None)
    plt.close(figure)
    return path


def _panel(ax: Any, board: Board, column: str) -> None:
    main = board.main_metric
    higher = board.higher_is_better.get(main, True)
    table = board.table
    speed = table[column].to_numpy(dtype=np.float64)
    accuracy = table[main].to_numpy(dtype=np.float64)
    shown = np.isfinite(speed) & np.isfinite(accuracy) & (speed > 0)
    front = pareto_front(np.where(shown, speed, np.nan), accuracy, higher)
    on_front = np.zeros(len(table), bool)
    on_front[front] = True
    ax.scatter(speed[shown & ~on_front], accuracy[shown & ~on_front], color="tab:gray", label="dominated", zorder=2)
    ax.scatter(speed[on_front], accuracy[on_front], color="tab:red", label="Pareto front", zorder=3)
    if front:
        ax.step(speed[front], accuracy[front], where="post", color="tab:red", alpha=0.5, zorder=1)
    for i in np.flatnonzero(shown):
        ax.annotate(str(table.loc[i, "model"]), (speed[i], accuracy[i]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    for figure in board.published:
        if main in figure.metrics:
            ax.axhline(figure.metrics[main], color="tab:blue", linestyle=":", linewidth=1)
            ax.annotate(f"published: {figure.model}", (0.99, figure.metrics[main]), xycoords=("axes fraction", "data"),
                        textcoords="offset points", xytext=(0, 3), fontsize=8, color="tab:blue", ha="right")
    missing = [str(m) for m, ok in zip(table["model"], shown, strict=True) if not ok]
    if shown.any():
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, f"no model has both {main} and {column}", transform=ax.transAxes, ha="center")
    ax.set_xlabel(f"{column} ({board.device})" + (", log scale" if shown.any() else ""))
    ax.set_ylabel(f"{main} ({'higher' if higher else 'lower'} is better)")
    title = board.title + (f"\nnot shown (no {main} or throughput): {', '.join(missing)}" if missing else "")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
