"""Metric families: each module has a pure functional core and a thin mergeable state class."""
