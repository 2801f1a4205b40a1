"""The demo report comments on its own numbers (issue #21 item 14).

An estimate far from the simulated truth gets a sentence saying why; the demo does not
trigger its own warnings (Sobol "increase n_base").
"""

import warnings

import pandas as pd
import pytest

from dtistat import report
from dtistat.reporting.truth import truth_notes, within_sd


@pytest.fixture(scope="module")
def ctx():
    return report._Context(2023)


def test_panel_section_explains_the_estimate_far_from_its_truth(ctx):
    sec = report._panel(ctx)
    tab = dict((name, t) for name, t, _ in sec.tables)["panel_twoway_fe"]
    row = tab.set_index("term").loc["log_population"]
    assert abs(row["estimate"] - row["truth"]) > 1  # the 7.68 beside "truth 0.5"
    assert "log_population: 7.68" in sec.text
    assert "contains the truth" in sec.text and "barely identified" in sec.text
    # the reason given is true: almost no variation is left after the two-way effects
    sd = within_sd(ctx.world.mediation_panel, "log_population", "city", "quarter")
    assert sd < 0.003
    assert f"sd {sd:.4f}" in sec.text


def test_demo_sobol_design_converges_without_a_warning(ctx):
    from dtistat.sensitivity import sobol_weights

    w = ctx.world
    leaves = [leaf.column for leaf in w.spec.leaves]
    city = w.cube.groupby(["city", "quarter"], as_index=False)[leaves].sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "increase n_base" would fail here
        sob = sobol_weights(city, w.spec, groups="layer", n_base=report.SOBOL_N_BASE, seed=1)
    assert sob.converged
    assert sob.convergence[["dS1", "dST"]].to_numpy().max() < 0.02


def test_truth_notes_wording():
    t = pd.DataFrame({"term": ["off", "fine", "biased"], "estimate": [7.68, 1.01, 3.0],
                      "truth": [0.5, 1.0, 1.0], "std_error": [4.5, 0.5, 0.1],
                      "ci_low": [-1.2, 0.0, 2.8], "ci_high": [16.5, 2.0, 3.2]})
    notes = truth_notes(t, reasons={"off": "it barely varies"})
    assert len(notes) == 2  # "fine" is within a quarter of its truth: no comment
    assert notes[0].startswith("off: 7.68 (SE 4.5)") and "1.6 standard errors" in notes[0]
    assert "contains the truth" in notes[0] and notes[0].endswith("it barely varies.")
    assert notes[1].startswith("biased: 3") and "misses the truth" in notes[1]


def test_table_caption_sits_inside_the_table_tag():
    # the caption was spliced into "<table ...>" itself: "<table><caption>..</caption
    # class="dataframe">": attributes on an end tag, the table's own lost
    sec = report.Section("t", "1 T", tables=[("t1", pd.DataFrame({"a": [1.5]}), "cap <x>")])
    html = "".join(report._section_html(1, sec))
    assert ('<table class="dataframe"><caption>cap &lt;x&gt; '
            "(<a href='tables/t1.csv'>CSV</a>)</caption>") in html
    assert "</caption>\n  <thead>" in html and html.count("<table") == 1
