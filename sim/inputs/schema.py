"""The scenario schema: typed, validated once, then frozen.

A scenario is read from YAML (see :mod:`sim.inputs.loading`) into these models.
Every model forbids unknown keys and is immutable, so a scenario can be shared
across runs, processes and replications without any run-time state leaking
into it. Units live in the names: ``_days``, ``_minutes``,
``_per_patient_year``; times of day are ``"HH:MM"`` strings.

References between parts (roles named by clinicians and needs, session names,
cohorts, teams) are checked by :mod:`sim.inputs.checks`.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..codes import MODE_NAMES

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODES: tuple[str, ...] = MODE_NAMES
REQUEST_MODES: tuple[str, ...] = ("face_to_face", "telephone", "online")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Mode = Literal["face_to_face", "telephone", "home_visit", "online"]
RequestMode = Literal["face_to_face", "telephone", "online"]

TimeOfDay = Annotated[
    str,
    Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Time of day as HH:MM (24-hour)."),
]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Letters, digits, '_', '-' and '.' only.",
    ),
]


#: The dates a scenario may name: the calendar counts days from its start, and results
#: carry pandas timestamps (which end in 2262).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _in_calendar(day: dt.date) -> dt.date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day.isoformat()} is outside the dates a scenario may use "
                         f"({FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()})")
    return day


CalendarDate = Annotated[dt.date, AfterValidator(_in_calendar)]


def hours(t: str) -> float:
    """Convert an ``"HH:MM"`` time of day to hours after midnight."""
    hh, mm = t.split(":")
    return int(hh) + int(mm) / 60.0


def _shares_sum_to_one(values: dict[str, float] | list[float], what: str) -> None:
    total = sum(values.values()) if isinstance(values, dict) else sum(values)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1 (they sum to {total:.6g})")


def _kinds(annotation: Any) -> set[type]:
    """The plain types a field holds: itself, or its items (lists, tuples), or its values (maps)."""
    if annotation in (int, float, bool, str):
        return {annotation}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _kinds(args[0])
    if origin is dict:
        return _kinds(args[-1]) if args else set()
    if origin is Literal:
        return {type(a) for a in args}
    if origin in (tuple, list, typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in args if a is not Ellipsis))
    return set()


def _has_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list | tuple):
        return any(isinstance(v, bool) for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, bool) for v in value.values())
    return False


class Strict(BaseModel):
    """Base of every scenario model: unknown keys are errors and objects are immutable.

    A number is never taken from ``true`` or ``false`` (pydantic would read
    ``size: true`` as one patient).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        if _has_boolean(value) and info.field_name is not None:
            kinds = _kinds(cls.model_fields[info.field_name].annotation)
            if kinds & {int, float} and bool not in kinds:
                raise ValueError("a number is wanted here, not true or false")
        return value


class Opening(Strict):
    """When the practice takes requests and runs sessions."""

    days: tuple[Weekday, ...] = Field(
        ("mon", "tue", "wed", "thu", "fri"),
        min_length=1,
        description="Weekdays the practice opens.",
    )
    open: TimeOfDay = Field("08:00", description="Doors and phones open.")
    close: TimeOfDay = Field("18:30", description="Doors and phones close.")

    @model_validator(mode="after")
    def _open_before_close(self) -> Opening:
        if hours(self.open) >= hours(self.close):
            raise ValueError(f"open ({self.open}) must be before close ({self.close})")
        if len(set(self.days)) != len(self.days):
            raise ValueError("days lists a weekday twice")
        return self


class Practice(Strict):
    """The practice: opening hours, sessions and booking rules."""

    name: str = Field("Practice", description="The practice's name.")
    opening: Opening = Opening()
    session_starts: dict[Identifier, TimeOfDay] = Field(
        default_factory=lambda: {"am": "08:30", "pm": "14:00"},
        min_length=1,
        description="Start time of each named session; clinicians work e.g. 'mon_am'.",
    )
    closed_dates: tuple[CalendarDate, ...] = Field(
        (), description="Dates the practice is shut although a weekday (bank holidays)."
    )
    booking_horizon_days: int = Field(
        28, ge=1, le=365, description="How far ahead routine appointments can be booked."
    )
    on_the_day_release_minutes: int = Field(
        60,
        ge=0,
        le=24 * 60,
        description=(
            "An on-the-day slot still free this many minutes before it starts is offered "
            "to routine requests too; until then it is kept for urgent requests."
        ),
    )
    max_attempts: int = Field(
        3,
        ge=1,
        le=20,
        description="Attempts (the first request plus retries on later working days) "
        "before a patient who finds no slot gives up.",
    )


