"""winsorize / trim against Stata's documented ``_pctile`` rule, implemented independently.

Reference rule: Stata ``[D] pctile``, Methods and formulas (unweighted): sort the n
non-missing values, P = n p / 100; the p-th percentile is x_(floor(P)+1) if P is not an
integer, else (x_(P) + x_(P+1)) / 2. ``winsor2`` (Lian Yujun, SSC) replaces values below
/ above the cut points by them (``trim``: sets them missing), within ``by()`` groups.
"""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from dtistat import errors
from dtistat.preprocess import cut_points, stata_pctile, trim, winsorize


def ref_pctile(values, p_percent):
    """Stata _pctile with exact rational arithmetic (no floating point in P)."""
    x = sorted(v for v in values if not np.isnan(v))
    n = len(x)
    P = Fraction(n) * Fraction(str(p_percent)) / 100
    i = P.numerator // P.denominator
    if P.denominator == 1 and 1 <= i < n:
        return (x[i - 1] + x[i]) / 2
    return x[min(i, n - 1)]


def ref_winsor(values, lo, hi):
    out = []
    for v in values:
        if np.isnan(v):
            out.append(np.nan)
        else:
            out.append(lo if v < lo else min(v, hi))
    return out


@pytest.fixture
def ties():
    rng = np.random.default_rng(3)
    n = 300
    df = pd.DataFrame({"g": rng.choice(["e", "c", "w"], n),
                       "x": rng.integers(0, 12, n).astype(float),  # heavy ties
                       "y": rng.normal(size=n)})
    df.loc[[5, 17, 200], "x"] = np.nan
    return df


@pytest.mark.parametrize("p", [1, 5, 7, 10, 25, 50, 75, 93, 99])
def test_pctile_matches_documented_rule_on_ties(ties, p):
    for n in (5, 10, 100, 297, 300):
        x = ties["x"].to_numpy()[:n]
        assert stata_pctile(x, p) == ref_pctile(x, p)


def test_pctile_is_numpy_averaged_inverted_cdf_where_np_forms_P_exactly(ties):
    x = ties["x"].dropna().to_numpy()
    for p in (1, 5, 10, 25, 50, 75, 90, 99):
        assert stata_pctile(x, p) == np.percentile(x, p, method="averaged_inverted_cdf")
    # n q with q = 0.07 is not exactly 21 in floating point for n = 300; Stata forms
    # 300 * 7 / 100 = 21 and averages x_(21) and x_(22)
    z = np.arange(300.0)
    assert stata_pctile(z, 7) == ref_pctile(z, 7) == 20.5
    assert np.percentile(z, 7, method="averaged_inverted_cdf") == 21.0


def test_winsorize_equals_winsor2_rule(ties):
    out = winsorize(ties, ["x", "y"], (0.01, 0.99))
    for c in ("x", "y"):
        v = ties[c].tolist()
        lo, hi = ref_pctile(v, 1), ref_pctile(v, 99)
        np.testing.assert_array_equal(out[c].to_numpy(), ref_winsor(v, lo, hi))
    assert out["x"].isna().sum() == 3  # missing kept missing


def test_winsorize_by_group_and_suffix(ties):
    before = ties.copy()
    out = winsorize(ties, "x", (0.05, 0.95), by="g", suffix="_w")
    pd.testing.assert_frame_equal(ties, before)  # input never mutated
    pd.testing.assert_series_equal(out["x"], ties["x"])
    for _, sub in ties.groupby("g"):
        v = sub["x"].tolist()
        exp = ref_winsor(v, ref_pctile(v, 5), ref_pctile(v, 95))
        np.testing.assert_array_equal(out.loc[sub.index, "x_w"].to_numpy(), exp)
    cp = cut_points(ties, "x", (0.05, 0.95), by="g")
    assert cp.loc["w", ("x", "lower")] == ref_pctile(ties.loc[ties.g == "w", "x"].tolist(), 5)


def test_trim(ties):
    out = trim(ties, "y", (0.1, 0.9), suffix="_tr")
    v = ties["y"].tolist()
    lo, hi = ref_pctile(v, 10), ref_pctile(v, 90)
    exp = [np.nan if (a < lo or a > hi) else a for a in v]
    np.testing.assert_array_equal(out["y_tr"].to_numpy(), exp)
    assert out["y_tr"].notna().sum() < ties["y"].notna().sum()


@pytest.mark.parametrize("limits", [(0, 0.99), (0.6, 0.99), (-0.1, 0.9), (0.01, 1.0),
                                    (0.01, 0.4), (0.01,), "x"])
def test_bad_limits(ties, limits):
    with pytest.raises(errors.ParameterError, match="limits"):
        winsorize(ties, "x", limits)


def test_bad_input(ties):
    with pytest.raises(errors.ColumnError, match="'nope'"):
        winsorize(ties, "nope")
    with pytest.raises(errors.ColumnError, match="'g'"):
        winsorize(ties, "g")
    with pytest.raises(errors.ParameterError, match="already exists"):
        winsorize(ties.assign(x_w=1.0), "x", suffix="_w")
    bad = ties.copy()
    bad.loc[3, "g"] = None
    with pytest.raises(errors.DataError, match="by column 'g'"):
        winsorize(bad, "x", by="g")
    with pytest.raises(errors.DataError, match="infinite"):
        winsorize(ties.assign(x=np.inf), "x")
