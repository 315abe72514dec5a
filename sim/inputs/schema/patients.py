"""The list and its demand: patients, needs, DNAs, cohorts, planned care, choice."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from .base import (
    Identifier,
    RequestMode,
    Share,
    Strict,
    TimeOfDay,
    Weekday,
    _shares_sum_to_one,
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
        "later, drawn uniformly between the two bounds (inclusive); a patient whose day is "
        "beyond the booking horizon calls again once it is within reach.",
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
    if it is no more than their own extra days later than the soonest offer
    (``extra_days_by_need`` on average, spread by ``extra_days_shape``).
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
        "clinician, by need, on average over patients (missing needs: 0).",
    )
    extra_days_shape: float | None = Field(
        1.0, gt=0, le=100,
        description="How much patients differ in those extra days: each patient who values "
        "continuity draws their own for each need from a gamma distribution with the need's "
        "mean and this shape (1: exponential, as spread as a mean allows; larger: closer to the "
        "mean); null: every patient accepts exactly the mean. ASSUMPTION: 1, range 0.5 to 4 "
        "(the published means come from choice experiments that report wide differences "
        "between patients but no distribution).")
    extra_days_without_preference: float = Field(
        0.0, ge=0, description="Extra days a patient without a preference accepts when the "
        "receptionist offers their usual GP or team unprompted (0: only if as soon as any).")
    decline_beyond_days: float | None = Field(
        None, ge=0,
        description="A routine patient declines every offer later than this many days "
        "after asking, and tries again on the next working day; null: never declines.",
    )
