"""Hostile and careless inputs: a named problem, exit 2, no traceback, nothing written.

Nothing is read that should not be (issue 26, items 3 to 8).

The files are in ``tests/data/hostile/``; exports are made here. Kills use real signals.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import DEFAULT, ROOT

HOSTILE = ROOT / "tests" / "data" / "hostile"
PASSWD_FIRST = open("/etc/passwd").readline().strip() if os.path.exists("/etc/passwd") else "root:"


def gpsim(*args: str, cwd=ROOT, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def refused(p: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, one line per problem, no traceback; every word appears in the message."""
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and "unexpected" not in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)


# ------------------------------------------------------------------ 3. files read from anywhere


@pytest.mark.parametrize(("name", "key"), [
    ("extends_outside.yaml", "extends"), ("extends_climbs_out.yaml", "extends"),
    ("list_outside.yaml", "population.list_file")])
def test_a_scenario_cannot_read_a_file_outside_the_folders_the_user_chose(name, key, tmp_path):
    for command in (["validate"], ["run", "--out", str(tmp_path / "o")]):
        p = gpsim(command[0], str(HOSTILE / name), *command[1:])
        refused(p, f"{name}:", f"{key}:", "outside the folders input files may refer to")
        assert PASSWD_FIRST not in p.stderr and "localhost" not in p.stderr
    assert not (tmp_path / "o").exists()


def test_a_link_inside_the_folder_that_points_outside_is_refused(tmp_path):
    (tmp_path / "base.yaml").symlink_to("/etc/passwd")
    (tmp_path / "mine.yaml").write_text("extends: base.yaml\n")
    p = gpsim("validate", str(tmp_path / "mine.yaml"))
    refused(p, "outside the folders input files may refer to")
    assert PASSWD_FIRST not in p.stderr


def test_networks_and_sweeps_cannot_read_outside_either():
    p = gpsim("validate", str(HOSTILE / "network_outside.yaml"))
    refused(p, "practices[0].scenario", "practices[1].appointments", "outside the folders")
    p = gpsim("validate", str(HOSTILE / "sweep_base_outside.yaml"))
    refused(p, "sweep_base_outside.yaml:1: base:", "outside the folders")
    assert PASSWD_FIRST not in p.stderr


