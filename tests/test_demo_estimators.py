"""On the demo world, the estimators recover the simulated truth (within 3 SE).

The truth is the data-generating process of dtistat.datasets.demo_world (documented in
its docstrings and returned by load_demo().truth).
"""

import numpy as np
import pandas as pd
import pytest

from dtistat import crosstab, fit_drivers, fit_efa, fit_ordered, fit_panel, proportions, rake
from dtistat.datasets import load_demo


@pytest.fixture(scope="module")
def world():
    return load_demo()


def within(est: pd.DataFrame, truth: pd.Series, k: float = 3.0):
    e = est.set_index("term").loc[truth.index]
    z = (e["estimate"] - truth) / e["std_error"]
    assert (z.abs() < k).all(), z


def test_panel_recovers_dti_effect_and_paths(world):
    t = world.truth["mediation"]
    res = fit_panel(world.mediation_panel,
                    "fi_development ~ log_dti_total + fi_investment + digital_infrastructure"
                    " + digital_platform + log_population + log_gdp_per_capita",
                    entity="city", time="quarter", fe="twoway", cov="cluster")
    truth = pd.Series({"log_dti_total": t["beta"], "fi_investment": t["c_prime"],
                       **t["b"].to_dict()})
    within(res.tidy(), truth)
    for m, a in t["a"].items():
        r = fit_panel(world.mediation_panel, f"{m} ~ fi_investment", entity="city",
                      time="quarter", fe="twoway", cov="cluster")
        within(r.tidy(), pd.Series({"fi_investment": a}))


def test_environment_efa_recovers_factor_structure(world):
    t = world.truth["environment"]
    env = world.environment.copy()
    for col, how in t["transform"].items():
        if how == "log":
            env[col] = np.log(env[col])
    efa = fit_efa(env, list(t["transform"]), n_factors="parallel", rotation="promax", seed=3)
    assert efa.n_factors == 3
    assigned = efa.loadings.abs().idxmax(axis=1)
    truth = pd.Series(t["primary_factor"])
    # the same partition of indicators, up to the labelling of factors
    pairs = pd.crosstab(assigned, truth.reindex(assigned.index))
    assert ((pairs > 0).sum(axis=1) == 1).all() and ((pairs > 0).sum(axis=0) == 1).all()


def test_ai_drivers_recover_true_effects(world):
    t = world.truth["ai_clusters"]
    ai = world.ai_clusters.copy()
    rename = {}
    for col in ("ai_firms", "vc_computer", "oss_developers", "ip_output", "ai_talent",
                "computing_power"):
        ai[f"log_{col}"] = np.log(ai[col])
        rename[f"np.log({col})"] = f"log_{col}"
    truth = t["coef"].rename(index=lambda k: rename.get(k, k)).drop("Intercept")
    res = fit_drivers(ai, "log_ai_firms", list(truth.index), standardize=False)
    within(res.tidy(), truth)
    share = res.to_frame().set_index("term")["share"].dropna()
    assert share.sum() == pytest.approx(1.0, abs=1e-12)


def test_survey_raking_training_and_attitudes(world):
    sv = world.survey
    margins = world.survey_margins
    w = rake(sv, margins)
    data = sv.assign(w=w.to_numpy())
    for var, target in margins.items():
        got = data.groupby(var, observed=True)["w"].sum()
        got = got / got.sum()
        np.testing.assert_allclose(got.reindex(target.index), target / target.sum(),
                                   rtol=1e-8)
    # "单位规模越大员工获得组织化培训的程度更高": weighted rates rise with employer size
    rates = data.groupby("employer_size", observed=True).apply(
        lambda g: np.average(g["organized_training"], weights=g["w"]), include_groups=False)
    assert rates.is_monotonic_increasing
    tests = crosstab(data, "employer_size", "organized_training", weights="w").test_table()
    assert tests.set_index("test").loc["linear-by-linear", "p_value"] < 1e-6
    # "超三成受访者认为AI将冲击专业服务类与技术类职业"
    prop = proportions(data, ["hit_professional_services", "hit_technical"], weights="w")
    assert (prop["proportion"] > 0.30).all()
    t = world.truth["survey"]
    formula = t["attitude_formula"].split("(ordered")[0].strip()
    d = sv.assign(female=(sv["gender"].astype(str) == "female").astype(int))
    est = fit_ordered(d, formula).tidy()
    est["term"] = est["term"].str.replace("C(", "", regex=False).str.replace(
        ")[", "[", regex=False)
    within(est, t["attitude_coef"])
