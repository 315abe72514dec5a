"""A Dask cluster that cannot be used is named plainly: its address, its scheduler, its workers."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gpsim.network import PracticeSummary
from sim.runs import cluster
from sim.runs.cluster import ClusterError, address_problem, named_globals
from sim.runs.executor import execute

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("address", "said"), [
    ("", "--scheduler needs the Dask scheduler's address"),
    ("  ", "--scheduler needs the Dask scheduler's address"),
    ("htp://127.0.0.1:8786", "unknown scheme 'htp'"),
    ("127.0.0.1:notaport", "its port 'notaport' is not a number"),
    ("tcp://[::1]:x", "its port 'x' is not a number"),
    ("tcp://127.0.0.1", "missing port number"),
    ("inproc://whatever", "inside one Python process"),
    ("tcp://no-such-host.invalid:8786", "no machine named 'no-such-host.invalid' is known"),
])
def test_an_address_dask_cannot_use_is_refused_saying_why(address, said):
    problem = address_problem(address)
    assert problem is not None and said in problem, problem
    assert "tcp://HOST:8786" in problem or "no machine" in problem


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786",
                                     "localhost:8786", "tls://127.0.0.1:8786"])
def test_an_address_dask_can_use_passes(address):
    assert address_problem(address) is None


def test_the_command_refuses_a_bad_address_before_it_reads_or_writes_anything(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network",
                        "scenarios/networks/pcn_with_hub.yaml", "--summary-only",
                        "--scheduler", "htp://127.0.0.1:8786", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.startswith("error: --scheduler htp://127.0.0.1:8786: unknown scheme"), p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert not out.exists()


def test_the_names_a_worker_must_find_are_the_projects_not_pythons():
    named = named_globals(PracticeSummary(), dt.date(2025, 1, 1))
    assert "gpsim.network:PracticeSummary" in named
    assert not [n for n in named if n.startswith(("datetime:", "builtins:", "copyreg:"))]
    assert named_globals(lambda x: x) == []  # Dask sends such a function by value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_named(monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ClusterError) as e:
        list(execute([1, 2], abs, scheduler=address))
    assert str(e.value).startswith(f"could not connect to the Dask scheduler at {address}: ")
    assert "Is it running" in str(e.value)


def _in_a_thread(fn) -> dict:
    """``fn()`` in a thread, given two minutes: what it returned or raised, or that it hung."""
    said = {}

    def go():
        try:
            said["returned"] = fn()
        except Exception as e:  # (kept to be checked)
            said["raised"] = e

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(120)
    said["hung"] = thread.is_alive()
    return said


@pytest.mark.slow
def test_workers_that_cannot_load_the_tasks_are_named_instead_of_waited_for(tmp_path,
                                                                          monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as local:
        # A module only this process has (its workers started before it was on the path),
        # as a project missing on a cluster's machines is.
        (tmp_path / "only_here.py").write_text(
            "class Doubled:\n    def __call__(self, x):\n        return 2 * x\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        import only_here

        said = _in_a_thread(lambda: list(execute([1, 2], only_here.Doubled(),
                                                 scheduler=local.scheduler_address)))
        assert not said["hung"], "the command waited for workers that could not load the task"
        error = str(said.get("raised"))
        assert isinstance(said.get("raised"), ClusterError), said
        assert error.startswith("the Dask cluster's workers cannot load the code of the runs, so "
                                "no run would ever start: ModuleNotFoundError: No module named "
                                "'only_here' (needed for only_here:Doubled; on 2 of 2 workers: "
                                "tcp://127.0.0.1:"), error
        assert "Install this project on every worker machine" in error
        # What they can load runs as before, and the answer is the same.
        assert sorted(execute([-1, -2], abs, scheduler=local.scheduler_address)) == [(0, 1),
                                                                                    (1, 2)]


@pytest.mark.slow
def test_a_cluster_with_no_workers_yet_is_said_to_have_none_and_its_runs_wait(capsys,
                                                                            monkeypatch):
    """Not refused (an adaptive cluster starts workers once it has tasks): said, once."""
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(cluster, "_told", set())
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as local:
        address = local.scheduler_address
        got: dict[str, list] = {}

        def batch(name, tasks):
            thread = threading.Thread(target=lambda: got.update(
                {name: sorted(execute(tasks, abs, scheduler=address))}), daemon=True)
            thread.start()
            return thread

        first = batch("first", [-1, -2, -3])
        err = ""
        for _ in range(150):  # (the note comes once the scheduler has answered)
            err += capsys.readouterr().err
            if "note:" in err:
                break
            time.sleep(0.2)
        assert (f"note: the Dask scheduler at {address} has no workers yet, so the runs wait "
                f"until some join (start them with: dask worker {address}). Workers that "
                "join later are not checked first") in err, err
        # A second batch while there are still none: not said again.
        second = batch("second", [4])
        time.sleep(3)
        assert first.is_alive() and second.is_alive(), "ran with no workers?"
        local.scale(1)  # a worker joins: the runs go on
        first.join(120)
        second.join(120)
        assert got == {"first": [(0, 1), (1, 2), (2, 3)], "second": [(0, 4)]}
        err += capsys.readouterr().err
        assert err.count("note:") == 1, err


def test_the_command_names_a_scheduler_that_does_not_answer(tmp_path, monkeypatch, capsys):
    pytest.importorskip("dask.distributed")
    from gpsim.cli import main

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    address = f"tcp://127.0.0.1:{_free_port()}"
    code = main(["network", str(ROOT / "scenarios" / "networks" / "pcn_with_hub.yaml"),
                 "--summary-only", "--scheduler", address, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: could not connect to the Dask scheduler at {address}: "), err
    assert "unexpected" not in err and "Traceback" not in err


#: A LocalCluster in a process of its own (to be killed), printing its address.
_CLUSTER = """
import time
import distributed
if __name__ == "__main__":
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        print(c.scheduler_address, flush=True)
        time.sleep(300)
