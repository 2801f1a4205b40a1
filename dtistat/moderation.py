"""Moderation: the marginal effect of x at values of a moderator z, with a Johnson-Neyman interval.

In ``y = ... + b_x x + b_xz (x z) + b_z z + ...`` the marginal effect of x is
``dy/dx(z) = b_x + b_xz z``, with delta-method variance
``V_xx + 2 z V_x,xz + z^2 V_xz,xz`` from the fitted model's covariance (so it inherits
the model's robust, clustered or Driscoll-Kraay covariance and reference distribution).

The Johnson-Neyman (1936) interval is the set of z where the effect is significant at
``level``: ``(b_x + b_xz z)^2 >= c^2 (V_xx + 2 z V_x,xz + z^2 V_xz,xz)`` with c the
two-sided critical value, i.e. ``a z^2 + b z + c0 >= 0`` with

    a = b_xz^2 - c^2 V_xz,xz,  b = 2 (b_x b_xz - c^2 V_x,xz),  c0 = b_x^2 - c^2 V_xx,

whose boundaries are the closed-form roots of the quadratic (Bauer and Curran 2005,
Hayes 2013, section 7.4). Written by hand (a few lines of algebra on the model's
covariance); no package offers it for fixed-effects panel fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtistat._results import CoefResult, Result, Summary
from dtistat._validate import check_floats, check_level
from dtistat.errors import ParameterError
from dtistat.inference import critical_value

__all__ = ["JohnsonNeyman", "MarginalEffectsResult", "johnson_neyman", "marginal_effects",
           "marginal_effects_plot"]


@dataclass(frozen=True, eq=False, repr=False)
class JohnsonNeyman(Result):
    """Johnson-Neyman interval: where the marginal effect of x is significant.

    Attributes
    ----------
    bounds : tuple of float
        The real roots of the quadratic (0, 1 or 2 values, ascending).
    significant_inside : bool
        With two bounds: True if the effect is significant between them (otherwise it
        is significant outside them).
    regions : list of (low, high)
        The z intervals where the effect is significant (``-inf``/``inf`` for open ends).
    level : float
    critical : float
        The critical value c used.
    """

    bounds: tuple
    significant_inside: bool
    regions: tuple
    level: float
    critical: float

    def contains(self, z: float | np.ndarray) -> np.ndarray:
        """Whether the effect is significant at each z."""
        z = np.asarray(z, dtype=float)
        out = np.zeros(z.shape, dtype=bool)
        for lo, hi in self.regions:
            out |= (z >= lo) & (z <= hi)
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.regions), columns=["z_low", "z_high"])

    def summary(self) -> Summary:
        return Summary(f"Johnson-Neyman regions of significance ({self.level:.0%})",
                       self.to_frame(),
                       notes=[f"bounds: {', '.join(f'{b:.6g}' for b in self.bounds) or 'none'}"])

    def _headline(self) -> list[str]:
        return [f"bounds={tuple(round(b, 6) for b in self.bounds)}"]


@dataclass(frozen=True, eq=False, repr=False)
class MarginalEffectsResult(CoefResult):
    """dy/dx at chosen moderator values: a coefficient table with a joint covariance.

    ``params`` are the effects at ``at`` (index ``"dy/dx | z=value"``), ``cov`` their
    delta-method covariance ``G V G'``; ``std_errors``, ``conf_int``, ``tidy`` and
    ``wald_test`` come from :class:`~dtistat._results.CoefResult`. ``coef`` holds
    ``(b_x, b_xz)`` and ``vcov`` their 2 x 2 covariance (for a smooth plot).
    """

    params: pd.Series
    cov: pd.DataFrame
    at: np.ndarray
    x: str
    moderator: str
    interaction: str
    coef: np.ndarray
    vcov: np.ndarray
    johnson_neyman: JohnsonNeyman
    df_inference: float | None
    level: float = 0.95
    nobs: int | None = None

    def effect(self, z: float | Sequence[float]) -> pd.DataFrame:
        """Effect, standard error and CI at any z (vectorized)."""
        z = np.atleast_1d(check_floats(z, "z")).ravel()
        est, se = _effect(self.coef, self.vcov, z)
        c = critical_value(self.level, self.df_inference)
        return pd.DataFrame({"z": z, "estimate": est, "std_error": se,
                             "ci_low": est - c * se, "ci_high": est + c * se})

    def summary(self) -> Summary:
        jn = self.johnson_neyman
        head = [("Focal variable", self.x), ("Moderator", self.moderator),
                ("Interaction term", self.interaction), ("Inference", self.distribution)]
        notes = ["Johnson-Neyman bounds: " + (", ".join(f"{b:.6g}" for b in jn.bounds)
                                             or "none")]
        notes.append("Significant where z in " + (" or ".join(
            f"[{lo:.6g}, {hi:.6g}]" for lo, hi in jn.regions) or "nowhere"))
        return Summary(f"Marginal effect of {self.x} by {self.moderator}",
                       self.coef_table(), header=head, notes=notes)

    def _headline(self) -> list[str]:
        return [f"x={self.x}", f"moderator={self.moderator}", f"n_at={len(self.at)}",
                f"jn={tuple(round(b, 4) for b in self.johnson_neyman.bounds)}"]


def _effect(coef: np.ndarray, V: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    est = coef[0] + coef[1] * z
    var = V[0, 0] + 2 * z * V[0, 1] + z * z * V[1, 1]
    return est, np.sqrt(np.clip(var, 0.0, None))


def johnson_neyman(coef: np.ndarray, V: np.ndarray, crit: float,
                   level: float = 0.95) -> JohnsonNeyman:
    """Closed-form Johnson-Neyman regions from (b_x, b_xz), their covariance and c."""
    bx, bi = float(coef[0]), float(coef[1])
    c2 = crit * crit
    a = bi * bi - c2 * V[1, 1]
    b = 2 * (bx * bi - c2 * V[0, 1])
    c0 = bx * bx - c2 * V[0, 0]
    inf = math.inf
    scale = max(abs(a), abs(b), abs(c0), 1e-300)
    if abs(a) <= 1e-14 * scale:  # degenerate: linear in z
        if abs(b) <= 1e-14 * scale:
            regions = ((-inf, inf),) if c0 >= 0 else ()
            return JohnsonNeyman((), False, regions, level, crit)
        r = -c0 / b
        regions = ((r, inf),) if b > 0 else ((-inf, r),)
        return JohnsonNeyman((r,), False, regions, level, crit)
    disc = b * b - 4 * a * c0
    if disc < 0:
        regions = ((-inf, inf),) if a > 0 else ()
        return JohnsonNeyman((), False, regions, level, crit)
    # numerically stable roots (no cancellation in -b +- sqrt(disc))
    q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    r1, r2 = (q / a, c0 / q) if q != 0 else (0.0, 0.0)
    lo, hi = sorted((r1, r2))
    if a > 0:  # quadratic positive outside the roots
        return JohnsonNeyman((lo, hi), False, ((-inf, lo), (hi, inf)), level, crit)
    return JohnsonNeyman((lo, hi), True, ((lo, hi),), level, crit)


def _guess_moderator(names: list, x: str, interaction: str | None) -> str:
    if interaction is not None:
        parts = [p for p in str(interaction).split(":") if p != x]
        return parts[0] if len(parts) == 1 else str(interaction)
    cands = [n for n in names if isinstance(n, str) and ":" in n and x in n.split(":")]
    if len(cands) != 1:
        raise ParameterError(f"name the moderator z= (or interaction=): {len(cands)} "
                             f"product terms of {x!r} among the coefficients")
    parts = [p for p in cands[0].split(":") if p != x]
    return parts[0]


def _find_interaction(names: list, x: str, z: str, interaction: str | None) -> str:
    if interaction is not None:
        if interaction not in names:
            raise ParameterError(f"interaction={interaction!r} is not a coefficient of the "
                                 f"model; available: {', '.join(map(str, names))}")
        return interaction
    for cand in (f"{x}:{z}", f"{z}:{x}", f"{x}*{z}", f"{x}_x_{z}"):
        if cand in names:
            return cand
    raise ParameterError(
        f"no interaction of {x!r} and {z!r} among the coefficients "
        f"({', '.join(map(str, names))}); fit 'y ~ {x}*{z}' or pass interaction= the name "
        "of the product column")


def marginal_effects(res: CoefResult, x: str, z: str | None = None,
                     at: Sequence[float] | None = None, *,
                     interaction: str | None = None,
                     level: float | None = None) -> MarginalEffectsResult:
    """Marginal effect of ``x`` at values of the moderator ``z`` in an interaction model.

    Parameters
    ----------
    res : fitted model
        Any result with ``params`` and ``cov`` labelled by term (``fit_panel``, ...),
        fitted with ``x`` and the product ``x:z`` among its regressors.
    x, z : str
        The focal variable and the moderator (as named in the model). ``z`` may be
        omitted when the model has a single ``x:...`` product term or ``interaction=``
        is given (it then only labels the output).
    at : sequence of float
        Moderator values at which to evaluate dy/dx (e.g. mean - sd, mean, mean + sd).
    interaction : str, optional
        Name of the product term; by default ``"x:z"`` or ``"z:x"`` (formula names).
    level : float, optional
        Confidence level (default: the model's).

    Returns
    -------
    MarginalEffectsResult
        Effects with delta-method standard errors and CIs (the model's reference
        distribution) and the Johnson-Neyman interval.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dtistat.panel import fit_panel
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(30), 5), "t": np.tile(np.arange(5), 30)})
    >>> df["x"], df["z"] = rng.normal(size=150), rng.normal(size=150)
    >>> df["xz"] = df.x * df.z
    >>> df["y"] = 1.0 * df.x + 0.5 * df.xz + 0.1 * rng.normal(size=150)
    >>> fit = fit_panel(df, "y ~ x + z + xz", entity="id", time="t", cov="robust")
    >>> me = marginal_effects(fit, "x", "z", at=[-1, 0, 1], interaction="xz")
    >>> me.params.round(1).tolist()
    [0.5, 1.0, 1.5]
    """
    names = list(res.params.index)
    if not isinstance(x, str) or x not in names:
        raise ParameterError(f"x={x!r} is not a coefficient of the model; available: "
                             f"{', '.join(map(str, names))}")
    if z is None:
        z = _guess_moderator(names, x, interaction)
    if not isinstance(z, str):
        raise ParameterError(f"z must be the moderator's name, got {z!r}")
    inter = _find_interaction(names, x, z, interaction)
    at_arr = np.atleast_1d(np.asarray(at, dtype=float)) if at is not None else np.array([])
    if at_arr.size == 0 or not np.all(np.isfinite(at_arr)):
        raise ParameterError(f"at= must be finite moderator values ({z!r}), got {at!r}")
    level = check_level(level if level is not None else getattr(res, "level", 0.95))
    df_inf = getattr(res, "df_inference", None)
    coef = res.params[[x, inter]].to_numpy(dtype=float)
    V = res.cov.loc[[x, inter], [x, inter]].to_numpy(dtype=float)
    G = np.column_stack([np.ones_like(at_arr), at_arr])
    labels = [f"dy/dx | {z}={v:g}" for v in at_arr]
    params = pd.Series(G @ coef, index=labels, name="estimate")
    cov = pd.DataFrame(G @ V @ G.T, index=labels, columns=labels)
    jn = johnson_neyman(coef, V, critical_value(level, df_inf), level)
    return MarginalEffectsResult(params=params, cov=cov, at=at_arr, x=x, moderator=z,
                                 interaction=inter, coef=coef, vcov=V, johnson_neyman=jn,
                                 df_inference=df_inf, level=level,
                                 nobs=getattr(res, "nobs", None))


def marginal_effects_plot(me: MarginalEffectsResult, *, z_range: tuple | None = None,
                          ax=None, n_points: int = 200):
    """Line of dy/dx over z with its confidence band and the Johnson-Neyman bounds.

    Returns the matplotlib Figure.
    """
    from dtistat._plotting import check_ax, check_result, pick_label, pyplot

    check_result(me, "marginal_effects_plot", "a MarginalEffectsResult (marginal_effects)",
                 ("at", "effect", "johnson_neyman", "level"))
    check_ax(ax)
    plt = pyplot()
    lo, hi = z_range if z_range is not None else (float(me.at.min()), float(me.at.max()))
    if not hi > lo:
        raise ParameterError(f"z_range must be (low, high) with low < high, got {(lo, hi)}")
    grid = np.linspace(lo, hi, n_points)
    tab = me.effect(grid)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
    else:
        fig = ax.figure
    ax.fill_between(grid, tab["ci_low"], tab["ci_high"], color="#9ecae1", alpha=0.6,
                    label=pick_label(f"{me.level:.0%} 置信区间", f"{me.level:.0%} CI"))
    ax.plot(grid, tab["estimate"], color="#08519c", lw=2,
            label=pick_label("边际效应", "marginal effect"))
    ax.axhline(0, color="0.3", lw=0.8)
    for b in me.johnson_neyman.bounds:
        if lo <= b <= hi:
            ax.axvline(b, color="#cb181d", ls="--", lw=1)
    ax.set_xlabel(me.moderator)
    ax.set_ylabel(f"d y / d {me.x}")
    ax.set_title(pick_label(f"{me.x} 的边际效应（Johnson-Neyman 边界为虚线）",
                            f"Marginal effect of {me.x} (J-N bounds dashed)"))
    ax.legend(loc="best", fontsize=8)
    return fig
