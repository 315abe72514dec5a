"""Online consultations: answered asynchronously in set-aside online time, at a fraction of a slot."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT, ROOT

from sim import ScenarioError, build_world, load_scenario, run
from sim.codes import ONLINE
from sim.engine.calendar import Calendar

SHORT = {"population.size": 3000, "warmup_days": 14, "duration_days": 84,
         "demand.modes": {"face_to_face": 0.7, "telephone": 0.1, "online": 0.2},
         "roles.gp.online_slots_per_session": 2, "roles.gp.online_fraction": 0.5,
         "roles.anp.online_slots_per_session": 1, "roles.anp.online_fraction": 0.25}


def test_online_time_is_laid_out_as_short_slots_at_the_end_of_each_session():
    s = load_scenario(DEFAULT, SHORT)
    m = build_world(s)
    cal = Calendar(m.slots)
    c = m.workforce.ids.index("gp_adams")
    day = next(d for d in range(cal.n_days) if cal._end[c * cal.n_days + d]
               > cal._start[c * cal.n_days + d])
    times = {}
    for pool in (0, 1, ONLINE):
        k = pool * cal.n_cells + c * cal.n_days + day
        times[pool] = cal._times[cal._start[k]:cal._end[k]]
    gp = s.roles["gp"]
    from sim.inputs.schema import WEEKDAYS

    weekday = WEEKDAYS[(s.start_date.weekday() + day) % 7]
    sessions = sum(code.startswith(weekday) for code in s.clinicians[c].sessions)
    assert len(times[0]) + len(times[1]) == (gp.slots_per_session - 2) * sessions
    assert len(times[ONLINE]) == 4 * sessions  # 2 slots / 0.5
    minutes = np.diff(sorted(times[ONLINE]))[:3] * 24 * 60
    np.testing.assert_allclose(minutes, 5.0)  # half of a 10-minute slot
    # The first online slot starts where the 14 ordinary slots of the morning end.
    from sim.inputs.schema import hours

    first_session = min(hours(s.practice.session_starts[code.partition("_")[2]])
                        for code in s.clinicians[c].sessions if code.startswith(weekday))
    assert min(times[ONLINE]) == pytest.approx(day + first_session / 24 + 14 * 10 / (24 * 60))


@pytest.fixture(scope="module")
def online_runs():
    # Patients do not ask for their GP here, so the policy's effect shows alone.
    quiet = {**SHORT, "choice.ask_for_own_gp": False}
    a = run(load_scenario(ROOT / "scenarios" / "policies" / "access_first.yaml", quiet))
    u = run(load_scenario(ROOT / "scenarios" / "policies" / "usual_gp_first.yaml",
                          {**quiet, "policy.params": {"adherence": 1.0}}))
    return a, u


def test_online_requests_use_only_online_time_and_others_never(online_runs):
    a, _ = online_runs
    appts = a.appointments[a.appointments["status"] != "cancelled_by_practice"]
    online = appts["mode"] == "online"
    assert online.sum() > 300
    assert (appts.loc[online, "pool"] == "online").all()
    assert (appts.loc[~online, "pool"] != "online").all()
    assert set(appts.loc[online, "role"].astype(str)) <= {"gp", "anp"}


def test_online_consultations_are_never_missed(online_runs):
    a, _ = online_runs
    appts = a.appointments
    done = appts[appts["in_window"] & appts["status"].isin(["attended", "dna"])]
    assert (done.loc[done["mode"] == "online", "status"] == "attended").all()
    assert (done.loc[done["mode"] != "online", "status"] == "dna").any()


def test_continuity_policies_apply_to_online_consultations(online_runs):
    a, u = online_runs

    def usual_share(res):
        x = res.appointments
        x = x[(x["mode"] == "online") & (x["role"] == "gp") & (x["urgency"] == "routine")]
        return (x["clinician_id"].astype(str) == x["usual_clinician_id"].astype(str)).mean()

    assert usual_share(u) > usual_share(a) + 0.2


def test_online_time_needs_the_online_mode():
    with pytest.raises(ScenarioError, match=r"roles\.practice_nurse.*needs 'online' in modes"):
        load_scenario(DEFAULT, {"roles.practice_nurse.online_slots_per_session": 1})
    with pytest.raises(ScenarioError, match=r"roles\.gp.*more than slots_per_session"):
        load_scenario(DEFAULT, {"roles.gp.online_slots_per_session": 40})
