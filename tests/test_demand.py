"""Demand: counts, timing and over-dispersion match the configured rates."""

from __future__ import annotations

import numpy as np
import pytest

from sim.inputs.schema import WEEKDAYS, hours
from sim.world.demand import expected_daily_requests, generate_arrivals, intraday_segments
from sim.world.population import build_patients
from sim.world.streams import Streams
from sim.world.workforce import open_days


@pytest.fixture(scope="module")
def year_of_demand(default_scenario):
    s = default_scenario
    n_days = 364
    streams = Streams(7, 0)
    rate = np.full(20_000, 5.0)
    hb = np.zeros(rate.size, dtype=bool)
    a = generate_arrivals(s, rate, n_days, streams.get("demand"), streams.get("case_mix"), hb)
    return s, n_days, rate, a


def test_total_count_matches_rate_within_poisson_tolerance(year_of_demand):
    s, n_days, rate, a = year_of_demand
    expected = expected_daily_requests(s, rate.sum(), n_days).sum()
    # Closed form: a year of 364 days carries 364/365.25 of the yearly rate,
    # less the seasonal cosine's small residual over a non-whole cycle.
    assert expected == pytest.approx(rate.sum() * n_days / 365.25, rel=0.01)
    assert abs(len(a) - expected) < 4 * np.sqrt(expected)


def test_weekday_profile(year_of_demand):
    s, n_days, rate, a = year_of_demand
    day = a.time.astype(int)
    is_open = open_days(s, n_days)
    assert is_open[day].all(), "no request on a day the practice is shut"
    wd = (s.start_date.weekday() + day) % 7
    counts = np.bincount(wd, minlength=7)
    assert counts[5] == counts[6] == 0
    # Expected share of each weekday, from the same expected-daily function.
    exp = expected_daily_requests(s, rate.sum(), n_days)
    exp_wd = np.bincount((s.start_date.weekday() + np.arange(n_days)) % 7, weights=exp, minlength=7)
    for i in range(5):
        sd = np.sqrt(exp_wd[i])
        assert abs(counts[i] - exp_wd[i]) < 4 * sd, WEEKDAYS[i]


def test_monday_peak_and_bank_holiday_demand_moves_to_next_open_day(default_scenario):
    s = default_scenario
    no_holidays = s.model_copy(
        update={"practice": s.practice.model_copy(update={"closed_dates": (),
                                                          "bank_holidays": "none"})})
    n = s.warmup_days + 364
    wd = (s.start_date.weekday() + np.arange(n)) % 7
    exp = expected_daily_requests(no_holidays, 50_000.0, n)
    by_wd = np.bincount(wd, weights=exp, minlength=7)
    # Weights 1.3 (Monday) and 1.0 (Tuesday); the seasonal factor is almost
    # identical for the two days of each week.
    assert by_wd[0] / by_wd[1] == pytest.approx(1.3, rel=0.005)
    with_holidays = expected_daily_requests(s, 50_000.0, n)
    assert with_holidays.sum() == pytest.approx(exp.sum(), rel=1e-12), "no demand is lost"
    easter_monday = (np.datetime64("2025-04-21") - np.datetime64(s.start_date)).astype(int)
    assert 0 < easter_monday < n - 1
    assert with_holidays[easter_monday] == 0
    assert with_holidays[easter_monday + 1] == pytest.approx(
        exp[easter_monday + 1] + exp[easter_monday] + exp[easter_monday - 3])  # + Good Friday


def test_seasonal_peak_in_winter(default_scenario):
    s = default_scenario
    n = s.warmup_days + 364
    exp = expected_daily_requests(s, 50_000.0, n)
    is_open = open_days(s, n)
    dates = np.datetime64(s.start_date) + np.arange(n)
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    mondays = ((s.start_date.weekday() + np.arange(n)) % 7 == 0) & is_open
    # Mondays of January (near the mid-January peak) against July's (the trough).
    january, july = exp[mondays & (month == 1)], exp[mondays & (month == 7)]
    assert january.size >= 3 and july.size >= 3
    assert january.mean() > july.mean() * (1 + s.demand.seasonal_amplitude)


def test_times_within_opening_hours_and_intraday_profile(year_of_demand):
    s, n_days, rate, a = year_of_demand
    frac = a.time - np.floor(a.time)
    assert frac.min() >= hours(s.practice.opening.open) / 24
    assert frac.max() < hours(s.practice.opening.close) / 24
    starts, ends, p = intraday_segments(s)
    seg = np.searchsorted(starts, frac, side="right") - 1
    counts = np.bincount(seg, minlength=p.size)
    n = len(a)
    for k in range(p.size):
        assert abs(counts[k] - n * p[k]) < 4 * np.sqrt(n * p[k] * (1 - p[k]))
    assert np.all(np.diff(a.time) >= 0), "arrivals are in time order"


def test_case_mix_matches_shares(year_of_demand):
    s, n_days, rate, a = year_of_demand
    n = len(a)
    needs = list(s.demand.needs.values())
    for k, need in enumerate(needs):
        share = need.share
        assert abs((a.need == k).sum() - n * share) < 4 * np.sqrt(n * share * (1 - share))
        urgent = (a.urgency[a.need == k] == 0).mean()
        m = (a.need == k).sum()
        assert abs(urgent - need.urgent_share) < 4 * np.sqrt(need.urgent_share * (1 - need.urgent_share) / m) + 1e-9


def test_planned_requests_ask_for_a_later_day(year_of_demand):
    s, n_days, rate, a = year_of_demand
    today = np.floor(a.time).astype(int)
    delay = a.from_day - today
    lo, hi = s.demand.planned_delay_days
    planned = delay > 0
    assert (a.urgency[planned] == 1).all(), "only routine requests are planned"
    assert delay[planned].min() >= lo and delay[planned].max() <= hi
    assert (delay[~planned] == 0).all()


def test_yearly_counts_are_over_dispersed_as_gamma_mixing_predicts(default_scenario):
    s = default_scenario
    streams = Streams(11, 0)
    n = 40_000
    s_big = s.model_copy(update={"population": s.population.model_copy(update={"size": n})})
    pats = build_patients(s_big, streams.get("population"), streams.get("lists"),
                          np.array([0, 1]), np.array([1, 1]))
    a = generate_arrivals(s_big, pats.rate_per_year, 364, streams.get("demand"),
                          streams.get("case_mix"), pats.housebound)
    counts = np.bincount(a.patient, minlength=n)
    mean = counts.mean()
    # Mean per patient: the configured rate over 364 days.
    assert mean == pytest.approx(s.demand.requests_per_patient_year * 364 / 365.25, rel=0.02)
    # Variance of a Poisson-gamma mixture: mean + mean^2 * Var(multiplier). The
    # multiplier is structural (age, conditions) times gamma(shape); compute its
    # variance from the drawn population, then compare with 5% tolerance.
    mult = pats.rate_per_year / pats.rate_per_year.mean()
    expected_var = mean + mean**2 * mult.var()
    assert counts.var() == pytest.approx(expected_var, rel=0.05)
    assert counts.var() > 1.5 * mean, "over-dispersed relative to Poisson"
