"""Benchmarks that print ratios (``python -m bench``); speed targets live here, not in tests."""
