"""Instrumental variables: 2SLS / LIML / GMM with absorbed fixed effects, and diagnostics."""

from dtistat.iv.fit import fit_iv
from dtistat.iv.results import FirstStageResult, IVDiagnostics, IVResult
from dtistat.iv.shift_share import shift_share
from dtistat.iv.stock_yogo import stock_yogo

__all__ = ["FirstStageResult", "IVDiagnostics", "IVResult", "fit_iv", "shift_share",
           "stock_yogo"]
