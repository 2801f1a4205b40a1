"""The index calculator: weights, normalization, aggregation, compute_index, analytics."""

from dtistat.index import weights
from dtistat.index.compute import IndexResult, compute_index

__all__ = ["IndexResult", "compute_index", "weights"]
