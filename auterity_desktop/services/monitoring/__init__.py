"""Watching the product at work: resources and metrics over time, alerts, model drift."""
