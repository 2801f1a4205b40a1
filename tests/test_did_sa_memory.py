"""Sun-Abraham without a dense rows x cells design (issue #21, memory class).

The cohort x relative-period regressors are held as one integer cell code per row and
reduced chunk by chunk (:mod:`dtistat.did._cells`). Checked against the dense
regression: :func:`dtistat.fit_panel` on explicit dummy columns (fit_panel itself is
checked against linearmodels / pyfixest in tests/test_panel.py; the balanced mpdta case
against pyfixest's saturated event study in tests/test_did_twfe.py) on a panel with a covariate and a cluster above the unit, for every small-sample preset.
"""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from dtistat import fit_panel
from dtistat.did import fit_did
from dtistat.errors import EstimationError

KW = {"y": "y", "treat_time": "g", "entity": "id", "time": "year"}


def _panel(n_ent, T=20, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice([0] + list(range(2005, 2000 + T - 3)), n_ent)
    df = pd.DataFrame({"id": np.repeat(np.arange(n_ent), T),
                       "year": np.tile(np.arange(2000, 2000 + T), n_ent),
                       "g": np.repeat(g, T), "prov": np.repeat(np.arange(n_ent) % 37, T)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = (rng.normal(size=len(df)) + 0.3 * df["x"]
               + 0.5 * ((df.g > 0) & (df.year >= df.g)))
    return df


def _dense(df, small_sample, reference=-1):
    """The textbook regression: one dummy column per cohort x relative period."""
    d = df.copy()
    e = d["year"] - d["g"]
    cells = sorted({(g, r) for g, r in zip(d["g"], e) if g > 0 and r != reference})
    for j, (g, r) in enumerate(cells):
        d[f"c{j}"] = ((d["g"] == g) & (e == r)).astype(float)
    rhs = " + ".join([f"c{j}" for j in range(len(cells))] + ["x"])
    return fit_panel(d, f"y ~ {rhs}", entity="id", time="year", fe="twoway",
                     cov="cluster", cluster="prov", small_sample=small_sample), cells


@pytest.mark.parametrize("small_sample", ["stata", "areg", "reghdfe", "none"])
def test_cell_regression_equals_dense_fit_panel(small_sample):
    df = _panel(300, T=12, seed=1)
    sa = fit_did(df, **KW, estimator="sa", covariates="x", cluster="prov",
                 small_sample=small_sample)
    ref, cells = _dense(df, small_sample)
    ce = sa.cohort_effects
    assert list(zip(ce["cohort"], ce["event_time"])) == cells
    k = len(cells)
    np.testing.assert_allclose(ce["estimate"], ref.params.to_numpy()[:k], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ce["std_error"], ref.std_errors.to_numpy()[:k], rtol=1e-9)
    assert sa.nobs == ref.nobs and sa.df_inference == ref.df_inference


def test_sun_abraham_memory_is_not_rows_times_cells():
    # 100,000 rows x 228 cells (12 cohorts x 19 relative periods): the dense design alone is 174 MiB; the dummy frame and
    # fit_panel's copies reached 904 MiB traced before (9.5 KB per row)
    df = _panel(5_000)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sa = fit_did(df, **KW, estimator="sa")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sa.cohort_effects) == 228
    assert peak < 120 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_cells_collinear_with_the_effects_are_named():
    # every unit treated in 2005, no never-treated: the last cohort is the comparison and
    # nothing is left; with two cohorts whose cells coincide in time, the error names them
    df = _panel(60, T=6, seed=2)
    df["g"] = np.where(df["id"] % 2 == 0, 2003, 0)
    df.loc[df["g"] == 0, "y"] = 0.0
    sa = fit_did(df, **KW, estimator="sa")
    assert len(sa.cohort_effects) == 5
    with pytest.raises(EstimationError, match="collinear"):
        fit_did(df.assign(x=(df["year"] - df["g"] == 0) * (df["g"] > 0) * 2.0),
                **KW, estimator="sa", covariates="x")


@pytest.mark.parametrize("small_sample", ["stata", "reghdfe"])
def test_event_study_codes_equal_dense_fit_panel(small_sample):
    # the TWFE event study takes the same path: binned event times are one-hot too
    df = _panel(300, T=12, seed=3)
    es = fit_did(df, **KW, estimator="event", leads=4, lags=3, covariates="x",
                 cluster="prov", small_sample=small_sample)
    d = df.copy()
    e = np.where(d["g"] > 0, np.clip(d["year"] - d["g"], -4, 3), np.nan)
    kept = [k for k in range(-4, 4) if k != -1]
    for k in kept:
        d[f"e{k + 4}"] = (e == k).astype(float)
    ref = fit_panel(d, "y ~ " + " + ".join(f"e{k + 4}" for k in kept) + " + x", entity="id",
                    time="year", fe="twoway", cov="cluster", cluster="prov",
                    small_sample=small_sample)
    assert es.event_times.tolist() == kept
    np.testing.assert_allclose(es.params.to_numpy(), ref.params.to_numpy()[:7], atol=1e-10)
    np.testing.assert_allclose(es.std_errors.to_numpy(), ref.std_errors.to_numpy()[:7],
                               rtol=1e-9)
    assert es.df_inference == ref.df_inference
