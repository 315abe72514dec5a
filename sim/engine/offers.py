"""Finding slots for a request: the searches, and the built-in booking rules read in Python.

The searches every booking rule is built from are shared by the policies
(``policies/``) and the booking desks (a patient's own request for their GP is
the desk's, whatever the policy). :func:`rule_offers` reads a built-in
approach's :class:`sim.engine.policy_api.BookingRule` (its tiers of preferred
clinicians, waits, adherence and coding: data, declared once in the approach's
module under ``policies/``): the reference desk books the built-in approaches
with it, and the compiled desk reads the same rule in :mod:`sim.engine.kernel`
(``offers``, ``_policy_offers``, ``_fill_tiers``, ``_same_day``, ``_routine``).
A change to an approach is a change to its rule; the two readings of rules are
the engine's, kept identical by the parity tests.

Urgent requests are seen the same day if any capacity exists: first the
day's held on-the-day slots, then any slot still free today; under a
duty-doctor rota, the duty GPs' first. Routine requests
take bookable-ahead slots from the day wanted up to the horizon (or a shorter
wait limit), and, wanting the soonest, today's held slots that start within
the release window and are still free. Online requests, when the practice
sets online time aside, are answered in that time only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..codes import AHEAD, FOLLOW_UP, ON_THE_DAY, ONLINE, ONLINE_MODE, PLANNED, REVIEW, URGENT
from .calendar import Slot
from .policy_api import BookingRule, CalendarView, PracticeView, Request

#: Urgencies booked by their named clinician or the due date, not by the booking rule.
NAMED_OR_PLANNED = (FOLLOW_UP, REVIEW, PLANNED)


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


def follow_up_offers(
    request: Request, calendar: CalendarView, practice: PracticeView
) -> list[Slot]:
    """A follow-up, review or planned care: the named clinician near the day, else anyone.

    The clinician in ``request.with_clinician`` (who asked for the follow-up,
    or the review's or planned care's named clinician) is offered if they have
    a slot within ``practice.follow_up_window_days`` of ``request.from_day``;
    the earliest slot with anyone from the wanted day is offered too. Every
    policy books these this way: the clinician or the care plan, not the
    booking rule, chose who and when.
    """
    offers: list[Slot] = []
    pool = ONLINE if is_online(request, calendar) else AHEAD
    c = request.with_clinician
    if c >= 0:
        slot = calendar.earliest((c,), pool, request.time,
                                 request.from_day + practice.follow_up_window_days,
                                 request.from_day)
        if slot is not None:
            offers.append(slot)
    anyone = calendar.earliest(request.eligible, pool, request.time,
                               request.from_day + practice.horizon_days, request.from_day)
    if anyone is not None and anyone not in offers:
        offers.append(anyone)
    return offers


def tiered_offers(
    request: Request,
    calendar: CalendarView,
    practice: PracticeView,
    tiers: Sequence[tuple[Sequence[int], int | None]],
) -> list[Slot]:
    """Offers for ``request``: one per tier of preferred clinicians, then anyone.

    ``tiers`` pairs clinicians (already limited to those eligible) with the
    longest wait, in days, to offer them; the eligible clinicians, with no
    limit but the horizon, are always the last tier. Urgent requests get the
    first tier with a slot today, the day's duty GPs (if the practice runs a
    duty-doctor rota) coming just before anyone; routine requests one offer per tier
    (without repeats); follow-ups, reviews and planned care go to
    :func:`follow_up_offers`. With no tiers this is access-first.
    """
    if request.urgency in NAMED_OR_PLANNED:
        return follow_up_offers(request, calendar, practice)
    all_tiers = [*tiers, (request.eligible, None)]
    if request.urgency == URGENT:
        duty = tuple(c for c in practice.on_duty(request.day) if c in request.eligible)
        for tier, _ in [*tiers, (duty, None), (request.eligible, None)]:
            if tier:
                slot = same_day_slot(request, calendar, tier)
                if slot is not None:
                    return [slot]
        return []
    offers: list[Slot] = []
    for tier, wait in all_tiers:
        if tier:
            slot = routine_slot(request, calendar, practice.horizon_days, practice.release_days,
                                tier, wait)
            if slot is not None and slot not in offers:
                offers.append(slot)
    return offers


def rule_applies(rule: BookingRule, request: Request, draw: Callable[[], float]) -> bool:
    """Whether reception applies the rule's tiers to this attempt.

    Never for access-first (no tiers), an urgent request outside the rule's reach
    (``rule.urgent``) or a patient without the continuity code; then with the
    rule's adherence (a ``draw`` from the policy stream, unless 1).
    """
    if rule.named == "none" or (request.urgency == URGENT and not rule.urgent):
        return False
    if rule.coded is not None and not rule.coded[request.patient]:
        return False
    return rule.adherence >= 1.0 or draw() < rule.adherence


def rule_tiers(rule: BookingRule, request: Request, practice: PracticeView
               ) -> list[tuple[tuple[int, ...], int | None]]:
    """The rule's tiers of preferred clinicians for ``request`` (eligible ones only).

    The first tier is the named clinician: the patient's usual GP, or
    (``team_lead``) the lead of the usual GP's micro-team; the second, if the
    rule has one, the rest of that team.
    """
    usual = int(practice.usual_clinician[request.patient])
    team = practice.team_of_patient(request.patient)
    named = team[0] if rule.named == "team_lead" and team else usual
    eligible = request.eligible
    tiers = [((named,) if named in eligible else (), rule.named_wait_days)]
    if rule.team_tier:
        tiers.append((tuple(c for c in team if c != named and c in eligible),
                      rule.team_wait_days))
    return tiers


def rule_offers(rule: BookingRule, request: Request, calendar: CalendarView,
                practice: PracticeView, draw: Callable[[], float]) -> list[Slot]:
    """A built-in approach's offers: its rule's tiers when applied, then anyone.

    Follow-ups, reviews and planned care go to their named clinician (no
    adherence draw); urgent requests outside the rule's reach, uncoded patients
    and attempts where reception does not apply the rule are booked as
    access-first books them.
    """
    if request.urgency in NAMED_OR_PLANNED or not rule_applies(rule, request, draw):
        return tiered_offers(request, calendar, practice, ())
    return tiered_offers(request, calendar, practice, rule_tiers(rule, request, practice))
