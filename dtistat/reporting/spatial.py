"""Demo report section: spatial spillovers (Moran's I by quarter, LISA map, SDM effects)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from dtistat._plotting import pick_label, pyplot
from dtistat.report import Section, _Context
from dtistat.reporting.truth import truth_notes

__all__ = ["section", "spatial"]

_COLORS = {"HH": "#d7191c", "LL": "#2c7bb6", "HL": "#fdae61", "LH": "#abd9e9", "ns": "#d9d9d9"}


def spatial(ctx: _Context) -> Section:
    """Moran's I of the DTI and the simulated outcome by quarter, a LISA scatter map by
    coordinates, the model-selection table and the SDM effects beside the truth."""
    from dtistat.datasets import load_cities
    from dtistat.datasets.demo_spatial import SPATIAL_TRUTH, demo_weights, true_effects
    from dtistat.spatial import local_moran, moran, spatial_model_selection

    world = ctx.world
    sp = world.spatial_panel.merge(world.mediation_panel[["city_id", "quarter", "dti_total"]],
                                   on=["city_id", "quarter"])
    cities = load_cities()
    w = demo_weights(cities)
    kw = {"entity": "city_id", "time": "quarter", "w": w}
    m_dti = moran("dti_total", data=sp, permutations=999, seed=1, **kw).table
    m_out = moran("fi_spillover", data=sp, permutations=999, seed=1, **kw).table
    by_q = pd.DataFrame({"quarter": m_dti.index.astype(str),
                         "moran_I_dti": m_dti["statistic"].to_numpy(),
                         "p_sim_dti": m_dti["p_sim"].to_numpy(),
                         "moran_I_outcome": m_out["statistic"].to_numpy(),
                         "p_sim_outcome": m_out["p_sim"].to_numpy()})
    last = sp[sp["quarter"] == sp["quarter"].max()].set_index("city_id").reindex(w.ids)
    lisa = local_moran(last["dti_total"].to_numpy(), w, permutations=999, seed=2).table
    xs = ["x_dti", "x_investment"]
    # hausman: two-way FE (Lee-Yu) against random city effects with quarter effects
    # (~0.1 s more); the quarter effects trend with the DTI, so the individual-only pair
    # would reject for that reason alone
    sel = spatial_model_selection(sp, "fi_spillover", xs, hausman=True, **kw)
    sdm = sel.models["sdm"]
    eff = sdm.effects(n_sim=1000, seed=3).table
    eff = eff.merge(true_effects(cities, w.ids), on=["variable", "effect"])
    coef = sdm.tidy()
    truth = {"x_dti": SPATIAL_TRUTH["beta"]["log_dti_total"],
             "x_investment": SPATIAL_TRUTH["beta"]["fi_investment"],
             "W*x_dti": SPATIAL_TRUTH["theta"]["log_dti_total"],
             "W*x_investment": SPATIAL_TRUTH["theta"]["fi_investment"],
             "rho": SPATIAL_TRUTH["rho"]}
    coef.insert(2, "truth", coef["term"].map(truth))

    effs = eff.assign(term=eff["variable"] + " (" + eff["effect"] + ")")
    notes = truth_notes(coef) + truth_notes(effs)
    s = Section("spatial", "Spatial spillovers between neighbouring cities",
                text=("W: 8 nearest cities by great-circle distance on the bundled city "
                      "coordinates, row-standardized. Moran's I with 999 permutations per "
                      "quarter; LISA of the last quarter's DTI; a two-way fixed-effects "
                      "spatial Durbin model of a simulated outcome with known rho = "
                      f"{SPATIAL_TRUTH['rho']} and theta (LeSage-Pace effects, 1,000 draws)."
                      + "".join(f" {html.escape(n)}" for n in notes)))
    s.tables.append(("spatial_moran_by_quarter", by_q, "Global Moran's I by quarter"))
    counts = lisa["cluster"].value_counts().rename_axis("cluster").reset_index(name="cities")
    s.tables.append(("spatial_lisa_clusters", counts, "LISA clusters (p <= 0.05), last quarter"))
    s.tables.append(("spatial_model_selection", sel.table.reset_index(),
                     f"LM, Wald and LR tests, Hausman test of fixed against random city "
                     f"effects (both with quarter effects); suggested model {sel.choice}"))
    s.tables.append(("spatial_sdm_coefficients", coef, "Two-way FE SDM with the truth"))
    caption = ("Direct, indirect and total effects beside the true effects of the "
               "data-generating process")
    s.tables.append(("spatial_sdm_effects", eff, caption))
    s.figures.append(("spatial_lisa_map", _lisa_map(lisa),
                      "LISA clusters of the DTI by city coordinates"))
    ind = eff.set_index(["variable", "effect"]).loc[("x_dti", "indirect")]
    s.summary.append(f"spatial: Moran's I of the DTI {by_q['moran_I_dti'].iloc[-1]:.3f} in "
                     f"{by_q['quarter'].iloc[-1]}; SDM rho {sdm.rho:.3f} (truth "
                     f"{SPATIAL_TRUTH['rho']}); DTI spillover {ind['estimate']:.3f} "
                     f"(truth {ind['truth']:.3f})")
    return s


#: The entry point the report registers (named ``spatial`` in its progress display).
section = spatial


def _lisa_map(lisa: pd.DataFrame):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.5))
    from dtistat.datasets import load_cities

    xy = load_cities().set_index("city_id").reindex(lisa.index)
    for cl, color in _COLORS.items():
        m = (lisa["cluster"] == cl).to_numpy()
        if m.any():
            ax.scatter(xy["longitude"].to_numpy()[m], xy["latitude"].to_numpy()[m], s=14,
                       c=color, label=f"{cl} ({int(m.sum())})", edgecolors="none")
    ax.set_xlabel(pick_label("经度", "longitude"))
    ax.set_ylabel(pick_label("纬度", "latitude"))
    ax.set_aspect(1 / np.cos(np.radians(35)))
    ax.legend(loc="best", fontsize=8)  # where it hides the fewest cities
    ax.set_title(pick_label("数字化转型指数 LISA 聚类", "LISA clusters of the DTI"))
    return fig
