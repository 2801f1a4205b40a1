"""Tests of dtistat.factors: KMO, Bartlett, parallel analysis, EFA, CFA/SEM, drivers.

Reference numbers carry their source beside them. "lavaan tutorial" is the CFA example
of https://lavaan.ugent.be/tutorial/cfa.html (lavaan 0.6, Holzinger–Swineford, N=301);
"lavaan SEM tutorial" is https://lavaan.ugent.be/tutorial/sem.html (Bollen 1989
political democracy, N=75); both are also recorded in docs/references.md.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from semopy.examples import political_democracy
from statsmodels.multivariate.factor import Factor
from statsmodels.multivariate.factor_rotation import rotate_factors
from statsmodels.stats.outliers_influence import variance_inflation_factor

from dtistat import _cfa, _efa
from dtistat.drivers import DriversResult, fit_drivers
from dtistat.errors import (
    ColumnError,
    ConvergenceError,
    DataError,
    DtiStatWarning,
    EstimationError,
    ParameterError,
    SpecError,
)
from dtistat.factors import (
    BartlettResult,
    CFAResult,
    EFAResult,
    KMOResult,
    ParallelAnalysisResult,
    bartlett_sphericity,
    fit_cfa,
    fit_efa,
    kmo,
    parallel_analysis,
)

X9 = [f"x{i}" for i in range(1, 10)]
HS_MODEL = """
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"""
PD_MODEL = """
# measurement model
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
# regressions
dem60 ~ ind60
dem65 ~ ind60 + dem60
# residual correlations
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""


@pytest.fixture(scope="module")
def pdem() -> pd.DataFrame:
    return political_democracy.get_data()


@pytest.fixture(scope="module")
def hs_cfa(hs) -> CFAResult:
    return fit_cfa(hs, HS_MODEL)


@pytest.fixture(scope="module")
def pd_sem(pdem) -> CFAResult:
    return fit_cfa(pdem, PD_MODEL)


def match_columns(a: np.ndarray, b: np.ndarray) -> float:
    """Largest abs difference between loading matrices up to column order and sign."""
    k = a.shape[1]
    best = np.inf
    for perm in itertools.permutations(range(k)):
        err = 0.0
        for j, m in enumerate(perm):
            err = max(err, min(np.abs(a[:, j] - b[:, m]).max(),
                               np.abs(a[:, j] + b[:, m]).max()))
        best = min(best, err)
    return best


