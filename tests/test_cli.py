"""The command line: `dtistat demo` writes the report; bad input exits non-zero."""

import re
import subprocess
import sys

import pandas as pd


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dtistat.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_demo_writes_report(tmp_path):
    out = tmp_path / "rep"
    p = run("demo", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert (out / "report.html").exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "上海市" in html and "simulated" in html
    assert "(failed)" not in html
    assert "Glyph" not in html  # matplotlib's font warnings are not analysis notes
    assert "no glyph" not in html and "glyph" not in p.stderr  # and no figure misses one
    assert "increase n_base" not in html  # the demo does not warn about its own design
    assert "log_population: 7.68" in html  # the estimate far from its truth is explained
    nums = [int(n) for n in re.findall(r"<h2[^>]*>(\d+) ", html)]
    assert nums == list(range(1, len(nums) + 1)) and len(nums) >= 12  # numbered in order
    top = pd.read_csv(out / "tables" / "top_cities.csv")
    assert top["city"].head(3).tolist() == ["上海市", "北京市", "深圳市"]
    assert (out / "figures" / "national_trend.png").stat().st_size > 10_000
    assert "report:" in p.stdout and "[1/" in p.stderr  # progress display


def test_help_and_no_command():
    p = run("--help")
    assert p.returncode == 0 and "demo" in p.stdout
    p = run("demo", "--help")
    assert p.returncode == 0 and "example:" in p.stdout
    assert run().returncode == 0


def test_bad_option_exits_nonzero():
    p = run("demo", "--seed", "notanumber")
    assert p.returncode == 2 and "invalid int value" in p.stderr
