"""What a booking policy sees and must provide; how the engine finds one by name.

The engine knows policies only through :class:`BookingPolicy`. A policy is a
small class, constructed once per run as
``PolicyClass(params=..., practice=..., rng=...)``, whose ``offers`` method
looks at a request and a read-only view of the calendar and returns the slots
it offers, best first. It never touches the clock or the event log, and it
must not keep state that depends on anything but what it is shown.

A scenario names a policy by a registered name (:mod:`sim.inputs.policies`)
or, for a user's own class, by ``package.module:Class`` once the user has
enabled that class (``--policy-class``; a file never imports code). A class
may declare a nested pydantic model ``Params``; the scenario's
``policy.params`` are validated against it with the same messages as every
other key. A built-in approach is a rule, as data (:class:`BookingRule`,
:func:`booking_rule_of`), that both desks read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..inputs.policies import Registry, policy_class
from ..world.population import Patients
from ..world.workforce import Workforce
from .calendar import Slot


class Request:
    """One request for an appointment, as the booking policy sees it.

    Attributes:
        id: request number (unique within a run).
        patient: patient index.
        time: when this attempt is made, in simulation days.
        need: index into ``PracticeView.need_names``.
        urgency: ``URGENT`` (0), ``ROUTINE`` (1), ``FOLLOW_UP`` (2) or ``REVIEW`` (3, a
            planned care-plan review), from :mod:`sim.codes`.
        mode: index into :data:`sim.codes.MODE_NAMES`.
        attempt: 1 for the first try, 2 for the first retry, ...
        first_time: when the patient first asked, in simulation days.
        from_day: the first day the patient wants an appointment on (later
            than today for planned routine requests and follow-ups).
        with_clinician: for a follow-up, the clinician who asked for it; for a
            review, its named clinician (-1 if they cannot take it); else -1.
        eligible: clinicians who may take it (their role suits the need and the mode),
            in clinician order.
    """

    __slots__ = (
        "attempt",
        "eligible",
        "first_time",
        "from_day",
        "id",
        "mode",
        "need",
        "patient",
        "time",
        "urgency",
        "with_clinician",
    )

    def __init__(self, id: int, patient: int, time: float, need: int, urgency: int, mode: int,
                 attempt: int, first_time: float, eligible: tuple[int, ...],
                 from_day: int, with_clinician: int = -1):
        self.id = id
        self.patient = patient
        self.time = time
        self.need = need
        self.urgency = urgency
        self.mode = mode
        self.attempt = attempt
        self.first_time = first_time
        self.eligible = eligible
        self.from_day = from_day
        self.with_clinician = with_clinician

    @property
    def day(self) -> int:
        """The simulation day of this attempt."""
        return int(self.time)

    def __repr__(self) -> str:
        return (f"Request(id={self.id}, patient={self.patient}, time={self.time:.4f}, "
                f"need={self.need}, urgency={self.urgency}, mode={self.mode}, "
                f"attempt={self.attempt})")


class CalendarView(Protocol):
    """The read-only part of :class:`sim.engine.calendar.Calendar` that policies may use."""

    n_days: int

    def earliest(
        self, clinicians: Sequence[int], pool: int, now: float, last_day: int,
        from_day: int | None = None,
    ) -> Slot | None:
        """Earliest free slot from ``now`` (or day ``from_day``) to ``last_day``."""
        ...

    def free_count(self, pool: int, clinician: int, day: int, now: float | None = None) -> int:
        """Free slots in one clinician's day and pool."""
        ...

    def is_closed(self, clinician: int, day: int) -> bool:
        """Whether a clinician's day was closed by sickness."""
        ...

    @property
    def has_online(self) -> bool:
        """Whether the practice sets online time aside (the ONLINE pool has slots)."""
        ...


