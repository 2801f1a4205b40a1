"""Single-group mean structures (``meanstructure=True``, ``~ 1``) and robust ML (MLR).

References (docs/references.md, "CFA: mean structure and MLR"):

* lavaan tutorial "Means" (tutorial.src/means.tex in the GitHub repository
  yrosseel/lavaan.org.old; lavaan 0.6-11): the Holzinger-Swineford 3-factor model with
  ``meanstructure = TRUE``.
* lavaan 0.6-19 ``summary(fit, fit.measures = TRUE, standardized = TRUE)`` of the same
  model with ``estimator = "MLR"``, printed in the README of the GitHub repository
  rempsyc/lavaanExtra (its ``cfa_fit_plot`` example; 21 parameters: no mean structure).
* Independent computations in this file: the sandwich from finite-difference casewise
  scores and a finite-difference Hessian of the casewise normal log-likelihood
  (scipy's ``multivariate_normal.logpdf``), and the Yuan-Bentler (Mplus) scaling
  factor from its definition with the unrestricted model's information matrices
  built the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dtistat import fit_cfa
from dtistat._cfa import build_model, fit_ml, parse_model
from dtistat.errors import EstimationError, ParameterError, SpecError

HS_MODEL = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"""
X9 = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def ml(hs):
    return fit_cfa(hs, HS_MODEL)


@pytest.fixture(scope="module")
def means(hs):
    return fit_cfa(hs, HS_MODEL, meanstructure=True)


@pytest.fixture(scope="module")
def mlr(hs):
    return fit_cfa(hs, HS_MODEL, estimator="MLR")


def _se(res, term):
    return float(res.estimates.set_index("term").loc[term, "std_error"])


def _est(res, term):
    return float(res.estimates.set_index("term").loc[term, "estimate"])


# ---------------------------------------------------------------------------------
# Mean structure: the lavaan tutorial "Means"
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("var, est, se", [
    # lavaan tutorial "Means" (lavaan 0.6-11), Intercepts: Estimate, Std.Err
    ("x1", 4.936, 0.067), ("x2", 6.088, 0.068), ("x3", 2.250, 0.065),
    ("x4", 3.061, 0.067), ("x5", 4.341, 0.074), ("x6", 2.186, 0.063),
    ("x7", 4.186, 0.063), ("x8", 5.527, 0.058), ("x9", 5.374, 0.058),
])
def test_meanstructure_intercepts_lavaan_tutorial(means, var, est, se):
    assert round(_est(means, f"{var} ~1"), 3) == est
    assert round(_se(means, f"{var} ~1"), 3) == se


def test_meanstructure_fit_and_covariance_part_unchanged(means, ml):
    f = means.fit
    # lavaan tutorial "Means": Test statistic 85.306, Degrees of freedom 24, Number of
    # model parameters 30
    assert round(f["chi2"], 3) == 85.306 and f["df"] == 24 and f["npar"] == 30
    assert round(_se(means, "visual =~ x2"), 3) == 0.100  # lavaan tutorial: 0.100
    assert round(_est(means, "speed ~~ speed"), 3) == 0.384  # lavaan tutorial: 0.384
    for lv in ("visual", "textual", "speed"):  # latent means fixed at 0 (lavaan)
        row = means.estimates.set_index("term").loc[f"{lv} ~1"]
        assert row["estimate"] == 0 and not row["free"]
    # Saturated intercepts: the covariance part is the model without means.
    cov = ml.estimates.set_index("term")
    got = means.estimates.set_index("term").loc[cov.index]
    np.testing.assert_allclose(got["estimate"], cov["estimate"], rtol=1e-6)
    np.testing.assert_allclose(got["std_error"], cov["std_error"], rtol=1e-5)
    assert f["loglik"] == pytest.approx(ml.fit["loglik"], rel=1e-10)
    assert f["aic"] == pytest.approx(ml.fit["aic"] + 2 * 9, rel=1e-10)
    # SRMR with a mean structure averages over the 45 covariances and the 9 (zero)
    # mean residuals (lavaan's srmr_bentler, R/lav_fit_srmr.R)
    assert f["srmr"] == pytest.approx(ml.fit["srmr"] * np.sqrt(45 / 54), rel=1e-6)
    assert means.meanstructure and not ml.meanstructure
    np.testing.assert_allclose(means.implied_mean, means.sample_mean, rtol=1e-8)


