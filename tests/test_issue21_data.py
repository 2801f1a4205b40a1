"""Issue #21 (items 2, 3, 6, 11): input that gave wrong numbers or a misleading message."""

import numpy as np
import pandas as pd
import pytest

from dtistat import IndexSpec, fit_panel
from dtistat._validate import check_unique_keys
from dtistat.errors import DataError, DtiStatWarning, ParameterError, SpecError
from dtistat.index import weights as W
from dtistat.sensitivity.sobol import sobol_indices
from dtistat.tables import regression_table

FRAME = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [3.0, 1, 2, 5]})


# ------------------------------------------------------------------ item 6
@pytest.mark.parametrize("scores", [
    pd.DataFrame({"a": [True, 3], "b": [2, 3]}),
    pd.DataFrame({"a": np.array([True, False]), "b": [2, 3]}),
])
def test_expert_score_true_is_not_one(scores):
    with pytest.raises(SpecError, match=r"node 'a'.*True \(a boolean\)"):
        W.expert_weights(scores)


def test_spec_expert_score_bool_refused():
    with pytest.raises(SpecError, match="boolean"):
        IndexSpec.from_dict({"name": "t", "children": [{"name": "a"}, {"name": "b"}],
                             "expert_scores": {"e1": {"a": True, "b": 3}}})


@pytest.mark.parametrize("shift", [np.nan, np.inf, "0.1", True, -0.1])
def test_entropy_shift_must_be_finite_number(shift):
    with pytest.raises(ParameterError, match="shift"):
        W.entropy(FRAME, shift=shift)


def test_entropy_shift_still_works():
    a = W.entropy(FRAME, shift=1e-4)
    assert a.sum() == pytest.approx(1.0) and not a.equals(W.entropy(FRAME))


@pytest.mark.parametrize("call", [
    lambda: W.equal("abc"),
    lambda: W.equal(None),
    lambda: W.entropy(FRAME, columns="ab"),
    lambda: W.critic(FRAME, columns="ab"),
    lambda: sobol_indices(lambda X: X.sum(axis=1), "ab", [[0, 1], [0, 1]], n_base=16),
])
def test_a_string_is_not_a_list_of_names(call):
    with pytest.raises(ParameterError, match="list of names, got"):
        call()


@pytest.mark.parametrize("value", [np.nan, True, "0.1", np.inf])
@pytest.mark.parametrize("call", [
    lambda v: sobol_indices(lambda X: X.sum(axis=1), ["a", "b"], [[0, 1], [0, 1]],
                            n_base=16, tolerance=v),
    lambda v: __import__("dtistat").distance_weights(
        np.array([[0.0, 0], [1, 0], [0, 2]]), metric="euclidean", power=v),
    lambda v: __import__("dtistat").parallel_analysis(
        pd.DataFrame(np.random.default_rng(0).normal(size=(60, 4)), columns=list("abcd")),
        quantile=v, n_iter=5, seed=1),
])
def test_numeric_parameters_refuse_nan_bool_and_strings(call, value):
    with pytest.raises(ParameterError):
        call(value)


def test_equal_refuses_duplicates_and_keeps_working():
    with pytest.raises(SpecError, match="'a' more than once"):
        W.equal(["a", "b", "a"])
    assert W.equal(("a", "b")).tolist() == [0.5, 0.5]


@pytest.fixture(scope="module")
def small_fit():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"id": np.repeat(np.arange(6), 4), "t": np.tile(np.arange(4), 6)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    return fit_panel(df, "y ~ x", entity="id", time="t")


def test_regression_table_refuses_unknown_stat(small_fit):
    with pytest.raises(ParameterError, match=r"'bogus'.*valid names:.*'nobs'"):
        regression_table(small_fit, stats=("nobs", "bogus"))
    # a known statistic no column has is still left out quietly (documented)
    out = regression_table(small_fit, stats=("nobs", "n_clusters", "adj_r2"))
    assert "Observations" in out and "Adj." not in out


