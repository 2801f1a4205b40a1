"""Moran's I, Geary's C, LISA and Gi* against PySAL esda (run here) and its doctests."""

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest
from esda.crand import vec_permutations
from libpysal import examples

from dtistat.errors import DataError, ParameterError
from dtistat.spatial.explore import geary, getis_ord, local_moran, moran
from dtistat.spatial.weights import from_libpysal


def _stl():
    w = libpysal.io.open(examples.get_path("stl.gal")).read()
    w.transform = "r"
    df = pd.read_csv(examples.get_path("stl_hom.csv"))
    return w, df


def _sids():
    w = libpysal.io.open(examples.get_path("sids2.gal")).read()
    w.transform = "r"
    f = libpysal.io.open(examples.get_path("sids2.dbf"))
    return w, np.array(f.by_col("SIDR74"))


def test_moran_stl_published_doctest():
    # esda 2.x Moran docstring (St. Louis homicide rates HR8893, stl.gal, row-standardized):
    # I = 0.244 (3 dp), EI = -0.012987012987012988, p_norm = 0.000271 (two-sided)
    w, df = _stl()
    r = moran(df["HR8893"].to_numpy(), w, permutations=0)
    assert round(r.I, 3) == 0.244
    assert r.expected == pytest.approx(-0.012987012987012988, abs=1e-15)
    assert round(r.p_norm, 6) == 0.000271


def test_moran_sids_published_doctest():
    # esda Moran docstring, SIDS (sids2, SIDR74): I = 0.248, p_norm = 0.00011583307814905095
    w, y = _sids()
    r = moran(y, w, permutations=0)
    assert round(r.I, 3) == 0.248
    assert r.p_norm == pytest.approx(0.00011583307814905095, rel=1e-9)


def test_geary_book_published_doctest():
    # esda Geary docstring: book.txt / book.gal (row-standardized), C = 0.3330108 (7 dp)
    w = libpysal.io.open(examples.get_path("book.gal")).read()
    w.transform = "r"
    f = libpysal.io.open(examples.get_path("book.txt"))
    y = np.array(f.by_col["y"])
    r = geary(y, w, permutations=0)
    assert round(r.I, 7) == 0.3330108
    ref = esda.Geary(y, w, permutations=0)
    assert r.p_norm == pytest.approx(2 * ref.p_norm, rel=1e-10)  # esda's is one-sided
    assert r.var_rand == pytest.approx(ref.VC_rand, rel=1e-12)


@pytest.mark.parametrize("col", ["HR7984", "HR8488", "HR8893"])
def test_moran_geary_equal_esda(col):
    w, df = _stl()
    y = df[col].to_numpy()
    m, g = moran(y, w, permutations=0), geary(y, w, permutations=0, alternative="directed")
    ref = esda.Moran(y, w, permutations=0)
    assert m.I == pytest.approx(ref.I, rel=1e-13)
    assert m.var_norm == pytest.approx(ref.VI_norm, rel=1e-12)
    assert m.var_rand == pytest.approx(ref.VI_rand, rel=1e-12)
    assert m.p_norm == pytest.approx(ref.p_norm, rel=1e-10)
    assert m.p_rand == pytest.approx(ref.p_rand, rel=1e-10)
    gref = esda.Geary(y, w, permutations=0)
    assert g.I == pytest.approx(gref.C, rel=1e-13)
    assert g.var_norm == pytest.approx(gref.VC_norm, rel=1e-12)
    assert g.p_rand == pytest.approx(gref.p_rand, rel=1e-10)


def test_panel_by_period_equals_cross_sections():
    w, df = _stl()
    long = df.reset_index().melt(id_vars="index", value_vars=["HR7984", "HR8488", "HR8893"],
                                 var_name="period", value_name="hr")
    W = from_libpysal(w)
    long["index"] = long["index"].map(dict(enumerate(W.ids)))
    r = moran("hr", W, data=long, entity="index", time="period", permutations=499, seed=3)
    assert list(r.table.index) == ["HR7984", "HR8488", "HR8893"]
    for col in r.table.index:
        assert r.table.loc[col, "statistic"] == pytest.approx(
            esda.Moran(df[col].to_numpy(), w, permutations=0).I, rel=1e-13)