@dataclasses.dataclass(frozen=True)
class PracticeView:
    """Read-only facts about the practice that a policy may use.

    Attributes:
        patients: the registered list (arrays, read-only).
        workforce: the clinicians (arrays, read-only).
        need_names: names of need types, by index.
        horizon_days: how far ahead routine appointments may be booked.
        release_days: how long before it starts an unused on-the-day slot is
            offered to routine requests, in days.
        cohorts: cohort name -> boolean array over patients.
        teams: micro-teams as clinician indices, lead first.
        team_of_clinician: clinician index -> team number, for clinicians in a team.
        usual_clinician: each patient's usual clinician (list GP) now.
        follow_up_window_days: a follow-up goes to the clinician who asked for
            it if they have a slot within this many days of the wanted day.
        coding_rank: per patient, a uniform number fixing the order in which a
            practice's continuity code reaches its list (``coded_share``).
        duty: per day, the GPs on duty under a duty-doctor rota (-1: none;
            no columns without one).
    """

    patients: Patients
    workforce: Workforce
    need_names: tuple[str, ...]
    horizon_days: int
    release_days: float
    cohorts: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    teams: tuple[tuple[int, ...], ...] = ()
    team_of_clinician: dict[int, int] = dataclasses.field(default_factory=dict)
    usual_clinician: np.ndarray | None = None
    follow_up_window_days: int = 7
    coding_rank: np.ndarray | None = None
    duty: np.ndarray | None = None

    def on_duty(self, day: int) -> tuple[int, ...]:
        """The GPs on duty on ``day``, in rota order (empty without a duty-doctor rota)."""
        if self.duty is None or self.duty.shape[1] == 0 or day >= self.duty.shape[0]:
            return ()
        return tuple(int(c) for c in self.duty[day] if c >= 0)

    def team_of_patient(self, patient: int) -> tuple[int, ...]:
        """The micro-team of a patient's usual clinician (lead first), or ``()``."""
        k = self.team_of_clinician.get(int(self.usual_clinician[patient]))
        return () if k is None else self.teams[k]


@dataclasses.dataclass(frozen=True)
class BookingRule:
    """A built-in approach's booking rule, as data: both desks read it.

    The reference desk reads it in Python (:func:`sim.engine.offers.rule_offers`),
    the compiled desk in :mod:`sim.engine.kernel`; the parity tests hold the two
    readings identical. A policy offers its rule from a ``booking_rule()``
    method. The rule offers one slot per tier, then the earliest slot with
    anyone eligible; follow-ups and reviews go to their named clinician.

    Attributes:
        named: the first tier: ``"none"`` (access-first: no tiers), ``"usual_gp"``
            (the patient's usual GP) or ``"team_lead"`` (the lead of the usual
            GP's micro-team, else the usual GP).
        named_wait_days: the longest wait to offer the named clinician (None: the horizon).
        team_tier: a second tier of the rest of the usual GP's micro-team.
        team_wait_days: the longest wait to offer the rest of the team.
        adherence: probability the receptionist applies the tiers (a draw from
            the policy stream for each attempt of a coded patient, unless 1).
        coded: patients the tiers apply to (None: everyone).
        urgent: the tiers apply to urgent (same-day) requests too; otherwise those
            go to whoever the practice's urgent care offers today, as for every
            policy (follow-ups, reviews and planned care always go to their named
            clinician).
    """

    named: str = "none"
    named_wait_days: int | None = None
    team_tier: bool = False
    team_wait_days: int | None = None
    adherence: float = 1.0
    coded: np.ndarray | None = None
    urgent: bool = False


@runtime_checkable
class BookingPolicy(Protocol):
    """A booking rule: the slots offered for a request, best first (empty: none)."""

    def offers(self, request: Request, calendar: CalendarView) -> Sequence[Slot]:
        """Offer slots for ``request``; the engine books the first one the patient takes."""
        ...


def make_policy(
    name: str, params: dict[str, Any], practice: PracticeView, rng: np.random.Generator,
    policies: Registry | None = None,
) -> BookingPolicy:
    """Build the policy a scenario names, with validated parameters.

    ``policies``: the registry of names (None: the installed one, see
    :mod:`sim.inputs.policies`).
    """
    cls = policy_class(name, policies)
    params_model = getattr(cls, "Params", None)
    parsed = params_model.model_validate(params) if params_model is not None else None
    return cls(params=parsed, practice=practice, rng=rng)


def booking_rule_of(policy: BookingPolicy) -> BookingRule | None:
    """The rule ``policy`` books by, or None: it books its own way, on the reference desk.

    The one rule: a policy is a declared rule (and may run compiled) only if its
    own class (not a parent) sets ``rule_named``, so a subclass that changes how
    a parent books never inherits the parent's rule by accident. The class's
    ``booking_rule()`` then gives the rule.
    """
    if type(policy).__dict__.get("rule_named") is None:
        return None
    return policy.booking_rule()
