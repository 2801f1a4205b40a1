"""Simulated tables of the demo world (firms, environment, AI clusters, survey, mediation panel).

Everything in this module is **simulated** -- none of it is observed data. The seed
report's underlying data (start-up firm records, city entrepreneurship indicators, AI
industry statistics, the 5,796-respondent survey of 企鹅有调) are proprietary, so the
demo world replaces them with tables drawn from the data-generating processes (DGPs)
written in each generator's docstring. The DGPs are shaped to reproduce the report's
qualitative findings (PART 2-4) and carry known true parameters, returned by
:func:`truth`, so that tests and the demo can check that the estimators recover them.

Generators (all deterministic: the same ``seed`` gives identical tables, byte for byte)

=============================  =====================================================
:func:`simulate_firms`         start-up firm records, six future-industry domains
:func:`simulate_environment`   city entrepreneurship environment, 3-factor structure
:func:`simulate_ai_clusters`   AI firms per city and six drivers of AI clustering
:func:`simulate_survey`        respondent microdata of the public survey (PART 4)
:func:`simulate_mediation_panel`  city x quarter panel: investment -> digital
                               infrastructure / platform -> future-industry development
:func:`truth`                  every true parameter above
=============================  =====================================================

The common city world
---------------------
The city-level tables share one latent "world" drawn from the seed (stream 0), so that
firm intensity, the environment and the AI drivers of a city hang together:

* ``log_pop`` -- log population (10k persons) ~ N(tier mean, 0.20²), tier means
  一线 7.55, 新一线 6.90, 二线 6.40, 三线 6.00, 四线 5.65, 五线 5.15, county-level
  units 3.70 (all simulated, roughly the order of magnitude of the 2020 census).
* ``log_gdppc`` -- log GDP per capita (10k CNY) ~ N(tier mean + region shift, 0.10²),
  tier means 2.85, 2.45, 2.20, 1.95, 1.75, 1.55; region shift east +0.12, central 0,
  west -0.08, northeast -0.12. The four 一线 cities are pinned to rounded real values
  (:data:`ANCHORS`) so that the leaders do not depend on the draw.
* ``size`` -- the city's economic scale ``log_pop + log_gdppc`` plus the leader bonus
  (:data:`LEADER_BONUS`: 北京 0.8, 上海 0.6, 深圳 0.8, 广州 0.1, 杭州 0.3, in log
  units), standardized to mean 0 and SD 1 across the cities passed in.
* Environment factors ``F = (F1 capital & R&D, F2 talent & knowledge, F3 incubation &
  policy)`` with ``F_k = rho_k * size + sqrt(1 - rho_k²) * nu_k``, ``nu ~ N(0, I)``,
  ``rho = (0.70, 0.60, 0.50)``; so ``Corr(F) = rho rho' + diag(1 - rho²)``
  (:attr:`EnvironmentTruth.factor_corr`).
* Domain-mix factors: "digital-real fusion" ``g = 0.3 size + sqrt(0.91) nu_g`` and
  "resource base" ``r = -0.2 size + sqrt(0.96) nu_r``.

Pass an int (or None) as ``seed`` for this coherence: each table then draws its own
noise from its own stream of ``numpy.random.SeedSequence(seed)`` (stream 1 firms,
2 environment, 3 AI clusters, 4 survey, 5 mediation panel) and the world from
stream 0, so regenerating one table never changes another. A ``numpy.random.Generator``
is used as given (world and noise drawn from it in turn; its state advances).

The cities are keyed by ``city_id`` (the 6-digit division code of
:func:`dtistat.datasets.load_cities`); panels use ``quarter`` strings "2021Q1" ...
"2023Q1" (:data:`QUARTERS`).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat._validate import (
    check_columns,
    check_frame,
    check_no_nan,
    check_numeric,
    check_positive_int,
    check_seed,
    check_unique_keys,
)
from dtistat.errors import DataError, ParameterError

__all__ = [
    "AGE_BANDS",
    "AI_DRIVERS",
    "DEFAULT_SEED",
    "DOMAINS",
    "EMPLOYER_SIZES",
    "ENV_INDICATORS",
    "QUARTERS",
    "AIClustersTruth",
    "EnvironmentTruth",
    "FirmsTruth",
    "MediationTruth",
    "SurveyTruth",
    "WorldTruth",
    "simulate_ai_clusters",
    "simulate_environment",
    "simulate_firms",
    "simulate_mediation_panel",
    "simulate_survey",
    "survey_margins",
    "truth",
]

#: Seed of the shipped demo world.
DEFAULT_SEED: int = 2023

#: The six future-industry domains of the report's PART 2, in this order.
DOMAINS: tuple[str, ...] = (
    "information", "biology", "energy", "manufacturing", "materials", "space",
)
#: Chinese labels of :data:`DOMAINS` (未来信息, 未来生物, ...).
DOMAINS_ZH: dict[str, str] = {
    "information": "信息", "biology": "生物", "energy": "能源",
    "manufacturing": "制造", "materials": "材料", "space": "空间",
}

#: The panel's quarters, 2021Q1 (the index's base period) to 2023Q1.
QUARTERS: tuple[str, ...] = (
    "2021Q1", "2021Q2", "2021Q3", "2021Q4",
    "2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1",
)

_TIERS = ("一线", "新一线", "二线", "三线", "四线", "五线")

#: log units added to a leading city's scale (北京, 上海, 深圳, 广州, 杭州).
LEADER_BONUS: dict[str, float] = {
    "110000": 0.80, "310000": 0.60, "440300": 0.80, "440100": 0.10, "330100": 0.30,
}

#: (log population in 10k, log GDP per capita in 10k CNY) fixed for the four 一线 cities:
#: rounded 2021 yearbook values (population 2189, 2487, 1756, 1868 10k; GDP per capita
#: 18.4, 17.4, 17.4, 15.0 10k CNY) -- the only real numbers in the city world.
ANCHORS: dict[str, tuple[float, float]] = {
    "110000": (7.69, 2.91), "310000": (7.82, 2.86), "440300": (7.47, 2.86),
    "440100": (7.53, 2.71),
}

_STREAMS = {"world": 0, "firms": 1, "environment": 2, "ai": 3, "survey": 4, "mediation": 5}


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------
# true parameters (one place: generators read them, truth() returns them)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FirmsTruth:
    """True parameters of :func:`simulate_firms` (see its docstring for the DGP)."""

    #: national base share of each domain among start-ups
    domain_base_share: dict[str, float]
    #: loading of each domain's log-intensity on the fusion factor g and resource factor r
    domain_loadings: dict[str, tuple[float, float]]
    #: SD of the city x domain idiosyncratic log-intensity
    domain_noise_sd: float
    #: city log-intensity = these coefficients x (log_pop, log_gdppc, F1, F3) + leader bonus
    city_intensity_coef: dict[str, float]
    #: founding-date growth rate per year: base + region shift + domain shift (+ noise)
    growth_base: float
    growth_region: dict[str, float]
    growth_domain: dict[str, float]
    growth_noise_sd: float
    #: registered capital: log(10k CNY) ~ N(mu0 + domain + b_size * size, sd²)
    capital_mu0: float
    capital_domain: dict[str, float]
    capital_size: float
    capital_sd: float
    #: incubator flag: logit P = const + f3 * F3 + domain effect
    incubator_logit: dict[str, float]
    #: any funding: logit P = const + f1 * F1 + incubator + age (years) + domain
    funding_logit: dict[str, float]
    funding_domain: dict[str, float]
    #: funded firms: rounds = 1 + Poisson(base + age_rate * age + incubator)
    rounds_poisson: dict[str, float]
    #: amount (10k CNY): log ~ N(mu0 + per_round * (rounds - 1) + f1 * F1, sd²)
    amount_lognormal: dict[str, float]


@dataclass(frozen=True)
class EnvironmentTruth:
    """True parameters of :func:`simulate_environment` (the 3-factor model)."""

    #: loadings (indicators x factors) of the standardized log-indicators
    loadings: pd.DataFrame
    #: factor correlation matrix Phi = rho rho' + diag(1 - rho²)
    factor_corr: pd.DataFrame
    #: unique variances psi_j = 1 - (Lambda Phi Lambda')_jj
    uniquenesses: pd.Series
    #: model-implied correlation of the transformed indicators
    implied_corr: pd.DataFrame
    #: the factor each indicator is designed to measure
    primary_factor: dict[str, str]
    #: factor loadings on the city scale (rho)
    rho: pd.Series
    #: indicator transform: value = exp(mu + sd * z) ("log") or mu + sd * z ("identity")
    transform: dict[str, str]
    location: dict[str, float]
    scale: dict[str, float]
    #: vitality = intercept + sum_k coef_k F_k + N(0, noise_sd²)
    vitality_intercept: float
    vitality_coef: pd.Series
    vitality_noise_sd: float


@dataclass(frozen=True)
class AIClustersTruth:
    """True parameters of :func:`simulate_ai_clusters`."""

    #: statsmodels formula under which ``coef`` are the true OLS coefficients
    formula: str
    #: intercept and one coefficient per transformed driver (per log point or score point)
    coef: pd.Series
    noise_sd: float
    #: driver transforms ("log" or "identity") used in ``formula``
    transform: dict[str, str]
    #: loading of each driver's latent on the city scale (source of the collinearity)
    scale_loading: float
    #: population correlation of the (transformed) drivers
    driver_corr: pd.DataFrame


@dataclass(frozen=True)
class SurveyTruth:
    """True parameters of :func:`simulate_survey`."""

    #: population margins (shares) for raking: gender, age_band, city_tier, region
    population_margins: dict[str, pd.Series]
    #: sampling distributions (the online panel's over-representation)
    sample_margins: dict[str, pd.Series]
    #: P(organized_training = 1 | employer size)
    training_by_size: pd.Series
    #: logit intercept and slope of organized training on employer-size rank 0..4
    training_logit: dict[str, float]
    #: tool-use logits: const + size * size_rank + tier * tier_score + age * age_rank + industry
    tool_logit: pd.DataFrame
    tool_industry: dict[str, float]
    #: P(skill_aigc = 1 | age band); depends on age only, so its population rate is exact
    aigc_by_age: pd.Series
    aigc_population_rate: float
    skill_logit: pd.DataFrame
    #: P(choose "AI will hit this occupation") for a respondent not in that occupation
    hit_rate: pd.Series
    hit_own_occupation_shift: float
    #: ordered logit of ai_attitude (1-5): coefficients on dummies, and cutpoints
    attitude_formula: str
    attitude_coef: pd.Series
    attitude_cutpoints: np.ndarray
    worry_coef: pd.Series
    worry_cutpoints: np.ndarray
    own_job_risk_logit: pd.Series


@dataclass(frozen=True)
class MediationTruth:
    """True parameters of :func:`simulate_mediation_panel`."""

    #: X -> M_k (exact: M is generated from X)
    a: pd.Series
    #: M_k -> Y given X
    b: pd.Series
    #: direct effect of X on Y
    c_prime: float
    #: effect of log(dti_total) on Y
    beta: float
    #: coefficients of the covariates in the Y equation
    covariates: pd.Series
    #: a_k * b_k, their sum, and the total effect c = c' + sum_k a_k b_k
    indirect: pd.Series
    total_indirect: float
    total: float
    #: loading of M_k's city effect on the centred log of the city's mean DTI layer
    layer_loading: float
    noise_sd: dict[str, float]


@dataclass(frozen=True)
class WorldTruth:
    """Every true parameter of the simulated tables (this module's part of the demo truth)."""

    firms: FirmsTruth
    environment: EnvironmentTruth
    ai_clusters: AIClustersTruth
    survey: SurveyTruth
    mediation: MediationTruth

    def to_dict(self) -> dict[str, Any]:
        """A nested dict of plain Python / pandas objects."""
        return {f: asdict(getattr(self, f)) for f in
                ("firms", "environment", "ai_clusters", "survey", "mediation")}


# ---- firms -------------------------------------------------------------------------------

_FIRMS = FirmsTruth(
    domain_base_share={"information": 0.40, "biology": 0.14, "energy": 0.12,
                       "manufacturing": 0.20, "materials": 0.09, "space": 0.05},
    domain_loadings={"information": (0.60, 0.0), "biology": (0.40, 0.0),
                     "energy": (0.0, 0.50), "manufacturing": (0.45, 0.0),
                     "materials": (0.0, 0.50), "space": (0.50, 0.0)},
    domain_noise_sd=0.20,
    city_intensity_coef={"log_pop": 1.0, "log_gdppc": 2.0, "F1": 0.10, "F3": 0.10},
    growth_base=0.10,
    growth_region={"east": 0.0, "central": 0.05, "west": 0.06, "northeast": -0.02},
    growth_domain={"information": 0.05, "biology": 0.02, "energy": 0.06,
                   "manufacturing": 0.0, "materials": -0.02, "space": 0.08},
    growth_noise_sd=0.04,
    capital_mu0=np.log(100.0),
    capital_domain={"information": 0.0, "biology": 0.40, "energy": 0.60,
                    "manufacturing": 0.30, "materials": 0.50, "space": 0.80},
    capital_size=0.15,
    capital_sd=1.10,
    incubator_logit={"const": -2.00, "F3": 0.50, "information": 0.30, "biology": 0.30},
    funding_logit={"const": -3.40, "F1": 0.50, "incubator": 0.70, "age": 0.12},
    funding_domain={"information": 0.30, "biology": 0.30, "energy": 0.0,
                    "manufacturing": -0.20, "materials": -0.20, "space": 0.20},
    rounds_poisson={"base": 0.15, "age": 0.08, "incubator": 0.20},
    amount_lognormal={"mu0": float(np.log(800.0)), "per_round": 0.70, "F1": 0.30, "sd": 1.0},
)

# ---- environment ----------------------------------------------------------------------

_FACTORS = ("F1_capital_rd", "F2_talent", "F3_incubation_policy")

#: name -> (description, unit, transform, mu, sd, loadings on F1..F3)
_ENV_SPEC: dict[str, tuple[str, str, str, float, float, tuple[float, float, float]]] = {
    "venture_capital": ("venture-capital investment in start-ups", "100M CNY", "log",
                        np.log(20.0), 1.50, (0.85, 0.0, 0.0)),
    "rd_spending": ("R&D expenditure", "100M CNY", "log", np.log(60.0), 1.20,
                    (0.80, 0.0, 0.0)),
    "patents": ("invention patents granted", "count", "log", np.log(800.0), 1.40,
                (0.60, 0.25, 0.0)),
    "high_tech_firms": ("certified high-tech enterprises", "count", "log",
                        np.log(300.0), 1.30, (0.75, 0.0, 0.0)),
    "universities": ("higher-education institutions", "count", "log", np.log(8.0),
                     0.90, (0.0, 0.80, 0.0)),
    "researchers": ("R&D personnel", "10k persons", "log", np.log(1.5), 1.20,
                    (0.0, 0.75, 0.0)),
    "graduates": ("college graduates per year", "10k persons", "log", np.log(3.0), 1.00,
                  (0.0, 0.80, 0.0)),
    "talent_inflow": ("net inflow of skilled workers (index, 100 = national mean)",
                      "index", "identity", 100.0, 15.0, (0.20, 0.55, 0.0)),
    "incubators": ("incubators and maker spaces", "count", "log", np.log(25.0), 1.10,
                   (0.0, 0.0, 0.80)),
    "policy_support": ("policy support for start-ups and future industries (0-100)",
                       "score", "identity", 60.0, 12.0, (0.0, 0.0, 0.65)),
    "industrial_parks": ("national and provincial high-tech / industrial parks", "count",
                         "log", np.log(6.0), 0.80, (0.0, 0.0, 0.60)),
    "guidance_funds": ("government industrial guidance funds", "100M CNY", "log",
                       np.log(30.0), 1.30, (0.0, 0.0, 0.70)),
}
#: The environment indicator columns of :func:`simulate_environment`, in order.
ENV_INDICATORS: tuple[str, ...] = tuple(_ENV_SPEC)
_RHO = np.array([0.70, 0.60, 0.50])
_VITALITY = {"intercept": 50.0, "coef": (6.0, 2.5, 4.5), "noise_sd": 4.0}

# ---- AI clusters -----------------------------------------------------------------------

#: name -> (description, unit, transform, mu, sd, true coefficient per transformed unit)
_AI_SPEC: dict[str, tuple[str, str, str, float, float, float]] = {
    "vc_computer": ("venture capital invested in the computer industry", "100M CNY",
                    "log", np.log(5.0), 1.50, 0.15),
    "oss_developers": ("high-level open-source developers (active contributors to "
                       + "top-ranked open-source projects)", "persons", "log",
                       np.log(40.0), 1.40, 0.30),
    "software_policy": ("software-industry policy support (0-100)", "score",
                        "identity", 55.0, 12.0, 0.020),
    "ip_output": ("AI invention patents and software copyrights", "count", "log",
                  np.log(200.0), 1.30, 0.20),
    "ai_talent": ("AI-related graduates and researchers (universities, labs)", "persons",
                  "log", np.log(300.0), 1.20, 0.12),
    "computing_power": ("data-centre computing capacity", "PFLOPS", "log",
                        np.log(20.0), 1.00, 0.10),
}
#: The six AI-cluster driver columns of :func:`simulate_ai_clusters`, in order.
AI_DRIVERS: tuple[str, ...] = tuple(_AI_SPEC)
_AI_SCALE_LOADING = 0.50
_AI_INTERCEPT = -0.60
_AI_NOISE_SD = 0.40
# secondary links of the driver latents to the environment factors (F1, F2, F3)
_AI_ENV_LINK = {
    "vc_computer": (0.30, 0.0, 0.0), "oss_developers": (0.0, 0.30, 0.0),
    "software_policy": (0.0, 0.0, 0.30), "ip_output": (0.25, 0.15, 0.0),
    "ai_talent": (0.0, 0.35, 0.0), "computing_power": (0.0, 0.0, 0.0),
}

# ---- survey ------------------------------------------------------------------------------

#: Employer-size bands (ordered).
EMPLOYER_SIZES: tuple[str, ...] = ("<50", "50-299", "300-999", "1000-4999", "5000+")
#: Age bands (ordered).
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
_GENDERS = ("male", "female")
_REGIONS = ("east", "central", "west", "northeast")
_EDUCATION = ("below_college", "college", "bachelor", "postgraduate")
_INDUSTRIES = (
    "internet_it", "finance", "manufacturing", "communications", "culture_entertainment",
    "real_estate", "agriculture", "energy", "education", "healthcare", "retail_services",
    "public_sector",
)
_OCCUPATIONS = (
    "professional_technical", "management", "clerical", "services_sales", "production",
    "freelance", "other",
)
_TOOLS = (
    "tool_instant_messaging", "tool_video_meeting", "tool_online_docs",
    "tool_project_management", "tool_cloud_storage", "tool_ai_assistant",
)
_GAINS = ("gain_efficiency", "gain_cost", "gain_customers", "gain_market", "gain_tech")
_TECH = ("tech_ai", "tech_data_security", "tech_big_data", "tech_cloud",
         "tech_blockchain", "tech_metaverse")
_HITS = ("hit_professional_services", "hit_technical", "hit_clerical",
         "hit_creative_media", "hit_sales_services", "hit_production", "hit_management")
_SKILLS = ("skill_aigc", "skill_media_creation", "skill_data_analysis",
           "skill_programming", "skill_office_software", "skill_ecommerce_livestream")

_SAMPLE = {
    "gender": (0.54, 0.46),
    "age_band": (0.20, 0.38, 0.24, 0.12, 0.06),
    "region": (0.55, 0.20, 0.19, 0.06),
    "education": (0.15, 0.25, 0.48, 0.12),
    "industry": (0.18, 0.08, 0.14, 0.05, 0.06, 0.05, 0.04, 0.05, 0.10, 0.07, 0.12, 0.06),
    "occupation": (0.30, 0.14, 0.18, 0.16, 0.10, 0.07, 0.05),
    "employer_size": (0.28, 0.26, 0.18, 0.14, 0.14),
}
# P(tier | region) in the sample: 一线 cities are all in the east; no 新一线 in the northeast
_SAMPLE_TIER_GIVEN_REGION = np.array([
    [0.18, 0.22, 0.20, 0.18, 0.12, 0.10],   # east
    [0.00, 0.22, 0.18, 0.25, 0.20, 0.15],   # central
    [0.00, 0.25, 0.15, 0.20, 0.20, 0.20],   # west
    [0.00, 0.00, 0.40, 0.30, 0.20, 0.10],   # northeast
])
_POPULATION = {
    # adult (18+) population, approximate shares from the 2020 census; stated, not fitted
    "gender": (0.51, 0.49),
    "age_band": (0.13, 0.19, 0.19, 0.21, 0.28),
    "city_tier": (0.06, 0.12, 0.13, 0.20, 0.21, 0.28),
    "region": (0.40, 0.26, 0.27, 0.07),
}
_TOOL_LOGIT = {  # const, size_rank, tier_score (一线 5 .. 五线 0), age_rank
    "tool_instant_messaging": (2.40, 0.15, 0.05, 0.0),
    "tool_video_meeting": (-0.30, 0.30, 0.10, 0.0),
    "tool_online_docs": (-0.60, 0.25, 0.10, -0.10),
    "tool_project_management": (-2.00, 0.30, 0.08, 0.0),
    "tool_cloud_storage": (-0.90, 0.20, 0.08, -0.05),
    "tool_ai_assistant": (-1.80, 0.15, 0.10, -0.30),
}
_TOOL_INDUSTRY = {"internet_it": 0.60, "finance": 0.40, "communications": 0.30,
                  "agriculture": -0.40, "public_sector": -0.10}
_TRAINING = {"const": -1.20, "size_rank": 0.55}
_GAIN_P = {"gain_efficiency": 0.70, "gain_cost": 0.52, "gain_customers": 0.33,
           "gain_market": 0.29, "gain_tech": 0.26}
_GAIN_TRAINING = 0.40
_TECH_P = {"tech_ai": 0.62, "tech_data_security": 0.45, "tech_big_data": 0.42,
           "tech_cloud": 0.33, "tech_blockchain": 0.15, "tech_metaverse": 0.12}
_TECH_AI_INDUSTRY = ("communications", "manufacturing", "culture_entertainment",
                     "real_estate", "agriculture", "energy")
_TECH_AI_SHIFT = 0.45
_HIT_P = {"hit_professional_services": 0.36, "hit_technical": 0.33, "hit_clerical": 0.28,
          "hit_creative_media": 0.25, "hit_sales_services": 0.18, "hit_production": 0.20,
          "hit_management": 0.08}
_HIT_OWN = {"professional_technical": ("hit_professional_services", "hit_technical"),
            "clerical": ("hit_clerical",), "services_sales": ("hit_sales_services",),
            "production": ("hit_production",), "management": ("hit_management",)}
_HIT_OWN_SHIFT = 0.40
_SKILL_LOGIT = {  # const, age_rank
    "skill_aigc": (0.30, -0.45), "skill_media_creation": (-0.20, -0.35),
    "skill_data_analysis": (-0.40, 0.0), "skill_programming": (-1.00, -0.20),
    "skill_office_software": (-0.50, 0.10), "skill_ecommerce_livestream": (-1.30, 0.0),
}
_OWN_RISK = {"const": -0.80, "professional_technical": 0.40, "management": -0.30,
             "clerical": 0.60, "services_sales": 0.20, "production": 0.30,
             "freelance": 0.10, "other": 0.0}
_ATT_COEF = {
    "female": -0.20,
    "age_band[25-34]": -0.10, "age_band[35-44]": -0.30, "age_band[45-54]": -0.50,
    "age_band[55+]": -0.70,
    "education[college]": 0.15, "education[bachelor]": 0.30,
    "education[postgraduate]": 0.45,
    "tool_ai_assistant": 0.80, "organized_training": 0.40,
}
_ATT_CUT = np.array([-2.60, -1.20, 0.40, 2.00])
_WORRY_COEF = {"own_job_at_risk": 0.90, "age_band[25-34]": 0.10, "age_band[35-44]": 0.0,
               "age_band[45-54]": -0.15, "age_band[55+]": -0.30, "female": 0.15}
_WORRY_CUT = np.array([-2.20, -0.80, 0.60, 2.10])

# ---- mediation panel --------------------------------------------------------------------

_MED = {
    "a": {"digital_infrastructure": 0.80, "digital_platform": 0.50},
    "b": {"digital_infrastructure": 0.60, "digital_platform": 0.90},
    "c_prime": 0.30,
    "beta": 2.00,
    "covariates": {"log_population": 0.50, "log_gdp_per_capita": 1.00},
    "layer_loading": 1.00,
    "noise_sd": {"fi_investment": 0.30, "digital_infrastructure": 0.50,
                 "digital_platform": 0.50, "fi_development": 0.50},
}
_MED_LAYERS = {"digital_infrastructure": "dti_infrastructure",
               "digital_platform": "dti_platform"}
_DTI_COLUMNS = ("city_id", "quarter", "dti_total", "dti_infrastructure", "dti_platform",
                "dti_application")


# ---------------------------------------------------------------------------------------
# randomness and the shared city world
# ---------------------------------------------------------------------------------------

def _rngs(seed: Any, table: str) -> tuple[np.random.Generator, np.random.Generator]:
    """(world generator, table generator) for ``seed``; see the module docstring."""
    if isinstance(seed, np.random.Generator):
        return seed, seed
    check_seed(seed)  # validates None / non-negative int / SeedSequence
    if isinstance(seed, np.random.SeedSequence):
        entropy = seed.entropy
    elif seed is None:
        entropy = np.random.SeedSequence().entropy
    else:
        entropy = int(seed)

    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(k,)))

    return stream(_STREAMS["world"]), stream(_STREAMS[table])


