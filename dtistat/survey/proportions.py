"""Weighted proportions by group with Wilson, logit or Korn–Graubard intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_frame,
    check_level,
    warn,
)
from dtistat.errors import (
    DataError,
)
from dtistat.survey._common import (
    CI_METHODS,
    _categories,
    _complete_answers,
    _weights,
    deprecated_weight,
)

__all__ = ["proportions"]

# ======================================================================= proportions

def _ci(p: np.ndarray, neff: np.ndarray, method: str, level: float
        ) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a proportion p with (effective) sample size neff."""
    z = stats.norm.ppf(0.5 + level / 2)
    alpha = 1 - level
    if method == "wilson":
        # Wilson (1927), JASA 22:209-212
        den = 1 + z**2 / neff
        centre = (p + z**2 / (2 * neff)) / den
        half = z / den * np.sqrt(p * (1 - p) / neff + z**2 / (4 * neff**2))
        return centre - half, centre + half
    if method == "logit":
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = special.logit(p) - z / np.sqrt(neff * p * (1 - p))
            hi = special.logit(p) + z / np.sqrt(neff * p * (1 - p))
            lo, hi = special.expit(lo), special.expit(hi)
        degenerate = (p <= 0) | (p >= 1)
        return np.where(degenerate, np.nan, lo), np.where(degenerate, np.nan, hi)
    # Korn & Graubard (1998): Clopper–Pearson on the effective sample size
    x = neff * p
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, neff - x + 1), 0.0)
        hi = np.where(x < neff, stats.beta.ppf(1 - alpha / 2, x + 1, neff - x), 1.0)
    return lo, hi