class AgeBand(Strict):
    """One age band of the registered list."""

    name: str
    share: Share = Field(description="Share of the list in this band.")
    rate_ratio: float = Field(
        gt=0, description="Consultation rate relative to other bands (normalised)."
    )
    ltc_mean: float = Field(
        ge=0, description="Mean number of long-term conditions (Poisson) in this band."
    )
    housebound_probability: Share = Field(0.0, description="Chance a patient is housebound.")


class SyntheticHistory(Strict):
    """Consultations before the simulated period, drawn for a synthetic practice.

    Each patient's GP consultations over ``years`` are Poisson with mean their
    request rate x ``gp_share`` x ``years``; each is with their usual GP with
    chance ``usual_gp_share``, else with another list-holding GP chosen evenly.
    Drawn from the "history" stream.
    """

    years: float = Field(gt=0, le=20, description="Years of history before the simulated "
                         "period.")
    gp_share: Share = Field(0.55, description="Share of a patient's requests seen by a GP "
                            "(ASSUMPTION: about half of appointments are with a GP, "
                            "EVIDENCE 2.2).")
    usual_gp_share: Share = Field(0.55, description="Share of GP consultations with the usual "
                                  "GP (ASSUMPTION: near the default practice's UPC).")


class Population(Strict):
    """The registered list: drawn from distributions, or read from a list file."""

    size: int | None = Field(None, ge=1, le=5_000_000, description="Registered patients "
                             "(taken from list_file when one is given).")
    list_file: str | None = Field(
        None, description="A CSV of the practice's real list (age band or age, n_ltc, "
        "housebound, usual_gp, cohort_<name> flags; see sim/inputs/list_import.py), relative "
        "to the scenario file; the age bands still give consultation rates.")
    history_file: str | None = Field(
        None, description="A Parquet file of consultations before the simulated period "
        "(patient_id as in list_file, clinician_id, consultations, and optionally last_year "
        "and years_since_first), relative to the scenario file; written by calibrate. Seeds "
        "who knows whom: relationship depth, recent UPC, years with the usual GP.")
    history: SyntheticHistory | None = Field(
        None, description="Draw a history of consultations for a synthetic list instead "
        "(without history_file or history, every patient starts unknown to every clinician).")
    age_bands: tuple[AgeBand, ...] = Field(min_length=1)
    ltc_rate_ratio: float = Field(
        1.1, gt=0, description="Consultation rate multiplier per long-term condition."
    )
    values_continuity_share: Share = Field(
        0.6, description="Share of patients who value seeing the same clinician."
    )
    dna_propensity_shape: float = Field(
        2.0,
        gt=0,
        description="Gamma shape of each patient's DNA propensity (mean 1); smaller means "
        "DNAs concentrate in fewer patients.",
    )

    @model_validator(mode="after")
    def _size_or_file(self) -> Population:
        if self.size is None and self.list_file is None:
            raise ValueError("give size (patients to draw) or list_file (a real list)")
        if self.history_file is not None and self.history is not None:
            raise ValueError("give history_file (a practice's real history) or history (drawn), "
                             "not both")
        if self.history_file is not None and self.list_file is None:
            raise ValueError("history_file needs list_file: the history is keyed by the list's "
                             "patient ids")
        return self

    @field_validator("age_bands")
    @classmethod
    def _bands(cls, bands: tuple[AgeBand, ...]) -> tuple[AgeBand, ...]:
        _shares_sum_to_one([b.share for b in bands], "age band shares")
        names = [b.name for b in bands]
        if len(set(names)) != len(names):
            raise ValueError("age band names must be unique")
        return bands


