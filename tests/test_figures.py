"""Figures of dtistat.plots: each returns a Figure with the expected artists and saves to PNG."""

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from dtistat import IndexSpec, compute_index, fit_efa, plots
from dtistat.errors import ParameterError
from dtistat.mediation import fit_mediation

QUARTERS = [f"{y}Q{q}" for y in (2021, 2022) for q in range(1, 5)] + ["2023Q1"]
CITIES = pd.DataFrame({
    "city": ["北京市", "上海市", "深圳市", "合肥市", "南宁市", "西宁市"],
    "name_en": ["Beijing", "Shanghai", "Shenzhen", "Hefei", "Nanning", "Xining"],
    "province": ["北京", "上海", "广东", "安徽", "广西", "青海"],
    "province_en": ["Beijing", "Shanghai", "Guangdong", "Anhui", "Guangxi", "Qinghai"],
    "tier": ["一线", "一线", "一线", "新一线", "二线", "三线"],
    "tier_en": ["tier1", "tier1", "tier1", "new_tier1", "tier2", "tier3"],
    "cluster": ["京津冀", "长三角", "珠三角", "长三角", "北部湾", ""],
    "cluster_en": ["jjj", "yrd", "prd", "yrd", "beibu", ""],
})


@pytest.fixture(scope="module")
def index():
    spec = IndexSpec.from_dict({"name": "total", "label": "总指数", "children": [
        {"name": "infrastructure", "label": "基础设施", "children": [{"name": "a"}, {"name": "b"}]},
        {"name": "platform", "label": "平台", "children": [{"name": "c"}]},
        {"name": "application", "label": "应用", "children": [{"name": "d"}]}]})
    rng = np.random.default_rng(3)
    rows = []
    for i, c in enumerate(CITIES["city"]):
        level = rng.uniform(1, 5, 4)
        for t, q in enumerate(QUARTERS):
            rows.append([c, q, *(level * (1 + (0.02 + 0.01 * i) * t))])
    df = pd.DataFrame(rows, columns=["city", "quarter", "a", "b", "c", "d"])
    return compute_index(df, spec, metadata=CITIES)


@pytest.fixture(scope="module")
def mediation():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x": rng.normal(size=300)})
    d["m1"] = 0.5 * d["x"] + rng.normal(size=300)
    d["m2"] = 0.3 * d["x"] + rng.normal(size=300)
    d["y"] = 0.4 * d["m1"] + 0.3 * d["m2"] + rng.normal(size=300)
    return fit_mediation(d, x="x", m=["m1", "m2"], y="y", n_boot=200, ci="percentile",
                         seed=1)


@pytest.fixture()
def english(monkeypatch):
    import dtistat._plotting as P

    monkeypatch.setattr(P, "use_chinese", lambda: False)


def saved(fig, tmp_path, name):
    assert isinstance(fig, Figure)
    p = tmp_path / f"{name}.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing CJK glyphs on machines without the font
        fig.savefig(p, dpi=50)
    assert p.stat().st_size > 1000
    return fig


def test_index_trend_by_layer(index, tmp_path, english):
    fig = saved(plots.index_trend_plot(index), tmp_path, "trend")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 4                     # total + three layers
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "total", "infrastructure", "platform", "application"]
    nat = index.scores["total"].groupby(level="quarter").sum().to_numpy()
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), nat)
    g = plots.index_trend_plot(index, growth="yoy", nodes=["total"])
    np.testing.assert_allclose(g.axes[0].get_lines()[0].get_ydata(),
                               100 * (nat[4:] / nat[:-4] - 1))


@pytest.mark.filterwarnings("ignore:Glyph")  # this machine may lack the font
def test_chinese_labels_when_a_cjk_font_exists(index, monkeypatch):
    import dtistat._plotting as P

    monkeypatch.setattr(P, "use_chinese", lambda: True)
    fig = plots.index_trend_plot(index)
    ax = fig.axes[0]
    assert ax.get_title() == "数字化转型指数趋势（分层）"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["总指数", "基础设施", "平台", "应用"]
    bars = plots.growth_by_tier_plot(index)
    assert [t.get_text() for t in bars.axes[0].get_xticklabels()] == ["一线", "新一线", "二线", "三线"]


