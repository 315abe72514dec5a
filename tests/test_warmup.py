"""The warm-up analysis: MSER-5 on known series, the daily series of a run, the command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from analysis.warmup import MEASURES, daily_series, mser, recommend


def test_mser_finds_a_known_transient():
    """A level that starts 5 below and climbs to it over 100 observations, then noise."""
    rng = np.random.default_rng(1)
    n = 1000
    level = np.where(np.arange(n) < 100, -5.0 + 0.05 * np.arange(n), 0.0)
    cut, stat = mser(level + rng.normal(0, 1, n))
    assert 70 <= cut <= 130, cut
    assert stat.size == (n // 5) // 2 + 1


def test_mser_keeps_a_stationary_series_whole():
    rng = np.random.default_rng(2)
    cut, _ = mser(rng.normal(0, 1, 1000))
    assert 0 <= cut <= 50, cut


def test_mser_says_when_a_series_never_settles():
    """A series still climbing at its end: the minimum falls at the end of the search."""
    cut, _ = mser(np.linspace(0, 100, 1000) + np.random.default_rng(3).normal(0, 0.1, 1000))
    assert cut == -1


def _seasonal_pilot(transient_days: int, years: int = 3, reps: int = 4) -> pd.DataFrame:
    """Daily series with a yearly cycle and a start that is low for ``transient_days``."""
    rows = []
    rng = np.random.default_rng(4)
    days = np.array([d for d in range(364 * years) if d % 7 < 5])  # weekdays only
    for k in range(reps):
        season = 3 * np.cos(2 * np.pi * days / 364)
        start = np.where(days < transient_days, -4.0 * (1 - days / transient_days), 0.0)
        value = 5 + season + start + rng.normal(0, 0.5, days.size)
        frame = {"day": days, "date": pd.Timestamp("2025-01-06") + pd.to_timedelta(days, "D"),
                 "replication": k}
        for m, _, _ in MEASURES:
            frame[m] = value
        rows.append(pd.DataFrame(frame))
    return pd.concat(rows, ignore_index=True)


def test_a_seasonal_start_is_judged_against_the_same_season_a_year_later():
    """MSER-5 on the year-on-year difference: the season is not taken for a transient."""
    rec = recommend(_seasonal_pilot(transient_days=120))
    assert rec.warmup_days is not None and 90 <= rec.warmup_days <= 160, rec.by_measure
    assert rec.by_measure["method"].str.contains("year-on-year").all()
    assert rec.steady["steady"].all()
    none = recommend(_seasonal_pilot(transient_days=1))
    assert none.warmup_days is not None and none.warmup_days <= 35, none.by_measure


def test_daily_series_of_a_run():
    from sim import load_scenario, run

    s = load_scenario(ROOT / "scenarios" / "default.yaml",
                      {"warmup_days": 0, "duration_days": 56, "population.size": 2000})
    r = run(s)
    d = daily_series(r.appointments, r.clinician_days, pd.Timestamp(s.start_date), 56)
    assert set(d["date"].dt.day_of_week) <= {0, 1, 2, 3, 4}  # open days only
    assert d["booked_ahead"].iloc[0] < d["booked_ahead"].iloc[-1]  # the book fills
    assert d["gp_utilisation"].between(0, 1).all()
    # Routine waits by day of request match the appointments table's own mean.
    a = r.appointments
    first = a[(a["urgency"] == "routine") & a["status"].isin(["attended", "dna"])
              & (a["requested_at"].dt.normalize() == pd.Timestamp(s.start_date))]
    assert d["routine_wait_days"].iloc[0] == pytest.approx(first["wait_days"].mean())


@pytest.mark.slow
def test_the_command_writes_its_files_and_recommends(tmp_path):
    out = tmp_path / "warm"
    p = subprocess.run([sys.executable, "run.py", "warmup", "scenarios/policies/access_first.yaml",
                        "--years", "2", "-r", "2", "--workers", "2", "--out", str(out),
                        "--set", "population.size=3000"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "Recommended: warmup_days:" in p.stdout or "No warm-up" in p.stdout
    for name in ("warmup.png", "series.csv", "truncation.csv", "steadiness.csv",
                 "recommendation.txt"):
        assert (out / name).is_file(), name
    truncation = pd.read_csv(out / "truncation.csv")
    assert list(truncation["measure"]) == [m for m, _, _ in MEASURES]


def test_bad_arguments_are_refused(tmp_path):
    p = subprocess.run([sys.executable, "run.py", "warmup", "scenarios/default.yaml", "-r", "1",
                        "--out", str(tmp_path / "w")], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2 and "--replications" in p.stderr and "Traceback" not in p.stderr


def test_a_moved_start_is_not_covered_by_the_recorded_check():
    """The check records the start it ran from; a variant starting elsewhere is told so."""
    import datetime as dt

    from analysis.report import _warmup_words
    from gpsim.network import warmup_words
    from sim import load_scenario
    from sim.inputs.notes import scenario_notes

    default = load_scenario(ROOT / "scenarios" / "default.yaml")
    assert default.warmup_check.start_date == default.start_date
    assert not any("warm-up" in n for n in scenario_notes(default))
    moved = default.model_copy(update={"start_date": dt.date(2024, 9, 2)})
    assert any("ran from 2024-03-04, but the scenario starts on 2024-09-02" in n
               for n in scenario_notes(moved))
    assert "this warm-up was not checked" in warmup_words(moved)
    assert "chosen from a warm-up analysis" in warmup_words(default)
    row = {"warmup_check.recommended_days": "175", "warmup_check.checked_on": "2026-12-04",
           "warmup_check.start_date": "2024-03-04", "warmup_days": "364"}
    same = _warmup_words(pd.Series({**row, "start_date": "2024-03-04"}))
    other = _warmup_words(pd.Series({**row, "start_date": "2024-09-02"}))
    assert same.startswith("The warm-up was chosen from a warm-up analysis")
    assert "not for this run's start on 2024-09-02" in other
