"""Sections of the demo report, one module per topic."""
