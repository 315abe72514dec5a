"""How a simulated practice compares with published figures (docs/evidence.md section 10).

:func:`validation_table` puts each published figure beside the model's value
(mean and 95% interval over replications) and judges the interval, not the
mean alone, against the stated tolerance. Every comparison writes it as
``validation.csv`` and shows it in the report; the slow tests check the
default practice against the same table, so what users see and what the tests
check cannot differ.

Each row is one of two kinds. *Independent* rows compare the model with a
figure no parameter was set from: they test the model. *Input-reproduced*
rows compare it with a figure an input was taken or tuned from (the DNA
bands, the demand rate, the background A&E rate, ...): they show the model
is wired as intended, and would pass for a wrong model that was tuned the
same way. Each target says which, and why.

The published figures describe typical English practices, most of which book
much as access-first does; a continuity policy is expected to move the
continuity measures away from them (that is its point), so those rows are
read against the baseline.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .stats import mean_ci


@dataclasses.dataclass(frozen=True)
class Target:
    """A published figure and the range the model's value should fall in.

    Attributes:
        measure: the summary column compared (or ``ae_access_share``, derived).
        label: what it is, in words.
        published: the published figure, in words.
        low, high: the tolerance range (the figure with its tolerance).
        evidence: the row of docs/evidence.md.
        percent: shown as a percentage.
        continuity: a continuity measure, which continuity policies are meant to move.
        independent: no parameter was set from this figure (an independent check);
            False: an input was taken or tuned from it (the row reproduces an input).
        basis: for an independent row, why it is independent and where its
            tolerance comes from; otherwise which input it reproduces.
    """

    measure: str
    label: str
    published: str
    low: float
    high: float
    evidence: str
    percent: bool = False
    continuity: bool = False
    independent: bool = False
    basis: str = ""


#: The kinds of row, as written in ``validation.csv``.
INDEPENDENT, INPUT = "independent", "input reproduced"


_BANDS = ("routine_planned_share, follow-ups and planned care were set so that the days from "
          "booking to appointment follow the national bands")
_DNA_BANDS = "this band's probability is an input (dna.by_lead_days)"

TARGETS = (
    Target("consultations_per_patient_year", "Consultations per patient a year (all roles)",
           "5.2 (4.67-5.16, 2007-14)", 5.2 * 0.9, 5.2 * 1.1, "2.1",
           basis="demand.requests_per_patient_year was set with planned care and follow-ups "
                 "so that consultations come to about 5.2"),
    Target("same_day_share", "Appointments on the day they were booked",
           "40-45%", 0.35, 0.50, "2.4", percent=True,
           basis="the need mix (urgent shares) and the capacity held for the day were chosen "
                 "with this share in view"),
    Target("lead_next_day_share", "... the next day", "7%", 0.02, 0.12, "2.3", percent=True,
           basis=_BANDS),
    Target("lead_2_7_days_share", "... 2 to 7 days later", "20%", 0.15, 0.25, "2.3",
           percent=True, basis=_BANDS),
    Target("lead_8_14_days_share", "... 8 to 14 days later", "14%", 0.09, 0.19, "2.3",
           percent=True, basis=_BANDS),
    Target("lead_15_21_days_share", "... 15 to 21 days later", "8%", 0.03, 0.13, "2.3",
           percent=True, basis=_BANDS),
    Target("lead_22_28_days_share", "... 22 to 28 days later", "5%", 0.0, 0.10, "2.3",
           percent=True, basis=_BANDS),
    Target("lead_over_28_days_share", "... more than 28 days later", "5%", 0.0, 0.10, "2.3",
           percent=True, basis=_BANDS),
    Target("dna_rate", "Appointments missed (DNA)", "5.3%", 0.043, 0.063, "2.5", percent=True,
           basis="the DNA probabilities by lead time are the published bands (dna.by_lead_days)"),
    Target("dna_rate_same_day", "DNA, booked the same day", "1.9%", 0.009, 0.029, "2.5",
           percent=True, basis=_DNA_BANDS),
    Target("dna_rate_next_day", "DNA, booked the day before", "5%", 0.04, 0.06, "2.5",
           percent=True, basis=_DNA_BANDS),
    Target("dna_rate_2_7_days", "DNA, booked 2-7 days ahead", "6.8%", 0.058, 0.078, "2.5",
           percent=True, basis=_DNA_BANDS),
    Target("dna_rate_over_7_days", "DNA, booked more than a week ahead", "8.2-8.9%", 0.072,
           0.099, "2.5", percent=True, basis=_DNA_BANDS),
    Target("upc_mean", "Continuity: mean UPC, patients with 3+ GP consultations",
           "0.45-0.60 (0.52 across 126 practices)", 0.45, 0.60, "5.3", continuity=True,
           independent=True,
           basis="no parameter is set from UPC: it follows from who asks for whom, capacity and "
                 "the booking rule. Tolerance: the middle of the 126 practices around their mean "
                 "0.52 (the source gives the mean and the range 0.32-0.93, not quartiles; "
                 "ASSUMPTION)"),
    Target("preferred_gp_share", "Patients with a preferred GP", "46% (2017)", 0.36, 0.56, "4.1",
           percent=True,
           basis="population.values_continuity_share is this share (the input 0.50)"),
    Target("preferred_gp_usually_seen", "... of them, those who usually see that GP",
           "56% (2017)", 0.456, 0.656, "4.1", percent=True, continuity=True, independent=True,
           basis="whether patients see the GP they prefer follows from capacity, the booking "
                 "rule and their willingness to wait, none set from it. Tolerance: 10 points, "
                 "the national figure's own fall from 2012 to 2017 (66.4% to 55.6%)"),
    Target("ae_per_1000", "A&E attendances per 1,000 a year (proxy)", "300-325",
           300 * 0.9, 325 * 1.1, "7.5",
           basis="emergency.ae_per_1000 sets a background of 230 from this figure; the access "
                 "channel adds the rest"),
    Target("ae_access_share", "... of them after failing to get an appointment",
           "26.5% (17.5-37.2%)", 0.175, 0.372, "7.2", percent=True,
           basis="emergency.access.urgent_not_seen_today was calibrated to this share"),
    Target("admissions_per_1000", "Emergency admissions per 1,000 a year (proxy)", "89-103",
           89 * 0.9, 103 * 1.1, "7.5",
           basis="emergency.admissions_per_1000 is set from this figure (95)"),
)

COLUMNS = ["scenario", "measure", "kind", "label", "published", "low", "high", "evidence",
           "model_mean", "model_low", "model_high", "n", "verdict", "within", "basis"]

#: Verdicts: the whole 95% interval inside the tolerance, wholly outside it, or across its edge.
WITHIN, OUTSIDE, ACROSS = "within", "outside", "interval crosses the edge"


def _values(runs: pd.DataFrame, measure: str) -> np.ndarray:
    if measure == "ae_access_share":
        return (runs["ae_access_per_1000"] / runs["ae_per_1000"]).to_numpy(dtype=float)
    if measure not in runs.columns:
        return np.full(len(runs), np.nan)
    return runs[measure].to_numpy(dtype=float)


def verdict(low: float, high: float, model_low: float, model_high: float) -> str:
    """Judge the model's 95% interval ``[model_low, model_high]`` against ``[low, high]``."""
    if model_low >= low and model_high <= high:
        return WITHIN
    if model_high < low or model_low > high:
        return OUTSIDE
    return ACROSS


