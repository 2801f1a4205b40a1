"""Issue #21 (items 2, 3, 6, 11): input that gave wrong numbers or a misleading message."""

import numpy as np
import pandas as pd
import pytest

from dtistat import IndexSpec, fit_panel
from dtistat.errors import ParameterError, SpecError
from dtistat.index import weights as W
from dtistat.sensitivity.sobol import sobol_indices
from dtistat.tables import regression_table

FRAME = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [3.0, 1, 2, 5]})


# ------------------------------------------------------------------ item 6
@pytest.mark.parametrize("scores", [
    pd.DataFrame({"a": [True, 3], "b": [2, 3]}),
    pd.DataFrame({"a": np.array([True, False]), "b": [2, 3]}),
])
def test_expert_score_true_is_not_one(scores):
    with pytest.raises(SpecError, match=r"node 'a'.*True \(a boolean\)"):
        W.expert_weights(scores)


def test_spec_expert_score_bool_refused():
    with pytest.raises(SpecError, match="boolean"):
        IndexSpec.from_dict({"name": "t", "children": [{"name": "a"}, {"name": "b"}],
                             "expert_scores": {"e1": {"a": True, "b": 3}}})


@pytest.mark.parametrize("shift", [np.nan, np.inf, "0.1", True, -0.1])
def test_entropy_shift_must_be_finite_number(shift):
    with pytest.raises(ParameterError, match="shift"):
        W.entropy(FRAME, shift=shift)


def test_entropy_shift_still_works():
    a = W.entropy(FRAME, shift=1e-4)
    assert a.sum() == pytest.approx(1.0) and not a.equals(W.entropy(FRAME))


@pytest.mark.parametrize("call", [
    lambda: W.equal("abc"),
    lambda: W.equal(None),
    lambda: W.entropy(FRAME, columns="ab"),
    lambda: W.critic(FRAME, columns="ab"),
    lambda: sobol_indices(lambda X: X.sum(axis=1), "ab", [[0, 1], [0, 1]], n_base=16),
])
def test_a_string_is_not_a_list_of_names(call):
    with pytest.raises(ParameterError, match="list of names, got"):
        call()


def test_equal_refuses_duplicates_and_keeps_working():
    with pytest.raises(SpecError, match="'a' more than once"):
        W.equal(["a", "b", "a"])
    assert W.equal(("a", "b")).tolist() == [0.5, 0.5]


@pytest.fixture(scope="module")
def small_fit():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"id": np.repeat(np.arange(6), 4), "t": np.tile(np.arange(4), 6)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    return fit_panel(df, "y ~ x", entity="id", time="t")


def test_regression_table_refuses_unknown_stat(small_fit):
    with pytest.raises(ParameterError, match=r"'bogus'.*valid names:.*'nobs'"):
        regression_table(small_fit, stats=("nobs", "bogus"))
    # a known statistic no column has is still left out quietly (documented)
    out = regression_table(small_fit, stats=("nobs", "n_clusters", "adj_r2"))
    assert "Observations" in out and "Adj." not in out
