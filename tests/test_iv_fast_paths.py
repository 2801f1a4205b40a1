"""The shortcuts that make ``fit_iv`` fast at a million rows equal their reference paths.

* ``column_scale`` / ``check_magnitude`` take max and min of each column when every value
  is finite; the masked |x| path (the original) is the reference, also for NaN and inf.
* The Kleibergen-Paap rk Wald statistic with one endogenous regressor reuses the first
  stage's Wald test; ``kp_rank_ranktest`` (``ranktest``'s algorithm) is the reference.
* The Anderson-Rubin test at beta = 0 and its confidence set reuse the cached reduced
  form; the explicit ``beta0`` path recomputes it.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from dtistat._scale import check_magnitude, column_scale
from dtistat.errors import DataError, DtiStatWarning
from dtistat.iv import diagnostics as dg
from dtistat.iv import fit_iv
from dtistat.iv.design import build_iv_design, parse_iv_formula

# weak-instrument warnings of the small panels are beside the point here
pytestmark = pytest.mark.filterwarnings("ignore::dtistat.errors.DtiStatWarning")


def _masked_scale(X):
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    with np.errstate(invalid="ignore"):
        top = np.max(np.where(np.isfinite(X), np.abs(X), 0.0), axis=0, initial=0.0)
    return np.ldexp(1.0, np.frexp(np.where(top > 0, top, 1.0))[1] - 1)


CASES = [
    np.zeros((0, 3)), np.zeros(4), np.array([-0.0, 0.0]), np.array([-4.0, 3.0]),
    np.array([-2.0, 2.0]), np.array([np.nan, 1.0, -3.0]), np.array([np.inf, 3.0]),
    np.array([-np.inf, -0.5]), np.array([[1e-310, -3e300], [np.nan, 2.0], [5.0, -np.inf]]),
    np.array([1.7976931348623157e308, -5e-324]), np.arange(7),
    np.random.default_rng(0).normal(size=(50, 4)) * np.array([1e-300, 1e-13, 1e13, 1e300]),
]


@pytest.mark.parametrize("X", CASES, ids=range(len(CASES)))
def test_column_scale_equals_masked_path(X):
    got, ref = column_scale(X), _masked_scale(X)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def test_check_magnitude_names_column_past_nan_and_inf():
    X = np.array([[np.nan, 1.0, 2e200], [np.inf, -3.0, 1.0]])
    with pytest.raises(DataError, match="'c'"):
        check_magnitude(X, ["a", "b", "c"], "fit_x")
    check_magnitude(X[:, :2], ["a", "b"], "fit_x")  # NaN/inf alone are not magnitudes
    with pytest.raises(DataError, match="'b'"):
        check_magnitude(np.array([[1.0, -1e-200], [2.0, 0.0]]), ["a", "b"], "fit_x")


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(7)
    N, T = 80, 6
    city, year = np.repeat(np.arange(N), T), np.tile(np.arange(T), N)
    a = rng.normal(size=N)[city]
    z = rng.normal(size=(N * T, 3)) * [1.0, 2.0, 0.5]
    u = rng.normal(size=N * T) * (1 + 0.5 * np.abs(z[:, 0]))  # heteroskedastic
    x = rng.normal(size=N * T)
    d = z @ [0.3, 0.1, 0.4] + 0.6 * u + a + rng.normal(size=N * T)
    y = 0.5 * d + 0.3 * x + a + u
    return pd.DataFrame({"city": city, "year": year, "y": y, "x": x, "d": d,
                         "z1": z[:, 0], "z2": z[:, 1], "z3": z[:, 2]})


@pytest.mark.parametrize("cov", ["robust", "cluster", "driscoll-kraay", "twoway-cluster"])
def test_kp_wald_one_endogenous_equals_ranktest(panel, cov):
    design = build_iv_design(panel, *parse_iv_formula("y ~ x + [d ~ z1 + z2 + z3]"),
                             entity="city", time="year", fe="entity", cov=cov, cluster=None,
                             missing="raise")
    pt = dg.partial_out(design, cov, None)
    ref = dg.kp_rank_ranktest(pt, wald=True)
    assert dg.kp_rank(pt, wald=True) == pytest.approx(ref, rel=1e-10)
    assert dg.kp_rank(pt, wald=False) == dg.kp_rank_ranktest(pt, wald=False)
    assert dg.kp_rank(pt, wald=False) < ref  # LM (restricted variance) differs from Wald


def test_anderson_rubin_cached_reduced_form_equals_explicit_beta0(panel):
    design = build_iv_design(panel, *parse_iv_formula("y ~ x + [d ~ z1 + z2 + z3]"),
                             entity="city", time="year", fe="entity", cov="cluster",
                             cluster=None, missing="raise")
    pt = dg.partial_out(design, "cluster", None)
    cached = dg.anderson_rubin(pt)
    explicit = dg.anderson_rubin(pt, [0.0])
    assert cached["F"] == pytest.approx(explicit["F"], rel=1e-12)
    assert cached["p_value"] == pytest.approx(explicit["p_value"], rel=1e-10)
    # the set's end points are where the explicit test has p = 1 - level
    lo, hi = dg.ar_confidence_set(pt, 0.9, 0.5, 0.1)[0]
    for b in (lo, hi):
        assert dg.anderson_rubin(pt, [b])["p_value"] == pytest.approx(0.10, abs=1e-8)


def test_fit_diagnostics_keep_kp_equal_to_first_stage_wald(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)
        r = fit_iv(panel, "y ~ x + [d ~ z1 + z2 + z3]", entity="city", time="year",
                   fe="twoway", cov="cluster")
    t = r.diagnostics.tests
    # one endogenous regressor: the rk Wald F is the first-stage F (ivreg2 reports both)
    assert t["kp_wald_f"].statistic == pytest.approx(r.first_stage["d"].f_test.statistic,
                                                     rel=1e-12)


@pytest.mark.parametrize("cov", ["cluster", "robust"])
def test_plain_column_formula_equals_formula_engine(panel, monkeypatch, cov):
    from dtistat.iv import design as ivd

    d = panel.assign(year_i=panel["year"].astype(np.int32))
    f = "y ~ x + year_i + [d ~ z1 + z2]"
    assert ivd._plain_columns(d, f) == ("y", ["x", "year_i"], ["d"], ["z1", "z2"])
    fast = fit_iv(d, f, entity="city", fe="entity", cov=cov)
    monkeypatch.setattr(ivd, "_plain_columns", lambda data, formula: None)
    engine = fit_iv(d, f, entity="city", fe="entity", cov=cov)
    np.testing.assert_allclose(fast.params, engine.params, rtol=1e-13)
    np.testing.assert_allclose(fast.std_errors, engine.std_errors, rtol=1e-13)
    np.testing.assert_allclose(fast.diagnostics.table["value"].to_numpy(dtype=float),
                               engine.diagnostics.table["value"].to_numpy(dtype=float),
                               rtol=1e-12)


def test_formula_engine_still_reads_what_is_not_plain(panel):
    from dtistat.iv.design import _plain_columns

    d = panel.assign(flag=panel["x"] > 0, region=np.where(panel["city"] % 2, "a", "b"))
    for f in ("y ~ flag + [d ~ z1 + z2]", "y ~ C(region) + [d ~ z1 + z2]",
              "y ~ x + x + [d ~ z1 + z2]", "y ~ log(z3 ** 2) + [d ~ z1 + z2]"):
        assert _plain_columns(d, f) is None, f
    wide = pd.concat({"a": d[["y", "d", "z1", "z2"]]}, axis=1).swaplevel(axis=1)
    assert _plain_columns(wide, "y ~ [d ~ z1 + z2]") is None  # MultiIndex columns
    d.loc[5, "z2"] = np.nan  # a missing value: the engine drops and counts it
    assert _plain_columns(d, "y ~ x + [d ~ z1 + z2]") is None
    r = fit_iv(d, "y ~ x + [d ~ z1 + z2]", missing="drop")
    assert r.nobs == len(d) - 1 and r.n_dropped_missing == 1


def test_blas_threads_restored_after_fit_and_after_error(panel):
    from threadpoolctl import threadpool_info

    from dtistat.errors import SpecError

    def blas():
        return [(i["filepath"], i["num_threads"]) for i in threadpool_info()
                if i["user_api"] == "blas"]

    before = blas()
    fit_iv(panel, "y ~ x + [d ~ z1 + z2]", entity="city", fe="entity", cov="cluster")
    assert blas() == before
    with pytest.raises(SpecError):
        fit_iv(panel, "y ~ x + [d ~ x]")
    assert blas() == before
