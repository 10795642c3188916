import numpy as np
import pytest
from scipy import stats

from recbench.results.significance import align, holm, paired_tests


def test_holm_matches_the_textbook_example() -> None:
    # p = (0.01, 0.04, 0.03, 0.005), m = 4: sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_paired_tests_against_scipy_and_edge_cases() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(200)
    b = a + rng.normal(0.05, 0.1, 200)
    t_p, w_p = paired_tests(a, b)
    assert t_p == pytest.approx(stats.ttest_rel(a, b).pvalue) and t_p < 1e-6
    assert w_p == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert paired_tests(a, a) == (1.0, 1.0)


def test_align_keeps_common_keys_in_order() -> None:
    x, y = align({(0, 1): 1.0, (0, 2): 2.0, (1, 1): 3.0}, {(1, 1): 30.0, (0, 1): 10.0})
    assert x.tolist() == [1.0, 3.0] and y.tolist() == [10.0, 30.0]
