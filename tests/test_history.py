"""Consultations before the simulated period: read from a practice's file, or drawn.

Both booking desks seed who knows whom from the history (the parity switch
"history" in test_engines.py checks they book alike); here: the file is
checked like every other input, a drawn history is what it says, relationship
depth and the A&E proxies' recent UPC start from it, and nothing changes
without one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from analysis.summary import run_summaries
from sim import ScenarioError, build_world, load_scenario, with_seed
from sim.outcomes.emergency import _with_last_year
from sim.runs.single import run

DEFAULT = ROOT / "scenarios" / "default.yaml"


@pytest.fixture()
def practice(tmp_path):
    """A 300-patient list file and a scenario using it, in tmp_path."""
    rng = np.random.default_rng(1)
    bands = ["0-4", "5-14", "15-24", "25-44", "45-64", "65-74", "75-84", "85+"]
    pd.DataFrame({"patient_id": [f"P{i:04d}" for i in range(300)],
                  "age_band": rng.choice(bands, 300)}).to_csv(tmp_path / "list.csv", index=False)
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    data["population"].pop("size")
    data["population"]["list_file"] = "list.csv"
    data["duration_days"] = 56
    return tmp_path, data


def write(tmp_path, data, history: pd.DataFrame | None) -> object:
    if history is not None:
        history.to_parquet(tmp_path / "history.parquet", index=False)
        data["population"]["history_file"] = "history.parquet"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_history_file_seeds_the_pairs_by_list_id(practice):
    tmp_path, data = practice
    h = pd.DataFrame({"patient_id": ["P0003", "P0001"], "clinician_id": ["gp_adams", "pn_khan"],
                      "consultations": [12, 2], "last_year": [4, 2],
                      "years_since_first": [6.5, 0.5]})
    s = with_seed(load_scenario(write(tmp_path, data, h)), 1)
    world = build_world(s)
    ids = list(world.workforce.ids)
    got = {(int(p), ids[c]): (int(n), int(k), y) for p, c, n, k, y in zip(
        world.history.patient, world.history.clinician, world.history.consultations,
        world.history.last_year, world.history.years_since_first, strict=True)}
    assert got == {(1, "pn_khan"): (2, 2, 0.5), (3, "gp_adams"): (12, 4, 6.5)}


@pytest.mark.parametrize("rows, message", [
    ({"patient_id": ["NOBODY"], "clinician_id": ["gp_adams"], "consultations": [1]},
     "name patients not on the list (e.g. 'NOBODY')"),
    ({"patient_id": ["P0001"], "clinician_id": ["dr_who"], "consultations": [1]},
     "clinician(s) not in the scenario: dr_who"),
    ({"patient_id": ["P0001"], "clinician_id": ["gp_adams"], "consultations": [0]},
     "consultations must be whole numbers, 1 or more"),
    ({"patient_id": ["P0001"], "clinician_id": ["gp_adams"], "consultations": [2],
      "last_year": [3]}, "last_year must be whole numbers from 0 to consultations"),
    ({"patient_id": ["P0001", "P0001"], "clinician_id": ["gp_adams"] * 2,
      "consultations": [1, 2]}, "a patient and clinician appear on two rows"),
    ({"patient_id": ["P0001"], "clinician_id": ["gp_adams"]}, "missing column(s) consultations"),
])
def test_a_bad_history_file_is_refused_with_its_key_and_line(practice, rows, message):
    tmp_path, data = practice
    path = write(tmp_path, data, pd.DataFrame(rows))
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    text = str(e.value)
    assert "population.history_file" in text and message in text
    assert f"{path}:" in text  # the scenario's line


KNOWN = pd.DataFrame({"patient_id": ["P0003", "P0001"], "clinician_id": ["gp_adams", "pn_khan"],
                      "consultations": [12, 2]})


@pytest.fixture()
def reads(monkeypatch):
    """Each list and history file read by the loader, counted by path; nothing remembered."""
    import collections

    from sim.inputs import loading

    monkeypatch.setattr(loading, "_CHECKED", {})
    counted: collections.Counter = collections.Counter()

    def counting(read):
        def counted_read(path, *a):
            counted[Path(path).resolve()] += 1
            return read(path, *a)
        return counted_read

    for name in ("read_list", "read_history"):
        monkeypatch.setattr(loading, name, counting(getattr(loading, name)))
    return counted


def test_a_list_and_history_checked_once_are_read_again_only_once_they_change(practice,
                                                                              reads):
    import os

    from sim.files.seen import inputs_read

    tmp_path, data = practice
    path = write(tmp_path, data, KNOWN)
    listed, history = (tmp_path / "list.csv").resolve(), (tmp_path / "history.parquet").resolve()
    first = load_scenario(path)
    with inputs_read() as seen:  # not read again, but still an input no output may replace
        again = load_scenario(path)
    assert first == again and first.population.size == 300
    assert reads == {listed: 1, history: 1} and {listed, history} <= seen
    (tmp_path / "other").mkdir()  # a check that passed never lets a file from outside in
    with pytest.raises(ScenarioError, match=r"list_file: 'list\.csv' is outside the folders"):
        load_scenario(path, roots=[tmp_path / "other"])
    # The list changes (fewer patients; a later modification time, whatever the clock's grain).
    stat = os.stat(listed)
    pd.read_csv(listed).iloc[:250].to_csv(listed, index=False)
    os.utime(listed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_scenario(path).population.size == 250 and reads[listed] == 2
    # A scenario without a clinician the history names is refused, though the files passed.
    data = {**data, "clinicians": [c for c in data["clinicians"] if c["id"] != "pn_khan"],
            "teams": []}
    with pytest.raises(ScenarioError, match=r"clinician\(s\) not in the scenario: pn_khan"):
        load_scenario(write(tmp_path, data, None))
    with pytest.raises(ScenarioError, match=r"clinician\(s\) not in the scenario: pn_khan"):
        load_scenario(tmp_path / "s.yaml")  # a problem is found each time, never remembered
    assert reads[history] == 4


HUB = ("hub:\n  name: h\n  session_starts: {ev: '18:30'}\n  clinicians:\n"
       "    - {id: hub_gp, role: gp, sessions: [mon_ev], slots_per_session: 4}\n")


def _practices_with_lists(tmp_path, data, ids) -> None:
    """``tmp_path/<id>/s.yaml`` for each id: the practice, with its own list and history."""
    import copy
    import shutil

    for pid in ids:
        (tmp_path / pid).mkdir()
        shutil.copy(tmp_path / "list.csv", tmp_path / pid / "list.csv")
        write(tmp_path / pid, copy.deepcopy(data), KNOWN)


def test_a_network_reads_each_list_once_though_its_hub_and_rollout_check_again(practice,
                                                                               reads):
    """The hub's clinicians and a wave's rollout are validated again without the files."""
    from sim.inputs.networks import load_network

    tmp_path, data = practice
    _practices_with_lists(tmp_path, data, ("a", "b"))
    (tmp_path / "net.yaml").write_text(
        "name: n\nseed: 3\nrollout: {policy: {name: usual_gp_first}}\n"
        "waves:\n  - {from: 2025-04-07, practices: [a]}\n"
        "practices:\n  - {id: a, scenario: a/s.yaml}\n  - {id: b, scenario: b/s.yaml}\n"
        + HUB, encoding="utf-8")
    net = load_network(tmp_path / "net.yaml")
    assert reads == {(tmp_path / pid / name).resolve(): 1 for pid in ("a", "b")
                     for name in ("list.csv", "history.parquet")}
    for _, s in net.practices:
        assert s.population.size == 300 and "hub_gp" in [c.id for c in s.clinicians]
    assert [len(s.policy_changes) for _, s in net.practices] == [1, 0]


def test_a_history_file_needs_a_list_and_not_a_drawn_history_too():
    with pytest.raises(ScenarioError, match="history_file needs list_file"):
        load_scenario(DEFAULT, {"population.history_file": "h.parquet"})
    with pytest.raises(ScenarioError, match="not both"):
        load_scenario(DEFAULT, {"population.history_file": "h.parquet", "population.list_file":
                                "l.csv", "population.history": {"years": 1}})


def test_a_drawn_history_is_what_it_says():
    s = with_seed(load_scenario(DEFAULT, {"population.history": {
        "years": 4, "gp_share": 0.5, "usual_gp_share": 0.6}}), 3)
    world = build_world(s)
    h, p = world.history, world.patients
    expected = (p.rate_per_year * 0.5 * 4).sum()
    assert h.consultations.sum() == pytest.approx(expected, rel=0.02)
    with_usual = h.clinician == p.usual_clinician[h.patient]
    assert h.consultations[with_usual].sum() / h.consultations.sum() == pytest.approx(0.6,
                                                                                      abs=0.01)
    gps = {i for i, r in enumerate(world.workforce.roles) if r == "gp"}
    assert set(h.clinician.tolist()) <= gps
    assert h.last_year.sum() == pytest.approx(h.consultations.sum() / 4, rel=0.02)
    assert np.isnan(h.years_since_first[~with_usual]).all()
    assert (h.years_since_first[with_usual] == 4).all()


def test_depth_starts_from_the_history_and_nothing_changes_without_one(default_scenario):
    plain = run_summaries(run(default_scenario))[0].iloc[0]
    with_history = run(load_scenario(DEFAULT, {"population.history": {"years": 3}}))
    summary = run_summaries(with_history)[0].iloc[0]
    assert summary["deep_relationship_share"] > plain["deep_relationship_share"] + 0.1
    assert "history" in with_history.tables
    # No history, no history table, and the stored backtest (tests/backtest) is unchanged.
    assert "history" not in run(default_scenario).tables


def test_last_year_is_spread_evenly_over_the_year_before_the_run():
    from sim.inputs.history_import import History

    h = History(np.array([0, 1]), np.array([2, 1]), np.array([5, 1]), np.array([2, 1]),
                np.array([np.nan, np.nan]))
    gp = np.array([True, False, True])
    p, t, c = _with_last_year(h, gp, np.array([7]), np.array([3.0]), np.array([2]))
    assert p.tolist() == [7, 0, 0] and c.tolist() == [2, 2, 2]  # the non-GP pair is left out
    assert np.allclose(t, [3.0, -365.25 + 0.25 * 365.25, -365.25 + 0.75 * 365.25])


def test_a_networks_lists_checked_ahead_in_its_workers_give_the_same_network(practice, reads):
    """Checked in worker processes, the files are not read here, and nothing else changes."""
    from sim.files.seen import inputs_read
    from sim.inputs import loading
    from sim.inputs.networks import load_network
    from sim.runs.executor import execute, kept_workers

    tmp_path, data = practice
    _practices_with_lists(tmp_path, data, ("a", "b", "c"))
    (tmp_path / "net.yaml").write_text(
        "name: n\nseed: 3\npractices:\n  - {id: a, scenario: a/s.yaml}\n"
        "  - {id: b, scenario: b/s.yaml, set: {policy.name: usual_gp_first}}\n"
        "  - {id: c, scenario: c/s.yaml}\n" + HUB, encoding="utf-8")
    plain = load_network(tmp_path / "net.yaml")
    loading._CHECKED.clear()
    reads.clear()

    class AllReady:
        """Every task done in the workers before the first practice is read."""

        def __init__(self, tasks, fn):
            with kept_workers(2):
                self.results = [r for _, r in execute(tasks, fn, workers=2, progress=False)]

        def ready(self):
            out, self.results = self.results, []
            return out

        def close(self):
            pass

    with inputs_read() as seen:
        checked = load_network(tmp_path / "net.yaml", ahead=AllReady)
    assert reads == {} and checked.practices == plain.practices
    assert {(tmp_path / pid / name).resolve() for pid in ("a", "b", "c")
            for name in ("list.csv", "history.parquet")} <= seen


def test_a_check_ahead_reads_nothing_outside_the_folders_it_is_given(practice, reads):
    from sim.inputs.loading import files_checked

    tmp_path, data = practice
    path = write(tmp_path, data, KNOWN)
    (tmp_path / "other").mkdir()
    assert files_checked((path, {}, (tmp_path / "other",), None)) == {}
    assert reads == {}
    assert len(files_checked((path, {}, (tmp_path,), None))) == 1 and len(reads) == 2