class Need(Strict):
    """A type of need: how common, how often urgent, which roles may take it."""

    share: Share = Field(description="Share of requests with this need.")
    urgent_share: Share = Field(description="Share of these requests that must be seen today.")
    roles: tuple[Identifier, ...] = Field(min_length=1, description="Roles that can take it.")
    follow_up_probability: Share = Field(
        0.0, description="Chance an attended consultation for this need asks for a follow-up."
    )
    follow_up_delay_days: tuple[int, int] = Field(
        (7, 28),
        description="A follow-up is wanted this many days later (uniform, inclusive); "
        "clinicians may book beyond the patients' booking horizon.",
    )
    signposted_share: Share = Field(
        0.0, description="Share of these requests that care navigation (active signposting) "
        "directs elsewhere before booking (ASSUMPTION per scenario).")
    signposted_to: Identifier = Field(
        "external", description="Where they go: 'external' (another service, such as a "
        "community pharmacy: no appointment here) or the name of another need, whose roles "
        "then take it.")
    routine_planned_share: Share = Field(
        0.0,
        description="Share of routine requests for a planned date rather than the soonest "
        "slot (reviews, checks); the date is drawn from demand.planned_delay_days.",
    )


    @field_validator("follow_up_delay_days")
    @classmethod
    def _fu_bounds(cls, b: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= b[0] <= b[1] <= 365:
            raise ValueError("follow_up_delay_days must be [min, max] with 1 <= min <= max <= 365")
        return b

class Demand(Strict):
    """Patient-initiated requests: volume, timing and case mix."""

    requests_per_patient_year: float = Field(
        gt=0, le=100, description="Mean requests per registered patient per year."
    )
    rate_shape: float = Field(
        1.5,
        gt=0,
        description="Gamma shape of each patient's personal rate (mean 1); yearly counts are "
        "negative binomial, variance = mean + mean^2 / shape.",
    )
    weekday_weights: dict[Weekday, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"mon": 1.3, "tue": 1.0, "wed": 0.95, "thu": 0.95, "fri": 0.9},
        description="Relative demand by weekday; days the practice is shut get none "
        "(their demand moves to open days).",
    )
    seasonal_amplitude: float = Field(
        0.1, ge=0, lt=1, description="Relative amplitude of the yearly cosine demand cycle."
    )
    seasonal_peak_day_of_year: int = Field(
        15, ge=1, le=366, description="Day of the year when demand peaks (winter)."
    )
    intraday_profile: dict[TimeOfDay, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"08:00": 3.0, "09:00": 2.0, "10:00": 1.2, "12:00": 1.0,
                                 "14:00": 0.9, "16:00": 0.7},
        min_length=1,
        description="Relative request intensity from each time until the next (or close).",
    )
    needs: dict[Identifier, Need] = Field(min_length=1)
    planned_delay_days: tuple[int, int] = Field(
        (1, 14),
        description="Planned routine requests want a slot no sooner than this many days "
        "later, drawn uniformly between the two bounds (inclusive).",
    )
    modes: dict[RequestMode, Share] = Field(
        default_factory=lambda: {"face_to_face": 0.82, "telephone": 0.14, "online": 0.04},
        description="How requests are to be handled; a housebound patient's "
        "face-to-face request becomes a home visit.",
    )

    @field_validator("needs")
    @classmethod
    def _need_shares(cls, needs: dict[str, Need]) -> dict[str, Need]:
        _shares_sum_to_one({k: v.share for k, v in needs.items()}, "need shares")
        return needs

    @field_validator("planned_delay_days")
    @classmethod
    def _delay_bounds(cls, b: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= b[0] <= b[1]:
            raise ValueError("planned_delay_days must be [min, max] with 1 <= min <= max")
        return b

    @field_validator("modes")
    @classmethod
    def _mode_shares(cls, modes: dict[str, float]) -> dict[str, float]:
        _shares_sum_to_one(modes, "mode shares")
        return modes

    @field_validator("weekday_weights")
    @classmethod
    def _some_weight(cls, w: dict[str, float]) -> dict[str, float]:
        if sum(w.values()) <= 0:
            raise ValueError("at least one weekday weight must be positive")
        return w

    @field_validator("intraday_profile")
    @classmethod
    def _some_intraday(cls, w: dict[str, float]) -> dict[str, float]:
        if sum(w.values()) <= 0:
            raise ValueError("at least one intraday weight must be positive")
        return w


class DNABand(Strict):
    """DNA probability for appointments booked up to ``max_lead_days`` ahead."""

    max_lead_days: int | None = Field(
        ge=0, description="Upper bound of the band in whole days; null for 'and longer'."
    )
    probability: Share


class DNA(Strict):
    """Did-not-attend: a probability that rises with lead time, times a personal propensity."""

    by_lead_days: tuple[DNABand, ...] = Field(min_length=1)

    @field_validator("by_lead_days")
    @classmethod
    def _ordered(cls, bands: tuple[DNABand, ...]) -> tuple[DNABand, ...]:
        bounds = [b.max_lead_days for b in bands]
        if bounds[-1] is not None:
            raise ValueError("the last band must have max_lead_days: null (and longer)")
        finite = [b for b in bounds[:-1] if b is not None]
        if len(finite) != len(bounds) - 1 or finite != sorted(set(finite)):
            raise ValueError("max_lead_days must increase strictly, with null only last")
        return bands


class Role(Strict):
    """A clinical role. Roles are data: add any role a practice has."""

    label: str
    modes: tuple[Mode, ...] = Field(min_length=1, description="Appointment modes it does.")
    slot_minutes: int = Field(ge=1, le=240)
    slots_per_session: int = Field(ge=1, le=48)
    on_the_day_share: Share = Field(
        description="Share of each session's slots held for booking on the day itself."
    )
    annual_leave_weeks: float = Field(6.0, ge=0, le=20, description="Weeks of leave a year.")
    holds_list: bool = Field(
        False, description="Clinicians in this role hold a registered list (the usual GP)."
    )
    online_slots_per_session: int = Field(
        0, ge=0, le=48, description="Slots of each session set aside for online consultations, "
        "answered asynchronously; 0: online requests take ordinary slots.")
    online_fraction: float = Field(
        0.5, gt=0, le=1, description="Share of a slot's time one online consultation takes "
        "(ASSUMPTION), so each set-aside slot answers 1/online_fraction of them.")

    @model_validator(mode="after")
    def _online(self) -> Role:
        if self.online_slots_per_session > self.slots_per_session:
            raise ValueError(f"online_slots_per_session ({self.online_slots_per_session}) is more "
                             f"than slots_per_session ({self.slots_per_session})")
        if self.online_slots_per_session and "online" not in self.modes:
            raise ValueError("online_slots_per_session needs 'online' in modes")
        return self

    @model_validator(mode="after")
    def _fits_session(self) -> Role:
        if self.slot_minutes * self.slots_per_session > 6 * 60:
            raise ValueError(
                f"{self.slots_per_session} slots of {self.slot_minutes} minutes do not fit "
                "in a session of at most 6 hours"
            )
        return self


class Clinician(Strict):
    """One clinician and the sessions they work each week."""

    id: Identifier
    role: Identifier
    sessions: tuple[str, ...] = Field(
        min_length=1, description="Weekly sessions as weekday_session, e.g. 'mon_am'."
    )
    annual_leave_weeks: float | None = Field(
        None, ge=0, le=20, description="Overrides the role's leave."
    )
    joins: CalendarDate | None = Field(None, description="First working day, if after the "
                                       "start.")
    leaves: CalendarDate | None = Field(
        None, description="Day the clinician leaves (works until the day before); their list "
        "passes to the remaining list-holders, their own team's first."
    )
    max_list_size: int | None = Field(
        None, ge=0, description="Workload capacity: the most patients on this clinician's list."
    )
    extended_access: bool = Field(
        False, description="An extended-access hub clinician: sessions may fall outside the "
        "practice's opening hours; never holds a list; the hub covers its own leave and "
        "sickness (ASSUMPTION), so none is drawn.")
    slots_per_session: int | None = Field(
        None, ge=1, le=200, description="Overrides the role's slots per session (a practice's "
        "share of a hub session).")
    first_slot: int = Field(
        0, ge=0, le=200, description="This clinician's slots start this many slots into each "
        "session (practices sharing a hub session take consecutive slots).")

    @model_validator(mode="after")
    def _dates(self) -> Clinician:
        if self.joins and self.leaves and self.leaves <= self.joins:
            raise ValueError(f"leaves ({self.leaves}) must be after joins ({self.joins})")
        return self


MonthDay = Annotated[
    str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
               description="A day of the year as MM-DD.")]


