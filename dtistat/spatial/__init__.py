"""Spatial econometrics: weights, exploratory statistics, spatial panel models, effects, tests."""
