"""Malformed frames at every public function that takes a DataFrame (issue #21, "done when").

Each public function of ``dtistat.__all__`` (and ``dtistat.weights``) whose input is a data
frame has one small adapter below that supplies its required arguments from a fixed
schema. Every call must either return or raise a :class:`DtiStatError`
(``MemoryError``/``KeyboardInterrupt`` pass through), and must leave the frame it was
given exactly as it was. Two layers:

* a deterministic grid: every adapter x every single malformation of a small panel
  (empty, one row, one entity, one period, NaN, inf, mixed dtypes, duplicates, ...);
* a Hypothesis search over panel shapes and stacks of up to three malformations.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dtistat as ds
from dtistat import DtiStatError
from dtistat import weights as W

ENT = [f"c{i}" for i in range(5)]
QUARTERS = [f"{y}Q{q}" for y in (2021, 2022) for q in (1, 2, 3, 4)]
SPEC = ds.IndexSpec.from_dict({"name": "total", "children": [
    {"name": "a", "children": [{"name": "v"}, {"name": "w"}]},
    {"name": "b", "children": [{"name": "u"}, {"name": "s"}]}]})
DOMAINS = {"domains": ["information", "biology"],
           "domain_map": {"a": "information", "b": "biology"}}
# coordinates of the five entities; the weights matrix every spatial adapter uses
_XY = np.array([[116.4, 39.9], [117.2, 39.1], [121.5, 31.2], [113.3, 23.1], [104.1, 30.7]])
W5 = ds.knn_weights(_XY, k=2, ids=ENT)


def base_panel(n_ent: int = 5, n_per: int = 8, seed: int = 0) -> pd.DataFrame:
    """A clean long panel every adapter accepts (for most shapes)."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(ENT[:n_ent], n_per)
    n = len(ids)
    df = pd.DataFrame({"id": ids, "t": np.tile(QUARTERS[:n_per], n_ent)})
    f = rng.normal(size=n)  # one common factor behind x, z and m
    df["x"] = f + 0.5 * rng.normal(size=n)
    df["z"] = 0.8 * f + 0.6 * rng.normal(size=n)
    df["m"] = 0.5 * df["x"] + rng.normal(size=n)
    df["y"] = df["x"] + df["m"] + rng.normal(size=n)
    df["v"] = rng.uniform(1, 3, size=n)
    df["w"] = rng.uniform(0.5, 2, size=n)
    df["u"] = rng.uniform(0, 1, size=n)
    df["s"] = rng.uniform(0, 1, size=n)
    df["longitude"] = np.repeat(_XY[:n_ent, 0], n_per)
    df["latitude"] = np.repeat(_XY[:n_ent, 1], n_per)
    df["g"] = np.where(pd.factorize(df["id"])[0] % 2 == 0, "a", "b")
    df["k"] = (np.arange(n) % 3) + 1
    first = {e: (3 if i % 2 == 0 else 0) for i, e in enumerate(ENT)}  # period number
    df["tt"] = [first[e] for e in ids]
    df["tnum"] = np.tile(np.arange(1, n_per + 1), n_ent)
    df["d"] = ((df["tt"] > 0) & (df["tnum"] >= df["tt"])).astype(int)
    return df


