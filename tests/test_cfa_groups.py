"""Multi-group CFA with mean structures and measurement invariance.

Reference: the lavaan tutorial "Multiple groups" (lavaan.ugent.be/tutorial/groups.html;
its knitted source with lavaan 0.5-16 output is tutorial.src/groups.tex in the GitHub
repository yrosseel/lavaan.org.old), fitting the Holzinger-Swineford 3-factor model by
school, and the semTools ``measurementInvariance`` output printed on the same page.
The numbers are in docs/references.md ("Multi-group CFA").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dtistat import (
    CFAResult,
    InvarianceResult,
    MultiGroupCFAResult,
    fit_cfa,
    invariance_test,
)
from dtistat.errors import (
    ColumnError,
    DataError,
    DtiStatError,
    EstimationError,
    ParameterError,
    SpecError,
)

HS_MODEL = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"""
X9 = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def ladder(hs):
    return invariance_test(hs, HS_MODEL, group="school",
                           steps=("configural", "metric", "scalar", "means"))


def _row(res, term, group):
    return res.estimates.set_index("term").loc[f"{term} [{group}]"]


# ---------------------------------------------------------------------------------
# lavaan tutorial values
# ---------------------------------------------------------------------------------

def test_configural_fit(ladder):
    res = ladder.fits["configural"]
    assert isinstance(res, MultiGroupCFAResult)
    f = res.fit
    assert round(f["chi2"], 3) == 115.851  # lavaan tutorial: Minimum Function Test 115.851
    assert f["df"] == 48  # lavaan tutorial: Degrees of freedom 48
    assert res.groups == ("Pasteur", "Grant-White")
    assert list(res.group_fit["nobs"]) == [156, 145]  # lavaan tutorial: 156, 145
    # lavaan tutorial: Chi-square for each group: Pasteur 64.309, Grant-White 51.542
    assert list(res.group_fit["chi2"].round(3)) == [64.309, 51.542]
    assert res.group_fit["chi2"].sum() == pytest.approx(f["chi2"], rel=1e-12)
    assert f["npar"] == 60


@pytest.mark.parametrize("group, term, est, se", [
    # lavaan tutorial, configural model, Group 1 [Pasteur]: estimate (Std.err)
    ("Pasteur", "visual =~ x2", 0.394, 0.122),
    ("Pasteur", "visual =~ x3", 0.570, 0.140),
    ("Pasteur", "textual =~ x5", 1.183, 0.102),
    ("Pasteur", "speed =~ x9", 0.922, 0.225),
    ("Pasteur", "visual ~~ textual", 0.479, 0.106),
    ("Pasteur", "textual ~~ speed", 0.182, 0.069),
    ("Pasteur", "x1 ~1", 4.941, 0.095),
    ("Pasteur", "x9 ~1", 5.418, 0.079),
    ("Pasteur", "x1 ~~ x1", 0.298, 0.232),
    ("Pasteur", "visual ~~ visual", 1.097, 0.276),
    ("Pasteur", "speed ~~ speed", 0.350, 0.126),
    ("Pasteur", "visual ~1", 0.000, None),
    # Group 2 [Grant-White]
    ("Grant-White", "visual =~ x2", 0.736, 0.155),
    ("Grant-White", "speed =~ x8", 1.226, 0.187),
    ("Grant-White", "visual ~~ speed", 0.276, 0.076),
    ("Grant-White", "x5 ~1", 4.712, 0.096),
    ("Grant-White", "x3 ~~ x3", 0.557, 0.103),
    ("Grant-White", "textual ~~ textual", 0.942, 0.152),
])
def test_configural_estimates(ladder, group, term, est, se):
    row = _row(ladder.fits["configural"], term, group)
    assert round(row["estimate"], 3) == est
    if se is None:
        assert not row["free"] and np.isnan(row["std_error"])
    else:
        assert round(row["std_error"], 3) == se