def exact_corr_data(R: np.ndarray, n: int, seed: int, prefix: str = "v") -> pd.DataFrame:
    """Data whose sample correlation matrix is exactly R."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, len(R)))
    Z -= Z.mean(axis=0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(np.cov(Z.T, ddof=0))).T
    X = Z @ np.linalg.cholesky(R).T
    return pd.DataFrame(X, columns=[f"{prefix}{i + 1}" for i in range(len(R))])


# ---------------------------------------------------------------------------------
# KMO, Bartlett, eigenvalues, parallel analysis
# ---------------------------------------------------------------------------------

def test_kmo_holzinger(hs):
    res = kmo(hs, X9)
    assert isinstance(res, KMOResult)
    assert round(res.overall, 3) == 0.752  # docs/references.md: H-S KMO 0.752 (psych::KMO)
    assert res.label == "middling"  # Kaiser (1974): 0.7 <= KMO < 0.8
    assert list(res.per_variable.index) == X9
    assert set(res.to_frame().columns) == {"term", "estimate"}
    assert "0.752" in str(res)


def test_kmo_matches_definition(hs):
    # Independent route: partial correlations by regressing each pair on the rest.
    X = hs[X9].to_numpy()
    R = np.corrcoef(X.T)
    p = len(R)
    num = den = 0.0
    for i in range(p):
        for j in range(p):
            if i == j:
                continue
            rest = [k for k in range(p) if k not in (i, j)]
            Z = np.column_stack([np.ones(len(X)), X[:, rest]])
            ei = X[:, i] - Z @ np.linalg.lstsq(Z, X[:, i], rcond=None)[0]
            ej = X[:, j] - Z @ np.linalg.lstsq(Z, X[:, j], rcond=None)[0]
            q = ei @ ej / np.sqrt((ei @ ei) * (ej @ ej))
            num += R[i, j] ** 2
            den += R[i, j] ** 2 + q**2
    assert kmo(hs, X9).overall == pytest.approx(num / den, abs=1e-12)


def test_bartlett_holzinger(hs):
    res = bartlett_sphericity(hs, X9)
    assert isinstance(res, BartlettResult)
    assert round(res.statistic, 2) == 904.10  # docs/references.md: H-S Bartlett chi2 904.10
    assert res.df == 36  # docs/references.md: df 36
    assert res.p_value < 1e-100
    assert "904.10" in str(res)


def test_eigenvalues_holzinger(hs):
    res = fit_efa(hs, X9, n_factors=3)
    # docs/references.md: H-S correlation eigenvalues 3.216, 1.639, 1.365, 0.699
    np.testing.assert_allclose(res.eigenvalues.iloc[:4].round(3),
                               [3.216, 1.639, 1.365, 0.699])


def test_parallel_analysis_holzinger(hs):
    pa = parallel_analysis(hs, X9, n_iter=300, seed=7)
    assert isinstance(pa, ParallelAnalysisResult)
    assert pa.n_factors == 3  # three eigenvalues above 1.3 vs ~1.1 for random data
    assert pa.table["retain"].sum() == 3
    assert np.all(pa.random_quantile >= pa.random_mean)
    again = parallel_analysis(hs, X9, n_iter=300, seed=7)
    np.testing.assert_array_equal(pa.random_quantile, again.random_quantile)
    gen = parallel_analysis(hs, X9, n_iter=300, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(pa.random_mean, gen.random_mean)
    assert "retain 3" in str(pa)
    assert list(pa.to_frame().columns[:2]) == ["term", "observed"]


def test_parallel_wishart_and_data_agree_with_naive_loop():
    # The Wishart draw, the batched data draw and a naive loop over np.corrcoef
    # sample the same distribution: means agree within Monte Carlo error.
    n, p, it = 60, 6, 1500
    from dtistat.factors import _random_eigenvalues

    w = _random_eigenvalues(np.random.default_rng(1), n, p, it, "wishart")
    d = _random_eigenvalues(np.random.default_rng(2), n, p, it, "data", chunk=97)
    rng = np.random.default_rng(3)
    naive = np.array([np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)).T))[::-1]
                      for _ in range(it)])
    se = naive.std(axis=0) / np.sqrt(it)
    for other in (w, d):
        assert np.all(np.abs(other.mean(axis=0) - naive.mean(axis=0)) < 5 * np.sqrt(2) * se)
        np.testing.assert_allclose(other.sum(axis=1), p)  # trace of a correlation matrix


def test_parallel_data_method_chunking_is_invariant():
    from dtistat.factors import _random_eigenvalues

    a = _random_eigenvalues(np.random.default_rng(5), 40, 5, 50, "data", chunk=50)
    b = _random_eigenvalues(np.random.default_rng(5), 40, 5, 50, "data", chunk=7)
    np.testing.assert_allclose(a, b, rtol=1e-12)


# ---------------------------------------------------------------------------------
# EFA against statsmodels Factor and its rotations
# ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sm_fits(hs):
    X = hs[X9].to_numpy()
    with warnings.catch_warnings():
        # statsmodels' BFGS flags "precision loss" at gtol 1e-12 although it sits at
        # the optimum (its uniquenesses agree with ours to 1e-6).
        warnings.simplefilter("ignore")
        ml = Factor(X, 3, method="ml").fit(opt={"gtol": 1e-12, "maxiter": 100_000}, rng=0)
    return {
        # minres (ULS) and iterated principal axis share their fixed point.
        "minres": Factor(X, 3, method="pa").fit(maxiter=100_000, tol=1e-13),
        "ml": ml,
        # one principal-axis pass with unit communalities = principal components
        "principal": Factor(X, 3, method="pa", smc=False).fit(maxiter=1),
    }


@pytest.mark.parametrize("method", ["minres", "ml", "principal"])
@pytest.mark.parametrize("rotation", ["varimax", "quartimax", "oblimin", None])
def test_efa_matches_statsmodels(hs, sm_fits, method, rotation):
    f = sm_fits[method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own convergence chatter
        if rotation is not None:
            f.rotate(rotation)  # statsmodels rotates without Kaiser normalization
            sm_load = f.loadings
        else:
            sm_load = f.loadings_no_rot
    res = fit_efa(hs, X9, n_factors=3, method=method, rotation=rotation, normalize=False)
    # statsmodels Factor + rotations (GPA tol 1e-5): equal to 1e-4 up to order/sign.
    assert match_columns(res.loadings.to_numpy(), sm_load) < 1e-4
    np.testing.assert_allclose(np.sort(res.uniquenesses), np.sort(f.uniqueness), atol=1e-4)
    if rotation == "oblimin":
        phi = f._corr_factors()
        ours = res.factor_corr.to_numpy()
        assert np.allclose(np.sort(np.abs(ours[np.triu_indices(3, 1)])),
                           np.sort(np.abs(phi[np.triu_indices(3, 1)])), atol=1e-4)


@pytest.mark.parametrize("scores", ["regression", "bartlett"])
def test_efa_scores_match_statsmodels(hs, sm_fits, scores):
    f = sm_fits["ml"]
    f.rotate("varimax")
    res = fit_efa(hs, X9, n_factors=3, method="ml", rotation="varimax",
                  normalize=False, scores=scores)
    sm_scores = f.factor_scoring(method=scores)
    assert match_columns(res.scores.to_numpy(), sm_scores) < 1e-4
    assert list(res.scores.index) == list(hs.index)


def test_kaiser_normalized_varimax_is_default_and_preserves_communalities(hs):
    res = fit_efa(hs, X9, n_factors=3, method="minres")  # varimax, normalize=True
    L0 = res.unrotated_loadings.to_numpy()
    h = np.sqrt((L0**2).sum(axis=1))
    ref, _ = rotate_factors(L0 / h[:, None], "varimax")  # statsmodels on Kaiser rows
    assert match_columns(res.loadings.to_numpy(), ref * h[:, None]) < 1e-4
    np.testing.assert_allclose(res.communalities, (L0**2).sum(axis=1), atol=1e-10)
    np.testing.assert_allclose(res.loadings.to_numpy(),
                               L0 @ res.rotation_matrix, atol=1e-10)


def test_promax_is_oblique_and_reproduces_the_common_part(hs):
    res = fit_efa(hs, X9, n_factors=3, method="minres", rotation="promax")
    L0 = res.unrotated_loadings.to_numpy()
    L = res.loadings.to_numpy()
    phi = res.factor_corr.to_numpy()
    np.testing.assert_allclose(np.diag(phi), 1.0, atol=1e-12)
    np.testing.assert_allclose(L @ phi @ L.T, L0 @ L0.T, atol=1e-10)
    np.testing.assert_allclose(res.structure.to_numpy(), L @ phi, atol=1e-12)
    # Simple structure: each variable's largest |loading| on its H-S factor.
    top = np.abs(L).argmax(axis=1)
    assert len(set(top[:3])) == len(set(top[3:6])) == 1
    assert len({top[0], top[3], top[6]}) == 3
    assert res.variance["cumulative"].iloc[-1] == pytest.approx(res.communalities.sum() / 9)


def _reference_promax(A, m=4, tol=1e-13):
    """Promax from its definition (Hendrickson & White 1964), as R's stats::promax applies
    it: Kaiser-normalized varimax (Kaiser 1958), target P = L|L|^(m-1), least-squares
    transformation U of the varimax loadings onto P, columns of U rescaled so that
    diag((U'U)^-1) = 1. Written here independently of dtistat, with the varimax iterated
    to convergence (R's eps = 1e-5 stopping rule would leave ~1e-4 of slack)."""
    h = np.sqrt((A**2).sum(axis=1))
    x = A / h[:, None]
    p, k = x.shape
    T = np.eye(k)
    crit = 0.0
    for _ in range(5000):
        z = x @ T
        B = x.T @ (z**3 - z * (z**2).sum(axis=0) / p)
        u, sv, vt = np.linalg.svd(B)
        T = u @ vt
        if sv.sum() < crit * (1 + tol):
            break
        crit = sv.sum()
    V = (x @ T) * h[:, None]
    P = V * np.abs(V) ** (m - 1)
    U = np.linalg.lstsq(V, P, rcond=None)[0]
    U = U @ np.diag(np.sqrt(np.diag(np.linalg.inv(U.T @ U))))
    return V @ U


@pytest.mark.parametrize("method", ["minres", "ml", "principal"])
def test_promax_equals_its_definition(hs, method):
    # Reference: Hendrickson & White (1964) promax with m = 4 after Kaiser-normalized
    # varimax, the procedure of R's stats::promax and psych::fa(rotate="promax").
    res = fit_efa(hs, X9, n_factors=3, method=method, rotation="promax")
    ref = _reference_promax(res.unrotated_loadings.to_numpy())
    assert match_columns(res.loadings.to_numpy(), ref) < 1e-6


def test_efa_result_api(hs):
    res = fit_efa(hs, X9, n_factors="kaiser", method="ml", rotation="oblimin",
                  scores="bartlett")
    assert isinstance(res, EFAResult)
    assert res.n_factors == 3  # H-S eigenvalues above 1: 3.216, 1.639, 1.365
    assert res.df == 12  # ((9 - 3)^2 - (9 + 3)) / 2
    assert res.chi2 > 0 and 0 < res.p_value < 1
    tidy = res.tidy()
    assert list(tidy.columns) == ["term", "variable", "factor", "estimate"]
    assert len(tidy) == 27
    assert "Factor correlations" in str(res)
    pa = fit_efa(hs, X9, n_factors="parallel", n_iter=200, seed=3)
    assert pa.n_factors == 3 and pa.parallel is not None


def test_efa_ml_chi2_uses_bartlett_correction(hs, sm_fits):
    res = fit_efa(hs, X9, n_factors=3, method="ml", rotation=None)
    R = np.corrcoef(hs[X9].to_numpy().T)
    L = res.loadings.to_numpy()
    Sig = L @ L.T + np.diag(res.uniquenesses.to_numpy())
    F = (np.linalg.slogdet(Sig)[1] + np.trace(np.linalg.solve(Sig, R))
         - np.linalg.slogdet(R)[1] - 9)
    # factanal's statistic: (n - 1 - (2p + 5)/6 - 2k/3) F (Bartlett 1950)
    assert res.chi2 == pytest.approx((301 - 1 - 23 / 6 - 2) * F, rel=1e-10)


# ---------------------------------------------------------------------------------
# EFA bad input
# ---------------------------------------------------------------------------------

def test_efa_too_many_factors(hs):
    with pytest.raises(ParameterError, match="degrees of\\s+freedom -?\\d+ < 0"):
        fit_efa(hs, X9, n_factors=6)
    with pytest.warns(DtiStatWarning, match="0 degrees of freedom"):
        lam = np.array([0.8, 0.7, 0.6])
        R = np.outer(lam, lam)
        np.fill_diagonal(R, 1)
        fit_efa(exact_corr_data(R, 100, 0), n_factors=1, rotation=None)


def test_efa_fewer_rows_than_variables(hs):
    with pytest.raises(DataError, match="5 rows for 9 variables"):
        fit_efa(hs[X9].head(5), n_factors=1)


def test_constant_and_duplicated_columns(hs):
    d = hs[X9].copy()
    d["c"] = 3.0
    with pytest.raises(DataError, match="'c' is constant"):
        kmo(d)
    d = hs[X9].copy()
    d["x1_copy"] = d["x1"]
    with pytest.raises(DataError, match="'x1' and 'x1_copy' are duplicates"):
        fit_efa(d, n_factors=2)


def test_singular_correlation_names_columns(hs):
    d = hs[X9].copy()
    d["total"] = d["x1"] + 2 * d["x2"]
    with pytest.raises(DataError, match="'total' is a linear combination of 'x1', 'x2'"):
        bartlett_sphericity(d)


def test_missing_nonnumeric_nan_and_params(hs):
    with pytest.raises(ColumnError, match="'nope' not found"):
        kmo(hs, ["x1", "x2", "nope"])
    d = hs[X9].copy()
    d.loc[d.index[4], "x3"] = np.nan
    with pytest.raises(DataError, match="'x3' has NaN"):
        parallel_analysis(d, n_iter=10)
    d = hs[X9].copy()
    d["x2"] = d["x2"].astype(object)
    d.loc[d.index[0], "x2"] = "n/a"
    with pytest.raises(ColumnError, match="'x2' must be numeric"):
        kmo(d)
    with pytest.raises(ParameterError, match="rotation='geomin'"):
        fit_efa(hs, X9, n_factors=2, rotation="geomin")
    with pytest.raises(ParameterError, match="n_factors"):
        fit_efa(hs, X9, n_factors=0)


def test_heywood_warns_and_names_variable():
    # One-factor population with loading 1.1 on v1: uniqueness -0.21 < 0.
    lam = np.array([1.1, 0.7, 0.7, 0.6, 0.5])
    R = np.outer(lam, lam)
    np.fill_diagonal(R, 1)
    d = exact_corr_data(R, 200, 1)
    for method in ("ml", "minres"):
        with pytest.warns(DtiStatWarning, match="Heywood case.*'v1'"):
            res = fit_efa(d, n_factors=1, method=method, rotation=None)
        assert res.heywood == ("v1",)
    with pytest.warns(DtiStatWarning, match="Heywood case.*'v1'"):
        cfa = fit_cfa(d, "F =~ v1 + v2 + v3 + v4 + v5")
    assert cfa.heywood == ("v1",)
    row = cfa.estimates.query("term == 'v1 ~~ v1'")
    assert row["estimate"].iloc[0] == pytest.approx(-0.21 * d["v1"].var(ddof=0), abs=1e-6)


def test_extraction_nonconvergence_is_reported(hs):
    R = np.corrcoef(hs[X9].to_numpy().T)
    with pytest.raises(ConvergenceError, match="did not converge"):
        _efa.extract(R, 3, "ml", max_iter=1)


# ---------------------------------------------------------------------------------
# CFA / SEM: lavaan reference values
# ---------------------------------------------------------------------------------

def test_cfa_holzinger_fit(hs_cfa):
    f = hs_cfa.fit
    assert round(f["chi2"], 3) == 85.306  # lavaan tutorial: Test statistic 85.306
    assert f["df"] == 24  # lavaan tutorial: Degrees of freedom 24
    assert round(f["baseline_chi2"], 3) == 918.852  # docs/references.md: baseline 918.852
    assert f["baseline_df"] == 36  # docs/references.md: baseline df 36
    assert round(f["cfi"], 3) == 0.931  # lavaan tutorial: CFI 0.931
    assert round(f["tli"], 3) == 0.896  # lavaan tutorial: TLI 0.896
    assert round(f["rmsea"], 3) == 0.092  # lavaan tutorial: RMSEA 0.092
    assert round(f["rmsea_ci_low"], 3) == 0.071  # lavaan tutorial: 90% CI lower 0.071
    assert round(f["rmsea_ci_high"], 3) == 0.114  # lavaan tutorial: 90% CI upper 0.114
    assert round(f["rmsea_pvalue"], 3) == 0.001  # lavaan tutorial: P(RMSEA<=0.05) 0.001
    assert round(f["srmr"], 3) == 0.065  # lavaan tutorial: SRMR 0.065
    assert round(f["loglik"], 3) == -3737.745  # lavaan tutorial: Loglikelihood -3737.745
    assert round(f["aic"], 2) == 7517.49  # lavaan tutorial: AIC 7517.490
    assert round(f["bic"], 2) == 7595.34  # lavaan tutorial: BIC 7595.339
    assert f["npar"] == 21  # lavaan tutorial: Number of model parameters 21


@pytest.mark.parametrize("term, est, se", [
    # docs/references.md / lavaan tutorial, marker-fixed loadings: estimate (SE)
    ("visual =~ x2", 0.554, 0.100),
    ("visual =~ x3", 0.729, 0.109),
    ("textual =~ x5", 1.113, 0.065),
    ("textual =~ x6", 0.926, 0.055),
    ("speed =~ x8", 1.180, 0.165),
    ("speed =~ x9", 1.082, 0.151),
    # docs/references.md: factor covariances and variances
    ("visual ~~ textual", 0.408, None),
    ("visual ~~ speed", 0.262, None),
    ("textual ~~ speed", 0.173, None),
    ("visual ~~ visual", 0.809, None),
    ("textual ~~ textual", 0.979, None),
    ("speed ~~ speed", 0.384, None),
])
def test_cfa_holzinger_estimates(hs_cfa, term, est, se):
    row = hs_cfa.estimates.set_index("term").loc[term]
    assert round(row["estimate"], 3) == est
    if se is not None:
        assert round(row["std_error"], 3) == se


def test_cfa_holzinger_std_lv_and_reliability(hs, hs_cfa):
    std = fit_cfa(hs, HS_MODEL, std_lv=True)
    assert std.fit["chi2"] == pytest.approx(hs_cfa.fit["chi2"], rel=1e-9)
    est = std.estimates.set_index("term")
    # lavaan tutorial (std.lv = TRUE): visual =~ x1 0.900 (0.081)
    assert round(est.loc["visual =~ x1", "estimate"], 3) == 0.900
    assert round(est.loc["visual =~ x1", "std_error"], 3) == 0.081
    np.testing.assert_allclose(std.estimates.query("op == '=~'")["std_all"],
                               hs_cfa.estimates.query("op == '=~'")["std_all"], atol=1e-8)
    # Completely standardized loading = loading * sd(factor) / sd(indicator).
    vis = hs_cfa.estimates.set_index("term")
    x2 = hs[["x2"]].to_numpy().ravel()
    sig22 = hs_cfa.implied_cov.loc["x2", "x2"]
    assert vis.loc["visual =~ x2", "std_all"] == pytest.approx(
        0.5535 * np.sqrt(vis.loc["visual ~~ visual", "estimate"] / sig22), abs=1e-3)
    assert x2.var() > 0
    rel = hs_cfa.reliability
    lam = hs_cfa.standardized_loadings["visual"].loc[["x1", "x2", "x3"]].to_numpy()
    assert rel.loc["visual", "ave"] == pytest.approx(np.mean(lam**2))
    assert rel.loc["visual", "composite_reliability"] == pytest.approx(
        lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum()))
    c = np.cov(hs[["x1", "x2", "x3"]].to_numpy().T)
    alpha = 3 / 2 * (1 - np.trace(c) / c.sum())  # Cronbach (1951)
    assert rel.loc["visual", "cronbach_alpha"] == pytest.approx(alpha)
    tidy = hs_cfa.tidy()
    assert list(tidy.columns[:7]) == ["term", "estimate", "std_error", "statistic",
                                      "p_value", "ci_low", "ci_high"]
    assert "CFI = 0.931" in str(hs_cfa)


def test_sem_political_democracy(pd_sem):
    f = pd_sem.fit
    assert round(f["chi2"], 3) == 38.125  # lavaan SEM tutorial: Test statistic 38.125
    assert f["df"] == 35  # lavaan SEM tutorial: Degrees of freedom 35
    assert round(f["cfi"], 3) == 0.995  # docs/references.md: CFI 0.995
    assert round(f["tli"], 3) == 0.993  # docs/references.md: TLI 0.993
    assert round(f["rmsea"], 3) == 0.035  # docs/references.md: RMSEA 0.035
    assert round(f["srmr"], 3) == 0.044  # docs/references.md: SRMR 0.044
    est = pd_sem.estimates.set_index("term")
    # lavaan SEM tutorial, Regressions: estimate (SE)
    assert round(est.loc["dem60 ~ ind60", "estimate"], 3) == 1.483
    assert round(est.loc["dem60 ~ ind60", "std_error"], 3) == 0.399
    assert round(est.loc["dem65 ~ ind60", "estimate"], 3) == 0.572
    assert round(est.loc["dem65 ~ ind60", "std_error"], 3) == 0.221
    assert round(est.loc["dem65 ~ dem60", "estimate"], 3) == 0.837
    assert round(est.loc["dem65 ~ dem60", "std_error"], 3) == 0.098
    assert f["npar"] == 31  # lavaan SEM tutorial: Number of model parameters 31
    # No free covariance between dem60 and dem65 (dem60 predicts dem65).
    assert "dem60 ~~ dem65" not in est.index


def test_cfa_against_semopy_optimum(hs, hs_cfa):
    # semopy's ML objective at our optimum is stationary: semopy with a tight
    # gradient-based solver lands on the same estimates (docs/references.md: semopy's
    # default stops early, x3 0.7305 vs lavaan's 0.7294).
    import semopy

    m = semopy.Model(HS_MODEL)
    m.fit(hs, solver="L-BFGS-B", options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
    ins = m.inspect()
    x3 = ins[(ins["lval"] == "x3") & (ins["op"] == "~") & (ins["rval"] == "visual")]
    ours = hs_cfa.estimates.set_index("term").loc["visual =~ x3", "estimate"]
    assert float(x3["Estimate"].iloc[0]) == pytest.approx(ours, abs=1e-4)


def test_cfa_equality_labels_and_fixed_values(hs):
    res = fit_cfa(hs, "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\n"
                      "speed =~ x7 + x8 + 1*x9")
    est = res.estimates.set_index("term")
    assert est.loc["visual =~ x2", "estimate"] == est.loc["visual =~ x3", "estimate"]
    assert est.loc["speed =~ x9", "estimate"] == 1.0
    assert not est.loc["speed =~ x9", "free"]
    assert res.fit["df"] == 26  # two restrictions more than the 24 of the free model


def test_second_order_factor_with_three_first_order_factors_is_equivalent(hs, hs_cfa):
    # Three first-order factors under one second-order factor saturate the factor
    # covariances: same chi2 and df as the correlated three-factor model.
    res = fit_cfa(hs, HS_MODEL + "g =~ visual + textual + speed")
    assert res.fit["chi2"] == pytest.approx(hs_cfa.fit["chi2"], rel=1e-8)
    assert res.fit["df"] == hs_cfa.fit["df"]
    assert "visual ~~ textual" not in set(res.estimates["term"])


# ---------------------------------------------------------------------------------
# CFA bad input
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model, match", [
    ("visual =~ x1 + x2 + x3\ntextual =~ x4 + + x6", "line 2 .*empty term"),
    ("visual =~ x1 + x2 + x3\n\ntextual = x4 + x5", "line 3 .*no operator"),
    ("visual =~ x1 + x2 + x3\nab := a*b", "line 2 .*':=' is not supported"),
    ("visual =~ x1 + x2 + x3\nx1 ~~ 1", "line 2 .*intercept.*only goes on the right of '~'"),
    ("visual =~ x1 + x2 + x3\nx1 ~ 2", "line 2 .*an intercept is written '~ 1'"),
    ("visual =~ x1 + x2 + x3\n =~ x4", "line 2 .*nothing on the left"),
    ("visual =~ x1 + x2 + x3\nvisual =~ x4 ~ x5", "line 2 .*more than one operator"),
    ("visual =~ x1 + x2 + x3\nx1 ~~ x2\nx2 ~~ x1", "line 3 .*already specified on line 2"),
    ("", "non-empty"),
])
def test_cfa_syntax_errors(hs, model, match):
    with pytest.raises(SpecError, match=match):
        fit_cfa(hs, model)


def test_cfa_unknown_variable_names_line(hs):
    with pytest.raises(ColumnError, match="line 2 .*'x10' is neither"):
        fit_cfa(hs, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x10")


def test_cfa_negative_df_and_unidentified(hs):
    with pytest.raises(EstimationError, match="not identified.*degrees of freedom -1"):
        fit_cfa(hs, "F =~ x1 + x2")
    # df = 7 >= 0, but the second factor has no scale (all loadings and its variance free).
    with pytest.raises(EstimationError, match="not identified"):
        fit_cfa(hs, "A =~ x1 + x2 + x3\nB =~ NA*x4 + x5 + x6")


def test_cfa_nonconvergence_is_reported(hs):
    spec = _cfa.build_model(_cfa.parse_model(HS_MODEL), list(hs.columns))
    X = hs[spec.observed].to_numpy()
    S = np.cov(X.T, ddof=0)
    with pytest.raises(ConvergenceError, match="did not converge in 2"):
        _cfa.fit_ml(spec, S, max_iter=2)


# ---------------------------------------------------------------------------------
# Driver regressions
# ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def drivers_data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    d = pd.DataFrame(rng.normal(size=(n, 4)), columns=["vc", "rd", "incub", "policy"])
    d["rd"] += 0.5 * d["vc"]  # correlated drivers
    d["gdp"] = rng.normal(size=n) + 0.3 * d["vc"]
    d["region"] = rng.integers(0, 25, size=n)
    d["size"] = (0.8 * d["vc"] + 0.4 * d["rd"] + 0.2 * d["incub"] + 0.3 * d["gdp"]
                 + rng.standard_t(4, size=n) * (1 + 0.5 * np.abs(d["vc"])))
    return d


def test_drivers_match_statsmodels_hc1(drivers_data):
    d = drivers_data
    cols = ["vc", "rd", "incub", "policy", "gdp"]
    res = fit_drivers(d, "size", ["vc", "rd", "incub", "policy"], ["gdp"],
                      standardize=False)
    assert isinstance(res, DriversResult)
    m = sm.OLS(d["size"], sm.add_constant(d[cols])).fit(cov_type="HC1", use_t=True)
    np.testing.assert_allclose(res.coefficients["estimate"], m.params, rtol=1e-10)
    np.testing.assert_allclose(res.coefficients["std_error"], m.bse, rtol=1e-10)
    np.testing.assert_allclose(res.coefficients["p_value"], m.pvalues, rtol=1e-8)
    np.testing.assert_allclose(res.coefficients[["ci_low", "ci_high"]],
                               m.conf_int(), rtol=1e-10)
    assert res.r2 == pytest.approx(m.rsquared, rel=1e-12)
    assert res.adj_r2 == pytest.approx(m.rsquared_adj, rel=1e-12)
    exog = sm.add_constant(d[cols]).to_numpy()
    vif = [variance_inflation_factor(exog, j) for j in range(1, 6)]
    np.testing.assert_allclose(res.coefficients["vif"].iloc[1:], vif, rtol=1e-10)


def test_drivers_standardized_and_cluster(drivers_data):
    d = drivers_data
    drv = ["vc", "rd", "incub", "policy"]
    res = fit_drivers(d, "size", drv)
    z = (d[["size"] + drv] - d[["size"] + drv].mean()) / d[["size"] + drv].std()
    m = sm.OLS(z["size"], sm.add_constant(z[drv])).fit(cov_type="HC1")
    np.testing.assert_allclose(res.coefficients["estimate"], m.params, atol=1e-12)
    np.testing.assert_allclose(res.coefficients["std_error"], m.bse, rtol=1e-10)
    np.testing.assert_allclose(res.coefficients["std_beta"].iloc[1:], m.params.iloc[1:],
                               rtol=1e-10)
    raw = fit_drivers(d, "size", drv, standardize=False)
    np.testing.assert_allclose(raw.coefficients["std_beta"], res.coefficients["std_beta"],
                               rtol=1e-10)
    cl = fit_drivers(d, "size", drv, standardize=False, cov="cluster",
                     cluster="region")
    mc = sm.OLS(d["size"], sm.add_constant(d[drv])).fit(
        cov_type="cluster", cov_kwds={"groups": d["region"]})
    np.testing.assert_allclose(cl.coefficients["std_error"], mc.bse, rtol=1e-10)


def test_dominance_hand_computed_three_predictors(drivers_data):
    d = drivers_data
    xs = ["vc", "rd", "incub"]

    def r2(sub):
        if not sub:
            return 0.0
        return sm.OLS(d["size"], sm.add_constant(d[list(sub)])).fit().rsquared

    R = {frozenset(s): r2(s) for k in range(4) for s in itertools.combinations(xs, k)}
    gd = {}
    for x in xs:
        o = [v for v in xs if v != x]
        # Azen & Budescu (2003): average over subset sizes of the mean increment.
        c0 = R[frozenset([x])]
        c1 = np.mean([R[frozenset([x, v])] - R[frozenset([v])] for v in o])
        c2 = R[frozenset(xs)] - R[frozenset(o)]
        gd[x] = (c0 + c1 + c2) / 3
    res = fit_drivers(d, "size", xs)
    np.testing.assert_allclose(res.dominance["general_dominance"], [gd[x] for x in xs],
                               rtol=1e-10)
    assert res.dominance["general_dominance"].sum() == pytest.approx(res.r2, rel=1e-12)
    assert res.dominance["rank"].tolist() == [1, 2, 3]
    assert res.conditional_dominance.loc["vc", "k=0"] == pytest.approx(R[frozenset(["vc"])])


def test_dominance_with_covariates_sums_to_increment(drivers_data):
    res = fit_drivers(drivers_data, "size", ["vc", "rd", "incub", "policy"], ["gdp"])
    m0 = sm.OLS(drivers_data["size"], sm.add_constant(drivers_data[["gdp"]])).fit()
    assert res.r2_covariates == pytest.approx(m0.rsquared, rel=1e-10)
    assert res.dominance["general_dominance"].sum() == pytest.approx(
        res.r2 - res.r2_covariates, rel=1e-10)
    assert res.dominance["share_of_drivers"].sum() == pytest.approx(1.0)
    tidy = res.to_frame()
    assert list(tidy.columns[:7]) == ["term", "estimate", "std_error", "statistic", "p_value",
                                      "ci_low", "ci_high"]
    assert "General dominance" in str(res)


def test_drivers_bad_input(drivers_data):
    d = drivers_data
    with pytest.raises(ParameterError, match="'vc' appears more than once"):
        fit_drivers(d, "size", ["vc", "rd"], ["vc"])
    with pytest.raises(ColumnError, match="'nope' not found"):
        fit_drivers(d, "size", ["vc", "nope"])
    dd = d.copy()
    dd["flat"] = 1.0
    with pytest.raises(DataError, match="'flat' is constant"):
        fit_drivers(dd, "size", ["vc", "flat"])
    dd = d.copy()
    dd["vc2"] = 2 * dd["vc"] + dd["rd"]
    with pytest.raises(EstimationError, match="'vc2'.*collinear"):
        fit_drivers(dd, "size", ["vc", "rd", "vc2"])
    with pytest.raises(ParameterError, match="cov='cluster' needs cluster"):
        fit_drivers(d, "size", ["vc"], cov="cluster")
    with pytest.raises(ParameterError, match="drivers must name"):
        fit_drivers(d, "size", [])


# ---------------------------------------------------------------------------------
# Simulated environment world: EFA recovers the factors, drivers the effects
# ---------------------------------------------------------------------------------

def test_simulated_environment_recovers_dgp():
    # DGP (simulated here, documented): two correlated environment factors --
    # "capital" (venture capital, R&D spending, patents) and "support" (incubators,
    # policy support, open-source developers) -- with loadings 0.8/0.7/0.6; AI-cluster
    # size = 0.5 capital + 0.3 support + noise.
    rng = np.random.default_rng(2023)
    n = 20_000
    F = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=n)
    lam = np.array([[0.8, 0], [0.7, 0], [0.6, 0], [0, 0.8], [0, 0.7], [0, 0.6]])
    X = F @ lam.T + rng.normal(size=(n, 6)) * np.sqrt(1 - (lam**2).sum(axis=1))
    names = ["venture_capital", "rd_spending", "patents", "incubators", "policy",
             "open_source"]
    d = pd.DataFrame(X, columns=names)
    d["ai_cluster"] = 0.5 * F[:, 0] + 0.3 * F[:, 1] + rng.normal(scale=0.5, size=n)
    before = d.copy(deep=True)
    efa = fit_efa(d, names, n_factors="parallel", method="ml", rotation="oblimin",
                  n_iter=200, seed=1)
    assert efa.n_factors == 2
    assert match_columns(efa.loadings.to_numpy(), lam) < 0.05
    # sampling SD of the estimated factor correlation at n = 20,000 is about 0.01
    assert abs(efa.factor_corr.iloc[0, 1]) == pytest.approx(0.3, abs=0.03)
    scores = efa.scores.rename(columns=lambda c: f"score_{c}")
    # which score is "capital": the factor loading on venture_capital
    cap = scores.columns[int(np.abs(efa.loadings.loc["venture_capital"]).argmax())]
    sup = [c for c in scores.columns if c != cap][0]
    res = fit_drivers(d.join(scores), "ai_cluster", [cap, sup], standardize=False)
    est = res.coefficients.set_index("term")["estimate"]
    # Regression scores are E[F | X], so OLS on them is consistent for the effects.
    assert est[cap] == pytest.approx(0.5, abs=0.06)
    assert est[sup] == pytest.approx(0.3, abs=0.06)
    pd.testing.assert_frame_equal(d, before)


def test_inputs_are_not_modified(hs, pdem):
    h0, p0 = hs.copy(deep=True), pdem.copy(deep=True)
    kmo(hs, X9)
    bartlett_sphericity(hs, X9)
    parallel_analysis(hs, X9, n_iter=20, seed=0)
    fit_efa(hs, X9, n_factors=3, rotation="promax")
    fit_cfa(hs, HS_MODEL)
    fit_cfa(pdem, PD_MODEL)
    fit_drivers(hs, "x9", ["x1", "x2", "x3"], ["ageyr"])
    pd.testing.assert_frame_equal(hs, h0)
    pd.testing.assert_frame_equal(pdem, p0)


def test_drivers_presets_and_cluster_distribution(drivers_data):
    """small_sample="none" is statsmodels HC0 / uncorrected clusters; "stata" clusters
    use t(G - 1) (Stata ``regress, vce(cluster)``), statsmodels' corrected CR1."""
    from scipy import stats as st

    d = drivers_data
    drv = ["vc", "rd", "incub", "policy"]
    X = sm.add_constant(d[drv])
    h0 = fit_drivers(d, "size", drv, standardize=False, cov="robust", small_sample="none")
    m0 = sm.OLS(d["size"], X).fit(cov_type="HC0")
    np.testing.assert_allclose(h0.std_errors.to_numpy(), m0.bse.to_numpy(), rtol=1e-10)
    assert h0.df_inference is None
    c0 = fit_drivers(d, "size", drv, standardize=False, cov="cluster", cluster="region",
                     small_sample="none")
    mc0 = sm.OLS(d["size"], X).fit(cov_type="cluster", cov_kwds={
        "groups": d["region"], "use_correction": False})
    np.testing.assert_allclose(c0.std_errors.to_numpy(), mc0.bse.to_numpy(), rtol=1e-10)
    c1 = fit_drivers(d, "size", drv, standardize=False, cov="cluster", cluster="region")
    G = d["region"].nunique()
    assert c1.df_inference == G - 1 and c1.n_clusters == G
    p = 2 * st.t(G - 1).sf(np.abs(c1.tstats.to_numpy()))
    np.testing.assert_allclose(c1.pvalues.to_numpy(), p, rtol=1e-12)
    np.testing.assert_allclose(c1.coefficients["p_value"].to_numpy(), p, rtol=1e-12)
