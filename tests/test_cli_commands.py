"""CLI subcommands (index, sensitivity, mediate, panel, factors) driven through subprocess."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from dtistat.cli import main

SPEC = """\
name: total
label: 数字化转型指数
children:
  - name: infrastructure
    label: 基础设施
    children: [{name: cloud}, {name: ai}]
  - name: application
    label: 应用
    children: [{name: pay}, {name: ticket}]
expert_scores:
  e1: {infrastructure: 5, application: 4, cloud: 5, ai: 4, pay: 3, ticket: 4}
  e2: {infrastructure: 4, application: 4, cloud: 4, ai: 5, pay: 4, ticket: 4}
  e3: {infrastructure: 3, application: 5, cloud: 4, ai: 3, pay: 5, ticket: 2}
"""

CITIES = ["北京市", "天津市", "上海市", "南京市", "苏州市", "杭州市", "合肥市", "广州市",
          "深圳市", "成都市"]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dtistat.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    quarters = [f"{y}Q{q}" for y in (2021, 2022) for q in range(1, 5)] + ["2023Q1"]
    rows = []
    for city in CITIES:
        base = rng.uniform(1, 5, 4)
        for t, q in enumerate(quarters):
            rows.append([city, q, *(base * (1 + 0.03 * t) + rng.normal(0, 0.1, 4))])
    idx = pd.DataFrame(rows, columns=["city", "quarter", "cloud", "ai", "pay", "ticket"])
    idx.to_csv(d / "index.csv", index=False, encoding="gbk")
    (d / "spec.yaml").write_text(SPEC, encoding="utf-8")
    n, T = 30, 6
    med = pd.DataFrame({"city": np.repeat([f"c{i:02d}" for i in range(n)], T),
                        "quarter": np.tile(quarters[:T], n)})
    med["x"] = rng.normal(size=n * T) + np.repeat(rng.normal(size=n), T)
    med["m"] = 0.5 * med["x"] + rng.normal(size=n * T)
    med["y"] = 0.4 * med["m"] + 0.2 * med["x"] + rng.normal(size=n * T)
    med.to_stata(d / "med.dta", write_index=False, version=118)
    import statsmodels.api as sm

    sm.datasets.grunfeld.load_pandas().data.to_csv(d / "grunfeld.csv", index=False)
    f = rng.normal(size=(200, 2))
    load = np.array([[0.8, 0.7, 0.6, 0, 0, 0], [0, 0, 0, 0.8, 0.7, 0.6]])
    env = pd.DataFrame(f @ load + 0.6 * rng.normal(size=(200, 6)),
                       columns=["风险投资", "研发", "孵化器", "专利", "人才", "算力"])
    env.to_excel(d / "env.xlsx", index=False)
    return d


def test_index_command(files):
    out = files / "o_index"
    p = run("index", files / "index.csv", "--spec", files / "spec.yaml", "--out", out,
            "--format", "latex", "--metadata", "cities")
    assert p.returncode == 0, p.stderr
    assert "[1/4] reading" in p.stderr and "[4/4] drawing figures" in p.stderr
    from dtistat.index.compute import compute_index
    from dtistat.io import read_data
    from dtistat.spec import IndexSpec

    res = compute_index(read_data(files / "index.csv"), IndexSpec.from_yaml(files / "spec.yaml"))
    rank = pd.read_csv(out / "tables" / "ranking.csv")
    want = res.rank("2023Q1")
    assert rank["city"].tolist() == want["city"].tolist()
    np.testing.assert_allclose(rank["score"], want["score"])
    assert rank["change"].tolist() == res.rank_change("2021Q1", "2023Q1").set_index(
        "city").loc[want["city"], "change"].tolist()
    tex = (out / "tables" / "ranking.tex").read_text(encoding="utf-8")
    assert r"\toprule" in tex and want["city"].iloc[0] in tex
    scores = pd.read_csv(out / "tables" / "scores.csv")
    assert {"city", "quarter", "total", "infrastructure", "cloud"} <= set(scores.columns)
    prov = pd.read_csv(out / "tables" / "provinces.csv")
    assert len(prov) == 8 and prov.loc[prov["province"] == "江苏", "score"].iloc[0] == \
        pytest.approx(want.set_index("city").loc[["南京市", "苏州市"], "score"].sum())
    assert set(pd.read_csv(out / "tables" / "clusters.csv")["cluster"]) == {
        "京津冀", "长三角", "珠三角", "成渝"}
    for fig in ("index_trend", "rank_bump", "provinces", "tier_growth", "cluster_shares"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 5000


def test_sensitivity_command(files):
    out = files / "o_sens"
    p = run("sensitivity", files / "index.csv", "--spec", files / "spec.yaml", "--out", out,
            "--n-draws", 100, "--seed", 1, "--top", 5, "--jobs", 2)
    assert p.returncode == 0, p.stderr
    assert "Monte Carlo: 100 weight draws" in p.stderr and "mean Spearman" in p.stdout
    summ = pd.read_csv(out / "tables" / "rank_uncertainty.csv")
    assert len(summ) == 10 * 9 and {"nominal_rank", "rank_p05", "rank_p95"} <= set(summ.columns)
    assert len(pd.read_csv(out / "tables" / "draws.csv")) == 100
    md = (out / "tables" / "rank_uncertainty.md").read_text(encoding="utf-8")
    assert len([ln for ln in md.splitlines() if ln.startswith("| ") and "市" in ln]) == 5
    assert (out / "figures" / "rank_intervals.png").exists()
    # same seed, one thread: the same table
    one = files / "o_sens1"
    p = run("sensitivity", files / "index.csv", "--spec", files / "spec.yaml", "--out", one,
            "--n-draws", 100, "--seed", 1, "--top", 5, "--jobs", 1)
    assert p.returncode == 0, p.stderr
    pd.testing.assert_frame_equal(pd.read_csv(one / "tables" / "rank_uncertainty.csv"), summ)


def test_mediate_command(files):
    import docx  # python-docx: the docx extra (and the test extra)

    out = files / "o_med"
    p = run("mediate", files / "med.dta", "--x", "x", "--m", "m", "--y", "y", "--entity",
            "city", "--time", "quarter", "--fe", "twoway", "--n-boot", 200, "--ci",
            "percentile", "--seed", 5, "--out", out, "--format", "docx")
    assert p.returncode == 0, p.stderr
    assert "bootstrap of 200 draws" in p.stderr
    from dtistat.mediation import fit_mediation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_mediation(pd.read_stata(files / "med.dta"), x="x", m="m", y="y",
                            entity="city", time="quarter", fe="twoway", n_boot=200,
                            ci="percentile", seed=5)
    ind = pd.read_csv(out / "tables" / "mediation_indirect.csv").set_index("term")
    want = res.indirect.set_index("term")
    np.testing.assert_allclose(ind.loc["indirect[m]", ["estimate", "ci_low", "ci_high"]]
                               .astype(float), want.loc["indirect[m]", ["estimate", "ci_low",
                                                                         "ci_high"]].astype(float))
    d = docx.Document(str(out / "tables" / "mediation.docx"))
    assert len(d.tables) == 2                             # equations; bootstrap test
    eq = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert eq[1] == ["", "y", "m", "y"]
    assert next(r for r in eq if r[0] == "Time FE")[1:] == ["Yes"] * 3
    boot = [[c.text for c in r.cells] for r in d.tables[1].rows]
    assert float(boot[1][1]) == pytest.approx(want.loc["indirect[m]", "estimate"], abs=5e-4)
    assert (out / "figures" / "indirect_bootstrap.png").exists()


def test_panel_command(files):
    from openpyxl import load_workbook

    out = files / "o_panel"
    p = run("panel", files / "grunfeld.csv", "--formula", "invest ~ value + capital",
            "invest ~ value", "--entity", "firm", "--time", "year", "--fe", "twoway",
            "--out", out, "--format", "xlsx")
    assert p.returncode == 0, p.stderr
    assert "warning: only 11 clusters" in p.stderr         # one line, not a traceback
    coefs = pd.read_csv(out / "tables" / "coefficients.csv")
    assert coefs["model"].tolist() == [1, 1, 2]
    assert coefs.loc[0, "estimate"] == pytest.approx(0.116681, abs=1e-6)   # Grunfeld 2-way
    ws = load_workbook(out / "tables" / "regression.xlsx")["table"]
    cell = next(r for r in ws.iter_rows() if r[0].value == "value")[1]
    assert cell.value == 0.117 and cell.number_format == '0.000"***"'  # a number, shown 0.117***
    assert (out / "figures" / "coefficients.png").exists()


def test_factors_command(files):
    out = files / "o_fac"
    p = run("factors", files / "env.xlsx", "--columns", "风险投资", "研发", "孵化器", "专利",
            "人才", "算力", "--n-iter", 50, "--seed", 1, "--rotation", "promax", "--out", out,
            "--format", "html")
    assert p.returncode == 0, p.stderr
    assert "parallel analysis (50 random draws)" in p.stderr
    load = pd.read_csv(out / "tables" / "loadings.csv")
    assert load["variable"].tolist()[0] == "风险投资" and {"F1", "F2", "h2"} <= set(load.columns)
    assert "2 factor(s)" in p.stdout
    assert "<table" in (out / "tables" / "loadings.html").read_text(encoding="utf-8")
    assert (out / "figures" / "scree.png").exists()


def test_bad_input_exits_2_with_one_line(files, tmp_path):
    p = run("mediate", files / "med.dta", "--x", "x", "--m", "nope", "--y", "y",
            "--out", tmp_path / "o")
    assert p.returncode == 2
    err = [ln for ln in p.stderr.splitlines() if not ln.startswith("[")]
    assert err == [("dtistat mediate: error: column 'nope' not found in the data; available "
                    "columns: city, quarter, x, m, y")]
    (tmp_path / "data.sav").write_text("x")
    p = run("panel", tmp_path / "data.sav", "--formula", "y ~ x", "--entity", "a",
            "--time", "b")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "dtistat panel: error:" in p.stderr and "dtistat reads .csv" in p.stderr


def test_help_has_an_example(capsys):
    p = run("index", "--help")
    assert p.returncode == 0 and "example:" in p.stdout and "--spec" in p.stdout
    for cmd in ("sensitivity", "mediate", "panel", "factors"):
        with pytest.raises(SystemExit) as ex:
            main([cmd, "--help"])
        assert ex.value.code == 0
        assert f"dtistat {cmd}" in capsys.readouterr().out.split("example:")[1]
    assert main(["index", "missing.csv", "--spec", "missing.yaml"]) == 2
    assert "dtistat index: error: 'missing.csv': file not found" in capsys.readouterr().err
