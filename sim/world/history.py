"""Consultations before the simulated period: read from a practice's file, or drawn.

A practice calibrated from its export starts from its real history
(``population.history_file``, :mod:`sim.inputs.history_import`); a synthetic
practice can draw one (``population.history``), so relationship depth and
who knows whom start from a plausible state rather than from nobody knowing
anybody. Without either, the history is empty.
"""

from __future__ import annotations

import numpy as np

from ..inputs.history_import import History, read_history
from ..inputs.schema import Scenario
from .population import Patients


def build_history(s: Scenario, patients: Patients, clinician_ids: tuple[str, ...],
                  holders: np.ndarray, rng: np.random.Generator) -> History:
    """The run's history (empty, read, or drawn from the "history" stream ``rng``)."""
    if s.population.history_file is not None:
        return read_history(s.population.history_file, patients.list_patient_id,
                            list(clinician_ids))
    if s.population.history is None or holders.size == 0:
        return History.empty()
    h = s.population.history
    n = rng.poisson(patients.rate_per_year * h.gp_share * h.years)
    with_usual = rng.binomial(n, h.usual_gp_share)
    usual = patients.usual_clinician.astype(np.int64)
    # Other GP consultations: each with another list-holder, chosen evenly.
    others = n - with_usual
    who = np.repeat(np.arange(patients.size, dtype=np.int64), others)
    if holders.size > 1:
        pick = rng.integers(0, holders.size - 1, size=who.size)
        own = np.searchsorted(holders, usual[who])
        pick = pick + (pick >= own)
        other_clinician = holders[pick]
    else:
        other_clinician = usual[who]
    patient = np.concatenate([np.nonzero(with_usual)[0], who])
    clinician = np.concatenate([usual[with_usual > 0], other_clinician])
    count = np.concatenate([with_usual[with_usual > 0], np.ones(who.size, dtype=np.int64)])
    key = patient * len(clinician_ids) + clinician
    keys, inverse = np.unique(key, return_inverse=True)
    consultations = np.bincount(inverse, weights=count).astype(np.int64)
    last_year = rng.binomial(consultations, min(1.0, 1.0 / h.years))
    p, c = keys // len(clinician_ids), keys % len(clinician_ids)
    years = np.where(c == usual[p], h.years, np.nan)
    return History(p.astype(np.int64), c.astype(np.int64), consultations,
                   last_year.astype(np.int64), years)
