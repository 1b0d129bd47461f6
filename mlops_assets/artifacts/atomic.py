"""Writes that leave either the old file or the new one, never half of either."""

import os
import threading
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Have ``write`` produce a sibling temporary file, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique per writer, so two processes writing one path never share a partial file; the
    # suffix is kept because some writers (Keras) choose the format by it.
    tag = f"{os.getpid()}.{threading.get_ident()}"
    partial = path.with_name(f".{path.stem}.{tag}.partial{path.suffix}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, lambda partial: partial.write_text(text, encoding="utf-8"))
