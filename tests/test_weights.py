"""Weight schemes against their source formulas and peer implementations."""

import statistics

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy as shannon

from dtistat import DataError, ParameterError, SpecError, weights


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    X = rng.gamma(2.0, 1.0, size=(60, 5)) * [1, 10, 100, 0.1, 3]
    X[:, 3] += 0.5 * X[:, 0]  # some correlation for CRITIC and PCA
    return pd.DataFrame(X, columns=list("abcde"))


def test_expert_weights_seed_formula():
    s = pd.DataFrame({"x": [5, 4, 3], "y": [1, 2, 3], "z": [4, 4, 4]})
    w = weights.expert_weights(s)
    # sum_i a_ij / sum_j sum_i a_ij: 12/30, 6/30, 12/30 (seed, 赋权)
    np.testing.assert_allclose(w, [0.4, 0.2, 0.4], rtol=1e-15)


def test_entropy_against_scipy(data):
    # Reference: scipy.stats.entropy (Shannon, 0 ln 0 = 0), applied to min–max shares.
    w = weights.entropy(data)
    z = (data - data.min()) / (data.max() - data.min())
    e = np.array([shannon(z[c]) for c in data]) / np.log(len(data))
    np.testing.assert_allclose(w, (1 - e) / (1 - e).sum(), rtol=1e-12)


def test_entropy_shift_against_pymcdm(data):
    # pymcdm 1.x entropy_weights sum-normalizes the raw matrix; fed our shifted min–max
    # matrix (no zeros, so its zero-share bug does not bite) it must agree.
    pymcdm = pytest.importorskip("pymcdm")
    w = weights.entropy(data, shift=1e-4)
    z = (data - data.min()) / (data.max() - data.min()) + 1e-4
    np.testing.assert_allclose(w, pymcdm.weights.entropy_weights(z.to_numpy()), rtol=1e-12)


def test_entropy_direction_flips_minmax(data):
    a = weights.entropy(data, direction={"b": -1})
    flipped = data.assign(b=-data["b"])
    np.testing.assert_allclose(a, weights.entropy(flipped), rtol=1e-13)


def test_critic_against_pymcdm(data):
    # Diakoulaki et al. (1995) as implemented in pymcdm.weights.critic_weights.
    pymcdm = pytest.importorskip("pymcdm")
    np.testing.assert_allclose(weights.critic(data),
                               pymcdm.weights.critic_weights(data.to_numpy()), rtol=1e-12)


def test_cv_by_hand(data):
    raw = [statistics.stdev(data[c]) / statistics.fmean(data[c]) for c in data]
    np.testing.assert_allclose(weights.cv(data), np.array(raw) / sum(raw), rtol=1e-12)


def test_pca_against_sklearn(data):
    from sklearn.decomposition import PCA

    z = (data - data.mean()) / data.std(ddof=1)
    pc1 = PCA(n_components=1).fit(z.to_numpy()).components_[0]
    np.testing.assert_allclose(weights.pca(data), pc1**2 / (pc1**2).sum(), rtol=1e-10)


def test_equal():
    assert weights.equal(["a", "b"]).tolist() == [0.5, 0.5]


def test_all_sum_to_one_and_labelled(data):
    for w in (weights.entropy(data), weights.critic(data), weights.cv(data),
              weights.pca(data), weights.equal(list(data))):
        assert list(w.index) == list("abcde")
        assert w.sum() == pytest.approx(1.0, abs=1e-14)
        assert (w >= 0).all()


def test_bad_input(data):
    with pytest.raises(DataError, match="'a' is constant"):
        weights.entropy(data.assign(a=1.0))
    with pytest.raises(DataError, match="positive means"):
        weights.cv(data.assign(c=-data["c"]))
    with pytest.raises(DataError, match="'b' has NaN"):
        weights.critic(data.assign(b=np.r_[np.nan, data["b"].iloc[1:]]))
    with pytest.raises(SpecError, match="integers from 1"):
        weights.expert_weights(pd.DataFrame({"x": [0, 3]}))
    with pytest.raises(ParameterError, match="shift"):
        weights.entropy(data, shift=-1)
