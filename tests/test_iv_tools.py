"""Stock-Yogo tables (Stock and Yogo 2005) and the shift-share instrument helper."""

import numpy as np
import pandas as pd
import pytest

from dtistat.errors import DataError, ParameterError
from dtistat.iv import shift_share, stock_yogo
from dtistat.iv.stock_yogo import (
    BIAS_TABLE,
    FULLER_BIAS_TABLE,
    FULLER_MAX_BIAS_TABLE,
    LIML_SIZE_TABLE,
    SIZE_TABLE,
)


def test_stock_yogo_size_entries():
    # Stock and Yogo (2005), Table 5.2 (TSLS size), n = 1, K2 = 1
    assert stock_yogo(1, 1)["size"] == {0.10: 16.38, 0.15: 8.96, 0.20: 6.66, 0.25: 5.53}
    # n = 2, K2 = 3: the row ivreg2 prints for mroz (13.43 / 8.18 / 6.40 / 5.45)
    assert stock_yogo(2, 3)["size"] == {0.10: 13.43, 0.15: 8.18, 0.20: 6.40, 0.25: 5.45}
    # n = 1, K2 = 2 (the common two-instrument case): 19.93 / 11.59 / 8.75 / 7.25
    assert stock_yogo(1, 2)["size"] == {0.10: 19.93, 0.15: 11.59, 0.20: 8.75, 0.25: 7.25}
    assert stock_yogo(3, 5)["size"] == {}  # size is tabulated for n <= 2 only


def test_stock_yogo_bias_entries():
    # Table 5.1 (TSLS relative bias): n = 1, K2 = 3: 13.91 / 9.08 / 6.46 / 5.39
    assert stock_yogo(1, 3)["bias"] == {0.05: 13.91, 0.10: 9.08, 0.20: 6.46, 0.30: 5.39}
    # n = 3, K2 = 5 is the first tabulated three-regressor row: 9.53 / 6.61 / 4.99 / 4.30
    assert stock_yogo(3, 5)["bias"] == {0.05: 9.53, 0.10: 6.61, 0.20: 4.99, 0.30: 4.30}
    assert stock_yogo(1, 2)["bias"] == {}  # the bias needs K2 >= n + 2
    assert stock_yogo(2, 31) == {"size": {}, "bias": {}}


def test_stock_yogo_table_shape_and_monotone():
    for arr in SIZE_TABLE.values():
        assert arr.shape == (30, 2)
        assert np.all(np.diff(arr[:, 0]) > 0)  # size critical values grow with K2
    # a larger tolerated distortion needs a smaller F, cell by cell
    s = np.stack([SIZE_TABLE[lv] for lv in sorted(SIZE_TABLE)])
    assert np.all(np.diff(s, axis=0)[np.isfinite(np.diff(s, axis=0))] < 0)
    b = np.stack([BIAS_TABLE[lv] for lv in sorted(BIAS_TABLE)])
    assert np.all(np.diff(b, axis=0)[np.isfinite(np.diff(b, axis=0))] < 0)


def test_stock_yogo_liml_and_fuller_entries():
    # LIML size, n = 1, K2 = 3: the row Stata's estat firststage prints (6.46 / 4.36 /
    # 3.69 / 3.32; e.g. Health Economics Review 12:404 (2022), Table 9)
    assert stock_yogo(1, 3, "liml") == {"size": {0.10: 6.46, 0.15: 4.36, 0.20: 3.69,
                                                 0.25: 3.32}, "bias": {}}
    f = stock_yogo(1, 2, "fuller")
    assert f["size"] == {}
    assert f["bias"] == {0.05: 13.46, 0.10: 10.89, 0.20: 9.00, 0.30: 7.49}
    assert f["max_bias"] == {0.05: 12.38, 0.10: 10.14, 0.20: 8.16, 0.30: 6.97}
    assert stock_yogo(3, 6, "liml") == {"size": {}, "bias": {}}  # n <= 2 only
    assert stock_yogo(1, 3, "gmm") == stock_yogo(1, 3)  # GMM: the TSLS tables, as ivreg2
    with pytest.raises(ParameterError, match="estimator"):
        stock_yogo(1, 3, "ols")


def test_stock_yogo_k_class_tables_structure():
    # exactly identified, LIML is TSLS: the LIML size row K2 = n equals the TSLS one
    for lv in LIML_SIZE_TABLE:
        assert LIML_SIZE_TABLE[lv][0, 0] == SIZE_TABLE[lv][0, 0]
        assert LIML_SIZE_TABLE[lv][1, 1] == SIZE_TABLE[lv][1, 1]
    for table in (LIML_SIZE_TABLE, FULLER_BIAS_TABLE, FULLER_MAX_BIAS_TABLE):
        arrs = [table[lv] for lv in sorted(table)]
        assert all(a.shape == (30, 2) and np.isnan(a[0, 1]) for a in arrs)
        assert np.isfinite(np.stack(arrs)[:, :, 0]).all()
        # a larger tolerated distortion needs a smaller F, cell by cell
        d = np.diff(np.stack(arrs), axis=0)
        assert np.all(d[np.isfinite(d)] < 0)
    # Fuller-k bias criteria fall with K2 for one endogenous regressor
    for table in (FULLER_BIAS_TABLE, FULLER_MAX_BIAS_TABLE):
        for a in table.values():
            assert np.all(np.diff(a[:, 0]) < 0)


