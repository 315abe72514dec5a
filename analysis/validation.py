"""How a simulated practice compares with published figures (docs/evidence.md section 10).

:func:`validation_table` puts each published figure beside the model's value
(mean and 95% interval over replications) and says whether the mean is
within the stated tolerance. Every comparison writes it as
``validation.csv`` and shows it in the report; the slow tests check the
default practice against the same table, so what users see and what the tests
check cannot differ.

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
    """

    measure: str
    label: str
    published: str
    low: float
    high: float
    evidence: str
    percent: bool = False
    continuity: bool = False


TARGETS = (
    Target("consultations_per_patient_year", "Consultations per patient a year (all roles)",
           "5.2 (4.67-5.16, 2007-14)", 5.2 * 0.9, 5.2 * 1.1, "2.1"),
    Target("same_day_share", "Appointments on the day they were booked",
           "40-45%", 0.35, 0.50, "2.4", percent=True),
    Target("lead_next_day_share", "... the next day", "7%", 0.02, 0.12, "2.3", percent=True),
    Target("lead_2_7_days_share", "... 2 to 7 days later", "20%", 0.15, 0.25, "2.3",
           percent=True),
    Target("lead_8_14_days_share", "... 8 to 14 days later", "14%", 0.09, 0.19, "2.3",
           percent=True),
    Target("lead_15_21_days_share", "... 15 to 21 days later", "8%", 0.03, 0.13, "2.3",
           percent=True),
    Target("lead_22_28_days_share", "... 22 to 28 days later", "5%", 0.0, 0.10, "2.3",
           percent=True),
    Target("lead_over_28_days_share", "... more than 28 days later", "5%", 0.0, 0.10, "2.3",
           percent=True),
    Target("dna_rate", "Appointments missed (DNA)", "5.3%", 0.043, 0.063, "2.5", percent=True),
    Target("dna_rate_same_day", "DNA, booked the same day", "1.9%", 0.009, 0.029, "2.5",
           percent=True),
    Target("dna_rate_next_day", "DNA, booked the day before", "5%", 0.04, 0.06, "2.5",
           percent=True),
    Target("dna_rate_2_7_days", "DNA, booked 2-7 days ahead", "6.8%", 0.058, 0.078, "2.5",
           percent=True),
    Target("dna_rate_over_7_days", "DNA, booked more than a week ahead", "8.2-8.9%", 0.072,
           0.099, "2.5", percent=True),
    Target("upc_mean", "Continuity: mean UPC, patients with 3+ GP consultations",
           "0.45-0.60 (0.52 across 126 practices)", 0.45, 0.60, "5.3", continuity=True),
    Target("preferred_gp_share", "Patients with a preferred GP", "46% (2017)", 0.36, 0.56, "4.1",
           percent=True),
    Target("preferred_gp_usually_seen", "... of them, those who usually see that GP",
           "56% (2017)", 0.456, 0.656, "4.1", percent=True, continuity=True),
    Target("ae_per_1000", "A&E attendances per 1,000 a year (proxy)", "300-325",
           300 * 0.9, 325 * 1.1, "7.5"),
    Target("ae_access_share", "... of them after failing to get an appointment",
           "26.5% (17.5-37.2%)", 0.175, 0.372, "7.2", percent=True),
    Target("admissions_per_1000", "Emergency admissions per 1,000 a year (proxy)", "89-103",
           89 * 0.9, 103 * 1.1, "7.5"),
)

COLUMNS = ["scenario", "measure", "label", "published", "low", "high", "evidence", "model_mean",
           "model_low", "model_high", "n", "within"]


def _values(runs: pd.DataFrame, measure: str) -> np.ndarray:
    if measure == "ae_access_share":
        return (runs["ae_access_per_1000"] / runs["ae_per_1000"]).to_numpy(dtype=float)
    if measure not in runs.columns:
        return np.full(len(runs), np.nan)
    return runs[measure].to_numpy(dtype=float)


def validation_table(runs: pd.DataFrame, scenarios: list[str] | None = None) -> pd.DataFrame:
    """Each published figure beside each scenario's mean and 95% interval over replications.

    Args:
        runs: one row per run (``scenario``, ``replication`` and the summary columns).
        scenarios: which scenarios, in order (default: all, in the order they appear).

    ``within`` is True when the mean is inside ``[low, high]``; NaN measures
    (not computed for this run) are left out.
    """
    order = scenarios or list(dict.fromkeys(runs["scenario"]))
    rows = []
    for label in order:
        mine = runs[runs["scenario"] == label]
        for t in TARGETS:
            values = _values(mine, t.measure)
            values = values[~np.isnan(values)]
            if values.size == 0:
                continue
            mean, low, high, n = mean_ci(values)
            rows.append({"scenario": label, "measure": t.measure, "label": t.label,
                         "published": t.published, "low": t.low, "high": t.high,
                         "evidence": t.evidence, "model_mean": mean, "model_low": low,
                         "model_high": high, "n": n,
                         "within": bool(t.low <= mean <= t.high)})
    return pd.DataFrame(rows, columns=COLUMNS)
