"""The ``cfa``, ``survey`` and ``hausman`` subcommands of the command line.

Each reads a data file, writes CSV tables (and one table in ``--format``) under
``OUT/tables`` and prints its results on stdout, like the other subcommands of
:mod:`dtistat.cli`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dtistat.cli import _common, _read, _Run
from dtistat.errors import DataError

__all__ = ["add_cfa", "add_survey", "add_hausman"]


# --------------------------------------------------------------------------- cfa
def _cfa_model(args: argparse.Namespace) -> str:
    model = "\n".join(args.model)
    if args.model_file:
        from pathlib import Path

        model = "\n".join([model, Path(args.model_file).read_text(encoding="utf-8")])
    if not model.strip():
        raise DataError("the model is empty: give --model 'F =~ x1 + x2 + x3' or "
                        "--model-file FILE")
    if (args.group_equal or args.group_partial or args.invariance) and args.group is None:
        raise DataError("--group-equal, --group-partial and --invariance need --group "
                        "COL, the column defining the groups")
    return model


def _cfa(args: argparse.Namespace) -> int:
    from dtistat.factors import fit_cfa
    from dtistat.tables import frame_table

    run = _Run("cfa", 3, args.out)
    run.step(f"reading {args.data}")
    data = _read(args)
    model = _cfa_model(args)
    run.step("fitting the confirmatory factor model (maximum likelihood)")
    mi = None
    if args.invariance:
        from dtistat.invariance import invariance_test

        mi = invariance_test(data, model, group=args.group, std_lv=args.std_lv,
                             group_partial=args.group_partial, level=args.level,
                             estimator=args.estimator)
        res = mi.fits["configural"]
    else:
        res = fit_cfa(data, model, std_lv=args.std_lv, level=args.level,
                      group=args.group, group_equal=args.group_equal,
                      group_partial=args.group_partial, estimator=args.estimator,
                      meanstructure=args.meanstructure)
    run.step("writing tables")
    run.dirs()
    run.csv("estimates", res.estimates)
    run.csv("fit", res.fit.rename("value").rename_axis("index").reset_index())
    if args.group is None:
        run.csv("reliability", res.reliability.rename_axis("factor").reset_index())
    else:
        run.csv("group_fit", res.group_fit.reset_index())
    f = res.fit
    fit_line = (f"chi2({f['df']:.0f}) = {f['chi2']:.3f}, p = {f['p_value']:.3g}; "
                f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f}, "
                f"SRMR = {f['srmr']:.3f}; N = {res.nobs}")
    if "chi2_scaled" in f:
        fit_line += (f"; MLR: scaled chi2 = {f['chi2_scaled']:.3f} (scaling factor "
                     f"{f['scaling_factor']:.3f}), robust CFI = {f['cfi_robust']:.3f}, "
                     f"robust RMSEA = {f['rmsea_robust']:.3f}")
    if mi is not None:
        tab = mi.table.rename_axis("model").reset_index()
        run.csv("invariance", tab)
        run.table("invariance", lambda **k: frame_table(
            tab, digits=3, title="Measurement invariance", **k), args.format)
        return run.done(f"configural {fit_line}",
                        show=frame_table(tab, digits=3, format="markdown"))
    load = res.estimates[res.estimates["op"] == "=~"]
    cols = [c for c in ("group", "lhs", "rhs", "estimate", "std_error", "p_value",
                        "std_all") if c in load.columns]
    run.table("loadings", lambda **k: frame_table(
        load[cols], digits=3, title="Factor loadings (CFA, maximum likelihood)",
        notes=fit_line + ".", **k), args.format)
    show = frame_table(load[cols], digits=3, format="markdown")
    return run.done(fit_line, show=show)


def add_cfa(sub: Any, fmt: Any) -> None:
    """The ``cfa`` subcommand's options."""
    c = sub.add_parser(
        "cfa", help="confirmatory factor analysis (lavaan syntax, maximum likelihood)",
        description="Fit a CFA/SEM in lavaan syntax by maximum likelihood (lavaan's "
                    "defaults) and write the estimates, the fit indices and the "
                    "reliability of each factor.",
        epilog="example:\n  dtistat cfa env.csv --model \"cap =~ vc + rd + patents\" "
               "\"talent =~ grads + researchers + engineers\" --out out",
        formatter_class=fmt)
    _common(c, "dtistat-cfa")
    c.add_argument("--model", nargs="+", default=[], metavar="LINE",
                   help="model lines, e.g. 'F =~ x1 + x2 + x3', one argument per line "
                        "(default: none, then --model-file)")
    c.add_argument("--model-file", default=None, metavar="FILE",
                   help="text file with the model lines (default: none)")
    c.add_argument("--std-lv", action="store_true",
                   help="fix factor variances to 1 instead of the first loadings")
    c.add_argument("--level", type=float, default=0.95,
                   help="confidence level (default: %(default)s)")
    c.add_argument("--group", default=None, metavar="COL",
                   help="column defining groups: multi-group CFA with a mean structure, "
                        "as lavaan's group= (default: none)")
    c.add_argument("--group-equal", nargs="+", default=[], metavar="CLASS",
                   help="with --group: parameter classes held equal across groups: "
                        "loadings, intercepts, means, residuals, residual_covariances, "
                        "lv_variances, lv_covariances, regressions (default: none)")
    c.add_argument("--group-partial", nargs="+", default=[], metavar="PARAM",
                   help="with --group: parameters left free in every group (partial "
                        "invariance), e.g. 'x3 ~1' 'visual =~ x2' (default: none)")
    c.add_argument("--estimator", default="ML", choices=["ML", "MLR"],
                   help="ML, or MLR (lavaan's robust ML: sandwich standard errors, "
                        "Yuan-Bentler scaled chi2, robust CFI/TLI/RMSEA; with "
                        "--invariance, scaled chi2 differences) (default: %(default)s)")
    c.add_argument("--meanstructure", action="store_true",
                   help="add intercepts and factor means (lavaan's meanstructure; "
                        "implied by '~ 1' lines in the model)")
    c.add_argument("--invariance", action="store_true",
                   help="with --group: fit the configural, metric and scalar models and "
                        "write the invariance table (chi2 differences, CFI, RMSEA)")
    c.set_defaults(func=_cfa)


