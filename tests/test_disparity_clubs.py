"""Phillips-Sul club convergence clustering against R ConvergenceClubs' Python port.

References: ``convergence-clubs`` 0.1.2 (a port of R ``ConvergenceClubs`` 2.2.5, Sichera &
Pizzuto 2019, R Journal 11(2):142-151, tested by its authors against R to 1e-8), run here
on the same data; its README's printed clubs of R's ``filteredGDP`` (152 countries,
1970-2003); R's ``filteredGDP`` itself for the HP filter.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dtistat.errors import DataError, DtiStatError, ParameterError
from dtistat.index.disparity import convergence_clubs, log_t_test
from dtistat.index.disparity._logt_batch import cross_variation, group_H, log_t_rows

cc = pytest.importorskip("convergence_clubs")
KW = dict(value="x", entity="Countries", time="year")


@pytest.fixture(scope="module")
def gdp():
    return cc.load_filtered_gdp()  # R ConvergenceClubs' filteredGDP


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.stack().rename("x").reset_index()


def _same(r, ref) -> None:
    """Identical memberships and club statistics to 1e-10 (relative)."""
    pd.testing.assert_series_equal(r.memberships, ref.memberships(), check_names=False)
    s = ref.summary()
    assert list(r.clubs.index) == list(s.index)
    assert r.clubs["n_units"].tolist() == s["n_units"].tolist()
    for ours, theirs in (("beta", "beta"), ("std_error", "std_err"), ("t_value", "t_value"),
                         ("p_value", "p_value")):
        np.testing.assert_allclose(r.clubs[ours], s[theirs], rtol=1e-10, atol=1e-13)
    assert r.divergent == list(ref.divergent)


def test_gdp_clubs_equal_r_convergence_clubs(gdp):
    long = _long(gdp)
    for rule in ("max_abs_t", "max_t"):  # R's rule and Phillips-Sul's agree on this panel
        r = convergence_clubs(long, **KW, core_rule=rule)
        _same(r, cc.find_clubs(gdp, core_rule=rule))
    # convergence-clubs 0.1.2 README, clubs of filteredGDP with R's defaults (time_trim=1/3,
    # c*=0, FQSB): sizes and t as printed (3 decimals)
    assert r.clubs["n_units"].tolist() == [50, 30, 21, 24, 14, 11, 2]
    np.testing.assert_allclose(r.clubs["t_value"].round(3),
                               [9.282, 6.904, 3.402, 2.055, 1.701, 6.024, -0.559])
    np.testing.assert_allclose(r.clubs["beta"].round(3),
                               [0.382, 0.240, 0.110, 0.131, 0.190, 1.003, -0.470])
    assert r.clubs["converges"].all() and r.divergent == []
    # the whole panel: the log t test (b = -0.8748, t = -159.55)
    assert r.overall["t_value"] == pytest.approx(
        log_t_test(long, **KW).t_value, rel=1e-10)


@pytest.mark.parametrize("merge", ["ps", "vlt"])
@pytest.mark.parametrize("div", [False, True])
def test_merging_equals_r(gdp, merge, div):
    r = convergence_clubs(_long(gdp), **KW, merge=merge, merge_divergent=div)
    _same(r, cc.find_clubs(gdp).merge(merge.upper() if merge == "ps" else "vLT",
                                       merge_divergent=div))
    # README: "club4 + club5 converge together: 6 clubs"
    assert r.clubs["n_units"].tolist() == [50, 30, 21, 38, 11, 2]
    assert r.clubs.loc["club4", "merged_from"] == "club4+club5"
    assert r.initial_clubs["n_units"].tolist() == [50, 30, 21, 24, 14, 11, 2]
    st = r.merge_steps.set_index("clubs")
    assert bool(st.loc["club4+club5", "merged"]) and not st.loc["club1+club2", "merged"]
    assert st.loc["club4+club5", "t_value"] == pytest.approx(
        r.clubs.loc["club4", "t_value"], rel=1e-10)


@pytest.mark.parametrize("time_trim,cstar,method,cap,inc", [
    (1 / 3, -3.0, "fixed", 3.0, 0.1), (1 / 3, -3.0, "incremental", 3.0, 0.1),
    (1 / 3, -2.0, "incremental", 3.0, 0.5), (0.5, 0.0, "incremental", 0.0, 1.0),
    (0.3, -1.0, "fixed", 3.0, 0.1), (0.25, 0.5, "incremental", 3.0, 0.1)])
def test_sieve_options_equal_r(gdp, time_trim, cstar, method, cap, inc):
    # c* = -3 / -2 leave failing clubs with a fixed c*; incremental raises c* (past the
    # cap the club is its core group: time_trim=0.5, cap 0, increment 1)
    kw = dict(time_trim=time_trim, cstar=cstar, cstar_method=method, cstar_cap=cap,
              cstar_increment=inc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cc.find_clubs(gdp, **kw)
        refm = ref.merge("vLT", merge_divergent=True)
    _same(convergence_clubs(_long(gdp), **KW, **kw), ref)
    r = convergence_clubs(_long(gdp), **KW, **kw, merge="vlt", merge_divergent=True)
    _same(r, refm)
    if cap == 0.0:  # the cap was passed: that club is its core group, c* = 1
        assert (r.initial_clubs["cstar"] == 1.0).sum() == 1


def test_productivity_panel_with_failing_club_and_levels():
    # Mendez (2020) labour productivity, 108 countries x 1990-2014, given in levels:
    # log and HP filter inside (c* = -2 leaves a failing club with a fixed c*)
    lp = cc.load_productivity("lp")
    long = lp.stack().rename("x").reset_index()
    kw = dict(value="x", entity="country", time="year", log=True, hp_lambda=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = cc.hp_filter(np.log(lp))
        for method in ("fixed", "incremental"):
            r = convergence_clubs(long, **kw, cstar=-2.0, cstar_method=method)
            _same(r, cc.find_clubs(data, cstar=-2.0, cstar_method=method))
            assert r.clubs["converges"].all() == (method == "incremental")


def test_hp_filter_equals_r_filtered_gdp(gdp):
    # R: filteredGDP = mFilter::hpfilter(log(GDP), freq = 400, type = "lambda")
    from dtistat.index.disparity.clubs import hp_trend

    levels = cc.load_gdp()
    assert np.abs(hp_trend(np.log(levels.to_numpy()), 400) - gdp.to_numpy()).max() < 1e-10
    r = convergence_clubs(_long(levels), **KW, log=True, hp_lambda=400)
    assert r.clubs["n_units"].tolist() == [50, 30, 21, 24, 14, 11, 2]


def _reference_core(X, rows, rule, time_trim):
    """Straightforward core group: one log_t_test per prefix (the definition)."""
    def t(ids):
        d = pd.DataFrame({"e": np.repeat(ids, X.shape[1]), "t": np.tile(np.arange(
            X.shape[1]), len(ids)), "x": X[ids].ravel()})
        return log_t_test(d, value="x", entity="e", time="t", time_trim=time_trim).t_value
    s = next(i for i in range(len(rows) - 1) if t(rows[i:i + 2]) > -1.65)
    ts = []
    for k in range(2, len(rows) - s + 1):
        tk = t(rows[s:s + k])
        if not tk > -1.65:
            break
        ts.append(tk)
    best = {"max_t": int(np.argmax(ts)), "max_length": len(ts) - 1}[rule]
    return rows[s:s + best + 2]


@pytest.mark.parametrize("rule", ["max_t", "max_length"])
def test_core_group_equals_definition(gdp, rule):
    from dtistat.index.disparity._clubs_steps import Tester, _core_group

    X = gdp.to_numpy()
    rows = np.argsort(-X[:, -1], kind="stable")[30:90]
    core = _core_group(Tester(X, 1 / 3, -1.65), rows, rule)
    assert rows[core].tolist() == _reference_core(X, rows, rule, 1 / 3).tolist()


def test_batched_regressions_equal_log_t_test(gdp):
    X = gdp.to_numpy()[::3]
    rng = np.random.default_rng(0)
    groups = [rng.choice(X.shape[0], size=k, replace=False) for k in (2, 3, 7, 20, 40)]
    c = X[groups[0][0]]
    S1 = np.vstack([(X[g] - c).sum(0) for g in groups])
    S2 = np.vstack([((X[g] - c) ** 2).sum(0) for g in groups])
    k = np.array([len(g) for g in groups])
    direct = np.vstack([cross_variation(X[g]) for g in groups])
    np.testing.assert_allclose(group_H(S1, S2, k, c), direct, rtol=1e-9)
    got = log_t_rows(direct, 0.3)
    for i, g in enumerate(groups):
        ref = cc.log_t_test(cc.cross_sectional_variation(X[g]), time_trim=0.3)
        assert got["t_value"][i] == pytest.approx(ref.t_value, rel=1e-10)
        assert got["beta"][i] == pytest.approx(ref.beta, rel=1e-10)


def test_result_surface(gdp):
    r = convergence_clubs(_long(gdp), **KW, merge="ps", merge_divergent=True)
    assert r.n_clubs == 6 and len(r.members("club4")) == 38
    ref = cc.find_clubs(gdp).merge("PS", merge_divergent=True)
    assert r.members("club6") == list(ref.units("club6")) and r.members("divergent") == []
    assert r.memberships.value_counts().sum() == 152
    td = r.tidy()
    assert list(td.columns[:5]) == ["term", "estimate", "std_error", "statistic", "p_value"]
    text = str(r.summary())
    assert "Merge tests" in text and "Clubs before merging" in text
    assert "ConvergenceClubs" in repr(r) and r._repr_html_().startswith("<")
    with pytest.raises(ParameterError, match="club='club9'"):
        r.members("club9")


def _small():
    rng = np.random.default_rng(1)
    t = np.arange(1, 21)
    x = 5 + rng.normal(0, 1, (8, 1)) / t + rng.normal(0, 0.01, (8, 20))
    return pd.DataFrame({"e": np.repeat(range(8), 20), "t": np.tile(t, 8), "x": x.ravel()})


@pytest.mark.parametrize("kw,err,match", [
    (dict(time_trim=0.8), DataError, "time_trim=0.8 leave 4"),
    (dict(time_trim=1.2), ParameterError, "time_trim"),
    (dict(core_rule="max"), ParameterError, "core_rule"),
    (dict(merge="PS2"), ParameterError, "merge"),
    (dict(cstar_method="incremental", cstar_increment=0), ParameterError, "cstar_increment"),
    (dict(cstar=np.nan), ParameterError, "cstar"),
    (dict(hp_lambda=-1), ParameterError, "hp_lambda"),
    (dict(sort_period=99), ParameterError, "sort_period=99"),
    (dict(log="yes"), ParameterError, "log="),
])
def test_bad_parameters(kw, err, match):
    with pytest.raises(err, match=match):
        convergence_clubs(_small(), value="x", entity="e", time="t", **kw)


def test_bad_data():
    df = _small()
    before = df.copy()
    bad = df.copy()
    bad.loc[5, "x"] = np.nan
    with pytest.raises(DataError, match="'x'"):
        convergence_clubs(bad, value="x", entity="e", time="t")
    neg = df.copy()
    neg.loc[21, "x"] = -1.0
    with pytest.raises(DataError, match=r"log=True.*e=1, period 2 holds -1\.0"):
        convergence_clubs(neg, value="x", entity="e", time="t", log=True)
    with pytest.raises(DataError, match="unbalanced"):
        convergence_clubs(df.iloc[1:], value="x", entity="e", time="t")
    with pytest.raises(DtiStatError, match="entity="):
        convergence_clubs(df, value="x", time="t")
    flat = df.assign(x=1.0)
    with pytest.raises(DataError, match="H_t is zero"):
        convergence_clubs(flat, value="x", entity="e", time="t")
    r = convergence_clubs(df, value="x", entity="e", time="t", sort_period=10)
    assert r.memberships.size == 8
    pd.testing.assert_frame_equal(df, before)  # input untouched


@pytest.mark.parametrize("variable,sample", [("lp", "other"), ("lp", "high_income"),
                                             ("tfp", "all"), ("gdppc", "all")])
def test_stata_convention_equals_psecta_port(variable, sample):
    # Stata psecta (Du 2017) as in Mendez (2020): kq(0.333), incremental c* (0.05, cap
    # 50), max-t core group, [rT] rounded half up; convergence-clubs' convention="Stata"
    # (which its authors check against Mendez's published classifications) run here
    levels = cc.load_productivity(variable, sample=sample)
    long = levels.stack().rename("x").reset_index()
    data = cc.hp_filter(np.log(levels))
    kw = dict(value="x", entity="country", time="year", log=True, hp_lambda=400,
              convention="stata", time_trim=0.333)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cc.find_clubs(data, convention="Stata", time_trim=0.333)
        _same(convergence_clubs(long, **kw), ref)
        _same(convergence_clubs(long, **kw, merge="ps"), ref.merge("PS"))
    r = convergence_clubs(long, **kw)
    assert r.settings["core_rule"] == "max_t" and r.settings["cstar_cap"] == 50.0


def test_stata_rounds_the_trimmed_periods_half_up(gdp):
    # 34 periods x 0.25 = 8.5: R drops 8 periods (half to even), Stata 9
    sub = gdp.iloc[:40]
    r = convergence_clubs(_long(sub), **KW, time_trim=0.25)
    s = convergence_clubs(_long(sub), **KW, time_trim=0.25, convention="stata",
                          cstar_method="fixed", core_rule="max_abs_t")
    assert (r.nobs, s.nobs) == (26, 25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(s, cc.find_clubs(sub, time_trim=0.25, convention="Stata",
                               cstar_method="fixed", core_rule="max_abs_t"))
    with pytest.raises(ParameterError, match="convention"):
        convergence_clubs(_long(sub), **KW, convention="spss")


@pytest.mark.parametrize("variable,fraction,rule", [("gdppc", None, "last_club"),
                                                    ("tfp", 0.1, "last_club"),
                                                    ("tfp", 0.1, "pairwise")])
def test_stata_merging_options_equal_port(variable, fraction, rule):
    # imergeclub's imore (merge_iterate) and mdiv (merge_divergent="last_club"), psecta's
    # fr() (sort_fraction); von Lyncker-Thoennissen merging, where iterating matters
    levels = cc.load_productivity(variable)
    long = levels.stack().rename("x").reset_index()
    kw = dict(value="x", entity="country", time="year", log=True, hp_lambda=400,
              convention="stata", time_trim=0.333, merge="vlt", merge_divergent=rule,
              sort_fraction=fraction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cc.find_clubs(cc.hp_filter(np.log(levels)), convention="Stata",
                            time_trim=0.333, sort_fraction=fraction or 0.0)
        sizes = []
        for it in (False, True):
            r = convergence_clubs(long, **kw, merge_iterate=it)
            _same(r, ref.merge("vLT", iterate=it, merge_divergent=True,
                               divergent_method=rule))
            sizes.append(r.clubs["n_units"].tolist())
    assert sizes[0] != sizes[1]  # a second pass merged more clubs
    if rule == "last_club":
        assert (r.merge_steps["rule"] == "divergent").any()


def test_sort_options_refused_when_ambiguous():
    with pytest.raises(ParameterError, match="not both"):
        convergence_clubs(_small(), value="x", entity="e", time="t", sort_period=3,
                          sort_fraction=0.2)
    with pytest.raises(ParameterError, match="sort_fraction must be in"):
        convergence_clubs(_small(), value="x", entity="e", time="t", sort_fraction=1.5)
    with pytest.raises(ParameterError, match="merge_divergent"):
        convergence_clubs(_small(), value="x", entity="e", time="t", merge_divergent=1)


def test_transition_paths_equal_port_and_plot(gdp):
    from dtistat.index.disparity import plots as dplots

    r = convergence_clubs(_long(gdp), **KW, merge="ps")
    ref = cc.find_clubs(gdp).merge("PS").transition_paths()  # R transition_paths()
    ours = r.transition_paths(average=False)
    assert ours.shape == ref.shape
    pd.testing.assert_frame_equal(ours.sort_index(), ref.sort_index(), check_names=False,
                                  check_column_type=False, rtol=1e-14)
    avg = r.transition_paths()
    assert list(avg.columns) == list(r.clubs.index)
    np.testing.assert_allclose(avg.to_numpy(), ref.groupby(level=0).mean().T[avg.columns],
                               rtol=1e-14)
    # the richest club ends above the panel mean, the last below it
    assert avg.iloc[-1, 0] > 1 > avg.iloc[-1, -1]
    fig = dplots.club_paths_plot(r)
    assert len(fig.axes[0].lines) == r.n_clubs + 1
    with pytest.raises(ParameterError, match="ClubsResult"):
        dplots.club_paths_plot({"not": "a result"})


def test_random_panels_equal_port():
    # 16 simulated panels (8-120 units, 12-44 periods, 1-5 clubs), both conventions,
    # c* fixed / incremental, PS / vLT merging, pairwise / last-club divergent merging
    for seed in range(16):
        rng = np.random.default_rng(seed)
        n, T, k = int(rng.integers(8, 120)), int(rng.integers(12, 45)), int(rng.integers(1, 6))
        t = np.arange(1, T + 1)
        X = (5 + 0.2 * rng.integers(0, k, n)[:, None]
             + rng.normal(0, rng.uniform(0.05, 1), (n, 1)) / t ** rng.uniform(0.2, 1.2)
             + rng.normal(0, rng.uniform(0.001, 0.05), (n, T))
             + rng.normal(0, 0.02, (n, 1)) * np.log(t))
        W = pd.DataFrame(X, index=pd.Index([f"u{i}" for i in range(n)], name="unit"),
                         columns=pd.Index(t, name="year"))
        conv, cstar = ("r", "stata")[seed % 2], float(rng.choice([0.0, -1.0, 0.5]))
        method, merge = ("fixed", "incremental")[seed // 2 % 2], ("ps", "vlt")[seed // 4 % 2]
        div = (True, "last_club")[seed // 8 % 2]
        r = convergence_clubs(W.stack().rename("x").reset_index(), value="x", entity="unit",
                              time="year", convention=conv, cstar=cstar, cstar_method=method,
                              merge=merge, merge_divergent=div)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = cc.find_clubs(W, convention={"r": "R", "stata": "Stata"}[conv],
                                 cstar=cstar, cstar_method=method)
            ref = base.merge({"ps": "PS", "vlt": "vLT"}[merge], merge_divergent=True,
                             divergent_method="pairwise" if div is True else "last_club")
        assert r.initial_memberships.equals(base.memberships().rename("club")), seed
        _same(r, ref)


def test_aqsb_variance_equals_r_sandwich_port(gdp):
    # R estimateMod(HACmethod = "AQSB") = lmtest::coeftest(lm, sandwich::vcovHAC(lm)),
    # as ported by convergence-clubs (its authors check it against R)
    long = _long(gdp)
    H = cc.cross_sectional_variation(gdp.to_numpy())
    r = log_t_test(long, **KW, hac="aqsb")
    ref = cc.log_t_test(H, 1 / 3, hac_method="AQSB")
    assert r.std_error == pytest.approx(ref.std_err, rel=1e-10)
    assert r.std_error != pytest.approx(log_t_test(long, **KW).std_error, rel=1e-3)
    for kw in (dict(), dict(time_trim=0.3, cstar=-1.0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = cc.find_clubs(gdp, hac_method="AQSB", **kw)
        res = convergence_clubs(long, **KW, hac="aqsb", merge="ps", merge_divergent=True,
                                **kw)
        assert res.initial_memberships.equals(base.memberships().rename("club"))
        _same(res, base.merge("PS", merge_divergent=True))
    assert res.clubs["n_units"].tolist() != convergence_clubs(
        long, **KW, time_trim=0.3, cstar=-1.0, merge="ps",
        merge_divergent=True).clubs["n_units"].tolist()