def _check_cities(cities: pd.DataFrame | None) -> pd.DataFrame:
    """The city table (default the bundled one), checked: keys, tiers and regions."""
    if cities is None:
        from dtistat.datasets.cities import load_cities

        return load_cities()
    cities = check_frame(cities, "cities")
    check_columns(cities, ["city_id", "tier", "region"], what="cities column")
    check_unique_keys(cities, ["city_id"])
    for col, valid in (("tier", _TIERS), ("region", _REGIONS)):
        bad = ~cities[col].astype(str).isin(valid)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"cities column {col!r} has {cities[col].iloc[i]!r} for city_id="
                f"{cities['city_id'].iloc[i]!r}; use one of {', '.join(valid)}"
            )
    return cities


_TIER_LOG_POP = np.array([7.55, 6.90, 6.40, 6.00, 5.65, 5.15])
_COUNTY_LOG_POP = 3.70
_TIER_LOG_GDPPC = np.array([2.85, 2.45, 2.20, 1.95, 1.75, 1.55])
_REGION_GDPPC = {"east": 0.12, "central": 0.0, "west": -0.08, "northeast": -0.12}


@dataclass(frozen=True)
class _World:
    city_id: np.ndarray
    tier_idx: np.ndarray
    region: np.ndarray
    province: np.ndarray | None
    log_pop: np.ndarray
    log_gdppc: np.ndarray
    size: np.ndarray          # standardized
    F: np.ndarray             # n x 3
    fusion: np.ndarray
    resource: np.ndarray


