"""Building blocks every booking policy shares.

The urgent rule is common to all policies (DESIGN.md: urgent requests are seen
the same day if any capacity exists, whatever the policy): first the day's
held on-the-day slots, then any slot still free today.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.calendar import AHEAD, ON_THE_DAY, Slot
from sim.demand import URGENT
from sim.policy_api import CalendarView, PracticeView, Request


def earlier(a: Slot | None, b: Slot | None) -> Slot | None:
    """The earlier of two optional slots (``a`` on a tie)."""
    if a is None:
        return b
    if b is None or a.time <= b.time:
        return a
    return b


def same_day_slot(
    request: Request, calendar: CalendarView, clinicians: Sequence[int]
) -> Slot | None:
    """Earliest slot today with ``clinicians``: held on-the-day slots first, then any."""
    today = request.day
    held = calendar.earliest(clinicians, ON_THE_DAY, request.time, today)
    if held is not None:
        return held
    return calendar.earliest(clinicians, AHEAD, request.time, today)


def routine_slot(
    request: Request,
    calendar: CalendarView,
    practice: PracticeView,
    clinicians: Sequence[int],
    max_wait_days: int | None = None,
) -> Slot | None:
    """Earliest slot a routine request may take with ``clinicians``.

    Bookable-ahead slots from the day the patient wants (``from_day``) up
    to the horizon (or ``max_wait_days`` if smaller), and, for a patient who
    wants the soonest slot, today's held on-the-day slots that start within
    the release window (``practice.release_days``) and are still free.
    """
    horizon = practice.horizon_days if max_wait_days is None else min(
        max_wait_days, practice.horizon_days)
    today = request.day
    best = calendar.earliest(clinicians, AHEAD, request.time, today + horizon, request.from_day)
    if request.from_day > today:
        return best
    held = calendar.earliest(clinicians, ON_THE_DAY, request.time, today)
    if held is not None and held.time <= request.time + practice.release_days:
        best = earlier(held, best)
    return best


def is_urgent(request: Request) -> bool:
    """Whether the request must be seen today."""
    return request.urgency == URGENT
