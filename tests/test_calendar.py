"""Calendar properties checked against a brute-force model.

The earliest slot is truly the earliest, nothing is booked twice, capacity
never goes negative, closed days and past slots are never offered.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.calendar import AHEAD, ON_THE_DAY, BookingError, Calendar


@st.composite
def calendars(draw):
    n_clin = draw(st.integers(1, 4))
    n_days = draw(st.integers(1, 6))
    rows = []
    for c in range(n_clin):
        for d in range(n_days):
            for pool in (AHEAD, ON_THE_DAY):
                minutes = draw(st.sets(st.integers(8 * 60, 18 * 60), max_size=5))
                rows += [(c, d, pool, d + m / 1440.0) for m in sorted(minutes)]
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    cal = Calendar.from_slots(n_clin, n_days, arr[:, 0].astype(int), arr[:, 1].astype(int),
                   arr[:, 2].astype(int), arr[:, 3])
    return cal, [tuple(r) for r in rows], n_clin, n_days


operations = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 120), st.integers(0, 2 * 1440)),  # minutes to advance
        st.sampled_from(["book", "book", "book", "close"]),
        st.integers(0, 15),                # clinician subset bitmask
        st.sampled_from([AHEAD, ON_THE_DAY]),
        st.integers(0, 6),                 # horizon in days
        st.integers(0, 3),                 # planned delay in days
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(calendars(), operations)
def test_calendar_against_brute_force(cal_rows, ops):
    cal, rows, n_clin, n_days = cal_rows
    now = 0.0
    booked: set[tuple] = set()
    closed: set[tuple[int, int]] = set()
    closed_capacity = {}
    for advance, kind, mask, pool, horizon, delay in ops:
        now += advance / 1440.0
        today = int(now)
        if today >= n_days:
            break
        clinicians = [c for c in range(n_clin) if mask >> c & 1] or [0]
        if kind == "close":
            c, d = clinicians[0], min(today + delay, n_days - 1)
            cal.close_day(c, d)
            closed.add((c, d))
            closed_capacity[(c, d)] = 0
            continue
        from_day = today + delay
        last_day = today + horizon
        got = cal.earliest(clinicians, pool, now, last_day, from_day)
        # Brute force over every slot ever created.
        order = {c: i for i, c in enumerate(clinicians)}
        free = [r for r in rows
                if r[0] in order and r[2] == pool and max(today, from_day) <= r[1] <= last_day
                and r[3] >= now and r not in booked and (r[0], r[1]) not in closed]
        if not free:
            assert got is None
            continue
        # Ties in time: more free capacity that day in the pool (slots not booked), then
        # the clinician listed first.
        def day_free(r):
            cell = [x for x in rows if (x[0], x[1], x[2]) == (r[0], r[1], r[2])]
            return len(cell) - sum(x in booked for x in cell)

        best = min(free, key=lambda r: (r[3], -day_free(r), order[r[0]]))
        assert got is not None
        assert (got.time, got.clinician, got.day, got.pool) == (best[3], best[0], best[1], best[2])
        cal.book(got, now)
        booked.add(best)
        # Booking twice is refused.
        with pytest.raises(BookingError):
            cal.book(got, now)
    # Capacity never negative; nothing booked on a closed day after closing.
    for c in range(n_clin):
        for d in range(n_days):
            for pool in (AHEAD, ON_THE_DAY):
                assert 0 <= cal.free_count(pool, c, d) <= cal.capacity(pool, c, d)
                if (c, d) in closed:
                    assert cal.free_count(pool, c, d) == 0


def test_booking_a_later_slot_that_would_strand_a_free_one_is_refused():
    cal = Calendar.from_slots(1, 2, np.array([0, 0, 0]), np.array([1, 1, 1]), np.array([0, 0, 0]),
                   np.array([1.4, 1.5, 1.6]))
    first = cal.earliest([0], AHEAD, 0.5, 1)
    assert first.time == 1.4
    later = first._replace(index=first.index + 1, time=1.5)
    with pytest.raises(BookingError):
        cal.book(later, 0.5)
    # Once the first has passed, the later one is the first free slot.
    cal.book(later, 1.45)
    assert cal.free_count(AHEAD, 0, 1) == 1


def test_past_slots_today_are_not_offered():
    cal = Calendar.from_slots(1, 1, np.array([0, 0]), np.array([0, 0]), np.array([1, 1]),
                   np.array([0.40, 0.60]))
    assert cal.earliest([0], ON_THE_DAY, 0.5, 0).time == 0.60
    assert cal.earliest([0], ON_THE_DAY, 0.61, 0) is None


def test_ties_go_to_more_free_capacity_that_day_then_to_the_clinician_listed_first():
    cal = Calendar.from_slots(2, 1, np.array([0, 1, 0, 1]), np.array([0, 0, 0, 0]),
                              np.array([0, 0, 0, 0]), np.array([0.4, 0.4, 0.5, 0.5]))
    assert cal.earliest([1, 0], AHEAD, 0.0, 0).clinician == 1
    assert cal.earliest([0, 1], AHEAD, 0.0, 0).clinician == 0
    cal.book(cal.earliest([0, 1], AHEAD, 0.0, 0), 0.0)           # clinician 0's 0.4
    assert cal.earliest([0, 1], AHEAD, 0.45, 0).clinician == 1   # 0.5 for both: 1 has more free


def test_planned_search_does_not_skip_free_earlier_days():
    # Day 1 has a free slot; day 2 is full. A planned request from day 2 must
    # not make the calendar forget day 1.
    cal = Calendar.from_slots(1, 4, np.array([0, 0, 0]), np.array([1, 2, 3]), np.array([0, 0, 0]),
                   np.array([1.4, 2.4, 3.4]))
    cal.book(cal.earliest([0], AHEAD, 0.1, 3, from_day=2), 0.1)
    assert cal.earliest([0], AHEAD, 0.1, 3, from_day=2).day == 3
    assert cal.earliest([0], AHEAD, 0.1, 3).day == 1
