"""Models and reports on disk: one directory per run, and ``latest`` promoted atomically."""
