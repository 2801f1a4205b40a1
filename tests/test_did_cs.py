"""Callaway-Sant'Anna against R ``did`` (README values) and the Python ``csdid`` package.

Data: ``mpdta`` (Callaway and Sant'Anna 2021; county teen employment, 500 counties x
2003-2007), as shipped by the ``moderndid`` package 0.2 (the file behind
``moderndid.load_mpdta``, read directly to spare the package's import time), the same
table as R ``did::mpdta``.
"""

import importlib.util
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from csdid.att_gt import ATTgt

from dtistat.did import first_treated, fit_did
from dtistat.did.bootstrap import analytic_se, multiplier_bootstrap
from dtistat.errors import DataError, ParameterError

KW = {"y": "lemp", "treat_time": "first.treat", "entity": "countyreal", "time": "year"}


def load_mpdta() -> pd.DataFrame:
    """``moderndid.load_mpdta()`` as pandas, without importing moderndid."""
    root = importlib.util.find_spec("moderndid").submodule_search_locations[0]
    return pd.read_pickle(os.path.join(root, "core", "datasets", "mpdta_long.pkl.gz"))


@pytest.fixture(scope="module")
def mpdta():
    return load_mpdta()


@pytest.fixture(scope="module")
def cs_reg(mpdta):
    return fit_did(mpdta, **KW, seed=7)


def _csdid(mpdta, method="reg", xformla=None, control="nevertreated", agg=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
                  data=mpdta, xformla=xformla, control_group=[control])
        m = m.fit(est_method=method, bstrap=False)
        aggs = {}
        for a in agg:
            m.aggte(typec=a, bstrap=False)
            aggs[a] = dict(m.atte)
    return {**m.results, "W": m.MP.get("W"), "Wpval": m.MP.get("Wpval")}, aggs


def test_att_gt_matches_r_did_readme(cs_reg):
    # R did README (att_gt(yname="lemp", gname="first.treat", idname="countyreal",
    # tname="year", est_method="reg") on mpdta), groups 2004, 2006, 2007 x years 2004-2007
    r = [-0.0105, -0.0704, -0.1373, -0.1008, 0.0065, -0.0028, -0.0046, -0.0412,
         0.0305, -0.0027, -0.0311, -0.0261]
    np.testing.assert_allclose(cs_reg.params.to_numpy(), r, atol=0.5e-4 + 1e-12)
    assert cs_reg.params.index[1] == "ATT(2004,2005)"
    # the README's bootstrap SE of ATT(2004,2004) is 0.0246; ours is a different draw
    # of the same bootstrap (relative Monte Carlo sd of an IQR-based SE at B = 999 is ~4%)
    assert abs(cs_reg.std_errors.iloc[0] - 0.0246) < 0.15 * 0.0246


def test_aggregations_match_r_did_readme(cs_reg):
    # R did README: aggte(type="dynamic"): overall -0.0772 (0.0219), event times -3..3
    dyn = cs_reg.aggregate("dynamic")
    np.testing.assert_allclose(dyn.params.to_numpy(),
                               [0.0305, -0.0006, -0.0245, -0.0199, -0.0510, -0.1373, -0.1008],
                               atol=0.5e-4 + 1e-12)
    assert dyn.keys.tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert round(dyn.overall, 4) == -0.0772
    assert abs(dyn.overall_se - 0.0219) < 0.15 * 0.0219
    # aggte(type="group"): overall -0.031 (0.0126)
    grp = cs_reg.aggregate("group")
    assert round(grp.overall, 3) == -0.031
    assert abs(grp.overall_se - 0.0126) < 0.15 * 0.0126


@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
@pytest.mark.parametrize("cov", [None, "lpop"])
def test_att_gt_matches_csdid(mpdta, method, cov):
    ref, _ = _csdid(mpdta, method, None if cov is None else "lemp~lpop")
    res = fit_did(mpdta, **KW, covariates=cov, method=method, n_boot=0)
    np.testing.assert_allclose(res.params.to_numpy(), ref["att"], rtol=0, atol=1e-8)
    # analytic (influence-function) standard errors
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref["se"], rtol=1e-8)


