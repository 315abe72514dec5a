"""Tasks for the executor tests (importable by worker processes)."""

import time
from pathlib import Path


def mark_then_wait(task):
    folder, i = task
    (Path(folder) / f"started-{i}").touch()
    time.sleep(0.4)
    return i


def worker_pid(task):
    """The process that ran the task (after a moment, so that every worker gets some)."""
    import os

    time.sleep(0.05)
    return os.getpid()


def die_on(task):
    """Ends its worker outright (as an out-of-memory kill would) for the task 'die'."""
    import os

    if task == "die":
        os._exit(1)
    return task
