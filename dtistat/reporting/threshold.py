"""Demo report section: the human-capital threshold in the DTI effect (Hansen 1999)."""

from __future__ import annotations

import html

import pandas as pd

from dtistat.report import Section, _Context

__all__ = ["section"]


def section(ctx: _Context) -> Section:
    """Threshold tests, threshold estimates and regime coefficients beside the truth."""
    from dtistat.datasets.demo_threshold import TRUTH
    from dtistat.reporting.truth import truth_notes, within_sd
    from dtistat.threshold import fit_threshold

    data = ctx.world.threshold_panel
    kw = {"threshold_var": "human_capital", "regime_vars": "dti_std", "entity": "city_id",
          "time": "quarter", "seed": 1}
    f = "fi_output ~ log_population + log_gdp_per_capita"
    two = fit_threshold(data, f, n_thresholds=2, n_boot=300, **kw)
    one = fit_threshold(data, f, n_thresholds=1, n_boot=0, **kw)
    zh = two.summary(lang="zh").tables
    tests = zh["门槛效应检验"].reset_index(names="门槛数")
    th = two.thresholds[["estimate", "ci_low", "ci_high"]].copy()
    th.insert(0, "truth", [TRUTH["gamma"] if k == "Th-1" or k == "Th-21" else float("nan")
                           for k in th.index])
    th = th.reset_index(names="model")
    g = one.estimates[0]
    truth = pd.Series({"log_population": TRUTH["log_population"],
                       "log_gdp_per_capita": TRUTH["log_gdp_per_capita"],
                       f"dti_std [human_capital<={g:.6g}]": TRUTH["beta_low"],
                       f"dti_std [human_capital>{g:.6g}]": TRUTH["beta_high"]})
    coefs = one.tidy()[["term", "estimate", "std_error", "p_value", "ci_low", "ci_high"]]
    coefs.insert(2, "truth", coefs["term"].map(truth).to_numpy())
    sd = within_sd(data, "log_population", "city_id")
    notes = truth_notes(coefs, reasons={"log_population": (
        "Log population barely moves within a city (sd "
        f"{sd:.4f} once city means are removed), so its coefficient is barely identified")})
    single = two.tests.loc["Single"]
    double = two.tests.loc["Double"]
    s = Section("threshold", "13 Threshold effect: human capital and the DTI effect (门槛效应)",
                text=("Hansen (1999) fixed-effects panel threshold regression of future-"
                      "industry output on the standardized log DTI, whose slope changes with "
                      "human capital (years of schooling); 400 grid points, trims 1%, 300 "
                      "bootstrap draws per test, regime coefficients with standard errors "
                      "clustered by city (xtreg, fe convention). Simulated truth: one "
                      f"threshold at γ = {TRUTH['gamma']}, slopes {TRUTH['beta_low']} below "
                      f"and {TRUTH['beta_high']} above."
                      + "".join(f" {html.escape(n)}" for n in notes)))
    s.tables.append(("threshold_tests", tests,
                     "门槛效应检验: bootstrap F tests (single, double)"))
    s.tables.append(("threshold_estimates", th,
                     "门槛估计值: estimates and 95% LR intervals with the simulated truth"))
    s.tables.append(("threshold_coefficients", coefs,
                     "Single-threshold model: regime coefficients with the simulated truth"))
    s.figures.append(("threshold_lr", two.plot_lr(),
                      ("LR(γ) with the 7.35 critical value (single; double: γ1 given γ2, "
                       "γ2 given γ1)")))
    s.summary.append(f"threshold: γ = {g:.3f} (truth {TRUTH['gamma']}), single F = "
                     f"{single['F']:.1f} (p = {single['p_value']:.3f}), double p = "
                     f"{double['p_value']:.3f}")
    return s
