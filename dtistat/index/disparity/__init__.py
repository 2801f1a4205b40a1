"""Regional disparity and dynamics of an index: Dagum Gini, Theil, Markov chains, convergence."""

from dtistat.index.disparity.convergence import (
    BetaResult,
    SigmaResult,
    beta_convergence,
    sigma_convergence,
)
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

__all__ = [
    "BetaResult",
    "DagumResult",
    "HomogeneityResult",
    "MarkovResult",
    "SigmaResult",
    "SpatialMarkovResult",
    "TheilResult",
    "beta_convergence",
    "dagum_gini",
    "homogeneity",
    "markov",
    "sigma_convergence",
    "spatial_markov",
    "theil",
]
