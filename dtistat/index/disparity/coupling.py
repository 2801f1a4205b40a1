"""Coupling coordination degree between two or more subsystem indices, with its classes.

For subsystem scores ``U_1..U_n`` in [0, 1] and weights ``alpha_i`` (sum 1):

* ``form="standard"`` -- the coupling degree written with the correct exponent,
  ``C = n (prod_i U_i)^(1/n) / sum_i U_i`` (geometric over arithmetic mean, in [0, 1];
  the frequent ``C = [prod U_i / (sum U_i / n)^n]^(1/n)`` is the same quantity);
* ``form="wang"`` -- the corrected model of Wang Shujia, Kong Wei & Ren Lang et al.
  (2021, 自然资源学报 36(3):793-810), which spreads C over [0, 1]:
  ``C = sqrt{[1 - sum_{i>j} |U_i - U_j| / sum_{m=1}^{n-1} m] *
  [prod_i (U_i / max_i U_i)]^(1/(n-1))}``;
* comprehensive development ``T = sum_i alpha_i U_i`` and coordination ``D = sqrt(C T)``.

Coordination classes are the usual ten equal bands of D (0-0.1 极度失调 ... 0.9-1
优质协调). Scores must lie in [0, 1] (zeros accepted; a row of all zeros is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import Result, Summary
from dtistat.errors import DataError, ParameterError

__all__ = ["CLASSES", "CouplingResult", "coordination_class", "coupling_coordination"]

#: (lower bound of D, Chinese label, English label) of the ten coordination classes.
CLASSES = [
    (0.0, "极度失调", "extreme imbalance"), (0.1, "严重失调", "serious imbalance"),
    (0.2, "中度失调", "moderate imbalance"), (0.3, "轻度失调", "mild imbalance"),
    (0.4, "濒临失调", "on the verge of imbalance"), (0.5, "勉强协调", "barely coordinated"),
    (0.6, "初级协调", "primary coordination"), (0.7, "中级协调", "intermediate coordination"),
    (0.8, "良好协调", "good coordination"), (0.9, "优质协调", "high-quality coordination"),
]


def coordination_class(D: Any, language: str = "zh") -> np.ndarray:
    """Label of the coordination band of each ``D`` (``language`` "zh" or "en").

    Examples
    --------
    >>> coordination_class([0.05, 0.325, 0.95]).tolist()
    ['极度失调', '轻度失调', '优质协调']
    """
    v.check_choice(language, ("zh", "en"), "language")
    D = np.asarray(D, dtype=float)
    idx = np.clip(np.searchsorted([c[0] for c in CLASSES], D, side="right") - 1, 0, 9)
    col = 1 if language == "zh" else 2
    return np.array([c[col] for c in CLASSES], dtype=object)[idx]


def _standard(U: np.ndarray) -> np.ndarray:
    n = U.shape[1]
    with np.errstate(divide="ignore"):
        geo = np.exp(np.log(U).mean(axis=1))
    return n * geo / U.sum(axis=1)


def _wang(U: np.ndarray) -> np.ndarray:
    n = U.shape[1]
    i, j = np.triu_indices(n, 1)
    spread = np.abs(U[:, i] - U[:, j]).sum(axis=1) / (n * (n - 1) / 2)
    ratio = np.prod(U / U.max(axis=1, keepdims=True), axis=1) ** (1.0 / (n - 1))
    return np.sqrt((1 - spread) * ratio)


@dataclass(frozen=True, eq=False, repr=False)
class CouplingResult(Result):
    """Coupling (C), development (T) and coordination (D) degrees with their class.

    ``table`` has the keys, the subsystem scores, ``C``, ``T``, ``D`` and ``class``
    (Chinese) / ``class_en`` per row.
    """

    table: pd.DataFrame
    subsystems: tuple
    weights: pd.Series
    form: str
    _kind = "CouplingCoordination"

    def _headline(self) -> list[str]:
        return [f"{' x '.join(map(str, self.subsystems))}", f"form={self.form}",
                f"rows={len(self.table)}", f"mean D={self.table['D'].mean():.4f}"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        counts = self.table["class"].value_counts().rename("rows").to_frame()
        desc = self.table[["C", "T", "D"]].describe().T
        return Summary(f"Coupling coordination ({self.form} form)",
                       {"C, T, D": desc, "Coordination classes": counts},
                       header=[("Subsystems", ", ".join(map(str, self.subsystems))),
                               ("Weights", ", ".join(f"{x:.3g}" for x in self.weights))])


def coupling_coordination(data: Any, subsystems: Any, *, weights: Any = None,
                          form: str = "standard", entity: str | None = None,
                          time: str | None = None) -> CouplingResult:
    """Coupling coordination degree of two or more subsystem indices.

    Parameters
    ----------
    data : IndexResult or DataFrame
        With an ``IndexResult``, ``subsystems`` name its nodes (e.g. the infrastructure
        and application layers); with a frame, its columns.
    subsystems : list of str
        At least two subsystems, scores in [0, 1].
    weights : sequence or mapping of float, optional
        The ``alpha_i`` of ``T`` (summing to 1); default equal.
    form : {"standard", "wang"}
        The standard coupling degree or the corrected form of Wang et al. (2021).
    entity, time : str, optional
        Key columns of a frame, carried into the table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"u1": [0.0162], "u2": [0.2720], "u3": [0.2655]})
    >>> r = coupling_coordination(df, ["u1", "u2", "u3"])
    >>> r.table[["C", "T", "D"]].round(3).values.tolist()
    [[0.571, 0.185, 0.325]]
    >>> r.table["class"].tolist()
    ['轻度失调']
    """
    from dtistat.index.compute import IndexResult

    v.check_choice(form, ("standard", "wang"), "form")
    subs = v.as_list(subsystems, "subsystems")
    if len(subs) < 2:
        raise ParameterError(f"subsystems must name at least two indices; got {subs}")
    if isinstance(data, IndexResult):
        frame = pd.concat([data.node(s).rename(s) for s in subs], axis=1).reset_index()
        keys = [data.entity, *data.by, data.time]
    else:
        frame = v.check_frame(data)
        keys = [k for k in (entity, time) if k is not None]
        v.check_columns(frame, [*keys, *subs])
    v.check_numeric(frame, subs)
    v.check_no_nan(frame, subs, keys=keys or None)
    U = frame[subs].to_numpy(dtype=float)
    bad = (U < 0) | (U > 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"coupling coordination needs scores in [0, 1]; subsystem {subs[c]!r} "
                        f"holds {U[r, c]!r} in row {r} (normalize it first, e.g. min-max)")
    zero = U.sum(axis=1) == 0
    if zero.any():
        raise DataError(f"row {int(np.flatnonzero(zero)[0])} has every subsystem at 0: "
                        "the coupling degree is undefined")
    w = _weights(weights, subs)
    C = _standard(U) if form == "standard" else _wang(U)
    T = U @ w.to_numpy()
    D = np.sqrt(C * T)
    out = frame[keys + subs].copy()
    out["C"], out["T"], out["D"] = C, T, D
    out["class"] = coordination_class(D, "zh")
    out["class_en"] = coordination_class(D, "en")
    return CouplingResult(table=out, subsystems=tuple(subs), weights=w, form=form)


def _weights(weights: Any, subs: list) -> pd.Series:
    if weights is None:
        return pd.Series(1.0 / len(subs), index=subs)
    if isinstance(weights, dict | pd.Series):
        miss = [s for s in subs if s not in weights]
        if miss:
            raise ParameterError(f"weights has no entry for subsystem {miss[0]!r}")
        w = pd.Series([float(weights[s]) for s in subs], index=subs)
    else:
        arr = np.asarray(weights, dtype=float).ravel()
        if arr.size != len(subs):
            raise ParameterError(f"weights needs one value per subsystem ({len(subs)}); "
                                 f"got {arr.size}")
        w = pd.Series(arr, index=subs)
    if (w < 0).any() or not np.isclose(w.sum(), 1.0, atol=1e-9):
        raise ParameterError(f"weights must be non-negative and sum to 1; got {w.tolist()}")
    return w