# --------------------------------------------------------------------------- survey
def _margins(path: str, data: Any) -> dict:
    """Raking targets from a file with columns variable, category, target."""
    import pandas as pd

    from dtistat._validate import check_columns
    from dtistat.io import read_data

    m = read_data(path)
    check_columns(m, ["variable", "category", "target"], what="margins file column")
    out: dict = {}
    for var, g in m.groupby("variable", sort=False):
        check_columns(data, [var], what="margin variable")
        cats = g["category"]
        if pd.api.types.is_numeric_dtype(data[var]):
            cats = pd.to_numeric(cats, errors="coerce")
        else:
            cats = cats.astype(str)
        out[var] = dict(zip(cats, g["target"]))
    return out


def _survey(args: argparse.Namespace) -> int:
    from dtistat.survey import crosstab, rake
    from dtistat.tables import frame_table

    run = _Run("survey", 4, args.out)
    run.step(f"reading {args.data}")
    data = _read(args)
    weights = args.weights
    run.step("raking the weights" if args.margins else "using the weights as given")
    run.dirs()
    if args.margins:
        w = rake(data, _margins(args.margins, data), weights=args.weights)
        rep = w.attrs["rake"]
        data = data.assign(raked_weight=w.to_numpy())
        weights = "raked_weight"
        run.csv("weights", data[[weights]].reset_index(names="row"))
        run.csv("rake_margins", rep.margins)
        print(f"      raked in {rep.iterations} sweep(s); Kish design effect "
              f"{rep.design_effect:.3f}, effective n {rep.effective_n:.1f}", file=sys.stderr)
    run.step(f"crosstab of {args.row} by {' / '.join(args.col)}")
    col = args.col[0] if len(args.col) == 1 else list(args.col)
    res = crosstab(data, args.row, col, weights=weights, multi=args.multi, test=args.test,
                   cluster=args.cluster)
    run.step("writing tables")
    run.csv("crosstab", res.to_frame(), index=True)
    run.csv("tests", res.test_table())
    pct = res.row_pct.rename_axis(args.row).reset_index()
    name = {"rao-scott": "Rao-Scott F", "rao-scott-1": "Rao-Scott chi2",
            "pearson": "Pearson chi2"}.get(res.test, res.test)
    head = (f"{name} = {res.statistic:.4g}, p = {res.p_value:.4g}; n = {res.n}"
            + (f" ({res.n_dropped} dropped)" if res.n_dropped else ""))
    run.table("row_percentages", lambda **k: frame_table(
        pct, digits=1, title=f"Row % of {res.col} by {res.row}", notes=head + ".", **k),
        args.format)
    return run.done(head, show=frame_table(pct, digits=1, format="markdown"))