def test_batched_permutations_equal_esda_draws():
    # esda draws np.random.permutation(z) once per replicate; feed the same permutations
    w, df = _stl()
    y = df["HR8893"].to_numpy()
    np.random.seed(11)
    ref = esda.Moran(y, w, permutations=199)
    np.random.seed(11)
    perms = np.array([np.random.permutation(len(y)) for _ in range(199)])
    from dtistat.spatial import explore

    W = from_libpysal(w).sparse
    Y = y[:, None]
    Z = Y - Y.mean(0)
    s0 = float(W.sum())
    sims = explore._simulate_global("moran", W, Y, Z, (Z * Z).sum(0), s0, perms)
    np.testing.assert_allclose(sims[0], ref.sim, rtol=1e-12)
    assert explore._perm_p(np.array([ref.I]), sims, "directed")[0] == ref.p_sim
    # Geary's batched draws against a straightforward loop
    gs = explore._simulate_global("geary", W, Y, Z, (Z * Z).sum(0), s0, perms[:20])
    loop = [geary(y[p], w, permutations=0).I for p in perms[:20]]
    np.testing.assert_allclose(gs[0], loop, rtol=1e-12)


def test_permutation_pvalue_close_to_esda():
    w, df = _stl()
    y = df["HR8893"].to_numpy()
    r = moran(y, w, permutations=9999, seed=1, alternative="directed")
    assert r.p_sim == pytest.approx(esda.Moran(y, w, permutations=9999).p_sim, abs=0.003)
    r2 = moran(y, w, permutations=999, seed=1)
    assert r2.p_sim == pytest.approx(min(1.0, 2 * moran(y, w, permutations=999, seed=1,
                                                           alternative="directed").p_sim))


def _crand_reference(z, w_sparse, ids, self_w, stat):
    """esda's conditional randomization written out unit by unit (esda.crand.compute_chunk)."""
    W = w_sparse.tocsr()
    n = len(z)
    out = np.empty((n, ids.shape[0]))
    for i in range(n):
        a, b = W.indptr[i], W.indptr[i + 1]
        wi = W.data[a:b]
        z_no_i = np.delete(z, i)
        zrand = z_no_i[ids[:, : b - a]]
        out[i] = stat(i, zrand @ wi + self_w[i] * z[i])
    return out


def test_local_moran_equals_esda():
    w, df = _stl()
    y = df["HR8893"].to_numpy()
    ref = esda.Moran_Local(y, w, permutations=0)
    r = local_moran(y, w, permutations=199, seed=5)
    np.testing.assert_allclose(r.table["Is"], ref.Is, rtol=1e-12)
    np.testing.assert_array_equal(r.table["quadrant"].map(
        {"HH": 1, "LH": 2, "LL": 3, "HL": 4}).to_numpy(), ref.q)
    # the compiled conditional-permutation kernel against esda's algorithm written out
    ids = np.random.default_rng(0).permuted(np.tile(np.arange(77), (199, 1)), axis=1)
    r = local_moran(y, w, permutations=199, _ids=ids)
    z = (y - y.mean()) / y.std()
    scale = (len(y) - 1) / (z * z).sum()
    sims = _crand_reference(z, w.sparse, ids, np.zeros(len(y)),
                            lambda i, lag: z[i] * lag * scale)
    from dtistat.spatial.explore import _perm_p

    np.testing.assert_allclose(r.table["p_sim"], _perm_p(ref.Is, sims, "directed"))
    a = local_moran(y, w, permutations=199, seed=2).table["p_sim"]
    b = local_moran(y, w, permutations=199, seed=2).table["p_sim"]
    assert a.equals(b)


@pytest.mark.slow
def test_local_moran_pvalues_equal_esda_same_draws():
    # esda's crand compiles with numba on first use (minutes on a loaded machine)
    w, df = _stl()
    y = df["HR8893"].to_numpy()
    ref = esda.Moran_Local(y, w, permutations=299, seed=5)
    ids = vec_permutations(int(w.sparse.getnnz(axis=1).max()), len(y), 299, 5)
    r = local_moran(y, w, permutations=299, _ids=ids)
    np.testing.assert_allclose(r.table["p_sim"], ref.p_sim, rtol=1e-6)
    wb = libpysal.io.open(examples.get_path("stl.gal")).read()
    refg = esda.G_Local(y, wb, star=True, transform="R", permutations=199, seed=4, n_jobs=1)
    ids = vec_permutations(int(wb.sparse.getnnz(axis=1).max()), len(y), 199, 4)
    rg = getis_ord(y, wb, star=True, permutations=199, _ids=ids)
    np.testing.assert_allclose(rg.table["p_sim"], refg.p_sim, rtol=1e-6)


