"""Multi-group CFA/SEM with a mean structure: the model across groups and its ML fit.

Internal module behind ``fit_cfa(..., group=...)``. Every group has the same RAM model
(:mod:`dtistat._cfa`) plus a mean vector ``m`` over all variables (intercepts of the
observed variables, means of the factors), so that group g implies
``mu_g = F (I - A)^-1 m`` and ``Sigma_g = F (I - A)^-1 S (I - A)^-T F'``.

The discrepancy is lavaan's (``likelihood="normal"``): with ``S_g`` the covariance of
group g with divisor ``n_g`` and ``d_g`` its mean minus ``mu_g``,
``F_g = log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p + d_g' Sigma_g^-1 d_g`` and
``F = sum_g (n_g / N) F_g``; chi2 = N F = sum_g n_g F_g. Fisher scoring uses the expected
information ``sum_g (n_g/N) [tr(W dSigma_k W dSigma_l) + 2 dmu_k' W dmu_l]``.

Identification follows lavaan: the first loading of every factor is 1 in every group;
factor means are 0 in the first group and free in the others when the intercepts are
equal across groups (and the means are not), else 0 everywhere. With ``std_lv`` and
equal loadings, factor variances are 1 in the first group and free in the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dtistat import _cfa
from dtistat._cfa import Model, ParamSpec
from dtistat.errors import ParameterError, SpecError

__all__ = ["EQUAL_KINDS", "GroupModel", "build_groups", "fit_groups", "param_kind",
           "release_scores"]

#: Parameter classes that ``group_equal`` can hold equal across groups (lavaan's
#: ``group.equal`` keywords, with ``_`` for ``.``).
EQUAL_KINDS = ("loadings", "intercepts", "means", "residuals", "residual_covariances",
               "lv_variances", "lv_covariances", "regressions")


def param_kind(ps: ParamSpec, observed) -> str:
    """The ``group_equal`` class of a parameter (lavaan's group.equal keywords)."""
    if ps.op == "=~":
        return "loadings"
    if ps.op == "~":
        return "regressions"
    if ps.op == "~1":
        return "intercepts" if ps.lhs in observed else "means"
    obs = ps.lhs in observed and ps.rhs in observed
    if ps.lhs == ps.rhs:
        return "residuals" if obs else "lv_variances"
    return "residual_covariances" if obs else "lv_covariances"


@dataclass
class GroupModel:
    observed: list
    latent: list
    models: list        # one Model per group; free_index is global over the groups
    n_free: int
    indicators: dict

    @property
    def variables(self) -> list:
        return self.observed + self.latent


def _group_params(params, g: int, eq: set, std_lv: bool, observed) -> list:
    """Group g's copy of the parameters, freeing lavaan's group-specific ones."""
    out = []
    for ps in params:
        kind = param_kind(ps, observed)
        free = ps.free
        if g > 0 and ps.auto and not ps.free and kind not in eq:
            if kind == "means" and "intercepts" in eq:
                free = True   # latent means identified by equal intercepts
            elif kind == "lv_variances" and std_lv and "loadings" in eq:
                free = True   # factor scale carried by the equal loadings
        out.append(replace(ps, free=free, value=0.0 if kind == "means" and free
                           else ps.value))
    return out


def _key(ps: ParamSpec) -> str:
    return f"{ps.lhs}~1" if ps.op == "~1" else f"{ps.lhs}{ps.op}{ps.rhs}"


def _partial(params, group_partial) -> set:
    """``group_partial`` names ('visual =~ x2', 'x3 ~1') as parameter keys."""
    keys = {_key(ps) for ps in params}
    out = set()
    for name in group_partial:
        k = "".join(str(name).split())
        if k not in keys:
            lhs, op, rhs = (k.partition("=~") if "=~" in k else k.partition("~~")
                            if "~~" in k else k.partition("~"))
            alt = f"{rhs}{op}{lhs}" if op == "~~" else None
            if alt not in keys:
                raise ParameterError(
                    f"group_partial: {name!r} is not a parameter of the model; write it "
                    f"as 'visual =~ x2' (loading), 'x3 ~1' (intercept), 'x1 ~~ x1' "
                    f"(variance) or 'f2 ~ f1' (regression)")
            k = alt
        out.add(k)
    return out


def build_groups(stmts, columns, n_groups: int, *, group_equal=(), group_partial=(),
                 std_lv: bool = False) -> GroupModel:
    """The model of every group, with equality constraints across groups.

    ``group_partial`` names parameters exempt from ``group_equal`` (lavaan's
    ``group.partial``): they are estimated in every group.
    """
    base = _cfa.build_model(stmts, columns, std_lv=std_lv)
    lab = next((ps for ps in base.params if ps.label is not None), None)
    if lab is None:
        lab = next((s for s in stmts if s.op == "~1" and s.terms[0].label), None)
        lab = lab and ParamSpec(lab.lhs, "~", "1", "M", 0, 0, True, 0.0,
                                lab.terms[0].label, lab.line)
    if lab is not None and n_groups > 1:
        raise SpecError(
            f"model line {lab.line}: the label {lab.label!r} on '{lab.lhs} {lab.op} "
            f"{lab.rhs}' is not supported with group=; hold whole classes of "
            f"parameters equal across groups with group_equal={EQUAL_KINDS}"
        )
    params = base.params + mean_params(base, stmts)
    eq = set(group_equal)
    partial = _partial(params, group_partial)
    index: dict = {}
    models = []
    for g in range(n_groups):
        gp = _group_params(params, g, eq, std_lv, base.observed)
        fidx = []
        for e, ps in enumerate(gp):
            if not ps.free:
                fidx.append(-1)
                continue
            shared = param_kind(ps, base.observed) in eq and _key(ps) not in partial
            key = ("eq", e) if shared else (g, e)
            if ps.label is not None:  # one group only: labels make entries equal
                key = ("label", ps.label)
            fidx.append(index.setdefault(key, len(index)))
        models.append(Model(base.observed, base.latent, gp, fidx, 0, base.indicators))
    q = len(index)
    for m in models:
        m.n_free = q
    return GroupModel(base.observed, base.latent, models, q, base.indicators)


def mean_params(base: Model, stmts) -> list:
    """The mean entries (lavaan's defaults, then the model's ``~ 1`` statements).

    By default the intercepts of the observed variables are free and the means of the
    factors fixed at 0; ``x ~ 1`` frees, ``x ~ 0.5*1`` fixes, ``f ~ NA*1`` frees a
    factor mean and ``x ~ a*1`` labels.
    """
    var = base.variables
    means = [ParamSpec(v, "~1", "", "M", k, k, v in base.observed, 0.0, None, 0,
                       auto=True) for k, v in enumerate(var)]
    done: dict = {}
    for s in stmts:
        if s.op != "~1":
            continue
        if s.lhs not in var:
            raise SpecError(f"model syntax error on line {s.line} ({s.text.strip()!r}): "
                            f"{s.lhs!r} is neither a factor nor an observed variable of "
                            f"the model (an intercept needs a variable measured or "
                            f"regressed elsewhere in the model)")
        if s.lhs in done:
            raise SpecError(f"model syntax error on line {s.line} ({s.text.strip()!r}): "
                            f"the intercept of {s.lhs!r} is already specified on line "
                            f"{done[s.lhs]}")
        done[s.lhs] = s.line
        t, k = s.terms[0], var.index(s.lhs)
        fixed = t.fixed is not None
        means[k] = ParamSpec(s.lhs, "~1", "", "M", k, k, not fixed,
                             t.fixed if fixed else 0.0, t.label, s.line)
    return means


def _split(model: Model) -> tuple[Model, list]:
    """The covariance part of a group's model (a Model) and its mean entries."""
    cov = [(ps, k) for ps, k in zip(model.params, model.free_index, strict=True)
           if ps.mat != "M"]
    mean = [(ps, k) for ps, k in zip(model.params, model.free_index, strict=True)
            if ps.mat == "M"]
    cm = Model(model.observed, model.latent, [c[0] for c in cov], [c[1] for c in cov],
               model.n_free, model.indicators)
    return cm, mean


class _GroupRAM:
    """Sigma, mu, F and its derivatives for one group (optionally rescaled).

    Methods take the global parameter vector; the work is done on the group's own free
    parameters (``ks``), so the cost per group does not grow with the number of groups.
    """

    def __init__(self, model: Model, S, ybar, fac=None, theta_scale=None):
        self.ks = np.array(sorted({k for k in model.free_index if k >= 0}), dtype=int)
        loc = {int(k): i for i, k in enumerate(self.ks)}
        local = Model(model.observed, model.latent, model.params,
                      [loc[k] if k >= 0 else -1 for k in model.free_index], len(self.ks),
                      model.indicators)
        cm, mean = _split(local)
        ncov = len(cm.params)
        fac = np.ones(len(model.params)) if fac is None else fac
        ts = np.ones(model.n_free) if theta_scale is None else theta_scale
        self.cov = _cfa._RAM(cm, S, fac[:ncov], ts[self.ks])
        self.p, self.m, self.q = len(model.observed), len(model.variables), len(self.ks)
        self.ybar = ybar
        self.m0 = np.zeros(self.m)
        self.m_free = []
        for e, (ps, k) in enumerate(mean):
            f = fac[ncov + e]
            if k < 0:
                self.m0[ps.i] = ps.value / f
            else:
                self.m_free.append((k, ps.i, ts[self.ks[k]] / f))

    def means(self, theta):
        u = theta[self.ks]
        mv = self.m0.copy()
        for k, i, r in self.m_free:
            mv[i] = u[k] * r
        return mv

    def matrices(self, theta):
        return self.cov.matrices(theta[self.ks])

    def implied(self, theta):
        """Sigma, mu, (I - A)^-1, the means of all variables and their covariance."""
        Sig, B, total = self.cov.implied(theta[self.ks])
        full_mean = B @ self.means(theta)
        return Sig, full_mean[: self.p], B, full_mean, total

    def fml(self, theta) -> float:
        f = self.cov.fml(theta[self.ks])
        if not np.isfinite(f):
            return f
        Sig, mu = self.implied(theta)[:2]
        d = self.ybar - mu
        return f + float(d @ np.linalg.solve(Sig, d))

    def jacobians(self, theta):
        """Sigma^-1, mu, dSigma/dtheta (q, p, p) and dmu/dtheta (q, p) on ``ks``."""
        Sig, mu, B, full_mean, _ = self.implied(theta)
        W = np.linalg.inv(Sig)
        D = self.cov.derivatives(theta[self.ks])
        Dm = np.zeros((self.q, self.p))
        FB = B[: self.p, :]
        for k, i, j, r in self.cov.a_free:
            Dm[k] += r * FB[:, i] * full_mean[j]
        for k, i, r in self.m_free:
            Dm[k] += r * FB[:, i]
        return W, mu, D, Dm

    def grad_info(self, theta):
        """Gradient and expected information over the group's own parameters ``ks``."""
        W, mu, D, Dm = self.jacobians(theta)
        d = self.ybar - mu
        Wd = W @ d
        G = W - W @ self.cov.S @ W - np.outer(Wd, Wd)
        g = np.einsum("kij,ij->k", D, G) - 2.0 * Dm @ Wd
        M = np.einsum("ij,kjl->kil", W, D)
        H = np.einsum("kij,lji->kl", M, M) + 2.0 * Dm @ W @ Dm.T
        return g, H


class _MultiRAM:
    """Weighted sum over groups, with the interface of ``_cfa._RAM`` for the optimizer."""

    def __init__(self, gm: GroupModel, rams: list, weights: np.ndarray):
        self.rams, self.w = rams, weights
        params, fidx = [], []
        for m in gm.models:
            params += m.params
            fidx += m.free_index
        self.model = Model(gm.observed, gm.latent, params, fidx, gm.n_free, gm.indicators)

    def fml(self, theta) -> float:
        return float(sum(w * r.fml(theta) for w, r in zip(self.w, self.rams, strict=True)))

    def grad_info(self, theta):
        g = np.zeros(len(theta))
        H = np.zeros((len(theta), len(theta)))
        for w, r in zip(self.w, self.rams, strict=True):
            gg, hh = r.grad_info(theta)
            g[r.ks] += w * gg
            H[np.ix_(r.ks, r.ks)] += w * hh
        return g, H


def _factors(gm: GroupModel, c: np.ndarray) -> tuple[list, np.ndarray]:
    """raw / rescaled ratio of every entry of every group, and of every free parameter."""
    facs = []
    scale = np.zeros(gm.n_free)
    for m in gm.models:
        fac = np.array([c[ps.i] / c[ps.j] if ps.mat == "A" else c[ps.i] * c[ps.j]
                        if ps.mat == "S" else c[ps.i] for ps in m.params])
        for e, k in enumerate(m.free_index):
            if k >= 0 and scale[k] == 0:
                scale[k] = fac[e]
        facs.append(fac)
    return facs, scale


def _starts(gm: GroupModel, Rs, ms, facs) -> np.ndarray:
    """Single-group start values per group (rescaled), averaged over shared parameters."""
    tot = np.zeros(gm.n_free)
    cnt = np.zeros(gm.n_free)
    for m, R, mbar, fac in zip(gm.models, Rs, ms, facs, strict=True):
        scaled = [ps if k >= 0 else replace(ps, value=ps.value / fac[e])
                  for e, (ps, k) in enumerate(zip(m.params, m.free_index, strict=True))]
        cm, _ = _split(Model(m.observed, m.latent, scaled, m.free_index, m.n_free,
                             m.indicators))
        th = _cfa._start_values(cm, R)
        ks = {k for ps, k in zip(cm.params, cm.free_index, strict=True) if k >= 0}
        for ps, k in zip(m.params, m.free_index, strict=True):
            if k >= 0 and ps.mat == "M":
                th[k] = mbar[ps.i] if ps.i < len(mbar) else 0.0
                ks.add(k)
        for k in ks:
            tot[k] += th[k]
            cnt[k] += 1
    return tot / np.maximum(cnt, 1)


def fit_groups(gm: GroupModel, Ss: list, ybars: list, ns: list, *,
               max_iter: int = 1000, tol: float = 1e-10) -> dict:
    """ML fit of all groups on a common correlation-like scale; raw-scale estimates.

    One scale per variable for all groups (the pooled SDs), so equal parameters stay
    equal after rescaling. Returns theta, F (weighted), the rescaled information and
    ``theta_scale``, the iteration count and ``rams``, the groups on the data's scale.
    """
    N = float(sum(ns))
    w = np.array(ns, dtype=float) / N
    pooled = sum(wi * S for wi, S in zip(w, Ss, strict=True))
    c = _cfa._variable_scales(gm.models[0], pooled)
    d = c[: len(gm.observed)]
    facs, scale = _factors(gm, c)
    Rs = [S / np.outer(d, d) for S in Ss]
    ms = [y / d for y in ybars]
    rams = [_GroupRAM(m, R, mb, fac, scale)
            for m, R, mb, fac in zip(gm.models, Rs, ms, facs, strict=True)]
    multi = _MultiRAM(gm, rams, w)
    u, f, H, it = _cfa._fisher_scoring(multi, _starts(gm, Rs, ms, facs), max_iter, tol)
    raw = [_GroupRAM(m, S, y) for m, S, y in zip(gm.models, Ss, ybars, strict=True)]
    return {"theta": u * scale, "fmin": f, "info_scaled": H, "theta_scale": scale,
            "n_iter": it, "rams": raw, "model": multi.model, "scaled_rams": rams,
            "sd": d, "multi": multi}


def release_scores(gm: GroupModel, Ss: list, ybars: list, ns: list,
                   theta: np.ndarray) -> list:
    """Univariate score (Lagrange multiplier) tests for releasing each cross-group equality.

    For a parameter shared by several groups, group g's copy gets its own parameter
    (the others stay equal); at the constrained estimates the statistic is
    ``N/2 g' H^-1 g`` with g the gradient of F and H its expected information in the
    augmented model (lavaan's ``lavTestScore`` with expected information). Returns
    (parameter index, group index, statistic) triples.
    """
    N = float(sum(ns))
    w = np.array(ns, dtype=float) / N
    raw = [_GroupRAM(m, S, y) for m, S, y in zip(gm.models, Ss, ybars, strict=True)]
    owners: dict = {}
    for g, m in enumerate(gm.models):
        for k in set(m.free_index) - {-1}:
            owners.setdefault(k, []).append(g)
    out = []
    q = gm.n_free
    aug = np.append(theta, 0.0)
    for k in sorted(owners):
        for g in owners[k][1:]:
            m = gm.models[g]
            mg = Model(m.observed, m.latent, m.params,
                       [q if kk == k else kk for kk in m.free_index], q + 1, m.indicators)
            rams = [r if h != g else _GroupRAM(mg, Ss[g], ybars[g])
                    for h, r in enumerate(raw)]
            aug[q] = theta[k]
            grad, H = _MultiRAM(gm, rams, w).grad_info(aug)
            d = 1.0 / np.sqrt(np.diag(H))
            y = np.linalg.solve(H * np.outer(d, d), grad * d)
            out.append((k, g, float(N / 2 * (grad * d) @ y)))
    return out
