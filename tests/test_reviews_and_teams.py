"""Coordinated care: planned care-plan reviews for cohorts; micro-teams formed from the workforce."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT, ROOT

from sim import ScenarioError, build_world, load_scenario, run
from sim.codes import HOME_VISIT, NAMED_TEAM_LEAD, NAMED_USUAL_GP, REVIEW
from sim.world.cohorts import cohort_masks
from sim.world.demand import care_plan_reviews

POLICY_DIR = ROOT / "scenarios" / "policies"
SMALL = {"population.size": 3000, "warmup_days": 28, "duration_days": 168}
REVIEWS = [
    {"cohort": "complex_care", "every_days": 91, "need": "complex"},
    {"cohort": "housebound", "every_days": 56, "need": "complex",
     "named_clinician": "team_lead", "booked_days_ahead": 7},
]


def test_reviews_are_made_for_every_cohort_member_at_the_interval():
    s = load_scenario(DEFAULT, {**SMALL, "care_plan_reviews": REVIEWS})
    m = build_world(s)
    cohorts = cohort_masks(s, m.patients)
    a = care_plan_reviews(s, cohorts, m.patients.housebound, m.is_open, s.end_day,
                          np.random.default_rng(1))
    assert (a.urgency == REVIEW).all()
    for rule, named in zip(s.care_plan_reviews, (NAMED_USUAL_GP, NAMED_TEAM_LEAD), strict=True):
        mine = a.named == named
        members = np.nonzero(cohorts[rule.cohort])[0]
        assert set(a.patient[mine].tolist()) == set(members.tolist())
        for p in members[:200]:
            due = np.sort(a.from_day[mine & (a.patient == p)])
            # Every interval, from a first review within the first interval to the end.
            assert due[0] < rule.every_days + rule.booked_days_ahead
            assert (np.diff(due[1:]) == rule.every_days).all()
            assert due[-1] + rule.every_days >= s.end_day
        # Booked on an open day, at opening, no later than the due day and at most
        # booked_days_ahead (plus a closed weekend or holiday) before it.
        day = np.floor(a.time[mine]).astype(int)
        assert m.is_open[day].all()
        ahead = a.from_day[mine] - day
        late = a.from_day[mine] >= rule.booked_days_ahead
        assert (ahead >= 0).all()
        assert (ahead[late] <= rule.booked_days_ahead).all()
        assert (ahead[late] >= rule.booked_days_ahead - 4).all()
    housebound = m.patients.housebound[a.patient]
    assert (a.mode[housebound] == HOME_VISIT).all()
    assert (a.mode[~housebound] != HOME_VISIT).all()


def test_reviews_are_booked_with_the_named_clinician():
    s = load_scenario(POLICY_DIR / "access_first.yaml", {
        **SMALL, "care_plan_reviews": REVIEWS[:1], "follow_ups.same_clinician_window_days": 14})
    res = run(s)
    a = res.appointments
    reviews = a[(a["urgency"] == "review") & (a["status"] != "cancelled_by_practice")]
    assert len(reviews) > 100
    # On or after the due day, and with the usual GP in nearly every case even
    # under access-first (the care plan names the clinician, not the booking rule).
    asked = reviews.merge(res.requests[["request_id", "wanted_from", "asked_by_clinician_id"]],
                          on="request_id")
    assert len(asked) > 100
    assert (asked["appointment_at"].dt.normalize() >= asked["wanted_from"]).all()
    assert (asked["asked_by_clinician_id"].astype(str)
            == asked["usual_clinician_id"].astype(str)).all()
    with_usual = (reviews["clinician_id"].astype(str)
                  == reviews["usual_clinician_id"].astype(str)).mean()
    assert with_usual > 0.9
    # Routine GP requests see the usual GP only when the patient asks and can wait.
    routine = a[(a["urgency"] == "routine") & (a["role"] == "gp")]
    assert with_usual > 0.3 + (routine["clinician_id"].astype(str)
                               == routine["usual_clinician_id"].astype(str)).mean()


def test_team_lead_reviews_go_to_the_team_lead():
    s = load_scenario(POLICY_DIR / "micro_team.yaml", {
        **SMALL, "care_plan_reviews": [{**REVIEWS[0], "named_clinician": "team_lead"}],
        "follow_ups.same_clinician_window_days": 14})
    a = run(s).appointments
    reviews = a[(a["urgency"] == "review") & (a["status"] != "cancelled_by_practice")]
    lead = {m: t.lead for t in s.teams for m in (t.lead, *t.members)}
    named = reviews["usual_clinician_id"].astype(str).map(lead)
    assert (reviews["clinician_id"].astype(str) == named).mean() > 0.9


@pytest.mark.parametrize(("review", "message"), [
    ({"cohort": "complex", "every_days": 91, "need": "complex"},
     r"care_plan_reviews\[0\]\.cohort.*did you mean 'complex_care'"),
    ({"cohort": "complex_care", "every_days": 91, "need": "nursing"},
     r"care_plan_reviews\[0\]\.need.*list-holding role"),
    ({"cohort": "complex_care", "every_days": 3, "need": "complex"},
     r"care_plan_reviews\[0\]\.every_days"),
    ({"cohort": "complex_care", "every_days": 91, "need": "complex", "booked_days_ahead": 99},
     r"booked_days_ahead.*beyond the booking horizon"),
])
def test_bad_reviews_are_reported(review, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(DEFAULT, {"care_plan_reviews": [review]})


def test_team_lead_reviews_need_teams():
    with pytest.raises(ScenarioError, match="team_lead needs micro-teams"):
        load_scenario(DEFAULT, {"teams": [], "care_plan_reviews": [
            {**REVIEWS[0], "named_clinician": "team_lead"}]})


# ------------------------------------------------------------------ team formation


def test_teams_formed_from_the_workforce():
    s = load_scenario(DEFAULT, {"teams": [], "team_formation": {"gps_per_team": 2}})
    assert s.team_formation is None
    teams = [(t.id, t.lead, t.members) for t in s.teams]
    # GPs in the order listed, two a team, the one with more sessions leading;
    # support staff shared out role by role, going round again.
    assert teams == [
        ("team_1", "gp_adams", ("gp_begum", "anp_iqbal", "pn_khan", "ph_nowak", "para_owen",
                                "pa_patel")),
        ("team_2", "gp_carter", ("gp_davies", "anp_jones", "pn_lewis", "ph_nowak", "para_owen",
                                 "pa_patel")),
        ("team_3", "gp_evans", ("gp_fraser", "anp_iqbal", "pn_morgan", "ph_nowak", "para_owen",
                                "pa_patel")),
        ("team_4", "gp_gill", ("gp_hughes", "anp_jones", "pn_khan", "ph_nowak", "para_owen",
                               "pa_patel")),
    ]


def test_formed_teams_run_the_personalised_policy(tmp_path):
    f = tmp_path / "formed.yaml"
    f.write_text(f"extends: {POLICY_DIR / 'personalised_micro_teams.yaml'}\nteams: []\n"
                 "team_formation: {gps_per_team: 3}\n")
    s = load_scenario(f, SMALL)
    assert [len([m for m in (t.lead, *t.members) if m.startswith("gp_")]) for t in s.teams] \
        == [3, 3, 2]
    res = run(s)
    assert len(res.appointments) > 1000


def test_teams_and_team_formation_together_are_refused():
    with pytest.raises(ScenarioError, match=r"team_formation.*either teams or team_formation"):
        load_scenario(DEFAULT, {"team_formation": {"gps_per_team": 2}})