def test_metric_fit_and_equal_loadings(ladder):
    res = ladder.fits["metric"]
    assert round(res.fit["chi2"], 3) == 124.044  # lavaan tutorial: 124.044
    assert res.fit["df"] == 54  # lavaan tutorial: 54
    # lavaan tutorial: Chi-square for each group 68.825, 55.219
    assert list(res.group_fit["chi2"].round(3)) == [68.825, 55.219]
    assert res.group_equal == ("loadings",)
    # lavaan tutorial (group.equal = "loadings"), both groups: x2 0.599 (0.100),
    # x3 0.784 (0.108), x5 1.083 (0.067), x8 1.201 (0.155)
    for term, est, se in [("visual =~ x2", 0.599, 0.100), ("visual =~ x3", 0.784, 0.108),
                          ("textual =~ x5", 1.083, 0.067), ("speed =~ x8", 1.201, 0.155)]:
        assert round(res.params[term], 3) == est
        assert round(res.std_errors[term], 3) == se
        for g in res.groups:
            assert _row(res, term, g)["estimate"] == res.params[term]
            assert _row(res, term, g)["param"] == term
    # Group-specific parameters keep a group suffix: lavaan tutorial, Grant-White
    # visual ~~ textual 0.437 (0.099), x1 ~1 4.930 (0.097); Pasteur x1 ~~ x1 0.551 (0.137)
    assert round(res.params["visual ~~ textual [Grant-White]"], 3) == 0.437
    assert round(res.std_errors["visual ~~ textual [Grant-White]"], 3) == 0.099
    assert round(res.params["x1 ~1 [Grant-White]"], 3) == 4.930
    assert round(res.std_errors["x1 ~1 [Grant-White]"], 3) == 0.097
    assert round(res.params["x1 ~~ x1 [Pasteur]"], 3) == 0.551
    assert round(res.std_errors["x1 ~~ x1 [Pasteur]"], 3) == 0.137


def test_invariance_table_matches_semtools(ladder):
    t = ladder.table
    assert isinstance(ladder, InvarianceResult)
    assert list(t.index) == ["configural", "metric", "scalar", "means"]
    # semTools measurementInvariance on the lavaan tutorial page:
    # chisq, df, cfi, rmsea, bic of Models 1-4
    assert list(t["chi2"].round(3)) == [115.851, 124.044, 164.103, 204.605]
    assert list(t["df"]) == [48, 54, 60, 63]
    assert list(t["cfi"].round(3)) == [0.923, 0.921, 0.882, 0.840]
    assert list(t["rmsea"].round(3)) == [0.097, 0.093, 0.107, 0.122]
    assert list(t["bic"].round(3)) == [7706.822, 7680.771, 7686.588, 7709.969]
    # [Model 1 versus 2] delta.chisq 8.192, df 6, p 0.224, delta.cfi 0.002;
    # [Model 2 versus 3] 40.059, 6, 0.000, 0.038; [Model 3 versus 4] 40.502, 3, 0.000, 0.042
    assert list(t["delta_chi2"].round(3)[1:]) == [8.192, 40.059, 40.502]
    assert list(t["delta_df"][1:]) == [6, 6, 3]
    assert round(t.loc["metric", "delta_p_value"], 3) == 0.224
    assert t.loc["scalar", "delta_p_value"] < 5e-4
    # semTools prints the fall of CFI as a positive number; here it is new - old
    assert list((-t["delta_cfi"][1:]).round(3)) == [0.002, 0.038, 0.042]
    assert np.isnan(t.loc["configural", "delta_chi2"])
    # the LR p-value from its definition
    from scipy import stats
    assert t.loc["metric", "delta_p_value"] == pytest.approx(
        stats.chi2.sf(t.loc["metric", "chi2"] - t.loc["configural", "chi2"], 6))
    assert "metric" in repr(ladder) and "delta_chi2" in str(ladder.summary())