def test_not_yet_treated_matches_csdid(mpdta):
    ref, aggs = _csdid(mpdta, "dr", "lemp~lpop", "notyettreated", agg=("dynamic",))
    res = fit_did(mpdta, **KW, covariates="lpop", method="dr", control="notyet", n_boot=0)
    np.testing.assert_allclose(res.params.to_numpy(), ref["att"], atol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref["se"], rtol=1e-8)
    dyn = res.aggregate("dynamic")
    np.testing.assert_allclose(dyn.params.to_numpy(), aggs["dynamic"]["att_egt"], atol=1e-8)
    np.testing.assert_allclose(dyn.overall_se, aggs["dynamic"]["overall_se"], rtol=1e-8)


def test_all_aggregations_match_csdid(mpdta):
    _, aggs = _csdid(mpdta, "reg", agg=("simple", "dynamic", "group", "calendar"))
    res = fit_did(mpdta, **KW, n_boot=0)
    for kind in ("simple", "dynamic", "group", "calendar"):
        a, ref = res.aggregate(kind), aggs[kind]
        assert a.overall == pytest.approx(ref["overall_att"], abs=1e-10), kind
        assert a.overall_se == pytest.approx(ref["overall_se"], rel=1e-8), kind
        if kind != "simple":
            np.testing.assert_allclose(a.params.to_numpy(), ref["att_egt"], atol=1e-10)
            np.testing.assert_allclose(a.std_errors.to_numpy(), ref["se_egt"], rtol=1e-8)
            np.testing.assert_allclose(a.keys.astype(float), np.asarray(ref["egt"], float))


def test_pretrend_wald_matches_csdid(mpdta):
    ref, _ = _csdid(mpdta, "reg")
    res = fit_did(mpdta, **KW, n_boot=0)
    w = res.pretrend_test()
    # csdid (as R att_gt) reports the Wald pre-test from the influence-function covariance
    assert w.statistic == pytest.approx(ref["W"], rel=1e-8)
    assert w.p_value == pytest.approx(ref["Wpval"], abs=1e-5)


def test_bootstrap_is_one_product_with_the_draws(mpdta):
    res = fit_did(mpdta, **KW, n_boot=0)
    psi = res.influence
    fast = multiplier_bootstrap(psi, 300, np.random.default_rng(3))
    # reference path: the same Rademacher draws, one draw at a time
    u = np.random.default_rng(3).integers(0, 2, size=(300, psi.shape[0]), dtype=np.int8)
    slow = np.array([(2.0 * ub - 1) @ psi / psi.shape[0] for ub in u])
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15)


def test_bootstrap_se_converges_to_influence_function_se(mpdta):
    res = fit_did(mpdta, **KW, n_boot=0)
    draws = multiplier_bootstrap(res.influence, 20000, np.random.default_rng(0))
    np.testing.assert_allclose(draws.std(0), analytic_se(res.influence), rtol=0.03)


def test_uniform_band_is_wider_than_pointwise_and_seeded(mpdta, cs_reg):
    z = 1.959963984540054
    assert z < cs_reg.crit < 3.5  # Bonferroni for 12 cells would be 2.87; correlation lowers it
    again = fit_did(mpdta, **KW, seed=7)
    assert again.std_errors.equals(cs_reg.std_errors) and again.crit == cs_reg.crit
    other = fit_did(mpdta, **KW, seed=8)
    assert not other.std_errors.equals(cs_reg.std_errors)
    es = cs_reg.event_study()
    assert (es["band_high"] - es["band_low"] > es["ci_high"] - es["ci_low"]).all()


