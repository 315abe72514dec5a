"""The scenario schema: typed, validated once, then frozen.

A scenario is read from YAML (see :mod:`sim.inputs.loading`) into these models.
Every model forbids unknown keys and is immutable, so a scenario can be shared
across runs, processes and replications without any run-time state leaking
into it. Units live in the names: ``_days``, ``_minutes``,
``_per_patient_year``; times of day are ``"HH:MM"`` strings.

References between parts (roles named by clinicians and needs, session names,
cohorts, teams) are checked by :mod:`sim.inputs.checks`.

The parts are in :mod:`.base` (shared types), :mod:`.practice` (the practice and
its workforce), :mod:`.patients` (the list and its demand) and :mod:`.outcomes`
(the outcome models); here is the whole scenario and its booking policy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field

from .base import (
    FIRST_DATE,
    LAST_DATE,
    MODES,
    REQUEST_MODES,
    WEEKDAYS,
    CalendarDate,
    Identifier,
    Mode,
    RequestMode,
    Share,
    Strict,
    TimeOfDay,
    Weekday,
    _has_boolean,
    _in_calendar,
    _kinds,
    _shares_sum_to_one,
    hours,
)
from .outcomes import (
    AccessChannel,
    ContinuityChannel,
    Emergency,
    RelationshipDepth,
)
from .patients import (
    DNA,
    AgeBand,
    CarePlanReview,
    Choice,
    CohortRule,
    Demand,
    DNABand,
    FollowUps,
    Need,
    PlannedCare,
    Population,
    SyntheticHistory,
)
from .practice import (
    Absence,
    Clinician,
    MonthDay,
    Opening,
    Practice,
    Role,
    Team,
    TeamFormation,
    UrgentCare,
)

__all__ = [
    "DNA",
    "FIRST_DATE",
    "LAST_DATE",
    "MODES",
    "REQUEST_MODES",
    "WEEKDAYS",
    "Absence",
    "AccessChannel",
    "AgeBand",
    "CalendarDate",
    "CarePlanReview",
    "Choice",
    "Clinician",
    "CohortRule",
    "ContinuityChannel",
    "DNABand",
    "Demand",
    "Emergency",
    "FollowUps",
    "Identifier",
    "Mode",
    "MonthDay",
    "Need",
    "Opening",
    "PlannedCare",
    "PolicyChange",
    "PolicyRef",
    "Population",
    "Practice",
    "Ramp",
    "RelationshipDepth",
    "RequestMode",
    "Role",
    "Scenario",
    "Share",
    "Strict",
    "SyntheticHistory",
    "Team",
    "TeamFormation",
    "TimeOfDay",
    "UrgentCare",
    "Weekday",
    "_has_boolean",
    "_in_calendar",
    "_kinds",
    "_shares_sum_to_one",
    "hours",
]


class PolicyRef(Strict):
    """The booking policy: a registered name, or ``package.module:Class`` enabled by the user.

    A user's own class is enabled on the command line with ``--policy-class``.
    """

    name: str = "access_first"
    params: dict[str, Any] = Field(default_factory=dict)


class Ramp(Strict):
    """A policy parameter that rises (or falls) to its value over weeks: adoption.

    From the change's date the parameter goes from ``start`` to the value the
    change's policy gives it, over ``weeks``: in a straight line, or along a
    logistic learning curve (slow, then fast, then slow; 1% and 99% of the
    way at the two ends). The value is set each day.
    """

    param: str = Field(description="A numeric parameter of the change's policy, e.g. adherence "
                       "or coded_share.")
    start: float = Field(description="Its value on the change's first day.")
    weeks: float = Field(gt=0, le=520, description="Weeks to reach the policy's value.")
    shape: Literal["linear", "logistic"] = Field("linear", description="How it gets there.")


class PolicyChange(Strict):
    """A change of booking policy during the run, from the start of a day (a rollout).

    Bookings already made stay as they were. ``ramp`` lets uptake build up
    over weeks; ``lists: rebalance`` has the practice tidy its lists at the
    launch (patients moved from lists above their share of sessions to those
    below, as few as possible).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_date: CalendarDate = Field(alias="from", description="The first day of the new "
                                    "policy.")
    policy: PolicyRef = Field(description="The policy from that day (name and params).")
    ramp: tuple[Ramp, ...] = Field((), description="Parameters that build up over weeks.")
    lists: Literal["keep", "rebalance"] = Field(
        "keep", description="rebalance: move patients from lists above their share of "
        "sessions to lists below, at the change's date.")


class WarmupCheck(Strict):
    """The warm-up analysis (``gpsim warmup``) this scenario's warm-up was chosen from."""

    recommended_days: int = Field(ge=0, le=3650, description="The warm-up it recommended, in "
                                  "days, from this scenario's start_date.")
    checked_on: CalendarDate = Field(description="When the analysis was run.")
    start_date: CalendarDate | None = Field(
        None, description="The start_date the analysis ran from: a scenario that starts on "
        "another day (a variant that moves it) is not covered by the check.")
    note: str = Field("", description="Anything a reader should know (pilot length, "
                      "replications, what did not settle).")


class Scenario(Strict):
    """A complete, validated scenario for one practice."""

    name: str = Field("Unnamed scenario", description="Shown in reports and messages.")
    description: str = Field("", description="What this scenario is, in a sentence or two "
                             "(shown in the report).")
    seed: int | None = Field(
        None, ge=0, lt=2**63, description="Master seed; chosen and stored if omitted."
    )
    start_date: CalendarDate = Field(
        dt.date(2025, 1, 6), description="Calendar date of simulation day 0 (warm-up start)."
    )
    warmup_days: int = Field(
        56, ge=0, le=3650,
        description="Days simulated before outputs are recorded. ASSUMPTION when not set: 56 "
                    "(8 weeks for the book to fill); too short for a busy practice, whose "
                    "winter backlog takes months to build: gpsim warmup says how many a "
                    "scenario needs (the default practice uses 364)."
    )
    duration_days: int = Field(
        364, ge=1, le=3650, description="Days recorded after the warm-up."
    )
    warmup_check: WarmupCheck | None = Field(
        None, description="The warm-up analysis the warm-up was chosen from (gpsim warmup); "
        "reports say whether there was one.")
    practice: Practice = Practice()
    population: Population
    demand: Demand
    dna: DNA
    roles: dict[Identifier, Role] = Field(min_length=1)
    clinicians: tuple[Clinician, ...] = Field(min_length=1)
    absence: Absence = Absence()
    cohorts: dict[Identifier, CohortRule] = Field(
        default_factory=dict, description="Named cohort searches (frequent attenders, ...)."
    )
    teams: tuple[Team, ...] = Field((), description="Micro-teams, for team-based policies.")
    team_formation: TeamFormation | None = Field(
        None, description="Form micro-teams from the workforce instead of listing them.")
    care_plan_reviews: tuple[CarePlanReview, ...] = Field(
        (), description="Planned care-plan reviews for cohorts (coordinated care).")
    planned_care: tuple[PlannedCare, ...] = Field(
        (), description="Streams of planned care booked ahead (reviews, screening, "
        "immunisations).")
    choice: Choice = Choice()
    follow_ups: FollowUps = FollowUps()
    emergency: Emergency = Emergency()
    relationship_depth: RelationshipDepth = RelationshipDepth()
    policy: PolicyRef = PolicyRef()
    policy_changes: tuple[PolicyChange, ...] = Field(
        (), description="Changes of policy during the run, in date order (a rollout).")

    @property
    def end_day(self) -> int:
        """First day after the observation window (simulation day index)."""
        return self.warmup_days + self.duration_days
