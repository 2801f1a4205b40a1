"""Placebo tools: the batched TWFE draws against one fit_panel regression per draw."""

import warnings

import numpy as np
import pandas as pd
import pytest

from dtistat.did.placebo import _TWFEDraws, placebo_reassign, placebo_timing
from dtistat.errors import DataError, ParameterError
from dtistat.panel import fit_panel

KW = {"y": "y", "treat_time": "g", "entity": "city", "time": "year"}


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(11)
    n, T = 60, 8
    g = rng.choice([2013, 2015, 2016, 0], n)
    df = pd.DataFrame({"city": np.repeat(np.arange(n), T),
                       "year": np.tile(np.arange(2010, 2010 + T), n), "g": np.repeat(g, T)})
    df["x"] = rng.normal(size=len(df)) + 0.2 * df["year"]
    df["y"] = (rng.normal(size=len(df)) + 0.5 * df["x"]
               + 0.4 * ((df.g > 0) & (df.year >= df.g)))
    return df


def _twfe(df, g, covariates=()):
    d = df.assign(D=((g > 0) & (df["year"].to_numpy() >= g)).astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fit_panel(d, " + ".join(["y ~ D", *covariates]), entity="city", time="year",
                      fe="twoway")
    return float(r.params.iloc[0])


@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_batched_draws_equal_one_regression_per_draw(panel, covariates):
    n, T = 60, 8
    Y = panel["y"].to_numpy().reshape(n, T)
    Xs = panel[list(covariates)].to_numpy().reshape(n, T, -1) if covariates else None
    cohorts = np.array([2013.0, 2015.0, 2016.0])
    eng = _TWFEDraws(Y, Xs, np.arange(2010, 2018.0), cohorts)
    rng = np.random.default_rng(0)
    K = rng.integers(0, 4, size=(6, n))  # code 3 = never treated
    fast = eng.estimates(K)
    gvals = np.append(cohorts, 0.0)
    slow = [_twfe(panel, np.repeat(gvals[k], T), covariates) for k in K]
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)


def test_reassignment_draws_p_value_and_seed(panel):
    r = placebo_reassign(panel, **KW, n_draws=400, seed=5, covariates="x")
    assert r.estimate == pytest.approx(_twfe(panel, panel["g"].to_numpy(), ("x",)), abs=1e-12)
    big = np.count_nonzero(np.abs(r.draws) >= abs(r.estimate))
    assert r.p_value == (1 + big) / 401
    again = placebo_reassign(panel, **KW, n_draws=400, seed=5, covariates="x")
    assert np.array_equal(r.draws, again.draws)
    # placebo assignments carry no effect: centred near zero
    assert abs(r.draws.mean()) < 4 * r.draws.std() / np.sqrt(400)
    rnd = placebo_reassign(panel, **KW, n_draws=50, seed=5, scheme="random")
    assert len(rnd.draws) == 50 and "random" in str(rnd.summary())
    assert rnd.to_frame().shape == (50, 2)


def test_fake_timing_equals_manual_regression(panel):
    r = placebo_timing(panel, **KW, shifts=[1, 2])
    g = panel["g"].to_numpy(dtype=float)
    keep = (g == 0) | (panel["year"].to_numpy() < g)
    fake = np.where(g > 0, g - 1, 0.0)
    fake = np.where(fake > 2010, fake, 0.0)
    sub = panel[keep]
    assert r.table.loc[1, "estimate"] == pytest.approx(_twfe(sub, fake[keep]), abs=1e-12)
    assert r.table.loc[1, "nobs"] == keep.sum()


def test_placebo_bad_input(panel):
    with pytest.raises(ParameterError, match="scheme"):
        placebo_reassign(panel, **KW, scheme="bootstrap")
    with pytest.raises(ParameterError, match="n_draws"):
        placebo_reassign(panel, **KW, n_draws=0)
    with pytest.raises(DataError, match="shift 9"):
        placebo_timing(panel, **KW, shifts=[9])