def test_intercept_syntax_equals_meanstructure(hs, means):
    model = HS_MODEL + "\n" + "\n".join(f"{x} ~ 1" for x in X9)
    res = fit_cfa(hs, model)  # '~ 1' implies the mean structure, as in lavaan
    assert res.fit["npar"] == 30
    np.testing.assert_allclose(res.params.to_numpy(), means.params.to_numpy(), rtol=1e-8)


def test_fixed_intercepts_shorthand(hs, means):
    # the tutorial's 'x1 + x2 + x3 + x4 ~ 0.5*1': four intercepts fixed at 0.5
    res = fit_cfa(hs, HS_MODEL + "\nx1 + x2 + x3 + x4 ~ 0.5*1")
    est = res.estimates.set_index("term")
    for x in ("x1", "x2", "x3", "x4"):
        assert est.loc[f"{x} ~1", "estimate"] == 0.5 and not est.loc[f"{x} ~1", "free"]
    assert res.fit["df"] == 28 and res.fit["npar"] == 26
    assert res.fit["chi2"] > means.fit["chi2"] + 100  # far from the sample means
    # The log-likelihood is the casewise normal one at the implied moments.
    ll = stats.multivariate_normal.logpdf(
        hs[X9].to_numpy(), res.implied_mean.to_numpy(), res.implied_cov.to_numpy()).sum()
    assert res.fit["loglik"] == pytest.approx(ll, rel=1e-10)


def test_free_latent_mean_with_marker_intercept_fixed(hs, means):
    # Equivalent parametrization: the marker's intercept at 0, the factor mean free;
    # the factor mean then equals the marker's sample mean.
    res = fit_cfa(hs, HS_MODEL + "\nx1 ~ 0*1\nvisual ~ NA*1")
    assert res.fit["chi2"] == pytest.approx(means.fit["chi2"], rel=1e-8)
    assert res.fit["df"] == 24
    assert _est(res, "visual ~1") == pytest.approx(hs["x1"].mean(), rel=1e-8)


def test_intercept_labels_make_equal_intercepts(hs, means):
    res = fit_cfa(hs, HS_MODEL + "\nx7 ~ a*1\nx8 ~ a*1")
    assert res.fit["df"] == 25
    assert _est(res, "x7 ~1") == _est(res, "x8 ~1")
    assert "a" in res.params.index or "x7 ~1" in res.params.index
    assert res.fit["chi2"] > means.fit["chi2"]


# ---------------------------------------------------------------------------------
# MLR against lavaan 0.6-19 printed output (lavaanExtra README)
# ---------------------------------------------------------------------------------

def test_mlr_test_statistics_lavaan(mlr):
    f = mlr.fit
    # lavaanExtra README (lavaan 0.6-19, MLR): Model Test User Model
    assert round(f["chi2"], 3) == 85.306  # Standard 85.306
    assert round(f["chi2_scaled"], 3) == 87.132  # Scaled 87.132
    assert round(f["scaling_factor"], 3) == 0.979  # Scaling correction factor 0.979
    assert f["npar"] == 21  # Number of model parameters 21 (no mean structure)
    # Model Test Baseline Model: 918.852 / 880.082, scaling correction factor 1.044
    assert round(f["baseline_chi2_scaled"], 3) == 880.082
    assert round(f["baseline_scaling_factor"], 3) == 1.044
    # Scaling correction factor for the MLR correction: H0 1.133, H1 1.051
    assert round(f["loglik_scaling"], 3) == 1.133
    assert round(f["unrestricted_loglik_scaling"], 3) == 1.051
    # AIC / BIC / SABIC 7517.490 / 7595.339 / 7528.739
    assert [round(f[k], 3) for k in ("aic", "bic", "bic_adjusted")] == \
        [7517.490, 7595.339, 7528.739]


