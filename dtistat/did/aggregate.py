"""Aggregations of ATT(g,t): simple, dynamic (event time), group, calendar; influence functions.

Each aggregate is a weighted average of ATT(g,t) cells with weights proportional to the
cohort shares P(G = g); its influence function is the same average of the cells'
influence functions plus the term for the estimated weights, exactly as R
``did::aggte`` (Callaway and Sant'Anna 2021, section 3.1.1; ``get_agg_inf_func`` and
``wif``). All aggregates of a fit are columns of one matrix so that one multiplier
bootstrap serves them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtistat.did.cs import GroupTime

__all__ = ["AGGREGATIONS", "Aggregate", "aggregate_all"]

AGGREGATIONS = ("simple", "dynamic", "group", "calendar")


@dataclass(frozen=True, eq=False)
class Aggregate:
    """One aggregation: ``att[j]`` at ``keys[j]`` (event time, cohort or period), the
    overall average ``overall`` and the influence functions (n, J) and (n,)."""

    kind: str
    keys: np.ndarray
    att: np.ndarray
    inf: np.ndarray
    overall: float
    overall_inf: np.ndarray


def _wif(cells: np.ndarray, pg: np.ndarray, unit_g: np.ndarray, cell_g: np.ndarray,
         w: np.ndarray):
    """Influence function of the weights pg[cells] / sum(pg[cells]) (R ``did:::wif``;
    ``w`` the units' sampling weights)."""
    ind = w[:, None] * (unit_g[:, None] == cell_g[cells][None, :]) - pg[cells][None, :]
    s = pg[cells].sum()
    return ind / s - ind.sum(1, keepdims=True) * (pg[cells] / s**2)[None, :]


def _avg(gt: GroupTime, cells: np.ndarray, pg: np.ndarray, unit_g: np.ndarray,
         w: np.ndarray, with_wif: bool = True):
    wc = pg[cells] / pg[cells].sum()
    att = float(wc @ gt.att[cells])
    inf = gt.inf[:, cells] @ wc
    if with_wif:
        inf = inf + _wif(cells, pg, unit_g, gt.group, w) @ gt.att[cells]
    return att, inf


def aggregate_all(gt: GroupTime, G: np.ndarray, w: np.ndarray | None = None) -> dict:
    """The four aggregations of R ``did::aggte`` (dict kind -> :class:`Aggregate`).

    ``G`` is the first treated period of every unit (0 = never treated), ``w`` their
    sampling weights (None: equal); cohort shares ``mean(w * (G == g))`` are taken over
    all units, as ``aggte`` does.
    """
    n = len(G)
    w = np.ones(n) if w is None else w
    groups = np.unique(gt.group)
    share = np.array([np.mean(w * (G == g)) for g in groups])
    pg = share[np.searchsorted(groups, gt.group)]
    post = gt.group <= gt.time
    out = {}
    keepers = np.flatnonzero(post)
    att, inf = _avg(gt, keepers, pg, G, w)
    out["simple"] = Aggregate("simple", np.array(["ATT"]), np.array([att]), inf[:, None],
                              att, inf)

    e = gt.time - gt.group
    eseq = np.unique(e)
    res = [_avg(gt, np.flatnonzero(e == k), pg, G, w) for k in eseq]
    atts = np.array([r[0] for r in res])
    infs = np.column_stack([r[1] for r in res])
    pos = eseq >= 0
    out["dynamic"] = Aggregate("dynamic", eseq, atts, infs, float(atts[pos].mean()),
                               infs[:, pos].mean(1))

    res = [_avg(gt, np.flatnonzero((gt.group == g) & post), pg, G, w, with_wif=False)
           for g in groups]
    atts = np.array([r[0] for r in res])
    infs = np.column_stack([r[1] for r in res])
    wg = share / share.sum()
    wif = _wif(np.arange(len(groups)), share, G, groups, w)
    out["group"] = Aggregate("group", groups, atts, infs, float(wg @ atts),
                             infs @ wg + wif @ atts)

    periods = np.unique(gt.time[gt.time >= groups.min()])
    res = [_avg(gt, np.flatnonzero((gt.time == t) & post), pg, G, w) for t in periods]
    atts = np.array([r[0] for r in res])
    infs = np.column_stack([r[1] for r in res])
    out["calendar"] = Aggregate("calendar", periods, atts, infs, float(atts.mean()),
                                infs.mean(1))
    assert all(a.inf.shape[0] == n for a in out.values())
    return out
