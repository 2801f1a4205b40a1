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
    ParameterError,
)
from dtistat.survey._common import (
    CI_METHODS,
    _categories,
    _multi_indicators,
    _present,
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
    if is_multi:
        ind_all, _ = _multi_indicators(data, var, multi)
        keep = _present(data, by_cols) & ind_all.notna().all(axis=1).to_numpy()
        ind = ind_all.loc[keep]
    else:
        if multi is True:
            raise ParameterError("multi=True needs var to be a list of 0/1 option columns")
        check_columns(data, [var], what="column")
        keep = _present(data, by_cols + [var])
        codes, labels, _ = _categories(data.loc[keep, var])
        ind = pd.DataFrame(np.eye(len(labels))[codes], index=data.index[keep],
                           columns=pd.Index(labels))
    if keep.sum() == 0:
        raise DataError(f"no complete rows for {var!r}" + (f" by {by_cols}" if by_cols else ""))
    w = w_all[keep]
    d = data.loc[keep]
    if by_cols:
        # groupby orders groups as a reader expects (Categorical levels in their order)
        grp = d.groupby(by_cols, sort=True, observed=True)
        gcodes = grp.ngroup().to_numpy()
        groups = list(grp.size().index)
    else:
        gcodes, groups = np.zeros(len(d), dtype=np.int64), [()]
    G = len(groups)
    Y = ind.to_numpy(dtype=float)
    sw = np.bincount(gcodes, weights=w, minlength=G)
    sw2 = np.bincount(gcodes, weights=w**2, minlength=G)
    ng = np.bincount(gcodes, minlength=G)
    neff_g = sw**2 / sw2
    J = Y.shape[1]
    yes_w = np.column_stack([np.bincount(gcodes, weights=w * Y[:, j], minlength=G)
                             for j in range(J)])
    yes_n = np.column_stack([np.bincount(gcodes, weights=Y[:, j], minlength=G)
                             for j in range(J)])
    p = yes_w / sw[:, None]
    lo, hi = _ci(p, neff_g[:, None], ci, level)
    se = np.sqrt(p * (1 - p) / neff_g[:, None])
    rows = []
    for g in range(G):  # groups in sorted (category) order, answers in their order
        key = groups[g] if isinstance(groups[g], tuple) else (groups[g],)
        for j, cat in enumerate(ind.columns):
            rec = dict(zip(by_cols, key))
            rec.update(category=cat, n=int(ng[g]), n_yes=round(yes_n[g, j]),
                       weighted=float(yes_w[g, j]), proportion=float(p[g, j]),
                       std_error=float(se[g, j]), n_eff=float(neff_g[g]),
                       ci_low=float(lo[g, j]), ci_high=float(hi[g, j]))
            rows.append(rec)
    out = pd.DataFrame(rows)
    for c in by_cols:
        if isinstance(d[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(out[c], dtype=d[c].dtype)
    if ci == "logit" and out["ci_low"].isna().any():
        bad = out[out["ci_low"].isna()].iloc[0]
        warn(
            f"logit interval undefined where the share is 0 or 1 (e.g. category "
            f"{bad['category']!r}"
            + (f" in group {tuple(bad[c] for c in by_cols)!r}" if by_cols else "")
            + f"; {int(out['ci_low'].isna().sum())} row(s)); its bounds are NaN — use "
            f"ci='wilson' or 'korn-graubard' there",
            stacklevel=3,
        )
    out.attrs["ci"] = ci
    out.attrs["level"] = level
    return out
