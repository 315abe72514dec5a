"""The benchmark: its scaled scenario stays valid, its arguments are checked (no timing here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from practices import scaled_scenario


def test_scaled_scenario_is_valid_and_scaled():
    s = scaled_scenario(30_000, days=7)
    assert s.population.size == 30_000
    assert len(s.clinicians) == 3 * 16
    assert len(s.teams) == 3 * 4


@pytest.mark.parametrize("args, says", [
    (["--frob"], "unknown option '--frob'"),
    (["10k"], "a list size must be a whole number, not '10k'"),
    (["0"], "a list size must be 1 or more, not 0"),
    (["--workers", "x"], "--workers' number of practices must be a whole number"),
    (["--timeline", "0"], "--timeline's workers must be 1 or more, not 0"),
    (["--choose", "two"], "--choose's workers must be a whole number"),
    (["--calibrated", "0"], "--calibrated's workers must be 1 or more, not 0"),
    (["--tail", "ten"], "--tail's number of BNSSGs must be a whole number, not 'ten'"),
    (["--speedup", "six"], "--speedup's number of pairs must be a whole number, not 'six'"),
    (["--speedup", "6", "0"], "--speedup's workers must be 1 or more, not 0"),
])
def test_bad_arguments_get_a_message_and_the_usage_not_a_traceback(args, says):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), *args],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert says in p.stderr and "--targets" in p.stderr  # the usage lists the options
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_help_prints_the_usage():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--help"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "--network" in p.stdout and p.stderr == ""
    assert "--timeline" in p.stdout and "--choose" in p.stdout


def test_the_timeline_s_larger_network_is_bnssg_several_times_over(tmp_path):
    """``--one-timeline command W 10``: BNSSG's practices copied, ids distinct, one hub."""
    from bench import _bnssg_times

    from sim.inputs.networks import load_network

    bnssg = load_network(ROOT / "scenarios" / "networks" / "bnssg.yaml")
    twice = load_network(_bnssg_times(2, tmp_path))
    ids = [pid for pid, _ in twice.practices]
    assert len(ids) == len(set(ids)) == 2 * len(bnssg.practices)
    assert ids[:2] == ["c0_practice_01", "c0_practice_02"]
    assert ids[len(bnssg.practices)] == "c1_practice_01"
    assert twice.hub_ids == bnssg.hub_ids
    assert ([s.population.size for _, s in twice.practices]
            == 2 * [s.population.size for _, s in bnssg.practices])


def test_the_command_s_running_phase_ends_when_the_last_result_is_received(tmp_path):
    """``--one-timeline command``'s marks come in order, and the network's summary after.

    The running phase once ended only when the command asked for a result past
    the last, so the summary made for the last practice counted as running.
    """
    from bench import marked_command

    net = tmp_path / "net.yaml"
    net.write_text("name: two\nseed: 3\npractices:\n" + "".join(
        f"  - {{id: p{i}, scenario: {ROOT / 'scenarios' / 'default.yaml'}, set: "
        "{population.size: 1500, warmup_days: 7, duration_days: 28}}\n" for i in range(2)))
    marks, started, ended = marked_command(net, 2, tmp_path / "out")
    order = ["imported", "loaded", "ran", "summing", "summed", "drawn", "returned"]
    times = [started, *(marks[k] for k in order), ended]
    assert times == sorted(times), marks
    assert (tmp_path / "out" / "report.html").is_file()


def test_the_many_point_sweep_timeline_has_a_run_a_point_and_no_report():
    """``--one-timeline sweep-points 40 W``: 2 policies x 20 capacities, phases adding up."""
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--one-timeline",
                        "sweep-points", "40", "2"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["case"] == "sweep of 40 points, one short run each" and r["runs"] == 40
    assert r["running"] in r["phases"]
    assert sum(r["phases"].values()) == pytest.approx(r["wall_s"], abs=1e-6)


@pytest.mark.parametrize("cores, counts", [(1, [1, 2, 4]), (2, [1, 2, 4]), (6, [1, 2, 4, 6]),
                                           (16, [1, 2, 4, 8, 16]), (24, [1, 2, 4, 8, 16, 24])])
def test_workers_case_goes_up_to_every_core(cores, counts):
    """--workers measures up to the machine's cores (16 on a lent machine), and past two."""
    from bench import worker_counts

    assert worker_counts(cores) == counts


def test_the_calibrated_network_s_practices_each_have_their_own_list(tmp_path):
    """``--calibrated``: copies of one calibrated practice, each with its own files, a hub."""
    from bench import calibrated_network

    from sim.inputs.networks import load_network

    net = load_network(calibrated_network(tmp_path, copies=2))
    lists = [s.population.list_file for _, s in net.practices]
    assert [pid for pid, _ in net.practices] == ["p01", "p02"] and len(set(lists)) == 2
    assert all(s.population.history_file and s.population.size == 10_000
               for _, s in net.practices)
    assert net.hub_ids == {"hub_gp_1", "hub_gp_2"}