class Absence(Strict):
    """Annual leave and sickness.

    Each clinician's leave is their yearly allowance prorated to the days
    simulated, in blocks spread through the run (one block in each equal
    stretch of it, so leave neither piles up at either end nor bunches), with
    weeks in ``holiday_periods`` ``holiday_leave_factor`` times as likely to
    be chosen within each stretch.
    """

    leave_block_weeks: int = Field(
        1, ge=1, le=4, description="Annual leave is taken in blocks of this many weeks."
    )
    holiday_leave_factor: float = Field(
        1.0, ge=1, le=10, description="How much more likely leave is in a week of the "
        "holiday_periods than in another week of the same stretch (1: no peaks).")
    holiday_periods: tuple[tuple[MonthDay, MonthDay], ...] = Field(
        (("12-20", "01-03"), ("02-12", "02-20"), ("03-29", "04-14"), ("05-24", "06-01"),
         ("07-22", "09-02"), ("10-24", "11-01")),
        description="School holidays as [first, last] MM-DD (England, approximately: "
        "Christmas, February half term, Easter, May half term, summer, October half term).")
    sickness_rate: float = Field(
        0.03, ge=0, le=0.5, description="Share of working days lost to sickness."
    )
    sickness_mean_spell_days: float = Field(
        3.0, ge=1, le=60, description="Mean length of a sickness spell in calendar days."
    )


