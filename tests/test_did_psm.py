"""PSM-DiD: scores against statsmodels' logit, matches against a brute-force loop,
balance by hand, the DiD against fit_panel on the matched rows, order invariance."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from dtistat.did.psm import psm_did
from dtistat.errors import ParameterError
from dtistat.panel import fit_panel

KW = {"y": "y", "treat_time": "g", "entity": "city", "time": "year"}


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(3)
    n, T = 80, 6
    z = rng.normal(size=n)
    g = np.where(rng.random(n) < 1 / (1 + np.exp(-1.2 * z)), rng.choice([2013, 2014], n), 0)
    df = pd.DataFrame({"city": np.repeat(np.arange(n), T),
                       "year": np.tile(np.arange(2010, 2010 + T), n), "g": np.repeat(g, T)})
    df["x1"] = np.repeat(z, T) + 0.5 * rng.normal(size=len(df))
    df["x2"] = rng.normal(size=len(df))
    df["y"] = (df["x1"] + 0.3 * df["year"] + rng.normal(size=len(df)) * 0.2
               + 0.5 * ((df.g > 0) & (df.year >= df.g)))
    return df


def _brute(p, treat, caliper=None, replacement=True):
    """Nearest control for each treated row; ties -> first control in row order."""
    t_idx, c_idx = np.flatnonzero(treat), np.flatnonzero(~treat)
    w = np.zeros(len(p))
    used = set()
    order = t_idx if replacement else t_idx[np.argsort(-p[t_idx], kind="stable")]
    for i in order:
        best, bd = None, np.inf
        for j in c_idx:
            if not replacement and j in used:
                continue
            d = abs(p[i] - p[j])
            if d < bd and (caliper is None or d <= caliper):
                best, bd = j, d
        if best is not None:
            w[i] = 1
            w[best] += 1
            used.add(best)
    return w


def test_scores_and_matches(panel):
    r = psm_did(panel, **KW, covariates=["x1", "x2"])
    m = r.matched
    treat = (panel["g"] > 0).to_numpy()
    X = sm.add_constant(panel[["x1", "x2"]])
    ref = sm.Logit(treat.astype(float), X).fit(disp=0, tol=1e-12).predict(X)
    np.testing.assert_allclose(m["pscore"].to_numpy(), ref, rtol=1e-8)
    np.testing.assert_array_equal(m["weight"].to_numpy(), _brute(ref.to_numpy(), treat))
    cal = psm_did(panel, **KW, covariates=["x1", "x2"], caliper=0.002)
    np.testing.assert_array_equal(cal.matched["weight"].to_numpy(),
                                  _brute(ref.to_numpy(), treat, caliper=0.002))
    assert cal.n_treated_unmatched == int((treat & (cal.matched["weight"] == 0)).sum()) > 0


def test_without_replacement_uses_each_control_once(panel):
    d = panel[panel["year"] == 2010]
    d = pd.concat([d.assign(year=2010), d.assign(year=2011)])  # a small 2-period panel
    d["g"] = np.where(d["g"] > 0, 2011, 0)
    d["y"] = d["y"] + 0.1 * (d["year"] - 2010)
    r = psm_did(d, **KW, covariates="x1", replacement=False, caliper=0.2)
    treat = (d.sort_values(["city", "year"])["g"] > 0).to_numpy()
    w = r.matched["weight"].to_numpy()
    assert set(np.unique(w[~treat])) <= {0.0, 1.0}
    np.testing.assert_array_equal(w, _brute(r.matched["pscore"].to_numpy(), treat, 0.2,
                                            replacement=False))


def test_balance_and_did_on_the_matched_sample(panel):
    r = psm_did(panel, **KW, covariates=["x1", "x2"], caliper=0.05)
    m = r.matched
    treat, w = m["treated_group"].to_numpy(), m["weight"].to_numpy()
    x = panel["x1"].to_numpy()
    sd = np.sqrt((x[treat].var(ddof=1) + x[~treat].var(ddof=1)) / 2)
    before = 100 * (x[treat].mean() - x[~treat].mean()) / sd
    mc = (w > 0) & ~treat
    after = 100 * (x[(w > 0) & treat].mean() - np.average(x[mc], weights=w[mc])) / sd
    assert r.balance.loc["x1", "bias_before_%"] == pytest.approx(before, rel=1e-12)
    assert r.balance.loc["x1", "bias_after_%"] == pytest.approx(after, rel=1e-12)
    assert abs(after) < abs(before) / 3  # matching removes most of the selection on x1
    sub = panel[w > 0].assign(D=lambda f: ((f.g > 0) & (f.year >= f.g)).astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fit_panel(sub, "y ~ D + x1 + x2", entity="city", time="year", fe="twoway")
    assert r.att == pytest.approx(float(ref.params.iloc[0]), abs=1e-12)
    assert r.std_errors.iloc[0] == pytest.approx(float(ref.std_errors.iloc[0]), rel=1e-12)
    assert "Balance" in r.summary().tables


def test_order_invariance_and_by_period(panel):
    a = psm_did(panel, **KW, covariates=["x1", "x2"])
    b = psm_did(panel.sample(frac=1, random_state=0), **KW, covariates=["x1", "x2"])
    assert a.att == b.att
    assert a.matched["weight"].to_numpy().tolist() == b.matched["weight"].to_numpy().tolist()
    p = psm_did(panel, **KW, covariates=["x1"], by="period")
    one = panel[panel["year"] == 2012]
    X = sm.add_constant(one[["x1"]])
    ref = sm.Logit((one["g"] > 0).astype(float), X).fit(disp=0, tol=1e-12).predict(X)
    got = p.matched.loc[p.matched["year"] == 2012, "pscore"].to_numpy()
    np.testing.assert_allclose(got, ref.to_numpy(), rtol=1e-8)


def test_psm_bad_input(panel):
    with pytest.raises(ParameterError, match="covariates"):
        psm_did(panel, **KW, covariates=[])
    with pytest.raises(ParameterError, match="caliper"):
        psm_did(panel, **KW, covariates="x1", caliper=-1)
    with pytest.raises(ParameterError, match="by"):
        psm_did(panel, **KW, covariates="x1", by="city")


def _argsort_match(p_t, p_c, k, caliper):
    """The dense definition: stable argsort of every treated row's distances."""
    d = np.abs(p_t[:, None] - p_c[None, :])
    if caliper is not None:
        d[d > caliper] = np.inf
    pick = np.argsort(d, axis=1, kind="stable")[:, :k]
    out = np.full((len(p_t), k), -1)
    ok = np.isfinite(np.take_along_axis(d, pick, axis=1))
    out[ok] = pick[ok]
    return out


