"""Imputation DiD (Borusyak-Jaravel-Spiess) against pyfixest's did2s (Gardner two-stage).

Data: ``mpdta`` (``moderndid`` 0.2's copy of R ``did::mpdta``) without the 2004 cohort:
its units have a single untreated year, and pyfixest 0.60's first stage drops such
singleton units (its covariance step then fails on mismatched lengths); the imputation
estimator itself is defined for them (their unit effect is their 2003 outcome).
"""

import importlib.util
import os
import warnings
from unittest import mock

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from pyfixest.estimation.models.feols_ import Feols

from dtistat.did import fit_did
from dtistat.errors import DataError

KW = {"y": "lemp", "treat_time": "first.treat", "entity": "countyreal", "time": "year"}


@pytest.fixture(scope="module")
def mpdta():
    root = importlib.util.find_spec("moderndid").submodule_search_locations[0]
    return pd.read_pickle(os.path.join(root, "core", "datasets", "mpdta_long.pkl.gz"))


def _did2s(d, second_stage):
    d = d.assign(D=(d["first.treat"] > 0) & (d["year"] >= d["first.treat"]),
                 rel=np.where(d["first.treat"] > 0, d["year"] - d["first.treat"], np.inf))
    # pyfixest recovers the first-stage fixed effects with scipy's lsqr at atol = btol =
    # 1e-6 (Feols.fixef's defaults), which leaves ~1e-6 of solver error in every estimate
    # (1.13e-6 with scipy 1.17); did2s passes no tolerance, so tighten the defaults here
    fixef = Feols.fixef
    with warnings.catch_warnings(), mock.patch.object(
            Feols, "fixef", lambda self, atol=1e-14, btol=1e-14: fixef(self, atol, btol)):
        warnings.simplefilter("ignore")
        return pf.did2s(d, yname="lemp", first_stage="~ 0 | countyreal + year",
                        second_stage=second_stage, treatment="D", cluster="countyreal")


def test_imputation_matches_did2s(mpdta):
    d = mpdta[mpdta["first.treat"] != 2004]
    res = fit_did(d, **KW, estimator="imputation")
    dyn = _did2s(d, "~ i(rel, ref=-1.0)").tidy()
    post = dyn.loc[[f"rel::{e:.1f}" for e in res.event_times]]
    # with lsqr run to 1e-14 (see _did2s) pyfixest's never-treated coefficient rel::inf,
    # exactly 0 in exact arithmetic, is at rounding level: the estimates agree to 1e-10
    assert abs(dyn.loc["rel::inf", "Estimate"]) < 1e-12
    np.testing.assert_allclose(res.params.to_numpy(), post["Estimate"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.std_errors.to_numpy(), post["Std. Error"], rtol=1e-9)
    static = _did2s(d, "~ D").tidy()
    assert res.overall == pytest.approx(static["Estimate"].iloc[0], abs=1e-10)
    assert res.overall_se == pytest.approx(static["Std. Error"].iloc[0], rel=1e-9)


def test_imputation_by_hand_with_singleton_units(mpdta):
    # reference path: unit and year effects by OLS on the untreated rows, then averages
    res = fit_did(mpdta, **KW, estimator="imputation")
    d = mpdta.assign(D=(mpdta["first.treat"] > 0) & (mpdta["year"] >= mpdta["first.treat"]))
    u = d[~d["D"]]
    X = pd.get_dummies(u[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    X.insert(0, "const", 1.0)
    b = np.linalg.lstsq(X.to_numpy(), u["lemp"].to_numpy(), rcond=None)[0]
    Xa = pd.get_dummies(d[["countyreal", "year"]].astype(str), drop_first=True,
                        dtype=float).reindex(columns=X.columns[1:], fill_value=0.0)
    tau = d["lemp"].to_numpy() - (b[0] + Xa.to_numpy() @ b[1:])
    tr = d["D"].to_numpy()
    e = (d["year"] - d["first.treat"]).to_numpy()[tr]
    by_e = pd.Series(tau[tr]).groupby(e).mean()
    np.testing.assert_allclose(res.params.to_numpy(), by_e.to_numpy(), atol=1e-10)
    assert res.overall == pytest.approx(tau[tr].mean(), abs=1e-10)
    assert "imputation" in repr(res)
    # Gardner's covariance with dense matrices (did2s' formula, one cluster per county)
    X1 = np.column_stack([pd.get_dummies(d["countyreal"], dtype=float).to_numpy(),
                          pd.get_dummies(d["year"], drop_first=True, dtype=float).to_numpy()])
    X10 = X1 * (~tr)[:, None]
    u1 = np.where(tr, 0.0, tau)
    X2 = np.column_stack([(tr & (np.where(tr, d["year"] - d["first.treat"], -1) == k))
                          for k in res.event_times]).astype(float)
    u2 = np.where(tr, tau - X2 @ res.params.to_numpy(), 0.0)
    V = X2.T @ X1 @ np.linalg.inv(X10.T @ X10)
    W = X2 * u2[:, None] - (X10 * u1[:, None]) @ V.T
    Wg = pd.DataFrame(W).groupby(d["countyreal"].to_numpy()).sum().to_numpy()
    B = np.linalg.inv(X2.T @ X2)
    np.testing.assert_allclose(res.cov.to_numpy(), B @ Wg.T @ Wg @ B, rtol=1e-9, atol=1e-15)


def test_imputation_needs_untreated_units_in_every_period(mpdta):
    with pytest.raises(DataError, match="no untreated unit in year=2007"):
        fit_did(mpdta[mpdta["first.treat"] > 0], **KW, estimator="imputation")