def test_a_users_own_folder_and_the_shipped_scenarios_still_work(tmp_path):
    project = tmp_path / "mine"
    (project / "lists").mkdir(parents=True)
    (project / "variant.yaml").write_text(
        f"extends: {DEFAULT}\nname: Mine\n")             # the shipped base, by absolute path
    (project / "sub.yaml").write_text("extends: variant.yaml\n")
    p = gpsim("validate", str(project / "sub.yaml"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr


# ------------------------------------------------------------------ 4. code from a data file


@pytest.mark.parametrize("name", ["policy_imports_module.yaml", "policy_relative_module.yaml"])
def test_a_policy_name_in_a_file_imports_nothing(name):
    p = gpsim("validate", str(HOSTILE / name))
    refused(p, "policy.name", "an input file cannot run code", "--policy-class")
    assert "Beautiful is better than ugly" not in p.stdout + p.stderr


def test_a_policy_class_the_user_enables_on_the_command_line_runs(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(f"extends: {DEFAULT}\npolicy: {{name: 'custom_policy:FirstListedClinician'}}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(f),
                        "--policy-class", "custom_policy:FirstListedClinician"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(f),
                        "--policy-class", "not a path"], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=120)
    refused(p, "give package.module:Class")


# ------------------------------------------------------------------ 5. unbounded grids


def test_a_sweep_of_a_million_runs_is_refused_in_under_a_second():
    from sim import ScenarioError
    from sim.inputs.sweeps import load_sweep

    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"asks for 3,000,000 runs \(1000 x 1000 grid values"):
        load_sweep(HOSTILE / "huge_grid_sweep.yaml")
    assert time.perf_counter() - t0 < 1.0
    p = gpsim("sweep", str(HOSTILE / "huge_grid_sweep.yaml"))
    refused(p, "huge_grid_sweep.yaml:3: grid:", "the most allowed is 10,000", "--max-runs")
    p = gpsim("validate", str(HOSTILE / "huge_grid_sweep.yaml"), "--max-runs", "0")
    assert p.returncode == 2 and "must be 1 or more" in p.stderr


# ------------------------------------------------------------------ 6. crashes become messages


def test_dates_that_do_not_exist_are_named_at_their_lines():
    p = gpsim("validate", str(HOSTILE / "dates_that_do_not_exist.yaml"))
    refused(p, "dates_that_do_not_exist.yaml:2: start_date: '2024-02-30' is not a real date",
            ":4: practice.closed_dates[1]: '2024-13-01' is not a real date")
    p = gpsim("validate", str(HOSTILE / "date_far_away.yaml"))
    refused(p, "date_far_away.yaml:2: start_date: 9999-12-01 is outside the dates")
    p = gpsim("run", str(DEFAULT), "--set", "start_date=2024-02-30", "--out", "/nonexistent/x")
    refused(p, "--set 'start_date=2024-02-30'", "is not a real date")


def test_a_number_is_never_taken_from_true_or_false():
    p = gpsim("validate", str(HOSTILE / "booleans_for_numbers.yaml"))
    refused(p, ":3: population.size: a number is wanted here, not true or false",
            ":5: practice.booking_horizon_days: a number is wanted here")


def test_sweeps_and_networks_name_a_bad_date_too(tmp_path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"base: {DEFAULT}\nset: {{start_date: 2023-02-29}}\n")
    refused(gpsim("validate", str(sweep)), "s.yaml:2: set.start_date: '2023-02-29'")
    net = tmp_path / "n.yaml"
    net.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}, set: {{start_date: 9999-01-01}}}}\n")
    refused(gpsim("validate", str(net)), "start_date", "outside the dates")


@pytest.mark.parametrize("when", ["01/01/1000", "31/12/9999"])
def test_placeholder_dates_in_exports_are_named_not_crashes(tmp_path, when):
    visits = tmp_path / "visits.csv"
    visits.write_text(f"patient_id,date,clinician_id\n1,02/01/2024,a\n2,{when},b\n")
    refused(gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv")),
            "column date: unreadable at line 3", "with a year from 1900 to 2199")
    export = tmp_path / "appointments.csv"
    export.write_text("patient_id,clinician_id,role,booked_at,appointment_at,status\n"
                      f"1,dr_a,GP,01/01/2024,02/01/2024 09:00,attended\n"
                      f"2,dr_a,GP,{when},03/01/2024 09:00,attended\n")
    refused(gpsim("calibrate", str(export), "--out", str(tmp_path / "p.yaml")),
            "(booked_at): unreadable date at line 3")
    assert not (tmp_path / "p.yaml").exists() and not (tmp_path / "i.csv").exists()


# ------------------------------------------------------------------ 8. bad data taken silently

HEADER = "patient_id,clinician_id,role,booked_at,appointment_at,status\n"


def test_repeated_rows_in_an_export_are_refused_or_dropped_as_asked(tmp_path):
    rows = "".join(f"{i},dr_a,GP,01/01/2024,02/01/2024 09:{i:02d},attended\n" for i in range(5))
    export = tmp_path / "e.csv"
    export.write_text(HEADER + rows + rows)          # the whole file copied into itself
    refused(gpsim("calibrate", str(export), "--out", str(tmp_path / "p.yaml"), "--no-fit"),
            "5 row(s) repeat an earlier row in every column, at lines 7, 8, 9, 10, 11",
            "--duplicates drop")
    visits = tmp_path / "v.csv"
    visits.write_text("patient_id,date,clinician_id\n1,2024-01-02 09:00,a\n"
                      "1,2024-01-02 09:00,a\n2,2024-01-03 10:00,b\n")
    refused(gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv")),
            "1 row(s) repeat an earlier row", "at line 3")
    p = gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv"), "--duplicates", "drop")
    assert p.returncode == 0 and "1 rows that repeated an earlier row dropped" in p.stdout


