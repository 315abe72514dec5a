"""Building blocks every booking policy shares, and the built-in approaches' common rule.

The searches and tiers are the engine's (:mod:`sim.engine.offers`), re-exported
here for a user's own policy: urgent requests are seen the same day if any
capacity exists, whatever the policy; follow-ups, reviews and planned care go
to their named clinician. A built-in continuity approach is a
:class:`ContinuityPolicy` whose class declares its rule (``rule_named``,
``rule_team_tier``) and whose parameters give the rest (waits, adherence, the
continuity code): both booking desks read that same rule, so a change to an
approach is made in its module alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.engine import offers as engine_offers
from sim.engine.calendar import Slot
from sim.engine.offers import (  # noqa: F401 (re-exported for users' policies)
    NAMED_OR_PLANNED,
    follow_up_offers,
    is_online,
    rule_offers,
    same_day_slot,
    tiered_offers,
)
from sim.engine.policy_api import BookingRule, CalendarView, PracticeView, Request


def routine_slot(
    request: Request,
    calendar: CalendarView,
    practice: PracticeView,
    clinicians: Sequence[int],
    max_wait_days: int | None = None,
) -> Slot | None:
    """Earliest routine slot with ``clinicians``, within the practice's horizon and release."""
    return engine_offers.routine_slot(request, calendar, practice.horizon_days,
                                      practice.release_days, clinicians, max_wait_days)


def unknown_cohorts(names: Sequence[str], scenario: Any, key: str) -> list[tuple[tuple, str]]:
    """Problems for cohort names under ``params.<key>`` that the scenario does not define."""
    defined = ", ".join(scenario.cohorts) or "none"
    return [((key, j), f"unknown cohort {name!r} (cohorts defined: {defined})")
            for j, name in enumerate(names) if name not in scenario.cohorts]


class ContinuityParams(BaseModel):
    """Parameters every continuity policy shares.

    Attributes:
        adherence: probability the receptionist applies the continuity rule
            to a coded patient's request (ASSUMPTION: 0.5, plausible range 0.25 to
            0.9: the My Care project describes reception staff not always
            following the rule and built a pop-up reminder to help them; no
            published figure gives the share. Not set to reproduce any
            programme's result; docs/findings.md shows the gain across the range).
        popup_reminder: a pop-up reminder on the record (part of the My Care
            project's clinical-system toolkit) is switched on, raising
            adherence to ``adherence_with_popup``.
        adherence_with_popup: adherence when the pop-up is on (ASSUMPTION: 0.75, range
            0.5 to 0.95).
        coded: which patients carry the continuity code: ``"all"`` or a list of
            cohort names; everyone else is booked access-first.
        coded_share: the share of those patients whose records carry the code so
            far (1: all); a practice codes its list in a fixed random order, so
            ramping this up models coding spreading through the list.
        max_wait_days: the longest wait (days from today) for which the named
            clinician is offered; null means up to the booking horizon.
        urgent: whether reception applies the rule to urgent (same-day) requests too.
            Default false: practices send on-the-day urgent demand to a duty
            doctor or on-the-day team, and the My Care leaflet promises "if you
            have an urgent problem, we will always make sure you are seen as
            quickly as we can" (docs/evidence.md 9.1); true models a practice
            that books urgent requests with the usual GP when they are free today.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    adherence: float = Field(0.5, ge=0, le=1)
    popup_reminder: bool = False
    adherence_with_popup: float = Field(0.75, ge=0, le=1)
    coded: Literal["all"] | tuple[str, ...] = "all"
    coded_share: float = Field(1.0, ge=0, le=1)
    max_wait_days: int | None = Field(None, ge=0)
    urgent: bool = False


class ContinuityPolicy:
    """Base of the built-in continuity approaches: a declared rule, read by both desks.

    A subclass declares its rule: ``rule_named``, the first tier (``"usual_gp"``:
    the patient's usual GP; ``"team_lead"``: the lead of the usual GP's
    micro-team), and ``rule_team_tier``, whether the rest of that team is a
    second tier. Its parameters (:class:`ContinuityParams`) give the waits,
    adherence and continuity code. Offers are the rule's
    (:func:`sim.engine.offers.rule_offers`): one per tier within its wait, then
    the earliest slot with anyone; urgent requests the first tier with a slot
    today.

    Only a class that declares ``rule_named`` itself runs on the compiled desk
    (:func:`sim.engine.policy_api.booking_rule_of`): a subclass that overrides
    ``offers`` without declaring a rule runs on the reference desk.
    """

    Params: type[ContinuityParams] = ContinuityParams
    rule_named: str | None = None
    rule_team_tier: bool = False

    def __init__(self, params: ContinuityParams, practice: PracticeView,
                 rng: np.random.Generator):
        self.params = params
        self.practice = practice
        self.rng = rng
        self.adherence = params.adherence_with_popup if params.popup_reminder else params.adherence
        coded = self.coded_cohorts()
        self.coded: np.ndarray | None = None
        if coded != "all":
            mask = np.zeros(practice.patients.size, dtype=bool)
            for name in coded:
                mask |= practice.cohorts[name]
            self.coded = mask
        if params.coded_share < 1.0:  # coding reaches patients in the practice's fixed order
            reached = practice.coding_rank < params.coded_share
            self.coded = reached if self.coded is None else self.coded & reached
        self.rule = self.booking_rule()

    @classmethod
    def check_scenario(cls, params: ContinuityParams, scenario: Any) -> list[tuple[tuple, str]]:
        """Problems with ``params`` given the scenario: (key path under params, message)."""
        if params.coded == "all":
            return []
        return unknown_cohorts(params.coded, scenario, "coded")

    def coded_cohorts(self) -> str | tuple[str, ...]:
        """Cohorts whose patients carry the continuity code (``"all"`` for everyone)."""
        return self.params.coded

    def offers(self, request: Request, calendar: CalendarView) -> list[Slot]:
        """The rule's offers (:func:`sim.engine.offers.rule_offers`), best first."""
        return rule_offers(self.rule, request, calendar, self.practice, self.rng.random)

    def booking_rule(self) -> BookingRule:
        """This approach's rule: its declaration and parameters, as both desks read it."""
        return BookingRule(
            named=self.rule_named or "none",
            named_wait_days=self.params.max_wait_days,
            team_tier=self.rule_team_tier,
            team_wait_days=getattr(self.params, "team_wait_days", None),
            adherence=self.adherence,
            coded=self.coded,
            urgent=self.params.urgent,
        )
