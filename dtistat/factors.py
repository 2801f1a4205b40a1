"""Factor models: KMO, Bartlett's sphericity test, parallel analysis, EFA, CFA/SEM and
driver regressions with dominance analysis.

The estimators behind these functions live in :mod:`dtistat._efa` (extraction and
rotation), :mod:`dtistat._cfa` (lavaan-style syntax and the ML structural equation
estimator) and :mod:`dtistat._linalg` (OLS and robust covariance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat import _efa, _minres1
from dtistat._results import Result, Summary
from dtistat._scale import column_scale, is_constant
from dtistat._validate import (
    check_choice,
    check_columns,
    check_frame,
    check_level,
    check_no_nan,
    check_numeric,
    check_positive_int,
    check_seed,
    warn,
)
from dtistat.errors import DataError, EstimationError, ParameterError

if TYPE_CHECKING:
    from dtistat.invariance import MultiGroupCFAResult

__all__ = [
    "kmo",
    "bartlett_sphericity",
    "parallel_analysis",
    "fit_efa",
    "fit_cfa",
    "KMOResult",
    "BartlettResult",
    "ParallelAnalysisResult",
    "EFAResult",
    "CFAResult",
]

_TIDY = ["term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high"]


# ---------------------------------------------------------------------------------
# Input gate shared by the factor functions
# ---------------------------------------------------------------------------------

def _numeric_block(data: Any, columns: Sequence | None, *, what: str = "factor analysis",
                   need_more_rows: bool = True) -> tuple[np.ndarray, list, np.ndarray]:
    """Validated float matrix of ``columns`` (all columns if None), names and scales.

    Each column comes back divided by a power of two near its largest absolute value
    (exact in floating point), so that sums of squares neither overflow at 1e300 nor
    underflow at 1e-300; ``X * scale`` is the data. Every method here is invariant to
    the units of a column, except the CFA's covariances, which multiply the scales back.
    A column is constant when its SD is below 1e-12 of its largest absolute value
    (differences of a few thousand units in the last place are rounding noise).
    """
    check_frame(data)
    cols = list(data.columns) if columns is None else check_columns(data, columns)
    if len(cols) < 2:
        raise ParameterError(f"{what} needs at least 2 variables, got {len(cols)}: {cols}")
    if len(set(cols)) != len(cols):
        dup = [c for c in cols if cols.count(c) > 1][0]
        raise ParameterError(f"column {dup!r} is listed more than once in columns")
    check_numeric(data, cols)
    check_no_nan(data, cols)
    X = data[cols].to_numpy(dtype=float, copy=True)
    n, p = X.shape
    if need_more_rows and n <= p:
        raise DataError(
            f"{n} rows for {p} variables: {what} needs more rows (observations) than "
            f"variables, or the correlation matrix is singular"
        )
    scale = column_scale(X)
    X /= scale
    sd = X.std(axis=0)
    flat = is_constant(sd, np.abs(X).max(axis=0, initial=0.0))
    const = [c for c, f in zip(cols, flat, strict=True) if f]
    if const:
        raise DataError(
            f"column {const[0]!r} is constant (no variation)"
            + (f"; so are {const[1:]}" if len(const) > 1 else "")
            + f"; drop it from the {what}"
        )
    # Identical columns: group candidates by (mean, sd) before comparing values.
    keys: dict = {}
    for j, c in enumerate(cols):
        key = (round(float(X[:, j].mean()), 10), round(float(sd[j]), 10))
        for i in keys.get(key, []):
            if np.array_equal(X[:, i], X[:, j]):
                raise DataError(
                    f"columns {cols[i]!r} and {c!r} are duplicates (identical values); "
                    f"drop one of them"
                )
        keys.setdefault(key, []).append(j)
    return X, cols, scale


def _correlation(X: np.ndarray, cols: list) -> np.ndarray:
    """Pearson correlation; a singular matrix raises naming the collinear columns."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    R = (Z.T @ Z) / len(Z)
    np.fill_diagonal(R, 1.0)
    vals = np.linalg.eigvalsh(R)
    if vals[0] > 1e-10 * vals[-1]:
        return R
    kept: list[int] = []
    for j in range(len(cols)):
        if kept:
            Rk = R[np.ix_(kept, kept)]
            b = np.linalg.lstsq(Rk, R[kept, j], rcond=None)[0]
            r2 = float(R[kept, j] @ b)
            if 1.0 - r2 < 1e-9:
                with_ = [cols[kept[i]] for i in np.flatnonzero(np.abs(b) > 1e-8)]
                raise DataError(
                    f"the correlation matrix is singular: column {cols[j]!r} is a linear "
                    f"combination of {', '.join(map(repr, with_))} (R² = {r2:.6f}); "
                    f"drop one of these columns"
                )
        kept.append(j)
    raise DataError(  # pragma: no cover - numerically near-singular without a culprit
        f"the correlation matrix is numerically singular (smallest eigenvalue "
        f"{vals[0]:.2e}); look for near-collinear columns among {cols}"
    )


def _fmt_frame(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_string(float_format=lambda v: f"{v:.{digits}f}")


# ---------------------------------------------------------------------------------
# KMO and Bartlett
# ---------------------------------------------------------------------------------

def _kaiser_label(v: float) -> str:
    # Kaiser (1974) "An index of factorial simplicity", Psychometrika 39, p. 35.
    for cut, lab in ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"),
                     (0.6, "mediocre"), (0.5, "miserable")):
        if v >= cut:
            return lab
    return "unacceptable"


@dataclass(frozen=True, eq=False, repr=False)
class KMOResult(Result):
    """Kaiser–Meyer–Olkin measure of sampling adequacy (overall and per variable)."""

    overall: float
    per_variable: pd.Series
    label: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per variable plus the overall MSA."""
        terms = ["overall"] + list(self.per_variable.index)
        return pd.DataFrame({"term": terms,
                             "estimate": [self.overall, *self.per_variable.to_numpy()]})

    def _headline(self) -> list[str]:
        return [f"KMO={self.overall:.3f} ({self.label})", f"variables={len(self.per_variable)}"]

    def summary(self) -> Summary:
        """The overall KMO with Kaiser's label and the per-variable MSA."""
        return Summary("Kaiser-Meyer-Olkin measure of sampling adequacy",
                       {"MSA per variable": self.per_variable.to_frame("msa")},
                       header=[("KMO", self.overall), ("Kaiser's label", self.label)],
                       digits=3)

    def __str__(self) -> str:
        per = ", ".join(f"{k} {v:.3f}" for k, v in self.per_variable.items())
        return f"KMO = {self.overall:.3f} ({self.label}); per variable: {per}"


