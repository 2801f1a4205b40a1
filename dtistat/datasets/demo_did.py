"""Simulated staggered pilot policy on real cities (demo world; **simulated data**).

A digital-economy pilot reaches three batches of real prefecture-level cities in 2014,
2015 and 2016 (as the 宽带中国 broadband pilots did); the remaining cities are never
treated. The outcome is a log digital-economy output index, city x year, 2010-2021.

Data-generating process (all parameters in :data:`TRUTH`):

* ``y_it = a_i + l_t + tau_it + e_it``, with city effects ``a_i`` rising with the city tier,
  common year effects ``l_t`` (trend plus shocks) and ``e_it ~ N(0, 0.05^2)`` i.i.d.;
  parallel trends hold by construction.
* Batch membership: tier-1/new-tier-1 cities join earlier with higher probability
  (selection on levels only, which the city effects absorb).
* Effects are heterogeneous across batches and grow with exposure:
  ``tau_it = base_g + slope_g * (t - g)`` for ``t >= g`` and 0 before -- early batches
  gain more and faster. A static TWFE regression then compares later batches with
  already-treated earlier ones whose effects are still growing, and is biased downward;
  Callaway-Sant'Anna and Sun-Abraham are not.

The column ``true_effect`` holds ``tau_it`` so any aggregate of the truth can be computed
from the panel itself (e.g. the mean over treated rows at each event time is the true
event-study coefficient).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TRUTH", "simulate_staggered_pilot", "true_event_effects"]

#: True parameters of the simulated pilot.
TRUTH = {
    "years": (2010, 2021),
    "batches": {2014: {"base": 0.06, "slope": 0.030},
                2015: {"base": 0.04, "slope": 0.020},
                2016: {"base": 0.02, "slope": 0.010}},
    "share_treated": 0.45,
    "noise_sd": 0.05,
}


def simulate_staggered_pilot(cities: pd.DataFrame, seed: int = 2023) -> pd.DataFrame:
    """City x year panel of a staggered pilot (simulated; see the module docstring).

    Parameters
    ----------
    cities : DataFrame
        City metadata (:func:`dtistat.datasets.load_cities`): ``city_id``, ``name_zh``,
        ``province``, ``tier_en``.
    seed : int

    Returns
    -------
    DataFrame
        ``city_id, city, province, year, pilot_year (0 = never), treated, y,
        true_effect``.

    Examples
    --------
    >>> from dtistat.datasets import load_cities
    >>> p = simulate_staggered_pilot(load_cities(), seed=1)
    >>> sorted(p["pilot_year"].unique().tolist())
    [0, 2014, 2015, 2016]
    """
    rng = np.random.default_rng([seed, 19])
    y0, y1 = TRUTH["years"]
    years = np.arange(y0, y1 + 1)
    c = cities.reset_index(drop=True)
    n, T = len(c), len(years)
    tier = c["tier_en"].astype(str).to_numpy()
    top = np.isin(tier, ["tier1", "new_tier1"])
    # earlier batches favour the large cities; about 45% of cities are pilots
    p_treat = np.where(top, 0.8, TRUTH["share_treated"] * 0.95)
    treated = rng.random(n) < p_treat
    batches = np.array(sorted(TRUTH["batches"]))
    p_batch = np.where(top[:, None], [0.5, 0.3, 0.2], [0.25, 0.35, 0.4])
    pick = (rng.random(n)[:, None] > np.cumsum(p_batch, 1)).sum(1)
    g = np.where(treated, batches[np.minimum(pick, 2)], 0)
    a = 1.0 + 0.4 * top + rng.normal(0, 0.3, n)
    lam = 0.03 * (years - y0) + rng.normal(0, 0.02, T)
    e = years[None, :] - g[:, None]
    base = np.array([TRUTH["batches"].get(int(b), {"base": 0.0})["base"] for b in g])
    slope = np.array([TRUTH["batches"].get(int(b), {"slope": 0.0})["slope"] for b in g])
    tau = np.where((g[:, None] > 0) & (e >= 0), base[:, None] + slope[:, None] * e, 0.0)
    y = a[:, None] + lam[None, :] + tau + rng.normal(0, TRUTH["noise_sd"], (n, T))
    return pd.DataFrame({
        "city_id": np.repeat(c["city_id"].to_numpy(), T),
        "city": np.repeat(c["name_zh"].to_numpy(), T),
        "province": np.repeat(c["province"].to_numpy(), T),
        "year": np.tile(years, n),
        "pilot_year": np.repeat(g, T),
        "treated": ((g[:, None] > 0) & (e >= 0)).astype(int).ravel(),
        "y": y.ravel(),
        "true_effect": tau.ravel(),
    })


def true_event_effects(panel: pd.DataFrame) -> pd.Series:
    """True event-study effects: mean ``true_effect`` of pilot cities at each event time.

    Examples
    --------
    >>> from dtistat.datasets import load_cities
    >>> t = true_event_effects(simulate_staggered_pilot(load_cities(), seed=1))
    >>> float(t.loc[-1]), round(float(t.loc[7]), 2)
    (0.0, 0.27)
    """
    p = panel[panel["pilot_year"] > 0]
    return p.groupby(p["year"] - p["pilot_year"])["true_effect"].mean().rename("truth")