def test_scalar_latent_means_free_in_second_group(ladder):
    res = ladder.fits["scalar"]
    # lavaan convention: latent means 0 in the first group, free in the others
    assert not _row(res, "visual ~1", "Pasteur")["free"]
    assert _row(res, "visual ~1", "Grant-White")["free"]
    assert res.params["x1 ~1"] == _row(res, "x1 ~1", "Pasteur")["estimate"]
    means = ladder.fits["means"]
    assert not _row(means, "visual ~1", "Grant-White")["free"]
    # With equal intercepts and loadings, the implied mean difference of x1 (marker)
    # is the latent mean difference of visual.
    d = res.implied_mean.loc["Grant-White", "x1"] - res.implied_mean.loc["Pasteur", "x1"]
    assert d == pytest.approx(_row(res, "visual ~1", "Grant-White")["estimate"], abs=1e-10)


# ---------------------------------------------------------------------------------
# Internal consistency
# ---------------------------------------------------------------------------------

def test_configural_equals_separate_fits(hs, ladder):
    # With no equality constraints the groups are independent: each group's chi2 and
    # covariance estimates are the single-group fit on its rows (validated elsewhere
    # against lavaan), and the intercepts are the sample means.
    res = ladder.fits["configural"]
    for g in res.groups:
        sub = hs[hs["school"] == g]
        one = fit_cfa(sub, HS_MODEL)
        assert isinstance(one, CFAResult)
        assert res.group_fit.loc[g, "chi2"] == pytest.approx(one.fit["chi2"], rel=1e-8)
        est = one.estimates.set_index("term")["estimate"]
        for term in est.index:
            assert _row(res, term, g)["estimate"] == pytest.approx(est[term], abs=1e-7)
        np.testing.assert_allclose(res.implied_mean.loc[g], sub[X9].mean(), atol=1e-9)


def test_std_lv_metric_is_the_same_model(hs, ladder):
    # std_lv with equal loadings: factor variances 1 in group 1, free elsewhere -- a
    # reparametrization of the marker-identified metric model (same chi2).
    res = fit_cfa(hs, HS_MODEL, group="school", group_equal="loadings", std_lv=True)
    assert res.fit["chi2"] == pytest.approx(ladder.fits["metric"].fit["chi2"], rel=1e-8)
    assert res.fit["df"] == 54
    assert not _row(res, "visual ~~ visual", "Pasteur")["free"]
    assert _row(res, "visual ~~ visual", "Grant-White")["free"]


def test_units_do_not_matter(hs, ladder):
    d = hs.copy()
    d["x1"] = d["x1"] * 1e4 + 5e5
    res = fit_cfa(d, HS_MODEL, group="school", group_equal=["loadings", "intercepts"])
    ref = ladder.fits["scalar"]
    assert res.fit["chi2"] == pytest.approx(ref.fit["chi2"], rel=1e-8)
    assert res.params["visual =~ x2"] == pytest.approx(ref.params["visual =~ x2"] / 1e4,
                                                       rel=1e-6)
    assert res.params["x1 ~1"] == pytest.approx(ref.params["x1 ~1"] * 1e4 + 5e5, rel=1e-9)


def test_lavaan_dotted_names_and_residuals(hs, ladder):
    strict = fit_cfa(hs, HS_MODEL, group="school",
                     group_equal=("loadings", "intercepts", "residuals"))
    assert strict.fit["df"] == 69  # scalar 60 + 9 equal residual variances
    assert strict.fit["chi2"] > ladder.fits["scalar"].fit["chi2"]
    assert _row(strict, "x1 ~~ x1", "Pasteur")["estimate"] == \
        _row(strict, "x1 ~~ x1", "Grant-White")["estimate"]
    lv = fit_cfa(hs, HS_MODEL, group="school", group_equal=["lv.variances"])
    assert lv.group_equal == ("lv_variances",) and lv.fit["df"] == 51


