"""The practice and its workforce: opening, sessions, roles, clinicians, absence, teams."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from .base import (
    CalendarDate,
    Identifier,
    Mode,
    Share,
    Strict,
    TimeOfDay,
    Weekday,
    hours,
)


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


class Triage(Strict):
    """A clinician assesses requests by telephone before any is booked (triage)."""

    requests: Literal["none", "urgent", "all"] = Field(
        "none", description="Which new requests a GP telephones before booking: 'none' "
        "(reception books as asked), 'urgent' (urgent same-day requests) or 'all' (total "
        "triage: urgent and routine requests; follow-ups, reviews and planned care are booked "
        "by clinicians already and are not triaged).")
    minutes_per_call: float = Field(
        4.0, gt=0, le=60, description="GP time a triage call takes, minutes (ESTEEM trial, "
        "GP-led triage: mean 4.0, SD 2.8; Holt et al. 2016; docs/evidence.md 9.6).")
    resolved_share: Share = Field(
        0.34, description="Share of triaged requests the clinician resolves on the telephone "
        "(advice, a prescription, a referral), with no appointment. ASSUMPTION, range 0.2 to "
        "0.5: about a third, derived from the time ESTEEM's GP-triage patients spent with a "
        "clinician on the day (docs/evidence.md 9.6).")
    headroom: float = Field(
        0.2, ge=0, le=2, description="Triage time planned beyond each day's expected "
        "triaged demand (its weekday and season; 0.2: 20% more). ASSUMPTION, range 0 to 0.5. "
        "The time is taken from "
        "the list-holding GPs' sessions that day, earliest slots first (a triage session "
        "at the start of the day), held and bookable alike. When a day's triage calls are "
        "used up, a caller is asked to call again at the next opening (an attempt that "
        "found nothing).")


class UrgentCare(Strict):
    """How the practice sees urgent (same-day) requests."""

    model: Literal["on_the_day_team", "duty_doctor"] = Field(
        "on_the_day_team", description="'on_the_day_team': every clinician holds their role's "
        "on_the_day_share of each session for the day, and an urgent request takes the "
        "earliest held slot with anyone who can see it. 'duty_doctor': each open day, a rota "
        "puts duty_doctors_per_day list-holding GPs on duty; all of a duty GP's slots that day "
        "are held for the day (the other list-holders of the role hold less, so the role's "
        "capacity held for the day stays what on_the_day_share says), and an urgent request "
        "goes to the duty GP's earliest slot today, else to anyone's. Practices run both "
        "(docs/evidence.md 9.5); which one is the practice's choice.")
    duty_doctors_per_day: int = Field(
        1, ge=1, le=10, description="GPs on duty each open day under the duty-doctor model "
        "(fewer on a day fewer list-holders work); they take turns, each in proportion to "
        "the days they work.")
    triage: Triage = Field(
        Triage(), description="Whether a clinician assesses requests by telephone before "
        "they are booked: none (the default), urgent ones, or all new ones (total triage).")


class Practice(Strict):
    """The practice: opening hours, sessions and booking rules."""

    name: str = Field("Practice", description="The practice's name.")
    opening: Opening = Opening()
    session_starts: dict[Identifier, TimeOfDay] = Field(
        default_factory=lambda: {"am": "08:30", "pm": "14:00"},
        min_length=1,
        description="Start time of each named session; clinicians work e.g. 'mon_am'.",
    )
    bank_holidays: Literal["england_and_wales", "scotland", "northern_ireland", "none"] = Field(
        "england_and_wales", description="Whose bank holidays the practice shuts on, for every "
        "year of the run, by rule (gov.uk/bank-holidays, one-off days included); 'none' to "
        "list them by hand in closed_dates.")
    closed_dates: tuple[CalendarDate, ...] = Field(
        (), description="Other dates the practice is shut although a weekday (beside the bank "
        "holidays).")
    open_dates: tuple[CalendarDate, ...] = Field(
        (), description="Bank holidays on which the practice opens all the same.")
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
    urgent_care: UrgentCare = Field(
        UrgentCare(), description="How urgent same-day requests are seen: an on-the-day team "
        "(the default) or a duty doctor rota.")
    max_attempts: int = Field(
        3,
        ge=1,
        le=20,
        description="Attempts (the first request plus retries on later working days) "
        "before a patient who finds no slot gives up.",
    )


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


class Team(Strict):
    """A micro-team: a named lead and the clinicians who share the care of its patients."""

    id: Identifier
    lead: Identifier = Field(description="Clinician id of the named lead (clinical champion).")
    members: tuple[Identifier, ...] = Field((), description="Other clinicians in the team.")


class TeamFormation(Strict):
    """Micro-teams formed from the workforce, when ``teams`` is not given.

    List-holders in the order listed are grouped ``gps_per_team`` at a time;
    the one working the most sessions (the first listed on a tie) leads. The
    other clinicians are shared out role by role in the order listed, one of
    each role per team, going round again when a role has fewer clinicians
    than there are teams (they then serve several teams).
    """

    gps_per_team: int = Field(2, ge=1, le=20, description="List-holders per team.")
