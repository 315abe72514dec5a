"""The outcome models' settings: A&E proxies and relationship depth."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
)

from .base import (
    Identifier,
    Strict,
)


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