def test_partial_invariance(hs, ladder):
    # lavaan's group.partial: the named parameters are estimated in every group.
    scalar = ladder.fits["scalar"]
    part = fit_cfa(hs, HS_MODEL, group="school", group_equal=["loadings", "intercepts"],
                   group_partial=["x3~1", "x7 ~1"])
    assert part.fit["df"] == scalar.fit["df"] - 2
    assert ladder.fits["metric"].fit["chi2"] < part.fit["chi2"] < scalar.fit["chi2"]
    assert "x3 ~1 [Pasteur]" in part.params and "x3 ~1" not in part.params
    assert "x4 ~1" in part.params  # still equal across groups
    assert part.group_partial == ("x3~1", "x7 ~1")
    # Exempting every free loading from "loadings" is the model without that class
    # (same parameters): same chi2.
    loads = ["visual =~ x2", "visual =~ x3", "textual =~ x5", "textual=~x6",
             "speed =~ x8", "speed =~ x9"]
    a = fit_cfa(hs, HS_MODEL, group="school", group_equal=["loadings", "intercepts"],
                group_partial=loads)
    b = fit_cfa(hs, HS_MODEL, group="school", group_equal=["intercepts"])
    assert a.fit["chi2"] == pytest.approx(b.fit["chi2"], rel=1e-9)
    assert a.fit["df"] == b.fit["df"] == 54
    mi = invariance_test(hs, HS_MODEL, group="school", group_partial=["x3 ~1", "x7 ~1"])
    assert mi.table.loc["scalar", "chi2"] == pytest.approx(part.fit["chi2"], rel=1e-9)
    assert mi.table.loc["metric", "chi2"] == pytest.approx(
        ladder.table.loc["metric", "chi2"], rel=1e-9)


def test_heywood_case_in_one_group():
    # Group A's correlations imply a loading above 1 for v1 (as the single-group test
    # in test_factors.py): the warning names the variable and the group.
    from dtistat.errors import DtiStatWarning

    rng = np.random.default_rng(3)
    lam = np.array([1.1, 0.7, 0.7, 0.6, 0.5])
    R = np.outer(lam, lam)
    np.fill_diagonal(R, 1)
    Z = rng.standard_normal((200, 5))
    Z -= Z.mean(axis=0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(np.cov(Z.T, ddof=0))).T
    a = pd.DataFrame(Z @ np.linalg.cholesky(R).T, columns=[f"v{i}" for i in range(1, 6)])
    b = pd.DataFrame(rng.standard_normal((150, 1)) * 0.7 + rng.standard_normal((150, 5)),
                     columns=a.columns)
    d = pd.concat([a.assign(g="A"), b.assign(g="B")], ignore_index=True)
    with pytest.warns(DtiStatWarning, match=r"Heywood case.*'?v1 \[A\]"):
        res = fit_cfa(d, "F =~ v1 + v2 + v3 + v4 + v5", group="g")
    assert "v1 [A]" in res.heywood and not any(h.endswith("[B]") for h in res.heywood)


def test_input_not_modified_and_deterministic(hs):
    d = hs.copy()
    before = d.copy()
    a = fit_cfa(d, HS_MODEL, group="school", group_equal="loadings")
    b = fit_cfa(d, HS_MODEL, group="school", group_equal="loadings")
    pd.testing.assert_frame_equal(d, before)
    assert a.params.equals(b.params)


# ---------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------

def test_group_column_with_nan(hs):
    d = hs.copy()
    d["school"] = d["school"].astype(object)
    d.loc[d.index[5], "school"] = None
    with pytest.raises(DataError, match=r"group column 'school' has a missing value"):
        fit_cfa(d, HS_MODEL, group="school")


def test_small_group(hs):
    d = pd.concat([hs, hs.head(5).assign(school="Tiny")])
    with pytest.raises(DataError, match=r"5 rows for 9 variables.*group 'Tiny' of 'school'"):
        fit_cfa(d, HS_MODEL, group="school")


def test_constant_indicator_within_group(hs):
    d = hs.copy()
    d.loc[d["school"] == "Pasteur", "x4"] = 3.0
    with pytest.raises(DataError, match=r"'x4' is constant.*group 'Pasteur'"):
        fit_cfa(d, HS_MODEL, group="school")


