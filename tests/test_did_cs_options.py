"""Callaway-Sant'Anna options: anticipation, universal base period, sampling weights.

References run in the test: the Python ``csdid`` package 0.4.3 (a port of R ``did``)
and ``moderndid`` 0.2 (another port). Both follow R ``did`` 2.5.1 except on the base of
the anticipation-window cells (g - anticipation <= t < g) under the varying base period:
R ``did`` (``compute.att_gt.R``: ``pret <- t`` unless ``g <= t``) and ``moderndid`` take
t - 1, ``csdid`` takes g - anticipation - 1. dtistat follows R, so those cells are
checked against ``moderndid`` and every other cell against ``csdid``.
Data: ``mpdta`` (see ``test_did_cs.py``) and a simulated panel with known anticipation
effects.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from csdid.att_gt import ATTgt
from test_did_cs import KW, load_mpdta

from dtistat.did import fit_did
from dtistat.errors import DataError, ParameterError

CONTROL = {"never": "nevertreated", "notyet": "notyettreated"}


@pytest.fixture(scope="module")
def mpdta():
    return load_mpdta()


@pytest.fixture(scope="module")
def mp_late(mpdta):
    # anticipation = 1 leaves the 2004 cohort without an unaffected base period
    return mpdta[mpdta["first.treat"] != 2004].reset_index(drop=True)


def _csdid(df, *, method="reg", xformla=None, control="never", anticipation=0,
           base_period="varying", weights=None, agg=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
                  data=df, xformla=xformla, control_group=[CONTROL[control]],
                  anticipation=anticipation, weights_name=weights)
        m = m.fit(est_method=method, base_period=base_period, bstrap=False)
        aggs = {}
        for a in agg:
            m.aggte(typec=a, bstrap=False)
            aggs[a] = dict(m.atte)
    r = m.results
    cells = pd.DataFrame({"group": r["group"], "time": r["year"], "att": r["att"],
                          "se": r["se"]})
    return cells, aggs


def _moderndid(df, *, method, xformla, control, anticipation):
    from moderndid.did import att_gt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = att_gt(df, yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                   xformla=xformla, est_method=method, control_group=CONTROL[control],
                   anticipation=anticipation, boot=False, cband=False)
    return pd.DataFrame({"group": r.groups, "time": r.times, "att": r.att_gt, "se": r.se_gt})


def _merge(res, ref):
    """Our cells with the reference's att / se (columns ``att_ref`` / ``se_ref``)."""
    ours = res.att_gt[["group", "time", "base", "att", "std_error"]]
    ref = ref.rename(columns={"att": "att_ref", "se": "se_ref"})
    return ours.merge(ref, on=["group", "time"], how="left", validate="one_to_one")


def _window(res, anticipation):
    a = res.att_gt
    return ((a["time"] >= a["group"] - anticipation) & (a["time"] < a["group"])).to_numpy()


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("anticipation", [0, 1])
def test_cells_match_csdid(mp_late, control, base_period, anticipation):
    kw = dict(method="dr", control=control, anticipation=anticipation,
              base_period=base_period)
    ref, _ = _csdid(mp_late, xformla="lemp~lpop", **kw)
    res = fit_did(mp_late, **KW, covariates="lpop", n_boot=0, **kw)
    # csdid lists the universal base cell (att 0, se NaN); we leave the normalization out
    ref = ref[~(ref["att"].eq(0) & ref["se"].isna())]
    assert len(res.att_gt) == len(ref)
    both = _merge(res, ref)
    check = np.ones(len(both), bool)
    if base_period == "varying":
        check = ~_window(res, anticipation)
    assert check.sum() >= 6
    np.testing.assert_allclose(both["att"][check], both["att_ref"][check], atol=1e-8)
    np.testing.assert_allclose(both["std_error"][check], both["se_ref"][check], rtol=1e-8)
    if base_period == "universal":
        # every cell is a long difference from g - anticipation - 1
        assert (both["base"] == both["group"] - anticipation - 1).all()


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("method", ["reg", "dr"])
def test_anticipation_window_cells_match_moderndid(mp_late, control, method):
    # R did's varying base: a cell with g - anticipation <= t < g compares t with t - 1
    ref = _moderndid(mp_late, method=method, xformla="~lpop", control=control,
                     anticipation=1)
    res = fit_did(mp_late, **KW, covariates="lpop", method=method, control=control,
                  anticipation=1, n_boot=0)
    both = _merge(res, ref)
    assert len(res.att_gt) == len(ref)
    np.testing.assert_allclose(both["att"], both["att_ref"], atol=1e-8)
    np.testing.assert_allclose(both["std_error"], both["se_ref"], rtol=1e-8)
    win = _window(res, 1)
    assert win.sum() == 2
    assert (both["base"][win] == both["time"][win] - 1).all()