def test_mlr_fit_indices_lavaan(mlr):
    f = mlr.fit
    # lavaanExtra README (lavaan 0.6-19, MLR), Standard / Scaled / Robust columns
    assert (round(f["cfi"], 3), round(f["cfi_scaled"], 3), round(f["cfi_robust"], 3)) \
        == (0.931, 0.925, 0.930)
    assert (round(f["tli"], 3), round(f["tli_scaled"], 3), round(f["tli_robust"], 3)) \
        == (0.896, 0.888, 0.895)
    assert [round(f[k], 3) for k in ("rmsea_scaled", "rmsea_ci_low_scaled",
                                     "rmsea_ci_high_scaled")] == [0.093, 0.073, 0.115]
    assert [round(f[k], 3) for k in ("rmsea_robust", "rmsea_ci_low_robust",
                                     "rmsea_ci_high_robust")] == [0.092, 0.072, 0.114]
    # P-value H_0: RMSEA <= 0.050: scaled 0.001, robust 0.001; H_0: RMSEA >= 0.080:
    # scaled 0.862, robust 0.849
    assert [round(f[k], 3) for k in ("rmsea_pvalue_scaled", "rmsea_pvalue_robust",
                                     "rmsea_notclose_pvalue_scaled",
                                     "rmsea_notclose_pvalue_robust")] == \
        [0.001, 0.001, 0.862, 0.849]
    assert round(f["srmr"], 3) == 0.065
    assert f["p_value_scaled"] == pytest.approx(stats.chi2.sf(f["chi2_scaled"], 24))


@pytest.mark.parametrize("term, est, se", [
    # lavaanExtra README (lavaan 0.6-19, MLR; Standard errors: Sandwich, Information
    # bread: Observed, Observed information based on: Hessian): Estimate, Std.Err
    ("visual =~ x2", 0.554, 0.132), ("visual =~ x3", 0.729, 0.141),
    ("textual =~ x5", 1.113, 0.066), ("textual =~ x6", 0.926, 0.061),
    ("speed =~ x8", 1.180, 0.130), ("speed =~ x9", 1.082, 0.266),
    ("visual ~~ textual", 0.408, 0.099), ("visual ~~ speed", 0.262, 0.060),
    ("textual ~~ speed", 0.173, 0.056),
    ("x1 ~~ x1", 0.549, 0.156), ("x2 ~~ x2", 1.134, 0.112), ("x3 ~~ x3", 0.844, 0.100),
    ("x4 ~~ x4", 0.371, 0.050), ("x5 ~~ x5", 0.446, 0.057), ("x6 ~~ x6", 0.356, 0.047),
    ("x7 ~~ x7", 0.799, 0.097), ("x8 ~~ x8", 0.488, 0.120), ("x9 ~~ x9", 0.566, 0.119),
    ("visual ~~ visual", 0.809, 0.180), ("textual ~~ textual", 0.979, 0.121),
    ("speed ~~ speed", 0.384, 0.107),
])
def test_mlr_standard_errors_lavaan(mlr, term, est, se):
    assert round(_est(mlr, term), 3) == est
    assert round(_se(mlr, term), 3) == se


def test_mlr_with_meanstructure(hs, mlr, means):
    res = fit_cfa(hs, HS_MODEL, estimator="MLR", meanstructure=True)
    assert res.fit["npar"] == 30
    # The intercepts are saturated: the observed information is block diagonal at the
    # estimates, so the covariance part's sandwich is the one without means, and a
    # free intercept's robust SE is the sample SD / sqrt(N), as under normality.
    cov = mlr.estimates.set_index("term")
    got = res.estimates.set_index("term").loc[cov.index]
    np.testing.assert_allclose(got["std_error"], cov["std_error"], rtol=1e-5)
    ims = means.estimates[means.estimates["op"] == "~1"].set_index("term")
    got = res.estimates.set_index("term").loc[ims.index]
    np.testing.assert_allclose(got["std_error"], ims["std_error"], rtol=1e-5)
    # Yuan-Bentler with means: the mean blocks add p to both traces (tr(S Sigma^-1) = p
    # at ML estimates of a scale-invariant model), so the scaled statistic is unchanged.
    assert res.fit["chi2_scaled"] == pytest.approx(mlr.fit["chi2_scaled"], rel=1e-6)


