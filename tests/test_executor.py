"""The executor's kept workers: one set of processes for many calls, as if each had its own."""

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT
from marking_task import die_on, mark_then_wait, worker_pid

from sim.runs.executor import Failure, ahead, execute, kept_workers, release_kept_workers


def _pids(n: int, workers: int = 2) -> list[int]:
    return [pid for _, pid in execute(list(range(n)), worker_pid, workers=workers,
                                      progress=False)]


def test_calls_inside_kept_workers_share_one_set_of_processes():
    with kept_workers(2):
        first, second, one = _pids(8), _pids(8), _pids(1)
    kept = set(first)
    assert len(kept) == 2 and os.getpid() not in kept
    assert set(second) == kept  # the same processes, not new ones
    assert set(one) <= kept  # a single task goes to them too (not this process)
    # Without the block each call starts its own; after it, the kept ones are gone.
    assert not set(_pids(8)) & kept
    assert all(not os.path.exists(f"/proc/{p}") or _zombie(p) for p in kept)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except OSError:
        return True


def test_kept_workers_released_early_end_then_and_a_later_call_gets_new_ones():
    """A network ends its workers before its tail forks: their pool's threads go with them."""
    import threading

    threads = threading.active_count()
    with kept_workers(2):
        kept = set(_pids(4))
        assert threading.active_count() > threads  # the pool's own threads
        release_kept_workers()
        assert threading.active_count() == threads
        assert all(not os.path.exists(f"/proc/{p}") or _zombie(p) for p in kept)
        again = set(_pids(4))
        assert len(again) == 2 and not again & kept
    release_kept_workers()  # outside a block: nothing to end


def test_other_worker_counts_and_this_process_are_left_alone():
    with kept_workers(2):
        kept = set(_pids(6))
        assert set(_pids(1, workers=1)) == {os.getpid()}
        three = set(_pids(9, workers=3))
        assert len(three) == 3 and not three & kept
        assert set(_pids(6)) == kept
        with kept_workers(3):  # inside a block, the outer one's workers serve
            assert set(_pids(6)) == kept


def test_another_thread_gets_workers_of_its_own():
    """The web app runs each page's work in its own thread: one page's block is not another's."""
    with kept_workers(2):
        kept = set(_pids(6))
        with ThreadPoolExecutor(max_workers=1) as thread:
            other = set(thread.submit(_pids, 6).result())
        assert len(other) == 2 and not other & kept
        assert set(_pids(6)) == kept


def test_a_worker_that_dies_fails_its_call_and_the_next_call_gets_new_workers():
    with kept_workers(2):
        before = set(_pids(4))
        got = dict(execute(["a", "die", "b", "c"], die_on, workers=2, capture_errors=True,
                           progress=False))
        assert isinstance(got[1], Failure) and "terminated abruptly" in got[1].error
        after = _pids(4)
        assert len(after) == 4 and not set(after) & before
        assert dict(execute(["x", "y"], die_on, workers=2, progress=False)) == {0: "x", 1: "y"}


def test_stopping_a_call_on_kept_workers_cancels_its_runs_not_yet_started(tmp_path):
    with kept_workers(2):
        runs = execute([(str(tmp_path), i) for i in range(40)], mark_then_wait, workers=2,
                       progress=False)
        next(runs)
        runs.close()
        # Those running were waited for: no run starts after the call has stopped.
        started = len(list(tmp_path.glob("started-*")))
        assert started < 20, started
        assert len(_pids(4)) == 4  # and the workers take the next call
        assert len(list(tmp_path.glob("started-*"))) == started


