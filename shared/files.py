"""Files the processes of one machine share: created once, whoever comes first."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_once(path: Path, content: bytes) -> None:
    """Write `path` (mode 0600) unless it exists, atomically: of processes racing to create it, the
    first one's content stays and every process reads the same."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.write(fd, content)
        os.close(fd)
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic create-if-absent
    finally:
        os.unlink(tmp)
