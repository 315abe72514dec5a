"""Metamorphic checks: how outputs must move when an input moves, whatever the calibration.

None of these is met by setting a parameter: each relates two runs of the
same model (paired by replication, with common random numbers, where the two
share a list) and would catch wiring that a tuned figure hides. Four
half-year replications of the default practice under access-first each;
tolerances are stated with each check. The horizon's check is in
tests/test_policies.py (a longer horizon never lowers continuity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from analysis.compare import collect, reduce_run
from sim import load_scenario
from sim.runs.batch import run_batch

pytestmark = pytest.mark.slow

REPLICATIONS = 4
ACCESS_FIRST = ROOT / "scenarios" / "policies" / "access_first.yaml"
DEFAULT = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
CLINICIANS = DEFAULT["clinicians"]
GP_SESSIONS = np.array([len(c["sessions"]) for c in CLINICIANS if c["role"] == "gp"])


def _doubled() -> dict:
    """Twice the list and every clinician twice (their teams too): the same practice, twice."""
    twin = [{**c, "id": f"{c['id']}_twin"} for c in CLINICIANS]
    teams = [{"id": f"{t['id']}_twin", "lead": f"{t['lead']}_twin",
              "members": [f"{m}_twin" for m in t["members"]]} for t in DEFAULT["teams"]]
    return {"population.size": 2 * DEFAULT["population"]["size"],
            "clinicians": CLINICIANS + twin, "teams": DEFAULT["teams"] + teams}


VARIANTS = {
    "default": {},
    "double_gp_capacity": {"roles.gp.slots_per_session": 32},
    "half_gp_capacity": {"roles.gp.slots_per_session": 8},
    "no_one_values_continuity": {"population.values_continuity_share": 0.0},
    "list_and_capacity_doubled": _doubled(),
    "one_gp": {"population.size": 1800, "teams": [],
               "clinicians": [CLINICIANS[0], *(c for c in CLINICIANS if c["role"] != "gp")]},
}


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    jobs = [(label, load_scenario(ACCESS_FIRST, {"duration_days": 182, **over}), k)
            for label, over in VARIANTS.items() for k in range(REPLICATIONS)]
    runs = collect(list(run_batch(jobs, reduce_run, workers=2)), list(VARIANTS))["runs"]
    return runs.set_index(["scenario", "replication"])


def paired(runs, label, metric) -> np.ndarray:
    return (runs.loc[label, metric] - runs.loc["default", metric]).to_numpy(dtype=float)


def test_doubling_gp_capacity_shortens_waits_and_raises_same_day_access(runs):
    assert (paired(runs, "double_gp_capacity", "routine_wait_mean_days") < 0).all()
    assert (paired(runs, "double_gp_capacity", "same_day_share") > 0).all()


def test_halving_gp_capacity_lengthens_waits_and_leaves_demand_unmet(runs):
    assert (paired(runs, "half_gp_capacity", "routine_wait_mean_days") > 0).all()
    assert (paired(runs, "half_gp_capacity", "same_day_share") < 0).all()
    assert (paired(runs, "half_gp_capacity", "unmet_per_1000_patients_year") > 0).all()


def test_without_preferences_the_usual_gp_is_seen_by_chance(runs):
    """Nobody asks for their GP: a patient's own request meets their usual GP by chance.

    Lists are shared out by sessions and slots are taken as they come, so the
    chance is the sum of the GPs' squared shares of sessions (0.135 here).
    Follow-ups and care-plan reviews are booked with a named clinician, so the
    check is on routine and urgent requests; within 0.015 of chance.
    """
    chance = float(((GP_SESSIONS / GP_SESSIONS.sum()) ** 2).sum())
    for kind in ("slicc_routine", "slicc_urgent"):
        share = runs.loc["no_one_values_continuity", kind].mean()
        assert abs(share - chance) < 0.015, (kind, share, chance)


def test_a_one_gp_practice_has_perfect_usual_provider_continuity(runs):
    assert (runs.loc["one_gp", "upc_mean"] == 1.0).all()
    assert (runs.loc["one_gp", "slicc"] == 1.0).all()


@pytest.mark.parametrize("metric", ["consultations_per_patient_year", "dna_rate",
                                    "ae_per_1000", "admissions_per_1000"])
def test_doubling_the_list_and_its_capacity_leaves_rates_within_noise(runs, metric):
    """Rates per patient do not depend on the practice's size (waits may: more GPs pool).

    Different lists, so not paired: the means differ by less than three
    standard errors of their difference, or 1% of the default's.
    """
    a, b = runs.loc["default", metric], runs.loc["list_and_capacity_doubled", metric]
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert abs(b.mean() - a.mean()) <= max(3 * se, 0.01 * abs(a.mean())), (a.mean(), b.mean(), se)