"""


@pytest.mark.slow
@pytest.mark.parametrize("capture_errors", [False, True])
def test_a_scheduler_lost_while_runs_go_on_stops_them_rather_than_failing_each(
        tmp_path, capture_errors):
    pytest.importorskip("dask.distributed")
    import os
    import signal
    import time

    from sim.runs.executor import Failure

    script = tmp_path / "cluster.py"
    script.write_text(_CLUSTER)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://127.0.0.1:"), address
        got = []

        def run():
            for _i, value in execute([0.5] * 40, time.sleep, scheduler=address,
                                    capture_errors=capture_errors):
                got.append(value)
                if len(got) == 1:  # 39 runs to go, each half a second, on two workers
                    os.killpg(proc.pid, signal.SIGKILL)

        said = _in_a_thread(run)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not said["hung"]
    assert isinstance(said.get("raised"), ClusterError), said
    assert str(said["raised"]).startswith(f"lost the Dask scheduler at {address} before every "
                                          "run had finished ("), said["raised"]
    assert not [v for v in got if isinstance(v, Failure)]  # none counted as a failed run
    assert 1 <= len(got) < 40


@pytest.mark.slow
def test_a_sweep_that_loses_its_scheduler_says_what_is_saved_and_how_to_go_on(tmp_path):
    pytest.importorskip("dask.distributed")
    import os
    import signal
    import time

    script = tmp_path / "cluster.py"
    script.write_text(_CLUSTER)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {ROOT / 'scenarios' / 'default.yaml'}\nreplications: 60\n"
                     "set: {warmup_days: 7, duration_days: 56}\n"
                     "grid:\n  policy.name: [access_first, usual_gp_first]\n")
    out = tmp_path / "out"
    cluster_proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                                    text=True, start_new_session=True)
    try:
        address = cluster_proc.stdout.readline().strip()
        command = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(sweep),
                                    "--scheduler", address, "--out", str(out)], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and not list(out.glob("runs/*/metadata.json")):
            time.sleep(0.02)
        os.killpg(cluster_proc.pid, signal.SIGKILL)
        _, err = command.communicate(timeout=120)
    finally:
        if cluster_proc.poll() is None:
            os.killpg(cluster_proc.pid, signal.SIGKILL)
        cluster_proc.wait()
    saved = len(list(out.glob("runs/*/metadata.json")))
    assert command.returncode == 1, err
    assert 1 <= saved < 120
    assert (f"error: lost the Dask scheduler at {address} before every run had finished ("
            in err), err
    assert (f"Is it still running, and can this machine reach it? {saved} of 120 runs are "
            f"saved in {out / 'runs'}. Run the same command again to resume: saved runs are "
            "skipped.") in err, err
    assert "failed:" not in err and not list(out.glob("failures/*"))


class _CancelledWhileFetched:
    """A Dask future finished when asked, then cancelled as its result is fetched."""

    def cancelled(self):
        return False

    def result(self):
        from distributed.client import FutureCancelledError

        raise FutureCancelledError(key="run-7", reason="scheduler-connection-lost")


def test_a_run_cancelled_while_its_result_is_fetched_is_the_lost_scheduler_not_a_failure():
    # The race the test above met once on CI: asked, the run had finished; fetched,
    # Dask had cancelled it on losing the scheduler. Captured or not, it stops every run.
    pytest.importorskip("dask.distributed")
    from sim.runs.executor import _result

    for capture_errors in (False, True):
        with pytest.raises(ClusterError, match=r"^lost the Dask scheduler at tcp://h:1 before "
                           r"every run had finished \(scheduler-connection-lost\)"):
            _result(_CancelledWhileFetched(), capture_errors,
                    lambda f: cluster.result_of(f, "tcp://h:1"))