def _world(cities: pd.DataFrame, rng: np.random.Generator) -> _World:
    n = len(cities)
    city_id = cities["city_id"].astype(str).to_numpy()
    tier_idx = np.array([_TIERS.index(t) for t in cities["tier"].astype(str)])
    region = cities["region"].astype(str).to_numpy()
    county = (cities["level"].astype(str).to_numpy() == "county-level"
              if "level" in cities.columns else np.zeros(n, bool))
    mean_pop = np.where(county, _COUNTY_LOG_POP, _TIER_LOG_POP[tier_idx])
    log_pop = mean_pop + 0.20 * rng.standard_normal(n)
    shift = np.array([_REGION_GDPPC[r] for r in region])
    log_gdppc = _TIER_LOG_GDPPC[tier_idx] + shift + 0.10 * rng.standard_normal(n)
    for i, c in enumerate(city_id):
        if c in ANCHORS:
            log_pop[i], log_gdppc[i] = ANCHORS[c]
    bonus = np.array([LEADER_BONUS.get(c, 0.0) for c in city_id])
    raw = log_pop + log_gdppc + bonus
    sd = raw.std()
    size = (raw - raw.mean()) / (sd if sd > 0 else 1.0)
    nu = rng.standard_normal((n, 3))
    F = _RHO * size[:, None] + np.sqrt(1.0 - _RHO**2) * nu
    fusion = 0.3 * size + np.sqrt(0.91) * rng.standard_normal(n)
    resource = -0.2 * size + np.sqrt(0.96) * rng.standard_normal(n)
    province = cities["province"].astype(str).to_numpy() if "province" in cities else None
    return _World(city_id, tier_idx, region, province, log_pop, log_gdppc, size, F,
                  fusion, resource)


