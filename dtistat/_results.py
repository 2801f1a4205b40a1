"""The results protocol: the one base every dtistat result implements.

Every public result is a frozen dataclass declared ``@dataclass(frozen=True, eq=False,
repr=False)`` that subclasses :class:`Result` (or :class:`CoefResult` when it carries a
coefficient table). The base gives every result the same surface:

* ``summary()`` returns a :class:`Summary` -- the thing to print: ``str()`` is the text
  table, ``_repr_html_()`` the notebook table, ``as_latex()`` a booktabs table and
  ``tables`` the frames it is built from;
* ``to_frame()`` -- the main table as a DataFrame;
* a short ``repr`` (kind and a few headline numbers, never the covariance matrix or the
  bootstrap draws) and ``_repr_html_`` on the result itself;
* identity equality and hashing (``==`` never compares DataFrames, ``hash`` works).

Coefficient results store ``params`` (Series) and ``cov`` (DataFrame), ``df_inference``
(``None`` for the normal distribution, else the degrees of freedom of Student's t) and
``level``; the base derives ``std_errors`` (alias ``bse``), ``tstats``, ``pvalues``,
``conf_int(level)``, ``tidy()`` (``term, estimate, std_error, statistic, p_value,
ci_low, ci_high`` -- what tables and plots consume) and ``wald_test()``.

Small named tests (:class:`TestResult`) replace bare tuples (as SciPy's ``TtestResult``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat import _validate
from dtistat.errors import EstimationError, ParameterError

__all__ = ["TIDY_COLUMNS", "CoefResult", "Result", "Summary", "TestResult"]

TIDY_COLUMNS = ("term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high")


def _fmt(v: Any, digits: int) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "" if np.isnan(v) else str(float(v))
        a = abs(float(v))
        if a != 0 and (a < 10 ** -(digits - 1) or a >= 1e9):
            return f"{float(v):.{digits - 1}e}"
        return f"{float(v):.{digits}f}"
    return "" if v is None else str(v)


def _latex_escape(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}")):
        s = s.replace(a, b)
    return s


class Summary:
    """What ``summary()`` returns: one printable object with text, HTML and LaTeX forms.

    Parameters
    ----------
    title : str
        First line of the table.
    tables : DataFrame or mapping of name -> DataFrame
        The frames shown, in order (available unformatted as ``tables``).
    header : sequence of (label, value) pairs, optional
        Model-level facts shown above the tables (observations, covariance, R2 ...).
    notes : sequence of str, optional
        Lines printed under the tables (dropped rows, warnings, conventions).
    digits : int
        Decimals of floats in the text, HTML and LaTeX forms.

    Examples
    --------
    >>> import pandas as pd
    >>> s = Summary("Demo", pd.DataFrame({"estimate": [1.5]}, index=["x"]),
    ...             header=[("Observations", 10)])
    >>> print(s)  # doctest: +NORMALIZE_WHITESPACE
    Demo
    ====
    Observations: 10
    <BLANKLINE>
       estimate
    x    1.5000
    >>> "<table" in s._repr_html_()
    True
    """

    def __init__(self, title: str, tables: pd.DataFrame | Mapping[str, pd.DataFrame], *,
                 header: Sequence[tuple[str, Any]] = (), notes: Sequence[str] = (),
                 digits: int = 4) -> None:
        if isinstance(tables, pd.DataFrame):
            tables = {"": tables}
        self.title = str(title)
        self.tables: dict[str, pd.DataFrame] = dict(tables)
        self.header = [(str(k), v) for k, v in header]
        self.notes = [str(n) for n in notes if n]
        self.digits = int(digits)

    # ------------------------------------------------------------------ forms
    def _formatted(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.map(lambda v: _fmt(v, self.digits))

    def as_text(self) -> str:
        """The plain-text table (what ``print`` shows)."""
        lines = [self.title, "=" * max(len(self.title), 4)]
        lines += [f"{k}: {_fmt(v, self.digits)}" for k, v in self.header]
        for name, frame in self.tables.items():
            lines.append("")
            if name:
                lines.append(name)
                lines.append("-" * len(name))
            if frame.shape[0] == 0:
                lines.append("(empty)")
                continue
            with pd.option_context("display.max_rows", None, "display.max_columns", None,
                                   "display.width", 1000, "display.max_colwidth", 60):
                lines.append(self._formatted(frame).to_string())
        if self.notes:
            lines.append("")
            lines += self.notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def as_html(self) -> str:
        """An HTML fragment: caption, header facts, each table and the notes."""
        parts = [f"<div class='dtistat-summary'><h4>{html.escape(self.title)}</h4>"]
        if self.header:
            rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                           f"<td>{html.escape(_fmt(v, self.digits))}</td></tr>"
                           for k, v in self.header)
            parts.append(f"<table class='dtistat-header'>{rows}</table>")
        for name, frame in self.tables.items():
            if name:
                parts.append(f"<h5>{html.escape(name)}</h5>")
            parts.append(self._formatted(frame).to_html(escape=True, border=0))
        if self.notes:
            parts.append("<p>" + "<br>".join(html.escape(n) for n in self.notes) + "</p>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()

    def as_latex(self) -> str:
        """A LaTeX ``table`` with booktabs rules (one ``tabular`` per frame)."""
        out = ["\\begin{table}[htbp]", "\\centering",
               f"\\caption{{{_latex_escape(self.title)}}}"]
        for name, frame in self.tables.items():
            f = self._formatted(frame)
            cols = [_latex_escape(str(c)) for c in f.columns]
            out.append("\\begin{tabular}{l" + "r" * len(cols) + "}")
            out.append("\\toprule")
            if name:
                out.append(f"\\multicolumn{{{len(cols) + 1}}}{{l}}{{{_latex_escape(name)}}} \\\\")
            out.append(" & ".join([""] + cols) + " \\\\")
            out.append("\\midrule")
            for idx, row in f.iterrows():
                cells = [_latex_escape(str(idx))] + [_latex_escape(str(v)) for v in row]
                out.append(" & ".join(cells) + " \\\\")
            out.append("\\bottomrule")
            out.append("\\end{tabular}")
        notes = [f"{k}: {_fmt(v, self.digits)}" for k, v in self.header] + self.notes
        if notes:
            out.append("\\par\\footnotesize " + "; ".join(_latex_escape(n) for n in notes))
        out.append("\\end{table}")
        return "\n".join(out)

    def to_frame(self) -> pd.DataFrame:
        """The first table."""
        return next(iter(self.tables.values())).copy()


@dataclass(frozen=True, eq=False)
class TableColumn:
    """One column of a regression table: an equation's tidy coefficients and model rows.

    Coefficient results produce theirs with ``table_columns()``; build one by hand to
    put any other estimate into :func:`dtistat.regression_table`.

    Attributes
    ----------
    name : str
        Column heading, usually the dependent variable.
    coefs : DataFrame
        Tidy coefficients: ``term``, ``estimate`` and, where known, ``std_error``,
        ``statistic``, ``p_value``, ``ci_low``, ``ci_high``.
    stats : dict
        Model statistics by key (``nobs``, ``r2``, ``r2_within``, ``n_clusters``, ...).
    fixed_effects : dict or None
        ``{"entity": bool, "time": bool}``; None if unknown (blank cells).
    cluster : str
        Cluster variable(s) of the standard errors ("" if not clustered).
    extra : dict
        Further indicator rows, label -> cell (e.g. ``{"Controls": "Yes"}``).
    default_stats : tuple of str
        Keys of ``stats`` shown when the table keeps its default ``stats`` (e.g. an IV
        column's first-stage F and weak-identification rows).
    """

    name: str
    coefs: pd.DataFrame
    stats: dict = field(default_factory=dict)
    fixed_effects: dict | None = None
    cluster: str = ""
    extra: dict = field(default_factory=dict)
    default_stats: tuple = ()

    def tidy(self) -> pd.DataFrame:
        """The tidy coefficient frame (a copy)."""
        return self.coefs.copy()


class Result:
    """Base of every public dtistat result (see the module docstring).

    Subclasses implement :meth:`summary` and :meth:`_headline`; they may override
    :meth:`to_frame` when the main table is not the first table of the summary.
    """

    __slots__ = ()
    #: Name shown in ``repr``; defaults to the class name.
    _kind: str = ""

    def summary(self) -> Summary:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """The main table of the result as a DataFrame."""
        return self.summary().to_frame()

    def _headline(self) -> list[str]:
        """A few ``key=value`` strings for the one-line ``repr``."""
        return []

    def __repr__(self) -> str:
        head = ", ".join(self._headline())
        return f"<{self._kind or type(self).__name__}" + (f": {head}>" if head else ">")

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    # identity semantics: results hold DataFrames, which cannot be compared with ==
    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def _dist(df: float | None):
    return stats.norm if df is None else stats.t(df)


class CoefResult(Result):
    """Base of results that carry a coefficient vector and its covariance.

    A subclass stores ``params`` (Series), ``cov`` (DataFrame labelled by term),
    ``df_inference`` (``None`` = normal reference distribution, else Student's t df),
    ``level`` and ``nobs``. Results whose standard errors are not ``sqrt(diag(cov))``
    (e.g. bootstrap) override :attr:`std_errors`.
    """

    __slots__ = ()

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors, ``sqrt(diag(cov))``."""
        se = np.sqrt(np.clip(np.diag(self.cov.to_numpy()), 0.0, None))
        return pd.Series(se, index=self.params.index, name="std_error")

    @property
    def bse(self) -> pd.Series:
        """Alias of :attr:`std_errors` (statsmodels' name)."""
        return self.std_errors

    @property
    def tstats(self) -> pd.Series:
        """``params / std_errors`` (z statistics under the normal distribution)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.params / self.std_errors).rename("statistic")

    @property
    def distribution(self) -> str:
        """``"normal"`` or ``"t(df)"``: the reference distribution of :attr:`tstats`."""
        df = self.df_inference
        return "normal" if df is None else f"t({df:g})"

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values against :attr:`distribution`."""
        p = 2 * _dist(self.df_inference).sf(np.abs(self.tstats.to_numpy()))
        return pd.Series(p, index=self.params.index, name="p_value")

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals (columns ``lower``, ``upper``) at ``level``.

        ``level=None`` uses the level the model was fitted with.
        """
        level = self._level(level)
        crit = _dist(self.df_inference).ppf(0.5 + level / 2)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - crit * se,
                             "upper": self.params + crit * se}, index=self.params.index)

    def _level(self, level: float | None) -> float:
        if level is None:
            return float(getattr(self, "level", 0.95))
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
            raise ParameterError(f"level must be a number in (0, 1), e.g. 0.95; got {level!r}")
        return float(level)

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """One row per term: term, estimate, std_error, statistic, p_value, ci_low, ci_high."""
        ci = self.conf_int(level)
        return pd.DataFrame({
            "term": list(self.params.index),
            "estimate": self.params.to_numpy(dtype=float),
            "std_error": self.std_errors.to_numpy(dtype=float),
            "statistic": self.tstats.to_numpy(dtype=float),
            "p_value": self.pvalues.to_numpy(dtype=float),
            "ci_low": ci["lower"].to_numpy(dtype=float),
            "ci_high": ci["upper"].to_numpy(dtype=float),
        })

    def fit_stats(self) -> pd.Series:
        """Model-level rows for a regression table (at least ``nobs``)."""
        out: dict[str, Any] = {"nobs": getattr(self, "nobs", None)}
        for key in ("df_resid", "r2", "adj_r2", "n_clusters"):
            val = getattr(self, key, None)
            if isinstance(val, tuple) and val:
                val = min(val)  # two-way clustering: the binding (smaller) count
            if val is not None:
                out[key] = val
        return pd.Series(out, dtype=object)

    def table_columns(self) -> list[TableColumn]:
        """This result as regression-table column(s) (what ``regression_table`` reads)."""
        name = next((str(getattr(self, a)) for a in ("dependent", "y")
                     if isinstance(getattr(self, a, None), str)), "")
        stats = {k: v for k, v in self.fit_stats().items() if v is not None}
        return [TableColumn(name=name, coefs=self.tidy(), stats=stats)]

    def coef_table(self, level: float | None = None) -> pd.DataFrame:
        """:meth:`tidy` indexed by term (the coefficient block of ``summary()``)."""
        t = self.tidy(level).set_index("term")
        t.index.name = None
        return t

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (:meth:`tidy`)."""
        return self.tidy()

    def wald_test(self, terms: Sequence[str] | None = None, *, R: Any = None,
                  q: Any = None) -> TestResult:
        """Wald test of linear restrictions ``R b = q`` with the result's covariance.

        Parameters
        ----------
        terms : list of str, optional
            Test that these coefficients are all zero (the usual joint test).
        R, q : array-like, optional
            A restriction matrix (rows x len(params)) and right-hand side (default 0).

        Returns
        -------
        TestResult
            ``F = W / r`` against F(r, df_inference) when the reference distribution is
            Student's t, else ``W`` against chi2(r).
        """
        names = list(self.params.index)
        if (terms is None) == (R is None):
            raise ParameterError("wald_test() takes either terms= or R=")
        if terms is not None:
            terms = _validate.as_list(terms, "terms")
            bad = [t for t in terms if not isinstance(t, str) or t not in names]
            if bad:
                raise ParameterError(f"wald_test: term {bad[0]!r} is not a coefficient; "
                                     f"available: {', '.join(map(str, names))}")
            R = np.zeros((len(terms), len(names)))
            for i, t in enumerate(terms):
                R[i, names.index(t)] = 1.0
        R = np.atleast_2d(_validate.check_floats(R, "wald_test: R"))
        if R.ndim != 2 or R.shape[1] != len(names) or not np.isfinite(R).all():
            raise ParameterError(f"wald_test: R must be a finite matrix with {len(names)} "
                                 f"columns, got shape {R.shape}")
        q = (np.zeros(R.shape[0]) if q is None
             else _validate.check_floats(q, "wald_test: q").reshape(-1))
        if q.shape != (R.shape[0],) or not np.isfinite(q).all():
            raise ParameterError(f"wald_test: q must hold {R.shape[0]} finite number(s), got "
                                 f"shape {q.shape}")
        d = R @ self.params.to_numpy(dtype=float) - q
        V = R @ self.cov.to_numpy() @ R.T
        try:
            W = float(d @ np.linalg.solve(V, d))
        except np.linalg.LinAlgError:
            raise EstimationError("wald_test: the restrictions' covariance is singular "
                                  "(a redundant restriction?)") from None
        r = R.shape[0]
        label = ", ".join(terms) if terms is not None else f"{r} restriction(s)"
        if self.df_inference is None:
            return TestResult("Wald", W, float(stats.chi2.sf(W, r)), (r,), "chi2",
                              f"{label} = 0" if terms is not None else "R b = q")
        F = W / r
        return TestResult("Wald", F, float(stats.f.sf(F, r, self.df_inference)),
                          (r, float(self.df_inference)), "F",
                          f"{label} = 0" if terms is not None else "R b = q")


@dataclass(frozen=True, eq=False, repr=False)
class TestResult(Result):
    """A named test statistic (Hausman, Wald, Sobel, KMO-type tests...).

    Attributes
    ----------
    test : str
        Name of the test.
    statistic, p_value : float
    df : tuple or number
        Degrees of freedom of the reference distribution (``()`` if none).
    distribution : str
        ``"chi2"``, ``"F"``, ``"t"``, ``"normal"`` or ``"empirical"``.
    null : str
        The null hypothesis, in words.
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    p_value: float
    df: tuple = ()
    distribution: str = ""
    null: str = ""

    def _dfs(self) -> tuple:
        return tuple(self.df) if isinstance(self.df, (tuple, list)) else (self.df,)

    def _dist_label(self) -> str:
        if not self._dfs():
            return self.distribution
        return f"{self.distribution}({', '.join(f'{d:g}' for d in self._dfs())})"

    def _headline(self) -> list[str]:
        return [self.test, f"{self._dist_label()} = {self.statistic:.4f}",
                f"p = {self.p_value:.4g}"]

    def to_frame(self) -> pd.DataFrame:
        """One row: test, statistic, df, distribution, p_value, null."""
        return pd.DataFrame({"test": [self.test], "statistic": [self.statistic],
                             "df": [", ".join(f"{d:g}" for d in self._dfs())],
                             "distribution": [self.distribution],
                             "p_value": [self.p_value], "null": [self.null]})

    def summary(self) -> Summary:
        return Summary(self.test, self.to_frame().set_index("test"),
                       notes=[f"H0: {self.null}"] if self.null else [])

    def __str__(self) -> str:
        s = f"{self.test}: {self._dist_label()} = {self.statistic:.4f}, p = {self.p_value:.4g}"
        return s + (f"  [H0: {self.null}]" if self.null else "")
