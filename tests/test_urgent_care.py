"""How the practice sees urgent requests: the on-the-day team and the duty-doctor rota."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DEFAULT

from policies import REGISTRY
from policies.usual_gp_first import UsualGPFirst
from sim import load_scenario
from sim.codes import AHEAD, ON_THE_DAY, URGENT
from sim.engine.calendar import Calendar
from sim.engine.policy_api import PracticeView, Request
from sim.inputs.resolve import with_seed
from sim.world.build import build_world

SHORT = {"start_date": "2025-01-06", "warmup_days": 7, "duration_days": 56,
         "population.size": 4000}


def duty_world(per_day: int = 1, **more):
    s = load_scenario(DEFAULT, {**SHORT, "practice.urgent_care.model": "duty_doctor",
                                "practice.urgent_care.duty_doctors_per_day": per_day, **more})
    return build_world(with_seed(s, 3))


@dataclasses.dataclass
class _Patients:
    size: int


def view(duty):
    return PracticeView(patients=_Patients(1), workforce=None, need_names=("n",),
                        horizon_days=10, release_days=0.0, usual_clinician=np.array([0]),
                        duty=np.array(duty, dtype=np.int64))


def calendar(slots):
    arr = np.array(slots, dtype=float)
    return Calendar.from_slots(int(arr[:, 0].max()) + 1, int(arr[:, 1].max()) + 1,
                               arr[:, 0].astype(int), arr[:, 1].astype(int),
                               arr[:, 2].astype(int), arr[:, 3])


def urgent(eligible=(0, 1, 2, 3)):
    return Request(0, 0, 0.35, 0, URGENT, 0, 1, 0.35, eligible, 0)


# Clinician 3 has the earliest held slot today; 1 is on duty (later today); 0 is the usual GP.
SLOTS = [(3, 0, ON_THE_DAY, 0.45), (1, 0, ON_THE_DAY, 0.55), (0, 0, ON_THE_DAY, 0.60),
         (1, 0, AHEAD, 0.40), (2, 1, AHEAD, 1.40)]


def test_an_urgent_request_goes_to_the_duty_gp_before_anyone_else():
    cal = calendar(SLOTS)
    access_first = REGISTRY["access_first"](None, view([[1], [-1]]), np.random.default_rng(0))
    (slot,) = access_first.offers(urgent(), cal)
    assert (slot.clinician, slot.time) == (1, 0.55), "the duty GP's held slot, not the earliest"
    # Without a rota (or a duty GP who cannot see the request), the earliest with anyone.
    assert access_first.offers(urgent(eligible=(0, 2, 3)), cal)[0].clinician == 3
    no_rota = REGISTRY["access_first"](None, view(np.zeros((2, 0))), np.random.default_rng(0))
    assert no_rota.offers(urgent(), cal)[0].clinician == 3
    # A practice that books urgent requests with the usual GP tries them before the duty GP.
    usual_first = UsualGPFirst(UsualGPFirst.Params(adherence=1.0, urgent=True), view([[1], [-1]]),
                               np.random.default_rng(0))
    assert usual_first.offers(urgent(), cal)[0].clinician == 0


def test_a_duty_gp_with_nothing_left_today_passes_the_request_to_anyone():
    cal = calendar([(3, 0, ON_THE_DAY, 0.45), (1, 1, AHEAD, 1.40)])
    access_first = REGISTRY["access_first"](None, view([[1], [-1]]), np.random.default_rng(0))
    assert access_first.offers(urgent(), cal)[0].clinician == 3


@pytest.mark.parametrize("per_day", [1, 2])
def test_the_rota_puts_working_list_holders_on_duty_in_turn(per_day):
    w = duty_world(per_day)
    s = w.scenario
    duty = w.rules.duty
    assert duty.shape == (w.n_days, per_day)
    holders = {c for c in range(w.workforce.size) if w.workforce.holds_list[c]}
    weekday = (s.start_date.weekday() + np.arange(w.n_days)) % 7
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    for d in range(w.n_days):
        on = [int(c) for c in duty[d] if c >= 0]
        if not w.rules.is_open[d]:
            assert not on, f"day {d} is shut but has a duty GP"
            continue
        working = [c for c in holders if not w.leave[c, d] and w.in_post[c, d] and any(
            code.startswith(names[weekday[d]]) for code in s.clinicians[c].sessions)]
        assert len(on) == min(per_day, len(working)), d
        assert set(on) <= set(working) and len(set(on)) == len(on), d
    # Turns are shared: every list-holder is on duty, none more than twice as often
    # per day worked as another.
    counts = np.array([(duty == c).sum() for c in sorted(holders)], dtype=float)
    worked = np.array([sum(1 for d in range(w.n_days) if w.rules.is_open[d] and not w.leave[c, d]
                           and any(code.startswith(names[weekday[d]])
                                   for code in s.clinicians[c].sessions))
                       for c in sorted(holders)], dtype=float)
    rate = counts / worked
    assert rate.min() > 0 and rate.max() <= 2 * rate.min() + 0.05


def test_a_duty_gp_holds_the_whole_day_and_the_role_holds_what_the_scenario_says():
    w = duty_world()
    team = build_world(with_seed(load_scenario(DEFAULT, SHORT), 3))
    L, T = w.slots, team.slots
    gp = np.array([r == "gp" for r in w.workforce.roles])
    held = lambda layout: (layout.pool[gp[layout.clinician]] == ON_THE_DAY).mean()  # noqa: E731
    share = w.scenario.roles["gp"].on_the_day_share
    assert held(T) == pytest.approx(share, abs=0.005)
    assert held(w.slots) == pytest.approx(share, abs=0.03), "held for the day about as before"
    assert L.pool.size == T.pool.size and np.array_equal(np.sort(L.time), np.sort(T.time))
    for d in np.nonzero(w.rules.duty[:, 0] >= 0)[0][:40]:
        c = w.rules.duty[d, 0]
        mine = (L.clinician == c) & (L.day == d) & (L.pool != 3)
        assert mine.any() and (L.pool[mine] == ON_THE_DAY).all(), f"duty GP {c} on day {d}"
        assert not (L.pool[(L.clinician == c) & (L.day == d)] == AHEAD).any()


def test_the_default_practice_has_no_rota_and_its_layout_is_unchanged():
    w = build_world(with_seed(load_scenario(DEFAULT, SHORT), 3))
    assert w.rules.duty.shape == (w.n_days, 0)
    explicit = build_world(with_seed(load_scenario(
        DEFAULT, {**SHORT, "practice.urgent_care.model": "on_the_day_team"}), 3))
    assert np.array_equal(w.slots.pool, explicit.slots.pool)


def _urgent_gp_appointments(result, world):
    a = result.appointments
    a = a[(a["urgency"] == "urgent") & (a["role"] == "gp")]
    day = ((a["appointment_at"] - np.datetime64(world.scenario.start_date)).dt.days).to_numpy()
    ids = np.array(world.workforce.ids)
    on_duty = np.array([ids[c] for c in world.rules.duty[day, 0]]) if world.rules.duty.shape[
        1] else np.full(day.size, "")
    return a, a["clinician_id"].astype(str).to_numpy() == on_duty


def test_under_a_duty_rota_most_urgent_gp_work_is_the_duty_gp_s():
    from sim import run
    w = duty_world()
    result = run(w.scenario)
    a, by_duty = _urgent_gp_appointments(result, w)
    assert len(a) > 300
    # Under the on-the-day team, the same GP would see about 1 in 5 (a GP's share of the days).
    assert by_duty.mean() > 0.5, f"only {by_duty.mean():.0%} of urgent GP work with the duty GP"
    team = run(with_seed(load_scenario(DEFAULT, SHORT), 3))
    b = team.appointments
    assert (b["urgency"] == "urgent").sum() == pytest.approx((result.appointments["urgency"]
                                                               == "urgent").sum(), rel=0.05)


# ------------------------------------------------------------------ triage


def triage_world(requests: str = "all", **more):
    s = load_scenario(DEFAULT, {**SHORT, "practice.urgent_care.triage.requests": requests,
                                **more})
    return build_world(with_seed(s, 3))


def test_without_triage_nothing_is_set_aside_and_no_day_takes_calls():
    w = build_world(with_seed(load_scenario(DEFAULT, SHORT), 3))
    assert not w.rules.triage_calls.any() and not w.rules.triage_kinds.any()
    assert w.slots.time.size == triage_world("none").slots.time.size


@pytest.mark.parametrize("model", ["on_the_day_team", "duty_doctor"])
def test_triage_time_comes_out_of_the_gps_sessions_and_covers_the_planned_calls(model):
    from sim.world.triage import planned_calls
    w = triage_world("urgent", **{"practice.urgent_care.model": model})
    plain = build_world(with_seed(load_scenario(DEFAULT, {
        **SHORT, "practice.urgent_care.model": model}), 3))
    s = w.scenario
    planned = planned_calls(s, w.arrivals, w.navigation,
                            float(w.patients.rate_per_year.sum()), w.end_day, w.n_days)
    open_run = w.rules.is_open[:w.end_day]
    assert (planned[:w.end_day][open_run] > 0).all() and not planned[~w.rules.is_open].any()
    # Every open day can take its planned calls (the GPs have slots enough), and no more
    # than one slot's worth beyond them.
    gp_slot = s.roles["gp"].slot_minutes / s.practice.urgent_care.triage.minutes_per_call
    cap = w.rules.triage_calls
    assert (cap >= planned).all() and (cap <= planned + np.ceil(gp_slot)).all()
    # The slots gone are list-holders', the day's earliest, held and bookable alike.
    key = np.round(w.slots.time * 1440).astype(np.int64) * 100 + w.slots.clinician
    gone = ~np.isin(np.round(plain.slots.time * 1440).astype(np.int64) * 100
                    + plain.slots.clinician, key)
    holders = {c for c, clin in enumerate(s.clinicians) if s.roles[clin.role].holds_list}
    assert set(plain.slots.clinician[gone].tolist()) <= holders
    minutes = np.bincount(plain.slots.day[gone], minlength=w.n_days) * s.roles["gp"].slot_minutes
    assert np.array_equal(np.floor(minutes / s.practice.urgent_care.triage.minutes_per_call
                                   + 1e-9).astype(int), cap)
    d = int(np.nonzero(cap)[0][0])
    today = (plain.slots.day == d) & np.isin(plain.slots.clinician, list(holders))
    assert plain.slots.time[gone & today].max() <= plain.slots.time[~gone & today].min()
    held = plain.slots.pool == ON_THE_DAY
    assert held[gone].mean() == pytest.approx(held[today].mean(), abs=0.1)


def test_triage_takes_no_more_calls_than_a_day_has_and_resolves_about_its_share():
    from sim.codes import TRIAGED_RESOLVED
    from sim.engine.practice import PracticeModel
    w = triage_world("all", **{"practice.urgent_care.triage.headroom": 0.0,
                               "practice.urgent_care.triage.resolved_share": 0.4})
    log = PracticeModel(w).run().log
    triaged = log.req_triage > 0
    kinds = w.rules.triage_kinds[log.req_urgency]
    assert not (triaged & ~kinds).any(), "follow-ups, reviews and planned care are not triaged"
    # Urgent requests triaged at their first call were triaged on the day they were made:
    # never more of them on a day than its calls.
    from sim.codes import URGENT
    first_call = triaged & (log.req_urgency == URGENT) & (log.req_attempts == 1)
    per_day = np.bincount(np.floor(log.req_time[first_call]).astype(int), minlength=w.n_days)
    assert (per_day <= w.rules.triage_calls).all()
    assert (per_day == w.rules.triage_calls).any(), "some days use every call"
    assert triaged.sum() <= w.rules.triage_calls.sum()
    n = int(triaged.sum())
    share = (log.req_triage[triaged] == TRIAGED_RESOLVED).mean()
    assert abs(share - 0.4) < 4 * np.sqrt(0.4 * 0.6 / n), share
    # With no headroom some days run out: those callers found nothing and were triaged later.
    unmet = np.unique(log.unmet_request)
    assert (kinds[log.req_urgency[unmet]]).any()
    carried = unmet[(log.req_triage[unmet] > 0) & kinds[log.req_urgency[unmet]]]
    assert carried.size > 0, "a caller turned away by a full triage list is triaged later"


def test_urgent_triage_leaves_routine_requests_as_they_were_booked():
    from sim.codes import ROUTINE, URGENT
    from sim.engine.practice import PracticeModel
    w = triage_world("urgent")
    log = PracticeModel(w).run().log
    triaged = log.req_triage > 0
    assert triaged.any() and (log.req_urgency[triaged] == URGENT).all()
    assert not triaged[log.req_urgency == ROUTINE].any()


def test_total_triage_shows_in_the_summary_and_urgent_same_day_counts_those_needing_a_slot():
    from analysis.summary import summarise
    from sim import run
    w = triage_world("all")
    result = run(w.scenario)
    row = summarise(result.tables, w.patients.size, w.scenario.duration_days).iloc[0]
    reqs = result.requests
    assert row["triaged_requests"] == int((reqs["triage"] != "not_triaged").sum()) > 0
    assert row["resolved_at_triage_requests"] == int(
        (reqs["outcome"] == "resolved_at_triage").sum()) > 0
    urgent = reqs[(reqs["urgency"] == "urgent") & (reqs["outcome"] != "resolved_at_triage")]
    same = (urgent["appointment_at"].dt.floor("D") == urgent["requested_at"].dt.floor("D")).mean()
    assert row["urgent_same_day_share"] == pytest.approx(same)