def test_cluster_sums_of_influence_functions(mpdta):
    # clusters of whole counties: one cluster per county gives the unit-level SEs
    df = mpdta.assign(cl=mpdta["countyreal"] * 10)
    a = fit_did(df, **KW, n_boot=0)
    b = fit_did(df, **KW, n_boot=0, cluster="cl")
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-12)
    # coarser clusters: Var = sum_c (sum_{i in c} psi_i)^2 / n^2
    df = mpdta.assign(state=mpdta["countyreal"] // 1000)
    c = fit_did(df, **KW, n_boot=0, cluster="state")
    codes = pd.factorize(df.drop_duplicates("countyreal")["state"])[0]
    S = np.zeros((codes.max() + 1, a.influence.shape[1]))
    np.add.at(S, codes, a.influence)
    np.testing.assert_allclose(c.std_errors, np.sqrt((S**2).sum(0)) / 500, rtol=1e-12)


def test_result_protocol(cs_reg):
    assert "Callaway" in repr(cs_reg) and len(repr(cs_reg)) < 200
    t = cs_reg.aggregate("dynamic").tidy()
    assert list(t.columns[:3]) == ["term", "estimate", "std_error"]
    assert "ATT(g,t)" in cs_reg.summary().tables
    assert cs_reg.to_frame().shape[0] == 12
    with pytest.raises(ParameterError, match="kind"):
        cs_reg.aggregate("cohort")


# ---------------------------------------------------------------- bad input

def test_no_never_treated_with_never_controls(mpdta):
    df = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(DataError, match="no never-treated"):
        fit_did(df, **KW, n_boot=0)
    # not-yet-treated: R did uses the last cohort (2007) as comparison, drops 2007
    res = fit_did(df, **KW, n_boot=0, control="notyet")
    assert set(res.att_gt["group"]) == {2004, 2006}
    assert res.att_gt["time"].max() == 2006


def test_cohort_with_one_unit(mpdta):
    df = mpdta.copy()
    one = df["countyreal"] == df.loc[df["first.treat"] == 0, "countyreal"].iloc[0]
    df.loc[one, "first.treat"] = 2005
    with pytest.raises(DataError, match="cohort first.treat=2005 has a single unit"):
        fit_did(df, **KW, n_boot=0)


def test_time_varying_covariate_refused(mpdta):
    with pytest.raises(DataError, match="'lemp' varies within countyreal"):
        fit_did(mpdta.assign(x=mpdta["lemp"]), **{**KW, "y": "x"}, covariates="lemp")


def test_treatment_time_outside_panel_and_switching(mpdta):
    df = mpdta.copy()
    df.loc[df["first.treat"] == 2007, "first.treat"] = 2009
    with pytest.raises(DataError, match="not a period of the panel"):
        fit_did(df, **KW)
    df = mpdta.copy()
    df.loc[df["first.treat"] == 2007, "first.treat"] = 2003
    with pytest.raises(DataError, match="treated from the first period"):
        fit_did(df, **KW)
    df = mpdta.copy()
    df.loc[df.index[0], "first.treat"] = 2006
    with pytest.raises(DataError, match="first treated period on every row"):
        fit_did(df, **KW)
    d = pd.DataFrame({"id": [1, 1, 1], "t": [1, 2, 3], "d": [0, 1, 0]})
    with pytest.raises(DataError, match="switches off for id=1 at t=3"):
        first_treated(d, treat="d", entity="id", time="t")


def test_unbalanced_panel_and_bad_options(mpdta):
    with pytest.raises(DataError, match="unbalanced"):
        fit_did(mpdta.iloc[1:], **KW)
    with pytest.raises(ParameterError, match="method"):
        fit_did(mpdta, **KW, method="ols")
    with pytest.raises(ParameterError, match="estimator"):
        fit_did(mpdta, **KW, estimator="did2s")


def test_first_treated_round_trip(mpdta):
    d = mpdta.assign(D=((mpdta["first.treat"] > 0)
                        & (mpdta["year"] >= mpdta["first.treat"])).astype(int))
    back = first_treated(d, treat="D", entity="countyreal", time="year")
    assert (back.to_numpy() == mpdta["first.treat"].to_numpy()).all()
    assert d.columns.tolist()[-1] == "D"  # input untouched apart from our own assign


def test_did_m_identity(mpdta):
    # de Chaisemartin and D'Haultfoeuille (2020) DID_M with absorbing treatment: joiners
    # at t against units untreated at t-1 and t, weighted by the number of joiners --
    # the not-yet-treated CS dynamic aggregation at event time 0 (docs/did.md)
    res = fit_did(mpdta, **KW, control="notyet", n_boot=0).aggregate("dynamic")
    w = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().reindex(w.index)
    num = den = 0.0
    for t in (2004, 2006, 2007):
        dy = w[t] - w[t - 1]
        join, stay = g == t, (g == 0) | (g > t)
        num += join.sum() * (dy[join].mean() - dy[stay].mean())
        den += join.sum()
    assert res.params["0"] == pytest.approx(num / den, abs=1e-12)