# ------------------------------------------------------------------ item 11
def _panel(seed=0, n=10, t=5):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"id": np.repeat(np.arange(n), t), "t": np.tile(np.arange(t), n)})
    df["R&D-投入"] = rng.normal(size=n * t)
    df["y"] = df["R&D-投入"] + rng.normal(size=n * t)
    return df


def test_backquoted_name_with_minus_and_chinese():
    df = _panel()
    a = fit_panel(df, "y ~ `R&D-投入`", entity="id", time="t", cov="robust")
    b = fit_panel(df.rename(columns={"R&D-投入": "rd"}), "y ~ rd", entity="id", time="t",
                  cov="robust")
    assert a.params.index.tolist() == ["R&D-投入"]
    assert a.params.iloc[0] == pytest.approx(b.params.iloc[0], rel=1e-12)


def test_cfa_accepts_chinese_names():
    from semopy.examples import holzinger39

    from dtistat import fit_cfa

    hs = holzinger39.get_data()
    zh = {f"x{i}": f"指标{i}" for i in range(1, 10)}
    model = ("视觉 =~ 指标1 + 指标2 + 指标3\n文本 =~ 指标4 + 指标5 + 指标6\n"
             "速度 =~ 指标7 + 指标8 + 指标9")
    res = fit_cfa(hs.rename(columns=zh), model)
    # lavaan tutorial (Holzinger-Swineford CFA): chi-square 85.306 on 24 df
    assert round(res.fit["chi2"], 3) == 85.306 and res.fit["df"] == 24
    assert "视觉 =~ 指标2" in set(res.estimates["term"])


def test_duplicate_row_message_prints_plain_values():
    df = _panel()
    dup = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(DataError) as e:
        fit_panel(dup, "y ~ `R&D-投入`", entity="id", time="t")
    assert "np.int64" not in str(e.value) and "first at row 0" in str(e.value)
    with pytest.raises(DataError) as e:  # the generic key check of _validate
        check_unique_keys(dup, ["id", "t"])
    assert "id=0, t=0" in str(e.value)


def test_errors_and_warnings_print_numpy_scalars_plainly():
    e = DataError(f"row {np.int64(3)!r}, value {np.float64(1.5)!r}, id {np.str_('a')!r}, "
                  f"flag {np.True_!r}")
    assert str(e) == "row 3, value 1.5, id 'a', flag True"
    assert str(DtiStatWarning(f"{np.int32(5)!r}")) == "5"


def test_nan_message_offers_missing_only_where_it_exists():
    df = _panel()
    df.loc[3, "y"] = np.nan
    with pytest.raises(DataError, match="missing=\"drop\""):
        fit_panel(df, "y ~ `R&D-投入`", entity="id", time="t")  # fit_panel takes missing=
    with pytest.raises(DataError) as e:  # the weights take no missing= argument
        W.entropy(df[["y", "R&D-投入"]])
    assert "missing=" not in str(e.value) and "'y' has NaN at row 3" in str(e.value)


def test_cli_panel_empty_rhs_message(tmp_path, capsys):
    from dtistat.cli import main

    f = tmp_path / "p.csv"
    _panel().to_csv(f, index=False)
    rc = main(["panel", "--formula", "y ~", "--entity", "id", "--time", "t",
               "--out", str(tmp_path / "o"), str(f)])
    err = capsys.readouterr().err
    assert rc == 2 and "has no right-hand side" in err and "fixed effects" not in err


@pytest.mark.parametrize("cmd,opt", [("sensitivity", "--top"), ("sensitivity", "--top-k"),
                                     ("sensitivity", "--n-draws"), ("index", "--top")])
