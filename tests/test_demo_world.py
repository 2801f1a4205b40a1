"""Checks of the simulated demo-world tables (dtistat.datasets.demo_world).

Three kinds of check: determinism (same seed -> the same bytes), the documented shapes
and dtypes, the report's findings each table is built to show, and that simple
estimators recover the true parameters of each DGP (within 3 standard errors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from linearmodels import PanelOLS
from statsmodels.miscmodels.ordinal_model import OrderedModel

from dtistat.datasets import demo_world as dw
from dtistat.datasets import load_cities
from dtistat.errors import ColumnError, DataError, DtiStatError, ParameterError

SEED = dw.DEFAULT_SEED


def standin_dti(cities: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """A stand-in for the lead's DTI cube: city totals and layers, 2021Q1..2023Q1.

    Shares of a national base total (tiny positive numbers), city levels lognormal,
    quarterly growth about 3% with noise -- the shape, not the calibration, of the cube.
    """
    rng = np.random.default_rng(seed)
    n, q = len(cities), len(dw.QUARTERS)
    lvl = rng.normal(0.0, 1.2, n)
    g = rng.normal(0.03, 0.02, n)
    t = np.arange(q)
    layers = {}
    for name, share in (("dti_infrastructure", 0.30), ("dti_platform", 0.45),
                        ("dti_application", 0.25)):
        noise = 0.05 * rng.standard_normal((n, q))
        layers[name] = (share * np.exp(lvl[:, None] + g[:, None] * t + noise) / 1000).ravel()
    df = pd.DataFrame({
        "city_id": np.repeat(cities["city_id"].to_numpy(), q),
        "quarter": np.tile(np.array(dw.QUARTERS), n),
        **layers,
    })
    df["dti_total"] = (0.3 * df["dti_infrastructure"] + 0.4 * df["dti_platform"]
                       + 0.3 * df["dti_application"])
    return df[["city_id", "quarter", "dti_total", "dti_infrastructure", "dti_platform",
               "dti_application"]]


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return load_cities()


@pytest.fixture(scope="module")
def firms(cities) -> pd.DataFrame:
    return dw.simulate_firms(cities, seed=SEED)


@pytest.fixture(scope="module")
def env(cities) -> pd.DataFrame:
    return dw.simulate_environment(cities, seed=SEED)


@pytest.fixture(scope="module")
def ai(cities) -> pd.DataFrame:
    return dw.simulate_ai_clusters(cities, seed=SEED)


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return dw.simulate_survey(seed=SEED)


@pytest.fixture(scope="module")
def dti(cities) -> pd.DataFrame:
    return standin_dti(cities)


@pytest.fixture(scope="module")
def panel(cities, dti) -> pd.DataFrame:
    return dw.simulate_mediation_panel(cities, dti, seed=SEED)


@pytest.fixture(scope="module")
def true():
    return dw.truth()


def _short(cities):
    return cities.set_index("city_id")["name_short"]


# ---- determinism -------------------------------------------------------------------------

def _all_tables(cities, dti, seed, n_firms=20_000):
    return {
        "firms": dw.simulate_firms(cities, n_firms=n_firms, seed=seed),
        "environment": dw.simulate_environment(cities, seed=seed),
        "ai": dw.simulate_ai_clusters(cities, seed=seed),
        "survey": dw.simulate_survey(seed=seed),
        "mediation": dw.simulate_mediation_panel(cities, dti, seed=seed),
    }


def test_same_seed_same_bytes(cities, dti):
    a = _all_tables(cities, dti, 11)
    b = _all_tables(cities, dti, 11)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
        assert a[name].to_csv(index=False).encode() == b[name].to_csv(index=False).encode(), name


def test_different_seed_different_tables(cities, dti):
    a = _all_tables(cities, dti, 11)
    b = _all_tables(cities, dti, 12)
    for name in a:
        assert not a[name].equals(b[name]), name


def test_tables_use_separate_streams(cities):
    # regenerating one table with a different size never changes another table
    e1 = dw.simulate_environment(cities, seed=5)
    dw.simulate_firms(cities, n_firms=10, seed=5)
    pd.testing.assert_frame_equal(e1, dw.simulate_environment(cities, seed=5))
    # firms of the same seed share the city world with the environment: same leader cities
    small = dw.simulate_firms(cities, n_firms=1000, seed=5)
    assert small.shape == (1000, 8)


def test_generator_seed_accepted(cities):
    g1 = np.random.default_rng(3)
    g2 = np.random.default_rng(3)
    pd.testing.assert_frame_equal(dw.simulate_firms(cities, 500, seed=g1),
                                  dw.simulate_firms(cities, 500, seed=g2))


# ---- shapes and dtypes -------------------------------------------------------------------

def test_firms_columns_and_types(firms, cities):
    assert firms.shape == (200_000, 8)
    assert list(firms.columns) == ["firm_id", "city_id", "domain", "founded",
                                   "registered_capital", "funding_rounds",
                                   "funding_amount", "incubator"]
    assert firms["firm_id"].dtype == np.int64
    assert (firms["firm_id"].to_numpy() == np.arange(1, 200_001)).all()
    assert list(firms["domain"].cat.categories) == list(dw.DOMAINS)
    assert set(firms["city_id"].cat.categories) == set(cities["city_id"])
    assert pd.api.types.is_datetime64_any_dtype(firms["founded"])
    assert firms["founded"].min() >= pd.Timestamp("2016-01-01")
    assert firms["founded"].max() <= pd.Timestamp("2023-03-31")
    assert firms["founded"].is_monotonic_increasing
    assert firms["funding_rounds"].dtype == np.int8
    assert firms["incubator"].dtype == bool
    assert (firms["registered_capital"] > 0).all()
    funded = firms["funding_rounds"] > 0
    assert (firms.loc[~funded, "funding_amount"] == 0).all()
    assert (firms.loc[funded, "funding_amount"] > 0).all()
    assert 0.05 < funded.mean() < 0.30
    assert firms["city_id"].nunique() > 300


def test_environment_columns(env, cities):
    assert list(env.columns) == ["city_id", *dw.ENV_INDICATORS, "fi_vitality"]
    assert 9 <= len(dw.ENV_INDICATORS) <= 12
    assert len(env) == len(cities) and env["city_id"].tolist() == cities["city_id"].tolist()
    num = env[list(dw.ENV_INDICATORS) + ["fi_vitality"]]
    assert (num.dtypes == np.float64).all() and np.isfinite(num.to_numpy()).all()
    logs = [c for c, t in dw.truth().environment.transform.items() if t == "log"]
    assert (env[logs] > 0).all().all()


def test_ai_columns(ai, cities):
    assert list(ai.columns) == ["city_id", "ai_firms", *dw.AI_DRIVERS]
    assert len(dw.AI_DRIVERS) == 6
    assert ai["ai_firms"].dtype == np.int64 and (ai["ai_firms"] >= 1).all()
    assert len(ai) == len(cities)


def test_survey_columns(survey):
    assert survey.shape[0] == 5796
    assert survey["respondent_id"].is_unique
    for col, cats in (("employer_size", dw.EMPLOYER_SIZES), ("age_band", dw.AGE_BANDS)):
        assert survey[col].cat.ordered and tuple(survey[col].cat.categories) == cats
    assert survey["city_tier"].cat.ordered
    binary = [c for c in survey if c.startswith(("tool_", "gain_", "tech_", "hit_", "skill_"))]
    assert len([c for c in binary if c.startswith("tool_")]) >= 6
    assert (survey[binary].dtypes == np.int8).all()
    assert survey[binary].isin([0, 1]).all().all()
    for likert in ("ai_attitude", "ai_worry"):
        assert set(survey[likert].unique()) == {1, 2, 3, 4, 5}
    assert survey.notna().all().all()


def test_mediation_panel_shape(panel, dti):
    assert len(panel) == len(dti)
    assert not panel.duplicated(["city_id", "quarter"]).any()
    assert sorted(panel["quarter"].unique()) == list(dw.QUARTERS)
    assert list(panel.columns) == [
        "city_id", "quarter", "fi_investment", "digital_infrastructure",
        "digital_platform", "fi_development", "dti_total", "log_dti_total",
        "log_population", "log_gdp_per_capita",
    ]
    merged = panel.merge(dti, on=["city_id", "quarter"], suffixes=("", "_in"))
    np.testing.assert_array_equal(merged["dti_total"], merged["dti_total_in"])


# ---- the report's findings ----------------------------------------------------------

def test_beijing_shanghai_shenzhen_lead(firms, cities):
    top = firms["city_id"].value_counts().index[:3].map(_short(cities))
    assert set(top) == {"北京", "上海", "深圳"}
    province = firms["city_id"].map(cities.set_index("city_id")["province"]).astype(str)
    assert set(province.value_counts().index[:3]) == {"北京", "广东", "上海"}


def test_recent_firms_more_frequent(firms):
    per_year = firms["founded"].dt.year.value_counts().sort_index().loc[2016:2022]
    assert per_year.is_monotonic_increasing


def test_information_comoves_with_manufacturing_space_biology(firms):
    ct = pd.crosstab(firms["city_id"], firms["domain"])
    ct = ct[ct.sum(axis=1) >= 200]
    counts = np.log(ct).corr()["information"]
    lq = np.log(ct.div(ct.sum(axis=1), axis=0) / (ct.sum() / ct.to_numpy().sum())).corr()
    for corr in (counts, lq["information"]):
        fused = corr[["manufacturing", "space", "biology"]]
        other = corr[["energy", "materials"]]
        assert fused.min() > other.max()


def test_training_rises_with_employer_size(survey, true):
    rate = survey.groupby("employer_size", observed=True)["organized_training"].mean()
    assert rate.is_monotonic_increasing
    n = survey["employer_size"].value_counts()[rate.index]
    p = true.survey.training_by_size[rate.index]
    se = np.sqrt(p * (1 - p) / n)
    assert (np.abs(rate - p) < 3 * se).all()


def test_over_30_percent_expect_professional_technical_hit(survey):
    assert survey["hit_professional_services"].mean() > 0.30
    assert survey["hit_technical"].mean() > 0.30
    hits = survey[[c for c in survey if c.startswith("hit_")]].mean()
    assert set(hits.sort_values(ascending=False).index[:2]) == {
        "hit_professional_services", "hit_technical"}


def test_aigc_interest_higher_among_young(survey, true):
    rate = survey.groupby("age_band", observed=True)["skill_aigc"].mean()
    assert rate.is_monotonic_decreasing
    assert rate["18-24"] > rate["55+"] + 0.25
    # the sample over-represents the young, so the unweighted rate overstates the truth
    assert survey["skill_aigc"].mean() > true.survey.aigc_population_rate + 0.05


def test_sample_over_represents_young_east_high_tier(survey, true):
    pop = true.survey.population_margins
    share = {k: survey[k].value_counts(normalize=True) for k in pop}
    assert share["age_band"][["18-24", "25-34"]].sum() > pop["age_band"][["18-24", "25-34"]].sum() + 0.15
    assert share["region"]["east"] > pop["region"]["east"] + 0.10
    assert share["city_tier"][["一线", "新一线"]].sum() > pop["city_tier"][["一线", "新一线"]].sum() + 0.08
    for k, m in pop.items():
        assert abs(m.sum() - 1) < 1e-12 and set(m.index) == set(survey[k].cat.categories)


def test_ai_is_the_top_technology_of_interest(survey):
    tech = survey[[c for c in survey if c.startswith("tech_")]].mean()
    assert tech.idxmax() == "tech_ai"
    gains = survey[[c for c in survey if c.startswith("gain_")]].mean()
    assert list(gains.sort_values(ascending=False).index[:2]) == ["gain_efficiency", "gain_cost"]


# ---- recovery of the truth ---------------------------------------------------------------

def _within_3se(est, se, true_value, label):
    assert abs(est - true_value) < 3 * se, f"{label}: {est:.4f} vs {true_value} (se {se:.4f})"


def test_ai_driver_ols_recovers_truth(ai, true):
    t = true.ai_clusters
    fit = smf.ols(t.formula, data=ai).fit()
    for term, value in t.coef.items():
        _within_3se(fit.params[term], fit.bse[term], value, term)
    # mild collinearity: every driver correlated with the others, none redundant
    X = fit.model.exog
    vif = [1 / (1 - sm.OLS(X[:, j], np.delete(X, j, axis=1)).fit().rsquared)
           for j in range(1, X.shape[1])]
    assert 1.1 < min(vif) and max(vif) < 4
    # developers carry the largest standardized effect (the report's emphasis)
    sd = pd.Series(X[:, 1:].std(axis=0), index=fit.params.index[1:])
    assert (fit.params[1:] * sd).idxmax() == "np.log(oss_developers)"


def _env_logged(env, true):
    X = env[list(dw.ENV_INDICATORS)].copy()
    for c, tf in true.environment.transform.items():
        if tf == "log":
            X[c] = np.log(X[c])
    return X


def test_environment_factor_structure_visible(env, true):
    t = true.environment
    R = _env_logged(env, true).corr()
    dev = (R - t.implied_corr).abs().to_numpy()[np.triu_indices(len(R), 1)]
    assert dev.mean() < 0.06 and dev.max() < 0.20
    eig = np.linalg.eigvalsh(R.to_numpy())[::-1]
    assert eig[2] > 1.0 > eig[3]  # three factors by the Kaiser rule
    blocks = pd.Series(t.primary_factor)
    within, between = [], []
    for i, a in enumerate(R.index):
        for b in R.index[i + 1:]:
            (within if blocks[a] == blocks[b] else between).append(R.loc[a, b])
    assert np.mean(within) > np.mean(between) + 0.2
    # a 3-factor ML fit with varimax groups the indicators as designed
    from sklearn.decomposition import FactorAnalysis

    X = _env_logged(env, true)
    fa = FactorAnalysis(n_components=3, rotation="varimax", random_state=0)
    fa.fit((X - X.mean()) / X.std())
    assigned = pd.Series(np.abs(fa.components_).argmax(axis=0), index=X.columns)
    for factor, members in blocks.groupby(blocks).groups.items():
        assert assigned[list(members)].nunique() == 1, factor
    assert assigned.nunique() == 3


def test_environment_vitality_coefficients(cities, env, true):
    # the DGP's factors (shared city world, stream 0) explain vitality with the true
    # coefficients
    wrng, _ = dw._rngs(SEED, "environment")
    world = dw._world(cities, wrng)
    fit = sm.OLS(env["fi_vitality"].to_numpy(), sm.add_constant(world.F)).fit()
    t = true.environment
    _within_3se(fit.params[0], fit.bse[0], t.vitality_intercept, "intercept")
    for k, name in enumerate(t.vitality_coef.index):
        _within_3se(fit.params[k + 1], fit.bse[k + 1], t.vitality_coef[name], name)
    sample_phi = np.corrcoef(world.F.T)
    assert np.abs(sample_phi - t.factor_corr.to_numpy()).max() < 0.15


def test_ordered_logit_recovers_attitude_coefficients(survey, true):
    t = true.survey
    X = pd.DataFrame({"female": (survey["gender"] == "female").astype(float)})
    for a in dw.AGE_BANDS[1:]:
        X[f"age_band[{a}]"] = (survey["age_band"] == a).astype(float)
    for e in ("college", "bachelor", "postgraduate"):
        X[f"education[{e}]"] = (survey["education"] == e).astype(float)
    X["tool_ai_assistant"] = survey["tool_ai_assistant"].astype(float)
    X["organized_training"] = survey["organized_training"].astype(float)
    X = X[list(t.attitude_coef.index)]
    fit = OrderedModel(survey["ai_attitude"].to_numpy(), X, distr="logit").fit(
        method="bfgs", disp=False, maxiter=500)
    for name, value in t.attitude_coef.items():
        _within_3se(fit.params[name], fit.bse[name], value, name)
    cut = fit.model.transform_threshold_params(fit.params)[1:-1]
    np.testing.assert_allclose(cut, t.attitude_cutpoints, atol=0.3)


def test_mediation_panel_recovers_a_b_cprime_beta(panel, true):
    t = true.mediation
    p = panel.assign(t=pd.PeriodIndex(panel["quarter"], freq="Q").asi8).set_index(["city_id", "t"])
    for m in t.a.index:
        fit = PanelOLS(p[m], p[["fi_investment"]], entity_effects=True,
                       time_effects=True).fit()
        _within_3se(fit.params["fi_investment"], fit.std_errors["fi_investment"],
                    t.a[m], f"a[{m}]")
    rhs = ["fi_investment", *t.b.index, "log_dti_total", "log_population",
           "log_gdp_per_capita"]
    fit = PanelOLS(p["fi_development"], p[rhs], entity_effects=True, time_effects=True).fit()
    _within_3se(fit.params["fi_investment"], fit.std_errors["fi_investment"], t.c_prime, "c'")
    for m in t.b.index:
        _within_3se(fit.params[m], fit.std_errors[m], t.b[m], f"b[{m}]")
    _within_3se(fit.params["log_dti_total"], fit.std_errors["log_dti_total"], t.beta, "beta")
    # total effect: Y on X alone (mediators and DTI are independent of X within city)
    tot = PanelOLS(p["fi_development"], p[["fi_investment", "log_dti_total"]],
                   entity_effects=True, time_effects=True).fit()
    _within_3se(tot.params["fi_investment"], tot.std_errors["fi_investment"], t.total, "c")


def test_mediation_truth_is_consistent(true):
    t = true.mediation
    pd.testing.assert_series_equal(t.indirect, (t.a * t.b).rename("indirect"))
    assert t.total == pytest.approx(t.c_prime + (t.a * t.b).sum(), abs=1e-15)
    assert t.total_indirect == pytest.approx(t.indirect.sum(), abs=1e-15)


def test_mediator_city_effect_built_on_dti_layers(panel):
    city = panel.groupby("city_id")[["digital_infrastructure", "digital_platform"]].mean()
    dti_mean = panel.assign(l=np.log(panel["dti_total"])).groupby("city_id")["l"].mean()
    assert city["digital_infrastructure"].corr(dti_mean) > 0.5


def test_dti_scale_does_not_change_effects(cities, dti, panel):
    scaled = dti.assign(**{c: dti[c] * 1e4 for c in dti.columns[2:]})
    p2 = dw.simulate_mediation_panel(cities, scaled, seed=SEED)
    # only logs of the DTI enter, centred across cities / over the panel: the cube's units
    # (shares, percent, ...) change nothing but the dti columns themselves
    for c in ("fi_investment", "digital_infrastructure", "digital_platform",
              "fi_development"):
        np.testing.assert_allclose(p2[c], panel[c], rtol=0, atol=1e-9)
    np.testing.assert_allclose(p2["log_dti_total"], panel["log_dti_total"] + np.log(1e4))


# ---- truth object and bad input ----------------------------------------------------------

def test_truth_complete_and_fresh(true):
    d = true.to_dict()
    assert set(d) == {"firms", "environment", "ai_clusters", "survey", "mediation"}
    env = true.environment
    assert env.loadings.shape == (len(dw.ENV_INDICATORS), 3)
    np.testing.assert_allclose(np.diag(env.implied_corr), 1.0)
    assert (env.uniquenesses > 0).all()
    assert set(true.ai_clusters.coef.index[1:]) == {
        f"np.log({d})" if true.ai_clusters.transform[d] == "log" else d for d in dw.AI_DRIVERS}
    other = dw.truth()
    other.firms.domain_base_share["information"] = 0.0
    assert dw.truth().firms.domain_base_share["information"] == 0.40
    assert sum(true.firms.domain_base_share.values()) == pytest.approx(1.0)


def test_bad_input(cities, dti):
    with pytest.raises(ParameterError):
        dw.simulate_firms(cities, n_firms=0)
    with pytest.raises(ParameterError):
        dw.simulate_firms(cities, seed=-1)
    with pytest.raises(ColumnError, match="tier"):
        dw.simulate_environment(cities.drop(columns="tier"))
    with pytest.raises(DataError, match="tier"):
        dw.simulate_ai_clusters(cities.assign(tier="六线"))
    with pytest.raises(ParameterError, match="dti is required"):
        dw.simulate_mediation_panel(cities)
    with pytest.raises(ColumnError, match="dti_platform"):
        dw.simulate_mediation_panel(cities, dti.drop(columns="dti_platform"))
    bad = dti.copy()
    bad.loc[3, "dti_total"] = 0.0
    with pytest.raises(DataError, match="positive"):
        dw.simulate_mediation_panel(cities, bad)
    with pytest.raises(DataError, match="quarter"):
        dw.simulate_mediation_panel(cities, dti.assign(quarter="2020Q4"))
    with pytest.raises(DataError, match="duplicate"):
        dw.simulate_mediation_panel(cities, pd.concat([dti, dti.head(1)]))
    with pytest.raises(DtiStatError, match="not in cities"):
        dw.simulate_mediation_panel(cities.iloc[1:], dti)
