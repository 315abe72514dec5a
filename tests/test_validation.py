"""Validation against published figures (docs/evidence.md section 10) and closed-form results.

The default practice under the four approaches of the default comparison, six
replications each with the default seed (each a fresh synthetic list, so
practice-to-practice variation is part of the spread). The access-first
practice is judged on every published figure of
:data:`analysis.validation.TARGETS` (independent checks: its whole interval
within tolerance; inputs reproduced: not outside it): the same table a
comparison writes as ``validation.csv``, so what users see is what is
tested. The continuity policies must raise continuity on routine requests in
every replication (the direction of the mechanism; no parameter is set to
reach a programme's published gain, which the report shows only beside the
model's), and the patients who hold out for their own clinician must wait
longer than those who take the soonest slot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import KNOWN_OUTSIDE, ROOT

from analysis.compare import collect, reduce_run
from analysis.validation import TARGETS, validation_table
from sim import load_scenario
from sim.runs.batch import run_batch

REPLICATIONS = 6
POLICIES = ("access_first", "usual_gp_first", "clinical_champion", "personalised_micro_teams")


@pytest.fixture(scope="module")
def data():
    """The reduced tables of the default comparison (6 replications each)."""
    scenarios = {p: load_scenario(ROOT / "scenarios" / "policies" / f"{p}.yaml")
                 for p in POLICIES}
    jobs = [(p, s, k) for k in range(REPLICATIONS) for p, s in scenarios.items()]
    return collect(list(run_batch(jobs, reduce_run, workers=2)), list(POLICIES))


@pytest.fixture(scope="module")
def runs(data):
    return data["runs"]


@pytest.fixture(scope="module")
def validation(runs):
    return validation_table(runs, list(POLICIES)).set_index(["scenario", "measure"])


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS, ids=[t.measure for t in TARGETS])
def test_access_first_against_every_published_figure(validation, target):
    """Independent checks within tolerance (the whole 95% interval); inputs not outside it.

    An input-reproduced row whose interval crosses the tolerance's edge is a weak
    fit that docs/validation.md names.
    """
    row = validation.loc[("access_first", target.measure)]
    assert row["n"] == REPLICATIONS
    assert row["kind"] == ("independent" if target.independent else "input reproduced")
    message = (f"{target.label}: model {row['model_mean']:.4g} ({row['model_low']:.4g}-"
               f"{row['model_high']:.4g}) against {target.low:.4g}-{target.high:.4g} "
               f"({target.published}): {row['verdict']}")
    if target.independent:
        assert row["within"], message
    elif target.measure in KNOWN_OUTSIDE:  # still off, and on the side the docs say
        side = KNOWN_OUTSIDE[target.measure]
        assert not row["within"], f"mended? remove it from KNOWN_OUTSIDE and the docs: {message}"
        assert (row["model_mean"] < target.low if side == "below"
                else row["model_mean"] > target.high), message
    else:
        assert row["verdict"] != "outside", message


@pytest.mark.slow
def test_non_continuity_figures_hold_under_every_policy(validation):
    """Booking policies move continuity, not demand, DNAs or the lead-time bands."""
    for policy in POLICIES:
        for t in TARGETS:
            if (not t.continuity and t.measure not in ("ae_per_1000", "ae_access_share")
                    and t.measure not in KNOWN_OUTSIDE):
                verdict = validation.loc[(policy, t.measure), "verdict"]
                assert verdict != "outside", (policy, t.measure)


def paired(runs: pd.DataFrame, policy: str, metric: str) -> np.ndarray:
    a = runs[runs["scenario"] == "access_first"].set_index("replication")[metric]
    b = runs[runs["scenario"] == policy].set_index("replication")[metric]
    return (b - a).to_numpy(dtype=float)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["usual_gp_first", "personalised_micro_teams"])
def test_continuity_policies_raise_continuity_on_routine_requests(runs, policy):
    """The direction of the mechanism, not a programme's size (which no parameter targets).

    Reception offering the usual GP or team raises the usual-GP share of routine GP
    visits in every replication; urgent ones, outside the rule's reach by default,
    are unchanged within noise.
    """
    assert (paired(runs, policy, "slicc_from_routine") > 0).all()
    urgent = paired(runs, policy, "slicc_from_urgent")
    assert abs(urgent.mean()) < 0.003, urgent


@pytest.mark.slow
def test_clinical_champions_raise_continuity_for_their_cohorts_only(data):
    """Approach 1 looks after cohorts: their usual-GP share rises more than the list's.

    Averaged over the champions' three cohorts (the default champions are the
    cohorts' team leads, often their usual GP): at least twice the list's gain.
    """
    c = data["cohorts"]
    def mean(policy, cohort):
        rows = c[(c["scenario"] == policy) & (c["cohort"] == cohort)]
        return rows["usual_gp_share"].mean()
    def gain(cohort):
        return mean("clinical_champion", cohort) - mean("access_first", cohort)
    gain_cohorts = np.mean([gain(k) for k in ("frequent_attenders", "housebound",
                                               "complex_care")])
    assert gain_cohorts > 0.004 and gain_cohorts > 2 * gain("all"), (gain_cohorts, gain("all"))


@pytest.mark.slow
def test_team_continuity_is_highest_with_personalised_micro_teams(runs):
    gain = paired(runs, "personalised_micro_teams", "team_continuity")
    assert (gain > 0.02).all(), gain  # measured 0.037 to 0.045
    assert gain.mean() > paired(runs, "usual_gp_first", "team_continuity").mean()


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
def test_holding_out_for_your_own_clinician_costs_days(runs, policy):
    """The trade-off lives with the patients who wait for their own clinician."""
    r = runs[runs["scenario"] == policy]
    held = r["routine_wait_held_out_mean_days"].to_numpy()
    soonest = r["routine_wait_took_soonest_mean_days"].to_numpy()
    assert (held > soonest + 0.5).all()
    assert (r["held_out_share"] > 0.05).all()


@pytest.mark.slow
def test_held_capacity_in_evidence_range():
    """Evidence 10.2: 40-50% of capacity held for the day."""
    from sim import build_world, with_seed
    from sim.engine.calendar import Calendar

    world = build_world(with_seed(load_scenario(ROOT / "scenarios" / "default.yaml")), 0)
    built = Calendar(world.slots).cell_table()["built"]
    share = built[1].sum() / built.sum()
    assert 0.40 <= share <= 0.50


@pytest.mark.slow
def test_dna_by_lead_time_matches_configured_bands(default_scenario):
    """Closed form: P(DNA | lead) = band probability x mean propensity (1), pooled over runs.

    The propensity is independent of everything that decides the lead time,
    so within a lead-time band the DNA share estimates the band's probability;
    tolerance four binomial standard errors plus 3% relative for the
    propensity's sampling.
    """
    from sim import run

    frames = []
    for k in range(3):
        a = run(default_scenario, replication=k).appointments
        a = a[a["in_window"] & a["status"].isin(["attended", "dna"]) & (a["pool"] != "online")]
        frames.append(a[["lead_days", "status"]])
    a = pd.concat(frames)
    lo = 0
    for band in default_scenario.dna.by_lead_days:
        hi = np.inf if band.max_lead_days is None else band.max_lead_days
        sel = (a["lead_days"] >= lo) & (a["lead_days"] <= hi)
        n = int(sel.sum())
        assert n > 1000
        observed = (a.loc[sel, "status"] == "dna").mean()
        p = band.probability
        tol = 4 * np.sqrt(p * (1 - p) / n) + 0.03 * p
        assert abs(observed - p) < tol, (band, observed, n)
        lo = hi + 1


@pytest.mark.slow
def test_list_sizes_proportional_to_sessions(default_scenario):
    """Usual-GP lists are balanced by sessions worked (largest remainder: within one patient)."""
    from sim import run

    p = run(default_scenario.model_copy(update={"duration_days": 7}), replication=0).patients
    sizes = p["usual_clinician_id"].astype(str).value_counts()
    gps = [c for c in default_scenario.clinicians if default_scenario.roles[c.role].holds_list]
    total = sum(len(c.sessions) for c in gps)
    for c in gps:
        expected = default_scenario.population.size * len(c.sessions) / total
        assert abs(sizes[c.id] - expected) < 1
