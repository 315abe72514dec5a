"""Booking policies.

Exact slots on hand-built calendars, extremes of adherence and choice,
direction of effects over replications, and a user's own policy class.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from analysis import summarise
from policies import REGISTRY
from policies.micro_team import ChampionParams, ClinicalChampion, MicroTeam, TeamParams
from policies.usual_gp_first import UsualGPFirst
from sim import ScenarioError, load_scenario, run
from sim.codes import FOLLOW_UP, ROUTINE, URGENT
from sim.engine.calendar import AHEAD, ON_THE_DAY, Calendar, Slot
from sim.engine.choice import patient_choice
from sim.engine.policy_api import PracticeView, Request
from sim.inputs.policies import enable_policy_classes

POLICY_DIR = ROOT / "scenarios" / "policies"


# ---------------------------------------------------------------- hand-built calendars


@dataclasses.dataclass
class _Patients:
    size: int


def practice(usual, teams=(), cohorts=None):
    team_of = {}
    for k, t in enumerate(teams):
        for c in t:
            team_of.setdefault(c, k)
    return PracticeView(patients=_Patients(len(usual)), workforce=None, need_names=("n",),
                        horizon_days=10, release_days=0.0, cohorts=cohorts or {},
                        teams=tuple(teams), team_of_clinician=team_of,
                        usual_clinician=np.asarray(usual))


def calendar(slots):
    """slots: (clinician, day, pool, time)."""
    arr = np.array(slots, dtype=float)
    n_clin = int(arr[:, 0].max()) + 1
    n_days = int(arr[:, 1].max()) + 1
    return Calendar.from_slots(n_clin, n_days, arr[:, 0].astype(int), arr[:, 1].astype(int),
                    arr[:, 2].astype(int), arr[:, 3])


def request(patient=0, urgency=1, t=0.35, eligible=(0, 1, 2, 3), from_day=None):
    return Request(0, patient, t, 0, urgency, 0, 1, t, eligible,
                   int(t) if from_day is None else from_day)


# Clinician 0 is the usual GP (free day 3), 1 is a team-mate (free day 2),
# 2 is outside the team (free day 1), 3 is the team lead/champion (free day 4).
SLOTS = [(0, 3, AHEAD, 3.40), (1, 2, AHEAD, 2.40), (2, 1, AHEAD, 1.40), (3, 4, AHEAD, 4.40),
         (2, 0, ON_THE_DAY, 0.50), (0, 0, ON_THE_DAY, 0.60), (3, 0, ON_THE_DAY, 0.45)]


def test_access_first_offers_the_earliest_with_anyone():
    cal = calendar(SLOTS)
    pol = REGISTRY["access_first"](None, practice([0]), np.random.default_rng(0))
    (slot,) = pol.offers(request(), cal)
    assert (slot.clinician, slot.day) == (2, 1)
    (urgent,) = pol.offers(request(urgency=0), cal)
    assert (urgent.clinician, urgent.time) == (3, 0.45), "earliest held slot today"


def test_usual_gp_first_offers_usual_then_anyone():
    cal = calendar(SLOTS)
    pol = UsualGPFirst(UsualGPFirst.Params(adherence=1.0), practice([0]), np.random.default_rng(0))
    offers = pol.offers(request(), cal)
    assert [(o.clinician, o.day) for o in offers] == [(0, 3), (2, 1)]
    # The policy's maximum wait drops the usual GP when they are too far off.
    pol2 = UsualGPFirst(UsualGPFirst.Params(adherence=1.0, max_wait_days=2), practice([0]),
                        np.random.default_rng(0))
    assert [(o.clinician, o.day) for o in pol2.offers(request(), cal)] == [(2, 1)]
    # Urgent: outside the rule by default, the earliest held slot today with anyone ...
    (urgent,) = pol.offers(request(urgency=0), cal)
    assert (urgent.clinician, urgent.time) == (3, 0.45)
    # ... unless the practice books urgent requests with the usual GP when free today.
    with_urgent = UsualGPFirst(UsualGPFirst.Params(adherence=1.0, urgent=True), practice([0]),
                               np.random.default_rng(0))
    (urgent,) = with_urgent.offers(request(urgency=0), cal)
    assert (urgent.clinician, urgent.time) == (0, 0.60)


def test_micro_team_offers_lead_then_team_then_anyone():
    cal = calendar(SLOTS)
    view = practice([0], teams=[(3, 0, 1)])
    pol = MicroTeam(TeamParams(adherence=1.0, team_wait_days=5), view, np.random.default_rng(0))
    offers = pol.offers(request(), cal)
    # Named clinician is the usual GP (0); the rest of the team's earliest is clinician 1.
    assert [(o.clinician, o.day) for o in offers] == [(0, 3), (1, 2), (2, 1)]
    tight = MicroTeam(TeamParams(adherence=1.0, team_wait_days=1), view, np.random.default_rng(0))
    assert [(o.clinician, o.day) for o in tight.offers(request(), cal)] == [(0, 3), (2, 1)]


def test_clinical_champion_only_for_cohort_patients():
    cal = calendar(SLOTS)
    cohort = np.array([True, False])
    view = practice([0, 0], teams=[(3, 0, 1)], cohorts={"frequent": cohort})
    pol = ClinicalChampion(ChampionParams(adherence=1.0, cohorts=("frequent",)), view,
                           np.random.default_rng(0))
    # In the cohort: the champion (team lead, 3) first, then the team, then anyone.
    offers = pol.offers(request(patient=0), cal)
    assert [(o.clinician, o.day) for o in offers] == [(3, 4), (1, 2), (2, 1)]
    # Not in the cohort: access-first.
    assert [(o.clinician, o.day) for o in pol.offers(request(patient=1), cal)] == [(2, 1)]


def test_planned_request_starts_on_its_day():
    cal = calendar(SLOTS)
    pol = UsualGPFirst(UsualGPFirst.Params(adherence=1.0), practice([0]), np.random.default_rng(0))
    offers = pol.offers(request(from_day=2), cal)
    assert [(o.clinician, o.day) for o in offers] == [(0, 3), (1, 2)]


def test_adherence_zero_is_access_first_exactly():
    cal_a, cal_b = calendar(SLOTS), calendar(SLOTS)
    never = UsualGPFirst(UsualGPFirst.Params(adherence=0.0), practice([0]), np.random.default_rng(0))
    access = REGISTRY["access_first"](None, practice([0]), np.random.default_rng(0))
    for urgency in (0, 1):
        assert never.offers(request(urgency=urgency), cal_a) == access.offers(
            request(urgency=urgency), cal_b)


def test_popup_raises_adherence():
    p = UsualGPFirst.Params(adherence=0.0, popup_reminder=True, adherence_with_popup=1.0)
    pol = UsualGPFirst(p, practice([0]), np.random.default_rng(0))
    assert pol.offers(request(), calendar(SLOTS))[0].clinician == 0


def test_coded_patients_only():
    view = practice([0, 0], cohorts={"c": np.array([False, True])})
    pol = UsualGPFirst(UsualGPFirst.Params(adherence=1.0, coded=("c",)), view,
                       np.random.default_rng(0))
    cal = calendar(SLOTS)
    assert [o.clinician for o in pol.offers(request(patient=0), cal)] == [2]
    assert [o.clinician for o in pol.offers(request(patient=1), cal)] == [0, 2]


# ---------------------------------------------------------------- patient choice

USUAL_LATE = Slot(5.4, 0, 5, AHEAD, 0, 0)      # the usual GP, ranked first, day 5
TEAM_MID = Slot(3.4, 1, 3, AHEAD, 1, 1)        # the team, day 3
ANYONE_SOON = Slot(1.4, 2, 1, AHEAD, 2, 2)     # anyone, soonest, day 1
OFFERS = [USUAL_LATE, TEAM_MID, ANYONE_SOON]


def test_a_patient_who_accepts_no_extra_days_takes_the_soonest():
    """Without a preference and with extra_days_without_preference 0: the soonest, always."""
    for first in (OFFERS, OFFERS[::-1]):
        assert patient_choice(first, ROUTINE, 0.0, 0.3, None) is ANYONE_SOON


def test_the_soonest_ranked_first_is_taken_whatever_the_tolerance():
    for extra in (0.0, 2.0, 99.0):
        assert patient_choice(OFFERS[::-1], ROUTINE, extra, 0.3, None) is ANYONE_SOON


def test_patients_who_value_continuity_wait_up_to_their_extra_days():
    # 0 extra days: the soonest; 2: the team (2 days later), not the GP (4 days later);
    # 4 or more: the usual GP.
    assert patient_choice(OFFERS, ROUTINE, 0.0, 0.3, None) is ANYONE_SOON
    assert patient_choice(OFFERS, ROUTINE, 2.0, 0.3, None) is TEAM_MID
    assert patient_choice(OFFERS, ROUTINE, 4.0, 0.3, None) is USUAL_LATE
    assert patient_choice(OFFERS, ROUTINE, 99.0, 0.3, None) is USUAL_LATE


def test_urgent_and_follow_up_take_the_first_offer_and_never_decline():
    for urgency in (URGENT, FOLLOW_UP):
        assert patient_choice(OFFERS, urgency, 0.0, 0.3, 0.5) is USUAL_LATE


def test_routine_patients_decline_beyond_their_limit():
    assert patient_choice(OFFERS, ROUTINE, 0.0, 0.3, 1.0) is None
    assert patient_choice(OFFERS, ROUTINE, 0.0, 0.3, 1.1) is ANYONE_SOON
    assert patient_choice(OFFERS, ROUTINE, 99.0, 0.3, 3.0) is None
    assert patient_choice([], ROUTINE, 99.0, 0.3, None) is None


# ------------------------------------------------------------------- whole runs

SHORT = {"population.size": 4000, "warmup_days": 28, "duration_days": 112}


def test_adherence_zero_run_equals_access_first_run():
    a = run(load_scenario(POLICY_DIR / "access_first.yaml", SHORT))
    b = run(load_scenario(POLICY_DIR / "usual_gp_first.yaml",
                          {**SHORT, "policy.params": {"adherence": 0.0}}))
    pd.testing.assert_frame_equal(a.appointments, b.appointments)


def test_full_adherence_and_patience_books_the_usual_gp():
    """Everyone values continuity, waits any time, and the rule is always applied.

    Then routine consultations for needs the usual GP can take are with the
    usual GP, unless the usual GP had no slot within the horizon.
    """
    s = load_scenario(POLICY_DIR / "usual_gp_first.yaml", {
        **SHORT, "policy.params": {"adherence": 1.0},
        "population.values_continuity_share": 1.0,
        "choice.extra_days_by_need": {"acute": 99, "complex": 99, "nursing": 99,
                                      "medication": 99},
    })
    res = run(s)
    a = res.appointments
    a = a[a["in_window"] & (a["status"] != "cancelled_by_practice") & (a["urgency"] == "routine")
          & (a["need"].isin(["complex", "acute", "medication"]))]
    usual = (a["clinician_id"].astype(str) == a["usual_clinician_id"].astype(str)).mean()
    assert usual > 0.95
    base = run(load_scenario(POLICY_DIR / "access_first.yaml", SHORT)).appointments
    base = base[base["in_window"] & (base["urgency"] == "routine")]
    assert usual > 3 * (base["role"] == "gp").mean() / 8  # far above chance among 8 GPs


@pytest.fixture(scope="module")
def policy_summaries():
    rows = []
    for name in ("access_first", "usual_gp_first", "micro_team", "clinical_champion",
                 "personalised_micro_teams"):
        s = load_scenario(POLICY_DIR / f"{name}.yaml", {"duration_days": 182})
        for k in range(3):
            res = run(s, replication=k)
            row = summarise(res.tables, s.population.size, s.duration_days).iloc[0].to_dict()
            cohort = res.patients["patient_id"][_cohort(res, s)]
            a = res.appointments
            visits = a[a["in_window"] & (a["status"] == "attended") & (a["role"] == "gp")
                       & a["patient_id"].isin(cohort)]
            v = visits
            lead = _lead_of(s, res)
            row["cohort_named_share"] = (v["clinician_id"].astype(str).to_numpy()
                                         == v["usual_clinician_id"].astype(str).map(lead)
                                         .to_numpy()).mean()
            rows.append({"policy": name, "replication": k, **row})
    return pd.DataFrame(rows)


def _cohort(res, s):
    p = res.patients
    return (p["housebound"] | (p["n_ltc"] >= 4) | (p["rate_per_year"] >= 12)).to_numpy()


def _lead_of(s, res):
    lead = {}
    for t in s.teams:
        for m in (t.lead, *t.members):
            lead.setdefault(m, t.lead)
    return lead


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["usual_gp_first", "micro_team", "personalised_micro_teams"])
def test_continuity_policies_raise_upc_and_slicc(policy_summaries, policy):
    """Paired by replication (common random numbers): SLICC higher in every replication.

    Patients with a preferred GP ask for them under access-first too, so the
    policies' gain is what the receptionist adds on routine requests: about 1.8
    points over a year at the default adherence (docs/findings.md), so at least
    half a point in every half-year here. UPC moves by less than its noise at the
    default settings; tests/test_outcomes.py checks it where continuity moves more.
    """
    df = policy_summaries.set_index(["policy", "replication"])
    diff = df.loc[policy, "slicc"] - df.loc["access_first", "slicc"]
    assert (diff > 0.005).all(), diff.tolist()
    routine = df.loc[policy, "slicc_from_routine"] - df.loc["access_first", "slicc_from_routine"]
    assert (routine > 0).all(), routine.tolist()


HORIZONS = (14, 28, 56)


def _slicc_by_horizon(overrides: dict) -> pd.DataFrame:
    """SLICC under usual-GP-first at each horizon, six paired replications of a year."""
    from analysis.compare import collect, reduce_run
    from sim.runs.batch import run_batch

    jobs = [(str(h), load_scenario(POLICY_DIR / "usual_gp_first.yaml",
                                   {**overrides, "practice.booking_horizon_days": h}), k)
            for h in HORIZONS for k in range(6)]
    runs = collect(list(run_batch(jobs, reduce_run, workers=2)),
                   [str(h) for h in HORIZONS])["runs"]
    return runs.pivot(index="replication", columns="scenario", values="slicc")


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [{}, {"demand.planned_delay_days": [1, 42]}],
                         ids=["default", "planning_six_weeks_ahead"])
def test_a_longer_horizon_never_lowers_continuity_under_usual_gp_first(overrides):
    """Paired by replication: no material fall (0.3 points) and none the interval shows.

    A longer horizon lets patients who plan ahead book their own GP further out;
    it must not cost continuity. Where patients plan up to six weeks ahead it
    should raise it (measured +0.4 points from 28 to 56 days, docs/findings.md).
    """
    slicc = _slicc_by_horizon(overrides)
    for shorter, longer in itertools.pairwise(HORIZONS):
        d = (slicc[str(longer)] - slicc[str(shorter)]).to_numpy()
        upper = d.mean() + 2.571 * d.std(ddof=1) / np.sqrt(len(d))  # t(5), 95%
        assert d.mean() > -0.003 and upper >= 0, (shorter, longer, d)
    if overrides:
        assert (slicc[str(HORIZONS[-1])] - slicc[str(HORIZONS[0])]).mean() > 0


@pytest.mark.slow
def test_clinical_champion_raises_continuity_for_its_cohorts(policy_summaries):
    df = policy_summaries.set_index(["policy", "replication"])
    diff = (df.loc["clinical_champion", "cohort_named_share"]
            - df.loc["access_first", "cohort_named_share"])
    assert (diff > 0.01).all(), diff.tolist()  # measured 0.019 to 0.025


def test_user_policy_from_dotted_path(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(f"extends: {DEFAULT}\npolicy:\n  name: custom_policy:FirstListedClinician\n")
    # Patients do not ask for their own GP here (they would, whatever the policy).
    mine = {**REGISTRY, **enable_policy_classes(["custom_policy:FirstListedClinician"])}
    s = load_scenario(f, {"population.size": 1500, "warmup_days": 7, "duration_days": 28,
                          "choice.ask_for_own_gp": False}, mine)
    res = run(s, policies=mine)
    a = res.appointments
    assert len(a) > 0
    # Only the first eligible clinician of each urgent or routine request is ever booked
    # (gp_adams is first for every need a GP can take); planned care and follow-ups go
    # to their named clinician or the earliest with anyone, whatever the policy.
    own = a[a["urgency"].isin(["urgent", "routine"]) & (a["role"] == "gp")]
    assert set(own["clinician_id"].astype(str)) <= {"gp_adams"}


def test_a_file_cannot_import_code_by_naming_a_module(tmp_path, capsys):
    # `policy.name: "this:X"` imported the module `this` (the Zen of Python was printed).
    for name in ("this:X", "..foo:X", "os:system", "custom_policy:FirstListedClinician"):
        f = tmp_path / "evil.yaml"
        f.write_text(f"extends: {DEFAULT}\npolicy:\n  name: '{name}'\n")
        with pytest.raises(ScenarioError, match="an input file cannot run code"):
            load_scenario(f, policies=REGISTRY)
    assert "Beautiful is better than ugly" not in capsys.readouterr().out
    import sys

    assert "this" not in sys.modules


def test_bad_policy_params_are_reported_with_paths(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(f"extends: {DEFAULT}\npolicy:\n  name: clinical_champion\n  params:\n"
                 "    cohorts: [frequent_attendees]\n    adherance: 0.5\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    text = str(info.value)
    assert "policy.params.adherance" in text and "did you mean 'adherence'" in text
    f.write_text(f"extends: {DEFAULT}\npolicy:\n  name: clinical_champion\n  params:\n"
                 "    cohorts: [frequent_attendees]\n")
    with pytest.raises(ScenarioError, match=r"policy\.params\.cohorts\[0\].*unknown cohort"):
        load_scenario(f)


def test_micro_team_needs_teams(tmp_path):
    f = tmp_path / "noteams.yaml"
    f.write_text(f"extends: {DEFAULT}\nteams: []\npolicy:\n  name: micro_team\n")
    with pytest.raises(ScenarioError, match="needs micro-teams"):
        load_scenario(f)


def test_routine_patients_decline_late_offers_but_follow_ups_are_kept():
    res = run(load_scenario(POLICY_DIR / "usual_gp_first.yaml",
                            {**SHORT, "choice.decline_beyond_days": 2.0}))
    a = res.appointments
    a = a[a["status"] != "cancelled_by_practice"]
    routine = a[a["urgency"] == "routine"]
    assert len(routine) > 1000
    assert (routine["wait_days"] <= 2.0).all()
    assert (res.requests["outcome"] == "gave_up").sum() > 0
    follow = a[a["urgency"] == "follow_up"]
    assert (follow["wait_days"] > 2.0).any(), "follow-ups are booked by the clinician, not declined"
