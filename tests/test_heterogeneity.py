"""compare_groups: Chow, suest and the batched bdiff permutation test against references.

* permutation: a brute-force loop of ``fit_panel`` refits on the same permuted labels
  (regenerated with the same seed through ``permuted_labels``) equals the batched result;
* Chow: statsmodels 0.14 OLS with explicit entity and time dummies and the interactions,
  cluster covariance (equal to ``fit_panel``'s ``small_sample="areg"``), ``f_test``;
* suest: Stata's suest equals the fully interacted regression with group-specific effect
  dummies and a cluster sandwich times M/(M-1) (Stata [R] suest, Methods and formulas:
  no (N-1)/(N-k) factor) -- here statsmodels OLS with those dummies and
  ``cov_type="cluster", use_correction=False``, times M/(M-1).
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from dtistat import errors
from dtistat.heterogeneity import compare_groups, permuted_labels
from dtistat.panel import fit_panel


def _panel(seed=0, ne=60, nt=6, unbalanced=False):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"id": np.repeat(np.arange(ne), nt), "t": np.tile(np.arange(nt), ne)})
    df["prov"] = df["id"] // 3  # clusters of three entities
    df["g"] = np.where(np.repeat(rng.integers(0, 2, ne // 3), 3)[df["id"]] == 1, "east", "west")
    a = np.repeat(rng.normal(size=ne), nt)
    df["x"] = rng.normal(size=len(df)) + 0.5 * a
    df["w"] = rng.normal(size=len(df))
    east = (df["g"] == "east").to_numpy()
    df["y"] = (0.5 + 0.3 * east) * df.x + 0.3 * df.w + a + rng.normal(size=nt)[df.t] \
        + rng.normal(size=len(df))
    if unbalanced:
        df = df.drop(rng.choice(len(df), size=len(df) // 8, replace=False)).reset_index(drop=True)
    return df


def _brute(df, labels, unit, fe):
    """Refit both groups for each permuted assignment of units to groups."""
    units = pd.factorize(df[unit])[0]
    out = []
    for row in labels:
        grp = row[units]
        b = [fit_panel(df[grp == j], "y ~ x + w", entity="id", time="t", fe=fe,
                       cov="robust").params for j in (0, 1)]
        out.append((b[1] - b[0])[["x", "w"]].to_numpy())
    return np.array(out)


@pytest.mark.parametrize("fe,unbalanced,cov", [("twoway", False, "cluster"),
                                               ("twoway", True, "cluster"),
                                               ("entity", True, "robust"),
                                               ("time", False, "robust")])
def test_permutation_equals_refit_loop(fe, unbalanced, cov):
    df = _panel(unbalanced=unbalanced)
    kw = {"by": "g", "entity": "id", "time": "t", "fe": fe, "cov": cov, "method": "permutation",
              "n_perm": 15}
    if cov == "cluster":
        kw["cluster"] = "prov"
    r = compare_groups(df, "y ~ x + w", seed=7, **kw)
    unit = "prov" if cov == "cluster" else "id"
    assert r.permutation_unit == unit
    codes, lab = pd.factorize(df[unit])
    ug = np.zeros(len(lab), dtype=np.int8)
    ug[codes] = (df["g"] == "west").to_numpy()
    labels = permuted_labels(ug, 15, np.random.default_rng(7))
    ref = _brute(df, labels, unit, fe)
    np.testing.assert_allclose(r.permutation_draws.to_numpy(), ref, rtol=0, atol=1e-10)
    obs = r.tests.set_index("term")
    np.testing.assert_allclose(obs["difference_permutation"], obs["difference"], atol=1e-10)
    exp_one = [(ref[:, j] >= d).mean() if d >= 0 else (ref[:, j] <= d).mean()
               for j, d in enumerate(obs["difference"])]
    np.testing.assert_allclose(obs["p_permutation"], exp_one)
    exp_two = [(np.abs(ref[:, j]) >= abs(d)).mean() for j, d in enumerate(obs["difference"])]
    np.testing.assert_allclose(obs["p_permutation_two_sided"], exp_two)


def test_permutation_seeded_and_detects_difference():
    df = _panel(ne=90)
    kw = {"by": "g", "entity": "id", "time": "t", "method": "permutation", "n_perm": 300}
    a = compare_groups(df, "y ~ x + w", seed=3, **kw)
    b = compare_groups(df, "y ~ x + w", seed=3, **kw)
    pd.testing.assert_frame_equal(a.permutation_draws, b.permutation_draws)
    p = a.tests.set_index("term")["p_permutation"]
    assert p["x"] < 0.05  # true difference 0.3
    # under the null the permuted differences centre on zero
    assert abs(a.permutation_draws["x"].mean()) < 3 * a.permutation_draws["x"].std() / np.sqrt(300)


def _dummies(s, drop_first):
    d = pd.get_dummies(s.astype(str), prefix=s.name, drop_first=drop_first, dtype=float)
    return d


def test_permutation_memory_does_not_grow_with_rows_times_dummies_squared():
    """Issue #21 (same class as item 8): 999 entities × 40 periods, two-way FE.

    The bdiff permutation test needs per-entity cross-products of [x, 40 time dummies,
    y]. They were formed from a dense 39,960 × 42 design and full 42 × 42 row outer
    products in chunks, and one bincount per product column and chunk (peak traced
    348 MiB, 4 s). Now the dummies exist only for a block of whole entities and the
    products are upper triangles summed per entity; the 820 dummy × dummy products are
    equal for every entity of a balanced panel and kept once: a 999 × 83 table.
    """
    import tracemalloc

    df = _panel(seed=3, ne=999, nt=40)
    kw = {"by": "g", "entity": "id", "time": "t", "fe": "twoway", "method": "permutation",
          "n_perm": 100, "seed": 1}
    tracemalloc.start()
    try:
        compare_groups(df, "y ~ x", **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 48 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"



def test_chow_equals_ols_with_dummies():
    df = _panel(unbalanced=True)
    r = compare_groups(df, "y ~ x + w", by="g", entity="id", time="t", fe="twoway",
                       cov="cluster", small_sample="areg", method="chow")
    e = (df["g"] == "west").astype(float)
    X = pd.concat([df[["x", "w"]], (df[["x", "w"]].mul(e, axis=0)).add_suffix(":west"),
                   _dummies(df["id"], False), _dummies(df["t"], True)], axis=1)
    fit = sm.OLS(df["y"], X).fit(cov_type="cluster", cov_kwds={"groups": df["id"]},
                                 use_t=True)
    ft = fit.f_test("x:west = 0, w:west = 0")
    assert abs(r.chow.statistic - float(np.squeeze(ft.fvalue))) < 1e-8
    assert r.chow.df == (2, 59)
    assert abs(r.chow.p_value - stats.f.sf(float(np.squeeze(ft.fvalue)), 2, 59)) < 1e-10
    np.testing.assert_allclose(r.chow_model.params[["x:g[west]", "w:g[west]"]],
                               fit.params[["x:west", "w:west"]], atol=1e-10)


def test_suest_equals_interacted_ols_with_group_specific_dummies():
    df = _panel(unbalanced=True)
    r = compare_groups(df, "y ~ x + w", by="g", entity="id", time="t", fe="twoway",
                       cov="cluster", cluster="prov", method="suest")
    blocks = []
    for g in ("east", "west"):
        ind = (df["g"] == g).astype(float)
        sub = df[ind == 1]
        blk = pd.concat([df[["x", "w"]].mul(ind, axis=0).add_suffix(f"[{g}]"),
                         _dummies(sub["id"], False).reindex(df.index, fill_value=0.0),
                         _dummies(sub["t"], True).add_suffix(f"_{g}")
                         .reindex(df.index, fill_value=0.0)], axis=1)
        blocks.append(blk)
    X = pd.concat(blocks, axis=1)
    fit = sm.OLS(df["y"], X).fit(cov_type="cluster",
                                 cov_kwds={"groups": df["prov"], "use_correction": False})
    names = ["x[east]", "w[east]", "x[west]", "w[west]"]
    M = df["prov"].nunique()
    np.testing.assert_allclose(r.suest.params[names], fit.params[names], atol=1e-10)
    V = fit.cov_params().loc[names, names].to_numpy() * M / (M - 1)
    np.testing.assert_allclose(r.suest.cov.loc[names, names].to_numpy(), V, rtol=1e-9,
                               atol=1e-14)
    R = np.array([[-1, 0, 1, 0], [0, -1, 0, 1]], dtype=float)
    d = R @ fit.params[names].to_numpy()
    W = float(d @ np.linalg.solve(R @ V @ R.T, d))
    assert abs(r.suest_test.statistic - W) < 1e-8
    assert r.suest_test.df == (2,) and r.suest_test.distribution == "chi2"
    # per-term p-values are the one-restriction Wald tests
    p_x = stats.chi2.sf((d[0] ** 2) / (R[0] @ V @ R[0]), 1)
    assert abs(r.tests.set_index("term").loc["x", "p_suest"] - p_x) < 1e-10


def test_three_groups_chow_suest_and_result_surface():
    df = _panel(ne=90)
    df["g3"] = np.array(["c", "e", "w"])[df["id"] % 3]
    r = compare_groups(df, "y ~ x + w", by="g3", entity="id", time="t",
                       method=("chow", "suest"), terms="x")
    assert r.groups == ("c", "e", "w") and r.chow.df[0] == 2 and r.suest_test.df == (2,)
    assert "Chow" in str(r.summary()) and "<table" in r._repr_html_()
    assert repr(r).startswith("<CompareGroupsResult")
    with pytest.raises(errors.ParameterError, match="two groups"):
        compare_groups(df, "y ~ x", by="g3", entity="id", time="t", method="permutation")


def test_bad_input():
    df = _panel()
    kw = {"entity": "id", "time": "t"}
    with pytest.raises(errors.ColumnError, match="'nope'"):
        compare_groups(df, "y ~ x", by="nope", **kw)
    with pytest.raises(errors.DataError, match="1 group"):
        compare_groups(df.assign(g="a"), "y ~ x", by="g", **kw)
    bad = df.copy()
    bad.loc[4, "g"] = None
    with pytest.raises(errors.DataError, match="'g'"):
        compare_groups(bad, "y ~ x", by="g", **kw)
    mixed = df.assign(g=np.where(df["t"] < 3, "a", "b"))
    with pytest.raises(errors.DataError, match="by column 'g' varies within 'id'"):
        compare_groups(mixed, "y ~ x", by="g", method="permutation", **kw)
    few = df.assign(g=np.where(df["prov"] == 0, "a", "b"))
    with pytest.raises(errors.EstimationError, match="group g='a' has 1 cluster"):
        compare_groups(few, "y ~ x", by="g", cluster="prov", method="suest", **kw)
    with pytest.raises(errors.ParameterError, match="terms: 'z'"):
        compare_groups(df, "y ~ x", by="g", terms="z", **kw)
    with pytest.raises(errors.SpecError, match="L\\(x"):
        compare_groups(df, "y ~ L(x)", by="g", **kw)
    with pytest.raises(errors.ParameterError, match="method"):
        compare_groups(df, "y ~ x", by="g", method="bootstrap", **kw)
    with pytest.raises(errors.ParameterError, match="varies within 'id'"):
        compare_groups(df, "y ~ x", by="g", cluster="t", method="permutation", **kw)
