"""marginal_effects against statsmodels OLS ``t_test`` on the same linear combination.

References: statsmodels 0.14 ``OLS(...).fit(...).t_test`` of ``b_x + z b_xz`` for the
same interaction model (pooled: plain OLS; within: OLS with explicit entity dummies,
whose unadjusted and cluster covariances equal ``fit_panel``'s ``small_sample="areg"``);
Johnson-Neyman bounds against a brute-force grid of |t(z)| - c sign changes.
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from dtistat import errors
from dtistat.moderation import johnson_neyman, marginal_effects, marginal_effects_plot
from dtistat.panel import fit_panel

AT = [-1.5, -0.3, 0.0, 0.8, 2.0]


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(11)
    n_e, n_t = 40, 6
    df = pd.DataFrame({"id": np.repeat(np.arange(n_e), n_t), "t": np.tile(np.arange(n_t), n_e)})
    a = np.repeat(rng.normal(size=n_e), n_t)
    df["x"] = rng.normal(size=len(df)) + 0.3 * a
    df["z"] = rng.normal(size=len(df))
    df["w"] = rng.normal(size=len(df))
    df["xz"] = df.x * df.z
    df["y"] = 0.2 * df.x + 0.35 * df.xz + 0.3 * df.z + 0.5 * df.w + a + rng.normal(size=len(df))
    return df


def _sm_effects(fit, at, use_t=True):
    out = []
    for z in at:
        tt = fit.t_test(f"x + {z} * xz = 0", use_t=use_t)
        out.append((float(np.squeeze(tt.effect)), float(np.squeeze(tt.sd)),
                    np.asarray(tt.conf_int()).ravel()))
    return out


def _check(me, ref):
    ci = me.conf_int()
    for i, (e, sd, c) in enumerate(ref):
        assert abs(me.params.iloc[i] - e) < 1e-10
        assert abs(me.std_errors.iloc[i] - sd) < 1e-10
        np.testing.assert_allclose(ci.iloc[i].to_numpy(), c, rtol=0, atol=1e-10)


def test_pooled_unadjusted_equals_statsmodels_ols(panel):
    res = fit_panel(panel, "y ~ x + z + xz + w", entity="id", time="t", model="pooled",
                    cov="unadjusted")
    me = marginal_effects(res, "x", "z", at=AT, interaction="xz")
    sm = smf.ols("y ~ x + z + xz + w", panel).fit()
    _check(me, _sm_effects(sm, AT))


def test_within_cluster_equals_ols_with_dummies(panel):
    res = fit_panel(panel, "y ~ x + z + xz + w", entity="id", time="t", fe="entity",
                    cov="cluster", small_sample="areg")
    me = marginal_effects(res, "x", "z", at=AT, interaction="xz")
    sm = smf.ols("y ~ x + z + xz + w + C(id)", panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["id"]}, use_t=True)
    ref = _sm_effects(sm, AT)
    for i, (e, sd, _) in enumerate(ref):
        assert abs(me.params.iloc[i] - e) < 1e-10
        assert abs(me.std_errors.iloc[i] - sd) < 1e-10
    # t with G - 1 = 39 degrees of freedom (as Stata's areg, vce(cluster))
    assert me.df_inference == 39
    c = stats.t.ppf(0.975, 39)
    np.testing.assert_allclose(me.conf_int()["lower"], me.params - c * me.std_errors)
    # joint covariance of the effects is G V G' (Wald of two effects vs statsmodels)
    w = me.wald_test(R=[[1, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    ft = sm.f_test(f"x + {AT[0]} * xz = 0, x + {AT[4]} * xz = 0")
    assert abs(w.statistic - float(np.squeeze(ft.fvalue))) < 1e-8


def test_johnson_neyman_against_grid(panel):
    res = fit_panel(panel, "y ~ x + z + xz + w", entity="id", time="t", cov="robust")
    me = marginal_effects(res, "x", "z", at=AT, interaction="xz")
    jn = me.johnson_neyman
    grid = np.linspace(-8, 8, 400_001)
    tab = me.effect(grid)
    c = jn.critical
    sig = np.abs(tab["estimate"] / tab["std_error"]) >= c
    np.testing.assert_array_equal(jn.contains(grid), sig.to_numpy())
    flips = grid[1:][np.diff(sig.to_numpy().astype(int)) != 0]
    assert len(flips) == len(jn.bounds) >= 1
    for b, f in zip(jn.bounds, flips):
        assert abs(b - f) < 16 / 400_000 * 1.01
        t_b = me.effect(b)
        assert abs(abs(t_b.estimate.iloc[0] / t_b.std_error.iloc[0]) - c) < 1e-9


@pytest.mark.parametrize("coef,V,expect", [
    ((0.1, 1.0), np.diag([1.0, 0.01]), "outside"),  # strong slope: significant outside
    ((3.0, 0.05), np.diag([0.1, 1.0]), "inside"),    # noisy slope: significant between
    ((3.0, 0.0), np.diag([0.1, 0.0]), "everywhere"),
    ((0.0, 0.0), np.diag([1.0, 1.0]), "nowhere"),
])
def test_johnson_neyman_cases(coef, V, expect):
    jn = johnson_neyman(np.array(coef), V, 1.96)
    z = np.linspace(-50, 50, 20001)
    est = coef[0] + coef[1] * z
    se = np.sqrt(V[0, 0] + 2 * z * V[0, 1] + z * z * V[1, 1])
    np.testing.assert_array_equal(jn.contains(z), np.abs(est / se) >= 1.96)
    if expect == "inside":
        assert jn.significant_inside and len(jn.regions) == 1
    if expect == "everywhere":
        assert jn.regions == ((-np.inf, np.inf),)
    if expect == "nowhere":
        assert jn.regions == ()


def test_formula_names_and_errors(panel):
    res = fit_panel(panel.rename(columns={"xz": "x:z"}), "y ~ x + z + `x:z`", entity="id",
                    time="t", cov="robust")
    me = marginal_effects(res, "x", "z", at=[0, 1])
    assert me.interaction == "x:z"
    auto = marginal_effects(res, "x", at=[0, 1])  # the only x:... product term
    assert auto.moderator == "z" and np.array_equal(auto.params, me.params)
    assert "Johnson-Neyman" in str(me.summary()) and "<table" in me._repr_html_()
    assert repr(me).startswith("<MarginalEffectsResult")
    fig = marginal_effects_plot(me, z_range=(-2, 2))
    assert len(fig.axes[0].lines) >= 2
    with pytest.raises(errors.ParameterError, match="no interaction"):
        marginal_effects(res, "x", "w", at=[0])
    with pytest.raises(errors.ParameterError, match="'q'"):
        marginal_effects(res, "q", "z", at=[0])
    with pytest.raises(errors.ParameterError, match="at="):
        marginal_effects(res, "x", "z", at=[])
    with pytest.raises(errors.ParameterError, match="interaction='nope'"):
        marginal_effects(res, "x", "z", at=[0], interaction="nope")
