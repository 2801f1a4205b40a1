"""Aggregation up the indicator tree: arithmetic (weighted mean) or geometric.

Nodes are computed bottom-up; each internal node is the weighted mean of its
children's values. With ``missing="skip"`` the weights are renormalized over the
children present in each row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.errors import DataError, SpecError
from dtistat.spec import IndexSpec

__all__ = ["AGGREGATIONS", "aggregate"]

AGGREGATIONS = ("arithmetic", "geometric")


def aggregate(
    T: np.ndarray,
    spec: IndexSpec,
    *,
    method: str = "arithmetic",
    local: dict[str, float] | None = None,
    keys: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """Scores of every internal node from the normalized leaf matrix ``T`` (n × leaves).

    Returns a dict node name -> (n,) array, root included. NaN in ``T`` are skipped with
    weights renormalized over present siblings; a node with no present child is NaN.

    arithmetic: ``s = sum_k w_k t_k / sum_k w_k``; geometric: ``s = prod_k t_k^(w_k / sum w)``,
    which needs every present value > 0.
    """
    if method not in AGGREGATIONS:
        raise SpecError(f"aggregation={method!r}; choose one of {', '.join(AGGREGATIONS)}")
    lw = spec.local_weights() if local is None else local
    values: dict[str, np.ndarray] = {
        leaf.name: T[:, i] for i, leaf in enumerate(spec.leaves)
    }
    if method == "geometric":
        bad = T <= 0
        if bad.any():
            i, j = np.argwhere(bad)[0]
            where = (
                ", ".join(f"{k}={keys[k].iloc[i]!r}" for k in keys.columns)
                if keys is not None
                else f"row {i}"
            )
            raise DataError(
                f"geometric aggregation needs positive values; leaf "
                f"{spec.leaves[j].name!r} is {T[i, j]!r} at {where}"
            )
    any_nan = bool(np.isnan(T).any())
    for node in spec.internal:
        C = np.column_stack([values[c.name] for c in node.children])
        w = np.array([lw[c.name] for c in node.children])
        if not any_nan:
            s = np.exp(np.log(C) @ w) if method == "geometric" else C @ w
        else:
            present = ~np.isnan(C)
            den = present @ w
            Cz = np.where(present, np.log(np.where(present, C, 1.0)) if method == "geometric"
                          else C, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = (Cz @ w) / den
            if method == "geometric":
                s = np.exp(s)
            s[den == 0] = np.nan
        values[node.name] = s
    return {n.name: values[n.name] for n in spec.internal}
