"""Child processes that end when the process that started them ends.

A worker process (a pool's, a plot drawn beside the report, the web app's
server) keeps running if its parent is killed outright (``kill -9``, an
out-of-memory kill), because nothing tells it. :func:`end_with_parent` starts a
small watch in the child that ends it within half a second of its parent's death,
on every operating system (it checks the parent's process id, which changes when a
process loses its parent).
"""

from __future__ import annotations

import os
import threading
import time

#: How often a child checks that its parent is alive, in seconds.
CHECK_SECONDS = 0.5

_watching = False


def end_with_parent(parent_pid: int | None = None) -> None:
    """End this process (exit status 1) as soon as ``parent_pid`` is no longer its parent.

    ``parent_pid``: the process that started this one (default: the current parent).
    Starts one watch per process, however often called.
    """
    global _watching
    if _watching:
        return
    _watching = True
    parent = parent_pid if parent_pid is not None else os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(CHECK_SECONDS)

    threading.Thread(target=watch, name="gpsim-end-with-parent", daemon=True).start()


def forked_child_starts() -> None:
    """In a child made by ``fork``: forget the parent's watch (threads do not survive fork)."""
    global _watching
    _watching = False


os.register_at_fork(after_in_child=forked_child_starts)
