"""Experiment tracking logic: where runs go, where they came from, what the server can do."""
