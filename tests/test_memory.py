"""The command line keeps the memory one run frees for the next (glibc's thresholds).

Each check runs in a fresh interpreter, so that the allocator's settings are
that process's own, not the test runner's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Ten 4 MiB arrays made and freed together, as a run makes and frees its arrays, six
#: times: the page faults of the last five (the first round finds the heap empty
#: either way). One page is 4 KiB, so a round that gets fresh pages from the system
#: faults about 10,000 times.
_ROUNDS = r"""
import json, resource, sys
sys.path.insert(0, {root!r})
if {keep}:
    from gpsim.memory import keep_freed_memory
    assert keep_freed_memory()
import numpy as np

def round_():
    arrays = [np.ones(4 * 1024 * 1024 // 8) for _ in range(10)]
    del arrays

round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    round_()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
"""


def _faults(keep: bool) -> int:
    p = subprocess.run([sys.executable, "-c", _ROUNDS.format(root=str(ROOT), keep=keep)],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


glibc = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="the thresholds are glibc's (Linux)")


@glibc
def test_freed_memory_is_reused_rather_than_fetched_again():
    plain, kept = _faults(False), _faults(True)
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
        capture_output=True, text=True, check=True)
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

    calls = []
    monkeypatch.setattr(memory, "_kept", None)
    monkeypatch.setattr(memory, "_set_thresholds", lambda: calls.append(1) or False)
    assert memory.keep_freed_memory() is False
    assert memory.keep_freed_memory() is False
    assert calls == [1]
