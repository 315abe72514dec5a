"""Sweeps: grid expansion and validation, resume after a kill, failures, Dask, parallel runs."""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from sim import ScenarioError
from sim.inputs.sweeps import load_sweep, run_key

SMALL = "set: {population.size: 1500, warmup_days: 7, duration_days: 28}\n"


def write(tmp_path, body: str, name: str = "sweep.yaml"):
    f = tmp_path / name
    f.write_text(f"base: {DEFAULT}\n{body}")
    return f


def sh(*args: str, env=None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env=env)


def tidy(out) -> pd.DataFrame:
    return pd.read_csv(out / "sweep.csv").sort_values(["point", "replication"]).reset_index(
        drop=True)


def test_grid_and_variants_expand_to_every_combination(tmp_path):
    f = write(tmp_path, "replications: 2\n" + SMALL + "grid:\n"
              "  policy.name: [access_first, usual_gp_first, micro_team]\n"
              "  roles.gp.slots_per_session: [14, 18]\n"
              "variants:\n  - {name: short, set: {practice.booking_horizon_days: 21}}\n"
              "  - {name: long, set: {practice.booking_horizon_days: 35}}\n")
    sw = load_sweep(f)
    assert len(sw.points) == 3 * 2 * 2
    assert len(sw.runs()) == 24
    assert sw.swept == ["policy.name", "roles.gp.slots_per_session", "variant"]
    p = next(p for p in sw.points if p.label == "long-micro_team-18")
    assert p.variant == "long"
    assert p.scenario.policy.name == "micro_team"
    assert p.scenario.roles["gp"].slots_per_session == 18
    assert p.scenario.practice.booking_horizon_days == 35
    assert p.scenario.population.size == 1500
    # One seed for every point (common random numbers); keys differ by point and replication.
    assert len({q.scenario.seed for q in sw.points}) == 1
    assert len({key for _, _, key in sw.runs()}) == 24
    assert run_key(p.scenario, 0) == run_key(p.scenario.model_copy(), 0)


def test_a_run_s_key_hashes_every_value_of_its_resolved_scenario(tmp_path):
    """The key's text holds what the resolved YAML holds; any value changed changes the key."""
    import json

    import yaml

    from sim.inputs.resolve import resolved_yaml
    from sim.inputs.sweeps import _keyed_text

    sw = load_sweep(write(tmp_path, "replications: 1\n" + SMALL + "grid:\n"
                          "  policy.name: [access_first, micro_team]\n"
                          "  roles.gp.slots_per_session: [14, 18]\n"))
    for p in sw.points:
        assert json.loads(_keyed_text(p.scenario)) == yaml.safe_load(resolved_yaml(p.scenario))
    s = sw.points[0].scenario
    nudged = s.model_copy(update={"population": s.population.model_copy(
        update={"size": s.population.size + 1})})
    assert run_key(nudged, 0) != run_key(s, 0) != run_key(s, 1)
    assert len({key for _, _, key in sw.runs()}) == 4
    assert [key for _, _, key in sw.runs()] == [run_key(p.scenario, 0) for p in sw.points]