def test_meanwhile_runs_here_once_while_the_workers_run(tmp_path):
    import time

    seen = []

    def meanwhile():
        # The runs are under way while this process does its own work: wait for one to start.
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("started-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((os.getpid(), len(list(tmp_path.glob("started-*"))), len(results)))

    results = []
    for i, value in execute([(str(tmp_path), i) for i in range(4)], mark_then_wait, workers=2,
                            progress=False, meanwhile=meanwhile):
        results.append((i, value))
    assert sorted(results) == [(i, i) for i in range(4)]
    # Called once, in this process, with a run started and before any result came.
    assert len(seen) == 1 and seen[0][0] == os.getpid() and seen[0][1] >= 1 and seen[0][2] == 0

    with kept_workers(2):  # on kept workers too
        seen.clear()
        list(execute([(str(tmp_path), i) for i in range(4, 6)], mark_then_wait, workers=2,
                     progress=False, meanwhile=meanwhile))
        assert len(seen) == 1


def test_meanwhile_is_not_called_when_the_tasks_run_in_this_process(tmp_path):
    called = []
    out = list(execute([(str(tmp_path), i) for i in range(3)], mark_then_wait, workers=1,
                       progress=False, meanwhile=lambda: called.append(1)))
    assert [v for _, v in out] == [0, 1, 2] and called == []


def test_workers_with_prepare_start_with_the_block_and_prepare_before_any_task(tmp_path):
    import time

    from marking_task import Prepare, was_prepared

    with kept_workers(2, prepare=Prepare(tmp_path)):
        # Started as the block opened, before any call: each prepares at once.
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("prepared-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        prepared = {int(p.name.split("-")[1]) for p in tmp_path.glob("prepared-*")}
        assert len(prepared) == 2 and os.getpid() not in prepared
        out = [v for _, v in execute([str(tmp_path)] * 6, was_prepared, workers=2,
                                     progress=False)]
    assert {pid for pid, _ in out} <= prepared and all(ok for _, ok in out)
    assert len(list(tmp_path.glob("prepared-*"))) == 2  # once a worker, not once a task


def test_a_prepare_that_fails_leaves_the_workers_running_their_tasks(tmp_path):
    from marking_task import Prepare

    with kept_workers(2, prepare=Prepare(tmp_path, fail=True)):
        out = dict(execute(list(range(5)), die_on, workers=2, progress=False))
    assert out == {i: i for i in range(5)}
    assert len(list(tmp_path.glob("prepared-*"))) == 2


def _all_ready(handle, n: int) -> list:
    import time

    got, deadline = [], time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        got += handle.ready()
        time.sleep(0.01)
    return got


def test_work_handed_ahead_comes_back_when_ready_on_all_kept_workers_but_one(tmp_path):
    import time

    from marking_task import square_unless_three

    with kept_workers(3):
        handle = ahead([(str(tmp_path), i) for i in range(4)], mark_then_wait)
        # Two of three workers take tasks; more are handed out only as ready() is asked.
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.6)  # the first two have finished; nothing more was handed out
        assert sorted(p.name for p in tmp_path.glob("started-*")) == ["started-0", "started-1"]
        assert sorted(_all_ready(handle, 4)) == [0, 1, 2, 3]
        # A task that fails is left out; the others come back.
        handle = ahead(list(range(6)), square_unless_three)
        assert sorted(_all_ready(handle, 5)) == [0, 1, 4, 16, 25]
        handle.close()
        assert handle.ready() == []
    # Outside a block of kept workers nothing is handed out (the caller does the work).
    assert ahead(list(range(6)), square_unless_three).ready() == []


#: The executor's calls in a process whose workers are started another way: by a fork
#: server (a thread runs beside, as in the web app's server, so that they are not
#: forked here), or spawned (Python's default kept, as on macOS and Windows).
_STARTED = r"""
import json, multiprocessing, os, sys, threading
from marking_task import pid_once_all_took_one, worker_parent, worker_pid
import sim.runs.executor
from sim.runs.executor import execute, kept_workers

def pids(n):
    return [pid for _, pid in execute(list(range(n)), worker_pid, workers=2, progress=False)]

def each_worker_s_pid(n, name):  # each of the two takes a task, however slow its start
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    os.mkdir(folder)
    return [pid for _, pid in execute([(folder, 2)] * n, pid_once_all_took_one, workers=2,
                                      progress=False)]

if __name__ == "__main__":
    if sys.argv[1] == "spawn":
        multiprocessing.set_start_method("spawn")
        sim.runs.executor.worker_context = lambda: None
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    started_by = [p for _, p in execute([0, 1], worker_parent, workers=2, progress=False)]
    with kept_workers(2):
        first, second = each_worker_s_pid(6, "first"), each_worker_s_pid(6, "second")
    print(json.dumps({"own": pids(4), "first": first, "second": second, "me": os.getpid(),
                      "started_by": started_by,
                      "method": (sim.runs.executor.worker_context()
                                 or multiprocessing.get_context()).get_start_method()}))
"""


def _what_it_says(folder: Path, script: str, *args: str) -> dict:
    """The JSON of the last line ``script`` prints, run in a fresh interpreter.

    It can import the project and these tests' tasks.
    """
    path = folder / "script.py"
    path.write_text(script)
    tests = Path(__file__).resolve().parent
    p = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONPATH": f"{tests.parent}{os.pathsep}"
                                                                      f"{tests}"})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_workers_started_by_a_fork_server_or_spawned_run_as_forked_ones_do(tmp_path, method):
    """Each takes its tasks, rather than ending at once as if orphaned.

    Python 3.14 starts workers by a fork server on Linux: the server's children, not
    this process's.
    """
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    got = _what_it_says(tmp_path, _STARTED, method)
    assert got["method"] == method
    if method == "forkserver":  # the server's children, not this one's
        assert got["me"] not in got["started_by"], got["started_by"]
    else:
        assert got["started_by"] == [got["me"]] * 2
    kept = set(got["first"])
    assert len(kept) == 2 and got["me"] not in kept
    assert set(got["second"]) == kept  # the kept workers served both calls
    assert len(got["own"]) == 4 and not set(got["own"]) & (kept | {got["me"]})


