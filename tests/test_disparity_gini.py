"""Dagum Gini decomposition against brute-force O(n^2) Dagum formulas and the
Bhattacharya-Mahalanobis within/between/overlap decomposition (both written here,
independently of the fast sorted-sum code)."""

import numpy as np
import pandas as pd
import pytest

from dtistat.errors import DataError, DtiStatError, ParameterError
from dtistat.index.disparity import dagum_gini


def brute_dagum(y, w, g):
    """Dagum (1997, Empirical Economics 22:515-531) eqs. by explicit double sums."""
    labels = sorted(set(g))
    W, mu = w.sum(), (w * y).sum() / w.sum()
    G = (np.outer(w, w) * np.abs(y[:, None] - y[None, :])).sum() / (2 * W**2 * mu)
    grp = {}
    for lab in labels:
        m = g == lab
        grp[lab] = (y[m], w[m], w[m].sum(), (w[m] * y[m]).sum() / w[m].sum())
    Gw = Gnb = Gt = 0.0
    Gjj = {}
    for lab in labels:
        yj, wj, Wj, mj = grp[lab]
        Gjj[lab] = (np.outer(wj, wj) * np.abs(yj[:, None] - yj[None, :])).sum() / (2 * Wj**2 * mj)
        Gw += Gjj[lab] * (Wj / W) * (Wj * mj / (W * mu))
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            j, h = labels[a], labels[b]
            if grp[j][3] < grp[h][3]:
                j, h = h, j  # Dagum orders so that mu_j >= mu_h
            yj, wj, Wj, mj = grp[j]
            yh, wh, Wh, mh = grp[h]
            diff = yj[:, None] - yh[None, :]
            ww = np.outer(wj, wh) / (Wj * Wh)
            Gjh = (ww * np.abs(diff)).sum() / (mj + mh)
            d = (ww * np.where(diff > 0, diff, 0)).sum()   # gross affluence d_jh
            p1 = (ww * np.where(diff < 0, -diff, 0)).sum()  # first-order transvariation p_jh
            D = (d - p1) / (d + p1)
            pj, ph, sj, sh = Wj / W, Wh / W, Wj * mj / (W * mu), Wh * mh / (W * mu)
            Gnb += Gjh * (pj * sh + ph * sj) * D
            Gt += Gjh * (pj * sh + ph * sj) * (1 - D)
    return G, Gw, Gnb, Gt, Gjj


def bm_decomposition(y, w, g):
    """Bhattacharya & Mahalanobis (1967): within = sum p_j s_j G_j; between = Gini of
    the distribution where each unit has its group mean; overlap = the rest."""
    def gini(x, wt):
        return (np.outer(wt, wt) * np.abs(x[:, None] - x[None, :])).sum() / (
            2 * wt.sum() ** 2 * (wt * x).sum() / wt.sum())
    W, mu = w.sum(), (w * y).sum() / w.sum()
    within = 0.0
    means = np.empty_like(y)
    for lab in set(g):
        m = g == lab
        mj = (w[m] * y[m]).sum() / w[m].sum()
        means[m] = mj
        within += (w[m].sum() / W) * (w[m].sum() * mj / (W * mu)) * gini(y[m], w[m])
    between = gini(means, w)
    return within, between, gini(y, w) - within - between


