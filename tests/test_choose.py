"""``gpsim choose``: question files checked strictly, and a small choice run end to end.

The selection's statistical guarantee is checked on synthetic outputs in
test_selection.py; here the whole machinery runs on a small practice, with
answers known by construction: a clearly worse option is screened out, two
identical options cannot be told apart, and the same question gives the same
files whatever the number of workers, and again after a resume.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from gpsim.choose import choose, load
from sim import ScenarioError

SMALL = "set: {population.size: 1500, warmup_days: 7, duration_days: 35}\n"

QUESTION = f"""name: Small question
base: {DEFAULT}
seed: 7
{SMALL}options:
  - name: good
    set: {{policy.name: usual_gp_first, policy.params.adherence: 0.9}}
  - name: same_as_good
    set: {{policy.name: usual_gp_first, policy.params.adherence: 0.9}}
  - name: poor
    set: {{policy.name: usual_gp_first}}
    search:
      policy.params.adherence: [0.0]
objective: {{measure: slicc, direction: maximise}}
constraints:
  - {{measure: urgent_same_day_share, at_least: 0.5}}
search: {{trials: 3, replications: 2, batch: 3}}
selection: {{finalists: 3, indifference_zone: 0.02, first_stage: 4, max_replications: 12}}
robustness:
  assumptions:
    population.values_continuity_share: {{low: 0.4, high: 0.6}}
    policy.params.adherence: {{low: 0.3, high: 0.9}}
  trajectories: 2
  sobol_samples: 2
  sobol_top: 1
  replications: 1
