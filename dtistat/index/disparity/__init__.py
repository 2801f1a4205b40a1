"""Regional disparity and dynamics of an index: Dagum Gini, Theil, Markov chains, convergence."""

from dtistat.index.disparity.gini import DagumResult, dagum_gini

__all__ = ["DagumResult", "dagum_gini"]