def test_growth_by_tier(index, tmp_path, english):
    fig = saved(plots.growth_by_tier_plot(index), tmp_path, "tier")
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["tier1", "new_tier1", "tier2", "tier3"]
    g = index.growth("yoy_mean").set_index("city")["yoy_mean"]
    tier = CITIES.set_index("city")["tier"]
    want = (100 * g).groupby(tier.reindex(g.index)).mean()
    got = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(got, want[["一线", "新一线", "二线", "三线"]].to_numpy())


def test_cluster_shares(index, tmp_path, english):
    fig = saved(plots.cluster_share_plot(index, period="2023Q1"), tmp_path, "clusters")
    ax = fig.axes[0]
    assert len(ax.patches) == 5                          # four clusters + other
    assert sum(p.get_width() for p in ax.patches) == pytest.approx(100)
    assert ax.get_yticklabels()[-1].get_text() == "other"
    assert len(plots.cluster_share_plot(index, other=False).axes[0].patches) == 4


def test_rank_bump_chart(index, tmp_path, english):
    fig = saved(plots.rank_bump_plot(index, top=3), tmp_path, "bump")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3
    last = index.rank("2023Q1")
    first_city = last["city"].iloc[0]
    ranks = [int(index.rank(q).set_index("city").loc[first_city, "rank"]) for q in QUARTERS]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), ranks)
    en = CITIES.set_index("city")["name_en"]
    assert [t.get_text() for t in ax.texts] == list(en[last["city"].head(3)])


def test_province_bars(index, tmp_path, english):
    fig = saved(plots.province_bar_plot(index, top=4), tmp_path, "provinces")
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    s = index.scores["total"].xs(pd.Period("2023Q1", "Q"), level="quarter")
    prov = s.groupby(CITIES.set_index("city")["province"].reindex(s.index)).sum()
    np.testing.assert_allclose([p.get_height() for p in ax.patches],
                               prov.sort_values(ascending=False).head(4).to_numpy())
    assert ax.get_xticklabels()[0].get_text() in set(CITIES["province_en"])


def test_indirect_effect_distribution(mediation, tmp_path, english):
    fig = saved(plots.indirect_effect_plot(mediation), tmp_path, "indirect")
    assert len(fig.axes) == 2                            # one panel per mediator
    ind = mediation.indirect.set_index("term")
    for ax, term in zip(fig.axes, ["indirect[m1]", "indirect[m2]"]):
        xs = [ln.get_xdata()[0] for ln in ax.get_lines()]
        assert len(xs) == 4                              # CI low, CI high, estimate, zero
        assert xs[:3] == pytest.approx([ind.loc[term, "ci_low"], ind.loc[term, "ci_high"],
                                        ind.loc[term, "estimate"]])
    draws = np.random.default_rng(1).normal(0.2, 0.05, size=(1000, 2))
    arr = plots.indirect_effect_plot(draws, estimate=[0.2, 0.2], ci=[(0.1, 0.3), (0.1, 0.3)])
    assert len(arr.axes) == 2 and len(arr.axes[0].get_lines()) == 4
    one = plots.indirect_effect_plot(draws[:, 0])
    lo = one.axes[0].get_lines()[0].get_xdata()[0]
    assert lo == pytest.approx(np.quantile(draws[:, 0], 0.025))
    assert len(one.axes[0].get_lines()) == 3             # no estimate given


def test_scree_with_parallel_analysis(tmp_path, english):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(250, 2))
    load = np.array([[0.8, 0.7, 0.6, 0, 0, 0], [0, 0, 0, 0.8, 0.7, 0.6]])
    df = pd.DataFrame(f @ load + 0.6 * rng.normal(size=(250, 6)), columns=list("abcdef"))
    efa = fit_efa(df, n_factors="parallel", n_iter=100, seed=1)
    fig = saved(plots.scree_plot(efa), tmp_path, "scree")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 4                      # observed, 95th pct, mean, Kaiser
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), efa.parallel.observed)
    # fit_efa's parallel analysis compares factor eigenvalues ("parallel-pca":
    # component eigenvalues); the title says which (#21)
    assert "2 factor(s)" in ax.get_title()
    pca = fit_efa(df, n_factors="parallel-pca", n_iter=100, seed=1)
    assert "2 component(s)" in plots.scree_plot(pca).axes[0].get_title()
    fixed = plots.scree_plot(fit_efa(df, n_factors=2))
    assert len(fixed.axes[0].get_lines()) == 2           # no parallel analysis run
    assert len(plots.scree_plot(efa.parallel, kaiser=False).axes[0].get_lines()) == 3


