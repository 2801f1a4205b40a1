"""Publication tables: regression, mediation and ranking tables (Markdown, LaTeX, HTML, xlsx, docx).

Every table is built from the results protocol: each result's ``table_columns()``
(its tidy frame -- term, estimate, std_error, statistic, p_value, ... -- and its
model-level statistics), never from estimation
code: estimators return numbers, this module formats them (the layout of Stata's
``esttab`` and pyfixest's ``etable``).

* :func:`regression_table` -- side-by-side columns for any mix of ``PanelResult``,
  ``DriversResult``, the path equations of a ``MediationResult`` and any other
  coefficient result; significance stars, standard errors in parentheses, fixed-effect
  indicator rows, the cluster variable, N and R².
* :func:`mediation_table` -- the layout of Chinese empirical papers: Y ~ X (c),
  M ~ X (a) and Y ~ X + M (b, c′) side by side (Panel A) and the bootstrap test of the
  indirect effect (Panel B).
* :func:`index_table` -- a ranking in one period with the rank change since another
  (+1 = moved up one place) and growth.
* :func:`frame_table` -- any DataFrame in the same formats.

Formats: ``"markdown"``, ``"latex"`` (booktabs), ``"html"`` and ``"frame"`` return
the table (a string or a DataFrame; also written to ``path`` if given); ``"xlsx"``
(openpyxl) and ``"docx"`` (python-docx, the ``docx`` extra) write ``path`` and return it.
In xlsx every number is a number cell whose fixed number format shows the table's text
(``0.000``, ``0.000"***"``, ``"("0.000")"``): the sheet reads like the paper's table and
pastes into a manuscript as such, while each cell can still be computed with or
re-rounded; the sheet ``estimates`` holds the unrounded values.
"""

from __future__ import annotations

import html as _html
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._periods import per_year, to_period
from dtistat._results import Result, TableColumn
from dtistat.errors import ParameterError
from dtistat.mediation import MediationResult

__all__ = [
    "TableColumn",
    "regression_table",
    "mediation_table",
    "mediation_equations",
    "index_table",
    "frame_table",
    "FORMATS",
]

FORMATS = ("markdown", "latex", "html", "xlsx", "docx", "frame")
SE_STYLES = ("parentheses", "brackets", "t", "p", "ci", "none")
INTERCEPTS = ("const", "Intercept", "intercept", "_cons", "(Intercept)")

STAT_LABELS = {
    "nobs": "Observations",
    "r2": "R²",
    "adj_r2": "Adj. R²",
    "r2_within": "Within R²",
    "r2_between": "Between R²",
    "r2_overall": "Overall R²",
    "n_entities": "Entities",
    "n_periods": "Periods",
    "n_clusters": "Clusters",
}
_INT_STATS = ("nobs", "n_entities", "n_periods", "n_clusters", "df_resid")
FE_LABELS = {"entity": "Entity FE", "time": "Time FE"}
_SE_NOTES = {
    "parentheses": "Standard errors in parentheses.",
    "brackets": "Standard errors in brackets.",
    "t": "t statistics in parentheses.",
    "p": "p-values in parentheses.",
    "ci": "Confidence intervals in brackets.",
    "none": "",
}


# ============================================================================ columns
def _num(x: Any) -> float | None:
    if isinstance(x, (bool, np.bool_)) or x is None:
        return None
    if isinstance(x, numbers.Number):
        f = float(x)
        return f if math.isfinite(f) else None
    return None


def mediation_equations(result: Any, *, labels: Mapping[str, str] | None = None
                        ) -> list[TableColumn]:
    """The path equations of a mediation result as regression-table columns.

    Order: Y ~ X (total effect c), each M_k ~ X (a paths; serial models also
    M_j, j < k), Y ~ X + M (direct effect c′ and b paths); see
    :meth:`dtistat.MediationResult.table_columns`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dtistat import fit_mediation
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.normal(size=200)})
    >>> d["m"] = 0.5 * d["x"] + rng.normal(size=200)
    >>> d["y"] = 0.4 * d["m"] + rng.normal(size=200)
    >>> res = fit_mediation(d, x="x", m="m", y="y", n_boot=0, seed=1)
    >>> [(c.name, list(c.coefs["term"])) for c in mediation_equations(res)]
    [('y', ['x']), ('m', ['x']), ('y', ['x', 'm'])]
    """
    if not isinstance(result, MediationResult):
        raise ParameterError("mediation_equations() needs a MediationResult; got "
                             f"{type(result).__name__}")
    return result.table_columns(labels=labels)


def _as_columns(obj: Any) -> list[TableColumn]:
    """Table columns of a result through the results protocol (``table_columns()``)."""
    if isinstance(obj, TableColumn):
        return [obj]
    if isinstance(obj, Result) and callable(getattr(obj, "table_columns", None)):
        return list(obj.table_columns())
    raise ParameterError(
        f"cannot put a {type(obj).__name__} in a regression table: pass dtistat "
        "coefficient results (PanelResult, DriversResult, MediationResult, ...) or "
        "TableColumn objects"
    )


# ============================================================================ layout
@dataclass
class _Panel:
    header: list          # rows of header cells; cell 0 is the stub
    blocks: list          # groups of body rows, separated by rules
    align: list           # "l" / "c" / "r" per column
    title: str | None = None


