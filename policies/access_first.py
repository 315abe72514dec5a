"""Access-first: the earliest slot with any clinician who can take the request.

The baseline of the booking policies. It ignores who the patient usually
sees, so it gives the shortest waits the workforce allows and whatever
continuity chance produces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.engine.calendar import Slot
from sim.engine.policy_api import BookingRule, CalendarView, PracticeView, Request

from .base import rule_offers


class AccessFirst:
    """Earliest slot with any eligible clinician; urgent requests today.

    Args:
        params: none (the policy takes no parameters).
        practice: read-only facts about the practice.
        rng: the policy's own random stream (unused: ties go to the clinician listed first).
    """

    #: What the approach is, in plain words (the report shows it).
    description = (
        "Every request gets the earliest slot with any clinician who can take it; "
        "patients with a preferred GP may still ask for them."
    )
    name = "access_first"
    Params = None
    #: The rule (both desks read it): no tiers, the earliest slot with anyone.
    rule_named = "none"

    def __init__(self, params: None, practice: PracticeView, rng: np.random.Generator):
        self.practice = practice
        self.rng = rng

    def offers(self, request: Request, calendar: CalendarView) -> Sequence[Slot]:
        """One offer: the earliest slot the request may take, or none.

        Follow-ups go first to the clinician who asked for them (as in every policy).
        """
        return rule_offers(BookingRule(), request, calendar, self.practice, self.rng.random)

    def booking_rule(self) -> BookingRule:
        """No tiers: the compiled engine books the earliest slot with anyone."""
        return BookingRule()