# ---------------------------------------------------------------------------------------
# 1. firms
# ---------------------------------------------------------------------------------------

_FIRST_DAY = np.datetime64("2016-01-01", "D")
_LAST_DAY = np.datetime64("2023-03-31", "D")
_N_DAYS = int((_LAST_DAY - _FIRST_DAY).astype(int)) + 1  # 2647


def simulate_firms(
    cities: pd.DataFrame | None = None,
    n_firms: int = 200_000,
    seed: Any = DEFAULT_SEED,
) -> pd.DataFrame:
    """Simulated start-up firm records of the six future-industry domains (SIMULATED data).

    Stands in for the start-up registry extract behind the report's PART 2 future-industry
    index. Vectorized: 10 million records take a few seconds and well under 4 GB
    (``benchmarks/bench_demo_firms.py``).

    Parameters
    ----------
    cities : DataFrame, optional
        City table with ``city_id``, ``tier``, ``region`` (and optionally ``level``,
        ``province``); default :func:`dtistat.datasets.load_cities`.
    n_firms : int
        Number of records (exactly).
    seed : int, None or numpy.random.Generator
        Same int -> identical table.

    Returns
    -------
    DataFrame
        One row per firm, sorted by ``founded`` (``firm_id`` = founding order, 1..n):
        ``firm_id`` int64; ``city_id`` categorical (categories = the cities' ids, in
        table order); ``domain`` categorical (:data:`DOMAINS`); ``founded``
        datetime64 (daily, 2016-01-01 .. 2023-03-31); ``registered_capital`` float64
        (10k CNY); ``funding_rounds`` int8; ``funding_amount`` float64 (10k CNY,
        cumulative over rounds, 0 when no round); ``incubator`` bool (incubated by an
        incubator or maker space).

    Notes
    -----
    DGP (parameters in :class:`FirmsTruth`, ``truth().firms``), with the city world of
    the module docstring (``size``, environment factors ``F1``, ``F3``, fusion ``g``,
    resource ``r``):

    1. City x domain cell probabilities ``p_cd = w_c * mix_cd``: city weight
       ``w_c ∝ exp(log_pop_c + 2 log_gdppc_c + leader bonus_c + 0.1 F1_c + 0.1 F3_c)``
       and within-city domain mix ``mix_cd ∝ s_d exp(l_dg g_c + l_dr r_c + 0.2
       eta_cd)`` (a softmax over the six domains), with base shares ``s_d``
       (information 0.40, manufacturing 0.20, biology 0.14, energy 0.12, materials
       0.09, space 0.05; the realized national shares differ a little, information
       about 0.44) and loadings ``l_dg`` = 0.60 information, 0.45
       manufacturing, 0.50 space, 0.40 biology on the digital-real fusion factor and
       ``l_dr`` = 0.50 energy and materials on the resource factor. Hence the report's
       finding: across cities, information co-moves with manufacturing, space and
       biology (shared factor), not with energy and materials. 北京, 上海, 深圳 lead through
       their scale bonus. Cell counts ~ Multinomial(n_firms, p).
    2. Founding day: density on [2016-01-01, 2023-03-31] ∝ exp(gamma_cd t), t in years,
       gamma_cd = 0.10 + region shift (central +0.05, west +0.06, northeast -0.02) +
       domain shift (space +0.08, energy +0.06, information +0.05, biology +0.02,
       materials -0.02) + N(0, 0.04²) per cell: later years have more start-ups, and
       central/western cities grow faster (the report: growth is dispersed).
    3. Registered capital ~ LogNormal(log 100 + domain shift + 0.15 size_c, 1.1²),
       shift 0 information .. 0.8 space, rounded to 0.1 (10k CNY).
    4. Incubator: logit P = -2.0 + 0.5 F3_c + 0.3 [information or biology].
    5. Funding: logit P(any round) = -3.4 + 0.5 F1_c + 0.7 incubator + 0.12 age +
       domain shift (age in years at 2023-03-31); funded firms have
       ``1 + Poisson(0.15 + 0.08 age + 0.2 incubator)`` rounds and a cumulative amount
       ~ LogNormal(log 800 + 0.7 (rounds - 1) + 0.3 F1_c, 1.0²); otherwise 0 rounds
       and 0 amount.

    Examples
    --------
    >>> from dtistat.datasets.demo_world import simulate_firms
    >>> firms = simulate_firms(n_firms=1000, seed=1)
    >>> firms.shape, sorted(firms["domain"].cat.categories)[:2]
    ((1000, 8), ['biology', 'energy'])
    """
    n_firms = check_positive_int(n_firms, "n_firms")
    cities = _check_cities(cities)
    wrng, rng = _rngs(seed, "firms")
    w = _world(cities, wrng)
    # the draws are taken in the order of the steps: same seed, same table
    cell = _firm_cells(w, rng, n_firms)
    day, city, dom = _founding_days(w, rng, cell)
    capital = _registered_capital(w, rng, city, dom)
    incubator = _incubated(w, rng, city, dom)
    rounds, amount = _funding(w, rng, city, dom, day, incubator)
    founded = (_FIRST_DAY + day.astype("timedelta64[D]")).astype("datetime64[ns]")
    return pd.DataFrame({
        "firm_id": np.arange(1, n_firms + 1, dtype=np.int64),
        "city_id": pd.Categorical.from_codes(city, categories=pd.Index(w.city_id)),
        "domain": pd.Categorical.from_codes(dom, categories=list(DOMAINS)),
        "founded": founded,
        "registered_capital": capital,
        "funding_rounds": rounds,
        "funding_amount": amount,
        "incubator": incubator,
    }, copy=False)


def _firm_cells(w: _World, rng: np.random.Generator, n_firms: int) -> np.ndarray:
    """Step 1: each firm's city x domain cell (``city * n_domains + domain``), shuffled.

    Cell probabilities are the city intensity times the within-city domain mix (a
    softmax); counts ~ Multinomial(n_firms, p).
    """
    t = _FIRMS
    n_c, n_d = len(w.city_id), len(DOMAINS)
    ci = t.city_intensity_coef
    log_city = (ci["log_pop"] * w.log_pop + ci["log_gdppc"] * w.log_gdppc
                + np.array([LEADER_BONUS.get(c, 0.0) for c in w.city_id])
                + ci["F1"] * w.F[:, 0] + ci["F3"] * w.F[:, 2])
    base = np.log(np.array([t.domain_base_share[d] for d in DOMAINS]))
    load = np.array([t.domain_loadings[d] for d in DOMAINS])          # d x 2
    eta = t.domain_noise_sd * rng.standard_normal((n_c, n_d))
    log_mix = (base[None, :] + w.fusion[:, None] * load[:, 0]
               + w.resource[:, None] * load[:, 1] + eta)
    mix = np.exp(log_mix - log_mix.max(axis=1, keepdims=True))
    mix /= mix.sum(axis=1, keepdims=True)
    city_p = np.exp(log_city - log_city.max())
    p = (city_p[:, None] / city_p.sum() * mix).ravel()
    p /= p.sum()
    counts = rng.multinomial(n_firms, p)
    cell = np.repeat(np.arange(n_c * n_d, dtype=np.int16), counts)
    rng.shuffle(cell)
    return cell


