"""A Dask cluster for :func:`sim.runs.executor.execute`: its address and its workers checked first.

Four things that go wrong on a cluster are named here, rather than ending
in an "unexpected" error or in a wait with no end:

- an address Dask cannot read (``htp://...``, ``HOST:port``): refused by
  :func:`address_problem` before anything is read or written;
- a scheduler that cannot be reached: :func:`connected` says so, naming it,
  after Dask's own wait (:data:`CONNECT_TIMEOUT`);
- a scheduler lost while the runs go on: Dask cancels every run not yet
  finished, and a finished run's result can no longer be fetched;
  :func:`result_of` stops there, rather than count each as a run that failed;
- a worker that lacks the project, or has another version of it: it cannot
  unpickle the tasks it is sent, Dask only logs that on the worker, and the
  command would wait for ever. :func:`check_workers` asks each worker, before
  any task is sent, to look up every class and function the tasks name
  (``pkgutil.resolve_name``, from the standard library, so the question
  itself needs nothing of the project), and raises :class:`ClusterError`
  naming what is missing and where.

A worker that joins after the check is not asked; a cluster with no workers
yet is said to have none (:func:`say_no_workers_yet`), and its runs wait for
some: an adaptive cluster starts workers only once it has tasks.
"""

from __future__ import annotations

