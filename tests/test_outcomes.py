"""Outcomes: relationship depth, the A&E proxies' two channels, the summary and cohort tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT, default_data_with

from analysis import OUTCOME_COLUMNS, run_summaries
from analysis.depth import deep_probability, deep_relationship_by_patient, usual_gp_consultations
from sim import build_world, load_scenario, run, scenario_from_dict
from sim.outcomes.emergency import background_rates, recent_upc, upc_ratio, years_ratio

POLICY_DIR = ROOT / "scenarios" / "policies"


# ------------------------------------------------------------------ relationship depth


def test_depth_curve_passes_through_both_points():
    p5, p8, p20 = deep_probability([5, 8, 20])
    assert abs(p5 - 0.30) < 0.005
    assert abs(p20 - 0.80) < 0.005
    assert abs(p8 - 0.48) < 0.01  # EVIDENCE 1: about 48% at 8
    assert deep_probability(0) == 0.0
    assert (np.diff(deep_probability(np.arange(1, 60))) > 0).all()


def test_depth_curve_is_configurable():
    p = deep_probability([3, 10], points=((3, 0.2), (10, 0.6)))
    np.testing.assert_allclose(p, [0.2, 0.6])


def test_deep_relationship_with_at_least_one_clinician():
    visits = pd.DataFrame({"patient_id": [1] * 25 + [2],
                           "clinician_id": ["A"] * 5 + ["B"] * 20 + ["A"]})
    deep = deep_relationship_by_patient(visits)
    assert deep[1] == pytest.approx(1 - 0.7 * 0.2, abs=0.005)
    assert deep[2] == pytest.approx(float(deep_probability(1)))


def test_deep_relationship_is_the_same_from_category_codes_or_text():
    """Simulated tables (whole-number patients, clinicians as categories) take a faster path."""
    rng = np.random.default_rng(2)
    names = np.array(["dr_a", "dr_b", "dr_c", "nurse"])
    visits = pd.DataFrame({"patient_id": rng.integers(0, 300, 4000),
                           "clinician_id": names[rng.integers(0, 4, 4000)]})
    visits.loc[::97, "clinician_id"] = None  # visits without a clinician are left out
    as_text = deep_relationship_by_patient(visits)
    coded = deep_relationship_by_patient(visits.astype({"clinician_id": "category"}))
    pd.testing.assert_series_equal(coded, as_text, rtol=1e-13)
    one = visits[(visits["patient_id"] == 7) & visits["clinician_id"].notna()]
    n = one["clinician_id"].value_counts().to_numpy()
    assert coded[7] == pytest.approx(1 - np.prod(1 - deep_probability(n)))


def test_usual_gp_consultations_distribution():
    gp = pd.DataFrame({"patient_id": [1, 1, 1, 2, 2], "clinician_id": ["A", "A", "B", "C", "C"],
                       "usual_clinician_id": ["A", "A", "A", "D", "D"]})
    table = usual_gp_consultations(gp, [1, 2, 3], cap=3)
    assert table["patients"].tolist() == [2, 0, 1, 0]  # 2 and 3 never; 1 twice


# ------------------------------------------------------------------ A&E channels, units


def test_upc_ratio_follows_barker():
    s = load_scenario(DEFAULT)
    c = s.emergency.continuity
    r = upc_ratio(np.array([0.5, 0.7, 0.9, 0.3, np.nan]), c)
    np.testing.assert_allclose(r, [1.0, 0.94, 0.94**2, 1 / 0.94, 1.0])


def test_years_ratio_interpolates_and_is_flat_beyond():
    pts = ((1.0, 1.0), (2.5, 0.87), (15.0, 0.70))
    np.testing.assert_allclose(years_ratio(np.array([0.0, 1.0, 1.75, 2.5, 15.0, 40.0]), pts),
                               [1.0, 1.0, 0.935, 0.87, 0.70, 0.70])


def test_recent_upc_uses_only_the_lookback_window():
    # Patient 0: clinician 1 on days 10, 20; clinician 2 on days 300, 310, 320.
    vp = np.array([0, 0, 0, 0, 0, 1])
    vt = np.array([10.0, 20.0, 300.0, 310.0, 320.0, 5.0])
    vc = np.array([1, 1, 2, 2, 2, 1])
    upc = recent_upc(vp, vt, vc, np.array([0, 0, 0, 1]), np.array([315.0, 500.0, 21.0, 50.0]),
                     lookback=365.0, min_visits=2)
    np.testing.assert_allclose(upc[:3], [2 / 4, 2 / 2, 1.0])  # day 500: days 300 and 310 only
    assert np.isnan(upc[3])  # one visit: too few


def test_background_rates_average_to_the_stated_rate():
    s = load_scenario(DEFAULT, {"population.size": 5000})
    m = build_world(s)
    ae, adm = background_rates(s, m.patients.age_band, m.patients.n_ltc,
                               m.patients.age_band_names)
    assert ae.mean() * 1000 == pytest.approx(s.emergency.ae_per_1000)
    assert adm.mean() * 1000 == pytest.approx(s.emergency.admissions_per_1000)
    old = m.patients.age_band == m.patients.age_band_names.index("85+")
    assert adm[old].mean() > 3 * adm[~old].mean()


def test_duration_model_resets_when_the_usual_gp_leaves():
    data = default_data_with({"gp_adams": {"leaves": "2025-06-02"}})
    data = {**data, "duration_days": 182,
            "emergency": {**data["emergency"],
                          "continuity": {"model": "duration", "initial_years_mean": 8.0}}}
    s = scenario_from_dict(data)
    res = run(s)
    e = res.emergency
    e = e[e["channel"] == "continuity"]
    pats = res.patients.set_index("patient_id")
    moved = pats.loc[e["patient_id"], "usual_clinician_id"].astype(str).to_numpy() == "gp_adams"
    after = (e["at"] >= pd.Timestamp("2025-06-02")).to_numpy()
    years = (e["at"] - pd.Timestamp("2025-06-02")).dt.total_seconds().to_numpy() / 86400 / 365.25
    sel = moved & after
    assert sel.sum() > 5
    pts = s.emergency.continuity
    expected = np.where(e["kind"].to_numpy()[sel] == "ae",
                        years_ratio(years[sel], pts.ae_ratio_by_years),
                        years_ratio(years[sel], pts.admission_ratio_by_years))
    np.testing.assert_allclose(e["continuity_ratio"].to_numpy()[sel], expected)
    # Everyone else keeps a longer relationship, so a ratio no higher on average.
    assert e["continuity_ratio"].to_numpy()[~moved].mean() < e["continuity_ratio"].to_numpy()[
        sel].mean()


# ------------------------------------------------------------------ summary tables


def test_summary_and_cohort_tables_carry_every_outcome(small_scenario):
    res = run(small_scenario)
    summary, by_cohort = run_summaries(res)
    for col in OUTCOME_COLUMNS:
        assert col in summary.columns
        assert np.isfinite(summary[col].iloc[0]), col
    assert by_cohort["cohort"].tolist() == ["all", *small_scenario.cohorts]
    all_row = by_cohort.set_index("cohort").loc["all"]
    for col in OUTCOME_COLUMNS:
        assert all_row[col] == pytest.approx(summary[col].iloc[0]), col
    # Cohort rates are per their own patients: events add up across a partition.
    e = res.emergency
    hb = res.patients["cohort_housebound"].to_numpy()
    n_hb = by_cohort.set_index("cohort").loc["housebound", "patients"]
    assert n_hb == hb.sum()
    years = small_scenario.duration_days / 365.25
    ae_hb = by_cohort.set_index("cohort").loc["housebound", "ae_per_1000"] * n_hb * years / 1000
    assert ae_hb == pytest.approx(
        ((e["kind"] == "ae") & e["patient_id"].isin(np.nonzero(hb)[0])).sum())


# ------------------------------------------------------------------ directions (CRN)


@pytest.fixture(scope="module")
def channel_runs():
    base = {"duration_days": 182}
    out = {}
    more_gp = {**base, "roles.gp.slots_per_session": 20}
    for name, path, over in (("access_first", POLICY_DIR / "access_first.yaml", base),
                             ("more_capacity", POLICY_DIR / "access_first.yaml", more_gp),
                             # continuity raised well beyond its noise: the rule always
                             # applied, and patients without a preference wait two days
                             ("usual_gp_first", POLICY_DIR / "usual_gp_first.yaml",
                              {**base, "policy.params.adherence": 1.0,
                               "choice.extra_days_without_preference": 2})):
        s = load_scenario(path, over)
        out[name] = pd.concat([run_summaries(run(s, replication=k))[0] for k in range(3)],
                              ignore_index=True)
    return out


@pytest.mark.slow
def test_better_access_gives_fewer_access_channel_attendances(channel_runs):
    diff = (channel_runs["more_capacity"]["ae_access_per_1000"]
            - channel_runs["access_first"]["ae_access_per_1000"])
    assert (diff < 0).all(), diff.tolist()


@pytest.mark.slow
def test_higher_upc_gives_fewer_continuity_channel_events(channel_runs):
    a, b = channel_runs["access_first"], channel_runs["usual_gp_first"]
    assert (b["upc_mean"] > a["upc_mean"]).all()
    for col in ("ae_continuity_per_1000", "admissions_per_1000"):
        diff = b[col] - a[col]
        assert (diff < 0).all(), (col, diff.tolist())