@dataclass
class _Doc:
    panels: list
    title: str | None = None
    notes: list = field(default_factory=list)
    numeric: pd.DataFrame | None = None   # the numbers behind the table (Excel sheet 2)
    frame: Any = None                      # what format="frame" returns


def _check_stars(stars: Any) -> tuple:
    if stars is None or stars is False:
        return ()
    try:
        th = tuple(float(s) for s in stars)
    except (TypeError, ValueError):
        raise ParameterError(f"stars must be a sequence of p-value thresholds, got {stars!r}"
                             ) from None
    if any(not 0 < t < 1 for t in th) or len(set(th)) != len(th):
        raise ParameterError(f"stars thresholds must be distinct numbers in (0, 1), got {stars!r}")
    return tuple(sorted(th, reverse=True))


def _star(p: Any, th: tuple) -> str:
    p = _num(p)
    if p is None:
        return ""
    return "*" * sum(p < t for t in th)


def _fmt(x: Any, digits: int) -> str:
    f = _num(x)
    return "" if f is None else f"{f:.{digits}f}"


def _stars_note(th: tuple) -> str:
    return ", ".join(f"{'*' * (i + 1)} p<{t:g}" for i, t in enumerate(th))


def _keep_terms(terms: list, keep: Any) -> list:
    if keep is None:
        main = [t for t in terms if t not in INTERCEPTS]
        return main + [t for t in terms if t in INTERCEPTS]
    out: list = []
    for pat in v.as_list(keep, "keep"):
        if not isinstance(pat, str):
            raise ParameterError(f"keep entries must be term names or regexes, got {pat!r}")
        hit = [t for t in terms if t == pat] or [
            t for t in terms if re.fullmatch(pat, str(t))]
        if not hit:
            raise ParameterError(f"keep={pat!r} matches no coefficient; terms are {terms}")
        out.extend(t for t in hit if t not in out)
    return out


def _coef_cells(row: pd.Series | None, digits: int, th: tuple, se: str) -> tuple[str, str]:
    if row is None:
        return "", ""
    est = _fmt(row.get("estimate"), digits)
    if est:
        est += _star(row.get("p_value"), th)
    below = ""
    if se in ("parentheses", "brackets", "t", "p"):
        col = {"parentheses": "std_error", "brackets": "std_error", "t": "statistic",
               "p": "p_value"}[se]
        val = _fmt(row.get(col), digits)
        if val:
            below = f"[{val}]" if se == "brackets" else f"({val})"
    elif se == "ci":
        lo, hi = _fmt(row.get("ci_low"), digits), _fmt(row.get("ci_high"), digits)
        if lo and hi:
            below = f"[{lo}, {hi}]"
    return est, below


def _stat_cell(key: str, val: Any, digits: int) -> str:
    f = _num(val)
    if f is None:
        return "" if not isinstance(val, str) else val
    return f"{round(f)}" if key in _INT_STATS else f"{f:.{digits}f}"


def _coef_block(cols: list, terms: list, *, digits: int, th: tuple, se: str,
                labels: Mapping) -> list:
    rows = []
    for t in terms:
        est_cells, se_cells = [], []
        for c in cols:
            hit = c.coefs[c.coefs["term"] == t]
            e, s = _coef_cells(hit.iloc[0] if len(hit) else None, digits, th, se)
            est_cells.append(e)
            se_cells.append(s)
        rows.append([str(labels.get(t, t)), *est_cells])
        if se != "none":
            rows.append(["", *se_cells])
    return rows


def _model_blocks(cols: list, *, stats: Sequence, fe_rows: bool, digits: int,
                  labels: Mapping) -> list:
    blocks = []
    ind = []
    extra_keys: list = []
    for c in cols:
        extra_keys += [k for k in c.extra if k not in extra_keys]
    for k in extra_keys:
        ind.append([str(labels.get(k, k)), *[str(c.extra.get(k, "")) for c in cols]])
    if fe_rows and any(c.fixed_effects is not None for c in cols):
        for kind in ("entity", "time"):
            if not any(c.fixed_effects and c.fixed_effects.get(kind) for c in cols):
                continue
            ind.append([str(labels.get(kind, FE_LABELS[kind])), *[
                "" if c.fixed_effects is None else
                ("Yes" if c.fixed_effects.get(kind) else "No") for c in cols]])
    if any(c.cluster for c in cols):
        ind.append([str(labels.get("cluster", "Cluster")), *[c.cluster for c in cols]])
    if ind:
        blocks.append(ind)
    srows = []
    _check_stats(stats, cols)
    for key in stats:
        cells = [_stat_cell(key, c.stats.get(key), digits) for c in cols]
        if any(cells):
            srows.append([str(labels.get(key, STAT_LABELS.get(key, key))), *cells])
    if srows:
        blocks.append(srows)
    return blocks


def _check_stats(stats: Sequence, cols: list) -> None:
    """Refuse a statistic name no table knows and no column has (a typo dropped silently)."""
    have: list = list(STAT_LABELS)
    for c in cols:
        have += [k for k in c.stats if k not in have]
    for key in stats:
        if not isinstance(key, str) or key not in have:
            raise ParameterError(
                f"stats entry {key!r} is not a known statistic; valid names: "
                f"{', '.join(map(repr, have))}"
            )


_EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex",
               ".html": "html", ".htm": "html", ".xlsx": "xlsx", ".docx": "docx"}


def _format_for(format: str | None, path: Any) -> str:
    """The output format: as given, else from ``path``'s extension, else Markdown; a
    path whose extension names another format is refused (it would hold the wrong
    content)."""
    ext = Path(path).suffix.lower() if path is not None else ""
    implied = _EXTENSIONS.get(ext)
    if format is None:
        return implied or "markdown"
    if implied is not None and format in FORMATS and implied != format:
        raise ParameterError(f"path {str(path)!r} ends in {ext!r} but format={format!r}; "
                             f"pass format={implied!r} or a path ending in the format's "
                             "extension")
    return format


def _check_common(format: str, digits: int, se: str | None = None) -> None:
    v.check_choice(format, FORMATS, "format")
    v.check_positive_int(digits, "digits", minimum=0)
    if se is not None:
        v.check_choice(se, SE_STYLES, "se")


# ============================================================================ public
def regression_table(
    results: Any,
    *,
    format: str | None = None,
    stars: Sequence[float] | None = (0.1, 0.05, 0.01),
    se: str = "parentheses",
    keep: str | Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    stats: Sequence[str] = ("nobs", "r2", "r2_within"),
    fe_rows: bool = True,
    title: str | None = None,
    digits: int = 3,
    path: str | Path | None = None,
) -> str | pd.DataFrame | Path:
    """Side-by-side regression table (esttab / etable style) of several results.

    Parameters
    ----------
    results : result, list of results, or dict {column heading: result}
        ``PanelResult``, ``DriversResult``, ``MediationResult`` (one column per path
        equation, see :func:`mediation_equations`), :class:`TableColumn`, or any object
        whose ``summary()`` is a tidy frame with ``term`` and ``estimate``.
    format : {"markdown", "latex", "html", "xlsx", "docx", "frame"}, optional
        Default: from ``path``'s extension (.md, .tex, .html, .xlsx, .docx), else
        Markdown; a format that contradicts the extension is refused. ``latex`` uses
        booktabs rules; ``xlsx``/``docx`` need ``path``; ``frame`` returns
        the formatted cells as a DataFrame.
    stars : sequence of float or None
        p-value thresholds; a coefficient gets one star per threshold it is below.
    se : {"parentheses", "brackets", "t", "p", "ci", "none"}
        What goes under each estimate: the standard error in parentheses or brackets,
        the t statistic, the p-value, the confidence interval, or nothing.
    keep : str or list of str, optional
        Coefficients to show, in this order; each entry is a term name or a regular
        expression (``re.fullmatch``). Default: every term, intercept last.
    labels : mapping, optional
        Display names for terms, dependent variables, statistics (``"nobs"``), the
        fixed-effect rows (``"entity"``, ``"time"``) and ``"cluster"``.
    stats : sequence of str
        Model rows, from ``nobs``, ``r2``, ``adj_r2``, ``r2_within``, ``r2_between``,
        ``r2_overall``, ``n_entities``, ``n_periods``, ``n_clusters`` (or any key of a
        result's ``fit_stats()``); a row that no column has is left out. With the
        default, each column adds the rows it asks for (``TableColumn.default_stats``:
        an IV fit's first-stage F, weak-identification F, over-identification p-value
        and Stock-Yogo 10% value).
    fe_rows : bool
        Add "Entity FE" / "Time FE" indicator rows (Yes / No).
    title : str, optional
        Caption.
    digits : int
        Decimals of estimates and statistics.
    path : str or Path, optional
        File to write (required for ``xlsx`` and ``docx``).

    Returns
    -------
    str, DataFrame or Path
        The rendered table (``markdown``, ``latex``, ``html``), the cells (``frame``), or
        the file written (``xlsx``, ``docx``).

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> from dtistat.panel import fit_panel
    >>> g = sm.datasets.grunfeld.load_pandas().data
    >>> res = fit_panel(g, "invest ~ value + capital", entity="firm", time="year",
    ...                 cov="robust")
    >>> print(regression_table(res, stats=("nobs",)))
    |  | (1) |
    |:---|:---:|
    |  | invest |
    | value | 0.110*** |
    |  | (0.019) |
    | capital | 0.310*** |
    |  | (0.042) |
    | Entity FE | Yes |
    | Observations | 220 |
    <BLANKLINE>
    Standard errors in parentheses. * p<0.1, ** p<0.05, *** p<0.01
    <BLANKLINE>
    """
    format = _format_for(format, path)
    _check_common(format, digits, se)
    th = _check_stars(stars)
    labels = _labels(labels)
    if isinstance(results, Mapping):
        heads, objs = list(results.keys()), list(results.values())
    else:
        objs = v.as_list(results, "results") if isinstance(results, (list, tuple)) else [results]
        heads = [None] * len(objs)
    if not objs:
        raise ParameterError("results is empty: pass at least one result")
    cols: list = []
    names: list = []
    for h, o in zip(heads, objs):
        got = _as_columns(o)
        cols += got
        names += [str(h) if h is not None and len(got) == 1 else
                  str(labels.get(c.name, c.name)) for c in got]
    terms: list = []
    for c in cols:
        terms += [t for t in c.coefs["term"] if t not in terms]
    terms = _keep_terms(terms, keep)
    header = [["", *[f"({i + 1})" for i in range(len(cols))]]]
    if any(names):
        header.append(["", *names])
    blocks = [_coef_block(cols, terms, digits=digits, th=th, se=se, labels=labels)]
    stats = v.as_list(stats, "stats")
    if stats == ["nobs", "r2", "r2_within"]:  # the default: add the columns' own rows
        stats += [k for c in cols for k in c.default_stats if k in c.stats]
        stats = list(dict.fromkeys(stats))
    blocks += _model_blocks(cols, stats=stats, fe_rows=fe_rows, digits=digits, labels=labels)
    blocks = [b for b in blocks if b]
    notes = [" ".join(s for s in (_SE_NOTES[se], _stars_note(th)) if s)]
    numeric = pd.concat(
        [c.coefs.assign(column=f"({i + 1})", dependent=c.name)
         for i, c in enumerate(cols)], ignore_index=True)
    numeric = numeric[["column", "dependent"] + [c for c in numeric.columns
                                                  if c not in ("column", "dependent")]]
    panel = _Panel(header=header, blocks=blocks, align=["l"] + ["c"] * len(cols))
    doc = _Doc(panels=[panel], title=title, notes=[n for n in notes if n], numeric=numeric)
    doc.frame = _panel_frame(panel)
    return _render(doc, format, path)


