"""Classical and spatial Markov chains of class transitions, with Bickenbach-Bode tests.

Units are put in ``k`` classes per period (quantiles of each period -- ``pooled=False``
-- or of all periods pooled -- ``pooled=True``, PySAL's ``fixed=True`` -- or fixed
``cutoffs``); transitions ``t -> t + 1`` are counted and row-normalized (maximum
likelihood, Anderson & Goodman 1957). Quantile cut-offs follow PySAL ``mapclassify``:
linearly interpolated percentiles ``100 j / k``, a value equal to a cut-off goes to the
lower class. The spatial Markov chain (Rey 2001, Geographical Analysis 33:59-74)
conditions each transition on the class of the unit's spatial lag ``W y`` in the
starting period. Homogeneity of the conditional matrices is tested with the likelihood
ratio and Pearson Q statistics of Bickenbach & Bode (2003, International Regional
Science Review 26:363-392) with their degrees of freedom ``sum_i (b_i - 1)(a_i - 1)``.

Steady state and mean first passage times (Kemeny & Snell 1976, *Finite Markov
Chains*, ch. 4) are defined for irreducible chains; a reducible chain raises
:class:`~dtistat.errors.EstimationError` naming its closed classes. Counting is one
``bincount`` over all units and periods: ``O(n T)`` after classification.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components

from dtistat import _validate as v
from dtistat._results import Result, Summary, TestResult
from dtistat.errors import DataError, EstimationError, ParameterError, PeriodError
from dtistat.index.disparity._data import as_panel, wide

__all__ = ["HomogeneityResult", "MarkovResult", "SpatialMarkovResult", "homogeneity",
           "markov", "mean_first_passage", "spatial_markov", "steady_state"]


# ---------------------------------------------------------------- classification
def _quantile_bins(y: np.ndarray, k: int) -> np.ndarray:
    pct = np.arange(1, k + 1) * (100.0 / k)
    pct[-1] = min(pct[-1], 100.0)
    return np.unique(np.percentile(y, pct))


def _classify(Y: np.ndarray, k: int, pooled: bool, cutoffs, periods, what: str):
    """Class ids (n x T) and the cut-offs used (None when per period)."""
    if cutoffs is not None:
        c = np.asarray(cutoffs, dtype=float).ravel()
        if c.size == 0 or np.any(np.diff(c) <= 0) or not np.all(np.isfinite(c)):
            raise ParameterError(f"{what} cutoffs must be finite and strictly increasing; "
                                 f"got {list(c)}")
        return np.searchsorted(c, Y, side="left"), c, c.size + 1
    if pooled:
        bins = _quantile_bins(Y.ravel(), k)
        if bins.size < k:
            raise DataError(f"{what}: only {bins.size} distinct quantile cut-offs for k={k} "
                            "classes (too many ties); choose a smaller k or fixed cutoffs")
        return np.searchsorted(bins[:-1], Y, side="left"), bins[:-1], k
    ids = np.empty(Y.shape, dtype=np.int64)
    for t in range(Y.shape[1]):
        bins = _quantile_bins(Y[:, t], k)
        if bins.size < k:
            raise PeriodError(f"{what}: period {periods[t]!r} yields only {bins.size} distinct "
                              f"quantile cut-offs for k={k} classes (ties); choose a smaller k")
        ids[:, t] = np.searchsorted(bins[:-1], Y[:, t], side="left")
    return ids, None, k


def _counts(ids: np.ndarray, k: int, cond: np.ndarray | None = None, m: int = 1) -> np.ndarray:
    a, b = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    key = a * k + b if cond is None else (cond[:, :-1].ravel() * k + a) * k + b
    return np.bincount(key, minlength=m * k * k).reshape((m, k, k)).astype(float)


def _probs(T: np.ndarray) -> np.ndarray:
    rs = T.sum(axis=-1, keepdims=True)
    return T / np.where(rs == 0, 1.0, rs)


# ---------------------------------------------------------------- ergodic quantities
def _irreducible(P: np.ndarray) -> None:
    n, lab = connected_components(sparse.csr_matrix(P > 0), directed=True, connection="strong")
    if n > 1:
        groups = [list(np.flatnonzero(lab == c)) for c in range(n)]
        raise EstimationError(
            f"the chain is reducible (communicating classes {groups}); its steady state and "
            "mean first passage times are not unique -- use fewer classes or more periods")


def steady_state(P: np.ndarray) -> np.ndarray:
    """Stationary distribution ``pi = pi P`` of an irreducible transition matrix.

    Examples
    --------
    >>> steady_state(np.array([[.5, .25, .25], [.5, 0, .5], [.25, .25, .5]])).round(3)
    array([0.4, 0.2, 0.4])
    """
    P = np.asarray(P, dtype=float)
    _irreducible(P)
    k = P.shape[0]
    A = P.T - np.eye(k)
    A[-1] = 1.0
    b = np.zeros(k)
    b[-1] = 1.0
    return np.linalg.solve(A, b)


def mean_first_passage(P: np.ndarray) -> np.ndarray:
    """Mean first passage times ``M[i, j]`` (recurrence times on the diagonal).

    Kemeny & Snell's fundamental matrix ``Z = (I - P + 1 pi')^{-1}``,
    ``M = (I - Z + E diag(Z)) diag(1 / pi)``.

    Examples
    --------
    >>> mean_first_passage(np.array([[.5, .25, .25], [.5, 0, .5], [.25, .25, .5]])).round(3)
    array([[2.5  , 4.   , 3.333],
           [2.667, 5.   , 2.667],
           [3.333, 4.   , 2.5  ]])
    """
    P = np.asarray(P, dtype=float)
    pi = steady_state(P)
    k = P.shape[0]
    Z = np.linalg.inv(np.eye(k) - P + np.outer(np.ones(k), pi))
    return (np.eye(k) - Z + np.ones((k, k)) @ np.diag(np.diag(Z))) @ np.diag(1.0 / pi)


# ---------------------------------------------------------------- homogeneity
@dataclass(frozen=True, eq=False, repr=False)
class HomogeneityResult(Result):
    """Bickenbach-Bode homogeneity tests of several transition-count matrices."""

    lr: TestResult
    q: TestResult
    dof: int
    regimes: tuple
    _kind = "MarkovHomogeneity"

    def _headline(self) -> list[str]:
        return [f"LR={self.lr.statistic:.3f}", f"Q={self.q.statistic:.3f}", f"dof={self.dof}",
                f"p(LR)={self.lr.p_value:.3g}"]

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([self.lr.to_frame(), self.q.to_frame()], ignore_index=True)

    def summary(self) -> Summary:
        return Summary("Markov homogeneity (Bickenbach & Bode 2003)",
                       self.to_frame().set_index("test"),
                       header=[("Regimes", len(self.regimes))],
                       notes=[self.lr.null])


def homogeneity(counts: np.ndarray, regimes: Any = None) -> HomogeneityResult:
    """LR and Q tests that ``m`` regimes share one transition matrix.

    ``counts`` is ``m x k x k`` (regime, from, to). Degrees of freedom
    ``sum_i (b_i - 1)(a_i - 1)``: ``b_i`` regimes observed in row ``i``, ``a_i``
    non-zero entries of the pooled row ``i``.

    Examples
    --------
    >>> a = np.array([[8.0, 2], [2, 8]])
    >>> h = homogeneity(np.stack([a, a]))
    >>> round(h.lr.statistic, 12), h.dof
    (0.0, 2)
    """
    M = np.asarray(counts, dtype=float)
    if M.ndim != 3 or M.shape[1] != M.shape[2]:
        raise ParameterError(f"counts must be regimes x k x k; got shape {M.shape}")
    T = M.sum(axis=0)
    p0 = _probs(T)
    pm = _probs(M)
    nim = M.sum(axis=2)  # m x k
    den = np.where(p0 == 0, 1.0, p0)
    Q = float((nim[:, :, None] * (pm - p0) ** 2 / den).sum())
    mask = (M > 0) & (p0 > 0)
    LR = 2.0 * float((M * np.log(np.where(mask, pm, 1.0) / np.where(mask, p0, 1.0))).sum())
    b = (nim > 0).sum(axis=0)
    a = (T > 0).sum(axis=1)
    dof = int(((b - 1) * (a - 1)).sum())
    null = "the transition probabilities are equal across regimes"
    names = tuple(range(M.shape[0])) if regimes is None else tuple(regimes)
    pval = (lambda s: float(stats.chi2.sf(s, dof))) if dof > 0 else (lambda s: float("nan"))
    return HomogeneityResult(
        lr=TestResult("LR", LR, pval(LR), (dof,), "chi2", null),
        q=TestResult("Q", Q, pval(Q), (dof,), "chi2", null), dof=dof, regimes=names)


# ---------------------------------------------------------------- classical chain
def _matrix_frame(a: np.ndarray, labels) -> pd.DataFrame:
    return pd.DataFrame(a, index=pd.Index(labels, name="from"),
                        columns=pd.Index(labels, name="to"))


@dataclass(frozen=True, eq=False, repr=False)
class MarkovResult(Result):
    """A classical Markov chain of classes.

    Attributes
    ----------
    counts, probabilities : DataFrame
        ``k x k`` transitions (from rows to columns) and their row shares.
    classes : DataFrame
        Entity x period class ids (0 = lowest).
    cutoffs : ndarray or None
        Upper bounds of classes ``0..k-2`` (None: per-period quantiles).
    scheme : str
        How classes were formed.
    """

    counts: pd.DataFrame
    probabilities: pd.DataFrame
    classes: pd.DataFrame
    cutoffs: np.ndarray | None
    scheme: str
    value: str
    _kind = "Markov"

    @property
    def steady_state(self) -> pd.Series:
        """Long-run class shares (raises for a reducible chain)."""
        return pd.Series(steady_state(self.probabilities.to_numpy()),
                         index=self.probabilities.index, name="steady_state")

    @property
    def mfpt(self) -> pd.DataFrame:
        """Mean first passage times (periods), recurrence times on the diagonal."""
        return _matrix_frame(mean_first_passage(self.probabilities.to_numpy()),
                             self.probabilities.index)

    def time_homogeneity(self, breaks: Any) -> HomogeneityResult:
        """Bickenbach-Bode test that the chain is the same before and after ``breaks``.

        ``breaks`` are periods (column labels of :attr:`classes`): a transition
        ``t -> t + 1`` belongs to the regime of its starting period ``t``, and a new
        regime starts at each break.

        Examples
        --------
        >>> import pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"e": np.tile(np.arange(30), 6), "t": np.repeat(np.arange(6), 30),
        ...                    "y": rng.normal(size=180)})
        >>> m = markov(df, value="y", entity="e", time="t", k=3)
        >>> m.time_homogeneity([3]).regimes
        ('0-2', '3-4')
        """
        per = list(self.classes.columns)
        names = [str(q) for q in per]
        cuts = []
        for b in v.as_list(breaks, "breaks"):
            # a break matches a period label or its text ("2022Q1" for a quarterly Period)
            j = per.index(b) if b in per else (names.index(str(b)) if str(b) in names else -1)
            if not 0 < j < len(per) - 1:
                raise PeriodError(f"break {b!r} must be one of the inner periods "
                                  f"{', '.join(names[1:-1])}")
            cuts.append(j)
        cuts = sorted(set(cuts))
        ids = self.classes.to_numpy()
        k = self.counts.shape[0]
        regime = np.searchsorted(np.array(cuts), np.arange(len(per) - 1), side="right")
        cond = np.broadcast_to(np.r_[regime, 0], ids.shape)
        T = _counts(ids, k, cond, len(cuts) + 1)
        edges = [0, *cuts, len(per) - 1]
        regimes = [f"{per[a]}-{per[b - 1]}" for a, b in itertools.pairwise(edges)]
        return homogeneity(T, regimes=regimes)

    def _headline(self) -> list[str]:
        return [self.value, f"k={self.counts.shape[0]}", self.scheme,
                f"transitions={int(self.counts.to_numpy().sum())}"]

    def to_frame(self) -> pd.DataFrame:
        return self.probabilities.copy()

    def summary(self) -> Summary:
        tabs = {"Transition probabilities": self.probabilities, "Counts": self.counts}
        notes = []
        try:
            tabs["Steady state"] = self.steady_state.to_frame().T
        except EstimationError as e:
            notes.append(str(e))
        return Summary(f"Markov chain of {self.value} classes", tabs,
                       header=[("Classes", self.counts.shape[0]), ("Scheme", self.scheme)],
                       notes=notes)


def _class_input(data, value, entity, time, k):
    k = v.check_positive_int(k, "k", minimum=2)
    p = as_panel(data, value=value, entity=entity, time=time, need_time=True)
    W = wide(p)
    if W.shape[1] < 2:
        raise PeriodError("a Markov chain needs at least two periods")
    if W.shape[0] < k:
        raise PeriodError(f"each period has {W.shape[0]} unit(s), fewer than k={k} classes")
    return p, W


def _scheme(cutoffs, pooled, k):
    if cutoffs is not None:
        return "fixed cut-offs"
    return f"{k} quantile classes " + ("of all periods pooled" if pooled else "per period")


def markov(data: Any, *, value: str | None = None, entity: str | None = None,
           time: str | None = None, k: int = 5, pooled: bool = False,
           cutoffs: Any = None) -> MarkovResult:
    """Classical Markov chain of quantile (or fixed) classes.

    Parameters
    ----------
    data : IndexResult or DataFrame
        A balanced long panel (every entity in every period).
    k : int
        Number of quantile classes (ignored with ``cutoffs``).
    pooled : bool
        Quantiles of all periods pooled (PySAL ``fixed=True``) instead of per period.
    cutoffs : sequence of float, optional
        Fixed upper bounds of the first ``k - 1`` classes.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"e": [1, 2, 3, 4] * 3, "t": [0] * 4 + [1] * 4 + [2] * 4,
    ...                    "y": [1, 2, 3, 4, 2, 1, 3, 4, 2, 1, 4, 3.0]})
    >>> markov(df, value="y", entity="e", time="t", k=2).counts.to_numpy().tolist()
    [[4.0, 0.0], [0.0, 4.0]]
    """
    p, W = _class_input(data, value, entity, time, k)
    ids, cuts, kk = _classify(W.to_numpy(), k, pooled, cutoffs, list(W.columns), "markov")
    T = _counts(ids, kk)[0]
    labels = list(range(kk))
    return MarkovResult(counts=_matrix_frame(T, labels),
                        probabilities=_matrix_frame(_probs(T), labels),
                        classes=pd.DataFrame(ids, index=W.index, columns=W.columns),
                        cutoffs=cuts, scheme=_scheme(cutoffs, pooled, kk), value=p.value)


# ---------------------------------------------------------------- spatial chain
def _weights_matrix(w: Any, entities: list, transform: str | None):
    from dtistat.spatial.weights import SpatialWeights

    n = len(entities)
    if isinstance(w, SpatialWeights):  # matched by its ids, as in the spatial models
        M = w.reorder(entities).sparse
    elif hasattr(w, "sparse") and hasattr(w, "id_order"):  # a libpysal W
        M = sparse.csr_matrix(w.sparse)
        ids = [str(i) for i in w.id_order]
        if set(ids) == {str(e) for e in entities}:
            pos = {i: j for j, i in enumerate(ids)}
            o = [pos[str(e)] for e in entities]
            M = M[o][:, o]
    elif isinstance(w, pd.DataFrame):
        miss = [e for e in entities if e not in w.index or e not in w.columns]
        if miss:
            raise DataError(f"the weights frame has no row/column for entity {miss[0]!r}")
        M = sparse.csr_matrix(w.loc[entities, entities].to_numpy(dtype=float))
    elif sparse.issparse(w):
        M = sparse.csr_matrix(w, dtype=float)
    else:
        try:
            M = sparse.csr_matrix(np.asarray(w, dtype=float))
        except (TypeError, ValueError):
            raise ParameterError("w must be a SpatialWeights, a scipy sparse matrix, a dense "
                                 "array, a labelled DataFrame or a libpysal W") from None
    if M.shape != (n, n):
        raise DataError(f"the weights matrix is {M.shape[0]} x {M.shape[1]} but the data "
                        f"have {n} entities (rows follow the entities' order of appearance)")
    if not np.all(np.isfinite(M.data)) or (M.data < 0).any():
        raise DataError("spatial weights must be finite and non-negative")
    if transform == "r":
        rs = np.asarray(M.sum(axis=1)).ravel()
        if (rs == 0).any():
            v.warn(f"entity {entities[int(np.flatnonzero(rs == 0)[0])]!r} has no neighbours "
                   f"({int((rs == 0).sum())} in all); its spatial lag is 0")
        M = sparse.diags(1.0 / np.where(rs == 0, 1.0, rs)) @ M
    elif transform is not None:
        raise ParameterError(f"transform={transform!r} is not valid; use 'r' or None")
    return sparse.csr_matrix(M)


@dataclass(frozen=True, eq=False, repr=False)
class SpatialMarkovResult(Result):
    """Spatial Markov chain: transitions conditioned on the spatial lag's class.

    Attributes
    ----------
    counts, probabilities : ndarray
        ``m x k x k`` (lag class, from, to).
    pooled_counts, pooled_probabilities : DataFrame
        The unconditional ``k x k`` chain.
    classes, lag_classes : DataFrame
        Entity x period class ids of the values and of their spatial lags.
    cutoffs, lag_cutoffs : ndarray or None
    homogeneity : HomogeneityResult
        LR and Q tests that the ``m`` conditional matrices are equal.
    """

    counts: np.ndarray
    probabilities: np.ndarray
    pooled_counts: pd.DataFrame
    pooled_probabilities: pd.DataFrame
    classes: pd.DataFrame
    lag_classes: pd.DataFrame
    cutoffs: np.ndarray | None
    lag_cutoffs: np.ndarray | None
    homogeneity: HomogeneityResult
    scheme: str
    value: str
    _kind = "SpatialMarkov"

    @property
    def steady_states(self) -> pd.DataFrame:
        """Lag class -> long-run class shares of the conditional chain."""
        S = [steady_state(P) for P in self.probabilities]
        return pd.DataFrame(S, index=pd.Index(range(len(S)), name="lag_class"),
                            columns=pd.Index(range(self.counts.shape[1]), name="class"))

    def _lag(self, lag_class: Any) -> int:
        m = self.counts.shape[0]
        if (isinstance(lag_class, bool) or not isinstance(lag_class, (int, np.integer))
                or not 0 <= lag_class < m):
            raise ParameterError(f"lag_class must be an integer in 0..{m - 1}, got "
                                 f"{lag_class!r}")
        return int(lag_class)

    def mfpt(self, lag_class: int) -> pd.DataFrame:
        """Mean first passage times of the chain conditioned on ``lag_class``."""
        return _matrix_frame(mean_first_passage(self.probabilities[self._lag(lag_class)]),
                             list(range(self.counts.shape[1])))

    def conditional(self, lag_class: int) -> pd.DataFrame:
        """The transition probabilities given the lag's class."""
        return _matrix_frame(self.probabilities[self._lag(lag_class)],
                             list(range(self.counts.shape[1])))

    def to_frame(self) -> pd.DataFrame:
        """Long table: lag_class, from, to, count, probability."""
        m, k, _ = self.counts.shape
        g = np.indices((m, k, k)).reshape(3, -1)
        return pd.DataFrame({"lag_class": g[0], "from": g[1], "to": g[2],
                             "count": self.counts.ravel(),
                             "probability": self.probabilities.ravel()})

    def _headline(self) -> list[str]:
        m, k, _ = self.counts.shape
        h = self.homogeneity
        return [self.value, f"k={k}", f"m={m}", f"LR={h.lr.statistic:.3f}",
                f"Q={h.q.statistic:.3f}", f"dof={h.dof}"]

    def summary(self) -> Summary:
        tabs = {"Homogeneity": self.homogeneity.to_frame().set_index("test")}
        for j in range(self.counts.shape[0]):
            tabs[f"P | lag class {j}"] = self.conditional(j)
        return Summary(f"Spatial Markov chain of {self.value} classes", tabs,
                       header=[("Scheme", self.scheme)])


