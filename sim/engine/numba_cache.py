"""How the compiled desk's functions load from numba's cache: the shortcuts, in one place.

Two shortcuts, on unless ``GPSIM_NUMBA_FAST_LOAD=0`` turns them off (numba then
loads and compiles as it always does):

* :func:`answer_the_blas_probe`: numba's check for BLAS imports ``scipy.linalg``
  (0.15 s) the first time it compiles; the kernel uses no linear algebra.
* :func:`load_without_registries`: a cached function is loaded without first
  refreshing numba's compiler (0.1 to 0.2 s a process).

And one safeguard, always on (:func:`stamp_with_sources`): numba keys a cached
function on its own file alone, so a kernel function whose callee in another
kernel file had changed would load stale machine code. Every kernel function's
cache is keyed on all the kernel's files.

The shortcuts reach into numba's internals (numba is pinned below 1.0) and fall
back to numba's own way when those are not as expected.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path

#: Off with ``GPSIM_NUMBA_FAST_LOAD=0``.
FAST_LOAD = os.environ.get("GPSIM_NUMBA_FAST_LOAD", "1") != "0"


def answer_the_blas_probe() -> None:
    """Spare numba's probe for BLAS its import of ``scipy.linalg`` (0.15 s) when it compiles.

    When numba first compiles (or, without :func:`load_without_registries`,
    loads) a function it imports ``numba.np.arraymath``, which asks whether
    BLAS (for ``np.dot`` and friends) is there by importing ``scipy.linalg``.
    The booking desk uses no linear algebra, and scipy is one of this
    project's dependencies, so the probe is answered yes without the import;
    were BLAS ever used, numba's own check runs again at that point and
    imports it then.
    """
    if not FAST_LOAD:
        return
    if "numba.np.arraymath" in sys.modules or importlib.util.find_spec("scipy") is None:
        return
    import numba.np.linalg as linalg

    probe = getattr(linalg, "ensure_blas", None)
    if probe is None:  # another numba: let it probe as it likes
        return
    linalg.ensure_blas = lambda: None
    try:
        import numba.np.arraymath  # noqa: F401  (the probe runs on this import)
    finally:
        linalg.ensure_blas = probe


def load_without_registries(*dispatchers) -> None:
    """Load these functions from numba's cache without its compiler's registries.

    Before loading a cached function numba refreshes its compiler: it imports
    and installs the typing and lowering rules of everything it can compile
    (arrays, random numbers, linear algebra, typed containers...), 0.1 to 0.2 s
    a process. Running the cached machine code needs none of that, only
    numba's runtime (which the visit-count functions use to count
    references), started here. A function not in the cache is compiled by
    numba as usual, and compiling refreshes the compiler itself (the BLAS
    probe answered first). Only the given functions load this way; a numba
    whose cache does not look like this loads as it always does. The engine
    tests run in processes that load this way, and one loads every function
    in a fresh process (history, growth).
    """
    if not FAST_LOAD:
        return
    from numba.core.runtime import rtsys

    for dispatcher in dispatchers:
        cache = getattr(dispatcher, "_cache", None)
        load = getattr(cache, "_load_overload", None)
        guard = getattr(cache, "_guard_against_spurious_io_errors", None)
        if load is None or guard is None or not hasattr(cache, "load_overload"):
            continue

        def load_overload(sig, target_context, load=load, guard=guard):
            rtsys.initialize(target_context)
            loaded = None
            with guard():  # as numba's own: an unreadable cache is a miss
                loaded = load(sig, target_context)
            if loaded is None:  # numba compiles it next
                answer_the_blas_probe()
            return loaded

        cache.load_overload = load_overload


def stamp_with_sources(dispatchers: Iterable, files: Iterable[Path]) -> str:
    """Key every dispatcher's cache on the contents of all ``files`` too; return that key.

    numba keeps, with each cached function, the stamp (time and size) of the
    function's own file, and drops the cache when that changes. A function's
    cached machine code also holds what it calls; here that may be in another
    file, so each cache's stamp is extended with a hash of every kernel file.
    """
    digest = hashlib.sha256()
    for f in sorted(Path(p) for p in files):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    key = digest.hexdigest()
    for dispatcher in dispatchers:
        cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
        stamp = getattr(cache_file, "_source_stamp", None)
        if stamp is not None:
            cache_file._source_stamp = (stamp, key)
    return key