def mediation_table(
    result: Any,
    *,
    format: str | None = None,
    stars: Sequence[float] | None = (0.1, 0.05, 0.01),
    se: str = "parentheses",
    labels: Mapping[str, str] | None = None,
    stats: Sequence[str] = ("nobs", "r2"),
    fe_rows: bool = True,
    title: str | None = None,
    digits: int = 3,
    path: str | Path | None = None,
) -> str | dict | Path:
    """Mediation table in the layout of Chinese empirical papers.

    Panel A puts the three equations side by side -- (1) Y ~ X (total effect c),
    (2) M ~ X (a; one column per mediator), (3) Y ~ X + M (direct effect c′ and b) --
    with controls, fixed effects, cluster and N. Panel B is the bootstrap test of the
    indirect effect: each indirect path (and the total indirect effect and contrasts
    with several mediators), the direct and the total effect, with estimate, bootstrap
    standard error, confidence interval and share of the total effect.

    Parameters
    ----------
    result : MediationResult
        From :func:`dtistat.mediation.fit_mediation` (uses ``paths``, ``indirect``).
    format, stars, se, stats, fe_rows, title, digits, path
        As in :func:`regression_table` (``stats`` rows appear when the result has them).
    labels : mapping, optional
        Display names of the variables (X, mediators, Y, covariates) and of model rows.

    Returns
    -------
    str, dict of DataFrame, or Path
        ``frame`` gives ``{"equations": ..., "indirect": ...}`` (Panel A cells; Panel B
        numbers).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dtistat.mediation import fit_mediation
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.normal(size=300)})
    >>> d["m"] = 0.5 * d["x"] + rng.normal(size=300)
    >>> d["y"] = 0.4 * d["m"] + 0.2 * d["x"] + rng.normal(size=300)
    >>> res = fit_mediation(d, x="x", m="m", y="y", n_boot=1000, ci="percentile", seed=1)
    >>> tab = mediation_table(res, format="frame")
    >>> list(tab["equations"].columns.get_level_values(1))
    ['y', 'm', 'y']
    >>> list(tab["indirect"]["effect"])
    ['Indirect: x → m → y', 'Direct (c′)', 'Total (c)']
    """
    format = _format_for(format, path)
    _check_common(format, digits, se)
    th = _check_stars(stars)
    if not isinstance(result, MediationResult):
        raise ParameterError(
            f"mediation_table() needs a MediationResult, got {type(result).__name__}")
    labels = _labels(labels)
    cols = mediation_equations(result)
    names = [str(labels.get(c.name, c.name)) for c in cols]
    terms: list = []
    for c in cols:
        terms += [t for t in c.coefs["term"] if t not in terms]
    header = [["", *[f"({i + 1})" for i in range(len(cols))]], ["", *names]]
    blocks = [_coef_block(cols, terms, digits=digits, th=th, se=se, labels=labels)]
    blocks += _model_blocks(cols, stats=v.as_list(stats, "stats"), fe_rows=fe_rows,
                            digits=digits, labels=labels)
    pa = _Panel(header=header, blocks=[b for b in blocks if b],
                align=["l"] + ["c"] * len(cols),
                title="Panel A: path equations")
    panels = [pa]
    ind = _indirect_frame(result, labels)
    n_boot = int(getattr(result, "n_boot", 0) or 0)
    level = float(getattr(result, "level", 0.95))
    notes = [" ".join(s for s in (_SE_NOTES[se], _stars_note(th)) if s)]
    if len(ind):
        pct = f"{100 * level:g}%"
        hb = ["Effect", "Estimate", "Boot SE" if n_boot else "SE", f"{pct} CI lower",
              f"{pct} CI upper", "Share of total"]
        rows = [[r.effect, _fmt(r.estimate, digits), _fmt(r.std_error, digits),
                 _fmt(r.ci_low, digits), _fmt(r.ci_high, digits),
                 "" if _num(r.share) is None else f"{100 * r.share:.1f}%"]
                for r in ind.itertuples()]
        panels.append(_Panel(header=[hb], blocks=[rows], align=["l"] + ["c"] * 5,
                             title="Panel B: bootstrap test of the indirect effect"))
        method = str(result.indirect["ci_method"].iloc[0]) if "ci_method" in \
            result.indirect.columns else ""
        how = {"bca": "bias-corrected and accelerated", "bc": "bias-corrected",
               "percentile": "percentile"}.get(method, method)
        if n_boot:
            clus = getattr(result, "cluster", None)
            notes.append(
                f"Panel B: {how} bootstrap intervals of the indirect effects from "
                f"{n_boot} draws" + (f" of whole {clus} clusters" if clus else "")
                + "; direct and total effects with their regression intervals.")
        else:
            notes.append("Panel B: Monte Carlo intervals of the indirect effects "
                         "(no bootstrap draws).")
    proc = getattr(result, "procedure", None)
    if proc is not None and getattr(proc, "name", "") == "jiang_2022":
        notes.append("Following Jiang (2022), only X -> Y and X -> M are estimated; the "
                     "M -> Y link is argued from theory and prior work, not tested.")
    numeric = result.paths.copy()
    doc = _Doc(panels=panels, title=title, notes=[n for n in notes if n], numeric=numeric)
    doc.frame = {"equations": _panel_frame(pa), "indirect": ind}
    return _render(doc, format, path)


