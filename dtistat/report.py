"""The demo report: run the whole method on the demo world, write HTML, CSV and PNG.

``dtistat demo`` calls :func:`run_demo`. Each section is a function of a shared context
that returns tables and figures; the report lays them out in order. Sections of modules
that fail are reported as such in the HTML and in the summary (never silently skipped).
"""

from __future__ import annotations

import dataclasses
import html
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtistat import plots
from dtistat._plotting import LATIN_FONT, cjk_font, glyph_note, pick_label, pyplot, use_chinese

__all__ = ["run_demo", "DemoReport", "Section"]


@dataclass
class Section:
    """One part of the report."""

    key: str
    title: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame, str]] = field(default_factory=list)
    figures: list[tuple[str, Any, str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DemoReport:
    """Where the report went and what it found."""

    out_dir: Path
    html_path: Path
    tables: dict[str, Path]
    figures: dict[str, Path]
    summary: tuple[str, ...]
    seconds: float
    failed: tuple[str, ...] = ()


class _Context:
    """Lazily computed shared objects (the world, the index, the city index, ...)."""

    def __init__(self, seed: int):
        self.seed = seed
        self._cache: dict[str, Any] = {}

    def get(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def world(self):
        from dtistat.datasets import load_demo

        return self.get("world", lambda: load_demo(self.seed))

    @property
    def res(self):
        return self.get("res", lambda: self.world.compute())

    @property
    def city(self):
        return self.get("city", lambda: dataclasses.replace(
            self.res.collapse_by(), metadata=self.world.cities))

    def en(self, column: str) -> dict:
        c = self.world.cities
        pairs = {"city": ("city", "name_en"), "province": ("province", "province_en"),
                 "tier": ("tier", "tier_en"), "cluster": ("cluster", "cluster_en")}
        a, b = pairs[column]
        return dict(zip(c[a].astype(str), c[b].astype(str)))


# --------------------------------------------------------------------------- sections
LAYERS = [("total", "总指数", "total"), ("infrastructure", "基础设施", "infrastructure"),
          ("platform", "平台", "platform"), ("application", "应用", "application")]


def _national(ctx: _Context) -> Section:
    nat = ctx.city.rollup("nation").scores.droplevel("nation")
    qoq = nat.pct_change()
    yoy = nat / nat.shift(4) - 1
    table = pd.DataFrame({"quarter": nat.index.astype(str)})
    for key, zh, _ in LAYERS:
        table[f"{key}"] = nat[key].to_numpy()
    table["total_qoq"] = qoq["total"].to_numpy()
    for key, _, _ in LAYERS:
        table[f"{key}_yoy"] = yoy[key].to_numpy()
    peak = nat["total"].idxmax()
    s = Section("national", "1 National trend and layers",
                text=("The national index is the sum of city base shares: 1 in the base "
                      "period 2021Q1. It peaks in " + str(peak) + "; QoQ growth in 2022Q3 is "
                      f"{qoq.loc[pd.Period('2022Q3', 'Q'), 'total']:.1%}. Platform YoY: "
                      f"{yoy.loc[pd.Period('2022Q1', 'Q'), 'platform']:.1%} (2022Q1) and "
                      f"{yoy.loc[pd.Period('2023Q1', 'Q'), 'platform']:.1%} (2023Q1)."))
    s.tables.append(("national_trend", table, "National index by layer, QoQ and YoY"))
    s.figures.append(("national_trend", plots.index_trend_plot(ctx.city),
                      "National index by layer (base 2021Q1 = 1)"))
    s.figures.append(("layer_yoy", plots.index_trend_plot(ctx.city, growth="yoy"),
                      "Year-on-year growth by layer"))
    s.summary.append(f"national index peaks in {peak}; 2023Q1 = {nat['total'].iloc[-1]:.3f}"
                     " × base")
    return s


def _cities(ctx: _Context) -> Section:
    city = ctx.city
    rc = city.rank_change(2022, "2023Q1").sort_values("rank_end").head(20)
    meta = ctx.world.cities.set_index("city")
    rc.insert(1, "name_en", meta["name_en"].reindex(rc["city"]).to_numpy())
    rc.insert(2, "province", meta["province"].reindex(rc["city"]).to_numpy())
    g = city.growth("yoy_mean").set_index("city")["yoy_mean"]
    rc["yoy_mean"] = g.reindex(rc["city"]).to_numpy()
    firsts = {node: city.rank("2023Q1", node=node)["city"].iloc[0]
              for node in ("total", "infrastructure", "platform", "application")}
    fastest = g.sort_values(ascending=False).head(10)
    fast = pd.DataFrame({"city": fastest.index,
                         "name_en": meta["name_en"].reindex(fastest.index).to_numpy(),
                         "province": meta["province"].reindex(fastest.index).to_numpy(),
                         "yoy_mean": fastest.to_numpy()})
    s = Section("cities", "2 Top cities",
                text="First place by layer in 2023Q1: " + ", ".join(
                    f"{k}: {v}" for k, v in firsts.items()) + ".")
    s.tables.append(("top_cities", rc, "National top 20 in 2023Q1, rank change vs 2022 "
                     "(+1 = up one place), YoY mean 2022Q1–2023Q1"))
    s.tables.append(("fastest_cities", fast, "Ten fastest-growing cities (YoY mean)"))
    s.figures.append(("top_cities", plots.rank_bump_plot(city, top=10,
                                                         metadata=ctx.world.cities),
                      "Ranks of the 2023Q1 top 10 over time"))
    s.summary.append("top 3 cities 2023Q1: " + ", ".join(rc["city"].head(3)))
    return s


def _provinces(ctx: _Context) -> Section:
    prov = ctx.city.rollup("province")
    r22 = prov.rank(2022).head(10)[["province", "rank", "score"]]
    r23 = prov.rank("2023Q1").head(10)[["province", "rank", "score"]]
    g = prov.growth("yoy_mean").sort_values("yoy_mean", ascending=False).head(10)
    table = pd.DataFrame({"rank": range(1, 11), "2022": r22["province"].to_numpy(),
                          "2023Q1": r23["province"].to_numpy(),
                          "fastest (YoY mean)": g["province"].to_numpy(),
                          "yoy_mean": g["yoy_mean"].to_numpy()})
    s = Section("provinces", "3 Provinces")
    s.tables.append(("provinces", table, "Province top 10 (sum of city base shares)"))
    s.figures.append(("provinces", plots.province_bar_plot(
        ctx.city, metadata=ctx.world.cities, period="2023Q1"), "Top 10 provinces, 2023Q1"))
    s.summary.append(f"first province: {r22['province'].iloc[0]} (2022), "
                     f"{r23['province'].iloc[0]} (2023Q1)")
    return s


def _tiers_clusters(ctx: _Context) -> Section:
    city = ctx.city
    meta = ctx.world.cities.set_index("city")
    g = city.growth("yoy_mean").set_index("city")["yoy_mean"]
    tier = city.rollup("tier")
    sh22 = tier.share("nation", period=2022).set_index("tier")["share"]
    sh23 = tier.share("nation", period="2023Q1").set_index("tier")["share"]
    tg = g.groupby(meta["tier"].astype(str).reindex(g.index)).mean()
    order = ["一线", "新一线", "二线", "三线", "四线", "五线"]
    tiers = pd.DataFrame({"tier": order, "tier_en": [ctx.en("tier")[t] for t in order],
                          "cities": [int((meta["tier"].astype(str) == t).sum()) for t in order],
                          "share_2022": sh22.reindex(order).to_numpy(),
                          "share_2023Q1": sh23.reindex(order).to_numpy(),
                          "mean_city_yoy": tg.reindex(order).to_numpy()})
    clus = meta["cluster"].replace("", "other")
    cl = city.rollup(pd.Series(clus, name="cluster"))
    csh = cl.share("nation", period=2022).set_index("cluster")["share"]
    cg = g.groupby(clus.reindex(g.index)).mean()
    clusters = pd.DataFrame({"cluster": csh.index, "cities": clus.value_counts().reindex(
        csh.index).to_numpy(), "share_2022": csh.to_numpy(),
        "mean_city_yoy": cg.reindex(csh.index).to_numpy()}).sort_values(
        "share_2022", ascending=False)
    in_share = float(csh.drop("other").sum())
    s = Section("tiers", "4 City tiers and clusters",
                text=(f"The 11 city clusters hold {in_share:.1%} of the national index in "
                      "2022."))
    s.tables.append(("tiers", tiers, "City tiers: share of the national index and mean "
                     "city YoY growth"))
    s.tables.append(("clusters", clusters, "City clusters: share of the national index "
                     "and mean city YoY growth"))
    s.figures.append(("tiers", plots.growth_by_tier_plot(city, metadata=ctx.world.cities),
                      "Mean city YoY growth by tier"))
    s.figures.append(("clusters", plots.cluster_share_plot(city, metadata=ctx.world.cities,
                                                           period=2022),
                      "Share of the national index by city cluster, 2022"))
    s.summary.append(f"tier shares 2022: 一线 {sh22['一线']:.1%}, 五线 {sh22['五线']:.1%}; "
                     f"clusters {in_share:.1%}")
    return s


def _cluster_tables(ctx: _Context) -> Section:
    city = ctx.city
    g = city.growth("yoy_mean").set_index("city")["yoy_mean"]
    s = Section("cluster_tables", "5 Key clusters: 珠三角, 京津冀, 长三角",
                text="As the report's tables: 2022 rank, 2023Q1 rank with change, and "
                     "YoY growth (mean of quarterly YoY rates 2022Q1–2023Q1).")
    rc = city.rank_change(2022, "2023Q1", within="cluster")
    for name in ("珠三角", "京津冀", "长三角"):
        sub = rc[rc["cluster"] == name].sort_values("rank_end")
        gro = g.reindex(sub["city"]).sort_values(ascending=False)
        t = pd.DataFrame({
            "rank_2022": sub.sort_values("rank_start")["rank_start"].to_numpy(),
            "city_2022": sub.sort_values("rank_start")["city"].to_numpy(),
            "rank_2023Q1": sub["rank_end"].to_numpy(), "city_2023Q1": sub["city"].to_numpy(),
            "change": sub["change"].to_numpy(),
            "growth_rank": np.arange(1, len(gro) + 1), "city_growth": gro.index.to_numpy(),
            "yoy_mean": gro.to_numpy()})
        s.tables.append((f"cluster_{ctx.en('cluster')[name]}", t, name))
    return s


def _industries(ctx: _Context) -> Section:
    res = ctx.res
    ind = ctx.world.industries.set_index("industry")["label"]
    nat = res.rollup("nation")
    size = nat.scores["total"].groupby(level="industry").sum()
    gr = nat.growth("yoy_mean").set_index("industry")["yoy_mean"]
    t = pd.DataFrame({"industry": size.index, "label": ind.reindex(size.index).to_numpy(),
                      "cumulative_index": size.to_numpy(),
                      "yoy_mean": gr.reindex(size.index).to_numpy()})
    t = t.sort_values("cumulative_index", ascending=False)
    t.insert(0, "size_rank", np.arange(1, len(t) + 1))
    t["growth_rank"] = t["yoy_mean"].rank(ascending=False, method="min").astype(int)
    prov = res.rollup("province")
    share = prov.share("by", period=2022)
    pg = prov.growth("yoy_mean")
    rows = {}
    for key in ("manufacturing", "finance", "communications"):
        a = share[share.industry == key].sort_values("share", ascending=False).head(10)
        b = pg[pg.industry == key].sort_values("yoy_mean", ascending=False).head(10)
        rows[f"{key}_share_2022"] = a["province"].to_numpy()
        rows[f"{key}_growth"] = b["province"].to_numpy()
    ptab = pd.DataFrame({"rank": range(1, 11), **rows})
    top3 = res.cumulative_top("cluster", n=3)
    for c in ("no.1", "no.2", "no.3"):
        top3[c] = top3[c].map(ind)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [pick_label(lab, key) for key, lab in zip(t["industry"], t["label"])]
    ax.bar(labels, t["cumulative_index"])
    ax.set_title(pick_label("行业指数规模（2021Q1–2023Q1 累计）",
                            "Industry index size (cumulative 2021Q1–2023Q1)"))
    ax.tick_params(axis="x", rotation=60)
    fig.tight_layout()
    s = Section("industries", "6 Industries")
    s.tables.append(("industries", t, "Industry size and YoY growth (national)"))
    s.tables.append(("province_industry_top10", ptab, "Province top 10: industry share of "
                     "the province's digital index (2022) and industry growth"))
    s.tables.append(("cluster_top3", top3, "Cumulative top-3 industries per cluster "
                     "(2021Q1–2023Q1)"))
    s.figures.append(("industries", fig, "Industry size"))
    s.summary.append(f"largest industry: {t['label'].iloc[0]} ({t['industry'].iloc[0]})")
    return s


INDEX_SECTIONS: list[Callable[[_Context], Section]] = [
    _national, _cities, _provinces, _tiers_clusters, _cluster_tables, _industries,
]


# --------------------------------------------------------------------------- estimators
def _truth_table(est: pd.DataFrame, truth: pd.Series, *, term="term") -> pd.DataFrame:
    out = est[[term, "estimate", "std_error", "p_value", "ci_low", "ci_high"]].copy()
    out.insert(2, "truth", out[term].map(truth).to_numpy())
    return out


def _panel(ctx: _Context) -> Section:
    from dtistat.panel import fit_panel
    from dtistat.reporting.truth import truth_notes, within_sd

    w = ctx.world
    data = w.mediation_panel
    truth = w.truth["mediation"]
    f = ("fi_development ~ log_dti_total + fi_investment + digital_infrastructure + "
         "digital_platform + log_population + log_gdp_per_capita")
    fe = fit_panel(data, f, entity="city", time="quarter", fe="twoway", cov="cluster")
    tr = pd.Series({"log_dti_total": truth["beta"], "fi_investment": truth["c_prime"],
                    **truth["b"].to_dict(), **truth["covariates"].to_dict()})
    table = _truth_table(fe.tidy(), tr)
    lone = fit_panel(data, "fi_development ~ log_dti_total", entity="city", time="quarter",
                     fe="twoway", cov="cluster")
    b = lone.tidy().set_index("term").loc["log_dti_total"]
    sd = within_sd(data, "log_population", "city", "quarter")
    why = {"log_population": (
        "In the simulation log population is a city level plus 0.002 a quarter plus noise "
        f"of sd 0.002; once the city and quarter effects are removed it varies by sd {sd:.4f}"
        ", so its coefficient is barely identified (hence the large SE), not biased")}
    notes = truth_notes(table, reasons=why)
    s = Section("panel", "7 Digitalization and future-industry development (panel)",
                text=("Two-way fixed effects (city, quarter), standard errors clustered by "
                      "city (Stata xtreg convention). Alone, log DTI has a coefficient of "
                      f"{b['estimate']:.3f} ({b['std_error']:.3f}); the simulated truth is "
                      f"{truth['beta']}." + "".join(f" {html.escape(n)}" for n in notes)))
    s.tables.append(("panel_twoway_fe", table, "fit_panel: future-industry development "
                     "on log DTI, investment, mediators and covariates (with true values)"))
    full = table.set_index("term").loc["log_dti_total"]
    s.summary.append(f"panel: log DTI effect {full['estimate']:.3f} ({full['std_error']:.3f}),"
                     f" truth {truth['beta']}")
    return s


def _factors(ctx: _Context) -> Section:
    from dtistat.drivers import fit_drivers
    from dtistat.factors import fit_efa

    w = ctx.world
    t_env = w.truth["environment"]
    env = w.environment.copy()
    for col, how in t_env["transform"].items():
        if how == "log":
            env[col] = np.log(env[col])
    cols = list(t_env["transform"])
    efa = fit_efa(env, cols, n_factors="parallel", rotation="promax", seed=1)
    load = efa.loadings.copy()
    load.insert(0, "true_factor", [t_env["primary_factor"][c] for c in load.index])
    load = load.reset_index(names="indicator")
    t_ai = w.truth["ai_clusters"]
    ai = w.ai_clusters.copy()
    names = {}
    for col in ("ai_firms", "vc_computer", "oss_developers", "ip_output", "ai_talent",
                "computing_power"):
        ai[f"log_{col}"] = np.log(ai[col])
        names[f"np.log({col})"] = f"log_{col}"
    drivers = ["log_vc_computer", "log_oss_developers", "software_policy", "log_ip_output",
               "log_ai_talent", "log_computing_power"]
    drv = fit_drivers(ai, "log_ai_firms", drivers, standardize=False)
    truth = t_ai["coef"].rename(index=lambda k: names.get(k, k)).rename(
        index={"Intercept": "const"})
    dtab = drv.to_frame()
    keep = [c for c in ("term", "estimate", "std_error", "p_value", "ci_low", "ci_high",
                        "general_dominance", "share") if c in dtab.columns]
    dtab = dtab[keep].copy()
    dtab.insert(2, "truth", dtab["term"].map(truth).to_numpy())
    s = Section("factors", "8 Entrepreneurship environment and AI-cluster drivers",
                text=(f"KMO {efa.kmo.overall:.3f}; Bartlett χ² {efa.bartlett.statistic:.1f}; "
                      f"parallel analysis retains {efa.n_factors} factors (the simulated "
                      "world has 3)."))
    s.tables.append(("environment_efa", load, "fit_efa (minres, promax) loadings with the "
                     "factor each indicator was simulated from"))
    s.tables.append(("ai_drivers", dtab, "fit_drivers: log AI firms on six drivers, HC1 "
                     "SE, dominance shares of R² (with true coefficients)"))
    s.figures.append(("environment_scree", plots.scree_plot(efa), "Scree plot with "
                      "parallel analysis"))
    s.summary.append(f"environment: {efa.n_factors} factors retained (truth 3)")
    return s


def _survey(ctx: _Context) -> Section:
    from dtistat.reporting.truth import truth_notes
    from dtistat.survey import crosstab, fit_ordered, proportions, rake

    w = ctx.world
    sv = w.survey
    wts = rake(sv, w.survey_margins)
    rep = wts.attrs.get("rake")
    data = sv.assign(w=wts.to_numpy())
    tools = [c for c in sv.columns if c.startswith("tool_")]
    prop = proportions(data, tools, by="city_tier", weights="w")
    ct = crosstab(data, "employer_size", "organized_training", weights="w")
    t_s = w.truth["survey"]
    data = data.assign(female=(data["gender"].astype(str) == "female").astype(int))
    formula = t_s["attitude_formula"].split("(ordered")[0].strip()
    weighted = fit_ordered(data, formula, weights="w").tidy()
    unweighted = fit_ordered(data, formula).tidy().set_index("term")
    truth = t_s["attitude_coef"]
    key = weighted["term"].str.replace("C(", "", regex=False).str.replace(
        ")[", "[", regex=False)
    osum = weighted[key.isin(truth.index)][["term", "estimate", "std_error"]].copy()
    osum.insert(1, "truth", key[key.isin(truth.index)].map(truth).to_numpy())
    osum["unweighted"] = unweighted["estimate"].reindex(osum["term"]).to_numpy()
    osum["unweighted_se"] = unweighted["std_error"].reindex(osum["term"]).to_numpy()
    notes = truth_notes(osum)
    if notes:  # say why the raked fit strays more than the unweighted one
        notes.append(
            "In the simulation the panel's selection depends only on gender, age, tier and "
            "region, and attitude depends on none of them beyond the regressors, so the "
            "unweighted fit is consistent too and more precise (compare the unweighted "
            "column); raking answers the population question at the price of variance")
    s = Section("survey", "9 Public survey (PART 4): weighted shares, training, attitudes",
                text=("Raked to population margins (gender, age, tier, region)" +
                      (f": Kish design effect {rep.design_effect:.2f}, effective n "
                       f"{rep.effective_n:.0f}." if rep is not None else ".") +
                      "".join(f" {html.escape(n.rstrip('.'))}." for n in notes)))
    s.tables.append(("survey_tools_by_tier", prop,
                     "Weighted tool-use rates by city tier (Wilson CI)"))
    s.tables.append(("survey_training_by_size", ct.test_table(), "Organized training by "
                     "employer size: Rao–Scott and trend tests"))
    hits = [c for c in sv.columns if c.startswith("hit_")]
    by_occ = proportions(data, hits, by="occupation", weights="w")
    skills = proportions(data, ["skill_aigc", "skill_media_creation"], by="age_band",
                         weights="w")
    s.tables.append(("survey_ai_impact_by_occupation", by_occ,
                     "Which jobs will AI hit? Weighted shares by respondents' occupation"))
    s.tables.append(("survey_skills_by_age", skills,
                     "Skills wanted (AIGC, media creation) by age band"))
    s.tables.append(("survey_attitude", osum, "Ordered logit of attitude to AI, raked "
                     "weights and unweighted (robust SE), with the simulated truth"))
    s.summary.append("survey: raked weights, training rises with employer size")
    return s


SOBOL_N_BASE = 4096


def _sensitivity(ctx: _Context) -> Section:
    from dtistat.plots import rank_interval_plot
    from dtistat.sensitivity import kernel, sobol_weights, weight_sensitivity

    w = ctx.world
    leaves = [leaf.column for leaf in w.spec.leaves]
    city = w.cube.groupby(["city", "quarter"], as_index=False)[leaves].sum()
    if kernel.needs_compiling():
        print(kernel.COMPILING, file=sys.stderr, flush=True)
    res = weight_sensitivity(city, w.spec, method="expert_bootstrap", n_draws=2000, seed=1,
                             top_k=10)
    summ = res.rank_table()
    last = summ[summ["quarter"].astype(str) == "2023Q1"].sort_values("nominal_rank").head(20)
    en = ctx.en("city")
    fig = rank_interval_plot(res, period="2023Q1", top=20,
                             labels=None if use_chinese() else en)
    # 4,096 base samples: the indices then move by < 0.01 between N/2 and N (0.06 at
    # 1,024, which made the demo warn "increase n_base" about itself)
    sob = sobol_weights(city, w.spec, groups="layer", n_base=SOBOL_N_BASE, seed=1)
    stab = sob.interval_table()
    near = last[(last["p_top_k"] > 0.05) & (last["p_top_k"] < 0.95)]
    s = Section("sensitivity", "10 How much do the expert weights move the ranking?",
                text=("2,000 bootstrap resamples of the 15 experts' scores, the same draws "
                      "for every quarter. Cities whose top-10 membership is uncertain in "
                      "2023Q1: " + (", ".join(near["city"]) if len(near) else "none") + "."))
    s.tables.append(("sensitivity_2023Q1", last, "Rank intervals (5–95%) and probability "
                     "of a top-10 place, 2023Q1, expert bootstrap"))
    s.tables.append(("sobol_layers", stab, "Sobol indices (with 95% intervals) of the mean "
                     f"absolute rank shift for the three layer weights, N = {SOBOL_N_BASE:,}"))
    s.figures.append(("rank_intervals", fig, "Rank intervals, 2023Q1"))
    s.summary.append("sensitivity: top-10 uncertain in 2023Q1 for "
                     f"{len(near)} cities")
    return s


def _future(ctx: _Context) -> Section:
    from dtistat.datasets import load_cities
    from dtistat.future import future_industry_index

    w = ctx.world
    meta = load_cities()
    fut = future_industry_index(w.firms, entity="city_id", funding="funding_amount",
                                rounds="funding_rounds", metadata=meta)
    names = dict(zip(meta["city_id"], meta["name_zh"]))
    top = fut.index.rank("2023Q1").head(15)
    top.insert(1, "city", top["city_id"].map(names))
    prov_meta = meta[["city_id", "province"]]
    prov = fut.index.rollup("province", metadata=prov_meta, how="mean").rank("2023Q1")
    prof = fut.profiles(metadata=meta)
    com = fut.comovement().reset_index()
    s = Section("future", "11 Future-industry index (PART 2): start-up firms, six domains",
                text=("Agglomeration, activity, growth and diversity from "
                      f"{len(w.firms):,} simulated start-up records, combined per city × "
                      "quarter (min–max per quarter, equal weights)."))
    s.tables.append(("future_top_cities", top, "Future-industry index, top 15 cities, "
                     "2023Q1"))
    s.tables.append(("future_provinces", prov.head(10), "Provinces by mean city index, "
                     "2023Q1"))
    s.tables.append(("future_profiles", prof, "Typical cities: domain profiles"))
    s.tables.append(("future_comovement", com, "Domain co-movement: correlation of domain "
                     "indices across cities"))
    s.summary.append("future industries: top 3 cities " + ", ".join(top["city"].head(3)))
    return s


def _mediation(ctx: _Context) -> Section:
    from dtistat.mediation import fit_mediation
    from dtistat.plots import indirect_effect_plot
    from dtistat.tables import mediation_table

    w = ctx.world
    t = w.truth["mediation"]
    res = fit_mediation(w.mediation_panel, x="fi_investment",
                        m=["digital_infrastructure", "digital_platform"], y="fi_development",
                        covariates=["log_dti_total", "log_population", "log_gdp_per_capita"],
                        entity="city", time="quarter", fe="twoway", n_boot=5000, ci="bca",
                        seed=1, procedure="wen_ye_2014")
    truth = pd.Series({"a[digital_infrastructure]": t["a"]["digital_infrastructure"],
                       "a[digital_platform]": t["a"]["digital_platform"],
                       "b[digital_infrastructure]": t["b"]["digital_infrastructure"],
                       "b[digital_platform]": t["b"]["digital_platform"],
                       "c_prime": t["c_prime"],
                       "indirect[digital_infrastructure]": t["indirect"]["digital_infrastructure"],
                       "indirect[digital_platform]": t["indirect"]["digital_platform"],
                       "indirect_total": t["total_indirect"]})
    summ = res.tidy()
    summ = summ[summ["term"].isin(truth.index)].copy()
    summ.insert(2, "truth", summ["term"].map(truth).to_numpy())
    tabs = mediation_table(res, format="frame")
    verdicts = res.procedure.verdicts if res.procedure is not None else None
    s = Section("mediation", "12 Digital infrastructure and platforms as mediators",
                text=("Future-industry investment → digital infrastructure / digital platform "
                      "→ future-industry development, two-way fixed effects, 5,000 city-"
                      "cluster bootstrap draws, BCa intervals; Wen & Ye (2014) procedure."))
    s.tables.append(("mediation_paths", summ, "fit_mediation: paths and indirect effects "
                     "with the simulated truth"))
    for key, frame in tabs.items():
        s.tables.append((f"mediation_table_{key}", frame.reset_index(), f"Paper layout: {key}"))
    if verdicts is not None:
        s.tables.append(("mediation_wen_ye", verdicts, "Wen & Ye (2014) verdicts"))
    s.figures.append(("indirect_effects", indirect_effect_plot(res), "Bootstrap distribution "
                      "of the indirect effects"))
    ind = res.indirect.set_index("term")
    s.summary.append("mediation: indirect via infrastructure "
                     f"{ind.loc['indirect[digital_infrastructure]', 'estimate']:.3f} "
                     f"(truth {t['indirect']['digital_infrastructure']:.2f}), via platform "
                     f"{ind.loc['indirect[digital_platform]', 'estimate']:.3f} "
                     f"(truth {t['indirect']['digital_platform']:.2f})")
    return s


# --------------------------------------------------------------------------- writing
_CSS = """
body{font-family:-apple-system,'Segoe UI','Noto Sans CJK SC','Microsoft YaHei',sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #333} h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right} th{background:#f4f4f4}
caption{text-align:left;font-weight:600;padding:4px 0} .fail{color:#b00}
img{max-width:100%} .note{color:#555;font-size:13px}
"""


def _fmt_table(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            if any(k in str(c) for k in ("yoy", "qoq", "share", "growth")):
                out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
            else:
                out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    return out


def _is_glyph(message: str) -> bool:
    return message.startswith("Glyph ") and "missing from" in message


def _save(fig: Any, path: Path) -> list[str]:
    """Save a figure; return matplotlib's missing-glyph warnings, pass the others on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, dpi=110)
    for wm in caught:
        if not _is_glyph(str(wm.message)):
            warnings.warn_explicit(wm.message, wm.category, wm.filename, wm.lineno)
    return [str(wm.message) for wm in caught if _is_glyph(str(wm.message))]


def run_demo(
    out: str | Path = "dtistat-demo",
    *,
    seed: int = 2023,
    sections: list[Callable[[_Context], Section]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Run the method on the demo world and write ``report.html``, CSV tables and PNGs.

    Parameters
    ----------
    out : path
        Output folder (created).
    seed : int
        Demo world seed; 2023 uses the shipped files.
    sections : list, optional
        Section functions (default: every available section).
    progress : callable, optional
        Receives one line per step (default: printed to stderr).

    Returns
    -------
    DemoReport
    """
    t0 = time.perf_counter()
    say = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
    out_dir = Path(out)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    ctx = _Context(seed)
    secs = sections if sections is not None else all_sections()
    chinese = use_chinese()
    done: list[Section] = []
    failed: list[str] = []
    tables: dict[str, Path] = {}
    figures: dict[str, Path] = {}
    plt = pyplot()
    glyphs: list[str] = []
    for i, fn in enumerate(secs, 1):
        name = _section_name(fn)
        t = time.perf_counter()
        say(f"[{i}/{len(secs)}] {name} ...")
        sec, sec_glyphs, ok = _run_section(fn, ctx, name)
        if not ok:
            failed.append(name)
        glyphs += sec_glyphs
        glyphs += _write_outputs(sec, out_dir, tables, figures, plt)
        done.append(sec)
        say(f"[{i}/{len(secs)}] {name} done in {time.perf_counter() - t:.1f} s")
    html_path = out_dir / "report.html"
    html_path.write_text(_report_html(done, glyphs, chinese), encoding="utf-8")
    summary = tuple(line for sec in done for line in sec.summary)
    return DemoReport(out_dir=out_dir, html_path=html_path, tables=tables, figures=figures,
                      summary=summary, seconds=time.perf_counter() - t0,
                      failed=tuple(failed))


def _section_name(fn: Callable) -> str:
    """A section function's name; a topic module's ``section`` is named by its module."""
    name = fn.__name__.lstrip("_")
    if name == "section":
        name = fn.__module__.rsplit(".", 1)[-1]
    return name


def _run_section(fn: Callable[[_Context], Section], ctx: _Context, name: str
                 ) -> tuple[Section, list[str], bool]:
    """Run one section; its warnings become notes in its text (those about drawing
    glyphs are returned, for one note at the top) and whether it ran. A failure becomes
    a section titled ``"<name> (failed)"`` with the error: a broken module must not hide
    the others."""
    glyphs: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sec = fn(ctx)
        notes = sorted({str(wm.message) for wm in caught})
        glyphs += [n for n in notes if _is_glyph(n)]
        notes = [n for n in notes if not _is_glyph(n)]
        if notes:  # shown in the report, not lost on the terminal
            sec.text += "".join(f"<br><span class='note'>Note: {html.escape(n)}</span>"
                                for n in notes)
    except Exception as exc:
        sec = Section(name, f"{name} (failed)", text=html.escape(
            "".join(traceback.format_exception_only(type(exc), exc)).strip()))
        return sec, glyphs, False
    return sec, glyphs, True


def _write_outputs(sec: Section, out_dir: Path, tables: dict[str, Path],
                   figures: dict[str, Path], plt: Any) -> list[str]:
    """Write a section's tables (CSV) and figures (PNG, then closed), recording their
    paths; returns the notes about glyphs the figures could not draw."""
    glyphs: list[str] = []
    for tname, frame, _cap in sec.tables:
        p = out_dir / "tables" / f"{tname}.csv"
        frame.to_csv(p, index=False, encoding="utf-8-sig")
        tables[tname] = p
    for fname, fig, _cap in sec.figures:
        p = out_dir / "figures" / f"{fname}.png"
        glyphs += _save(fig, p)
        plt.close(fig)
        figures[fname] = p
    return glyphs


def _report_html(done: list[Section], glyphs: list[str], chinese: bool) -> str:
    """The report page: a heading that says the data are simulated, then the sections
    numbered in report order."""
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
             f"<title>dtistat demo report</title><style>{_CSS}</style></head><body>",
             "<h1>dtistat demo report — 数字化转型指数 (simulated data)</h1>",
             "<p class='note'>All indicator data, firms, survey answers and panels are "
             "<b>simulated</b> (documented DGP in <code>dtistat.datasets</code>); city "
             "metadata are real. The index is calibrated to the published tables of the "
             "2023 数字化转型指数报告. Figures use " +
             (f"Chinese labels (font {cjk_font()} with {LATIN_FONT} for Latin letters and "
              "digits)." if chinese else "English labels (no font with Chinese glyphs "
              "found).") + "</p>"]
    if glyph_note(glyphs):
        parts.append(f"<p class='note'>Figures: {html.escape(glyph_note(glyphs))}.</p>")
    for num, sec in enumerate(done, start=1):
        parts += _section_html(num, sec)
    parts.append("</body></html>")
    return "\n".join(parts)


def _section_html(num: int, sec: Section) -> list[str]:
    """One section's heading, text, figures and tables (each with a link to its CSV)."""
    cls = " class='fail'" if sec.title.endswith("(failed)") else ""
    # sections are numbered in report order, whatever number a title was written with
    title = f"{num} " + re.sub(r"^\d+\s+", "", sec.title)
    parts = [f"<h2{cls}>{html.escape(title)}</h2>"]
    if sec.text:
        parts.append(f"<p{cls}>{sec.text}</p>")
    for fname, _fig, cap in sec.figures:
        parts.append(f"<figure><img src='figures/{fname}.png' alt='{html.escape(cap)}'>"
                     f"<figcaption>{html.escape(cap)}</figcaption></figure>")
    for tname, frame, cap in sec.tables:
        body = _fmt_table(frame).to_html(index=False, border=0, escape=True)
        end = body.index(">", body.index("<table")) + 1  # the caption follows <table ...>
        parts.append(f"{body[:end]}<caption>{html.escape(cap)} "
                     f"(<a href='tables/{tname}.csv'>CSV</a>)</caption>{body[end:]}")
    return parts


def all_sections() -> list[Callable[[_Context], Section]]:
    """Every section of the demo, in report order."""
    from dtistat.reporting import did, disparity, heterogeneity, iv, spatial, threshold

    return [*INDEX_SECTIONS, disparity.section, _future, _panel, iv.section,
            heterogeneity.section, _mediation, _factors, _survey, _sensitivity,
            threshold.section, did.section, spatial.section]
