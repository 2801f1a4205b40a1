"""Survey analysis: raking weights, design-based crosstabs and tests, proportions, ordered models.

PART 4 of the report weights an online panel to population margins and compares
groups (industry, city tier, employer size, age). This module gives the four steps:

* :func:`rake` — iterative proportional fitting of respondent weights to marginal
  totals, with optional trimming, a convergence report and the Kish design effect.
* :func:`crosstab` — weighted counts and row/column percentages with the Rao–Scott
  corrected χ² (first and second order, as R ``survey::svychisq``), the unweighted
  Pearson χ² with Cramér's V, and a linear-by-linear trend test for ordered
  categories; multi-select questions (one 0/1 column per option, or a delimited
  string) are tabulated option by option.
* :func:`proportions` — weighted shares by group with Wilson, logit or Korn–Graubard
  intervals on the Kish effective sample size.
* :func:`fit_ordered` — weighted ordered logit/probit (the ``OrderedModel`` likelihood
  of statsmodels) with robust (sandwich) standard errors, odds ratios and average
  marginal effects on the probability of every answer category.

Design assumed for the design-based variances: a single-stage with-replacement sample
with unequal weights (every respondent its own primary sampling unit), or, with
``cluster=``, a single-stage cluster sample (clusters as PSUs, no strata, no finite
population correction). This is ``svydesign(id = ~1, weights = ~w)`` (or
``id = ~cluster``) in R's survey package.
"""

from dtistat.survey._common import effective_n, kish_deff
from dtistat.survey.crosstab import CrosstabResult, crosstab
from dtistat.survey.ordered import OrderedResult, fit_ordered
from dtistat.survey.proportions import proportions
from dtistat.survey.rake import RakeReport, rake

__all__ = [
    "CrosstabResult",
    "OrderedResult",
    "RakeReport",
    "crosstab",
    "effective_n",
    "fit_ordered",
    "kish_deff",
    "proportions",
    "rake",
]