def _indirect_frame(result: Any, labels: Mapping) -> pd.DataFrame:
    ind = result.indirect
    cols = ["effect", "term", "estimate", "std_error", "ci_low", "ci_high", "share"]
    if ind is None or not len(ind):
        return pd.DataFrame(columns=cols)
    p = result.paths.set_index("term")
    c = float(p.loc["c", "estimate"]) if "c" in p.index else np.nan

    def lab(s: str) -> str:
        return str(labels.get(s, s))

    def share(est: float) -> float:
        return est / c if c and math.isfinite(c) else np.nan

    rows = []
    for r in ind.itertuples():
        term = str(r.term)
        if term.startswith("indirect["):
            chain = term[len("indirect["):-1].split(">")
            name = "Indirect: " + " → ".join([lab(result.x), *map(lab, chain), lab(result.y)])
        elif term == "indirect_total":
            name = "Total indirect"
        elif term.startswith("contrast["):
            a, b = term[len("contrast["):-1].split("-", 1)
            name = f"Difference: via {lab(a)} − via {lab(b)}"
        else:
            name = term
        sh = share(r.estimate) if not term.startswith("contrast[") else np.nan
        rows.append([name, term, r.estimate, r.std_error, r.ci_low, r.ci_high, sh])
    for term, name in (("c_prime", "Direct (c′)"), ("c", "Total (c)")):
        if term in p.index:
            q = p.loc[term]
            rows.append([name, term, q["estimate"], q.get("std_error", np.nan),
                         q.get("ci_low", np.nan), q.get("ci_high", np.nan),
                         share(q["estimate"])])
    return pd.DataFrame(rows, columns=cols)


