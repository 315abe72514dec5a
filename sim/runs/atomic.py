"""Writing results so that a failed or interrupted run never leaves a half-written file.

Files are written into a hidden staging folder inside the destination and
moved into place one by one with ``os.replace`` (atomic on one file system)
only after every file has been written. If anything fails first, the
destination is untouched. Staging folders left by a killed process are
removed the next time the same destination is written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

STAGING_PREFIX = ".staging-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_staging(dest: Path) -> None:
    """Remove staging folders in ``dest`` whose writing process has died."""
    if not dest.is_dir():
        return
    for p in dest.glob(STAGING_PREFIX + "*"):
        try:
            pid = int(p.name[len(STAGING_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            _, sep, sub = p.name.partition("-old-")
            if sep and not (dest / sub).exists():
                os.replace(p, dest / sub)  # interrupted mid-swap: put the old folder back
            else:
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Yield a staging folder; on success move its files and folders into ``dest``.

    Files are moved in sorted order except ``metadata.json``, which goes
    last: a folder whose metadata lists a file's hash is complete. A folder
    replaces the one of the same name (the old one is renamed aside first and
    removed after, so an interruption leaves one of the two in place).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(dest)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=dest))
    try:
        yield staging
        for sub in sorted(p.name for p in staging.iterdir() if p.is_dir()):
            target = dest / sub
            old = None
            if target.exists():
                old = dest / f"{STAGING_PREFIX}{os.getpid()}-old-{sub}"
                os.replace(target, old)
            os.replace(staging / sub, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        names = sorted(p.name for p in staging.iterdir() if p.is_file())
        names.sort(key=lambda n: n == "metadata.json")
        for name in names:
            os.replace(staging / name, dest / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
