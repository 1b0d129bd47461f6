"""What ``latest`` holds, hashed: to show a failure left the last good model and report alone."""

import hashlib
from pathlib import Path


def snapshot(latest: Path) -> dict[str, str]:
    """Where ``latest`` points and the hash of every file under it."""
    files = {
        str(p.relative_to(latest)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(latest.rglob("*"))
        if p.is_file()
    }
    return {"target": str(latest.resolve()), **files}
