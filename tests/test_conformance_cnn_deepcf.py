"""DeepCF, ConvNCF, Caser and NeuMF with pre-training: the conformance suite and known answers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from recbench.builtin.models.caser import Caser, shift_left, sliding_windows
from recbench.builtin.models.convncf import ConvNCF, outer_product_map
from recbench.builtin.models.deepcf import DeepCF
from recbench.builtin.models.ncf import GMF, MLP, NeuMF
from recbench.builtin.splitters import random_holdout
from recbench.errors import ConfigError
from recbench.testing import ModelPluginTests
from recbench.train.config import TrainConfig
from recbench.train.family import pretrain
from recbench.train.loop import train
from recbench.train.pointwise import plan_pointwise

SMALL_DEEPCF = {"user_layers": [64, 16], "item_layers": [64, 16], "layers": [32, 16, 8]}


class TestDeepCF(ModelPluginTests):
    """Smaller towers than the paper's, to keep the suite quick on a shared CPU."""

    model_name = "deepcf"
    config = SMALL_DEEPCF
    training = {"epochs": 10, "learning_rate": 3e-3, "eval_every": 0}


class TestConvNCF(ModelPluginTests):
    """A 16 x 16 map (4 layers) and 8 channels instead of the paper's 64 x 64 and 32."""

    model_name = "convncf"
    config = {"dim": 16, "channels": 8}
    training = {"epochs": 30, "batch_size": 256, "learning_rate": 1e-2, "eval_every": 0}


class TestCaser(ModelPluginTests):
    """Sequential: the suite checks it on leave-one-out, as gru4rec and sasrec. Windows from the
    latest 20 items (not 50) to keep it quick: the synthetic users have about 25."""

    model_name = "caser"
    config = {"max_len": 20}
    training = {"epochs": 20, "learning_rate": 5e-3, "eval_every": 0}


class TestNeuMFPretrained(ModelPluginTests):
    model_name = "neumf"
    config = {"pretrain": True}
    training = {"epochs": 15, "learning_rate": 1e-2, "eval_every": 0}


# -- ConvNCF --------------------------------------------------------------------------------------


