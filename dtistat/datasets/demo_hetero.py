"""Simulated heterogeneity panel for the demo: a regional difference and a moderator (SIMULATED).

Built on the demo world's mediation panel (city x quarter, with the cube's DTI), it adds
an outcome whose DTI effect differs between eastern and other cities and grows with a
city's digital talent, so that ``compare_groups`` and ``marginal_effects`` have a known
truth to recover.

DGP (city i, quarter t; :data:`HETERO_TRUTH`):

* ``east_i`` = 1 for cities of the eastern region (city metadata ``region == "east"``),
  group label ``region_group`` "东部" / "中西部";
* ``D_it`` = ``log_dti_total`` minus its panel mean;
* ``talent_it`` = ``t_i + N(0, 0.5^2)`` with ``t_i ~ N(0, 1)``, minus its panel mean
  (a centred moderator: digital talent);
* ``fi_quality_it = (beta + delta east_i) D_it + kappa talent_it + lambda D_it talent_it
  + 1.0 log_gdp_per_capita_it + alpha_i + gamma_t + N(0, 0.5^2)`` with
  **beta = 1.5, delta = 1.0, kappa = 0.8, lambda = 0.6**, ``alpha_i ~ N(0, 1)``,
  ``gamma_t`` = 0.05 t.

So the DTI slope is 1.5 + 0.6 talent in the other regions and 2.5 + 0.6 talent in the
east: the group difference is 1.0 and the marginal effect of D at talent z (reference
group) is 1.5 + 0.6 z.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dtistat._validate import check_seed

__all__ = ["HETERO_TRUTH", "simulate_hetero_panel"]

HETERO_TRUTH = {"beta": 1.5, "delta_east": 1.0, "kappa_talent": 0.8, "lambda": 0.6,
                "gdp": 1.0, "sigma": 0.5}


def simulate_hetero_panel(cities: pd.DataFrame, panel: pd.DataFrame,
                          seed: Any = 2023) -> pd.DataFrame:
    """The mediation panel plus the heterogeneity columns (module docstring).

    Parameters
    ----------
    cities : DataFrame
        City metadata with ``city_id`` and ``region``.
    panel : DataFrame
        The demo mediation panel (``city_id``, ``quarter``, ``log_dti_total``,
        ``log_gdp_per_capita``).
    seed : int or numpy Generator

    Returns
    -------
    DataFrame
        ``panel``'s columns plus ``region_group``, ``east``, ``dti_c`` (D), ``talent``,
        ``dti_x_talent``, ``dti_x_east`` and ``fi_quality`` (SIMULATED).

    Examples
    --------
    >>> from dtistat.datasets import load_demo
    >>> w = load_demo()
    >>> h = simulate_hetero_panel(w.cities, w.mediation_panel, seed=1)
    >>> sorted(h["region_group"].unique())
    ['东部', '中西部']
    """
    rng = check_seed(seed)
    out = panel.copy()
    region = dict(zip(cities["city_id"].astype(str), cities["region"]))
    east = (out["city_id"].astype(str).map(region) == "east").to_numpy(dtype=float)
    codes, uniq = pd.factorize(out["city_id"])
    tcodes, _ = pd.factorize(out["quarter"], sort=True)
    n, g = len(out), len(uniq)
    d = out["log_dti_total"].to_numpy() - out["log_dti_total"].mean()
    talent = rng.normal(size=g)[codes] + 0.5 * rng.normal(size=n)
    talent -= talent.mean()
    alpha = rng.normal(size=g)[codes]
    tr = HETERO_TRUTH
    y = ((tr["beta"] + tr["delta_east"] * east) * d + tr["kappa_talent"] * talent
         + tr["lambda"] * d * talent + tr["gdp"] * out["log_gdp_per_capita"].to_numpy()
         + alpha + 0.05 * tcodes + tr["sigma"] * rng.normal(size=n))
    out["region_group"] = np.where(east == 1, "东部", "中西部")
    out["east"] = east
    out["dti_c"] = d
    out["talent"] = talent
    out["dti_x_talent"] = d * talent
    out["dti_x_east"] = d * east
    out["fi_quality"] = y
    return out
