"""Clinician-requested follow-ups: rate, the known-clinician effect, same clinician."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT

from policies.base import follow_up_offers
from sim import load_scenario, run
from sim.codes import FOLLOW_UP
from sim.engine.calendar import AHEAD, Calendar
from sim.engine.policy_api import PracticeView, Request

SHORT = {"population.size": 5000, "warmup_days": 28, "duration_days": 140}


def test_follow_up_offers_same_clinician_within_window_then_anyone():
    # Clinician 0 asked; free on day 9 (within 7 days of day 5) and day 20; clinician 1 on day 6.
    cal = Calendar.from_slots(2, 30, np.array([0, 0, 1]), np.array([9, 20, 6]), np.array([AHEAD] * 3),
                   np.array([9.4, 20.4, 6.4]))
    view = PracticeView(patients=None, workforce=None, need_names=("n",), horizon_days=28,
                        release_days=0.0, follow_up_window_days=7)
    req = Request(0, 0, 1.0, 0, FOLLOW_UP, 0, 1, 0.5, (0, 1), 5, 0)
    assert [(o.clinician, o.day) for o in follow_up_offers(req, cal, view)] == [(0, 9), (1, 6)]
    narrow = PracticeView(patients=None, workforce=None, need_names=("n",), horizon_days=28,
                          release_days=0.0, follow_up_window_days=2)
    assert [(o.clinician, o.day) for o in follow_up_offers(req, cal, narrow)] == [(1, 6)]


@pytest.fixture(scope="module")
def unit_factor_run():
    s = load_scenario(DEFAULT, {**SHORT, "follow_ups.known_clinician_factor": 1.0})
    return s, run(s)


def test_follow_up_rate_matches_probability_by_need(unit_factor_run):
    """With no known-clinician effect, follow-ups per attended consultation = p(need)."""
    s, res = unit_factor_run
    a = res.appointments
    seen = a[a["in_window"] & (a["status"] == "attended")]
    r = res.requests
    fu = r[r["urgency"] == "follow_up"]
    # A follow-up counts as requested at the consultation, so both are in the same window.
    for name, need in s.demand.needs.items():
        n = int((seen["need"] == name).sum())
        p = need.follow_up_probability
        got = int((fu["need"] == name).sum())
        assert abs(got - n * p) < 4 * np.sqrt(n * p * (1 - p)) + 1, (name, got, n * p)


def test_known_clinician_asks_for_fewer_follow_ups():
    """Factor 0, 'known' after one visit: clearly fewer follow-ups (same seed).

    Only a first consultation with a clinician can then ask for a follow-up.
    """
    counts = []
    for factor in (1.0, 0.0):
        res = run(load_scenario(DEFAULT, {**SHORT, "follow_ups.known_clinician_factor": factor,
                                          "follow_ups.known_after_visits": 1}))
        counts.append(int((res.requests["urgency"] == "follow_up").sum()))
    n_unit, n_zero = counts
    assert n_zero < n_unit - 4 * np.sqrt(n_unit)


def test_follow_ups_go_to_the_clinician_who_asked(unit_factor_run):
    s, res = unit_factor_run
    r = res.requests
    fu = r[(r["urgency"] == "follow_up") & (r["outcome"] == "booked")]
    assert len(fu) > 200
    same = (fu["clinician_id"].astype(str) == fu["asked_by_clinician_id"].astype(str)).mean()
    assert same > 0.7
    # Booked no earlier than the first day wanted.
    assert (fu["appointment_at"].dt.normalize() > fu["requested_at"].dt.normalize()).all()
    # Only follow-ups, reviews and planned care with the usual GP have a named clinician.
    others = r[r["urgency"].isin(["urgent", "routine"])]
    assert others["asked_by_clinician_id"].isna().all()
