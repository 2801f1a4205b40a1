"""The steps of Phillips-Sul club clustering: core group, sieve, recursion, merging.

Used by :func:`dtistat.index.disparity.convergence_clubs` (see its module for the method
and its references). Every step asks :class:`Tester` for the t statistics of all the
groups it considers at once (:mod:`dtistat.index.disparity._logt_batch`); the reported
statistics of a club use the direct ``H_t`` formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.index.disparity._logt_batch import cross_variation, group_H, log_t_rows

__all__ = ["STATS", "Tester", "cluster", "club_table", "merge"]

STATS = ("beta", "std_error", "t_value", "p_value")


class Tester:
    """Log t statistics of groups of rows of ``X`` (units x periods), batched."""

    def __init__(self, X: np.ndarray, time_trim: float, crit: float,
                 rounding: str = "half_even", hac: str = "fqsb") -> None:
        self.X, self.time_trim, self.crit = X, time_trim, crit
        self.rounding, self.hac = rounding, hac

    def _t(self, H: np.ndarray) -> np.ndarray:
        return log_t_rows(H, self.time_trim, self.rounding, self.hac)["t_value"]

    def stats(self, rows) -> dict[str, float]:
        """Reported statistics of one group, from the direct ``H_t`` formula."""
        r = log_t_rows(cross_variation(self.X[np.asarray(rows)])[None, :], self.time_trim,
                       self.rounding, self.hac)
        return {k: float(r[k][0]) for k in STATS}

    def t_groups(self, groups: list) -> np.ndarray:
        """t of a few arbitrary groups (lists of rows)."""
        H = np.vstack([cross_variation(self.X[np.asarray(g)]) for g in groups])
        return self._t(H)

    def t_prefixes(self, rows: np.ndarray) -> np.ndarray:
        """t of ``rows[:k]`` for k = 2..len(rows)."""
        c = self.X[rows[0]]
        D = self.X[rows] - c
        S1, S2 = np.cumsum(D, axis=0), np.cumsum(D * D, axis=0)
        k = np.arange(2, rows.size + 1)
        return self._t(group_H(S1[1:], S2[1:], k, c))

    def t_pairs(self, rows: np.ndarray) -> np.ndarray:
        """t of each adjacent pair ``(rows[i], rows[i + 1])``."""
        a, b = self.X[rows[:-1]], self.X[rows[1:]]
        H = ((a - b) / (a + b)) ** 2  # var / mean^2 of two values
        return self._t(H)

    def t_plus_one(self, group, extra: np.ndarray) -> np.ndarray:
        """t of ``group + [r]`` for every row ``r`` in ``extra``."""
        G = self.X[np.asarray(group)]
        c = G[0]
        D = G - c
        d = self.X[extra] - c
        S1 = D.sum(axis=0) + d
        S2 = (D * D).sum(axis=0) + d * d
        return self._t(group_H(S1, S2, len(group) + 1, c))


def _core_group(tt: Tester, rows: np.ndarray, rule: str) -> list[int] | None:
    """Positions (into ``rows``) of the core group, or None when no adjacent pair converges."""
    ok = np.flatnonzero(tt.t_pairs(rows) > tt.crit)
    if ok.size == 0:
        return None
    s = int(ok[0])
    tk = tt.t_prefixes(rows[s:])  # t of rows[s:s+k], k = 2..
    fail = np.flatnonzero(~(tk > tt.crit))
    tk = tk[: fail[0]] if fail.size else tk
    if rule == "max_t":  # Phillips & Sul (2007); ties to the larger group (Stata psecta)
        best = int(tk.size - 1 - np.argmax(tk[::-1]))
    elif rule == "max_abs_t":  # R ConvergenceClubs::coreG(type = "max")
        best = int(np.argmax(np.abs(tk)))
    else:  # the longest converging prefix: coreG(type = "all")
        best = tk.size - 1
    return list(range(s, s + best + 2))


def _sieve(tt: Tester, rows: np.ndarray, core: list[int], o: dict) -> tuple[list[int], float]:
    """Core plus the units whose t with the core exceeds c* (raised if asked)."""
    rest = np.setdiff1d(np.arange(rows.size), core)
    t = tt.t_plus_one(rows[core], rows[rest]) if rest.size else np.empty(0)
    cstar = o["cstar"]
    while True:
        members = core + rest[t > cstar].tolist()
        if o["cstar_method"] == "fixed" or tt.t_groups([rows[members]])[0] > tt.crit:
            return members, cstar
        cap = o["cstar_cap"]
        if cstar <= cap if o["convention"] == "r" else cstar < cap:  # R <=, Stata <
            cstar += o["cstar_increment"]  # repeated addition, as R
        else:
            return list(core), cstar


def cluster(tt: Tester, order: np.ndarray, o: dict) -> tuple[list, list, list]:
    """Initial clubs (lists of rows), their c*, and the divergent rows."""
    clubs, cstars, remaining = [], [], order
    while remaining.size:
        if remaining.size == 1:
            return clubs, cstars, remaining.tolist()
        if tt.t_groups([remaining])[0] > tt.crit:
            return clubs + [remaining.tolist()], cstars + [o["cstar"]], []
        core = _core_group(tt, remaining, o["core_rule"])
        if core is None:
            return clubs, cstars, remaining.tolist()
        members, cstar = _sieve(tt, remaining, core, o)
        clubs.append(remaining[members].tolist())
        cstars.append(cstar)
        remaining = np.delete(remaining, members)
    return clubs, cstars, []


# --------------------------------------------------------------------------- merging
def _merge_clubs(tt: Tester, clubs: list, names: list, method: str,
                 steps: list) -> tuple[list, list]:
    """One pass of Phillips-Sul (2009) / von Lyncker-Thoennissen (2017) merging.

    Returns the new clubs and, for each, the positions of the clubs it is made of.
    """
    n, out, groups, i = len(clubs), [], [], 0
    while i < n - 1:
        ids, src, append_last = list(clubs[i]), [i], False
        for k in range(i + 1, n):
            t = tt.t_groups([ids + clubs[k]])[0]
            step = {"rule": method, "clubs": "+".join(names[j] for j in src + [k]),
                    "t_value": t, "against": "", "t_against": np.nan}
            if t > tt.crit and method == "vlt" and k < n - 1:
                t2 = tt.t_groups([clubs[k] + clubs[k + 1]])[0]
                step.update(against=f"{names[k]}+{names[k + 1]}", t_against=t2)
                if not t > t2:
                    steps.append({**step, "merged": False})
                    break
            steps.append({**step, "merged": bool(t > tt.crit)})
            if not t > tt.crit:
                append_last = k == n - 1
                break
            ids += clubs[k]
            src.append(k)
        i = k
        out.append(ids)
        groups.append(src)
        if append_last:
            out.append(list(clubs[-1]))
            groups.append([n - 1])
    return out, groups


def _merge_divergent(tt: Tester, clubs: list, divergent: list, estar: float,
                     labels: list, entities: pd.Index, steps: list) -> list:
    """Add divergent units one at a time to the club where their t is largest (> e*)."""
    divergent = list(divergent)
    while divergent and clubs:
        t = np.vstack([tt.t_plus_one(c, np.asarray(divergent)) for c in clubs])
        flat = int(np.nanargmax(np.where(np.isnan(t), -np.inf, t).ravel(order="F")))
        ci, di = np.unravel_index(flat, t.shape, order="F")
        if not t[ci, di] > estar:
            break
        unit = divergent.pop(di)
        steps.append({"rule": "divergent", "clubs": f"{labels[ci]}+{entities[unit]}",
                      "t_value": float(t[ci, di]), "against": "", "t_against": np.nan,
                      "merged": True})
        clubs[ci] = clubs[ci] + [unit]
    return divergent


def club_table(tt: Tester, clubs: list, extra: dict) -> pd.DataFrame:
    rows = [{"n_units": len(c), **tt.stats(c)} for c in clubs]
    t = pd.DataFrame(rows, columns=["n_units", *STATS],
                     index=pd.Index([f"club{i + 1}" for i in range(len(clubs))], name="club"))
    t["converges"] = t["t_value"] > tt.crit
    for k, vals in extra.items():
        t[k] = vals
    return t


def _join_last(tt: Tester, clubs: list, divergent: list, origin: list, estar: float,
               steps: list) -> list:
    """All divergent units join the last club if they converge with it (Stata ``mdiv``)."""
    t = tt.t_groups([clubs[-1] + divergent])[0]
    steps.append({"rule": "divergent", "clubs": "+".join(origin[-1]) + "+divergent",
                  "t_value": t, "against": "", "t_against": np.nan, "merged": bool(t > estar)})
    if not t > estar:
        return divergent
    clubs[-1] = clubs[-1] + divergent
    origin[-1] = origin[-1] + ["divergent"]
    return []


def merge(tt: Tester, clubs: list, divergent: list, table: pd.DataFrame, o: dict,
           index: pd.Index, steps: list) -> tuple:
    """Club merging then divergent merging; returns clubs, divergent rows, the new table."""
    origin = [[nm] for nm in table.index]
    clubs, divergent, rule = [list(c) for c in clubs], list(divergent), o["merge_divergent"]
    while True:
        if o["merge"] is not None and len(clubs) > 1:
            new, groups = _merge_clubs(tt, clubs, ["+".join(s) for s in origin], o["merge"],
                                       steps)
        else:
            new, groups = clubs, [[i] for i in range(len(clubs))]
        origin = [[nm for j in g for nm in origin[j]] for g in groups]
        if rule == "last_club" and divergent and new:
            divergent = _join_last(tt, new, divergent, origin, o["estar"], steps)
        done = not o["merge_iterate"] or len(new) == len(clubs)
        clubs = new
        if done:
            break
    if rule == "pairwise":
        labels = [f"club{i + 1}" for i in range(len(clubs))]
        divergent = _merge_divergent(tt, clubs, divergent, o["estar"], labels, index, steps)
    table = club_table(tt, clubs, {"cstar": np.nan, "merged_from": ["+".join(s) for s in origin]})
    return clubs, divergent, table