def index_table(
    result: Any,
    period: Any = None,
    *,
    compare: Any = None,
    within: Any = None,
    node: str | None = None,
    growth: str | None = None,
    top: int | None = None,
    labels: Mapping[str, str] | None = None,
    metadata: pd.DataFrame | None = None,
    format: str | None = None,
    digits: int = 4,
    title: str | None = None,
    path: str | Path | None = None,
) -> str | pd.DataFrame | Path:
    """Ranking table of an index: rank, score, rank change since ``compare``, growth.

    Parameters
    ----------
    result : IndexResult
    period : quarter ("2023Q1") or int year (mean of its quarters), optional
        Ranking period; default the last quarter.
    compare : quarter or int year, optional
        Earlier period; adds its rank and the change (+1 = moved up one place).
    within : str, optional
        Rank within groups (a metadata column such as ``"cluster"``).
    node : str, optional
        Node to rank (default the total).
    growth : {"yoy_mean", "yoy", "qoq"}, optional
        Add growth in percent: the mean of quarterly YoY rates (the report's "同比增速"),
        or the YoY / QoQ rate in ``period`` (a quarter).
    top : int, optional
        Keep the first ``top`` ranks (per group).
    labels : mapping, optional
        Entity -> display name (e.g. English city names), and column headings.
    metadata : DataFrame, optional
        For ``within`` (default: the result's metadata).
    format, digits, title, path
        As in :func:`regression_table`; ``frame`` returns the numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}]})
    >>> df = pd.DataFrame({"city": list("ABCABC"), "quarter": ["2021Q1"] * 3 + ["2021Q2"] * 3,
    ...                    "x": [1.0, 2, 3, 4, 2, 1]})
    >>> print(index_table(compute_index(df, spec), "2021Q2", compare="2021Q1"))
    | Rank | city | Score | Rank 2021Q1 | Change |
    |:---:|:---|---:|:---:|:---:|
    | 1 | A | 0.6667 | 3 | +2 |
    | 2 | B | 0.3333 | 2 | 0 |
    | 3 | C | 0.1667 | 1 | -2 |
    <BLANKLINE>
    """
    format = _format_for(format, path)
    v.check_choice(format, FORMATS, "format")
    v.check_positive_int(digits, "digits", minimum=0)
    if not all(hasattr(result, a) for a in ("rank", "rank_change", "growth", "entity")):
        raise ParameterError(f"index_table() needs an IndexResult, got {type(result).__name__}")
    if growth is not None:
        v.check_choice(growth, ("yoy_mean", "yoy", "qoq"), "growth")
    labels = _labels(labels)
    ent = result.entity
    r = result.rank(period, within=within, node=node, metadata=metadata)
    per_label = str(r["period"].iloc[0])
    groups = [c for c in r.columns if c not in (ent, "score", "rank", "period")]
    out = r.drop(columns="period")
    if compare is not None:
        rc = result.rank_change(compare, period, within=within, node=node, metadata=metadata)
        keys = [ent, *groups]
        out = out.merge(rc[[*keys, "rank_start", "change"]], on=keys, how="left")
        start_label = str(rc.attrs.get("periods", (compare,))[0])
    if growth is not None:
        keys = [ent, *result.by]
        if growth == "yoy_mean":
            g = result.growth("yoy_mean", node=node)[[*keys, "yoy_mean"]]
            g = g.rename(columns={"yoy_mean": "growth"})
        else:
            freq = result.periods.freq
            if isinstance(period, (int, np.integer)) and per_year(freq) == 4:
                raise ParameterError(f"growth={growth!r} needs a quarter as period, not a year")
            gq = result.growth(growth, node=node)
            q = to_period(period if period is not None else result.periods[-1], freq, "period")
            gq = gq[gq[result.time] == q]
            g = gq[[*keys, growth]].rename(columns={growth: "growth"})
        out = out.merge(g, on=keys, how="left")
    if top is not None:
        v.check_positive_int(top, "top")
        out = out[out["rank"] <= top]
    out = out.reset_index(drop=True)
    head = [*groups, "Rank", ent, "Score"]
    align = ["l"] * len(groups) + ["c", "l", "r"]
    if compare is not None:
        head += [f"Rank {start_label}", "Change"]
        align += ["c", "c"]
    if growth is not None:
        head += [{"yoy_mean": "YoY growth, mean (%)", "yoy": "YoY growth (%)",
                  "qoq": "QoQ growth (%)"}[growth]]
        align += ["r"]
    rows = []
    for rec in out.to_dict("records"):
        row = [str(labels.get(rec[gc], rec[gc])) for gc in groups]
        row += [str(rec["rank"]), str(labels.get(rec[ent], rec[ent])), _fmt(rec["score"], digits)]
        if compare is not None:
            ch = int(rec["change"])
            row += [str(int(rec["rank_start"])), f"+{ch}" if ch > 0 else str(ch)]
        if growth is not None:
            gv = _num(rec["growth"])
            row += ["" if gv is None else f"{100 * gv:.2f}"]
        rows.append(row)
    head = [str(labels.get(h, h)) for h in head]
    panel = _Panel(header=[head], blocks=[rows], align=align)
    ttl = title
    doc = _Doc(panels=[panel], title=ttl, notes=[], numeric=out.assign(period=per_label))
    doc.frame = out.assign(period=per_label)
    return _render(doc, format, path)


def frame_table(
    frame: pd.DataFrame,
    *,
    format: str | None = None,
    digits: int = 3,
    index: bool = False,
    title: str | None = None,
    notes: str | None = None,
    path: str | Path | None = None,
) -> str | pd.DataFrame | Path:
    """Any DataFrame as a table in the formats of :func:`regression_table`.

    Floats get ``digits`` decimals, integers none, missing values a blank cell.

    Examples
    --------
    >>> import pandas as pd
    >>> print(frame_table(pd.DataFrame({"factor": ["F1"], "loading": [0.71234]}), digits=2))
    | factor | loading |
    |:---|---:|
    | F1 | 0.71 |
    <BLANKLINE>
    """
    v.check_frame(frame, "frame", multilevel=True)
    format = _format_for(format, path)
    _check_common(format, digits)
    f = frame.reset_index() if index else frame
    align, cols = [], []
    for c in f.columns:
        s = f[c]
        num = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        align.append("r" if num else "l")
        if pd.api.types.is_integer_dtype(s):
            cols.append([str(x) for x in s])
        elif num:
            cols.append([_fmt(x, digits) for x in s])
        else:
            cols.append(["" if (x is None or (isinstance(x, float) and math.isnan(x)))
                         else str(x) for x in s])
    rows = [list(r) for r in zip(*cols)] if cols else []
    panel = _Panel(header=[[str(c) for c in f.columns]], blocks=[rows], align=align)
    doc = _Doc(panels=[panel], title=title, notes=[notes] if notes else [], numeric=None)
    doc.frame = frame.copy()
    return _render(doc, format, path)


# ============================================================================ renderers
def _panel_frame(p: _Panel) -> pd.DataFrame:
    body = [r for b in p.blocks for r in b]
    heads = [h[1:] for h in p.header]
    cols = pd.MultiIndex.from_arrays(heads) if len(heads) > 1 else pd.Index(heads[0])
    return pd.DataFrame([r[1:] for r in body], index=pd.Index([r[0] for r in body]),
                        columns=cols)


