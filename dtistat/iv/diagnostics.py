"""Weak-identification, over-identification and endogeneity statistics of a linear IV model.

Definitions follow ``ivreg2`` (Baum, Schaffer and Stillman 2007) and ``ranktest``
(Kleibergen and Schaffer 2007). Notation: y~, Y~ (N x p) and Z~ (N x L) are the dependent
variable, the endogenous regressors and the excluded instruments after the fixed effects
and the included exogenous regressors are partialled out; K_z counts the included
exogenous regressors (with the intercept) plus L; A the absorbed degrees of freedom.

* First stage per endogenous regressor: partial R^2, Shea's (1997) partial R^2, the
  partial F of the excluded instruments and the Sanderson-Windmeijer (2016) conditional
  F. The Wald statistics W are computed with the model's covariance type and *no*
  small-sample factor (``small_sample="ivreg2"`` of the inference core); F-type statistics
  are ``W / d * (N - K_z - A) / N`` times ``(G - 1) / G`` with G clusters -- ivreg2's
  scaling, which makes the homoskedastic F the textbook F test.
* Anderson (1951) canonical-correlation LM = N r^2_min and the Cragg and Donald (1993)
  Wald F = (N - K_z - A) / L * r^2_min / (1 - r^2_min), r_min the smallest canonical
  correlation of Y~ and Z~ (homoskedastic).
* Kleibergen and Paap (2006) rk LM and rk Wald statistics for rank p - 1 of the
  first-stage coefficient matrix, with the robust / cluster / HAC moment covariance of
  the model (``ranktest``'s algorithm: Theta = F' Pi G'^-1 with Cholesky factors of Z~'Z~
  and Y~'Y~, the singular value decomposition and the projections A_q, B_q of the
  paper's eq. (21)); the rk Wald F is scaled as above. With one endogenous regressor the
  rk Wald statistic is the robust Wald test of the excluded instruments in the first
  stage.
* Stock and Yogo (2005) critical values for the Cragg-Donald F (:mod:`.stock_yogo`).
* Over-identification: Sargan (1958) N e'P e / e'e (homoskedastic), Hansen (1982) J of
  the two-step GMM estimator whose weight is the moment covariance of the model's
  residuals (robust types).
* Anderson-Rubin (1949) test of beta = 0 for all endogenous coefficients (Wald test of
  Z~ in the regression of y~ - Y~ beta_0 on Z~) and, for one endogenous regressor, its
  confidence set by test inversion (Dufour 1997): all beta_0 whose AR F test has p-value
  above 1 - level; it may be an interval, two rays or the whole line.
* Endogeneity (C, difference-in-Sargan/Hansen) test: J of the model with the endogenous
  regressors treated as exogenous minus J of the IV model, both with the moment
  covariance of the restricted (OLS) residuals; homoskedastic it is Durbin's (1954) test
  as linearmodels' ``durbin()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats
from scipy.linalg import sqrtm

from dtistat._scale import column_scale
from dtistat.errors import EstimationError
from dtistat.inference import sandwich
from dtistat.iv.estimation import moment_cov, projection, tall_mul
from dtistat.iv.stock_yogo import stock_yogo

__all__ = [
    "Partialled",
    "anderson_rubin",
    "ar_confidence_set",
    "endogeneity_c",
    "first_stage_stats",
    "kp_rank",
    "kp_rank_ranktest",
    "overid",
    "partial_out",
    "weak_id",
]


@dataclass
class Partialled:
    """The model's arrays with the included exogenous regressors partialled out.

    Regressions on ``Z`` and the unit-free arrays are cached on first use (several
    statistics share them): replace ``Y`` or ``Z`` only on a fresh object.
    """

    y: np.ndarray
    Y: np.ndarray
    Z: np.ndarray
    n: int
    Kz: int
    A: int
    cov: str
    clusters: list
    time_codes: np.ndarray | None
    lags: int | None
    #: (y, X1, Y2, Z2) of the design before partialling (the J and C statistics)
    full: tuple = ()
    #: regressions on Z~ and unit-free arrays shared by several statistics
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def L(self) -> int:
        return self.Z.shape[1]

    @property
    def p(self) -> int:
        return self.Y.shape[1]

    def f_scale(self) -> float:
        """ivreg2's factor turning W / d into an F statistic."""
        s = (self.n - self.Kz - self.A) / self.n
        g = self.n_groups()
        return s * (g - 1) / g if g else s

    def n_groups(self) -> int | None:
        if self.cov == "cluster":
            return int(self.clusters[0].max()) + 1
        if self.cov == "twoway-cluster":
            return int(min(c.max() + 1 for c in self.clusters))
        return None  # Driscoll-Kraay: no cluster-count factor (ivreg2's kernel case)

    def f_df2(self) -> float:
        g = self.n_groups()
        return float(g - 1) if g else float(self.n - self.Kz - self.A)

    def ols(self, target: np.ndarray, key=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coef, resid, covariance without small-sample factor) of the OLS of target on
        Z~; cached under ``key`` (the reduced form and first stages serve several tests)."""
        if key is not None and key in self._cache:
            return self._cache[key]
        X = self.Z
        coef, fit = projection(X, target)
        e = target - fit
        bread = self.zz_inv()
        V = sandwich(X, e, bread, cov=self.cov, small_sample="ivreg2", clusters=self.clusters,
                     time_codes=self.time_codes, lags=self.lags).cov
        if key is not None:
            self._cache[key] = (coef, e, V)
        return coef, e, V

    def zz_inv(self) -> np.ndarray:
        if "zz_inv" not in self._cache:
            self._cache["zz_inv"] = np.linalg.inv(self.Z.T @ self.Z)
        return self._cache["zz_inv"]

    def unit_free(self) -> tuple:
        """(y, X, Z, c): y / c, X = [X1, Y2] and Z = [X1, Z2] with each column divided
        by a power of two near its largest value (exact), c the power of two of y.

        J and C statistics are invariant to these units, while their moment covariances
        (fourth powers) would underflow near 1e-100 or overflow near 1e100. Each block
        is scaled once (column by column, as :func:`column_scale` of the stacked arrays)
        and divided in place.
        """
        if "unit_free" not in self._cache:
            y, X1, Y2, Z2 = self.full
            c = float(column_scale(y)[0])
            s1, s2, s3 = column_scale(X1), column_scale(Y2), column_scale(Z2)
            X = np.column_stack([X1, Y2])
            X /= np.concatenate([s1, s2])
            Z = np.column_stack([X1, Z2])
            Z /= np.concatenate([s1, s3])
            self._cache["unit_free"] = (y / c, X, Z, c)
        return self._cache["unit_free"]

    def wald(self, target: np.ndarray, key=None) -> tuple[float, np.ndarray, np.ndarray]:
        """(W, coef, resid) of the OLS of target on Z~, covariance without small-sample
        factor (see :meth:`ols` for ``key``)."""
        coef, e, V = self.ols(target, key)
        try:
            return float(coef @ np.linalg.solve(V, coef)), coef, e
        except np.linalg.LinAlgError:
            g = self.n_groups()
            raise EstimationError(
                f"the {self.cov} covariance of the {self.L} instrument coefficients is "
                "singular" + (f" ({g} clusters: its rank is at most {g - 1})" if g else "")
                + "; the first-stage F and the weak-instrument statistics are not defined. "
                "Use more clusters or another cov=") from None

    def meat(self, X: np.ndarray, e: np.ndarray) -> np.ndarray:
        return moment_cov(X, e, cov=self.cov, clusters=self.clusters,
                          time_codes=self.time_codes, lags=self.lags)


def partial_out(design, cov: str, lags: int | None) -> Partialled:
    """Residuals of y, Y2 and Z2 on the included exogenous regressors (fixed effects gone)."""
    X1 = design.X1
    if X1.shape[1]:
        stacked = np.column_stack([design.y, design.Y2, design.Z2])
        stacked = stacked - projection(X1, stacked)[1]
    else:
        stacked = np.column_stack([design.y, design.Y2, design.Z2])
    p = design.Y2.shape[1]
    Kz = X1.shape[1] + design.Z2.shape[1] + (0 if design.has_const else 1)
    return Partialled(stacked[:, 0], stacked[:, 1:1 + p], stacked[:, 1 + p:], design.nobs, Kz,
                      design.n_absorbed, cov, design.clusters, design.time_codes, lags,
                      (design.y, X1, design.Y2, design.Z2))


def _f_row(pt: Partialled, W: float, d: int) -> dict:
    F = W / d * pt.f_scale()
    df2 = pt.f_df2()
    return {"F": F, "df": (d, df2), "p_value": float(stats.f.sf(F, d, df2)), "chi2": W}


def first_stage_stats(pt: Partialled) -> list[dict]:
    """Per endogenous regressor: partial R^2, Shea R^2, partial F and SW F."""
    Y, Z, L, p = pt.Y, pt.Z, pt.L, pt.p
    _, Yhat = projection(Z, Y)
    shea = _shea(Y, Yhat)
    out = []
    for j in range(p):
        yj = Y[:, j]
        pr2 = float(Yhat[:, j] @ yj / (yj @ yj))
        W, _, _ = pt.wald(yj, ("Y", j))
        row = {"partial_r2": pr2, "shea_r2": float(shea[j]), "F": _f_row(pt, W, L)}
        if p == 1:
            row["SW"] = dict(row["F"])
        else:
            others = np.delete(Y, j, axis=1)
            _, oh = projection(Z, others)
            delta = np.linalg.solve(oh.T @ others, oh.T @ yj)
            eps = yj - others @ delta
            Wsw, _, _ = pt.wald(eps)
            row["SW"] = _f_row(pt, Wsw, L - p + 1)
        out.append(row)
    return out


def _shea(Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
    """Shea (1997) partial R^2: diag((Y~'Y~)^-1) / diag((Y~'P Y~)^-1)."""
    a = np.diag(np.linalg.inv(Y.T @ Y))
    b = np.diag(np.linalg.inv(Yhat.T @ Y))
    return a / b


def weak_id(pt: Partialled) -> dict:
    """Anderson canonical-correlation LM and Cragg-Donald Wald F (homoskedastic)."""
    Y, Z, L, p, n = pt.Y, pt.Z, pt.L, pt.p, pt.n
    _, Yhat = projection(Z, Y)
    ev = np.linalg.eigvals(np.linalg.solve(Y.T @ Y, Yhat.T @ Y))
    r2 = float(np.min(np.real(ev)))
    lm = n * r2
    d = L - p + 1
    cd = (n - pt.Kz - pt.A) / L * r2 / (1 - r2)
    return {"anderson_lm": lm, "anderson_df": d, "anderson_p": float(stats.chi2.sf(lm, d)),
            "cragg_donald_f": cd, "min_canon_corr2": r2}


def kp_rank(pt: Partialled, wald: bool) -> float:
    """Kleibergen-Paap rk statistic for rank p - 1 (``ranktest``, full rank test).

    With one endogenous regressor the rk Wald statistic is the first stage's Wald test
    of the excluded instruments (same moment covariance), which the first-stage F has
    already computed: that regression is reused; :func:`kp_rank_ranktest` is the
    general algorithm.
    """
    if wald and pt.p == 1:
        return pt.wald(pt.Y[:, 0], ("Y", 0))[0]
    return kp_rank_ranktest(pt, wald)


def kp_rank_ranktest(pt: Partialled, wald: bool) -> float:
    """Kleibergen-Paap rk statistic by ``ranktest``'s algorithm (any p)."""
    Y, Z, n, K, L = pt.Y, pt.Z, pt.n, pt.p, pt.L
    # the rk statistic is invariant to rescaling the columns of Y and Z: divide by
    # powers of two (exact) so that Z'Z, Y'Y and the fourth-power moments stay finite
    Y, Z = Y / column_scale(Y), Z / column_scale(Z)
    zz, zy, yy = Z.T @ Z, Z.T @ Y, Y.T @ Y
    pihat = np.linalg.solve(zz, zy)
    ry = np.linalg.cholesky(yy)          # lower, yy = ry ry'
    rz = np.linalg.cholesky(zz)
    iry = np.linalg.inv(ry.T)
    irz = np.linalg.inv(rz.T)
    theta = rz.T @ pihat @ iry
    U, _, Vt = np.linalg.svd(theta, full_matrices=True)
    V = Vt.T
    e = Y - tall_mul(Z, pihat) if wald else Y
    # moments e_i (x) z_i, ordered as vec of an L x K matrix (column-major)
    G = (e[:, :, None] * Z[:, None, :]).reshape(n, K * L)
    if pt.cov == "unadjusted":
        shat = np.kron(e.T @ e / n, zz) / n
    else:
        shat = pt.meat(G, np.ones(n)) / n
    T = np.kron(iry.T, irz.T)
    vhat = T @ shat @ T.T * n
    i = K  # test rank K - 1 (1-based index of ranktest)
    u12, v12 = U[:i - 1, i - 1:], V[:i - 1, i - 1:]
    u22, v22 = U[i - 1:, i - 1:], V[i - 1:, i - 1:]
    u22h = np.real(sqrtm(u22 @ u22.T))
    v22h = np.real(sqrtm(v22 @ v22.T))
    aq = np.vstack([u12, u22]) @ np.linalg.inv(u22) @ u22h
    bq = v22h @ np.linalg.inv(v22.T) @ np.vstack([v12, v22]).T
    kr = np.kron(bq, aq.T)
    lab = kr @ theta.reshape(-1, order="F")
    vlab = kr @ vhat @ kr.T
    vlab = (vlab + vlab.T) / 2
    return float(lab @ np.linalg.solve(vlab, lab))


