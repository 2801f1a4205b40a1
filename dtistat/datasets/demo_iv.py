"""Simulated city x year panel with an endogenous DTI and 1984-style shift-share instruments.

Everything here is SIMULATED (no real city data beyond the city list): it exists so the
demo report can show the omitted-variable bias of OLS and its removal by 2SLS, beside
the true parameters.

Data-generating process (city i, year t = 2011..2022; true values in :data:`TRUTH`):

* historical stocks, fixed per city: ``phones1984_i`` (telephones per 100 people in
  1984) = exp(N(0, 0.5^2)) and ``posts1984_i`` (post offices per 10,000 people) =
  exp(N(0, 0.4^2)), independent of each other and of everything below;
* a national series ``internet_users_t`` (100 million users, 2010..2021), rising from
  4.6 to 10.3 like the national totals;
* the shift-share instruments ``z_phone_it = phones1984_i x internet_users_{t-1}`` and
  ``z_post_it = posts1984_i x internet_users_{t-1}`` (:func:`dtistat.iv.shift_share`);
* an unobserved city-year shock ``v_it ~ N(0, 1)`` (a local policy push) that raises
  both digitalization and the outcome -- the source of OLS's upward bias;
* ``dti_it = mu_i + tau_t + 0.5 z_phone_it + 0.3 z_post_it + 0.8 v_it + N(0, 0.5^2)``,
  mu_i ~ N(0, 1), tau_t = 0.2 (t - 2011);
* ``log_gdp_pc_it = g_i + 0.03 (t - 2011) + N(0, 0.1^2)`` (exogenous control);
* ``fi_development_it = beta dti_it + gamma log_gdp_pc_it + alpha_i + delta_t + 1.0
  v_it + N(0, 0.5^2)`` with **beta = 0.5**, **gamma = 0.8**; alpha_i correlated with
  mu_i (0.5 mu_i + N(0, 1)), delta_t = 0.1 (t - 2011).

The instruments are valid (independent of v and of the outcome error) and strong.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dtistat._validate import check_seed
from dtistat.iv.shift_share import shift_share

__all__ = ["INTERNET_USERS", "TRUTH", "simulate_iv_panel"]

#: True parameters of :func:`simulate_iv_panel`.
TRUTH = {"beta_dti": 0.5, "gamma_log_gdp_pc": 0.8, "pi_phone": 0.5, "pi_post": 0.3,
         "confounder_in_dti": 0.8, "confounder_in_outcome": 1.0}

#: National internet users (100 million), 2010..2021, simulated on the national path.
INTERNET_USERS = pd.Series([4.6, 5.1, 5.6, 6.2, 6.5, 6.9, 7.3, 7.7, 8.3, 9.0, 9.9, 10.3],
                           index=pd.Index(range(2010, 2022), name="year"),
                           name="internet_users")


def simulate_iv_panel(cities: pd.DataFrame | None = None, seed: Any = 2023) -> pd.DataFrame:
    """The demo's endogeneity panel (SIMULATED); see the module docstring for the DGP.

    Parameters
    ----------
    cities : DataFrame, optional
        City table with ``city_id`` and ``name_zh`` (default
        :func:`dtistat.datasets.load_cities`).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    DataFrame
        One row per city and year 2011..2022: ``city_id``, ``city``, ``year``,
        ``phones1984``, ``posts1984``, ``z_phone``, ``z_post``, ``dti``, ``log_gdp_pc``,
        ``fi_development``.

    Examples
    --------
    >>> d = simulate_iv_panel(seed=1)
    >>> d.shape[1], int(d["year"].min()), int(d["year"].max())
    (10, 2011, 2022)
    """
    if cities is None:
        from dtistat.datasets.cities import load_cities

        cities = load_cities()
    rng = check_seed(seed)
    ids = cities["city_id"].astype(str).to_numpy()
    n = len(ids)
    base = pd.DataFrame({"city_id": ids,
                         "phones1984": np.exp(rng.normal(0.0, 0.5, n)),
                         "posts1984": np.exp(rng.normal(0.0, 0.4, n))})
    zp = shift_share(base[["city_id", "phones1984"]], INTERNET_USERS, entity="city_id",
                     time="year", lag=1, name="z_phone")
    zq = shift_share(base[["city_id", "posts1984"]], INTERNET_USERS, entity="city_id",
                     time="year", lag=1, name="z_post")
    d = zp.merge(zq, on=["city_id", "year"]).merge(base, on="city_id")
    T = d["year"].nunique()
    i = np.repeat(np.arange(n), T)
    t = (d["year"] - 2011).to_numpy(dtype=float)
    mu = rng.normal(0.0, 1.0, n)
    alpha = 0.5 * mu + rng.normal(0.0, 1.0, n)
    g = rng.normal(1.5, 0.4, n)
    m = len(d)
    v = rng.normal(0.0, 1.0, m)
    d["dti"] = (mu[i] + 0.2 * t + TRUTH["pi_phone"] * d["z_phone"]
                + TRUTH["pi_post"] * d["z_post"] + TRUTH["confounder_in_dti"] * v
                + rng.normal(0.0, 0.5, m))
    d["log_gdp_pc"] = g[i] + 0.03 * t + rng.normal(0.0, 0.1, m)
    d["fi_development"] = (TRUTH["beta_dti"] * d["dti"] + TRUTH["gamma_log_gdp_pc"]
                           * d["log_gdp_pc"] + alpha[i] + 0.1 * t
                           + TRUTH["confounder_in_outcome"] * v + rng.normal(0.0, 0.5, m))
    names = dict(zip(ids, cities["name_zh"].astype(str)))
    d.insert(1, "city", d["city_id"].map(names))
    cols = ["city_id", "city", "year", "phones1984", "posts1984", "z_phone", "z_post", "dti",
            "log_gdp_pc", "fi_development"]
    return d[cols].reset_index(drop=True)
