"""Time RecBole 1.2.1's BPR on pre-split atomic files: train examples/s and full-ranking users/s.

Run BY the RecBole venv's python (``benchmarks/bench_peers.py`` starts it as a subprocess after
writing ``<data-path>/<dataset>/<dataset>.{train,valid,test}.inter`` with
``benchmarks/peers/atomic_files.py``). It only calls RecBole's public API (``Config``,
``create_dataset``, ``data_preparation``, ``BPR``, ``Trainer``) and prints one JSON object as the
last line of stdout.

What is timed:

* Training: ``Trainer._train_epoch`` (the epoch body of ``Trainer.fit``, without its validation and
  checkpointing) for ``1 + epochs`` epochs; the first is warm-up and excluded, examples/s is the
  examples of the measured epochs over their seconds. An example is one (user, positive, negative)
  triple, as in recbench. With ``--max-batches`` each "epoch" is cut to its first that many
  minibatches (a partial epoch, for data too large for whole epochs in minutes): RecBole still
  shuffles and negative-samples as in a whole epoch, only fewer batches are drawn.
* Evaluation: ``Trainer.evaluate(test_data)`` with ``eval_args.mode: full`` (every item ranked,
  the user's train and valid items masked, as RecBole does for the test phase), median over
  ``--eval-repeats`` runs; users/s is the number of test users over those seconds. RecBole's
  full-ranking batch is ``eval_batch_size // item_num`` users; it is set here to
  ``--eval-users-per-batch`` users (RecBole's default of 4096 scores would be 2 users per batch on
  ML-100K, which would make RecBole look slower than it can be).

Usage (the venv must hold torch and recbole==1.2.1)::

    /work/venv-recbole/bin/python benchmarks/peers/recbole_bpr.py --data-path DIR --dataset NAME \\
        --batch-size 2048 --dim 64 --epochs 5
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from typing import Any, Iterator


class FirstBatches:
    """The first ``max_batches`` minibatches of a RecBole train dataloader, counting examples drawn.

    ``Trainer._train_epoch`` only iterates its ``train_data`` and reads ``.shuffle``; this wrapper
    stops the iteration early (for a partial epoch) and counts the interactions it handed out.
    """

    def __init__(self, loader: Any, max_batches: int | None) -> None:
        self.loader = loader
        self.max_batches = max_batches
        self.shuffle = loader.shuffle
        self.examples = 0
        self.batches = 0

    def __len__(self) -> int:
        full = len(self.loader)
        return full if self.max_batches is None else min(full, self.max_batches)

    def __iter__(self) -> Iterator[Any]:
        self.examples = 0
        self.batches = 0
        for interaction in self.loader:
            if self.max_batches is not None and self.batches >= self.max_batches:
                break
            self.batches += 1
            self.examples += len(interaction)
            yield interaction


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", required=True, help="folder holding <dataset>/<dataset>.{train,valid,test}.inter")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-3, help="learning rate")
    parser.add_argument("--learner", choices=("adam", "sgd"), default="adam", help="RecBole's optimizer")
    parser.add_argument("--epochs", type=int, default=5, help="measured epochs (one warm-up epoch runs first)")
    parser.add_argument("--max-batches", type=int, default=None, help="cut every epoch to this many minibatches")
    parser.add_argument("--eval-repeats", type=int, default=3)
    parser.add_argument("--eval-users-per-batch", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wall_start = time.perf_counter()
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.general_recommender import BPR
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    import recbole

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    os.chdir(args.data_path)  # RecBole writes log/, log_tensorboard/ and saved/ under the working directory
    config_dict = {
        "data_path": args.data_path,
        "benchmark_filename": ["train", "valid", "test"],
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "load_col": {"inter": ["user_id", "item_id"]},
        "embedding_size": args.dim,
        "train_batch_size": args.batch_size,
        "learning_rate": args.lr,
        "learner": args.learner,
        "weight_decay": 0.0,
        "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1, "alpha": 1.0,
                                  "dynamic": False, "candidate_num": 0},
        "eval_args": {"group_by": "user", "order": "RO", "split": {"RS": [0.8, 0.1, 0.1]}, "mode": "full"},
        "metrics": ["NDCG", "Recall"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        "epochs": 1 + args.epochs,
        "use_gpu": False,
        "device": "cpu",
        "show_progress": False,
        "worker": 0,
        "seed": args.seed,
        "reproducibility": True,
        "state": "WARNING",
        "checkpoint_dir": os.path.join(args.data_path, "saved"),
        "save_dataset": False,
        "save_dataloaders": False,
    }
    config = Config(model="BPR", dataset=args.dataset, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    logging.getLogger().setLevel(logging.WARNING)

    start = time.perf_counter()
    dataset = create_dataset(config)
    config["eval_batch_size"] = args.eval_users_per_batch * dataset.item_num
    train_data, _valid_data, test_data = data_preparation(config, dataset)
    data_seconds = time.perf_counter() - start

    model = BPR(config, train_data._dataset).to(config["device"])
    trainer = Trainer(config, model)

    epoch_loader = FirstBatches(train_data, args.max_batches)
    epochs = []
    for epoch in range(1 + args.epochs):
        start = time.perf_counter()
        loss = trainer._train_epoch(epoch_loader, epoch, show_progress=False)
        seconds = time.perf_counter() - start
        epochs.append({"seconds": seconds, "examples": epoch_loader.examples, "batches": epoch_loader.batches,
                       "loss_sum": float(loss) if loss is not None else None})
    measured = epochs[1:]
    train_examples = sum(e["examples"] for e in measured)
    train_seconds = sum(e["seconds"] for e in measured)

    eval_users = int(len(test_data.uid_list))
    eval_runs = []
    result: dict[str, Any] = {}
    for _ in range(args.eval_repeats):
        start = time.perf_counter()
        result = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
        eval_runs.append(time.perf_counter() - start)
    eval_seconds = statistics.median(eval_runs)

    out = {
        "recbole": recbole.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "dataset": args.dataset,
        "n_users": int(dataset.user_num - 1),
        "n_items": int(dataset.item_num - 1),
        "train_interactions": int(len(train_data._dataset)),
        "batch_size": args.batch_size,
        "dim": args.dim,
        "lr": args.lr,
        "learner": args.learner,
        "max_batches": args.max_batches,
        "full_epoch_batches": len(train_data),
        "data_seconds": data_seconds,
        "epochs": epochs,
        "measured_epochs": len(measured),
        "train_examples": train_examples,
        "train_seconds": train_seconds,
        "train_examples_per_s": train_examples / train_seconds,
        "eval_users": eval_users,
        "eval_users_per_batch": args.eval_users_per_batch,
        "eval_seconds": eval_seconds,
        "eval_all_seconds": eval_runs,
        "eval_users_per_s": eval_users / eval_seconds,
        "metrics": {k: float(v) for k, v in result.items()},
        "wall_seconds": time.perf_counter() - wall_start,
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