def _check_aggregates(res, aggs, skip_keys=()):
    for kind, ref in aggs.items():
        a = res.aggregate(kind)
        assert a.overall == pytest.approx(ref["overall_att"], abs=1e-10), kind
        assert a.overall_se == pytest.approx(ref["overall_se"], rel=1e-8), kind
        if kind == "simple":
            continue
        keys = np.asarray(ref["egt"], float)
        att = np.asarray(ref["att_egt"], float)
        se = np.asarray(ref["se_egt"], float)
        keep = ~np.isin(keys, skip_keys)
        np.testing.assert_allclose(a.keys.astype(float), keys[keep])
        np.testing.assert_allclose(a.params.to_numpy(), att[keep], atol=1e-10)
        np.testing.assert_allclose(a.std_errors.to_numpy(), se[keep], rtol=1e-8)


def test_universal_base_aggregations_match_csdid(mpdta):
    kinds = ("simple", "dynamic", "group", "calendar")
    _, aggs = _csdid(mpdta, base_period="universal", agg=kinds)
    res = fit_did(mpdta, **KW, base_period="universal", n_boot=0)
    # csdid's dynamic aggregation lists e = -1 as a zero with no standard error
    ref = aggs["dynamic"]
    i = list(ref["egt"]).index(-1)
    assert ref["att_egt"][i] == 0
    _check_aggregates(res, aggs, skip_keys=(-1,))
    es = res.event_study()
    assert es["event_time"].tolist() == [-4, -3, -2, -1, 0, 1, 2, 3]
    row = es.set_index("event_time").loc[-1]
    assert (row == 0).all()
    # post-treatment cells do not depend on the base-period choice
    var = fit_did(mpdta, **KW, n_boot=0)
    post = var.att_gt["post"]
    np.testing.assert_allclose(res.att_gt.loc[post.index[post], "att"],
                               var.att_gt.loc[post, "att"], atol=1e-14)


def test_anticipation_aggregations_match_csdid(mp_late):
    # simple/group/calendar use post-treatment cells only: the same in R did and csdid
    kinds = ("simple", "group", "calendar")
    _, aggs = _csdid(mp_late, control="notyet", anticipation=1, agg=kinds)
    res = fit_did(mp_late, **KW, control="notyet", anticipation=1, n_boot=0)
    _check_aggregates(res, aggs)
    # universal base: no disagreement on any cell, so the whole event study matches;
    # its normalized zero sits at e = -1 - anticipation = -2
    _, aggs = _csdid(mp_late, control="notyet", anticipation=1, base_period="universal",
                     agg=("dynamic",))
    res = fit_did(mp_late, **KW, control="notyet", anticipation=1, base_period="universal",
                  n_boot=0)
    _check_aggregates(res, aggs, skip_keys=(-2,))
    assert res.aggregate("dynamic").reference == (-2.0,)