@pytest.mark.parametrize("kwargs, err, msg", [
    (dict(group="nope"), ColumnError, "group column 'nope' not found"),
    (dict(group="x1"), ColumnError, "also a variable of the model"),
    (dict(group="school", group_equal="slopes"), ParameterError, "'slopes' is not one of"),
    (dict(group_equal="loadings"), ParameterError, "need group="),
    (dict(group_partial="x3 ~1"), ParameterError, "need group="),
    (dict(group="school", group_equal="intercepts", group_partial="x3 ~~ x4"),
     ParameterError, "'x3 ~~ x4' is not a parameter"),
    (dict(group="school", group_partial=[1]), ParameterError, "group_partial must be"),
    (dict(group="school", group_equal=3), ParameterError, "group_equal must be"),
])
def test_bad_arguments(hs, kwargs, err, msg):
    with pytest.raises(err, match=msg):
        fit_cfa(hs, HS_MODEL, **kwargs)


def test_collinear_within_a_group_and_unidentified(hs):
    d = hs.copy()
    m = d["school"] == "Pasteur"
    d.loc[m, "x3"] = 2 * d.loc[m, "x1"] + d.loc[m, "x2"]
    with pytest.raises(DataError, match=r"in group 'Pasteur' of 'school'.*'x3' is a "
                                        r"linear combination"):
        fit_cfa(d, HS_MODEL, group="school")
    # All intercepts of visual's indicators free while its mean is free in group 2
    with pytest.raises(EstimationError, match=r"not identified.*group 'Grant-White'"):
        fit_cfa(hs, HS_MODEL, group="school", group_equal=["loadings", "intercepts"],
                group_partial=["x1 ~1", "x2 ~1", "x3 ~1"])


def test_single_group_and_labels_refused(hs):
    with pytest.raises(DataError, match="single value"):
        fit_cfa(hs.assign(one="a"), HS_MODEL, group="one")
    with pytest.raises(SpecError, match="label 'a'.*group_equal"):
        fit_cfa(hs, "visual =~ x1 + a*x2 + x3", group="school")
    with pytest.raises(DtiStatError, match="steps must be"):
        invariance_test(hs, HS_MODEL, group="school", steps=("configural", "weak"))