# ---------------------------------------------------------------------------------
# MLR against an independent finite-difference computation
# ---------------------------------------------------------------------------------

def _fd_scores(f, theta, h=1e-5):
    """Central-difference Jacobian of a vector function of theta: (n, q)."""
    cols = []
    for k in range(len(theta)):
        e = np.zeros(len(theta))
        e[k] = h
        cols.append((f(theta + e) - f(theta - e)) / (2 * h))
    return np.column_stack(cols)


def _sandwich_parts(ll_i, theta, h=3e-3):
    """A (observed information per case) and B (mean outer product of scores).

    The Hessian is the central difference of finite-difference score sums, with
    Richardson extrapolation over the outer step (h and h/2): plain differences of a
    sum of hundreds of log-densities are too coarse where the problem is badly
    conditioned (the raw-scale mean structure: condition number ~6e4).
    """
    n = len(ll_i(theta))
    s = _fd_scores(ll_i, theta)

    def hess(step):
        return _fd_scores(lambda t: _fd_scores(ll_i, t, 1e-4).sum(axis=0), theta, step)

    H = (4 * hess(h / 2) - hess(h)) / 3
    A = -0.5 * (H + H.T) / n
    return A, s.T @ s / n


def test_mlr_sandwich_and_scaling_from_finite_differences(hs, mlr):
    Y = hs[X9].to_numpy(float)
    n, p = Y.shape
    ybar = Y.mean(axis=0)
    spec = build_model(parse_model(HS_MODEL), X9)
    S = np.cov(Y.T, bias=True)
    out = fit_ml(spec, S)
    ram, theta = out["ram"], out["theta"]

    def ll_h0(t):
        return stats.multivariate_normal.logpdf(Y, ybar, ram.implied(t)[0])

    A0, B0 = _sandwich_parts(ll_h0, theta)
    A0i = np.linalg.inv(A0)
    V = A0i @ B0 @ A0i / n
    # The nested finite differences carry ~1e-5 relative error.
    Vm = mlr.vcov.to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(Vm)), np.sqrt(np.diag(V)), rtol=5e-5)
    assert np.max(np.abs(Vm - V)) < 5e-5 * np.max(np.diag(Vm))
    # unrestricted model: the free (co)variances, at the sample covariance
    tri = np.tril_indices(p)

    def ll_h1(v):
        Sig = np.zeros((p, p))
        Sig[tri] = v
        Sig = Sig + np.tril(Sig, -1).T
        return stats.multivariate_normal.logpdf(Y, ybar, Sig)

    A1, B1 = _sandwich_parts(ll_h1, S[tri])
    tr = np.trace(np.linalg.solve(A1, B1)) - np.trace(A0i @ B0)
    assert mlr.fit["scaling_factor"] == pytest.approx(tr / 24, rel=1e-5)
    # the baseline: independent variables, variances at the sample variances
    Ab, Bb = _sandwich_parts(
        lambda v: stats.norm.logpdf(Y, ybar, np.sqrt(v)).sum(axis=1), np.diag(S).copy())
    trb = np.trace(np.linalg.solve(A1, B1)) - np.trace(np.linalg.solve(Ab, Bb))
    assert mlr.fit["baseline_scaling_factor"] == pytest.approx(trb / 36, rel=1e-5)


def test_mlr_under_normality_is_close_to_ml():
    # Simulated normal data from the model: the scaling factor is near 1 and the
    # robust SEs near the ML ones (they agree asymptotically).
    rng = np.random.default_rng(7)
    n = 4000
    f = rng.standard_normal((n, 2)) @ np.linalg.cholesky([[1, 0.4], [0.4, 1]]).T
    lam = np.array([1.0, 0.8, 0.7])
    Y = np.column_stack([f[:, 0:1] * lam, f[:, 1:2] * lam]) + 0.6 * rng.standard_normal((n, 6))
    d = pd.DataFrame(Y, columns=[f"y{i}" for i in range(6)])
    model = "a =~ y0 + y1 + y2\nb =~ y3 + y4 + y5"
    r_ml, r_mlr = fit_cfa(d, model), fit_cfa(d, model, estimator="MLR")
    assert r_mlr.fit["scaling_factor"] == pytest.approx(1.0, abs=0.15)
    np.testing.assert_allclose(r_mlr.std_errors, r_ml.std_errors, rtol=0.1)
    np.testing.assert_allclose(r_mlr.params, r_ml.params, rtol=1e-12)