def proportions(
    data: pd.DataFrame,
    var: str | list[str],
    *,
    by: str | list[str] | None = None,
    weights: str | None = None,
    multi: str | bool | None = None,
    ci: str = "wilson",
    level: float = 0.95,
    weight: str | None = None,
) -> pd.DataFrame:
    """Weighted shares with confidence intervals, overall or by group.

    Every category of ``var`` (or every option of a multi-select question) is a yes/no
    indicator; its share is ``p = sum(w yes) / sum(w)`` within the group. Intervals use
    the Kish effective sample size of the group, ``n_eff = (sum w)^2 / sum(w^2)``
    (Kish 1965, *Survey Sampling*, §11.7), in place of n: the usual binomial variance
    ``p (1 - p) / n_eff`` (``std_error``) allows for the variance inflation from
    unequal weights but not for clustering or correlation of weights with the answer.
    Unweighted, ``n_eff = n`` and the intervals are the textbook ones. Using n_eff in
    Wilson and Clopper–Pearson intervals for survey data follows Korn & Graubard
    (1998, Survey Methodology 24(2):193-201) and Dean & Pagano (2015, J. Survey
    Statistics and Methodology 3(4):484-503).

    * ``"wilson"``: Wilson score interval (Wilson 1927, JASA 22:209-212).
    * ``"logit"``: ``expit(logit(p) -/+ z / sqrt(n_eff p (1 - p)))`` (Stata's
      ``proportion``); undefined (NaN, with a warning) when p is 0 or 1.
    * ``"korn-graubard"``: Clopper–Pearson beta quantiles at ``x* = n_eff p``,
      ``n* = n_eff`` (Korn & Graubard 1998; R ``svyciprop(method = "beta")``). Their
      degrees-of-freedom factor ``(t_{n-1} / t_df)^2`` is 1 for this single-stage
      design.

    Parameters
    ----------
    data : DataFrame of respondents (not modified).
    var : the question: one column; or a list of 0/1 option columns; or one column of
        delimited answers with ``multi=<delimiter>``.
    by : grouping column(s), optional.
    weights : column of positive weights; default unweighted.
    weight : deprecated spelling of ``weights``.
    multi : delimiter of a multi-select answer column, e.g. ``";"``.
    ci : ``"wilson"`` (default), ``"logit"`` or ``"korn-graubard"``.
    level : confidence level.

    Returns
    -------
    DataFrame with the ``by`` columns, ``category`` (the answer or option), ``n``
    (respondents in the group), ``n_yes`` (unweighted), ``weighted`` (weighted count
    of yes), ``proportion``, ``std_error``, ``n_eff``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"tier": ["1", "1", "2", "2", "2"],
    ...                   "tools": ["chat;docs", "docs", "chat", "", "docs;meet"]})
    >>> t = proportions(d, "tools", by="tier", multi=";")
    >>> t.loc[t["tier"] == "2", ["category", "proportion"]].round(3).values.tolist()
    [['chat', 0.333], ['docs', 0.333], ['meet', 0.333]]
    """
    weights = deprecated_weight(weights, weight, "proportions")
    check_frame(data)
    check_choice(ci, CI_METHODS, "ci")
    level = check_level(level)
    by_cols = check_columns(data, as_list(by, "by"), what="by column")
    w_all = _weights(data, weights)
    is_multi = isinstance(var, (list, tuple)) or isinstance(multi, str)
    keep, ind_all, _ = _complete_answers(data, var, multi, is_multi, by_cols, "var")
    if is_multi:
        ind = ind_all.loc[keep]
    else:
        codes, labels, _ = _categories(data.loc[keep, var])
        ind = pd.DataFrame(np.eye(len(labels))[codes], index=data.index[keep],
                           columns=pd.Index(labels))
    if keep.sum() == 0:
        raise DataError(f"no complete rows for {var!r}" + (f" by {by_cols}" if by_cols else ""))
    d = data.loc[keep]
    gcodes, groups = _group_codes(d, by_cols)
    shares = _shares(ind.to_numpy(dtype=float), w_all[keep], gcodes, len(groups), ci,
                     level)
    out = _long_table(shares, groups, by_cols, list(ind.columns))
    for c in by_cols:
        if isinstance(d[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(out[c], dtype=d[c].dtype)
    if ci == "logit" and out["ci_low"].isna().any():
        _warn_logit_undefined(out, by_cols)
    out.attrs["ci"] = ci
    out.attrs["level"] = level
    return out


def _group_codes(d: pd.DataFrame, by_cols: list) -> tuple[np.ndarray, list]:
    """Group code of every row and the groups (one empty group without ``by``)."""
    if not by_cols:
        return np.zeros(len(d), dtype=np.int64), [()]
    # groupby orders groups as a reader expects (Categorical levels in their order)
    grp = d.groupby(by_cols, sort=True, observed=True)
    return grp.ngroup().to_numpy(), list(grp.size().index)


def _shares(Y: np.ndarray, w: np.ndarray, gcodes: np.ndarray, G: int, ci: str,
            level: float) -> dict:
    """Per group (rows) and answer (columns): counts, weighted yes, shares, standard
    errors and intervals on the Kish effective sample size."""
    sw = np.bincount(gcodes, weights=w, minlength=G)
    sw2 = np.bincount(gcodes, weights=w**2, minlength=G)
    neff_g = sw**2 / sw2
    J = Y.shape[1]
    yes_w = np.column_stack([np.bincount(gcodes, weights=w * Y[:, j], minlength=G)
                             for j in range(J)])
    yes_n = np.column_stack([np.bincount(gcodes, weights=Y[:, j], minlength=G)
                             for j in range(J)])
    p = yes_w / sw[:, None]
    lo, hi = _ci(p, neff_g[:, None], ci, level)
    se = np.sqrt(p * (1 - p) / neff_g[:, None])
    return {"n": np.bincount(gcodes, minlength=G), "neff": neff_g, "yes_w": yes_w,
            "yes_n": yes_n, "p": p, "se": se, "lo": lo, "hi": hi}


def _long_table(sh: dict, groups: list, by_cols: list, categories: list) -> pd.DataFrame:
    """One row per group and answer: groups in sorted (category) order, answers in
    their order."""
    rows = []
    for g in range(len(groups)):
        key = groups[g] if isinstance(groups[g], tuple) else (groups[g],)
        for j, cat in enumerate(categories):
            rec = dict(zip(by_cols, key))
            rec.update(category=cat, n=int(sh["n"][g]), n_yes=round(sh["yes_n"][g, j]),
                       weighted=float(sh["yes_w"][g, j]), proportion=float(sh["p"][g, j]),
                       std_error=float(sh["se"][g, j]), n_eff=float(sh["neff"][g]),
                       ci_low=float(sh["lo"][g, j]), ci_high=float(sh["hi"][g, j]))
            rows.append(rec)
    return pd.DataFrame(rows)


def _warn_logit_undefined(out: pd.DataFrame, by_cols: list) -> None:
    """Warn (at the caller of proportions) that logit bounds are NaN at shares 0 or 1."""
    bad = out[out["ci_low"].isna()].iloc[0]
    warn(
        f"logit interval undefined where the share is 0 or 1 (e.g. category "
        f"{bad['category']!r}"
        + (f" in group {tuple(bad[c] for c in by_cols)!r}" if by_cols else "")
        + f"; {int(out['ci_low'].isna().sum())} row(s)); its bounds are NaN — use "
        f"ci='wilson' or 'korn-graubard' there",
        stacklevel=4,
    )
