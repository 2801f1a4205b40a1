"""Regional disparity and dynamics of an index: Dagum Gini, Theil, Markov chains, convergence."""

from dtistat.index.disparity.gini import DagumResult, dagum_gini
from dtistat.index.disparity.theil import TheilResult, theil

__all__ = ["DagumResult", "TheilResult", "dagum_gini", "theil"]
