"""The public survey (the report's PART 4): raking, weighted crosstabs, ordered logit.

Run: ``python examples/survey_analysis.py``. The 5,796 respondents are simulated.
"""

from dtistat import crosstab, fit_ordered, proportions, rake
from dtistat.datasets import load_demo

world = load_demo()
weights = rake(world.survey, world.survey_margins)
print(weights.attrs["rake"])
sv = world.survey.assign(w=weights.to_numpy())

print(crosstab(sv, "employer_size", "organized_training", weights="w"))
tools = [c for c in sv.columns if c.startswith("tool_")]
print(proportions(sv, tools, by="city_tier", weights="w"))
print(fit_ordered(sv, "ai_attitude ~ C(age_band) + C(education) + tool_ai_assistant"
                  " + organized_training", weights="w"))
