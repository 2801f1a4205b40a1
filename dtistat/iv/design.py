"""Turn a DataFrame and an IV specification into arrays: parse, validate, absorb fixed effects.

The formula form follows fixest and Stata's ``ivreg2``: ``"y ~ x1 + x2 + [dti ~ z1 + z2]"``
(endogenous regressors left of ``~`` inside the brackets, excluded instruments right of
it). Terms are column names; build transformed columns first.

Fixed effects (``fe="entity" | "time" | "twoway"``) are swept out of every variable with
the panel machinery of :mod:`dtistat.panel.absorb` (group means, the exact two-way solve, or
alternating projections); singleton groups are dropped iteratively first and counted, as
``reghdfe`` does (Correia 2015). Absorbed degrees of freedom: one-way G - 1, two-way
G_e + G_t - 1 - c with c connected components (the rank of the dummies less the
intercept); those of a fixed effect nested in a cluster variable are counted separately
for the ``"reghdfe"`` preset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dtistat._periods import check_time_types
from dtistat._validate import as_list, check_columns, check_numeric
from dtistat.errors import DataError, EstimationError, ParameterError, SpecError
from dtistat.panel.absorb import absorb, compact, drop_singletons, n_components

__all__ = ["IVDesign", "build_iv_design", "parse_iv_formula", "iv_formula_frame"]

_NAME = re.compile(r"^[A-Za-z_\u4e00-\u9fff][\w.\u4e00-\u9fff]*$")


def _split_terms(s: str, formula: str, side: str) -> list[str]:
    s = s.strip()
    if s in ("", "0", "1"):
        return []
    out = []
    for t in s.split("+"):
        t = t.strip()
        if t in ("1", "0"):
            continue
        if t.startswith("`") and t.endswith("`"):
            t = t[1:-1]
        elif not _NAME.match(t):
            raise SpecError(
                f"term {t!r} in the {side} of {formula!r} is not a column name; IV formulas "
                "take plain column names (create transformed columns first)")
        out.append(t)
    return out


def parse_iv_formula(formula: str) -> tuple[str, list[str], list[str], list[str]]:
    """Split ``"y ~ x1 + [d ~ z1 + z2]"`` of plain column names into (y, exog, endog,
    instruments).

    Examples
    --------
    >>> parse_iv_formula("lwage ~ exper + [educ ~ age + kidslt6]")
    ('lwage', ['exper'], ['educ'], ['age', 'kidslt6'])
    """
    lhs, rhs, endog_s, inst_s = _split_parts(formula)
    y = _split_terms(lhs, formula, "left-hand side")
    if len(y) != 1:
        raise SpecError(f"IV formula {formula!r} needs one dependent variable")
    return (y[0], _split_terms(rhs, formula, "right-hand side"),
            _split_terms(endog_s, formula, "endogenous part"),
            _split_terms(inst_s, formula, "instrument part"))


def _split_parts(formula: str) -> tuple[str, str, str, str]:
    """The raw (outcome, exogenous, endogenous, instruments) parts of an IV formula."""
    if not isinstance(formula, str) or formula.count("~") != 2:
        raise SpecError(f"IV formula must look like 'y ~ x1 + [d ~ z1 + z2]', got {formula!r}")
    m = re.search(r"\[([^\[\]]*)\]", formula)
    if m is None or formula.count("[") != 1 or formula.count("]") != 1:
        raise SpecError(f"IV formula {formula!r} needs one bracket '[endogenous ~ instruments]'")
    inner = m.group(1)
    if inner.count("~") != 1:
        raise SpecError(f"the bracket of {formula!r} must read '[endogenous ~ instruments]'")
    endog_s, inst_s = (t.strip() for t in inner.split("~"))
    lhs, rhs = (formula[:m.start()] + formula[m.end():]).split("~")
    rhs = re.sub(r"\+\s*(\+\s*)+", "+ ", rhs).strip().strip("+").strip()
    return lhs.strip(), rhs, endog_s, inst_s


def iv_formula_frame(data: pd.DataFrame, formula: str, *, entity=None, time=None,
                     missing: str = "raise"):
    """Read an IV formula with :mod:`dtistat.formula` (``log()``, ``C()``, ``L(x)``...).

    Each part is built with the formula engine; the rows every part keeps become a copy
    of the data with one column per built term. Returns (frame, y, exog, endog,
    instruments, rows dropped for lags).
    """
    from dtistat.formula import build_design

    plain = _plain_columns(data, formula)
    if plain is not None:
        return (data, *plain, 0)
    lhs, rhs, endog_s, inst_s = _split_parts(formula)
    parts = {"y": lhs, "x": rhs, "d": endog_s, "z": inst_s}
    designs = {}
    for key, text in parts.items():
        if key == "x" and text in ("", "0", "1", "- 1", "0 + 1"):
            continue
        if not text or text in ("0", "1"):
            raise SpecError(f"IV formula {formula!r}: the {key!r} part is empty")
        designs[key] = build_design(data, "~ " + text, entity=entity, time=time,
                                    missing=missing, intercept_allowed=False)
    # rows every part keeps: a boolean mask (np.intersect1d hashes, ~1 s per 1e6 rows)
    mask = np.ones(len(data), dtype=bool)
    for d in designs.values():
        part = np.zeros(len(data), dtype=bool)
        part[d.rows] = True
        mask &= part
    keep = np.flatnonzero(mask)
    # copy-on-write: a shallow frame is enough, new columns never reach ``data``
    work = data.copy(deep=False) if len(keep) == len(data) else data.iloc[keep]
    names = {}
    for key, d in designs.items():
        # a part that kept every kept row needs no position lookup (the usual case)
        pos = None if len(d.rows) == len(keep) else np.searchsorted(d.rows, keep)
        for j, name in enumerate(d.names):
            work[name] = d.X[:, j] if pos is None else d.X[pos, j]
        names[key] = list(d.names)
    if len(names["y"]) != 1:
        raise SpecError(f"IV formula {formula!r} needs one dependent variable")
    n_lags = sum(d.n_dropped_lags for d in designs.values())
    n_lags = min(n_lags, len(data) - len(keep))
    return (work, names["y"][0], names.get("x", []), names["d"], names["z"], n_lags)


_PLAIN = re.compile(r"^[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*$")


def _plain_columns(data: pd.DataFrame, formula: str):
    """(y, exog, endog, instruments) when every term is a distinct plain-named numeric
    column of ``data`` without a missing or infinite value, else None.

    The formula engine would build exactly these columns and keep every row, so the
    frame is used as it is (at 1e6 rows the engine's copies cost more than the fit's
    demeaning); anything else -- transforms, categoricals, missing values -- goes
    through the engine.
    """
    try:
        y, exog, endog, inst = parse_iv_formula(formula)
    except SpecError:
        return None
    names = [y, *exog, *endog, *inst]
    if (len(set(names)) != len(names) or not data.columns.is_unique
            or isinstance(data.columns, pd.MultiIndex)
            or not all(isinstance(c, str) and _PLAIN.match(c) and c in data.columns
                       for c in names)):
        return None
    for c in names:
        dt = data[c].dtype
        if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt) \
                or pd.api.types.is_complex_dtype(dt):
            return None
    if not np.isfinite(data[names].to_numpy(dtype=float, na_value=np.nan)).all():
        return None
    return y, exog, endog, inst


@dataclass
class IVDesign:
    """Arrays of one IV model after missing rows, singletons and fixed effects are handled.

    ``y``, ``X1`` (included exogenous, with a constant column when no fixed effects are
    absorbed), ``Y2`` (endogenous) and ``Z2`` (excluded instruments) are demeaned by the
    fixed effects. ``n_absorbed`` (A) and ``n_absorbed_nested`` (A_n) follow
    :mod:`dtistat.inference.covariance`. With observation weights every array is already
    multiplied by sqrt(w) (``weights`` holds w, scaled to mean one); the constant column
    is then sqrt(w).
    """

    y: np.ndarray
    X1: np.ndarray
    Y2: np.ndarray
    Z2: np.ndarray
    y_name: str
    exog: list[str]
    endog: list[str]
    instruments: list[str]
    fe: str | None
    n_absorbed: int = 0
    n_absorbed_nested: int = 0
    n_singletons: int = 0
    n_dropped_missing: int = 0
    clusters: list = field(default_factory=list)
    cluster_names: list = field(default_factory=list)
    time_codes: np.ndarray | None = None
    fe_levels: dict = field(default_factory=dict)
    rows: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def nobs(self) -> int:
        return len(self.y)

    @property
    def has_const(self) -> bool:
        return self.fe is None


def _codes(s: pd.Series, name: str) -> np.ndarray:
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataError(f"column {name!r} is missing at row {s.index[i]!r}; identifiers "
                        "and cluster variables must be complete")
    try:
        codes, _ = pd.factorize(s, sort=True)
    except TypeError:
        codes, _ = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.intp)


def _check_names(y, exog, endog, instruments):
    if not endog:
        raise SpecError("no endogenous regressor given (endog= or '[d ~ z]' in the formula)")
    if len(instruments) < len(endog):
        raise SpecError(
            f"{len(instruments)} excluded instrument(s) ({', '.join(instruments) or 'none'}) "
            f"for {len(endog)} endogenous regressor(s) ({', '.join(endog)}): the model is "
            "under-identified; give at least as many instruments as endogenous regressors")
    seen: dict[str, str] = {}
    for role, names in (("dependent", [y]), ("exogenous", exog), ("endogenous", endog),
                        ("instrument", instruments)):
        for c in names:
            if c in seen:
                raise SpecError(f"variable {c!r} is listed as {seen[c]} and as {role}; "
                                "each variable has one role")
            seen[c] = role


def _cluster_columns(data, cov: str, cluster, entity, time) -> list:
    """The cluster columns of ``cov`` (default the entity, and time for two-way)."""
    if cov == "cluster":
        cl = as_list(cluster, "cluster") or ([entity] if entity else [])
        if len(cl) != 1:
            raise ParameterError("cov='cluster' needs one cluster column (cluster=, default "
                                 "the entity column)")
    elif cov == "twoway-cluster":
        cl = as_list(cluster, "cluster") or [c for c in (entity, time) if c]
        if len(cl) != 2:
            raise ParameterError("cov='twoway-cluster' needs two cluster columns (cluster=, "
                                 "default entity and time)")
    else:
        if cluster is not None:
            raise ParameterError(f"cluster= goes with cov='cluster' or 'twoway-cluster', "
                                 f"not cov={cov!r}")
        cl = []
    check_columns(data, cl, what="cluster column")
    if cov == "driscoll-kraay" and time is None:
        raise ParameterError("cov='driscoll-kraay' needs time= (the column of the periods)")
    return cl


def _check_inputs(data, y, exog, endog, instruments, entity, time, fe, weights) -> list:
    """Roles, columns and panel keys; returns the numeric columns (weights last)."""
    _check_names(y, exog, endog, instruments)
    num = [y] + exog + endog + instruments
    check_columns(data, num, what="model variable")
    check_numeric(data, num)
    if weights is not None:
        if not isinstance(weights, str):
            raise ParameterError(f"weights= must be the name of a column, got {weights!r}")
        if weights in num:
            raise SpecError(f"weights column {weights!r} is also a model variable; weights "
                            "need a column of their own")
        check_columns(data, [weights], what="weights column")
        check_numeric(data, [weights])
    if fe in ("entity", "twoway") and entity is None:
        raise ParameterError(f"fe={fe!r} needs entity= (the column of the units)")
    if fe in ("time", "twoway") and time is None:
        raise ParameterError(f"fe={fe!r} needs time= (the column of the periods)")
    check_columns(data, [c for c in (entity, time) if c is not None], what="panel column")
    return num + ([weights] if weights is not None else [])


def _complete_rows(data, cols: list, missing: str) -> tuple[np.ndarray, np.ndarray]:
    """(values of ``cols`` on the complete rows, mask of those rows)."""
    M = data[cols].to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(M)
    keep = np.ones(len(data), dtype=bool)
    if bad.any():
        if missing == "raise":
            i, j = np.argwhere(bad)[0]
            raise DataError(
                f"column {cols[j]!r} is missing or infinite at row {data.index[i]!r} "
                f"({int(bad.any(axis=1).sum())} incomplete row(s)); pass missing='drop' to "
                "drop them listwise")
        keep = ~bad.any(axis=1)
        return M[keep], keep
    # every row complete: no boolean gather; a copy only when M is a (read-only) view
    # of the data, column-major as the absorption wants it
    return (M if M.flags.writeable else M.copy(order="F")), keep


def _check_weights(w: np.ndarray, name: str, index) -> np.ndarray:
    """Analytic weights scaled to mean one (Stata's aweights sum to N); refuse w <= 0."""
    bad = np.flatnonzero(w <= 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"weights column {name!r} must be positive; row {index[i]!r} holds "
                        f"{w[i]:g} ({bad.size} row(s) with a zero or negative weight). Drop "
                        "those rows or give them a positive weight")
    return w / w.mean()


def _absorb_effects(M, num, fe, dims, w, entity, time, clusters) -> tuple[np.ndarray, int, int]:
    """Sweep the fixed effects out of every column of M; returns (M, A, A_n)."""
    n = len(M)
    complete = fe != "twoway" or n == dims[0][1] * dims[1][1]
    ncomp = 1
    if not complete:
        ncomp = n_components(dims[0][0], dims[0][1], dims[1][0], dims[1][1])
    balanced = complete and w is None  # the one-sweep two-way formula is unweighted
    before = np.sqrt(np.einsum("ij,ij->j", M, M))  # column norms without an N x k temporary
    M = absorb(np.asfortranarray(M), dims, w, balanced, connected=ncomp == 1)
    left = np.sqrt(np.einsum("ij,ij->j", M, M)) / np.where(before > 0, before, 1.0)
    gone = [num[j] for j in range(1, len(num)) if left[j] < 1e-9]
    if gone:
        what = {"entity": f"entity ({entity})", "time": f"time ({time})",
                "twoway": f"entity ({entity}) and time ({time})"}[fe]
        raise EstimationError(
            f"variable(s) {', '.join(map(repr, gone))} absorbed by the {what} fixed "
            "effects: no variation is left once they are removed (e.g. an instrument "
            "constant within each entity under entity fixed effects); drop them or "
            "use a variable that varies within the groups")
    A = sum(g for _, g in dims) - len(dims) - (ncomp - 1 if len(dims) == 2 else 0)
    nested = sum(g - 1 for codes, g in dims if any(_nested(codes, g, c) for c in clusters))
    return M, int(A), int(min(A, nested))


def build_iv_design(data: pd.DataFrame, y: str, exog: list[str], endog: list[str],
                    instruments: list[str], *, entity: str | None, time: str | None,
                    fe: str | None, cov: str, cluster, missing: str,
                    weights: str | None = None) -> IVDesign:
    """Validate the columns, drop missing rows and singletons, absorb the fixed effects.

    With ``weights`` (analytic weights, scaled to mean one) the effects are swept out by
    weighted means and every array is multiplied by sqrt(w), so that every estimator and
    statistic computed on the design is its weighted (WLS-type) version.
    """
    cols = _check_inputs(data, y, exog, endog, instruments, entity, time, fe, weights)
    num = cols[:len(cols) - (weights is not None)]
    cl = _cluster_columns(data, cov, cluster, entity, time)
    M, keep = _complete_rows(data, cols, missing)
    n_drop = int((~keep).sum())
    sub = data.loc[keep] if n_drop else data
    ecodes = _codes(sub[entity], entity) if entity is not None else None
    if time is not None:
        check_time_types(sub[time], time)
    tcodes = _codes(sub[time], time) if time is not None else None
    dims_codes = {"entity": [ecodes], "time": [tcodes], "twoway": [ecodes, tcodes]}.get(fe, [])
    n_single = 0
    rows = np.flatnonzero(keep)
    if dims_codes:
        kept = drop_singletons(dims_codes)
        n_single = int((~kept).sum())
        if n_single:
            M, rows = M[kept], rows[kept]
            ecodes = ecodes[kept] if ecodes is not None else None
            tcodes = tcodes[kept] if tcodes is not None else None
            sub = sub.iloc[np.flatnonzero(kept)]
    if len(M) == 0:
        raise DataError("no rows left once missing values and singleton groups are dropped")
    w = None
    if weights is not None:
        w = _check_weights(M[:, -1], weights, sub.index)
        M = M[:, :-1]
    # a cluster column that is the entity or time column reuses its codes (same order)
    known = {k: v for k, v in ((entity, ecodes), (time, tcodes)) if v is not None}
    clusters = [compact(known[c] if c in known else _codes(sub[c], c))[0] for c in cl]
    A, A_n, levels = 0, 0, {}
    if fe is not None:
        dims = []
        if fe in ("entity", "twoway"):
            ecodes, ge, _ = compact(ecodes)
            dims.append((ecodes, ge))
            levels["entity"] = (ecodes, ge)
        if fe in ("time", "twoway"):
            tcodes_c, gt, _ = compact(tcodes)
            dims.append((tcodes_c, gt))
            levels["time"] = (tcodes_c, gt)
        M, A, A_n = _absorb_effects(M, num, fe, dims, w, entity, time, clusters)
    return _assemble(M, w, y, exog, endog, instruments, fe, A, A_n, n_single, n_drop,
                     clusters, cl, tcodes, levels, rows)


def _assemble(M, w, y, exog, endog, instruments, fe, A, A_n, n_single, n_drop, clusters,
              cl, tcodes, levels, rows) -> IVDesign:
    """Split the absorbed matrix into the design's arrays (times sqrt(w) when weighted)."""
    n = len(M)
    k1, p = len(exog), len(endog)
    X1 = M[:, 1:1 + k1]
    if fe is None:
        X1 = np.column_stack([np.ones(n), X1])
    yv, Y2, Z2 = M[:, 0], M[:, 1 + k1:1 + k1 + p], M[:, 1 + k1 + p:]
    if w is not None:
        sw = np.sqrt(w)
        yv, X1, Y2, Z2 = yv * sw, X1 * sw[:, None], Y2 * sw[:, None], Z2 * sw[:, None]
    tc = compact(tcodes)[0] if tcodes is not None else None
    return IVDesign(
        y=np.ascontiguousarray(yv), X1=np.asfortranarray(X1), Y2=np.asfortranarray(Y2),
        Z2=np.asfortranarray(Z2), y_name=y,
        exog=(["const"] if fe is None else []) + list(exog), endog=list(endog),
        instruments=list(instruments), fe=fe, n_absorbed=int(A), n_absorbed_nested=int(A_n),
        n_singletons=n_single, n_dropped_missing=n_drop, clusters=clusters,
        cluster_names=list(cl), time_codes=tc, fe_levels=levels, rows=rows,
        weights=w)


def _nested(fe_codes: np.ndarray, g: int, cl_codes: np.ndarray) -> bool:
    """True when every level of the fixed effect lies within one cluster."""
    first = np.full(g, -1, dtype=np.int64)
    first[fe_codes] = cl_codes
    return bool(np.all(first[fe_codes] == cl_codes))
