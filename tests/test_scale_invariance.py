"""Scale invariance at the edges of floating point (issue #21 item 5).

Methods whose result does not depend on a column's units must give the same numbers
(up to rounding) for data multiplied by 1e-300 ... 1e300, or refuse with a DtiStatError
saying the values are out of range; constancy is relative to a column's magnitude.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from semopy.examples import holzinger39

from dtistat import (
    IndexSpec,
    bartlett_sphericity,
    compute_index,
    fit_efa,
    fit_mediation,
    fit_panel,
    kmo,
    parallel_analysis,
)
from dtistat.errors import DataError, DtiStatError, DtiStatWarning
from dtistat.index import weights

SCALES = [1e-300, 1e-13, 1.0, 1e13, 1e300]
X9 = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(autouse=True)
def _no_numpy_warnings():
    # overflow / underflow / invalid RuntimeWarnings were the symptom: make them fail
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger39.get_data()[X9]


# ---------------------------------------------------------------------------------
# compute_index
# ---------------------------------------------------------------------------------

SPEC = {"name": "t", "children": [{"name": "x1"}, {"name": "x2"}]}


def test_base_share_near_the_largest_float():
    # Before: the base total 1.5e308 + 1.5e308 overflowed and every share was 0.0.
    spec = IndexSpec.from_dict(SPEC)
    df = pd.DataFrame({"city": list("ABAB"), "quarter": ["2021Q1"] * 2 + ["2021Q2"] * 2,
                       "x1": [1.5e308, 1.5e308, 1.5e308, 0.75e308], "x2": [1.0, 3, 2, 2]})
    out = compute_index(df, spec).normalized.sort_index()
    np.testing.assert_array_equal(out["x1"], [0.5, 0.5, 0.5, 0.25])  # A1 A2 B1 B2
    np.testing.assert_array_equal(out["x2"], [0.25, 0.5, 0.75, 0.5])


@pytest.mark.parametrize("norm", ["base_share", "minmax", "zscore", "rank",
                                  "distance_to_frontier"])
@pytest.mark.parametrize("scale", SCALES + [1.5e308 / 7])
def test_compute_index_is_scale_invariant(norm, scale):
    spec = IndexSpec.from_dict(SPEC)
    df = pd.DataFrame({"city": list("ABCABC"), "quarter": ["2021Q1"] * 3 + ["2021Q2"] * 3,
                       "x1": [1.0, 2, 3, 4, 5, 7], "x2": [3.0, 2, 1, 1, 2, 3]})
    base = compute_index(df, spec, normalization=norm)
    res = compute_index(df.assign(x1=df["x1"] * scale), spec, normalization=norm)
    np.testing.assert_allclose(res.normalized[["x1", "x2"]],
                               base.normalized[["x1", "x2"]], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("scale", SCALES)
def test_index_constancy_is_relative_to_magnitude(scale):
    # 1 + 1e-15 is rounding noise around 1 at any scale: "constant", not a z-score of
    # +-0.7; a genuine spread of 1e-300 between values of 1e-300 is variation.
    spec = IndexSpec.from_dict(SPEC)
    df = pd.DataFrame({"city": list("ABC"), "quarter": ["2021Q1"] * 3,
                       "x1": np.array([1.0, 1.0 + 2e-16, 1.0 + 4e-16]) * scale,
                       "x2": np.array([3.0, 2, 1]) * scale})
    for norm in ("minmax", "zscore"):
        with pytest.raises(DataError, match="'x1'.*(constant|no variation)"):
            compute_index(df, spec, normalization=norm)
    ok = compute_index(df.assign(x1=np.array([1.0, 2, 4]) * scale), spec,
                       normalization="zscore")
    np.testing.assert_allclose(ok.normalized["x1"], [-0.8728715609439696,
                                                     -0.2182178902359924,
                                                     1.0910894511799618], rtol=1e-13)


# ---------------------------------------------------------------------------------
# objective weights
# ---------------------------------------------------------------------------------

W_DATA = pd.DataFrame({"a": [1.0, 2, 3, 4, 7], "b": [2.0, 4, 5, 9, 1],
                       "c": [3.0, 1, 2, 1, 8]})


@pytest.mark.parametrize("scheme", ["entropy", "critic", "cv", "pca"])
@pytest.mark.parametrize("scale", SCALES + [1.7e308 / 9])
def test_objective_weights_are_scale_invariant(scheme, scale):
    f = getattr(weights, scheme)
    base = f(W_DATA)
    # one column at the extreme scale, the others as they are
    res = f(W_DATA.assign(b=W_DATA["b"] * scale))
    pd.testing.assert_series_equal(res, base, rtol=1e-13)
    res = f(W_DATA * scale)
    pd.testing.assert_series_equal(res, base, rtol=1e-13)


@pytest.mark.parametrize("scale", SCALES)
def test_weights_constancy_is_relative(scale):
    d = W_DATA.assign(b=(1.0 + np.arange(5) * 2e-16) * scale)
    with pytest.raises(DataError, match="'b' is constant"):
        weights.pca(d)
    with pytest.raises(DataError, match="'b' is constant"):
        weights.entropy(d)


# ---------------------------------------------------------------------------------
# factor functions
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", SCALES)
def test_factor_functions_are_scale_invariant(hs, scale):
    # Before: kmo on data x 1e300 was NaN; data x 1e-13 and 1e-300 were "constant".
    d = hs * scale
    assert kmo(d).overall == pytest.approx(kmo(hs).overall, rel=1e-12)
    assert bartlett_sphericity(d).statistic == pytest.approx(
        bartlett_sphericity(hs).statistic, rel=1e-12)
    pa, pa0 = (parallel_analysis(x, n_iter=50, seed=3) for x in (d, hs))
    np.testing.assert_allclose(pa.observed, pa0.observed, rtol=1e-12)
    assert pa.n_factors == pa0.n_factors
    efa, efa0 = (fit_efa(x, n_factors=3, method="ml") for x in (d, hs))
    np.testing.assert_allclose(efa.loadings, efa0.loadings, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(efa.scores, efa0.scores, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("scale", SCALES)
def test_factor_constancy_is_relative(hs, scale):
    d = (hs * scale).assign(c=(5.0 + np.arange(len(hs)) % 2 * 8e-16) * scale)
    with pytest.raises(DataError, match="'c' is constant"):
        kmo(d)


# ---------------------------------------------------------------------------------
# survey weights
# ---------------------------------------------------------------------------------

RAKE_DATA = pd.DataFrame({"sex": ["F", "F", "M", "M", "M"],
                          "age": ["young", "old", "young", "old", "old"]})


@pytest.mark.parametrize("scale", SCALES + [1.2e306])
def test_rake_is_equivariant_in_the_targets_unit(scale):
    # Before: targets near 1e308 gave all-NaN weights reported as converged; near
    # 1e-300 a 0/0 design effect.
    from dtistat import rake

    margins = {"sex": {"F": 50.0, "M": 50.0}, "age": {"young": 40.0, "old": 60.0}}
    base = rake(RAKE_DATA, margins)
    w = rake(RAKE_DATA, {k: {c: v * scale for c, v in m.items()}
                         for k, m in margins.items()})
    np.testing.assert_allclose(w / scale, base, rtol=1e-14)
    rep, rep0 = w.attrs["rake"], base.attrs["rake"]
    assert rep.converged
    assert rep.design_effect == pytest.approx(rep0.design_effect, rel=1e-14)
    assert rep.total / scale == pytest.approx(100.0, rel=1e-14)
    np.testing.assert_allclose(rep.margins["achieved"] / scale, rep0.margins["achieved"],
                               rtol=1e-14)


def test_rake_targets_beyond_the_float_range_are_refused():
    from dtistat import rake

    with pytest.raises(DataError, match="margin 'sex' sum to more than the largest"):
        rake(RAKE_DATA, {"sex": {"F": 1e308, "M": 1e308},
                         "age": {"young": 1e308, "old": 1e308}})
    with pytest.raises(DtiStatError, match="total must be a positive finite"):
        rake(RAKE_DATA, {"sex": {"F": 0.5, "M": 0.5}}, total=float("inf"))


@pytest.mark.parametrize("scale", SCALES + [1.7e308 / 4])
def test_kish_design_effect_is_scale_free(scale):
    from dtistat import effective_n, kish_deff

    w = np.array([1.0, 1.0, 2.0, 4.0])
    assert kish_deff(w * scale) == pytest.approx(1.375, rel=1e-14)
    assert effective_n(w * scale) == pytest.approx(64 / 22, rel=1e-14)


# ---------------------------------------------------------------------------------
# regressions: fit_panel, fit_mediation
# ---------------------------------------------------------------------------------

def _panel(n: int = 30, T: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"id": np.repeat(np.arange(n), T),
                      "t": np.tile(np.arange(2000, 2000 + T), n)})
    d["x"] = rng.normal(size=len(d))
    d["m"] = 0.5 * d["x"] + rng.normal(size=len(d))
    d["y"] = d["x"] + d["m"] + rng.normal(size=len(d)) + np.repeat(rng.normal(size=n), T)
    return d


PANEL_SPECS = [("within", "entity", "cluster"), ("within", "twoway", "driscoll-kraay"),
               ("pooled", "entity", "robust"), ("random", "entity", "unadjusted"),
               ("random", "entity", "cluster"), ("between", "entity", "robust"),
               ("fd", "entity", "cluster")]


@pytest.mark.parametrize(("model", "fe", "cov"), PANEL_SPECS)
@pytest.mark.parametrize("scale", [1e-150, 1e-100, 1e-13, 1e13, 1e100, 1e150 / 7])
def test_fit_panel_is_scale_equivariant(model, fe, cov, scale):
    # Before: a ZeroDivisionError (1e-100), an OverflowError (1e100) in the overall R²
    # and inf t statistics from the cluster meat's fourth powers; random effects
    # dropped a regressor in 1e-13 units as rank deficient (t statistics off by 3e-3).
    d = _panel()
    kw = {"entity": "id", "time": "t", "model": model, "fe": fe, "cov": cov}
    if cov == "cluster":
        kw["cluster"] = "id"
    base = fit_panel(d, "y ~ x + m", **kw)
    for cols in (["y"], ["x", "m", "y"], ["x"]):
        res = fit_panel(d.assign(**{c: d[c] * scale for c in cols}), "y ~ x + m", **kw)
        np.testing.assert_allclose(res.tidy()["statistic"], base.tidy()["statistic"],
                                   rtol=1e-12)
        np.testing.assert_allclose(res.r2_overall, base.r2_overall, rtol=1e-12)
        f = (scale if "y" in cols else 1.0) / (scale if "x" in cols else 1.0)
        assert res.params["x"] == pytest.approx(base.params["x"] * f, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e-151, 1e151, 1e300])
def test_fit_panel_out_of_range_says_so(scale):
    # Before: "collinear" / "absorbed by the fixed effects" or a raw overflow
    d = _panel()
    with pytest.raises(DataError, match="'y' has values of magnitude .* between 1e-150 "
                                        "and 1e150"):
        fit_panel(d.assign(y=d["y"] * scale), "y ~ x + m", entity="id", time="t")
    with pytest.raises(DataError, match="'x' has values of magnitude"):
        fit_mediation(d.assign(x=d["x"] * scale), x="x", m="m", y="y", entity="id",
                      time="t", fe="twoway", n_boot=1000, seed=1)  # refused before drawing


@pytest.mark.parametrize("scale", [1e-149, 1e-13, 1e13, 1e148])
def test_fit_mediation_is_scale_equivariant(scale):
    # Before: a treatment in 1e-13 units "has no variation"; at 1e-150 the BCa
    # acceleration overflowed (a raw ValueError from numpy's percentile).
    d = _panel(40)
    kw = {"x": "x", "m": "m", "y": "y", "entity": "id", "time": "t", "fe": "twoway",
          "n_boot": 199, "seed": 1, "cluster": "id"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)  # n_boot small for BCa
        base = fit_mediation(d, **kw).tidy()
        for cols in (["y"], ["x", "m", "y"], ["x"]):
            res = fit_mediation(d.assign(**{c: d[c] * scale for c in cols}), **kw).tidy()
            np.testing.assert_allclose(res["statistic"], base["statistic"], rtol=1e-12)
            # the bootstrap draws are the same: the interval bounds scale exactly
            k = (res["estimate"] / base["estimate"]).to_numpy()
            np.testing.assert_allclose(res["ci_low"], base["ci_low"] * k, rtol=1e-10)


# ---------------------------------------------------------------------------------
# the same class elsewhere: TOPSIS, sigma convergence, drivers, IV
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", SCALES)
def test_topsis_and_sigma_convergence_are_scale_free(scale):
    # Before: TOPSIS called a column x 1e-300 "all zero" and overflowed at 1e300;
    # sigma convergence overflowed in the SD at 1e300.
    from dtistat import sigma_convergence, topsis

    d = _panel().assign(a=lambda f: np.exp(f["x"]), b=lambda f: np.exp(f["m"]),
                        v=lambda f: np.exp(f["y"] / 3))
    base = topsis(d, ["a", "b"], weights=[0.5, 0.5]).table["score"]
    res = topsis(d.assign(a=d["a"] * scale), ["a", "b"], weights=[0.5, 0.5])
    np.testing.assert_allclose(res.table["score"], base, rtol=1e-13)
    s0 = sigma_convergence(d, value="v", entity="id", time="t").table
    s1 = sigma_convergence(d.assign(v=d["v"] * scale), value="v", entity="id",
                           time="t").table
    np.testing.assert_allclose(s1[["cv", "sd_log"]], s0[["cv", "sd_log"]], rtol=1e-12)
    np.testing.assert_allclose(s1["sd"] / scale, s0["sd"], rtol=1e-13)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_drivers_and_iv_out_of_range_say_so(scale):
    # Before: "'y' is constant" / "collinear" at 1e-300, an overflow at 1e300
    from dtistat import fit_drivers, fit_iv

    d = _panel()
    d = d.assign(y=d["y"] * scale)
    with pytest.raises(DataError, match="'y' has values of magnitude"):
        fit_drivers(d, "y", ["x", "m"])
    with pytest.raises(DataError, match="'y' has values of magnitude"):
        fit_iv(d, y="y", endog="x", instruments="m")


@pytest.mark.parametrize("scale", [1e-100, 1e-13, 1e13, 1e100])
def test_drivers_and_iv_are_scale_equivariant(scale):
    from dtistat import fit_drivers, fit_iv

    d = _panel()
    for cols in (["y"], ["x", "m", "y"]):
        dd = d.assign(**{c: d[c] * scale for c in cols})
        a, b = fit_iv(dd, y="y", endog="x", instruments="m"), \
            fit_iv(d, y="y", endog="x", instruments="m")
        np.testing.assert_allclose(a.tidy()["statistic"], b.tidy()["statistic"],
                                   rtol=1e-10)
        a = fit_drivers(dd, "y", ["x", "m"]).coefficients
        b = fit_drivers(d, "y", ["x", "m"]).coefficients
        # atol: the standardized intercept is zero up to rounding (t ~ 1e-16)
        np.testing.assert_allclose(a["statistic"], b["statistic"], rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("scale", [1e-100, 1e-13, 1e13, 1e100])
@pytest.mark.parametrize("cov", ["unadjusted", "robust", "cluster"])
def test_iv_diagnostics_are_scale_free(scale, cov):
    # Before: the Kleibergen-Paap rk and the C/J tests raised a raw LinAlgError
    # ("Singular matrix") at 1e-100, their moment covariances underflowing.
    from dtistat import fit_iv

    d = _panel()
    d["z2"] = d["m"] + np.random.default_rng(1).normal(size=len(d))
    kw = {"y": "y", "endog": "x", "instruments": ["m", "z2"], "cov": cov}
    if cov == "cluster":
        kw["cluster"] = "id"
    base = fit_iv(d, **kw).diagnostics.tests
    res = fit_iv(d.assign(**{c: d[c] * scale for c in ("x", "m", "z2", "y")}),
                 **kw).diagnostics.tests
    assert set(res) == set(base)
    for name, t in base.items():
        if t is not None and np.isfinite(t.statistic):
            assert res[name].statistic == pytest.approx(t.statistic, rel=1e-8), name


@pytest.mark.parametrize("scale", [1e-100, 1e-13, 1e6, 1e13, 1e100])
def test_fit_ordered_is_scale_equivariant(scale):
    # Before: regressors in millions gave t statistics off by a factor 4 (the
    # finite-difference Hessian used absolute steps), in 1e-13 units estimates of 0
    # with cut points' t off by 60x, at 1e100 statsmodels' "There should not be a
    # constant in the model".
    from dtistat import fit_ordered

    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x": rng.normal(size=320), "x2": rng.normal(size=320),
                      "d": rng.integers(0, 2, size=320).astype(float)})
    d["yo"] = pd.cut(d["x"] + 0.5 * d["d"] + rng.logistic(size=320),
                     [-np.inf, -0.5, 0.5, np.inf], labels=False)
    base = fit_ordered(d, "yo ~ x + x2 + d")
    res = fit_ordered(d.assign(x=d["x"] * scale, x2=d["x2"] * scale), "yo ~ x + x2 + d")
    np.testing.assert_allclose(res.coefficients["statistic"],
                               base.coefficients["statistic"], rtol=1e-6)
    f = np.array([scale, scale, 1.0, 1.0, 1.0])  # x, x2 slopes in 1/scale; d, cuts not
    np.testing.assert_allclose(res.coefficients["estimate"] * f,
                               base.coefficients["estimate"], rtol=1e-6)
    me, me0 = res.marginal_effects, base.marginal_effects
    g = np.where(me["term"].isin(["x", "x2"]), scale, 1.0)
    np.testing.assert_allclose(me["estimate"] * g, me0["estimate"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(me["std_error"] * g, me0["std_error"], rtol=1e-5)
    assert res.loglike == pytest.approx(base.loglike, rel=1e-9)


def _did_panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n, T = 40, 8
    d = pd.DataFrame({"id": np.repeat(np.arange(n), T),
                      "t": np.tile(np.arange(2000, 2000 + T), n)})
    d["x"] = rng.normal(size=len(d))
    d["q"] = rng.uniform(size=len(d))
    d["y"] = d["x"] * (1 + (d["q"] > 0.5)) + rng.normal(size=len(d))
    d["tt"] = np.repeat(np.where(np.arange(n) < 15, 2004,
                                 np.where(np.arange(n) < 25, 2006, 0)), T)
    d["v"] = np.exp(d["y"] / 3)
    return d


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_threshold_did_psm_out_of_range_say_so(scale):
    # Before: fit_threshold "the base design is singular (collinear regressors)", fit_did
    # silently different numbers at 1e-300 and overflow at 1e300, psm_did "a covariate
    # has no variation" / overflow.
    from dtistat import fit_did, fit_threshold, psm_did

    d = _did_panel()
    d["y"] = d["y"] * scale
    with pytest.raises(DataError, match="'y' has values of magnitude"):
        fit_threshold(d, y="y", x=[], threshold_var="q", regime_vars="x", entity="id",
                      time="t", n_boot=0, grid=50)
    with pytest.raises(DataError, match="'y' has values of magnitude"):
        fit_did(d, y="y", treat_time="tt", entity="id", time="t", n_boot=0)
    with pytest.raises(DataError, match="'y' has values of magnitude"):
        psm_did(d, y="y", treat_time="tt", entity="id", time="t", covariates=["x"])


@pytest.mark.parametrize("scale", [1e-100, 1e-13, 1e13, 1e100])
def test_threshold_is_scale_equivariant(scale):
    # Before: a regime variable in 1e-13 units "has no variation within entities"
    from dtistat import fit_threshold

    d = _did_panel()
    kw = {"y": "y", "x": [], "threshold_var": "q", "regime_vars": "x", "entity": "id",
          "time": "t", "n_boot": 0, "grid": 50}
    base = fit_threshold(d, **kw).tidy()
    res = fit_threshold(d.assign(x=d["x"] * scale, y=d["y"] * scale), **kw).tidy()
    np.testing.assert_allclose(res["statistic"], base["statistic"], rtol=1e-8)


@pytest.mark.parametrize("scale", SCALES)
def test_kernel_density_is_scale_equivariant(scale):
    # Before: "the values have no spread" at 1e-300 (the SD underflowed), an overflow
    # at 1e300
    from dtistat import kernel_density

    d = _did_panel()
    base = kernel_density(d, value="v", entity="id", time="t")
    res = kernel_density(d.assign(v=d["v"] * scale), value="v", entity="id", time="t")
    np.testing.assert_allclose(res.bandwidths / scale, base.bandwidths, rtol=1e-12)
    np.testing.assert_allclose(res.density.to_numpy() * scale, base.density.to_numpy(),
                               rtol=1e-9, atol=1e-12)


def _stl():
    import libpysal
    from libpysal import examples

    w = libpysal.io.open(examples.get_path("stl.gal")).read()
    w.transform = "r"
    df = pd.read_csv(examples.get_path("stl_hom.csv"))
    long = pd.DataFrame({
        "i": np.tile(w.id_order, 3), "t": np.repeat([1984, 1988, 1993], 78),
        "hr": np.r_[df.HR7984, df.HR8488, df.HR8893],
        "rd": np.r_[df.RDAC80, df.RDAC85, df.RDAC90],
        "pe": np.r_[df.PE77, df.PE82, df.PE87]})
    return w, long


@pytest.mark.parametrize("scale", [1e-70, 1e13])
def test_fit_spatial_is_scale_equivariant(scale):
    # Before: a ZeroDivisionError (1e-100) / OverflowError (1e100) in the information
    # of sigma², "collinear" at 1e-300.
    from dtistat import fit_spatial

    w, long = _stl()
    for model, rtol in (("sar", 1e-10), ("sdm", 1e-10), ("sem", 1e-5)):
        # sem: lambda comes from a bounded Brent search (xatol 1e-10, no polish as for
        # rho), so its t statistics move by ~1e-6 with the rounding of other units
        kw = {"entity": "i", "time": "t", "w": w, "model": model}
        base = fit_spatial(long, "hr", ["rd", "pe"], **kw).tidy()
        for cols in (["hr"], ["hr", "rd", "pe"]):
            res = fit_spatial(long.assign(**{c: long[c] * scale for c in cols}), "hr",
                              ["rd", "pe"], **kw).tidy()
            np.testing.assert_allclose(res["statistic"], base["statistic"], rtol=rtol)


@pytest.mark.parametrize("scale", [1e-100, 1e100, 1e300])
def test_fit_spatial_out_of_range_says_so(scale):
    from dtistat import fit_spatial

    w, long = _stl()
    with pytest.raises(DataError, match="'hr' has values of magnitude.*1e-75 and 1e75"):
        fit_spatial(long.assign(hr=long["hr"] * scale), "hr", ["rd", "pe"], entity="i",
                    time="t", w=w, model="sar")


def test_spatial_random_effects_and_sac_are_scale_free():
    # Before: random effects called regressors in 1e13 units "collinear with the
    # constant" (matrix_rank of unequilibrated columns); SAC's nested searches saw
    # log-likelihood values shifted by n log(units²), which moved its t statistics by
    # 3e-5 at 1e13. For SAC units of a power of two are now exact; otherwise results
    # agree to the searches' own precision (a 1e-12 perturbation of y moves SAC by
    # ~2e-7; random effects search phi on the log-likelihood itself, ~2e-7 too).
    from dtistat import fit_spatial

    w, long = _stl()
    for model, fe, rtol, rtol2 in (("sar", "random", 1e-6, 1e-6),
                                   ("sac", "twoway", 1e-5, 1e-10)):
        kw = {"entity": "i", "time": "t", "w": w, "model": model, "fe": fe}
        base = fit_spatial(long, "hr", ["rd", "pe"], **kw).tidy()["statistic"]
        two = fit_spatial(long.assign(hr=long["hr"] * 2.0**40), "hr", ["rd", "pe"],
                          **kw).tidy()["statistic"]
        np.testing.assert_allclose(two, base, rtol=rtol2)
        res = fit_spatial(long.assign(hr=long["hr"] * 1e13, rd=long["rd"] * 1e13),
                          "hr", ["rd", "pe"], **kw).tidy()["statistic"]
        np.testing.assert_allclose(res, base, rtol=rtol)


@pytest.mark.parametrize("scale", SCALES)
def test_spatial_autocorrelation_statistics_are_scale_free(scale):
    # Before: "the variable is constant" at 1e-300 (z² underflowed) and overflows at
    # 1e300 in Moran's I, Geary's C (kurtosis z⁴), local Moran (SD) and Getis-Ord (y²).
    from dtistat import geary, getis_ord, local_moran, moran

    w, long = _stl()
    one = long[long["t"] == 1984]
    kw = {"data": one, "entity": "i", "permutations": 0}
    a, b = moran("hr", w, **kw).table, moran("hr", w, **{**kw, "data": one.assign(
        hr=one["hr"] * scale)}).table
    np.testing.assert_allclose(b[["statistic", "z_rand"]], a[["statistic", "z_rand"]],
                               rtol=1e-12)
    a, b = geary("hr", w, **kw).table, geary("hr", w, **{**kw, "data": one.assign(
        hr=one["hr"] * scale)}).table
    np.testing.assert_allclose(b[["statistic", "z_rand"]], a[["statistic", "z_rand"]],
                               rtol=1e-12)
    y = one.set_index("i").loc[list(w.id_order), "hr"].to_numpy()
    a, b = local_moran(y, w, permutations=0).table, local_moran(y * scale, w,
                                                                permutations=0).table
    np.testing.assert_allclose(b["Is"], a["Is"], rtol=1e-12, atol=1e-14)
    a, b = getis_ord(y, w, permutations=0).table, getis_ord(y * scale, w,
                                                            permutations=0).table
    np.testing.assert_allclose(b[["G", "z"]], a[["G", "z"]], rtol=1e-12)