class CohortRule(Strict):
    """A cohort search: a patient is in the cohort if every rule given holds."""

    age_bands: tuple[str, ...] | None = Field(None, description="Any of these age bands.")
    min_ltc: int | None = Field(None, ge=0, description="At least this many long-term conditions.")
    housebound: bool | None = None
    min_rate_per_year: float | None = Field(
        None, ge=0, description="Expected requests a year at least this (frequent attenders)."
    )

    @model_validator(mode="after")
    def _some_rule(self) -> CohortRule:
        if all(v is None for v in self.model_dump().values()):
            raise ValueError("a cohort needs at least one rule")
        return self


class Team(Strict):
    """A micro-team: a named lead and the clinicians who share the care of its patients."""

    id: Identifier
    lead: Identifier = Field(description="Clinician id of the named lead (clinical champion).")
    members: tuple[Identifier, ...] = Field((), description="Other clinicians in the team.")


class CarePlanReview(Strict):
    """Planned care-plan reviews for a cohort (coordinated care, as London's specification).

    Each member of the cohort is reviewed every ``every_days`` by their named
    clinician; the first review falls at a random point of the first
    interval. The practice books each review ``booked_days_ahead`` before it is
    due, with the named clinician if they have a slot within
    ``follow_ups.same_clinician_window_days`` of the due day, else with anyone
    who can take the need.
    """

    id: Identifier | None = Field(None, description="A name (lists of reviews with ids "
                                  "merge by id in extends:).")
    cohort: Identifier = Field(description="The cohort (a name under cohorts:) reviewed.")
    every_days: int = Field(ge=7, le=3650, description="Days between reviews.")
    need: Identifier = Field(description="The need type of a review (says which roles may do it).")
    mode: Literal["face_to_face", "telephone", "online"] = Field(
        "face_to_face", description="How the review is done; housebound patients get a home visit "
        "instead of face-to-face.")
    named_clinician: Literal["usual_gp", "team_lead"] = Field(
        "usual_gp", description="Who the review is with: the usual GP, or the lead of their "
        "usual GP's micro-team.")
    booked_days_ahead: int = Field(14, ge=0, description="Days before it is due that a review "
                                   "is booked.")