def test_gi_star_equals_esda():
    w = libpysal.io.open(examples.get_path("stl.gal")).read()  # binary
    df = pd.read_csv(examples.get_path("stl_hom.csv"))
    y = df["HR8893"].to_numpy()
    ref = esda.G_Local(y, w, star=True, transform="R", permutations=0)
    r = getis_ord(y, w, star=True, permutations=0)
    np.testing.assert_allclose(r.table["G"], ref.Gs, rtol=1e-12)
    np.testing.assert_allclose(r.table["z"], ref.Zs, rtol=1e-10)
    np.testing.assert_allclose(r.table["p_norm"], 2 * ref.p_norm, rtol=1e-8)
    wb = libpysal.io.open(examples.get_path("stl.gal")).read()  # esda mutated w's transform
    rb = getis_ord(y, wb, star=True, transform="binary", permutations=0)
    refb = esda.G_Local(y, wb, star=True, transform="B", permutations=0)
    np.testing.assert_allclose(rb.table["z"], refb.Zs, rtol=1e-10)
    # permutation kernel against the written-out algorithm (self weight 1/(k+1)); the
    # draws are compared, not p-values, because a draw that reproduces the observed
    # neighbour set ties with the observed G up to rounding
    from dtistat.spatial.explore import _crand_lag

    ids = np.random.default_rng(1).permuted(np.tile(np.arange(77), (99, 1)), axis=1)
    B = (w.sparse != 0).astype(float).tocsr()
    B.sort_indices()
    k = np.asarray(B.sum(1)).ravel() + 1
    Bo = (__import__("scipy.sparse", fromlist=["diags"]).diags(1 / k) @ B).tocsr()
    sims = _crand_reference(y, Bo, ids, 1 / k, lambda i, s: s / y.sum())
    mine = (_crand_lag(y, Bo.indptr, Bo.data, ids) + (y / k)[:, None]) / y.sum()
    np.testing.assert_allclose(mine, sims, rtol=1e-12)
    rp = getis_ord(y, w, star=True, permutations=99, _ids=ids)
    from dtistat.spatial.explore import _perm_p

    np.testing.assert_array_equal(rp.table["p_sim"],
                                  _perm_p(rp.table["G"].to_numpy(), mine, "directed"))


def test_bad_input():
    w, df = _stl()
    y = df["HR8893"].to_numpy()
    with pytest.raises(DataError, match="entities"):
        moran(y[:-1], w)
    yy = y.copy()
    yy[3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        moran(yy, w)
    with pytest.raises(ParameterError, match="alternative"):
        moran(y, w, alternative="both")
    with pytest.raises(DataError, match="square"):
        moran(y, np.ones((3, 4)))
    long = pd.DataFrame({"e": list(range(78)) * 2, "t": [1] * 78 + [2] * 78,
                         "v": np.r_[y, y]}).iloc[:-1]
    W = from_libpysal(w)
    long["e"] = long["e"].map(dict(enumerate(W.ids)))
    with pytest.raises(DataError, match="balanced"):
        moran("v", W, data=long, entity="e", time="t")


def test_permutations_are_uniform_and_seeded():
    from dtistat.spatial.explore import _permutations

    a = _permutations(np.random.default_rng(3), 5, 20000)
    b = _permutations(np.random.default_rng(3), 5, 20000)
    np.testing.assert_array_equal(a, b)
    assert (np.sort(a, axis=1) == np.arange(5)).all()
    # every value equally likely in every position: chi-squared over the 5 x 5 counts
    counts = np.stack([(a == v).sum(0) for v in range(5)])
    chi2 = ((counts - 4000) ** 2 / 4000).sum()
    assert chi2 < 50  # 16 df: P(chi2 > 50) < 1e-4


def test_getis_ord_refuses_a_zero_sum():
    # Gi* divides by sum(y) (Gi by the sum over the other units): a zero sum gave inf/NaN
    w = libpysal.weights.lat2W(3, 3)
    y = np.array([1.0, -2, 3, -2, 3, -4, 3, -4, 2])  # sums to 0, not constant
    with pytest.raises(DataError, match="sum of y is zero.*non-negative"):
        getis_ord(y, w, permutations=0)
    with pytest.raises(DataError, match="sum of y is zero"):
        getis_ord(y + 1e-17, w, permutations=99, seed=1)  # zero up to rounding
    # Gi: only the sum over the units other than i matters (here i = entity 0)
    g = np.array([7.0, 1, 2, -3, 1, 2, -3, 1, -1])
    with pytest.raises(DataError, match="other than 0 is zero"):
        getis_ord(g, w, star=False, permutations=0)
    assert np.isfinite(getis_ord(g, w, star=True, permutations=0).table["z"]).all()


def test_global_statistics_refuse_weights_summing_to_zero():
    # I = n / S0 * z'Wz / z'z and C divide by S0: an all-zero W gave a raw
    # ZeroDivisionError (Moran) or a silent NaN (Geary)
    y = [1.0, 2, 3, 4, 6]
    for f, name in ((moran, "moran"), (geary, "geary")):
        with pytest.raises(DataError, match=f"{name}: the weights of W sum to zero"):
            f(y, np.zeros((5, 5)), permutations=0)
    W = np.zeros((5, 5))
    W[0, 1] = W[1, 0] = 1.0
    assert np.isfinite(moran(y, W, permutations=0).table["z_norm"]).all()
