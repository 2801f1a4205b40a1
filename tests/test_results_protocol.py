"""One protocol check over every public result class (dtistat._results).

Each result: ``summary()`` is a Summary (text, HTML, LaTeX, frames), ``to_frame()`` a
DataFrame, a short ``repr``, ``_repr_html_``, identity ``==`` and a working ``hash``;
coefficient results add labelled ``params``, ``std_errors``/``bse``, ``tstats``,
``pvalues``, ``conf_int()`` (a method), ``cov``, ``nobs`` and ``tidy()``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import dtistat
from dtistat._results import TIDY_COLUMNS, CoefResult, Result, Summary
from dtistat.datasets import load_demo


@pytest.fixture(scope="module")
def results():
    warnings.simplefilter("ignore")
    from semopy.examples import holzinger39

    g = sm.datasets.grunfeld.load_pandas().data
    g = g[g.firm != "American Steel"].copy()
    kw = dict(entity="firm", time="year", cov="unadjusted")
    fe = dtistat.fit_panel(g, "invest ~ value + capital", **kw)
    re_ = dtistat.fit_panel(g, "invest ~ value + capital", model="random", **kw)
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x": rng.normal(size=200)})
    d["m"] = 0.5 * d["x"] + rng.normal(size=200)
    d["y"] = 0.4 * d["m"] + rng.normal(size=200)
    d["g"] = np.repeat(np.arange(40), 5)
    med = dtistat.fit_mediation(d, x="x", m="m", y="y", n_boot=200, seed=1,
                                procedure="wen_ye_2014")
    hs = holzinger39.get_data()
    x9 = [f"x{i}" for i in range(1, 10)]
    efa = dtistat.fit_efa(hs, x9, n_factors="parallel", n_iter=50, seed=1)
    cfa = dtistat.fit_cfa(hs, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n"
                              "speed =~ x7 + x8 + x9")
    mi = dtistat.invariance_test(hs, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n"
                                     "speed =~ x7 + x8 + x9", group="school")
    drv = dtistat.fit_drivers(d, "y", ["x", "m"])
    world = load_demo()
    sv = world.survey.head(1500)
    w = dtistat.rake(sv, world.survey_margins)
    svw = sv.assign(w=w.to_numpy())
    ct = dtistat.crosstab(svw, "employer_size", "organized_training", weights="w")
    ordr = dtistat.fit_ordered(svw.assign(female=(svw["gender"].astype(str) == "female")
                                          .astype(int)), "ai_attitude ~ female")
    idx = world.compute()
    city = world.cube.groupby(["city", "quarter"], as_index=False)[world.spec.columns].sum()
    sens = dtistat.weight_sensitivity(city, world.spec, n_draws=64, seed=1)
    sob = dtistat.sobol_weights(city, world.spec, groups="layer", n_base=64, seed=1)
    fut = dtistat.future_industry_index(world.firms.head(20000), entity="city_id")
    ivr = dtistat.fit_iv(world.iv_panel, "fi_development ~ log_gdp_pc + [dti ~ z_phone + "
                         "z_post]", entity="city_id", time="year", fe="twoway", cov="cluster")
    # heterogeneity
    g2 = g.assign(big=(g.groupby("firm")["value"].transform("mean")
                       > g["value"].mean()).astype(int), vc=g["value"] * g["capital"] / 1e3)
    cg = dtistat.compare_groups(g2, "invest ~ value + capital", by="big", entity="firm",
                                time="year", cov="robust", n_perm=50, seed=1)
    me = dtistat.marginal_effects(dtistat.fit_panel(g2, "invest ~ value + capital + vc", **kw),
                                  "value", "capital", at=[100, 500], interaction="vc")
    return {
        "CompareGroupsResult": cg, "MarginalEffectsResult": me,
        "PanelResult": fe, "HausmanResult": dtistat.hausman(fe, re_),
        "FTest": fe.f_effects, "MediationResult": med,
        "ModeratedMediationResult": dtistat.fit_moderated_mediation(
            d.assign(w=np.random.default_rng(5).normal(size=200)), x="x", m="m", y="y",
            w="w", n_boot=100, seed=1),
        "MediationProcedure": med.procedure, "MediationSensitivity": med.sensitivity(),
        "EFAResult": efa, "CFAResult": cfa, "DriversResult": drv, "KMOResult": efa.kmo,
        "MultiGroupCFAResult": mi.fits["metric"], "InvarianceResult": mi,
        "BartlettResult": efa.bartlett, "ParallelAnalysisResult": efa.parallel,
        "RakeReport": w.attrs["rake"], "CrosstabResult": ct, "OrderedResult": ordr,
        "IndexResult": idx, "SensitivityResult": sens, "SobolResult": sob,
        "FutureIndexResult": fut,
        **_did_results(world),
        # threshold
        "ThresholdResult": dtistat.fit_threshold(
            pd.DataFrame({"id": np.repeat(np.arange(30), 4), "t": np.tile(np.arange(4), 30),
                          "q": rng.uniform(size=120), "z": rng.normal(size=120),
                          "y": rng.normal(size=120)}),
            "y ~ 1", threshold_var="q", regime_vars="z", entity="id", time="t", grid=20,
            trim=0.1, n_boot=9, seed=1),
        "IVResult": ivr, "FirstStageResult": ivr.first_stage["dti"],
        "IVDiagnostics": ivr.diagnostics,
        # spatial
        **_spatial_results(),
        "ClubsResult": dtistat.convergence_clubs(
            idx.collapse_by(), time_trim=0.25, merge="ps", merge_divergent=True),
    }


def _spatial_results() -> dict:
    from libpysal.weights import lat2W

    w = dtistat.spatial.from_libpysal(lat2W(5, 5))
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"i": np.tile(w.ids, 6), "t": np.repeat(np.arange(6), 25),
                       "x": rng.normal(size=150)})
    df["y"] = df["x"] + rng.normal(size=150)
    wr = w.row_standardize()
    sdm = dtistat.fit_spatial(df, "y", "x", entity="i", time="t", w=wr)
    return {
        "SpatialWeights": wr, "SpatialPanelResult": sdm,
        "EffectsResult": sdm.effects(n_sim=50, seed=1),
        "MoranResult": dtistat.moran("y", wr, data=df, entity="i", time="t",
                                     permutations=99, seed=1),
        "LocalResult": dtistat.local_moran(df["y"].to_numpy()[:25], wr, permutations=99,
                                           seed=1),
        "ModelSelection": dtistat.spatial_model_selection(df, "y", "x", entity="i",
                                                          time="t", w=wr),
    }


def _did_results(world) -> dict:
    d = world.did_panel
    d = d[d["city_id"].isin(d["city_id"].drop_duplicates().iloc[::4])]
    kw = dict(y="y", treat_time="pilot_year", entity="city_id", time="year")
    return {
        "CSResult": dtistat.fit_did(d, **kw, estimator="cs", n_boot=99, seed=1),
        "EventStudyResult": dtistat.fit_did(d, **kw, estimator="event", leads=2, lags=2),
        "TWFEResult": dtistat.fit_did(d, **kw, estimator="twfe"),
        "BaconResult": dtistat.bacon_decomposition(d, **kw),
        "PlaceboResult": dtistat.placebo_reassign(d, **kw, n_draws=50, seed=1),
    }


NAMES = [
    "PanelResult", "HausmanResult", "FTest", "MediationResult", "MediationProcedure",
    "MediationSensitivity", "ModeratedMediationResult", "EFAResult", "CFAResult",
    "DriversResult", "KMOResult",
    "BartlettResult", "ParallelAnalysisResult", "RakeReport", "CrosstabResult",
    "OrderedResult", "IndexResult", "SensitivityResult", "SobolResult", "FutureIndexResult",
    "ThresholdResult", "CSResult", "EventStudyResult", "TWFEResult", "BaconResult",
    "PlaceboResult", "IVResult", "FirstStageResult", "IVDiagnostics",
    "CompareGroupsResult", "MarginalEffectsResult", "MultiGroupCFAResult", "InvarianceResult",
    # spatial
    "SpatialWeights", "SpatialPanelResult", "EffectsResult", "MoranResult", "LocalResult",
    "ModelSelection",
    # disparity
    "ClubsResult",
]


def test_every_public_result_class_is_covered(results):
    public = {n for n in dir(dtistat) if isinstance(getattr(dtistat, n), type)
              and issubclass(getattr(dtistat, n), Result)}
    assert public <= set(results), f"add these to the protocol test: {public - set(results)}"
    assert set(results) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_protocol(results, name):
    r = results[name]
    assert isinstance(r, Result), f"{name} does not implement the results protocol"
    s = r.summary()
    assert isinstance(s, Summary)
    text = str(s)
    assert text and "rows x" not in text and "..." not in text.splitlines()[0]
    assert s._repr_html_().lstrip().startswith("<") and "\\begin{table}" in s.as_latex()
    assert all(isinstance(t, pd.DataFrame) for t in s.tables.values())
    assert isinstance(r.to_frame(), pd.DataFrame)
    rep = repr(r)
    assert len(rep.splitlines()) <= 15 and len(rep) < 1500
    assert r._repr_html_().lstrip().startswith("<")
    assert (r == r) is True and (r == object()) is False
    hash(r)
    if isinstance(r, CoefResult) or hasattr(type(r), "params"):
        for attr in ("params", "std_errors", "bse", "tstats", "pvalues"):
            v = getattr(r, attr)
            assert isinstance(v, pd.Series) and len(v) > 0, (name, attr)
        ci = r.conf_int()
        assert list(ci.columns) == ["lower", "upper"]
        assert isinstance(r.cov, pd.DataFrame)
        assert list(r.tidy().columns[:7]) == list(TIDY_COLUMNS)
        assert int(r.nobs) > 0


def test_summary_is_the_thing_to_print(results):
    fe = results["PanelResult"]
    assert str(fe) == str(fe.summary())
    # no covariance matrix or bootstrap draws in repr
    med = results["MediationResult"]
    assert "boot_draws" not in repr(med) and len(repr(med)) < 300