"""


def write(tmp_path, text: str, name: str = "question.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def test_the_shipped_example_is_a_valid_question():
    q = load(ROOT / "scenarios" / "choices" / "continuity_without_longer_waits.yaml")
    assert [o.name for o in q.spec.options] == ["usual_gp_first", "personalised_micro_teams"]
    assert q.today.policy.name == "access_first"
    # Adherence is a parameter of the continuity policies only: today's does not take it.
    assert q.not_applicable == {"today": {"policy.params.adherence"}}


def test_every_problem_is_named_with_its_line_in_one_pass(tmp_path):
    bad = QUESTION.replace("measure: slicc", "measure: slic").replace(
        "policy.params.adherence: [0.0]", "policy.params.adherance: [0.0]").replace(
        "{low: 0.4, high: 0.6}", "{low: 0.6, high: 0.4}").replace(
        "at_least: 0.5}", "at_least: 0.5, at_most: 0.9}")
    f = write(tmp_path, bad)
    with pytest.raises(ScenarioError) as err:
        load(f)
    text = "\n".join(str(p) for p in err.value.problems)
    # Schema problems come first, each at its line...
    assert "question.yaml:16: constraints[0]: give exactly one of at_most and at_least" in text
    assert "question.yaml:21: robustness.assumptions.population.values_continuity_share: " \
           "high (0.4) must be more than low (0.6)" in text
    f = write(tmp_path, QUESTION.replace("measure: slicc", "measure: slic").replace(
        "policy.params.adherence: [0.0]", "policy.params.adherance: [0.0]"))
    with pytest.raises(ScenarioError) as err:
        load(f)
    text = "\n".join(str(p) for p in err.value.problems)
    # ... then the measures, then every option's settings as a scenario.
    assert "question.yaml:14: objective.measure: unknown measure 'slic'; did you mean 'slicc'?" \
        in text
    f = write(tmp_path, QUESTION.replace("policy.params.adherence: [0.0]",
                                         "policy.params.adherance: [0.0]"))
    with pytest.raises(ScenarioError) as err:
        load(f)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "question.yaml:13: options[2].search.policy.params.adherance: " in text
    assert "'adherance'" in text and "adherence" in text


def test_a_bad_question_exits_2_with_no_traceback(tmp_path):
    f = write(tmp_path, QUESTION.replace("name: poor", "name: good"))
    p = sh("choose", str(f), "--out", str(tmp_path / "out"))
    assert p.returncode == 2
    assert "options[2].name: option name 'good' is used twice" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()
    p = sh("validate", str(f))
    assert p.returncode == 2 and "used twice" in p.stderr


def test_a_small_choice_has_the_known_answer_and_the_same_files_on_any_workers(tmp_path):
    q = load(write(tmp_path, QUESTION))
    one = choose(q, tmp_path / "one", workers=1)
    # The two identical options cannot be told apart; the poor one and today are worse.
    by_name = {f.candidate.option: f for f in one.finalists}
    assert one.chosen is not None and one.chosen.option in ("good", "same_as_good")
    other = "same_as_good" if one.chosen.option == "good" else "good"
    assert by_name[other].status == "tied" and one.tied == [by_name[other].candidate]
    assert by_name["poor"].status == "screened out"
    assert by_name["today"].status == "screened out"
    table = pd.read_csv(tmp_path / "one" / "choice.csv")
    assert table.loc[table["chosen"], "probability_of_correct_selection"].item() == 0.95
    assert set(table["status"]) == {"chosen", "tied", "screened out"}
    html = (tmp_path / "one" / "choice.html").read_text()
    import html5lib

    html5lib.HTMLParser(strict=True).parse(html)  # well-formed, as a browser reads it
    assert "Adopt usual-GP-first" in html and "cannot be told apart" in html
    assert "Robustness of the choice" in html and "Morris" in html
    # Adherence applies to the options, not to today's access-first practice.
    assert "does not apply to today" in html
    rob = pd.read_csv(tmp_path / "one" / "robustness.csv")
    assert len(rob) == 2 * 3 + 2 * 3  # Morris: 2 x (2 + 1); Sobol on the top one: 2 x (1 + 2)
    # Same files from two workers; and a resumed choice makes no runs and writes the same.
    two = choose(q, tmp_path / "two", workers=2)
    again = choose(q, tmp_path / "one", workers=2)
    assert two.runs_made == one.runs_made and again.runs_made == 0
    for name in ("choice.html", "choice.csv", "search.csv", "robustness.csv",
                 "sensitivity.csv"):
        first = (tmp_path / "one" / name).read_bytes()
        assert first == (tmp_path / "two" / name).read_bytes(), name


@pytest.mark.slow
def test_a_choice_on_a_dask_cluster_gives_the_same_files(tmp_path):
    import distributed

    f = write(tmp_path, QUESTION)
    assert sh("choose", str(f), "--workers", "1", "--out", str(tmp_path / "local")
              ).returncode == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        p = sh("choose", str(f), "--scheduler", cluster.scheduler_address, "--out",
               str(tmp_path / "dask"))
    assert p.returncode == 0, p.stderr
    assert "Dask scheduler tcp://127.0.0.1" in p.stdout
    for name in ("choice.html", "choice.csv", "search.csv", "robustness.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name
                                                             ).read_bytes(), name


@pytest.mark.slow
def test_an_interrupted_choice_resumes_to_the_same_answer(tmp_path):
    import signal
    import time

    f = write(tmp_path, QUESTION)
    whole = tmp_path / "whole"
    assert sh("choose", str(f), "--workers", "1", "--out", str(whole)).returncode == 0
    out = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "choose", str(f),
                             "--workers", "1", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while len(list((out / "runs").glob("*.json"))) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "the runs finished so far are saved" in err and "Traceback" not in err
    assert not (out / "choice.html").exists()
    saved = len(list((out / "runs").glob("*.json")))
    p = sh("choose", str(f), "--workers", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    made = int(p.stdout.split("(")[-1].split(" made now")[0].replace(",", ""))
    distinct = len(list((whole / "runs").glob("*.json")))
    assert made == distinct - saved and 0 < saved < distinct, p.stdout
    for name in ("choice.html", "choice.csv", "search.csv", "robustness.csv"):
        assert (whole / name).read_bytes() == (out / name).read_bytes(), name


def test_a_run_asked_for_twice_is_made_once_and_counted_as_reused(tmp_path):
    """The report's 'N runs (M made now)' counts every run asked for, however batched."""
    from gpsim.choose import RunStore
    from sim.inputs.loading import load_scenario

    s = load_scenario(DEFAULT, {"population.size": 1500, "warmup_days": 7,
                                "duration_days": 35, "seed": 7})
    store = RunStore(tmp_path / "runs")
    got = store.measure([(s, 0), (s, 0), (s, 1)], "test")
    assert got[0] == got[1] != got[2]
    assert (store.made, store.reused) == (2, 1)
    assert store.measure([(s, 1)], "test") == [got[2]]
    assert (store.made, store.reused) == (2, 2)