class PlannedCare(Strict):
    """A stream of planned care: appointments booked ahead for a due date, not asked for today.

    Long-term-condition and medication reviews, cervical screening,
    immunisations, blood tests: each patient in scope has
    ``rate_per_year + rate_per_ltc_year x conditions`` of them a year
    (Poisson), due on days spread evenly over the run; each is booked
    ``lead_days`` before it is due (uniform, on an open day), from the due day
    on, with the usual GP if ``with_usual_gp`` (when they are free within
    ``follow_ups.same_clinician_window_days``), else with anyone who can take
    the need. Requests have urgency ``planned``; they are not routine waits.
    """

    id: Identifier = Field(description="A name for the stream (lists merge by it).")
    need: Identifier = Field(description="The need type (says which roles may do it).")
    rate_per_year: float = Field(0.0, ge=0, le=50, description="Appointments a year per "
                                 "patient in scope.")
    rate_per_ltc_year: float = Field(0.0, ge=0, le=20, description="Extra appointments a year "
                                     "per long-term condition.")
    cohort: Identifier | None = Field(None, description="Only patients of this cohort (a name "
                                      "under cohorts:); null: everyone.")
    lead_days: tuple[int, int] = Field(
        (7, 42), description="Booked this many days before it is due: [min, max], uniform.")
    mode: Literal["face_to_face", "telephone", "online"] = Field(
        "face_to_face", description="How it is held; housebound patients get a home visit "
        "instead of face-to-face.")
    with_usual_gp: bool = Field(False, description="Booked with the usual GP when they are "
                                "free near the due day (else with anyone).")

    @field_validator("lead_days")
    @classmethod
    def _lead(cls, b: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= b[0] <= b[1] <= 365:
            raise ValueError("lead_days must be [min, max] with 0 <= min <= max <= 365")
        return b

    @model_validator(mode="after")
    def _some_rate(self) -> PlannedCare:
        if self.rate_per_year <= 0 and self.rate_per_ltc_year <= 0:
            raise ValueError("give rate_per_year or rate_per_ltc_year")
        return self


class TeamFormation(Strict):
    """Micro-teams formed from the workforce, when ``teams`` is not given.

    List-holders in the order listed are grouped ``gps_per_team`` at a time;
    the one working the most sessions (the first listed on a tie) leads. The
    other clinicians are shared out role by role in the order listed, one of
    each role per team, going round again when a role has fewer clinicians
    than there are teams (they then serve several teams).
    """

    gps_per_team: int = Field(2, ge=1, le=20, description="List-holders per team.")


class AccessChannel(Strict):
    """The access channel of the A&E proxy: unmet need sends some patients to A&E.

    Each request that fails counts once, at the first failure: an urgent
    request not seen the day it was made; a routine request the patient gave
    up on; a routine request booked more than ``routine_tolerance_days`` after
    the day wanted.
    """

    urgent_not_seen_today: float = Field(
        0.20, ge=0, le=1, description="Chance an urgent request not seen that day ends in A&E "
        "(ASSUMPTION; calibrated with the others so that about a quarter of attendances follow "
        "a failure to get an appointment, EVIDENCE 7.2: Cowling 2014, 26.5%).")
    gave_up: float = Field(
        0.12, ge=0, le=1, description="Chance a patient who gave up goes to A&E (EVIDENCE 7.3: "
        "GP Patient Survey, 8% in 2011 to 12.2% in 2023).")
    routine_beyond_tolerance: float = Field(
        0.03, ge=0, le=1, description="Chance a routine request booked later than the patient "
        "tolerates ends in A&E while waiting (ASSUMPTION).")
    routine_tolerance_days: float = Field(
        14.0, ge=0, description="Longest wait from the day wanted a routine patient tolerates "
        "(ASSUMPTION).")
    routine_tolerance_days_by_need: dict[Identifier, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="The same by need (missing needs: "
        "routine_tolerance_days): a patient booked later than this has not got an appointment "
        "when they needed one, as the GP Patient Survey counts it (ASSUMPTION).")


class ContinuityChannel(Strict):
    """The continuity channel: background emergency rates scaled by recent continuity.

    ``model: upc`` scales each patient's rates by
    ``rate_ratio_per_0_2_upc ** ((UPC - reference_upc) / 0.2)``, UPC over their
    GP consultations (list-holding roles) in the last ``lookback_days``; with
    fewer than ``min_visits`` the ratio is 1. ``model: duration`` scales them
    by the years with the current usual GP (Sandvik 2022), interpolated
    linearly between the points given, flat beyond them.
    """

    model: Literal["upc", "duration"] = "upc"
    rate_ratio_per_0_2_upc: float = Field(
        0.94, gt=0, description="Rate ratio per 0.2 more UPC (EVIDENCE 6.1: Barker 2017, about 6% "
        "fewer admissions per 0.2).")
    reference_upc: float = Field(
        0.5, ge=0, le=1, description="UPC at which the background rates apply (ASSUMPTION).")
    lookback_days: int = Field(365, ge=28, description="Window of 'recent' continuity, days.")
    min_visits: int = Field(2, ge=1, description="GP consultations in the window needed for UPC.")
    ae_ratio_by_years: tuple[tuple[float, float], ...] = Field(
        ((1.0, 1.0), (2.5, 0.87), (15.0, 0.70)), min_length=1,
        description="[years with the usual GP, rate ratio] for A&E (EVIDENCE 6.2: Sandvik 2022, "
        "out-of-hours use OR 0.87 at 2-3 years to 0.70 over 15).")
    admission_ratio_by_years: tuple[tuple[float, float], ...] = Field(
        ((1.0, 1.0), (2.5, 0.88), (15.0, 0.72)), min_length=1,
        description="[years with the usual GP, rate ratio] for admissions (EVIDENCE 6.2: Sandvik "
        "2022, 0.88 to 0.72).")
    initial_years_mean: float = Field(
        5.0, gt=0, description="Mean years patients have already been with their usual GP at "
        "the start (exponential; ASSUMPTION). A list change resets it to 0.")


class Emergency(Strict):
    """A&E attendances and emergency admissions: proxies for comparing policies, not forecasts.

    Background rates (the continuity channel) are shared out over the list by
    age band and long-term conditions and normalised so that the list's mean
    at the reference continuity is ``ae_per_1000`` and ``admissions_per_1000``.
    """

    ae_per_1000: float = Field(
        230.0, ge=0, description="Background A&E attendances per 1,000 patients a year at the "
        "reference continuity (EVIDENCE 7.5 and 7.2: 300-325 in all, of which about a quarter "
        "follow a "
        "failure to get an appointment; the access channel adds those).")
    admissions_per_1000: float = Field(
        95.0, ge=0, description="Emergency admissions per 1,000 a year at the reference "
        "continuity (EVIDENCE 7.5: 89-103).")
    ae_ratio_by_age_band: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="Relative A&E rate by age band (missing: 1).")
    admission_ratio_by_age_band: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="Relative admission rate by age band (missing: 1).")
    ae_ratio_per_ltc: float = Field(
        1.15, gt=0, description="A&E rate multiplier per long-term condition (ASSUMPTION).")
    admission_ratio_per_ltc: float = Field(
        1.3, gt=0, description="Admission rate multiplier per long-term condition (ASSUMPTION).")
    access: AccessChannel = AccessChannel()
    continuity: ContinuityChannel = ContinuityChannel()


