"""Annual leave: prorated to the days simulated, spread through the run, peaks only where asked."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEFAULT

from sim import build_world, load_scenario, with_seed


def leave_by_month(duration: int, factor: float, seeds=range(8)):
    """Share of rostered clinician-days on leave, by calendar month, averaged over seeds."""
    by_month: dict[str, list[float]] = {}
    totals = []
    for seed in seeds:
        s = with_seed(load_scenario(DEFAULT, {"duration_days": duration,
                                              "absence.holiday_leave_factor": factor}), seed)
        w = build_world(s)
        n = w.n_days
        works = w.rules.is_open[None, :n] & w.in_post
        months = (np.datetime64(s.start_date) + np.arange(n)).astype("datetime64[M]").astype(str)
        for m in np.unique(months):
            sel = months == m
            if sel.sum() >= 20:  # whole months only
                by_month.setdefault(m, []).append(
                    (w.leave[:, sel] & works[:, sel]).sum() / works[:, sel].sum())
        totals.append(w.leave[:, :n].sum(axis=1))
    expected = np.array([(c.annual_leave_weeks or s.roles[c.role].annual_leave_weeks) * 7
                         * n / 365.25 for c in s.clinicians])
    return {m: float(np.mean(v)) for m, v in by_month.items()}, np.mean(totals, axis=0), expected


@pytest.mark.parametrize("duration", [100, 364, 728])
def test_leave_is_even_by_month_and_prorated(duration):
    months, taken, expected = leave_by_month(duration, 1.0)
    mean = np.mean(list(months.values()))
    assert 0.09 < mean < 0.14  # about 6 weeks in 52 for GPs, 5.4 for others
    for m, share in months.items():
        assert 0.6 * mean < share < 1.4 * mean, (m, share, mean)
    values = list(months.values())
    first, last = values[0], values[-1]
    assert first < 1.4 * mean and last < 1.4 * mean, "no pile-up at either end"
    # The allowance is prorated to the days simulated (calendar days incl. weekends).
    assert taken.sum() == pytest.approx(expected.sum(), rel=0.1)


def test_school_holidays_can_peak_without_piling_up_at_the_end():
    months, taken, expected = leave_by_month(364, 3.0)
    mean = np.mean(list(months.values()))
    assert months["2025-08"] > 1.4 * mean  # the summer holidays
    assert months["2025-11"] < months["2025-08"]
    assert list(months.values())[-1] < 1.4 * mean
    assert taken.sum() == pytest.approx(expected.sum(), rel=0.1)


def test_a_short_run_still_gets_its_share():
    """100 days: about 100/365 of a year's leave, not a whole year's."""
    _, taken, expected = leave_by_month(100, 1.0)
    assert taken.sum() == pytest.approx(expected.sum(), rel=0.15)
    assert taken.sum() < 0.4 * expected.sum() * 365 / 100