def _labels(labels: Any) -> dict:
    """``labels=``: a mapping {name: label} (a list would have no names to match)."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise ParameterError(f"labels must be a mapping {{name: label}}, e.g. "
                             f"{{'x': 'Digital index'}}; got {type(labels).__name__}")
    return dict(labels)


def _render(doc: _Doc, format: str, path: str | Path | None):
    p = None if path is None else v.check_writable(path)
    try:
        if format in ("xlsx", "docx"):
            if p is None:
                raise ParameterError(f"format={format!r} writes a file: pass path=")
            (_xlsx if format == "xlsx" else _docx)(doc, p)
            return p
        if format == "frame":
            return doc.frame
        text = {"markdown": _markdown, "latex": _latex, "html": _html_table}[format](doc)
        if p is not None:
            p.write_text(text, encoding="utf-8")
        return text
    except OSError as exc:  # permission denied, disk full, ...
        raise ParameterError(f"cannot write {str(p)!r}: {exc.strerror or exc}") from exc


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _markdown(doc: _Doc) -> str:
    out: list = []
    if doc.title:
        out += [f"**{_md_cell(doc.title)}**", ""]
    for p in doc.panels:
        if p.title and len(doc.panels) > 1:
            out += [f"*{_md_cell(p.title)}*", ""]
        rule = {"l": ":---", "c": ":---:", "r": "---:"}
        out.append("| " + " | ".join(_md_cell(c) for c in p.header[0]) + " |")
        out.append("|" + "|".join(rule[a] for a in p.align) + "|")
        for r in [*p.header[1:], *[r for b in p.blocks for r in b]]:
            out.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
        out.append("")
    for n in doc.notes:
        out += [_md_cell(n), ""]
    return "\n".join(out)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
        "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}", "²": r"$^2$", "<": r"$<$", ">": r"$>$",
        "→": r"$\rightarrow$", "–": "--", "−": r"$-$", "′": r"$'$", "×": r"$\times$"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX))


def _tex(s: Any) -> str:
    return _TEX_RE.sub(lambda m: _TEX[m.group(0)], str(s))


def _latex(doc: _Doc) -> str:
    out = [r"\begin{table}[htbp]", r"\centering"]
    if doc.title:
        out.append(r"\caption{" + _tex(doc.title) + "}")
    for i, p in enumerate(doc.panels):
        n = len(p.align)
        if i:
            out.append(r"\medskip")
        out.append(r"\begin{tabular}{" + "".join(p.align) + "}")
        out.append(r"\toprule")
        if p.title and len(doc.panels) > 1:
            out.append(r"\multicolumn{" + str(n) + r"}{l}{\textit{" + _tex(p.title)
                       + r"}} \\")
            out.append(r"\midrule")
        for h in p.header:
            out.append(" & ".join(_tex(c) for c in h) + r" \\")
        for b in p.blocks:
            out.append(r"\midrule")
            for r in b:
                out.append(" & ".join(_tex(c) for c in r) + r" \\")
        out.append(r"\bottomrule")
        if i == len(doc.panels) - 1:
            for note in doc.notes:
                out.append(r"\multicolumn{" + str(n) + r"}{l}{\footnotesize " + _tex(note)
                           + r"} \\")
        out.append(r"\end{tabular}")
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def _html_table(doc: _Doc) -> str:
    esc = _html.escape
    css = {"l": "left", "c": "center", "r": "right"}
    out = []
    if doc.title:
        out.append(f"<p class=\"dtistat-title\"><b>{esc(doc.title)}</b></p>")
    for p in doc.panels:
        out.append('<table class="dtistat-table" style="border-collapse:collapse;'
                   'border-top:2px solid black;border-bottom:2px solid black">')
        if p.title and len(doc.panels) > 1:
            out.append(f"<caption style=\"text-align:left\"><i>{esc(p.title)}</i></caption>")
        out.append("<thead>")
        for j, h in enumerate(p.header):
            line = "border-bottom:1px solid black;" if j == len(p.header) - 1 else ""
            out.append("<tr>" + "".join(
                f"<th style=\"{line}text-align:{css[a]};padding:2px 8px\">{esc(str(c))}</th>"
                for c, a in zip(h, p.align)) + "</tr>")
        out.append("</thead>")
        out.append("<tbody>")
        for k, b in enumerate(p.blocks):
            for j, r in enumerate(b):
                line = "border-top:1px solid black;" if k and j == 0 else ""
                out.append("<tr>" + "".join(
                    f"<td style=\"{line}text-align:{css[a]};padding:2px 8px\">{esc(str(c))}</td>"
                    for c, a in zip(r, p.align)) + "</tr>")
        out.append("</tbody>")
        out.append("</table>")
    for n in doc.notes:
        out.append(f"<p class=\"dtistat-note\" style=\"font-size:smaller\">{esc(n)}</p>")
    return "\n".join(out) + "\n"


_NUM_CELL = re.compile(r"(?P<open>[(\[]?)(?P<plus>\+?)(?P<num>-?\d+(?:\.(?P<dec>\d+))?)"
                       r"(?P<pct>%?)(?P<close>[)\]]?)(?P<stars>\**)")


def _cell_value(s: str) -> tuple[Any, str | None]:
    """An Excel cell for a table cell: ``(value, number_format)``.

    Every number is stored as a number with a fixed format that shows exactly the text of
    the table: ``1.130`` -> 1.13 shown as ``0.000``; ``1.130***`` -> 1.13 shown as
    ``0.000"***"``; ``(0.012)`` -> 0.012 shown as ``"("0.000")"``; ``45.2%`` -> 0.452
    shown as ``0.0%``; a rank change ``+3`` -> 3 shown as ``+0;-0;0``. So the sheet looks
    like the paper's table (stars beside the estimate, as a reader expects when it is
    pasted into a manuscript) while every cell stays a number to compute with or re-round.
    Other text (labels, intervals ``[a, b]``, "Yes") stays text.
    """
    m = _NUM_CELL.fullmatch(s)
    if m is None or {"(": ")", "[": "]", "": ""}[m["open"]] != m["close"]:
        return s, None
    dec = len(m["dec"] or "")
    value: Any = float(m["num"]) if dec else int(m["num"])
    fmt = "0" + ("." + "0" * dec if dec else "")
    if m["pct"]:
        value, fmt = float(m["num"]) / 100, fmt + "%"
    if m["plus"]:
        fmt = f"+{fmt};-{fmt};{fmt}"
    if m["open"]:
        fmt = f'"{m["open"]}"{fmt}"{m["close"]}"'
    if m["stars"]:
        fmt += f'"{m["stars"]}"'
    return value, fmt


def _xlsx(doc: _Doc, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "table"
    thick, thin = Side(style="medium"), Side(style="thin")
    row = 1
    if doc.title:
        ws.cell(row=row, column=1, value=doc.title).font = Font(bold=True)
        row += 2
    width = 8
    for p in doc.panels:
        n = len(p.align)
        if p.title and len(doc.panels) > 1:
            ws.cell(row=row, column=1, value=p.title).font = Font(italic=True)
            row += 1
        rows = [(r, "h", j) for j, r in enumerate(p.header)]
        rows += [(r, k, j) for k, b in enumerate(p.blocks) for j, r in enumerate(b)]
        for r, k, j in rows:
            for col, (val, a) in enumerate(zip(r, p.align), start=1):
                value, fmt = (str(val), None) if k == "h" else _cell_value(str(val))
                cell = ws.cell(row=row, column=col, value=value)
                if fmt is not None:
                    cell.number_format = fmt
                cell.alignment = Alignment(horizontal={"l": "left", "c": "center",
                                                       "r": "right"}[a])
                top = thick if (k == "h" and j == 0) else (
                    thin if (k != "h" and k > 0 and j == 0) else None)
                bottom = thin if (k == "h" and j == len(p.header) - 1) else None
                if (r is rows[-1][0]):
                    bottom = thick
                if top or bottom:
                    cell.border = Border(top=top, bottom=bottom)
                if col == 1:
                    width = max(width, len(str(val)) + 2)
            row += 1
        for col in range(2, n + 1):
            ws.column_dimensions[get_column_letter(col)].width = 14
        row += 1
    ws.column_dimensions["A"].width = min(width, 60)
    for note in doc.notes:
        ws.cell(row=row, column=1, value=note).font = Font(size=9)
        row += 1
    if doc.numeric is not None and len(doc.numeric):
        ws2 = wb.create_sheet("estimates")
        num = doc.numeric.reset_index(drop=True)
        ws2.append([str(c) for c in num.columns])
        for rec in num.itertuples(index=False):
            ws2.append([_excel_scalar(x) for x in rec])
    wb.save(path)


def _excel_scalar(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


def _docx(doc: _Doc, path: Path) -> None:
    try:
        import docx
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Pt
    except ImportError:
        raise ImportError(
            "Word output needs python-docx: pip install python-docx "
            "(or pip install 'dtistat[docx]')") from None

    def border(cell, side: str, size: int) -> None:
        tcPr = cell._tc.get_or_add_tcPr()
        borders = tcPr.find(qn("w:tcBorders"))
        if borders is None:
            borders = OxmlElement("w:tcBorders")
            tcPr.append(borders)
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)

    d = docx.Document()
    if doc.title:
        para = d.add_paragraph()
        para.add_run(doc.title).bold = True
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    horiz = {"l": WD_ALIGN_PARAGRAPH.LEFT, "c": WD_ALIGN_PARAGRAPH.CENTER,
             "r": WD_ALIGN_PARAGRAPH.RIGHT}
    for p in doc.panels:
        if p.title and len(doc.panels) > 1:
            d.add_paragraph().add_run(p.title).italic = True
        rows = [(r, "h", j) for j, r in enumerate(p.header)]
        rows += [(r, k, j) for k, b in enumerate(p.blocks) for j, r in enumerate(b)]
        t = d.add_table(rows=len(rows), cols=len(p.align))
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        for i, (r, k, j) in enumerate(rows):
            for c, (val, a) in enumerate(zip(r, p.align)):
                cell = t.cell(i, c)
                cell.text = str(val)
                par = cell.paragraphs[0]
                par.alignment = horiz[a]
                for run in par.runs:
                    run.font.size = Pt(10)
                if k == "h" and j == 0:
                    border(cell, "top", 12)
                if k == "h" and j == len(p.header) - 1:
                    border(cell, "bottom", 6)
                if k != "h" and k > 0 and j == 0:
                    border(cell, "top", 6)
                if i == len(rows) - 1:
                    border(cell, "bottom", 12)
    for note in doc.notes:
        run = d.add_paragraph().add_run(note)
        run.font.size = Pt(9)
    d.save(str(path))