def overid(pt: Partialled, resid: np.ndarray) -> dict | None:
    """Sargan (homoskedastic) or Hansen J (robust types) of the structural residuals."""
    L, p = pt.L, pt.p
    if L <= p:
        return None
    d = L - p
    y, X, Z, c = pt.unit_free()
    resid = resid / c
    if pt.cov == "unadjusted":
        _, fit = projection(Z, resid)
        stat = pt.n * float(fit @ resid) / float(resid @ resid)
        name = "Sargan"
    else:
        stat = _gmm_j(y, X, Z, pt.meat(Z, resid))
        name = "Hansen J"
    return {"test": name, "statistic": stat, "df": d, "p_value": float(stats.chi2.sf(stat, d))}


def anderson_rubin(pt: Partialled, beta0: np.ndarray | None = None) -> dict:
    """AR test of beta = beta0 (default 0): F and chi^2 forms."""
    if beta0 is None:  # the reduced form of y, shared with the AR confidence set
        W, _, _ = pt.wald(pt.y, "y")
    else:
        W, _, _ = pt.wald(pt.y - pt.Y @ np.asarray(beta0, dtype=float))
    row = _f_row(pt, W, pt.L)
    row["chi2_p"] = float(stats.chi2.sf(W, pt.L))
    return row


def ar_confidence_set(pt: Partialled, level: float, center: float, scale: float,
                      n_grid: int = 4001) -> list[tuple[float, float]]:
    """AR confidence set for one endogenous coefficient, as a list of intervals.

    The AR Wald statistic is W(b) = d(b)' V(b)^-1 d(b) with d linear and V quadratic in
    b (the sandwich is a quadratic form of the residuals), so it is evaluated exactly on
    a grid over the whole line (b = center + scale tan(t)) and the crossings are refined
    by root finding.
    """
    cu, ru, Vuu = pt.ols(pt.y, "y")
    cv, rv, Vvv = pt.ols(pt.Y[:, 0], ("Y", 0))
    Vsum = sandwich(pt.Z, ru + rv, pt.zz_inv(), cov=pt.cov, small_sample="ivreg2",
                    clusters=pt.clusters, time_codes=pt.time_codes, lags=pt.lags).cov
    C = (Vsum - Vuu - Vvv) / 2
    crit = stats.f.ppf(level, pt.L, pt.f_df2()) * pt.L / pt.f_scale()

    def W(b):
        b = np.atleast_1d(np.asarray(b, dtype=float))
        d = cu[None, :] - b[:, None] * cv[None, :]
        Vb = Vuu[None] - 2 * b[:, None, None] * C[None] + (b ** 2)[:, None, None] * Vvv[None]
        return np.einsum("ij,ij->i", d, np.linalg.solve(Vb, d[..., None])[..., 0])

    t = np.linspace(-np.pi / 2, np.pi / 2, n_grid)[1:-1]
    grid = center + scale * np.tan(t)
    inside = W(grid) <= crit
    w_inf = float(cv @ np.linalg.solve(Vvv, cv))
    out, start = [], (-np.inf if inside[0] and w_inf <= crit else None)
    if inside[0] and start is None:
        start = grid[0]
    for i in range(1, len(grid)):
        if inside[i] != inside[i - 1]:
            r = optimize.brentq(lambda b: W(b)[0] - crit, grid[i - 1], grid[i], xtol=1e-12)
            if inside[i]:
                start = r
            else:
                out.append((float(start), float(r)))
                start = None
    if start is not None:
        out.append((float(start), np.inf if w_inf <= crit else float(grid[-1])))
    return out


