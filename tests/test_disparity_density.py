"""Kernel density evolution against scipy.stats.gaussian_kde and statsmodels KDEUnivariate
(same kernel and bandwidth), and statsmodels' bandwidth rules."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gaussian_kde
from statsmodels.nonparametric.bandwidths import bw_scott, bw_silverman
from statsmodels.nonparametric.kde import KDEUnivariate

from dtistat.errors import DataError, ParameterError
from dtistat.index.disparity import kernel_density
from dtistat.index.disparity.density import bandwidth


@pytest.fixture
def df():
    rng = np.random.default_rng(2)
    return pd.DataFrame({"city": np.tile(np.arange(150), 3), "year": np.repeat([1, 2, 3], 150),
                         "y": np.r_[rng.lognormal(0, .5, 150), rng.lognormal(.2, .4, 150),
                                    rng.normal(2, .3, 150)]})


def test_bandwidth_rules_equal_statsmodels(df):
    x = df.y.to_numpy()
    assert bandwidth(x, "silverman") == pytest.approx(bw_silverman(x), rel=1e-13)
    assert bandwidth(x, "scott") == pytest.approx(bw_scott(x), rel=1e-13)


def test_gaussian_equals_scipy(df):
    r = kernel_density(df, value="y", entity="city", time="year", kernel="gaussian")
    for t, sub in df.groupby("year"):
        x = sub.y.to_numpy()
        h = r.bandwidths[t]
        assert h == pytest.approx(bw_silverman(x), rel=1e-13)
        ref = gaussian_kde(x, bw_method=h / x.std(ddof=1))(r.density.index.to_numpy())
        np.testing.assert_allclose(r.density[t], ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kernel,scale", [("epan2", 1.0), ("epanechnikov", np.sqrt(5))])
def test_epanechnikov_equals_statsmodels(df, kernel, scale):
    r = kernel_density(df, value="y", entity="city", time="year", kernel=kernel,
                       bandwidth="scott")
    for t, sub in df.groupby("year"):
        x = sub.y.to_numpy()
        h = r.bandwidths[t]
        kde = KDEUnivariate(x)
        # statsmodels' "epa" is 3/4 (1 - u^2) on |u| < 1; Stata's is that kernel at h sqrt 5
        kde.fit(kernel="epa", bw=h * scale, fft=False)
        # evaluate point by point (KDEUnivariate.evaluate is exact for a scalar point;
        # it returns NaN where no kernel reaches, so stay inside the data range)
        pts = r.density.index[(r.density.index > x.min()) & (r.density.index < x.max())][::7]
        ref = [float(kde.evaluate(float(g))[0]) for g in pts]
        np.testing.assert_allclose(r.density.loc[pts, t], ref, rtol=1e-10)
        assert bw_scott(x) == pytest.approx(h, rel=1e-13)
        assert np.trapezoid(r.density[t], r.density.index) == pytest.approx(1, abs=2e-3)
    assert r.features["n"].tolist() == [150, 150, 150]
    assert "kernel=" in repr(r)


def test_density_bad_input(df):
    with pytest.raises(ParameterError, match="kernel"):
        kernel_density(df, value="y", time="year", kernel="tri")
    with pytest.raises(ParameterError, match="bandwidth"):
        kernel_density(df, value="y", time="year", bandwidth=-1)
    d = df.copy()
    d.loc[d.year == 2, "y"] = 1.0
    with pytest.raises(DataError, match="period 2.*no spread"):
        kernel_density(d, value="y", time="year")
