"""Simulated threshold in the DTI -> future-industry effect (SIMULATED data, known γ).

Papers on digitalization and industry ask whether the effect of digitalization changes
once a city passes a level of human capital (门槛效应). This module builds a city x
quarter panel on the demo world's DTI where it does, with a known threshold, for
:func:`dtistat.fit_threshold` (Hansen 1999).

DGP (:data:`TRUTH`), city i, quarter t = 0..8, on the DTI city totals given:

* ``human_capital_it = h_i + 0.05 t + N(0, 0.10²)``, ``h_i ~ N(11, 1)``: average years
  of schooling of the workforce, the threshold variable q; it rises over the panel, so
  cities near γ cross it.
* ``fi_output_it = beta_low D_it 1(q_it <= γ) + beta_high D_it 1(q_it > γ)
  + 0.5 log_population_it + 1.0 log_gdp_per_capita_it + alpha_i + N(0, 0.50²)`` with
  ``D_it = dti_std_it``, the log of ``dti_total`` standardized over the panel (mean 0,
  sd 1), **γ = 11.2, beta_low = 1.0, beta_high = 1.5**; ``alpha_i ~ N(0, 1)``. The
  effect of digitalization is half as large again past the human-capital threshold;
  there is one threshold (a second one tested is not there).
* ``log_population`` and ``log_gdp_per_capita`` as in the mediation panel
  (:func:`dtistat.datasets.demo_world.simulate_mediation_panel`): the panel reuses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TRUTH", "simulate_threshold_panel"]

#: True parameters of :func:`simulate_threshold_panel`.
TRUTH = {"gamma": 11.2, "beta_low": 1.0, "beta_high": 1.5, "log_population": 0.5,
         "log_gdp_per_capita": 1.0, "noise_sd": 0.5, "n_thresholds": 1}


def simulate_threshold_panel(mediation_panel: pd.DataFrame, seed: Any = 2023) -> pd.DataFrame:
    """City x quarter panel with a human-capital threshold in the DTI effect (SIMULATED).

    Parameters
    ----------
    mediation_panel : DataFrame
        The demo world's mediation panel (``city_id``, ``quarter``, ``dti_total``,
        ``log_dti_total``, ``log_population``, ``log_gdp_per_capita``), balanced.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    DataFrame
        ``city_id``, ``quarter``, ``dti_std``, ``human_capital``, ``fi_output``,
        ``log_population``, ``log_gdp_per_capita``, sorted by city and quarter.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"city_id": ["a"] * 3 + ["b"] * 3,
    ...                   "quarter": ["2021Q1", "2021Q2", "2021Q3"] * 2,
    ...                   "dti_total": [1.0, 1.1, 1.2, 2.0, 2.1, 2.3],
    ...                   "log_population": 6.0, "log_gdp_per_capita": 1.5})
    >>> out = simulate_threshold_panel(p, seed=1)
    >>> out.shape, bool(out["human_capital"].between(5, 17).all())
    ((6, 7), True)
    """
    rng = np.random.default_rng(seed)
    d = mediation_panel.sort_values(["city_id", "quarter"], kind="stable")
    cities = pd.unique(d["city_id"])
    n = len(cities)
    T = len(d) // n
    t = np.tile(np.arange(T), n)
    h = np.repeat(rng.normal(11.0, 1.0, n), T)
    hc = h + 0.05 * t + rng.normal(0.0, 0.10, n * T)
    D = np.log(d["dti_total"].to_numpy(dtype=float))
    D = (D - D.mean()) / D.std()
    slope = np.where(hc <= TRUTH["gamma"], TRUTH["beta_low"], TRUTH["beta_high"])
    alpha = np.repeat(rng.normal(0.0, 1.0, n), T)
    y = (slope * D + TRUTH["log_population"] * d["log_population"].to_numpy(dtype=float)
         + TRUTH["log_gdp_per_capita"] * d["log_gdp_per_capita"].to_numpy(dtype=float)
         + alpha + rng.normal(0.0, TRUTH["noise_sd"], n * T))
    return pd.DataFrame({
        "city_id": d["city_id"].to_numpy(), "quarter": d["quarter"].to_numpy(),
        "dti_std": D, "human_capital": hc, "fi_output": y,
        "log_population": d["log_population"].to_numpy(dtype=float),
        "log_gdp_per_capita": d["log_gdp_per_capita"].to_numpy(dtype=float)})
