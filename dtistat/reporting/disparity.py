"""Demo report section 区域差异与动态演进: Dagum Gini, densities, Markov, convergence, coupling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.index.disparity import (
    beta_convergence,
    convergence_clubs,
    coupling_coordination,
    dagum_gini,
    kernel_density,
    markov,
    sigma_convergence,
)
from dtistat.index.disparity import plots as dplots
from dtistat.index.disparity.coupling import CLASSES
from dtistat.report import Section, _Context

__all__ = ["section"]


def _dagum(ctx: _Context, s: Section) -> None:
    city = ctx.city
    est = dagum_gini(city, group="region")
    truth_frame = ctx.world.city_index.merge(ctx.world.cities[["city", "region"]], on="city")
    truth = dagum_gini(truth_frame, value="total", entity="city", time="quarter",
                       group="region")
    tab = est.overall.reset_index()
    tab.insert(0, "quarter", tab.pop(tab.columns[0]).astype(str))
    tab["G_true_index"] = truth.overall["G"].to_numpy()
    within = est.within.reset_index()
    within[within.columns[0]] = within[within.columns[0]].astype(str)
    s.tables.append(("dagum_overall", tab, ("Dagum Gini decomposition of the city index by the "
                     "four regions, per quarter (G_true_index: the same G on the designed, "
                     "true city index)")))
    s.tables.append(("dagum_within", within, "Within-region Gini G_jj per quarter"))
    s.figures.append(("dagum_shares", dplots.dagum_share_plot(est),
                      "Contributions of within, net-between and transvariation to G"))
    last = est.overall.iloc[-1]
    s.summary.append(f"Dagum G {est.overall.index[-1]} = {last['G']:.3f} (between-region "
                     f"share {last['share_nb']:.1%}); identity error {est.identity_error:.1e}")


def _density_markov(ctx: _Context, s: Section) -> None:
    kd = kernel_density(ctx.city)
    feats = kd.features.reset_index()
    feats[feats.columns[0]] = feats[feats.columns[0]].astype(str)
    s.tables.append(("density_features", feats, ("Kernel density (Stata's Epanechnikov, "
                     "Silverman bandwidth) per quarter: main peak, peaks, tails")))
    s.figures.append(("density_surface", dplots.density_surface_plot(kd),
                      "Kernel density of the city index over quarters"))
    mk = markov(ctx.city, k=4)
    P = mk.probabilities.copy()
    P.index = [f"Q{i + 1}" for i in P.index]
    P.columns = [f"Q{i + 1}" for i in P.columns]
    P["n"] = mk.counts.sum(axis=1).to_numpy()
    P.insert(0, "class at t", P.index)
    s.tables.append(("markov", P, ("Markov transition probabilities between quartile classes "
                     "(per quarter), t -> t+1")))
    s.figures.append(("markov", dplots.markov_heatmap(mk), "Quartile transition probabilities"))
    stay = float(np.trace(mk.probabilities.to_numpy()) / 4)
    s.summary.append(f"Markov: mean probability of staying in one's quartile {stay:.1%}")


def _convergence(ctx: _Context, s: Section) -> None:
    sig = sigma_convergence(ctx.city)
    st = sig.table.reset_index()
    st[st.columns[0]] = st[st.columns[0]].astype(str)
    s.tables.append(("sigma_convergence", st, "Sigma convergence: dispersion of the city index"))
    rows = []
    for label, kw in (("absolute, cross-section (OLS)", {}),
                      ("absolute, panel two-way FE", {"model": "panel", "cov": "cluster"})):
        b = beta_convergence(ctx.city, **kw)
        t = b.tidy().set_index("term").iloc[1 if b.model == "cross-section" else 0]
        rows.append({"model": label, "beta": b.beta, "std_error": t["std_error"],
                     "p_value": t["p_value"], "theta": b.theta, "half_life": b.half_life,
                     "nobs": b.nobs})
    s.tables.append(("beta_convergence", pd.DataFrame(rows), ("Beta convergence (speed per "
                     "quarter, half-life in quarters)")))
    s.summary.append(f"sigma: sd(ln) {st['sd_log'].iloc[0]:.3f} -> {st['sd_log'].iloc[-1]:.3f}; "
                     f"panel beta {rows[1]['beta']:.3f}")
    cl = convergence_clubs(ctx.city, log=True, merge="ps")
    s.tables.append(("convergence_clubs", cl.clubs.reset_index(), (
        "Phillips-Sul convergence clubs of the log city index (log t regressions on the "
        "last two thirds of the quarters, c* = 0, Phillips-Sul 2009 merging)")))
    s.figures.append(("convergence_clubs", dplots.club_paths_plot(cl),
                      "Mean relative transition path of each Phillips-Sul club"))
    s.summary.append(f"Phillips-Sul log t of all cities t = {cl.overall['t_value']:.2f}: "
                     f"{cl.n_clubs} clubs after merging, {len(cl.divergent)} divergent")


def _coupling(ctx: _Context, s: Section) -> None:
    city = ctx.city
    # the base-share scores are very skewed: log them, then min-max each layer to [0, 1]
    # over all city-quarters, shifted into [0.01, 1] so no subsystem is exactly 0 (the usual
    # 对数化后极差标准化 with a 0.01 translation)
    logs = np.log(city.scores[["infrastructure", "application"]])
    U = 0.01 + 0.99 * (logs - logs.min()) / (logs.max() - logs.min())
    frame = U.reset_index().merge(ctx.world.cities[["city", "region"]], on="city")
    cc = coupling_coordination(frame, ["infrastructure", "application"], entity="city",
                               time="quarter")
    t = cc.table.assign(region=frame["region"].to_numpy())
    by = t.groupby(["quarter", "region"])["D"].mean().unstack().reset_index()
    by["quarter"] = by["quarter"].astype(str)
    last = t[t["quarter"] == t["quarter"].max()]
    order = [c[1] for c in CLASSES]
    counts = last["class"].value_counts()
    cls = pd.DataFrame({"class": order, "class_en": [c[2] for c in CLASSES],
                        "cities": counts.reindex(order, fill_value=0).to_numpy()})
    s.tables.append(("coupling_by_region", by, ("Coupling coordination D between the "
                     "infrastructure and application layers (each logged, min-max scaled "
                     "to [0.01, 1]), "
                     "mean by region")))
    s.tables.append(("coupling_classes", cls, ("Coordination classes of the cities, last "
                     "quarter")))
    s.summary.append(f"coupling D (last quarter) mean {last['D'].mean():.3f}; most common "
                     f"class {counts.index[0]}")


def section(ctx: _Context) -> Section:
    """区域差异与动态演进: the regional disparity and dynamics of the city index."""
    s = Section("disparity", "区域差异与动态演进 — regional disparity and dynamics",
                text=("Dagum (1997) Gini decomposition by the four regions, kernel-density "
                      "evolution, quartile Markov chain, sigma/beta convergence, Phillips-Sul "
                      "convergence clubs and the "
                      "coupling coordination of the infrastructure and application layers, "
                      "on the simulated city index (dtistat.index.disparity)."))
    _dagum(ctx, s)
    _density_markov(ctx, s)
    _convergence(ctx, s)
    _coupling(ctx, s)
    return s