_FORKED = r"""
import json, multiprocessing, os, sys, threading
from marking_task import worker_parent
from sim.runs.executor import execute, kept_workers

def parents(progress=False):
    return set(p for _, p in execute(list(range(4)), worker_parent, workers=2,
                                     progress=progress))

if __name__ == "__main__":
    if sys.argv[1] != "default":  # as Python 3.14 on Linux, say
        multiprocessing.set_start_method(sys.argv[1])
    alone = parents()
    with kept_workers(2):
        kept = parents()
    with_a_bar = parents(progress=True)  # (as on a terminal)
    bar_threads = threading.active_count()
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait)
    beside.start()
    try:
        with_a_thread = parents()
    finally:
        stop.set()
        beside.join()
    print(json.dumps({"me": os.getpid(), "alone": sorted(alone), "kept": sorted(kept),
                      "with_a_bar": sorted(with_a_bar), "bar_threads": bar_threads,
                      "with_a_thread": sorted(with_a_thread)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
@pytest.mark.parametrize("default", ["default", "forkserver", "spawn"])
def test_on_linux_workers_are_forked_unless_another_thread_runs(tmp_path, default):
    """Forked, they share what this process loaded; beside another thread, a fork server's.

    Whatever Python's default: up to 3.13 it would fork beside threads too, which
    can leave a worker waiting on a lock a thread held; 3.14 would start them by a
    fork server even alone.
    """
    got = _what_it_says(tmp_path, _FORKED, default)
    assert got["alone"] == got["kept"] == [got["me"]]  # this process's own children
    # A progress bar (as on a terminal) leaves no thread behind to change that.
    assert got["with_a_bar"] == [got["me"]] and got["bar_threads"] == 1
    assert len(got["with_a_thread"]) == 1 and got["with_a_thread"] != [got["me"]]  # the server's


@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(),
                    reason="no fork server here")
def test_the_workers_start_method_by_platform_and_threads():
    """Forked on Linux alone; a fork server beside threads; Python's default elsewhere."""
    from sim.processes import SERVER_LOADS, worker_context

    assert worker_context("linux", 1).get_start_method() == "fork"
    beside = worker_context("linux", 2, interactive=False)
    assert beside.get_start_method() == "forkserver"
    import multiprocessing.forkserver as server

    assert server._forkserver._preload_modules == list(SERVER_LOADS)
    assert worker_context("darwin", 1) is None
    assert worker_context("win32", 1) is None
    # In a notebook (nothing a worker could import again): forked, as Python always has.
    assert worker_context("linux", 2, interactive=True).get_start_method() == "fork"
    assert worker_context("darwin", 2, interactive=True) is None