# --------------------------------------------------------------------------- adapters
PANEL = {"entity": "id", "time": "t"}
DID = {"y": "y", "treat_time": "tt", "entity": "id", "time": "tnum"}
ADAPTERS = {
    # disparity
    "beta_convergence": lambda d: ds.beta_convergence(d, value="v", **PANEL),
    "convergence_clubs": lambda d: ds.convergence_clubs(d, value="v", merge="ps",
                                                        merge_divergent=True, **PANEL),
    "coupling_coordination": lambda d: ds.coupling_coordination(d, ["u", "s"], **PANEL),
    "dagum_gini": lambda d: ds.dagum_gini(d, value="v", group="g", **PANEL),
    "kernel_density": lambda d: ds.kernel_density(d, value="y", n_grid=16, **PANEL),
    "log_t_test": lambda d: ds.log_t_test(d, value="v", **PANEL),
    "markov": lambda d: ds.markov(d, value="y", k=2, **PANEL),
    "obstacle_degree": lambda d: ds.obstacle_degree(d, ["x", "z", "v"], **PANEL),
    "sigma_convergence": lambda d: ds.sigma_convergence(d, value="v", **PANEL),
    "spatial_markov": lambda d: ds.spatial_markov(d, W5, value="y", k=2, m=2, **PANEL),
    "theil": lambda d: ds.theil(d, value="v", group="g", **PANEL),
    "topsis": lambda d: ds.topsis(d, ["x", "z", "v"], **PANEL),
    # threshold, did
    "fit_threshold": lambda d: ds.fit_threshold(d, "y ~ x", threshold_var="z",
                                                regime_vars="m", grid=10, n_boot=0, **PANEL),
    "bacon_decomposition": lambda d: ds.bacon_decomposition(d, **DID),
    "first_treated": lambda d: ds.first_treated(d, treat="d", entity="id", time="tnum"),
    "fit_did": lambda d: ds.fit_did(d, n_boot=0, **DID),
    "fit_did_twfe": lambda d: ds.fit_did(d, estimator="twfe", **DID),
    "placebo_reassign": lambda d: ds.placebo_reassign(d, n_draws=5, seed=0, **DID),
    "placebo_timing": lambda d: ds.placebo_timing(d, shifts=(1,), **DID),
    "psm_did": lambda d: ds.psm_did(d, covariates=["x"], **DID),
    # iv, mediation, panel
    "fit_iv": lambda d: ds.fit_iv(d, "y ~ z + [x ~ m]"),
    "fit_iv_fe": lambda d: ds.fit_iv(d, "y ~ z + [x ~ m]", fe="entity", **PANEL),
    "fit_mediation": lambda d: ds.fit_mediation(d, x="x", m="m", y="y", n_boot=0,
                                                n_mc=200, seed=0),
    "fit_mediation_fe": lambda d: ds.fit_mediation(d, x="x", m="m", y="y", fe="entity",
                                                   n_boot=50, ci="percentile", seed=0,
                                                   **PANEL),
    "fit_mediation_drop": lambda d: ds.fit_mediation(d, x="x", m="m", y="y",
                                                     covariates=["z"], missing="drop",
                                                     n_boot=50, ci="bca", seed=0),
    "fit_moderated_mediation": lambda d: ds.fit_moderated_mediation(
        d, x="x", m="m", y="y", w="w", n_boot=0, n_mc=200, seed=0),
    "fit_moderated_mediation_fe": lambda d: ds.fit_moderated_mediation(
        d, x="x", m="m", y="y", w="v", stage="both", fe="entity", n_boot=50, seed=0,
        **PANEL),
    "fit_panel": lambda d: ds.fit_panel(d, "y ~ x + z", **PANEL),
    "fit_panel_drop": lambda d: ds.fit_panel(d, "y ~ x + z", missing="drop", fe="twoway",
                                             cov="robust", small_sample="areg", **PANEL),
    "fit_panel_random": lambda d: ds.fit_panel(d, "y ~ x", model="random", cov="robust",
                                               **PANEL),
    "fit_panel_lag": lambda d: ds.fit_panel(d, "y ~ L(x)", fe="twoway", **PANEL),
    # group "b" of base_panel has two entities: clustered by entity under two-way FE
    # its cluster variance is zero up to rounding (refused), hence entity FE / robust
    "compare_groups": lambda d: ds.compare_groups(d, "y ~ x", by="g", method="chow",
                                                  fe="entity", **PANEL),
    "compare_groups_drop": lambda d: ds.compare_groups(d, "y ~ x", by="g", method="suest",
                                                       missing="drop", cov="robust",
                                                       **PANEL),
    "fit_drivers": lambda d: ds.fit_drivers(d, "y", ["x", "z"]),
    # index, sensitivity, weights
    "compute_index": lambda d: ds.compute_index(d, SPEC, **PANEL),
    "compute_index_skip": lambda d: ds.compute_index(d, SPEC, missing="skip", **PANEL),
    "weight_sensitivity": lambda d: ds.weight_sensitivity(d, SPEC, n_draws=8, seed=0,
                                                          method="multiplicative",
                                                          top_k=2, **PANEL),
    "sobol_weights": lambda d: ds.sobol_weights(d, SPEC, n_base=16, seed=0,
                                                num_resamples=10, tolerance=1.0, **PANEL),
    "future_industry_index": lambda d: ds.future_industry_index(
        d, entity="id", domain="g", date="t", window=None, normalization="rank", **DOMAINS),
    "weights.entropy": lambda d: W.entropy(d, ["x", "v"]),
    "weights.critic": lambda d: W.critic(d, ["x", "z", "v"]),
    "weights.cv": lambda d: W.cv(d, ["v", "w"]),
    "weights.pca": lambda d: W.pca(d, ["x", "z", "m"]),
    # factors, drivers
    "bartlett_sphericity": lambda d: ds.bartlett_sphericity(d, ["x", "z", "m"]),
    "kmo": lambda d: ds.kmo(d, ["x", "z", "m"]),
    "parallel_analysis": lambda d: ds.parallel_analysis(d, ["x", "z", "m"], n_iter=5, seed=0),
    "fit_efa": lambda d: ds.fit_efa(d, ["x", "z", "m"], n_factors=1),
    "fit_cfa": lambda d: ds.fit_cfa(d, "f =~ x + z + m"),
    "fit_cfa_groups": lambda d: ds.fit_cfa(d, "f =~ x + z + y", group="g",
                                           group_equal="loadings"),
    "invariance_test": lambda d: ds.invariance_test(d, "f =~ x + z + y", group="g"),
    # survey
    "crosstab": lambda d: ds.crosstab(d, "g", "k", weights="w"),
    "fit_ordered": lambda d: ds.fit_ordered(d, "k ~ x"),
    "fit_ordered_drop": lambda d: ds.fit_ordered(d, "k ~ x + z", missing="drop",
                                                 weights="w"),
    "proportions": lambda d: ds.proportions(d, "g", weights="w"),
    "rake": lambda d: ds.rake(d, {"g": {"a": 0.5, "b": 0.5}}),
    # preprocess, tables
    "trim": lambda d: ds.trim(d, ["x"], by="t"),
    "winsorize": lambda d: ds.winsorize(d, ["x"], by="t"),
    "frame_table": lambda d: ds.frame_table(d, format="markdown"),
    # spatial
    "distance_weights": lambda d: ds.distance_weights(d, method="band", cutoff=3000),
    "fit_spatial": lambda d: ds.fit_spatial(d, "y", ["x"], w=W5, model="sar", **PANEL),
    "spatial_lm_tests": lambda d: ds.spatial_lm_tests(d, "y", ["x"], w=W5, **PANEL),
    "spatial_model_selection": lambda d: ds.spatial_model_selection(d, "y", ["x"], w=W5,
                                                                    **PANEL),
    "moran": lambda d: ds.moran("y", W5, data=d, permutations=0, **PANEL),
    "geary": lambda d: ds.geary("y", W5, data=d, permutations=0, **PANEL),
}