def test_cli_counts_checked_before_reading(tmp_path, capsys, cmd, opt):
    from dtistat.cli import main

    # the data file does not exist: the count must be refused before anything is read
    rc = main([cmd, "--spec", str(tmp_path / "s.yaml"), opt, "0", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{opt} must be a positive integer, got 0" in err


# ------------------------------------------------------------------ item 3
def _likert(seed=1, n=300):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    lat = d["x"] + rng.logistic(size=n)
    d["y"] = pd.Categorical(pd.cut(lat, [-np.inf, -0.5, 0.5, np.inf],
                                   labels=["low", "mid", "high"]), ordered=True)
    return d


def test_ordered_quasi_complete_separation_is_refused():
    import warnings

    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from dtistat import fit_ordered

    d = _likert()
    d.loc[d["g"] == "c", "y"] = "high"  # every respondent of group c answers "high"
    # the reference agrees that the MLE does not exist: statsmodels "converges" to a
    # huge coefficient with a huge standard error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OrderedModel.from_formula("y ~ x + C(g)", d, distr="logit").fit(
            method="bfgs", disp=0, maxiter=5000)
    assert ref.params["C(g)[T.c]"] > 10 and ref.bse["C(g)[T.c]"] > 100
    with pytest.raises(DataError, match=r"separation\) by 'C\(g\)\[c\]' for the answer\(s\) "
                                        r"'high'"):
        fit_ordered(d, "y ~ x + C(g)")
    # one respondent of group c on the other side: the estimate exists and is finite
    d.loc[d.index[d["g"] == "c"][0], "y"] = "low"
    res = fit_ordered(d, "y ~ x + C(g)")
    assert res.converged and 0 < res.params["C(g)[c]"] < 10


def test_ordered_separation_by_a_rare_dummy_is_refused():
    from dtistat import fit_ordered

    rng = np.random.default_rng(5)
    d = _likert(n=3000).assign(rare=(rng.uniform(size=3000) < 0.005).astype(float))
    d.loc[d["rare"] == 1, "y"] = "high"  # a dozen respondents, all answer "high"
    n_rare = int(d["rare"].sum())
    with pytest.raises(DataError, match=rf"by 'rare' for the answer\(s\) 'high' \({n_rare} r"):
        fit_ordered(d, "y ~ x + rare")


def test_ordered_complete_separation_is_refused():
    from dtistat import fit_ordered

    d = _likert()
    d["y"] = pd.Categorical(np.where(d["x"] > 0, "high", "low"), categories=["low", "high"],
                            ordered=True)
    with pytest.raises(DataError, match="separation.*by 'x'"):
        fit_ordered(d, "y ~ x")


@pytest.mark.parametrize("extra,culprit", [("x2", "x2"), ("one", "one")])
def test_ordered_collinear_regressor_is_named(extra, culprit):
    from dtistat import fit_ordered
    from dtistat.errors import EstimationError

    d = _likert().assign(x2=lambda f: 2 * f["x"], one=1.0)
    with pytest.raises(EstimationError, match=f"'{culprit}' is \\(near\\) perfectly collinear"):
        fit_ordered(d, f"y ~ x + {extra}")


def test_ordered_factor_names_like_other_estimators():
    from dtistat import fit_ordered

    d = _likert()
    ordered = fit_ordered(d, "y ~ x + C(g)").params.index[:3].tolist()
    panel_like = fit_panel(d.assign(i=np.arange(len(d)) % 30, t=np.arange(len(d)) // 30,
                                    yn=d["y"].cat.codes.astype(float)),
                           "yn ~ x + C(g)", entity="i", time="t", model="pooled").params
    assert ordered == ["C(g)[b]", "C(g)[c]", "x"]
    assert {"C(g)[b]", "C(g)[c]"} <= set(panel_like.index)


# ------------------------------------------------------------------ item 2
SPEC2 = {"name": "tot", "children": [{"name": "a", "children": [{"name": "x1"}, {"name": "x2"}]},
                                     {"name": "b", "children": [{"name": "x3"}]}]}


def _annual(years=(2019, 2020, 2021, 2022, 2023), seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(c, y) for c in "ABCDEFGH" for y in years], columns=["city", "year"])
    for x in ("x1", "x2", "x3"):
        df[x] = rng.uniform(1, 10, len(df))
    return df


