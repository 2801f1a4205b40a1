"""Exact detection of (quasi-)complete separation in binary and ordered models.

Albert & Anderson (1984): the maximum-likelihood estimate of a logit/probit (binary or
ordered) does not exist iff some non-zero ``b`` and ordered cuts ``c`` place every row
weakly inside the interval of its answer, ``c[y-1] <= x'b <= c[y]``, with slack
somewhere. Konis (2007)'s linear program (R ``detectseparation``) decides it exactly:
maximize the total slack within a box.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["find_separation"]


def find_separation(X: np.ndarray, y: np.ndarray, n_levels: int
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(b, rows)`` of a separating direction and the rows strictly on their side of
    it (with slack), or None when the maximum-likelihood estimate exists.

    Parameters
    ----------
    X : ndarray (n, k)
        Regressors without the constant (the cuts play the intercept).
    y : integer ndarray (n,)
        Answers coded 0 .. n_levels - 1.
    n_levels : int
        Number of answers (2 for a binary model).

    Examples
    --------
    >>> x = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> b, rows = find_separation(x, np.array([0, 0, 1, 1]), 2)
    >>> bool(b[0] > 0), len(rows) > 0
    (True, True)
    >>> find_separation(x, np.array([0, 1, 0, 1]), 2) is None
    True
    """
    n, k = X.shape
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    K = int(n_levels)
    up, lo = y < K - 1, y > 0  # rows bounded above by c[y] / below by c[y-1]
    E = np.eye(K - 1)
    A = np.vstack([np.hstack([Z[up], -E[y[up]]]), np.hstack([-Z[lo], E[y[lo] - 1]]),
                   np.hstack([np.zeros((K - 2, k)), E[:-1] - E[1:]])])
    slack_of = -A[: up.sum() + lo.sum()]  # slack = -(row of A) @ (b, c) >= 0
    res = optimize.linprog(-slack_of.sum(axis=0), A_ub=A, b_ub=np.zeros(A.shape[0]),
                           bounds=[(-1.0, 1.0)] * (k + K - 1), method="highs")
    if res.status != 0 or -res.fun <= 1e-7 * n:
        return None
    slack = slack_of @ res.x
    rows = np.concatenate([np.flatnonzero(up), np.flatnonzero(lo)])[slack > 1e-7]
    return res.x[:k], np.unique(rows)