def test_configural_against_semopy(hs, ladder):
    # semopy's multigroup() fits the groups separately (configural only, no equality
    # constraints across groups); with a tight gradient solver (its default stops
    # early, x2 0.393824) it reaches the same optimum: loadings and their SEs.
    from semopy.multigroup import multigroup

    ref = multigroup(HS_MODEL, hs, "school", solver="L-BFGS-B",
                     options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
    res = ladder.fits["configural"]
    for g in res.groups:
        est = ref.estimates[g]
        ld = est[(est["op"] == "~") & (est["Std. Err"] != "-")]
        for x, f, b, s in zip(ld["lval"], ld["rval"], ld["Estimate"], ld["Std. Err"],
                              strict=True):
            row = _row(res, f"{f} =~ {x}", g)
            assert row["estimate"] == pytest.approx(float(b), abs=2e-5)
            assert row["std_error"] == pytest.approx(float(s), abs=2e-5)


def test_cli_invariance_table(hs, ladder, tmp_path, capsys):
    from dtistat.cli import main

    hs.to_csv(tmp_path / "hs.csv", index=False)
    model = HS_MODEL.splitlines()
    rc = main(["cfa", str(tmp_path / "hs.csv"), "--model", *model, "--group", "school",
               "--invariance", "--out", str(tmp_path / "o")])
    assert rc == 0
    assert "| metric | 124.044 | 54 |" in capsys.readouterr().out
    tab = pd.read_csv(tmp_path / "o" / "tables" / "invariance.csv")
    np.testing.assert_allclose(tab["chi2"], ladder.table["chi2"][:3], rtol=1e-12)
    rc = main(["cfa", str(tmp_path / "hs.csv"), "--model", *model, "--group", "school",
               "--group-equal", "loadings", "--out", str(tmp_path / "o2")])
    assert rc == 0
    est = pd.read_csv(tmp_path / "o2" / "tables" / "estimates.csv")
    np.testing.assert_allclose(est["estimate"], ladder.fits["metric"].estimates["estimate"],
                               rtol=1e-12)
    assert main(["cfa", str(tmp_path / "hs.csv"), "--model", *model, "--invariance",
                 "--out", str(tmp_path / "o3")]) == 2
    assert "need --group" in capsys.readouterr().err


# ---------------------------------------------------------------------------------
# The engine: derivatives from their definitions, three groups with a structural path
# ---------------------------------------------------------------------------------

SEM3 = "f1 =~ a1 + a2 + a3\nf2 =~ b1 + b2 + b3\nf2 ~ f1"


@pytest.fixture(scope="module")
def three_groups():
    rng = np.random.default_rng(7)

    def sim(n, shift):
        f1 = rng.normal(size=n) + shift
        f2 = 0.5 * f1 + 0.8 * rng.normal(size=n) + shift
        d = {}
        for k, lam in enumerate([1.0, 0.8, 0.7]):
            d[f"a{k + 1}"] = lam * f1 + 0.6 * rng.normal(size=n) + k
            d[f"b{k + 1}"] = lam * f2 + 0.6 * rng.normal(size=n) - k
        return pd.DataFrame(d)

    return pd.concat([sim(120, 0.0).assign(g="A"), sim(100, 0.5).assign(g="B"),
                      sim(90, -0.3).assign(g="C")], ignore_index=True)


def _engine(data, eq):
    from dtistat import _cfa
    from dtistat import _cfa_groups as cg

    gm = cg.build_groups(_cfa.parse_model(SEM3), data.columns, 3, group_equal=eq)
    Ss, ys, ns = [], [], []
    for g in "ABC":
        X = data.loc[data["g"] == g, gm.observed].to_numpy(float)
        Ss.append(np.cov(X.T, bias=True))
        ys.append(X.mean(axis=0))
        ns.append(len(X))
    return cg, gm, Ss, ys, ns


def test_gradient_and_information_from_definitions(three_groups):
    cg, gm, Ss, ys, ns = _engine(three_groups, ("loadings", "intercepts"))
    th = cg.fit_groups(gm, Ss, ys, ns)["theta"]
    th = th + 0.05 * np.random.default_rng(1).normal(size=gm.n_free)
    w = np.array(ns) / sum(ns)
    multi = cg._MultiRAM(gm, [cg._GroupRAM(m, S, y) for m, S, y in
                              zip(gm.models, Ss, ys, strict=True)], w)
    g, _ = multi.grad_info(th)
    eye = np.eye(gm.n_free)
    num = np.array([(multi.fml(th + 1e-6 * e) - multi.fml(th - 1e-6 * e)) / 2e-6
                    for e in eye])
    np.testing.assert_allclose(g, num, atol=1e-7)
    # At an exact fit (sample moments = implied moments) the expected information is
    # the Hessian of F: check it by differencing the analytic gradient.
    exact = [cg._GroupRAM(m, *r.implied(th)[:2]) for m, r in
             zip(gm.models, multi.rams, strict=True)]
    fit0 = cg._MultiRAM(gm, exact, w)
    _, H = fit0.grad_info(th)
    Hn = np.array([(fit0.grad_info(th + 1e-6 * e)[0] - fit0.grad_info(th - 1e-6 * e)[0])
                   / 2e-6 for e in eye])
    np.testing.assert_allclose(H, Hn, atol=1e-6)


def test_three_groups_with_a_structural_path(three_groups):
    conf = fit_cfa(three_groups, SEM3, group="g")
    for g in "ABC":  # configural = separate single-group fits
        one = fit_cfa(three_groups[three_groups["g"] == g], SEM3)
        assert conf.group_fit.loc[g, "chi2"] == pytest.approx(one.fit["chi2"], rel=1e-8)
        b = one.estimates.set_index("term").loc["f2 ~ f1", "estimate"]
        assert _row(conf, "f2 ~ f1", g)["estimate"] == pytest.approx(b, abs=1e-7)
    p = 6
    assert conf.fit["df"] == 3 * (p * (p + 1) // 2 + p) - 3 * 19
    scal = fit_cfa(three_groups, SEM3, group="g", group_equal=["loadings", "intercepts"])
    # 4 free loadings and 6 intercepts shared; f1 mean and f2 intercept free in B, C
    assert scal.fit["df"] == conf.fit["df"] + 2 * 4 + 2 * 6 - 2 * 2
    assert _row(scal, "f2 ~1", "B")["free"] and not _row(scal, "f2 ~1", "A")["free"]
    reg = fit_cfa(three_groups, SEM3, group="g",
                  group_equal=["loadings", "intercepts", "regressions"])
    assert reg.params["f2 ~ f1"] == _row(reg, "f2 ~ f1", "C")["estimate"]
    assert reg.fit["df"] == scal.fit["df"] + 2


# ---------------------------------------------------------------------------------
# Score tests for releasing equality constraints (partial invariance)
# ---------------------------------------------------------------------------------

def test_score_tests_against_likelihood_ratios(hs, ladder):
    # The 1-df score statistic and the LR statistic of releasing the same constraint
    # are asymptotically equal; on HS they agree within 30% and rank the intercepts of
    # x3 and x7 first (the lavaan tutorial's group.partial example frees x7 ~1).
    scalar = ladder.fits["scalar"]
    sc = scalar.score_tests()
    assert len(sc) == 15 and set(sc["kind"]) == {"loadings", "intercepts"}
    assert list(sc["param"][:2]) == ["x3 ~1", "x7 ~1"]
    assert (sc["group"] == "Grant-White").all() and (sc["df"] == 1).all()
    for name, stat in zip(sc["param"][:4], sc["statistic"][:4], strict=True):
        part = fit_cfa(hs, HS_MODEL, group="school",
                       group_equal=["loadings", "intercepts"], group_partial=[name])
        lr = scalar.fit["chi2"] - part.fit["chi2"]
        assert stat == pytest.approx(lr, rel=0.3), name
    from scipy import stats
    np.testing.assert_allclose(sc["p_value"], stats.chi2.sf(sc["statistic"], 1))
    assert ladder.fits["configural"].score_tests().empty  # nothing held equal


def test_score_tests_do_not_depend_on_which_group_is_released(hs, ladder):
    # With two groups, freeing Grant-White's intercept or Pasteur's is the same model
    # change: the statistic must not depend on the group order. (Not so for a loading:
    # the factor means are 0 in the first group, so a group-specific loading also
    # carries that group's mean difference -- the LR statistics differ too.)
    flipped = pd.concat([hs[hs["school"] == "Grant-White"], hs[hs["school"] == "Pasteur"]])
    res = fit_cfa(flipped, HS_MODEL, group="school", group_equal=["loadings", "intercepts"])
    assert res.groups == ("Grant-White", "Pasteur")
    assert res.fit["chi2"] == pytest.approx(ladder.fits["scalar"].fit["chi2"], rel=1e-9)
    a = ladder.fits["scalar"].score_tests().query("kind == 'intercepts'")
    b = res.score_tests().set_index("param")["statistic"]
    np.testing.assert_allclose(b.loc[a["param"]], a["statistic"], rtol=1e-6)
    assert (res.score_tests()["group"] == "Pasteur").all()


def test_score_tests_three_groups(three_groups):
    res = fit_cfa(three_groups, SEM3, group="g", group_equal=["loadings", "intercepts"])
    sc = res.score_tests()
    assert len(sc) == 2 * (4 + 6)  # groups B and C x (4 loadings + 6 intercepts)
    assert set(sc["group"]) == {"B", "C"}