import io
import pickle
import pkgutil
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: How long to wait for the scheduler to answer (Dask's own retries go on meanwhile).
CONNECT_TIMEOUT = "30s"

#: What a cluster's workers need, in the words of an error.
INSTALL = ("Install this project on every worker machine, in the same version as here "
           "(python -m pip install -r requirements.lock, then python -m pip install -e . in "
           "its folder), with any package that adds booking policies; see docs/usage.md, "
           "'On a cluster'.")


class ClusterError(RuntimeError):
    """The Dask cluster cannot run the tasks: unreachable, or its workers cannot load them."""


def address_problem(address: str) -> str | None:
    """What is wrong with a Dask scheduler's address, found without connecting; None if nothing.

    Read as Dask reads it (``HOST:PORT`` means ``tcp://HOST:PORT``); the host
    must be a name this machine can look up.
    """
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    example = "an address looks like tcp://HOST:8786 (dask scheduler prints it)"
    if not address.strip():
        return f"--scheduler needs the Dask scheduler's address: {example}"
    try:
        scheme, location = parse_address(address)
    except ValueError as e:
        return f"--scheduler {address}: {e}; {example}"
    if scheme == "inproc":
        return (f"--scheduler {address}: an inproc:// scheduler lives inside one Python "
                f"process and cannot be reached from here; {example}")
    if scheme not in backends:
        return (f"--scheduler {address}: unknown scheme {scheme!r} (Dask knows "
                f"{', '.join(sorted(s for s in backends if s != 'inproc'))}); {example}")
    try:
        host, port = parse_host_port(location)
    except ValueError as e:
        _, colon, port = location.rpartition(":")
        said = f"its port {port!r} is not a number" if colon and port and "]" not in port else e
        return f"--scheduler {address}: {said}; {example}"
    try:
        socket.getaddrinfo(host, port)
    except (OSError, UnicodeError):
        return f"--scheduler {address}: no machine named {host!r} is known here"
    return None


@contextmanager
def connected(scheduler: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` of ``scheduler``; :class:`ClusterError` if none answers."""
    from dask.distributed import Client

    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as e:  # (a timeout is an OSError)
        raise ClusterError(
            f"could not connect to the Dask scheduler at {scheduler}: {e}. Is it running "
            "(dask scheduler prints its address), and can this machine reach it?") from None
    with client:
        yield client


class _NamedGlobals(pickle.Pickler):
    """Pickles into nothing, noting each class and function pickled by name (module, name).

    (The C pickler: some libraries, through ``dill``, rewrite the pure-Python
    one's table of what it pickles how.)
    """

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL)
        self.named: set[tuple[str, str]] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            name = getattr(obj, "__qualname__", obj.__name__)
            self.named.add((pickle.whichmodule(obj, name), name))
        return NotImplemented  # pickled as it would be


def named_globals(*sent: Any) -> list[str]:
    """``module:name`` of every class and function that pickling ``sent`` names, bar Python's own.

    What a worker must be able to import to unpickle them. Empty if they do
    not pickle by the standard library (Dask then pickles them its own way).
    """
    pickler = _NamedGlobals()
    try:
        pickler.dump(sent)
    except Exception:  # (a lambda, say: cloudpickle sends it by value)
        return []
    own = set(sys.stdlib_module_names) | {"__main__", "builtins"}
    return sorted(f"{module}:{name}" for module, name in pickler.named
                  if module.split(".")[0] not in own)


#: Names already found on a scheduler's workers: (scheduler, worker) -> names.
_found: dict[tuple[str, str], set[str]] = {}


def check_workers(client: Any, *sent: Any) -> int:
    """Raise :class:`ClusterError` unless every worker can load what pickling ``sent`` names.

    Each worker looks each name up (``pkgutil.resolve_name``); names a worker
    has already found are not asked again in this process (a choice sends many
    batches). Returns how many workers the cluster has (none: nothing was asked,
    see :func:`say_no_workers_yet`).
    """
    names = named_globals(*sent)
    info = client.scheduler_info()
    workers, address = sorted(info.get("workers", {})), info.get("address", "")
    todo = sorted({n for w in workers for n in names if n not in _found.get((address, w), ())})
    failed: dict[str, dict[str, list[str]]] = {}  # name -> the error -> its workers
    for name in todo:
        for worker, answer in client.run(pkgutil.resolve_name, name, on_error="return",
                                         workers=workers).items():
            if isinstance(answer, BaseException):
                error = f"{type(answer).__name__}: {answer}"
                failed.setdefault(name, {}).setdefault(error, []).append(worker)
            else:
                _found.setdefault((address, worker), set()).add(name)
    if failed:
        lines = [f"{error} (needed for {name}; on {len(ws)} of {len(workers)} workers: "
                 f"{', '.join(ws[:3])}{', ...' if len(ws) > 3 else ''})"
                 for name, errors in failed.items() for error, ws in errors.items()]
        shown = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
        raise ClusterError(f"the Dask cluster's workers cannot load the code of the runs, so "
                           f"no run would ever start: {shown}. {INSTALL}")
    return len(workers)


#: The schedulers this process has said have no workers.
_told: set[str] = set()


def say_no_workers_yet(scheduler: str) -> None:
    """Say on standard error, once a process, that ``scheduler`` has no workers yet.

    The runs wait, unchecked, for some (a choice sends many batches: said once).
    """
    if scheduler in _told:
        return
    _told.add(scheduler)
    print(f"note: the Dask scheduler at {scheduler} has no workers yet, so the runs wait "
          f"until some join (start them with: dask worker {scheduler}). Workers that join "
          "later are not checked first: one without this project would leave the runs "
          "waiting (docs/usage.md, 'On a cluster').", file=sys.stderr, flush=True)


def result_of(future: Any, scheduler: str) -> Any:
    """A finished Dask future's result; :class:`ClusterError` if the cluster lost it.

    On losing its scheduler, Dask cancels every run not yet finished, and a
    finished run's result can no longer be fetched: fetching it raises
    either a lost connection or, where Dask cancelled the run between its
    being done and its result being fetched, a cancellation. None is the
    run's own failure (the executor cancels none while it waits for them), so
    none is counted as one.
    """
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError

    try:
        return future.result()
    except CancelledError as e:  # cancelled before its result was fetched, or meanwhile
        reason = getattr(e, "reason", None) or type(e).__name__  # (Dask's, where it gives one)
    except CommClosedError as e:
        reason = f"{type(e).__name__}: {e}"
    raise ClusterError(f"lost the Dask scheduler at {scheduler} before every run had finished "
                       f"({reason}). Is it still running, and can this machine reach it?")