@pytest.mark.parametrize(("body", "message"), [
    ("grid:\n  roles.gp.slots_per_sesion: [14]\n",
     r"sweep\.yaml:\d+: grid\.roles\.gp\.slots_per_sesion: unknown key 'slots_per_sesion'; did you "
     r"mean 'slots_per_session'"),
    ("grid:\n  workforce.gp_sessions: [1, 2]\n", r"grid\.workforce\.gp_sessions: unknown key "
     r"'workforce'.*\(2 points: "),
    ("grid:\n  policy.name: [access_frist]\n", r"grid\.policy\.name: unknown policy "
     r"'access_frist'; did you mean 'access_first'"),
    ("grid:\n  population.size: [-5]\n", r"grid\.population\.size"),
    ("grid:\n  policy.name: []\n", r"grid\.policy\.name: needs at least one value"),
    ("replications: 0\n", r"replications"),
    ("grids: {}\n", r"grids"),
    ("grid:\n  policy.name: [access_first]\nreport:\n  - {policy.nme: access_first}\n",
     r"sweep\.yaml:5: report\[0\]\.policy\.nme: 'policy\.nme' is not swept by this file "
     r"\(swept: policy\.name\)"),
    ("grid:\n  policy.name: [access_first]\nreport:\n  - {}\n  - {policy.name: micro_team}\n",
     r"(?s)sweep\.yaml:5: report\[0\]: names no swept parameter.*sweep\.yaml:6: "
     r"report\[1\]\.policy\.name: 'micro_team' is not one of its values \(access_first\)"),
    ("grid:\n  policy.name: [access_first]\n"
     "  roles.gp.slots_per_session: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]\n"
     "report:\n  - {policy.name: access_first}\n",
     r"sweep\.yaml:5: report: picks 13 points; a report sets at most 12 side by side"),
    ("replications: 1\ngrid:\n  policy.name: [access_first, micro_team]\nreport:\n"
     "  - {policy.name: micro_team}\n",
     r"sweep\.yaml:5: report: a report compares points by their 95% intervals, which need at "
     r"least 2 replications \(this sweep has 1\): set replications: 2 or more, or leave report: "
     r"out"),
])
def test_bad_sweeps_name_the_file_and_the_path(tmp_path, body, message):
    with pytest.raises(ScenarioError, match=message):
        load_sweep(write(tmp_path, body))


def test_bad_sweep_from_the_cli_exits_2(tmp_path):
    p = sh("sweep", str(write(tmp_path, "grid:\n  policy.name: [access_frist]\n")))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "grid.policy.name" in p.stderr


