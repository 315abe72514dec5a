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


class Prepare:
    """A worker's ``prepare``: marks ``folder/prepared-<pid>``; with ``fail``, then raises."""

    def __init__(self, folder, fail: bool = False):
        self.folder, self.fail = folder, fail

    def __call__(self):
        import os

        (Path(self.folder) / f"prepared-{os.getpid()}").touch()
        if self.fail:
            raise RuntimeError("prepare failed")


def was_prepared(task):
    """The process that ran the task, and whether it had been prepared before the task."""
    import os

    time.sleep(0.05)
    return os.getpid(), (Path(task) / f"prepared-{os.getpid()}").exists()


def square_unless_three(task):
    """``task`` squared; 3 raises."""
    if task == 3:
        raise ValueError("three")
    return task * task


def worker_parent(task):
    """The process that started the worker that ran the task."""
    import os

    time.sleep(0.05)
    return os.getppid()


def loaded(module: str) -> bool:
    """Whether the worker that runs the task has imported ``module``."""
    import sys

    return module in sys.modules


def pid_once_all_took_one(task):
    """This worker's process id, once each of ``workers`` workers has taken one of the tasks.

    ``task``: (folder, workers), the same for every task of a call. Each task marks
    the folder with its worker and waits (up to a minute) for marks from
    ``workers`` processes, so every worker takes a task however slowly it started:
    a worker started afresh may take a second to start, time enough for another to
    run every quick task alone.
    """
    import os

    folder, workers = task
    me = os.getpid()
    (Path(folder) / str(me)).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(folder).iterdir())) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    return me
