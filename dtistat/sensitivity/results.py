"""Result classes of the sensitivity analysis: rank uncertainty and Sobol indices."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtistat._results import Result, Summary
from dtistat.errors import ParameterError
from dtistat.sensitivity.context import Context, cell_keys
from dtistat.sensitivity.frames import effective_weights
from dtistat.sensitivity.quantiles import score_quantiles

__all__ = ["SensitivityResult", "SobolResult"]


@dataclass(frozen=True, eq=False, repr=False)
class SensitivityResult(Result):
    """Uncertainty of an index's ranks under weight draws.

    Attributes
    ----------
    ranks : DataFrame
        Index (entity, *by, time): nominal score and rank, mean and median rank, the
        5–95% rank interval (``rank_p05``, ``rank_p95``) and ``p_top_k``, the share of
        draws in which the entity is in the top ``top_k``. :meth:`rank_table` adds the
        5/50/95% score quantiles (:meth:`score_intervals`).
    draws : DataFrame
        One row per draw: its provenance (alternative, dropped expert, scheme), the
        local weight of every node (``w:<node>``), the mean absolute rank shift against
        the nominal ranking over all entities and groups, and the Spearman (and, when
        asked, Kendall) rank correlation with the nominal ranking, averaged over groups.
    parameters : dict
        The raw random inputs (expert counts, score noise, multipliers, alternative of
        each draw) and the seed: enough to rebuild every draw.
    effective_weights : DataFrame
        (Property, computed on first use.) Per leaf: nominal effective weight, the
        correlation ratio (main effect ``Var(E[y|x_j]) / Var(y)``, Paruolo, Saisana &
        Saltelli 2013), its share of the sum, and Pearson's r² — the leaf's *effective*
        importance against its nominal weight.
    leave_one_out : DataFrame or None
        Rank under the nominal weights with one indicator or one layer removed (siblings
        renormalized), per entity × group; ``rank_change`` > 0 means moved up.
    dominance : DataFrame or None
        For the ``compare`` entities: the probability that ``entity_a`` scores above
        ``entity_b``, per group.
    """

    method: str
    node: str
    entity: str
    time: str
    by: tuple[str, ...]
    top_k: int
    n_draws: int
    ranks: pd.DataFrame
    draws: pd.DataFrame
    parameters: dict
    leave_one_out: pd.DataFrame | None = None
    dominance: pd.DataFrame | None = None
    options: dict = field(default_factory=dict)
    _ctx: Any = None
    _weights: Any = None
    _alt: Any = None
    _cache: dict = field(default_factory=dict)

    def rank_table(self) -> pd.DataFrame:
        """Tidy frame: one row per entity (× by × period), sorted by group and nominal rank.

        The columns of :attr:`ranks` and of :meth:`score_intervals`.
        """
        out = self.ranks.join(self.score_intervals()).reset_index()
        keys = [*self.by, self.time]
        out = out.sort_values([*keys, "nominal_rank", self.entity], kind="stable")
        out = out.reset_index(drop=True)
        out.attrs["top_k"] = self.top_k
        return out

    def to_frame(self) -> pd.DataFrame:
        """The rank table (:meth:`rank_table`)."""
        return self.rank_table()

    @property
    def effective_weights(self) -> pd.DataFrame:
        """Per leaf: nominal effective weight against its correlation ratio (see the
        class notes); computed from the nominal index on first use and cached."""
        if "effective_weights" not in self._cache:
            self._cache["effective_weights"] = effective_weights(self._ctx)
        return self._cache["effective_weights"].copy()

    def leave_one_out_summary(self) -> pd.DataFrame:
        """Per removed indicator or layer: mean and max absolute rank change."""
        if self.leave_one_out is None:
            raise ParameterError("no leave-one-out analysis: call with leave_one_out=True")
        g = self.leave_one_out.assign(abs_change=self.leave_one_out["rank_change"].abs())
        out = g.groupby(["removed", "level"], sort=False)["abs_change"].agg(["mean", "max"])
        return out.rename(columns={"mean": "mean_abs_rank_change",
                                   "max": "max_abs_rank_change"}).reset_index()

    def draw_scores(self, draws: Sequence[int] | None = None) -> pd.DataFrame:
        """Scores of the target node under the given draws (rows as in ``ranks``),
        recomputed from the leaves and the draws' effective weights."""
        ctx: Context = self._ctx
        if draws is None:
            d = np.arange(self.n_draws)
        else:
            items = [draws] if isinstance(draws, numbers.Integral) else draws
            if isinstance(items, (str, bytes, Mapping)) or not all(
                    isinstance(i, numbers.Integral) and not isinstance(i, bool)
                    for i in np.ravel(np.asarray(items, dtype=object))):
                raise ParameterError(f"draws must be draw numbers (integers), got {draws!r}")
            d = np.asarray(items, dtype=np.intp).ravel()
        if d.size and (d.min() < 0 or d.max() >= self.n_draws):
            raise ParameterError(f"draws must be in 0..{self.n_draws - 1}")
        W, alt = self._weights[d], self._alt[d]
        S = np.empty((len(d), ctx.G * ctx.NE))
        for a in np.unique(alt):
            sel = alt == a
            S[sel] = W[sel] @ ctx.TT[a]
            if ctx.geometric[a]:
                S[sel] = np.exp(S[sel])
        S = S.reshape(len(d), ctx.G, ctx.NE)
        gi, ei, index = cell_keys(ctx)
        frame = pd.DataFrame(S[:, gi, ei].T, columns=pd.Index(d, name="draw"), index=index)
        return frame.sort_index()

    def score_intervals(self) -> pd.DataFrame:
        """5%, 50% and 95% quantiles of each entity's score over the draws.

        Exact order statistics (``np.quantile(..., method='inverted_cdf')``) over all
        draws, computed on first use and cached.
        """
        if "scores" not in self._cache:
            ctx: Context = self._ctx
            qs = score_quantiles(ctx, self._weights, self._alt, [0.05, 0.5, 0.95],
                                 n_jobs=self.options.get("n_jobs", 1))
            gi, ei, index = cell_keys(ctx)
            self._cache["scores"] = pd.DataFrame(
                {"score_p05": qs[0][gi, ei], "score_median": qs[1][gi, ei],
                 "score_p95": qs[2][gi, ei]}, index=index).sort_index()
        return self._cache["scores"].copy()

    def _headline(self) -> list[str]:
        return [f"method={self.method}", f"node={self.node!r}", f"{self.n_draws:,} draws",
                f"{len(self.ranks):,} cells"]

    def summary(self) -> Summary:
        """Rank shifts and correlations over the draws, the top ``top_k`` of the last
        period with their rank intervals, and leave one out when computed."""
        s = self.ranks.reset_index()
        s = s.sort_values([*self.by, self.time, "nominal_rank", self.entity], kind="stable")
        last = s[s[self.time] == s[self.time].max()]
        cols = [self.entity, *self.by, "nominal_rank", "median_rank", "rank_p05",
                "rank_p95", "p_top_k"]
        d = self.draws
        tables = {f"Top {self.top_k} in {last[self.time].iloc[0]} "
                  f"(p_top_k = P(rank <= {self.top_k}))":
                  last[last["nominal_rank"] <= self.top_k][cols].reset_index(drop=True)}
        if self.leave_one_out is not None:
            tables["Leave one out (mean |rank change|)"] = self.leave_one_out_summary()
        header = [("cells", f"{s[self.entity].nunique()} {self.entity} × "
                   + (f"{' × '.join(self.by)} × " if self.by else "")
                   + f"{s[self.time].nunique()} periods"),
                  ("mean absolute rank shift per draw",
                   f"mean {d['rank_shift'].mean():.3f}, max {d['rank_shift'].max():.3f}"),
                  ("Spearman with nominal",
                   f"mean {d['spearman'].mean():.4f}, min {d['spearman'].min():.4f}")]
        return Summary(f"SensitivityResult: method={self.method}, node={self.node!r}, "
                       f"{self.n_draws} draws", tables, header=header, digits=3)