def test_chunked_matching_equals_stable_argsort_with_ties(monkeypatch):
    from dtistat.did import psm
    monkeypatch.setattr(psm, "_MATCH_BYTES", 8 * 40 * 3)  # 3 treated per chunk
    rng = np.random.default_rng(0)
    for trial in range(200):
        nt, nc, k = rng.integers(1, 30), rng.integers(6, 40), rng.integers(1, 6)
        lv = int(rng.integers(1, 6))  # few distinct scores: many equidistant controls
        p_t = rng.integers(0, lv, nt) / lv if trial % 2 else rng.random(nt)
        p_c = rng.integers(0, lv, nc) / lv if trial % 3 else rng.random(nc)
        cal = (None, 0.1, 0.3)[trial % 3]
        got = psm._match_stratum(p_t, p_c, k, cal, True)
        np.testing.assert_array_equal(got, _argsort_match(p_t, p_c, k, cal))
    # more neighbours than controls: the rest unmatched (-1), not an IndexError
    got = psm._match_stratum(np.array([0.1, 0.5]), np.array([0.2, 0.4]), 3, None, True)
    np.testing.assert_array_equal(got, [[0, 1, -1], [1, 0, -1]])


def test_matching_with_replacement_memory_is_not_treated_times_controls():
    # 20,000 city-years, ~18,500 treated x ~1,500 control observations: the distance
    # matrix and its argsort took ~440 MB before (11 GB at 100,000 rows)
    import tracemalloc
    rng = np.random.default_rng(1)
    n, T = 1000, 20
    g = rng.choice([0] + list(range(2005, 2017)), n)
    df = pd.DataFrame({"id": np.repeat(np.arange(n), T),
                       "year": np.tile(np.arange(2000, 2000 + T), n), "g": np.repeat(g, T)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=len(df)) + 0.5 * ((df.g > 0) & (df.year >= df.g))
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = psm_did(df, y="y", treat_time="g", entity="id", time="year",
                          covariates="x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.n_treated_unmatched == 0 and res.nobs > 18_000
    assert peak < 80 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def greedy_loop(p_t, p_c, k, caliper):
    """Reference path of matching without replacement (the loop psm_did used before the
    kernel of :mod:`dtistat.did._greedy`): highest score first (stable), each takes the
    k nearest unused controls by a stable argsort of its distances, within the caliper."""
    out = np.full((len(p_t), k), -1)
    used = np.zeros(len(p_c), bool)
    for i in np.argsort(-p_t, kind="stable"):
        d = np.abs(p_c - p_t[i])
        d[used] = np.inf
        if caliper is not None:
            d[d > caliper] = np.inf
        pick = np.argsort(d, kind="stable")[:k]
        pick = pick[np.isfinite(d[pick])]
        out[i, :len(pick)] = pick
        used[pick] = True
    return out


def test_greedy_kernel_equals_the_loop_with_ties_and_rounding():
    from dtistat.did import psm
    rng = np.random.default_rng(4)
    for trial in range(600):
        nt, nc, k = rng.integers(1, 30), rng.integers(1, 60), int(rng.integers(1, 4))
        if trial % 3 == 0:
            p_t, p_c = rng.random(nt), rng.random(nc)
        else:  # few distinct scores: equidistant controls on one or both sides
            lv = rng.integers(0, 6, size=nt + nc) / 8 + 0.01
            p_t, p_c = lv[:nt] + (trial % 3 == 2) * rng.choice([0, 1 / 16], nt), lv[nt:]
        cal = (None, 0.05, 1 / 16, 0.2)[trial % 4]
        np.testing.assert_array_equal(psm._match_stratum(p_t, p_c, k, cal, False),
                                      greedy_loop(p_t, p_c, k, cal))
    # scores one ulp apart: distances that round to the same float are ties in the loop
    collided = 0
    for trial in range(300):
        base = rng.random(3)
        p_c = np.concatenate([b + np.spacing(b) * np.array([0, 1, 1, 2, 3]) for b in base])
        rng.shuffle(p_c)
        p_t = np.clip(rng.choice(np.r_[base + 0.25, base - 0.1, base], 6), 1e-3, 1 - 1e-3)
        d = np.abs(p_t[:, None] - p_c[None, :])
        collided += sum(len(np.unique(r)) < len(np.unique(p_c)) for r in d)
        np.testing.assert_array_equal(psm._match_stratum(p_t, p_c, 2, None, False),
                                      greedy_loop(p_t, p_c, 2, None))
    assert collided > 100  # the rounding case was exercised


def test_without_replacement_end_to_end_equals_the_loop(panel):
    r = psm_did(panel, **KW, covariates=["x1", "x2"], replacement=False, n_neighbors=2,
                caliper=0.1)
    m = r.matched
    treat = m["treated_group"].to_numpy()
    p = m["pscore"].to_numpy()
    t_rows, c_rows = np.flatnonzero(treat), np.flatnonzero(~treat)
    picks = greedy_loop(p[t_rows], p[c_rows], 2, 0.1)
    w = np.zeros(len(p))
    w[t_rows[(picks >= 0).any(1)]] = 1.0
    np.add.at(w, c_rows[picks[picks >= 0]], 0.5)
    np.testing.assert_array_equal(m["weight"].to_numpy(), w)
    assert set(np.unique(w[~treat])) <= {0.0, 0.5}
