"""Evaluation: pure metric functions, plots, the HTML report, and `lmforge evaluate`."""
