"""The compiled engine books exactly as the reference engine.

Every built-in policy, and every feature that touches booking (retries,
sickness rebooking, leavers' lists, follow-ups, reviews, online time,
signposting, a hub, an imported list), is run on both engines with the same
seed; the event logs, the calendars and the A&E proxies must be equal value
for value. The reference engine is the plain-Python booking desk that any
policy can use; the compiled one (numba) is what makes large runs fast.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT, ROOT, default_data_with

from policies.usual_gp_first import UsualGPFirst
from sim import kernel as K
from sim import load_scenario, scenario_from_dict, with_seed
from sim.calendar import AHEAD, N_POOLS, ON_THE_DAY, ONLINE
from sim.compiled import _Stream
from sim.demand import FOLLOW_UP, NAMED_USUAL_GP, REVIEW, ROUTINE, URGENT
from sim.model import (
    ATTENDED,
    BOOKED,
    CANCELLED,
    DNA,
    GAVE_UP,
    GOT_APPOINTMENT,
    PENDING,
    SIGNPOSTED,
    PracticeModel,
    choose_engine,
)
from sim.network import load_network

LOG_FIELDS = (
    "req_patient", "req_time", "req_from_day", "req_with", "req_need", "req_urgency",
    "req_mode", "req_attempts", "req_outcome", "req_appointment", "appt_request",
    "appt_patient", "appt_clinician", "appt_time", "appt_booked_at", "appt_pool",
    "appt_status", "appt_usual", "unmet_request", "unmet_time",
)
SHORT = {"population.size": 4000, "warmup_days": 14, "duration_days": 100}
# Stretched: fewer GP slots, so that some patients retry and some give up.
STRETCHED = {**SHORT, "population.size": 10000, "roles.gp.slots_per_session": 12}
POLICIES = ROOT / "scenarios" / "policies"


def both(scenario, replication: int = 0):
    """The same scenario, seed and replication on each engine."""
    s = with_seed(scenario, 11)
    ref = PracticeModel(s, replication)
    ref.run("reference")
    fast = PracticeModel(s, replication)
    fast.run("compiled")
    assert (ref.engine, fast.engine) == ("reference", "compiled")
    return ref, fast


def assert_same(ref, fast):
    assert len(ref.log.req_patient) > 1000
    for f in LOG_FIELDS:
        a, b = np.asarray(getattr(ref.log, f)), np.asarray(getattr(fast.log, f))
        assert a.shape == b.shape, f
        assert np.array_equal(a, b), f"{f} differs"
    assert ref.log.gave_up_at == fast.log.gave_up_at
    ca, cb = ref.calendar.cell_table(), fast.calendar.cell_table()
    for k in ca:
        assert np.array_equal(ca[k], cb[k]), k
    assert np.array_equal(ref.usual, fast.usual)
    ea, eb = ref.emergencies, fast.emergencies
    assert np.array_equal(ea.patient, eb.patient) and np.array_equal(ea.time, eb.time)


@pytest.mark.parametrize("name", ["access_first", "usual_gp_first", "micro_team",
                                  "clinical_champion", "personalised_micro_teams"])
def test_every_policy_books_the_same_on_both_engines(name):
    ref, fast = both(load_scenario(POLICIES / f"{name}.yaml", STRETCHED), replication=1)
    assert_same(ref, fast)
    # The run exercised what the engines must agree on.
    status = np.asarray(ref.log.appt_status)
    outcome = np.asarray(ref.log.req_outcome)
    urgency = np.asarray(ref.log.req_urgency)
    assert (status == ATTENDED).any() and (status == DNA).any()
    assert (status == CANCELLED).any(), "no sickness rebooking in the run"
    assert (outcome == GOT_APPOINTMENT).any() and (outcome == GAVE_UP).any()
    assert (urgency == URGENT).any() and (urgency == FOLLOW_UP).any()
    assert (np.asarray(ref.log.req_attempts) > 1).any(), "no retries in the run"


def test_continuity_rules_with_limits_and_full_adherence():
    for name, extra in (("usual_gp_first", {"policy.params.max_wait_days": 3,
                                            "policy.params.adherence": 1.0}),
                        ("micro_team", {"policy.params.team_wait_days": 2,
                                        "policy.params.popup_reminder": True})):
        ref, fast = both(load_scenario(POLICIES / f"{name}.yaml", {**SHORT, **extra}))
        assert_same(ref, fast)


def test_reviews_online_time_and_signposting_are_the_same():
    s = load_scenario(ROOT / "scenarios" / "coordinated_care.yaml", {
        **SHORT,
        "roles.gp.online_slots_per_session": 2, "roles.gp.online_fraction": 0.5,
        "demand.needs.medication.signposted_share": 0.5,
        "demand.needs.acute.signposted_share": 0.25,
        "demand.needs.acute.signposted_to": "nursing",
    })
    ref, fast = both(s)
    assert_same(ref, fast)
    urgency, outcome = np.asarray(ref.log.req_urgency), np.asarray(ref.log.req_outcome)
    assert (urgency == REVIEW).any() and (outcome == SIGNPOSTED).any()
    assert (np.asarray(ref.log.appt_pool) == ONLINE).any()


def test_leavers_lists_move_the_same_way():
    data = default_data_with({"gp_hughes": {"leaves": "2025-03-03"}})
    data = {**data, "duration_days": 90,
            "population": {**data["population"], "size": 4000},
            "policy": {"name": "usual_gp_first"}}
    ref, fast = both(scenario_from_dict(data))
    assert ref.list_changes and len(ref.list_changes) == len(fast.list_changes)
    assert_same(ref, fast)


def test_a_hub_practice_is_the_same():
    net = load_network(ROOT / "scenarios" / "networks" / "pcn_with_hub.yaml")
    _, s = net.practices[1]
    ref, fast = both(s.model_copy(update={"duration_days": 60}))
    assert_same(ref, fast)


def test_a_policy_that_changes_its_tiers_runs_on_the_reference_engine():
    class Nearest(UsualGPFirst):  # changes the rule without declaring a compiled one
        def tiers(self, request):
            return []

    s = with_seed(load_scenario(POLICIES / "usual_gp_first.yaml", SHORT), 1)
    m = PracticeModel(s)
    assert choose_engine(m) is not m  # the built-in policy compiles
    m.policy = Nearest(m.policy.params, m.practice_view, m.policy.rng)
    assert choose_engine(m) is m
    with pytest.raises(ValueError, match="no compiled rule"):
        choose_engine(m, "compiled")
    with pytest.raises(ValueError, match="unknown engine"):
        choose_engine(m, "fast")


def test_user_policy_from_a_dotted_path_runs_on_the_reference_engine():
    s = with_seed(load_scenario(DEFAULT, {**SHORT, "duration_days": 20,
                                          "policy.name": "custom_policy:FirstListedClinician"}),
                  3)
    m = PracticeModel(s)
    m.run()
    assert m.engine == "reference"


def test_random_numbers_drawn_in_blocks_equal_one_at_a_time():
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    stream = _Stream(a)
    used = 0
    for more in (3, 0, 5000, 1, 9000):
        stream.ensure(used, more)
        used += more
    one_by_one = np.array([b.random() for _ in range(used)])
    assert np.array_equal(stream.values[:used], one_by_one)


def test_kernel_codes_match_the_engine():
    assert (K.AHEAD, K.ON_THE_DAY, K.ONLINE, K.N_POOLS) == (AHEAD, ON_THE_DAY, ONLINE, N_POOLS)
    assert (K.URGENT, K.ROUTINE, K.FOLLOW_UP, K.REVIEW) == (URGENT, ROUTINE, FOLLOW_UP, REVIEW)
    assert K.NAMED_USUAL_GP == NAMED_USUAL_GP
    assert (K.BOOKED, K.ATTENDED, K.DNA, K.CANCELLED) == (BOOKED, ATTENDED, DNA, CANCELLED)
    assert (K.PENDING, K.GOT_APPOINTMENT, K.GAVE_UP, K.SIGNPOSTED) == (
        PENDING, GOT_APPOINTMENT, GAVE_UP, SIGNPOSTED)