def _gmm_j(y: np.ndarray, X: np.ndarray, Z: np.ndarray, S: np.ndarray) -> float:
    """J of the efficient GMM estimate with moment covariance S (cross-products only)."""
    zx, zy = Z.T @ X, Z.T @ y
    sx, sy = np.linalg.solve(S, zx), np.linalg.solve(S, zy)
    b = np.linalg.solve(zx.T @ sx, zx.T @ sy)
    g = zy - zx @ b
    return float(g @ np.linalg.solve(S, g))


def endogeneity_c(pt: Partialled) -> dict:
    """C test that the endogenous regressors are exogenous (chi^2 with p df)."""
    y, X, Z, _ = pt.unit_free()
    Zr = np.column_stack([Z, X[:, -pt.p:]])
    _, fit = projection(X, y)
    er = y - fit
    if pt.cov == "unadjusted":
        S = float(er @ er) / pt.n * (Zr.T @ Zr)
    else:
        S = pt.meat(Zr, er)
    m = Z.shape[1]
    C = _gmm_j(y, X, Zr, S) - _gmm_j(y, X, Z, S[:m, :m])
    return {"statistic": C, "df": pt.p, "p_value": float(stats.chi2.sf(C, pt.p))}


def stock_yogo_rows(p: int, L: int) -> dict:
    """Stock-Yogo critical values for this model's p and L (see :mod:`.stock_yogo`)."""
    return stock_yogo(p, L)
