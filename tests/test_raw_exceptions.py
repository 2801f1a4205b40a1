"""Issue #21 item 10: inputs that raised raw Python exceptions now raise a DtiStatError.

Each case names the exception it raised before (ZeroDivisionError, zero-size array,
IndexError, TypeError from sorting, ...). The YAML cases are in test_spec_yaml.py; the
whole public surface is fuzzed in test_fuzz_public.py.
"""

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

import dtistat as ds
from dtistat import (
    ColumnError,
    DataError,
    DtiStatError,
    EstimationError,
    IndexSpec,
    ParameterError,
    SpecError,
)
from dtistat._bootstrap import bc_ci, bca_ci, percentile_ci

SPEC = IndexSpec.from_dict({"name": "t", "children": [{"name": "x1"}, {"name": "x2"}]})


def index_frame():
    return pd.DataFrame({"city": list("ABCABC"), "quarter": ["2021Q1"] * 3 + ["2021Q2"] * 3,
                         "x1": [1.0, 2, 3, 4, 5, 6], "x2": [3.0, 2, 1, 1, 2, 3]})


def panel(n=6, t=4, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"id": np.repeat([f"c{i}" for i in range(n)], t),
                       "t": np.tile([f"{2000 + j}Q1" for j in range(t)], n)})
    df["x"] = rng.normal(size=len(df))
    df["z"] = rng.normal(size=len(df))
    df["m"] = df["x"] + rng.normal(size=len(df))
    df["y"] = df["x"] + df["m"] + rng.normal(size=len(df))
    return df


