"""Phillips-Sul club convergence clustering: core group, sieve, club and divergent merging.

Phillips & Sul (2007, Econometrica 75:1771-1855; 2009, J. Applied Econometrics
24:1153-1185): sort the units by their last value; if the whole panel fails the log t test
(:func:`dtistat.index.disparity.log_t_test`), find the first adjacent pair that passes it
(t > -1.65), grow it while the test keeps passing and take as the core group the size with
the largest t (``core_rule``); add every other unit whose t with the core exceeds the
sieve value ``c*``; repeat on the units left over; a single unit, or units with no
converging pair, diverge. The clubs can then be merged: adjacent clubs join while the
merged group passes the test (Phillips & Sul 2009, ``merge="ps"``), optionally only when
that t beats the t of merging the next pair (von Lyncker & Thoennissen 2017, Empirical
Economics 52:525-553, ``merge="vlt"``); divergent units join the club with which they
have the largest t above ``e*`` (von Lyncker & Thoennissen 2017, ``merge_divergent``).

The steps follow R ``ConvergenceClubs`` 2.2.5 (Sichera & Pizzuto 2019, R Journal
11(2):142-151: ``findClubs``, ``mergeClubs``, ``mergeDivergent``) and its Python port
``convergence-clubs``, with which clubs and statistics agree in the tests; one departure,
shared with the Python port: when an incremental ``c*`` passes ``cstar_cap``, the club is
the core group and its reported statistics are the core's (R reports the last sieved
group's). Every log t regression of a step runs in one batch
(:mod:`dtistat.index.disparity._logt_batch`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import Result, Summary
from dtistat.errors import DataError, ParameterError
from dtistat.index.disparity import _clubs_steps as cs
from dtistat.index.disparity._data import as_panel, wide
from dtistat.index.disparity._logt_batch import cross_variation, trimmed_start

__all__ = ["ClubsResult", "convergence_clubs"]

CORE_RULES = ("max_abs_t", "max_t", "max_length")
#: defaults of R ConvergenceClubs 2.2.5 and of Stata psecta (Du 2017: kq(0.3), incr(0.05),
#: maxcr(50)); the conventions also differ in rounding [rT] and in whether c* may reach the cap
CONVENTIONS = {
    "r": {"time_trim": 1 / 3, "cstar_method": "fixed", "cstar_increment": 0.1,
          "cstar_cap": 3.0, "core_rule": "max_abs_t", "rounding": "half_even"},
    "stata": {"time_trim": 0.3, "cstar_method": "incremental", "cstar_increment": 0.05,
              "cstar_cap": 50.0, "core_rule": "max_t", "rounding": "half_up"},
}
MERGES = (None, "ps", "vlt")

# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False, repr=False)
class ClubsResult(Result):
    """Convergence clubs: per-club log t tests, memberships, divergent units, merge tests.

    Attributes
    ----------
    clubs : DataFrame
        One row per club (``club1`` ... in order of the sorted units): ``n_units``,
        ``beta``, ``std_error``, ``t_value``, ``p_value``, ``converges``, ``cstar`` (the
        sieve value the club was formed with; NaN for merged clubs) and ``merged_from``.
    memberships : Series
        Club label of every unit (``"divergent"`` for divergent ones), in data order.
    divergent : list
        The divergent units.
    overall : dict
        The log t test of the whole panel (``beta``, ``std_error``, ``t_value``,
        ``p_value``).
    initial_clubs, initial_memberships : DataFrame, Series or None
        The clubs before merging (``None`` without merging).
    data : DataFrame
        The panel the clubs were found on (units x periods; after ``log`` and the HP
        filter when asked).
    merge_steps : DataFrame
        Every merge test: ``rule`` (``ps``, ``vlt``, ``divergent``), the ``clubs`` tested
        together, their ``t_value``, for ``vlt`` the next pair (``against``,
        ``t_against``) and whether they ``merged``.
    """

    clubs: pd.DataFrame
    memberships: pd.Series
    divergent: list
    overall: dict
    initial_clubs: pd.DataFrame | None
    initial_memberships: pd.Series | None
    merge_steps: pd.DataFrame
    data: pd.DataFrame
    time_trim: float
    n_periods: int
    nobs: int
    settings: dict
    _kind = "ConvergenceClubs"

    @property
    def n_clubs(self) -> int:
        """Number of clubs."""
        return int(self.clubs.shape[0])

    def members(self, club: str) -> list:
        """Units of ``club`` (a label such as ``"club1"`` or ``"divergent"``)."""
        labels = set(self.memberships) | {"divergent"}
        if club not in labels:
            raise ParameterError(f"club={club!r} is not a club; choose one of "
                                 f"{sorted(labels)}")
        return self.memberships.index[self.memberships == club].tolist()

    def transition_paths(self, *, average: bool = True) -> pd.DataFrame:
        """Relative transition paths ``h_it = x_it / mean_i x_it`` (mean over all units).

        ``average=True``: periods x clubs, the mean path of each club's members (what
        club-convergence papers plot); ``average=False``: one row per club member
        (index ``club, unit``), periods in columns. Divergent units are left out.
        """
        h = self.data / self.data.mean(axis=0)
        lab = self.memberships
        keep = lab[lab != "divergent"]
        if not average:
            out = h.loc[keep.index]
            out.index = pd.MultiIndex.from_arrays([keep.to_numpy(), keep.index],
                                                  names=["club", h.index.name])
            return out.sort_index(level="club", sort_remaining=False, key=_club_order)
        means = h.loc[keep.index].groupby(keep.to_numpy(), sort=False).mean()
        return means.loc[list(self.clubs.index)].T.rename_axis(columns="club")

    def _headline(self) -> list[str]:
        return [f"clubs={self.n_clubs}", f"divergent={len(self.divergent)}",
                f"units={self.memberships.size}"]

    def to_frame(self) -> pd.DataFrame:
        return self.clubs.copy()

    def tidy(self) -> pd.DataFrame:
        """One row per club: ``term`` (club), ``estimate`` (b), ``std_error``,
        ``statistic`` (t), ``p_value`` and ``n_units``."""
        c = self.clubs
        return pd.DataFrame({"term": c.index, "estimate": c["beta"].to_numpy(),
                             "std_error": c["std_error"].to_numpy(),
                             "statistic": c["t_value"].to_numpy(),
                             "p_value": c["p_value"].to_numpy(),
                             "n_units": c["n_units"].to_numpy()})

    def summary(self) -> Summary:
        tables = {"Clubs (log t test of each club)": self.clubs}
        if self.initial_clubs is not None:
            tables["Clubs before merging"] = self.initial_clubs
        if len(self.merge_steps):
            tables["Merge tests"] = self.merge_steps
        s = self.settings
        o = self.overall
        return Summary(
            "Phillips-Sul club convergence", tables,
            header=[("Units", self.memberships.size), ("Periods", self.n_periods),
                    ("Periods in each log t regression", self.nobs),
                    ("time_trim", self.time_trim),
                    ("Whole panel: b", o["beta"]), ("Whole panel: t", o["t_value"]),
                    ("c*", f"{s['cstar']} ({s['cstar_method']})"),
                    ("Core group rule", s["core_rule"]),
                    ("Convention", s["convention"]),
                    ("Merging", (s["merge"] or "none")
                     + (" (iterated)" if s["merge_iterate"] else "")
                     + (f", divergent units: {s['merge_divergent']}"
                        if s["merge_divergent"] else "")),
                    ("Divergent units", len(self.divergent))],
            notes=["A club converges when t > -1.65 (H0: convergence, left-tail normal "
                   "p-value); b = 2 alpha, the speed of convergence."])

def _club_order(index: pd.Index) -> pd.Index:
    """Sort key of club labels: club2 before club10."""
    return pd.Index([int(str(c).removeprefix("club")) for c in index])


# --------------------------------------------------------------------------- public
def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _options(convention, time_trim, cstar, cstar_method, cstar_increment, cstar_cap,
             core_rule, merge, estar, hp_lambda) -> dict:
    v.check_choice(convention, tuple(CONVENTIONS), "convention")
    d = CONVENTIONS[convention]
    time_trim = d["time_trim"] if time_trim is None else time_trim
    cstar_method = d["cstar_method"] if cstar_method is None else cstar_method
    cstar_increment = d["cstar_increment"] if cstar_increment is None else cstar_increment
    cstar_cap = d["cstar_cap"] if cstar_cap is None else cstar_cap
    core_rule = d["core_rule"] if core_rule is None else core_rule
    if isinstance(time_trim, bool) or not isinstance(time_trim, numbers.Real) \
            or not 0 < time_trim < 1:
        raise ParameterError(f"time_trim must be in (0, 1), e.g. 1/3; got {time_trim!r}")
    v.check_choice(cstar_method, ("fixed", "incremental"), "cstar_method")
    v.check_choice(core_rule, CORE_RULES, "core_rule")
    v.check_choice(merge, MERGES, "merge")
    o = {"time_trim": float(time_trim), "cstar": _number(cstar, "cstar"),
         "cstar_method": cstar_method, "cstar_increment": _number(cstar_increment,
                                                                   "cstar_increment"),
         "cstar_cap": _number(cstar_cap, "cstar_cap"), "core_rule": core_rule,
         "merge": merge, "estar": _number(estar, "estar"), "hp_lambda": hp_lambda,
         "convention": convention, "rounding": d["rounding"]}
    if cstar_method == "incremental" and o["cstar_increment"] <= 0:
        raise ParameterError("cstar_increment must be > 0 with cstar_method='incremental'; "
                             f"got {cstar_increment!r}")
    if hp_lambda is not None and _number(hp_lambda, "hp_lambda") <= 0:
        raise ParameterError(f"hp_lambda must be > 0 (e.g. 400 for annual data) or None; "
                             f"got {hp_lambda!r}")
    return o


def hp_trend(X: np.ndarray, lamb: float) -> np.ndarray:
    """Hodrick-Prescott trend of every row of ``X``: solves ``(I + lamb D'D) tau = x``.

    One dense solve for all units (``T`` is small); equal to ``statsmodels``'
    ``hpfilter`` and R ``mFilter::hpfilter(type = "lambda")``.
    """
    T = X.shape[1]
    D = np.diff(np.eye(T), n=2, axis=0)
    return np.linalg.solve(np.eye(T) + lamb * (D.T @ D), X.T).T


def _prepare(data, value, entity, time, log, hp_lambda, o) -> pd.DataFrame:
    time_trim = o["time_trim"]
    p = as_panel(data, value=value, entity=entity, time=time, need_time=True)
    W = wide(p)
    X = W.to_numpy()
    T = X.shape[1]
    left = T - trimmed_start(T, time_trim, o["rounding"])
    if left < 5:
        raise DataError(f"{T} periods with time_trim={time_trim:.4g} leave {left} for the "
                        "log t regression; need 5 (use more periods or a smaller time_trim)")
    if log:
        if (X <= 0).any():
            r, c = np.argwhere(X <= 0)[0]
            raise DataError(f"log=True needs strictly positive values of {p.value!r}; "
                            f"{p.entity}={W.index[r]!r}, period {W.columns[c]!r} holds "
                            f"{X[r, c]!r}")
        X = np.log(X)
    if hp_lambda is not None:
        if T < 3:
            raise DataError(f"the HP filter needs at least 3 periods; got {T}")
        X = hp_trend(X, float(hp_lambda))
    if W.shape[0] < 2:
        raise DataError(f"club clustering needs at least 2 units ({p.entity}); got "
                        f"{W.shape[0]}")
    return pd.DataFrame(X, index=W.index, columns=W.columns)


def _sort_key(W: pd.DataFrame, sort_period: Any, sort_fraction: Any) -> np.ndarray:
    """Values ordering the units: a period (default the last) or a mean of the last ones."""
    if sort_fraction is not None:
        if sort_period is not None:
            raise ParameterError("give sort_period= or sort_fraction=, not both")
        f = _number(sort_fraction, "sort_fraction")
        if not 0 < f <= 1:
            raise ParameterError(f"sort_fraction must be in (0, 1], e.g. 0.1; got {f!r}")
        T = W.shape[1]
        return W.to_numpy()[:, -max(1, T - int((1 - f) * T)):].mean(axis=1)
    if sort_period is None:
        return W.iloc[:, -1].to_numpy()
    if sort_period in W.columns:
        return W[sort_period].to_numpy()
    raise ParameterError(f"sort_period={sort_period!r} is not a period of the panel "
                         f"({W.columns[0]!r} ... {W.columns[-1]!r})")

def _labels(clubs: list, n: int, index: pd.Index) -> pd.Series:
    lab = np.full(n, "divergent", dtype=object)
    for i, c in enumerate(clubs):
        lab[c] = f"club{i + 1}"
    return pd.Series(lab, index=index, name="club")

def convergence_clubs(data: Any, *, value: str | None = None, entity: str | None = None,
                      time: str | None = None, time_trim: float | None = None,
                      log: bool = False, hp_lambda: float | None = None,
                      cstar: float = 0.0, cstar_method: str | None = None,
                      cstar_increment: float | None = None, cstar_cap: float | None = None,
                      core_rule: str | None = None, merge: str | None = None,
                      merge_iterate: bool = False, merge_divergent: bool | str = False,
                      estar: float = -1.65, sort_period: Any = None,
                      sort_fraction: float | None = None, hac: str = "fqsb",
                      convention: str = "r") -> ClubsResult:
    """Phillips-Sul (2007, 2009) club convergence clustering, with club merging.

    Parameters
    ----------
    data : IndexResult or DataFrame
        A balanced long panel (``value=``, ``entity=``, ``time=``): usually the log of
        per-capita income (or an index), HP-filtered; ``log=`` and ``hp_lambda=`` do
        both here.
    time_trim : float, optional
        Share ``r`` of initial periods left out of every log t regression (0 < r < 1);
        default 1/3 (R) or 0.3 (Stata).
    log : bool
        Take logs first (values must be strictly positive).
    hp_lambda : float, optional
        Replace each unit's series by its Hodrick-Prescott trend with this smoothing
        parameter (400 for annual data in Phillips & Sul 2009); None = no filter.
    cstar : float
        Sieve value c*: a unit joins the core group when its t with the core exceeds c*.
    cstar_method : {"fixed", "incremental"}, optional
        ``"incremental"`` raises c* by ``cstar_increment`` until the club passes the
        log t test; beyond ``cstar_cap`` the club is its core group. Defaults: fixed,
        0.1, 3 (R); incremental, 0.05, 50 (Stata, Phillips & Sul 2007's procedure).
    core_rule : {"max_abs_t", "max_t", "max_length"}, optional
        Core-group size among the converging prefixes: largest ``|t|`` (R
        ``ConvergenceClubs``, the R default), largest ``t`` (Phillips & Sul 2007, Stata
        ``psecta``, the Stata default) or the longest one.
    merge : {None, "ps", "vlt"}
        Merge adjacent clubs: Phillips & Sul (2009) or von Lyncker & Thoennissen (2017).
    merge_iterate : bool
        Repeat the merging pass until no clubs merge, leaving the fewest clubs (Stata
        ``imergeclub``'s ``imore``; the iterated merging the psecta documentation ties to
        Schnurbus, Haupt & Meier 2017); one pass by default (R).
    merge_divergent : bool or {"pairwise", "last_club"}
        Then let divergent units join clubs: ``True``/``"pairwise"`` adds them one at a
        time to the club with the largest t above ``estar`` (von Lyncker & Thoennissen
        2017, R); ``"last_club"`` adds all of them to the last club, after each merging
        pass, when they converge with it (Stata ``imergeclub``'s ``mdiv``).
    sort_period : optional
        Period whose values order the units (descending); default the last.
    sort_fraction : float, optional
        Order the units by their mean over the last ``T - int((1 - f) T)`` periods
        instead (Stata ``psecta``'s ``fr(f)``), 0 < f <= 1.
    hac : {"fqsb", "aqsb"}
        Long-run variance of the log t regressions: Phillips & Sul's fixed-bandwidth QS
        (R ``HACmethod="FQSB"``, Stata) or R's adaptive one, ``sandwich::vcovHAC``
        (``"AQSB"``).
    convention : {"r", "stata"}
        Reproduce R ``ConvergenceClubs`` (Sichera & Pizzuto 2019) or Stata ``psecta``
        (Du 2017): the defaults above, ``[rT]`` rounded half to even (R) or half up
        (Stata), and whether c* may still be raised at ``cstar_cap`` (R) or not (Stata).
        Explicit arguments override the defaults.

    Returns
    -------
    ClubsResult

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(1, 31)
    >>> level = np.repeat([9.0, 8.0], 10)[:, None]          # two clubs of 10 units
    >>> x = level + rng.normal(0, 0.5, (20, 1)) / t + rng.normal(0, 0.002, (20, 30))
    >>> df = pd.DataFrame({"e": np.repeat(range(20), 30), "t": np.tile(t, 20),
    ...                    "x": x.ravel()})
    >>> r = convergence_clubs(df, value="x", entity="e", time="t")
    >>> r.clubs["n_units"].tolist()
    [10, 10]
    """
    o = _options(convention, time_trim, cstar, cstar_method, cstar_increment, cstar_cap,
                 core_rule, merge, estar, hp_lambda)
    if not isinstance(log, bool) or not isinstance(merge_iterate, bool):
        raise ParameterError("log= and merge_iterate= must be True or False")
    o["merge_iterate"] = merge_iterate
    if not isinstance(merge_divergent, bool | str):
        raise ParameterError("merge_divergent= must be True, False, 'pairwise' or "
                             f"'last_club'; got {merge_divergent!r}")
    v.check_choice(merge_divergent, (False, True, "pairwise", "last_club"), "merge_divergent")
    o["merge_divergent"] = {False: None, True: "pairwise"}.get(merge_divergent,
                                                               merge_divergent)
    W = _prepare(data, value, entity, time, log, hp_lambda, o)
    key = _sort_key(W, sort_period, sort_fraction)
    X = W.to_numpy()
    v.check_choice(hac, ("fqsb", "aqsb"), "hac")
    o["hac"] = hac
    tt = cs.Tester(X, o["time_trim"], -1.65, o["rounding"], hac)
    H = cross_variation(X)
    if not np.all(np.isfinite(H)) or np.any(H <= 0):
        raise DataError("the cross-sectional variation H_t is zero or undefined in some "
                        "period (all units equal, or a zero mean): the log t test is "
                        "undefined")
    clubs, cstars, divergent = cs.cluster(tt, np.argsort(-key, kind="stable"), o)
    table = cs.club_table(tt, clubs, {"cstar": cstars, "merged_from": ""})
    n = X.shape[0]
    initial, initial_labels, steps = None, None, []
    if merge is not None or o["merge_divergent"]:
        initial, initial_labels = table, _labels(clubs, n, W.index)
        clubs, divergent, table = cs.merge(tt, clubs, divergent, table, o, W.index, steps)
    return ClubsResult(
        clubs=table, memberships=_labels(clubs, n, W.index),
        divergent=W.index[divergent].tolist(),
        overall=tt.stats(np.arange(n)),
        initial_clubs=initial, initial_memberships=initial_labels,
        data=W,
        merge_steps=pd.DataFrame(steps, columns=["rule", "clubs", "t_value", "against",
                                                 "t_against", "merged"]),
        time_trim=o["time_trim"], n_periods=X.shape[1],
        nobs=X.shape[1] - trimmed_start(X.shape[1], o["time_trim"], o["rounding"]),
        settings={k: o[k] for k in ("cstar", "cstar_method", "cstar_increment", "cstar_cap",
                                    "core_rule", "merge", "estar", "hp_lambda",
                                    "convention", "merge_iterate", "merge_divergent",
                                    "hac")}
        | {"log": log, "sort_period": sort_period, "sort_fraction": sort_fraction})
