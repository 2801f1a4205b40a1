"""Spatial econometrics of panels: weights, exploratory statistics, SAR/SEM/SDM, effects, tests.

Modules: :mod:`~dtistat.spatial.weights` (weight matrices), :mod:`~dtistat.spatial.explore`
(Moran's I, Geary's C, LISA, Gi*), :mod:`~dtistat.spatial.models` (ML panel models),
:mod:`~dtistat.spatial.effects` (LeSage-Pace effects), :mod:`~dtistat.spatial.tests`
(LM, LR, Wald, model selection), :mod:`~dtistat.spatial.sac` (SAC),
:mod:`~dtistat.spatial.random` (random effects, spatial Hausman). libpysal is needed
only to convert weights (``pip install dtistat[spatial]``).
"""

from dtistat.spatial.effects import EffectsResult, spatial_effects
from dtistat.spatial.explore import (
    LocalResult,
    MoranResult,
    geary,
    getis_ord,
    local_moran,
    moran,
)
from dtistat.spatial.models import SpatialPanelResult, fit_spatial
from dtistat.spatial.random import spatial_hausman
from dtistat.spatial.tests import (
    ModelSelection,
    common_factor_test,
    lr_test,
    spatial_model_selection,
)
from dtistat.spatial.tests import lm_tests as spatial_lm_tests
from dtistat.spatial.weights import (
    SpatialWeights,
    as_weights,
    distance_weights,
    economic_weights,
    from_libpysal,
    great_circle,
    knn_weights,
    nested_weights,
)

__all__ = [
    "EffectsResult",
    "LocalResult",
    "ModelSelection",
    "MoranResult",
    "SpatialPanelResult",
    "SpatialWeights",
    "as_weights",
    "common_factor_test",
    "distance_weights",
    "economic_weights",
    "fit_spatial",
    "from_libpysal",
    "geary",
    "getis_ord",
    "great_circle",
    "knn_weights",
    "local_moran",
    "lr_test",
    "moran",
    "nested_weights",
    "spatial_effects",
    "spatial_hausman",
    "spatial_lm_tests",
    "spatial_model_selection",
]