def test_the_many_cores_script_is_valid_and_runs_only_cases_bench_has():
    import re

    script = ROOT / "benchmarks" / "many_cores.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    cases = re.search(r'for case in (.*); do', script.read_text(encoding="utf-8")).group(1)
    names = re.findall(r'"(\w+)', cases)
    usage = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--help"],
                           capture_output=True, text=True).stdout
    assert names == ["baseline", "workers", "timeline", "calibrated", "speedup"]
    assert all(f"--{name}" in usage for name in names)
    # the project's bytecode cached first, for every package bench.py counts
    from bench import PACKAGES

    compiled = re.search(r"python -m compileall -q ([\w ]+)", script.read_text(encoding="utf-8"))
    assert compiled.group(1).split() == list(PACKAGES)
    # ... which are the packages the project installs
    import tomllib

    found = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = found["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(p.rstrip("*") for p in installed) == sorted(PACKAGES)


def test_one_case_can_run_again_in_the_same_process():
    """``--one N POLICY --again``: the fresh process's run and the same run again, both reported."""
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--one", "500",
                        "usual_gp_first", "--again"], capture_output=True, text=True, check=True)
    figures = json.loads(p.stdout.strip().splitlines()[-1])
    assert figures["patients"] == 500 and figures["requests"] > 0
    assert figures["wall_s"] > 0 and figures["again_s"] > 0
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--one", "500"],
                       capture_output=True, text=True, check=True)
    assert "again_s" not in json.loads(p.stdout.strip().splitlines()[-1])


def test_the_note_on_uncached_bytecode_counts_what_each_process_would_compile(
        tmp_path, monkeypatch):
    """Said only where Python writes no bytecode and the project's modules have none cached."""
    import compileall

    from bench import PACKAGES, bytecode_note, uncached_modules

    for package in PACKAGES:
        (tmp_path / package / "inner").mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "inner" / "module.py").write_text("X = 1\n")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert uncached_modules(tmp_path) == 2 * len(PACKAGES)
    note = bytecode_note(tmp_path)
    assert f"{2 * len(PACKAGES)} of the project's modules have none cached" in note
    assert "PYTHONDONTWRITEBYTECODE" in note and "python -m compileall -q gpsim sim" in note
    compileall.compile_file(str(tmp_path / "sim" / "inner" / "module.py"), quiet=1)
    assert uncached_modules(tmp_path) == 2 * len(PACKAGES) - 1
    left = tmp_path / PACKAGES[0] / "__init__.py"  # every module but this one cached: "has"
    for module in tmp_path.rglob("*.py"):
        if module != left:
            compileall.compile_file(str(module), quiet=1)
    assert "1 of the project's modules has none cached" in bytecode_note(tmp_path)
    assert compileall.compile_dir(str(tmp_path), quiet=1)
    assert uncached_modules(tmp_path) == 0 and bytecode_note(tmp_path) is None
    # Where Python writes bytecode as it imports, a module is compiled once, ever: no note.
    for cached in tmp_path.rglob("*.pyc"):
        cached.unlink()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert uncached_modules(tmp_path) == 0 and bytecode_note(tmp_path) is None


def test_a_case_in_its_own_process_reports_its_processor_time_and_page_faults():
    """What the phases do not show (system time, pages the kernel hands out) is counted."""
    import bench

    r = bench._child("--one-naive", "500", "access_first")
    cpu = r["processor"]
    assert cpu["user_s"] > 0 and cpu["system_s"] >= 0
    assert cpu["minor_faults"] > 1_000  # an interpreter with numpy: several thousand pages
    assert "wall_s" in r  # (the case's own figures are kept beside it)


def _timeline(serial: float, running: float) -> dict:
    return {"wall_s": serial + running, "running": "r",
            "phases": {"before": serial / 2, "r": running, "after": serial / 2}}


def test_the_speedup_verdict_is_the_pairs_mean_and_its_interval_against_the_aim():
    """``--speedup``'s arithmetic: pair ratios, their t-interval, and the serial ceiling.

    Three pairs with a serial part of 1 s on both sides and running phases of
    18 s against 9.5 s (ratios 1.9x); then pairs spread around the aim.
    """
    from bench import speedup_summary

    s = speedup_summary([(_timeline(1.0, 18.0), _timeline(1.0, 9.5))] * 2
                        + [(_timeline(1.0, 18.0), _timeline(1.0, 9.0))], workers=2)
    assert s["ratios"] == pytest.approx([19 / 10.5, 19 / 10.5, 19 / 10.0])
    assert s["mean"] == pytest.approx((2 * 19 / 10.5 + 1.9) / 3)
    # Student's t with two degrees of freedom: 4.303 times the standard error
    import statistics

    se = statistics.stdev(s["ratios"]) / 3 ** 0.5
    assert s["high"] - s["mean"] == pytest.approx(4.3027 * se, rel=1e-4)
    assert s["low"] < 1.8 < s["high"] and s["verdict"] == "at the line"
    assert s["of_means"] == pytest.approx(19 / ((10.5 + 10.5 + 10.0) / 3))
    assert s["running"] == pytest.approx(18 / 9.5)  # the median pair
    assert s["serial_s"] == pytest.approx(1.0) and s["serial_share"] == pytest.approx(1 / 10.5)
    assert s["ceiling"] == pytest.approx(19 / 10)  # (1 + 18) / (1 + 18 / 2)

    fast = speedup_summary([(_timeline(0.2, 18.0), _timeline(0.2, 9.0 + d))
                            for d in (0.0, 0.05, 0.1)], workers=2)
    slow = speedup_summary([(_timeline(3.0, 18.0), _timeline(3.0, 9.0 + d))
                            for d in (0.0, 0.05, 0.1)], workers=2)
    assert fast["verdict"] == "met" and fast["low"] >= 1.8
    assert slow["verdict"] == "not met" and slow["high"] < 1.8
    assert slow["ceiling"] == pytest.approx(21 / 12)  # the serial part alone caps it at 1.75x
    # more workers: the 60% efficiency (9.6x for 16)
    sixteen = speedup_summary([(_timeline(0.5, 16.0), _timeline(0.5, 1.0 + d))
                               for d in (0.0, 0.05, 0.1)], workers=16)
    assert sixteen["aim"] == pytest.approx(9.6) and sixteen["verdict"] == "met"
