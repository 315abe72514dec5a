"""The compiled desk books exactly as the reference desk, for every switch that touches booking.

``SWITCHES`` lists every scenario switch that changes how requests are booked,
each as overrides of a small practice. Each is run on both desks alone, and
all of them together; the event logs, the calendars, the final lists and the
A&E proxies must be equal value for value. A coverage test then requires that
every field of the booking desks' inputs (:class:`sim.world.build.BookingRules`,
the booking-related fields of :class:`sim.world.build.World`, and every field
of :class:`sim.engine.policy_api.BookingRule`) is changed by at least one
switch, so a new booking feature without a parity case fails here.

The backtest (``tests/backtest/``) is the other half: stored summaries and
event-log hashes of small scenarios that both desks must reproduce, so the two
desks drifting together is caught too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os

import numpy as np
import pytest
from conftest import DEFAULT, ROOT

from policies.usual_gp_first import UsualGPFirst
from sim import PracticeModel, build_world, load_scenario, with_seed
from sim.codes import (
    ATTENDED,
    CANCELLED,
    DNA,
    FOLLOW_UP,
    GAVE_UP,
    GOT_APPOINTMENT,
    ONLINE,
    REVIEW,
    SIGNPOSTED,
    URGENT,
)
from sim.engine.compiled import _Stream
from sim.engine.contract import EventLog
from sim.engine.policy_api import BookingRule, booking_rule_of
from sim.engine.practice import choose_desk
from sim.inputs.networks import load_network
from sim.outcomes.emergency import simulate_emergencies
from sim.world.build import BookingRules, World

SMALL = {"population.size": 3000, "start_date": "2025-01-06", "warmup_days": 14,
         "duration_days": 70}
BASE = ROOT / "scenarios" / "policies" / "access_first.yaml"
REVIEWS = [{"cohort": "complex_care", "every_days": 91, "need": "complex",
            "named_clinician": "team_lead"},
           {"cohort": "housebound", "every_days": 60, "need": "complex", "mode": "telephone",
            "booked_days_ahead": 7}]

PLANNED = [{"id": "ltc_reviews", "need": "nursing", "rate_per_ltc_year": 0.6,
            "lead_days": [14, 42]},
           {"id": "gp_reviews", "need": "complex", "rate_per_year": 0.5,
            "cohort": "complex_care", "with_usual_gp": True, "lead_days": [7, 21],
            "mode": "telephone"}]

#: Every switch that touches booking: name -> overrides of the small default practice.
SWITCHES: dict[str, dict] = {
    "usual_gp_first": {"policy.name": "usual_gp_first"},
    "micro_team": {"policy.name": "micro_team"},
    "clinical_champion": {"policy.name": "clinical_champion",
                          "policy.params.cohorts": ["frequent_attenders", "complex_care"]},
    "personalised_micro_teams": {"policy.name": "personalised_micro_teams"},
    "named_wait_limit": {"policy.name": "usual_gp_first", "policy.params.max_wait_days": 3},
    "team_wait_limit": {"policy.name": "micro_team", "policy.params.team_wait_days": 2},
    "full_adherence": {"policy.name": "usual_gp_first", "policy.params.adherence": 1.0},
    "urgent_with_usual_gp": {"policy.name": "micro_team", "policy.params.urgent": True},
    "duty_doctor": {"practice.urgent_care.model": "duty_doctor",
                    "practice.urgent_care.duty_doctors_per_day": 2},
    "duty_doctor_and_urgent_rule": {"policy.name": "usual_gp_first", "policy.params.urgent": True,
                                    "practice.urgent_care.model": "duty_doctor"},
    "urgent_triage": {"practice.urgent_care.triage.requests": "urgent",
                      "practice.urgent_care.triage.headroom": 0.0},
    "total_triage": {"practice.urgent_care.model": "duty_doctor",
                     "practice.urgent_care.triage.requests": "all",
                     "practice.urgent_care.triage.minutes_per_call": 6.0,
                     "practice.urgent_care.triage.resolved_share": 0.5},
    "bank_holidays": {"practice.bank_holidays": "none", "practice.open_dates": ["2025-04-21"]},
    "popup_reminder": {"policy.name": "micro_team", "policy.params.popup_reminder": True},
    "coded_cohorts": {"policy.name": "usual_gp_first",
                      "policy.params.coded": ["complex_care", "housebound"]},
    "decline_late_offers": {"choice.decline_beyond_days": 6},
    "willingness_spread": {"policy.name": "usual_gp_first", "choice.extra_days_shape": 4.0},
    "patient_choice": {"policy.name": "usual_gp_first",
                       "choice.extra_days_by_need": {"acute": 3, "complex": 7, "nursing": 9}},
    "values_and_dna_propensity": {"population.values_continuity_share": 0.9,
                                  "population.dna_propensity_shape": 0.5},
    "online_time": {"roles.gp.online_slots_per_session": 2, "roles.gp.online_fraction": 0.5},
    "signposting": {"demand.needs.medication.signposted_share": 0.5,
                    "demand.needs.acute.signposted_share": 0.25,
                    "demand.needs.acute.signposted_to": "nursing"},
    "leaver": {"policy.name": "usual_gp_first", "clinicians[gp_hughes].leaves": "2025-02-10"},
    "reviews": {"policy.name": "micro_team", "care_plan_reviews": REVIEWS},
    "follow_ups": {"follow_ups.known_clinician_factor": 0.3, "follow_ups.known_after_visits": 1,
                   "follow_ups.same_clinician_window_days": 2,
                   "demand.needs.nursing.follow_up_probability": 0.4,
                   "demand.needs.nursing.follow_up_delay_days": [3, 9]},
    "release_window": {"practice.on_the_day_release_minutes": 180},
    "horizon": {"practice.booking_horizon_days": 14, "demand.planned_delay_days": [1, 10]},
    "planned_beyond_horizon": {"policy.name": "usual_gp_first",
                               "practice.booking_horizon_days": 7,
                               "demand.planned_delay_days": [5, 30],
                               "demand.needs.complex.routine_planned_share": 0.6},
    "max_attempts": {"practice.max_attempts": 1},
    "dna_by_lead": {"dna.by_lead_days": [{"max_lead_days": 0, "probability": 0.1},
                                         {"max_lead_days": None, "probability": 0.3}]},
    "closed_dates": {"practice.closed_dates": ["2025-01-27", "2025-02-03", "2025-02-04"]},
    "roles_and_modes": {"demand.needs.acute.roles": ["gp", "anp"],
                        "roles.paramedic.modes": ["face_to_face"]},
    "team_formation": {"policy.name": "micro_team", "teams": [],
                       "team_formation": {"gps_per_team": 3}},
    "sickness": {"absence.sickness_rate": 0.1, "absence.sickness_mean_spell_days": 5},
    "leave": {"absence.leave_block_weeks": 2, "roles.gp.annual_leave_weeks": 9},
    "planned_care": {"demand.needs.nursing.routine_planned_share": 0.8},
    "sessions": {"clinicians[gp_gill].sessions": ["mon_am", "tue_am", "wed_am", "thu_am"],
                 "clinicians[pn_lewis].sessions": ["fri_am"]},
    "slots": {"roles.gp.slots_per_session": 12, "roles.gp.on_the_day_share": 0.3},
    "list_caps": {"policy.name": "usual_gp_first", "clinicians[gp_adams].max_list_size": 200},
    "opening_hours": {"practice.opening.open": "07:30", "demand.intraday_profile":
                      {"07:30": 2.0, "10:00": 1.0}},
    "duration": {"duration_days": 50},
    "no_asking": {"policy.name": "micro_team", "choice.ask_for_own_gp": False},
    "unprompted_offers": {"policy.name": "usual_gp_first",
                          "choice.extra_days_without_preference": 1.5},
    "planned_care_streams": {"planned_care": PLANNED},
    "history": {"population.history": {"years": 2, "usual_gp_share": 0.7},
                "follow_ups.known_after_visits": 3, "follow_ups.known_clinician_factor": 0.4},
    "rollout": {"policy_changes": [
        {"from": "2025-02-10", "policy": {"name": "usual_gp_first",
                                          "params": {"adherence": 0.8, "coded_share": 0.9}},
         "ramp": [{"param": "adherence", "start": 0.1, "weeks": 3, "shape": "logistic"},
                  {"param": "coded_share", "start": 0.2, "weeks": 2}],
         "lists": "rebalance"},
        {"from": "2025-03-03", "policy": {"name": "micro_team"}}]},
}

#: Switched on together (one run with all of them), where they can be combined.
COMBINED = ["total_triage", "unprompted_offers", "micro_team", "team_wait_limit", "popup_reminder", "decline_late_offers",
            "patient_choice", "online_time", "signposting", "leaver", "reviews", "follow_ups",
            "release_window", "dna_by_lead", "sickness", "planned_care", "closed_dates",
            "planned_care_streams", "history"]

#: World fields that do not change how requests are booked (so need no switch).
NOT_BOOKING = {"scenario", "replication", "streams", "n_days", "patients", "cohorts",
               "lists_rng_state", "in_post", "list_caps", "rules",
               "coding_rank"}  # the same draw in every switch; coded_share covers its use


def scenario_with(name: str):
    return with_seed(load_scenario(BASE, {**SMALL, **SWITCHES[name]}), 11)


def both(scenario, replication: int = 0):
    """The same scenario, seed and replication on each desk: (world, record) twice."""
    out = []
    for engine in ("reference", "compiled"):
        world = build_world(scenario, replication)
        record = PracticeModel(world).run(engine)
        assert record.engine == engine
        out.append((world, record))
    return out


def assert_same(ref, fast, at_least: int = 1000):
    (world_a, a), (world_b, b) = ref, fast
    assert a.log.n_requests > at_least
    for f in dataclasses.fields(EventLog):
        x, y = getattr(a.log, f.name), getattr(b.log, f.name)
        assert x.shape == y.shape, f.name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"{f.name} differs"
    for k in a.cells:
        assert np.array_equal(a.cells[k], b.cells[k]), k
    assert np.array_equal(a.usual_at_end, b.usual_at_end)
    assert len(a.list_changes) == len(b.list_changes)
    ea, eb = simulate_emergencies(world_a, a), simulate_emergencies(world_b, b)
    assert np.array_equal(ea.patient, eb.patient) and np.array_equal(ea.time, eb.time)


@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_each_switch_books_the_same_on_both_desks(name):
    assert_same(*both(scenario_with(name)))


def test_every_switch_combined_books_the_same():
    overrides = {k: v for name in COMBINED for k, v in SWITCHES[name].items()}
    s = with_seed(load_scenario(BASE, {**SMALL, **overrides}), 5)
    ref, fast = both(s, replication=2)
    assert_same(ref, fast)
    log = ref[1].log
    assert (log.req_urgency == REVIEW).any() and (log.req_outcome == SIGNPOSTED).any()
    assert (log.appt_pool == ONLINE).any() and ref[1].list_changes


@pytest.mark.parametrize("name", ["access_first", "usual_gp_first", "micro_team",
                                  "clinical_champion", "personalised_micro_teams"])
def test_every_policy_stretched_books_the_same(name):
    """Fewer GP slots, so that retries, give-ups, cancellations and follow-ups all occur."""
    s = with_seed(load_scenario(ROOT / "scenarios" / "policies" / f"{name}.yaml", {
        "population.size": 10000, "warmup_days": 14, "duration_days": 100,
        "roles.gp.slots_per_session": 10}), 11)
    ref, fast = both(s, replication=1)
    assert_same(ref, fast)
    log = ref[1].log
    assert (log.appt_status == ATTENDED).any() and (log.appt_status == DNA).any()
    assert (log.appt_status == CANCELLED).any(), "no sickness rebooking in the run"
    assert (log.req_outcome == GOT_APPOINTMENT).any() and (log.req_outcome == GAVE_UP).any()
    assert (log.req_urgency == URGENT).any() and (log.req_urgency == FOLLOW_UP).any()
    assert (log.req_attempts > 1).any(), "no retries in the run"


def test_a_hub_practice_books_the_same():
    net = load_network(ROOT / "scenarios" / "networks" / "pcn_with_hub.yaml")
    _, s = net.practices[1]
    assert_same(*both(s.model_copy(update={"duration_days": 60})))


# ------------------------------------------------------------------ coverage


def _differs(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape != b.shape or not np.array_equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(_differs(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) != len(b) or any(_differs(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return any(_differs(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a))
    return a != b


def test_every_booking_input_has_a_parity_switch():
    """Each field of the desks' inputs is changed by some switch, or this test names it."""
    base = build_world(with_seed(load_scenario(BASE, SMALL), 11))
    base_rule = booking_rule_of(PracticeModel(base).policy)
    worlds = {name: build_world(scenario_with(name)) for name in SWITCHES}
    rules = {name: booking_rule_of(PracticeModel(w).policy) for name, w in worlds.items()}
    missing = []
    for f in BookingRules._fields:
        if not any(_differs(getattr(base.rules, f), getattr(w.rules, f))
                   for w in worlds.values()):
            missing.append(f"BookingRules.{f}")
    for f in dataclasses.fields(World):
        if f.name not in NOT_BOOKING and not any(
                _differs(getattr(base, f.name), getattr(w, f.name)) for w in worlds.values()):
            missing.append(f"World.{f.name}")
    for f in dataclasses.fields(BookingRule):
        if not any(_differs(getattr(base_rule, f.name), getattr(r, f.name))
                   for r in rules.values()):
            missing.append(f"BookingRule.{f.name}")
    assert not missing, f"no parity switch changes {', '.join(missing)}: add one to SWITCHES"


