"""The demo's simulated spatial outcome: shape, provenance, and recovery of its truth."""

import numpy as np
import pytest

from dtistat.datasets import load_cities, load_demo
from dtistat.datasets.demo_spatial import SPATIAL_TRUTH, demo_weights, true_effects
from dtistat.spatial import fit_spatial


@pytest.fixture(scope="module")
def world():
    return load_demo()


def test_spatial_panel_shape_and_reproducible(world):
    sp = world.spatial_panel
    med = world.mediation_panel
    assert len(sp) == len(med) == 369 * 9
    assert sp[["city_id", "quarter"]].equals(med[["city_id", "quarter"]])
    assert np.isfinite(sp["fi_spillover"]).all()
    again = load_demo().spatial_panel
    assert again["fi_spillover"].equals(sp["fi_spillover"])


def test_sdm_recovers_truth(world):
    sp = world.spatial_panel
    w = demo_weights(load_cities())
    r = fit_spatial(sp, "fi_spillover", ["x_dti", "x_investment"], entity="city_id",
                    time="quarter", w=w, model="sdm", fe="twoway")
    truth = np.r_[SPATIAL_TRUTH["beta"]["log_dti_total"], SPATIAL_TRUTH["beta"]["fi_investment"],
                  SPATIAL_TRUTH["theta"]["log_dti_total"], SPATIAL_TRUTH["theta"]["fi_investment"],
                  SPATIAL_TRUTH["rho"]]
    z = (r.params.to_numpy() - truth) / r.std_errors.to_numpy()
    assert (np.abs(z) < 3.5).all(), z
    eff = r.effects(n_sim=500, seed=1).table.merge(true_effects(load_cities(), w.ids),
                                                  on=["variable", "effect"])
    assert ((eff["ci_low"] <= eff["truth"]) & (eff["truth"] <= eff["ci_high"])).all()


def test_spatial_hausman_on_demo_panel(world):
    # the demo's city effects are independent draws (random effects valid) and its quarter
    # effects trend with the DTI: the individual-effects pair rejects for that reason
    # alone, the two-way pair (both with quarter effects, as in the demo report) does not
    from dtistat.spatial import spatial_hausman, spatial_model_selection

    sp = world.spatial_panel
    w = demo_weights(load_cities())
    xs = ["x_dti", "x_investment"]
    kw = {"entity": "city_id", "time": "quarter", "w": w, "model": "sdm"}

    def fit(fe, lee_yu):
        return fit_spatial(sp, "fi_spillover", xs, fe=fe, lee_yu=lee_yu, **kw)

    assert spatial_hausman(fit("entity", True), fit("random", False)).p_value < 1e-6
    h = spatial_hausman(fit("twoway", True), fit("random-time", True))
    assert h.df == (4,) and h.p_value > 0.05
    sel = spatial_model_selection(sp, "fi_spillover", xs, hausman=True, entity="city_id",
                                  time="quarter", w=w)
    row = sel.table.loc["Hausman SDM (two-way FE vs RE + time FE)"]
    assert row["statistic"] == pytest.approx(h.statistic, rel=1e-12)
    assert not row["reject_at_level"]