class RelationshipDepth(Strict):
    """Probability of a deep relationship by consultations with the same clinician.

    A logistic curve in log(consultations) through two points (docs/evidence.md 8.1: 30% at
    5, 80% at 20); zero consultations give 0.
    """

    points: tuple[tuple[float, float], tuple[float, float]] = Field(
        ((5.0, 0.30), (20.0, 0.80)),
        description="Two [consultations, probability] points the curve passes through.")


class FollowUps(Strict):
    """Clinician-requested follow-ups (the probabilities and delays are per need)."""

    known_clinician_factor: float = Field(
        0.8, ge=0, le=1,
        description="Multiplier on the follow-up probability when the clinician already "
        "knows the patient (continuity makes consultations more efficient; ASSUMPTION).",
    )
    known_after_visits: int = Field(
        2, ge=1, description="Earlier consultations with the clinician that make them 'known'."
    )
    same_clinician_window_days: int = Field(
        7, ge=0,
        description="A follow-up is booked with the same clinician if they have a slot "
        "within this many days of the wanted day; otherwise with anyone.",
    )


class Choice(Strict):
    """How patients ask and choose among the slots offered.

    A patient who values continuity (``population.values_continuity_share``:
    they have a preferred GP) asks for their usual GP under every booking
    policy, for a routine request their GP can take: the desk then offers
    their GP's earliest slot beside what the policy offers, and they take it
    if it is no more than ``extra_days_by_need`` later than the soonest offer.
    (Urgent requests go to whoever the policy offers today.) The policy
    decides what the receptionist offers everyone else unprompted; a patient
    without a preference takes such an offer only if it is at most
    ``extra_days_without_preference`` later.
    """

    ask_for_own_gp: bool = Field(
        True, description="Patients who value continuity ask for their usual GP whatever the "
        "practice's policy (false: they take what the policy offers).")
    extra_days_by_need: dict[Identifier, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Extra days a patient who values continuity will wait to see their own "
        "clinician, by need (missing needs: 0).",
    )
    extra_days_without_preference: float = Field(
        0.0, ge=0, description="Extra days a patient without a preference accepts when the "
        "receptionist offers their usual GP or team unprompted (0: only if as soon as any).")
    decline_beyond_days: float | None = Field(
        None, ge=0,
        description="A routine patient declines every offer later than this many days "
        "after asking, and tries again on the next working day; null: never declines.",
    )


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
        56, ge=0, le=3650, description="Days simulated before outputs are recorded."
    )
    duration_days: int = Field(
        364, ge=1, le=3650, description="Days recorded after the warm-up."
    )
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