def _kmo_from_corr(R: np.ndarray, cols: list) -> KMOResult:
    Ri = np.linalg.inv(R)
    d = 1.0 / np.sqrt(np.diag(Ri))
    Q = -Ri * d[:, None] * d[None, :]  # partial (anti-image) correlations
    off = ~np.eye(len(R), dtype=bool)
    r2 = np.where(off, R**2, 0.0)
    q2 = np.where(off, Q**2, 0.0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    per = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return KMOResult(overall, pd.Series(per, index=cols, name="msa"), _kaiser_label(overall))


def kmo(data: pd.DataFrame, columns: Sequence | None = None) -> KMOResult:
    """Kaiser–Meyer–Olkin measure of sampling adequacy.

    ``KMO = sum r_ij^2 / (sum r_ij^2 + sum q_ij^2)`` over i != j, with ``q`` the partial
    correlations (anti-image); the per-variable MSA restricts the sums to one column.

    Parameters
    ----------
    data : DataFrame
        Numeric indicators, one row per observation.
    columns : sequence of str, optional
        Columns to use (default: all).

    Returns
    -------
    KMOResult

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> round(kmo(hs, [f"x{i}" for i in range(1, 10)]).overall, 3)
    0.752
    """
    X, cols, _ = _numeric_block(data, columns, what="KMO")
    return _kmo_from_corr(_correlation(X, cols), cols)


@dataclass(frozen=True, eq=False, repr=False)
class BartlettResult(Result):
    """Bartlett's (1951) test that the correlation matrix is an identity matrix."""

    statistic: float
    df: int
    p_value: float
    nobs: int
    n_vars: int

    def to_frame(self) -> pd.DataFrame:
        """Tidy one-row frame: term, statistic, df, p_value."""
        return pd.DataFrame({"term": ["bartlett_sphericity"], "statistic": [self.statistic],
                             "df": [self.df], "p_value": [self.p_value]})

    def _headline(self) -> list[str]:
        return [f"chi2({self.df})={self.statistic:.2f}", f"p={self.p_value:.3g}",
                f"N={self.nobs}"]

    def summary(self) -> Summary:
        """The test statistic, degrees of freedom and p-value."""
        return Summary("Bartlett's test of sphericity", self.to_frame().set_index("term"),
                       header=[("Observations", self.nobs), ("Variables", self.n_vars)],
                       notes=["H0: the correlation matrix is an identity matrix"])

    def __str__(self) -> str:
        return (f"Bartlett's test of sphericity: chi2({self.df}) = {self.statistic:.2f}, "
                f"p = {self.p_value:.3g} (N = {self.nobs}, {self.n_vars} variables)")


def _bartlett_from_corr(R: np.ndarray, n: int) -> BartlettResult:
    p = R.shape[0]
    _, logdet = np.linalg.slogdet(R)
    stat = float(-(n - 1 - (2 * p + 5) / 6.0) * logdet)
    df = p * (p - 1) // 2
    return BartlettResult(stat, df, float(stats.chi2.sf(stat, df)), n, p)


def bartlett_sphericity(data: pd.DataFrame, columns: Sequence | None = None) -> BartlettResult:
    """Bartlett's test of sphericity: chi2 = -(n - 1 - (2p + 5)/6) log|R|, df p(p-1)/2.

    Parameters
    ----------
    data : DataFrame
        Numeric indicators.
    columns : sequence of str, optional
        Columns to use (default: all).

    Returns
    -------
    BartlettResult

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> res = bartlett_sphericity(holzinger39.get_data(), [f"x{i}" for i in range(1, 10)])
    >>> round(res.statistic, 2), res.df
    (904.1, 36)
    """
    X, cols, _ = _numeric_block(data, columns, what="Bartlett's test")
    return _bartlett_from_corr(_correlation(X, cols), X.shape[0])


# ---------------------------------------------------------------------------------
# Parallel analysis
# ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class ParallelAnalysisResult(Result):
    """Horn's (1965) parallel analysis of component or factor eigenvalues.

    ``kind`` says which eigenvalues were compared: ``"pca"`` (components: the
    correlation matrix), ``"fa"`` or ``"smc"`` (factors: the reduced correlation
    matrix); ``n_factors`` is the number of components or factors to retain.
    """

    table: pd.DataFrame  # observed, random_mean, random_quantile, retain
    n_factors: int
    n_iter: int
    quantile: float
    nobs: int
    method: str
    kind: str = "pca"

    @property
    def observed(self) -> np.ndarray:
        return self.table["observed"].to_numpy()

    @property
    def random_mean(self) -> np.ndarray:
        return self.table["random_mean"].to_numpy()

    @property
    def random_quantile(self) -> np.ndarray:
        return self.table["random_quantile"].to_numpy()

    @property
    def what(self) -> str:
        """``"components"`` (kind="pca") or ``"factors"``."""
        return "components" if self.kind == "pca" else "factors"

    def to_frame(self) -> pd.DataFrame:
        """The eigenvalue table with a ``term`` column (component or factor 1, 2, ...)."""
        out = self.table.reset_index(names="term")
        out["term"] = out["term"].astype(str)
        return out

    def _headline(self) -> list[str]:
        return [f"kind={self.kind}", f"retain={self.n_factors}", f"draws={self.n_iter}",
                f"N={self.nobs}"]

    def summary(self) -> Summary:
        """Observed and random eigenvalues and how many components/factors to retain."""
        return Summary(f"Parallel analysis of {self.what} ({self.method})", self.table,
                       header=[("Eigenvalues", _KIND_LABEL[self.kind]),
                               (f"{self.what.capitalize()} to retain", self.n_factors),
                               ("Random draws", self.n_iter), ("Observations", self.nobs),
                               ("Random quantile", self.quantile)], digits=3)

    def __str__(self) -> str:
        return (f"Parallel analysis of {self.what} ({_KIND_LABEL[self.kind]}; "
                f"{self.n_iter} random draws, N = {self.nobs}, {self.method}): retain "
                f"{self.n_factors} {self.what[:-1]}(s) whose eigenvalue exceeds the "
                f"{100 * self.quantile:g}th percentile of random data\n"
                + _fmt_frame(self.table))


KINDS = ("pca", "fa", "smc")
_KIND_LABEL = {
    "pca": "component eigenvalues of the correlation matrix",
    "fa": "factor eigenvalues: reduced correlation matrix, one-factor minres communalities",
    "smc": "factor eigenvalues: reduced correlation matrix, squared multiple correlations",
}


def _one_factor_communalities_each(C: np.ndarray) -> np.ndarray:
    """Communalities of the one-factor minres fit of each matrix of the stack ``C``,
    one L-BFGS-B fit per matrix.

    The same extraction as :func:`fit_efa` (``method="minres"``) and psych's ``fa``:
    uniquenesses bounded in [0.005, 1], L-BFGS-B from the squared multiple
    correlations; about 1.3 ms at 25 variables on an idle core. The reference for
    :func:`_one_factor_communalities`, and its fallback.
    """
    out = np.empty(C.shape[:2])
    for k in range(len(C)):
        L, _, _ = _efa.extract(C[k], 1, "minres")
        out[k] = L[:, 0] ** 2
    return out


def _one_factor_communalities(C: np.ndarray) -> np.ndarray:
    """Communalities of the one-factor minres fit of each matrix of the stack ``C``.

    All matrices at once by a damped Newton iteration on the loadings
    (:mod:`dtistat._minres1`); the matrices whose fit it cannot certify as an
    interior local minimum (Heywood cases, where a uniqueness sits on its bound, or
    no convergence) are refitted one by one as :func:`fit_efa` does. The objective has
    several local minima on some random matrices; from the same start the two
    optimisers end in the same one on about 99.5% of draws (see
    ``docs/parallel_fa.md``).
    """
    if C.shape[1] < 4:              # one factor is not over-identified: no minimum to
        return _one_factor_communalities_each(C)  # certify, and it is cheap anyway
    h2, ok = _minres1.one_factor_minres(C)
    if not ok.all():
        h2[~ok] = _one_factor_communalities_each(C[~ok])
    return h2


def _kind_eigenvalues(C: np.ndarray, kind: str) -> np.ndarray:
    """Descending eigenvalues of a stack of correlation matrices, as ``kind`` says."""
    if kind != "pca":
        C = C.copy()
        d = np.arange(C.shape[1])
        if kind == "smc":
            C[:, d, d] = 1.0 - 1.0 / np.einsum("kii->ki", np.linalg.inv(C))
        else:
            C[:, d, d] = _one_factor_communalities(C)
    return np.linalg.eigvalsh(C)[:, ::-1]


def _random_eigenvalues(rng: np.random.Generator, n: int, p: int, n_iter: int,
                        method: str, chunk: int | None = None,
                        kind: str = "pca") -> np.ndarray:
    """(n_iter, p) descending eigenvalues (``kind``) of correlation matrices of
    independent normal data."""
    out = np.empty((n_iter, p))
    if method == "wishart":
        # The centred cross-product of n iid N(0, I_p) rows is Wishart_p(n - 1, I)
        # and the Pearson correlation depends on the data only through it; Bartlett's
        # decomposition W = L L' draws it from p(p+1)/2 variates instead of n p.
        chunk = chunk or 500
        tr = np.tril_indices(p, -1)
        dg = np.arange(p)
        dfs = (n - 1) - np.arange(p)
        for s in range(0, n_iter, chunk):
            m = min(chunk, n_iter - s)
            L = np.zeros((m, p, p))
            L[:, tr[0], tr[1]] = rng.standard_normal((m, len(tr[0])))
            L[:, dg, dg] = np.sqrt(rng.chisquare(dfs, size=(m, p)))
            W = L @ L.transpose(0, 2, 1)
            d = 1.0 / np.sqrt(np.einsum("kii->ki", W))
            out[s:s + m] = _kind_eigenvalues(W * d[:, :, None] * d[:, None, :], kind)
        return out
    # "data": simulate the normal data themselves, a chunk of draws at a time
    # (about 8 million numbers per chunk), one batched eigvalsh per chunk.
    # The draw itself dominates the cost (n p normals per iteration), so this path
    # is only a little faster than a loop; chunks of ~2 MB stay in cache, which
    # beats one large batch. It exists to check the Wishart path on real draws.
    chunk = chunk or max(1, int(250_000 // (n * p)))
    buf = np.empty((min(chunk, n_iter), n, p))
    for s in range(0, n_iter, chunk):
        m = min(chunk, n_iter - s)
        X = buf[:m]
        rng.standard_normal(out=X)
        # centred cross-products without a centred copy: X'X - n xbar xbar'
        tot = X.sum(axis=1)
        W = np.matmul(X.transpose(0, 2, 1), X) - tot[:, :, None] * tot[:, None, :] / n
        d = 1.0 / np.sqrt(np.einsum("kii->ki", W))
        out[s:s + m] = _kind_eigenvalues(W * d[:, :, None] * d[:, None, :], kind)
    return out


def _parallel(eig: np.ndarray, n: int, n_iter: int, seed: Any, quantile: float,
              method: str, kind: str = "pca") -> ParallelAnalysisResult:
    p = len(eig)
    rng = check_seed(seed)
    rand = _random_eigenvalues(rng, n, p, n_iter, method, kind=kind)
    mean = rand.mean(axis=0)
    q = np.quantile(rand, quantile, axis=0)
    above = eig > q
    # Retain the leading run of eigenvalues above the random quantile (Glorfeld 1995).
    k = int(np.argmin(above)) if not above.all() else p
    table = pd.DataFrame({"observed": eig, "random_mean": mean, "random_quantile": q,
                          "retain": np.arange(p) < k},
                         index=pd.RangeIndex(1, p + 1,
                                             name="component" if kind == "pca" else "factor"))
    return ParallelAnalysisResult(table, k, n_iter, quantile, n, method, kind)


def parallel_analysis(data: pd.DataFrame, columns: Sequence | None = None, *,
                      n_iter: int = 1000, seed: Any = None, quantile: float = 0.95,
                      method: str = "wishart", kind: str = "pca") -> ParallelAnalysisResult:
    """Horn's parallel analysis with Glorfeld's percentile criterion.

    Compares the eigenvalues of the sample correlation matrix (or of its reduced
    form, ``kind``) with those of ``n_iter`` correlation matrices of independent
    normal data of the same size, treated the same way; retains the leading
    components/factors whose eigenvalue exceeds the ``quantile`` (95th percentile by
    default) of the random eigenvalues. The mean is reported too (Horn's original
    criterion, and psych's default).

    Parameters
    ----------
    data : DataFrame
        Numeric indicators.
    columns : sequence of str, optional
        Columns to use (default: all).
    n_iter : int
        Random draws.
    seed : int or numpy.random.Generator, optional
        Same seed, same numbers.
    quantile : float
        Percentile criterion in (0, 1).
    method : {"wishart", "data"}
        ``"wishart"`` draws the random cross-product matrices directly by Bartlett's
        decomposition of the Wishart distribution (exactly the distribution the
        simulated data would give, ~15-20x faster than a loop over simulated data);
        ``"data"`` simulates the n x p normal data, in cache-sized chunks with one
        batched ``eigvalsh`` per chunk (bound by the cost of the normal draws).
    kind : {"pca", "fa", "smc"}
        Which eigenvalues. ``"pca"`` (default, and the only behaviour before the
        option existed): principal-component eigenvalues of the correlation matrix,
        i.e. how many *components* to keep. ``"fa"``: *factor* eigenvalues as
        ``psych::fa.parallel`` computes them by default (``fa="fa"``, ``SMC=FALSE``):
        the correlation matrix with the communalities of a one-factor minres fit on
        its diagonal. ``"smc"``: the classical reduced correlation matrix with
        squared multiple correlations on the diagonal (Humphreys & Ilgen 1969;
        ``fa.parallel(SMC=TRUE)``), known to retain too many factors in large
        samples. The default stays ``"pca"`` so that existing analyses keep their
        numbers; for a common-factor model (:func:`fit_efa`) ``"fa"`` is the
        matching criterion. The random matrices get the same treatment as the data;
        ``"fa"`` fits one minres factor per draw, all draws at once by a damped
        Newton iteration, refitting one by one (as :func:`fit_efa`) the few it
        cannot certify (``n_iter=1000`` on bfi: about 0.2 s against 0.03 s for
        ``"pca"`` and 1.2 s for one fit per draw; psych draws 20).

    Returns
    -------
    ParallelAnalysisResult
        ``kind`` and ``what`` ("components"/"factors") label the result, its
        ``summary()`` and its text.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> pa = parallel_analysis(holzinger39.get_data(), [f"x{i}" for i in range(1, 10)],
    ...                        n_iter=200, seed=1)
    >>> pa.n_factors, pa.what
    (3, 'components')
    """
    n_iter = check_positive_int(n_iter, "n_iter")
    quantile = check_level(quantile, "quantile")
    check_choice(method, ("wishart", "data"), "method")
    check_choice(kind, KINDS, "kind")
    X, cols, _ = _numeric_block(data, columns, what="parallel analysis")
    R = _correlation(X, cols)
    eig = _kind_eigenvalues(R[None], kind)[0]
    return _parallel(eig, X.shape[0], n_iter, seed, quantile, method, kind)


# ---------------------------------------------------------------------------------
# Exploratory factor analysis
# ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class EFAResult(Result):
    """Exploratory factor analysis: adequacy tests, loadings, communalities, scores."""

    loadings: pd.DataFrame            # pattern loadings (p x k)
    structure: pd.DataFrame           # structure = pattern @ factor_corr
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame            # ss_loadings, proportion, cumulative
    factor_corr: pd.DataFrame | None  # None for orthogonal rotations
    scores: pd.DataFrame
    score_weights: pd.DataFrame
    unrotated_loadings: pd.DataFrame
    rotation_matrix: np.ndarray       # loadings = unrotated @ rotation_matrix
    eigenvalues: pd.Series
    kmo: KMOResult
    bartlett: BartlettResult
    parallel: ParallelAnalysisResult | None
    n_factors: int
    method: str
    rotation: str | None
    score_method: str
    nobs: int
    df: int
    chi2: float
    p_value: float
    rmsr: float
    heywood: tuple = field(default_factory=tuple)

    def tidy(self) -> pd.DataFrame:
        """Tidy loadings: term ("factor =~ variable"), variable, factor, estimate."""
        long = self.loadings.stack().rename("estimate").reset_index()
        long.columns = ["variable", "factor", "estimate"]
        long.insert(0, "term", long["factor"] + " =~ " + long["variable"].astype(str))
        return long

    def to_frame(self) -> pd.DataFrame:
        """Wide loadings with communality (h2) and uniqueness (u2), as psych prints."""
        out = self.loadings.copy()
        out["h2"] = self.communalities
        out["u2"] = self.uniquenesses
        return out

    def _headline(self) -> list[str]:
        return [f"factors={self.n_factors}", f"method={self.method}",
                f"rotation={self.rotation or 'none'}", f"N={self.nobs}"]

    def summary(self) -> Summary:
        """Loadings with h2/u2, variance explained, factor correlations, the model test."""
        tabs = {"Loadings": self.to_frame(), "Variance explained": self.variance.T}
        if self.factor_corr is not None:
            tabs["Factor correlations"] = self.factor_corr
        header = [("Observations", self.nobs),
                  ("KMO", f"{self.kmo.overall:.3f} ({self.kmo.label})"),
                  ("Bartlett", f"chi2({self.bartlett.df}) = {self.bartlett.statistic:.2f}, "
                               f"p = {self.bartlett.p_value:.3g}")]
        notes = []
        if self.method != "principal":
            notes.append(f"Model test: chi2({self.df}) = {self.chi2:.3f}, p = "
                         f"{self.p_value:.3g}; RMSR = {self.rmsr:.4f}")
        if self.heywood:
            notes.append(f"Heywood case(s): {', '.join(map(str, self.heywood))}")
        return Summary(f"Exploratory factor analysis: {self.n_factors} factor(s), "
                       f"method={self.method}, rotation={self.rotation or 'none'}", tabs,
                       header=header, notes=notes, digits=3)

    def __str__(self) -> str:
        rot = self.rotation or "none"
        lines = [
            f"Exploratory factor analysis: {self.n_factors} factor(s), method={self.method}, "
            f"rotation={rot}, N = {self.nobs}",
            str(self.kmo).split(";")[0] + "; " + str(self.bartlett),
            "",
            _fmt_frame(self.to_frame()),
            "",
            _fmt_frame(self.variance.T),
        ]
        if self.factor_corr is not None:
            lines += ["", "Factor correlations:", _fmt_frame(self.factor_corr)]
        if self.method != "principal":
            lines += ["", f"Model test: chi2({self.df}) = {self.chi2:.3f}, p = "
                      f"{self.p_value:.3g}; RMSR = {self.rmsr:.4f}"]
        if self.heywood:
            lines += [f"Heywood case(s): {', '.join(map(str, self.heywood))}"]
        return "\n".join(lines)


#: ``n_factors`` rules of :func:`fit_efa`: factor-eigenvalue parallel analysis (psych's
#: ``fa.parallel`` default), component-eigenvalue parallel analysis, Kaiser's rule
_K_RULES = ("parallel", "parallel-pca", "kaiser")


def _choose_k(n_factors, R, eig, n, p, n_iter, seed, method):
    """The number of factors (fixed, Kaiser or parallel analysis) and its df."""
    pa = None
    if isinstance(n_factors, str):
        check_choice(n_factors, _K_RULES, "n_factors")
        if n_factors.startswith("parallel"):
            kind = "pca" if n_factors == "parallel-pca" else "fa"
            pa = _parallel(eig if kind == "pca" else _kind_eigenvalues(R[None], kind)[0],
                           n, check_positive_int(n_iter, "n_iter"), seed, 0.95, "wishart",
                           kind)
            k = pa.n_factors
        else:
            k = int((eig > 1.0).sum())
        if k == 0:
            warn(f"n_factors={n_factors!r} suggests no common factor; fitting 1",
                 stacklevel=4)
            k = 1
    else:
        k = check_positive_int(n_factors, "n_factors")
    if k > p:
        raise ParameterError(f"n_factors={k} exceeds the number of variables ({p})")
    df = ((p - k) ** 2 - (p + k)) // 2
    if method != "principal":
        if df < 0:
            kmax = max(kk for kk in range(0, p + 1) if (p - kk) ** 2 - (p + kk) >= 0)
            raise ParameterError(
                f"n_factors={k} is more than {p} variables can identify (degrees of "
                f"freedom {df} < 0); use at most {kmax} factor(s)"
            )
        if df == 0:
            warn(f"{k} factor(s) on {p} variables leave 0 degrees of freedom: the model "
                 f"is just identified and its fit cannot be tested", stacklevel=4)
    return k, pa, df


def _order_and_sign(L, T, phi):
    """Order factors by variance explained, each column summing positive (psych)."""
    k = L.shape[1]
    phi_ = np.eye(k) if phi is None else phi
    ss = (L * (L @ phi_)).sum(axis=0)
    order = np.argsort(-ss, kind="stable")
    sign = np.sign(L[:, order].sum(axis=0))
    sign[sign == 0] = 1.0
    L = L[:, order] * sign
    T = T[:, order] * sign
    if phi is not None:
        phi = phi[np.ix_(order, order)] * np.outer(sign, sign)
    return L, T, phi


def _heywood(psi, cols) -> tuple:
    hit = np.flatnonzero(psi <= _efa.PSI_LOWER + 1e-6)
    heywood = tuple(cols[j] for j in hit)
    if heywood:
        warn("Heywood case: the communality of "
             + ", ".join(map(repr, heywood))
             + f" reached the bound 1 - {_efa.PSI_LOWER} (the unconstrained estimate "
             "is >= 1); the solution is improper: try fewer factors, another "
             "method, or drop the variable", stacklevel=4)
    return heywood


def _model_test(L0, psi, R, n, k, df, method) -> tuple[float, float]:
    """Bartlett-corrected likelihood-ratio chi2 of the k-factor model (as psych)."""
    if method == "principal":
        return float("nan"), float("nan")
    p = R.shape[0]
    Sig = L0 @ L0.T + np.diag(psi)
    _, ld_s = np.linalg.slogdet(Sig)
    _, ld_r = np.linalg.slogdet(R)
    F = ld_s + np.trace(np.linalg.solve(Sig, R)) - ld_r - p
    chi2 = float((n - 1 - (2 * p + 5) / 6.0 - 2 * k / 3.0) * F)
    return chi2, float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan")


def fit_efa(data: pd.DataFrame, columns: Sequence | None = None, *,
            n_factors: int | str = "parallel", method: str = "minres",
            rotation: str | None = "varimax", scores: str = "regression",
            normalize: bool | None = None, n_iter: int = 1000,
            seed: Any = None) -> EFAResult:
    """Exploratory factor analysis of the correlation matrix.

    Parameters
    ----------
    data : DataFrame
        Numeric indicators, one row per observation (not modified).
    columns : sequence of str, optional
        Indicators to analyse (default: all columns).
    n_factors : int, "parallel", "parallel-pca" or "kaiser"
        Number of factors, or the rule that chooses it. ``"parallel"``: parallel
        analysis of *factor* eigenvalues (95th percentile, ``n_iter`` draws, ``seed``;
        :func:`parallel_analysis` with ``kind="fa"``, as psych's ``fa.parallel``
        counts factors), the criterion that matches a common-factor model.
        ``"parallel-pca"``: parallel analysis of *component* eigenvalues
        (``kind="pca"``, what ``"parallel"`` chose in earlier releases; it often keeps
        fewer: 5 components against 6 factors on psych's bfi). ``"kaiser"``:
        eigenvalues of the correlation matrix above 1.
    method : {"minres", "ml", "principal"}
        Minimum residual (unweighted least squares, psych's default), maximum
        likelihood (as R's ``factanal``), or principal components.
    rotation : {"varimax", "promax", "oblimin", "quartimax", None}
        ``oblimin`` is quartimin (gamma = 0, GPArotation's default); ``promax`` is
        R's ``stats::promax`` with power 4.
    scores : {"regression", "bartlett"}
        Thurstone regression scores or Bartlett's weighted least-squares scores.
    normalize : bool, optional
        Kaiser row normalization before rotating. Default: True for varimax and
        promax (R's ``varimax``/``promax``), False otherwise (GPArotation).
    n_iter, seed
        Parallel-analysis draws and seed (only for the ``"parallel"`` rules). The
        factor criterion fits a one-factor model per draw: some 1-2 s for the default
        1,000 draws at 9-25 variables, against some 0.05 s for components.

    Returns
    -------
    EFAResult

    Raises
    ------
    DataError
        Fewer rows than variables, constant or duplicated columns, singular
        correlation matrix (naming the collinear columns).
    ParameterError
        More factors than the model can identify (degrees of freedom < 0).
    ConvergenceError
        Extraction or rotation did not converge.

    Warns
    -----
    DtiStatWarning
        Heywood cases (a communality reaching 1), naming the variable; a
        just-identified model (df = 0).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> res = fit_efa(hs, [f"x{i}" for i in range(1, 10)], n_factors=3)
    >>> res.loadings.shape
    (9, 3)
    """
    # checked whatever n_factors is: an n_iter of True or 2.5 is a mistake even when
    # parallel analysis does not run
    n_iter = check_positive_int(n_iter, "n_iter")
    check_seed(seed)
    check_choice(method, ("minres", "ml", "principal"), "method")
    check_choice(rotation, ("varimax", "promax", "oblimin", "quartimax", None), "rotation")
    check_choice(scores, ("regression", "bartlett"), "scores")
    X, cols, _ = _numeric_block(data, columns, what="factor analysis")
    n, p = X.shape
    R = _correlation(X, cols)
    eig = np.linalg.eigvalsh(R)[::-1]
    k, pa, df = _choose_k(n_factors, R, eig, n, p, n_iter, seed, method)
    L0, psi, _ = _efa.extract(R, k, method)
    if normalize is None:
        normalize = rotation in ("varimax", "promax")
    L, T, phi = _order_and_sign(*_efa.rotate(L0, rotation, normalize=bool(normalize)))
    phi_ = np.eye(k) if phi is None else phi
    h2 = (L * (L @ phi_)).sum(axis=1)
    u2 = 1.0 - h2 if method == "principal" else psi
    names = [f"F{j + 1}" for j in range(k)]
    heywood = _heywood(psi, cols) if method != "principal" else ()
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    W = _efa.score_weights(R, L, np.maximum(u2, 1e-12), phi, scores)
    ssl = (L * (L @ phi_)).sum(axis=0)
    variance = pd.DataFrame({"ss_loadings": ssl, "proportion": ssl / p,
                             "cumulative": np.cumsum(ssl) / p}, index=names)
    chi2, p_value = _model_test(L0, psi, R, n, k, df, method)
    resid = R - L @ phi_ @ L.T
    off = ~np.eye(p, dtype=bool)
    rmsr = float(np.sqrt((resid[off] ** 2).mean()))
    idx = data.index
    return EFAResult(
        loadings=pd.DataFrame(L, index=cols, columns=names),
        structure=pd.DataFrame(L @ phi_, index=cols, columns=names),
        communalities=pd.Series(h2, index=cols, name="h2"),
        uniquenesses=pd.Series(u2, index=cols, name="u2"),
        variance=variance,
        factor_corr=None if phi is None else pd.DataFrame(phi, index=names, columns=names),
        scores=pd.DataFrame(Z @ W, index=idx, columns=names),
        score_weights=pd.DataFrame(W, index=cols, columns=names),
        unrotated_loadings=pd.DataFrame(L0, index=cols, columns=names),
        rotation_matrix=T,
        eigenvalues=pd.Series(eig, index=pd.RangeIndex(1, p + 1, name="component"),
                              name="eigenvalue"),
        kmo=_kmo_from_corr(R, cols),
        bartlett=_bartlett_from_corr(R, n),
        parallel=pa,
        n_factors=k,
        method=method,
        rotation=rotation,
        score_method=scores,
        nobs=n,
        df=df,
        chi2=chi2,
        p_value=p_value,
        rmsr=rmsr,
        heywood=heywood,
    )


# ---------------------------------------------------------------------------------
# Confirmatory factor analysis / structural equation models
# ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class CFAResult(Result):
    """A fitted CFA/SEM: estimates with SEs, fit indices on lavaan's scale, reliability."""

    estimates: pd.DataFrame   # lhs, op, rhs, label, estimate, std_error, ..., std_all
    fit: pd.Series            # chi2, df, p_value, cfi, tli, rmsea (+ CI), srmr, loglik, ...
    reliability: pd.DataFrame  # per factor: n_indicators, alpha, composite_reliability, ave
    implied_cov: pd.DataFrame
    sample_cov: pd.DataFrame
    vcov: pd.DataFrame         # covariance of the free parameters
    model: str
    nobs: int
    n_iter: int
    heywood: tuple = field(default_factory=tuple)
    estimator: str = "ML"
    implied_mean: pd.Series | None = None   # with a mean structure
    sample_mean: pd.Series | None = None

    @property
    def meanstructure(self) -> bool:
        """Whether the model has a mean structure (intercepts and factor means)."""
        return self.implied_mean is not None

    @property
    def loadings(self) -> pd.DataFrame:
        """Measurement rows (``=~``) only."""
        return self.estimates[self.estimates["op"] == "=~"].reset_index(drop=True)

    @property
    def standardized_loadings(self) -> pd.DataFrame:
        """Indicator x factor matrix of completely standardized loadings (std.all)."""
        ld = self.loadings
        wide = ld.pivot(index="rhs", columns="lhs", values="std_all").fillna(0.0)
        wide = wide.reindex(index=pd.unique(ld["rhs"]), columns=pd.unique(ld["lhs"]))
        wide.index.name, wide.columns.name = "indicator", "factor"
        return wide

    def tidy(self) -> pd.DataFrame:
        """Tidy frame of all parameters (free and fixed), lavaan's parameterEstimates."""
        cols = _TIDY + ["std_all", "lhs", "op", "rhs", "label", "free"]
        return self.estimates[cols].copy()

    def _free(self) -> pd.DataFrame:
        return self.estimates[self.estimates["free"].astype(bool)]

    @property
    def params(self) -> pd.Series:
        """Free parameter estimates by term (lavaan's ``coef()``)."""
        f = self._free()
        return pd.Series(f["estimate"].to_numpy(), index=f["term"].to_numpy(), name="estimate")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors of the free parameters (expected information, as lavaan's ML;
        the sandwich with ``estimator="MLR"``)."""
        f = self._free()
        return pd.Series(f["std_error"].to_numpy(), index=f["term"].to_numpy(),
                         name="std_error")

    @property
    def bse(self) -> pd.Series:
        """Alias of :attr:`std_errors`."""
        return self.std_errors

    @property
    def tstats(self) -> pd.Series:
        """z statistics of the free parameters."""
        f = self._free()
        return pd.Series(f["statistic"].to_numpy(), index=f["term"].to_numpy(),
                         name="statistic")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values of the free parameters."""
        f = self._free()
        return pd.Series(f["p_value"].to_numpy(), index=f["term"].to_numpy(), name="p_value")

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Wald intervals of the free parameters (normal, as lavaan)."""
        level = 0.95 if level is None else check_level(level)
        z = stats.norm.ppf(0.5 + level / 2)
        b, se = self.params, self.std_errors
        return pd.DataFrame({"lower": b - z * se, "upper": b + z * se})

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the free parameters (alias of ``vcov``)."""
        return self.vcov

    def _headline(self) -> list[str]:
        f = self.fit
        if self.estimator == "MLR":
            return [f"N={self.nobs}", f"MLR scaled chi2({int(f['df'])})="
                    f"{f['chi2_scaled']:.3f}", f"robust CFI={f['cfi_robust']:.3f}",
                    f"robust RMSEA={f['rmsea_robust']:.3f}", f"SRMR={f['srmr']:.3f}"]
        return [f"N={self.nobs}", f"chi2({int(f['df'])})={f['chi2']:.3f}",
                f"CFI={f['cfi']:.3f}", f"RMSEA={f['rmsea']:.3f}", f"SRMR={f['srmr']:.3f}"]

    def _header(self) -> list[tuple[str, str]]:
        f = self.fit
        est = ("ML" if self.estimator == "ML" else
               "MLR (ML estimates; Huber-White SEs from the observed information; "
               "Yuan-Bentler scaled test, Mplus variant)")
        means = ", mean structure" if self.meanstructure else ""
        rows = [
            ("Estimation", f"{est}, N = {self.nobs}, {int(f['npar'])} free parameters"
                           f"{means}, {self.n_iter} iterations"),
            ("Model test", f"chi2({int(f['df'])}) = {f['chi2']:.3f}, p = {f['p_value']:.4f}"),
            ("Baseline", f"chi2({int(f['baseline_df'])}) = {f['baseline_chi2']:.3f}"),
            ("Fit", f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                    f"[90% CI {f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], "
                    f"SRMR = {f['srmr']:.3f}"),
        ]
        if self.estimator == "MLR":
            rows[2:2] = [("Scaled test", f"chi2({int(f['df'])}) = {f['chi2_scaled']:.3f}, "
                          f"p = {f['p_value_scaled']:.4f}, scaling factor "
                          f"{f['scaling_factor']:.3f}")]
            rows += [("Scaled fit", f"CFI = {f['cfi_scaled']:.3f}, TLI = "
                                    f"{f['tli_scaled']:.3f}, RMSEA = {f['rmsea_scaled']:.3f}"),
                     ("Robust fit", f"CFI = {f['cfi_robust']:.3f}, TLI = "
                                    f"{f['tli_robust']:.3f}, RMSEA = {f['rmsea_robust']:.3f} "
                                    f"[90% CI {f['rmsea_ci_low_robust']:.3f}, "
                                    f"{f['rmsea_ci_high_robust']:.3f}]")]
        rows.append(("Information criteria", f"log-likelihood = {f['loglik']:.3f}, AIC = "
                                             f"{f['aic']:.3f}, BIC = {f['bic']:.3f}"))
        return rows

    def summary(self) -> Summary:
        """Fit measures, every parameter with SE and std.all, reliability."""
        header = self._header()
        tabs = {"Parameters": self.estimates[["term", "estimate", "std_error", "statistic",
                                              "p_value", "std_all"]].set_index("term")}
        if len(self.reliability):
            tabs["Reliability"] = self.reliability
        notes = ([f"Heywood case(s): {', '.join(map(str, self.heywood))}"]
                 if self.heywood else [])
        return Summary("Confirmatory factor analysis / SEM", tabs, header=header,
                       notes=notes, digits=3)

    def to_frame(self) -> pd.DataFrame:
        """The fit measures as a one-column frame."""
        return self.fit.to_frame("value")

    def __str__(self) -> str:
        if self.estimator == "ML" and not self.meanstructure:
            f = self.fit
            head = [
                f"ML estimation (N = {self.nobs}, {int(f['npar'])} free parameters, "
                f"{self.n_iter} iterations)",
                f"  chi2({int(f['df'])}) = {f['chi2']:.3f}, p = {f['p_value']:.4f}; "
                f"baseline chi2({int(f['baseline_df'])}) = {f['baseline_chi2']:.3f}",
                f"  CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                f"[90% CI {f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], "
                f"SRMR = {f['srmr']:.3f}",
                f"  log-likelihood = {f['loglik']:.3f}, AIC = {f['aic']:.3f}, "
                f"BIC = {f['bic']:.3f}",
                "",
            ]
        else:
            head = [f"{k}: {v}" for k, v in self._header()] + [""]
        est = self.estimates[["term", "estimate", "std_error", "statistic", "p_value",
                              "std_all"]]
        body = est.to_string(index=False, float_format=lambda v: f"{v:.3f}",
                             na_rep="")
        tail = ["", "Reliability:", _fmt_frame(self.reliability)] \
            if len(self.reliability) else []
        if self.heywood:
            tail += [f"Heywood case(s): {', '.join(map(str, self.heywood))}"]
        return "\n".join(head) + body + "\n" + "\n".join(tail)


def _ncx2_lambda(chi2: float, df: int, prob: float) -> float:
    # The noncentrality lambda with P(X <= chi2 | df, lambda) = prob (0 if impossible).
    from scipy import optimize

    def f(lam):
        return stats.ncx2.cdf(chi2, df, lam) - prob if lam > 0 else \
            stats.chi2.cdf(chi2, df) - prob

    if f(0.0) < 0:
        return 0.0
    hi = max(1.0, chi2)
    while f(hi) > 0:
        hi *= 2.0
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-12))


def _fit_measures(S: np.ndarray, Sig: np.ndarray, fmin: float, n: int, q: int,
                  level: float = 0.90, means: tuple | None = None) -> dict:
    """lavaan's fit measures; ``means=(sample means, implied means)`` for a mean structure.

    With means the p means count as moments, the mean residuals enter SRMR (lavaan's
    ``srmr_bentler`` with a mean structure) and the log-likelihood.
    """
    p = S.shape[0]
    moments = p * (p + 1) // 2 + (p if means is not None else 0)
    df = moments - q
    chi2 = n * fmin
    _, ld_s = np.linalg.slogdet(S)
    # Independence (baseline) model: Sigma = diag(S), df = p(p - 1)/2.
    base_chi2 = n * (np.sum(np.log(np.diag(S))) - ld_s)
    base_df = p * (p - 1) // 2
    d_m, d_b = max(chi2 - df, 0.0), max(base_chi2 - base_df, 0.0)
    cfi = 1.0 - d_m / max(d_m, d_b) if max(d_m, d_b) > 0 else 1.0
    tli = ((base_chi2 / base_df - chi2 / df) / (base_chi2 / base_df - 1.0)
           if df > 0 else float("nan"))
    if df > 0:
        rmsea = math.sqrt(d_m / (df * n))
        lo = _ncx2_lambda(chi2, df, 0.5 + level / 2)
        hi = _ncx2_lambda(chi2, df, 0.5 - level / 2)
        r_lo, r_hi = math.sqrt(lo / (df * n)), math.sqrt(hi / (df * n))
        r_p = float(stats.ncx2.sf(chi2, df, 0.05**2 * df * n))
        p_value = float(stats.chi2.sf(chi2, df))
    else:
        rmsea = r_lo = r_hi = r_p = p_value = float("nan")
    # SRMR as lavaan's default (Bentler): residuals scaled by the sample SDs, over
    # the p(p+1)/2 non-duplicated elements.
    sd = np.sqrt(np.diag(S))
    res = ((S - Sig) / np.outer(sd, sd))[np.tril_indices(p)]
    dev = 0.0
    if means is not None:
        d = means[0] - means[1]
        res = np.r_[res, d / sd]
        dev = float(d @ np.linalg.solve(Sig, d))
    srmr = float(np.sqrt(np.mean(res ** 2)))
    _, ld_sig = np.linalg.slogdet(Sig)
    loglik = -0.5 * n * (p * math.log(2 * math.pi) + ld_sig
                         + float(np.trace(np.linalg.solve(Sig, S))) + dev)
    loglik_h1 = -0.5 * n * (p * math.log(2 * math.pi) + ld_s + p)
    return {
        "npar": q, "nobs": n, "chi2": chi2, "df": df, "p_value": p_value,
        "baseline_chi2": base_chi2, "baseline_df": base_df,
        "baseline_p_value": float(stats.chi2.sf(base_chi2, base_df)),
        "cfi": cfi, "tli": tli, "rmsea": rmsea, "rmsea_ci_low": r_lo,
        "rmsea_ci_high": r_hi, "rmsea_pvalue": r_p, "srmr": srmr,
        "loglik": loglik, "unrestricted_loglik": loglik_h1,
        "aic": -2 * loglik + 2 * q, "bic": -2 * loglik + q * math.log(n),
        "bic_adjusted": -2 * loglik + q * math.log((n + 2) / 24.0),
    }


def _check_information(H, spec) -> None:
    """Refuse a singular information matrix, naming a parameter that is not identified."""
    ev, evec = np.linalg.eigh(H)
    if ev[0] <= 1e-10 * max(ev[-1], 1e-300):
        k = int(np.argmax(np.abs(evec[:, 0])))
        bad = [f"{ps.lhs} {ps.op} {ps.rhs}" for ps, kk in
               zip(spec.params, spec.free_index, strict=True) if kk == k]
        raise EstimationError(
            "the model is not identified (singular information matrix); the "
            f"parameter {bad[0]!r} cannot be estimated separately from others (a "
            "factor without a fixed loading or variance, or too many free paths or "
            "covariances)"
        )


def _parameter_table(spec, A, Sm, tvar, se, level) -> pd.DataFrame:
    """lavaan's parameterEstimates: estimate, SE, z, p, CI, std.all for every parameter."""
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for ps, k in zip(spec.params, spec.free_index, strict=True):
        est = A[ps.i, ps.j] if ps.mat == "A" else Sm[ps.i, ps.j]
        s = se[k] if k >= 0 else float("nan")
        if ps.op in ("=~", "~"):
            std = est * math.sqrt(max(tvar[ps.j], 0.0) / tvar[ps.i])
        elif ps.i == ps.j:
            std = est / tvar[ps.i]
        else:  # residual covariances standardized by the residual variances (lavaan)
            d = Sm[ps.i, ps.i] * Sm[ps.j, ps.j]
            std = est / math.sqrt(d) if d > 0 else float("nan")
        stat = est / s if k >= 0 and s > 0 else float("nan")
        rows.append({
            "term": f"{ps.lhs} {ps.op} {ps.rhs}", "estimate": est, "std_error": s,
            "statistic": stat,
            "p_value": float(2 * stats.norm.sf(abs(stat))) if np.isfinite(stat) else
            float("nan"),
            "ci_low": est - z * s if k >= 0 else float("nan"),
            "ci_high": est + z * s if k >= 0 else float("nan"),
            "std_all": std, "lhs": ps.lhs, "op": ps.op, "rhs": ps.rhs,
            "label": ps.label or "", "free": k >= 0,
        })
    order = {"=~": 0, "~": 1}
    est_df = pd.DataFrame(rows)
    est_df["_o"] = [order.get(o, 2 if lh != rh else 3)
                    for o, lh, rh in zip(est_df["op"], est_df["lhs"], est_df["rhs"], strict=True)]
    return est_df.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def _cfa_heywood(spec, Sm, est_df) -> list:
    """Negative (residual) variances or standardized loadings beyond 1."""
    pos = {v: i for i, v in enumerate(spec.variables)}
    heywood = [v for v in spec.variables if Sm[pos[v], pos[v]] < 0]
    ld = est_df[est_df["op"] == "=~"]
    for rhs, std in zip(ld["rhs"], ld["std_all"], strict=True):
        if abs(std) >= 1 and rhs not in heywood:
            heywood.append(rhs)
    if heywood:
        warn("Heywood case: negative (residual) variance or standardized loading "
             ">= 1 for " + ", ".join(map(repr, heywood))
             + "; the solution is improper: check the model or the indicator", stacklevel=4)
    return heywood


def _reliability(spec, obs, S, est_df) -> pd.DataFrame:
    """Cronbach's alpha, composite reliability and AVE per factor (observed indicators)."""
    rel = []
    ix = {v: i for i, v in enumerate(obs)}
    for f in spec.latent:
        inds = [x for x in spec.indicators[f] if x in ix]
        if len(inds) < 2:
            continue
        lam = np.array([est_df.loc[(est_df.op == "=~") & (est_df.lhs == f)
                                   & (est_df.rhs == x), "std_all"].iloc[0] for x in inds])
        sub = S[np.ix_([ix[x] for x in inds], [ix[x] for x in inds])]
        kk = len(inds)
        alpha = kk / (kk - 1) * (1 - np.trace(sub) / sub.sum())
        cr = lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2))
        rel.append({"factor": f, "n_indicators": kk, "cronbach_alpha": alpha,
                    "composite_reliability": cr, "ave": float(np.mean(lam**2))})
    reliability = pd.DataFrame(rel, columns=["factor", "n_indicators", "cronbach_alpha",
                                             "composite_reliability", "ave"])
    return reliability.set_index("factor")


