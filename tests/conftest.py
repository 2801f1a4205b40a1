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
