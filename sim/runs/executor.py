"""The one run executor: every batch, sweep and network goes through :func:`execute`.

It runs a picklable function over a list of tasks in this process, in local
worker processes, or on a Dask cluster (given its scheduler's address), and
yields each task's index with its result as they complete (:func:`in_order`
puts such pairs back in order, as soon as each can be). With
``capture_errors`` a failing task yields a :class:`Failure` instead of
stopping the others. Whether a progress bar is shown is decided once, here
(:func:`show_progress`).

Each call starts its own worker processes, unless it runs inside
:func:`kept_workers`: a command that calls :func:`execute` many times (a
choice's search batches, selection rounds and robustness designs; a
comparison's ``--precision`` rounds) starts its workers once there, and each
worker loads the compiled engine once, on its first run, instead of once a
call.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from ..processes import end_with_parent, refuse_to_run_main_again, worker_context
from .cluster import ClusterError


@dataclasses.dataclass(frozen=True)
class Failure:
    """A task that raised (or whose worker died): its error in one line, and the traceback."""

    error: str
    detail: str = ""


def _worker_starts(parent_pid: int, prepare: Callable[[], Any] | None) -> None:
    """A worker's first step: end with its parent; then ``prepare()`` (see :func:`kept_workers`).

    A ``prepare`` that fails is let go: it only loads ahead what the worker's
    first task would load anyway, and that task then meets (and reports) the
    same problem.
    """
    end_with_parent(parent_pid)
    if prepare is not None:
        try:
            prepare()
        except Exception:  # the first task meets it again, and reports it
            pass


class _KeptPool:
    """Local worker processes kept for several :func:`execute` calls (see :func:`kept_workers`)."""

    def __init__(self, workers: int, prepare: Callable[[], Any] | None = None):
        self.workers = workers
        self.prepare = prepare
        self.pool: ProcessPoolExecutor | None = None
        self.is_broken = False
        self.frozen = False

    def get(self) -> ProcessPoolExecutor:
        """The pool, started on first use (and again if a worker died and broke it)."""
        if self.is_broken:
            self.close()
        if self.pool is None:
            if not self.frozen:
                # Forked workers: frozen, this process's objects are not swept by their
                # collectors, so they copy fewer of its memory pages (unfrozen on close).
                gc.freeze()
                self.frozen = True
            self.pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_worker_starts,
                                            initargs=(os.getpid(), self.prepare),
                                            mp_context=_pool_context())
        return self.pool

    def start(self) -> None:
        """Start every worker now (each runs ``prepare`` first), not on the first call."""
        pool = self.get()
        for _ in range(self.workers):  # forked workers all start on the first; others one each
            pool.submit(_nothing)

    def end_workers(self) -> None:
        """The workers end, once their runs are done; this process's objects stay frozen.

        (A collection of everything unfrozen costs a few hundredths of a second;
        the block's end pays it, and processes forked meanwhile copy less.)
        """
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def close(self) -> None:
        self.is_broken = False
        self.end_workers()
        if self.frozen:
            gc.unfreeze()
            self.frozen = False


#: The kept workers of this thread's :func:`kept_workers` block (the web app runs
#: each page's work in a thread of its own).
_local = threading.local()


def _kept() -> _KeptPool | None:
    return getattr(_local, "kept", None)


@contextmanager
def kept_workers(workers: int, prepare: Callable[[], Any] | None = None) -> Iterator[None]:
    """Inside this block, :func:`execute` calls on ``workers`` local processes share them.

    The processes start with the first such call and end with the block; the
    results are the same as with a pool per call (each task is whole in
    itself). Calls on another number of workers, on a Dask cluster, in this
    process or in another thread are not affected; blocks inside blocks use the
    outermost one's.

    ``prepare``: the processes start as the block opens instead, and each first
    calls ``prepare()`` (loading what its first task would: the compiled engine,
    say) while this process goes on with its own work (reading a network, say)
    on the other cores. What a task returns does not depend on it.
    """
    if _kept() is not None or workers <= 1:
        yield
        return
    _local.kept = kept = _KeptPool(workers, prepare)
    try:
        if prepare is not None:
            kept.start()
        yield
    finally:
        _local.kept = None
        kept.close()


def release_kept_workers() -> None:
    """End this thread's :func:`kept_workers` now, before their block does.

    For work after the runs that forks processes of its own (a network's tail):
    the pool's threads would otherwise run beside those forks. A later
    :func:`execute` call in the block starts new workers.
    """
    kept = _kept()
    if kept is not None:
        kept.end_workers()


class Ahead:
    """Tasks the kept workers run while this process goes on; results taken when ready.

    Made by :func:`ahead`. Nothing waits for them: :meth:`ready` gives the
    results finished since it was last called (and hands out more tasks), and
    :meth:`close` drops the tasks not yet handed out (one running finishes and
    its result is dropped). A task that fails is dropped: it only did ahead what
    the caller does anyway.
    """

    def __init__(self, pool: Any, tasks: Sequence[Any], fn: Callable[[Any], Any],
                 at_once: int):
        self._pool, self._fn, self._at_once = pool, fn, at_once
        self._waiting = list(reversed(tasks))  # popped from the end: in the tasks' order
        self._futures: list[Any] = []
        self._hand_out()

    def _hand_out(self) -> None:
        try:
            while self._waiting and len(self._futures) < self._at_once:
                self._futures.append(self._pool.submit(self._fn, self._waiting.pop()))
        except BrokenProcessPool:  # a worker died: the next execute() starts new ones
            self._waiting = []

    def ready(self) -> list[Any]:
        """The results of the tasks finished since the last call, failures left out."""
        done, pending = [], []
        for fut in self._futures:
            (done if fut.done() else pending).append(fut)
        self._futures = pending
        self._hand_out()
        return [fut.result() for fut in done if not fut.cancelled() and fut.exception() is None]

    def close(self) -> None:
        """Drop the tasks not yet handed out, and the results not yet taken."""
        self._waiting = []
        for fut in self._futures:
            fut.cancel()
        self._futures = []


def ahead(tasks: Sequence[Any], fn: Callable[[Any], Any]) -> Ahead:
    """Hand ``fn(task)`` for each task, in order, to this block's :func:`kept_workers`.

    For work this process would otherwise do itself while its workers wait (a
    network's practices' list files checked while it reads their scenarios).
    All workers but one take tasks, so that this process keeps a core (on two
    cores, one worker). Outside a block of kept workers, nothing is handed out
    and the :class:`Ahead` has no results.
    """
    kept = _kept()
    if kept is None or not tasks:
        return Ahead(None, [], fn, 0)
    return Ahead(kept.get(), tasks, fn, max(1, kept.workers - 1))


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw a progress bar: as asked, else only on a terminal outside CI."""
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


class _Guarded:
    """``fn(task)``, with an exception returned as a :class:`Failure` (picklable)."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, task: Any) -> Any:
        try:
            return self.fn(task)
        except Exception as e:  # reported to the caller, and the other tasks go on
            return Failure(f"{type(e).__name__}: {e}", traceback.format_exc())


def execute(
    tasks: Sequence[Any],
    fn: Callable[[Any], Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    capture_errors: bool = False,
    progress: bool | None = None,
    description: str = "runs",
    meanwhile: Callable[[], Any] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(task)`` for every task; yield ``(index of the task, result)`` as each completes.

    (:func:`in_order` puts them back in order.)

    Args:
        tasks: what to run; each is passed to ``fn`` (picklable, for workers).
        fn: a picklable callable (a module-level function or an instance of a
            module-level class).
        workers: local processes (1: in this process, in order).
        scheduler: address of a Dask scheduler (``tcp://host:8786``); the tasks
            go to its cluster instead of local processes.
        capture_errors: a task that raises, or whose worker dies, yields a
            :class:`Failure`; otherwise the error is raised here.
        progress: draw a progress bar (None: :func:`show_progress`).
        description: the progress bar's label.
        meanwhile: this process's own work while the others run: called once, here,
            when every task is with the workers or the cluster, before the first
            result is awaited (the runs go on meanwhile, and their results wait in
            the pipe). Not called when the tasks run in this process.
    """
    call = _Guarded(fn) if capture_errors else fn
    bar = _progress_bar(len(tasks), description) if show_progress(progress) and tasks else None
    try:
        for i, result in _completed(tasks, call, workers, scheduler, capture_errors,
                                    meanwhile or _nothing):
            if bar is not None:
                bar.update(1)
            yield i, result
    finally:
        if bar is not None:
            bar.close()


def _progress_bar(total: int, description: str) -> Any:
    """A progress bar on standard error that starts no thread.

    tqdm's bars start a monitor thread by default, which outlives them; beside
    it this process would no longer fork its workers or draw its figures aside
    (:func:`sim.processes.can_fork`), so a command would take another path on a
    terminal than elsewhere. The monitor only refreshes a bar that is not
    updated for a while; these are updated as each run ends.
    """
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar(total=total, desc=description, unit="run", file=sys.stderr)


def in_order(results: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """``(position, value)`` pairs arriving in any order, yielded by position (0, 1, ...).

    Each as soon as all before it have come; those that come early are held
    meanwhile.
    """
    held: dict[int, Any] = {}
    next_index = 0
    for i, value in results:
        held[i] = value
        while next_index in held:
            yield next_index, held.pop(next_index)
            next_index += 1


def _pool_context() -> Any:
    """Where the workers start (:func:`sim.processes.worker_context`), if they can.

    Raises :class:`sim.processes.UnguardedMain` where they would run the main
    script's calls again.
    """
    context = worker_context()
    refuse_to_run_main_again(context)
    return context


def _nothing() -> None:
    return None


def importing(*modules: str) -> Callable[[], None]:
    """A ``meanwhile`` for :func:`execute`: import ``modules`` (a report's drawing code, say).

    What a command needs only after its runs (matplotlib, a third of a second)
    is then imported while the workers run, not before they start.
    """
    def meanwhile() -> None:
        for name in modules:
            importlib.import_module(name)

    return meanwhile


def _completed(tasks: Sequence[Any], call: Callable[[Any], Any], workers: int,
               scheduler: str | None, capture_errors: bool,
               meanwhile: Callable[[], Any]) -> Iterator[tuple[int, Any]]:
    """``(index, result)`` as each task completes; ``meanwhile()`` once they are handed out."""
    if scheduler:
        from dask.distributed import as_completed as dask_completed

        from .cluster import check_workers, connected, result_of, say_no_workers_yet

        with connected(scheduler) as client:
            # (a worker that cannot unpickle a task would leave it waiting for ever)
            if tasks and not check_workers(client, call, tasks[0]):
                say_no_workers_yet(scheduler)
            futures = {client.submit(call, task, pure=False): i for i, task in enumerate(tasks)}
            meanwhile()
            for fut in dask_completed(futures):
                # Let go of each future once done: it holds its result. (A cluster lost
                # is not the run's own failure: it stops every run, captured or not.)
                yield futures.pop(fut), _result(fut, capture_errors,
                                                lambda f: result_of(f, scheduler))
        return
    kept = _kept()
    if kept is not None and kept.workers == workers and tasks:
        yield from _on_kept(kept, tasks, call, capture_errors, meanwhile)
        return
    if workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            yield i, call(task)
        return
    # The workers are forked: frozen, this process's objects are not swept by their
    # collectors, so they copy fewer of its memory pages (unfrozen when the pool is done).
    gc.freeze()
    pool = None
    try:
        # Each worker ends if this process is killed (kill -9) rather than finishing its task.
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                                   initializer=end_with_parent, initargs=(os.getpid(),),
                                   mp_context=_pool_context())
        futures = {pool.submit(call, task): i for i, task in enumerate(tasks)}
        meanwhile()
        for fut in futures_completed(futures):
            # Let go of each future once done: it holds its result, and a sweep of
            # thousands of runs kept every run's digest (about 0.1 MiB each) to the end.
            yield futures.pop(fut), _result(fut, capture_errors)
    finally:  # stopped early (cancelled, interrupted): runs not yet started never start
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


def _on_kept(kept: _KeptPool, tasks: Sequence[Any], call: Callable[[Any], Any],
             capture_errors: bool, meanwhile: Callable[[], Any]) -> Iterator[tuple[int, Any]]:
    """As :func:`_completed`, on the kept workers (which stay when the call ends)."""
    futures = {}
    try:
        try:
            pool = kept.get()
            for i, task in enumerate(tasks):
                futures[pool.submit(call, task)] = i
        except BrokenProcessPool:  # a worker died since the last call: start afresh
            for fut in futures:
                fut.cancel()
            kept.is_broken = True
            pool = kept.get()
            futures = {pool.submit(call, task): i for i, task in enumerate(tasks)}
        meanwhile()
        for fut in futures_completed(list(futures)):
            i = futures.pop(fut)
            if not fut.cancelled() and isinstance(fut.exception(), BrokenProcessPool):
                kept.is_broken = True  # a worker died: the next call starts new ones
            yield i, _result(fut, capture_errors)
    finally:
        # Stopped early (cancelled, interrupted): runs not yet started never start, and
        # those running are waited for, as when a call's own pool shuts down.
        for fut in futures:
            fut.cancel()
        futures_wait(list(futures))


def _result(future: Any, capture_errors: bool,
            get: Callable[[Any], Any] = lambda f: f.result()) -> Any:
    """``get(future)``; a lost worker becomes a :class:`Failure` if captured.

    A lost cluster (:class:`ClusterError`) is raised all the same: it is no run's own
    failure, and stops them all.
    """
    if not capture_errors:
        return get(future)
    try:
        return get(future)
    except ClusterError:
        raise
    except Exception as e:  # the worker died or the task was lost
        return Failure(f"{type(e).__name__}: {e}")