def _sample_cov(X: np.ndarray, scale: np.ndarray, cols: list) -> np.ndarray:
    """Covariance (divisor N) of ``X * scale``; refuses variances a float cannot hold."""
    Xc = X - X.mean(axis=0)
    with np.errstate(over="ignore", under="ignore"):
        S = (Xc.T @ Xc) / len(X) * np.outer(scale, scale)
    var = np.diag(S)
    # The sampling covariance of a variance estimate scales as the variance squared:
    # keep the variances within 1e-150 .. 1e150 so that every derived number is a
    # full-precision float.
    bad = [c for c, v in zip(cols, var, strict=True) if not 1e-150 < v < 1e150]
    if bad:
        raise DataError(
            f"column {bad[0]!r}: its variance "
            f"({var[cols.index(bad[0])]:.3g}) is outside the representable range the "
            f"CFA needs (1e-150 to 1e150, i.e. an SD between 1e-75 and 1e75); rescale "
            f"the column (e.g. to thousands or millionths of its unit)"
        )
    return S


def _check_df(q: int, p: int, means: bool = False) -> int:
    """Degrees of freedom; refuse negative ones, warn about 0."""
    moments = p * (p + 1) // 2 + (p if means else 0)
    df = moments - q
    what = "means, variances and covariances" if means else \
        "distinct variances/covariances"
    if df < 0:
        raise EstimationError(
            f"the model is not identified: {q} free parameters but only {moments} "
            f"{what} of {p} observed variables (degrees of freedom {df} < 0); fix or "
            f"remove parameters")
    if df == 0:
        warn("the model has 0 degrees of freedom (just identified): it fits perfectly "
             "and chi2, CFI, TLI and RMSEA carry no information")
    return df