@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_sampling_weights_match_csdid(mpdta, method):
    rng = np.random.default_rng(11)
    w_unit = pd.Series(rng.uniform(0.2, 3.0, mpdta["countyreal"].nunique()),
                       index=mpdta["countyreal"].unique())
    df = mpdta.assign(w=mpdta["countyreal"].map(w_unit))
    kinds = ("simple", "dynamic", "group", "calendar")
    ref, aggs = _csdid(df, method=method, xformla="lemp~lpop", weights="w",
                       agg=kinds if method == "dr" else ())
    res = fit_did(df, **KW, covariates="lpop", method=method, weights="w", n_boot=0)
    np.testing.assert_allclose(res.params.to_numpy(), ref["att"], atol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref["se"], rtol=1e-8)
    _check_aggregates(res, aggs)
    # the weights matter, and scaling them does not
    plain = fit_did(df, **KW, covariates="lpop", method=method, n_boot=0)
    assert np.abs(plain.params.to_numpy() - res.params.to_numpy()).max() > 1e-3
    scaled = fit_did(df.assign(w=df["w"] * 7.5), **KW, covariates="lpop", method=method,
                     weights="w", n_boot=0)
    np.testing.assert_allclose(scaled.params, res.params, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(scaled.aggregate("simple").overall_se,
                               res.aggregate("simple").overall_se, rtol=1e-10)


def test_integer_weights_are_replicated_units(mpdta):
    # frequency weights 2 on a few counties = those counties entered twice (as new ids):
    # same ATT(g,t) and aggregates; the bootstrap draws still one multiplier per unit
    ids = mpdta["countyreal"].unique()[::7]
    df = mpdta.assign(w=np.where(mpdta["countyreal"].isin(ids), 2.0, 1.0))
    dup = mpdta[mpdta["countyreal"].isin(ids)].assign(countyreal=lambda d: -d["countyreal"])
    res = fit_did(df, **KW, weights="w", n_boot=0)
    rep = fit_did(pd.concat([mpdta, dup], ignore_index=True), **KW, n_boot=0)
    np.testing.assert_allclose(res.params, rep.params, atol=1e-12)
    for kind in ("simple", "dynamic", "group", "calendar"):
        np.testing.assert_allclose(res.aggregate(kind).params, rep.aggregate(kind).params,
                                   atol=1e-12)


def test_weighted_bootstrap_tracks_weighted_influence(mpdta):
    df = mpdta.assign(w=1.0 + (mpdta["countyreal"] % 3))
    a = fit_did(df, **KW, weights="w", n_boot=0)
    b = fit_did(df, **KW, weights="w", n_boot=1999, seed=3)
    # bootstrap SEs estimate the influence-function SEs of the weighted estimator; the
    # bootstrap SE is R did's IQR scale, relative Monte Carlo SD ~2.7% at 1,999 draws,
    # and the largest of the 12 cells' deviations was 6.2-8.6% over seeds 0-5
    np.testing.assert_allclose(b.std_errors, a.std_errors, rtol=0.12)
    c = fit_did(df, **KW, weights="w", n_boot=1999, seed=3)
    assert b.std_errors.equals(c.std_errors) and b.crit == c.crit


def _anticipation_panel(n=900, seed=5):
    """Simulated: cohorts 4, 6 and never treated over periods 1..8; outcomes move 0.5
    one period before treatment (anticipation) and by 1 + 0.2 e at event time e >= 0;
    unit and period effects, N(0, 0.3^2) noise."""
    rng = np.random.default_rng(seed)
    T = np.arange(1, 9)
    g = rng.choice([4, 6, 0], size=n)
    e = T[None, :] - g[:, None]
    eff = np.where(g[:, None] == 0, 0.0, np.where(e >= 0, 1 + 0.2 * e,
                                                   np.where(e == -1, 0.5, 0.0)))
    y = (rng.normal(size=(n, 1)) + 0.3 * T[None, :] + eff
         + 0.3 * rng.normal(size=(n, len(T))))
    return pd.DataFrame({"id": np.repeat(np.arange(n), len(T)), "t": np.tile(T, n),
                         "g": np.repeat(g, len(T)), "y": y.ravel()})


SIM = {"y": "y", "treat_time": "g", "entity": "id", "time": "t"}


def test_anticipation_recovers_the_simulated_effects():
    df = _anticipation_panel()
    before = df.copy()
    res = fit_did(df, **SIM, anticipation=1, base_period="universal", n_boot=0)
    es = res.event_study().set_index("event_time")
    truth = {e: (1 + 0.2 * e if e >= 0 else 0.5 if e == -1 else 0.0) for e in es.index}
    err = es["estimate"] - pd.Series(truth)
    se = es["std_error"].replace(0, np.nan)
    assert (err.drop(-2).abs() < 4 * se.drop(-2)).all()
    assert es.loc[-2, "estimate"] == 0 and es.loc[-1, "estimate"] > 10 * es.loc[-1, "std_error"]
    assert res.pretrend_test().p_value > 0.01  # e <= -3 only: no pre-trend
    # ignoring the anticipation puts it in the base period: the ATT is 0.5 too low ...
    naive = fit_did(df, **SIM, n_boot=0)
    assert naive.att == pytest.approx(res.att - 0.5, abs=4 * naive.aggregate("simple").overall_se)
    assert abs(res.att - 1.3) < 4 * res.aggregate("simple").overall_se  # mean of 1+0.2e
    # ... and the pre-test sees it in the period before treatment
    assert naive.pretrend_test().p_value < 1e-6
    # varying base: the anticipation cell is the change from g - 2 to g - 1
    var = fit_did(df, **SIM, anticipation=1, n_boot=0).event_study().set_index("event_time")
    assert abs(var.loc[-1, "estimate"] - 0.5) < 4 * var.loc[-1, "std_error"]
    assert -2 in var.index and abs(var.loc[-2, "estimate"]) < 4 * var.loc[-2, "std_error"]
    pd.testing.assert_frame_equal(df, before)


def test_bad_options_are_refused(mpdta):
    with pytest.raises(ParameterError, match="anticipation"):
        fit_did(mpdta, **KW, anticipation=-1)
    with pytest.raises(ParameterError, match="base_period"):
        fit_did(mpdta, **KW, base_period="fixed")
    with pytest.raises(DataError, match=r"anticipation=1: first treated by 2004"):
        fit_did(mpdta, **KW, anticipation=1)
    with pytest.raises(ParameterError, match="estimator='cs' only"):
        fit_did(mpdta, **KW, estimator="twfe", weights="lpop")
    with pytest.raises(ParameterError, match="anticipation"):
        fit_did(mpdta, **KW, estimator="sa", anticipation=1)
    with pytest.raises(ParameterError, match="entity=None: .* panel=False"):
        fit_did(mpdta, **{**KW, "entity": None})
    with pytest.raises(ParameterError, match="panel"):
        fit_did(mpdta, **KW, estimator="twfe", panel=False)


def test_bad_weights_are_refused(mpdta):
    with pytest.raises(DataError, match="'w'"):
        fit_did(mpdta, **KW, weights="w")
    df = mpdta.assign(w=1.0)
    df.loc[df.index[3], "w"] = -1.0
    with pytest.raises(DataError, match="negative .* at row 3"):
        fit_did(df, **KW, weights="w")
    df = mpdta.assign(w=mpdta["lemp"])
    with pytest.raises(DataError, match="'w' varies within countyreal"):
        fit_did(df, **KW, weights="w")
    df = mpdta.assign(w=np.where(mpdta["first.treat"] == 2006, 0.0, 1.0))
    with pytest.raises(DataError, match="cohort first.treat=2006 has zero sampling weight"):
        fit_did(df, **KW, weights="w")
    df = mpdta.assign(w=1.0)
    df.loc[df.index[5], "w"] = np.nan
    with pytest.raises(DataError, match="'w'"):
        fit_did(df, **KW, weights="w")


def test_unbalanced_panel_refused_naming_the_unit(mpdta):
    df = mpdta.drop(index=mpdta.index[(mpdta["countyreal"] == 8019)
                                      & (mpdta["year"] == 2005)])
    with pytest.raises(DataError, match=r"countyreal=8019 has 4 of 5 periods .*"
                                        r"allow_unbalanced=True"):
        fit_did(df, **KW)
    with pytest.raises(ParameterError, match="estimator='cs' only"):
        fit_did(df, **KW, estimator="twfe", allow_unbalanced=True)


@pytest.fixture(scope="module")
def mp_unbalanced(mpdta):
    # 10% of the county-years dropped at random: some counties lack some years
    rng = np.random.default_rng(0)
    return mpdta.drop(index=mpdta.index[rng.random(len(mpdta)) < 0.1]).reset_index(drop=True)


def _csdid_unbalanced(df, method, control, agg=(), **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
                  data=df, xformla="lemp~lpop", control_group=[CONTROL[control]],
                  allow_unbalanced_panel=True, **kw)
        m = m.fit(est_method=method, bstrap=False)
        aggs = {}
        for a in agg:
            m.aggte(typec=a, bstrap=False)
            aggs[a] = dict(m.atte)
    return m.results, aggs


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_unbalanced_panel_matches_csdid(mp_unbalanced, method, control):
    # R did allow_unbalanced_panel=TRUE: each cell from two cross sections (DRDID's
    # *_rc estimators), influence functions summed within counties
    kinds = ("simple", "dynamic", "group", "calendar") if method == "dr" else ()
    ref, aggs = _csdid_unbalanced(mp_unbalanced, method, control, agg=kinds)
    res = fit_did(mp_unbalanced, **KW, covariates="lpop", method=method, control=control,
                  allow_unbalanced=True, n_boot=0)
    np.testing.assert_allclose(res.params.to_numpy(), ref["att"], atol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref["se"], rtol=1e-8)
    _check_aggregates(res, aggs)
    assert res.nobs == len(mp_unbalanced) and res.n_units == 500
    # the cross-section estimator is not the panel one: dropping rows changes the cells
    bal = fit_did(load_mpdta(), **KW, covariates="lpop", method=method, control=control,
                  n_boot=0)
    assert np.abs(bal.params.to_numpy() - res.params.to_numpy()).max() > 1e-3


def test_unbalanced_with_weights_matches_csdid(mp_unbalanced):
    w = 1.0 + (mp_unbalanced["countyreal"] % 5)
    df = mp_unbalanced.assign(w=w)
    ref, aggs = _csdid_unbalanced(df, "dr", "notyet", agg=("dynamic",), weights_name="w")
    res = fit_did(df, **KW, covariates="lpop", method="dr", control="notyet",
                  allow_unbalanced=True, weights="w", n_boot=0)
    np.testing.assert_allclose(res.params.to_numpy(), ref["att"], atol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref["se"], rtol=1e-8)
    _check_aggregates(res, aggs)


def test_allow_unbalanced_leaves_a_balanced_panel_alone(mpdta):
    a = fit_did(mpdta, **KW, method="dr", n_boot=0)
    b = fit_did(mpdta, **KW, method="dr", allow_unbalanced=True, n_boot=0)
    assert a.params.equals(b.params) and a.std_errors.equals(b.std_errors)


def test_unbalanced_recovers_the_simulated_effects():
    df = _anticipation_panel(seed=8)
    rng = np.random.default_rng(2)
    ub = df.drop(index=df.index[rng.random(len(df)) < 0.2])
    res = fit_did(ub, **SIM, anticipation=1, base_period="universal",
                  allow_unbalanced=True, n_boot=0)
    es = res.event_study().set_index("event_time").drop(-2)
    truth = pd.Series({e: (1 + 0.2 * e if e >= 0 else 0.5 if e == -1 else 0.0)
                       for e in es.index})
    assert ((es["estimate"] - truth).abs() < 4 * es["std_error"]).all()


@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_repeated_cross_sections_match_csdid(mpdta, method):
    # R did panel=FALSE: every row its own observation (mpdta's rows read as cross sections)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", gname="first.treat", idname="rid", tname="year",
                  data=mpdta.assign(rid=np.arange(len(mpdta))), xformla="lemp~lpop",
                  control_group=["notyettreated"], panel=False)
        m = m.fit(est_method=method, bstrap=False)
        m.aggte(typec="dynamic", bstrap=False)
        aggs = {"dynamic": dict(m.atte)}
    res = fit_did(mpdta, **{**KW, "entity": None}, covariates="lpop", method=method,
                  control="notyet", panel=False, n_boot=0)
    np.testing.assert_allclose(res.params.to_numpy(), m.results["att"], atol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), m.results["se"], rtol=1e-8)
    _check_aggregates(res, aggs)
    assert res.n_units == len(mpdta) and "_row" not in mpdta.columns
    # ignoring the panel structure costs precision: the panel SEs are smaller
    pan = fit_did(mpdta, **KW, covariates="lpop", method=method, control="notyet", n_boot=0)
    assert (pan.std_errors < res.std_errors).mean() > 0.7


@pytest.mark.parametrize(("anticipation", "base_period"),
                         [(0, "universal"), (1, "universal"), (1, "varying")])
def test_pretrend_wald_matches_csdid(mpdta, mp_late, anticipation, base_period):
    # pre-test on the cells t < g - anticipation (csdid; R 2.5.1 adds the window cells)
    d = mpdta if anticipation == 0 else mp_late
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
                  data=d, control_group=["nevertreated"], anticipation=anticipation)
        m = m.fit(est_method="reg", base_period=base_period, bstrap=False)
    w = fit_did(d, **KW, anticipation=anticipation, base_period=base_period,
                n_boot=0).pretrend_test()
    assert w.statistic == pytest.approx(m.MP["W"], rel=1e-8)
    assert w.p_value == pytest.approx(m.MP["Wpval"], abs=1e-5)
