"""The command line keeps the memory one run frees for the next (glibc's thresholds).

Each check runs in a fresh interpreter, so that the allocator's settings are
that process's own, not the test runner's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Ten 4 MiB arrays made and freed together, as a run makes and frees its arrays, six
#: times: ``faults()`` gives the page faults of the last five (the first round finds the
#: heap empty either way). One page is 4 KiB, so a round that gets fresh pages from the
#: system faults about 10,000 times.
_PROBE = """
import resource
import numpy as np

def faults():
    def round_():
        arrays = [np.ones(4 * 1024 * 1024 // 8) for _ in range(10)]
        del arrays
    round_()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        round_()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
"""

#: The probe in a fresh interpreter, which first keeps freed memory if ``keep``.
_ROUNDS = r"""
import json, sys
sys.path.insert(0, {root!r})
if {keep}:
    from gpsim.memory import keep_freed_memory
    assert keep_freed_memory()
""" + _PROBE.replace("{", "{{").replace("}", "}}") + """
print(json.dumps(faults()))
"""


def _faults(keep: bool, env: dict[str, str] | None = None) -> int:
    p = subprocess.run([sys.executable, "-c", _ROUNDS.format(root=str(ROOT), keep=keep)],
                       capture_output=True, text=True, check=True, env=env)
    return json.loads(p.stdout)


def _environment(**more: str) -> dict[str, str]:
    """This environment without any allocator setting of its own, plus ``more``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    return {**env, **more}


glibc = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="the thresholds are glibc's (Linux)")


@glibc
def test_freed_memory_is_reused_rather_than_fetched_again():
    plain, kept = _faults(False, _environment()), _faults(True, _environment())
    # By default the heap's top is handed back once 8 MiB (twice the largest block
    # freed) is free, so the rounds fault much of their 40 MiB in again (about half of
    # it with glibc 2.36: 25,000 faults).
    assert plain > 10_000, plain
    # Kept: the arrays come back from the heap as it was left.
    assert kept < 1_000, (kept, plain)


@glibc
def test_the_command_line_keeps_freed_memory(tmp_path):
    """``gpsim``'s entry sets the thresholds before anything runs; importing the engine does not."""
    p = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, {root!r})\n"
        "import sim.runs.single, gpsim.cli as cli, gpsim.memory as m\n"
        "print(m._kept)\n"
        "sys.argv = ['gpsim', 'schema', '--out', {out!r}]\n"
        "try:\n    cli.entry(prog='gpsim')\nexcept SystemExit:\n    pass\n"
        "print(m._kept)").format(root=str(ROOT), out=str(tmp_path / "schema.json"))],
        capture_output=True, text=True, check=True, env=_environment())
    said = p.stdout.splitlines()
    assert (said[0], said[-1]) == ("None", "True"), p.stdout + p.stderr
    assert (tmp_path / "schema.json").is_file()


def test_elsewhere_it_does_nothing():
    """Off Linux the thresholds are not glibc's: nothing is set, and it says so."""
    from gpsim import memory

    assert memory._set_thresholds("darwin") is False
    assert memory._set_thresholds("win32") is False


def test_it_is_set_once_a_process(monkeypatch):
    from gpsim import memory

    # (a Dask LocalCluster's nanny, started by an earlier test, puts its own setting in
    # this process's environment)
    for k in (*memory.ENVIRONMENT, "GLIBC_TUNABLES"):
        monkeypatch.delenv(k, raising=False)
    calls = []
    monkeypatch.setattr(memory, "_kept", None)
    monkeypatch.setattr(memory, "_set_thresholds", lambda: calls.append(1) or False)
    assert memory.keep_freed_memory() is False
    assert memory.keep_freed_memory() is False
    assert calls == [1]


#: A worker started afresh (a forkserver's, Python 3.14's default on Linux) by a
#: process that keeps freed memory: the rounds above, in the worker.
_AFRESH = r"""
import json, multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor
sys.path.insert(0, {root!r})
from gpsim.memory import keep_freed_memory
import probe
if __name__ == "__main__":
    keep_freed_memory()
    context = multiprocessing.get_context({method!r})
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        print(json.dumps(pool.submit(probe.faults).result()))
"""


@glibc
@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_workers_started_afresh_keep_freed_memory_too(tmp_path, method):
    """They do not inherit the allocator's settings, so they are given them to start with."""
    (tmp_path / "probe.py").write_text(_PROBE)
    script = tmp_path / "afresh.py"
    script.write_text(_AFRESH.format(root=str(ROOT), method=method))
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       cwd=tmp_path, env=_environment(PYTHONPATH=str(tmp_path)))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[-1]) < 1_000


@glibc
def test_a_setting_already_in_the_environment_stands():
    """Dask's nanny, or a user, who set a threshold has chosen: nothing is changed."""
    env = _environment(MALLOC_TRIM_THRESHOLD_="65536")
    p = subprocess.run([sys.executable, "-c", (
        f"import os, sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from gpsim.memory import keep_freed_memory\n"
        "print(keep_freed_memory(), os.environ['MALLOC_TRIM_THRESHOLD_'], "
        "'MALLOC_MMAP_THRESHOLD_' in os.environ)")],
        capture_output=True, text=True, check=True, env=env)
    assert p.stdout.split() == ["False", "65536", "False"]


@glibc
def test_the_web_app_s_server_is_started_without_the_settings(monkeypatch):
    """``gpsim app`` starts its server with the environment as the command found it."""
    from gpsim import memory

    for k in memory.ENVIRONMENT:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("GPSIM_SOMETHING_ELSE", "kept")
    monkeypatch.setattr(memory, "_kept", True)
    for k, v in memory.ENVIRONMENT.items():
        monkeypatch.setenv(k, v)
    found = memory.environment_as_found()
    assert not set(memory.ENVIRONMENT) & set(found)
    assert found["GPSIM_SOMETHING_ELSE"] == "kept"