def _numpy_conv2x2(h_BxHxWxC: np.ndarray, kernel_2x2xCxO: np.ndarray, bias_O: np.ndarray) -> np.ndarray:
    b, hh, ww, c = h_BxHxWxC.shape
    blocks = h_BxHxWxC.reshape(b, hh // 2, 2, ww // 2, 2, c)
    return np.einsum("bxayci,acio->bxyo", blocks, kernel_2x2xCxO) + bias_O


def _numpy_convncf(model: ConvNCF, p_BxD: np.ndarray, q_BxD: np.ndarray) -> np.ndarray:
    h = np.einsum("bi,bj->bij", p_BxD, q_BxD)[..., None]
    for conv in model.convs:
        h = np.maximum(_numpy_conv2x2(h, np.asarray(conv.kernel[...]), np.asarray(conv.bias[...])), 0.0)
    return h.reshape(h.shape[0], -1) @ np.asarray(model.output.kernel[...])[:, 0] + float(model.output.bias[...][0])


def test_convncf_outer_product_map_is_numpys_einsum() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    got = np.asarray(outer_product_map(jnp.asarray(p), jnp.asarray(q)))
    assert got.shape == (3, 4, 4, 1)
    np.testing.assert_allclose(got[..., 0], np.einsum("bi,bj->bij", p, q), rtol=1e-6)
    assert got[1, 2, 3, 0] == pytest.approx(p[1, 2] * q[1, 3])


def test_convncf_scores_match_a_numpy_cnn_and_chunked_full_scoring() -> None:
    model = ConvNCF(5, 7, dim=8, channels=3, item_chunk=3, seed=1)  # 3 layers: 8 -> 4 -> 2 -> 1
    assert len(model.convs) == 3
    p, q = np.asarray(model.user_embedding[...]), np.asarray(model.item_embedding[...])
    users, items = np.repeat(np.arange(5), 7), np.tile(np.arange(7), 5)
    reference = _numpy_convncf(model, p[users], q[items])
    pairs = np.asarray(model.pair_scores(jnp.asarray(p[users]), jnp.asarray(q[items])))
    np.testing.assert_allclose(pairs, reference, rtol=1e-4, atol=1e-6)
    full = np.asarray(model.score(jnp.array([4, 0, 2])))  # 7 items in chunks of 3: a padded last chunk
    np.testing.assert_allclose(full, reference.reshape(5, 7)[[4, 0, 2]], rtol=1e-4, atol=1e-6)


def test_convncf_pretrained_starts_from_the_trained_mf_bpr_factors(small_synthetic) -> None:
    split = random_holdout(small_synthetic, {}, 0)
    model = ConvNCF(split.train.n_users, split.train.n_items, dim=8, channels=2, pretrain=True, seed=0)
    assert ConvNCF(3, 3, dim=8).pretraining() == {}
    cfg = TrainConfig(epochs=2, batch_size=256, eval_every=0)
    outcomes = pretrain(model, split, cfg, seed=0)
    mf = outcomes["mf_bpr"].model
    assert outcomes["mf_bpr"].epochs == 60  # the component's own training settings, not the run's 2 epochs
    np.testing.assert_array_equal(np.asarray(model.user_embedding[...]), np.asarray(mf.user_factors[...]))
    np.testing.assert_array_equal(np.asarray(model.item_embedding[...]), np.asarray(mf.item_factors[...]))
    trained = train(model, "pairwise", split, cfg, 1)
    assert trained.losses[-1] < trained.losses[0]


def test_convncf_rejects_a_map_size_that_cannot_halve_to_one() -> None:
    with pytest.raises(ConfigError, match="power of two"):
        ConvNCF(3, 3, dim=48)


# -- Caser ----------------------------------------------------------------------------------------


def test_caser_windows_and_multi_target_shifts() -> None:
    pad = 9
    inputs = jnp.array([[pad, pad, 1, 2, 3]])
    windows = np.asarray(sliding_windows(inputs, 3, pad))
    assert windows[0].tolist() == [[pad, pad, pad], [pad, pad, pad], [pad, pad, 1], [pad, 1, 2], [1, 2, 3]]
    assert np.asarray(shift_left(jnp.array([[4, 5, 6]]), 2, pad)).tolist() == [[6, pad, pad]]


def test_caser_features_match_a_numpy_reference() -> None:
    model = Caser(3, 6, dim=4, window=3, n_vertical=2, n_horizontal=2, max_len=4, seed=0)
    windows = np.array([[6, 1, 2], [3, 4, 5]])  # 6 is the padding item
    e = np.asarray(model.item_embed[...])[windows] * (windows != 6)[..., None]
    vertical = np.einsum("nld,lv->nvd", e, np.asarray(model.vertical[...])).reshape(2, -1)
    pooled = []
    for h, conv in enumerate(model.horizontal, start=1):
        k, b = np.asarray(conv.kernel[...]), np.asarray(conv.bias[...])  # k: h x d x n_h
        outs = np.stack([np.einsum("nhd,hdo->no", e[:, s:s + h], k) + b for s in range(3 - h + 1)], axis=1)
        pooled.append(np.maximum(outs, 0).max(axis=1))
    reference = np.concatenate([vertical, *pooled], axis=1)
    np.testing.assert_allclose(np.asarray(model.convolve(jnp.asarray(windows))), reference, rtol=1e-5, atol=1e-6)


def test_caser_scores_from_the_latest_window_of_the_history() -> None:
    model = Caser(2, 6, dim=4, window=2, max_len=3, seed=0)
    pad = 6
    model.set_histories(jnp.array([[pad, 1, 2, 3], [pad, pad, pad, 4]]))
    users = jnp.array([0, 1])
    x = model.encode(jnp.array([[2, 3], [pad, 4]]), users, None)
    expected = np.asarray(x @ model.out_weight[...].T + model.out_bias[...])
    np.testing.assert_allclose(np.asarray(model.score(users)), expected, rtol=1e-6)


def test_caser_rejects_a_window_longer_than_the_history() -> None:
    with pytest.raises(ConfigError, match="window=8"):
        Caser(2, 5, window=8, max_len=4)


# -- DeepCF ---------------------------------------------------------------------------------------


def _numpy_deepcf(model: DeepCF, matrix: np.ndarray, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    def dense(layer, x, relu):
        y = x @ np.asarray(layer.kernel[...]) + np.asarray(layer.bias[...])
        return np.maximum(y, 0) if relu else y

    def tower(stack, x):
        for index, layer in enumerate(stack):
            x = dense(layer, x, index > 0)
        return x

    rows, cols = matrix[users], matrix[:, items].T
    rl = tower(model.user_rl, rows) * tower(model.item_rl, cols)
    h = np.concatenate([dense(model.user_ml, rows, False), dense(model.item_ml, cols, False)], axis=1)
    for layer in model.tower:
        h = dense(layer, h, True)
    return dense(model.output, np.concatenate([rl, h], axis=1), False)[:, 0]


def test_deepcf_reads_the_training_matrix_and_matches_a_numpy_reference() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 6, 9
    matrix = (rng.random((n_users, n_items)) < 0.4).astype(np.float32)
    users_N, items_N = np.nonzero(matrix)
    model = DeepCF(n_users, n_items, user_layers=[5, 3], item_layers=[4, 3], layers=[6, 4, 2], user_chunk=4,
                   item_chunk=4, seed=0)
    model.set_training_matrix(users_N.astype(np.int32), items_N.astype(np.int32))
    np.testing.assert_array_equal(np.asarray(model.matrix.user_rows(jnp.arange(n_users))), matrix)
    np.testing.assert_array_equal(np.asarray(model.matrix.item_columns(jnp.arange(n_items))), matrix.T)
    users, items = np.repeat(np.arange(n_users), n_items), np.tile(np.arange(n_items), n_users)
    reference = _numpy_deepcf(model, matrix, users, items)
    np.testing.assert_allclose(np.asarray(model.logits(jnp.asarray(users), jnp.asarray(items))), reference,
                               rtol=1e-4, atol=1e-5)
    full = np.asarray(model.score(jnp.array([5, 1, 0, 3, 2])))  # chunks of 4 users and 4 items, padded
    np.testing.assert_allclose(full, reference.reshape(n_users, n_items)[[5, 1, 0, 3, 2]], rtol=1e-4, atol=1e-5)


def test_pointwise_planner_hands_the_training_matrix_to_models_that_ask(small_synthetic) -> None:
    split = random_holdout(small_synthetic, {}, 0)
    model = DeepCF(split.train.n_users, split.train.n_items, **SMALL_DEEPCF)
    plan_pointwise(split, TrainConfig(batch_size=50), model)
    rows = np.asarray(model.matrix.user_rows(jnp.arange(split.train.n_users)))
    expected = np.zeros_like(rows)
    expected[split.train.user_idx, split.train.item_idx] = 1.0
    np.testing.assert_array_equal(rows, expected)


def test_deepcf_rejects_towers_that_cannot_meet() -> None:
    with pytest.raises(ConfigError, match="same width"):
        DeepCF(3, 4, user_layers=[8, 4], item_layers=[8, 2])


# -- NeuMF pre-training ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pretrained_neumf(small_synthetic):
    split = random_holdout(small_synthetic, {}, 0)
    cfg = TrainConfig(epochs=4, batch_size=500, learning_rate=1e-2, eval_every=0)
    model = NeuMF(split.train.n_users, split.train.n_items, pretrain=True, seed=3)
    outcomes = pretrain(model, split, cfg, seed=11)
    return split, cfg, model, outcomes


def test_pretrained_neumf_starts_from_the_trained_gmf_and_mlp(pretrained_neumf) -> None:
    split, cfg, model, outcomes = pretrained_neumf
    gmf, mlp = outcomes["gmf"].model, outcomes["mlp"].model
    assert outcomes["gmf"].epochs == outcomes["mlp"].epochs == 4
    for ours, theirs in ((model.gmf_user, gmf.user_embedding), (model.gmf_item, gmf.item_embedding),
                         (model.mlp_user, mlp.user_embedding), (model.mlp_item, mlp.item_embedding)):
        np.testing.assert_array_equal(np.asarray(ours[...]), np.asarray(theirs[...]))
    for ours, theirs in zip(model.tower.hidden, mlp.tower.hidden, strict=True):
        np.testing.assert_array_equal(np.asarray(ours.kernel[...]), np.asarray(theirs.kernel[...]))
    kernel = np.concatenate([0.5 * np.asarray(gmf.output.kernel[...]), 0.5 * np.asarray(mlp.output.kernel[...])])
    np.testing.assert_allclose(np.asarray(model.output.kernel[...]), kernel, rtol=1e-6)
    users, items = jnp.asarray(split.valid.user_idx), jnp.asarray(split.valid.item_idx)
    fused = 0.5 * (np.asarray(gmf.logits(users, items)) + np.asarray(mlp.logits(users, items)))
    np.testing.assert_allclose(np.asarray(model.logits(users, items)), fused, rtol=1e-4, atol=1e-5)


def test_pretraining_components_are_trained_by_the_host_loop_with_spawned_seeds(pretrained_neumf) -> None:
    split, cfg, model, outcomes = pretrained_neumf
    component_seed = int(np.random.SeedSequence([11, 0]).generate_state(1, np.uint32)[0])
    component_cfg = TrainConfig.from_mapping({**cfg.to_dict(), "optimizer": "adam", "learning_rate": 1e-3})
    again = train(GMF(split.train.n_users, split.train.n_items, dim=8, seed=4), "pointwise", split,
                  component_cfg, component_seed)
    np.testing.assert_array_equal(np.asarray(again.model.user_embedding[...]),
                                  np.asarray(outcomes["gmf"].model.user_embedding[...]))
    assert isinstance(outcomes["mlp"].model, MLP) and outcomes["mlp"].losses[-1] < outcomes["mlp"].losses[0]


def test_pretrained_neumf_trains_with_sgd(pretrained_neumf) -> None:
    split, cfg, model, outcomes = pretrained_neumf
    before = np.asarray(model.gmf_user[...]).copy()
    sgd = TrainConfig(epochs=3, batch_size=500, learning_rate=0.5, optimizer="sgd", eval_every=0)
    trained = train(model, "pointwise", split, sgd, 5)
    assert np.all(np.isfinite(trained.losses)) and trained.losses[-1] < trained.losses[0]
    assert not np.allclose(np.asarray(trained.model.gmf_user[...]), before)
    # the components keep their own parameters (NeuMF's were copied, then donated by its epochs)
    assert np.isfinite(np.asarray(outcomes["gmf"].model.user_embedding[...])).all()


def test_neumf_without_pretraining_has_no_components_and_bad_options_are_named() -> None:
    assert NeuMF(3, 4).pretraining() == {}
    with pytest.raises(ConfigError, match="alpha"):
        NeuMF(3, 4, alpha=1.5)
    with pytest.raises(ConfigError, match="pretrain"):
        NeuMF(3, 4, pretrain="yes")


def test_runner_records_the_pretraining() -> None:
    record = TestNeuMFPretrained()._run({"name": "synthetic", "params": {"n_users": 60, "n_items": 40,
                                                                          "mean_per_user": 10}},
                                        ["ndcg@10"], {"name": "neumf", "config": {"pretrain": True},
                                                      "training": {"epochs": 2, "eval_every": 0}})
    assert set(record.training["pretraining"]) == {"gmf", "mlp"}
    assert record.training["pretraining"]["gmf"]["epochs"] == 2
    assert np.isfinite(record.metrics["ndcg@10"])
