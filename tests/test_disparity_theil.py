"""Theil T/L and GE(alpha) against PySAL inequality 1.1 (run here) and closed forms."""

import libpysal
import numpy as np
import pandas as pd
import pytest
from inequality.theil import Theil, TheilD

from dtistat.errors import DataError, ParameterError
from dtistat.index.disparity import theil

DECADES = [f"pcgdp{d}" for d in range(1940, 2010, 10)]


@pytest.fixture(scope="module")
def mexico():
    wide = pd.read_csv(libpysal.examples.get_path("mexico.csv"))
    long = wide.melt(id_vars=["State", "hanson98"], value_vars=DECADES, var_name="decade",
                     value_name="pcgdp")
    return wide, long


def test_theil_equals_pysal_theild_on_mexico(mexico):
    wide, long = mexico
    r = theil(long, value="pcgdp", entity="State", time="decade", group="hanson98")
    y = wide[DECADES].to_numpy()
    ref = TheilD(y, wide["hanson98"].to_numpy())  # inequality 1.1.2 inequality.theil.TheilD
    np.testing.assert_allclose(r.decomposition["total"], ref.T, rtol=1e-12)
    np.testing.assert_allclose(r.decomposition["total"], Theil(y).T, rtol=1e-12)
    np.testing.assert_allclose(r.decomposition["between"], ref.bg, rtol=1e-12)
    np.testing.assert_allclose(r.decomposition["within"], ref.wg, rtol=1e-10)
    # the published doctest values of inequality.theil.TheilD (mexico.csv, hanson98)
    np.testing.assert_allclose(
        r.decomposition["between"],
        [0.0345889, 0.02816853, 0.05260921, 0.05931219, 0.03205257, 0.02963731, 0.03635872],
        atol=5e-9)
    np.testing.assert_allclose(
        r.decomposition["total"],
        [0.20894344, 0.15222451, 0.10472941, 0.10194725, 0.09560113, 0.10511256, 0.10660832],
        atol=5e-9)
    # within = sum of the groups' contributions s_g T_g
    np.testing.assert_allclose(r.contributions.sum(axis=1), r.decomposition["within"],
                               rtol=1e-12)


def test_ln2_case():
    df = pd.DataFrame({"y": [0.0, 0, 0, 10, 10, 10], "g": [1, 1, 1, 2, 2, 2]})
    r = theil(df, value="y", group="g")
    assert r.decomposition["total"].iloc[0] == pytest.approx(np.log(2), abs=1e-15)
    assert r.decomposition["between"].iloc[0] == pytest.approx(np.log(2), abs=1e-15)
    assert r.decomposition["within"].iloc[0] == pytest.approx(0.0, abs=1e-15)
    ref = TheilD(df["y"].to_numpy(), df["g"].to_numpy())
    assert r.decomposition["between"].iloc[0] == pytest.approx(float(ref.bg[0]), rel=1e-12)


def _brute_ge(y, w, a):
    f = w / w.sum()
    mu = (f * y).sum()
    if a == 1:
        return (f * y / mu * np.log(y / mu)).sum()
    if a == 0:
        return -(f * np.log(y / mu)).sum()
    return (f * ((y / mu) ** a - 1)).sum() / (a * (a - 1))


@pytest.mark.parametrize("measure,alpha", [("T", 1), ("L", 0), (2.0, 2), (0.5, 0.5), (-1.0, -1)])
def test_ge_decomposition_population_weighted(measure, alpha):
    rng = np.random.default_rng(5)
    n = 60
    df = pd.DataFrame({"y": rng.lognormal(0, 0.7, n), "g": rng.integers(0, 3, n),
                       "pop": rng.uniform(1, 9, n)})
    r = theil(df, value="y", group="g", weights="pop", measure=measure)
    y, w, g = df.y.to_numpy(), df["pop"].to_numpy(), df.g.to_numpy()
    tot = _brute_ge(y, w, alpha)
    means = np.array([np.average(y[g == j], weights=w[g == j]) for j in range(3)])
    bet = _brute_ge(means[g], w, alpha)  # between = GE of each unit given its group mean
    d = r.decomposition.iloc[0]
    assert d["total"] == pytest.approx(tot, rel=1e-12)
    assert d["between"] == pytest.approx(bet, rel=1e-10)
    assert d["between"] + d["within"] == pytest.approx(tot, rel=1e-12)
    if alpha == 2:  # GE(2) = CV^2 / 2 with the (weighted) population variance
        mu = np.average(y, weights=w)
        assert d["total"] == pytest.approx(np.average((y - mu) ** 2, weights=w) / mu**2 / 2)


def test_theil_bad_input():
    df = pd.DataFrame({"y": [0.0, 1, 2, 3], "g": [1, 1, 2, 2]})
    with pytest.raises(DataError, match="strictly positive.*zeros are not accepted"):
        theil(df, value="y", group="g", measure="L")
    with pytest.raises(ParameterError, match="measure"):
        theil(df, value="y", measure="X")
    r = theil(df, value="y")  # T accepts zeros; no group: no decomposition
    assert list(r.to_frame().columns) == ["total"]
    assert "Theil T" in str(r.summary())