def test_mlr_heavy_tails_inflate_scaling_and_units_do_not_matter(hs, mlr):
    # Same model on rescaled columns: the same scaled test and z statistics.
    d = hs.copy()
    d[X9] = d[X9] * np.array([1e-3, 1, 1e3, 1, 10, 1, 1e4, 1, 0.1])
    res = fit_cfa(d, HS_MODEL, estimator="MLR")
    assert res.fit["chi2_scaled"] == pytest.approx(mlr.fit["chi2_scaled"], rel=1e-6)
    np.testing.assert_allclose(res.tstats, mlr.tstats, rtol=1e-5)
    # t-distributed (heavy-tailed) data: the Yuan-Bentler factor exceeds 1
    rng = np.random.default_rng(3)
    n = 2000
    w = np.sqrt(5 / rng.chisquare(5, n))[:, None]  # multivariate t with 5 df
    f = rng.standard_normal((n, 1))
    Y = w * (f * np.array([1.0, 0.8, 0.7, 0.9]) + 0.6 * rng.standard_normal((n, 4)))
    t = fit_cfa(pd.DataFrame(Y, columns=list("abcd")), "F =~ a + b + c + d",
                estimator="MLR")
    assert t.fit["scaling_factor"] > 1.5


# ---------------------------------------------------------------------------------
# Output and bad input
# ---------------------------------------------------------------------------------

def test_mlr_summary_and_str(mlr, means):
    text = str(mlr)
    assert "MLR" in text and "scaling factor 0.979" in text and "87.132" in text
    text = mlr.summary().as_text()
    assert "Robust fit" in text and "CFI = 0.930" in text and "0.979" in text
    assert "mean structure" in str(means) and "x1 ~1" in str(means)
    assert "Robust fit" not in means.summary().as_text()
    assert "MLR scaled chi2(24)=87.132" in repr(mlr)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(estimator="WLSMV"), ParameterError, "estimator must be 'ML'.*'MLR'"),
    (dict(estimator=1), ParameterError, "estimator must be"),
    (dict(meanstructure="yes"), ParameterError, "meanstructure must be True or False"),
])
def test_bad_options(hs, kwargs, err, match):
    with pytest.raises(err, match=match):
        fit_cfa(hs, HS_MODEL, **kwargs)


@pytest.mark.parametrize("extra, err, match", [
    ("x10 ~ 1", SpecError, "line 4 .*'x10' is neither a factor nor an observed"),
    ("x1 ~ 1\nx1 ~ 0*1", SpecError, "line 5 .*intercept of 'x1' is already specified "
                                    "on line 4"),
    ("x1 ~ 1 + 1", SpecError, "more than one intercept"),
    ("visual ~ 1", EstimationError, "not identified"),
])
def test_bad_intercepts(hs, extra, err, match):
    with pytest.raises(err, match=match):
        fit_cfa(hs, HS_MODEL + "\n" + extra)


def test_intercept_label_with_groups_refused(hs):
    with pytest.raises(SpecError, match="label 'a'.*not supported with group="):
        fit_cfa(hs, HS_MODEL + "\nx1 ~ a*1", group="school")


def test_input_not_mutated(hs):
    before = hs.copy()
    fit_cfa(hs, HS_MODEL, estimator="MLR", meanstructure=True)
    fit_cfa(hs, HS_MODEL + "\nx1 ~ 0.5*1")
    assert hs.equals(before)