def _panel(seed=0, n=120, periods=3, k=4, weighted=False):
    rng = np.random.default_rng(seed)
    rows = []
    g = rng.choice(list("ABCD")[:k], size=n)
    pop = rng.uniform(0.5, 5, size=n)
    for t in range(periods):
        y = rng.lognormal(0.2 * (g == "B") + 0.1 * t, 0.6, size=n)
        y[rng.choice(n, 3, replace=False)] = 0.0  # zeros are accepted
        rows.append(pd.DataFrame({"city": np.arange(n), "year": 2000 + t, "y": y,
                                  "region": g, "pop": pop}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("weighted", [False, True])
def test_dagum_equals_bruteforce_and_bm(weighted):
    df = _panel()
    before = df.copy()
    r = dagum_gini(df, value="y", entity="city", time="year", group="region",
                   weights="pop" if weighted else None)
    pd.testing.assert_frame_equal(df, before)
    assert r.weighting == ("population" if weighted else "unit")
    assert r.identity_error < 1e-15
    for t, sub in df.groupby("year"):
        y, g = sub["y"].to_numpy(), sub["region"].to_numpy()
        w = sub["pop"].to_numpy() if weighted else np.ones_like(y)
        G, Gw, Gnb, Gt, Gjj = brute_dagum(y, w, g)
        row = r.overall.loc[t]
        np.testing.assert_allclose([row.G, row.Gw, row.Gnb, row.Gt], [G, Gw, Gnb, Gt],
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(r.within.loc[t].to_numpy(), [Gjj[k] for k in "ABCD"],
                                   rtol=1e-12)
        within, between, overlap = bm_decomposition(y, w, g)
        assert row.Gw == pytest.approx(within, rel=1e-12)
        assert row.Gnb == pytest.approx(between, rel=1e-12)
        assert row.Gnb + row.Gt == pytest.approx(between + overlap, rel=1e-12)
        assert row.share_w + row.share_nb + row.share_t == pytest.approx(1.0, rel=1e-14)


def test_identity_many_periods_large():
    rng = np.random.default_rng(3)
    n, T = 2000, 5
    df = pd.DataFrame({"e": np.tile(np.arange(n), T), "t": np.repeat(np.arange(T), n),
                       "y": rng.gamma(2.0, 1.0, n * T), "g": np.tile(rng.integers(0, 4, n), T)})
    r = dagum_gini(df, value="y", entity="e", time="t", group="g")
    G = r.overall["G"].to_numpy()
    assert np.max(np.abs(G - r.overall[["Gw", "Gnb", "Gt"]].sum(axis=1).to_numpy())) < 1e-15
    assert r.identity_error < 1e-15
    # a unit-level Gini from one sort must agree with the brute-force mean difference
    sub = df[df.t == 0]
    assert G[0] == pytest.approx(brute_dagum(sub.y.to_numpy(), np.ones(n),
                                             sub.g.to_numpy())[0], rel=1e-12)


def test_dagum_on_index_result():
    from dtistat import compute_index

    rng = np.random.default_rng(1)
    cities = [f"c{i}" for i in range(12)]
    df = pd.DataFrame({"city": np.repeat(cities, 2), "quarter": ["2021Q1", "2021Q2"] * 12,
                       "x": rng.uniform(1, 5, 24)})
    meta = pd.DataFrame({"city": cities, "region": ["E", "W", "C"] * 4})
    res = compute_index(df, {"name": "total", "children": [{"name": "x"}]})
    import dataclasses
    res = dataclasses.replace(res, metadata=meta)
    r = dagum_gini(res, group="region")
    assert list(r.within.columns) == ["C", "E", "W"]
    assert r.overall.shape[0] == 2
    s = res.scores["total"].xs(res.periods[0], level="quarter")
    g = meta.set_index("city")["region"].reindex(s.index).to_numpy()
    G, Gw, Gnb, Gt, _ = brute_dagum(s.to_numpy(), np.ones(12), g)
    np.testing.assert_allclose(r.overall.iloc[0][["G", "Gw", "Gnb", "Gt"]].to_numpy(float),
                               [G, Gw, Gnb, Gt], rtol=1e-12)
    assert "Dagum" in str(r.summary()) and "G=" in repr(r)
    assert "\\begin{table}" in r.summary().as_latex()


def test_bad_input_names_the_problem():
    df = _panel(periods=2)
    d = df.copy()
    d.loc[5, "y"] = -1.0
    with pytest.raises(DataError, match="non-negative.*'y'"):
        dagum_gini(d, value="y", entity="city", time="year", group="region")
    d = df.copy()
    d.loc[7, "y"] = np.nan
    with pytest.raises(DataError, match="NaN"):
        dagum_gini(d, value="y", entity="city", time="year", group="region")
    d = df.copy()
    d.loc[d.year == 2001, "y"] = 0.0
    with pytest.raises(DataError, match="zero in period 2001"):
        dagum_gini(d, value="y", entity="city", time="year", group="region")
    d = df.copy()
    d.loc[(d.year == 2000) & (d.city == 0), "region"] = "Z"
    with pytest.raises(DataError, match="group 'Z'.*period 2000"):
        dagum_gini(d, value="y", entity="city", time="year", group="region")
    d = df.copy()
    d.loc[(d.year == 2001) & (d.region == "C"), "y"] = 0.0
    with pytest.raises(DataError, match="zero in group 'C'.*period 2001"):
        dagum_gini(d, value="y", entity="city", time="year", group="region")
    with pytest.raises(DtiStatError, match="'nope'"):
        dagum_gini(df, value="y", entity="city", time="year", group="nope")
    with pytest.raises(ParameterError, match="group="):
        dagum_gini(df, value="y", entity="city", time="year")
