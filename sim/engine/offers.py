"""Finding a slot for a request: the searches every booking rule is built from.

Shared by the policies (``policies/``) and the booking desks (a patient's own
request for their GP is the desk's, whatever the policy). The compiled desk
has the same searches in :mod:`sim.engine.kernel` (``_same_day``,
``_routine``).

Urgent requests are seen the same day if any capacity exists: first the
day's held on-the-day slots, then any slot still free today. Routine requests
take bookable-ahead slots from the day wanted up to the horizon (or a shorter
wait limit), and, wanting the soonest, today's held slots that start within
the release window and are still free. Online requests, when the practice
sets online time aside, are answered in that time only.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..codes import AHEAD, ON_THE_DAY, ONLINE, ONLINE_MODE
from .calendar import Slot
from .policy_api import CalendarView, Request


def earlier(a: Slot | None, b: Slot | None) -> Slot | None:
    """The earlier of two optional slots (``a`` on a tie)."""
    if a is None:
        return b
    if b is None or a.time <= b.time:
        return a
    return b


def is_online(request: Request, calendar: CalendarView) -> bool:
    """Whether the request is answered in online time (online, and the practice has some)."""
    return request.mode == ONLINE_MODE and getattr(calendar, "has_online", False)


def same_day_slot(
    request: Request, calendar: CalendarView, clinicians: Sequence[int]
) -> Slot | None:
    """Earliest slot today with ``clinicians``: held on-the-day slots first, then any."""
    today = request.day
    if is_online(request, calendar):
        return calendar.earliest(clinicians, ONLINE, request.time, today)
    held = calendar.earliest(clinicians, ON_THE_DAY, request.time, today)
    if held is not None:
        return held
    return calendar.earliest(clinicians, AHEAD, request.time, today)


def routine_slot(
    request: Request,
    calendar: CalendarView,
    horizon_days: int,
    release_days: float,
    clinicians: Sequence[int],
    max_wait_days: int | None = None,
) -> Slot | None:
    """Earliest slot a routine request may take with ``clinicians``.

    Bookable-ahead slots from the day the patient wants (``from_day``) up to
    ``horizon_days`` (or ``max_wait_days`` if smaller), and, for a patient who
    wants the soonest slot, today's held on-the-day slots that start within
    ``release_days`` and are still free.
    """
    horizon = horizon_days if max_wait_days is None else min(max_wait_days, horizon_days)
    today = request.day
    if is_online(request, calendar):
        return calendar.earliest(clinicians, ONLINE, request.time, today + horizon,
                                 request.from_day)
    best = calendar.earliest(clinicians, AHEAD, request.time, today + horizon, request.from_day)
    if request.from_day > today:
        return best
    held = calendar.earliest(clinicians, ON_THE_DAY, request.time, today)
    if held is not None and held.time <= request.time + release_days:
        best = earlier(held, best)
    return best


def with_first(offers: Sequence[Slot], slot: Slot | None) -> list[Slot]:
    """``offers`` with ``slot`` moved (or added) to the front; unchanged if ``slot`` is None."""
    if slot is None:
        return list(offers)
    return [slot, *(o for o in offers if o != slot)]