def add_survey(sub: Any, fmt: Any) -> None:
    """The ``survey`` subcommand's options."""
    s = sub.add_parser(
        "survey", help="weighted crosstab with the Rao-Scott test, optionally raked",
        description="Rake respondent weights to population margins (optional), then "
                    "tabulate an answer by a grouping variable with row percentages, "
                    "the design-based Rao-Scott test, Pearson's chi2 and Cramér's V.",
        epilog="example:\n  dtistat survey answers.xlsx --row tier --col uses_ai "
               "--margins margins.csv --out out\n(margins.csv: columns variable, "
               "category, target; targets are totals or shares)",
        formatter_class=fmt)
    _common(s, "dtistat-survey")
    s.add_argument("--row", required=True, help="grouping column, e.g. industry or tier")
    s.add_argument("--col", required=True, nargs="+", metavar="COL",
                   help="answer column, or the 0/1 columns of a multi-select question")
    s.add_argument("--multi", default=None, metavar="DELIM",
                   help="delimiter of a multi-select answer in one column (default: none)")
    s.add_argument("--weights", default=None,
                   help="weight column (default: equal weights)")
    s.add_argument("--margins", default=None, metavar="FILE",
                   help="rake to these margins first: a file with columns variable, category, "
                        "target (default: none)")
    s.add_argument("--cluster", default=None,
                   help="primary sampling unit column (default: each respondent)")
    s.add_argument("--test", default="rao-scott",
                   choices=("rao-scott", "rao-scott-1", "pearson"),
                   help="headline test (default: %(default)s)")
    s.set_defaults(func=_survey)


# --------------------------------------------------------------------------- hausman
def _hausman(args: argparse.Namespace) -> int:
    import pandas as pd

    from dtistat.panel import fit_panel, hausman
    from dtistat.tables import frame_table

    run = _Run("hausman", 3, args.out)
    run.step(f"reading {args.data}")
    data = _read(args)
    run.step("fitting the within (FE) and random-effects models")
    kw = dict(entity=args.entity, time=args.time, cov="unadjusted",
              missing="drop" if args.dropna else "raise")
    fe = fit_panel(data, args.formula, model="within", **kw)
    re_ = fit_panel(data, args.formula, model="random", **kw)
    h = hausman(fe, re_, method=args.method)
    run.step("writing tables")
    run.dirs()
    terms = list(h.terms)
    table = pd.DataFrame({"term": terms, "fe": fe.params[terms].to_numpy(),
                          "re": re_.params[terms].to_numpy(),
                          "difference": h.difference[terms].to_numpy()})
    run.csv("hausman_coefficients", table)
    run.csv("hausman_test", pd.DataFrame([{"test": h.test, "statistic": h.statistic,
                                           "df": h.df, "p_value": h.p_value}]))
    verdict = ("reject H0: use fixed effects" if h.p_value < 0.05 else
               "H0 (random effects consistent) not rejected at 5%")
    head = f"Hausman chi2({h.df}) = {h.statistic:.4f}, p = {h.p_value:.4g}; {verdict}"
    run.table("hausman", lambda **k: frame_table(
        table, digits=4, title=f"Hausman test ({args.method}): {args.formula}",
        notes=head + ".", **k), args.format)
    return run.done(head, show=frame_table(table, digits=4, format="markdown"))


def add_hausman(sub: Any, fmt: Any) -> None:
    """The ``hausman`` subcommand's options."""
    h = sub.add_parser(
        "hausman", help="Hausman test: fixed against random effects",
        description="Fit the within (entity fixed effects) and the random-effects "
                    "model with conventional standard errors and test whether their "
                    "slopes differ (H0: random effects are consistent).",
        epilog="example:\n  dtistat hausman grunfeld.csv --formula \"invest ~ value + "
               "capital\" --entity firm --time year",
        formatter_class=fmt)
    _common(h, "dtistat-hausman")
    h.add_argument("--formula", required=True, help="'y ~ x1 + x2'")
    h.add_argument("--entity", required=True, help="entity (unit) column")
    h.add_argument("--time", required=True, help="time column")
    h.add_argument("--method", default="pinv",
                   choices=("pinv", "plm", "stata", "sigmamore", "sigmaless"),
                   help="variance of the difference (default: %(default)s)")
    h.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    h.set_defaults(func=_hausman)