def _founding_days(w: _World, rng: np.random.Generator, cell: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2: founding day per firm (inverse CDF of a truncated exponential per cell);
    returns day, city and domain codes sorted by day (stable)."""
    t = _FIRMS
    n_c, n_d = len(w.city_id), len(DOMAINS)
    region_g = np.array([t.growth_region[r] for r in w.region])
    dom_g = np.array([t.growth_domain[d] for d in DOMAINS])
    gamma = (t.growth_base + region_g[:, None] + dom_g[None, :]
             + t.growth_noise_sd * rng.standard_normal((n_c, n_d))).ravel()
    span = _N_DAYS / 365.25
    g = gamma[cell]
    u = rng.random(cell.size)
    gs = np.where(np.abs(g) < 1e-9, 1e-9, g)
    years = np.log1p(u * np.expm1(gs * span)) / gs
    day = np.minimum((years * 365.25).astype(np.int16), _N_DAYS - 1)
    del g, u, gs, years
    order = np.argsort(day, kind="stable")
    day = day[order]
    cell = cell[order]
    del order
    return day, (cell // n_d).astype(np.int16), (cell % n_d).astype(np.int8)


def _registered_capital(w: _World, rng: np.random.Generator, city: np.ndarray,
                        dom: np.ndarray) -> np.ndarray:
    """Step 3: registered capital (10k CNY), log-normal, rounded to 0.1."""
    t = _FIRMS
    cap_dom = np.array([t.capital_domain[d] for d in DOMAINS])
    mu = t.capital_mu0 + cap_dom[dom] + t.capital_size * w.size[city]
    return np.round(np.exp(mu + t.capital_sd * rng.standard_normal(city.size)), 1)


def _incubated(w: _World, rng: np.random.Generator, city: np.ndarray,
               dom: np.ndarray) -> np.ndarray:
    """Step 4: incubated or not (logit in the city's F3 and the domain)."""
    il = _FIRMS.incubator_logit
    inc_dom = np.array([il.get(d, 0.0) for d in DOMAINS])
    return rng.random(city.size) < _logistic(il["const"] + il["F3"] * w.F[city, 2]
                                             + inc_dom[dom])


def _funding(w: _World, rng: np.random.Generator, city: np.ndarray, dom: np.ndarray,
             day: np.ndarray, incubator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 5: funding rounds (0, or 1 + Poisson) and cumulative amount (0 unfunded)."""
    t = _FIRMS
    n_firms = city.size
    fl = t.funding_logit
    age = (_N_DAYS - 1 - day) / 365.25
    fund_dom = np.array([t.funding_domain[d] for d in DOMAINS])
    eta_f = (fl["const"] + fl["F1"] * w.F[city, 0] + fl["incubator"] * incubator
             + fl["age"] * age + fund_dom[dom])
    funded = rng.random(n_firms) < _logistic(eta_f)
    del eta_f
    rp = t.rounds_poisson
    lam = rp["base"] + rp["age"] * age + rp["incubator"] * incubator
    rounds = np.where(funded, 1 + rng.poisson(lam), 0)
    rounds = np.minimum(rounds, 20).astype(np.int8)
    del lam, age
    al = t.amount_lognormal
    mu_a = al["mu0"] + al["per_round"] * (rounds - 1) + al["F1"] * w.F[city, 0]
    amount = np.exp(mu_a + al["sd"] * rng.standard_normal(n_firms))
    return rounds, np.where(funded, np.round(amount, 1), 0.0)


# ---------------------------------------------------------------------------------------
# 2. environment
# ---------------------------------------------------------------------------------------

def _env_truth() -> EnvironmentTruth:
    names = list(ENV_INDICATORS)
    L = np.array([_ENV_SPEC[j][5] for j in names])
    phi = np.outer(_RHO, _RHO) + np.diag(1.0 - _RHO**2)
    common = L @ phi @ L.T
    psi = 1.0 - np.diag(common)
    implied = common.copy()
    np.fill_diagonal(implied, 1.0)
    return EnvironmentTruth(
        loadings=pd.DataFrame(L, index=names, columns=list(_FACTORS)),
        factor_corr=pd.DataFrame(phi, index=list(_FACTORS), columns=list(_FACTORS)),
        uniquenesses=pd.Series(psi, index=names, name="uniqueness"),
        implied_corr=pd.DataFrame(implied, index=names, columns=names),
        primary_factor={j: _FACTORS[int(np.argmax(_ENV_SPEC[j][5]))] for j in names},
        rho=pd.Series(_RHO, index=list(_FACTORS), name="rho"),
        transform={j: _ENV_SPEC[j][2] for j in names},
        location={j: float(_ENV_SPEC[j][3]) for j in names},
        scale={j: float(_ENV_SPEC[j][4]) for j in names},
        vitality_intercept=_VITALITY["intercept"],
        vitality_coef=pd.Series(_VITALITY["coef"], index=list(_FACTORS), name="coef"),
        vitality_noise_sd=_VITALITY["noise_sd"],
    )


def simulate_environment(
    cities: pd.DataFrame | None = None,
    seed: Any = DEFAULT_SEED,
) -> pd.DataFrame:
    """Simulated city entrepreneurship environment with a 3-factor structure (SIMULATED).

    Stands in for the city indicators behind the report's PART 3 finding "创业投资、研发投入
    和孵化载体是影响未来产业集聚发展的关键环境因素" (venture capital, R&D and
    incubators are the key environment factors) and "孵化器是重要的环境条件".

    Returns
    -------
    DataFrame
        One row per city, in the order of ``cities``: ``city_id`` (str), the twelve
        indicators of :data:`ENV_INDICATORS` (float64) and ``fi_vitality`` (float64,
        future-industry vitality index, national mean about 50).

        ====================  ===========================================  ==========
        column                meaning                                      unit
        ====================  ===========================================  ==========
        venture_capital       VC investment in start-ups                   100M CNY
        rd_spending           R&D expenditure                              100M CNY
        patents               invention patents granted                    count
        high_tech_firms       certified high-tech enterprises              count
        universities          higher-education institutions                count
        researchers           R&D personnel                                10k persons
        graduates             college graduates per year                   10k persons
        talent_inflow         net skilled-worker inflow (100 = mean)       index
        incubators            incubators and maker spaces                  count
        policy_support        start-up / future-industry policy support    0-100 score
        industrial_parks      high-tech and industrial parks               count
        guidance_funds        government guidance funds                    100M CNY
        ====================  ===========================================  ==========

    Notes
    -----
    DGP (``truth().environment``): the city's factors ``F = (F1 capital & R&D, F2 talent
    & knowledge, F3 incubation & policy)`` come from the shared city world,
    ``F_k = rho_k size + sqrt(1 - rho_k²) nu_k`` with ``rho = (0.7, 0.6, 0.5)``, so
    ``Corr(F) = Phi`` with Phi12 = 0.42, Phi13 = 0.35, Phi23 = 0.30. For each indicator
    ``z_j = Lambda_j F + sqrt(psi_j) e_j``, ``psi_j = 1 - Lambda_j Phi Lambda_j'``
    (so Var z_j = 1), and the column is ``exp(mu_j + sd_j z_j)`` (transform "log": take
    ``np.log`` of the column to get back to the factor model's scale) or
    ``mu_j + sd_j z_j`` (``talent_inflow``, ``policy_support``: transform "identity").
    Loadings: F1 venture_capital .85, rd_spending .80, patents .60, high_tech_firms .75;
    F2 universities .80, researchers .75, graduates .80, talent_inflow .55; F3
    incubators .80, policy_support .65, industrial_parks .60, guidance_funds .70; cross
    loadings patents on F2 .25 and talent_inflow on F1 .20.

    ``fi_vitality = 50 + 6.0 F1 + 2.5 F2 + 4.5 F3 + N(0, 4²)``. Because the factors
    are correlated, its OLS on the true factors recovers (6.0, 2.5, 4.5); on regression
    (Thomson) factor scores it recovers them too, in large samples, once the scores are
    put on the factors' scale.
    """
    cities = _check_cities(cities)
    wrng, rng = _rngs(seed, "environment")
    w = _world(cities, wrng)
    tr = _env_truth()
    n = len(cities)
    L = tr.loadings.to_numpy()
    psi = tr.uniquenesses.to_numpy()
    z = w.F @ L.T + np.sqrt(psi) * rng.standard_normal((n, len(ENV_INDICATORS)))
    out = {"city_id": w.city_id.astype(object)}
    for j, name in enumerate(ENV_INDICATORS):
        _, _, transform, mu, sd, _ = _ENV_SPEC[name]
        v = mu + sd * z[:, j]
        out[name] = np.round(np.exp(v) if transform == "log" else v, 4)
    vit = (tr.vitality_intercept + w.F @ tr.vitality_coef.to_numpy()
           + tr.vitality_noise_sd * rng.standard_normal(n))
    out["fi_vitality"] = np.round(vit, 4)
    df = pd.DataFrame(out)
    df["city_id"] = df["city_id"].astype(str)
    return df


# ---------------------------------------------------------------------------------------
# 3. AI clusters
# ---------------------------------------------------------------------------------------

def _ai_truth() -> AIClustersTruth:
    names = list(AI_DRIVERS)
    terms = [f"np.log({d})" if _AI_SPEC[d][2] == "log" else d for d in names]
    coef = pd.Series([_AI_INTERCEPT] + [_AI_SPEC[d][5] for d in names],
                     index=["Intercept"] + terms, name="coef")
    # population correlation of driver latents: v_d = lam*size + B_d F + s_d e_d with
    # size, F jointly normal: Cov(size, F_k) = rho_k, Cov(F) = Phi
    lam = _AI_SCALE_LOADING
    B = np.array([_AI_ENV_LINK[d] for d in names])
    A = np.column_stack([np.full(len(names), lam), B])        # on (size, F1, F2, F3)
    S = _joint_size_f()
    common = A @ S @ A.T
    cov = common.copy()
    np.fill_diagonal(cov, 1.0)  # idiosyncratic variance tops each latent up to 1
    return AIClustersTruth(
        formula="np.log(ai_firms) ~ " + " + ".join(terms),
        coef=coef,
        noise_sd=_AI_NOISE_SD,
        transform={d: _AI_SPEC[d][2] for d in names},
        scale_loading=lam,
        driver_corr=pd.DataFrame(cov, index=names, columns=names),
    )


def simulate_ai_clusters(
    cities: pd.DataFrame | None = None,
    seed: Any = DEFAULT_SEED,
) -> pd.DataFrame:
    """Simulated AI firms per city and six drivers of AI-industry clustering (SIMULATED).

    The report's PART 3 names the environment factors of AI clustering: computer-industry
    venture capital (计算机产业创业投资), high-level open-source developers (高水平开源开发者),
    software-industry policy support (软件产业政策支持力度) and IP output (知识产权产出),
    "especially the number and output of developers". The two further drivers are
    justified by the same report: **AI talent** (``ai_talent``: AI graduates and
    researchers -- PART 3 analyses the AI industry's 人才储备 and its recommendation 6
    is about talent training and attraction) and **computing power**
    (``computing_power``: data-centre capacity -- the index's infrastructure layer is
    cloud / AI compute, and the report credits 东数西算 for western cities' gains;
    large-model ecosystems need compute).

    Returns
    -------
    DataFrame
        One row per city: ``city_id`` (str), ``ai_firms`` (int64, AI enterprises),
        ``vc_computer`` (100M CNY), ``oss_developers`` (persons), ``software_policy``
        (0-100 score), ``ip_output`` (count), ``ai_talent`` (persons),
        ``computing_power`` (PFLOPS); drivers float64.

    Notes
    -----
    DGP (``truth().ai_clusters``): each driver's latent ``v_d = 0.5 size + B_d F +
    s_d e_d`` has unit variance (``s_d`` fills it up), where ``size`` and ``F`` are the
    shared city world and ``B_d`` small links to the environment factors
    (vc_computer .30 F1, oss_developers .30 F2, software_policy .30 F3, ip_output .25 F1
    + .15 F2, ai_talent .35 F2) -- pairwise correlations 0.33-0.58 in the population,
    VIFs about 1.3-2: mild collinearity. Driver columns are ``exp(mu_d + sd_d v_d)``
    (``software_policy``: ``mu + sd v``, 55 + 12 v). Then

    ``log(ai_firms) = -0.60 + 0.15 log(vc_computer) + 0.30 log(oss_developers)
    + 0.020 software_policy + 0.20 log(ip_output) + 0.12 log(ai_talent)
    + 0.10 log(computing_power) + N(0, 0.40²)``

    and ``ai_firms`` is the result rounded to an integer (at least 1). OLS of
    ``np.log(ai_firms)`` on the transformed drivers (``truth().ai_clusters.formula``)
    recovers the coefficients up to sampling error (the rounding adds a negligible
    error). Developers carry the largest standardized effect, as the report finds.
    """
    cities = _check_cities(cities)
    wrng, rng = _rngs(seed, "ai")
    w = _world(cities, wrng)
    n = len(cities)
    B = np.array([_AI_ENV_LINK[d] for d in AI_DRIVERS])
    A = np.column_stack([np.full(len(AI_DRIVERS), _AI_SCALE_LOADING), B])
    s_d = np.sqrt(1.0 - np.diag(A @ _joint_size_f() @ A.T))
    v = (_AI_SCALE_LOADING * w.size[:, None] + w.F @ B.T
         + s_d * rng.standard_normal((n, len(AI_DRIVERS))))
    out: dict[str, Any] = {"city_id": w.city_id}
    eta = np.full(n, _AI_INTERCEPT)
    cols = {}
    for j, d in enumerate(AI_DRIVERS):
        _, _, transform, mu, sd, beta = _AI_SPEC[d]
        x = mu + sd * v[:, j]
        if transform == "log":
            val = np.round(np.exp(x), 4)
            eta += beta * np.log(val)
        else:
            val = np.round(x, 4)
            eta += beta * val
        cols[d] = val
    eta += _AI_NOISE_SD * rng.standard_normal(n)
    out["ai_firms"] = np.maximum(np.rint(np.exp(eta)), 1).astype(np.int64)
    out.update(cols)
    df = pd.DataFrame(out)
    df["city_id"] = df["city_id"].astype(str)
    return df


def _joint_size_f() -> np.ndarray:
    """Covariance of (size, F1, F2, F3) in the city world."""
    S = np.zeros((4, 4))
    S[0, 0] = 1.0
    S[0, 1:] = S[1:, 0] = _RHO
    S[1:, 1:] = np.outer(_RHO, _RHO) + np.diag(1.0 - _RHO**2)
    return S


# ---------------------------------------------------------------------------------------
# 4. survey
# ---------------------------------------------------------------------------------------

def survey_margins() -> dict[str, pd.Series]:
    """Population margins (shares summing to 1) to rake the simulated survey to.

    Adult (18+) population of mainland China, approximate shares after the 2020 census
    (stated for the demo, not fitted): ``gender`` male .51 / female .49; ``age_band``
    18-24 .13, 25-34 .19, 35-44 .19, 45-54 .21, 55+ .28; ``city_tier`` 一线 .06,
    新一线 .12, 二线 .13, 三线 .20, 四线 .21, 五线 .28; ``region`` east .40, central .26,
    west .27, northeast .07. Multiply by a population size for totals.
    """
    levels = {"gender": _GENDERS, "age_band": AGE_BANDS, "city_tier": _TIERS,
              "region": _REGIONS}
    return {k: pd.Series(_POPULATION[k], index=pd.Index(levels[k], name=k), name="share")
            for k in levels}


def _sample_margins() -> dict[str, pd.Series]:
    region_p = np.array(_SAMPLE["region"])
    tier_p = region_p @ _SAMPLE_TIER_GIVEN_REGION
    return {
        "gender": pd.Series(_SAMPLE["gender"], index=pd.Index(_GENDERS, name="gender")),
        "age_band": pd.Series(_SAMPLE["age_band"], index=pd.Index(AGE_BANDS, name="age_band")),
        "city_tier": pd.Series(tier_p, index=pd.Index(_TIERS, name="city_tier")),
        "region": pd.Series(region_p, index=pd.Index(_REGIONS, name="region")),
    }


def _survey_truth() -> SurveyTruth:
    ranks = np.arange(len(EMPLOYER_SIZES))
    train = _logistic(_TRAINING["const"] + _TRAINING["size_rank"] * ranks)
    a_rank = np.arange(len(AGE_BANDS))
    c0, c1 = _SKILL_LOGIT["skill_aigc"]
    aigc = _logistic(c0 + c1 * a_rank)
    pop_age = np.array(_POPULATION["age_band"])
    return SurveyTruth(
        population_margins=survey_margins(),
        sample_margins=_sample_margins(),
        training_by_size=pd.Series(train, index=pd.Index(EMPLOYER_SIZES, name="employer_size"),
                                   name="p_organized_training"),
        training_logit=dict(_TRAINING),
        tool_logit=pd.DataFrame(_TOOL_LOGIT, index=["const", "size_rank", "tier_score",
                                                    "age_rank"]).T,
        tool_industry=dict(_TOOL_INDUSTRY),
        aigc_by_age=pd.Series(aigc, index=pd.Index(AGE_BANDS, name="age_band"),
                              name="p_skill_aigc"),
        aigc_population_rate=float(pop_age @ aigc),
        skill_logit=pd.DataFrame(_SKILL_LOGIT, index=["const", "age_rank"]).T,
        hit_rate=pd.Series(_HIT_P, name="p_hit"),
        hit_own_occupation_shift=_HIT_OWN_SHIFT,
        attitude_formula=(
            "ai_attitude ~ female + C(age_band) + C(education) + tool_ai_assistant"
            " + organized_training  (ordered logit; references: male, 18-24, below_college)"
        ),
        attitude_coef=pd.Series(_ATT_COEF, name="coef"),
        attitude_cutpoints=_ATT_CUT.copy(),
        worry_coef=pd.Series(_WORRY_COEF, name="coef"),
        worry_cutpoints=_WORRY_CUT.copy(),
        own_job_risk_logit=pd.Series(_OWN_RISK, name="coef"),
    )


def _ordered_logit_draw(rng: np.random.Generator, eta: np.ndarray,
                        cuts: np.ndarray) -> np.ndarray:
    u = rng.random(eta.shape[0])
    latent = eta + np.log(u) - np.log1p(-u)  # standard logistic error
    return (1 + np.searchsorted(cuts, latent)).astype(np.int8)


def simulate_survey(seed: Any = DEFAULT_SEED, n: int = 5796) -> pd.DataFrame:
    """Simulated respondent microdata of the public survey of the report's PART 4 (SIMULATED).

    Stands in for the 企鹅有调 online survey (5,796 respondents) on digital tools at work
    and in life and on expectations of AI. Like any online panel, the sample
    over-represents the young, the east and higher-tier cities relative to the
    population margins of :func:`survey_margins`; rake to those before comparing groups.

    Returns
    -------
    DataFrame
        ``n`` rows. ``respondent_id`` int64 (1..n); categoricals ``gender`` (male,
        female), ``age_band`` (ordered :data:`AGE_BANDS`), ``city_tier`` (ordered, 一线 ..
        五线 as in ``load_cities().tier``), ``region`` (east, central, west, northeast),
        ``education`` (ordered below_college < college (大专) < bachelor < postgraduate),
        ``industry`` (12: internet_it, finance, manufacturing, communications,
        culture_entertainment, real_estate, agriculture, energy, education, healthcare,
        retail_services, public_sector), ``occupation`` (professional_technical,
        management, clerical, services_sales, production, freelance, other),
        ``employer_size`` (ordered :data:`EMPLOYER_SIZES`); int8 0/1 multi-select
        columns ``tool_*`` (tools used at work: instant_messaging, video_meeting,
        online_docs, project_management, cloud_storage, ai_assistant), ``gain_*``
        (what the tools bring: efficiency, cost, customers, market, tech),
        ``tech_*`` (frontier technologies of interest: ai, data_security, big_data,
        cloud, blockchain, metaverse), ``hit_*`` (occupations AI will hit hard:
        professional_services, technical, clerical, creative_media, sales_services,
        production, management), ``skill_*`` (digital skills wanted: aigc,
        media_creation, data_analysis, programming, office_software,
        ecommerce_livestream); int8 0/1 ``organized_training`` (the employer organized
        training in digital tools), ``own_job_at_risk``; int8 Likert 1-5 ``ai_attitude``
        ("AI will make my work better", 1 = strongly disagree .. 5 = strongly agree) and
        ``ai_worry`` ("I worry AI will replace my job").

    Notes
    -----
    DGP (``truth().survey``). Demographics are drawn independently from the sample
    distributions (gender .54/.46; age 18-24 .20, 25-34 .38, 35-44 .24, 45-54 .12,
    55+ .06; region east .55, central .20, west .19, northeast .06; city tier given
    region from a fixed table -- 一线 only in the east), education, industry,
    occupation and employer size (<50 .28, 50-299 .26, 300-999 .18, 1000-4999 .14,
    5000+ .14) independently. Then, with ``size_rank`` 0..4, ``age_rank`` 0..4 and
    ``tier_score`` 5 (一线) .. 0 (五线):

    * ``organized_training``: logit P = -1.2 + 0.55 size_rank -- P rises from .23 (<50)
      to .73 (5000+): the report's "单位规模越大员工获得组织化培训的程度更高".
    * ``tool_k``: logit P = const_k + b_size size_rank + b_tier tier_score + b_age
      age_rank + industry shift (internet_it +.6, finance +.4, communications +.3,
      public_sector -.1, agriculture -.4); see ``truth().survey.tool_logit``.
    * ``gain_k``: logit P = logit(p_k) + 0.4 organized_training (efficiency .70 > cost
      .52 > customers .33 > market .29 > tech .26): 提效, 降本, then 开源.
    * ``tech_k``: base rates (AI .62 the highest), AI +0.45 on the logit in
      communications, manufacturing, culture, real estate, agriculture, energy.
    * ``hit_k``: logit P = logit(p_k) + 0.4 if the respondent works in that occupation;
      p = professional_services .36, technical .33 (the report's "超三成"), clerical .28,
      creative_media .25, production .20, sales_services .18, management .08.
    * ``skill_k``: logit P = const_k + b_k age_rank; AIGC 0.30 - 0.45 age_rank (P from
      .57 at 18-24 to .18 at 55+, depending on age only).
    * ``own_job_at_risk``: logit P = -0.8 + occupation shift (clerical +.6,
      professional_technical +.4, production +.3, ...).
    * ``ai_attitude``: ordered logit, latent = -0.2 female - (0.1, 0.3, 0.5, 0.7) for
      age 25-34 .. 55+ + (0.15, 0.30, 0.45) for college .. postgraduate + 0.8
      tool_ai_assistant + 0.4 organized_training + logistic error; cutpoints
      (-2.6, -1.2, 0.4, 2.0).
    * ``ai_worry``: ordered logit on own_job_at_risk (0.9), age and gender; cutpoints
      (-2.2, -0.8, 0.6, 2.1).
    """
    n = check_positive_int(n, "n")
    _, rng = _rngs(seed, "survey")

    def draw(p) -> np.ndarray:
        p = np.asarray(p, float)
        return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)

    gender = draw(_SAMPLE["gender"])
    age = draw(_SAMPLE["age_band"])
    region = draw(_SAMPLE["region"])
    cum = np.cumsum(_SAMPLE_TIER_GIVEN_REGION, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(n)
    tier = (u[:, None] > cum[region]).sum(axis=1).astype(np.int8)
    educ = draw(_SAMPLE["education"])
    industry = draw(_SAMPLE["industry"])
    occupation = draw(_SAMPLE["occupation"])
    size = draw(_SAMPLE["employer_size"])
    tier_score = (len(_TIERS) - 1 - tier).astype(float)

    def bern(eta: np.ndarray) -> np.ndarray:
        return (rng.random(n) < _logistic(eta)).astype(np.int8)

    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    cols: dict[str, Any] = {"respondent_id": np.arange(1, n + 1, dtype=np.int64)}
    cols["gender"] = pd.Categorical.from_codes(gender, categories=list(_GENDERS))
    cols["age_band"] = pd.Categorical.from_codes(age, categories=list(AGE_BANDS),
                                                 ordered=True)
    cols["city_tier"] = pd.Categorical.from_codes(tier, categories=list(_TIERS),
                                                  ordered=True)
    cols["region"] = pd.Categorical.from_codes(region, categories=list(_REGIONS))
    cols["education"] = pd.Categorical.from_codes(educ, categories=list(_EDUCATION),
                                                  ordered=True)
    cols["industry"] = pd.Categorical.from_codes(industry, categories=list(_INDUSTRIES))
    cols["occupation"] = pd.Categorical.from_codes(occupation,
                                                   categories=list(_OCCUPATIONS))
    cols["employer_size"] = pd.Categorical.from_codes(size, categories=list(EMPLOYER_SIZES),
                                                      ordered=True)

    ind_shift = np.array([_TOOL_INDUSTRY.get(i, 0.0) for i in _INDUSTRIES])[industry]
    for k in _TOOLS:
        c0, b_size, b_tier, b_age = _TOOL_LOGIT[k]
        cols[k] = bern(c0 + b_size * size + b_tier * tier_score + b_age * age + ind_shift)
    training = bern(_TRAINING["const"] + _TRAINING["size_rank"] * size)
    cols["organized_training"] = training
    for k in _GAINS:
        cols[k] = bern(logit(_GAIN_P[k]) + _GAIN_TRAINING * training)
    ai_ind = np.isin(industry, [_INDUSTRIES.index(i) for i in _TECH_AI_INDUSTRY])
    for k in _TECH:
        cols[k] = bern(logit(_TECH_P[k]) + (_TECH_AI_SHIFT * ai_ind if k == "tech_ai" else 0))
    for k in _HITS:
        own = np.zeros(n, bool)
        for occ, hits in _HIT_OWN.items():
            if k in hits:
                own |= occupation == _OCCUPATIONS.index(occ)
        cols[k] = bern(logit(_HIT_P[k]) + _HIT_OWN_SHIFT * own)
    for k in _SKILLS:
        c0, b_age = _SKILL_LOGIT[k]
        cols[k] = bern(c0 + b_age * age)
    occ_shift = np.array([_OWN_RISK[o] for o in _OCCUPATIONS])[occupation]
    risk = bern(_OWN_RISK["const"] + occ_shift)
    cols["own_job_at_risk"] = risk

    female = (gender == 1).astype(float)
    age_eff = np.array([0.0] + [_ATT_COEF[f"age_band[{a}]"] for a in AGE_BANDS[1:]])
    edu_eff = np.array([0.0] + [_ATT_COEF[f"education[{e}]"] for e in _EDUCATION[1:]])
    eta = (_ATT_COEF["female"] * female + age_eff[age] + edu_eff[educ]
           + _ATT_COEF["tool_ai_assistant"] * cols["tool_ai_assistant"]
           + _ATT_COEF["organized_training"] * training)
    cols["ai_attitude"] = _ordered_logit_draw(rng, eta, _ATT_CUT)
    w_age = np.array([0.0] + [_WORRY_COEF[f"age_band[{a}]"] for a in AGE_BANDS[1:]])
    eta_w = (_WORRY_COEF["own_job_at_risk"] * risk + w_age[age]
             + _WORRY_COEF["female"] * female)
    cols["ai_worry"] = _ordered_logit_draw(rng, eta_w, _WORRY_CUT)
    return pd.DataFrame(cols)


# ---------------------------------------------------------------------------------------
# 5. mediation panel
# ---------------------------------------------------------------------------------------

def _med_truth() -> MediationTruth:
    a = pd.Series(_MED["a"], name="a")
    b = pd.Series(_MED["b"], name="b")
    ind = (a * b).rename("indirect")
    return MediationTruth(
        a=a, b=b, c_prime=_MED["c_prime"], beta=_MED["beta"],
        covariates=pd.Series(_MED["covariates"], name="coef"),
        indirect=ind, total_indirect=float(ind.sum()),
        total=float(_MED["c_prime"] + ind.sum()),
        layer_loading=_MED["layer_loading"], noise_sd=dict(_MED["noise_sd"]),
    )


def _check_dti(dti: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    dti = check_frame(dti, "dti")
    cols = check_columns(dti, _DTI_COLUMNS, what="dti column")
    num = list(_DTI_COLUMNS[2:])
    check_numeric(dti, num)
    check_no_nan(dti, num, keys=["city_id", "quarter"])
    dti = dti.loc[:, cols].copy()
    dti["city_id"] = dti["city_id"].astype(str)
    dti["quarter"] = dti["quarter"].astype(str)
    check_unique_keys(dti, ["city_id", "quarter"])
    bad_q = ~dti["quarter"].isin(QUARTERS)
    if bad_q.any():
        raise DataError(
            f"dti column 'quarter' has {dti.loc[bad_q, 'quarter'].iloc[0]!r}; the panel "
            f"runs over {QUARTERS[0]}..{QUARTERS[-1]} as 'YYYYQn' strings"
        )
    known = set(cities["city_id"].astype(str))
    unknown = sorted(set(dti["city_id"]) - known)
    if unknown:
        raise DataError(
            f"dti has city_id {unknown[0]!r} not in cities ({len(unknown)} unknown in all)"
        )
    for c in ("dti_total", "dti_infrastructure", "dti_platform"):
        if (dti[c] <= 0).any():
            i = int(np.flatnonzero((dti[c] <= 0).to_numpy())[0])
            raise DataError(
                f"dti column {c!r} must be positive (it enters in logs); city_id="
                f"{dti['city_id'].iloc[i]!r}, quarter={dti['quarter'].iloc[i]!r} holds "
                f"{dti[c].iloc[i]!r}"
            )
    return dti


def simulate_mediation_panel(
    cities: pd.DataFrame | None = None,
    dti: pd.DataFrame | None = None,
    seed: Any = DEFAULT_SEED,
) -> pd.DataFrame:
    """Simulated city x quarter panel: investment -> infrastructure / platform -> development.

    The report's PART 3 finds that "数字基础设施和数字平台在未来产业投资和未来产业发展之间
    起到中介作用" and that digitalization has a significant positive effect on
    future-industry development. This panel carries both, with known effects, for
    :func:`dtistat.fit_mediation` and :func:`dtistat.fit_panel`.

    Parameters
    ----------
    cities : DataFrame, optional
        City table (default :func:`load_cities`); covariates come from its city world.
    dti : DataFrame
        The DTI cube's city totals: ``city_id``, ``quarter`` ("2021Q1".."2023Q1"),
        ``dti_total``, ``dti_infrastructure``, ``dti_platform``, ``dti_application``
        (positive; any scale -- only logs enter, and the log of a scale factor is
        absorbed by the city effects). The panel has exactly dti's city x quarter rows.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    DataFrame
        Sorted by city (``cities`` order) and quarter: ``city_id`` (str), ``quarter``
        (str), ``fi_investment`` (X: future-industry investment, log of 100M CNY),
        ``digital_infrastructure`` and ``digital_platform`` (M: intensity indices),
        ``fi_development`` (Y: future-industry development index), ``dti_total`` (as
        given), ``log_dti_total``, covariates ``log_population`` (log 10k persons) and
        ``log_gdp_per_capita`` (log 10k CNY); all float64.

    Notes
    -----
    DGP (``truth().mediation``), city i, quarter t (t = 0..8):

    * ``X_it = 2 + 0.8 size_i + 0.05 t + N(0, 0.3²)`` -- exogenous: its within-city
      variation is independent of everything else.
    * ``M_k,it = a_k X_it + mu_k,i + tau_k,t + N(0, 0.5²)`` with **a = (0.80 infra, 0.50
      platform)**. M is generated from X, so the structural a is exact. The city effect
      ``mu_k,i = 10 + 1.0 * (log of city i's mean dti_infrastructure / dti_platform over
      the panel, centred across cities) + N(0, 0.3²)``: the mediators are intensities
      "built on" the cube's layers in their level (a city with a large infrastructure
      layer has a high M1), but the layers' quarter-to-quarter movements do not enter M,
      which is why ``a_k`` is identified with city fixed effects whether or not the DTI
      is controlled for. ``tau_k,t`` is a fixed quarter profile (a mild upward trend).
    * ``Y_it = c' X_it + b_1 M1_it + b_2 M2_it + beta D_it + 0.5
      log_population_it + 1.0 log_gdp_per_capita_it + alpha_i + gamma_t + N(0, 0.5²)``
      with **c' = 0.30, b = (0.60, 0.90), beta = 2.0**; ``alpha_i = 5 size_i +
      N(0, 1)``, ``gamma_t`` a fixed quarter profile (a dip in 2022Q2-Q3), and
      ``D_it = log(dti_total_it)`` minus its mean over the panel (a constant, so
      ``beta`` is the coefficient of ``log_dti_total`` in any regression with an
      intercept or fixed effects).
    * Indirect effects a_k b_k = (0.48, 0.45), total indirect 0.93, total effect of X on
      Y c = c' + sum a_k b_k = 1.23.
    * Covariates: ``log_population = log_pop_i + 0.002 t + N(0, 0.002²)``,
      ``log_gdp_per_capita = log_gdppc_i + g_i t / 4 + N(0, 0.01²)`` with
      ``g_i ~ N(0.05, 0.02²)``; they are independent of X's within variation.

    With two-way (city and quarter) fixed effects, OLS of M_k on X recovers a_k, and of
    Y on X, M, log(dti_total) and the covariates recovers b, c', beta.
    """
    cities = _check_cities(cities)
    if dti is None:
        raise ParameterError(
            "dti is required: a DataFrame with city_id, quarter, dti_total, "
            "dti_infrastructure, dti_platform, dti_application (the DTI cube's city totals)"
        )
    dti = _check_dti(dti, cities)
    wrng, rng = _rngs(seed, "mediation")
    w = _world(cities, wrng)
    pos = {c: i for i, c in enumerate(w.city_id)}
    q_idx = {q: i for i, q in enumerate(QUARTERS)}
    ci = dti["city_id"].map(pos).to_numpy()
    qi = dti["quarter"].map(q_idx).to_numpy()
    order = np.lexsort((qi, ci))
    dti = dti.iloc[order].reset_index(drop=True)
    ci, qi = ci[order], qi[order]
    n_obs, n_c = len(dti), len(cities)
    t = qi.astype(float)
    med = _med_truth()
    sd = med.noise_sd

    # city-level draws first, then row-level, so the stream layout is fixed
    alpha = 5.0 * w.size + rng.standard_normal(n_c)
    mu_noise = 0.3 * rng.standard_normal((n_c, 2))
    g_gdp = 0.05 + 0.02 * rng.standard_normal(n_c)
    e = rng.standard_normal((n_obs, 6))

    x = 2.0 + 0.8 * w.size[ci] + 0.05 * t + sd["fi_investment"] * e[:, 0]
    tau = np.array([0.0, 0.05, 0.10, 0.15, 0.20, 0.22, 0.25, 0.30, 0.35])
    gamma = np.array([0.0, 0.3, 0.5, 0.8, 1.0, 0.7, 0.6, 1.1, 1.3])
    out: dict[str, Any] = {"city_id": dti["city_id"].to_numpy(),
                           "quarter": dti["quarter"].to_numpy(),
                           "fi_investment": x}
    y = med.c_prime * x
    for k, (m_name, layer) in enumerate(_MED_LAYERS.items()):
        lvl = np.log(dti[layer].to_numpy())
        city_mean = np.bincount(ci, weights=lvl, minlength=n_c)
        cnt = np.bincount(ci, minlength=n_c)
        present = cnt > 0
        city_mean = np.divide(city_mean, cnt, out=np.zeros(n_c), where=present)
        city_mean[present] -= city_mean[present].mean()
        mu_k = 10.0 + med.layer_loading * city_mean + mu_noise[:, k]
        m = med.a[m_name] * x + mu_k[ci] + tau[qi] * (k + 1) + sd[m_name] * e[:, 1 + k]
        out[m_name] = m
        y = y + med.b[m_name] * m
    log_dti = np.log(dti["dti_total"].to_numpy())
    # centred so that Y's level does not depend on the cube's units (a constant, absorbed
    # by the fixed effects: beta is unchanged)
    log_dti_c = log_dti - log_dti.mean()
    log_pop = w.log_pop[ci] + 0.002 * t + 0.002 * e[:, 3]
    log_gdppc = w.log_gdppc[ci] + g_gdp[ci] * t / 4.0 + 0.01 * e[:, 4]
    y = (y + med.beta * log_dti_c + med.covariates["log_population"] * log_pop
         + med.covariates["log_gdp_per_capita"] * log_gdppc + alpha[ci] + gamma[qi]
         + sd["fi_development"] * e[:, 5])
    out["fi_development"] = y
    out["dti_total"] = dti["dti_total"].to_numpy(dtype=float)
    out["log_dti_total"] = log_dti
    out["log_population"] = log_pop
    out["log_gdp_per_capita"] = log_gdppc
    df = pd.DataFrame(out)
    for c in ("city_id", "quarter"):
        df[c] = df[c].astype(str)
    return df


# ---------------------------------------------------------------------------------------
# 6. truth
# ---------------------------------------------------------------------------------------

def truth() -> WorldTruth:
    """Every true parameter of the simulated tables of this module.

    The parameters do not depend on the seed (the seed only draws the noise and the
    city world); a fresh object is built on every call.

    Examples
    --------
    >>> from dtistat.datasets.demo_world import truth
    >>> t = truth()
    >>> round(t.mediation.total, 2), float(t.mediation.a["digital_infrastructure"])
    (1.23, 0.8)
    """
    return WorldTruth(
        firms=copy.deepcopy(_FIRMS),
        environment=_env_truth(),
        ai_clusters=_ai_truth(),
        survey=_survey_truth(),
        mediation=_med_truth(),
    )
