"""Command line, issue #21 item 16: DATA anywhere, defaults in help, results on stdout,
errors in the CLI's words, and the cfa, survey and hausman subcommands."""

import argparse
import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from dtistat._cli_args import data_first, subparser
from dtistat.cli import _parser, main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_more")
    rng = np.random.default_rng(4)
    n, T = 40, 5
    med = pd.DataFrame({"city": np.repeat([f"c{i:02d}" for i in range(n)], T),
                        "quarter": np.tile([f"2021Q{q}" for q in range(1, 5)] + ["2022Q1"], n)})
    med["x"] = rng.normal(size=n * T)
    med["m1"] = 0.5 * med["x"] + rng.normal(size=n * T)
    med["m2"] = 0.4 * med["x"] + rng.normal(size=n * T)
    med["y"] = 0.4 * med["m1"] + 0.3 * med["m2"] + 0.2 * med["x"] + rng.normal(size=n * T)
    med.to_csv(d / "med.csv", index=False)
    g = sm.datasets.grunfeld.load_pandas().data
    g.to_csv(d / "grunfeld.csv", index=False)
    g[g.firm != "American Steel"].to_csv(d / "grunfeld10.csv", index=False)
    f = rng.normal(size=(300, 2))
    load = np.array([[0.8, 0.7, 0.6, 0, 0, 0], [0, 0, 0, 0.8, 0.7, 0.6]])
    env = pd.DataFrame(f @ load + 0.6 * rng.normal(size=(300, 6)),
                       columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    env.to_csv(d / "env.csv", index=False)
    k = 400
    sv = pd.DataFrame({"tier": rng.choice(["t1", "t2", "t3"], k, p=[.5, .3, .2]),
                       "sex": rng.choice(["f", "m"], k)})
    sv["uses_ai"] = (rng.uniform(size=k) < np.where(sv.tier == "t1", .6, .3)).astype(int)
    sv.to_csv(d / "survey.csv", index=False)
    pd.DataFrame({"variable": ["tier"] * 3 + ["sex"] * 2,
                  "category": ["t1", "t2", "t3", "f", "m"],
                  "target": [.3, .3, .4, .5, .5]}).to_csv(d / "margins.csv", index=False)
    return d


# ------------------------------------------------------------------ DATA anywhere
def test_data_after_a_multi_value_option(files, capsys):
    """`dtistat mediate --x a --m b panel.dta` failed with "required: DATA"."""
    out = files / "o_med"
    rc = main(["mediate", "--x", "x", "--m", "m1", "m2", str(files / "med.csv"), "--y", "y",
               "--n-boot", "200", "--ci", "percentile", "--seed", "3", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    from dtistat.mediation import fit_mediation

    res = fit_mediation(pd.read_csv(files / "med.csv"), x="x", m=["m1", "m2"], y="y",
                        n_boot=200, ci="percentile", seed=3)
    assert len(res.indirect) == 4  # two mediators, the total and their contrast
    for _, r in res.indirect.iterrows():  # every indirect effect is printed
        assert (f"{r['term']} = {r['estimate']:.4g}, 95% CI [{r['ci_low']:.4g}, "
                f"{r['ci_high']:.4g}]") in text


def test_data_first_moves_only_a_data_file():
    p = _parser()
    assert data_first(p, ["panel", "--formula", "y ~ x", "d.xlsx", "--entity", "e"]) == \
        ["panel", "d.xlsx", "--formula", "y ~ x", "--entity", "e"]
    same = ["panel", "d.csv", "--formula", "y ~ x", "z ~ x"]  # DATA first: unchanged
    assert data_first(p, same) == same
    same = ["index", "--metadata", "m.csv", "--spec", "s.yaml"]  # a one-value option's file
    assert data_first(p, same) == same
    same = ["mediate", "--m", "a.csv"]  # the option would be left empty: not moved
    assert data_first(p, same) == same


# ------------------------------------------------------------------ help and errors
def test_help_shows_every_default():
    p = _parser()
    for cmd in ("index", "sensitivity", "mediate", "panel", "factors", "cfa", "survey",
                "hausman"):
        sub = subparser(p, cmd)
        for a in sub._actions:
            if not a.option_strings or isinstance(a, (argparse._HelpAction,
                                                      argparse._StoreTrueAction)):
                continue
            if a.required:
                continue
            assert a.help and ("%(default)" in a.help or "default:" in a.help), \
                f"{cmd} {a.option_strings[0]} shows no default"
    helps = {cmd: " ".join(subparser(p, cmd).format_help().split())
             for cmd in ("panel", "mediate")}
    for opt, want in (("--model", "within"), ("--fe", "entity"), ("--cov", "cluster"),
                      ("--small-sample", "stata")):
        assert re.search(rf"{opt} .*?\(default: {want}\)", helps["panel"], re.S), opt
    for opt, want in (("--ci", "bca"), ("--level", "0.95")):
        assert re.search(rf"{opt} .*?\(default: {want}\)", helps["mediate"], re.S), opt


def test_errors_use_option_names_not_python(files, capsys):
    rc = main(["mediate", str(files / "med.csv"), "--x", "x", "--m", "m1", "--y", "y",
               "--fe", "twoway", "--n-boot", "0", "--out", str(files / "o_err")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("dtistat mediate: error: --fe twoway needs --entity (the panel unit "
                   "column)")


def test_glyph_warnings_are_told_truly(monkeypatch, capsys):
    import dtistat.cli as cli

    def fake(args):
        warnings.warn("Glyph 48 (0) missing from font(s) Droid Sans Fallback.")
        warnings.warn("Glyph 49 (1) missing from font(s) Droid Sans Fallback.")
        return 0

    monkeypatch.setattr(cli, "_factors", fake)
    assert main(["factors", "x.csv", "--columns", "a"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Droid Sans Fallback" in err[0] and "'01'" in err[0]
    assert "no CJK font is installed" not in err[0]  # the opposite of the truth


# ------------------------------------------------------------------ results on stdout
def test_panel_prints_the_table(files, capsys):
    rc = main(["panel", str(files / "grunfeld.csv"), "--formula", "invest ~ value + capital",
               "--entity", "firm", "--time", "year", "--out", str(files / "o_panel")])
    assert rc == 0
    out = capsys.readouterr().out
    from dtistat import fit_panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = fit_panel(pd.read_csv(files / "grunfeld.csv"), "invest ~ value + capital",
                       entity="firm", time="year")
    assert f"| value | {fe.params['value']:.3f}***" in out
    assert f"({fe.std_errors['capital']:.3f})" in out and "regression.md" in out


# ------------------------------------------------------------------ new subcommands
def run(*args):
    return subprocess.run([sys.executable, "-m", "dtistat", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_hausman_command_matches_the_published_grunfeld_value(files):
    # 10 Grunfeld firms (without American Steel), FE vs RE: chi2(2) = 2.3304 -- the value
    # of plm's phtest / Stata's hausman on this panel, as in dtistat.hausman's docstring
    p = run("hausman", files / "grunfeld10.csv", "--formula", "invest ~ value + capital",
            "--entity", "firm", "--time", "year", "--out", files / "o_h")
    assert p.returncode == 0, p.stderr
    assert "Hausman chi2(2) = 2.3304" in p.stdout
    test = pd.read_csv(files / "o_h" / "tables" / "hausman_test.csv")
    assert test["statistic"].iloc[0] == pytest.approx(2.3304, abs=5e-5)
    assert "| value |" in p.stdout  # the FE and RE slopes side by side


def test_cfa_command_equals_fit_cfa(files, capsys):
    from dtistat.factors import fit_cfa

    model = ["A =~ a1 + a2 + a3", "B =~ b1 + b2 + b3"]
    rc = main(["cfa", str(files / "env.csv"), "--model", *model, "--out", str(files / "o_c")])
    assert rc == 0
    out = capsys.readouterr().out
    res = fit_cfa(pd.read_csv(files / "env.csv"), "\n".join(model))
    f = res.fit
    assert f"chi2({f['df']:.0f}) = {f['chi2']:.3f}" in out and f"CFI = {f['cfi']:.3f}" in out
    est = pd.read_csv(files / "o_c" / "tables" / "estimates.csv")
    np.testing.assert_allclose(est["estimate"], res.estimates["estimate"], rtol=1e-12)
    assert main(["cfa", str(files / "env.csv"), "--out", str(files / "o_c2")]) == 2
    assert "--model" in capsys.readouterr().err


def test_survey_command_rakes_then_tabulates(files, capsys):
    from dtistat.survey import crosstab, rake

    rc = main(["survey", str(files / "survey.csv"), "--row", "tier", "--col", "uses_ai",
               "--margins", str(files / "margins.csv"), "--out", str(files / "o_s")])
    assert rc == 0
    out = capsys.readouterr().out
    d = pd.read_csv(files / "survey.csv")
    w = rake(d, {"tier": {"t1": .3, "t2": .3, "t3": .4}, "sex": {"f": .5, "m": .5}})
    ct = crosstab(d.assign(w=w.to_numpy()), "tier", "uses_ai", weights="w")
    assert f"Rao-Scott F = {ct.statistic:.4g}, p = {ct.p_value:.4g}" in out
    assert f"| t1 | {ct.row_pct.loc['t1', 0]:.1f} | {ct.row_pct.loc['t1', 1]:.1f} |" in out
    got = pd.read_csv(files / "o_s" / "tables" / "weights.csv")["raked_weight"]
    np.testing.assert_allclose(got, w.to_numpy(), rtol=1e-12)


def test_factors_prints_the_loadings(files, capsys):
    from dtistat.factors import fit_efa

    cols = ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert main(["factors", str(files / "env.csv"), "--columns", *cols, "--n-factors", "2",
                 "--out", str(files / "o_f")]) == 0
    out = capsys.readouterr().out
    efa = fit_efa(pd.read_csv(files / "env.csv"), cols, n_factors=2, rotation="varimax")
    row = efa.to_frame().loc["b1"]
    assert f"| b1 | {row['F1']:.3f} | {row['F2']:.3f} |" in out


def test_warnings_use_option_names_too(files, capsys):
    rc = main(["mediate", str(files / "med.csv"), "--x", "x", "--m", "m1", "--y", "y",
               "--n-boot", "60", "--seed", "1", "--out", str(files / "o_warn")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "warning: --n-boot 60 is small" in err and "n_boot=" not in err
