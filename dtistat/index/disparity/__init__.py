"""Regional disparity and dynamics of an index: Dagum Gini, Theil, Markov chains, convergence
(sigma, beta, log t and Phillips-Sul clubs)."""

from dtistat.index.disparity.clubs import ClubsResult, convergence_clubs
from dtistat.index.disparity.convergence import (
    BetaResult,
    SigmaResult,
    beta_convergence,
    sigma_convergence,
)
from dtistat.index.disparity.coupling import CouplingResult, coupling_coordination
from dtistat.index.disparity.density import DensityResult, kernel_density
from dtistat.index.disparity.gini import DagumResult, dagum_gini
from dtistat.index.disparity.logt import LogTResult, log_t_test
from dtistat.index.disparity.markov import (
    HomogeneityResult,
    MarkovResult,
    SpatialMarkovResult,
    homogeneity,
    markov,
    spatial_markov,
)
from dtistat.index.disparity.theil import TheilResult, theil
from dtistat.index.disparity.topsis import (
    ObstacleResult,
    TopsisResult,
    obstacle_degree,
    topsis,
)

__all__ = [
    "BetaResult",
    "ClubsResult",
    "CouplingResult",
    "DagumResult",
    "DensityResult",
    "HomogeneityResult",
    "LogTResult",
    "MarkovResult",
    "ObstacleResult",
    "SigmaResult",
    "SpatialMarkovResult",
    "TheilResult",
    "TopsisResult",
    "beta_convergence",
    "convergence_clubs",
    "coupling_coordination",
    "dagum_gini",
    "homogeneity",
    "kernel_density",
    "log_t_test",
    "markov",
    "obstacle_degree",
    "sigma_convergence",
    "spatial_markov",
    "theil",
    "topsis",
]
