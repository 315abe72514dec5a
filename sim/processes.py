"""Child processes that end when the process that started them ends.

A worker process (a pool's, a plot drawn beside the report, the web app's
server) keeps running if its parent is killed outright (``kill -9``, an
out-of-memory kill), because nothing tells it. :func:`end_with_parent` starts a
small watch in the child that ends it within half a second of its parent's death,
on every operating system (it checks the parent's process id, which changes when a
process loses its parent).

A worker that a fork server started on the parent's behalf (``forkserver``,
Python 3.14's default on Linux) is the server's child, not the parent's: it
watches instead the pipe that ``multiprocessing`` keeps open from the parent
to each such child, which closes when the parent ends.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

#: How often a child checks that its parent is alive, in seconds.
CHECK_SECONDS = 0.5

_watching = False


def end_with_parent(parent_pid: int | None = None) -> None:
    """End this process (exit status 1) as soon as the process ``parent_pid`` ends.

    ``parent_pid``: the process that started this one, or had a fork server start
    it (default: the current parent).
    Starts one watch per process, however often called.
    """
    global _watching
    if _watching:
        return
    _watching = True
    parent = parent_pid if parent_pid is not None else os.getppid()
    started_for = multiprocessing.parent_process()  # (None unless multiprocessing started it)
    if os.getppid() != parent and started_for is not None and started_for.pid == parent:
        # A fork server's child, started on the parent's behalf (or the parent ended
        # before this watch began): the pipe multiprocessing keeps from the parent to
        # this process closes when the parent ends.
        def watch() -> None:
            wait([started_for.sentinel])
            os._exit(1)
    else:
        def watch() -> None:
            while True:
                if os.getppid() != parent:
                    os._exit(1)
                time.sleep(CHECK_SECONDS)

    threading.Thread(target=watch, name="gpsim-end-with-parent", daemon=True).start()


def usable_cores() -> int:
    """The cores this process may run on: every default number of workers.

    On Linux that is its CPU affinity (``taskset``, a container's or a batch
    job's cpuset), which can be far fewer than the machine's cores; a default of
    every core there started one worker per core of the whole machine, each
    competing for the few it may use. Elsewhere, every core (``os.cpu_count``).
    """
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):   # no affinity on this system
        return os.cpu_count() or 1


def can_fork(platform: str = sys.platform, threads: int | None = None) -> bool:
    """Whether this process may fork a child that goes on running Python: Linux, one thread.

    ``threads``: how many Python threads run (default: as now). Not beside other
    Python threads (the web app's server, a pool's own threads), since forking a
    process with threads can leave the child waiting on a lock no thread will
    free; not on macOS, where Python has spawned processes since 3.8 because the
    system's libraries may start threads and a forked child can crash; Windows
    has no fork. (The idle threads that numpy's OpenBLAS and pyarrow's allocator
    start as they load prepare themselves for a fork; Python 3.12 and later still
    warn of them, a warning hidden unless asked for.)
    """
    threads = threading.active_count() if threads is None else threads
    return platform.startswith("linux") and threads == 1


def worker_context(platform: str = sys.platform, threads: int | None = None,
                   interactive: bool | None = None) -> Any:
    """The ``multiprocessing`` context a pool of workers starts in: forked, where that is safe.

    Where :func:`can_fork`: ``fork``, Python's default on Linux until 3.13, so
    that the workers share what this process has loaded (the project's modules,
    pandas, numba) instead of each loading it again; a fork server (3.14's
    default) made BNSSG on two workers about 15% slower. On Linux beside other
    Python threads (the web app's server): a fork server, whatever Python's
    default, since forking this process could leave a worker waiting on a lock
    that one of those threads held (Python up to 3.13 would fork). The server
    is started afresh, not forked, once per process; it loads the model's
    modules (:data:`SERVER_LOADS`) before forking workers, so that they share
    them. Except in an interactive session (a notebook, ``python -c``: see
    :func:`is_interactive`): a worker started afresh could not find what was
    defined there (a policy class written in a cell, say), so there they are
    forked, as Python on Linux always has. Elsewhere ``None``: Python's default
    (spawn on macOS and Windows). The results are the same either way.
    ``platform`` and ``threads`` as :func:`can_fork`'s; ``interactive`` as
    :func:`is_interactive` (default: as now).
    """
    if not platform.startswith("linux"):
        return None
    if can_fork(platform, threads) or (is_interactive() if interactive is None
                                       else interactive):
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(SERVER_LOADS))  # (once the server runs, no effect)
    return context


def is_interactive() -> bool:
    """Whether this process's main code has no module a worker could import again.

    True in a notebook, an interactive session, ``python -c`` or a program read
    from standard input; False for a script or ``python -m`` (the web app's
    server included). A worker that ``multiprocessing`` starts afresh imports
    the main module to find what the main code defined; without one, only a
    forked worker has it.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return (getattr(getattr(main, "__spec__", None), "name", None) is None
            and not (path and os.path.isfile(path)))  # (python reading stdin: "<stdin>")


class UnguardedMain(RuntimeError):
    """Workers started afresh would run the main script's calls to gpsim again."""


def main_run_again() -> str | None:
    """The main script's path, if a worker started afresh would run this call again; else None.

    A worker that ``multiprocessing`` starts afresh (spawned, or from a fork
    server) imports the main script or ``python -m`` module again, as it was
    started, to find what it defines, running its top level once more (a
    package's ``__main__`` excepted). So a call to gpsim there, outside ``if
    __name__ == "__main__":``, runs again in each worker: the workers do the
    work again beside this process, or fail without saying why. That is so
    when the script has no such block at all, or when this call comes from its
    top level outside one. None where no worker would import it: a notebook or
    ``python -c`` (:func:`is_interactive`), a package's ``__main__``, and a
    main module that Python did not load from its file (Streamlit's pages,
    written to be run again, run as one it makes up); and where its source
    cannot be read.
    """
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    path = getattr(main, "__file__", None)
    if (is_interactive() or not path or getattr(main, "__loader__", None) is None
            or (name is not None and name.rpartition(".")[2] == "__main__")):
        return None
    try:
        tree = ast.parse(Path(path).read_bytes(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    blocks = [(node.lineno, node.end_lineno) for node in tree.body
              if isinstance(node, ast.If) and _is_main_test(node.test)]
    if not blocks:
        return path
    frame = sys._getframe(1)
    while frame is not None:  # the script's own top level, if this call comes from it
        if frame.f_code.co_name == "<module>" and frame.f_globals is vars(main):
            return None if any(a <= frame.f_lineno <= b for a, b in blocks) else path
        frame = frame.f_back
    return None


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = {ast.dump(test.left), ast.dump(test.comparators[0])}
    return sides == {ast.dump(ast.Name("__name__", ast.Load())),
                     ast.dump(ast.Constant("__main__"))}


def refuse_to_run_main_again(context: Any, platform: str = sys.platform) -> None:
    """Raise :class:`UnguardedMain` if workers started in ``context`` would run this call again.

    ``context``: the pool's ``multiprocessing`` context (None: Python's default).
    Forked workers do not import the main script, so they are always let be.
    ``platform``: as :func:`can_fork`'s (it words the message).
    """
    method = (context or multiprocessing.get_context()).get_start_method()
    path = None if method == "fork" else main_run_again()
    if path is None:
        return
    why = ("another thread runs in this process, so they come from a fork server"
           if method == "forkserver" and platform.startswith("linux")
           else f"Python starts them afresh on this system: {method}")
    raise UnguardedMain(
        f"{path} calls gpsim outside 'if __name__ == \"__main__\":'. Its workers are not "
        f"forked here ({why}): each imports the script again, and would run those calls "
        "again. Put the script's calls under 'if __name__ == \"__main__\":' "
        "(docs/usage.md, \"From Python\"), or ask for one worker (workers=1).")


#: What a fork server loads before it forks workers (an import that fails is
#: skipped): the main module, as Python's own default, and the model's run. (Before
#: CPython's fix for gh-126631, in 3.14 and in 3.13's later releases, the server was
#: never told the main script's path: it skips the first, and each worker imports the
#: main script itself.)
SERVER_LOADS = ("__main__", "sim.runs.single")


def forked_child_starts() -> None:
    """In a child made by ``fork``: forget the parent's watch (threads do not survive fork)."""
    global _watching
    _watching = False


os.register_at_fork(after_in_child=forked_child_starts)