def test_integer_years_are_years_not_timestamps():
    from dtistat import compute_index

    df = _annual()
    res = compute_index(df, SPEC2, time="year")  # default base: 2021 for annual data
    assert str(res.base_period) == "2021" and res.periods.freqstr.startswith("Y")
    assert [str(p) for p in res.periods] == ["2019", "2020", "2021", "2022", "2023"]
    # base_share by hand: x / (national total of x in 2021)
    base = df[df["year"] == 2021][["x1", "x2", "x3"]].sum()
    want = (df.set_index(["city", "year"])[["x1", "x2", "x3"]] / base).sort_index()
    got = res.normalized.rename_axis(["city", "year"])
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-13)
    # the same data coded as one quarter per year give the same index
    q = compute_index(df.assign(quarter=df["year"].astype(str) + "Q1").drop(columns="year"),
                      SPEC2, base_period="2021Q1")
    np.testing.assert_allclose(q.scores.to_numpy(), res.scores.to_numpy(), rtol=1e-13)
    for bp in (2021, "2021", np.int64(2021), pd.Period("2021", freq="Y")):
        assert compute_index(df, SPEC2, time="year", base_period=bp).scores.equals(res.scores)
    # time keys come back as the user's ints, so the output merges with the input
    out = res.to_frame()
    assert out["year"].dtype == np.int64 and out["year"].tolist()[:2] == [2019, 2020]
    assert len(df.merge(out, on=["city", "year"])) == len(df)
    assert res.national_totals()["year"].tolist() == [2019, 2020, 2021, 2022, 2023]


@pytest.mark.parametrize("conv,back", [
    (lambda s: s.astype(str), lambda s: s.tolist() == ["2019", "2020"]),
    (lambda s: s.astype(float), lambda s: s.tolist() == [2019.0, 2020.0]),
    (lambda s: pd.PeriodIndex(s.astype(str), freq="Y"), lambda s: str(s.iloc[0]) == "2019"),
])
def test_years_come_back_in_the_users_type(conv, back):
    from dtistat import compute_index

    df = _annual()
    df["year"] = conv(df["year"])
    out = compute_index(df, SPEC2, time="year").to_frame()
    assert back(out["year"].iloc[:2].reset_index(drop=True))


def test_base_period_frequency_must_match_the_data():
    from dtistat import compute_index
    from dtistat.errors import PeriodError

    df = _annual()
    with pytest.raises(PeriodError, match="'2021Q1' is not a year.*holds years"):
        compute_index(df, SPEC2, time="year", base_period="2021Q1")
    with pytest.raises(PeriodError, match="base_period 2018 is not in the data|'2018'"):
        compute_index(df[df["year"] > 2018], SPEC2, time="year", base_period=2018)
    dq = df.assign(quarter=df["year"].astype(str) + "Q1").drop(columns="year")
    with pytest.raises(PeriodError, match="is a year, but the time column holds quarters"):
        compute_index(dq, SPEC2, base_period=2021)


def test_to_quarter_refuses_numbers():
    from dtistat._validate import to_quarter
    from dtistat.errors import PeriodError

    with pytest.raises(PeriodError, match="2021 is a number, not a quarter"):
        to_quarter(2021)  # pandas would read it as 1970-01-01 00:00:00.000002021
    assert str(to_quarter("2021-Q3")) == "2021Q3"


