"""Coupling coordination (standard and Wang et al. 2021 forms) and TOPSIS / obstacle degree
against published numbers and pymcdm 1.4 (run here)."""

import numpy as np
import pandas as pd
import pytest
from pymcdm import normalizations
from pymcdm.methods import TOPSIS

from dtistat.errors import DataError, ParameterError
from dtistat.index import weights as wmod
from dtistat.index.disparity import coupling_coordination, obstacle_degree, topsis

U = pd.DataFrame({"u1": [0.0162], "u2": [0.2720], "u3": [0.2655]})


def test_coupling_reference_numbers():
    # R mathmodels::coupling_degree on U = (0.0162, 0.2720, 0.2655): C 0.571, T 0.185, D 0.325
    r = coupling_coordination(U, ["u1", "u2", "u3"])
    assert r.table[["C", "T", "D"]].round(3).values.tolist() == [[0.571, 0.185, 0.325]]
    # Wang Shujia et al. (2021, 自然资源学报 36(3)) corrected form, w = (0.4, 0.3, 0.3):
    # C 0.447, T 0.168, D 0.274
    r = coupling_coordination(U, ["u1", "u2", "u3"], weights=[0.4, 0.3, 0.3], form="wang")
    assert r.table[["C", "T", "D"]].round(3).values.tolist() == [[0.447, 0.168, 0.274]]
    assert r.table["class_en"].iloc[0] == "moderate imbalance"


def test_coupling_closed_forms_two_systems():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.uniform(0.05, 1, 50), "b": rng.uniform(0.05, 1, 50)})
    s = coupling_coordination(df, ["a", "b"]).table
    a, b = df.a, df.b
    # two systems: C = 2 sqrt(ab)/(a+b) = {ab / [(a+b)/2]^2}^(1/2)
    np.testing.assert_allclose(s["C"], 2 * np.sqrt(a * b) / (a + b), rtol=1e-13)
    np.testing.assert_allclose(s["C"], np.sqrt(a * b / ((a + b) / 2) ** 2), rtol=1e-13)
    w = coupling_coordination(df, ["a", "b"], form="wang").table
    # Wang et al.: n = 2 -> C = sqrt[(1 - |a-b|) * min/max]
    np.testing.assert_allclose(w["C"], np.sqrt((1 - np.abs(a - b)) * np.minimum(a, b)
                                               / np.maximum(a, b)), rtol=1e-13)
    assert (s["D"] == np.sqrt(s["C"] * s["T"])).all()


def test_coupling_bad_input():
    with pytest.raises(DataError, match="\\[0, 1\\].*'u2'"):
        coupling_coordination(U.assign(u2=1.5), ["u1", "u2", "u3"])
    with pytest.raises(ParameterError, match="sum to 1"):
        coupling_coordination(U, ["u1", "u2", "u3"], weights=[0.5, 0.5, 0.5])
    with pytest.raises(DataError, match="every subsystem at 0"):
        coupling_coordination(pd.DataFrame({"a": [0.0], "b": [0.0]}), ["a", "b"])


@pytest.fixture
def mcdm():
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.uniform(1, 10, (30, 4)), columns=list("abcd"))
    df["city"] = range(30)
    return df


@pytest.mark.parametrize("norm,fn", [("minmax", normalizations.minmax_normalization),
                                     ("vector", normalizations.vector_normalization)])
def test_topsis_equals_pymcdm(mcdm, norm, fn):
    direction = [1, 1, -1, 1]
    r = topsis(mcdm, list("abcd"), weights="entropy", normalization=norm, direction=direction,
               entity="city")
    w = wmod.entropy(mcdm, list("abcd"), direction=dict(zip("abcd", direction)))
    pd.testing.assert_series_equal(r.weights, w)
    ref = TOPSIS(normalization_function=fn)(mcdm[list("abcd")].to_numpy(), w.to_numpy(),
                                            np.array(direction))
    np.testing.assert_allclose(r.table["score"], ref, rtol=1e-12)
    assert list(r.table.columns[:1]) == ["city"]


def test_topsis_vector_classic_formula(mcdm):
    # Hwang & Yoon (1981) / R topsis: ideal = min of v for a cost column
    X = mcdm[list("abcd")].to_numpy()
    w = np.array([0.1, 0.2, 0.3, 0.4])
    V = X / np.linalg.norm(X, axis=0) * w
    imp = np.array([1, -1, 1, 1])
    best = np.where(imp > 0, V.max(0), V.min(0))
    worst = np.where(imp > 0, V.min(0), V.max(0))
    dp, dm = np.linalg.norm(V - best, axis=1), np.linalg.norm(V - worst, axis=1)
    r = topsis(mcdm, list("abcd"), weights=w, direction=imp)
    np.testing.assert_allclose(r.table["score"], dm / (dp + dm), rtol=1e-13)
    assert r.table["rank"].min() == 1


def test_obstacle_degree(mcdm):
    w = pd.Series([0.1, 0.2, 0.3, 0.4], index=list("abcd"))
    r = obstacle_degree(mcdm, list("abcd"), weights=w, entity="city")
    X = mcdm[list("abcd")].to_numpy()
    Z = (X - X.min(0)) / (X.max(0) - X.min(0))
    dev = w.to_numpy() * (1 - Z)
    np.testing.assert_allclose(r.table[list("abcd")], dev / dev.sum(1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(r.table[list("abcd")].sum(axis=1), 1.0, rtol=1e-13)
    raw = obstacle_degree(mcdm, list("abcd"), weights=w, normalize=False)
    np.testing.assert_allclose(raw.table[list("abcd")], dev, rtol=1e-13)
    assert "Obstacle" in str(r.summary())
    with pytest.raises(DataError, match="constant"):
        obstacle_degree(mcdm.assign(a=1.0), list("abcd"), weights=w)


def test_topsis_refuses_rows_that_never_differ():
    # every row equal in every column: d_plus = d_minus = 0 gave a NaN score (and a raw
    # pandas IntCastingNaNError on the rank); a zero-weight column that varies adds nothing
    df = pd.DataFrame({"a": [1.0, 1, 1], "b": [2.0, 2, 2], "c": [1.0, 2, 3]})
    with pytest.raises(DataError, match="do not differ in any weighted column"):
        topsis(df, ["a", "b"], weights=[0.5, 0.5])
    with pytest.raises(DataError, match="0/0"):
        topsis(df, ["a", "b", "c"], weights=[0.5, 0.5, 0.0])
    ok = topsis(df, ["a", "c"], weights=[0.5, 0.5]).table["score"]
    assert np.isfinite(ok).all() and ok.iloc[-1] == 1.0