def spatial_markov(data: Any, w: Any, *, value: str | None = None, entity: str | None = None,
                   time: str | None = None, k: int = 4, m: int = 4, pooled: bool = True,
                   cutoffs: Any = None, lag_cutoffs: Any = None,
                   transform: str | None = "r") -> SpatialMarkovResult:
    """Spatial Markov chain (Rey 2001) with Bickenbach-Bode homogeneity tests.

    Parameters
    ----------
    data : IndexResult or DataFrame
        A balanced long panel.
    w : SpatialWeights, scipy sparse matrix, ndarray, DataFrame or libpysal W
        Spatial weights; rows and columns follow the entities' order of first appearance
        in the data (a SpatialWeights or DataFrame is matched by labels; a libpysal W by
        ``id_order`` when its ids are the entity labels).
    k, m : int
        Classes of the values and of their spatial lags.
    pooled : bool
        Quantiles of all periods pooled (PySAL ``fixed=True``, default) or per period.
    cutoffs, lag_cutoffs : sequence of float, optional
        Fixed class bounds instead of quantiles.
    transform : {"r", None}
        Row-standardize ``w`` (default) or use it as given.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"e": np.tile(np.arange(6), 5), "t": np.repeat(np.arange(5), 6),
    ...                    "y": rng.uniform(size=30)})
    >>> ring = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)
    >>> r = spatial_markov(df, ring, value="y", entity="e", time="t", k=2, m=2)
    >>> int(r.counts.sum())
    24
    """
    p, W = _class_input(data, value, entity, time, k)
    v.check_positive_int(m, "m", minimum=2)
    Y = W.to_numpy()
    Wm = _weights_matrix(w, list(W.index), transform)
    L = np.asarray(Wm @ Y)
    per = list(W.columns)
    ids, cuts, kk = _classify(Y, k, pooled, cutoffs, per, "spatial_markov")
    lids, lcuts, mm = _classify(L, m, pooled, lag_cutoffs, per, "spatial_markov (lag)")
    T = _counts(ids, kk, lids, mm)
    T0 = _counts(ids, kk)[0]
    labels = list(range(kk))
    return SpatialMarkovResult(
        counts=T, probabilities=_probs(T), pooled_counts=_matrix_frame(T0, labels),
        pooled_probabilities=_matrix_frame(_probs(T0), labels),
        classes=pd.DataFrame(ids, index=W.index, columns=W.columns),
        lag_classes=pd.DataFrame(lids, index=W.index, columns=W.columns),
        cutoffs=cuts, lag_cutoffs=lcuts, homogeneity=homogeneity(T, regimes=range(mm)),
        scheme=_scheme(cutoffs, pooled, kk), value=p.value)