def test_annual_growth_and_ranks():
    from dtistat import compute_index

    df = _annual()
    res = compute_index(df, SPEC2, time="year")
    g = res.growth("yoy").set_index(["city", "year"])
    tot = res.scores["tot"]
    a22, a21 = tot.loc[("A", pd.Period("2022", "Y"))], tot.loc[("A", pd.Period("2021", "Y"))]
    assert g.loc[("A", pd.Period("2022", "Y")), "yoy"] == pytest.approx(a22 / a21 - 1)
    m = res.growth("yoy_mean", start=2021, end="2023").set_index("city")
    assert "n_periods" in m.columns and (m["n_periods"] == 3).all()
    with pytest.raises(ParameterError, match="qoq.*quarterly"):
        res.growth("qoq")
    r = res.rank(2022)
    assert r["period"].iloc[0] == "2022" and r["rank"].min() == 1
    assert res.rank_change(2019, 2023)["change"].sum() == 0


@pytest.mark.parametrize("bad,match", [
    ([2019, "2020"], r"mixes types: int \(e.g. 2019\), str \(e.g. '2020'\)"),
    (["2019", "2020Q1"], r"mixes years \('2019'\) and other periods \('2020Q1'\)"),
])
def test_mixed_time_column_is_refused_everywhere(bad, match):
    from dtistat import compute_index, fit_mediation, sigma_convergence, weight_sensitivity
    from dtistat.errors import PeriodError

    df = _annual(years=(2019, 2020))
    df["year"] = pd.Series(bad * 8, dtype=object)
    df["y"] = df["x1"] + df["x2"]
    calls = [
        lambda: compute_index(df, SPEC2, time="year", base_period=2019),
        lambda: weight_sensitivity(df, SPEC2, time="year", base_period=2019,
                                   method="multiplicative", n_draws=100, seed=1),
        lambda: fit_panel(df, "y ~ x1", entity="city", time="year"),
        lambda: sigma_convergence(df, value="x1", entity="city", time="year"),
    ]
    if isinstance(bad[1], str) and bad[1].isdigit():  # labels only: kinds must not mix
        calls.append(lambda: fit_mediation(df, x="x1", m="x2", y="y", entity="city",
                                           time="year", fe="twoway", n_boot=100, seed=1))
    for call in calls:
        with pytest.raises(PeriodError, match=match):
            call()


def test_weight_sensitivity_on_annual_data():
    from dtistat import weight_sensitivity

    df = _annual()
    res = weight_sensitivity(df, SPEC2, time="year", method="multiplicative", n_draws=100,
                             seed=1, periods=[2022, "2023"])
    assert sorted(str(p) for p in res.rank_table()["year"].unique()) == ["2022", "2023"]


def test_cli_index_on_annual_data(tmp_path, capsys):
    import yaml

    from dtistat.cli import main

    f, s = tmp_path / "d.csv", tmp_path / "s.yaml"
    _annual().to_csv(f, index=False)
    s.write_text(yaml.safe_dump(SPEC2), encoding="utf-8")
    rc = main(["index", "--spec", str(s), "--time", "year", "--out", str(tmp_path / "o"),
               str(f)])
    assert rc == 0, capsys.readouterr().err
    scores = pd.read_csv(tmp_path / "o" / "tables" / "scores.csv")
    assert scores["year"].tolist()[:2] == [2019, 2020]


def test_year_string_ranks_the_year_on_quarterly_data():
    from dtistat import compute_index

    df = _annual(years=(2021, 2022))
    q2 = df.assign(x1=df["x1"] * np.linspace(0.5, 2, len(df)))  # Q2 differs from Q1
    q = pd.concat([d.assign(quarter=d["year"].astype(str) + f"Q{k}")
                   for k, d in ((1, df), (2, q2))])
    res = compute_index(q.drop(columns="year"), SPEC2)
    by_year = res.rank(2022)
    assert res.rank("2022").equals(by_year) and by_year["period"].iloc[0] == "2022"
    # read as 2022Q1 before: the mean of 2022Q1 and 2022Q2 differs from 2022Q1 alone
    assert not np.allclose(by_year["score"], res.rank("2022Q1")["score"])
