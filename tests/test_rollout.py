"""Rolling out: policy changes within a run, ramps, tidied lists, waves, month-by-month results."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from analysis.monthly import monthly_table
from analysis.summary import run_summaries
from sim import PracticeModel, ScenarioError, build_world, load_scenario, run, with_seed
from sim.engine.contract import EventLog
from sim.inputs.networks import load_network
from sim.world.build import ramp_fraction

SMALL = {"population.size": 3000, "start_date": "2025-01-06", "warmup_days": 14,
         "duration_days": 112}
CHANGE_DAY = 14 + 42  # six weeks into the recorded window
CHANGE = {"from": "2025-03-03", "policy": {"name": "usual_gp_first",
                                           "params": {"adherence": 1.0}}}


def scenario(changes=(), **more):
    return with_seed(load_scenario(DEFAULT, {**SMALL, "policy_changes": list(changes), **more}),
                     7)


def booked(engine: str, s):
    world = build_world(s)
    return world, PracticeModel(world).run(engine)


def test_the_change_date_is_the_day_planned():
    s = scenario([CHANGE])
    assert (s.policy_changes[0].from_date - s.start_date).days == CHANGE_DAY
    world = build_world(s)
    assert [d for d, _, _ in world.policy_days] == [0, CHANGE_DAY]


@pytest.mark.parametrize("engine", ["reference", "compiled"])
def test_everything_before_the_change_is_identical_to_no_change(engine):
    """Common random numbers: before the change day the event logs are the same, byte for byte."""
    _, a = booked(engine, scenario())
    _, b = booked(engine, scenario([CHANGE]))
    la, lb = a.log, b.log
    before_a = la.req_time < CHANGE_DAY
    before_b = lb.req_time < CHANGE_DAY
    n = int(before_a.sum())
    assert n > 1000 and int(before_b.sum()) == n
    for f in dataclasses.fields(EventLog):
        if not f.name.startswith("req_") or f.name in ("req_outcome", "req_appointment",
                                                        "req_attempts", "req_gave_up_at"):
            continue
        x, y = getattr(la, f.name)[before_a], getattr(lb, f.name)[before_b]
        assert np.array_equal(x, y), f.name
    # Appointments booked before the change: the same slots, and the same outcomes for
    # those that took place before it.
    ba = la.appt_booked_at < CHANGE_DAY
    bb = lb.appt_booked_at < CHANGE_DAY
    for f in ("appt_request", "appt_patient", "appt_clinician", "appt_time", "appt_booked_at",
              "appt_usual"):
        assert np.array_equal(getattr(la, f)[ba], getattr(lb, f)[bb]), f
    done = la.appt_time[ba] < CHANGE_DAY
    assert np.array_equal(la.appt_status[ba][done], lb.appt_status[bb][done])
    # ... and the change shows from its day on: more GP visits with the usual GP.
    def usual_share(log, after):
        sel = (log.appt_time >= CHANGE_DAY) if after else (log.appt_time < CHANGE_DAY)
        return (log.appt_clinician[sel] == log.appt_usual[sel]).mean()
    assert usual_share(lb, True) > usual_share(la, True) + 0.02
    assert usual_share(lb, False) == usual_share(la, False)


def test_both_desks_agree_with_a_ramp_a_second_change_and_tidied_lists():
    changes = [{**CHANGE, "ramp": [{"param": "adherence", "start": 0.0, "weeks": 4,
                                    "shape": "logistic"}], "lists": "rebalance"},
               {"from": "2025-04-07", "policy": {"name": "micro_team"}}]
    s = scenario(changes, **{"clinicians[gp_hughes].leaves": "2025-02-03"})
    (_, a), (_, b) = booked("reference", s), booked("compiled", s)
    for f in dataclasses.fields(EventLog):
        x, y = getattr(a.log, f.name), getattr(b.log, f.name)
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
    assert [d for d, _ in a.list_changes] == [28, CHANGE_DAY]  # the leaver, then the tidying


@pytest.mark.parametrize("shape", ["linear", "logistic"])
def test_ramps_follow_their_shape(shape):
    s = scenario([{**CHANGE, "policy": {"name": "usual_gp_first", "params": {"adherence": 0.9}},
                   "ramp": [{"param": "adherence", "start": 0.1, "weeks": 4, "shape": shape}]}])
    days = {d: params["adherence"] for d, _, params in build_world(s).policy_days[1:]}
    first = CHANGE_DAY
    assert days[first] == pytest.approx(0.1)
    assert days[first + 28] == pytest.approx(0.9)
    assert max(days) == first + 28  # no change once the ramp is done
    values = [days[d] for d in sorted(days)]
    assert all(b > a for a, b in itertools.pairwise(values))  # rising every day
    mid = days[first + 14]
    assert mid == pytest.approx(0.5)  # both shapes are half way at half time
    quarter = days[first + 7]
    if shape == "linear":
        assert quarter == pytest.approx(0.1 + 0.8 * 0.25)
    else:  # slow, then fast, then slow
        assert quarter < 0.1 + 0.8 * 0.25
        assert ramp_fraction(7, 28, "logistic") < 0.25 < ramp_fraction(21, 28, "logistic") - 0.5


def test_coding_spreads_through_the_list_as_coded_share_ramps():
    s = scenario([{**CHANGE, "policy": {"name": "usual_gp_first",
                                        "params": {"adherence": 1.0, "coded_share": 1.0}},
                   "ramp": [{"param": "coded_share", "start": 0.0, "weeks": 8}]}])
    model = PracticeModel(build_world(s))
    early, half = (model.schedule.policy_on(CHANGE_DAY + k).coded.mean() for k in (0, 28))
    assert early == 0.0 and 0.4 < half < 0.6
    assert model.schedule.policy_on(CHANGE_DAY + 56).coded is None  # everyone coded


def test_lists_are_tidied_at_the_launch():
    """A leaver's patients went to their team; rebalancing brings lists back to their share."""
    s = scenario([{**CHANGE, "lists": "rebalance"}],
                 **{"clinicians[gp_hughes].leaves": "2025-02-03"})
    world, record = booked("compiled", s)
    day, moved = record.list_changes[-1]
    assert day == CHANGE_DAY and len(moved) > 0
    usual = record.usual_at_end
    holders = [c for c in range(world.workforce.size) if world.workforce.holds_list[c]
               and world.in_post[c, CHANGE_DAY]]
    sessions = world.workforce.sessions_per_week[holders]
    target = usual.size * sessions / sessions.sum()
    sizes = np.array([(usual == c).sum() for c in holders])
    assert np.abs(sizes - target).max() <= 1


