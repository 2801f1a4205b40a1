"""Progress callbacks of the bootstrap and the weight Monte Carlo: reported, no effect."""

import subprocess
import sys

import numpy as np
import pandas as pd

from dtistat import fit_mediation, weight_sensitivity
from dtistat.datasets import load_demo


def test_mediation_progress_reports_every_chunk_and_changes_nothing():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "m": m, "y": 0.4 * m + 0.2 * x + rng.normal(size=n)})
    seen = []
    a = fit_mediation(df, x="x", m="m", y="y", n_boot=1000, seed=3, chunk_size=64,
                      progress=lambda done, total: seen.append((done, total)))
    b = fit_mediation(df, x="x", m="m", y="y", n_boot=1000, seed=3)
    assert seen[-1] == (1000, 1000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 1
    np.testing.assert_array_equal(a.boot_draws.to_numpy(), b.boot_draws.to_numpy())


def test_sensitivity_progress_reports_every_chunk_and_changes_nothing():
    w = load_demo()
    city = w.cube.groupby(["city", "quarter"], as_index=False)[w.spec.columns].sum()
    city = city[city["quarter"].isin(["2021Q1", "2023Q1"])]
    seen = []
    a = weight_sensitivity(city, w.spec, n_draws=600, seed=2, chunk_size=256,
                           progress=lambda done, total: seen.append((done, total)))
    b = weight_sensitivity(city, w.spec, n_draws=600, seed=2)
    assert seen[-1] == (600, 600) and len(seen) == 3
    pd.testing.assert_frame_equal(a.rank_table(), b.rank_table(), check_exact=True)


def test_cli_mediate_shows_a_progress_bar(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    pd.DataFrame({"x": x, "m": m, "y": 0.3 * m + rng.normal(size=n)}).to_csv(
        tmp_path / "d.csv", index=False)
    p = subprocess.run([sys.executable, "-m", "dtistat.cli", "mediate", str(tmp_path / "d.csv"),
                        "--x", "x", "--m", "m", "--y", "y", "--n-boot", "1000",
                        "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert "bootstrap [" in p.stderr and "1,000/1,000" in p.stderr