@pytest.mark.slow
def test_resume_after_kill_gives_the_same_results(tmp_path):
    f = write(tmp_path, "replications: 3\n" + SMALL
              + "grid:\n  policy.name: [access_first, usual_gp_first]\n")
    whole = tmp_path / "whole"
    p = sh("sweep", str(f), "--workers", "1", "--out", str(whole))
    assert p.returncode == 0, p.stderr
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(f),
                             "--workers", "1", "--out", str(killed)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(killed.glob("runs/*/metadata.json"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(killed.glob("runs/*/metadata.json")))
    assert 2 <= done < 6, "killed mid-sweep"
    assert not (killed / "sweep.csv").exists()
    p = sh("sweep", str(f), "--workers", "1", "--out", str(killed))
    assert p.returncode == 0, p.stderr
    assert f"{done} already saved" in p.stdout
    assert len(list(killed.glob("runs/*/metadata.json"))) == 6
    assert not list(killed.rglob(".staging-*")), "stale staging folders are cleaned"
    pd.testing.assert_frame_equal(tidy(killed), tidy(whole))
    # The report names each point as a person reads it, not by its keys.
    report = (whole / "report" / "report.html").read_text(encoding="utf-8")
    assert "Usual-GP-first" in report and "policy.name=" not in report.lower()
    assert "2 points varying booking approach, each from" in report


def test_a_sweep_point_is_named_by_its_parameters_words(tmp_path):
    from analysis.sweep import point_name

    f = write(tmp_path, "replications: 1\n" + SMALL
              + "grid:\n  policy.name: [access_first]\n  roles.gp.slots_per_session: [12]\n"
              + "variants:\n  - {name: lean, set: {roles.gp.slots_per_session: 14}}\n")
    (point,) = load_sweep(f).points
    assert point_name(point) == ("variant lean; booking approach: access-first; "
                                 "slots per session (GP): 12")


def test_report_picks_points_by_their_values_lists_included(tmp_path):
    """``report:`` entries match every point with their values, a list value too."""
    sw = load_sweep(write(tmp_path, "replications: 2\n" + SMALL + "grid:\n"
                          "  policy.name: [access_first, micro_team]\n"
                          "  emergency.continuity.ae_ratio_by_years: [[[0, 1.0], [5, 0.9]], "
                          "[[0, 1.0], [5, 0.8]]]\n"
                          "report:\n  - {emergency.continuity.ae_ratio_by_years: "
                          "[[0, 1.0], [5, 0.8]]}\n  - {policy.name: access_first}\n"))
    picked = [p.values for p in sw.points if p.label in sw.reported]
    assert picked == [
        {"policy.name": "access_first", "emergency.continuity.ae_ratio_by_years": [[0, 1.0], [5, 0.9]]},
        {"policy.name": "access_first", "emergency.continuity.ae_ratio_by_years": [[0, 1.0], [5, 0.8]]},
        {"policy.name": "micro_team", "emergency.continuity.ae_ratio_by_years": [[0, 1.0], [5, 0.8]]}]


def test_a_sweep_of_more_points_than_a_report_compares_writes_its_plots_and_says_so(tmp_path):
    """Over REPORT_POINTS points, or of one replication: the tables and plots, no report.

    An old report in the folder is removed.
    """
    from analysis.sweep import REPORT_POINTS

    out = tmp_path / "out"
    grid = "grid:\n  roles.gp.slots_per_session: [14, 18]\n"
    one = write(tmp_path, "replications: 1\n" + SMALL + grid, "one.yaml")
    p = sh("sweep", str(one), "--workers", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "2 points x 1 replication = 2 runs" in p.stdout
    assert ("no comparison report: with one replication a point there are no 95% intervals to "
            "compare (the table holds every run; set replications: 2 or more for a report)"
            ) in p.stdout
    assert not (out / "report").exists() and len(tidy(out)) == 2
    few = write(tmp_path, "replications: 2\n" + SMALL + grid, "few.yaml")
    p = sh("sweep", str(few), "--workers", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert f"report: {out / 'report' / 'report.html'}" in p.stdout
    n = REPORT_POINTS + 1
    many = write(tmp_path, "replications: 2\n" + SMALL + "grid:\n  roles.gp.slots_per_session: "
                 f"[{', '.join(str(8 + i) for i in range(n))}]\n", "many.yaml")
    p = sh("sweep", str(many), "--workers", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert (f"no comparison report: its {n} points are more than the {REPORT_POINTS} a report "
            "sets side by side (the table holds every run; name up to 12 under report: in the "
            "sweep file)") in p.stdout
    assert not (out / "report").exists(), "the smaller sweep's report is not left behind"
    assert len(tidy(out)) == 2 * n
    assert (out / "plots" / "sweep_roles_gp_slots_per_session.png").is_file()
    again = sh("sweep", str(many), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert (f"all {2 * n} runs are already saved in {out}; writing the tables and plots"
            in again.stdout)
    # The same sweep naming two of its points to report: a report of those, nothing re-run.
    chosen = write(tmp_path, many.read_text().split("\n", 1)[1]
                   + "report:\n  - {roles.gp.slots_per_session: 9}\n"
                   "  - {roles.gp.slots_per_session: 14}\n", "chosen.yaml")
    p = sh("sweep", str(chosen), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "writing the tables, plots and report" in p.stdout
    assert f"report: {out / 'report' / 'report.html'}" in p.stdout
    page = html.unescape((out / "report" / "report.html").read_text(encoding="utf-8"))
    assert (f"2 of the sweep's {n} points (those its file names under report:), varying slots "
            "per session (GP)") in page
    assert len(tidy(out)) == 2 * n


@pytest.mark.slow
def test_a_failing_run_does_not_stop_the_others(tmp_path):
    f = write(tmp_path, "replications: 2\n" + SMALL
              + "grid:\n  policy.name: [access_first, 'custom_policy:BrokenPolicy']\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    p = sh("sweep", str(f), "--workers", "2", "--out", str(out),
           "--policy-class", "custom_policy:BrokenPolicy", env=env)
    assert p.returncode == 1
    assert "2 run(s) failed" in p.stderr and "broken on purpose" in p.stderr
    t = tidy(out)
    assert len(t) == 2 and set(t["policy.name"]) == {"access_first"}
    assert len(list((out / "failures").glob("*.json"))) == 2
    assert (out / "report" / "report.html").is_file()


@pytest.mark.slow
def test_parallel_equals_sequential(tmp_path):
    f = write(tmp_path, "replications: 2\n" + SMALL
              + "grid:\n  roles.gp.slots_per_session: [14, 18]\n")
    a, b = tmp_path / "a", tmp_path / "b"
    assert sh("sweep", str(f), "--workers", "1", "--out", str(a)).returncode == 0
    assert sh("sweep", str(f), "--workers", "2", "--out", str(b)).returncode == 0
    pd.testing.assert_frame_equal(tidy(a), tidy(b))
    assert sorted(p.name for p in (a / "plots").iterdir()) == ["sweep_roles_gp_slots_per_session.png"]


def test_a_sweep_of_replications_only_names_no_plots_folder(tmp_path):
    """Nothing swept, nothing to plot against: the closing line names no (missing) folder."""
    f = write(tmp_path, "replications: 2\n" + SMALL)
    out = tmp_path / "out"
    p = sh("sweep", str(f), "--workers", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert not (out / "plots").exists() and "plots:" not in p.stdout
    assert f"report: {out / 'report' / 'report.html'}" in p.stdout


def test_a_sweep_s_plots_drawn_side_by_side_are_those_drawn_one_after_another(tmp_path):
    """Each plot is drawn in a process of its own: the same bytes as drawn here, in turn."""
    from analysis.sweep import sweep_plots

    f = write(tmp_path, "replications: 1\n" + SMALL + "grid:\n  policy.name: [access_first, "
              "usual_gp_first]\n  roles.gp.slots_per_session: [14, 18]\n")
    out = tmp_path / "out"
    assert sh("sweep", str(f), "--workers", "2", "--out", str(out)).returncode == 0
    here = sweep_plots(pd.read_parquet(out / "sweep.parquet"),
                       ["policy.name", "roles.gp.slots_per_session"], tmp_path / "here")
    assert sorted(p.name for p in (out / "plots").iterdir()) == [p.name for p in here] == [
        "sweep_policy_name.png", "sweep_roles_gp_slots_per_session.png"]
    for p in here:
        assert (out / "plots" / p.name).read_bytes() == p.read_bytes(), p.name


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="figures are drawn in forked processes on Linux only")
def test_a_sweep_forks_its_figures_with_no_other_thread_running(tmp_path, monkeypatch):
    """Each fork of a sweep's tail finds this process's threads as they were before it.

    The sweep's own plots were once drawn by a process pool, whose threads (its
    manager, its queue's feeder) ran while the report forked its slowest figures
    aside: a child forked beside threads can inherit a lock no thread will ever
    release (Python 3.12 and later warn of it). The sweep runs as the command line
    runs it, in a fresh process (this one may have other tests' threads, and then
    draws no figure aside). The plots are the same drawn every way: forked
    there, by a pool where a process cannot fork, or here where a pool's workers
    would run the main script again.
    """
    import json

    import analysis.report
    import analysis.sweep
    from gpsim.sweep import run_sweep
    from sim.processes import UnguardedMain

    f = write(tmp_path, "replications: 2\n" + SMALL + "grid:\n  policy.name: [access_first, "
              "usual_gp_first]\n  roles.gp.slots_per_session: [14, 18]\n")
    script = (
        "import contextlib, json, sys, threading\n"
        "import analysis.report as report\n"
        "from gpsim.cli import main\n"
        "real, seen = report.written_aside, []\n"
        "@contextlib.contextmanager\n"
        "def counted(*writes, **kwargs):\n"
        "    seen.append(threading.active_count())\n"
        "    with real(*writes, **kwargs):\n"
        "        yield\n"
        "report.written_aside = counted\n"
        "before = threading.active_count()\n"
        f"code = main(['sweep', {str(f)!r}, '--workers', '2', '--out', "
        f"{str(tmp_path / 'forked')!r}])\n"
        "print(json.dumps({'code': code, 'before': before, 'seen': seen}))\n")
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    said = json.loads(p.stdout.strip().splitlines()[-1])
    # the sweep's plots, then the report's slowest figures, each with the threads of before
    assert said == {"code": 0, "before": 1, "seen": [1, 1]}
    names = ["sweep_policy_name.png", "sweep_roles_gp_slots_per_session.png"]
    assert sorted(p.name for p in (tmp_path / "forked" / "plots").iterdir()) == names

    monkeypatch.setattr(analysis.report, "_can_draw_side_by_side", lambda: False)
    run_sweep(f, tmp_path / "pooled", workers=1, progress=False)
    # ... and here, one after another, where a pool's workers would run the main
    # script's calls again (a script without its main block, on macOS say).
    def refused(context):
        raise UnguardedMain("the script calls gpsim outside its main block")

    monkeypatch.setattr(analysis.sweep, "refuse_to_run_main_again", refused)
    monkeypatch.setattr(analysis.sweep, "ProcessPoolExecutor", None)  # (not started)
    run_sweep(f, tmp_path / "here", workers=1, progress=False)
    for name in names:
        for drawn in ("pooled", "here"):
            assert ((tmp_path / drawn / "plots" / name).read_bytes()
                    == (tmp_path / "forked" / "plots" / name).read_bytes()), (drawn, name)


@pytest.mark.slow
def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    f = write(tmp_path, "replications: 2\n" + SMALL
              + "grid:\n  policy.name: [access_first, usual_gp_first]\n")
    seq = tmp_path / "seq"
    assert sh("sweep", str(f), "--workers", "1", "--out", str(seq)).returncode == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        out = tmp_path / "dask"
        p = sh("sweep", str(f), "--scheduler", cluster.scheduler_address, "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "Dask scheduler tcp://127.0.0.1" in p.stdout
    pd.testing.assert_frame_equal(tidy(out), tidy(seq))
    # The report's data too: on a cluster this process digests each run as it stores it.
    for f in sorted((seq / "report" / "data").iterdir()):
        pd.testing.assert_frame_equal(pd.read_parquet(out / "report" / "data" / f.name),
                                      pd.read_parquet(f), obj=f.name)
    assert ((out / "report" / "comparison.csv").read_bytes()
            == (seq / "report" / "comparison.csv").read_bytes())


@pytest.mark.slow
def test_ctrl_c_says_what_is_saved_and_a_rerun_says_all_is_done(tmp_path):
    f = write(tmp_path, "replications: 3\n" + SMALL
              + "grid:\n  policy.name: [access_first, usual_gp_first]\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(f),
                             "--workers", "1", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("runs/*/metadata.json"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    saved = len(list(out.glob("runs/*/metadata.json")))
    assert proc.returncode == 130
    if saved < 6:  # interrupted while running (the usual case)
        assert f"interrupted: {saved} of 6 runs are saved in {out / 'runs'}" in err, err
        assert "Run the same command again to resume: saved runs are skipped." in err
    else:  # all runs had finished: interrupted while writing the tables
        assert "interrupted while writing the tables, plots and" in err, err
    assert "nothing was written" not in err
    p = sh("sweep", str(f), "--workers", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    p = sh("sweep", str(f), "--workers", "1", "--out", str(out))
    assert "all 6 runs are already saved" in p.stdout and "running" not in p.stdout


def test_interruption_messages_follow_the_stage(tmp_path):
    from gpsim.sweep import SweepProgress

    st = SweepProgress(tmp_path, total=45, done_before=0, saved=45, stage="writing")
    assert st.interrupted_message() == (
        f"interrupted while writing the tables, plots and any report: all 45 finished runs are "
        f"saved in {tmp_path / 'runs'}. Run the same command again to write them (nothing is "
        "run again).")
    # Once every finished run is counted, it says whether a report is being written.
    st.reporting = False
    assert st.interrupted_message().startswith(
        "interrupted while writing the tables and plots: all 45 finished runs are saved")
    st.reporting = True
    assert st.interrupted_message().startswith(
        "interrupted while writing the tables, plots and report: all 45")
    st.stage, st.saved = "running", 12
    assert st.interrupted_message().startswith("interrupted: 12 of 45 runs are saved")


def test_a_sweep_knows_while_writing_whether_a_report_is_among_what_it_writes(tmp_path,
                                                                            monkeypatch):
    import analysis.sweep
    from gpsim.sweep import run_sweep

    f = write(tmp_path, "replications: 2\n" + SMALL
              + "grid:\n  roles.gp.slots_per_session: [14, 18]\n")
    state = run_sweep(f, tmp_path / "out", workers=1, progress=False)
    assert state.reporting is True and state.report == tmp_path / "out" / "report" / "report.html"
    monkeypatch.setattr(analysis.sweep, "REPORT_POINTS", 1)  # two points are now too many
    again = run_sweep(f, tmp_path / "out", workers=1, progress=False)
    assert again.reporting is False and again.report is None and again.done_before == 4


def test_an_interruption_counts_the_runs_on_disk_not_the_tally(tmp_path):
    """A run stored a moment before the tally heard of it is still said to be saved."""
    from gpsim.sweep import SweepProgress

    keys = ["a", "b", "c"]
    for key in keys[:2]:
        (tmp_path / "runs" / key).mkdir(parents=True)
        (tmp_path / "runs" / key / "metadata.json").write_text("{}")
    st = SweepProgress(tmp_path, total=3, saved=1, stage="running", keys=keys)
    assert st.interrupted_message().startswith("interrupted: 2 of 3 runs are saved")


def two_policies_swept(tmp_path, replications: int):
    """A small sweep of access-first and usual-GP-first, run: (file, out, sweep, labels)."""
    f = write(tmp_path, f"replications: {replications}\n" + SMALL
              + "grid:\n  policy.name: [access_first, usual_gp_first]\n")
    out = tmp_path / "out"
    assert sh("sweep", str(f), "--workers", "2", "--out", str(out)).returncode == 0
    sweep = load_sweep(f)
    return f, out, sweep, [p.label for p in sweep.points]


def test_the_report_adds_runs_up_as_they_come_and_equals_the_stacked_runs(tmp_path):
    """A sweep adds its runs up as they come; its report's data is what stacking gave.

    Whether the workers digested the runs or the parent read them back (a resume).
    """
    import shutil

    from analysis.compare import DATA_TABLES, SPREADS, spreads, stack_runs
    f, out, sweep, labels = two_policies_swept(tmp_path, 2)
    rank = {label: i for i, label in enumerate(labels)}
    data = out / "report" / "data"
    stacked = {}
    for name in DATA_TABLES:
        # Runs in reverse, to show the order is the sweep's, not the order they came in.
        stacked[name] = stack_runs([(p.label, k, pd.read_parquet(out / "runs" / key
                                                                 / f"{name}.parquet"))
                                    for p, k, key in reversed(sweep.runs())], rank)
        if name in SPREADS:  # every wait is in runs/<key>/, not again in the report
            assert not (data / f"{name}.parquet").exists()
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(data / f"{name}.parquet"),
                                          stacked[name])
    for name, table in spreads(stacked, labels).items():
        pd.testing.assert_frame_equal(pd.read_parquet(data / f"{name}.parquet"), table)
    # Read back by the parent (every run already on disk): the same files, byte for byte.
    again = tmp_path / "again"
    shutil.copytree(out / "runs", again / "runs")
    assert sh("sweep", str(f), "--workers", "2", "--out", str(again), "--force").returncode == 0
    for sub in ("sweep.csv", "report/comparison.csv", "report/runs.csv",
                *(f"report/data/{p.name}" for p in data.iterdir())):
        assert (again / sub).read_bytes() == (out / sub).read_bytes(), sub


def test_runs_added_in_any_order_and_joined_in_chunks_give_the_same_tables(tmp_path,
                                                                         monkeypatch):
    from analysis.sweep import SweepTotals, run_digest, tidy_table
    _, out, sweep, labels = two_policies_swept(tmp_path, 3)
    digests = [(p.label, k, run_digest(out / "runs" / key, p.label)) for p, k, key in sweep.runs()]
    whole = SweepTotals()
    for label, k, d in digests:
        whole.add(label, k, d)
    monkeypatch.setattr(SweepTotals, "CHUNK", 2)
    chunked = SweepTotals()
    for label, k, d in reversed(digests):  # in another order, joined two runs at a time
        chunked.add(label, k, d)
    assert len(chunked.chunks["runs"]) == 3
    for name, table in whole.data(labels).items():
        if table is not None:
            pd.testing.assert_frame_equal(chunked.data(labels)[name], table)
    pd.testing.assert_frame_equal(tidy_table(sweep, chunked), tidy_table(sweep, whole))
    assert tidy_table(sweep, whole).to_csv(index=False) == (
        out / "sweep.csv").read_text(encoding="utf-8").replace("\r\n", "\n")


def test_a_worker_s_digest_of_a_run_s_tables_is_the_digest_of_the_files_it_wrote(tmp_path):
    """A worker's digest of the tables it just stored is the digest of the files it wrote.

    The parent reads the files back on a resume: the same small tables (row index,
    dtypes, values) and the same spreads.
    """
    from analysis.compare import DATA_TABLES, SPREADS, reduce_run
    from analysis.sweep import SMALL_TABLES, digest_tables, run_digest
    from sim.runs.sweep import RunAndStore

    f = write(tmp_path, "replications: 1\n" + SMALL + "grid:\n  policy.name: [usual_gp_first]\n")
    point, k, key = load_sweep(f).runs()[0]
    kept = {}

    def keep(tables, label):
        kept["tables"] = tables
        return digest_tables(tables, label)

    made = RunAndStore(reduce_run, tmp_path / "out", digest=keep)((point, k, key))
    read = run_digest(tmp_path / "out" / "runs" / key, point.label)
    assert set(made) == set(read) == {*SMALL_TABLES, *SPREADS.values()}
    for name in SMALL_TABLES:
        pd.testing.assert_frame_equal(made[name], read[name], check_exact=True)
    for name in SPREADS.values():
        pd.testing.assert_frame_equal(made[name].table([point.label]),
                                      read[name].table([point.label]), check_exact=True)
    assert set(kept["tables"]) == set(DATA_TABLES)  # made from the run's tables in memory


def _texts_cut_off(fig) -> list[str]:
    """The figure's drawn texts that reach past its edges (drawn first, to measure them)."""
    from analysis import plots

    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [t.get_text() for t in plots._drawn_texts(fig)
            if not fig.bbox.contains(*t.get_window_extent(r).min)
            or not fig.bbox.contains(*t.get_window_extent(r).max)]


def test_sweep_figures_are_laid_out_with_no_text_overlapping_or_cut_off(tmp_path, monkeypatch):
    """Panels placed by hand: numeric and named parameters, a legend, a y axis with an offset."""
    import matplotlib.figure
    import numpy as np

    from analysis import plots
    from analysis.labels import HEADLINE_GROUPS
    from analysis.sweep import sweep_plots

    metrics = [m for group in HEADLINE_GROUPS.values() for m in group]
    rng = np.random.default_rng(0)
    rows = []
    for slots in (3, 4, 5):
        for policy in ("access_first", "usual_gp_first", "personalised_micro_teams"):
            for k in range(3):
                values = {m: rng.uniform(0.2, 0.9) for m in metrics}
                values[metrics[1]] = 1_234_567 + rng.uniform(0, 0.01)  # drawn with an offset
                values[metrics[2]] = rng.uniform(10_000, 99_999)  # wide tick labels
                rows.append({"point": f"{slots}-{policy}", "roles.gp.slots_per_session": slots,
                             "policy.name": policy, "replication": k, **values})
    seen = []
    save = matplotlib.figure.Figure.savefig

    def check(fig, path, **kw):
        seen.append((path.name, plots.overlapping_texts(fig), _texts_cut_off(fig),
                     fig.axes[1].yaxis.get_major_formatter().get_offset()))
        return save(fig, path, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", check)
    paths = sweep_plots(pd.DataFrame(rows), ["roles.gp.slots_per_session", "policy.name"],
                        tmp_path)
    assert [p.name for p in paths] == [name for name, *_ in seen]
    assert len(seen) == 2
    for name, overlaps, outside, offset in seen:
        assert overlaps == [] and outside == [], (name, overlaps, outside)
        assert offset  # the case that keeps matplotlib's own title placement was drawn


def test_a_sweep_plot_of_one_run_a_point_says_it_has_no_intervals(tmp_path, monkeypatch):
    import matplotlib.figure

    from analysis.sweep import sweep_plot

    titles = []
    save = matplotlib.figure.Figure.savefig

    def keep(fig, path, **kw):
        titles.append(fig.texts[0].get_text())
        return save(fig, path, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    rows = [{"point": f"s{s}", "roles.gp.slots_per_session": s, "replication": k,
             "slicc": 0.3 + 0.01 * s + 0.001 * k} for s in (12, 14) for k in range(2)]
    sweep_plot(pd.DataFrame(rows), ["roles.gp.slots_per_session"],
               "roles.gp.slots_per_session", tmp_path)
    sweep_plot(pd.DataFrame(rows[::2]), ["roles.gp.slots_per_session"],
               "roles.gp.slots_per_session", tmp_path)
    assert "(mean and 95% interval over replications;" in titles[0]
    assert "(one run a point: no intervals;" in titles[1]


def test_a_parameter_beside_many_combinations_is_drawn_as_their_mean_and_range(tmp_path,
                                                                                monkeypatch):
    """Over SERIES_DRAWN combinations of the other parameters: one series, laid out cleanly."""
    import matplotlib.figure
    import numpy as np

    from analysis import plots
    from analysis.sweep import SERIES_DRAWN, combination_ranges, sweep_plots

    slots = list(range(8, 8 + SERIES_DRAWN + 1))  # one combination too many for a series each
    rows = [{"point": f"{p}-{s}", "policy.name": p, "roles.gp.slots_per_session": s,
             "replication": k, "slicc": 0.01 * s + 0.1 * (p == "usual_gp_first") + 0.001 * k,
             "routine_wait_mean_days": 30.0 - s + k}
            for p in ("access_first", "usual_gp_first") for s in slots for k in range(2)]
    tidy = pd.DataFrame(rows)
    got = combination_ranges(tidy, ["slicc"], ["roles.gp.slots_per_session"], "policy.name",
                             ["access_first", "usual_gp_first"])["slicc"]
    # each combination's mean over its two replications, then their mean, lowest, highest
    means = {p: [0.01 * s + 0.1 * (p == "usual_gp_first") + 0.0005 for s in slots]
             for p in ("access_first", "usual_gp_first")}
    want = [(np.mean(v), min(v), max(v)) for v in means.values()]
    np.testing.assert_allclose(got, want, rtol=1e-12)

    seen = {}
    save = matplotlib.figure.Figure.savefig

    def check(fig, path, **kw):
        ax = fig.axes[0]
        seen[path.name] = (plots.overlapping_texts(fig), _texts_cut_off(fig), len(ax.containers),
                           [t.get_text() for t in fig.legends[0].get_texts()],
                           ax.containers[0].lines[0].get_ydata().tolist(), fig.texts[0].get_text())
        return save(fig, path, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", check)
    sweep_plots(tidy, ["policy.name", "roles.gp.slots_per_session"], tmp_path)
    overlaps, outside, series, legend, ys, title = seen["sweep_policy_name.png"]
    assert overlaps == [] and outside == []
    assert series == 1
    assert legend == [f"mean of the {len(slots)} combinations of slots per session (GP) "
                      "(bars: lowest to highest)"]
    np.testing.assert_allclose(ys, [100 * w[0] for w in want], rtol=1e-12)  # a share, in %
    assert "each value's mean over the other parameters' combinations, and their range" in title
    overlaps, outside, series, legend, _, title = seen["sweep_roles_gp_slots_per_session.png"]
    assert overlaps == [] and outside == []
    assert series == 2 and len(legend) == 2  # two policies: a series each, as before
    assert "mean and 95% interval over replications" in title
    # Every combination alike (a measure the parameters do not move): the mean of eleven
    # equal means lands an ulp below them, which is no reason to fail after the last run.
    x = 95.04636963259352
    alike = tidy.assign(routine_wait_mean_days=x)
    got = combination_ranges(alike, ["routine_wait_mean_days"], ["roles.gp.slots_per_session"],
                             "policy.name", ["access_first", "usual_gp_first"])
    # (the case in point; were pandas ever to sum these exactly, pick another value)
    assert (got["routine_wait_mean_days"][:, 0] < x).all()
    sweep_plots(alike, ["policy.name", "roles.gp.slots_per_session"], tmp_path / "alike")
    assert seen["sweep_policy_name.png"][2] == 1
    # Many named values (25 variants): their names turned upright, every other one, with
    # room below the panel for the longest.
    variants = tidy.assign(variant=[f"horizon_{14 + i % 25}_days" for i in range(len(tidy))])
    sweep_plots(variants, ["variant", "policy.name"], tmp_path / "variants")
    overlaps, outside, *_ = seen["sweep_variant.png"]
    assert overlaps == [] and outside == [], (overlaps, outside)


def test_the_commands_import_matplotlib_only_while_their_runs_go_on():
    """A sweep's, a network's and a comparison's code load without matplotlib (workers need none).

    The command imports the drawing code itself once the runs are with the workers
    (``meanwhile``), rather than before it starts them.
    """
    code = ("import sys, gpsim.sweep, gpsim.network, gpsim.compare\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