def test_bad_changes_are_named_with_their_lines(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(f"extends: {DEFAULT}\npolicy_changes:\n"
                 "  - from: 2024-01-01\n    policy: {name: usual_gp_first}\n"
                 "  - from: 2025-06-02\n    policy: {name: usual_gp_frist}\n"
                 "    ramp: [{param: adherence, start: 0.1, weeks: 4}]\n"
                 "  - from: 2025-09-01\n    policy: {name: micro_team}\n"
                 "    ramp: [{param: adherance, start: 0.1, weeks: 4}]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    text = str(info.value)
    assert "bad.yaml:3: policy_changes[0].from: 2024-01-01 is not after the run starts" in text
    assert "bad.yaml:6: policy_changes[1].policy.name: unknown policy 'usual_gp_frist'; " \
           "did you mean 'usual_gp_first'?" in text
    assert "policy_changes[2].ramp[0].param: policy 'micro_team' has no numeric parameter " \
           "'adherance'; did you mean 'adherence'?" in text
    # an unknown policy's ramp is not checked against parameters nobody can know
    assert "policy_changes[1].ramp" not in text and len(info.value.problems) == 3


def test_a_change_after_the_run_ends_says_how_to_fix_it(tmp_path):
    f = tmp_path / "late.yaml"
    f.write_text(f"extends: {DEFAULT}\nduration_days: 28\npolicy_changes:\n"
                 "  - from: 2030-01-07\n    policy: {name: usual_gp_first}\n")
    with pytest.raises(ScenarioError, match=r"late.yaml:4: policy_changes\[0\].from: "
                       r"2030-01-07 is after the run ends \(.*\); lengthen duration_days"):
        load_scenario(f)


# ------------------------------------------------------------------ waves


def test_waves_start_on_their_dates():
    net = load_network(ROOT / "scenarios" / "rollout" / "two_waves.yaml")
    dates = {pid: [str(c.from_date) for c in s.policy_changes] for pid, s in net.practices}
    assert dates == {"ashley": ["2025-09-01"], "barton": ["2025-09-01"],
                     "clifton": ["2026-03-02"], "downend": ["2026-03-02"]}
    for _, s in net.practices:
        change = s.policy_changes[0]
        assert change.policy.name == "personalised_micro_teams"
        assert change.ramp[0].param == "adherence" and change.ramp[0].start == 0.05


def test_a_practice_can_have_its_own_date_and_bad_waves_are_named(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text("rollout: {policy: {name: usual_gp_first}}\n"
                 "waves: [{from: 2025-06-02, practices: [a, c]}]\n"
                 f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: b, scenario: {DEFAULT}, rollout: {{from: 2025-09-01}}}}\n")
    with pytest.raises(ScenarioError, match=r"net\.yaml:2: waves\[0\]\.practices\[1\]: no "
                       r"practice 'c' in this network"):
        load_network(f)
    f.write_text(f.read_text().replace("practices: [a, c]", "practices: [a]"))
    net = load_network(f)
    assert [[str(c.from_date) for c in s.policy_changes] for _, s in net.practices] == [
        ["2025-06-02"], ["2025-09-01"]]


# ------------------------------------------------------------------ month by month


@pytest.fixture(scope="module")
def rollout_run():
    return run(scenario([CHANGE]), replication=0)


def test_monthly_counts_add_up_to_the_year(rollout_run):
    m = monthly_table(rollout_run)
    s = run_summaries(rollout_run)[0].iloc[0]
    assert m["days"].sum() == s["window_days"]
    for monthly, yearly in (("appointments", "appointments"), ("unmet_requests", "unmet_requests"),
                            ("gave_up_requests", "gave_up_requests")):
        assert m[monthly].sum() == s[yearly], monthly
    years = s["window_days"] / 365.25
    assert m["ae"].sum() == pytest.approx(s["ae_per_1000"] * s["patients"] / 1000 * years)
    assert m["admissions"].sum() == pytest.approx(
        s["admissions_per_1000"] * s["patients"] / 1000 * years)


def test_monthly_figures_are_computed_as_the_yearly_ones(rollout_run):
    """The last month's year-long continuity is the yearly figure; pooled rates agree."""
    m = monthly_table(rollout_run)
    s = run_summaries(rollout_run)[0].iloc[0]
    assert m["upc_rolling"].iloc[-1] == pytest.approx(s["upc_mean"])
    assert m["team_continuity_rolling"].iloc[-1] == pytest.approx(s["team_continuity"])
    same_day = (m["same_day_share"] * m["appointments"]).sum() / m["appointments"].sum()
    assert same_day == pytest.approx(s["same_day_share"])


def test_monthly_rolling_continuity_is_each_windows_own(rollout_run):
    """Every month's rolling UPC and team continuity: the indices over its 364 days alone."""
    from analysis.continuity import patient_indices
    from analysis.monthly import ROLLING_DAYS

    s = rollout_run.scenario
    m = monthly_table(rollout_run)
    a = rollout_run.tables["appointments"]
    seen = a[a["in_window"] & (a["status"] == "attended")]
    start = pd.Timestamp(s.start_date)
    day = (seen["appointment_at"] - start).dt.days
    checked = 0
    for month, end in zip(m["month"], m["days"].cumsum() + s.warmup_days, strict=True):
        rows = seen[(day >= max(s.warmup_days, end - ROLLING_DAYS)) & (day < end)]
        gp = rows[rows["role"] == "gp"]
        upc = patient_indices(gp, min_visits=3, time="appointment_at")["upc"].mean()
        assert m.loc[m["month"] == month, "upc_rolling"].item() == pytest.approx(upc), month
        team = rows[rows["with_own_team"].notna()]
        per = team.groupby("patient_id")["with_own_team"].agg(["size", "mean"])
        share = per.loc[per["size"] >= 3, "mean"].mean()
        got = m.loc[m["month"] == month, "team_continuity_rolling"].item()
        assert got == pytest.approx(share, nan_ok=True), month
        checked += 1
    assert checked == len(m) >= 3


def test_every_run_writes_monthly_csv(tmp_path, rollout_run):
    from analysis.outputs import write_run

    write_run(rollout_run, tmp_path / "out")
    m = pd.read_csv(tmp_path / "out" / "monthly.csv")
    assert {"slicc", "upc_rolling", "routine_wait_p90_days", "utilisation_gp",
            "ae_per_1000"} <= set(m.columns)


@pytest.mark.slow
def test_a_rollout_comparison_reports_its_effect_over_time(tmp_path):
    """The report's words come from the data: change the rollout and they change."""
    from analysis.compare import load_comparison
    from analysis.report import after_change
    from analysis.stats import paired_differences
    from gpsim.compare import ComparisonRequest, run_comparison

    base = ROOT / "scenarios" / "rollout" / "no_change.yaml"
    rollout = ROOT / "scenarios" / "rollout" / "usual_gp_first_rollout.yaml"
    quick = {"population.size": 4000}
    out = run_comparison(ComparisonRequest([base, rollout], tmp_path / "a", replications=3,
                                           overrides=quick))
    html = (out.out / "report.html").read_text()
    assert "Effect over time" in html and "reached half its steady level in 2026-" in html
    monthly = pd.read_csv(out.out / "monthly.csv")
    assert {"scenario", "month", "metric", "mean", "low", "high"} <= set(monthly.columns)
    faster = tmp_path / "faster.yaml"
    faster.write_text(f"extends: {rollout}\npolicy_changes:\n  - from: 2026-03-02\n"
                      "    policy: {name: usual_gp_first, params: {adherence: 0.9}}\n")
    later = run_comparison(ComparisonRequest([base, faster], tmp_path / "b", replications=3,
                                             overrides=quick))
    html_b = (later.out / "report.html").read_text()
    steady = [h[h.index("Steady state"):][:80] for h in (html, html_b)]
    assert steady[0] != steady[1]
    # The verdict judges the rollout after the change, not over the months before it.
    runs = pd.read_csv(later.out / "runs.csv")
    c = load_comparison(later.out)
    labels = [x["label"] for x in c["meta"]["scenarios"]]
    after, span = after_change(c, labels, labels[0])
    assert span.endswith("February 2027") and set(after["scenario"]) == set(runs["scenario"])
    steady_gain = paired_differences(after, ["slicc"], labels[0])["difference"].item()
    whole_gain = paired_differences(runs, ["slicc"], labels[0])["difference"].item()
    assert steady_gain > whole_gain > 0  # the whole run dilutes it with the year before
    html_b = " ".join(html_b.split())
    assert "judged after the change: over December 2026 to February 2027" in html_b
    assert f"{steady_gain * 100:+.1f} points of SLICC".replace("-", "\u2212") in html_b