@dataclass(frozen=True, eq=False, repr=False)
class SobolResult(Result):
    """First-order and total Sobol indices with bootstrap intervals and a convergence check.

    Attributes
    ----------
    indices : DataFrame
        Index: factor group; columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (SALib's
        half-width of the bootstrap ``conf_level`` interval).
    convergence : DataFrame
        The indices from the first half of the design (``n_base / 2``) beside those from
        the full design, and their absolute differences.
    converged : bool
        Whether every |ΔS1| and |ΔST| between ``n_base / 2`` and ``n_base`` is at most
        ``tolerance``.
    X, Y : ndarray
        The Saltelli design and the model output (provenance).
    """

    indices: pd.DataFrame
    convergence: pd.DataFrame
    converged: bool
    tolerance: float
    n_base: int
    output: str
    problem: dict
    X: np.ndarray
    Y: np.ndarray
    conf_level: float = 0.95

    def interval_table(self) -> pd.DataFrame:
        """Tidy: group, S1 and ST with the lower and upper ends of their intervals."""
        d = self.indices
        return pd.DataFrame({
            "group": d.index,
            "S1": d["S1"].to_numpy(),
            "S1_low": (d["S1"] - d["S1_conf"]).to_numpy(),
            "S1_high": (d["S1"] + d["S1_conf"]).to_numpy(),
            "ST": d["ST"].to_numpy(),
            "ST_low": (d["ST"] - d["ST_conf"]).to_numpy(),
            "ST_high": (d["ST"] + d["ST_conf"]).to_numpy(),
        })

    def to_frame(self) -> pd.DataFrame:
        """The interval table (:meth:`interval_table`)."""
        return self.interval_table()

    def _headline(self) -> list[str]:
        return [f"output={self.output!r}", f"N={self.n_base}",
                f"{len(self.indices)} groups",
                "converged" if self.converged else "NOT converged"]

    def summary(self) -> Summary:
        """The indices with their intervals and the convergence check."""
        c = self.convergence
        note = (f"convergence (n_base/2 vs n_base): max |dS1| {c['dS1'].max():.4f}, max "
                f"|dST| {c['dST'].max():.4f} -> "
                f"{'converged' if self.converged else 'NOT converged'} at tolerance "
                f"{self.tolerance}")
        return Summary(f"SobolResult: output = {self.output}", self.indices,
                       header=[("N", f"{self.n_base} ({len(self.Y)} model runs)"),
                               ("intervals", f"{self.conf_level:.0%} bootstrap")],
                       notes=[note])
