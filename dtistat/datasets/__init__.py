"""Bundled data sets: real city metadata, and (simulated) demo data, each with provenance.

Every loader returns a fresh pandas object on each call; the module that defines it
documents its source, date, variables and what is approximate or simulated.
"""

from dtistat.datasets.cities import load_cities
from dtistat.datasets.demo import DemoWorld, load_demo

__all__ = [
    "DemoWorld",
    "load_cities",
    "load_demo",
]