def test_cli_estimator_mlr(hs, mlr, tmp_path, capsys):
    from dtistat.cli import main

    hs[X9].to_csv(tmp_path / "hs.csv", index=False)
    rc = main(["cfa", str(tmp_path / "hs.csv"), "--model", *HS_MODEL.splitlines(),
               "--estimator", "MLR", "--out", str(tmp_path / "o")])
    assert rc == 0
    assert "scaled chi2 = 87.132 (scaling factor 0.979)" in capsys.readouterr().out
    est = pd.read_csv(tmp_path / "o" / "tables" / "estimates.csv")
    np.testing.assert_allclose(est["std_error"], mlr.estimates["std_error"], rtol=1e-9)


PD_MODEL = """ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8"""


def test_mlr_sem_with_regressions_from_finite_differences():
    # Bollen's political democracy SEM: regressions and residual covariances
    from semopy.examples import political_democracy

    d = political_democracy.get_data()
    res = fit_cfa(d, PD_MODEL, estimator="MLR")
    spec = build_model(parse_model(PD_MODEL), list(d.columns))
    Y = d[spec.observed].to_numpy(float)
    out = fit_ml(spec, np.cov(Y.T, bias=True))
    ram, theta = out["ram"], out["theta"]
    A, B = _sandwich_parts(
        lambda t: stats.multivariate_normal.logpdf(Y, Y.mean(axis=0), ram.implied(t)[0]),
        theta)
    V = np.linalg.inv(A) @ B @ np.linalg.inv(A) / len(Y)
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), np.sqrt(np.diag(V)), rtol=1e-4)
    assert res.fit["chi2_scaled"] == pytest.approx(res.fit["chi2"] / res.fit[
        "scaling_factor"], rel=1e-12)


def test_mlr_mean_structure_from_finite_differences(hs):
    # Equal intercepts (a label): the means are not saturated, so the mean and
    # covariance parts of the scores and the Hessian interact.
    from dtistat import _cfa_groups

    model = HS_MODEL + "\nx7 ~ a*1\nx8 ~ a*1"
    res = fit_cfa(hs, model, estimator="MLR")
    gm = _cfa_groups.build_groups(parse_model(model), X9, 1)
    Y = hs[X9].to_numpy(float)
    out = _cfa_groups.fit_groups(gm, [np.cov(Y.T, bias=True)], [Y.mean(axis=0)], [len(Y)])
    ram, theta = out["rams"][0], out["theta"]

    def ll(t):
        Sig, mu = ram.implied(t)[:2]
        return stats.multivariate_normal.logpdf(Y, mu, Sig)

    A, B = _sandwich_parts(ll, theta)
    V = np.linalg.inv(A) @ B @ np.linalg.inv(A) / len(Y)
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), np.sqrt(np.diag(V)), rtol=1e-4)
    assert res.fit["df"] == 25 and res.fit["npar"] == 29


def test_unrestricted_trace_closed_form_from_finite_differences(hs):
    # tr(A1^-1 B1) of the unrestricted model with means (p means + p(p+1)/2
    # covariances) against finite differences of scipy's normal log-density
    from dtistat._cfa_robust import independence_trace, unrestricted_trace

    Y = hs[["x1", "x4", "x7", "x9"]].to_numpy(float)
    p = Y.shape[1]
    tri = np.tril_indices(p)

    def ll(v):
        Sig = np.zeros((p, p))
        Sig[tri] = v[p:]
        Sig = Sig + np.tril(Sig, -1).T
        return stats.multivariate_normal.logpdf(Y, v[:p], Sig)

    v0 = np.r_[Y.mean(axis=0), np.cov(Y.T, bias=True)[tri]]
    A1, B1 = _sandwich_parts(ll, v0)
    assert unrestricted_trace(Y) == pytest.approx(np.trace(np.linalg.solve(A1, B1)),
                                                  rel=1e-6)
    Ab, Bb = _sandwich_parts(
        lambda v: stats.norm.logpdf(Y, v[:p], np.sqrt(v[p:])).sum(axis=1),
        np.r_[Y.mean(axis=0), Y.var(axis=0)])
    assert independence_trace(Y) == pytest.approx(np.trace(np.linalg.solve(Ab, Bb)),
                                                  rel=1e-6)