def test_stock_yogo_bad_input():
    with pytest.raises(ParameterError, match="under-identified"):
        stock_yogo(2, 1)
    with pytest.raises(ParameterError, match="n_endog"):
        stock_yogo(0, 3)


def test_shift_share_values_and_lag():
    base = pd.DataFrame({"city": ["a", "b", "c"], "phones1984": [2.0, 0.5, 1.0]})
    users = pd.Series([4.0, 5.0, 7.0], index=pd.Index([2010, 2011, 2012], name="year"))
    out = shift_share(base, users, entity="city", time="year", lag=1)
    assert len(out) == 3 * 3 and sorted(out["year"].unique()) == [2011, 2012, 2013]
    got = out.set_index(["city", "year"])["shift_share"]
    assert got[("a", 2011)] == 2.0 * 4.0 and got[("c", 2012)] == 1.0 * 5.0
    same = shift_share(base, users, entity="city", time="year", lag=0, name="z")
    assert same.set_index(["city", "year"])["z"][("b", 2012)] == 0.5 * 7.0
    q = pd.Series([1.0, 2.0], index=pd.period_range("2021Q1", periods=2, freq="Q"))
    pq = shift_share(base, q, entity="city", time="quarter")
    assert list(pq["quarter"].unique()) == list(pd.period_range("2021Q2", periods=2, freq="Q"))


def test_shift_share_bad_input():
    base = pd.DataFrame({"city": ["a", "a"], "phones1984": [2.0, 0.5]})
    users = pd.Series([4.0, 5.0], index=[2010, 2011])
    with pytest.raises(DataError, match="'a' appears more than once"):
        shift_share(base, users, entity="city", time="year")
    base = pd.DataFrame({"city": ["a"], "phones1984": [np.nan]})
    with pytest.raises(DataError, match="missing"):
        shift_share(base, users, entity="city", time="year")
    with pytest.raises(DataError, match="no column 'town'"):
        shift_share(pd.DataFrame({"city": ["a"], "v": [1.0]}), users, entity="town", time="y")
    with pytest.raises(ParameterError, match="lag"):
        shift_share(pd.DataFrame({"city": ["a"], "v": [1.0]}), users, entity="city",
                    time="year", lag=-1)
    with pytest.raises(ParameterError, match="support t"):
        shift_share(pd.DataFrame({"city": ["a"], "v": [1.0]}),
                    pd.Series([1.0], index=["x"]), entity="city", time="year")


def test_sandwich_cluster_codes_compact_fast_path():
    # the inference core accepts compact codes without sorting and gappy codes by
    # renumbering; both give the same clustered covariance
    from dtistat.inference import sandwich

    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(40), rng.normal(size=40)])
    e = rng.normal(size=40)
    compact = np.repeat(np.arange(8), 5)
    gappy = compact * 7 + 3
    a = sandwich(X, e, cov="cluster", clusters=[compact])
    b = sandwich(X, e, cov="cluster", clusters=[gappy])
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-14)
    assert a.n_clusters == b.n_clusters == (8,)
    S = np.zeros((2, 2))
    for g in range(8):
        s = (X[compact == g] * e[compact == g, None]).sum(axis=0)
        S += np.outer(s, s)
    B = np.linalg.inv(X.T @ X)
    f = 8 / 7 * 39 / 38  # Stata's G/(G-1) (N-1)/(N-K)
    np.testing.assert_allclose(a.cov, f * B @ S @ B, rtol=1e-12)


def test_demo_iv_panel_shows_ols_bias_and_iv_recovery():
    import warnings

    from dtistat.datasets.demo_iv import TRUTH, simulate_iv_panel
    from dtistat.iv import fit_iv
    from dtistat.panel import fit_panel

    d = simulate_iv_panel(seed=7)
    assert d.groupby("city_id")["phones1984"].nunique().max() == 1
    ols = fit_panel(d, "fi_development ~ dti + log_gdp_pc", entity="city_id", time="year",
                    fe="twoway", cov="cluster").tidy().set_index("term")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the demo's instruments are strong: no warning
        iv = fit_iv(d, "fi_development ~ log_gdp_pc + [dti ~ z_phone + z_post]",
                    entity="city_id", time="year", fe="twoway", cov="cluster")
    beta = TRUTH["beta_dti"]
    assert ols.loc["dti", "estimate"] - beta > 10 * ols.loc["dti", "std_error"]
    assert abs(iv.params["dti"] - beta) < 3 * iv.std_errors["dti"]
    lo, hi = iv.diagnostics.ar_set[0]
    assert lo < beta < hi
    assert iv.diagnostics.tests["endogeneity"].p_value < 0.01
