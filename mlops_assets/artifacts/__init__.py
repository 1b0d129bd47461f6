"""Models and reports on disk: one directory per run, and ``latest`` pointed at one atomically."""
