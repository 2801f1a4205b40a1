"""Regional disparity and dynamics of an index: Dagum Gini, Theil, Markov chains, convergence."""

from dtistat.index.disparity.gini import DagumResult, dagum_gini
from dtistat.index.disparity.markov import (
    HomogeneityResult,
    MarkovResult,
    SpatialMarkovResult,
    homogeneity,
    markov,
    spatial_markov,
)
from dtistat.index.disparity.theil import TheilResult, theil

__all__ = ["DagumResult", "HomogeneityResult", "MarkovResult", "SpatialMarkovResult",
           "TheilResult", "dagum_gini", "homogeneity", "markov", "spatial_markov", "theil"]