def test_coef_plot(tmp_path, english):
    import statsmodels.api as sm

    from dtistat.panel import fit_panel

    g = sm.datasets.grunfeld.load_pandas().data
    kw = dict(entity="firm", time="year", cov="robust")
    res = [fit_panel(g, "invest ~ value + capital", **kw),
           fit_panel(g, "invest ~ value + capital", model="pooled", **kw)]
    fig = saved(plots.coef_plot(res), tmp_path, "coefs")
    assert len(fig.axes[0].containers) == 2
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["value", "capital"]


def test_figure_errors(index, mediation):
    bare = compute_index(index.to_frame()[["city", "quarter", "a", "b", "c", "d"]], index.spec)
    with pytest.raises(ParameterError, match="metadata"):
        plots.cluster_share_plot(bare)
    with pytest.raises(ParameterError, match="no column 'region'"):
        plots.growth_by_tier_plot(index, tier="region")
    with pytest.raises(ParameterError, match="not indirect effects"):
        plots.indirect_effect_plot(mediation, terms=["c"])
    with pytest.raises(ParameterError, match="node 'nope'"):
        plots.index_trend_plot(index, nodes=["nope"])
    with pytest.raises(ParameterError, match="EFAResult"):
        plots.scree_plot(object())


def test_rank_interval_legend_hides_no_city(tmp_path):
    """Issue #21: the legend sat in the lower right, over the intervals of the last cities."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from dtistat.index.sensitivity import weight_sensitivity

    spec = IndexSpec.from_dict({"name": "total", "children": [
        {"name": "a", "children": [{"name": "x1"}, {"name": "x2"}]},
        {"name": "b", "children": [{"name": "x3"}]}]})
    n = 20
    lin = np.linspace(20, 1, n)
    df = pd.DataFrame({"city": [f"C{i}" for i in range(n)], "quarter": "2021Q1",
                       "x1": lin, "x2": lin[::-1], "x3": lin})
    res = weight_sensitivity(df, spec, method="multiplicative", delta=0.5, n_draws=100, seed=0)
    for top in (3, 20):
        fig = plots.rank_interval_plot(res, top=top)
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[0]
        legends = [*fig.legends, *([ax.get_legend()] if ax.get_legend() else [])]
        assert len(legends) == 1
        box = legends[0].get_window_extent()
        pts = np.vstack([np.column_stack([ln.get_xdata(), ln.get_ydata()])
                         for ln in ax.get_lines()])
        seg = np.vstack([s.reshape(-1, 2) for s in ax.collections[0].get_segments()])
        xy = ax.transData.transform(np.vstack([pts, seg]))
        inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1)
                  & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1))
        assert not inside.any()
        assert not box.overlaps(ax.xaxis.label.get_window_extent())
        assert box.y0 >= 0 and box.x0 >= 0 and box.x1 <= fig.bbox.width  # on the figure
        assert all(float(t).is_integer() for t in ax.get_xticks())  # ranks: whole numbers
        saved(fig, tmp_path, f"ranks{top}")


def test_tiers_without_english_names_or_cjk_font_are_not_boxes(index, english):
    """Issue #21: tier ticks were Chinese (boxes without a CJK font) when the metadata
    had no tier_en column."""
    meta = CITIES.drop(columns=["tier_en"])
    fig = plots.growth_by_tier_plot(index, metadata=meta)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "tier 1", "new tier 1", "tier 2", "tier 3"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(__import__("io").BytesIO(), format="png")
    assert not [w for w in caught if "Glyph" in str(w.message)]