# ----------------------------------------------------------------------- malformations
NUMERIC = ["y", "x", "z", "m", "v", "w", "u", "s", "longitude", "latitude", "k", "tt", "d"]


def _num_col(rng) -> str:
    return str(rng.choice(NUMERIC))


def _set(df, rng, col, value):
    """Put ``value`` in one random row of ``col`` (a copy), widening the dtype to hold it."""
    df = df.copy()
    if len(df):
        s = df[col]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if not (numeric and isinstance(value, float)):
            s = s.astype(object)
        elif not pd.api.types.is_float_dtype(s):
            s = s.astype(float)
        s.iloc[int(rng.integers(len(df)))] = value
        df[col] = s
    return df


def m_empty(df, rng):
    return df.iloc[:0]


def m_one_row(df, rng):
    return df.iloc[:1]


def m_one_entity(df, rng):
    return df[df["id"] == df["id"].iloc[0]] if len(df) else df


def m_one_period(df, rng):
    return df[df["t"] == df["t"].iloc[0]] if len(df) else df


def m_nan(df, rng):
    return _set(df, rng, _num_col(rng), np.nan)


def m_inf(df, rng):
    return _set(df, rng, _num_col(rng), -np.inf)


def m_all_nan(df, rng):
    df = df.copy()
    df[_num_col(rng)] = np.nan
    return df