def refuses(call, exc=DtiStatError, match=None):
    """``call`` raises ``exc`` (a DtiStatError) and leaves nothing else behind."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


# ------------------------------------------------------------------ already DtiStatErrors
def test_fit_panel_constant_outcome_and_no_rows_left():
    df = panel()
    refuses(lambda: ds.fit_panel(df.assign(y=1.0), "y ~ x", entity="id", time="t"),
            DataError, "constant")
    # annual data coded '2000Q1': the lag of every row is missing (ValueError before)
    refuses(lambda: ds.fit_panel(df, "y ~ L(x)", entity="id", time="t"), DataError,
            "no rows left")
    refuses(lambda: ds.fit_panel(df, "y ~ L(x, 100)", entity="id", time="t"), DataError,
            "no rows left")
    refuses(lambda: ds.fit_panel(df.assign(z=np.nan), "y ~ x + z", entity="id", time="t",
                                 missing="drop"), DataError, "no rows left")


@pytest.mark.parametrize("cov", ["robust", "cluster"])
def test_areg_with_as_many_parameters_as_rows(cov):
    # 2 entities x 2 periods, two slopes + intercept + one absorbed effect = 4 = N
    df = panel(2, 2)
    refuses(lambda: ds.fit_panel(df, "y ~ x + z", entity="id", time="t", cov=cov,
                                 small_sample="areg"), EstimationError, "degrees of freedom")


def test_fit_drivers_one_cluster():
    df = panel().assign(g=1)
    refuses(lambda: ds.fit_drivers(df, "y", ["x", "z"], cov="cluster", cluster="g"),
            EstimationError, "1 cluster")


def test_fit_ordered_bare_name_with_a_space():
    df = pd.DataFrame({"y": [1, 2, 3, 1, 2, 3, 1, 2], "my x": np.arange(8.0)})
    refuses(lambda: ds.fit_ordered(df, "y ~ my x"), SpecError, "cannot parse")


# ------------------------------------------------------------------------ mediation
def test_fit_mediation_no_rows_left():
    # ValueError: zero-size array to reduction operation maximum (in _fixed_effects)
    df = panel().assign(z=np.nan)
    for kw in ({}, {"entity": "id", "time": "t", "fe": "entity"}):
        refuses(lambda: ds.fit_mediation(df, x="x", m="m", y="y", covariates=["z"],
                                         missing="drop", n_boot=0, **kw),
                DataError, "no rows left.*'z' is missing in 24 of 24")


@pytest.mark.parametrize("kw", [
    {"n_boot": 0},                                                   # silent before
    {"n_boot": 100, "ci": "percentile", "seed": 1},                  # IndexError
    {"entity": "id", "time": "t", "fe": "entity", "n_boot": 0},      # ZeroDivisionError
])
def test_fit_mediation_constant_outcome(kw):
    df = panel().assign(y=2.5)
    refuses(lambda: ds.fit_mediation(df, x="x", m="m", y="y", **kw), DataError,
            "outcome column 'y' has no variation.*nothing to explain")


def test_fit_mediation_exact_fit_in_a_tiny_sample():
    # 4 rows, y = x + m exactly: zero standard errors (ZeroDivisionError before)
    df = panel().iloc[:4].copy()
    df["y"] = df["x"] + df["m"]
    refuses(lambda: ds.fit_mediation(df, x="x", m="m", y="y", n_boot=0), EstimationError,
            "fits the data exactly")


def test_bootstrap_intervals_without_draws():
    for f in (lambda d: percentile_ci(d, 0.95), lambda d: bc_ci(d, 0.0, 0.95),
              lambda d: bca_ci(d, 0.0, np.arange(5.0), 0.95)):
        refuses(lambda: f(np.empty(0)), EstimationError, "no finite draws")
    assert percentile_ci(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))


# ---------------------------------------------------------------- keys and columns
@pytest.mark.parametrize("call", [
    lambda d: ds.compute_index(d, SPEC),
    lambda d: ds.weight_sensitivity(d, SPEC, n_draws=10, seed=1, method="multiplicative"),
    lambda d: ds.theil(d, value="x1", entity="city", time="quarter"),
])
def test_entity_ids_mixing_numbers_and_strings(call):
    # TypeError: '<' not supported between instances of 'int' and 'str' (lexsort)
    df = index_frame()
    df["city"] = [1, "B", "C", 1, "B", "C"]
    refuses(lambda: call(df), DataError,
            r"key column 'city' mixes value types: 1 \(number\) and 'B' \(string\).*astype")


def test_node_named_like_a_key_column():
    # share() raised "ValueError: cannot insert t, already exists" (found by the
    # result-method test below)
    df = index_frame().rename(columns={"quarter": "t"})
    refuses(lambda: ds.compute_index(df, SPEC, time="t"), SpecError,
            "node 't' has the name of a key column")


def test_key_types_that_sort_are_accepted():
    df = index_frame()
    df["city"] = [1, 2.5, 3, 1, 2.5, 3]          # ints and floats: one kind, numbers
    assert ds.compute_index(df, SPEC).scores.shape[0] == 6
    df["city"] = pd.Categorical(["a", "b", "c"] * 2)
    assert ds.compute_index(df, SPEC).scores.shape[0] == 6


@pytest.mark.parametrize("call", [
    lambda d: ds.compute_index(d, SPEC),
    lambda d: ds.fit_panel(d, "x1 ~ x2", entity="city", time="quarter"),
])
def test_duplicate_and_multilevel_column_names(call):
    df = index_frame()
    dup = df.copy()
    dup.columns = ["city", "quarter", "x1", "x1"]          # TypeError / AttributeError
    refuses(lambda: call(dup), DataError, r"duplicate column name\(s\) \['x1'\]")
    multi = df.copy()
    multi.columns = pd.MultiIndex.from_tuples([(c, "a") for c in df.columns])   # KeyError
    refuses(lambda: call(multi), DataError, "multi-level columns.*flatten")


def test_missing_entity_in_a_spatial_panel():
    w = ds.knn_weights([[0, 0], [1, 0], [3, 0]], k=1, metric="euclidean", ids=["a", "b", "c"])
    df = pd.DataFrame({"i": list("abc") * 2, "t": [1] * 3 + [2] * 3, "y": np.arange(6.0),
                       "x": [1.0, 0, 2, 1, 3, 2]})
    df.loc[4, "i"] = None                     # TypeError: '<' between float and str before
    refuses(lambda: ds.fit_spatial(df, "y", "x", entity="i", time="t", w=w), DataError,
            "key column 'i' is missing at row 4")
    refuses(lambda: ds.moran("y", w, data=df, entity="i", time="t", permutations=0),
            DataError, "key column 'i' is missing")
    refuses(lambda: ds.moran(["a", "b", "c"], w, permutations=0), DataError,
            "y .* must be numbers")


def test_spatial_lm_tests_one_period():
    # numpy LinAlgError: Singular matrix (twoway effects absorb everything in one period)
    w = ds.knn_weights([[0, 0], [1, 0], [3, 0], [4, 1]], k=1, metric="euclidean",
                       ids=list("abcd"))
    df = pd.DataFrame({"i": list("abcd"), "t": 1, "y": [1.0, 2, 4, 3],
                       "x": [0.5, 1, 2, 1]})
    refuses(lambda: ds.spatial_lm_tests(df, "y", ["x"], entity="i", time="t", w=w),
            EstimationError, "collinear or without variation")


def test_spatial_lm_tests_rank_check_is_unit_free():
    # the full-rank check above must not call regressors in other units collinear
    rng = np.random.default_rng(0)
    ids = [f"e{i}" for i in range(12)]
    w = ds.knn_weights(rng.uniform(size=(12, 2)), k=3, metric="euclidean", ids=ids)
    df = pd.DataFrame({"i": ids * 5, "t": np.repeat(range(5), 12),
                       "y": rng.normal(size=60), "x": rng.normal(size=60),
                       "z": rng.normal(size=60)})
    a = ds.spatial_lm_tests(df, "y", ["x", "z"], entity="i", time="t", w=w)
    b = ds.spatial_lm_tests(df.assign(x=df["x"] * 1e20), "y", ["x", "z"], entity="i",
                            time="t", w=w)
    np.testing.assert_allclose(b["statistic"], a["statistic"], rtol=1e-10)


def test_spatial_markov_takes_spatial_weights_by_label():
    rng = np.random.default_rng(0)
    ids = [f"e{i}" for i in range(6)]
    w = ds.knn_weights(rng.uniform(size=(6, 2)), k=2, metric="euclidean", ids=ids)
    df = pd.DataFrame({"e": ids * 5, "t": np.repeat(range(5), 6),
                       "y": rng.normal(size=30)})
    got = ds.spatial_markov(df, w, value="y", entity="e", time="t", k=2, m=2)
    dense = ds.spatial_markov(df, w.dense(), value="y", entity="e", time="t", k=2, m=2)
    np.testing.assert_array_equal(got.counts, dense.counts)
    # rows in another order are matched by label, not by position
    perm = w.reorder(ids[::-1])
    again = ds.spatial_markov(df, perm, value="y", entity="e", time="t", k=2, m=2)
    np.testing.assert_array_equal(again.counts, dense.counts)


def test_fit_threshold_exact_fit():
    # 3 entities x 2 periods: 3 within rows for 3 slopes (zero-size array before)
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"id": np.repeat([1, 2, 3], 2), "t": [1, 2] * 3,
                       "y": rng.normal(size=6), "x": rng.normal(size=6),
                       "q": rng.normal(size=6), "z": rng.normal(size=6)})
    refuses(lambda: ds.fit_threshold(df, "y ~ x", threshold_var="q", regime_vars="z",
                                     entity="id", time="t", grid=10, n_boot=0),
            DataError, "3 within observations for the 3 slopes")


def test_fit_ordered_constant_regressor():
    # statsmodels ValueError: There should not be a constant in the model
    df = pd.DataFrame({"k": [1, 2, 3, 1, 2, 3], "x": 1.0, "z": np.arange(6.0)})
    refuses(lambda: ds.fit_ordered(df, "k ~ x + z"), EstimationError,
            "'x' is .*collinear")
    # each varies, but 2 rows and 2 regressors span the constant (found by the fuzz test;
    # the rank check missed it: fewer rows than columns)
    two = pd.DataFrame({"k": [1, 2], "x": [1.0, 2.0], "z": [3.0, 5.0]})
    refuses(lambda: ds.fit_ordered(two, "k ~ x + z"), EstimationError,
            "'z' is .*collinear")


# ------------------------------------------------------------------------- files, io
def test_read_data_damaged_gzip(tmp_path):
    body = gzip.compress(b"a,b\n" + b"1,2\n" * 1000)
    cases = {"corrupt": body[:20] + b"\x00" * 20 + body[40:],   # zlib.error
             "truncated": body[: len(body) // 2],              # EOFError
             "not_gzip": b"a,b\n1,2\n"}                        # gzip.BadGzipFile
    for name, raw in cases.items():
        p = tmp_path / f"{name}.csv.gz"
        p.write_bytes(raw)
        refuses(lambda: ds.read_data(p), DataError, "damaged or truncated")
    good = tmp_path / "good.csv.gz"
    good.write_bytes(body)
    assert ds.read_data(good).shape == (1000, 2)


def test_regression_table_bad_path_and_labels(tmp_path):
    res = ds.fit_panel(panel(), "y ~ x", entity="id", time="t")
    refuses(lambda: ds.regression_table([res], path=tmp_path / "nope" / "t.md"),
            ParameterError, "folder .* does not exist")         # FileNotFoundError
    refuses(lambda: ds.regression_table([res], path=tmp_path), ParameterError,
            "is a folder")                                      # IsADirectoryError
    refuses(lambda: ds.regression_table([res], labels=["a"]), ParameterError,
            "labels must be a mapping")                         # ValueError from dict()
    out = ds.regression_table([res], labels={"x": "Digital"}, path=tmp_path / "t.md")
    assert "Digital" in out and (tmp_path / "t.md").read_text(encoding="utf-8") == out
    refuses(lambda: ds.frame_table(pd.DataFrame({"a": [1]}), path=tmp_path / "n" / "f.md"),
            ParameterError, "does not exist")
    refuses(lambda: SPEC.to_yaml(tmp_path / "n" / "s.yaml"), ParameterError,
            "does not exist")


# ------------------------------------------------------------------ parameters
def test_sobol_parameters():
    f = lambda X: X.sum(axis=1)  # noqa: E731
    refuses(lambda: ds.sobol_indices(f, ["a", "b"], [[1, 0], [0, 1]], n_base=16),
            ParameterError, r"bounds\[0\] = \[1.0, 0.0\]")     # SALib ValueError
    refuses(lambda: ds.sobol_indices(f, ["a", "b"], [[0, 1], [0, "x"]], n_base=16),
            ParameterError, "bounds must be")
    refuses(lambda: ds.sobol_indices(f, ["a", "b"], [[0, 1]], n_base=16),
            ParameterError, "2 names but 1 bounds")
    refuses(lambda: ds.sobol_indices(f, ["a", "b"], [[0, 1], [0, 1]], n_base=16,
                                     num_resamples=0), ParameterError, "num_resamples")
    spec = IndexSpec.from_dict({"name": "total", "children": [
        {"name": "a", "children": [{"name": "x1"}, {"name": "x2"}]},
        {"name": "b", "children": [{"name": "x3"}, {"name": "x4"}]}]})
    df = pd.DataFrame({"city": list("ABCD"), "quarter": "2021Q1", "x1": [1.0, 2, 3, 4],
                       "x2": [2.0, 1, 4, 3], "x3": [4.0, 3, 2, 1], "x4": [1.0, 3, 2, 4]})
    refuses(lambda: ds.sobol_weights(df, spec, n_base=16, num_resamples=0, seed=0),
            ParameterError, "num_resamples")                    # zero-size array before


def test_rake_non_numeric_target_and_trim():
    df = pd.DataFrame({"g": list("abab")})
    refuses(lambda: ds.rake(df, {"g": {"a": "lots", "b": 2}}), DataError,
            "category 'a' is 'lots'")                           # ValueError before
    refuses(lambda: ds.rake(df, {"g": {"a": 1, "b": 1}}, trim=("x", 5)), ParameterError,
            "trim must be")
    assert ds.rake(df, {"g": {"a": 3, "b": 1}}).tolist() == [1.5, 0.5, 1.5, 0.5]


def test_column_error_still_a_key_error():
    with pytest.raises(KeyError):
        ds.compute_index(index_frame().drop(columns="x2"), SPEC)
    assert issubclass(ColumnError, DataError)


# ------------------------------------------------------------- array-like inputs
_W3 = ds.knn_weights([[0, 0], [1, 0], [3, 0]], k=1, metric="euclidean")
BAD_ARRAYS = {
    "strings": ["a", "b", "c"], "none": None, "nan": [np.nan, 1.0, 2.0], "empty": [],
    "scalar": 3.0, "wrong_shape": [[1, 2, 3, 4]], "mixed": [1, "b", 2.0],
    "dict": {"a": 1}, "inf": [np.inf, 1, 2], "ragged": [[1, 2], [3]],
    "zeros": [0.0, 0.0, 0.0], "negative": [-1.0, 2.0, 3.0],
    "nullable_na": pd.Series([1.0, None, 2.0], dtype="Float64"),
}
ARRAY_FUNCTIONS = {
    "moran": lambda v: ds.moran(v, _W3, permutations=0),
    "geary": lambda v: ds.geary(v, _W3, permutations=0),
    "local_moran": lambda v: ds.local_moran(v, _W3, permutations=0),
    "getis_ord": lambda v: ds.getis_ord(v, _W3, permutations=0),
    "moran(w=...)": lambda v: ds.moran([1.0, 2, 3], v, permutations=0),
    "knn_weights": lambda v: ds.knn_weights(v, k=1),
    "distance_weights": lambda v: ds.distance_weights(v),
    "economic_weights": lambda v: ds.economic_weights(v),
    "nested_weights": lambda v: ds.nested_weights(_W3, v),
    "effective_n": lambda v: ds.effective_n(v),
    "kish_deff": lambda v: ds.kish_deff(v),
    "sobol_indices(bounds)": lambda v: ds.sobol_indices(lambda X: X.sum(axis=1),
                                                        ["a", "b", "c"], v, n_base=16),
    "sobol_indices(output)": lambda v: ds.sobol_indices(lambda X: v, ["a", "b"],
                                                        [[0, 1], [0, 1]], n_base=16),
    "future_spec": lambda v: ds.future_spec(diversity=v),
}


@pytest.mark.parametrize("name", sorted(ARRAY_FUNCTIONS))
def test_array_inputs_return_or_raise_a_dtistat_error(name):
    # before: IndexError (moran(None)), ValueError/TypeError from np.asarray(dtype=float),
    # "truth value of a Series is ambiguous" (future_spec), silent NaN (kish_deff([]))
    for bad, value in BAD_ARRAYS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = ARRAY_FUNCTIONS[name](value)
            except DtiStatError:
                continue
        if isinstance(out, float):
            assert np.isfinite(out), (name, bad, out)


def test_kish_weights_checked():
    assert ds.kish_deff([1.0, 1.0, 2.0, 4.0]) == 1.375   # Kish (1965): n sum w^2 / (sum w)^2
    for bad in ([], [0.0, 0.0], [1.0, -1.0], [1.0, np.nan], ["a"]):
        refuses(lambda: ds.effective_n(bad), DataError, "weights")


# ------------------------------------------------------------- result methods
BAD_ARGUMENTS = [None, "x", -1, 0, 1.5, np.nan, [1, 2], {"a": 1}, "2099Q1", True]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    df = panel(6, 6)
    df["v"] = rng.uniform(1, 2, len(df))
    df["u"] = rng.uniform(1, 2, len(df))
    spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "v"}, {"name": "u"}]})
    kw = {"entity": "id", "time": "t", "base_period": "2000Q1"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "panel": ds.fit_panel(df, "y ~ x + z", entity="id", time="t"),
            "iv": ds.fit_iv(df, "y ~ z + [x ~ m]"),
            "drivers": ds.fit_drivers(df, "y", ["x", "z"]),
            "mediation": ds.fit_mediation(df, x="x", m="m", y="y", n_boot=0, n_mc=200,
                                          seed=0),
            "index": ds.compute_index(df, spec, **kw),
            "sensitivity": ds.weight_sensitivity(df, spec, n_draws=8, seed=0,
                                                 method="multiplicative", **kw),
            "did": ds.fit_did(df.assign(tn=df["t"].str[:4].astype(int),
                                        g=np.where(df["id"] < "c3", 2002, 0)),
                              y="y", treat_time="g", entity="id", time="tn", n_boot=0),
            "threshold": ds.fit_threshold(df, "y ~ x", threshold_var="z", regime_vars="m",
                                          entity="id", time="t", grid=10, n_boot=0),
            "marginal": ds.marginal_effects(ds.fit_panel(df, "y ~ x*z", entity="id",
                                                         time="t"), "x", "z", at=[0.0, 1.0]),
            "spatial_markov": ds.spatial_markov(df, np.ones((6, 6)) - np.eye(6), value="y",
                                                entity="id", time="t", k=2, m=2),
        }


@pytest.mark.parametrize("name", ["panel", "iv", "drivers", "mediation", "index",
                                  "sensitivity", "did", "threshold", "marginal",
                                  "spatial_markov"])
def test_result_methods_with_bad_arguments(fitted, name):
    # before: wald_test(R="x") ValueError, wald_test(terms=0) TypeError, conf_int(level="x")
    # ValueError, sensitivity(rho="x"), table_columns(labels=1), node(node=[1, 2])
    # "unhashable", draw_scores(draws=0) "len() of unsized object", aggregate(kind=[1])
    # and lr_curve(k=[1]) "unhashable", effect(z="x"), conditional(lag_class="x")
    # IndexError (and lag_class=-1 silently the last class)
    import inspect

    obj = fitted[name]
    for meth in [m for m in dir(obj) if not m.startswith("_") and "plot" not in m]:
        # (figures: an ax= that is not an Axes fails inside matplotlib; not checked)
        f = getattr(obj, meth)
        if not callable(f) or inspect.isclass(f):
            continue
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for p in params:
            for bad in BAD_ARGUMENTS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        f(**{p: bad})
                    except DtiStatError:
                        pass
                    except TypeError as exc:  # a call that lacks another required argument
                        assert "required" in str(exc), (meth, p, bad, exc)


def test_frame_table_column_labels():
    f = pd.DataFrame([[1, 2.5], [3, 4.0]],
                     columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    assert "2.500" in ds.frame_table(f)            # a displayed frame may be multi-level
    f.columns = ["a", "a"]                          # AttributeError: no attribute 'dtype'
    refuses(lambda: ds.frame_table(f), DataError, r"duplicate column name\(s\) \['a'\]")


def test_threshold_plot_lr_curves(fitted):
    import matplotlib.pyplot as plt

    res = fitted["threshold"]
    for bad in (0, 1.5, True, np.nan, "Th-9", {"a": 1}):   # TypeError: not iterable before
        refuses(lambda: res.plot_lr(bad), ParameterError, "plot_lr")
    fig = res.plot_lr(1)
    assert len(fig.axes) == 1
    plt.close("all")
