"""Which of the offered slots a patient takes: one pure function, shared by both desks."""

from __future__ import annotations

from collections.abc import Sequence

from ..codes import ROUTINE
from .calendar import Slot


def patient_choice(
    offers: Sequence[Slot], urgency: int, extra_days: float,
    first_time: float, decline_after: float | None,
) -> Slot | None:
    """Which offer a patient takes (offers are ranked best first: own clinician, team, anyone).

    Urgent requests, follow-ups, reviews and planned care take the first
    offer. A routine patient takes the soonest offer, unless an offer ranked
    before it (their usual clinician or team) is at most ``extra_days`` later;
    then they take that one. ``extra_days`` is what this patient accepts: the
    days a patient who values continuity will wait for their own clinician, or
    (for a patient without a preference) how much later an unprompted offer
    may be. A routine patient declines everything when the chosen slot is more
    than ``decline_after`` days after they first asked (``inf`` or None: never).

    Returns:
        The slot taken, or None (nothing offered, or declined).
    """
    if not offers:
        return None
    chosen = offers[0]
    if urgency == ROUTINE and len(offers) > 1:
        soonest = min(offers, key=_slot_time)
        chosen = soonest
        for o in offers:
            if o is soonest or o.time - soonest.time <= extra_days:
                chosen = o
                break
    if (urgency == ROUTINE and decline_after is not None
            and chosen.time - first_time > decline_after):
        return None
    return chosen


def _slot_time(slot: Slot) -> float:
    return slot.time