#: A notebook's cell, run as ``python -c`` runs it (no file for a worker to import again):
#: a function defined here, run on two workers while another thread runs (a kernel's).
_CELL = r"""
import json, os, threading
from sim.runs.executor import execute

def parent_and_square(x):
    return os.getppid(), x * x

threading.Thread(target=threading.Event().wait, daemon=True).start()
got = [r for _, r in sorted(execute(list(range(4)), parent_and_square, workers=2,
                                    progress=False))]
print(json.dumps({"me": os.getpid(), "got": got}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_what_a_notebook_defines_reaches_workers_beside_its_kernel_s_threads():
    """A worker started afresh could not find it, so in a notebook the workers are forked."""
    tests = Path(__file__).resolve().parent
    p = subprocess.run([sys.executable, "-c", _CELL], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONPATH": str(tests.parent)})
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.splitlines()[-1])
    assert [sq for _, sq in out["got"]] == [0, 1, 4, 9]
    assert {parent for parent, _ in out["got"]} == {out["me"]}


#: A script whose workers start afresh (a fork server beside a thread, or spawned as
#: on macOS and Windows) and whose call to the executor is ``argv[2]``'s: unguarded
#: (no main block at all), before its main block, inside it, or unguarded but on
#: one worker. Each task leaves a mark, so that a worker that ran one shows.
_AFRESH = r"""
import json, multiprocessing, os, sys, threading
import sim.runs.executor
from marking_task import mark_then_wait
from sim.runs.executor import execute

def run(workers=2):
    done = sorted(r for _, r in execute([(sys.argv[3], i) for i in range(2)], mark_then_wait,
                                        workers=workers, progress=False))
    print(json.dumps({"done": done}))

if sys.argv[1] == "spawn":
    if multiprocessing.get_start_method(allow_none=True) is None:
        multiprocessing.set_start_method("spawn")
    sim.runs.executor.worker_context = lambda: None
else:
    threading.Thread(target=threading.Event().wait, daemon=True).start()
if sys.argv[2] == "before":
    run()
if sys.argv[2] == "one":
    run(workers=1)
#GUARD#
    if sys.argv[2] == "inside":
        run()