def test_every_switch_is_valid_and_changes_something():
    base = build_world(with_seed(load_scenario(BASE, SMALL), 11))
    for name in SWITCHES:
        w = build_world(scenario_with(name))
        assert any(_differs(getattr(base, f.name), getattr(w, f.name))
                   for f in dataclasses.fields(World) if f.name != "scenario"), name


# ------------------------------------------------------------------ engine choice


def test_a_policy_that_changes_its_offers_runs_on_the_reference_desk():
    class Nearest(UsualGPFirst):  # changes how it books without declaring a rule of its own
        def offers(self, request, calendar):
            return super().offers(request, calendar)[-1:]

    world = build_world(with_seed(load_scenario(DEFAULT, {**SMALL,
                                                          "policy.name": "usual_gp_first"}), 1))
    model = PracticeModel(world)
    assert choose_desk(world, model.policy, model.lists).engine_name == "compiled"
    nearest = Nearest(model.policy.params, model.practice_view, model.policy.rng)
    assert choose_desk(world, nearest, model.lists).engine_name == "reference"
    with pytest.raises(ValueError, match="no compiled rule"):
        choose_desk(world, nearest, model.lists, "compiled")
    with pytest.raises(ValueError, match="unknown engine"):
        choose_desk(world, model.policy, model.lists, "fast")