def validation_table(runs: pd.DataFrame, scenarios: list[str] | None = None) -> pd.DataFrame:
    """Each published figure beside each scenario's mean and 95% interval over replications.

    Args:
        runs: one row per run (``scenario``, ``replication`` and the summary columns).
        scenarios: which scenarios, in order (default: all, in the order they appear).

    ``kind`` says whether the row is an independent check or reproduces an
    input (and ``basis`` why); ``verdict`` judges the whole interval (see
    :func:`verdict`) and ``within`` is True only when the interval lies inside
    the tolerance. NaN measures (not computed for this run) are left out;
    independent rows come first.
    """
    order = scenarios or list(dict.fromkeys(runs["scenario"]))
    targets = sorted(TARGETS, key=lambda t: not t.independent)
    rows = []
    for label in order:
        mine = runs[runs["scenario"] == label]
        for t in targets:
            values = _values(mine, t.measure)
            values = values[~np.isnan(values)]
            if values.size == 0:
                continue
            mean, low, high, n = mean_ci(values)
            lo, hi = (mean, mean) if n < 2 else (low, high)
            judged = verdict(t.low, t.high, lo, hi)
            rows.append({"scenario": label, "measure": t.measure,
                         "kind": INDEPENDENT if t.independent else INPUT, "label": t.label,
                         "published": t.published, "low": t.low, "high": t.high,
                         "evidence": t.evidence, "model_mean": mean, "model_low": low,
                         "model_high": high, "n": n, "verdict": judged,
                         "within": judged == WITHIN, "basis": t.basis})
    return pd.DataFrame(rows, columns=COLUMNS)
