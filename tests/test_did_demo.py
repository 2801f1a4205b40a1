"""The simulated staggered pilot: CS and Sun-Abraham recover the truth, static TWFE does not."""

import numpy as np
import pytest

from dtistat.datasets import load_cities
from dtistat.datasets.demo_did import (
    TRUTH,
    simulate_staggered_pilot,
    true_event_effects,
)
from dtistat.did import fit_did

KW = {"y": "y", "treat_time": "pilot_year", "entity": "city_id", "time": "year"}


@pytest.fixture(scope="module")
def pilot():
    return simulate_staggered_pilot(load_cities(), seed=2023)


def test_panel_follows_its_process(pilot):
    assert set(pilot["pilot_year"].unique()) == {0, *TRUTH["batches"]}
    assert pilot.groupby("city_id").size().eq(12).all()
    row = pilot[(pilot["pilot_year"] == 2014) & (pilot["year"] == 2016)].iloc[0]
    assert row["true_effect"] == pytest.approx(0.06 + 2 * 0.03)
    again = simulate_staggered_pilot(load_cities(), seed=2023)
    assert again.equals(pilot)


def test_cs_and_sa_recover_the_truth_twfe_is_biased(pilot):
    truth_e = true_event_effects(pilot)
    cs = fit_did(pilot, **KW, n_boot=0)
    es = cs.event_study().set_index("event_time")
    z = (es["estimate"] - truth_e.reindex(es.index)) / es["std_error"]
    assert np.all(np.abs(z) < 4)
    sa = fit_did(pilot, **KW, estimator="sa").event_study().set_index("event_time")
    z = (sa["estimate"] - truth_e.reindex(sa.index)) / sa["std_error"].replace(0, np.inf)
    assert np.all(np.abs(z) < 4)
    att = pilot.loc[pilot["treated"] == 1, "true_effect"].mean()
    assert abs(cs.att - att) < 3 * cs.aggregate("simple").overall_se
    twfe = fit_did(pilot, **KW, estimator="twfe")
    # growing effects + already-treated comparisons: the static TWFE is biased down
    assert twfe.att < att - 2 * float(twfe.std_errors.iloc[0])
