"""The disparity functions on an IndexResult (nodes, metadata groups) and their figures."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from dtistat import compute_index
from dtistat.errors import ParameterError, PeriodError
from dtistat.index.disparity import (
    beta_convergence,
    coupling_coordination,
    dagum_gini,
    kernel_density,
    markov,
    obstacle_degree,
    sigma_convergence,
    theil,
    topsis,
)
from dtistat.index.disparity import plots as dplots


@pytest.fixture(scope="module")
def res():
    rng = np.random.default_rng(7)
    cities = [f"c{i:02d}" for i in range(40)]
    quarters = [str(p) for p in pd.period_range("2021Q1", "2022Q4", freq="Q")]
    df = pd.DataFrame([(c, q) for c in cities for q in quarters], columns=["city", "quarter"])
    df["a"] = rng.lognormal(0, 0.5, len(df))
    df["b"] = rng.lognormal(0, 0.5, len(df))
    spec = {"name": "total", "children": [{"name": "infra", "children": [{"name": "a"}]},
                                          {"name": "app", "children": [{"name": "b"}]}]}
    meta = pd.DataFrame({"city": cities, "region": np.array(["E", "W", "C", "NE"])[
        np.arange(40) % 4], "pop": rng.uniform(1, 10, 40)})
    return dataclasses.replace(compute_index(df, spec), metadata=meta)


def test_index_result_inputs(res):
    d = dagum_gini(res, group="region", weights="pop")
    assert d.weighting == "population" and d.within.shape == (8, 4)
    assert d.overall.index.name == "quarter"
    t = theil(res, value="infra", group="region")
    s_infra = res.scores["infra"].xs(res.periods[0], level="quarter")
    r = s_infra / s_infra.mean()
    assert t.decomposition["total"].iloc[0] == pytest.approx(float((r * np.log(r)).mean()))
    m = markov(res, k=4)
    assert int(m.counts.to_numpy().sum()) == 40 * 7
    th = m.time_homogeneity(["2022Q1"])  # quarters given as text
    assert th.regimes == ("2021Q1-2021Q4", "2022Q1-2022Q3")
    with pytest.raises(PeriodError, match="inner periods"):
        m.time_homogeneity(["2021Q1"])
    assert sigma_convergence(res).table.shape[0] == 8
    b = beta_convergence(res, controls=["app"])
    assert b.kind == "conditional" and list(b.params.index) == ["const", "ln_total_0", "app"]
    kd = kernel_density(res, value="app", kernel="gaussian")
    assert kd.density.shape == (200, 8)
    U = res.scores[["infra", "app"]]
    cc = coupling_coordination(dataclasses.replace(res, scores=U / U.max().max()),
                               ["infra", "app"])
    assert {"city", "quarter", "C", "T", "D", "class"} <= set(cc.table.columns)
    tp = topsis(res, weights="index")
    ref = topsis(res.normalized.reset_index(), ["a", "b"], weights=res.weights.to_dict(),
                 entity="city", time="quarter")
    np.testing.assert_allclose(tp.table["score"], ref.table["score"], rtol=1e-14)
    assert list(tp.table.columns[:2]) == ["city", "quarter"]
    assert obstacle_degree(res, weights="index").table.shape == (40 * 8, 4)
    with pytest.raises(ParameterError, match="needs an IndexResult"):
        topsis(res.normalized, ["a", "b"], weights="index")
    with pytest.raises(ParameterError, match="metadata has no column 'tier'"):
        dagum_gini(res, group="tier")
    with pytest.raises(ParameterError, match="node='nope'"):
        theil(res, value="nope")


def test_figures(res):
    d = dagum_gini(res, group="region")
    fig = dplots.dagum_share_plot(d)
    assert len(fig.axes[0].patches) == 3 * 8
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # issue #21: the legend covered the first bars
    box = fig.legends[0].get_window_extent()
    assert fig.axes[0].get_legend() is None and len(fig.legends[0].get_texts()) == 4
    assert not any(box.overlaps(p.get_window_extent()) for p in fig.axes[0].patches)
    kd = kernel_density(res)
    fig = dplots.density_surface_plot(kd)
    assert fig.axes[0].name == "3d"
    assert len(dplots.density_surface_plot(kd, kind="ridge").axes[0].lines) == 8
    assert len(dplots.density_overlay_plot(kd).axes[0].lines) == 3
    m = markov(res, k=4)
    fig = dplots.markov_heatmap(m)
    assert len(fig.axes[0].texts) == 16
    with pytest.raises(ParameterError, match="period"):
        dplots.density_overlay_plot(kd, periods=["1999Q1"])


def test_results_protocol(res):
    """Every disparity result implements dtistat._results (as tests/test_results_protocol)."""
    from dtistat._results import CoefResult, Result, Summary
    from dtistat.index.disparity import log_t_test, spatial_markov
    from dtistat.index.disparity.markov import homogeneity

    U = res.scores[["infra", "app"]]
    ring = np.roll(np.eye(40), 1, axis=1) + np.roll(np.eye(40), -1, axis=1)
    m = markov(res, k=4)
    found = [
        dagum_gini(res, group="region"), theil(res, group="region"), m,
        spatial_markov(res, ring, k=3, m=3), homogeneity(m.counts.to_numpy()[None].repeat(2, 0)),
        m.time_homogeneity(["2022Q1"]), sigma_convergence(res), beta_convergence(res),
        beta_convergence(res, model="panel"), log_t_test(res, time_trim=0.25),
        kernel_density(res),
        coupling_coordination(dataclasses.replace(res, scores=U / U.max().max()),
                              ["infra", "app"]),
        topsis(res, weights="index"), obstacle_degree(res, weights="index"),
    ]
    for r in found:
        assert isinstance(r, Result)
        s = r.summary()
        assert isinstance(s, Summary) and str(s)
        assert s._repr_html_().lstrip().startswith("<") and "\\begin{table}" in s.as_latex()
        assert all(isinstance(t, pd.DataFrame) for t in s.tables.values())
        assert isinstance(r.to_frame(), pd.DataFrame)
        rep = repr(r)
        assert len(rep.splitlines()) == 1 and len(rep) < 300, rep
        assert (r == r) is True and (r == object()) is False
        hash(r)
        if isinstance(r, CoefResult):
            assert list(r.conf_int().columns) == ["lower", "upper"]
            assert len(r.tidy()) == len(r.params) and int(r.nobs) > 0
