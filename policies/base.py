"""Building blocks every booking policy shares.

The searches (the same-day rule, the routine search) are the engine's
(:mod:`sim.engine.offers`): urgent requests are seen the same day if any
capacity exists, whatever the policy. Here: offering tiers of preferred
clinicians, and the follow-up, review and planned-care rule every policy
shares. Continuity policies first try the patient's own clinician (or team).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.codes import AHEAD, FOLLOW_UP, ONLINE, PLANNED, REVIEW, URGENT
from sim.engine import offers as engine_offers
from sim.engine.calendar import Slot
from sim.engine.offers import is_online, same_day_slot
from sim.engine.policy_api import CalendarView, CompiledRule, PracticeView, Request

#: Urgencies booked by their named clinician or the due date, not by the booking rule.
NAMED_OR_PLANNED = (FOLLOW_UP, REVIEW, PLANNED)


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


def is_urgent(request: Request) -> bool:
    """Whether the request must be seen today."""
    return request.urgency == URGENT


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
    first tier with a slot today; routine requests one offer per tier
    (without repeats); follow-ups, reviews and planned care go to
    :func:`follow_up_offers`. With no tiers this is access-first.
    """
    if request.urgency in NAMED_OR_PLANNED:
        return follow_up_offers(request, calendar, practice)
    all_tiers = [*tiers, (request.eligible, None)]
    if is_urgent(request):
        for tier, _ in all_tiers:
            if tier:
                slot = same_day_slot(request, calendar, tier)
                if slot is not None:
                    return [slot]
        return []
    offers: list[Slot] = []
    for tier, wait in all_tiers:
        if tier:
            slot = routine_slot(request, calendar, practice, tier, wait)
            if slot is not None and slot not in offers:
                offers.append(slot)
    return offers


def unknown_cohorts(names: Sequence[str], scenario: Any, key: str) -> list[tuple[tuple, str]]:
    """Problems for cohort names under ``params.<key>`` that the scenario does not define."""
    defined = ", ".join(scenario.cohorts) or "none"
    return [((key, j), f"unknown cohort {name!r} (cohorts defined: {defined})")
            for j, name in enumerate(names) if name not in scenario.cohorts]


class ContinuityParams(BaseModel):
    """Parameters every continuity policy shares.

    Attributes:
        adherence: probability the receptionist applies the continuity rule
            to a coded patient's request (ASSUMPTION: 0.5; the My Care project
            describes reception staff not always following it, and with 0.5
            the default practice's gain in continuity is of the size real
            programmes reported, docs/evidence.md 9.1).
        popup_reminder: a pop-up reminder on the record (part of the My Care
            project's clinical-system toolkit) is switched on, raising
            adherence to ``adherence_with_popup``.
        adherence_with_popup: adherence when the pop-up is on (ASSUMPTION: 0.75).
        coded: which patients carry the continuity code: ``"all"`` or a list of
            cohort names; everyone else is booked access-first.
        coded_share: the share of those patients whose records carry the code so
            far (1: all); a practice codes its list in a fixed random order, so
            ramping this up models coding spreading through the list.
        max_wait_days: the longest wait (days from today) for which the named
            clinician is offered; null means up to the booking horizon.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    adherence: float = Field(0.5, ge=0, le=1)
    popup_reminder: bool = False
    adherence_with_popup: float = Field(0.75, ge=0, le=1)
    coded: Literal["all"] | tuple[str, ...] = "all"
    coded_share: float = Field(1.0, ge=0, le=1)
    max_wait_days: int | None = Field(None, ge=0)


class ContinuityPolicy:
    """Base of the continuity policies: tiers of preferred clinicians, then anyone.

    A subclass says, for a request, which clinicians to try first and within
    what wait (:meth:`tiers`); the base applies the receptionist's adherence
    and the continuity code, offers one slot per tier plus the earliest with
    anyone, and handles urgent requests (the first tier with a slot today,
    else anyone today).
    """

    Params: type[ContinuityParams] = ContinuityParams
    #: Who the first tier is, for the compiled engine (``CompiledRule.named``),
    #: and whether the rest of the team is a second tier. Only a class that sets
    #: ``compiled_named`` itself runs compiled (``sim.engine.policy_api.compiled_rule_of``):
    #: a subclass that changes ``tiers`` without saying so runs on the reference engine.
    compiled_named: str | None = None
    compiled_team_tier: bool = False

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

    @classmethod
    def check_scenario(cls, params: ContinuityParams, scenario: Any) -> list[tuple[tuple, str]]:
        """Problems with ``params`` given the scenario: (key path under params, message)."""
        if params.coded == "all":
            return []
        return unknown_cohorts(params.coded, scenario, "coded")

    def coded_cohorts(self) -> str | tuple[str, ...]:
        """Cohorts whose patients carry the continuity code (``"all"`` for everyone)."""
        return self.params.coded

    def tiers(self, request: Request) -> list[tuple[tuple[int, ...], int | None]]:
        """Preferred clinicians in order, each with the longest wait (days) to offer them."""
        raise NotImplementedError

    def applies(self, request: Request) -> bool:
        """Whether the continuity rule is applied to this request (code, then adherence)."""
        if self.coded is not None and not self.coded[request.patient]:
            return False
        return self.adherence >= 1.0 or self.rng.random() < self.adherence

    def offers(self, request: Request, calendar: CalendarView) -> list[Slot]:
        """Preferred tiers first (one offer each), then the earliest slot with anyone.

        Follow-ups, reviews and planned care go to their named clinician (no
        adherence draw); uncoded patients and requests where the receptionist
        does not apply the rule are booked access-first.
        """
        if request.urgency in NAMED_OR_PLANNED or not self.applies(request):
            return tiered_offers(request, calendar, self.practice, ())
        eligible = request.eligible
        tiers = [(tuple(c for c in tier if c in eligible), wait)
                 for tier, wait in self.tiers(request)]
        return tiered_offers(request, calendar, self.practice, tiers)

    def compiled_rule(self) -> CompiledRule:
        """This policy's rule for the compiled engine (when its class sets ``compiled_named``)."""
        return CompiledRule(
            named=self.compiled_named,
            named_wait_days=self.params.max_wait_days,
            team_tier=self.compiled_team_tier,
            team_wait_days=getattr(self.params, "team_wait_days", None),
            adherence=self.adherence,
            coded=self.coded,
        )
