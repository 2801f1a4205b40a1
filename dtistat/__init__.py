"""dtistat: the digital transformation index toolkit."""

# difference in differences
from dtistat.did import (
    BaconResult,
    CSResult,
    EventStudyResult,
    PlaceboResult,
    TWFEResult,
    bacon_decomposition,
    event_study_plot,
    first_treated,
    fit_did,
    placebo_reassign,
    placebo_timing,
    psm_did,
)
from dtistat.drivers import DriversResult, fit_drivers
from dtistat.errors import (
    ColumnError,
    ConvergenceError,
    DataError,
    DtiStatError,
    DtiStatWarning,
    EstimationError,
    ParameterError,
    PeriodError,
    SpecError,
)
from dtistat.factors import (
    BartlettResult,
    CFAResult,
    EFAResult,
    KMOResult,
    ParallelAnalysisResult,
    bartlett_sphericity,
    fit_cfa,
    fit_efa,
    kmo,
    parallel_analysis,
)
from dtistat.future import FutureIndexResult, future_industry_index, future_spec
from dtistat.index import weights
from dtistat.index.compute import IndexResult, compute_index
from dtistat.index.disparity import (  # disparity
    ClubsResult,
    beta_convergence,
    convergence_clubs,
    coupling_coordination,
    dagum_gini,
    kernel_density,
    log_t_test,
    markov,
    obstacle_degree,
    sigma_convergence,
    spatial_markov,
    theil,
    topsis,
)
from dtistat.index.sensitivity import (
    SensitivityResult,
    SobolResult,
    sobol_indices,
    sobol_weights,
    weight_sensitivity,
)
from dtistat.invariance import InvarianceResult, MultiGroupCFAResult, invariance_test
from dtistat.io import read_data

# iv
from dtistat.iv import FirstStageResult, IVDiagnostics, IVResult, fit_iv, shift_share, stock_yogo
from dtistat.mediation import (
    MediationProcedure,
    MediationResult,
    MediationSensitivity,
    fit_mediation,
)
from dtistat.modmed import ModeratedMediationResult, fit_moderated_mediation
from dtistat.panel import FTest, HausmanResult, PanelResult, fit_panel, hausman

# spatial
from dtistat.spatial import (
    EffectsResult,
    LocalResult,
    ModelSelection,
    MoranResult,
    SpatialPanelResult,
    SpatialWeights,
    distance_weights,
    economic_weights,
    fit_spatial,
    geary,
    getis_ord,
    knn_weights,
    local_moran,
    moran,
    nested_weights,
    spatial_effects,
    spatial_hausman,
    spatial_lm_tests,
    spatial_model_selection,
)
from dtistat.spec import IndexSpec, Node
from dtistat.survey import (
    CrosstabResult,
    OrderedResult,
    RakeReport,
    crosstab,
    effective_n,
    fit_ordered,
    kish_deff,
    proportions,
    rake,
)
from dtistat.tables import (
    TableColumn,
    frame_table,
    index_table,
    mediation_table,
    regression_table,
)

# threshold
from dtistat.threshold import ThresholdResult, fit_threshold

# heterogeneity
# isort: split
from dtistat.heterogeneity import CompareGroupsResult, compare_groups
from dtistat.moderation import MarginalEffectsResult, marginal_effects, marginal_effects_plot
from dtistat.preprocess import trim, winsorize

__version__ = "0.1.0"

__all__ = [
    # disparity
    "beta_convergence",
    "coupling_coordination",
    "dagum_gini",
    "kernel_density",
    "log_t_test",
    "convergence_clubs",
    "ClubsResult",
    "markov",
    "obstacle_degree",
    "sigma_convergence",
    "spatial_markov",
    "theil",
    "topsis",
    # threshold
    "ThresholdResult",
    "fit_threshold",
    # difference in differences
    "BaconResult",
    "CSResult",
    "EventStudyResult",
    "PlaceboResult",
    "TWFEResult",
    "bacon_decomposition",
    "event_study_plot",
    "first_treated",
    "fit_did",
    "placebo_reassign",
    "placebo_timing",
    "psm_did",
    # iv
    "FirstStageResult", "IVDiagnostics", "IVResult", "fit_iv", "shift_share", "stock_yogo",
    "MediationProcedure",
    "MediationResult",
    "MediationSensitivity",
    "TableColumn",
    "fit_mediation",
    "ModeratedMediationResult", "fit_moderated_mediation",
    "frame_table",
    "index_table",
    "mediation_table",
    "read_data",
    "regression_table",
    "FutureIndexResult",
    "future_industry_index",
    "future_spec",
    "SensitivityResult",
    "SobolResult",
    "sobol_indices",
    "sobol_weights",
    "weight_sensitivity",
    "FTest",
    "HausmanResult",
    "PanelResult",
    "fit_panel",
    "hausman",
    "CrosstabResult",
    "OrderedResult",
    "RakeReport",
    "crosstab",
    "effective_n",
    "fit_ordered",
    "kish_deff",
    "proportions",
    "rake",
    "BartlettResult",
    "CFAResult",
    "DriversResult",
    "EFAResult",
    "KMOResult",
    "ParallelAnalysisResult",
    "bartlett_sphericity",
    "fit_cfa",
    "InvarianceResult",
    "MultiGroupCFAResult",
    "invariance_test",
    "fit_drivers",
    "fit_efa",
    "kmo",
    "parallel_analysis",
    "IndexResult",
    "IndexSpec",
    "Node",
    "compute_index",
    "weights",
    "ColumnError",
    "ConvergenceError",
    "DataError",
    "DtiStatError",
    "DtiStatWarning",
    "EstimationError",
    "ParameterError",
    "PeriodError",
    "SpecError",
    # heterogeneity
    "CompareGroupsResult",
    "MarginalEffectsResult",
    "compare_groups",
    "marginal_effects",
    "marginal_effects_plot",
    "trim",
    "winsorize",
    # spatial
    "EffectsResult",
    "LocalResult",
    "ModelSelection",
    "MoranResult",
    "SpatialPanelResult",
    "SpatialWeights",
    "distance_weights",
    "economic_weights",
    "fit_spatial",
    "geary",
    "getis_ord",
    "knn_weights",
    "local_moran",
    "moran",
    "nested_weights",
    "spatial_effects",
    "spatial_hausman",
    "spatial_lm_tests",
    "spatial_model_selection",
]
