"""Moderated mediation (PROCESS models 7, 14, 58) against pyprocessmacro and refit loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dtistat import _bootstrap as bs
from dtistat.errors import DataError, DtiStatError, ParameterError
from dtistat.modmed import fit_moderated_mediation, probe_values

ppm = pytest.importorskip("pyprocessmacro")

STAGE_MODEL = {"first": 7, "second": 14, "both": 58}
DIRECT_MODEL = {"first": 8, "second": 15, "both": 59}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 200
    d = pd.DataFrame({"x": rng.normal(size=n), "w": rng.gamma(2.0, size=n),
                      "c1": rng.normal(size=n), "z": rng.integers(0, 2, size=n)})
    d["m"] = 0.5 * d.x + 0.3 * d.w + 0.4 * d.x * d.w + rng.normal(size=n)
    d["m2"] = 0.3 * d.x - 0.2 * d.x * d.w + 0.5 * d.x * d.z + rng.normal(size=n)
    d["y"] = 0.4 * d.m + 0.2 * d.x + 0.3 * d.m * d.w + 0.2 * d.m2 + rng.normal(size=n)
    return d


def _process(d, stage, meds, w, spotlight="percentiles", controls=("c1",), direct=False):
    mod = {"v": w} if stage == "second" else {"w": w}
    model = (DIRECT_MODEL if direct else STAGE_MODEL)[stage]
    return ppm.Process(data=d, model=model, x="x", y="y", m=list(meds),
                       controls=list(controls), controls_in="all", boot=50, seed=1,
                       suppr_init=True, spotlight=spotlight, **mod)


def _coefs(res, p, meds, w):
    """(dtistat, pyprocessmacro) focal coefficients and SEs, matched by variable."""
    ours, theirs = [], []
    for e in [*meds, "y"]:
        cs = p.outcome_models[e].coeff_summary()
        sub = res.paths[res.paths["equation"] == e]
        for var, b, s in zip(sub["variable"], sub["estimate"], sub["std_error"]):
            ours.append((b, s))
            key = var.replace("×", "*")
            if key not in cs.index:  # pyprocessmacro spells x*v as v*x in models 15
                key = "*".join(key.split("*")[::-1])
            theirs.append(tuple(cs.loc[key, ["coeff", "se"]]))
    return np.array(ours), np.array(theirs)


@pytest.mark.parametrize("stage", ["first", "second", "both"])
@pytest.mark.parametrize("meds", [("m",), ("m", "m2")])
def test_equals_pyprocessmacro(data, stage, meds):
    res = fit_moderated_mediation(data, x="x", m=list(meds), y="y", w="w", stage=stage,
                                  covariates="c1", n_boot=0, n_mc=200, seed=1)
    p = _process(data, stage, meds, "w")
    ours, theirs = _coefs(res, p, meds, "w")
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)
    cie = p.indirect_model.coeff_summary()
    np.testing.assert_allclose(res.conditional["w"], cie["w"], rtol=1e-10)
    assert list(res.conditional["mediator"]) == list(cie["Mediator"])
    np.testing.assert_allclose(res.conditional["estimate"], cie["Effect"], rtol=1e-8)
    if stage == "both":
        assert len(res.index) == 0
    else:
        mm = p.indirect_model.MM_index_summary()
        np.testing.assert_allclose(res.index["estimate"], mm["Index"], rtol=1e-8)


@pytest.mark.parametrize("stage", ["first", "second", "both"])
def test_moderated_direct_effect_equals_pyprocessmacro(data, stage):
    """PROCESS models 8, 15, 59: W also moderates X -> Y."""
    res = fit_moderated_mediation(data, x="x", m="m", y="y", w="w", stage=stage,
                                  direct=True, covariates="c1", n_boot=0, n_mc=200, seed=1)
    assert res.model == DIRECT_MODEL[stage]
    p = _process(data, stage, ["m"], "w", direct=True)
    ours, theirs = _coefs(res, p, ["m"], "w")
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)
    de = p.direct_model.coeff_summary()
    np.testing.assert_allclose(res.direct["w"], de["w"], rtol=1e-10)
    for ours_c, theirs_c in (("estimate", "Effect"), ("std_error", "SE"), ("statistic", "t"),
                             ("p_value", "p"), ("ci_low", "LLCI"), ("ci_high", "ULCI")):
        np.testing.assert_allclose(res.direct[ours_c], de[theirs_c], rtol=1e-8)
    np.testing.assert_allclose(res.conditional["estimate"],
                               p.indirect_model.coeff_summary()["Effect"], rtol=1e-8)
    if stage != "both":
        np.testing.assert_allclose(res.index["estimate"],
                                   p.indirect_model.MM_index_summary()["Index"], rtol=1e-8)


def test_mean_sd_rule_and_dichotomous_moderator(data):
    res = fit_moderated_mediation(data, x="x", m="m", y="y", w="w", covariates="c1",
                                  w_values="meansd", n_boot=0, n_mc=200, seed=1)
    cie = _process(data, "first", ["m"], "w", spotlight="moments").indirect_model
    np.testing.assert_allclose(res.conditional["w"], cie.coeff_summary()["w"], rtol=1e-10)
    np.testing.assert_allclose(res.conditional["estimate"], cie.coeff_summary()["Effect"],
                               rtol=1e-8)
    # a dummy moderator: probed at 0 and 1; the index is the difference of the two effects
    rz = fit_moderated_mediation(data, x="x", m="m2", y="y", w="z", covariates="c1",
                                 n_boot=0, n_mc=200, seed=1)
    pz = _process(data, "first", ["m2"], "z").indirect_model
    np.testing.assert_array_equal(rz.conditional["w"], [0.0, 1.0])
    np.testing.assert_allclose(rz.conditional["estimate"], pz.coeff_summary()["Effect"],
                               rtol=1e-8)
    e0, e1 = rz.conditional["estimate"]
    assert rz.index["estimate"].iloc[0] == pytest.approx(e1 - e0, rel=1e-12)
    np.testing.assert_allclose(rz.index["estimate"], pz.MM_index_summary()["Index"], rtol=1e-8)


def test_percentile_rule_is_process_p_n_plus_1():
    # PROCESS: sorted values interpolated at position p(n + 1); n = 9 -> 1.6, 5, 8.4
    v, _ = probe_values(np.arange(1.0, 10.0), "percentiles")
    np.testing.assert_allclose(v, [1.6, 5.0, 8.4], rtol=1e-12)


def _ols(yv, X):
    return np.linalg.lstsq(X, yv, rcond=None)[0]


def _naive_row_draws(d, idx, wv):
    """Model 58 refit by plain least squares on each resample of rows."""
    out = []
    for r in idx:
        s = d.iloc[r]
        one = np.ones(len(s))
        am = _ols(s.m.to_numpy(), np.column_stack([one, s.x, s.w, s.x * s.w, s.c1]))
        by = _ols(s.y.to_numpy(), np.column_stack([one, s.x, s.m, s.w, s.m * s.w, s.c1]))
        coefs = [am[1], am[2], am[3], by[1], by[2], by[3], by[4]]
        cond = (am[1] + am[3] * wv) * (by[2] + by[4] * wv)
        out.append(np.concatenate([coefs, cond]))
    return np.array(out)


def test_row_bootstrap_equals_naive_refit_on_same_resamples(data):
    B = 80
    res = fit_moderated_mediation(data, x="x", m="m", y="y", w="w", stage="both",
                                  covariates="c1", n_boot=B, seed=7)
    idx = bs.resample_indices(7, len(data), B)
    naive = _naive_row_draws(data, idx, res.w_values)
    np.testing.assert_allclose(res.boot_draws.to_numpy(), naive, rtol=0, atol=1e-10)
    for i, row in res.conditional.iterrows():
        lo, hi = bs.percentile_ci(naive[:, 7 + i], 0.95)
        assert row["ci_low"] == pytest.approx(lo, abs=1e-10)
        assert row["ci_high"] == pytest.approx(hi, abs=1e-10)
        assert row["std_error"] == pytest.approx(np.std(naive[:, 7 + i], ddof=1), abs=1e-10)


def test_bca_from_refit_draws_and_leave_one_out_refits(data):
    """BCa (Efron 1987) written out here: naive draws, naive jackknife, own formula."""
    d = data.iloc[:80]
    B = 200
    res = fit_moderated_mediation(d, x="x", m="m", y="y", w="w", stage="both",
                                  covariates="c1", n_boot=B, seed=3, ci="bca",
                                  w_values=[0.5, 2.0])
    naive = _naive_row_draws(d, bs.resample_indices(3, len(d), B), res.w_values)[:, 7:]
    jack = np.array([_naive_row_draws(d, [np.delete(np.arange(len(d)), i)], res.w_values)[0, 7:]
                     for i in range(len(d))])
    for k, row in res.conditional.reset_index(drop=True).iterrows():
        th, dr, jk = row["estimate"], naive[:, k], jack[:, k]
        z0 = stats.norm.ppf(np.mean(dr < th))
        dev = jk.mean() - jk
        acc = np.sum(dev**3) / (6 * np.sum(dev**2) ** 1.5)
        z = stats.norm.ppf([0.025, 0.975])
        q = stats.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z))) * 100
        np.testing.assert_allclose(row[["ci_low", "ci_high"]].to_numpy(dtype=float),
                                   np.percentile(dr, q), rtol=0, atol=1e-10)


def _panel(G=30, T=5, seed=3):
    rng = np.random.default_rng(seed)
    n = G * T
    d = pd.DataFrame({"city": np.repeat(np.arange(G), T), "q": np.tile(np.arange(T), G)})
    u = rng.normal(size=G)[d.city]
    d["east"] = (np.arange(G) % 3 == 0).astype(float)[d.city]   # time-invariant W
    d["x"] = u + rng.normal(size=n)
    d["m"] = 0.5 * d.x + 0.4 * d.x * d.east + u + rng.normal(size=n)
    d["y"] = 0.3 * d.m + 0.1 * d.x + u + rng.normal(size=n)
    return d


def test_cluster_bootstrap_with_fe_equals_dummy_refit():
    d = _panel()
    B = 60
    res = fit_moderated_mediation(d, x="x", m="m", y="y", w="east", entity="city", time="q",
                                  fe="twoway", n_boot=B, seed=11)
    assert res.w_absorbed and res.cluster == "city" and res.n_clusters == 30
    assert list(res.paths["term"]) == ["a1[m]", "a3[m]", "c_prime", "b1[m]"]
    labels = np.sort(d.city.unique())
    idx = bs.resample_indices(11, len(labels), B)
    out = []
    for r in idx:  # whole cities; a city drawn twice is two entities
        s = pd.concat([d[d.city == labels[g]].assign(city=k) for k, g in enumerate(r)])
        dum = pd.get_dummies(s.city.astype(str), drop_first=True, dtype=float).to_numpy()
        tdum = pd.get_dummies(s.q, drop_first=True, dtype=float).to_numpy()
        base = np.column_stack([np.ones(len(s)), dum, tdum])
        am = _ols(s.m.to_numpy(), np.column_stack([s.x, s.x * s.east, base]))
        by = _ols(s.y.to_numpy(), np.column_stack([s.x, s.m, base]))
        out.append([am[0], am[1], by[0], by[1],
                    *((am[0] + am[1] * res.w_values) * by[1]), am[1] * by[1]])
    np.testing.assert_allclose(res.boot_draws.to_numpy(), np.array(out), rtol=0, atol=1e-10)
    lo, hi = bs.percentile_ci(np.array(out)[:, -1], 0.95)
    assert res.index[["ci_low", "ci_high"]].to_numpy().ravel() == pytest.approx([lo, hi],
                                                                               abs=1e-10)


def test_same_seed_same_draws_whatever_chunk_size(data):
    kw = dict(x="x", m="m", y="y", w="w", stage="second", n_boot=200, seed=5, ci="bca")
    r1 = fit_moderated_mediation(data, **kw)
    r2 = fit_moderated_mediation(data, chunk_size=32, **kw)
    np.testing.assert_array_equal(r1.boot_draws.to_numpy(), r2.boot_draws.to_numpy())
    pd.testing.assert_frame_equal(r1.conditional, r2.conditional)
    assert (r1.conditional["ci_method"] == "bca").all()


def test_result_protocol_and_input_untouched(data):
    before = data.copy()
    res = fit_moderated_mediation(data, x="x", m="m", y="y", w="w", n_boot=100, seed=1)
    pd.testing.assert_frame_equal(data, before)
    assert list(res.params.index[:5]) == ["a1[m]", "a2[m]", "a3[m]", "c_prime", "b1[m]"]
    assert res.conf_int().shape == (len(res.tidy()), 2)
    text = str(res.summary())
    assert "Index of moderated mediation" in text and "PROCESS model 7" in text
    assert [c.name for c in res.table_columns()] == ["m", "y"]
    assert "x×w" in list(res.table_columns()[0].coefs["term"])
    c_prime = res.paths.set_index("term").loc["c_prime"]
    assert list(res.direct["term"]) == ["direct"]
    assert res.direct[["estimate", "std_error", "ci_low"]].to_numpy().ravel() == \
        pytest.approx(c_prime[["estimate", "std_error", "ci_low"]].to_numpy(dtype=float))
    with pytest.raises(ParameterError, match="level"):
        res.conf_int(0.9)


@pytest.mark.parametrize("kw, err, match", [
    ({"w": "x"}, ParameterError, "w='x'"),
    ({"w": "nope"}, DtiStatError, "nope"),
    ({"stage": "middle"}, ParameterError, "stage"),
    ({"w_values": "median"}, ParameterError, "w_values"),
    ({"w_values": []}, ParameterError, "w_values"),
    ({"w": "const"}, DataError, "'const'"),
    ({"w": "txt"}, DtiStatError, "txt"),
    ({"n_boot": 10}, ParameterError, "n_boot"),
])
def test_bad_input(data, kw, err, match):
    d = data.assign(const=1.0, txt="a")
    args = dict(x="x", m="m", y="y", w="w", n_boot=0, n_mc=200) | kw
    with pytest.raises(err, match=match):
        fit_moderated_mediation(d, **args)


def test_missing_values_named_or_dropped(data):
    d = data.copy()
    d.loc[3, "w"] = np.nan
    with pytest.raises(DataError, match="'w'"):
        fit_moderated_mediation(d, x="x", m="m", y="y", w="w", n_boot=0, n_mc=200)
    with pytest.warns(Warning, match="dropped"):
        r = fit_moderated_mediation(d, x="x", m="m", y="y", w="w", n_boot=0, n_mc=200,
                                    missing="drop")
    assert r.nobs == len(d) - 1 and r.n_dropped == 1


# Printed output of the original PROCESS macro (SPSS, release 2.16.3; mean ± 1 SD probes)
# on the simulated data of pyprocessmacro's accuracy tests (github.com/QuentinAndre/
# pyprocessmacro, tests/Data/Data_Model{7,8,14,58}.csv and tests/Results/
# Results_OLS_Model{7,8,14,58}.txt, MIT licence; the columns used are in tests/data/
# process216_model*.csv.gz). Printed to 4 decimals: checked to half a unit of the last.
PROCESS_216 = {
    7: {"w": "w", "wv": [.0124, 1.0131, 2.0137],
        "m1": [.9597, 1.9529, 2.9461], "m2": [-.9770, -1.9464, -2.9159],
        "index": [.9926, -.9689]},
    14: {"w": "v", "wv": [.0149, 1.0299, 2.0449],
         "m1": [.9478, 1.9433, 2.9388], "m2": [-.9431, -1.9532, -2.9632],
         "index": [.9808, -.9952]},
    8: {"w": "w", "wv": [.0124, 1.0131, 2.0137],
        "m1": [.9588, 1.9511, 2.9434], "m2": [-.9768, -1.9460, -2.9153],
        "index": [.9917, -.9687], "direct": [1.0326, 2.0596, 3.0866]},
    58: {"w": "w", "wv": [.0124, 1.0131, 2.0137],
         "m1": [.9701, 3.9595, 8.9686], "m2": [-.9903, -3.9484, -8.8741], "index": []},
}


@pytest.mark.parametrize("model", [7, 8, 14, 58])
def test_printed_process_2_16_output(model):
    import pathlib

    ref = PROCESS_216[model]
    d = pd.read_csv(pathlib.Path(__file__).parent / "data" / f"process216_model{model}.csv.gz")
    stage = {7: "first", 8: "first", 14: "second", 58: "both"}[model]
    res = fit_moderated_mediation(d, x="x", m=["m1", "m2"], y="y", w=ref["w"], stage=stage,
                                  direct=model == 8, w_values="meansd", n_boot=0, n_mc=200,
                                  seed=1)
    assert res.model == model
    tol = 5e-5 + 1e-12
    np.testing.assert_allclose(res.w_values, ref["wv"], rtol=0, atol=tol)
    np.testing.assert_allclose(res.conditional["estimate"], ref["m1"] + ref["m2"], rtol=0,
                               atol=tol)
    np.testing.assert_allclose(res.index["estimate"], ref["index"], rtol=0, atol=tol)
    if model == 8:  # conditional direct effects c' + c3' w (and the printed coefficients)
        np.testing.assert_allclose(res.direct["estimate"], ref["direct"], rtol=0, atol=tol)
        p = res.paths.set_index("term")["estimate"]
        np.testing.assert_allclose(p[["b1[m1]", "b1[m2]", "c_prime", "c2_prime", "c3_prime"]],
                                   [.9867, .9806, 1.0198, .9631, 1.0264], rtol=0, atol=tol)
    if model == 7:  # the printed coefficients (its SEs are HC3, not compared)
        p = res.paths.set_index("term")["estimate"]
        printed = {"a1[m1]": .9592, "a2[m1]": .9677, "a3[m1]": 1.0050, "a1[m2]": -.9838,
                   "a2[m2]": -1.0259, "a3[m2]": -.9878, "b1[m1]": .9876, "b1[m2]": .9808,
                   "c_prime": 1.0444}
        np.testing.assert_allclose(p[list(printed)], list(printed.values()), rtol=0, atol=tol)
