"""The one inference core: covariance estimators, small-sample presets, reference distributions.

Every estimator of dtistat (panel, mediation, drivers, ordered models, IV, threshold ...)
computes its standard errors through :func:`sandwich`, so a covariance option and a
``small_sample`` preset mean the same thing everywhere. See :mod:`dtistat.inference.covariance`
for the conventions table.
"""

from dtistat.inference.covariance import (
    COV_TYPES,
    SMALL_SAMPLE,
    CovEstimate,
    check_cov,
    check_small_sample,
    critical_value,
    dk_default_lags,
    sandwich,
)

__all__ = [
    "COV_TYPES",
    "SMALL_SAMPLE",
    "CovEstimate",
    "check_cov",
    "check_small_sample",
    "critical_value",
    "dk_default_lags",
    "sandwich",
]