def m_mixed_dtype(df, rng):
    return _set(df, rng, _num_col(rng), "abc")


def m_numeric_strings(df, rng):
    df = df.copy()
    c = _num_col(rng)
    df[c] = df[c].map(lambda u: f"{u:.3f}" if isinstance(u, float) else str(u))
    return df


def m_bool(df, rng):
    df = df.copy()
    c = _num_col(rng)
    df[c] = pd.to_numeric(df[c], errors="coerce") > 0.5
    return df


def m_constant(df, rng):
    df = df.copy()
    df[_num_col(rng)] = 1.0
    return df


def m_dup_rows(df, rng):
    return pd.concat([df, df.iloc[: max(1, len(df) // 3)]])


def m_dup_keys(df, rng):
    df = df.copy()
    if len(df) > 1:
        df.iloc[1, df.columns.get_loc("t")] = df["t"].iloc[0]
        df.iloc[1, df.columns.get_loc("id")] = df["id"].iloc[0]
    return df


def m_mixed_ids(df, rng):
    df = df.copy()
    codes = pd.factorize(df["id"])[0]
    df["id"] = [int(c) if c % 2 else f"c{c}" for c in codes]
    return df


def m_int_ids(df, rng):
    df = df.copy()
    df["id"] = pd.factorize(df["id"])[0] + 1
    return df


def m_years(df, rng):
    df = df.copy()
    df["t"] = 2020 + df["tnum"]
    return df


def m_mixed_time(df, rng):
    df = df.copy()
    df["t"] = [2020 + int(u) if u % 2 else str(2020 + int(u)) for u in df["tnum"]]
    return df


def m_missing_key(df, rng):
    return _set(df, rng, str(rng.choice(["id", "t"])), None)


def m_dup_colnames(df, rng):
    df = df.copy()
    df.insert(len(df.columns), "tmp", df[_num_col(rng)])
    cols = list(df.columns)
    cols[-1] = _num_col(rng)
    df.columns = cols
    return df


def m_multiindex_cols(df, rng):
    df = df.copy()
    df.columns = pd.MultiIndex.from_tuples([(c, "") for c in df.columns])
    return df


def m_dup_index(df, rng):
    df = df.copy()
    df.index = np.zeros(len(df), dtype=int)
    return df


def m_shuffle(df, rng):
    return df.iloc[rng.permutation(len(df))]


def m_categorical(df, rng):
    df = df.copy()
    df["id"] = df["id"].astype("category")
    df["g"] = df["g"].astype("category")
    return df


def m_nullable(df, rng):
    """pandas' nullable dtypes with pd.NA (Float64, Int64, string)."""
    df = df.copy()
    c = _num_col(rng)
    if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
        df[c] = df[c].astype("Float64")
        if len(df):
            df.iloc[int(rng.integers(len(df))), df.columns.get_loc(c)] = pd.NA
    if pd.api.types.is_integer_dtype(df["k"]):
        df["k"] = df["k"].astype("Int64")
    df["id"] = df["id"].astype("string")
    return df


def m_zeros(df, rng):
    df = df.copy()
    c = _num_col(rng)
    df[c] = np.where(np.arange(len(df)) % 2 == 0, 0.0, -1.0)
    return df


def m_datetime_time(df, rng):
    df = df.copy()
    df["t"] = pd.to_datetime("2021-01-01") + pd.to_timedelta(91 * df["tnum"], unit="D")
    return df


def m_period_time(df, rng):
    df = df.copy()
    quarters = pd.period_range("2021Q1", periods=len(QUARTERS), freq="Q")
    df["t"] = pd.Series(quarters[df["tnum"].to_numpy() - 1], index=df.index)
    return df


def m_multiindex_rows(df, rng):
    df = df.copy()
    df.index = pd.MultiIndex.from_arrays([np.arange(len(df)) % 2, np.arange(len(df))])
    return df


def m_string_index(df, rng):
    df = df.copy()
    df.index = [f"r{i}" for i in range(len(df))]
    return df


MALFORM = {f.__name__[2:]: f for f in [
    m_empty, m_one_row, m_one_entity, m_one_period, m_nan, m_inf, m_all_nan,
    m_mixed_dtype, m_numeric_strings, m_bool, m_constant, m_dup_rows, m_dup_keys,
    m_mixed_ids, m_int_ids, m_years, m_mixed_time, m_missing_key, m_dup_colnames,
    m_multiindex_cols, m_dup_index, m_shuffle, m_categorical, m_nullable, m_zeros,
    m_datetime_time, m_period_time, m_multiindex_rows, m_string_index]}


# ---------------------------------------------------------------------------- checking
def check_call(name: str, df: pd.DataFrame) -> None:
    """The call returns or raises a DtiStatError, and leaves ``df`` exactly as it was."""
    before = df.copy(deep=True)
    attrs = dict(df.attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ADAPTERS[name](df)
        except DtiStatError:
            pass
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the property under test
            raise AssertionError(
                f"{name} raised {type(exc).__name__}: {exc}\non\n{before}") from exc
    pd.testing.assert_frame_equal(df, before, check_exact=True)
    assert df.attrs == attrs


def test_every_dataframe_function_has_an_adapter():
    import inspect

    takes_frame = {n for n in ds.__all__
                   if inspect.isfunction(getattr(ds, n))
                   and next(iter(inspect.signature(getattr(ds, n)).parameters), "")
                   in ("data", "df", "firms")}
    variants = ("_twfe", "_fe", "_random", "_lag", "_skip", "_drop")
    base = set()
    for n in ADAPTERS:
        for suffix in variants:
            n = n.removesuffix(suffix)
        base.add(n)
    missing = takes_frame - base
    assert not missing, f"no fuzz adapter for {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_clean_panel_is_accepted_or_refused_cleanly(name):
    check_call(name, base_panel())


@pytest.mark.parametrize("shape", [(1, 1), (1, 8), (2, 2), (3, 2), (5, 1), (2, 4)])
def test_small_panels_every_function(shape):
    df = base_panel(*shape)
    for name in sorted(ADAPTERS):
        check_call(name, df)


def test_most_adapters_succeed_on_the_clean_panel():
    """The adapters are meaningful: on a clean panel the functions do compute."""
    df = base_panel()
    refused = []
    for name in sorted(ADAPTERS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ADAPTERS[name](df)
            except DtiStatError:
                refused.append(name)
    # distance_weights reads a panel (repeated locations), psm_did matches every unit
    # away on 5 entities, log_t_test needs more periods: refused by design
    assert set(refused) <= {"distance_weights", "psm_did", "log_t_test"}, refused


@pytest.mark.parametrize("malformation", sorted(MALFORM))
def test_single_malformation_every_function(malformation):
    rng = np.random.default_rng(7)
    df = MALFORM[malformation](base_panel(), rng)
    for name in sorted(ADAPTERS):
        check_call(name, df)


@st.composite
def malformed_frames(draw):
    n_ent = draw(st.integers(1, 5))
    n_per = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    ops = draw(st.lists(st.sampled_from(sorted(MALFORM)), min_size=0, max_size=3))
    rng = np.random.default_rng(seed)
    df = base_panel(n_ent, n_per, seed)
    for op in ops:
        if isinstance(df.columns, pd.MultiIndex) or df.columns.duplicated().any():
            break  # the column-label malformations come last: the others index columns
        df = MALFORM[op](df, rng)
    return df


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(df=malformed_frames(), name=st.sampled_from(sorted(ADAPTERS)))
def test_stacked_malformations(df, name):
    check_call(name, df)