def test_user_policy_from_a_dotted_path_runs_on_the_reference_desk():
    from policies import REGISTRY
    from sim.inputs.policies import enable_policy_classes

    mine = {**REGISTRY, **enable_policy_classes(["custom_policy:FirstListedClinician"])}
    s = with_seed(load_scenario(DEFAULT, {**SMALL, "duration_days": 20,
                                          "policy.name": "custom_policy:FirstListedClinician"},
                                mine), 3)
    assert PracticeModel(s, policies=mine).run().engine == "reference"


def test_random_numbers_drawn_in_blocks_equal_one_at_a_time():
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    stream = _Stream(a)
    used = 0
    for more in (3, 0, 5000, 1, 9000):
        stream.ensure(used, more)
        used += more
    one_by_one = np.array([b.random() for _ in range(used)])
    assert np.array_equal(stream.values[:used], one_by_one)


# ------------------------------------------------------------------ backtest

BACKTEST = ROOT / "tests" / "backtest"


def log_hash(log: EventLog) -> str:
    """SHA-256 of the event log's columns, in field order."""
    h = hashlib.sha256()
    for f in dataclasses.fields(EventLog):
        a = getattr(log, f.name)
        h.update(f.name.encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def backtest_outputs(name: str, engine: str) -> dict[str, str]:
    """A backtest case's event-log hash and summary table (CSV text)."""
    from analysis.summary import run_summaries
    from sim.outcomes.tables import RunResult, build_tables

    case = json.loads((BACKTEST / "cases.json").read_text())[name]
    scenario = with_seed(load_scenario(ROOT / case["scenario"], case["set"]), case["seed"])
    world = build_world(scenario, case["replication"])
    record = PracticeModel(world).run(engine)
    tables = build_tables(world, record, simulate_emergencies(world, record))
    summary, cohorts = run_summaries(RunResult(scenario, case["replication"], tables, {}))
    buf = io.StringIO()
    summary.to_csv(buf, index=False)
    cohorts.to_csv(buf, index=False)
    return {"event_log_sha256": log_hash(record.log), "summary_csv": buf.getvalue()}


@pytest.mark.parametrize("engine", ["reference", "compiled"])
@pytest.mark.parametrize("name", sorted(json.loads((BACKTEST / "cases.json").read_text())))
def test_backtest_reproduces_stored_outputs(name, engine):
    """Both desks reproduce the stored outputs exactly (regenerate: tests/backtest/README.md)."""
    expected = json.loads((BACKTEST / f"{name}.json").read_text())
    got = backtest_outputs(name, engine)
    assert got["summary_csv"] == expected["summary_csv"], "the summary changed"
    assert got["event_log_sha256"] == expected["event_log_sha256"], "the event log changed"


def test_the_compiled_desk_starts_without_scipy_linalg_and_blas_still_works():
    """The BLAS probe is answered without importing scipy.linalg; real BLAS use still imports it."""
    code = (
        "import sys\n"
        "from sim import load_scenario, run\n"
        "run(load_scenario('scenarios/default.yaml').model_copy(update={'duration_days': 14}))\n"
        "print('linalg before', 'scipy.linalg' in sys.modules)\n"
        "import numpy as np\n"
        "from numba import njit\n"
        "dot = njit(lambda a, b: np.dot(a, b))\n"
        "print('dot', dot(np.ones(3), np.arange(3.0)))\n"
        "print('linalg after', 'scipy.linalg' in sys.modules)\n"
    )
    assert _printed_by_a_fresh_python(code) == ["linalg before False", "dot 3.0",
                                                "linalg after True"]


def _printed_by_a_fresh_python(code: str) -> list[str]:
    """The lines ``code`` prints, run in a new interpreter from the project's root."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.splitlines()


def test_load_engine_loads_what_a_first_run_would_import_of_numba_and_the_holidays():
    """A worker prepared with ``load_engine`` imports no numba or holiday module in its first run."""
    code = (
        "import sys\n"
        "from sim import load_scenario\n"
        "from sim.runs.single import load_engine, run\n"
        "s = load_scenario('scenarios/default.yaml', {'duration_days': 14})\n"
        "load_engine()\n"
        "before = set(sys.modules)\n"
        "run(s)\n"
        "print(sorted(m for m in set(sys.modules) - before\n"
        "             if m.split('.')[0] in ('numba', 'llvmlite', 'holidays')))\n"
        "print('numba' in before, 'holidays.countries.united_kingdom' in before)\n"
    )
    assert _printed_by_a_fresh_python(code) == ["[]", "True True"]


def test_the_compiled_desk_books_the_same_when_it_must_grow_as_it_goes(monkeypatch):
    """Sized for its arrivals it seldom stops for room; starting small it stops often."""
    import sim.engine.compiled as compiled

    overrides = {k: v for name in COMBINED for k, v in SWITCHES[name].items()}
    s = with_seed(load_scenario(BASE, {**SMALL, **overrides}), 5)
    sized = both(s, replication=2)
    stops = []
    monkeypatch.setattr(compiled, "PRESIZE", False)
    grow = compiled.CompiledDesk._grow_as_wanted
    monkeypatch.setattr(compiled.CompiledDesk, "_grow_as_wanted",
                        lambda self: (stops.append(1), grow(self))[1])
    world = build_world(s, 2)
    grown = (world, PracticeModel(world).run("compiled"))
    assert len(stops) >= 10, "the small desk never had to grow"
    assert_same(sized[0], grown)
    assert_same(sized[1], grown)


def test_heads_at_start_are_each_clinicians_first_slot_in_each_pool():
    """The compiled calendar's heads at time 0 (set with numpy) by their definition."""
    from sim.codes import N_POOLS
    from sim.engine import compiled
    from sim.engine.kernel import layout as kernel

    world = build_world(with_seed(load_scenario(DEFAULT, {"duration_days": 28,
                                                          "warmup_days": 0}), 5))
    cal = compiled._calendar(world)
    n_clinicians, n_days = int(cal.dims[kernel.DIM_CLINICIANS]), int(cal.dims[kernel.DIM_DAYS])
    start, end = cal.cell[kernel.CELL_START], cal.cell[kernel.CELL_END]
    seen = {True: 0, False: 0}
    for pool in range(N_POOLS):
        for c in range(n_clinicians):
            base = pool * cal.dims[kernel.DIM_CELLS] + c * n_days
            days = [d for d in range(n_days) if start[base + d] < end[base + d]]
            head = tuple(int(x) for x in cal.head[:, pool, c])
            seen[bool(days)] += 1
            if days:
                k = base + days[0]
                assert head == (days[0], k, start[k])
                assert cal.head_time[pool, c] == cal.times[start[k]]
            else:
                assert head == (n_days, -1, -1)
                assert cal.head_time[pool, c] == np.inf
    assert seen[True] and seen[False]  # both kinds of head were checked


def test_the_cached_engine_loads_without_numba_s_registries_and_books_the_same():
    """Every kernel function (history, growth) loads without numba's compiler's registries.

    In a fresh process, from numba's cache; and it books as the reference desk does.
    """
    import subprocess
    import sys

    code = (
        "import collections, hashlib, sys\n"
        "import sim.engine.compiled as compiled\n"
        "from sim.engine import kernel\n"
        "calls = collections.Counter()\n"
        "def counted(f):\n"
        "    def call(*a):\n"
        "        calls[f.__name__] += 1\n"
        "        return f(*a)\n"
        "    return call\n"
        "kernel.seed_pairs, kernel.rehash = counted(kernel.seed_pairs), counted(kernel.rehash)\n"
        "compiled.PRESIZE = False  # the visit table grows as it goes: rehash\n"
        "from sim import load_scenario, run\n"
        "s = load_scenario('scenarios/default.yaml', {'duration_days': 42, 'seed': 3,\n"
        "                  'population.history': {'years': 1}})  # seed_pairs\n"
        "def digest(r):\n"
        "    return hashlib.sha256(r.appointments.to_csv().encode()).hexdigest()\n"
        "fast = digest(run(s, engine='compiled'))\n"
        "print('registries', 'numba.np.arraymath' in sys.modules)\n"
        "print('same', fast == digest(run(s, engine='reference')))\n"
        "print('loaded', calls['seed_pairs'] > 0 and calls['rehash'] > 0)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True) for _ in range(2)]  # the first may compile
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]  # a crash while loading fails here
        assert {"same True", "loaded True"} <= set(r.stdout.splitlines())
    assert runs[1].stdout.splitlines()[0] == "registries False"


def test_every_kernel_function_is_cached_against_all_the_kernel_files(tmp_path):
    """A cached function holds what it calls, maybe from another kernel file: all are keyed."""
    import types

    from sim.engine import kernel
    from sim.engine.numba_cache import stamp_with_sources

    names = {d.__name__ for d in kernel.DISPATCHERS}
    assert {"run_days", "seed_pairs", "rehash", "earliest", "offers", "handle"} <= names
    for d in kernel.DISPATCHERS:
        stamp = d._cache._cache_file._source_stamp
        assert isinstance(stamp, tuple) and len(stamp) == 2 and len(stamp[1]) == 64, d

    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")

    def dispatcher():
        return types.SimpleNamespace(_cache=types.SimpleNamespace(
            _cache_file=types.SimpleNamespace(_source_stamp=(1.0, 10))))

    first = stamp_with_sources([dispatcher()], [a, b])
    b.write_text("y = 3\n")  # a change in another file
    assert stamp_with_sources([dispatcher()], [a, b]) != first


def test_the_fast_load_can_be_switched_off_and_books_the_same():
    import subprocess
    import sys

    code = ("import sys\n"
            "from sim import load_scenario, run\n"
            "s = load_scenario('scenarios/default.yaml', {'duration_days': 21, 'seed': 4})\n"
            "print(run(s, engine='compiled').appointments.to_csv().__hash__() == "
            "run(s, engine='reference').appointments.to_csv().__hash__())\n"
            "print('registries', 'numba.np.arraymath' in sys.modules)\n")
    env = {**os.environ, "GPSIM_NUMBA_FAST_LOAD": "0"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines() == ["True", "registries True"], r.stdout