def test_mlr_multigroup_from_finite_differences(hs):
    # Two schools, equal loadings: the sandwich of the whole fit and the scaling factor
    # (lavaan's lav_test_yb_mplus_trace: unrestricted traces summed over the groups)
    from dtistat import _cfa_groups
    from dtistat._cfa_robust import unrestricted_trace

    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"  # 6 variables: fast
    res = fit_cfa(hs, model, group="school", group_equal="loadings", estimator="MLR")
    gm = _cfa_groups.build_groups(parse_model(model), X9, 2, group_equal=("loadings",))
    Ys = [hs.loc[hs["school"] == g, X9[:6]].to_numpy(float) for g in res.groups]
    out = _cfa_groups.fit_groups(gm, [np.cov(Y.T, bias=True) for Y in Ys],
                                 [Y.mean(axis=0) for Y in Ys], [len(Y) for Y in Ys])
    theta = out["theta"]
    np.testing.assert_allclose(res.params.to_numpy(), theta, rtol=1e-6)

    def ll(t):
        return np.concatenate([stats.multivariate_normal.logpdf(Y, *r.implied(t)[1::-1])
                               for Y, r in zip(Ys, out["rams"], strict=True)])

    A, B = _sandwich_parts(ll, theta)
    N = sum(len(Y) for Y in Ys)
    V = np.linalg.inv(A) @ B @ np.linalg.inv(A) / N
    np.testing.assert_allclose(np.sqrt(np.diag(res.cov)), np.sqrt(np.diag(V)), rtol=1e-4)
    tr_h0 = np.trace(np.linalg.solve(A, B))
    c = (sum(unrestricted_trace(Y) for Y in Ys) - tr_h0) / res.fit["df"]
    assert res.fit["scaling_factor"] == pytest.approx(c, rel=1e-5)
    assert res.fit["chi2_scaled"] == pytest.approx(res.fit["chi2"] / c, rel=1e-5)
    assert "MLR scaled test" in res.summary().as_text()


def test_invariance_mlr_scaled_differences(hs):
    from dtistat import invariance_test

    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"
    mi = invariance_test(hs, model, group="school", estimator="MLR")
    ml = invariance_test(hs, model, group="school")
    t = mi.table
    # the ML columns are the ML ladder's
    np.testing.assert_allclose(t["chi2"], ml.table["chi2"], rtol=1e-8)
    assert "delta_chi2_scaled" not in ml.table
    # Satorra-Bentler (2001): cd = (d0 c0 - d1 c1) / (d0 - d1), (T0 - T1) / cd
    for a, b in (("configural", "metric"), ("metric", "scalar")):
        f1, f0 = mi.fits[a].fit, mi.fits[b].fit
        cd = (f0["df"] * f0["scaling_factor"] - f1["df"] * f1["scaling_factor"]) / (
            f0["df"] - f1["df"])
        assert t.loc[b, "delta_chi2_scaled"] == pytest.approx(
            (f0["chi2"] - f1["chi2"]) / cd, rel=1e-12)
        assert t.loc[b, "delta_p_value_scaled"] == pytest.approx(
            stats.chi2.sf(t.loc[b, "delta_chi2_scaled"], f0["df"] - f1["df"]))
    assert np.isnan(t.loc["configural", "delta_chi2_scaled"])
    # the group SEs are sandwich SEs (not the ML ones), the estimates the ML ones
    fit = mi.fits["metric"]
    np.testing.assert_allclose(fit.params, ml.fits["metric"].params, rtol=1e-12)
    assert not np.allclose(np.diag(fit.cov), np.diag(ml.fits["metric"].cov), rtol=1e-3)
    assert fit.estimator == "MLR" and t["scaling_factor"].between(0.5, 2).all()


def test_mlr_singular_observed_information_is_an_estimation_error():
    from dtistat._cfa_robust import _inverse

    with pytest.raises(EstimationError, match="observed information matrix is not "
                                              "positive definite.*estimator='ML'"):
        _inverse(np.array([[1.0, 0.0], [0.0, -0.5]]))
    np.testing.assert_allclose(_inverse(np.diag([2.0, 4.0])), np.diag([0.5, 0.25]))