"""


def _afresh(folder: Path, method: str, call: str, guarded: bool) -> subprocess.CompletedProcess:
    script = _AFRESH.replace("#GUARD#", 'if __name__ == "__main__":' if guarded
                             else "if True:")
    path = folder / "script.py"
    path.write_text(script)
    marks = folder / "marks"
    marks.mkdir()
    tests = Path(__file__).resolve().parent
    return subprocess.run([sys.executable, str(path), method, call, str(marks)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": f"{tests.parent}{os.pathsep}{tests}"})


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
@pytest.mark.parametrize("call,guarded", [("inside", False), ("before", True)])
def test_a_script_that_workers_would_run_again_is_told_so_before_any_starts(
        tmp_path, method, call, guarded):
    """Not each worker failing in turn, then a broken pool: one message, naming the fix.

    Without a main block, or called before it, the call would run again in every
    worker started afresh (each imports the script again).
    """
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    p = _afresh(tmp_path, method, call, guarded)
    assert p.returncode == 1, p.stdout + p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith(f"sim.processes.UnguardedMain: {tmp_path / 'script.py'} calls "
                           "gpsim outside 'if __name__ == \"__main__\":'"), last
    assert "each imports the script again" in last and "(workers=1)" in last
    assert "BrokenProcessPool" not in p.stderr and "bootstrapping" not in p.stderr
    assert not any((tmp_path / "marks").iterdir())  # no worker ran a task


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
@pytest.mark.parametrize("call,guarded", [("inside", True), ("one", False)])
def test_a_call_in_the_main_block_or_on_one_worker_runs(tmp_path, method, call, guarded):
    """Workers started afresh run the script's definitions only; one worker is this process."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    p = _afresh(tmp_path, method, call, guarded)
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout.splitlines()[-1]) == {"done": [0, 1]}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_forked_workers_run_a_script_without_a_main_block(tmp_path, monkeypatch):
    """Forked, a worker does not import the script again: nothing to refuse."""
    import types

    from sim.processes import UnguardedMain, refuse_to_run_main_again

    script = tmp_path / "script.py"
    script.write_text("import gpsim\n")
    main = types.ModuleType("__main__")
    main.__file__, main.__loader__, main.__spec__ = str(script), object(), None
    monkeypatch.setitem(sys.modules, "__main__", main)
    refuse_to_run_main_again(multiprocessing.get_context("fork"))
    with pytest.raises(UnguardedMain, match="from a fork server"):
        refuse_to_run_main_again(multiprocessing.get_context("forkserver"), "linux")
    with pytest.raises(UnguardedMain, match="afresh on this system: spawn"):
        refuse_to_run_main_again(multiprocessing.get_context("spawn"), "darwin")


def test_which_main_modules_a_worker_started_afresh_would_run_again(tmp_path, monkeypatch):
    """A script without a main block, or called from outside it.

    Not a package's ``__main__``, nor a main module made up by Streamlit (its
    pages are run again by design), nor a notebook's, nor a file that cannot be
    read.
    """
    import types

    from sim.processes import main_run_again

    def main_module(source: str | None, loader: object = object(), spec: str | None = None):
        module = types.ModuleType("__main__")
        module.__loader__ = loader
        module.__spec__ = types.SimpleNamespace(name=spec) if spec else None
        if source is not None:
            path = tmp_path / f"main{len(list(tmp_path.iterdir()))}.py"
            path.write_text(source)
            module.__file__ = str(path)
        monkeypatch.setitem(sys.modules, "__main__", module)
        return module

    bare = "import gpsim\nprint('runs')\n"
    module = main_module(bare)
    assert main_run_again() == module.__file__
    for guard in ('if __name__ == "__main__":\n    pass\n',
                  "if '__main__' == __name__:\n    pass\n"):
        main_module(bare + guard)
        assert main_run_again() is None, guard  # (called from no line of it: pytest's)
    main_module(bare + 'if __name__ != "__main__":\n    pass\n')
    assert main_run_again() is not None
    module = main_module(bare, spec="tool.cli")  # python -m tool.cli
    assert main_run_again() == module.__file__
    main_module(bare, spec="tool.__main__")  # python -m tool
    assert main_run_again() is None
    main_module(bare, loader=None)  # Streamlit's page
    assert main_run_again() is None
    main_module(None)  # a notebook, python -c
    assert main_run_again() is None
    main_module("def broken(:\n")
    assert main_run_again() is None


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_the_default_workers_are_the_cores_this_process_may_use(tmp_path):
    """A process held to one core starts one worker, not one per core of the machine.

    (As ``taskset``, a container's cpuset or a batch job's allocation would hold it.)
    """
    from sim.processes import usable_cores

    assert usable_cores() == len(os.sched_getaffinity(0))
    one = min(os.sched_getaffinity(0))
    p = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "compare",
         str(ROOT / "scenarios" / "policies" / "access_first.yaml"), "--replications", "2",
         "--set", "population.size=300", "--set", "warmup_days=7", "--set", "duration_days=14",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        preexec_fn=lambda: os.sched_setaffinity(0, {one}))
    assert p.returncode == 0, p.stderr
    assert "(2 runs, 1 process(es))" in p.stdout + p.stderr, p.stdout