def test_clinician_names_that_differ_only_in_case_or_spaces_are_not_split_silently(tmp_path):
    visits = tmp_path / "v.csv"
    visits.write_text("patient_id,date,clinician_id\n1,2024-01-02,DR ADAMS\n"
                      "1,2024-02-02,Dr Adams\n1,2024-03-02,Dr. Adams\n2,2024-01-05,Dr Brown\n")
    refused(gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv")),
            "'DR ADAMS' / 'Dr Adams' / 'Dr. Adams' (lines 2, 3, 4)", "--clinician-names merge")
    p = gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv"),
              "--clinician-names", "merge")
    assert p.returncode == 0, p.stderr
    assert "1,3,1,1.0" in (tmp_path / "i.csv").read_text()  # three visits, one clinician


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    visits = tmp_path / "v.csv"
    visits.write_text("patient_id,date,clinician_id,date\n1,2024-01-02,a,2024-01-03\n")
    refused(gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv")),
            "line 1: the header names 'date' more than once")


def test_line_numbers_are_file_lines_when_a_cell_holds_a_line_break(tmp_path):
    visits = tmp_path / "v.csv"
    visits.write_text('patient_id,note,date,clinician_id\n1,"two\nlines",2024-01-02,a\n'
                      "2,x,soon,b\n")
    refused(gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv")),
            "column date: unreadable at line 4")


def test_formula_cells_from_an_export_are_neutralised_in_every_csv_written(tmp_path):
    visits = tmp_path / "v.csv"
    visits.write_text("patient_id,date,clinician_id\n=cmd|' /C calc'!A0,2024-01-02,a\n"
                      "=cmd|' /C calc'!A0,2024-02-02,a\n@SUM(A1),2024-01-05,b\n")
    p = gpsim("indices", str(visits), "--out", str(tmp_path / "i.csv"))
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "i.csv").read_text()
    assert "'=cmd|' /C calc'!A0" in text and "'@SUM(A1)" in text
    assert "\n=" not in text and "\n@" not in text and ",=" not in text


# ------------------------------------------------------------------ 7. processes that outlive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


@pytest.mark.parametrize("method", [None, "forkserver", "spawn"])
def test_workers_end_when_their_parent_is_killed(tmp_path, method):
    """Whichever way they were started.

    Forked (where the parent runs no other thread), by a fork server (beside a thread,
    as in the app: its workers are the server's children, not the parent's), or
    spawned (as on macOS and Windows).
    """
    if method and method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing, os, sys, threading, time
        from pathlib import Path
        import sim.runs.executor
        from sim.runs.executor import execute

        def slow(i):
            Path({str(tmp_path)!r}, f"worker-{{i}}").write_text(str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            if {method!r} == "spawn":  # Python's default kept, as on macOS and Windows
                multiprocessing.set_start_method("spawn")
                sim.runs.executor.worker_context = lambda: None
            elif {method!r}:  # (with a thread beside, as in the app: not forked here)
                threading.Thread(target=threading.Event().wait, daemon=True).start()
            for _ in execute(list(range(2)), slow, workers=2, progress=False):
                pass
    """))
    parent = subprocess.Popen([sys.executable, str(script)],
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    workers = [int(f.read_text()) for f in tmp_path.glob("worker-*")]
    assert len(workers) == 2
    assert all(_alive(w) for w in workers)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "a worker outlived its killed parent"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_the_app_server_ends_when_gpsim_app_is_killed(tmp_path):
    port = _free_port()
    app = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "app", "--port", str(port)],
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not _listening(port) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _listening(port), "the app did not start"
        os.kill(app.pid, signal.SIGKILL)
        app.wait()
        deadline = time.monotonic() + 10
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(port), "Streamlit kept listening after gpsim app was killed"
    finally:
        if app.poll() is None:
            app.kill()
