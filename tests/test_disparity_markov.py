"""Classical and spatial Markov chains against PySAL giddy 2.3 (run here) on usjoin.csv /
states48.gal, and the published doctest numbers of giddy.markov."""

import warnings

import libpysal
import mapclassify
import numpy as np
import pandas as pd
import pytest
from giddy.ergodic import mfpt as giddy_mfpt
from giddy.ergodic import steady_state as giddy_ss
from giddy.markov import Markov, Spatial_Markov
from scipy import sparse

from dtistat.errors import DataError, EstimationError, ParameterError, PeriodError
from dtistat.index.disparity import markov, spatial_markov
from dtistat.index.disparity.markov import homogeneity, mean_first_passage


@pytest.fixture(scope="module")
def usjoin():
    f = pd.read_csv(libpysal.examples.get_path("usjoin.csv"))
    years = [str(y) for y in range(1929, 2010)]
    pci = f[years].to_numpy(dtype=float)  # states x years
    long = f.melt(id_vars=["Name"], value_vars=years, var_name="year", value_name="pci")
    long["year"] = long["year"].astype(int)
    rp = pci / pci.mean(axis=0)
    long_r = pd.DataFrame({"Name": np.repeat(f["Name"].to_numpy(), len(years)),
                           "year": np.tile(np.arange(1929, 2010), len(f)),
                           "rpci": rp.ravel()})
    w = libpysal.io.open(libpysal.examples.get_path("states48.gal")).read()
    w.transform = "r"
    return pci, long, rp, long_r, w


def test_classical_markov_equals_giddy(usjoin):
    pci, long, *_ = usjoin
    r = markov(long, value="pci", entity="Name", time="year", k=5)  # quintiles per year
    q5 = np.array([mapclassify.Quantiles(y, k=5).yb for y in pci.T]).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = Markov(q5, summary=False)
    np.testing.assert_array_equal(r.classes.to_numpy(), q5)
    np.testing.assert_array_equal(r.counts.to_numpy(), m.transitions)
    np.testing.assert_allclose(r.probabilities.to_numpy(), m.p, rtol=1e-14)
    np.testing.assert_allclose(r.steady_state.to_numpy(), m.steady_state, rtol=1e-10)
    np.testing.assert_allclose(r.mfpt.to_numpy(), giddy_mfpt(m.p), rtol=1e-9)
    # giddy 2.3 docs, giddy.markov.Markov on usjoin.csv (per-year quintiles)
    assert r.counts.iloc[0].tolist() == [729, 71, 1, 0, 0]
    np.testing.assert_allclose(r.probabilities.iloc[0], [0.91011236, 0.0886392, 0.00124844, 0, 0],
                               atol=5e-9)
    np.testing.assert_allclose(r.steady_state,
                               [0.20774716, 0.18725774, 0.20740537, 0.18821787, 0.20937187],
                               atol=5e-9)


@pytest.mark.parametrize("wkind", ["W", "sparse", "dense"])
def test_spatial_markov_equals_giddy(usjoin, wkind):
    _, _, rp, long_r, w = usjoin
    wm = {"W": w, "sparse": w.sparse, "dense": w.full()[0]}[wkind]
    r = spatial_markov(long_r, wm, value="rpci", entity="Name", time="year", k=5, m=5)
    sm = Spatial_Markov(rp, w, fixed=True, k=5, m=5)
    np.testing.assert_allclose(r.cutoffs, sm.cutoffs, rtol=1e-14)
    np.testing.assert_allclose(r.lag_cutoffs, sm.lag_cutoffs, rtol=1e-14)
    np.testing.assert_array_equal(r.counts, sm.T)
    np.testing.assert_allclose(r.probabilities, sm.P, rtol=1e-14)
    np.testing.assert_allclose(r.pooled_probabilities.to_numpy(), sm.p, rtol=1e-14)
    h = r.homogeneity
    assert h.lr.statistic == pytest.approx(sm.LR, rel=1e-12)
    assert h.q.statistic == pytest.approx(sm.Q, rel=1e-12)
    assert h.dof == sm.dof_hom
    # giddy 2.3 docs (Spatial_Markov, rpci, fixed=True, k=m=5): LR 170.659, Q 200.624, dof 60
    assert f"{h.lr.statistic:.3f}" == "170.659" and f"{h.q.statistic:.3f}" == "200.624"
    assert h.dof == 60
    np.testing.assert_allclose(r.steady_states.to_numpy(), sm.S.astype(float), rtol=1e-9)
    np.testing.assert_allclose(r.mfpt(0).to_numpy(), sm.F[0], rtol=1e-9)
    assert "LR=170.659" in repr(r)


def test_pooled_classical_and_homogeneity_function(usjoin):
    _, _, rp, long_r, _ = usjoin
    r = markov(long_r, value="rpci", entity="Name", time="year", k=5, pooled=True)
    q = mapclassify.Quantiles(rp.ravel(), k=5)
    np.testing.assert_array_equal(r.classes.to_numpy(), q.yb.reshape(rp.shape))
    # time homogeneity over two halves: compare with giddy's Homogeneity_Results
    from giddy.markov import Homogeneity_Results
    ids = r.classes.to_numpy()
    halves = []
    for part in (ids[:, :41], ids[:, 40:]):
        T = np.zeros((5, 5))
        np.add.at(T, (part[:, :-1].ravel(), part[:, 1:].ravel()), 1)
        halves.append(T)
    ours = homogeneity(np.array(halves))
    ref = Homogeneity_Results(np.array(halves))
    assert ours.lr.statistic == pytest.approx(ref.LR, rel=1e-12)
    assert ours.q.statistic == pytest.approx(ref.Q, rel=1e-12)
    assert ours.dof == ref.dof
    # the same split through the result: transitions starting 1929-1968 vs 1969-2008
    th = r.time_homogeneity([1969])
    assert th.regimes == ("1929-1968", "1969-2008")
    assert th.lr.statistic == pytest.approx(ref.LR, rel=1e-12) and th.dof == ref.dof


def test_mfpt_and_steady_state_small_chain():
    p = np.array([[.5, .25, .25], [.5, 0, .5], [.25, .25, .5]])
    np.testing.assert_allclose(mean_first_passage(p), giddy_mfpt(p), rtol=1e-12)
    from dtistat.index.disparity.markov import steady_state
    np.testing.assert_allclose(steady_state(p), giddy_ss(p), rtol=1e-12)
    with pytest.raises(EstimationError, match="reducible"):
        steady_state(np.array([[1.0, 0], [0.5, 0.5]]))


def test_markov_bad_input(usjoin):
    _, long, *_ = usjoin
    small = long[long.Name.isin(long.Name.unique()[:3])]
    with pytest.raises(PeriodError, match="fewer than k=5"):
        markov(small, value="pci", entity="Name", time="year", k=5)
    with pytest.raises(ParameterError, match="entity= is required"):
        markov(long, value="pci", time="year")
    unb = long.drop(index=long.index[10])
    with pytest.raises(DataError, match="unbalanced"):
        markov(unb, value="pci", entity="Name", time="year")
    with pytest.raises(DataError, match="48 entities"):
        spatial_markov(long, sparse.eye(10), value="pci", entity="Name", time="year")