def _free_names(spec) -> list:
    """One name per free parameter: its label, else its term ('x1 ~1' for a mean)."""
    names: dict = {}
    for ps, k in zip(spec.params, spec.free_index, strict=True):
        if k >= 0 and k not in names:
            term = f"{ps.lhs} ~1" if ps.op == "~1" else f"{ps.lhs} {ps.op} {ps.rhs}"
            names[k] = ps.label or term
    return [names[k] for k in range(len(names))]


def _check_estimator(estimator: Any) -> str:
    """'ML' or 'MLR' (lavaan's names, any case)."""
    name = estimator.upper() if isinstance(estimator, str) else None
    if name not in ("ML", "MLR"):
        raise ParameterError(f"estimator must be 'ML' (normal-theory standard errors and "
                             f"test) or 'MLR' (robust: sandwich standard errors, "
                             f"Yuan-Bentler scaled test); got {estimator!r}")
    return name


def fit_cfa(data: pd.DataFrame, model: str, *, std_lv: bool = False,
            level: float = 0.95, group: Any = None,
            group_equal: Sequence[str] | str = (),
            group_partial: Sequence[str] | str = (), meanstructure: bool = False,
            estimator: str = "ML") -> CFAResult | MultiGroupCFAResult:
    """Confirmatory factor analysis / SEM by maximum likelihood, on lavaan's scale.

    Parameters
    ----------
    data : DataFrame
        Observed variables named in ``model`` (not modified; other columns ignored).
    model : str
        lavaan-style syntax, one relation per line (or ``;``-separated):
        ``F =~ x1 + x2`` (measured by), ``y ~ x`` (regression), ``a ~~ b``
        ((co)variance). Modifiers: ``0.5*x`` fixes, ``NA*x`` frees, ``lbl*x`` labels
        (equal labels are constrained equal). Comments start with ``#``.
    std_lv : bool
        Identify factors by fixing their (residual) variances to 1 instead of fixing
        the first loading to 1 (lavaan's ``std.lv``).
    level : float
        Confidence level of the Wald intervals.
    group : str, optional
        Column defining groups: fit the model in every group with a mean structure
        (lavaan's ``group=``) and return a
        :class:`~dtistat.invariance.MultiGroupCFAResult`.
    group_equal : str or sequence of str
        With ``group``: parameter classes held equal across groups (lavaan's
        ``group.equal``): ``"loadings"``, ``"intercepts"``, ``"means"``,
        ``"residuals"``, ``"residual_covariances"``, ``"lv_variances"``,
        ``"lv_covariances"``, ``"regressions"``. :func:`dtistat.invariance_test`
        fits the usual configural / metric / scalar sequence.
    group_partial : str or sequence of str
        With ``group``: parameters exempt from ``group_equal`` (partial invariance,
        lavaan's ``group.partial``), e.g. ``["x3 ~1", "visual =~ x2"]``.
    meanstructure : bool
        Add the means (lavaan's ``meanstructure``): free intercepts of the observed
        variables, factor means fixed at 0, unless the model's ``~ 1`` statements say
        otherwise (``x1 ~ 1``, ``x1 + x2 ~ 0.5*1``, ``visual ~ NA*1``, labels). A
        ``~ 1`` statement in the model implies it, as in lavaan.
    estimator : {"ML", "MLR"}
        ``"MLR"`` (lavaan's name): the ML estimates with Huber-White sandwich standard
        errors from the observed information, the Yuan-Bentler scaled chi2 (Mplus
        variant) with its scaling factor, and scaled and robust CFI, TLI and RMSEA in
        ``fit`` (``*_scaled``, ``*_robust``). As lavaan, no mean structure is added
        unless asked. With ``group`` the sandwich and the traces run over all groups.
        See docs/robust-cfa.md.

    Returns
    -------
    CFAResult, or MultiGroupCFAResult with ``group``

    Notes
    -----
    lavaan's defaults are followed: sample covariance with divisor N, free covariances
    among exogenous factors, expected-information standard errors, chi2 = N F_ML,
    RMSEA with N, SRMR as Bentler's, log-likelihood of the normal model (so AIC/BIC
    match lavaan). Observed exogenous covariates in ``~`` are treated as random
    (lavaan ``fixed.x = FALSE``): their (co)variances count as parameters. With a mean
    structure the means count as moments and enter SRMR (lavaan's ``srmr_bentler``).
    Composite reliability and AVE use the standardized loadings of each factor's
    observed indicators (ignoring residual covariances); Cronbach's alpha uses the sample
    covariances of those indicators.

    The optimization runs on the correlation scale (the covariance divided by the
    observed SDs, factors on their marker indicator's scale) and the estimates are
    transformed back exactly: raw data whose variances differ by orders of magnitude
    fit like standardized data (same chi2 and fit indices), so no warning about
    variance ratios is needed. Variances outside 1e-150 .. 1e150 are refused.

    With ``group`` the conventions are lavaan's for multiple groups: every group has
    its own intercepts; the first loading of each factor is 1 in every group; factor
    means are 0, except in the groups after the first when the intercepts are equal
    (and the means are not); chi2 is the sum of the groups' ``n_g F_g`` (covariances
    with divisor ``n_g``); RMSEA carries lavaan's factor sqrt(number of groups); the
    baseline model is the independence model in every group. Labels in the model are
    refused with ``group`` (use ``group_equal``).

    Raises
    ------
    SpecError
        Syntax errors, naming the line and what is wrong.
    ColumnError
        A variable that is neither a factor nor a column.
    EstimationError
        Negative degrees of freedom or an unidentified model (singular information).
    ConvergenceError
        The optimizer did not converge.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> res = fit_cfa(hs, '''visual =~ x1 + x2 + x3
    ...                      textual =~ x4 + x5 + x6
    ...                      speed =~ x7 + x8 + x9''')
    >>> f = res.fit
    >>> round(float(f["chi2"]), 3), int(f["df"]), round(float(f["cfi"]), 3)
    (85.306, 24, 0.931)
    >>> mg = fit_cfa(hs, '''visual =~ x1 + x2 + x3
    ...                     textual =~ x4 + x5 + x6
    ...                     speed =~ x7 + x8 + x9''', group="school",
    ...              group_equal=["loadings"])
    >>> round(float(mg.fit["chi2"]), 3), int(mg.fit["df"])
    (124.044, 54)
    >>> rob = fit_cfa(hs, '''visual =~ x1 + x2 + x3
    ...                      textual =~ x4 + x5 + x6
    ...                      speed =~ x7 + x8 + x9''', estimator="MLR")
    >>> round(float(rob.fit["chi2_scaled"]), 3), round(float(rob.fit["scaling_factor"]), 3)
    (87.132, 0.979)
    """
    from dtistat import _cfa

    if not isinstance(meanstructure, bool | np.bool_):
        raise ParameterError(f"meanstructure must be True or False; got {meanstructure!r}")
    if group is not None:
        from dtistat.invariance import fit_cfa_groups

        return fit_cfa_groups(data, model, group=group, group_equal=group_equal,
                              group_partial=group_partial, std_lv=std_lv, level=level,
                              estimator=_check_estimator(estimator))
    from dtistat.invariance import check_group_equal

    if check_group_equal(() if group_equal is None else group_equal) or group_partial:
        raise ParameterError(f"group_equal={group_equal!r} and group_partial="
                             f"{group_partial!r} need group=, the column defining the "
                             f"groups")
    check_frame(data)
    level = check_level(level)
    estimator = _check_estimator(estimator)
    stmts = _cfa.parse_model(model)
    if meanstructure or any(s.op == "~1" for s in stmts):
        from dtistat._cfa_means import fit_cfa_means

        return fit_cfa_means(data, model, stmts, std_lv=std_lv, level=level,
                             estimator=estimator)
    spec = _cfa.build_model(stmts, list(data.columns), std_lv=std_lv)
    obs = spec.observed
    X, _, scale = _numeric_block(data, obs, what="the CFA")
    n, p = X.shape
    _correlation(X, obs)  # names collinear indicators if the sample matrix is singular
    S = _sample_cov(X, scale, obs)
    q = spec.n_free
    _check_df(q, p)
    out = _cfa.fit_ml(spec, S)  # optimized on the correlation scale, returned on S's
    theta, tscale = out["theta"], out["theta_scale"]
    _check_information(out["info_scaled"], spec)
    Sig, _, total = out["ram"].implied(theta)
    fit = _fit_measures(S, Sig, out["fmin"], n, q)
    if estimator == "MLR":
        from dtistat import _cfa_robust

        V = _cfa_robust.mlr(_cfa_robust.CovOnly(out["scaled_ram"]), theta / tscale,
                            X * (scale / out["sd"]), fit, means=False)
    else:
        V = 2.0 / n * np.linalg.inv(out["info_scaled"])
    V = V * np.outer(tscale, tscale)
    se = np.sqrt(np.diag(V))
    A, Sm = out["ram"].matrices(theta)
    est_df = _parameter_table(spec, A, Sm, np.diag(total), se, level)
    heywood = _cfa_heywood(spec, Sm, est_df)
    reliability = _reliability(spec, obs, S, est_df)
    names = _free_names(spec)
    return CFAResult(
        estimates=est_df,
        fit=pd.Series(fit, name="fit"),
        reliability=reliability,
        implied_cov=pd.DataFrame(Sig, index=obs, columns=obs),
        sample_cov=pd.DataFrame(S, index=obs, columns=obs),
        vcov=pd.DataFrame(V, index=names, columns=names),
        model=model,
        nobs=n,
        n_iter=out["n_iter"],
        heywood=tuple(heywood),
        estimator=estimator,
    )
