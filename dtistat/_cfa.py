"""Structural equation models: lavaan-style syntax and the normal-theory ML estimator.

Internal module used by :func:`dtistat.factors.fit_cfa`. The model is written in RAM
form (McArdle & McDonald 1984): with all variables v = (observed, latent),
``v = A v + e``, ``cov(e) = S`` and the selection matrix ``F`` picking the observed
ones, the implied covariance is ``Sigma = F (I - A)^-1 S (I - A)^-T F'``.

Estimation minimizes ``F_ML = log|Sigma| + tr(S_N Sigma^-1) - log|S_N| - p`` (``S_N``
divides by N, lavaan's default ``likelihood="normal"``) by Fisher scoring with
step halving; standard errors come from the expected information, lavaan's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from dtistat.errors import ColumnError, ConvergenceError, EstimationError, SpecError

__all__ = ["parse_model", "build_model", "fit_ml", "Model", "ParamSpec"]

# a letter (any script: Chinese names as in the rest of the toolkit) or "_", then word
# characters or dots, as an R name
_IDENT = re.compile(r"^[^\W\d][\w.]*$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_UNSUPPORTED = (":=", "==", "<~", "~*~", "|", "<", ">")


@dataclass
class _Term:
    name: str
    fixed: float | None = None  # numeric modifier: fixed value
    free: bool = False          # NA* modifier: force free
    label: str | None = None    # label modifier: equality constraints across labels


@dataclass
class _Stmt:
    line: int
    text: str
    lhs: str
    op: str
    terms: list


def _bad(stmt_line: int, text: str, why: str) -> SpecError:
    return SpecError(f"model syntax error on line {stmt_line} ({text.strip()!r}): {why}")


def parse_model(model: str) -> list[_Stmt]:
    """Parse lavaan-style syntax (``=~``, ``~``, ``~~``, modifiers ``1*``, ``NA*``, labels)."""
    if not isinstance(model, str) or not model.strip():
        raise SpecError("model must be a non-empty string such as 'F1 =~ x1 + x2 + x3'")
    out: list[_Stmt] = []
    for lineno, raw in enumerate(model.splitlines(), start=1):
        line = re.split(r"[#!]", raw, maxsplit=1)[0]
        for text in line.split(";"):
            if not text.strip():
                continue
            for tok in _UNSUPPORTED:
                if tok in text:
                    raise _bad(lineno, text, f"operator {tok!r} is not supported; use "
                               "'=~' (measured by), '~' (regressed on) or '~~' (covaries with)")
            m = re.search(r"=~|~~|~", text)
            if m is None:
                raise _bad(lineno, text, "no operator; expected one of '=~', '~', '~~'")
            op = m.group(0)
            lhs = text[: m.start()].strip()
            rhs = text[m.end():].strip()
            if "~" in rhs or "=" in rhs:
                raise _bad(lineno, text, "more than one operator in one statement; put "
                           "each relation on its own line")
            if not rhs:
                raise _bad(lineno, text, f"nothing on the right of {op!r}")
            out += _statements(lineno, text, lhs, op, rhs)
    if not any(s.op == "=~" for s in out) and not any(s.op == "~" for s in out):
        raise SpecError("the model has no '=~' (measurement) or '~' (regression) "
                        "statement")
    return out


def _lhs_names(lineno: int, text: str, lhs: str, op: str) -> list[str]:
    """The left-hand side: one name, or ``a + b`` (lavaan's shorthand) before ``~``."""
    names = [n.strip() for n in lhs.split("+")] if op == "~" else [lhs]
    if not all(names):
        raise _bad(lineno, text, f"nothing on the left of {op!r}")
    for nm in names:
        if not _IDENT.match(nm):
            raise _bad(lineno, text, f"{nm!r} is not a valid variable name on the left "
                       f"of {op!r}")
    return names


def _term(lineno: int, text: str, part: str) -> _Term:
    """One right-hand term with its modifier (``0.5*x``, ``NA*x``, ``lbl*x``)."""
    mod = None
    if "*" in part:
        mod, part = (s.strip() for s in part.split("*", 1))
        if "*" in part:
            raise _bad(lineno, text, "more than one modifier on a term")
    if part != "1" and not _IDENT.match(part):
        raise _bad(lineno, text, f"{part!r} is not a valid variable name"
                   + (" (an intercept is written '~ 1')" if _NUMBER.match(part) else ""))
    t = _Term(part)
    if mod is not None:
        if mod.upper() == "NA":
            t.free = True
        elif _NUMBER.match(mod):
            t.fixed = float(mod)
        elif _IDENT.match(mod):
            t.label = mod
        else:
            raise _bad(lineno, text, f"modifier {mod!r} is not a number, NA or a label")
    return t


def _statements(lineno: int, text: str, lhs: str, op: str, rhs: str) -> list[_Stmt]:
    """Statements of one relation; an intercept ``y ~ 1`` becomes op ``'~1'``."""
    terms = []
    for part in rhs.split("+"):
        part = part.strip()
        if not part:
            raise _bad(lineno, text, "empty term (a '+' with nothing beside it)")
        terms.append(_term(lineno, text, part))
    ones = [t for t in terms if t.name == "1"]
    if ones and op != "~":
        raise _bad(lineno, text, f"'1' (an intercept) only goes on the right of '~', "
                   f"not of {op!r}")
    if len(ones) > 1:
        raise _bad(lineno, text, "more than one intercept ('1') in one statement")
    out = []
    for name in _lhs_names(lineno, text, lhs, op):
        rest = [replace(t) for t in terms if t.name != "1"]
        if rest:
            out.append(_Stmt(lineno, text, name, op, rest))
        if ones:
            out.append(_Stmt(lineno, text, name, "~1", [replace(ones[0])]))
    return out


@dataclass
class ParamSpec:
    lhs: str
    op: str
    rhs: str
    mat: str          # "A" or "S"
    i: int
    j: int
    free: bool
    value: float      # fixed value or start value
    label: str | None
    line: int
    auto: bool = False


@dataclass
class Model:
    observed: list
    latent: list
    params: list                      # list[ParamSpec]
    free_index: list = field(default_factory=list)  # per param: theta index or -1
    n_free: int = 0
    indicators: dict = field(default_factory=dict)  # latent -> observed indicators

    @property
    def variables(self) -> list:
        return self.observed + self.latent


def build_model(stmts: list[_Stmt], columns, *, std_lv: bool = False) -> Model:
    """Turn parsed statements into RAM parameter specs (with lavaan's defaults).

    Intercept statements (op ``'~1'``) are left to :func:`dtistat._cfa_groups.mean_params`.
    """
    stmts = [s for s in stmts if s.op != "~1"]
    observed, latent = _model_variables(stmts, columns)
    var = observed + latent
    pos = {v: k for k, v in enumerate(var)}
    book = _ParamBook()
    indicators = _add_loadings(stmts, book, pos, latent, std_lv)
    _add_paths(stmts, book, pos)
    _add_defaults(stmts, book, pos, observed, latent, indicators, std_lv)
    free_index, q = _free_index(book.params)
    return Model(observed, latent, book.params, free_index, q, indicators)


def _model_variables(stmts: list[_Stmt], columns) -> tuple[list[str], list[str]]:
    """Observed and latent variables in order of appearance, with the name checks."""
    latent: list[str] = []
    for s in stmts:
        if s.op == "=~" and s.lhs not in latent:
            latent.append(s.lhs)
    observed: list[str] = []
    cols = set(columns)
    for s in stmts:
        for nm in [s.lhs] + [t.name for t in s.terms]:
            if nm in latent or nm in observed:
                continue
            if nm not in cols:
                raise ColumnError(
                    f"model line {s.line} ({s.text.strip()!r}): {nm!r} is neither a "
                    f"latent variable (left of '=~') nor a column of the data"
                )
            observed.append(nm)
    for s in stmts:
        if s.op == "=~":
            for t in s.terms:
                if t.name == s.lhs:
                    raise _bad(s.line, s.text, f"{s.lhs!r} cannot measure itself")
    if not observed:
        raise SpecError("the model names no observed variable")
    return observed, latent


class _ParamBook:
    """The parameter list being built: an explicit statement replaces a default (auto)
    one for the same matrix cell; two explicit ones for a cell are an error."""

    def __init__(self) -> None:
        self.params: list[ParamSpec] = []
        self._seen: dict = {}

    def add(self, ps: ParamSpec, stmt: _Stmt | None) -> None:
        key = (ps.mat, min(ps.i, ps.j), max(ps.i, ps.j)) if ps.mat == "S" else (
            ps.mat, ps.i, ps.j)
        if key in self._seen:
            if ps.auto:
                return
            first = self._seen[key]
            if first.auto:
                self.params.remove(first)
            else:
                raise _bad(stmt.line, stmt.text, f"{ps.lhs} {ps.op} {ps.rhs} is already "
                           f"specified on line {first.line}")
        self._seen[key] = ps
        self.params.append(ps)


def _term_spec(t: _Term, default_free: bool = True, default_value: float = 0.0):
    """(free, start/fixed value) of a term from its modifiers."""
    if t.fixed is not None:
        return False, t.fixed
    if t.free or t.label is not None:
        return True, default_value
    return default_free, default_value


def _add_loadings(stmts, book: _ParamBook, pos: dict, latent: list, std_lv: bool) -> dict:
    """``=~`` loadings (first one fixed at 1 unless std_lv or modified); returns each
    factor's indicators."""
    indicators: dict = {f: [] for f in latent}
    for s in stmts:
        if s.op != "=~":
            continue
        for t in s.terms:
            first = not indicators[s.lhs] and not any(
                p.op == "=~" and p.lhs == s.lhs for p in book.params)
            marker = first and not std_lv and t.fixed is None and not t.free \
                and t.label is None
            free, val = (False, 1.0) if marker else _term_spec(t, True, 1.0)
            indicators[s.lhs].append(t.name)
            book.add(ParamSpec(s.lhs, "=~", t.name, "A", pos[t.name], pos[s.lhs], free, val,
                               t.label, s.line), s)
    return indicators


def _add_paths(stmts, book: _ParamBook, pos: dict) -> None:
    """``~`` regressions, then ``~~`` (co)variances, as written."""
    for s in stmts:
        if s.op != "~":
            continue
        for t in s.terms:
            if t.name == s.lhs:
                raise _bad(s.line, s.text, f"{s.lhs!r} cannot be regressed on itself")
            free, val = _term_spec(t, True, 0.0)
            book.add(ParamSpec(s.lhs, "~", t.name, "A", pos[s.lhs], pos[t.name], free, val,
                               t.label, s.line), s)
    for s in stmts:
        if s.op != "~~":
            continue
        for t in s.terms:
            free, val = _term_spec(t, True, 0.0)
            book.add(ParamSpec(s.lhs, "~~", t.name, "S", pos[s.lhs], pos[t.name], free, val,
                               t.label, s.line), s)


def _add_defaults(stmts, book: _ParamBook, pos: dict, observed: list, latent: list,
                  indicators: dict, std_lv: bool) -> None:
    """lavaan's default variances and covariances (auto parameters)."""
    var = observed + latent
    # free (residual) variances of every variable; with std.lv the latent (residual)
    # variances are fixed at 1.
    for v in var:
        fixed_one = v in latent and std_lv
        book.add(ParamSpec(v, "~~", v, "S", pos[v], pos[v], not fixed_one,
                           1.0 if fixed_one else float("nan"), None, 0, auto=True), None)
    # Covariances among exogenous latents (auto.cov.lv.x), among purely endogenous
    # variables (auto.cov.y: dependent in '~' and never a predictor, not an indicator),
    # and among exogenous observed covariates (treated as random: fixed.x = FALSE).
    lhs_reg = {s.lhs for s in stmts if s.op == "~"}
    rhs_reg = {t.name for s in stmts if s.op == "~" for t in s.terms}
    all_ind = {x for f in latent for x in indicators[f]}
    # A factor measured by a higher-order factor is endogenous, not exogenous.
    exo_lat = [f for f in latent if f not in lhs_reg and f not in all_ind]
    endo = [v for v in var if v in lhs_reg and v not in rhs_reg
            and not (v in observed and v in all_ind)]
    exo_obs = [v for v in observed if v in rhs_reg and v not in lhs_reg
               and v not in all_ind]
    for group in (exo_lat, endo, exo_obs):
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                book.add(ParamSpec(group[a], "~~", group[b], "S", pos[group[a]],
                                   pos[group[b]], True, 0.0, None, 0, auto=True), None)


def _free_index(params: list[ParamSpec]) -> tuple[list[int], int]:
    """Theta index of each parameter (-1 fixed): one per free unlabeled parameter, one
    per distinct label; and the number of free parameters."""
    free_index = []
    labels: dict = {}
    q = 0
    for p in params:
        if not p.free:
            free_index.append(-1)
        elif p.label is not None:
            if p.label not in labels:
                labels[p.label] = q
                q += 1
            free_index.append(labels[p.label])
        else:
            free_index.append(q)
            q += 1
    return free_index, q


# ---------------------------------------------------------------------------------
# ML estimation
# ---------------------------------------------------------------------------------

class _RAM:
    """Fast evaluation of Sigma(theta), its derivatives and F_ML for one model."""

    def __init__(self, model: Model, S: np.ndarray, factor: np.ndarray | None = None,
                 theta_scale: np.ndarray | None = None):
        # Optional rescaling (see fit_ml): entry e of A or S holds raw / factor[e], and
        # free parameter k is theta_k = raw_k / theta_scale[k], so entry e of a free
        # parameter is theta_k * theta_scale[k] / factor[e] (1 unless labels tie
        # entries of different scales together).
        n_par = len(model.params)
        factor = np.ones(n_par) if factor is None else factor
        theta_scale = np.ones(model.n_free) if theta_scale is None else theta_scale
        self.model = model
        self.S = S
        self.p = len(model.observed)
        self.m = len(model.variables)
        self.q = model.n_free
        self.A0 = np.zeros((self.m, self.m))
        self.S0 = np.zeros((self.m, self.m))
        self.a_free: list = []  # (theta idx, i, j, multiplier)
        self.s_free: list = []
        for e, (ps, k) in enumerate(zip(model.params, model.free_index, strict=True)):
            if k < 0:
                if ps.mat == "A":
                    self.A0[ps.i, ps.j] = ps.value / factor[e]
                else:
                    self.S0[ps.i, ps.j] = self.S0[ps.j, ps.i] = ps.value / factor[e]
            elif ps.mat == "A":
                self.a_free.append((k, ps.i, ps.j, theta_scale[k] / factor[e]))
            else:
                self.s_free.append((k, ps.i, ps.j, theta_scale[k] / factor[e]))
        _, self.logdet_S = np.linalg.slogdet(S)

    def matrices(self, theta):
        A = self.A0.copy()
        Sm = self.S0.copy()
        for k, i, j, r in self.a_free:
            A[i, j] = theta[k] * r
        for k, i, j, r in self.s_free:
            Sm[i, j] = Sm[j, i] = theta[k] * r
        return A, Sm

    def implied(self, theta):
        A, Sm = self.matrices(theta)
        B = np.linalg.inv(np.eye(self.m) - A)
        total = B @ Sm @ B.T  # covariance of all variables
        p = self.p
        return total[:p, :p], B, total

    def fml(self, theta) -> float:
        try:
            Sig, _, _ = self.implied(theta)
        except np.linalg.LinAlgError:
            return np.inf
        sign, ld = np.linalg.slogdet(Sig)
        if sign <= 0 or not np.isfinite(ld):
            return np.inf
        try:
            c = np.linalg.cholesky(Sig)
        except np.linalg.LinAlgError:
            return np.inf
        ci = np.linalg.solve(c, np.eye(self.p))
        tr = float(np.sum((ci @ self.S) * ci))  # tr(S Sigma^-1) via Cholesky
        return ld + tr - self.logdet_S - self.p

    def derivatives(self, theta) -> np.ndarray:
        """dSigma/dtheta as a (q, p, p) stack."""
        Sig, B, total = self.implied(theta)
        p = self.p
        FB = B[:p, :]
        TF = total[:, :p]
        D = np.zeros((self.q, p, p))
        for k, i, j, r in self.a_free:
            o = r * np.outer(FB[:, i], TF[j, :])
            D[k] += o + o.T
        for k, i, j, r in self.s_free:
            o = r * np.outer(FB[:, i], FB[:, j])
            D[k] += o if i == j else o + o.T
        return D

    def grad_info(self, theta):
        Sig, _, _ = self.implied(theta)
        W = np.linalg.inv(Sig)
        G = W - W @ self.S @ W
        D = self.derivatives(theta)
        g = np.einsum("kij,ij->k", D, G)
        M = np.einsum("ij,kjl->kil", W, D)
        H = np.einsum("kij,lji->kl", M, M)  # expected Hessian of F_ML
        return g, H


def _start_values(model: Model, S: np.ndarray) -> np.ndarray:
    obs = model.observed
    ix = {v: k for k, v in enumerate(obs)}
    theta = np.zeros(model.n_free)
    lat_var: dict = {}
    load_start: dict = {}
    for f, inds in model.indicators.items():
        oi = [ix[x] for x in inds if x in ix]
        if len(oi) >= 2:
            vals, vecs = np.linalg.eigh(S[np.ix_(oi, oi)])
            v, e = vecs[:, -1], max(vals[-1], 1e-6)
            if v.sum() < 0:
                v = -v
            lam = dict(zip([obs[k] for k in oi], v, strict=True))
            lead = next((p for p in model.params if p.op == "=~" and p.lhs == f
                         and not p.free), None)
            if lead is not None and lead.rhs in lam and abs(lam[lead.rhs]) > 1e-3:
                scale = lead.value / lam[lead.rhs]
                lat_var[f] = e / scale**2
                load_start.update({(f, x): lam[x] * scale for x in lam})
            else:
                lat_var[f] = 1.0
                load_start.update({(f, x): lam[x] * np.sqrt(e) for x in lam})
        else:
            lat_var[f] = 0.05
    done = set()
    for ps, k in zip(model.params, model.free_index, strict=True):
        if k < 0 or k in done:
            continue
        done.add(k)
        if ps.op == "=~":
            theta[k] = load_start.get((ps.lhs, ps.rhs), 1.0)
        elif ps.op == "~~" and ps.lhs == ps.rhs:
            if ps.lhs in ix:
                theta[k] = 0.5 * S[ix[ps.lhs], ix[ps.lhs]]
            else:
                theta[k] = lat_var.get(ps.lhs, 0.05)
        else:
            theta[k] = 0.0
    return theta


def _variable_scales(model: Model, S: np.ndarray) -> np.ndarray:
    """A scale per variable: the observed SDs; a factor takes its marker's scale.

    A factor whose first fixed non-zero loading is on variable x gets x's scale (so the
    marker loading stays as given); a factor with none (``std_lv``) keeps scale 1.
    Any choice gives an exact reparametrization; this one makes the rescaled problem
    a correlation-scale problem with parameters of order 1.
    """
    p, var = len(model.observed), model.variables
    c = np.ones(len(var))
    c[:p] = np.sqrt(np.diag(S))
    pos = {v: k for k, v in enumerate(var)}
    marker: dict = {}
    for ps, k in zip(model.params, model.free_index, strict=True):
        if ps.op == "=~" and k < 0 and ps.value != 0 and ps.lhs not in marker:
            marker[ps.lhs] = ps.rhs
    for _ in range(len(var)):  # markers may be factors themselves (higher order)
        changed = False
        for f, x in marker.items():
            if c[pos[f]] != c[pos[x]]:
                c[pos[f]], changed = c[pos[x]], True
        if not changed:
            break
    return c


def _entry_factors(model: Model, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """raw / rescaled ratio of every parameter entry, and of every free parameter.

    A path j -> i scales as c_i / c_j, a (co)variance of i and j as c_i c_j. Entries
    sharing a label take the first entry's ratio.
    """
    fac = np.array([c[ps.i] / c[ps.j] if ps.mat == "A" else c[ps.i] * c[ps.j]
                    for ps in model.params])
    scale = np.ones(model.n_free)
    seen: set = set()
    for e, k in enumerate(model.free_index):
        if k >= 0 and k not in seen:
            seen.add(k)
            scale[k] = fac[e]
    return fac, scale


def fit_ml(model: Model, S: np.ndarray, *, max_iter: int = 1000,
           tol: float = 1e-10) -> dict:
    """Minimize F_ML on the correlation scale; return estimates on the data's scale.

    F_ML is invariant to rescaling the observed variables when the parameters are
    rescaled with them, so the optimization runs on ``D^-1 S D^-1`` (D the observed
    SDs) with parameters of order 1 whatever the units; F_ML is the same on both
    scales and the estimates are multiplied back exactly. Returns theta, the
    information on the rescaled parameters ``theta / theta_scale`` (``info_scaled``,
    well conditioned whatever the units), ``theta_scale``, F_ML, the iteration count
    and ``ram``, the model on the data's scale.
    """
    c = _variable_scales(model, S)
    fac, scale = _entry_factors(model, c)
    d = c[: len(model.observed)]
    R = S / np.outer(d, d)
    scaled = Model(model.observed, model.latent,
                   [ps if k >= 0 else replace(ps, value=ps.value / fac[e])
                    for e, (ps, k) in enumerate(zip(model.params, model.free_index,
                                                    strict=True))],
                   model.free_index, model.n_free, model.indicators)
    ram = _RAM(model, R, fac, scale)
    u, f, H, it = _fisher_scoring(ram, _start_values(scaled, R), max_iter, tol)
    return {"theta": u * scale, "fmin": f, "info_scaled": H, "theta_scale": scale, "n_iter": it,
            "ram": _RAM(model, S), "scaled_ram": ram, "sd": d}


def _fisher_scoring(ram: _RAM, theta: np.ndarray, max_iter: int,
                    tol: float) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Fisher scoring with step halving from ``theta``; theta, F_ML, information, iterations."""
    model = ram.model
    f = ram.fml(theta)
    if not np.isfinite(f):
        # A rough start: unit loadings, half the observed variances, small latent ones.
        for ps, k in zip(model.params, model.free_index, strict=True):
            if k >= 0 and ps.op == "=~":
                theta[k] = 1.0
            elif k >= 0 and ps.lhs == ps.rhs and ps.lhs in model.latent:
                theta[k] = 0.05
        f = ram.fml(theta)
        if not np.isfinite(f):
            raise EstimationError("cannot find starting values giving a positive definite "
                                  "implied covariance matrix")
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - `it` is reported after the loop
        g, H = ram.grad_info(theta)
        try:
            step = np.linalg.solve(H + 1e-12 * np.eye(len(H)) * np.trace(H) / len(H), g)
        except np.linalg.LinAlgError:
            step = g
        slope = float(g @ step)
        if slope <= 0:  # not a descent direction: fall back to the gradient
            step, slope = g, float(g @ g)
        # Converged when the Fisher-scoring decrement g' H^-1 g (the predicted fall of
        # F_ML, free of the parameters' units) is negligible; chi2 = N F_ML.
        if np.max(np.abs(g)) < tol or slope < 1e-20:
            converged = True
            break
        t = 1.0
        while True:
            new = theta - t * step
            fn = ram.fml(new)
            if fn <= f - 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        if not np.isfinite(fn) or fn > f + 1e-14:
            break
        df_ = f - fn
        theta, f = new, fn
        if df_ < 1e-15 * max(1.0, abs(f)) and np.max(np.abs(g)) < 1e-6:
            converged = True
            break
    g, H = ram.grad_info(theta)
    gmax = float(np.max(np.abs(g))) if len(g) else 0.0
    if gmax < 1e-6:
        converged = True
    if not converged:
        raise ConvergenceError(
            f"ML estimation did not converge in {max_iter} Fisher-scoring iterations "
            f"(largest gradient {gmax:.2e} on the correlation scale); check the "
            f"model's identification"
        )
    return theta, f, H, it
