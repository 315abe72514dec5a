"""Memory a run frees, kept for the next run rather than handed back to the system.

By default glibc's allocator (Linux) gives large blocks back to the operating
system as soon as they are freed: a block past its mapping threshold (128 KiB
at first, raised as such blocks are freed, up to 32 MiB) is mapped and
unmapped on its own, and the heap's top is trimmed once more than 128 KiB of
it is free (twice the mapping threshold, once that has risen). A practice's
run allocates and frees arrays of a few MiB at every step (its arrivals, its
days, its tables), so each run asks the system for fresh pages again, and the
kernel zeroes every page as it is first touched: about 17 ms of system time a
BNSSG practice here, 6% of its run (measured in docs/performance.md, "Memory
kept between runs").

:func:`keep_freed_memory` sets both thresholds once, as the command line
starts: blocks of up to 32 MiB (glibc's largest mapping threshold) come from
the heap, and the heap is never trimmed, so what one run frees the next one
reuses. A process then holds its peak until it ends, and the peak grew a
little here (9% for one process running BNSSG's 40 practices, up to 7% with
two workers: a freed block cannot always be reused for a larger one). It is
not done for a long-running server (the web app), nor by the library on
import: a program that uses the engine decides for its own process. Where the
environment already chooses (``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_MMAP_THRESHOLD_``, or ``glibc.malloc`` in ``GLIBC_TUNABLES``), that
choice stands. Elsewhere (macOS, Windows, a C library without ``mallopt``) it
does nothing.
"""

from __future__ import annotations

import os
import sys

#: ``mallopt``'s parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: Blocks up to this size come from the heap: glibc's largest mapping threshold on a
#: 64-bit machine (half its heap size); a larger value is refused.
MMAP_THRESHOLD = 32 * 1024 * 1024

#: Free memory at the heap's top is handed back past this much: never, in practice
#: (``mallopt`` takes a C int).
TRIM_THRESHOLD = 2**31 - 1

#: The same settings for processes started afresh rather than forked (workers of a
#: forkserver, Python 3.14's default on Linux, or spawned): glibc reads them as a
#: process starts.
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
               "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}

_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Keep the memory runs free for later runs in this process and the workers it starts.

    Returns whether the allocator took both settings; once per process, however
    often called. Forked workers inherit them; for workers started afresh they are
    put in the environment too (:data:`ENVIRONMENT`). Where the environment
    already sets either threshold, or glibc's malloc tunables, that choice stands
    and nothing is changed.
    """
    global _kept
    if _kept is None:
        chosen = (any(k in os.environ for k in ENVIRONMENT)
                  or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""))
        _kept = False if chosen else _set_thresholds()
        if _kept:
            os.environ.update(ENVIRONMENT)
    return _kept


def environment_as_found() -> dict[str, str]:
    """This process's environment without what :func:`keep_freed_memory` put in it.

    For a long-running server started from the command line (the web app), which
    keeps the allocator's defaults.
    """
    added = ENVIRONMENT if _kept else {}
    return {k: v for k, v in os.environ.items() if added.get(k) != v}


def _set_thresholds(platform: str = sys.platform) -> bool:
    if not platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 when it takes a setting, 0 when it refuses it (or, as musl's
    # does, ignores every one)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
