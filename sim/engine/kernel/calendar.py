"""The calendar's searches and bookings over flat arrays: :mod:`sim.engine.calendar`'s twin."""

from __future__ import annotations

from .layout import (
    CELL_BOOKED,
    CELL_END,
    CELL_NEXT_FREE,
    CELL_START,
    DIM_CELLS,
    DIM_DAYS,
    HEAD_CELL,
    HEAD_DAY,
    HEAD_SLOT,
    INF,
    NO_SLOT,
    inner,
)


@inner
def _bisect_left(a, x, lo, hi):
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@inner
def refresh(cal, pool, c, now):
    """Clinician ``c``'s head in ``pool``: first free slot at or after ``now``."""
    n_days = cal.dims[DIM_DAYS]
    today = int(now)
    d = cal.head[HEAD_DAY, pool, c]
    if d <= today:
        d = today
    base = pool * cal.dims[DIM_CELLS] + c * n_days
    while d < n_days:
        k = base + d
        i = cal.cell[CELL_NEXT_FREE, k]
        end = cal.cell[CELL_END, k]
        if i < end:
            if d == today and cal.times[i] < now:
                i = _bisect_left(cal.times, now, i, end)
            if i < end:
                cal.head[HEAD_DAY, pool, c] = d
                cal.head[HEAD_CELL, pool, c] = k
                cal.head[HEAD_SLOT, pool, c] = i
                cal.head_time[pool, c] = cal.times[i]
                return
        d += 1
    cal.head[HEAD_DAY, pool, c] = n_days
    cal.head[HEAD_CELL, pool, c] = -1
    cal.head[HEAD_SLOT, pool, c] = -1
    cal.head_time[pool, c] = INF


@inner
def _day_free(cal, k):
    """Cell ``k``'s free capacity that day: its slots not booked (passed ones count)."""
    return cal.cell[CELL_END, k] - cal.cell[CELL_START, k] - cal.cell[CELL_BOOKED, k]


@inner
def earliest(cal, clinicians, n, pool, now, last_day, from_day):
    """Earliest free slot with any of ``clinicians[:n]``.

    Ties (slots at the same time) go to the clinician with more free capacity that
    day in the pool (fewer bookings, for the same slots), then to the one listed
    first. ``from_day`` -1: from now. As :meth:`sim.engine.calendar.Calendar.earliest`.
    """
    if n == 0:
        return NO_SLOT
    today = int(now)
    if from_day > today:
        return _earliest_from(cal, clinicians, n, pool, last_day, from_day)
    while True:
        best = clinicians[0]
        t = cal.head_time[pool, best]
        for j in range(1, n):
            c = clinicians[j]
            tc = cal.head_time[pool, c]
            if tc < t or (tc == t and tc != INF
                          and _day_free(cal, cal.head[HEAD_CELL, pool, c])
                          > _day_free(cal, cal.head[HEAD_CELL, pool, best])):
                best = c
                t = tc
        if t >= now:
            break
        refresh(cal, pool, best, now)
    if t == INF:
        return NO_SLOT
    k = cal.head[HEAD_CELL, pool, best]
    d = (k - pool * cal.dims[DIM_CELLS]) - best * cal.dims[DIM_DAYS]
    if d > last_day:
        return NO_SLOT
    return t, best, d, pool, k, cal.head[HEAD_SLOT, pool, best]


@inner
def _earliest_from(cal, clinicians, n, pool, last_day, first_day):
    n_days = cal.dims[DIM_DAYS]
    last = min(last_day, n_days - 1)
    if last < first_day:
        return NO_SLOT
    # A cell's slots all fall on its day, so a clinician's earliest free slot
    # from first_day is in their first day with one; and no day after the best
    # found so far can beat it. Ties go to the clinician with more free capacity
    # that day, then to the one listed first.
    t = INF
    best = -1
    best_day = 0
    best_free = 0
    for j in range(n):
        c = clinicians[j]
        base = pool * cal.dims[DIM_CELLS] + c * n_days
        for d in range(first_day, last + 1):
            v = cal.cell_first[base + d]
            if v != INF:
                free = _day_free(cal, base + d)
                if v < t or (v == t and free > best_free):
                    t = v
                    best = c
                    best_day = d
                    best_free = free
                    last = d
                break
    if best < 0:
        return NO_SLOT
    k = pool * cal.dims[DIM_CELLS] + best * n_days + best_day
    return t, best, best_day, pool, k, cal.cell[CELL_NEXT_FREE, k]


@inner
def book_slot(cal, c, pool, k, i, now):
    """Take a free slot (the first free one of its cell, or a later one if those have passed)."""
    next_free = cal.cell[CELL_NEXT_FREE, k]
    end = cal.cell[CELL_END, k]
    if not (next_free <= i < end):
        raise RuntimeError("compiled engine: booking a slot that is not free")
    if cal.times[i] < now or (i > next_free and cal.times[i - 1] >= now):
        raise RuntimeError("compiled engine: booking a slot that is not the first free one")
    cal.booked[i] = True
    cal.cell[CELL_BOOKED, k] += 1
    cal.cell[CELL_NEXT_FREE, k] = i + 1
    cal.cell_first[k] = cal.times[i + 1] if i + 1 < end else INF
    if cal.head[HEAD_CELL, pool, c] == k:
        refresh(cal, pool, c, now)


