"""Registered lists: balance by sessions with caps, and turnover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, default_data_with

from sim import ScenarioError, load_scenario, run, scenario_from_dict
from sim.world.population import list_sizes, reassign_list


def test_list_sizes_proportional_and_capped():
    sizes = list_sizes(1000, np.array([8, 8, 4]), np.array([np.inf, 300, np.inf]))
    assert sizes.sum() == 1000
    assert sizes[1] == 300
    # The rest shared 8:4 between the uncapped two.
    assert abs(sizes[0] - 700 * 8 / 12) < 1 and abs(sizes[2] - 700 * 4 / 12) < 1
    with pytest.raises(ValueError):
        list_sizes(1000, np.array([1, 1]), np.array([400, 400]))


def test_reassign_fills_shortfalls():
    usual = np.array([0] * 50 + [1] * 20 + [2] * 30)
    rng = np.random.default_rng(1)
    moved = reassign_list(usual, 0, np.array([1, 2]), np.array([1, 1]), np.array([np.inf] * 2),
                          rng)
    assert moved == 50
    assert (usual != 0).all()
    assert np.bincount(usual, minlength=3)[1:].tolist() == [50, 50]


@pytest.fixture(scope="module")
def turnover_run():
    data = default_data_with({"gp_hughes": {"leaves": "2025-06-02"},
                              "gp_gill": {"max_list_size": 600}})
    clinicians = [*data["clinicians"], {"id": "gp_new", "role": "gp", "joins": "2025-06-02",
                                        "sessions": ["wed_am", "wed_pm", "fri_pm"]}]
    data = {**data, "clinicians": clinicians, "duration_days": 168}
    s = scenario_from_dict(data)
    return s, run(s)


def test_leaver_is_never_booked_after_leaving_and_joiner_never_before(turnover_run):
    s, res = turnover_run
    a = res.appointments
    a = a[a["status"] != "cancelled_by_practice"]
    cut = pd.Timestamp("2025-06-02")
    assert not ((a["clinician_id"] == "gp_hughes") & (a["appointment_at"] >= cut)).any()
    assert ((a["clinician_id"] == "gp_hughes") & (a["appointment_at"] < cut)).any()
    assert not ((a["clinician_id"] == "gp_new") & (a["appointment_at"] < cut)).any()
    assert ((a["clinician_id"] == "gp_new") & (a["appointment_at"] >= cut)).any()


def test_leavers_list_goes_to_own_team(turnover_run):
    s, res = turnover_run
    p = res.patients
    was = p[p["usual_clinician_id"] == "gp_hughes"]
    assert len(was) > 0
    # gp_hughes is in team south with gp_begum, the only other list-holder there.
    assert (was["usual_clinician_at_end_id"] == "gp_begum").all()
    a = res.appointments
    booked_after = a[a["booked_at"] >= pd.Timestamp("2025-06-02")]
    assert not (booked_after["usual_clinician_id"] == "gp_hughes").any()


def test_list_cap_respected(turnover_run):
    s, res = turnover_run
    assert (res.patients["usual_clinician_id"] == "gp_gill").sum() <= 600


def test_bad_turnover_dates_rejected(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(f"extends: {DEFAULT}\nclinicians:\n"
                 "  - {id: gp_a, role: gp, sessions: [mon_am], joins: 2025-03-01, "
                 "leaves: 2025-02-01}\n")
    with pytest.raises(ScenarioError, match=r"clinicians\[0\].*leaves"):
        load_scenario(f)
