"""Every built-in model passes the conformance suite third-party authors reuse."""

from __future__ import annotations

from recbench.testing import ModelPluginTests

FAST = {"epochs": 30, "learning_rate": 1e-2, "eval_every": 0}


class TestMFBPR(ModelPluginTests):
    model_name = "mf_bpr"
    config = {"dim": 16}
    training = {"epochs": 60, "learning_rate": 2e-2, "eval_every": 0}


class TestItemKNN(ModelPluginTests):
    model_name = "itemknn"


class TestUserKNN(ModelPluginTests):
    model_name = "userknn"


class TestEASE(ModelPluginTests):
    model_name = "ease"
    config = {"l2": 50.0}


class TestGMF(ModelPluginTests):
    model_name = "gmf"
    training = FAST


class TestNeuMF(ModelPluginTests):
    model_name = "neumf"
    training = FAST


class TestBiasedMF(ModelPluginTests):
    """A rating model ranks by predicted rating: on implicit synthetic data it cannot beat pop."""

    model_name = "biased_mf"
    training = {"epochs": 60, "learning_rate": 2e-2}
    beats_pop_by = None


def test_pop_fails_the_checkerboard_so_the_check_has_teeth() -> None:
    class PopTests(ModelPluginTests):
        model_name = "pop"

    record = PopTests()._run({"name": "conformance-checkerboard"}, ["hit@1"])
    assert record.metrics["hit@1"] < 0.8


class TestMLP(ModelPluginTests):
    model_name = "mlp"
    training = FAST


class TestMultDAE(ModelPluginTests):
    model_name = "multdae"
    training = {"epochs": 40, "learning_rate": 1e-2, "eval_every": 0}


class TestMultVAE(ModelPluginTests):
    model_name = "multvae"
    training = {"epochs": 40, "learning_rate": 1e-2, "eval_every": 0}


class TestGRU4Rec(ModelPluginTests):
    """Sequential models are checked on leave-one-out (the suite picks it for the family)."""

    model_name = "gru4rec"
    training = {"epochs": 20, "learning_rate": 5e-3, "eval_every": 0}


class TestLSTM(ModelPluginTests):
    model_name = "lstm"
    training = {"epochs": 20, "learning_rate": 5e-3, "eval_every": 0}


class TestCDAE(ModelPluginTests):
    model_name = "cdae"
    training = {"epochs": 40, "eval_every": 0}
