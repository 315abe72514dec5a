"""Care navigation (active signposting): a share of requests goes elsewhere or to other roles."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT

from analysis import summarise
from sim import ScenarioError, load_scenario, run

SHORT = {"population.size": 3000, "start_date": "2025-01-06", "warmup_days": 14,
         "duration_days": 84}


@pytest.fixture(scope="module")
def runs():
    base = load_scenario(DEFAULT, SHORT)
    nav = load_scenario(DEFAULT, {
        **SHORT,
        "demand.needs.medication.signposted_share": 0.5,      # half to community pharmacy
        "demand.needs.acute.signposted_share": 0.25,          # a quarter to the nurses
        "demand.needs.acute.signposted_to": "nursing",
    })
    return run(base), run(nav)


def test_signposted_requests_get_no_appointment(runs):
    _, nav = runs
    r = nav.requests
    out = r[r["outcome"] == "signposted_elsewhere"]
    assert len(out) > 50
    assert set(out["need"].astype(str)) == {"medication"}
    assert out["appointment_at"].isna().all()
    med = r[(r["need"] == "medication") & (r["urgency"] != "follow_up")]
    share = (med["outcome"] == "signposted_elsewhere").mean()
    n = len(med)
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / n)  # binomial, 4 standard errors


def test_signposting_to_another_need_uses_its_roles(runs):
    base, nav = runs
    a = nav.appointments
    # Redirected acute requests are recorded as nursing and seen by nursing roles.
    assert (a.loc[a["need"] == "nursing", "role"].astype(str)
            .isin(["practice_nurse", "anp"])).all()
    n_base = (base.requests["need"] == "nursing").sum()
    n_nav = (nav.requests["need"] == "nursing").sum()
    assert n_nav > n_base * 1.2
    # Same arrivals otherwise: navigation has its own stream.
    assert len(nav.requests) == pytest.approx(len(base.requests), rel=0.05)


def test_summary_counts_them(runs):
    _, nav = runs
    s = summarise(nav.tables, 3000, 84).iloc[0]
    assert s["signposted_requests"] == (nav.requests["outcome"] == "signposted_elsewhere").sum()
    assert s["signposted_requests"] > 50


def test_requests_signposted_elsewhere_are_not_access_failures():
    every = {f"demand.needs.{n}.signposted_share": 1.0
             for n in ("complex", "acute", "nursing", "medication")}
    res = run(load_scenario(DEFAULT, {**SHORT, "population.size": 1000, **every,
                                      "planned_care": []}))
    assert (res.requests["outcome"] == "signposted_elsewhere").all()
    assert len(res.appointments) == 0
    assert (res.emergency["channel"] == "access").sum() == 0
    assert (res.emergency["channel"] == "continuity").sum() > 0


def test_bad_signposting_target():
    with pytest.raises(ScenarioError, match=r"signposted_to: unknown need 'nurse'"):
        load_scenario(DEFAULT, {"demand.needs.acute.signposted_share": 0.1,
                                "demand.needs.acute.signposted_to": "nurse"})
