"""Relationship depth: consultations with the same clinician, mapped to a deep relationship.

The curve is logistic in log(n): ``p(n) = 1 / (1 + exp(-(a + b log n)))``, fitted
exactly through two points; the default passes through 30% at 5 and 80% at 20
consultations (docs/evidence.md 8.1), which gives about 48% at 8 (8.2).
No consultations give 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.ordering import count_pairs, numbered

from .continuity import same_ids

DEFAULT_POINTS = ((5.0, 0.30), (20.0, 0.80))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def depth_curve_coefficients(points=DEFAULT_POINTS) -> tuple[float, float]:
    """Intercept ``a`` and slope ``b`` of the curve through the two points."""
    (n1, p1), (n2, p2) = points
    b = (_logit(p2) - _logit(p1)) / (np.log(n2) - np.log(n1))
    a = _logit(p1) - b * np.log(n1)
    return float(a), float(b)


def deep_probability(n, points=DEFAULT_POINTS) -> np.ndarray:
    """Probability of a deep relationship after ``n`` consultations (array-like)."""
    a, b = depth_curve_coefficients(points)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore"):
        p = 1.0 / (1.0 + np.exp(-(a + b * np.log(n))))
    return np.where(n > 0, p, 0.0)


def deep_relationship_by_patient(visits: pd.DataFrame, points=DEFAULT_POINTS,
                                 patient: str = "patient_id",
                                 clinician: str = "clinician_id",
                                 prior: pd.DataFrame | None = None) -> pd.Series:
    """Each patient's probability of a deep relationship with at least one clinician.

    ``1 - prod over clinicians (1 - p(n))``, with ``n`` the patient's
    consultations with that clinician in ``visits`` (plus, with ``prior``, the
    ``consultations`` it gives for the pair: a history before the visits);
    patients without any are not in the result (their probability is 0).
    """
    if len(visits) == 0 and (prior is None or len(prior) == 0):
        return pd.Series(dtype=float)
    if prior is not None and len(prior):  # clinicians as text, so the two tables line up
        visits = visits.assign(**{clinician: visits[clinician].astype(str)})
        before = prior.assign(**{clinician: prior[clinician].astype(str)}).set_index(
            [patient, clinician])["consultations"].astype(float)
        pair = visits.groupby([patient, clinician]).size().astype(float)
        pair = pair.add(before, fill_value=0.0)
    elif (visits[patient].dtype.kind in "iu"
          and isinstance(visits[clinician].dtype, pd.CategoricalDtype)):
        # every simulated table: pairs counted as numbers, in the order grouping gives
        c = visits[clinician].cat.codes.to_numpy().astype(np.int64)
        known = c >= 0
        who, number = numbered(visits[patient].to_numpy()[known])
        pair_patient, counts = count_pairs(number, c[known])
        return _deep(counts, pd.Index(who[pair_patient], name=patient), points)
    else:
        pair = visits.groupby([patient, clinician], observed=True).size()
    return _deep(pair.to_numpy(), pair.index.get_level_values(0), points)


def _deep(counts: np.ndarray, pair_patient: pd.Index, points) -> pd.Series:
    """Per patient, from their consultations with each clinician (pairs in patient order)."""
    log_none = np.log1p(-np.minimum(deep_probability(counts, points), 1 - 1e-12))
    none = pd.Series(log_none).groupby(pair_patient).sum()
    return 1.0 - np.exp(none)


def usual_gp_consultations(gp_visits: pd.DataFrame, patient_ids, cap: int = 10,
                           patient: str = "patient_id", clinician: str = "clinician_id",
                           usual: str = "usual_clinician_id") -> pd.DataFrame:
    """How many patients had 0, 1, ..., ``cap`` or more consultations with their usual GP."""
    same = same_ids(gp_visits[clinician], gp_visits[usual])
    per = gp_visits.loc[same].groupby(patient, observed=True).size()
    counts = per.reindex(pd.Index(patient_ids), fill_value=0).clip(upper=cap)
    table = counts.value_counts().reindex(range(cap + 1), fill_value=0)
    return pd.DataFrame({"consultations_with_usual_gp": [*map(str, range(cap)), f"{cap}+"],
                         "patients": table.to_numpy()})
