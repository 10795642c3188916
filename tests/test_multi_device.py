"""Data-parallel training over 4 simulated CPU devices matches 1 device (issue 4, item 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from recbench.builtin.models.mf_bpr import MFBPR
from recbench.builtin.splitters import random_holdout
from recbench.builtin.synthetic import synthetic_interactions
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.loop import train

REPO = Path(__file__).resolve().parents[1]
DATA = {"n_users": 301, "n_items": 202, "mean_per_user": 25}  # 503 factor rows, not divisible by 4: padding
RUNS = {  # name -> training settings; each runs on 1 device here and on 4 in the subprocess
    "dense_adam": {"optimizer": "adam", "learning_rate": 0.02},
    "dense_adam_sharded_tables": {"optimizer": "adam", "learning_rate": 0.02, "shard_tables": True},
    "lazy_adam_sharded_tables": {"sparse_optimizer": "adam", "learning_rate": 0.02, "shard_tables": True},
}
COMMON = {"epochs": 3, "batch_size": 512, "eval_every": 0}

CHILD = textwrap.dedent("""
    import json, os, sys
    assert "jax" not in sys.modules
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax
    import numpy as np
    from recbench.builtin.models.mf_bpr import MFBPR
    from recbench.builtin.splitters import random_holdout
    from recbench.builtin.synthetic import synthetic_interactions
    from recbench.errors import ConfigError
    from recbench.train.config import TrainConfig
    from recbench.train.distributed import distribute, make_mesh
    from recbench.train.loop import train
    from recbench.train.sparse import make_updater

    data, runs, common = json.loads(sys.argv[1])
    split = random_holdout(synthetic_interactions(data), {}, 0)
    out = {"devices": len(jax.devices())}
    for name, settings in runs.items():
        cfg = TrainConfig(devices=4, **common, **settings)
        model = MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=0)
        outcome = train(model, "pairwise", split, cfg, 0)
        out[name] = {"losses": outcome.losses,
                     "items": np.asarray(outcome.model.item_factors[...]).tolist()}
    # several chunks of presampled batches (3 steps' worth of a 512-row batch of 3 int32 arrays)
    import recbench.train.loop as loop
    loop.PRESAMPLE_MAX_BYTES = 3 * 3 * 512 * 4
    model = MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=0)
    cfg = TrainConfig(devices=4, **common, **runs["dense_adam"])
    out["dense_adam_in_chunks"] = {"losses": train(model, "pairwise", split, cfg, 0).losses}
    # where the state lives when tables are sharded
    cfg = TrainConfig(devices=4, shard_tables=True, sparse_optimizer="adagrad", **common)
    _, params, rest, _, updater = make_updater(MFBPR(301, 202, dim=8), cfg, 1)
    placed = distribute(make_mesh(4), params, rest, {}, updater.init, True)
    out["table_specs"] = sorted(list(x.sharding.spec) for x in jax.tree.leaves(placed.params[0]))
    out["table_shapes"] = sorted(x.shape for x in jax.tree.leaves(placed.params[0]))
    out["unpadded_shapes"] = sorted(x.shape for x in jax.tree.leaves(placed.unpad(placed.params)[0]))
    out["slot_specs"] = sorted(list(x.sharding.spec) for x in jax.tree.leaves(placed.opt_state.slots))
    try:
        make_mesh(8)
    except ConfigError as error:
        out["too_many"] = str(error)
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def four_devices() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([DATA, RUNS, COMMON])], env=env,
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.fixture(scope="module")
def split():
    return random_holdout(synthetic_interactions(DATA), {}, 0)


@pytest.mark.parametrize("name", list(RUNS))
def test_four_devices_train_to_the_same_loss_as_one(four_devices: dict, split, name: str) -> None:
    assert four_devices["devices"] == 4 and len(jax.devices()) == 1
    settings = {k: v for k, v in RUNS[name].items() if k != "shard_tables"}  # one device: nothing to shard
    outcome = train(MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=0), "pairwise", split,
                    TrainConfig(**COMMON, **settings), 0)
    assert outcome.losses[-1] < outcome.losses[0]
    np.testing.assert_allclose(four_devices[name]["losses"], outcome.losses, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(four_devices[name]["items"]),
                               np.asarray(outcome.model.item_factors[...]), rtol=1e-3, atol=1e-5)


def test_four_devices_train_in_chunks_of_presampled_batches_to_the_same_loss(four_devices: dict, split) -> None:
    outcome = train(MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=0), "pairwise", split,
                    TrainConfig(**COMMON, **RUNS["dense_adam"]), 0)
    np.testing.assert_allclose(four_devices["dense_adam_in_chunks"]["losses"], outcome.losses, rtol=1e-5)


def test_sharded_tables_are_split_by_rows_and_padded(four_devices: dict) -> None:
    assert four_devices["table_specs"] == [["data"]]  # mf_bpr's one table of user and item factors
    assert four_devices["table_shapes"] == [[504, 8]]  # 301 + 202 rows padded to 4k
    assert four_devices["unpadded_shapes"] == [[503, 8]]
    assert four_devices["slot_specs"] == [["data"]]  # adagrad accumulators follow
    assert "training.devices=8 but only 4 local cpu device(s) exist" in four_devices["too_many"]


def test_more_devices_than_exist_is_a_clear_error(split) -> None:
    cfg = TrainConfig(devices=2, epochs=1, batch_size=512)
    with pytest.raises(ConfigError, match=r"training.devices=2 but only 1 local cpu device\(s\) exist"):
        train(MFBPR(split.train.n_users, split.train.n_items, dim=4), "pairwise", split, cfg, 0)
